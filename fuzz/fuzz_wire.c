/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: the control protocol's decoder (iface/wire.c).
 *
 * Input: [number of fds][recvmsg flags][datagram bytes]. The decoder must
 * never crash or read outside the datagram, must answer 0, -EPROTO or
 * -EPROTONOSUPPORT, must leave no half-decoded body behind on refusal, and
 * whatever it accepts must encode back to exactly the same bytes (so the
 * parser accepts nothing its own checks would refuse to send).
 *
 * Then the key's part (iface/proof.c) on what was accepted: a JOIN goes
 * through a keyed server's check after a fixed HELLO, a WELCOME through a
 * keyed client's after that HELLO and a proved JOIN. The check must answer
 * 0 or -EACCES (never fail to re-encode what the decoder accepted: the
 * transcript relies on it), the same answer twice, -EACCES with the first
 * proof byte flipped, and a client's proof never passes as a server's or
 * the other way (reflection). The seeds join-proved / welcome-proved are
 * accepted, so the fuzzer starts from proofs that verify.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz-input.h"
#include "../iface/auth.h"
#include "../iface/iface-private.h" /* proof_* */
#include "../iface/wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int all_zero(const void *p, size_t n)
{
	const uint8_t *c = p;

	for (size_t i = 0; i < n; i++)
		if (c[i])
			return 0;
	return 1;
}

static int reencode(const struct wire_msg *m, uint8_t *out, size_t cap)
{
	switch (m->type) {
	case WIRE_HELLO:
		return wire_encode_hello(out, cap, &m->u.hello);
	case WIRE_JOIN:
		return wire_encode_join(out, cap, &m->u.join);
	case WIRE_WELCOME:
		return wire_encode_welcome(out, cap, &m->u.welcome);
	case WIRE_REFUSE:
	case WIRE_BYE:
		/* text_len printable bytes and no NUL among them */
		FZ_MUST(!memchr(m->u.reason.text, 0, m->u.reason.text_len));
		return wire_encode_reason(out, cap, m->type, m->u.reason.code,
					  m->u.reason.text);
	default:
		FZ_MUST(!"a type the decoder should have refused");
		return -1;
	}
}

static struct auth_key *key(void)
{
	static struct auth_key *k; /* for the process's life */
	uint8_t b[32];

	if (!k) {
		fz_key(b);
		FZ_MUST(auth_key_from_mem(&k, b, sizeof(b)) == 0);
	}
	return k;
}

static struct wire_hello fixed_hello(void)
{
	struct wire_hello h = { .features = WIRE_FEAT_KEY, .max_fds = 8,
				.elem_size = 64 };
	uint8_t cn[32];

	fz_key_nonces(h.nonce, cn);
	return h;
}

/* A client's proof sent back as the server's, in a WELCOME. */
static int reflect(struct auth_transcript *t, const uint8_t *sn,
		   const uint8_t *cn, const uint8_t *proof)
{
	struct wire_welcome w = { .elem_size = 64, .capacity_c2s = 2,
				  .capacity_s2c = 2,
				  .flags = WIRE_WELCOME_PROOF, .conn_id = 1 };

	memcpy(w.proof, proof, sizeof(w.proof));
	return proof_welcome(key(), t, sn, cn, &w, 0);
}

/* One check of the proof in m (a copy: the check must not change it) as
 * role; twice the same answer. */
static int check_as(const struct wire_msg *m, enum auth_role role)
{
	struct wire_hello h = fixed_hello();
	struct auth_transcript t;
	struct wire_msg c = *m;
	int r;

	FZ_MUST(proof_start(&t, &h) == 0);
	if (m->type == WIRE_JOIN && role == AUTH_CLIENT) {
		r = proof_join(key(), &t, h.nonce, &c.u.join, 0);
	} else {
		struct wire_join j = { .elem_size = 64 };
		uint8_t sn[32];

		fz_key_nonces(sn, j.nonce);
		FZ_MUST(proof_join(key(), &t, h.nonce, &j, 1) == 0);
		if (m->type == WIRE_WELCOME)
			r = proof_welcome(key(), &t, h.nonce, j.nonce,
					  &c.u.welcome, 0);
		else /* a JOIN's proof offered as the server's */
			r = reflect(&t, h.nonce, j.nonce, m->u.join.proof);
	}
	FZ_MUST(r == 0 || r == -EACCES);
	FZ_MUST(memcmp(&c, m, sizeof(c)) == 0);
	return r;
}

static void check_key(const struct wire_msg *m)
{
	enum auth_role role = m->type == WIRE_JOIN ? AUTH_CLIENT : AUTH_SERVER;
	struct wire_msg f = *m;
	int r = check_as(m, role);

	FZ_MUST(check_as(m, role) == r);
	if (r == 0) {
		uint8_t *proof = m->type == WIRE_JOIN ? f.u.join.proof
						      : f.u.welcome.proof;

		proof[0] ^= 1;
		FZ_MUST(check_as(&f, role) == -EACCES);
	}
	if (m->type == WIRE_JOIN)
		FZ_MUST(check_as(m, AUTH_SERVER) == -EACCES);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t again[WIRE_MAX_MSG + 1];
	struct wire_msg m;
	unsigned nfds;
	int flags, r, n;
	uint8_t *msg;
	size_t len;

	if (size < FZ_WIRE_PREFIX)
		return 0;
	nfds = data[0];
	flags = data[1];
	len = size - FZ_WIRE_PREFIX;
	/* a buffer of exactly len bytes: ASan sees any over-read */
	msg = malloc(len ? len : 1);
	if (!msg)
		return 0;
	memcpy(msg, data + FZ_WIRE_PREFIX, len);

	r = wire_decode(msg, len, nfds, flags, &m);
	FZ_MUST(r == 0 || r == -EPROTO || r == -EPROTONOSUPPORT);
	if (r < 0) {
		/* nothing of a refused body survives */
		FZ_MUST(all_zero(&m.u, sizeof(m.u)));
		goto out;
	}
	/* accepted: the fds and flags were right for the type */
	FZ_MUST(nfds == wire_nfds(m.type));
	FZ_MUST(!(flags & WIRE_BAD_MSG_FLAGS));
	n = reencode(&m, again, sizeof(again));
	FZ_MUST(n >= 0 && (size_t)n == len);
	FZ_MUST(memcmp(again, msg, len) == 0);
	if (m.type == WIRE_JOIN || m.type == WIRE_WELCOME)
		check_key(&m);
out:
	free(msg);
	return 0;
}

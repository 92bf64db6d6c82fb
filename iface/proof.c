/* SPDX-License-Identifier: MIT */
/*
 * The key's part of the handshake, shared by server.c and client.c: keys
 * from a config, and the proofs in JOIN and WELCOME over the transcript.
 *
 * The transcript is every handshake message as it goes on the wire, in
 * order, with the proof field of the message that carries the proof being
 * made zeroed:
 *
 *   client proof  over HELLO, JOIN (proof zeroed)
 *   server proof  over HELLO, JOIN (proof zeroed), WELCOME (proof zeroed)
 *
 * The decoders accept only what re-encodes byte for byte, so re-encoding a
 * decoded message gives the bytes the peer sent: both sides hash the same
 * bytes without keeping the datagrams.
 */
#include <errno.h>
#include <string.h>

#include "auth.h"
#include "iface-private.h"

_Static_assert(IFACE_KEY_SIZE == AUTH_KEY_SIZE, "key size");
_Static_assert(IFACE_TOKEN_SIZE == AUTH_TOKEN_SIZE, "token size");
_Static_assert(WIRE_NONCE_SIZE == AUTH_NONCE_SIZE, "nonce size");
_Static_assert(WIRE_PROOF_SIZE == AUTH_PROOF_SIZE, "proof size");
_Static_assert(WIRE_TOKEN_SIZE == AUTH_TOKEN_SIZE, "token size");

int proof_key(struct auth_key **out, const void *key, size_t len,
	      const char *file)
{
	int r;

	*out = NULL;
	if ((key || len) && file)
		return -EINVAL; /* which one? */
	if (file) {
		r = auth_key_load(out, file);
		/* a file others may read or that is not ours: access */
		return r == -EPERM ? -EACCES : r;
	}
	if (!key && !len)
		return 0; /* no key */
	return auth_key_from_mem(out, key, len); /* -EINVAL unless 32 */
}

static int add_encoded(struct auth_transcript *t, uint16_t type,
		       const void *m)
{
	unsigned char buf[WIRE_MAX_MSG];
	int n;

	switch (type) {
	case WIRE_HELLO:
		n = wire_encode_hello(buf, sizeof(buf), m);
		break;
	case WIRE_JOIN:
		n = wire_encode_join(buf, sizeof(buf), m);
		break;
	default:
		n = wire_encode_welcome(buf, sizeof(buf), m);
		break;
	}
	if (n < 0)
		return -EPROTO; /* decoded messages always re-encode */
	return auth_transcript_add(t, buf, (size_t)n);
}

int proof_start(struct auth_transcript *t, const struct wire_hello *h)
{
	int r = auth_transcript_init(t);

	return r < 0 ? r : add_encoded(t, WIRE_HELLO, h);
}

/* Add m (its proof zeroed) to t; make or check proof under role. */
static int prove(const struct auth_key *k, struct auth_transcript *t,
		 enum auth_role role, uint16_t type, void *m, uint8_t *proof,
		 const uint8_t *sn, const uint8_t *cn, int make)
{
	uint8_t got[AUTH_PROOF_SIZE], th[AUTH_HASH_SIZE];
	int r;

	memcpy(got, proof, sizeof(got));
	memset(proof, 0, AUTH_PROOF_SIZE);
	r = add_encoded(t, type, m);
	if (r == 0)
		r = auth_transcript_hash(t, th);
	if (r == 0 && make)
		r = auth_proof(k, role, sn, cn, th, proof);
	else if (r == 0)
		r = auth_verify(k, role, sn, cn, th, got);
	if (!make)
		memcpy(proof, got, sizeof(got));
	return r;
}

int proof_join(const struct auth_key *k, struct auth_transcript *t,
	       const uint8_t sn[WIRE_NONCE_SIZE], struct wire_join *j,
	       int make)
{
	if (make)
		j->flags |= WIRE_JOIN_PROOF;
	else if (!(j->flags & WIRE_JOIN_PROOF))
		return -EACCES;
	return prove(k, t, AUTH_CLIENT, WIRE_JOIN, j, j->proof, sn, j->nonce,
		     make);
}

int proof_welcome(const struct auth_key *k, struct auth_transcript *t,
		  const uint8_t sn[WIRE_NONCE_SIZE],
		  const uint8_t cn[WIRE_NONCE_SIZE], struct wire_welcome *w,
		  int make)
{
	if (make)
		w->flags |= WIRE_WELCOME_PROOF;
	else if (!(w->flags & WIRE_WELCOME_PROOF))
		return -EACCES;
	return prove(k, t, AUTH_SERVER, WIRE_WELCOME, w, w->proof, sn, cn,
		     make);
}

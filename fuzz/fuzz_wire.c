/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: the control protocol's decoder (iface/wire.c).
 *
 * Input: [number of fds][recvmsg flags][datagram bytes]. The decoder must
 * never crash or read outside the datagram, must answer 0, -EPROTO or
 * -EPROTONOSUPPORT, must leave no half-decoded body behind on refusal, and
 * whatever it accepts must encode back to exactly the same bytes (so the
 * parser accepts nothing its own checks would refuse to send).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz-input.h"
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
out:
	free(msg);
	return 0;
}

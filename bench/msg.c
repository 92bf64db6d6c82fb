/* SPDX-License-Identifier: MIT */
/*
 * Message stamping and checking, the same for every transport: the sender
 * writes seq in the first 8 bytes and a hash of seq in the last 8; the
 * receiver compares both. Two stores and two loads per message, so checking
 * never dominates, yet a lost, repeated, reordered or torn message (one end
 * from another message) is caught.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "bench.h"

uint64_t msg_corrupt_seq;

uint64_t msg_hash(uint64_t seq)
{
	/* splitmix64 finaliser: every bit of seq moves every bit of the hash */
	uint64_t z = seq + UINT64_C(0x9e3779b97f4a7c15);

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

void msg_fill(void *buf, size_t size, uint64_t seq)
{
	uint64_t h = msg_hash(seq);

	if (msg_corrupt_seq && seq == msg_corrupt_seq)
		h ^= 1;
	memcpy((char *)buf + size - 8, &h, 8);
	memcpy(buf, &seq, 8);
}

enum msg_verdict msg_check(const void *buf, size_t size, uint64_t expect)
{
	uint64_t seq, h;

	memcpy(&seq, buf, 8);
	memcpy(&h, (const char *)buf + size - 8, 8);
	if (h != msg_hash(seq))
		return MSG_BAD;
	if (seq == expect)
		return MSG_OK;
	if (seq == (expect | MSG_END))
		return MSG_IS_END;
	return MSG_BAD;
}

void msg_explain(const void *buf, size_t size, uint64_t expect, char *out,
		 size_t outlen)
{
	uint64_t seq, h;

	memcpy(&seq, buf, 8);
	memcpy(&h, (const char *)buf + size - 8, 8);
	if (h != msg_hash(seq))
		snprintf(out, outlen,
			 "expected seq %" PRIu64 ", got seq %" PRIu64
			 " with a bad checksum %016" PRIx64
			 " (want %016" PRIx64 ")",
			 expect, seq, h, msg_hash(seq));
	else
		snprintf(out, outlen,
			 "expected seq %" PRIu64 ", got seq %" PRIu64
			 " (lost, repeated or reordered)",
			 expect, seq);
}

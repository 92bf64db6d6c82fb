/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common.h"

uint64_t ex_number(const char *opt, const char *arg, uint64_t min,
		   uint64_t max)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(arg, &end, 10);
	if (end != arg && *end == 'k' && !end[1])
		v *= 1000, end++;
	else if (end != arg && *end == 'M' && !end[1])
		v *= 1000000, end++;
	if (errno || end == arg || *end || arg[0] == '-' || v < min ||
	    v > max) {
		fprintf(stderr, "bad value for %s: '%s' (want %" PRIu64
				"..%" PRIu64 ")\n",
			opt, arg, min, max);
		exit(2);
	}
	return v;
}

uint64_t ex_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

void ex_print_percentiles(const char *label, uint32_t *ns, size_t n)
{
	static const double ps[] = { 50, 90, 99, 99.9 };
	double sum = 0;
	size_t k99;

	if (!n)
		return;
	k99 = (size_t)((double)(n - 1) * 0.99);
	qsort(ns, n, sizeof(*ns), cmp_u32);
	printf("%s:", label);
	for (size_t i = 0; i < sizeof(ps) / sizeof(ps[0]); i++) {
		size_t k = (size_t)((double)(n - 1) * ps[i] / 100.0);

		printf(" p%g %.3f us", ps[i], ns[k] / 1000.0);
	}
	/* The mean of all but the slowest 1% (the bench's tmean). Where the
	 * clock moves in steps (about 10 ns on a kvm-clock VM), p50 of a
	 * 170 ns round trip jumps 6% a step and the mean does not; the
	 * slowest 1% (interrupts, preemption) would swamp a plain mean. */
	for (size_t i = 0; i <= k99; i++)
		sum += ns[i];
	printf(" max %.3f us; mean of the fastest 99%% %.3f us\n",
	       ns[n - 1] / 1000.0,
	       sum / (double)(k99 + 1) / 1000.0);
}

/* Word j (a byte offset past the header) of message seq's payload: every
 * word differs from its neighbours and from any other message's. */
static uint64_t ex_word(uint64_t seq, size_t j)
{
	return seq * 0x9e3779b97f4a7c15ull + (uint64_t)j * 0x100000001b3ull;
}

/* A word at a time (a byte at a time, the check of a 64 KiB echo took
 * longer than its round trip). The last few bytes get the low-address
 * bytes of their word, the same on both sides whatever the byte order. */
void ex_fill(void *msg, size_t len, uint64_t seq)
{
	unsigned char *p = (unsigned char *)msg + EX_ECHO_MIN;
	size_t n = len > EX_ECHO_MIN ? len - EX_ECHO_MIN : 0, j;
	uint64_t w;

	for (j = 0; j + 8 <= n; j += 8) {
		w = ex_word(seq, j);
		memcpy(p + j, &w, 8);
	}
	if (j < n) { /* no call for an empty tail: it is on every round trip */
		w = ex_word(seq, j);
		memcpy(p + j, &w, n - j);
	}
}

int ex_check(const void *msg, size_t len, uint64_t seq)
{
	const unsigned char *p = (const unsigned char *)msg + EX_ECHO_MIN;
	struct ex_echo_hdr h;
	uint64_t diff = 0, w;
	size_t n, j;

	if (len < EX_ECHO_MIN)
		return -1;
	n = len - EX_ECHO_MIN;
	memcpy(&h, msg, sizeof(h));
	if (h.seq != seq)
		return -1;
	for (j = 0; j + 8 <= n; j += 8) {
		uint64_t v;

		memcpy(&v, p + j, 8);
		diff |= v ^ ex_word(seq, j);
	}
	w = ex_word(seq, j);
	return diff || (j < n && memcmp(p + j, &w, n - j)) ? -1 : 0;
}

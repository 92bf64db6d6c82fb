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

	if (!n)
		return;
	qsort(ns, n, sizeof(*ns), cmp_u32);
	printf("%s:", label);
	for (size_t i = 0; i < sizeof(ps) / sizeof(ps[0]); i++) {
		size_t k = (size_t)((double)(n - 1) * ps[i] / 100.0);

		printf(" p%g %.3f us", ps[i], ns[k] / 1000.0);
	}
	printf(" max %.3f us\n", ns[n - 1] / 1000.0);
}

void ex_fill(void *msg, size_t len, uint64_t seq)
{
	unsigned char *p = msg;

	for (size_t i = EX_ECHO_MIN; i < len; i++)
		p[i] = (unsigned char)(seq * 31 + i);
}

int ex_check(const void *msg, size_t len, uint64_t seq)
{
	const unsigned char *p = msg;
	struct ex_echo_hdr h;

	if (len < EX_ECHO_MIN)
		return -1;
	memcpy(&h, msg, sizeof(h));
	if (h.seq != seq)
		return -1;
	for (size_t i = EX_ECHO_MIN; i < len; i++)
		if (p[i] != (unsigned char)(seq * 31 + i))
			return -1;
	return 0;
}

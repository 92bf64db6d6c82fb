/* SPDX-License-Identifier: MIT */
/* Percentiles of round-trip samples (nearest-rank on the sorted samples). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

uint64_t stats_quantile(const uint64_t *v, uint64_t n, double q)
{
	uint64_t rank;

	if (n == 0)
		return 0;
	if (q <= 0)
		return v[0];
	/* nearest rank: the smallest value with at least q * n values <= it */
	rank = (uint64_t)ceil(q * (double)n);
	if (rank < 1)
		rank = 1;
	if (rank > n)
		rank = n;
	return v[rank - 1];
}

void stats_compute(uint64_t *v, uint64_t n, struct rtt_stats *out)
{
	memset(out, 0, sizeof(*out));
	if (n == 0)
		return;
	qsort(v, n, sizeof(*v), cmp_u64);
	out->n = n;
	out->min = v[0];
	out->p50 = stats_quantile(v, n, 0.50);
	out->p99 = stats_quantile(v, n, 0.99);
	out->p999 = stats_quantile(v, n, 0.999);
	out->max = v[n - 1];
}

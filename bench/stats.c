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

/* The mean of sorted v's values up to most (most >= v[0]). */
static double mean_upto(const uint64_t *v, uint64_t n, uint64_t most)
{
	double sum = 0;
	uint64_t k;

	for (k = 0; k < n && v[k] <= most; k++)
		sum += (double)v[k];
	return sum / (double)k;
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
	out->tmean = mean_upto(v, n, out->p99);
	out->p999 = stats_quantile(v, n, 0.999);
	out->max = v[n - 1];
}

static uint64_t median_u64(uint64_t *v, unsigned n)
{
	qsort(v, n, sizeof(*v), cmp_u64);
	return v[(n - 1) / 2];
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

void stats_sort_double(double *v, unsigned n)
{
	qsort(v, n, sizeof(*v), cmp_double);
}

static double median_double(double *v, unsigned n)
{
	stats_sort_double(v, n);
	return v[(n - 1) / 2];
}

void stats_median_case(struct case_result *out, const struct case_result *runs,
		       unsigned n)
{
	uint64_t u[6][BENCH_MAX_REPEAT];
	double d[5][BENCH_MAX_REPEAT];
	unsigned i;

	if (n > BENCH_MAX_REPEAT)
		n = BENCH_MAX_REPEAT;
	*out = runs[0];
	for (i = 0; i < n; i++)
		if (runs[i].failed) {
			*out = runs[i];
			return;
		}
	if (n <= 1 || out->skipped)
		return;
	for (i = 0; i < n; i++) {
		u[0][i] = runs[i].rtt.p50;
		u[1][i] = runs[i].rtt.p99;
		u[2][i] = runs[i].rtt.p999;
		u[3][i] = runs[i].rtt.max;
		u[4][i] = runs[i].rtt.n;
		u[5][i] = runs[i].rtt.min;
		d[0][i] = runs[i].msgs_per_s;
		d[1][i] = runs[i].mb_per_s;
		d[2][i] = runs[i].idle_cpu_pct;
		d[3][i] = runs[i].idle_wall_s;
		d[4][i] = runs[i].rtt.tmean;
	}
	out->rtt.p50 = median_u64(u[0], n);
	out->rtt.p99 = median_u64(u[1], n);
	out->rtt.p999 = median_u64(u[2], n);
	out->rtt.max = median_u64(u[3], n);
	out->rtt.n = median_u64(u[4], n);
	out->rtt.min = median_u64(u[5], n);
	out->msgs_per_s = median_double(d[0], n);
	out->mb_per_s = median_double(d[1], n);
	out->idle_cpu_pct = median_double(d[2], n);
	out->idle_wall_s = median_double(d[3], n);
	out->rtt.tmean = median_double(d[4], n);
}

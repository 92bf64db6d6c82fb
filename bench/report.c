/* SPDX-License-Identifier: MIT */
/*
 * Output: the Markdown table a person reads (machine, settings, rows with
 * their ratios to the floor and to unix-stream, the targets), and CSV and
 * JSON for machines. Ratios compare medians (rtt p50) and messages/s.
 */
#include <stdio.h>
#include <string.h>

#include "bench.h"

const struct case_result *report_find(const struct case_result *r, unsigned n,
				      const char *name, size_t size)
{
	unsigned i;

	for (i = 0; i < n; i++)
		if (!r[i].skipped && !r[i].failed && r[i].size == size &&
		    strcmp(r[i].t->name, name) == 0)
			return &r[i];
	return NULL;
}

/* Rows that spin then sleep (T_SPIN | T_SLEEP) should not sleep under
 * back-to-back traffic, so they are held to the spinning floor. */
static const char *floor_of(const struct transport *t)
{
	if (t->flags & T_SPIN)
		return "floor-line";
	if (t->flags & T_SLEEP)
		return "floor-eventfd";
	return NULL;
}

static void fmt_size(char *out, size_t len, size_t size)
{
	if (size >= (1u << 20) && size % (1u << 20) == 0)
		snprintf(out, len, "%zu MiB", size >> 20);
	else if (size >= 1024 && size % 1024 == 0)
		snprintf(out, len, "%zu KiB", size >> 10);
	else
		snprintf(out, len, "%zu B", size);
}

static void fmt_rate(char *out, size_t len, double v)
{
	if (v >= 1e9)
		snprintf(out, len, "%.2f G", v / 1e9);
	else if (v >= 1e6)
		snprintf(out, len, "%.2f M", v / 1e6);
	else if (v >= 1e3)
		snprintf(out, len, "%.1f k", v / 1e3);
	else
		snprintf(out, len, "%.0f", v);
}

static void fmt_ratio(char *out, size_t len, double a, double b)
{
	if (a > 0 && b > 0)
		snprintf(out, len, a / b < 0.1 ? "%.3fx" : "%.2fx", a / b);
	else
		snprintf(out, len, "-");
}

/* Failpoints (a getenv per hook) and sanitizers distort the figures. */
static const char *build_kind(void)
{
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
	return "SANITIZERS compiled in: not figures to publish";
#elif defined(MEMENPSF_FAILPOINTS)
	return "FAILPOINTS compiled in (a getenv per hook): "
	       "not figures to publish";
#else
	return "release (no failpoints, no sanitizers)";
#endif
}

static void print_ms(const char *what, uint64_t ns)
{
	printf("%s %.0f ms", what, (double)ns / 1e6);
}

void report_md(const struct opts *o, const struct machine *m, int pinned,
	       const int cpus[2], const struct case_result *r, unsigned n)
{
	unsigned i;

	printf("# memenpsf-bench\n\n");
	printf("- machine: %s, %d CPUs online (%d usable), %s\n", m->cpu,
	       m->online, m->usable, m->kernel);
	printf("- command: `%s`\n", m->cmdline);
	printf("- build: %s, compiler %s\n", build_kind(), __VERSION__);
	if (m->load1 >= 0)
		printf("- load average (1 min) at start: %.2f%s\n", m->load1,
		       m->load1 > 0.5 * m->online ?
			       " (other work competes with the sides: spinning "
			       "rows suffer most; rerun on a quiet machine)" : "");
	if (pinned)
		printf("- sides pinned to CPUs %d and %d\n", cpus[0], cpus[1]);
	else
		printf("- sides not pinned\n");
	printf("- each case: two fresh processes;");
	print_ms(" warm-up", o->warmup_ns);
	if (o->count)
		printf(", then %llu round trips and %llu messages one way\n",
		       (unsigned long long)o->count,
		       (unsigned long long)o->count);
	else
		print_ms(", then per measurement", o->duration_ns), printf("\n");
	if (o->repeat > 1)
		printf("- the whole sweep run %u times, one after another; "
		       "every figure below is the median of its %u runs\n",
		       o->repeat, o->repeat);
	printf("- rtt: one message in flight, CLOCK_MONOTONIC per round trip "
	       "(one reading costs %.0f ns, included); throughput", m->clock_ns);
	printf(": one way, clock stopped at the receiver's "
	       "acknowledgement; MB = 10^6 bytes\n");
	printf("- every message checked (seq + hash of seq at both ends) on "
	       "every transport\n");
	if (o->work)
		printf("- the answering side works %u dependent multiply-adds "
		       "per round trip before it answers (--work)\n", o->work);
	printf("- ipcq rings: %u slots (fewer above %u KiB messages: at most "
	       "%u MiB per ring); ipcq-batch moves %u per call; socket and pipe "
	       "buffers: system defaults\n",
	       BENCH_RING_SLOTS, (BENCH_RING_BYTES / BENCH_RING_SLOTS) >> 10,
	       BENCH_RING_BYTES >> 20, o->batch);
	for (i = 0; i < n; i++)
		if (strcmp(r[i].t->name, "ipcq-zc") == 0)
			break;
	if (i < n)
		printf("- ipcq-zc writes and checks only the 16 stamped bytes in "
		       "place, so at large sizes it shows the cost of handing "
		       "slots over, not of producing the data\n");
	printf("- ratios: rtt p50 over the floor of the row's kind "
	       "(floor-line: spinning, and the -block rows, which spin before "
	       "they sleep; floor-eventfd: sleeping) and over unix-stream; "
	       "msgs/s over unix-stream; same size\n\n");

	printf("| transport | size | rtt p50 ns | p99 ns | p99.9 ns | max ns "
	       "| msgs/s | MB/s | rtt / floor | rtt / unix-stream "
	       "| msgs/s / unix-stream |\n");
	printf("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
	for (i = 0; i < n; i++) {
		const struct case_result *c = &r[i], *fl = NULL, *us;
		char sz[32], rate[32], mb[32], rf[16], ru[16], tu[16];
		const char *fname = floor_of(c->t);

		fmt_size(sz, sizeof(sz), c->size);
		if (c->skipped || c->failed) {
			printf("| %s | %s | %s: %s ||||||||\n", c->t->name, sz,
			       c->failed ? "**FAILED**" : "skipped", c->why);
			continue;
		}
		if (fname)
			fl = report_find(r, n, fname, c->size);
		us = report_find(r, n, "unix-stream", c->size);
		fmt_ratio(rf, sizeof(rf), c->has_rtt ? (double)c->rtt.p50 : 0,
			  fl && fl->has_rtt ? (double)fl->rtt.p50 : 0);
		fmt_ratio(ru, sizeof(ru), c->has_rtt ? (double)c->rtt.p50 : 0,
			  us && us->has_rtt ? (double)us->rtt.p50 : 0);
		fmt_ratio(tu, sizeof(tu), c->has_tput ? c->msgs_per_s : 0,
			  us && us->has_tput ? us->msgs_per_s : 0);
		if (c->has_tput) {
			fmt_rate(rate, sizeof(rate), c->msgs_per_s);
			snprintf(mb, sizeof(mb), "%.0f", c->mb_per_s);
		} else {
			snprintf(rate, sizeof(rate), "-");
			snprintf(mb, sizeof(mb), "-");
		}
		if (c->has_rtt)
			printf("| %s | %s | %llu | %llu | %llu | %llu", c->t->name,
			       sz, (unsigned long long)c->rtt.p50,
			       (unsigned long long)c->rtt.p99,
			       (unsigned long long)c->rtt.p999,
			       (unsigned long long)c->rtt.max);
		else
			printf("| %s | %s | - | - | - | -", c->t->name, sz);
		printf(" | %s | %s | %s | %s | %s |\n", rate, mb, rf, ru, tu);
	}
	printf("\n");
	for (i = 0; i < n; i++)
		if (r[i].has_idle)
			printf("Idle: %s consumer waiting on an empty ring for "
			       "%.2f s used %.3f%% of a core (getrusage).\n",
			       r[i].t->name, r[i].idle_wall_s, r[i].idle_cpu_pct);
}

void report_csv(const struct case_result *r, unsigned n)
{
	unsigned i;

	printf("transport,size,rtt_p50_ns,rtt_p99_ns,rtt_p999_ns,rtt_max_ns,"
	       "rtt_samples,msgs_per_s,mb_per_s,idle_cpu_pct,skipped,failed,"
	       "rtt_tmean_ns\n");
	for (i = 0; i < n; i++) {
		const struct case_result *c = &r[i];

		printf("%s,%zu,", c->t->name, c->size);
		if (c->has_rtt)
			printf("%llu,%llu,%llu,%llu,%llu,",
			       (unsigned long long)c->rtt.p50,
			       (unsigned long long)c->rtt.p99,
			       (unsigned long long)c->rtt.p999,
			       (unsigned long long)c->rtt.max,
			       (unsigned long long)c->rtt.n);
		else
			printf(",,,,,");
		if (c->has_tput)
			printf("%.0f,%.1f,", c->msgs_per_s, c->mb_per_s);
		else
			printf(",,");
		if (c->has_idle)
			printf("%.3f,", c->idle_cpu_pct);
		else
			printf(",");
		printf("%s,%s,", c->skipped ? c->why : "",
		       c->failed ? c->why : "");
		if (c->has_rtt)
			printf("%.1f", c->rtt.tmean);
		printf("\n");
	}
}

static void json_u64(const char *key, int have, uint64_t v)
{
	if (have)
		printf(", \"%s\": %llu", key, (unsigned long long)v);
	else
		printf(", \"%s\": null", key);
}

static void json_double(const char *key, int have, double v, int digits)
{
	if (have)
		printf(", \"%s\": %.*f", key, digits, v);
	else
		printf(", \"%s\": null", key);
}

static void json_string(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			printf("\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			printf("\\u%04x", *s);
		else
			putchar(*s);
	}
	putchar('"');
}

void report_json(const struct case_result *r, unsigned n)
{
	unsigned i;

	printf("[");
	for (i = 0; i < n; i++) {
		const struct case_result *c = &r[i];

		printf("%s\n  {\"transport\": ", i ? "," : "");
		json_string(c->t->name);
		printf(", \"size\": %zu", c->size);
		json_u64("rtt_p50_ns", c->has_rtt, c->rtt.p50);
		json_u64("rtt_p99_ns", c->has_rtt, c->rtt.p99);
		json_u64("rtt_p999_ns", c->has_rtt, c->rtt.p999);
		json_u64("rtt_max_ns", c->has_rtt, c->rtt.max);
		json_u64("rtt_samples", c->has_rtt, c->rtt.n);
		json_double("rtt_tmean_ns", c->has_rtt, c->rtt.tmean, 1);
		json_double("msgs_per_s", c->has_tput, c->msgs_per_s, 0);
		json_double("mb_per_s", c->has_tput, c->mb_per_s, 1);
		json_double("idle_cpu_pct", c->has_idle, c->idle_cpu_pct, 3);
		printf(", \"skipped\": ");
		if (c->skipped)
			json_string(c->why);
		else
			printf("null");
		printf(", \"failed\": ");
		if (c->failed)
			json_string(c->why);
		else
			printf("null");
		printf("}");
	}
	printf("\n]\n");
}

/* ---- targets ------------------------------------------------------------- */

enum metric { RTT, TPUT };

struct target {
	const char *text;
	const char *a, *b;  /* ratio a / b of metric */
	size_t size;        /* 0: every size that has both; the worst counts */
	enum metric metric;
	double limit;       /* RTT: ratio <= limit; TPUT: ratio >= limit */
};

static const struct target targets[] = {
	{ "spinning 64 B round trip <= 1.3x floor-line", "ipcq-spin",
	  "floor-line", 64, RTT, 1.3 },
	{ "ipcq-block round trip (back-to-back) <= 1.5x ipcq-spin",
	  "ipcq-block", "ipcq-spin", 64, RTT, 1.5 },
	{ "ipcq-sleep round trip <= 1.1x floor-eventfd", "ipcq-sleep",
	  "floor-eventfd", 64, RTT, 1.1 },
	{ "ipcq 64 B throughput >= 10x unix-stream (one at a time)",
	  "ipcq-spin", "unix-stream", 64, TPUT, 10 },
	{ "ipcq 64 B throughput >= 80x unix-stream (batched)", "ipcq-batch",
	  "unix-stream", 64, TPUT, 80 },
	{ "ipcq 4 KiB throughput >= 5x unix-stream", "ipcq-spin",
	  "unix-stream", 4096, TPUT, 5 },
	{ "ipcq 4 KiB zero-copy throughput >= copying (ipcq-zc / ipcq-spin)",
	  "ipcq-zc", "ipcq-spin", 4096, TPUT, 1.0 },
	{ "iface-spin round trip within 10% of ipcq-spin", "iface-spin",
	  "ipcq-spin", 0, RTT, 1.1 },
	{ "iface-spin throughput within 10% of ipcq-spin", "iface-spin",
	  "ipcq-spin", 0, TPUT, 0.9 },
	{ "iface-block round trip within 10% of ipcq-block", "iface-block",
	  "ipcq-block", 0, RTT, 1.1 },
	{ "iface-block throughput within 10% of ipcq-block", "iface-block",
	  "ipcq-block", 0, TPUT, 0.9 },
};

#define IDLE_LIMIT_PCT 1.0

/* The ratio for one size: > 0, or 0 when a row is missing. */
static double ratio_at(const struct case_result *r, unsigned n,
		       const struct target *t, size_t size)
{
	const struct case_result *a = report_find(r, n, t->a, size);
	const struct case_result *b = report_find(r, n, t->b, size);

	if (!a || !b)
		return 0;
	if (t->metric == RTT)
		return a->has_rtt && b->has_rtt && b->rtt.p50 ?
			       (double)a->rtt.p50 / (double)b->rtt.p50 : 0;
	return a->has_tput && b->has_tput && b->msgs_per_s > 0 ?
		       a->msgs_per_s / b->msgs_per_s : 0;
}

/* A failed row the target needed (its own row, or the row it is compared
 * with when its own was run), or NULL. */
static const struct case_result *failed_row(const struct case_result *r,
					    unsigned n, const struct target *t)
{
	unsigned j, have_a = 0;

	for (j = 0; j < n; j++)
		have_a |= strcmp(r[j].t->name, t->a) == 0 &&
			  (!t->size || r[j].size == t->size);
	for (j = 0; have_a && j < n; j++)
		if (r[j].failed && (!t->size || r[j].size == t->size) &&
		    (strcmp(r[j].t->name, t->a) == 0 ||
		     strcmp(r[j].t->name, t->b) == 0))
			return &r[j];
	return NULL;
}

/* A target's ratio at one size. One sweep: the ratio of its figures. Several
 * (--repeat): the median of the ratios within each sweep, where the two rows
 * ran one after the other, so a burst of other work or a slow hour moves
 * both; *lo and *hi get the range over the sweeps. 0 when never measured. */
static double target_ratio(const struct case_result *r, unsigned n,
			   const struct sweeps *sw, const struct target *t,
			   size_t size, double *lo, double *hi)
{
	double q[BENCH_MAX_REPEAT];
	unsigned rep, k = 0;

	if (!sw || sw->repeat < 2) {
		*lo = *hi = ratio_at(r, n, t, size);
		return *lo;
	}
	for (rep = 0; rep < sw->repeat && rep < BENCH_MAX_REPEAT; rep++) {
		double v = ratio_at(sw->runs + (size_t)rep * sw->ncase,
				    sw->ncase, t, size);

		if (v > 0)
			q[k++] = v;
	}
	if (!k)
		return *lo = *hi = 0;
	stats_sort_double(q, k);
	*lo = q[0];
	*hi = q[k - 1];
	return q[(k - 1) / 2];
}

int report_targets(const struct case_result *r, unsigned n,
		   const struct sweeps *sw, int print)
{
	unsigned i, j;
	int missed = 0;
	int paired = sw && sw->repeat > 1;

	if (print && paired)
		printf("\nTargets (each ratio taken within one sweep, where the "
		       "two rows ran back to back; the median of the %u "
		       "sweeps, their range in brackets):\n\n", sw->repeat);
	else if (print)
		printf("\nTargets (ratios of the rtt p50 and msgs/s figures above, "
		       "one run):\n\n");
	for (i = 0; i < sizeof(targets) / sizeof(targets[0]); i++) {
		const struct target *t = &targets[i];
		double worst = 0, wlo = 0, whi = 0;
		size_t worst_size = 0;
		int pass;

		for (j = 0; j < n; j++) {
			double q, lo, hi;

			if (r[j].skipped || r[j].failed ||
			    strcmp(r[j].t->name, t->a) ||
			    (t->size && r[j].size != t->size))
				continue;
			q = target_ratio(r, n, sw, t, r[j].size, &lo, &hi);
			if (q <= 0)
				continue;
			if (!worst_size || (t->metric == RTT ? q > worst :
							      q < worst)) {
				worst = q;
				wlo = lo;
				whi = hi;
				worst_size = r[j].size;
			}
		}
		if (!worst_size) {
			const struct case_result *f = failed_row(r, n, t);

			missed += f != NULL;
			if (print && f)
				printf("- MISS %s: %s %zu B failed\n", t->text,
				       f->t->name, f->size);
			else if (print)
				printf("- n/a  %s (not measured in this run)\n",
				       t->text);
			continue;
		}
		pass = t->metric == RTT ? worst <= t->limit : worst >= t->limit;
		missed += !pass;
		if (!print)
			continue;
		printf("- %s %s: %.*fx", pass ? "PASS" : "MISS", t->text,
		       worst < 0.1 ? 3 : 2, worst);
		if (paired)
			printf(" [%.*f-%.*fx]", wlo < 0.1 ? 3 : 2, wlo,
			       whi < 0.1 ? 3 : 2, whi);
		printf(" (%s%zu B)\n", t->size ? "" : "worst at ", worst_size);
	}
	for (j = 0; j < n; j++) {
		int pass;

		if (!r[j].has_idle)
			continue;
		pass = r[j].idle_cpu_pct < IDLE_LIMIT_PCT;
		missed += !pass;
		if (print)
			printf("- %s %s idle consumer < %.0f%% of a core: "
			       "%.3f%%\n",
			       pass ? "PASS" : "MISS", r[j].t->name,
			       IDLE_LIMIT_PCT, r[j].idle_cpu_pct);
	}
	return missed;
}

/* SPDX-License-Identifier: MIT */
/*
 * Tests of memenpsf-bench: the pure parts (percentiles, message checking,
 * size lists, targets) in process, and the program itself run as a real
 * child (fork + exec of the built binary, which forks and execs its sides).
 */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"
#include "compiler.h"
#include "testutil.h"

/* ---- stats --------------------------------------------------------------- */

START_TEST(stats_percentiles)
{
	uint64_t v[1000];
	struct rtt_stats s;
	unsigned i;

	/* 1..1000 shuffled: nearest rank gives 500, 990, 999, 1000 */
	for (i = 0; i < 1000; i++)
		v[i] = (uint64_t)((i * 7919u) % 1000u) + 1;
	stats_compute(v, 1000, &s);
	ck_assert_uint_eq(s.n, 1000);
	ck_assert_uint_eq(s.min, 1);
	ck_assert_uint_eq(s.p50, 500);
	ck_assert_uint_eq(s.p99, 990);
	ck_assert_uint_eq(s.p999, 999);
	ck_assert_uint_eq(s.max, 1000);
	/* the mean of 1..990 (the ten above p99 left out) */
	ck_assert_double_eq_tol(s.tmean, 495.5, 1e-9);
	for (i = 1; i < 1000; i++)
		ck_assert_uint_le(v[i - 1], v[i]);
}
END_TEST

START_TEST(stats_small)
{
	uint64_t one[1] = { 42 }, two[2] = { 9, 3 };
	struct rtt_stats s;

	stats_compute(one, 0, &s);
	ck_assert_uint_eq(s.n, 0);
	ck_assert_uint_eq(s.max, 0);
	stats_compute(one, 1, &s);
	ck_assert_uint_eq(s.p50, 42);
	ck_assert_uint_eq(s.p999, 42);
	ck_assert_double_eq(s.tmean, 42);
	stats_compute(two, 2, &s);
	ck_assert_uint_eq(s.p50, 3);
	ck_assert_uint_eq(s.p99, 9);
	ck_assert_uint_eq(s.max, 9);
	ck_assert_double_eq(s.tmean, 6); /* p99 is the larger one: both */
}
END_TEST

/* ---- messages ------------------------------------------------------------ */

START_TEST(msg_roundtrip_and_damage)
{
	static const size_t sizes[] = { 16, 17, 64, 4096, 65536 };
	size_t size = sizes[_i];
	unsigned char *m = calloc(1, size), *copy = malloc(size);
	char why[200];

	ck_assert_ptr_nonnull(m);
	ck_assert_ptr_nonnull(copy);
	msg_fill(m, size, 12345);
	ck_assert_int_eq(msg_check(m, size, 12345), MSG_OK);
	ck_assert_int_eq(msg_check(m, size, 12346), MSG_BAD); /* lost one */
	ck_assert_int_eq(msg_check(m, size, 12344), MSG_BAD); /* repeated */
	msg_explain(m, size, 12346, why, sizeof(why));
	ck_assert_ptr_nonnull(strstr(why, "expected seq 12346, got seq 12345"));

	/* a torn message: the tail of another one */
	memcpy(copy, m, size);
	msg_fill(m, size, 777);
	memcpy(copy + size - 8, m + size - 8, 8);
	ck_assert_int_eq(msg_check(copy, size, 12345), MSG_BAD);
	msg_explain(copy, size, 12345, why, sizeof(why));
	ck_assert_ptr_nonnull(strstr(why, "bad checksum"));

	/* one flipped bit in the last byte */
	msg_fill(m, size, 5);
	m[size - 1] ^= 0x80;
	ck_assert_int_eq(msg_check(m, size, 5), MSG_BAD);

	/* the end of a phase */
	msg_fill(m, size, MSG_END | 99);
	ck_assert_int_eq(msg_check(m, size, 99), MSG_IS_END);
	ck_assert_int_eq(msg_check(m, size, 98), MSG_BAD);
	free(m);
	free(copy);
}
END_TEST

START_TEST(msg_corrupt_hook)
{
	unsigned char m[64];

	msg_corrupt_seq = 3;
	msg_fill(m, sizeof(m), 2);
	ck_assert_int_eq(msg_check(m, sizeof(m), 2), MSG_OK);
	msg_fill(m, sizeof(m), 3);
	ck_assert_int_eq(msg_check(m, sizeof(m), 3), MSG_BAD);
	msg_corrupt_seq = 0;
	msg_fill(m, sizeof(m), 3);
	ck_assert_int_eq(msg_check(m, sizeof(m), 3), MSG_OK);
}
END_TEST

/* ---- size lists ---------------------------------------------------------- */

START_TEST(sizes_parse)
{
	size_t s[BENCH_MAX_SIZES];
	unsigned n = 99;

	ck_assert_int_eq(opts_parse_sizes("64,4096", s, &n), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_uint_eq(s[0], 64);
	ck_assert_uint_eq(s[1], 4096);
	ck_assert_int_eq(opts_parse_sizes("1k,64KiB,1M,16", s, &n), 0);
	ck_assert_uint_eq(n, 4);
	ck_assert_uint_eq(s[0], 1024);
	ck_assert_uint_eq(s[1], 65536);
	ck_assert_uint_eq(s[2], 1u << 20);
	ck_assert_uint_eq(s[3], 16);
	ck_assert_int_eq(opts_parse_sizes("8", s, &n), -EINVAL);   /* < 16 */
	ck_assert_int_eq(opts_parse_sizes("", s, &n), -EINVAL);
	ck_assert_int_eq(opts_parse_sizes("64,abc", s, &n), -EINVAL);
	ck_assert_int_eq(opts_parse_sizes("-64", s, &n), -EINVAL);
	ck_assert_int_eq(opts_parse_sizes("64x", s, &n), -EINVAL);
	ck_assert_int_eq(opts_parse_sizes("17M", s, &n), -EINVAL); /* > max */
	ck_assert_int_eq(opts_parse_sizes(
		"16,16,16,16,16,16,16,16,16,16,16,16,16,16,16,16,16", s, &n),
		-EINVAL);
}
END_TEST

/* ---- targets ------------------------------------------------------------- */

static const struct transport fake_line = { .name = "floor-line" };
static const struct transport fake_spin = { .name = "ipcq-spin" };
static const struct transport fake_us = { .name = "unix-stream" };
static const struct transport fake_zc = { .name = "ipcq-zc" };

static struct case_result row(const struct transport *t, size_t size,
			      uint64_t p50, double mps)
{
	struct case_result c;

	memset(&c, 0, sizeof(c));
	c.t = t;
	c.size = size;
	c.has_rtt = p50 != 0;
	c.rtt.p50 = p50;
	c.has_tput = mps > 0;
	c.msgs_per_s = mps;
	return c;
}

START_TEST(targets_pass_and_miss)
{
	struct case_result r[6];

	r[0] = row(&fake_line, 64, 100, 0);
	r[1] = row(&fake_spin, 64, 125, 20e6);
	r[2] = row(&fake_us, 64, 20000, 1e6);
	r[3] = row(&fake_spin, 4096, 300, 6e6);
	r[4] = row(&fake_us, 4096, 30000, 1e6);
	r[5] = row(&fake_zc, 4096, 300, 7e6);
	/* 1.25x floor, 20x unix, 6x at 4 KiB, zc 7/6: all pass; the rest
	 * (ipcq-block, ipcq-sleep, batch, iface) are not measured */
	ck_assert_int_eq(report_targets(r, 6, NULL, 0), 0);
	ck_assert_ptr_eq(report_find(r, 6, "ipcq-spin", 4096), &r[3]);
	ck_assert_ptr_null(report_find(r, 6, "ipcq-spin", 1024));

	r[1].rtt.p50 = 140;  /* 1.4x floor-line: miss */
	ck_assert_int_eq(report_targets(r, 6, NULL, 0), 1);
	r[1].msgs_per_s = 5e6; /* and 5x unix-stream at 64 B: miss */
	ck_assert_int_eq(report_targets(r, 6, NULL, 0), 2);
	r[5].msgs_per_s = 5e6; /* zero-copy slower than copying: miss */
	ck_assert_int_eq(report_targets(r, 6, NULL, 0), 3);
	r[5].skipped = 1;      /* a skipped row is not compared */
	ck_assert_int_eq(report_targets(r, 6, NULL, 0), 2);

	r[0].has_idle = 0;
	r[2].has_idle = 1;     /* idle consumer above 1% of a core: miss */
	r[2].idle_cpu_pct = 1.5;
	ck_assert_int_eq(report_targets(r, 6, NULL, 0), 3);
	r[2].idle_cpu_pct = 0.2;
	ck_assert_int_eq(report_targets(r, 6, NULL, 0), 2);

	/* a failed row misses the targets that need it; it is not found */
	r[3].failed = 1; /* ipcq-spin 4 KiB: the 4 KiB and zero-copy targets */
	ck_assert_int_eq(report_targets(r, 6, NULL, 0), 4);
	ck_assert_ptr_null(report_find(r, 6, "ipcq-spin", 4096));
}
END_TEST

/* --repeat: a target is judged on the ratio within each sweep (median over
 * the sweeps), not on the ratio of two medians taken from different sweeps. */
static const struct transport fake_iface = { .name = "iface-spin" };

static int paired_misses(const double ipcq[3], const double iface[3])
{
	struct case_result runs[6], one[3], res[2];
	struct sweeps sw = { runs, 2, 3 };
	unsigned rep, k;

	for (rep = 0; rep < 3; rep++) {
		runs[rep * 2] = row(&fake_spin, 64, 0, ipcq[rep]);
		runs[rep * 2 + 1] = row(&fake_iface, 64, 0, iface[rep]);
	}
	for (k = 0; k < 2; k++) {
		for (rep = 0; rep < 3; rep++)
			one[rep] = runs[rep * 2 + k];
		stats_median_case(&res[k], one, 3);
	}
	return report_targets(res, 2, &sw, 0);
}

START_TEST(targets_paired_sweeps)
{
	const double ipcq[3] = { 10e6, 5e6, 8e6 };
	/* per sweep 0.95, 0.92, 0.375: median 0.92 passes; the medians of
	 * the rows (4.6 / 8) would say 0.575 */
	const double slow_once[3] = { 9.5e6, 4.6e6, 3e6 };
	/* per sweep 0.85, 1.8, 0.5: median 0.85 misses; the medians of the
	 * rows (8.5 / 8) would say 1.06 */
	const double mostly_slow[3] = { 8.5e6, 9e6, 4e6 };

	ck_assert_int_eq(paired_misses(ipcq, slow_once), 0);
	ck_assert_int_eq(paired_misses(ipcq, mostly_slow), 1);
}
END_TEST

/* --repeat: every figure is the median of its runs, each on its own. */
START_TEST(median_of_runs)
{
	struct case_result runs[4], out;
	unsigned i;

	memset(runs, 0, sizeof(runs));
	for (i = 0; i < 4; i++) {
		runs[i].t = &fake_spin;
		runs[i].size = 64;
		runs[i].has_rtt = runs[i].has_tput = 1;
	}
	runs[0].rtt.p50 = 300, runs[1].rtt.p50 = 100, runs[2].rtt.p50 = 200;
	runs[0].rtt.max = 5, runs[1].rtt.max = 900, runs[2].rtt.max = 7;
	runs[0].msgs_per_s = 1e6, runs[1].msgs_per_s = 3e6;
	runs[2].msgs_per_s = 2e6;
	runs[0].rtt.tmean = 310.5, runs[1].rtt.tmean = 99.5;
	runs[2].rtt.tmean = 205.25;
	stats_median_case(&out, runs, 3);
	ck_assert_uint_eq(out.rtt.p50, 200);
	ck_assert_double_eq(out.rtt.tmean, 205.25);
	ck_assert_uint_eq(out.rtt.max, 7); /* not the p50 run's: per figure */
	ck_assert_double_eq(out.msgs_per_s, 2e6);
	ck_assert_ptr_eq(out.t, &fake_spin);
	ck_assert_int_eq(out.has_tput, 1);
	/* even count: the lower middle */
	runs[3].rtt.p50 = 150;
	stats_median_case(&out, runs, 4);
	ck_assert_uint_eq(out.rtt.p50, 150);
	/* one run: itself */
	stats_median_case(&out, runs + 1, 1);
	ck_assert_uint_eq(out.rtt.p50, 100);
	/* a skipped case stays skipped, with its reason */
	runs[0].skipped = 1;
	strcpy(runs[0].why, "too big");
	stats_median_case(&out, runs, 3);
	ck_assert_int_eq(out.skipped, 1);
	ck_assert_str_eq(out.why, "too big");
}
END_TEST

/* ---- the program, as a real process -------------------------------------- */

struct output {
	char *out, *err;
	int status;
};

static void slurp(int fd, char **buf, size_t *len, size_t *cap, int *open)
{
	ssize_t n;

	if (*cap - *len < 4096) {
		*cap = *cap * 2 + 8192;
		*buf = realloc(*buf, *cap);
		ck_assert_ptr_nonnull(*buf);
	}
	n = read(fd, *buf + *len, *cap - *len - 1);
	if (n < 0 && errno == EINTR)
		return;
	ck_assert_int_ge(n, 0);
	if (n == 0)
		*open = 0;
	*len += (size_t)n;
	(*buf)[*len] = '\0';
}

/* Run memenpsf-bench with args; collect stdout, stderr and the exit code. */
static void run_bench(const char *const *args, struct output *o)
{
	const char *dir = getenv("MEMENPSF_BUILDDIR");
	char path[4096];
	const char *argv[32];
	int out[2], err[2], i, open_out = 1, open_err = 1;
	size_t lo = 0, le = 0, co = 0, ce = 0;
	pid_t pid;

	ck_assert_msg(dir != NULL, "MEMENPSF_BUILDDIR not set (run by make check)");
	snprintf(path, sizeof(path), "%s/bench/memenpsf-bench", dir);
	argv[0] = path;
	for (i = 0; args[i] && i < 30; i++)
		argv[i + 1] = args[i];
	argv[i + 1] = NULL;
	ck_assert_int_eq(pipe2(out, O_CLOEXEC), 0);
	ck_assert_int_eq(pipe2(err, O_CLOEXEC), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		dup2(out[1], 1);
		dup2(err[1], 2);
		execv(path, (char *const *)argv);
		_exit(127);
	}
	close(out[1]);
	close(err[1]);
	o->out = o->err = NULL;
	while (open_out || open_err) {
		struct pollfd p[2] = { { open_out ? out[0] : -1, POLLIN, 0 },
				       { open_err ? err[0] : -1, POLLIN, 0 } };

		if (poll(p, 2, -1) < 0) {
			ck_assert_int_eq(errno, EINTR);
			continue;
		}
		if (p[0].revents)
			slurp(out[0], &o->out, &lo, &co, &open_out);
		if (p[1].revents)
			slurp(err[0], &o->err, &le, &ce, &open_err);
	}
	close(out[0]);
	close(err[0]);
	o->status = tu_wait(pid);
	if (!o->out)
		o->out = strdup("");
	if (!o->err)
		o->err = strdup("");
}

static void output_free(struct output *o)
{
	free(o->out);
	free(o->err);
}

static unsigned count_of(const char *hay, const char *needle)
{
	unsigned n = 0;

	for (; (hay = strstr(hay, needle)); hay++)
		n++;
	return n;
}

/* The value of "key": N in the object of transport t and size; -1 when null,
 * -2 when the object or key is missing. */
static double json_value(const char *json, const char *t, size_t size,
			 const char *key)
{
	char head[128], k[64];
	const char *obj, *end, *p;

	snprintf(head, sizeof(head), "{\"transport\": \"%s\", \"size\": %zu,",
		 t, size);
	obj = strstr(json, head);
	if (!obj)
		return -2;
	end = strchr(obj, '}');
	snprintf(k, sizeof(k), "\"%s\": ", key);
	p = strstr(obj, k);
	if (!p || p > end)
		return -2;
	p += strlen(k);
	if (strncmp(p, "null", 4) == 0)
		return -1;
	return strtod(p, NULL);
}

START_TEST(run_json)
{
	const char *args[] = { "--quick", "--no-progress", "--json",
			       "--only", "floor-line,pipe,unix-stream",
			       "--sizes", "64,4096", NULL };
	struct output o;

	run_bench(args, &o);
	ck_assert_msg(o.status == 0, "exit %d: %s", o.status, o.err);
	ck_assert_msg(o.out[0] == '[', "not a JSON array: %s", o.out);
	/* floor-line only at 64 B: 1 + 2 + 2 objects */
	ck_assert_uint_eq(count_of(o.out, "{\"transport\""), 5);
	ck_assert_double_gt(json_value(o.out, "floor-line", 64, "rtt_p50_ns"), 0);
	ck_assert_double_le(json_value(o.out, "floor-line", 64, "rtt_tmean_ns"),
			    json_value(o.out, "floor-line", 64, "rtt_p99_ns"));
	ck_assert_double_ge(json_value(o.out, "floor-line", 64, "rtt_tmean_ns"),
			    json_value(o.out, "floor-line", 64, "rtt_p50_ns") / 2);
	ck_assert_double_eq(json_value(o.out, "floor-line", 64, "msgs_per_s"), -1);
	ck_assert_double_eq(json_value(o.out, "pipe", 64, "failed"), -1);
	ck_assert_double_eq(json_value(o.out, "floor-line", 4096, "rtt_p50_ns"), -2);
	ck_assert_double_gt(json_value(o.out, "pipe", 4096, "msgs_per_s"), 0);
	ck_assert_double_gt(json_value(o.out, "unix-stream", 4096, "mb_per_s"), 0);
	ck_assert_double_ge(json_value(o.out, "unix-stream", 64, "rtt_p99_ns"),
			    json_value(o.out, "unix-stream", 64, "rtt_p50_ns"));
	ck_assert_double_ge(json_value(o.out, "unix-stream", 64, "rtt_max_ns"),
			    json_value(o.out, "unix-stream", 64, "rtt_p999_ns"));
	output_free(&o);
}
END_TEST

START_TEST(run_markdown_and_csv)
{
	const char *md[] = { "--quick", "--no-progress", "--only",
			     "unix-seqpacket,floor-eventfd", "--sizes", "1k",
			     "--no-pin", NULL };
	const char *csv[] = { "--quick", "--no-progress", "--csv", "--only",
			      "unix-seqpacket", "--sizes", "64,1024", NULL };
	struct output o;

	run_bench(md, &o);
	ck_assert_msg(o.status == 0, "exit %d: %s", o.status, o.err);
	ck_assert_ptr_nonnull(strstr(o.out, "- machine: "));
	ck_assert_ptr_nonnull(strstr(o.out, "sides not pinned"));
	ck_assert_ptr_nonnull(strstr(o.out, "| unix-seqpacket | 1 KiB | "));
	ck_assert_ptr_nonnull(strstr(o.out, "| floor-eventfd | 1 KiB | "));
	ck_assert_ptr_nonnull(strstr(o.out, "Targets"));
	ck_assert_ptr_nonnull(strstr(o.out, " | rtt / floor | rtt / unix-stream"
					    " | msgs/s / unix-stream |"));
	output_free(&o);

	run_bench(csv, &o);
	ck_assert_msg(o.status == 0, "exit %d: %s", o.status, o.err);
	ck_assert_ptr_nonnull(strstr(o.out, "transport,size,rtt_p50_ns,"));
	ck_assert_uint_eq(count_of(o.out, "\nunix-seqpacket,"), 2);
	output_free(&o);
}
END_TEST

START_TEST(run_mq_limit)
{
	const char *args[] = { "--quick", "--no-progress", "--json", "--only",
			       "posix-mq", "--sizes", "64,16M", NULL };
	struct output o;
	char *skip;

	run_bench(args, &o);
	ck_assert_msg(o.status == 0, "exit %d: %s", o.status, o.err);
	ck_assert_double_gt(json_value(o.out, "posix-mq", 64, "msgs_per_s"), 0);
	/* 16 MiB is above any msgsize_max the kernel allows */
	skip = strstr(o.out, "\"skipped\": \"above /proc/sys/fs/mqueue/msgsize_max");
	ck_assert_msg(skip != NULL, "no skip reason: %s", o.out);
	ck_assert_double_eq(json_value(o.out, "posix-mq", 16u << 20, "rtt_p50_ns"), -1);
	output_free(&o);
}
END_TEST

/* The rows of our own libraries: every one measures what its flags say,
 * and the libiface server leaves nothing in its TMPDIR. */
START_TEST(run_lib_rows)
{
	static const char *const rtt_rows[] = { "ipcq-spin", "ipcq-block",
						"ipcq-sleep", "ipcq-zc",
						"iface-spin", "iface-block" };
	const char *args[] = { "--quick", "--no-progress", "--json", "--only",
			       "ipcq-spin,ipcq-block,ipcq-sleep,ipcq-batch,"
			       "ipcq-zc,iface-spin,iface-block",
			       "--sizes", "64,4096", NULL };
	char *tmp = tu_tmpdir();
	struct output o;
	struct dirent *d;
	unsigned i, left = 0;
	double idle;
	DIR *dh;

	ck_assert_int_eq(setenv("TMPDIR", tmp, 1), 0);
	run_bench(args, &o);
	ck_assert_msg(o.status == 0, "exit %d: %s", o.status, o.err);
	ck_assert_uint_eq(count_of(o.out, "{\"transport\""), 14);
	for (i = 0; i < ARRAY_SIZE(rtt_rows); i++) {
		double p50 = json_value(o.out, rtt_rows[i], 4096, "rtt_p50_ns");

		ck_assert_msg(p50 > 0, "%s: rtt %f", rtt_rows[i], p50);
		ck_assert_double_ge(json_value(o.out, rtt_rows[i], 64,
					       "rtt_p999_ns"),
				    json_value(o.out, rtt_rows[i], 64,
					       "rtt_p50_ns"));
		ck_assert_double_gt(json_value(o.out, rtt_rows[i], 64,
					       "msgs_per_s"), 0);
	}
	/* batched: throughput only */
	ck_assert_double_eq(json_value(o.out, "ipcq-batch", 64, "rtt_p50_ns"), -1);
	ck_assert_double_gt(json_value(o.out, "ipcq-batch", 64, "mb_per_s"), 0);
	/* the idle consumer is measured once (first size), as a share of a core */
	idle = json_value(o.out, "ipcq-block", 64, "idle_cpu_pct");
	ck_assert_msg(idle >= 0 && idle < 100, "idle %f", idle);
	ck_assert_double_eq(json_value(o.out, "ipcq-spin", 64, "idle_cpu_pct"), -1);
	ck_assert_double_eq(json_value(o.out, "ipcq-block", 4096, "idle_cpu_pct"), -1);

	dh = opendir(tmp);
	ck_assert_ptr_nonnull(dh);
	while ((d = readdir(dh)))
		if (strcmp(d->d_name, ".") && strcmp(d->d_name, ".."))
			left++;
	closedir(dh);
	ck_assert_uint_eq(left, 0);
	output_free(&o);
	tu_rmtree(tmp);
}
END_TEST

/* The transports are the list (and two more ipcq variants and the
 * batch floor), so that JSON consumers can rely on the names. */
START_TEST(run_list_names)
{
	static const char *const names[] = {
		"ipcq-spin", "ipcq-block", "ipcq-batch", "iface-spin",
		"iface-block", "floor-line", "floor-eventfd", "pipe",
		"unix-stream", "unix-seqpacket", "posix-mq", "ipcq-sleep",
		"ipcq-zc", "floor-ring",
	};
	const char *args[] = { "--list", NULL };
	char line[64];
	struct output o;
	unsigned i;

	run_bench(args, &o);
	ck_assert_int_eq(o.status, 0);
	for (i = 0; i < ARRAY_SIZE(names); i++) {
		snprintf(line, sizeof(line), "\n%s ", names[i]);
		ck_assert_msg(strncmp(o.out, line + 1, strlen(line + 1)) == 0 ||
			      strstr(o.out, line), "%s not listed", names[i]);
	}
	ck_assert_uint_eq(count_of(o.out, "\n"), ARRAY_SIZE(names));
	output_free(&o);
}
END_TEST

/* One progress line per case on stderr (not a terminal here: one a line). */
START_TEST(run_progress)
{
	const char *args[] = { "--quick", "--only", "pipe,floor-line", "--sizes",
			       "64,1024", "--csv", NULL };
	struct output o;

	run_bench(args, &o);
	ck_assert_msg(o.status == 0, "exit %d: %s", o.status, o.err);
	/* in row order; floor-line has no 1 KiB case: counted, left out */
	ck_assert_ptr_nonnull(strstr(o.err, "[  1/4] floor-line 64 B\n"));
	ck_assert_ptr_nonnull(strstr(o.err, "[  2/4] pipe 64 B\n"));
	ck_assert_ptr_nonnull(strstr(o.err, "[  4/4] pipe 1024 B\n"));
	ck_assert_uint_eq(count_of(o.out, "\nfloor-line,"), 1);
	ck_assert_ptr_null(strstr(o.out, "[  1/4]"));
	output_free(&o);
}
END_TEST

/* --repeat N: N sweeps one after another, one row per case. */
START_TEST(run_repeat)
{
	const char *args[] = { "--quick", "--repeat", "2", "--only",
			       "unix-stream", "--sizes", "64,1024", NULL };
	const char *two[] = { "--quick", "--repeat", "2", "--only",
			      "unix-stream,pipe", "--sizes", "64", NULL };
	const char *bad[] = { "--repeat", "0", NULL };
	struct output o;

	run_bench(args, &o);
	ck_assert_msg(o.status == 0, "exit %d: %s", o.status, o.err);
	ck_assert_ptr_nonnull(strstr(o.err, "[run 1/2] [  2/2] unix-stream 1024 B\n"));
	ck_assert_ptr_nonnull(strstr(o.err, "[run 2/2] [  1/2] unix-stream 64 B\n"));
	ck_assert_ptr_nonnull(strstr(o.out, "median of its 2 runs"));
	ck_assert_ptr_nonnull(strstr(o.out, "each ratio taken within one sweep"));
	ck_assert_uint_eq(count_of(o.out, "| unix-stream | "), 2);
	output_free(&o);
	/* the second sweep runs the transports of a size in reverse order */
	run_bench(two, &o);
	ck_assert_msg(o.status == 0, "exit %d: %s", o.status, o.err);
	ck_assert_ptr_nonnull(strstr(o.err, "[run 1/2] [  1/2] pipe 64 B\n"));
	ck_assert_ptr_nonnull(strstr(o.err, "[run 1/2] [  2/2] unix-stream 64 B\n"));
	ck_assert_ptr_nonnull(strstr(o.err, "[run 2/2] [  1/2] unix-stream 64 B\n"));
	ck_assert_ptr_nonnull(strstr(o.err, "[run 2/2] [  2/2] pipe 64 B\n"));
	ck_assert_uint_eq(count_of(o.out, "| pipe | 64 B |"), 1);
	ck_assert_uint_eq(count_of(o.out, "| unix-stream | 64 B |"), 1);
	output_free(&o);
	run_bench(bad, &o);
	ck_assert_int_eq(o.status, 2);
	output_free(&o);
}
END_TEST

/* A damaged message fails the run, whatever the transport. */
START_TEST(run_corrupt_fails)
{
	static const char *const ts[] = { "pipe", "floor-line", "posix-mq",
					  "ipcq-spin", "ipcq-block",
					  "ipcq-batch", "ipcq-zc",
					  "iface-spin", "iface-block" };
	/* a count, not a duration: seq 40 is sent however slow the machine */
	const char *args[] = { "--quick", "--no-progress", "--sizes", "64",
			       "--count", "100", "--corrupt", "40", "--only",
			       ts[_i], NULL };
	struct output o;

	char row[64];

	run_bench(args, &o);
	ck_assert_int_eq(o.status, 1);
	ck_assert_msg(strstr(o.err, "bad message: expected seq 40, got seq 40 "
				    "with a bad checksum"),
		      "%s", o.err);
	ck_assert_ptr_nonnull(strstr(o.err, "1 case failed (see above): the "
					    "run failed"));
	/* the table still comes, with the case marked */
	snprintf(row, sizeof(row), "| %s | 64 B | **FAILED**: side ", ts[_i]);
	ck_assert_msg(strstr(o.out, row), "%s", o.out);
	output_free(&o);
}
END_TEST

/* Side B's answers are checked too: libiface's rows answer from inside
 * on_message (rx_answer), so a damaged answer (odd seq) comes from there. */
START_TEST(run_corrupt_answer_fails)
{
	static const char *const ts[] = { "ipcq-spin", "iface-spin",
					  "iface-block" };
	const char *args[] = { "--quick", "--no-progress", "--sizes", "64",
			       "--count", "100", "--corrupt", "41", "--only",
			       ts[_i], NULL };
	struct output o;

	run_bench(args, &o);
	ck_assert_int_eq(o.status, 1);
	/* side A finds it (warm-up or round trips: seq 41 is the 21st) */
	ck_assert_msg(strstr(o.err, "side A, ") &&
			      strstr(o.err, "bad message: expected seq 41, got "
					    "seq 41 with a bad checksum"),
		      "%s", o.err);
	output_free(&o);
}
END_TEST

/* --work: side B does its multiply-adds before every answer, on the
 * recv / send path (floor-line) and from on_message (iface-spin): 100000
 * dependent ones take 100 us and more on any core, where a round trip
 * without them is a few us at most. */
START_TEST(run_work)
{
	const char *args[] = { "--quick", "--no-progress", "--sizes", "64",
			       "--count", "40", "--work", "100000", "--only",
			       "floor-line,iface-spin", NULL, NULL };
	const char *bad[] = { "--work", "100001", NULL };
	struct output o;

	run_bench(args, &o);
	ck_assert_msg(o.status == 0, "exit %d: %s", o.status, o.err);
	ck_assert_ptr_nonnull(strstr(o.out, "works 100000 dependent "
					    "multiply-adds"));
	output_free(&o);
	args[10] = "--json";
	run_bench(args, &o);
	ck_assert_msg(o.status == 0, "exit %d: %s", o.status, o.err);
	ck_assert_double_gt(json_value(o.out, "floor-line", 64, "rtt_p50_ns"),
			    30000);
	ck_assert_double_gt(json_value(o.out, "iface-spin", 64, "rtt_p50_ns"),
			    30000);
	output_free(&o);
	run_bench(bad, &o);
	ck_assert_int_eq(o.status, 2);
	ck_assert_ptr_nonnull(strstr(o.err, "bad value for --work"));
	output_free(&o);
}
END_TEST

START_TEST(run_bad_usage)
{
	const char *a1[] = { "--only", "nope", NULL };
	const char *a2[] = { "--sizes", "8", NULL };
	const char *a3[] = { "--side", "role=A", NULL }; /* internal, incomplete */
	const char *a4[] = { "--list", NULL };
	struct output o;

	run_bench(a1, &o);
	ck_assert_int_eq(o.status, 2);
	ck_assert_ptr_nonnull(strstr(o.err, "unknown transport 'nope'"));
	output_free(&o);
	run_bench(a2, &o);
	ck_assert_int_eq(o.status, 2);
	output_free(&o);
	run_bench(a3, &o);
	ck_assert_int_eq(o.status, 2);
	output_free(&o);
	run_bench(a4, &o);
	ck_assert_int_eq(o.status, 0);
	ck_assert_ptr_nonnull(strstr(o.out, "floor-line "));
	ck_assert_ptr_nonnull(strstr(o.out, "unix-stream "));
	output_free(&o);
}
END_TEST

static Suite *bench_suite(void)
{
	Suite *s = suite_create("bench");
	TCase *tc;

	tc = tcase_create("pure");
	tcase_add_checked_fixture(tc, tu_leak_setup, tu_leak_teardown);
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, stats_percentiles);
	tcase_add_test(tc, stats_small);
	tcase_add_loop_test(tc, msg_roundtrip_and_damage, 0, 5);
	tcase_add_test(tc, msg_corrupt_hook);
	tcase_add_test(tc, sizes_parse);
	tcase_add_test(tc, targets_pass_and_miss);
	tcase_add_test(tc, targets_paired_sweeps);
	tcase_add_test(tc, median_of_runs);
	suite_add_tcase(s, tc);

	tc = tcase_create("program");
	tcase_add_checked_fixture(tc, tu_leak_setup, tu_leak_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, run_json);
	tcase_add_test(tc, run_markdown_and_csv);
	tcase_add_test(tc, run_mq_limit);
	tcase_add_loop_test(tc, run_corrupt_fails, 0, 9);
	tcase_add_loop_test(tc, run_corrupt_answer_fails, 0, 3);
	tcase_add_test(tc, run_lib_rows);
	tcase_add_test(tc, run_list_names);
	tcase_add_test(tc, run_progress);
	tcase_add_test(tc, run_repeat);
	tcase_add_test(tc, run_work);
	tcase_add_test(tc, run_bad_usage);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(bench_suite());

	srunner_set_fork_status(sr, CK_FORK);
	return tu_run(sr);
}

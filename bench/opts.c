/* SPDX-License-Identifier: MIT */
/* Command line of memenpsf-bench (the user's; the hidden --side form is
 * parsed in side.c). */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"

#define MS 1000000ull

static void usage(FILE *f)
{
	fprintf(f,
"usage: memenpsf-bench [options]\n"
"Round trip (ping-pong, one message in flight) and one-way throughput of\n"
"memenpsf's rings beside the kernel's pipes, sockets, eventfd and message\n"
"queues, each case between two fresh processes (fork + exec).\n"
"\n"
"  --only LIST      transports to run, e.g. ipcq-spin,unix-stream (--list)\n"
"  --sizes LIST     message sizes in bytes (k/m suffixes), default\n"
"                   64,1024,4096,65536; at least %d\n"
"  --duration MS    time per measurement (default 500; --quick 20)\n"
"  --count N        exactly N round trips and N messages instead\n"
"  --warmup MS      warm-up before each measurement (default 100)\n"
"  --idle MS        how long ipcq-block's consumer waits idle (default 1000)\n"
"  --batch N        messages per call for ipcq-batch (default 32)\n"
"  --repeat N       run the whole sweep N times (1..15), report each\n"
"                   figure's median over the N (default 1)\n"
"  --work N         the answering side works N dependent multiply-adds\n"
"                   (about 1 ns each) per round trip before it answers,\n"
"                   as a server does (default 0, at most %d)\n"
"  --no-pin         do not pin the two sides to two CPUs\n"
"  --quick          a smoke run of a few seconds (CI)\n"
"  --csv | --json   machine output instead of the Markdown table\n"
"  --strict         exit 3 when a target is missed\n"
"  --no-progress    no progress line on stderr\n"
"  --list           list the transports and exit\n"
"  --corrupt SEQ    (testing) the sender damages message SEQ: the run fails\n"
"Exit: 0 done, 1 a case failed (bad message, error), 2 bad usage.\n",
		BENCH_MIN_SIZE, BENCH_MAX_WORK);
}

static int parse_num(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (!*s || *s == '-')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s)
		return -EINVAL;
	if (*end == 'k' || *end == 'K') {
		v <<= 10;
		end++;
	} else if (*end == 'm' || *end == 'M') {
		v <<= 20;
		end++;
	}
	if (*end && strcmp(end, "iB") && strcmp(end, "B"))
		return -EINVAL;
	*out = v;
	return 0;
}

int opts_parse_sizes(const char *s, size_t *sizes, unsigned *n)
{
	char buf[256], *tok, *save = NULL;
	uint64_t v;

	if (strlen(s) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, s);
	*n = 0;
	for (tok = strtok_r(buf, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		if (*n == BENCH_MAX_SIZES || parse_num(tok, &v) < 0 ||
		    v < BENCH_MIN_SIZE || v > BENCH_MAX_SIZE)
			return -EINVAL;
		sizes[(*n)++] = (size_t)v;
	}
	return *n ? 0 : -EINVAL;
}

static int parse_only(struct opts *o, const char *s)
{
	char buf[512], *tok, *save = NULL;

	if (strlen(s) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, s);
	o->nonly = 0;
	for (tok = strtok_r(buf, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		const struct transport *t = bench_transport(tok);

		if (!t) {
			fprintf(stderr,
				"memenpsf-bench: unknown transport '%s' (--list)\n",
				tok);
			return -EINVAL;
		}
		if (o->nonly == BENCH_MAX_TRANSPORTS)
			return -EINVAL;
		o->only[o->nonly++] = t;
	}
	return o->nonly ? 0 : -EINVAL;
}

static void list(void)
{
	const struct transport *t[BENCH_MAX_TRANSPORTS];
	unsigned i, n = bench_transports(t, BENCH_MAX_TRANSPORTS);

	for (i = 0; i < n; i++)
		printf("%-15s %s\n", t[i]->name, t[i]->desc);
}

enum {
	O_ONLY = 256, O_SIZES, O_DURATION, O_COUNT, O_WARMUP, O_IDLE, O_BATCH,
	O_NOPIN, O_QUICK, O_CSV, O_JSON, O_STRICT, O_NOPROGRESS, O_LIST,
	O_CORRUPT, O_HELP, O_REPEAT, O_WORK,
};

static const struct option longopts[] = {
	{ "only", required_argument, NULL, O_ONLY },
	{ "sizes", required_argument, NULL, O_SIZES },
	{ "duration", required_argument, NULL, O_DURATION },
	{ "count", required_argument, NULL, O_COUNT },
	{ "warmup", required_argument, NULL, O_WARMUP },
	{ "idle", required_argument, NULL, O_IDLE },
	{ "batch", required_argument, NULL, O_BATCH },
	{ "no-pin", no_argument, NULL, O_NOPIN },
	{ "quick", no_argument, NULL, O_QUICK },
	{ "csv", no_argument, NULL, O_CSV },
	{ "json", no_argument, NULL, O_JSON },
	{ "strict", no_argument, NULL, O_STRICT },
	{ "no-progress", no_argument, NULL, O_NOPROGRESS },
	{ "list", no_argument, NULL, O_LIST },
	{ "corrupt", required_argument, NULL, O_CORRUPT },
	{ "help", no_argument, NULL, O_HELP },
	{ "repeat", required_argument, NULL, O_REPEAT },
	{ "work", required_argument, NULL, O_WORK },
	{ NULL, 0, NULL, 0 },
};

int opts_parse(struct opts *o, int argc, char **argv)
{
	static const size_t dflt_sizes[] = { 64, 1024, 4096, 65536 };
	int c, have_dur = 0, have_warm = 0, have_idle = 0;
	uint64_t v;

	memset(o, 0, sizeof(*o));
	memcpy(o->sizes, dflt_sizes, sizeof(dflt_sizes));
	o->nsizes = 4;
	o->duration_ns = 500 * MS;
	o->warmup_ns = 100 * MS;
	o->idle_ns = 1000 * MS;
	o->batch = 32;
	o->repeat = 1;
	o->pin = 1;
	o->progress = 1;
	o->fmt = OUT_MD;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		const char *bad = NULL;

		switch (c) {
		case O_ONLY:
			if (parse_only(o, optarg) < 0)
				bad = "--only";
			break;
		case O_SIZES:
			if (opts_parse_sizes(optarg, o->sizes, &o->nsizes) < 0)
				bad = "--sizes";
			break;
		case O_DURATION:
			if (parse_num(optarg, &v) < 0 || v == 0 || v > 3600000)
				bad = "--duration";
			o->duration_ns = v * MS;
			have_dur = 1;
			break;
		case O_COUNT:
			if (parse_num(optarg, &v) < 0 || v == 0 ||
			    v > (1ull << 40))
				bad = "--count";
			o->count = v;
			break;
		case O_WARMUP:
			if (parse_num(optarg, &v) < 0 || v > 60000)
				bad = "--warmup";
			o->warmup_ns = v * MS;
			have_warm = 1;
			break;
		case O_IDLE:
			if (parse_num(optarg, &v) < 0 || v > 60000)
				bad = "--idle";
			o->idle_ns = v * MS;
			have_idle = 1;
			break;
		case O_BATCH:
			if (parse_num(optarg, &v) < 0 || v == 0 || v > 4096)
				bad = "--batch";
			o->batch = (unsigned)v;
			break;
		case O_WORK:
			if (parse_num(optarg, &v) < 0 || v > BENCH_MAX_WORK)
				bad = "--work";
			o->work = (unsigned)v;
			break;
		case O_REPEAT:
			if (parse_num(optarg, &v) < 0 || v == 0 ||
			    v > BENCH_MAX_REPEAT)
				bad = "--repeat";
			o->repeat = (unsigned)v;
			break;
		case O_NOPIN:
			o->pin = 0;
			break;
		case O_QUICK:
			o->quick = 1;
			break;
		case O_CSV:
			o->fmt = OUT_CSV;
			break;
		case O_JSON:
			o->fmt = OUT_JSON;
			break;
		case O_STRICT:
			o->strict = 1;
			break;
		case O_NOPROGRESS:
			o->progress = 0;
			break;
		case O_LIST:
			list();
			return 1;
		case O_CORRUPT:
			if (parse_num(optarg, &v) < 0 || v == 0)
				bad = "--corrupt";
			o->corrupt_seq = v;
			break;
		case 'h':
		case O_HELP:
			usage(stdout);
			return 1;
		default:
			fprintf(stderr, "memenpsf-bench: unknown option '%s'\n",
				argv[optind - 1]);
			usage(stderr);
			return -EINVAL;
		}
		if (bad) {
			fprintf(stderr, "memenpsf-bench: bad value for %s: '%s'\n",
				bad, optarg);
			return -EINVAL;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "memenpsf-bench: unexpected argument '%s'\n",
			argv[optind]);
		return -EINVAL;
	}
	if (o->quick) {
		if (!have_dur)
			o->duration_ns = 20 * MS;
		if (!have_warm)
			o->warmup_ns = 5 * MS;
		if (!have_idle)
			o->idle_ns = 200 * MS;
	}
	return 0;
}

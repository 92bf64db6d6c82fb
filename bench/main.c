/* SPDX-License-Identifier: MIT */
/*
 * memenpsf-bench: numbers a user can reproduce with one command. For every
 * transport and message size, two fresh processes (this program exec'd with
 * the hidden --side role) measure round trips and one-way throughput; the
 * parent prints a Markdown table (or CSV / JSON) and the targets.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"

static int selected(const struct opts *o, const struct transport *t)
{
	unsigned i;

	if (!o->nonly)
		return 1;
	for (i = 0; i < o->nonly; i++)
		if (o->only[i] == t)
			return 1;
	return 0;
}

int main(int argc, char **argv)
{
	const struct transport *all[BENCH_MAX_TRANSPORTS], *ts[BENCH_MAX_TRANSPORTS];
	struct case_result *res = NULL, *runs = NULL;
	unsigned char *applies = NULL;
	struct machine m;
	struct sweeps sw;
	struct opts o;
	unsigned nall, nt = 0, ncase, n = 0, i, j, k, rep, nfailed = 0;
	int cpus[2] = { -1, -1 }, pinned, tty, r, missed, ret = 1;

	if (argc > 1 && strcmp(argv[1], "--side") == 0)
		return side_main(argc, argv);

	r = opts_parse(&o, argc, argv);
	if (r)
		return r > 0 ? 0 : 2;
	msg_corrupt_seq = 0; /* only a sender side damages messages */

	nall = bench_transports(all, BENCH_MAX_TRANSPORTS);
	for (i = 0; i < nall; i++)
		if (selected(&o, all[i]))
			ts[nt++] = all[i];
	ncase = nt * o.nsizes;
	/* runs[rep * ncase + k]: case k of sweep rep; applies[k]: it has a row */
	runs = calloc((size_t)(ncase ? ncase : 1) * o.repeat, sizeof(*runs));
	res = calloc(ncase ? ncase : 1, sizeof(*res));
	applies = calloc(ncase ? ncase : 1, sizeof(*applies));
	if (!runs || !res || !applies) {
		fprintf(stderr, "memenpsf-bench: out of memory\n");
		goto out;
	}
	machine_probe(&m, argc, argv);
	pinned = o.pin && pick_cpus(cpus) == 0;
	if (o.pin && !pinned && o.progress)
		fprintf(stderr, "memenpsf-bench: fewer than two usable CPUs, "
				"sides not pinned\n");
	o.pin = pinned;
	tty = isatty(STDERR_FILENO);

	/* whole sweeps one after another, so that a burst of other work hits
	 * one run of a case, not all of them; every other sweep runs the
	 * transports of a size in reverse order, so that a row that gains or
	 * loses by what ran just before it (caches, the other side's CPU
	 * state) does so in half the pairs a target compares, not all */
	for (rep = 0; rep < o.repeat; rep++) {
		unsigned pos = 0;

		for (j = 0; j < o.nsizes; j++)
			for (unsigned u = 0; u < nt; u++, pos++) {
				i = rep & 1 ? nt - 1 - u : u;
				k = j * nt + i;
				if (o.progress) {
					char run[32] = "";

					if (o.repeat > 1)
						snprintf(run, sizeof(run),
							 "[run %u/%u] ", rep + 1,
							 o.repeat);
					fprintf(stderr, "%s%s[%3u/%u] %s %zu B%s",
						tty ? "\r\033[K" : "", run, pos + 1,
						ncase, ts[i]->name, o.sizes[j],
						tty ? "" : "\n");
					fflush(stderr);
				}
				r = run_case(&o, ts[i], o.sizes[j], cpus, j == 0,
					     &runs[(size_t)rep * ncase + k]);
				/* a failed case is a row saying so; the run
				 * goes on and exits 1 at the end */
				if (r < 0)
					nfailed++;
				applies[k] = r <= 0;
			}
	}
	if (o.progress && tty)
		fprintf(stderr, "\r\033[K");
	for (k = 0; k < ncase; k++) {
		struct case_result one[BENCH_MAX_REPEAT];

		if (!applies[k])
			continue;
		for (rep = 0; rep < o.repeat; rep++)
			one[rep] = runs[(size_t)rep * ncase + k];
		stats_median_case(&res[n++], one, o.repeat);
	}

	sw.runs = runs;
	sw.ncase = ncase;
	sw.repeat = o.repeat;
	switch (o.fmt) {
	case OUT_MD:
		report_md(&o, &m, pinned, cpus, res, n);
		missed = report_targets(res, n, &sw, 1);
		break;
	case OUT_CSV:
		report_csv(res, n);
		missed = report_targets(res, n, &sw, 0);
		break;
	default:
		report_json(res, n);
		missed = report_targets(res, n, &sw, 0);
		break;
	}
	fflush(stdout);
	ret = (o.strict && missed) ? 3 : 0;
	if (nfailed) {
		fprintf(stderr, "memenpsf-bench: %u case%s failed (see above): "
				"the run failed\n",
			nfailed, nfailed == 1 ? "" : "s");
		ret = 1;
	}
out:
	free(res);
	free(runs);
	free(applies);
	return ret;
}

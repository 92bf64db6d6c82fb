/* SPDX-License-Identifier: MIT */
/*
 * One case seen from the parent: set the transport up, start both sides,
 * close our copies of their descriptors (so a side that dies is seen as a
 * hang-up by the other), wait for both, and turn their reports into a row.
 * The parent itself sleeps in waitpid() and measures nothing.
 * run_case() returns 1 for a case that does not apply (no row).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"
#include "proc.h"

static void describe_status(char *out, size_t len, int status)
{
	if (WIFEXITED(status))
		snprintf(out, len, "exit code %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(out, len, "signal %d (%s)%s", WTERMSIG(status),
			 strsignal(WTERMSIG(status)),
			 WTERMSIG(status) == SIGALRM ? ", time-out" : "");
	else
		snprintf(out, len, "status %#x", status);
}

static int read_results(int fd, struct case_result *out, size_t size)
{
	struct side_result r;
	int got = 0;

	for (;;) {
		int e = tp_read_all(fd, &r, sizeof(r));

		if (e == -EPIPE)
			break; /* both sides are gone: end of the pipe */
		if (e < 0 || r.magic != SIDE_RESULT_MAGIC)
			return -1;
		got++;
		if (r.has_rtt) {
			out->has_rtt = 1;
			out->rtt = r.rtt;
		}
		if (r.has_tput && r.tput_ns) {
			out->has_tput = 1;
			out->msgs_per_s = (double)r.tput_msgs * 1e9 /
					  (double)r.tput_ns;
			out->mb_per_s = out->msgs_per_s * (double)size / 1e6;
		}
		if (r.has_idle && r.idle_wall_ns) {
			out->has_idle = 1;
			out->idle_cpu_pct = 100.0 * (double)r.idle_cpu_ns /
					    (double)r.idle_wall_ns;
			out->idle_wall_s = (double)r.idle_wall_ns / 1e9;
		}
	}
	return got == 2 ? 0 : -1;
}

int run_case(const struct opts *o, const struct transport *t, size_t size,
	     const int cpus[2], int idle, struct case_result *out)
{
	struct side_params p[2];
	pid_t pid[2] = { -1, -1 };
	int res[2] = { -1, -1 };
	int fa[BENCH_MAX_FDS], fb[BENCH_MAX_FDS], na = 0, nb = 0;
	int i, e, status, failed = 0, ret = -1;
	uint64_t budget;

	memset(out, 0, sizeof(*out));
	out->t = t;
	out->size = size;
	if (t->supported) {
		e = t->supported(size, out->why, sizeof(out->why));
		if (e == -2)
			return 1;
		if (e < 0) {
			out->skipped = 1;
			return 0;
		}
	}
	e = t->setup(size, fa, &na, fb, &nb);
	if (e < 0) {
		fprintf(stderr, "memenpsf-bench: %s %zu B: setup: %s\n",
			t->name, size, strerror(-e));
		out->failed = 1;
		snprintf(out->why, sizeof(out->why), "setup: %s", strerror(-e));
		return -1;
	}
	if (pipe2(res, O_CLOEXEC) < 0) {
		fprintf(stderr, "memenpsf-bench: pipe: %s\n", strerror(errno));
		goto err;
	}

	/* a side kills itself (SIGALRM) long after it should have finished */
	budget = 2 * o->warmup_ns + 2 * o->duration_ns + o->idle_ns;
	for (i = 0; i < 2; i++) {
		memset(&p[i], 0, sizeof(p[i]));
		p[i].role = i ? 'B' : 'A';
		p[i].t = t;
		p[i].size = size;
		p[i].batch = o->batch;
		p[i].cpu = o->pin ? cpus[i] : -1;
		p[i].result_fd = res[1];
		p[i].nfds = i ? nb : na;
		memcpy(p[i].fds, i ? fb : fa, sizeof(p[i].fds));
		p[i].count = o->count;
		p[i].duration_ns = o->duration_ns;
		p[i].warmup_ns = o->warmup_ns;
		p[i].idle_ns = idle && (t->flags & T_IDLE) ? o->idle_ns : 0;
		p[i].corrupt_seq = o->corrupt_seq;
		p[i].work = o->work;
		p[i].timeout_s = o->count ? 600 : (unsigned)(budget / 1000000000u) + 60;
		pid[i] = spawn_side(&p[i]);
		if (pid[i] < 0) {
			fprintf(stderr, "memenpsf-bench: fork: %s\n",
				strerror((int)-pid[i]));
			goto err;
		}
	}
	/* only the sides hold the transport and the result pipe's write end */
	tp_close_fds(fa, na);
	tp_close_fds(fb, nb);
	na = nb = 0;
	close(res[1]);
	res[1] = -1;

	for (i = 0; i < 2; i++) {
		pid_t w;
		int j;

		do
			w = waitpid(-1, &status, 0);
		while (w < 0 && errno == EINTR);
		j = w == pid[0] ? 0 : w == pid[1] ? 1 : -1;
		if (j < 0)
			goto err;
		pid[j] = -1;
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
			char why[96];

			describe_status(why, sizeof(why), status);
			fprintf(stderr,
				"memenpsf-bench: %s %zu B: side %c failed (%s)\n",
				t->name, size, j ? 'B' : 'A', why);
			if (!failed)
				snprintf(out->why, sizeof(out->why),
					 "side %c failed (%s)", j ? 'B' : 'A',
					 why);
			failed = 1;
			/* the other side may wait forever on a dead peer */
			if (pid[1 - j] > 0)
				kill(pid[1 - j], SIGKILL);
		}
	}
	if (failed)
		goto err;
	if (read_results(res[0], out, size) < 0) {
		fprintf(stderr, "memenpsf-bench: %s %zu B: a side sent no result\n",
			t->name, size);
		snprintf(out->why, sizeof(out->why), "a side sent no result");
		goto err;
	}
	ret = 0;
err:
	if (ret < 0) {
		out->failed = 1;
		if (!out->why[0])
			snprintf(out->why, sizeof(out->why), "failed to start");
	}
	for (i = 0; i < 2; i++)
		if (pid[i] > 0) {
			kill(pid[i], SIGKILL);
			waitpid(pid[i], &status, 0);
		}
	tp_close_fds(fa, na);
	tp_close_fds(fb, nb);
	tp_close_fds(res, 2);
	return ret;
}

/* SPDX-License-Identifier: MIT */
/*
 * Processes: start one side of a case by fork + exec of this very program
 * (so the two sides share nothing but what the transport shares), handing
 * down exactly the descriptors the side needs; pick the CPUs to pin to.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"
#include "proc.h"

int pick_cpus(int cpus[2])
{
	cpu_set_t set;
	int c, n = 0;

	if (sched_getaffinity(0, sizeof(set), &set) < 0)
		return -1;
	for (c = 0; c < CPU_SETSIZE && n < 2; c++)
		if (CPU_ISSET(c, &set))
			cpus[n++] = c;
	return n == 2 ? 0 : -1;
}

/* Build "fds=3,4,5" */
static void fmt_fds(char *out, size_t len, const int *fds, int n)
{
	size_t used;
	int i;

	used = (size_t)snprintf(out, len, "fds=");
	for (i = 0; i < n && used < len; i++)
		used += (size_t)snprintf(out + used, len - used, "%s%d",
					 i ? "," : "", fds[i]);
}

pid_t spawn_side(const struct side_params *p)
{
	char a_role[16], a_t[64], a_size[32], a_batch[32], a_cpu[32],
		a_res[32], a_fds[128], a_count[48], a_dur[48], a_warm[48],
		a_idle[48], a_corrupt[48], a_work[32], a_timeout[32];
	char a0[] = "memenpsf-bench", a1[] = "--side";
	char *argv[] = { a0, a1, a_role, a_t, a_size,
			 a_batch, a_cpu, a_res, a_fds, a_count, a_dur, a_warm,
			 a_idle, a_corrupt, a_work, a_timeout, NULL };
	pid_t pid;
	int i;

	snprintf(a_role, sizeof(a_role), "role=%c", p->role);
	snprintf(a_t, sizeof(a_t), "t=%s", p->t->name);
	snprintf(a_size, sizeof(a_size), "size=%zu", p->size);
	snprintf(a_batch, sizeof(a_batch), "batch=%u", p->batch);
	snprintf(a_cpu, sizeof(a_cpu), "cpu=%d", p->cpu);
	snprintf(a_res, sizeof(a_res), "res=%d", p->result_fd);
	fmt_fds(a_fds, sizeof(a_fds), p->fds, p->nfds);
	snprintf(a_count, sizeof(a_count), "count=%" PRIu64, p->count);
	snprintf(a_dur, sizeof(a_dur), "dur=%" PRIu64, p->duration_ns);
	snprintf(a_warm, sizeof(a_warm), "warm=%" PRIu64, p->warmup_ns);
	snprintf(a_idle, sizeof(a_idle), "idle=%" PRIu64, p->idle_ns);
	snprintf(a_corrupt, sizeof(a_corrupt), "corrupt=%" PRIu64,
		 p->corrupt_seq);
	snprintf(a_work, sizeof(a_work), "work=%u", p->work);
	snprintf(a_timeout, sizeof(a_timeout), "timeout=%u", p->timeout_s);

	fflush(NULL);
	pid = fork();
	if (pid != 0)
		return pid < 0 ? -errno : pid;

	/* child: let exactly these descriptors cross the exec */
	for (i = 0; i < p->nfds; i++)
		if (fcntl(p->fds[i], F_SETFD, 0) < 0)
			_exit(127);
	if (fcntl(p->result_fd, F_SETFD, 0) < 0)
		_exit(127);
	execv("/proc/self/exe", argv);
	fprintf(stderr, "memenpsf-bench: exec /proc/self/exe: %s\n",
		strerror(errno));
	_exit(127);
}

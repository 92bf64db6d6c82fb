/* SPDX-License-Identifier: MIT */
/* The machine a run was made on, printed above the table. */
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "bench.h"

static void cpu_model(char *out, size_t len)
{
	FILE *f = fopen("/proc/cpuinfo", "re");
	char line[512];

	snprintf(out, len, "unknown CPU");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char *colon = strchr(line, ':');

		if (!colon)
			continue;
		/* x86 names it "model name"; some ARM kernels "Hardware" */
		if (strncmp(line, "model name", 10) &&
		    strncmp(line, "Hardware", 8))
			continue;
		colon++;
		while (*colon == ' ' || *colon == '\t')
			colon++;
		colon[strcspn(colon, "\n")] = '\0';
		snprintf(out, len, "%s", colon);
		break;
	}
	fclose(f);
}

/* What one timestamp costs: every round-trip sample includes one. */
static double clock_cost(void)
{
	uint64_t t0, t1, sink = 0;
	unsigned i;

	t0 = now_ns();
	for (i = 0; i < 100000; i++)
		sink += now_ns();
	t1 = now_ns();
	return sink ? (double)(t1 - t0) / 100000.0 : 0;
}

static void command_line(char *out, size_t len, int argc, char **argv)
{
	size_t used = 0;
	int i;

	out[0] = '\0';
	for (i = 0; i < argc && used < len; i++) {
		const char *a = i ? argv[i] : "memenpsf-bench";

		used += (size_t)snprintf(out + used, len - used, "%s%s",
					 i ? " " : "", a);
	}
}

void machine_probe(struct machine *m, int argc, char **argv)
{
	struct utsname u;
	cpu_set_t set;
	FILE *f;

	memset(m, 0, sizeof(*m));
	cpu_model(m->cpu, sizeof(m->cpu));
	m->online = (int)sysconf(_SC_NPROCESSORS_ONLN);
	if (sched_getaffinity(0, sizeof(set), &set) == 0)
		m->usable = CPU_COUNT(&set);
	if (uname(&u) == 0)
		snprintf(m->kernel, sizeof(m->kernel), "%s %s %s", u.sysname,
			 u.release, u.machine);
	m->clock_ns = clock_cost();
	command_line(m->cmdline, sizeof(m->cmdline), argc, argv);
	m->load1 = -1;
	f = fopen("/proc/loadavg", "re");
	if (f) {
		if (fscanf(f, "%lf", &m->load1) != 1)
			m->load1 = -1;
		fclose(f);
	}
}

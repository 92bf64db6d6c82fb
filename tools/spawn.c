/* SPDX-License-Identifier: MIT */
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "spawn.h"

static struct iface_server *srv;

static void on_term(int sig)
{
	(void)sig;
	iface_server_stop(srv);
}

pid_t tool_server_spawn(const struct iface_server_config *cfg)
{
	int p[2];
	pid_t pid;
	char b;

	if (pipe(p) < 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		int r;

		close(p[0]);
		if (iface_server_create(&srv, cfg) < 0)
			_exit(1);
		signal(SIGTERM, on_term);
		if (write(p[1], "r", 1) != 1)
			_exit(1);
		r = iface_server_run(srv);
		iface_server_destroy(srv);
		_exit(r < 0);
	}
	close(p[1]);
	if (pid > 0 && read(p[0], &b, 1) != 1) {
		waitpid(pid, NULL, 0);
		pid = -1;
	}
	close(p[0]);
	return pid < 0 ? -1 : pid;
}

uint64_t tool_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

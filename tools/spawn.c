/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

int tool_sock_dir(const char *name, char dir[TOOL_DIR_MAX],
		  char path[TOOL_PATH_MAX])
{
	const char *tmp = getenv("TMPDIR");
	int n;

	if (!tmp || !*tmp || strlen(tmp) > 40)
		tmp = "/tmp";
	n = snprintf(dir, TOOL_DIR_MAX, "%s/memenpsf-%s-XXXXXX", tmp, name);
	if (n < 0 || n >= TOOL_DIR_MAX) {
		dir[0] = '\0';
		return -ENAMETOOLONG;
	}
	if (!mkdtemp(dir)) {
		dir[0] = '\0';
		return -errno;
	}
	snprintf(path, TOOL_PATH_MAX, "%s/s.sock", dir);
	return 0;
}

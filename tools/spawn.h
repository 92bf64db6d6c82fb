/* SPDX-License-Identifier: MIT */
/*
 * What the measuring programs of tools/ share: a libiface server run in a
 * child process, and a monotonic clock.
 */
#ifndef MEMENPSF_TOOLS_SPAWN_H
#define MEMENPSF_TOOLS_SPAWN_H

#include <stdint.h>
#include <sys/types.h>

#include <memenpsf/iface.h>

/* Fork a child that creates a server from cfg and runs it until SIGTERM
 * (then destroys it and exits 0). Returns once the server listens: its
 * pid, or -1 when it could not start (the child is then gone). */
pid_t tool_server_spawn(const struct iface_server_config *cfg);

/* A private directory for a server's socket, made with mkdtemp() under
 * TMPDIR (or /tmp when unset, empty or too long):
 * dir = .../memenpsf-NAME-XXXXXX, path = dir/s.sock. 0, or -errno with dir
 * "" (nothing to remove). The caller removes the directory when done. */
#define TOOL_DIR_MAX 80
#define TOOL_PATH_MAX (TOOL_DIR_MAX + 8) /* fits a sockaddr_un */
int tool_sock_dir(const char *name, char dir[TOOL_DIR_MAX],
		  char path[TOOL_PATH_MAX]);

/* CLOCK_MONOTONIC in nanoseconds. */
uint64_t tool_now_ns(void);

#endif

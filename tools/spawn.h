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

/* CLOCK_MONOTONIC in nanoseconds. */
uint64_t tool_now_ns(void);

#endif

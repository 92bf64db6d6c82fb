/* SPDX-License-Identifier: MIT */
/*
 * A connection flood against a libiface server, for the flood test
 * (tests/iface_limits_test.c) and its figure (tools/memenpsf-flood.c): one
 * process opens as many connections as its descriptor limit and the
 * server's backlog let it, and never completes a handshake: half of them
 * send nothing, the other half send the first half of a JOIN. Whatever the
 * server drops is closed and replaced at once, so the pressure stays on.
 */
#ifndef MEMENPSF_TOOLS_FLOOD_H
#define MEMENPSF_TOOLS_FLOOD_H

#include <stdint.h>

struct flood_stats {
	uint64_t opened;   /* connections opened, in all */
	uint64_t hello;    /* of which the server accepted (HELLO came) */
	uint64_t busy;     /* dropped by the server with IFACE_R_BUSY */
	uint64_t refused;  /* refused with another reason (half a JOIN:
			    * PROTOCOL; TIMEOUT) */
	uint64_t closed;   /* ended without a reason */
	uint64_t full;     /* connect() found the backlog full */
	uint64_t max_open; /* most open at once */
	uint64_t fd_limit; /* RLIMIT_NOFILE after raising it to the hard one */
};

/*
 * Flood the server at path until stop_fd is readable (or hangs up). Once
 * ready_after connections were opened, write one byte to ready_fd. At the
 * end close everything and write the struct flood_stats to res_fd. Meant
 * for a child process of its own (it raises its descriptor limit). Returns
 * 0, or 1 when a system call failed unexpectedly.
 */
int flood_run(const char *path, int stop_fd, int ready_fd,
	      uint64_t ready_after, int res_fd);

#endif /* MEMENPSF_TOOLS_FLOOD_H */

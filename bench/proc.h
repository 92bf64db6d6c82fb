/* SPDX-License-Identifier: MIT */
#ifndef MEMENPSF_BENCH_PROC_H
#define MEMENPSF_BENCH_PROC_H

#include <sys/types.h>

#include "bench.h"

/* Fork and exec this program as one side with p's parameters; the child
 * inherits p->fds and p->result_fd (and nothing else we opened: every other
 * descriptor is close-on-exec). Returns the child's pid or -errno. */
pid_t spawn_side(const struct side_params *p);

#endif

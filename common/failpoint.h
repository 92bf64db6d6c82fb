/* SPDX-License-Identifier: MIT */
/*
 * Failpoints: named places in a crash window where a test can make the
 * process die (or an error be injected). They exist only in a build
 * configured with --enable-failpoints; otherwise FAILPOINT() is empty and
 * FAILPOINT_ERR() is the constant 0.
 *
 * A test arms one failpoint per process through the environment:
 *
 *   MEMENPSF_FAILPOINT=NAME[@N][=exit|kill|error]
 *
 * NAME is the failpoint's name ("ipcq.push.before_publish"), N the hit that
 * fires (default 1: the first), the action what happens then: exit calls
 * _exit(FAILPOINT_EXIT_CODE) (default), kill raises SIGKILL, error makes
 * FAILPOINT_ERR() return 1 at that hit. The variable is read at every hit, so
 * a forked child can setenv() it just before the call it tests.
 */
#ifndef MEMENPSF_FAILPOINT_H
#define MEMENPSF_FAILPOINT_H

#define FAILPOINT_ENV "MEMENPSF_FAILPOINT"
#define FAILPOINT_EXIT_CODE 86

#ifdef MEMENPSF_FAILPOINTS
int failpoint_hit(const char *name);
#define FAILPOINT(name) ((void)failpoint_hit(name))
#define FAILPOINT_ERR(name) failpoint_hit(name)
#else
#define FAILPOINT(name) ((void)0)
#define FAILPOINT_ERR(name) 0
#endif

#endif /* MEMENPSF_FAILPOINT_H */

/* SPDX-License-Identifier: MIT */
/*
 * Helpers shared by every check suite.
 *
 * The leak fixture: add it to a TCase with
 *   tcase_add_checked_fixture(tc, tu_leak_setup, tu_leak_teardown);
 * and the test fails when it ends with another set of open descriptors or
 * another number of shared mappings (memfd or /dev/shm) than it began with.
 */
#ifndef MEMENPSF_TESTUTIL_H
#define MEMENPSF_TESTUTIL_H

#include <check.h>
#include <stdint.h>
#include <sys/types.h>

#define TU_MAX_FDS 4096

struct tu_fdset {
	int n;
	int fd[TU_MAX_FDS];
};

/* Snapshot the descriptors in /proc/self/fd (the directory's own fd left out). */
void tu_fd_snapshot(struct tu_fdset *s);
/* Number of open descriptors. */
int tu_fd_count(void);
/* Number of mappings of memfds or files under /dev/shm in /proc/self/maps. */
int tu_shared_mappings(void);

void tu_leak_setup(void);
void tu_leak_teardown(void);

/* A fresh private directory (mkdtemp under $TMPDIR or /tmp, named after the
 * calling process); free with tu_rmtree(), which removes it and everything
 * in it. Directories that processes now gone left there are removed first. */
char *tu_tmpdir(void);
void tu_rmtree(char *dir);

/* A file of the build tree: $MEMENPSF_BUILDDIR (set by make check), else
 * the parent of the directory holding the test binary (libtool keeps it in
 * tests/.libs). malloc'ed. */
char *tu_build_file(const char *rel);

/* Wait for a child; returns its exit code (0..255), or 128 + signal number
 * when a signal ended it, or -1. */
int tu_wait(pid_t pid);

/* A pipe used as a one-shot barrier between two processes. */
struct tu_barrier {
	int fd[2];
};
void tu_barrier_init(struct tu_barrier *b);
void tu_barrier_signal(struct tu_barrier *b); /* write one byte */
void tu_barrier_wait(struct tu_barrier *b);   /* read one byte */
void tu_barrier_close(struct tu_barrier *b);

/* Run every suite of sr, free it; a test program's exit status:
 * EXIT_SUCCESS when none failed, else EXIT_FAILURE. */
int tu_run(SRunner *sr);

/* Cheap checksum for test payloads (FNV-1a 64). */
uint64_t tu_hash(const void *p, size_t n);

#endif /* MEMENPSF_TESTUTIL_H */

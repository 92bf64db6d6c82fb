/* SPDX-License-Identifier: MIT */
/*
 * Helpers for libipcq tests (check suites, stress and crash tests): rings in
 * one process, peers in a forked child, self-checking payloads.
 */
#ifndef MEMENPSF_IPCQ_UTIL_H
#define MEMENPSF_IPCQ_UTIL_H

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <memenpsf/fdpass.h>
#include <memenpsf/ipcq.h>

#include "testutil.h"

/* A 64-byte self-checking message: sequence number, checksum, filler. */
struct iq_msg {
	uint64_t seq;
	uint64_t sum;
	uint8_t fill[48];
};

static inline void iq_fill(struct iq_msg *m, uint64_t seq)
{
	m->seq = seq;
	for (unsigned i = 0; i < sizeof(m->fill); i++)
		m->fill[i] = (uint8_t)(seq * 31 + i);
	m->sum = tu_hash(m->fill, sizeof(m->fill)) ^ seq;
}

/* 1 when m is the intact message number seq. */
static inline int iq_ok(const struct iq_msg *m, uint64_t seq)
{
	return m->seq == seq &&
	       m->sum == (tu_hash(m->fill, sizeof(m->fill)) ^ seq);
}

/* Fill n bytes with a pattern of (seed, i) and check it. */
static inline void iq_pattern(void *p, size_t n, uint64_t seed)
{
	uint8_t *b = p;

	for (size_t i = 0; i < n; i++)
		b[i] = (uint8_t)(seed * 131 + i * 7 + (i >> 8));
}

static inline int iq_pattern_ok(const void *p, size_t n, uint64_t seed)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++)
		if (b[i] != (uint8_t)(seed * 131 + i * 7 + (i >> 8)))
			return 0;
	return 1;
}

/* Entries in a directory other than . and .., or -1. */
static inline int iq_count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

static inline struct ipcq_config iq_cfg(uint32_t elem_size, uint32_t capacity)
{
	struct ipcq_config c;

	memset(&c, 0, sizeof(c));
	c.elem_size = elem_size;
	c.capacity = capacity;
	return c;
}

/* Both ends of one ring in this process: create the producer, attach a
 * consumer to duplicates of its descriptors. */
static inline void iq_pair(const struct ipcq_config *c, struct ipcq **prod,
			   struct ipcq **cons)
{
	int fds[IPCQ_NFDS];

	ck_assert_int_eq(ipcq_create(prod, c, IPCQ_PRODUCER), 0);
	ck_assert_int_eq(ipcq_export(*prod, fds), 0);
	for (int i = 0; i < IPCQ_NFDS; i++) {
		fds[i] = fcntl(fds[i], F_DUPFD_CLOEXEC, 0);
		ck_assert_int_ge(fds[i], 0);
	}
	ck_assert_int_eq(ipcq_attach(cons, fds, IPCQ_CONSUMER, NULL), 0);
}

static inline int64_t iq_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* How long IQ_SPIN retries before it gives up with -ETIMEDOUT: a peer that
 * died must fail the test at once, not hang it until check's time-out. */
#define IQ_SPIN_LIMIT_MS 10000

/* Retry a non-blocking call while it says -EAGAIN, yielding now and then so
 * a peer sharing our core gets to run; -ETIMEDOUT after IQ_SPIN_LIMIT_MS. */
#define IQ_SPIN(expr)                                                          \
	({                                                                     \
		long r_;                                                       \
		unsigned n_ = 0;                                               \
		int64_t t_ = 0;                                                \
		while ((r_ = (long)(expr)) == -EAGAIN) {                       \
			if ((++n_ & 255) != 0)                                 \
				continue;                                      \
			sched_yield();                                         \
			if ((n_ & 65535) != 0)                                 \
				continue;                                      \
			if (t_ == 0)                                           \
				t_ = iq_now_ms();                              \
			else if (iq_now_ms() - t_ > IQ_SPIN_LIMIT_MS) {        \
				r_ = -ETIMEDOUT;                               \
				break;                                         \
			}                                                      \
		}                                                              \
		r_;                                                            \
	})

/*
 * Run fn(sock, arg) in a forked child connected to us by a SOCK_SEQPACKET
 * pair; the child exits with fn's result (0 success). *sock gets our end.
 * Returns the child's pid.
 */
static inline pid_t iq_fork(int (*fn)(int sock, void *arg), void *arg,
			    int *sock)
{
	int sv[2];
	pid_t pid;

	ck_assert_int_eq(fdpass_socketpair(sv), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		close(sv[0]);
		_exit(fn(sv[1], arg));
	}
	close(sv[1]);
	*sock = sv[0];
	return pid;
}

#endif /* MEMENPSF_IPCQ_UTIL_H */

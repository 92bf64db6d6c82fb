/* SPDX-License-Identifier: MIT */
/*
 * Helpers of the crash, hostile-peer and stress suites of libipcq
 * (tests/ipcq-extra.mk): payloads of any size that check themselves, the
 * other side of a ring in a forked child. Header-only, static inline.
 */
#ifndef MEMENPSF_IPCQ_EXTRA_H
#define MEMENPSF_IPCQ_EXTRA_H

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <memenpsf/ipcq.h>

#include "testutil.h"

/*
 * Payload number seq of elem_size bytes. Every byte depends on seq and its
 * position, so a torn element (two messages mixed, a partial copy) never
 * passes px_ok. From 16 bytes on, the element also names itself: bytes 0..7
 * hold seq and bytes 8..15 a checksum (FNV-1a) of the rest.
 */
static inline uint8_t px_byte(uint64_t seq, size_t i)
{
	uint64_t x = (seq + 1) * UINT64_C(0x9e3779b97f4a7c15);

	return (uint8_t)((x >> (8 * (i & 7))) ^ (i * 13) ^ (i >> 8));
}

static inline void px_fill(void *p, size_t n, uint64_t seq)
{
	uint8_t *b = p;
	size_t i;

	for (i = 0; i < n; i++)
		b[i] = px_byte(seq, i);
	if (n >= 16) {
		uint64_t sum = tu_hash(b + 16, n - 16) ^ seq;

		memcpy(b, &seq, 8);
		memcpy(b + 8, &sum, 8);
	}
}

/* 1 when p holds payload number seq, intact. */
static inline int px_ok(const void *p, size_t n, uint64_t seq)
{
	const uint8_t *b = p;
	size_t i;

	if (n >= 16) {
		uint64_t s, sum;

		memcpy(&s, b, 8);
		memcpy(&sum, b + 8, 8);
		if (s != seq || sum != (tu_hash(b + 16, n - 16) ^ seq))
			return 0;
		i = 16;
	} else {
		i = 0;
	}
	for (; i < n; i++)
		if (b[i] != px_byte(seq, i))
			return 0;
	return 1;
}

/* The sequence number an element of n >= 16 bytes says it carries. */
static inline uint64_t px_seq(const void *p)
{
	uint64_t s;

	memcpy(&s, p, 8);
	return s;
}

static inline struct ipcq_config px_cfg(uint32_t elem_size, uint32_t capacity,
					uint64_t first_index)
{
	struct ipcq_config c;

	memset(&c, 0, sizeof(c));
	c.elem_size = elem_size;
	c.capacity = capacity;
	c.first_index = first_index;
	return c;
}

/* Duplicates (CLOEXEC) of q's three descriptors, for ipcq_attach, which
 * takes ownership of what it is given. */
static inline void px_dup_fds(const struct ipcq *q, int fds[IPCQ_NFDS])
{
	ck_assert_int_eq(ipcq_export(q, fds), 0);
	for (int i = 0; i < IPCQ_NFDS; i++) {
		fds[i] = fcntl(fds[i], F_DUPFD_CLOEXEC, 0);
		ck_assert_int_ge(fds[i], 0);
	}
}

/* Attach a second handle of role to q's ring (same process, or a forked
 * child: it works from the inherited descriptors). 0 or -errno. */
static inline int px_attach(struct ipcq **out, const struct ipcq *q,
			    enum ipcq_role role)
{
	int fds[IPCQ_NFDS];

	if (ipcq_export(q, fds) < 0)
		return -EINVAL;
	for (int i = 0; i < IPCQ_NFDS; i++) {
		fds[i] = fcntl(fds[i], F_DUPFD_CLOEXEC, 0);
		if (fds[i] < 0) {
			while (i-- > 0)
				close(fds[i]);
			return -errno;
		}
	}
	return ipcq_attach(out, fds, role, NULL);
}

/* Retry a non-blocking call while it says -EAGAIN, yielding now and then so
 * a peer that shares our core gets to run. Not at every miss: on a busy
 * machine each yield waits for every other runnable task. */
#define PX_SPIN(expr)                                                          \
	({                                                                     \
		long r_;                                                       \
		unsigned n_ = 0;                                               \
		while ((r_ = (long)(expr)) == -EAGAIN)                         \
			if ((++n_ & 1023) == 0)                                \
				sched_yield();                                 \
		r_;                                                            \
	})

#endif /* MEMENPSF_IPCQ_EXTRA_H */

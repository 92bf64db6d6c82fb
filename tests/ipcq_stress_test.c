/* SPDX-License-Identifier: MIT */
/*
 * libipcq under load: two real processes (the parent produces, a forked
 * child consumes) move more than 10 million elements in all, each carrying
 * its number and a checksum (tests/ipcq_extra.h), so a lost, repeated,
 * reordered or torn element fails the run. The variants cover single and
 * batched calls, spinning and blocking (with and without the spin phase),
 * zero-copy, byte messages of every length, a path ring (futex doorbells),
 * element sizes 1, 16, 63 and 4104 (4096 + 8), and indices that start just
 * below 2^64 so they wrap early in the run.
 *
 * Each variant prints its throughput to stderr (informative only).
 */
#include <check.h>
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <memenpsf/fdpass.h>
#include <memenpsf/ipcq.h>

#include "ipcq_extra.h"
#include "testutil.h"

#define NEAR_WRAP (UINT64_MAX - 100000) /* wraps 100k elements in */
#define MAXB 64u                        /* largest batch */
#define TMO 20000                       /* ms: a blocked call's bound */

enum mode {
	M_SPIN,  /* push / pop, retried while -EAGAIN */
	M_BATCH, /* push_n / pop_n of random sizes 1..MAXB */
	M_BLOCK, /* push_wait / pop_wait, default spin then sleep */
	M_SLEEP, /* push_wait / pop_wait with spin 0: every wait sleeps */
	M_ZC,    /* reserve / commit (partly) and peek / release (partly) */
	M_BYTES, /* send_wait / recv_wait, every length 0..elem_size */
};

struct scase {
	const char *name;
	enum mode mode;
	uint32_t elem, cap;
	uint64_t n;
	uint64_t first;
	int path; /* a path ring instead of a memfd */
};

static const struct scase scases[] = {
	{ "spin-63", M_SPIN, 63, 1024, 3500000, NEAR_WRAP, 0 },
	{ "batch-16", M_BATCH, 16, 1024, 4000000, NEAR_WRAP, 0 },
	{ "block-63", M_BLOCK, 63, 256, 1500000, 0, 0 },
	{ "spin-1", M_SPIN, 1, 64, 1000000, NEAR_WRAP, 0 },
	{ "sleep-4104", M_SLEEP, 4104, 16, 40000, NEAR_WRAP, 0 },
	{ "zc-4104", M_ZC, 4104, 64, 50000, NEAR_WRAP, 0 },
	{ "bytes-63", M_BYTES, 63, 128, 200000, NEAR_WRAP, 0 },
	{ "path-block-63", M_BLOCK, 63, 256, 300000, NEAR_WRAP, 1 },
	{ "path-sleep-16", M_SLEEP, 16, 8, 30000, 0, 1 },
};
#define NSCASES (int)(sizeof(scases) / sizeof(scases[0]))

/* Exit codes of the consumer child. */
#define CH_SETUP 10
#define CH_CALL 11
#define CH_BAD 12
#define CH_EXTRA 13

/* This process's end of the socket pair: its hang-up means the peer died,
 * which a spinning side must notice (it never blocks). */
static int peer_sock = -1;

static int peer_gone(void)
{
	struct pollfd p = { .fd = peer_sock, .events = POLLRDHUP };

	return poll(&p, 1, 0) > 0 &&
	       (p.revents & (POLLHUP | POLLRDHUP | POLLERR | POLLNVAL));
}

/* PX_SPIN that gives -EPIPE once the peer is gone. */
#define SPIN(expr)                                                             \
	({                                                                     \
		long r_;                                                       \
		unsigned n_ = 0;                                               \
		while ((r_ = (long)(expr)) == -EAGAIN)                         \
			if ((++n_ & 1023) == 0) {                              \
				sched_yield();                                 \
				if (peer_gone()) {                             \
					r_ = -EPIPE;                           \
					break;                                 \
				}                                              \
			}                                                      \
		r_;                                                            \
	})

static uint32_t rnd(uint64_t *s)
{
	/* xorshift64: cheap and the same in both processes for one seed */
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return (uint32_t)(*s >> 32);
}

static unsigned batch_of(uint64_t *s, uint64_t left)
{
	unsigned b = rnd(s) % MAXB + 1;

	return left < b ? (unsigned)left : b;
}

/* Length of byte message seq: every length 0..elem comes round. */
static size_t len_of(const struct scase *c, uint64_t seq)
{
	return (size_t)(seq % ((uint64_t)c->elem + 1));
}

static int64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void bad(const char *what, uint64_t seq, long r)
{
	fprintf(stderr, "stress consumer: %s at element %" PRIu64 " (%ld)\n",
		what, seq, r);
}

static int consume(struct ipcq *q, const struct scase *c)
{
	size_t es = c->elem;
	uint8_t *buf = malloc(es * MAXB);
	uint64_t s = 0x2545f4914f6cdd1dULL, got = 0;
	long r = 0;

	if (!buf)
		return CH_SETUP;
	if (c->mode == M_SLEEP)
		ipcq_set_spin(q, 0);
	while (got < c->n) {
		long n = 1;

		switch (c->mode) {
		case M_SPIN:
			r = SPIN(ipcq_pop(q, buf));
			break;
		case M_BATCH:
			r = n = SPIN(ipcq_pop_n(q, buf, batch_of(&s, c->n - got)));
			break;
		case M_BLOCK:
		case M_SLEEP:
			r = ipcq_pop_wait(q, buf, TMO);
			break;
		case M_ZC: {
			const void *f;
			unsigned keep;

			r = n = SPIN(ipcq_peek(q, batch_of(&s, c->n - got),
						  &f, NULL));
			if (n <= 0)
				break;
			/* give back only some: the rest is peeked again */
			keep = rnd(&s) % (unsigned)n + 1;
			for (unsigned k = 0; k < keep; k++)
				if (!px_ok((const uint8_t *)f +
						   (size_t)k * ipcq_stride(q),
					   es, got + k)) {
					bad("torn zero-copy element", got + k, 0);
					return CH_BAD;
				}
			r = ipcq_release(q, keep);
			if (r < 0)
				break;
			got += keep;
			continue;
		}
		case M_BYTES:
			r = ipcq_recv_wait(q, buf, es, TMO);
			if (r >= 0 && (size_t)r != len_of(c, got)) {
				bad("wrong length", got, r);
				return CH_BAD;
			}
			if (r >= 0 && !px_ok(buf, (size_t)r, got)) {
				bad("torn message", got, r);
				return CH_BAD;
			}
			if (r >= 0)
				got++;
			else
				break;
			continue;
		}
		if (r < 0) {
			bad("call failed", got, r);
			return CH_CALL;
		}
		for (long k = 0; k < n; k++)
			if (!px_ok(buf + (size_t)k * es, es, got + (uint64_t)k)) {
				bad("torn or misordered element", got + k, 0);
				return CH_BAD;
			}
		got += (uint64_t)n;
	}
	/* nothing beyond the last one */
	r = ipcq_pop(q, buf);
	if (r != -EAGAIN) {
		bad("an element past the end", got, r);
		return CH_EXTRA;
	}
	free(buf);
	return 0;
}

static void produce(struct ipcq *p, const struct scase *c, pid_t pid)
{
	size_t es = c->elem;
	uint8_t *buf = malloc(es * MAXB);
	uint64_t s = 0x9e3779b97f4a7c15ULL, sent = 0;
	long r;

	ck_assert_ptr_nonnull(buf);
	if (c->mode == M_SLEEP)
		ipcq_set_spin(p, 0);
	while (sent < c->n) {
		long n = 1;
		unsigned b;
		void *f;

		switch (c->mode) {
		case M_SPIN:
			px_fill(buf, es, sent);
			r = SPIN(ipcq_push(p, buf));
			break;
		case M_BATCH:
			b = batch_of(&s, c->n - sent);
			for (unsigned k = 0; k < b; k++)
				px_fill(buf + k * es, es, sent + k);
			r = n = SPIN(ipcq_push_n(p, buf, b));
			break;
		case M_BLOCK:
		case M_SLEEP:
			px_fill(buf, es, sent);
			r = ipcq_push_wait(p, buf, TMO);
			break;
		case M_ZC:
			r = SPIN(ipcq_reserve(p, batch_of(&s, c->n - sent), &f));
			if (r <= 0)
				break;
			for (long k = 0; k < r; k++)
				px_fill((uint8_t *)f + (size_t)k * ipcq_stride(p),
					es, sent + (uint64_t)k);
			/* commit only some: the rest is reserved again */
			n = rnd(&s) % (unsigned)r + 1;
			r = ipcq_commit(p, (unsigned)n);
			break;
		case M_BYTES:
			px_fill(buf, len_of(c, sent), sent);
			r = ipcq_send_wait(p, buf, len_of(c, sent), TMO);
			break;
		}
		ck_assert_msg(r >= 0, "%s: producer call failed at %" PRIu64
			      ": %ld (consumer exit status %d)", c->name, sent,
			      r, r == -EPIPE ? tu_wait(pid) : -1);
		sent += (uint64_t)n;
	}
	free(buf);
}

START_TEST(test_stress)
{
	const struct scase *c = &scases[_i];
	struct ipcq_config cfg = px_cfg(c->elem, c->cap, c->first);
	char *dir = NULL, *path = NULL;
	struct ipcq *p;
	int64_t t0, us;
	int sv[2], st;
	pid_t pid;

	if (c->path) {
		dir = tu_tmpdir();
		ck_assert_int_ge(asprintf(&path, "%s/ring", dir), 0);
		ck_assert_int_eq(ipcq_create_path(&p, path, &cfg, IPCQ_PRODUCER,
						  0), 0);
	} else {
		ck_assert_int_eq(ipcq_create(&p, &cfg, IPCQ_PRODUCER), 0);
	}
	/* the socket's hang-up tells a blocked side its peer died */
	ck_assert_int_eq(fdpass_socketpair(sv), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct ipcq *q;
		int r;

		close(sv[0]);
		r = path ? ipcq_open_path(&q, path, NULL, IPCQ_CONSUMER)
			 : px_attach(&q, p, IPCQ_CONSUMER);
		if (r < 0)
			_exit(CH_SETUP);
		ipcq_close(p); /* the child keeps only its own side */
		ipcq_set_peer_fd(q, sv[1]);
		peer_sock = sv[1];
		r = consume(q, c);
		ipcq_close(q);
		_exit(r);
	}
	close(sv[1]);
	ipcq_set_peer_fd(p, sv[0]);
	peer_sock = sv[0];
	t0 = now_us();
	produce(p, c, pid);
	st = tu_wait(pid);
	us = now_us() - t0;
	ck_assert_msg(st == 0, "%s: consumer exited with %d", c->name, st);
	fprintf(stderr, "ipcq stress %-14s %8" PRIu64 " x %4u B: %7.1f ms, "
		"%6.2f M/s\n", c->name, c->n, c->elem, us / 1000.0,
		us ? (double)c->n / (double)us : 0.0);
	/* the consumer took everything */
	ck_assert_uint_eq(ipcq_count(p), 0);
	ck_assert_uint_eq(ipcq_free(p), c->cap);
	ipcq_close(p);
	close(sv[0]);
	if (dir) {
		tu_rmtree(dir);
		free(path);
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("ipcq-stress");
	TCase *tc = tcase_create("stress");
	SRunner *sr;

	tcase_add_checked_fixture(tc, tu_leak_setup, tu_leak_teardown);
	/* generous: 2 shared cores, and ASan builds run it too */
	tcase_set_timeout(tc, 240);
	tcase_add_loop_test(tc, test_stress, 0, NSCASES);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_set_fork_status(sr, CK_FORK);
	return tu_run(sr);
}

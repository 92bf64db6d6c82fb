/* SPDX-License-Identifier: MIT */
/*
 * libipcq crash suite: a real child process dies (_exit, or SIGKILL) at every
 * failpoint of push, batch push, commit, pop, batch pop, release, create,
 * create_path, open, attach, share and accept, and the parent, which owns the
 * other side of the ring, checks the contract of queue/failpoints.h:
 *
 *   - a producer that dies before publishing leaves nothing visible; one that
 *     dies after publishing leaves exactly what it published, intact; the
 *     next producer resumes and the whole capacity is usable again;
 *   - a consumer that dies before releasing leaves its elements to be read
 *     again; after releasing they are gone;
 *   - a process that dies mid-set-up leaves no ring at the path, no role
 *     held, and a retry works; a peer blocked in a wait sees -EPIPE (or the
 *     data, when it was published before the death).
 *
 * Producer and consumer crashes run on memfd rings (the child attaches from
 * the inherited descriptors, and so does the parent's next consumer) and on
 * path rings (reopened by path, the dead holder's role taken over). Every element carries its
 * number and a checksum (tests/ipcq_extra.h): no torn element may show.
 *
 * Without --enable-failpoints the binary skips (exit 77) and says why.
 */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <memenpsf/fdpass.h>
#include <memenpsf/ipcq.h>

#include "failpoint.h"
#include "ipcq_extra.h"
#include "layout.h"
#include "testutil.h"

#ifdef MEMENPSF_FAILPOINTS

/* The element size of a case: 40 (inline slots of 48 bytes, payload not a
 * multiple of a line) or, in the second half of the producer and consumer
 * cases, BIG (words apart from packed payloads: layout.h). */
#define SMALL 40u
#define BIG 64u
static uint32_t elem = SMALL;
#define ELEM elem
#define CAP 8u
#define PRE 3u       /* elements pushed (or popped) before the fatal call */
#define BATCH 4u
#define DEAD_EXIT FAILPOINT_EXIT_CODE
#define DEAD_KILL (128 + SIGKILL)
/* Exit codes of a child that went wrong before reaching its failpoint. */
#define CH_SETUP 10
#define CH_PRE 11
#define CH_SURVIVED 12

/* Two starting points: 0, and just below 2^64 so that the PRE elements
 * cross the wrap of the indices and a batch crosses the end of the slots. */
static const uint64_t firsts[2] = { 0, UINT64_MAX - 4 };

static void arm(const char *fp, const char *action)
{
	char spec[128];

	snprintf(spec, sizeof(spec), "%s=%s", fp, action);
	setenv(FAILPOINT_ENV, spec, 1);
}

static int dead_status(int st, const char *action)
{
	return st == (strcmp(action, "kill") == 0 ? DEAD_KILL : DEAD_EXIT);
}

static char *ring_path(char **dir)
{
	char *p;

	*dir = tu_tmpdir();
	ck_assert_int_ge(asprintf(&p, "%s/ring", *dir), 0);
	return p;
}

/* Entries of dir other than "ring": temporary files a crash left behind. */
static int strays(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	ck_assert_ptr_nonnull(d);
	while ((e = readdir(d)))
		if (e->d_name[0] != '.' && strcmp(e->d_name, "ring") != 0)
			n++;
	closedir(d);
	return n;
}

/* Pop everything visible; each element must be the next number, intact.
 * Returns the number after the last one popped. */
static uint64_t drain_check(struct ipcq *q, uint64_t seq)
{
	uint8_t buf[BIG];
	int r;

	while ((r = ipcq_pop(q, buf)) == 0) {
		ck_assert_msg(px_ok(buf, ELEM, seq),
			      "element %llu torn or out of order (says %llu)",
			      (unsigned long long)seq,
			      (unsigned long long)px_seq(buf));
		seq++;
	}
	ck_assert_int_eq(r, -EAGAIN);
	return seq;
}

/* The ring works at full capacity: exactly CAP pushes fit into the (empty)
 * ring, and they come out in order, intact. */
static uint64_t full_lap(struct ipcq *p, struct ipcq *q, uint64_t seq)
{
	uint8_t buf[BIG];
	unsigned i;

	for (i = 0; i < CAP; i++) {
		px_fill(buf, ELEM, seq + i);
		ck_assert_int_eq(ipcq_push(p, buf), 0);
	}
	px_fill(buf, ELEM, seq + CAP);
	ck_assert_int_eq(ipcq_push(p, buf), -EAGAIN);
	ck_assert_uint_eq(drain_check(q, seq), seq + CAP);
	return seq + CAP;
}

/* ---- producer deaths ------------------------------------------------------ */

enum pop_kind { P_PUSH, P_SEND, P_PUSH_N, P_COMMIT, P_COMMIT_LEN };

struct pcase {
	const char *fp;     /* failpoint spec without the action */
	enum pop_kind op;
	int visible;        /* elements of the fatal call left visible;
			     * ALL: every one the call was to publish */
	const char *action; /* exit | kill */
};

#define ALL (-1)

static const struct pcase pcases[] = {
	{ "ipcq.push.after_copy", P_PUSH, 0, "exit" },
	{ "ipcq.push.after_copy", P_PUSH, 0, "kill" },
	{ "ipcq.push.after_publish", P_PUSH, 1, "exit" },
	{ "ipcq.push.after_publish", P_PUSH, 1, "kill" },
	{ "ipcq.push.after_tail", P_PUSH, 1, "exit" },
	{ "ipcq.push.after_copy", P_SEND, 0, "exit" },
	{ "ipcq.push.after_publish", P_SEND, 1, "exit" },
	{ "ipcq.push.after_tail", P_SEND, 1, "kill" },
	{ "ipcq.push_n.after_slot@1", P_PUSH_N, 1, "exit" },
	{ "ipcq.push_n.after_slot@2", P_PUSH_N, 2, "exit" },
	{ "ipcq.push_n.after_slot@3", P_PUSH_N, 3, "kill" },
	{ "ipcq.push_n.after_slot@4", P_PUSH_N, 4, "exit" },
	{ "ipcq.push_n.after_publish", P_PUSH_N, ALL, "exit" },
	{ "ipcq.push_n.after_publish", P_PUSH_N, ALL, "kill" },
	{ "ipcq.push_n.after_tail", P_PUSH_N, ALL, "exit" },
	{ "ipcq.commit.after_slot@1", P_COMMIT, 1, "exit" },
	{ "ipcq.commit.after_slot@2", P_COMMIT, 2, "kill" },
	{ "ipcq.commit.after_publish", P_COMMIT, ALL, "exit" },
	{ "ipcq.commit.after_tail", P_COMMIT, ALL, "exit" },
	{ "ipcq.commit.after_publish", P_COMMIT_LEN, 1, "exit" },
	{ "ipcq.commit.after_tail", P_COMMIT_LEN, 1, "kill" },
};
#define NPCASES (int)(sizeof(pcases) / sizeof(pcases[0]))

/* How many elements the fatal call handles, from index idx on. */
static unsigned call_size(enum pop_kind op, uint64_t idx)
{
	unsigned to_end = CAP - (unsigned)(idx & (CAP - 1));

	switch (op) {
	case P_PUSH_N:
		return BATCH;
	case P_COMMIT: /* reserve hands out contiguous slots only */
		return to_end < BATCH ? to_end : BATCH;
	default:
		return 1;
	}
}

/* The child: attach as producer (from the inherited descriptors of q, or by
 * path), push PRE elements, then die in the armed call. */
static void producer_child(struct ipcq *q, const char *path,
			   const struct pcase *c)
{
	uint8_t buf[BATCH * BIG];
	struct ipcq *p;
	void *slot;
	unsigned k;
	int r;

	r = path ? ipcq_open_path(&p, path, NULL, IPCQ_PRODUCER)
		 : px_attach(&p, q, IPCQ_PRODUCER);
	if (r < 0)
		_exit(CH_SETUP);
	for (k = 0; k < PRE; k++) {
		px_fill(buf, ELEM, k);
		if (ipcq_push(p, buf) != 0)
			_exit(CH_PRE);
	}
	for (k = 0; k < BATCH; k++)
		px_fill(buf + k * ELEM, ELEM, PRE + k);
	arm(c->fp, c->action);
	switch (c->op) {
	case P_PUSH:
		r = ipcq_push(p, buf);
		break;
	case P_SEND:
		r = ipcq_send(p, buf, ELEM);
		break;
	case P_PUSH_N:
		r = ipcq_push_n(p, buf, BATCH);
		break;
	case P_COMMIT:
	case P_COMMIT_LEN:
		r = ipcq_reserve(p, c->op == P_COMMIT ? BATCH : 1, &slot);
		if (r <= 0)
			_exit(CH_PRE);
		for (k = 0; k < (unsigned)r; k++)
			memcpy((uint8_t *)slot + (size_t)k * ipcq_stride(p),
			       buf + k * ELEM, ELEM);
		r = c->op == P_COMMIT ? ipcq_commit(p, (unsigned)r)
				      : ipcq_commit_len(p, ELEM);
		break;
	}
	(void)r;
	_exit(CH_SURVIVED);
}

/*
 * _i = case * 8 + order * 4 + first * 2 + vehicle (0 memfd, 1 path). The
 * parent is the consumer and never pops before the death. Order 0: it
 * checks what is visible, then lets a new producer take over; order 1: the
 * new producer takes over first (it must skip what the dead one published
 * but did not count in tail) and pushes one more. Then full laps.
 */
START_TEST(test_producer_dies)
{
	const struct pcase *c = &pcases[(_i / 8) % NPCASES];
	int takeover_first = (_i / 4) % 2;
	uint64_t first = firsts[(_i / 2) % 2];
	int by_path = _i % 2;
	struct ipcq_config cfg = px_cfg(elem = _i < NPCASES * 8 ? SMALL : BIG,
					CAP, first);
	unsigned n = call_size(c->op, first + PRE);
	unsigned visible = c->visible == ALL ? n : (unsigned)c->visible;
	char *dir = NULL, *path = NULL;
	struct ipcq *q, *p;
	uint64_t seq;
	pid_t pid;
	int st;

	if (by_path) {
		path = ring_path(&dir);
		ck_assert_int_eq(ipcq_create_path(&q, path, &cfg, IPCQ_CONSUMER,
						  0), 0);
	} else {
		ck_assert_int_eq(ipcq_create(&q, &cfg, IPCQ_CONSUMER), 0);
	}
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0)
		producer_child(q, path, c);
	st = tu_wait(pid);
	ck_assert_msg(dead_status(st, c->action),
		      "%s=%s: child ended with %d", c->fp, c->action, st);

	if (takeover_first) {
		uint8_t buf[BIG];

		/* the new producer resumes after the last published element */
		if (by_path)
			ck_assert_int_eq(ipcq_open_path(&p, path, NULL,
							IPCQ_PRODUCER), 0);
		else
			ck_assert_int_eq(px_attach(&p, q, IPCQ_PRODUCER), 0);
		ck_assert_uint_eq(ipcq_free(p), CAP - PRE - visible);
		px_fill(buf, ELEM, PRE + visible);
		ck_assert_int_eq(ipcq_push(p, buf), 0);
		visible++;
	}
	/* exactly what was published, intact, in order; nothing more */
	seq = drain_check(q, 0);
	ck_assert_msg(seq == PRE + visible, "%s: %llu visible, want %u", c->fp,
		      (unsigned long long)seq, PRE + visible);
	ck_assert_int_eq(ipcq_count(q), 0);

	if (!takeover_first) {
		/* a new producer resumes after the last published element */
		if (by_path)
			ck_assert_int_eq(ipcq_open_path(&p, path, NULL,
							IPCQ_PRODUCER), 0);
		else
			ck_assert_int_eq(px_attach(&p, q, IPCQ_PRODUCER), 0);
	}
	ck_assert_uint_eq(ipcq_free(p), CAP);
	seq = full_lap(p, q, seq);
	seq = full_lap(p, q, seq);
	ipcq_close(p);
	ipcq_close(q);
	if (by_path) {
		ck_assert_int_eq(strays(dir), 0);
		tu_rmtree(dir);
		free(path);
	}
}
END_TEST

/* ---- consumer deaths ------------------------------------------------------ */

enum cop_kind { C_POP, C_RECV, C_POP_N, C_PEEK };

struct ccase {
	const char *fp;
	enum cop_kind op;
	int gone;           /* elements of the fatal call consumed for good;
			     * ALL: every one the call handled */
	const char *action;
};

static const struct ccase ccases[] = {
	{ "ipcq.pop.after_copy", C_POP, 0, "exit" },
	{ "ipcq.pop.after_copy", C_POP, 0, "kill" },
	{ "ipcq.pop.after_release", C_POP, 1, "exit" },
	{ "ipcq.pop.after_release", C_POP, 1, "kill" },
	{ "ipcq.pop.after_copy", C_RECV, 0, "exit" },
	{ "ipcq.pop.after_release", C_RECV, 1, "exit" },
	{ "ipcq.pop_n.after_slot@1", C_POP_N, 0, "exit" },
	{ "ipcq.pop_n.after_slot@4", C_POP_N, 0, "kill" },
	{ "ipcq.pop_n.after_copy", C_POP_N, 0, "exit" },
	{ "ipcq.pop_n.after_release", C_POP_N, ALL, "exit" },
	{ "ipcq.pop_n.after_release", C_POP_N, ALL, "kill" },
	{ "ipcq.release.before_release", C_PEEK, 0, "exit" },
	{ "ipcq.release.before_release", C_PEEK, 0, "kill" },
	{ "ipcq.release.after_release", C_PEEK, ALL, "exit" },
	{ "ipcq.release.after_release", C_PEEK, ALL, "kill" },
};
#define NCCASES (int)(sizeof(ccases) / sizeof(ccases[0]))
#define FILLED (PRE + BATCH + 1) /* elements in the ring before the child */

static void consumer_child(struct ipcq *p, const char *path,
			   const struct ccase *c)
{
	uint8_t buf[BATCH * BIG];
	const void *first;
	struct ipcq *q;
	unsigned k;
	int r;

	r = path ? ipcq_open_path(&q, path, NULL, IPCQ_CONSUMER)
		 : px_attach(&q, p, IPCQ_CONSUMER);
	if (r < 0)
		_exit(CH_SETUP);
	for (k = 0; k < PRE; k++)
		if (ipcq_pop(q, buf) != 0 || !px_ok(buf, ELEM, k))
			_exit(CH_PRE);
	arm(c->fp, c->action);
	switch (c->op) {
	case C_POP:
		r = ipcq_pop(q, buf);
		break;
	case C_RECV:
		r = (int)ipcq_recv(q, buf, sizeof(buf));
		break;
	case C_POP_N:
		r = ipcq_pop_n(q, buf, BATCH);
		break;
	case C_PEEK:
		/* peek hands out contiguous slots only: maybe fewer */
		r = ipcq_peek(q, BATCH, &first, NULL);
		if (r <= 0)
			_exit(CH_PRE);
		for (k = 0; k < (unsigned)r; k++)
			if (!px_ok((const uint8_t *)first +
					   (size_t)k * ipcq_stride(q),
				   ELEM, PRE + k))
				_exit(CH_PRE);
		r = ipcq_release(q, (unsigned)r);
		break;
	}
	(void)r;
	_exit(CH_SURVIVED);
}

/*
 * _i = case * 4 + first * 2 + vehicle (0 memfd, 1 path). The parent is the
 * producer; the child consumes PRE elements, then dies in the armed call;
 * the parent attaches (memfd: from its descriptors) or reopens (path) the
 * ring as the consumer and checks where it resumes.
 */
START_TEST(test_consumer_dies)
{
	const struct ccase *c = &ccases[(_i / 4) % NCCASES];
	uint64_t first = firsts[(_i / 2) % 2];
	int by_path = _i % 2;
	struct ipcq_config cfg = px_cfg(elem = _i < NCCASES * 4 ? SMALL : BIG,
					CAP, first);
	unsigned to_end = CAP - (unsigned)((first + PRE) & (CAP - 1));
	unsigned n = c->op == C_POP_N ? BATCH
		   : c->op == C_PEEK ? (to_end < BATCH ? to_end : BATCH) : 1;
	unsigned gone = c->gone == ALL ? n : (unsigned)c->gone;
	uint8_t buf[BIG];
	char *dir = NULL, *path = NULL;
	struct ipcq *p, *q;
	uint64_t seq;
	pid_t pid;
	int st;

	if (by_path) {
		path = ring_path(&dir);
		ck_assert_int_eq(ipcq_create_path(&p, path, &cfg, IPCQ_PRODUCER,
						  0), 0);
	} else {
		ck_assert_int_eq(ipcq_create(&p, &cfg, IPCQ_PRODUCER), 0);
	}
	for (seq = 0; seq < FILLED; seq++) {
		px_fill(buf, ELEM, seq);
		ck_assert_int_eq(ipcq_push(p, buf), 0);
	}
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0)
		consumer_child(p, path, c);
	st = tu_wait(pid);
	ck_assert_msg(dead_status(st, c->action),
		      "%s=%s: child ended with %d", c->fp, c->action, st);

	/* the producer sees the space the child released, no more */
	ck_assert_uint_eq(ipcq_count(p), FILLED - PRE - gone);
	/* the dead consumer's role is free; we resume where it released */
	if (by_path)
		ck_assert_int_eq(ipcq_open_path(&q, path, NULL, IPCQ_CONSUMER), 0);
	else
		ck_assert_int_eq(px_attach(&q, p, IPCQ_CONSUMER), 0);
	ck_assert_uint_eq(ipcq_count(q), FILLED - PRE - gone);
	ck_assert_uint_eq(drain_check(q, PRE + gone), FILLED);
	seq = full_lap(p, q, FILLED);
	seq = full_lap(p, q, seq);
	ipcq_close(q);
	ipcq_close(p);
	if (by_path) {
		ck_assert_int_eq(strays(dir), 0);
		tu_rmtree(dir);
		free(path);
	}
}
END_TEST

/* ---- deaths while the other side is blocked ------------------------------- */

/* Child side: wait (bounded) until the parent's asleep flag is up in the
 * shared page, so the death happens while it sleeps. */
static int wait_flag(const volatile uint32_t *flag)
{
	for (unsigned long n = 0; n < 200000000ul; n++) {
		if (__atomic_load_n(flag, __ATOMIC_ACQUIRE))
			return 0;
		if ((n & 63) == 0)
			sched_yield();
	}
	return -1;
}

struct bcase {
	const char *fp;
	int producer_dies; /* else the consumer dies */
	int want;          /* the blocked parent's result */
	int by_path;
};

static const struct bcase bcases[] = {
	{ "ipcq.push.after_copy", 1, -EPIPE, 0 },
	{ "ipcq.push.after_publish", 1, 0, 0 },
	{ "ipcq.push.after_tail", 1, 0, 0 },
	{ "ipcq.push.after_copy", 1, -EPIPE, 1 },
	{ "ipcq.push.after_publish", 1, 0, 1 },
	{ "ipcq.pop.after_copy", 0, -EPIPE, 0 },
	{ "ipcq.pop.after_release", 0, 0, 0 },
	{ "ipcq.pop.after_copy", 0, -EPIPE, 1 },
	{ "ipcq.pop.after_release", 0, 0, 1 },
};
#define NBCASES (int)(sizeof(bcases) / sizeof(bcases[0]))

static void blocked_child(struct ipcq *mine, const char *path, int sock,
			  const struct bcase *c)
{
	enum ipcq_role role = c->producer_dies ? IPCQ_PRODUCER : IPCQ_CONSUMER;
	struct ipcq_shm *shm;
	uint8_t buf[BIG];
	struct ipcq *q;
	int fds[IPCQ_NFDS], fd;
	size_t len;
	int r;

	(void)sock; /* held open until we die: the parent's hang-up signal */
	if (path) {
		r = ipcq_open_path(&q, path, NULL, role);
		fd = open(path, O_RDWR | O_CLOEXEC);
	} else {
		r = px_attach(&q, mine, role);
		fd = ipcq_export(mine, fds) < 0 ? -1 : fds[0];
	}
	if (r < 0 || fd < 0)
		_exit(CH_SETUP);
	len = (size_t)lseek(fd, 0, SEEK_END);
	shm = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
	if (shm == MAP_FAILED)
		_exit(CH_SETUP);
	if (wait_flag(c->producer_dies ? &shm->cons_sleep.asleep
				       : &shm->prod_sleep.asleep) < 0)
		_exit(CH_PRE);
	px_fill(buf, ELEM, 0);
	arm(c->fp, "exit");
	r = c->producer_dies ? ipcq_push(q, buf) : ipcq_pop(q, buf);
	(void)r;
	_exit(CH_SURVIVED);
}

START_TEST(test_blocked_peer_dies)
{
	const struct bcase *c = &bcases[_i];
	enum ipcq_role me = c->producer_dies ? IPCQ_CONSUMER : IPCQ_PRODUCER;
	struct ipcq_config cfg = px_cfg(ELEM, CAP, 0);
	char *dir = NULL, *path = NULL;
	uint8_t buf[BIG];
	struct ipcq *q;
	int sv[2], r;
	unsigned k;
	pid_t pid;

	if (c->by_path) {
		path = ring_path(&dir);
		ck_assert_int_eq(ipcq_create_path(&q, path, &cfg, me, 0), 0);
	} else {
		ck_assert_int_eq(ipcq_create(&q, &cfg, me), 0);
	}
	if (me == IPCQ_PRODUCER)
		for (k = 0; k < CAP; k++) { /* full: our push must wait */
			px_fill(buf, ELEM, k);
			ck_assert_int_eq(ipcq_push(q, buf), 0);
		}
	ck_assert_int_eq(fdpass_socketpair(sv), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		close(sv[0]);
		blocked_child(q, path, sv[1], c);
	}
	close(sv[1]);
	if (!c->by_path)
		ipcq_set_peer_fd(q, sv[0]);
	ipcq_set_spin(q, 0); /* raise the flag at once */
	px_fill(buf, ELEM, CAP);
	r = me == IPCQ_PRODUCER ? ipcq_push_wait(q, buf, 20000)
				: ipcq_pop_wait(q, buf, 20000);
	ck_assert_int_eq(tu_wait(pid), DEAD_EXIT);
	ck_assert_msg(r == c->want, "%s%s: blocked call gave %d, want %d",
		      c->fp, c->by_path ? " (path)" : "", r, c->want);
	if (r == 0 && me == IPCQ_CONSUMER)
		ck_assert(px_ok(buf, ELEM, 0));
	if (me == IPCQ_CONSUMER) /* nothing half-made shows afterwards */
		ck_assert_int_eq(ipcq_pop(q, buf), -EAGAIN);
	ipcq_close(q);
	close(sv[0]);
	if (c->by_path) {
		tu_rmtree(dir);
		free(path);
	}
}
END_TEST

/* ---- deaths and errors in set-up ------------------------------------------ */

static const char *const create_fps[] = {
	"ipcq.create.after_memfd", "ipcq.create.after_truncate",
	"ipcq.create.after_fallocate", "ipcq.create.after_map",
	"ipcq.create.before_seal", "ipcq.create.after_seal",
	"ipcq.create.after_doorbells",
};

/* A child dies at each step of ipcq_create (the step is reached: exit code
 * 86, not "survived"); a memfd ring dies with it, and we can create one. */
START_TEST(test_create_dies)
{
	struct ipcq_config cfg = px_cfg(ELEM, CAP, 0);
	struct ipcq *q, *p;
	pid_t pid;

	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		arm(create_fps[_i], _i % 2 ? "kill" : "exit");
		_exit(ipcq_create(&q, &cfg, IPCQ_PRODUCER) < 0 ? CH_SETUP
							       : CH_SURVIVED);
	}
	ck_assert_int_eq(tu_wait(pid), _i % 2 ? DEAD_KILL : DEAD_EXIT);
	ck_assert_int_eq(ipcq_create(&q, &cfg, IPCQ_CONSUMER), 0);
	ck_assert_int_eq(px_attach(&p, q, IPCQ_PRODUCER), 0);
	full_lap(p, q, 0);
	ipcq_close(p);
	ipcq_close(q);
}
END_TEST

static const char *const create_path_fps[] = {
	"ipcq.create_path.after_tmpfile", "ipcq.create_path.after_fallocate",
	"ipcq.create_path.after_init", "ipcq.create_path.before_link",
};

/*
 * A child dies at each step of ipcq_create_path. The path must not name a
 * ring (it is linked in only when complete); a retry creates the ring and a
 * peer can open it. The ring is built in a file without a name (O_TMPFILE),
 * so nothing at all is left in the directory by the dead creator.
 */
START_TEST(test_create_path_dies)
{
	struct ipcq_config cfg = px_cfg(ELEM, CAP, 0);
	char *dir, *path = ring_path(&dir);
	struct ipcq *q, *p;
	struct stat st;
	pid_t pid;

	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		arm(create_path_fps[_i], _i % 2 ? "kill" : "exit");
		_exit(ipcq_create_path(&q, path, &cfg, IPCQ_PRODUCER, 0) < 0
			      ? CH_SETUP : CH_SURVIVED);
	}
	ck_assert_int_eq(tu_wait(pid), _i % 2 ? DEAD_KILL : DEAD_EXIT);
	ck_assert_int_eq(stat(path, &st), -1);
	ck_assert_int_eq(errno, ENOENT);
	ck_assert_int_eq(ipcq_open_path(&q, path, NULL, IPCQ_CONSUMER), -ENOENT);
	ck_assert_int_eq(strays(dir), 0);
	ck_assert_int_eq(ipcq_create_path(&p, path, &cfg, IPCQ_PRODUCER, 0), 0);
	ck_assert_int_eq(ipcq_open_path(&q, path, NULL, IPCQ_CONSUMER), 0);
	full_lap(p, q, 0);
	ipcq_close(q);
	ipcq_close(p);
	tu_rmtree(dir);
	free(path);
}
END_TEST

/* A ring file at path that no live process uses (created, then closed). */
static void stale_ring(const char *path, uint32_t size)
{
	struct ipcq_config cfg = px_cfg(size, CAP, 0);
	struct ipcq *q;

	ck_assert_int_eq(ipcq_create_path(&q, path, &cfg, IPCQ_PRODUCER, 0), 0);
	ipcq_close(q);
}

/*
 * A child replacing a stale ring dies just before its rename: the new ring
 * has a temporary name then (rename needs one), and it stays; path is still
 * the old ring. The next ipcq_create_path sweeps the dead creator's file
 * away and replaces the old ring: nothing is left beside path.
 */
START_TEST(test_create_path_replace_dies)
{
	struct ipcq_config cfg = px_cfg(ELEM, CAP, 0);
	char *dir, *path = ring_path(&dir);
	struct ipcq *q, *p;
	pid_t pid;

	stale_ring(path, ELEM + 8);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		arm("ipcq.create_path.before_rename", _i ? "kill" : "exit");
		_exit(ipcq_create_path(&q, path, &cfg, IPCQ_PRODUCER, 0) < 0
			      ? CH_SETUP : CH_SURVIVED);
	}
	ck_assert_int_eq(tu_wait(pid), _i ? DEAD_KILL : DEAD_EXIT);
	ck_assert_int_eq(strays(dir), 1); /* the dead creator's file */
	ck_assert_int_eq(ipcq_open_path(&q, path, NULL, IPCQ_CONSUMER), 0);
	ck_assert_uint_eq(ipcq_elem_size(q), ELEM + 8); /* still the old one */
	ipcq_close(q);
	ck_assert_int_eq(ipcq_create_path(&p, path, &cfg, IPCQ_PRODUCER, 0), 0);
	ck_assert_int_eq(strays(dir), 0);
	ck_assert_int_eq(ipcq_open_path(&q, path, NULL, IPCQ_CONSUMER), 0);
	ck_assert_uint_eq(ipcq_elem_size(q), ELEM);
	full_lap(p, q, 0);
	ipcq_close(q);
	ipcq_close(p);
	tu_rmtree(dir);
	free(path);
}
END_TEST

/*
 * Where the file system has no O_TMPFILE (forced here by a failpoint), the
 * ring is built in a named temporary file: creating and replacing still
 * leave nothing beside path, and an error on the way removes the file.
 */
START_TEST(test_create_path_fallback)
{
	struct ipcq_config cfg = px_cfg(ELEM, CAP, 0);
	char *dir, *path = ring_path(&dir);
	struct ipcq *q, *p;

	arm("ipcq.create_path.no_tmpfile@1", "error");
	ck_assert_int_eq(ipcq_create_path(&p, path, &cfg, IPCQ_PRODUCER, 0), 0);
	unsetenv(FAILPOINT_ENV);
	ck_assert_int_eq(strays(dir), 0);
	ipcq_close(p);
	/* hits count per process: arm again for each call */
	arm("ipcq.create_path.no_tmpfile@2", "error");
	ck_assert_int_eq(ipcq_create_path(&p, path, &cfg, IPCQ_PRODUCER, 0), 0);
	unsetenv(FAILPOINT_ENV);
	ck_assert_int_eq(strays(dir), 0);
	ck_assert_int_eq(ipcq_open_path(&q, path, NULL, IPCQ_CONSUMER), 0);
	full_lap(p, q, 0);
	ipcq_close(q);
	ipcq_close(p);
	tu_rmtree(dir);
	free(path);
}
END_TEST

/*
 * The sweep: a temporary file whose creator died (a child that made one the
 * way the fallback does, mkostemp then flock, and was killed) is removed by
 * the next ipcq_create_path of that path; one still locked by a live
 * creator (this process) is kept, and so are names that only look alike.
 */
START_TEST(test_create_path_sweeps_dead)
{
	struct ipcq_config cfg = px_cfg(ELEM, CAP, 0);
	char *dir, *path = ring_path(&dir), *dead, *live, *other;
	struct ipcq *p;
	int fd, lfd;
	pid_t pid;

	ck_assert_int_ge(asprintf(&dead, "%s.ipcq-tmp.XXXXXX", path), 0);
	ck_assert_int_ge(asprintf(&live, "%s.ipcq-tmp.XXXXXX", path), 0);
	ck_assert_int_ge(asprintf(&other, "%s.ipcq-tmp.12345", path), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		fd = mkostemp(dead, O_CLOEXEC);
		if (fd < 0 || flock(fd, LOCK_EX) < 0)
			_exit(CH_SETUP);
		raise(SIGKILL);
		_exit(CH_SURVIVED);
	}
	ck_assert_int_eq(tu_wait(pid), DEAD_KILL);
	lfd = mkostemp(live, O_CLOEXEC);
	ck_assert_int_ge(lfd, 0);
	ck_assert_int_eq(flock(lfd, LOCK_EX), 0);
	fd = open(other, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	ck_assert_int_ge(fd, 0);
	close(fd);
	ck_assert_int_eq(strays(dir), 3); /* dead, live, other */
	ck_assert_int_eq(ipcq_create_path(&p, path, &cfg, IPCQ_PRODUCER, 0), 0);
	ipcq_close(p);
	ck_assert_int_eq(access(live, F_OK), 0);
	ck_assert_int_eq(access(other, F_OK), 0);
	ck_assert_int_eq(strays(dir), 2); /* the dead one is gone */
	close(lfd); /* now nobody holds it: the next creator sweeps it */
	ck_assert_int_eq(ipcq_create_path(&p, path, &cfg, IPCQ_PRODUCER, 0), 0);
	ipcq_close(p);
	ck_assert_int_eq(access(live, F_OK), -1);
	ck_assert_int_eq(strays(dir), 1); /* other */
	tu_rmtree(dir);
	free(dead);
	free(live);
	free(other);
	free(path);
}
END_TEST

/* The same steps made to fail (=error): -EIO, and nothing at all is left in
 * the directory (the unwinding removes the temporary file). */
START_TEST(test_create_path_error)
{
	struct ipcq_config cfg = px_cfg(ELEM, CAP, 0);
	char *dir, *path = ring_path(&dir);
	struct ipcq *q = NULL, *p;

	arm(create_path_fps[_i], "error");
	ck_assert_int_eq(ipcq_create_path(&q, path, &cfg, IPCQ_PRODUCER, 0),
			 -EIO);
	unsetenv(FAILPOINT_ENV);
	ck_assert_ptr_null(q);
	ck_assert_int_eq(strays(dir), 0);
	ck_assert_int_eq(access(path, F_OK), -1);
	/* nothing claimed either: both roles are free */
	ck_assert_int_eq(ipcq_create_path(&p, path, &cfg, IPCQ_PRODUCER, 0), 0);
	ck_assert_int_eq(ipcq_open_path(&q, path, NULL, IPCQ_CONSUMER), 0);
	full_lap(p, q, 0);
	ipcq_close(q);
	ipcq_close(p);
	tu_rmtree(dir);
	free(path);
}
END_TEST

/*
 * A consumer dies while opening a path ring (after mapping, after claiming
 * its role): the elements in the ring are untouched, and the role is free
 * for the next consumer, which reads them all.
 */
START_TEST(test_open_dies)
{
	static const char *const fps[] = { "ipcq.open.after_map",
					   "ipcq.open.after_claim" };
	struct ipcq_config cfg = px_cfg(ELEM, CAP, firsts[1]);
	char *dir, *path = ring_path(&dir);
	uint8_t buf[BIG];
	struct ipcq *p, *q;
	pid_t pid;

	ck_assert_int_eq(ipcq_create_path(&p, path, &cfg, IPCQ_PRODUCER, 0), 0);
	for (unsigned k = 0; k < PRE; k++) {
		px_fill(buf, ELEM, k);
		ck_assert_int_eq(ipcq_push(p, buf), 0);
	}
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		arm(fps[_i / 2], _i % 2 ? "kill" : "exit");
		_exit(ipcq_open_path(&q, path, NULL, IPCQ_CONSUMER) < 0
			      ? CH_SETUP : CH_SURVIVED);
	}
	ck_assert_int_eq(tu_wait(pid), _i % 2 ? DEAD_KILL : DEAD_EXIT);
	ck_assert_int_eq(ipcq_open_path(&q, path, NULL, IPCQ_CONSUMER), 0);
	ck_assert_uint_eq(drain_check(q, 0), PRE);
	full_lap(p, q, PRE);
	ipcq_close(q);
	ipcq_close(p);
	tu_rmtree(dir);
	free(path);
}
END_TEST

/* open.after_map made to fail: -EIO, no fd or mapping left (the fixture),
 * and the role was never taken. */
START_TEST(test_open_error)
{
	struct ipcq_config cfg = px_cfg(ELEM, CAP, 0);
	char *dir, *path = ring_path(&dir);
	struct ipcq *p, *q = NULL;

	ck_assert_int_eq(ipcq_create_path(&p, path, &cfg, IPCQ_PRODUCER, 0), 0);
	arm("ipcq.open.after_map", "error");
	ck_assert_int_eq(ipcq_open_path(&q, path, NULL, IPCQ_CONSUMER), -EIO);
	unsetenv(FAILPOINT_ENV);
	ck_assert_ptr_null(q);
	ck_assert_int_eq(ipcq_open_path(&q, path, NULL, IPCQ_CONSUMER), 0);
	full_lap(p, q, 0);
	ipcq_close(q);
	ipcq_close(p);
	tu_rmtree(dir);
	free(path);
}
END_TEST

static const char *const attach_fps[] = { "ipcq.attach.after_checks",
					  "ipcq.attach.after_map" };

/* A producer dies while attaching to a memfd ring: nothing changed in the
 * ring, and the next producer attaches and fills it. */
START_TEST(test_attach_dies)
{
	struct ipcq_config cfg = px_cfg(ELEM, CAP, firsts[1]);
	struct ipcq *p, *q;
	pid_t pid;

	ck_assert_int_eq(ipcq_create(&q, &cfg, IPCQ_CONSUMER), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		arm(attach_fps[_i / 2], _i % 2 ? "kill" : "exit");
		_exit(px_attach(&p, q, IPCQ_PRODUCER) < 0 ? CH_SETUP
							  : CH_SURVIVED);
	}
	ck_assert_int_eq(tu_wait(pid), _i % 2 ? DEAD_KILL : DEAD_EXIT);
	ck_assert_uint_eq(drain_check(q, 0), 0);
	ck_assert_int_eq(px_attach(&p, q, IPCQ_PRODUCER), 0);
	full_lap(p, q, 0);
	ipcq_close(p);
	ipcq_close(q);
}
END_TEST

/* Attach made to fail at each step: -EIO, and the three descriptors it was
 * given are closed (the fixture counts them). */
START_TEST(test_attach_error)
{
	struct ipcq_config cfg = px_cfg(ELEM, CAP, 0);
	struct ipcq *p = NULL, *q;
	int fds[IPCQ_NFDS];

	ck_assert_int_eq(ipcq_create(&q, &cfg, IPCQ_CONSUMER), 0);
	px_dup_fds(q, fds);
	arm(attach_fps[_i], "error");
	ck_assert_int_eq(ipcq_attach(&p, fds, IPCQ_PRODUCER, NULL), -EIO);
	unsetenv(FAILPOINT_ENV);
	ck_assert_ptr_null(p);
	for (int i = 0; i < IPCQ_NFDS; i++)
		ck_assert_int_eq(fcntl(fds[i], F_GETFD), -1);
	ipcq_close(q);
}
END_TEST

/*
 * Sharing over a socket. _i 0/1: the sharing child dies before sending:
 * our accept sees -EPIPE. _i 2/3: the accepting child dies after receiving
 * the descriptors: our producer, blocked on the full ring, sees -EPIPE.
 */
START_TEST(test_share_dies)
{
	struct ipcq_config cfg = px_cfg(ELEM, CAP, 0);
	const char *action = _i % 2 ? "kill" : "exit";
	uint8_t buf[BIG];
	struct ipcq *q = NULL;
	int sv[2];
	pid_t pid;

	ck_assert_int_eq(fdpass_socketpair(sv), 0);
	if (_i >= 2) {
		ck_assert_int_eq(ipcq_create(&q, &cfg, IPCQ_PRODUCER), 0);
		for (unsigned k = 0; k < CAP; k++) {
			px_fill(buf, ELEM, k);
			ck_assert_int_eq(ipcq_push(q, buf), 0);
		}
	}
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct ipcq *c;

		close(sv[0]);
		if (_i < 2) {
			if (ipcq_create(&c, &cfg, IPCQ_PRODUCER) < 0)
				_exit(CH_SETUP);
			arm("ipcq.share.before_send", action);
			_exit(ipcq_share(c, sv[1], 5000) < 0 ? CH_SETUP
							     : CH_SURVIVED);
		}
		arm("ipcq.accept.after_recv", action);
		_exit(ipcq_accept(&c, sv[1], NULL, 5000) < 0 ? CH_SETUP
							     : CH_SURVIVED);
	}
	close(sv[1]);
	if (_i < 2) {
		ck_assert_int_eq(ipcq_accept(&q, sv[0], NULL, 5000), -EPIPE);
		ck_assert_ptr_null(q);
	} else {
		ck_assert_int_eq(ipcq_share(q, sv[0], 5000), 0);
		px_fill(buf, ELEM, CAP);
		ck_assert_int_eq(ipcq_push_wait(q, buf, 20000), -EPIPE);
		ipcq_close(q);
	}
	ck_assert_int_eq(tu_wait(pid), _i % 2 ? DEAD_KILL : DEAD_EXIT);
	close(sv[0]);
}
END_TEST

/* share.before_send / accept.after_recv made to fail: -EIO, no descriptor
 * left behind, and the ring can still be shared (share) afterwards. */
START_TEST(test_share_error)
{
	struct ipcq_config cfg = px_cfg(ELEM, CAP, 0);
	struct ipcq *p, *q = NULL;
	uint8_t buf[BIG];
	int sv[2], r;

	ck_assert_int_eq(fdpass_socketpair(sv), 0);
	ck_assert_int_eq(ipcq_create(&p, &cfg, IPCQ_PRODUCER), 0);
	if (_i == 0) {
		arm("ipcq.share.before_send", "error");
		ck_assert_int_eq(ipcq_share(p, sv[0], 1000), -EIO);
		unsetenv(FAILPOINT_ENV);
		/* nothing was sent */
		r = ipcq_accept(&q, sv[1], NULL, 0);
		ck_assert_msg(r == -EAGAIN || r == -ETIMEDOUT, "accept: %d", r);
	} else {
		ck_assert_int_eq(ipcq_share(p, sv[0], 1000), 0);
		arm("ipcq.accept.after_recv", "error");
		ck_assert_int_eq(ipcq_accept(&q, sv[1], NULL, 1000), -EIO);
		unsetenv(FAILPOINT_ENV);
		ck_assert_ptr_null(q);
		/* the body is consumed and its fds were closed: share a
		 * second ring to show the socket is still in step */
		ipcq_close(p);
		ck_assert_int_eq(ipcq_create(&p, &cfg, IPCQ_PRODUCER), 0);
	}
	ck_assert_int_eq(ipcq_share(p, sv[0], 1000), 0);
	ck_assert_int_eq(ipcq_accept(&q, sv[1], NULL, 1000), 0);
	px_fill(buf, ELEM, 7);
	ck_assert_int_eq(ipcq_push(p, buf), 0);
	ck_assert_int_eq(ipcq_pop(q, buf), 0);
	ck_assert(px_ok(buf, ELEM, 7));
	ipcq_close(q);
	ipcq_close(p);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

/*
 * A producer of a path ring dies while attached (after publishing): the
 * stale file is no one's now, so ipcq_create_path replaces it without
 * IPCQ_REPLACE, and the new ring starts empty.
 */
START_TEST(test_stale_path_replaced)
{
	struct ipcq_config cfg = px_cfg(ELEM, CAP, 0);
	char *dir, *path = ring_path(&dir);
	uint8_t buf[BIG];
	struct ipcq *p, *q;
	pid_t pid;

	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		if (ipcq_create_path(&p, path, &cfg, IPCQ_PRODUCER, 0) < 0)
			_exit(CH_SETUP);
		px_fill(buf, ELEM, 0);
		if (ipcq_push(p, buf) < 0)
			_exit(CH_PRE);
		arm("ipcq.push.after_publish", "kill");
		px_fill(buf, ELEM, 1);
		(void)!ipcq_push(p, buf);
		_exit(CH_SURVIVED);
	}
	ck_assert_int_eq(tu_wait(pid), DEAD_KILL);
	ck_assert_int_eq(ipcq_create_path(&q, path, &cfg, IPCQ_CONSUMER, 0), 0);
	ck_assert_int_eq(ipcq_pop(q, buf), -EAGAIN);
	ck_assert_int_eq(ipcq_open_path(&p, path, NULL, IPCQ_PRODUCER), 0);
	full_lap(p, q, 0);
	ipcq_close(p);
	ipcq_close(q);
	ck_assert_int_eq(strays(dir), 0);
	tu_rmtree(dir);
	free(path);
}
END_TEST

static TCase *tcase(Suite *s, const char *name, int timeout)
{
	TCase *tc = tcase_create(name);

	tcase_add_checked_fixture(tc, tu_leak_setup, tu_leak_teardown);
	tcase_set_timeout(tc, timeout);
	suite_add_tcase(s, tc);
	return tc;
}

static Suite *crash_suite(void)
{
	Suite *s = suite_create("ipcq-crash");
	TCase *tc;

	tc = tcase(s, "producer", 30);
	tcase_add_loop_test(tc, test_producer_dies, 0, NPCASES * 8 * 2);
	tc = tcase(s, "consumer", 30);
	tcase_add_loop_test(tc, test_consumer_dies, 0, NCCASES * 4 * 2);
	tc = tcase(s, "blocked", 30);
	tcase_add_loop_test(tc, test_blocked_peer_dies, 0, NBCASES);
	tc = tcase(s, "setup", 30);
	tcase_add_loop_test(tc, test_create_dies, 0,
			    (int)(sizeof(create_fps) / sizeof(create_fps[0])));
	tcase_add_loop_test(tc, test_create_path_dies, 0,
			    (int)(sizeof(create_path_fps) /
				  sizeof(create_path_fps[0])));
	tcase_add_loop_test(tc, test_create_path_error, 0,
			    (int)(sizeof(create_path_fps) /
				  sizeof(create_path_fps[0])));
	tcase_add_loop_test(tc, test_create_path_replace_dies, 0, 2);
	tcase_add_test(tc, test_create_path_fallback);
	tcase_add_test(tc, test_create_path_sweeps_dead);
	tcase_add_loop_test(tc, test_open_dies, 0, 4);
	tcase_add_test(tc, test_open_error);
	tcase_add_loop_test(tc, test_attach_dies, 0, 4);
	tcase_add_loop_test(tc, test_attach_error, 0, 2);
	tcase_add_loop_test(tc, test_share_dies, 0, 4);
	tcase_add_loop_test(tc, test_share_error, 0, 2);
	tcase_add_test(tc, test_stale_path_replaced);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(crash_suite());

	srunner_set_fork_status(sr, CK_FORK);
	return tu_run(sr);
}

#else /* !MEMENPSF_FAILPOINTS */

int main(void)
{
	/* 77: the automake harness reports SKIP, not a failure. */
	printf("SKIP: ipcq crash suite needs a build configured with "
	       "--enable-failpoints\n");
	return 77;
}

#endif

/* SPDX-License-Identifier: MIT */
/*
 * libipcq facing a hostile peer. A second process (the attacker) maps the
 * ring's memory as a peer can and rewrites head, tail, slot seq and len
 * words, header fields, sleep lines and role lines with boundary values (0,
 * 1, capacity - 1, capacity, capacity + 1, 2^32 - 1, 2^63, 2^64 - 1), random
 * ones and values near the live indices, while the victim consumes (or
 * produces) in a bounded loop of non-blocking and blocking calls with short
 * time-outs. The victim must never crash, hang, or read or write outside its
 * mapping (the asan build checks), must report -EBADMSG at least once, and
 * must close cleanly with nothing leaked (the fixture) afterwards.
 *
 * Also: a header rewritten after attach changes nothing for handles already
 * attached (they keep their private geometry); ipcq_attach's refusal matrix
 * called directly (not through ipcq_accept), each case with its own errno
 * and all three descriptors closed; -EPIPE for a producer of a path ring
 * blocked when its consumer dies; -EMSGSIZE from the blocking byte calls.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <memenpsf/ipcq.h>

#include "ipcq_extra.h"
#include "layout.h"
#include "testutil.h"

#define ELEM 24u  /* words and payload in one slot */
#define BIG 64u    /* payloads apart from their words (layout.h) */
#define CAP 16u
#define ATTACK_MS 1000     /* the victim's loop runs at least this long */
#define ATTACK_MAX_MS 8000 /* and at most this long */
#define SLACK_MS 2000      /* a blocking call may overrun its time-out */

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static uint64_t rnd64(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static uint32_t rnd(uint64_t *s)
{
	return (uint32_t)(rnd64(s) >> 32);
}

/* A 64-bit value an attacker might try: a boundary, a random one, or one
 * near base (a live index), where the victim's checks are finest. */
static uint64_t pick64(uint64_t *s, uint64_t base)
{
	switch (rnd(s) % 12) {
	case 0: return 0;
	case 1: return 1;
	case 2: return CAP - 1;
	case 3: return CAP;
	case 4: return CAP + 1;
	case 5: return UINT32_MAX;
	case 6: return UINT64_C(1) << 63;
	case 7: return UINT64_MAX;
	case 8: return rnd64(s);
	default: return base + (rnd(s) % (4 * CAP + 5)) - 2 * CAP - 2;
	}
}

/* The element size of test_attack's ring: ELEM or BIG. */
static uint32_t a_elem = ELEM;

static uint32_t pick32(uint64_t *s, uint32_t near)
{
	switch (rnd(s) % 11) {
	case 0: return 0;
	case 1: return 1;
	case 2: return a_elem - 1;
	case 3: return a_elem;
	case 4: return a_elem + 1;
	case 5: return UINT32_MAX;
	case 6: return UINT32_C(1) << 31;
	case 7: return rnd(s);
	default: return near + rnd(s) % 5 - 2;
	}
}

/*
 * The attacker's loop over shm: one rewrite per turn, until the victim
 * closes the stop pipe (EOF on stop_fd) or 30 s pass. The attacker plays the
 * victim's peer (vrole is the victim's role): against a consumer it mostly
 * lies in tail and the slots, and forges well-formed elements so the victim
 * also copies attacker-made lengths; against a producer it mostly lies in
 * head, plausibly or not. Every kind of word is hit now and then. Relaxed
 * atomic stores: as fast and racy as it likes, its own accesses defined.
 * Returns the exit code.
 */
static int attack(struct ipcq_shm *shm, enum ipcq_role vrole, int stop_fd,
		  uint64_t seed)
{
	struct ipcq_layout lay;
	int64_t end = now_ms() + 30000;
	uint64_t s = seed | 1;
	unsigned long turn;
	char b;

	ipcq_layout_of(a_elem, CAP, &lay);
	for (turn = 0;; turn++) {
		uint64_t tail = __atomic_load_n(&shm->prod.index, __ATOMIC_RELAXED);
		uint64_t head = __atomic_load_n(&shm->cons.index, __ATOMIC_RELAXED);
		uint64_t i = head + rnd(&s) % (CAP + 2);
		struct ipcq_slot *sl = ipcq_words_at(shm, &lay, i & (CAP - 1));
		unsigned what = rnd(&s) % 16;

		if ((turn & 255) == 0) {
			if (read(stop_fd, &b, 1) == 0 || now_ms() > end)
				return 0;
			sched_yield();
		}
		if (vrole == IPCQ_PRODUCER && (what >= 8 || what < 2))
			what = what & 1 ? 15 : 14; /* heads, plausible or not */
		switch (what) {
		case 0:
		case 1:
			__atomic_store_n(&shm->prod.index, pick64(&s, head),
					 __ATOMIC_RELAXED);
			break;
		case 2:
			__atomic_store_n(&sl->seq, pick32(&s, (uint32_t)(i + 1)),
					 __ATOMIC_RELAXED);
			break;
		case 3:
			__atomic_store_n(&sl->len, pick32(&s, a_elem),
					 __ATOMIC_RELAXED);
			break;
		case 4: { /* header words: nobody may read them after attach */
			uint32_t *w = (uint32_t *)&shm->hdr;

			__atomic_store_n(&w[rnd(&s) % (sizeof(shm->hdr) / 4)],
					 (uint32_t)pick64(&s, 0), __ATOMIC_RELAXED);
			break;
		}
		case 5: { /* sleep lines: flags and futex bells */
			struct ipcq_sleep_line *l =
				rnd(&s) & 1 ? &shm->cons_sleep : &shm->prod_sleep;

			__atomic_store_n(rnd(&s) & 1 ? &l->asleep : &l->bell,
					 (uint32_t)pick64(&s, 0), __ATOMIC_RELAXED);
			break;
		}
		case 6: { /* role lines: pid and start time of either side */
			struct ipcq_side_line *l =
				rnd(&s) & 1 ? &shm->cons : &shm->prod;

			if (rnd(&s) & 1)
				__atomic_store_n(&l->pid, (int32_t)pick64(&s, 0),
						 __ATOMIC_RELAXED);
			else
				__atomic_store_n(&l->start_time, pick64(&s, 0),
						 __ATOMIC_RELAXED);
			break;
		}
		case 7:
		case 14:
			__atomic_store_n(&shm->cons.index, pick64(&s, tail),
					 __ATOMIC_RELAXED);
			break;
		case 15: /* a head that looks right: 0..CAP behind tail */
			__atomic_store_n(&shm->cons.index,
					 tail - rnd(&s) % (CAP + 1),
					 __ATOMIC_RELAXED);
			break;
		default: /* a forged but well-formed element, a tail over it */
			memset(ipcq_data_at(shm, &lay, i & (CAP - 1)),
			       (int)rnd(&s), a_elem);
			__atomic_store_n(&sl->len, rnd(&s) % (a_elem + 1),
					 __ATOMIC_RELAXED);
			__atomic_store_n(&sl->seq, (uint32_t)(i + 1),
					 __ATOMIC_RELEASE);
			__atomic_store_n(&shm->prod.index, i + 1,
					 __ATOMIC_RELEASE);
			break;
		}
	}
}

/* In the attacker child: map the ring's memory from an fd. */
static struct ipcq_shm *map_fd(int fd, size_t *len)
{
	off_t size = lseek(fd, 0, SEEK_END);
	void *p;

	if (size < (off_t)IPCQ_PAGE)
		return NULL;
	p = mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		return NULL;
	*len = (size_t)size;
	return p;
}

struct tally {
	unsigned long calls, ok, badmsg;
};

/* Is r an answer a call of the victim may give under attack? */
static int allowed(long r, int path)
{
	return r >= 0 || r == -EAGAIN || r == -ETIMEDOUT || r == -EBADMSG ||
	       r == -EMSGSIZE || (path && r == -EPIPE);
}

static void count(struct tally *t, long r, int path, const char *call)
{
	ck_assert_msg(allowed(r, path), "%s under attack gave %ld", call, r);
	t->calls++;
	if (r >= 0)
		t->ok++;
	if (r == -EBADMSG)
		t->badmsg++;
}

/* A blocking call under attack returns within its time-out (+ slack). */
#define TIMED(t, path, tmo, call)                                              \
	do {                                                                   \
		int64_t t0_ = now_ms();                                        \
		long r_ = (long)(call);                                        \
		ck_assert_msg(now_ms() - t0_ <= (tmo) + SLACK_MS,              \
			      #call " took %lld ms",                           \
			      (long long)(now_ms() - t0_));                    \
		count(t, r_, path, #call);                                     \
	} while (0)

static void victim_consumer(struct ipcq *q, struct tally *t, int path,
			    unsigned long turn)
{
	uint8_t buf[BIG * 8], one[BIG], small[4];
	const void *f;
	uint32_t lens[8];
	long r;

	switch (turn % 9) {
	case 0:
		count(t, ipcq_pop(q, one), path, "pop");
		break;
	case 1:
		count(t, ipcq_pop_n(q, buf, 8), path, "pop_n");
		break;
	case 2:
		r = ipcq_peek(q, 8, &f, lens);
		count(t, r, path, "peek");
		if (r > 0) {
			for (long k = 0; k < r; k++)
				ck_assert_uint_le(lens[k], a_elem);
			ck_assert_int_eq(ipcq_release(q, (unsigned)r), 0);
		}
		break;
	case 3:
		r = ipcq_recv(q, one, a_elem);
		if (r >= 0)
			ck_assert_int_le(r, a_elem);
		count(t, r, path, "recv");
		break;
	case 4:
		count(t, ipcq_recv(q, small, sizeof(small)), path, "recv small");
		break;
	case 5:
		TIMED(t, path, 2, ipcq_pop_wait(q, one, 2));
		break;
	case 6:
		TIMED(t, path, 1, ipcq_recv_wait(q, one, a_elem, 1));
		break;
	case 7:
		TIMED(t, path, 1, ipcq_wait(q, 1));
		break;
	default:
		ck_assert_uint_le(ipcq_count(q), CAP);
		ck_assert_uint_le(ipcq_free(q), CAP);
		t->calls++;
		break;
	}
}

static void victim_producer(struct ipcq *q, struct tally *t, int path,
			    unsigned long turn)
{
	uint8_t buf[BIG * 8], one[BIG + 1];
	void *f;
	long r;

	memset(buf, (int)turn, sizeof(buf));
	memset(one, (int)turn, sizeof(one));
	switch (turn % 9) {
	case 0:
		count(t, ipcq_push(q, one), path, "push");
		break;
	case 1:
		count(t, ipcq_push_n(q, buf, 8), path, "push_n");
		break;
	case 2:
		r = ipcq_reserve(q, 8, &f);
		count(t, r, path, "reserve");
		if (r > 0) {
			/* the slots handed out lie inside the mapping */
			memset(f, 0x5a, (size_t)(r - 1) * ipcq_stride(q) + a_elem);
			ck_assert_int_eq(ipcq_commit(q, (unsigned)r), 0);
		}
		break;
	case 3:
		count(t, ipcq_send(q, one, turn % (a_elem + 1)), path, "send");
		break;
	case 4:
		r = ipcq_reserve(q, 1, &f);
		count(t, r, path, "reserve 1");
		if (r > 0)
			ck_assert_int_eq(ipcq_commit_len(q, turn % a_elem), 0);
		break;
	case 5:
		TIMED(t, path, 2, ipcq_push_wait(q, one, 2));
		break;
	case 6:
		TIMED(t, path, 1, ipcq_send_wait(q, one, a_elem, 1));
		break;
	case 7:
		TIMED(t, path, 1, ipcq_wait(q, 1));
		break;
	default:
		ck_assert_uint_le(ipcq_count(q), CAP);
		t->calls++;
		break;
	}
}

/*
 * _i: bit 0 the victim's role (0 consumer, 1 producer), bit 1 the vehicle
 * (0 memfd, 1 path ring), bit 2 the layout (0 ELEM: inline slots, 1 BIG:
 * words apart from packed payloads). The attacker is a forked process that
 * maps the memory by itself (the memfd it inherits, or the file by path).
 */
START_TEST(test_attack)
{
	enum ipcq_role role = _i & 1 ? IPCQ_PRODUCER : IPCQ_CONSUMER;
	int path = (_i >> 1) & 1;
	struct ipcq_config cfg;
	struct tu_barrier ready;
	struct tally t = { 0, 0, 0 };
	char *dir = NULL, *file = NULL;
	unsigned long turn;
	int stop[2], st;
	struct ipcq *q;
	int64_t t0;
	pid_t pid;

	a_elem = _i & 4 ? BIG : ELEM;
	cfg = px_cfg(a_elem, CAP, UINT64_MAX - 5);
	if (path) {
		dir = tu_tmpdir();
		ck_assert_int_ge(asprintf(&file, "%s/ring", dir), 0);
		ck_assert_int_eq(ipcq_create_path(&q, file, &cfg, role, 0), 0);
	} else {
		ck_assert_int_eq(ipcq_create(&q, &cfg, role), 0);
	}
	ck_assert_int_eq(pipe2(stop, O_CLOEXEC | O_NONBLOCK), 0);
	tu_barrier_init(&ready);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct ipcq_shm *shm;
		int fds[IPCQ_NFDS], fd;
		size_t len;

		close(stop[1]);
		fd = path ? open(file, O_RDWR | O_CLOEXEC)
			  : (ipcq_export(q, fds) < 0 ? -1 : fds[0]);
		shm = fd < 0 ? NULL : map_fd(fd, &len);
		if (!shm)
			_exit(10);
		tu_barrier_signal(&ready);
		_exit(attack(shm, role, stop[0], (uint64_t)_i * 7919 + 1));
	}
	close(stop[0]);
	tu_barrier_wait(&ready);
	ipcq_set_spin(q, 50);
	t0 = now_ms();
	for (turn = 0;; turn++) {
		int64_t el = now_ms() - t0;

		if (el >= ATTACK_MAX_MS || (el >= ATTACK_MS && t.badmsg > 0))
			break;
		if (role == IPCQ_CONSUMER)
			victim_consumer(q, &t, path, turn);
		else
			victim_producer(q, &t, path, turn);
	}
	close(stop[1]);
	st = tu_wait(pid);
	ck_assert_msg(st == 0, "attacker exited with %d", st);
	fprintf(stderr,
		"ipcq hostile %s %s, %u-byte slots: %lu calls, %lu ok, "
		"%lu -EBADMSG\n",
		path ? "path" : "memfd",
		role == IPCQ_CONSUMER ? "consumer" : "producer", a_elem,
		t.calls, t.ok, t.badmsg);
	ck_assert_uint_gt(t.badmsg, 0);
	/* still answering, and closing leaves nothing behind */
	ck_assert_uint_le(ipcq_count(q), CAP);
	ipcq_close(q);
	tu_barrier_close(&ready);
	if (dir) {
		tu_rmtree(dir);
		free(file);
	}
}
END_TEST

/*
 * Attached handles never re-read the header: the attacker rewrites every
 * header field after attach (capacity, element size, stride, sizes, magic),
 * and the pair goes on working with the geometry it checked at attach,
 * while a new attach is refused. _i: 0 memfd, 1 path ring.
 */
START_TEST(test_header_rewritten)
{
	struct ipcq_config cfg = px_cfg(ELEM, CAP, UINT64_MAX - 3);
	char *dir = NULL, *file = NULL;
	struct ipcq *p, *q, *x = NULL;
	uint8_t buf[ELEM];
	uint64_t seq = 0;
	pid_t pid;
	int r;

	if (_i) {
		dir = tu_tmpdir();
		ck_assert_int_ge(asprintf(&file, "%s/ring", dir), 0);
		ck_assert_int_eq(ipcq_create_path(&p, file, &cfg, IPCQ_PRODUCER,
						  0), 0);
		ck_assert_int_eq(ipcq_open_path(&q, file, NULL, IPCQ_CONSUMER), 0);
	} else {
		ck_assert_int_eq(ipcq_create(&p, &cfg, IPCQ_PRODUCER), 0);
		ck_assert_int_eq(px_attach(&q, p, IPCQ_CONSUMER), 0);
	}
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct ipcq_shm *shm;
		int fds[IPCQ_NFDS], fd;
		size_t len;

		fd = _i ? open(file, O_RDWR | O_CLOEXEC)
			: (ipcq_export(p, fds) < 0 ? -1 : fds[0]);
		shm = fd < 0 ? NULL : map_fd(fd, &len);
		if (!shm)
			_exit(10);
		shm->hdr.capacity = 1u << 30;
		shm->hdr.elem_size = IPCQ_MAX_ELEM_SIZE;
		shm->hdr.stride = 1u << 31;
		shm->hdr.total_size = UINT64_MAX;
		shm->hdr.data_off = UINT64_C(1) << 40;
		shm->hdr.first_index = 12345;
		shm->hdr.version = 99;
		shm->hdr.magic = 0;
		_exit(0);
	}
	ck_assert_int_eq(tu_wait(pid), 0);
	for (int lap = 0; lap < 3; lap++) {
		for (unsigned k = 0; k < CAP; k++) {
			px_fill(buf, ELEM, seq + k);
			ck_assert_int_eq(ipcq_push(p, buf), 0);
		}
		ck_assert_int_eq(ipcq_push(p, buf), -EAGAIN); /* CAP, no more */
		for (unsigned k = 0; k < CAP; k++) {
			ck_assert_int_eq(ipcq_pop(q, buf), 0);
			ck_assert(px_ok(buf, ELEM, seq + k));
		}
		ck_assert_int_eq(ipcq_pop(q, buf), -EAGAIN);
		seq += CAP;
	}
	ck_assert_uint_eq(ipcq_capacity(q), CAP);
	ck_assert_uint_eq(ipcq_elem_size(q), ELEM);
	ck_assert_uint_eq(ipcq_stride(p), (IPCQ_SLOT_HDR + ELEM + 7) & ~7u);
	/* the header really is gone: a newcomer is refused */
	if (_i) {
		ipcq_close(q);
		q = NULL;
		r = ipcq_open_path(&x, file, NULL, IPCQ_CONSUMER);
	} else {
		r = px_attach(&x, p, IPCQ_CONSUMER);
	}
	ck_assert_int_eq(r, -EBADMSG);
	ck_assert_ptr_null(x);
	ipcq_close(q);
	ipcq_close(p);
	if (dir) {
		tu_rmtree(dir);
		free(file);
	}
}
END_TEST

/* ---- ipcq_attach refusals, called directly --------------------------------- */

enum acase {
	A_PIPE, A_SOCKET, A_DEVZERO, A_DISKFILE, A_TMPFSFILE, A_UNSEALED,
	A_NO_SEAL_SEAL, A_WRONG_SIZE, A_SIZE0, A_MAGIC, A_VERSION, A_MODE,
	A_FLAGS, A_ELEM_HDR, A_CAP_NOT_POW2, A_CAP_HUGE, A_DATA_OFF,
	A_WORDS_OFF, A_WORDS_STRIDE, A_PAD,
	A_ELEM_EXPECT, A_TYPE_EXPECT, A_TAIL_AHEAD, A_HEAD_AHEAD,
	A_NOT_EVENTFD, A_BAD_ROLE, A_GOOD, A_COUNT
};

static const int awant[A_COUNT] = {
	[A_PIPE] = -ENOTSUP, [A_SOCKET] = -ENOTSUP, [A_DEVZERO] = -ENOTSUP,
	[A_DISKFILE] = -ENOTSUP, [A_TMPFSFILE] = -ENOTSUP,
	[A_UNSEALED] = -EPERM, [A_NO_SEAL_SEAL] = -EPERM,
	[A_WRONG_SIZE] = -EBADMSG, [A_SIZE0] = -EBADMSG, [A_MAGIC] = -EBADMSG,
	[A_VERSION] = -EPROTO, [A_MODE] = -EPROTO, [A_FLAGS] = -EPROTO,
	[A_ELEM_HDR] = -EBADMSG, [A_CAP_NOT_POW2] = -EBADMSG,
	[A_CAP_HUGE] = -EBADMSG, [A_DATA_OFF] = -EBADMSG,
	[A_WORDS_OFF] = -EBADMSG, [A_WORDS_STRIDE] = -EBADMSG, [A_PAD] = -EBADMSG,
	[A_ELEM_EXPECT] = -EPROTO, [A_TYPE_EXPECT] = -EPROTO,
	[A_TAIL_AHEAD] = -EBADMSG, [A_HEAD_AHEAD] = -EBADMSG,
	[A_NOT_EVENTFD] = -ENOTSUP, [A_BAD_ROLE] = -EINVAL, [A_GOOD] = 0,
};

static int memfd_of(const void *img, size_t len, size_t size, int seals)
{
	int fd = memfd_create("ipcq-hostile", MFD_CLOEXEC | MFD_ALLOW_SEALING);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ftruncate(fd, (off_t)size), 0);
	if (len)
		ck_assert_int_eq(pwrite(fd, img, len, 0), (ssize_t)len);
	if (seals)
		ck_assert_int_eq(fcntl(fd, F_ADD_SEALS, seals), 0);
	return fd;
}

static int file_of(const char *dir, const void *img, size_t len)
{
	char path[4096];
	int fd;

	snprintf(path, sizeof(path), "%s/ring-XXXXXX", dir);
	fd = mkostemp(path, O_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(pwrite(fd, img, len, 0), (ssize_t)len);
	unlink(path);
	return fd;
}

START_TEST(test_attach_refused)
{
	const int seals = F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL;
	struct ipcq_config cfg = px_cfg(ELEM, CAP, 0);
	enum ipcq_role role = IPCQ_CONSUMER;
	uint8_t other[IPCQ_TYPE_ID_SIZE];
	struct ipcq_expect e = { 0, NULL };
	struct ipcq *src, *q = NULL;
	int fds[IPCQ_NFDS], src_fds[IPCQ_NFDS], pp[2], got;
	struct ipcq_shm *h;
	char *dir = NULL;
	size_t total;
	uint8_t *img;

	ck_assert_int_eq(ipcq_type_id(cfg.type_id, "hostile", ELEM), 0);
	ck_assert_int_eq(ipcq_type_id(other, "hostile v2", ELEM), 0);
	ck_assert_int_eq(ipcq_create(&src, &cfg, IPCQ_PRODUCER), 0);
	px_dup_fds(src, src_fds);
	total = (size_t)ipcq_size_of(ELEM, CAP);
	img = malloc(total);
	ck_assert_ptr_nonnull(img);
	ck_assert_int_eq(pread(src_fds[0], img, total, 0), (ssize_t)total);
	h = (struct ipcq_shm *)img;
	switch (_i) {
	case A_MAGIC: h->hdr.magic = ~h->hdr.magic; break;
	case A_VERSION: h->hdr.version = IPCQ_LAYOUT_VERSION + 1; break;
	case A_MODE: h->hdr.mode = 1; break;
	case A_FLAGS: h->hdr.flags = 1; break;
	case A_ELEM_HDR: h->hdr.elem_size = ELEM + 8; break; /* stride stale */
	case A_CAP_NOT_POW2: h->hdr.capacity = CAP - 1; break;
	case A_CAP_HUGE: h->hdr.capacity = UINT32_C(1) << 31; break;
	case A_DATA_OFF: h->hdr.data_off = 0; break;
	case A_WORDS_OFF: h->hdr.words_off += 8; break;
	case A_WORDS_STRIDE: h->hdr.words_stride = 8; break;
	case A_PAD: h->hdr.pad0 = 1; break;
	case A_ELEM_EXPECT: e.elem_size = ELEM + 1; break;
	case A_TYPE_EXPECT: e.type_id = other; break;
	case A_TAIL_AHEAD: h->prod.index = h->cons.index + CAP + 1; break;
	case A_HEAD_AHEAD: h->cons.index = h->prod.index + CAP + 1; break;
	case A_BAD_ROLE: role = (enum ipcq_role)3; break;
	case A_GOOD: e.elem_size = ELEM; e.type_id = cfg.type_id; break;
	default: break;
	}
	switch (_i) {
	case A_PIPE:
		ck_assert_int_eq(pipe2(pp, O_CLOEXEC), 0);
		fds[0] = pp[0];
		close(pp[1]);
		break;
	case A_SOCKET:
		ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC,
					    0, pp), 0);
		fds[0] = pp[0];
		close(pp[1]);
		break;
	case A_DEVZERO:
		fds[0] = open("/dev/zero", O_RDWR | O_CLOEXEC);
		break;
	case A_DISKFILE:
		dir = tu_tmpdir();
		fds[0] = file_of(dir, img, total);
		break;
	case A_TMPFSFILE:
		fds[0] = file_of("/dev/shm", img, total);
		break;
	case A_UNSEALED:
		fds[0] = memfd_of(img, total, total, 0);
		break;
	case A_NO_SEAL_SEAL:
		fds[0] = memfd_of(img, total, total, F_SEAL_SHRINK | F_SEAL_GROW);
		break;
	case A_WRONG_SIZE:
		fds[0] = memfd_of(img, total, total + IPCQ_PAGE, seals);
		break;
	case A_SIZE0:
		fds[0] = memfd_of(img, 0, 0, seals);
		break;
	default:
		fds[0] = memfd_of(img, total, total, seals);
		break;
	}
	ck_assert_int_ge(fds[0], 0);
	fds[1] = fcntl(src_fds[1], F_DUPFD_CLOEXEC, 0);
	fds[2] = fcntl(src_fds[2], F_DUPFD_CLOEXEC, 0);
	if (_i == A_NOT_EVENTFD) {
		close(fds[1]);
		ck_assert_int_eq(pipe2(pp, O_CLOEXEC), 0);
		fds[1] = pp[0];
		close(pp[1]);
	}
	got = ipcq_attach(&q, fds, role, &e);
	ck_assert_msg(got == awant[_i], "case %d: attach gave %d, want %d", _i,
		      got, awant[_i]);
	if (_i == A_GOOD) {
		uint8_t x[ELEM];

		ck_assert_ptr_nonnull(q);
		/* a copy of the memory: not src's ring */
		px_fill(x, ELEM, 1);
		ck_assert_int_eq(ipcq_push(src, x), 0);
		ck_assert_int_eq(ipcq_pop(q, x), -EAGAIN);
		ipcq_close(q);
	} else {
		ck_assert_ptr_null(q);
		/* attach owned all three, and closed them */
		for (int i = 0; i < IPCQ_NFDS; i++)
			ck_assert_msg(fcntl(fds[i], F_GETFD) == -1 &&
					      errno == EBADF,
				      "case %d: fd %d left open", _i, i);
	}
	for (int i = 0; i < IPCQ_NFDS; i++)
		close(src_fds[i]);
	ipcq_close(src);
	free(img);
	if (dir)
		tu_rmtree(dir);
}
END_TEST

/* ---- peers that go away, and oversized messages ----------------------------- */

/* A producer of a path ring, blocked on a full ring, sees -EPIPE when its
 * consumer's process dies (no socket: liveness by pid and start time). */
START_TEST(test_path_producer_epipe)
{
	struct ipcq_config cfg = px_cfg(ELEM, 4, 0);
	struct tu_barrier attached;
	uint8_t buf[ELEM];
	char *dir = tu_tmpdir(), *file;
	struct ipcq *p;
	int64_t t0;
	pid_t pid;

	ck_assert_int_ge(asprintf(&file, "%s/ring", dir), 0);
	ck_assert_int_eq(ipcq_create_path(&p, file, &cfg, IPCQ_PRODUCER, 0), 0);
	for (unsigned k = 0; k < 4; k++) {
		px_fill(buf, ELEM, k);
		ck_assert_int_eq(ipcq_push(p, buf), 0);
	}
	tu_barrier_init(&attached);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct ipcq *q;

		if (ipcq_open_path(&q, file, NULL, IPCQ_CONSUMER) < 0)
			_exit(10);
		tu_barrier_signal(&attached);
		for (;;)
			pause(); /* killed by the parent */
	}
	tu_barrier_wait(&attached);
	ipcq_set_spin(p, 0);
	/* alive: a time-out */
	ck_assert_int_eq(ipcq_push_wait(p, buf, 30), -ETIMEDOUT);
	ck_assert_int_eq(kill(pid, SIGKILL), 0);
	ck_assert_int_eq(tu_wait(pid), 128 + SIGKILL);
	t0 = now_ms();
	ck_assert_int_eq(ipcq_push_wait(p, buf, 10000), -EPIPE);
	ck_assert_int_lt(now_ms() - t0, 5000);
	ck_assert_int_eq(ipcq_send_wait(p, buf, 1, -1), -EPIPE);
	ipcq_close(p);
	tu_barrier_close(&attached);
	tu_rmtree(dir);
	free(file);
}
END_TEST

/* A peer holding the doorbells the creator exported cannot make the
 * creator's rings or drains block. It fills what it can of the data bell
 * (an eventfd's counter took 0xfffffffffffffffe), clears O_NONBLOCK on its
 * ends (an eventfd's open file was the creator's too), never reads them,
 * and flags its consumer asleep before every publish, so that each one
 * rings. The producer's pushes all return (the buffer full: rings
 * dropped, the sleeper has one waiting anyway), and so does its drain of
 * an empty bell. With eventfd doorbells the first push blocked for good. */
START_TEST(test_doorbell_no_block)
{
	struct ipcq_config c = { .elem_size = ELEM, .capacity = CAP };
	struct ipcq *p, *q;
	int fds[IPCQ_NFDS], mine[IPCQ_NFDS], n = 0;
	uint64_t full = 0xfffffffffffffffeull;
	uint8_t elem[ELEM] = { 1 };
	struct ipcq_shm *shm;
	char buf[4096];
	ssize_t r;

	ck_assert_int_eq(ipcq_create(&p, &c, IPCQ_PRODUCER), 0);
	ck_assert_int_eq(ipcq_export(p, fds), 0);
	for (int i = 0; i < IPCQ_NFDS; i++) /* as SCM_RIGHTS would share them */
		ck_assert_int_ge(mine[i] = dup(fds[i]), 0);
	shm = mmap(NULL, IPCQ_PAGE, PROT_READ | PROT_WRITE, MAP_SHARED,
		   mine[0], 0);
	ck_assert_ptr_ne(shm, MAP_FAILED);
	(void)!write(mine[1], &full, sizeof(full));
	ck_assert_int_eq(fcntl(mine[1], F_SETFL, 0), 0);
	ck_assert_int_eq(fcntl(mine[2], F_SETFL, 0), 0);
	/* the consumer pops with its own dups (ipcq_attach takes them) */
	for (int i = 0; i < IPCQ_NFDS; i++)
		ck_assert_int_ge(fds[i] = dup(mine[i]), 0);
	ck_assert_int_eq(ipcq_attach(&q, fds, IPCQ_CONSUMER, NULL), 0);
	for (int i = 0; i < 4000; i++) {
		__atomic_store_n(&shm->cons_sleep.asleep, IPCQ_ASLEEP,
				 __ATOMIC_SEQ_CST);
		ck_assert_int_eq(ipcq_push(p, elem), 0);
		ck_assert_int_eq(ipcq_pop(q, elem), 0);
	}
	for (unsigned i = 0; i < CAP; i++) /* full: the producer may sleep */
		ck_assert_int_eq(ipcq_push(p, elem), 0);
	ck_assert_int_eq(ipcq_arm(p), 0);
	ipcq_disarm(p); /* drains its empty bell */
	/* the rings that were sent are there to read; not all 4000 fit */
	ck_assert_int_eq(fcntl(mine[1], F_SETFL, O_NONBLOCK), 0);
	while ((r = read(mine[1], buf, sizeof(buf))) > 0)
		n += (int)r;
	ck_assert_int_gt(n, 0);
	ck_assert_int_lt(n, 4000);
	munmap(shm, IPCQ_PAGE);
	for (int i = 0; i < IPCQ_NFDS; i++)
		close(mine[i]);
	ipcq_close(q);
	ipcq_close(p);
}
END_TEST

/* The blocking byte calls refuse oversized messages at once (no wait), and
 * a message larger than the reader's buffer stays in the ring. */
START_TEST(test_msgsize_blocking)
{
	struct ipcq_config cfg = px_cfg(ELEM, 4, 0);
	uint8_t buf[ELEM + 1], out[ELEM];
	struct ipcq *p, *q;
	int64_t t0;

	ck_assert_int_eq(ipcq_create(&p, &cfg, IPCQ_PRODUCER), 0);
	ck_assert_int_eq(px_attach(&q, p, IPCQ_CONSUMER), 0);
	px_fill(buf, ELEM, 3);
	t0 = now_ms();
	ck_assert_int_eq(ipcq_send_wait(p, buf, ELEM + 1, 5000), -EMSGSIZE);
	ck_assert_int_eq(ipcq_send_wait(p, buf, SIZE_MAX, 5000), -EMSGSIZE);
	ck_assert_int_eq(ipcq_count(p), 0);
	ck_assert_int_eq(ipcq_send_wait(p, buf, ELEM, 5000), 0);
	ck_assert_int_eq(ipcq_recv_wait(q, out, ELEM - 1, 5000), -EMSGSIZE);
	ck_assert_int_eq(ipcq_recv_wait(q, out, 0, 5000), -EMSGSIZE);
	ck_assert_int_lt(now_ms() - t0, 2000);
	ck_assert_int_eq(ipcq_recv_wait(q, out, ELEM, 5000), ELEM);
	ck_assert(px_ok(out, ELEM, 3));
	ck_assert_int_eq(ipcq_recv_wait(q, out, ELEM, 0), -ETIMEDOUT);
	ipcq_close(q);
	ipcq_close(p);
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

int main(void)
{
	Suite *s = suite_create("ipcq-hostile");
	SRunner *sr;
	TCase *tc;

	tc = tcase(s, "attack", 60);
	tcase_add_loop_test(tc, test_attack, 0, 8);
	tcase_add_loop_test(tc, test_header_rewritten, 0, 2);
	tc = tcase(s, "refuse", 30);
	tcase_add_loop_test(tc, test_attach_refused, 0, A_COUNT);
	tc = tcase(s, "peer", 30);
	tcase_add_test(tc, test_path_producer_epipe);
	tcase_add_test(tc, test_msgsize_blocking);
	tc = tcase(s, "doorbell", 10);
	tcase_add_test(tc, test_doorbell_no_block);
	sr = srunner_create(s);
	srunner_set_fork_status(sr, CK_FORK);
	return tu_run(sr);
}

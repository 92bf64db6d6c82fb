/* SPDX-License-Identifier: MIT */
/*
 * Blocking: spin, then raise my asleep flag, look at the ring once more (the
 * Dekker pair with the peer's fence in wake_peer), and sleep with the time
 * left: a path ring on its futex bell; a memfd ring on its futex bell first
 * (for IPCQ_FUTEX_SLICE_MS, when the peer's caps say it rings it: a futex
 * wake-up needs no poll and no drain, ipcq-sleep 1.16x -> 1.06x
 * floor-eventfd), then on its doorbell socket, where the peer's hang-up
 * wakes it too. ipcq_arm, for callers that sleep in their own poll, always
 * flags the socket.
 *
 * The spin lasts longer while the peer's flag is up. A peer asleep on this
 * ring waits for the other condition: a producer for room while I (the
 * consumer) find the ring empty, a consumer for an element while I (the
 * producer) find it full. What made my side wait is what it waits for, so
 * it has been rung or is being rung (the Dekker pair), and its next move,
 * after its wake-up, is what I wait for. Sleeping then is the convoy: with
 * both flags up for a moment, each side's next publish or release rings a
 * doorbell (one write() per slot while the sleeper is still waking, tens of
 * microseconds on a VM), the slowed side falls behind, and the other runs
 * empty (or full) and sleeps again. So a waiter keeps polling until a full
 * spin has passed since it last saw the peer's flag up, at most
 * IPCQ_PEER_SPINS spins more: a peer that stays flagged (stopped, dead,
 * hostile) costs that much polling per wait, then the waiter sleeps as
 * before.
 */
#include <errno.h>
#include <poll.h>

#include "deadline.h"
#include "ipcq-private.h"
#include "os-private.h"

/* Polls of the ring between two looks at the peer's flag while spinning,
 * and between two looks at the clock while the peer's flag stretches it. */
#define PEER_LOOK_EVERY 16
#define CLOCK_LOOK_EVERY 1024

/* The peer's flag is up: IPCQ_ASLEEP (armed) or IPCQ_RUNG (rung, not
 * awake yet), or any other non-zero value a peer writes. Relaxed: a hint.
 * A stale 0 ends the stretch a spin early (the waiter then sleeps as it did
 * before), a stale 1 polls a little longer; nothing is ordered by it. */
static inline int peer_flag(const struct ipcq *q)
{
	return __atomic_load_n(&q->peer_sleep->asleep, __ATOMIC_RELAXED) != 0;
}

int ipcq_peer_waiting(const struct ipcq *q)
{
	if (!q)
		return -EINVAL;
	return peer_flag(q);
}

int ipcq_fd(const struct ipcq *q)
{
	if (!q)
		return -EINVAL;
	return q->path ? -EOPNOTSUPP : q->my_efd;
}

/* Lower my flag after a wake-up (or an arm that found work) without reading
 * the doorbell: that read is one system call between the wake-up and the
 * work, and the ring it takes can wait. The next ipcq_arm drains it before
 * raising the flag, off the way to the work (spin 0 round trip: one system
 * call less per hop); ipcq_disarm drains at once, as its callers expect. */
static void disarm_lazy(struct ipcq *q)
{
	/* Relaxed is enough: a stale flag costs the peer one needless ring. */
	__atomic_store_n(&q->my_sleep->asleep, 0, __ATOMIC_RELAXED);
	q->stale = q->sock_armed;
	q->sock_armed = 0;
}

void ipcq_store_caps(struct ipcq *q)
{
	__atomic_store_n(&q->my_sleep->caps,
			 IPCQ_CAP_FUTEX |
				 (q->registered ? IPCQ_CAP_REGISTERED : 0) |
				 (q->light ? IPCQ_CAP_MEMBARRIER : 0),
			 __ATOMIC_SEQ_CST);
}

/* A membarrier failed (it should not): I am unregistered for good, caps 0;
 * a peer that read the old caps may have left a fence out, so my blocking
 * calls sleep in slices (sleep_once) while the peer says it is
 * registered. */
static void unregister(struct ipcq *q)
{
	q->registered = q->light = 0;
	ipcq_store_caps(q);
}

/* With spin 0 a side arms at every wait: a membarrier there (0.25 us, a few
 * us when the peer is running) costs more than the peer's fence per
 * publish (ipcq-sleep / floor-eventfd 1.13-1.31x against 1.08-1.17x with
 * fences, alternated). So it arms with a fence and says so; the peer then
 * fences its publishes. Dropping the bit is safe after one membarrier: a
 * waker that read the old caps and left its fence out had its publish
 * made visible by it (or reads the new caps after it, and fences). */
void ipcq_set_light(struct ipcq *q, unsigned spins)
{
	unsigned want = q->registered && spins > 0;

	if (want == q->light)
		return;
	q->light = want;
	ipcq_store_caps(q);
	if (!want && os_membarrier() < 0)
		unregister(q);
}

/* Arming, first half: drain a ring left by disarm_lazy, then raise my flag
 * (seq_cst store): IPCQ_ASLEEP, or IPCQ_ASLEEP_FUTEX for a memfd ring's
 * sleep in ipcq_wait. */
static void arm_raise(struct ipcq *q, uint32_t flag)
{
	if (q->stale) {
		/* A ring left by disarm_lazy: taken before the flag goes up,
		 * so it cannot end the sleep to come. */
		os_bell_drain(q->my_efd);
		q->stale = 0;
	}
	if (q->path || flag == IPCQ_ASLEEP_FUTEX)
		/* Acquire: pairs with the release add in ipcq_ring_bell(); a
		 * ring after this snapshot changes the word and FUTEX_WAIT
		 * returns at once. */
		q->bell_snap = __atomic_load_n(&q->my_sleep->bell,
					       __ATOMIC_ACQUIRE);
	q->sock_armed = !q->path && flag == IPCQ_ASLEEP;
	__atomic_store_n(&q->my_sleep->asleep, flag, __ATOMIC_SEQ_CST);
}

/* Second half: look at the ring again; lower the flag if there is work. */
static int arm_check(struct ipcq *q)
{
	int r = ipcq_ready(q);

	if (r != 0) {
		disarm_lazy(q);
		return r > 0 ? -EALREADY : r;
	}
	return 0;
}

/* Between the halves, a full barrier on both sides: my flags are visible
 * before I look at the rings again, and each peer's index store before its
 * look at my flag. Pairs with wake_peer(): either the peer sees my flag and
 * rings, or I see its index and do not sleep. Arming with a membarrier
 * (light: my caps say so), I fence the peers too, so their wake_peer may
 * leave their own fence out; one membarrier serves every ring raised
 * before it. A membarrier that fails (it should not): unregister() each
 * light ring, then the fence. */
static int arm_n(struct ipcq *const *qs, unsigned n, int *res, uint32_t flag)
{
	unsigned i, light = 0, armed = 0;

	if (!qs || !res || n == 0)
		return -EINVAL;
	for (i = 0; i < n; i++) {
		if (!qs[i])
			return -EINVAL;
		light |= qs[i]->light;
	}
	for (i = 0; i < n; i++)
		arm_raise(qs[i], flag);
	if (!light || os_membarrier() < 0) {
		for (i = 0; light && i < n; i++)
			if (qs[i]->light)
				unregister(qs[i]);
		atomic_thread_fence(memory_order_seq_cst);
	}
	for (i = 0; i < n; i++) {
		res[i] = arm_check(qs[i]);
		armed += res[i] == 0;
	}
	return (int)armed;
}

int ipcq_arm_n(struct ipcq *const *qs, unsigned n, int *res)
{
	return arm_n(qs, n, res, IPCQ_ASLEEP);
}

int ipcq_arm(struct ipcq *q)
{
	int r;

	return ipcq_arm_n(&q, 1, &r) < 0 ? -EINVAL : r;
}

void ipcq_disarm(struct ipcq *q)
{
	/* Relaxed is enough: a stale 1 costs the peer one needless ring. */
	__atomic_store_n(&q->my_sleep->asleep, 0, __ATOMIC_RELAXED);
	q->stale = q->sock_armed = 0;
	if (!q->path)
		os_bell_drain(q->my_efd);
}

static int peer_fd_gone(int fd, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = POLLRDHUP };

	if (fd < 0)
		return 0;
	return os_poll(&p, 1, timeout_ms) > 0 &&
	       (p.revents & (POLLHUP | POLLRDHUP | POLLERR | POLLNVAL));
}

/* The flag ipcq_wait raises: IPCQ_ASLEEP_FUTEX on a memfd ring whose peer
 * rings that (its caps; a peer's lie costs me one futex slice a sleep). */
static uint32_t wait_flag(const struct ipcq *q)
{
	return !q->path && (__atomic_load_n(&q->peer_sleep->caps,
					    __ATOMIC_RELAXED) &
			    IPCQ_CAP_FUTEX) ?
		       IPCQ_ASLEEP_FUTEX :
		       IPCQ_ASLEEP;
}

/* A memfd ring's sleep flagged IPCQ_ASLEEP_FUTEX: at most q->futex_ms on
 * the futex bell, then my flag moves to IPCQ_ASLEEP and the rest of *ms
 * (cut by the slice; 0 when the caller's time is up, so that a caller
 * waiting less than a slice still sees a hang-up) goes to the socket,
 * where the peer's hang-up wakes me too. 1 when the sleep is over (rung,
 * my flag changed under me: look at the ring), 0 to go on to the socket. A
 * waker
 * that read IPCQ_ASLEEP_FUTEX turns it to IPCQ_RUNG before it rings the
 * futex, so either its CAS or mine fails: it then rings the socket (the
 * flag it finds says so), or I look at the ring. */
static int futex_phase(struct ipcq *q, int *ms)
{
	uint32_t a = IPCQ_ASLEEP_FUTEX;
	int slice = *ms >= 0 && *ms < q->futex_ms ? *ms : q->futex_ms;

	(void)os_futex_wait(&q->my_sleep->bell, q->bell_snap, slice);
	if (__atomic_load_n(&q->my_sleep->bell, __ATOMIC_ACQUIRE) !=
		    q->bell_snap ||
	    !__atomic_compare_exchange_n(&q->my_sleep->asleep, &a,
					 IPCQ_ASLEEP, 0, __ATOMIC_SEQ_CST,
					 __ATOMIC_ACQUIRE))
		return 1;
	q->sock_armed = 1;
	if (*ms > 0)
		*ms -= slice;
	return 0;
}

/* One sleep of at most ms (>= 1, or -1) on the doorbell. 0 after a wake-up
 * or time-out, -EPIPE when the peer is seen gone, -errno. */
static int sleep_once(struct ipcq *q, int ms)
{
	struct pollfd p[2];
	unsigned n = 1;
	int r;

	if (q->path) {
		if (!ipcq_path_peer_alive(q) || peer_fd_gone(q->peer_fd, 0))
			return -EPIPE;
		if (ms < 0 || ms > IPCQ_PATH_SLICE_MS)
			ms = IPCQ_PATH_SLICE_MS;
		os_futex_wait(&q->my_sleep->bell, q->bell_snap, ms);
		return 0;
	}
	if (!q->sock_armed && futex_phase(q, &ms))
		return 0;
	if (!q->registered && (ms < 0 || ms > IPCQ_PATH_SLICE_MS) &&
	    (__atomic_load_n(&q->peer_sleep->caps, __ATOMIC_RELAXED) &
	     IPCQ_CAP_REGISTERED))
		/* I cannot fence the peer, and it may have left its fence
		 * out (it read caps before mine said 0): look again now and
		 * then rather than miss its wake-up for good */
		ms = IPCQ_PATH_SLICE_MS;
	p[0].fd = q->my_efd;
	p[0].events = POLLIN;
	p[0].revents = 0;
	if (q->peer_fd >= 0) {
		/* Only hang-ups: control messages on the socket are not ours. */
		p[1].fd = q->peer_fd;
		p[1].events = POLLRDHUP;
		p[1].revents = 0;
		n = 2;
	}
	r = os_poll(p, n, ms);
	if (r < 0)
		return r;
	if (n == 2 && (p[1].revents & (POLLHUP | POLLRDHUP | POLLERR | POLLNVAL)))
		return -EPIPE;
	return 0;
}

int ipcq_wait(struct ipcq *q, int timeout_ms)
{
	struct deadline d;
	uint64_t i, end, most;
	int r;

	/* Light looks first (no forced reload of the peer's index: that
	 * line is the peer's to write); the full check, which catches a
	 * lying peer, comes before sleeping (ipcq_arm) or giving up. */
	r = ipcq_ready_spin(q);
	if (r != 0)
		return r < 0 ? r : 0;
	deadline_start(&d, timeout_ms);
	/* a spin, stretched to a spin past the last time the peer's flag was
	 * seen up, at most IPCQ_PEER_SPINS spins more (see the top) */
	most = (uint64_t)q->spin * (1 + IPCQ_PEER_SPINS);
	end = q->spin;
	for (i = 0; timeout_ms != 0 && i < end; i++) {
		cpu_relax();
		r = ipcq_ready_spin(q);
		if (r != 0)
			return r < 0 ? r : 0;
		if (i % PEER_LOOK_EVERY == 0 && peer_flag(q))
			end = i + q->spin < most ? i + q->spin : most;
		if (i >= q->spin && i % CLOCK_LOOK_EVERY == 0 &&
		    deadline_expired(&d))
			break; /* the caller's time-out wins over the stretch */
	}
	for (;;) {
		int left = deadline_left_ms(&d);

		if (left == 0) {
			r = ipcq_ready(q);
			return r < 0 ? r : r > 0 ? 0 : -ETIMEDOUT;
		}
		if (arm_n(&q, 1, &r, wait_flag(q)) < 0)
			return -EINVAL; /* cannot be: q is there */
		if (r == -EALREADY)
			return 0;
		if (r < 0)
			return r;
		r = sleep_once(q, left);
		disarm_lazy(q);
		/* Work that arrived wins over a hang-up seen with it. The light
		 * look first: the full one reloads the peer's index, a line
		 * transfer between the wake-up and the work; it still comes
		 * when the light one sees nothing, to catch a lying peer. */
		int ready = ipcq_ready_spin(q);

		if (ready == 0)
			ready = ipcq_ready(q);

		if (ready != 0)
			return ready < 0 ? ready : 0;
		if (r < 0)
			return r;
	}
}

/* The *_wait calls try once before they read the clock: a call that need
 * not wait (the usual case under traffic) costs no clock_gettime. */
int ipcq_push_wait(struct ipcq *q, const void *elem, int timeout_ms)
{
	struct deadline d;
	int r;

	if ((r = ipcq_push(q, elem)) != -EAGAIN)
		return r;
	deadline_start(&d, timeout_ms);
	while ((r = ipcq_push(q, elem)) == -EAGAIN)
		if ((r = ipcq_wait(q, deadline_left_ms(&d))) < 0)
			return r;
	return r;
}

int ipcq_pop_wait(struct ipcq *q, void *elem, int timeout_ms)
{
	struct deadline d;
	int r;

	if ((r = ipcq_pop(q, elem)) != -EAGAIN)
		return r;
	deadline_start(&d, timeout_ms);
	while ((r = ipcq_pop(q, elem)) == -EAGAIN)
		if ((r = ipcq_wait(q, deadline_left_ms(&d))) < 0)
			return r;
	return r;
}

int ipcq_send_wait(struct ipcq *q, const void *buf, size_t len,
		   int timeout_ms)
{
	struct deadline d;
	int r;

	if ((r = ipcq_send(q, buf, len)) != -EAGAIN)
		return r;
	deadline_start(&d, timeout_ms);
	while ((r = ipcq_send(q, buf, len)) == -EAGAIN)
		if ((r = ipcq_wait(q, deadline_left_ms(&d))) < 0)
			return r;
	return r;
}

ssize_t ipcq_recv_wait(struct ipcq *q, void *buf, size_t cap, int timeout_ms)
{
	struct deadline d;
	ssize_t r;
	int w;

	if ((r = ipcq_recv(q, buf, cap)) != -EAGAIN)
		return r;
	deadline_start(&d, timeout_ms);
	while ((r = ipcq_recv(q, buf, cap)) == -EAGAIN)
		if ((w = ipcq_wait(q, deadline_left_ms(&d))) < 0)
			return w;
	return r;
}

/* SPDX-License-Identifier: MIT */
/*
 * The fast path: push / pop, batches, byte messages, zero-copy.
 *
 * Producer: copy the payload, store len, then publish with a release store of
 * the slot's seq (the consumer polls that word, so a message costs one cache
 * line transfer), then store tail (bookkeeping: count, recovery, sleepers),
 * then the Dekker pair: a seq_cst fence (a compiler barrier when the
 * consumer arms with a membarrier: wake_peer) and a look at the consumer's
 * asleep flag. Consumer: acquire-load the slot's seq, which says published, not
 * yet (the previous lap's value) or a lie (anything else); copy out; then
 * release the slot with a release store of head, the last store of a pop.
 * Every value read from the mapping is checked before use.
 */
#include <errno.h>
#include <string.h>

#include "failpoint.h"
#include "ipcq-private.h"
#include "os-private.h"

/* Slot i's words (seq, len) and its payload: one line for a small element,
 * two arrays for a big one (layout.h). */
static inline struct ipcq_slot *slot_of(const struct ipcq *q, uint64_t i)
{
	uint64_t k = i & q->mask;

	if (q->words_stride == IPCQ_SLOT_HDR)
		k = ipcq_words_pos(k, q->words_shift);
	return (struct ipcq_slot *)(q->words + (size_t)k * q->words_stride);
}

static inline uint8_t *data_of(const struct ipcq *q, uint64_t i)
{
	return q->data + (size_t)(i & q->mask) * q->stride;
}

void ipcq_ring_bell(struct ipcq_sleep_line *sl, int efd, int futex)
{
	if (futex) {
		/* Release: pairs with the sleeper's load of bell before it
		 * raised its flag; a changed bell makes FUTEX_WAIT return. */
		__atomic_fetch_add(&sl->bell, 1, __ATOMIC_RELEASE);
		os_futex_wake(&sl->bell);
	} else {
		os_bell_ring(efd);
	}
}

/* After publishing tail (producer) or head (consumer): wake the peer if it
 * said it sleeps. Once per sleep: the first waker turns the peer's flag
 * from IPCQ_ASLEEP to IPCQ_RUNG and rings; until the peer disarms (0) or
 * arms again (IPCQ_ASLEEP), later publishes see IPCQ_RUNG and let the bell
 * be, since the doorbell already holds a ring the peer has not taken. Before,
 * every publish while the sleeper was still waking rang the doorbell again
 * (hundreds of write() calls per sleep when its CPU was busy). */
static inline void wake_peer(struct ipcq *q)
{
	uint32_t a;

	/* Dekker pair: my index store is ordered before the load of the
	 * peer's flag, pairing with what orders the peer's flag store before
	 * its re-check of the ring in ipcq_arm(). When my process is
	 * registered for membarrier(2) and the peer arms with one (its caps
	 * say so), the peer's membarrier runs a full barrier here if I am
	 * running, and a context switch is one if I am not: a compiler
	 * barrier is all I need, and my stores drain while I go on (a seq_cst
	 * fence waits for them: the 16 lines of a 1 KiB message, every
	 * message). Else the fence pairs with the peer's fence. */
	if (likely(q->registered) &&
	    (__atomic_load_n(&q->peer_sleep->caps, __ATOMIC_RELAXED) &
	     IPCQ_CAP_MEMBARRIER))
		atomic_signal_fence(memory_order_seq_cst);
	else
		atomic_thread_fence(memory_order_seq_cst);
	a = __atomic_load_n(&q->peer_sleep->asleep, __ATOMIC_RELAXED);
	if (likely(a == 0) || a == IPCQ_RUNG)
		return;
	/* Relaxed: the ring itself (socket send or futex bell) orders what
	 * the waker needs. A CAS that fails found the peer awake (0), armed
	 * anew, moved from its futex to its socket, or rung by now: ring
	 * what a holds now unless it is awake or rung. Any other value (a
	 * peer's garbage) rings the socket, as before. */
	if ((a == IPCQ_ASLEEP || a == IPCQ_ASLEEP_FUTEX) &&
	    !__atomic_compare_exchange_n(&q->peer_sleep->asleep, &a, IPCQ_RUNG,
					 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED) &&
	    (a == 0 || a == IPCQ_RUNG))
		return;
	ipcq_ring_bell(q->peer_sleep, q->peer_efd,
		       q->path || a == IPCQ_ASLEEP_FUTEX);
}

/* Producer: free slots by a fresh look at head. An honest consumer's head
 * only moves forward, from the last one seen up to tail: anything else is a
 * lie, -EBADMSG, and the last good head stays. (A head that went back but
 * stayed within a ring of tail would let slots reserved by the old head be
 * committed past the new one: more slots in use than the ring has.) */
static int64_t prod_reload(struct ipcq *q)
{
	/* Acquire: pairs with the consumer's release store of head in
	 * cons_release(); the slots before head are free to overwrite. */
	uint64_t head = __atomic_load_n(&q->peer->index, __ATOMIC_ACQUIRE);

	/* q->idx - q->peer_cache <= capacity holds, so this bounds
	 * tail - head too */
	if (unlikely(head - q->peer_cache > q->idx - q->peer_cache))
		return -EBADMSG;
	q->peer_cache = head;
	return q->capacity - (q->idx - head);
}

/* Producer: free slots, reloading head only when fewer than want look
 * free. -EBADMSG when the consumer's head cannot be right. */
static inline int64_t prod_free(struct ipcq *q, unsigned want)
{
	uint64_t used = q->idx - q->peer_cache;

	if (likely(q->capacity - used >= want))
		return q->capacity - used;
	return prod_reload(q);
}

/* Producer: publish slot i holding len bytes already copied. */
static inline void publish(struct ipcq_slot *s, uint64_t i, uint32_t len)
{
	__atomic_store_n(&s->len, len, __ATOMIC_RELAXED);
	/* Release: pairs with the consumer's acquire load of seq in
	 * cons_check(); payload and len are visible before seq says so. */
	__atomic_store_n(&s->seq, (uint32_t)(i + 1), __ATOMIC_RELEASE);
}

static inline void prod_store_tail(struct ipcq *q)
{
	/* Release: pairs with the consumer's acquire load of tail in
	 * cons_check(): every seq before tail is published. */
	__atomic_store_n(&q->mine->index, q->idx, __ATOMIC_RELEASE);
}

/* Consumer: is the slot of index i (head <= i < head + capacity) published?
 * 1 yes, 0 not yet, -EBADMSG when the producer's words contradict.
 *
 * The seq word alone answers. While the consumer may look at it, an honest
 * producer leaves one of two values in the slot of index i: (u32)(i + 1 -
 * capacity), left by the previous lap (or ipcq_create), or (u32)(i + 1),
 * published; it cannot have written the next lap's before head passed i.
 * Any other value is a lie, reported at once. So a look never reads the
 * producer's tail: its line stays with the producer (a consumer reading it
 * every few empty looks made the producer's next tail store, and the fence
 * after it, wait for the line to come back). tail is read only when force
 * is set (before sleeping, in ipcq_ready), to catch the lies seq cannot
 * show: a tail that covers i while seq does not, or one more than a ring
 * behind head. Such a lie, once seen, is remembered: from then on a look at
 * an unpublished slot says -EBADMSG too, so a caller that took the error of
 * ipcq_arm for "data arrived" hears it again at its next look. Until the
 * first forced check a spinning consumer fooled by it sees an empty ring, no
 * worse than a producer that stopped. */
static inline int cons_check_x(struct ipcq *q, uint64_t i, int force)
{
	struct ipcq_slot *s = slot_of(q, i);
	uint64_t tail, d;
	uint32_t seq;

	/* Acquire: pairs with the release store of seq in publish(). */
	seq = __atomic_load_n(&s->seq, __ATOMIC_ACQUIRE);
	if (likely(seq == (uint32_t)(i + 1)))
		return 1;
	if (unlikely(seq != (uint32_t)(i + 1 - q->capacity)))
		return -EBADMSG;
	if (likely(!force))
		return unlikely(q->tail_lied) ? -EBADMSG : 0;
	/* Acquire: pairs with the release store in prod_store_tail(). */
	tail = __atomic_load_n(&q->peer->index, __ATOMIC_ACQUIRE);
	d = tail - q->idx;
	if (unlikely(d > q->capacity)) {
		/* tail may lag behind my head: seq is the publish word, and
		 * a producer stores tail after it (or died before storing
		 * it). Up to capacity behind is empty, not a lie. */
		if (q->idx - tail <= q->capacity)
			return q->tail_lied ? -EBADMSG : 0;
		q->tail_lied = 1;
		return -EBADMSG;
	}
	if (i - q->idx >= d)
		return q->tail_lied ? -EBADMSG : 0; /* empty as far as tail says */
	/* tail covers i, so seq was stored before it: look again (the first
	 * look may have raced with the publish). Acquire as above. */
	if (__atomic_load_n(&s->seq, __ATOMIC_ACQUIRE) == (uint32_t)(i + 1))
		return 1;
	q->tail_lied = 1;
	return -EBADMSG;
}

static inline int cons_check(struct ipcq *q, uint64_t i)
{
	return cons_check_x(q, i, 0);
}

/* Consumer, before looking at the seq word of slot i: a payload that goes
 * on past the words' line (an inline slot wider than a line, or any split
 * slot) is on a line the copy would miss on only after the seq line
 * arrived, one transfer after the other. Asking for it now overlaps the
 * two (version 1's 72-byte slot of a 64-byte element, sides on distant
 * cores: 1.44x -> 1.17x a bare line bounce; a 100-byte element's inline
 * slot here: about 730 -> 600 ns). */
static inline void cons_prefetch(const struct ipcq *q, uint64_t i)
{
	if (q->words_stride != q->stride)
		cache_prefetch(data_of(q, i));
	else if (q->stride > CACHELINE)
		cache_prefetch((const uint8_t *)slot_of(q, i) + CACHELINE);
}

/* Consumer: the validated length of a published slot. */
static inline int64_t cons_len(const struct ipcq *q, struct ipcq_slot *s)
{
	/* Ordered after the acquire of seq; read once, then checked. */
	uint32_t len = __atomic_load_n(&s->len, __ATOMIC_RELAXED);

	if (unlikely(len > q->elem_size))
		return -EBADMSG;
	return len;
}

static inline void cons_release(struct ipcq *q, uint64_t n)
{
	q->idx += n;
	/* Release: pairs with the producer's acquire load of head in
	 * prod_free(); my reads of these slots are done before it may reuse
	 * them. The last store of a pop. */
	__atomic_store_n(&q->mine->index, q->idx, __ATOMIC_RELEASE);
}

int ipcq_ready(struct ipcq *q)
{
	int64_t r;

	if (q->role == IPCQ_PRODUCER) {
		r = prod_reload(q);
		return r < 0 ? (int)r : r > 0;
	}
	return cons_check_x(q, q->idx, 1);
}

int ipcq_ready_spin(struct ipcq *q)
{
	int64_t r;

	if (q->role == IPCQ_PRODUCER) {
		/* Reloads head only when the cached one says full. */
		r = prod_free(q, 1);
		return r < 0 ? (int)r : r > 0;
	}
	cons_prefetch(q, q->idx);
	return cons_check(q, q->idx);
}

/* ---- producer --------------------------------------------------------- */

static inline int push_one(struct ipcq *q, const void *buf, uint32_t len)
{
	struct ipcq_slot *s;
	int64_t f;

	if (unlikely(q->role != IPCQ_PRODUCER))
		return -EINVAL;
	f = prod_free(q, 1);
	if (unlikely(f <= 0))
		return f < 0 ? (int)f : -EAGAIN;
	q->pending = 0;
	s = slot_of(q, q->idx);
	memcpy(data_of(q, q->idx), buf, len);
	FAILPOINT("ipcq.push.after_copy");
	publish(s, q->idx, len);
	FAILPOINT("ipcq.push.after_publish");
	q->idx++;
	prod_store_tail(q);
	FAILPOINT("ipcq.push.after_tail");
	wake_peer(q);
	return 0;
}

int ipcq_push(struct ipcq *q, const void *elem)
{
	return push_one(q, elem, q->elem_size);
}

int ipcq_send(struct ipcq *q, const void *buf, size_t len)
{
	if (len > q->elem_size)
		return -EMSGSIZE;
	return push_one(q, buf, (uint32_t)len);
}

/* Copy n elements of src into the payloads from index i: one memcpy per
 * run up to the wrap when payloads are packed, one per slot otherwise. */
static void copy_in(struct ipcq *q, uint64_t i, const uint8_t *src, unsigned n)
{
	while (n) {
		unsigned run = q->capacity - (unsigned)(i & q->mask);
		unsigned k;

		if (run > n)
			run = n;
		if (q->packed)
			memcpy(data_of(q, i), src, (size_t)run * q->elem_size);
		else
			for (k = 0; k < run; k++)
				memcpy(data_of(q, i + k),
				       src + (size_t)k * q->elem_size,
				       q->elem_size);
		i += run;
		src += (size_t)run * q->elem_size;
		n -= run;
	}
}

int ipcq_push_n(struct ipcq *q, const void *elems, unsigned n)
{
	int64_t f;
	unsigned k;

	if (q->role != IPCQ_PRODUCER || n == 0)
		return -EINVAL;
	f = prod_free(q, n);
	if (f <= 0)
		return f < 0 ? (int)f : -EAGAIN;
	if ((uint64_t)f < n)
		n = (unsigned)f;
	q->pending = 0;
	copy_in(q, q->idx, elems, n);
	FAILPOINT("ipcq.push_n.after_copy");
	for (k = 0; k < n; k++) {
		publish(slot_of(q, q->idx + k), q->idx + k, q->elem_size);
		FAILPOINT("ipcq.push_n.after_slot"); /* @k: after the k-th */
	}
	FAILPOINT("ipcq.push_n.after_publish");
	q->idx += n;
	prod_store_tail(q);
	FAILPOINT("ipcq.push_n.after_tail");
	wake_peer(q);
	return (int)n;
}

int ipcq_reserve(struct ipcq *q, unsigned want, void **first)
{
	uint64_t to_end;
	int64_t f;

	if (q->role != IPCQ_PRODUCER || want == 0 || !first)
		return -EINVAL;
	f = prod_free(q, want);
	if (f <= 0)
		return f < 0 ? (int)f : -EAGAIN;
	to_end = q->capacity - (q->idx & q->mask);
	if ((uint64_t)f > to_end)
		f = (int64_t)to_end;
	if ((uint64_t)f > want)
		f = want;
	q->pending = (unsigned)f;
	*first = data_of(q, q->idx);
	return (int)f;
}

int ipcq_commit(struct ipcq *q, unsigned n)
{
	unsigned k;

	if (q->role != IPCQ_PRODUCER || n > q->pending)
		return -EINVAL;
	q->pending = 0;
	if (n == 0)
		return 0;
	for (k = 0; k < n; k++) {
		publish(slot_of(q, q->idx + k), q->idx + k, q->elem_size);
		FAILPOINT("ipcq.commit.after_slot"); /* @k: after the k-th */
	}
	FAILPOINT("ipcq.commit.after_publish");
	q->idx += n;
	prod_store_tail(q);
	FAILPOINT("ipcq.commit.after_tail");
	wake_peer(q);
	return 0;
}

int ipcq_commit_len(struct ipcq *q, size_t len)
{
	if (q->role != IPCQ_PRODUCER || q->pending == 0)
		return -EINVAL;
	if (len > q->elem_size)
		return -EMSGSIZE;
	q->pending = 0;
	publish(slot_of(q, q->idx), q->idx, (uint32_t)len);
	FAILPOINT("ipcq.commit.after_publish");
	q->idx++;
	prod_store_tail(q);
	FAILPOINT("ipcq.commit.after_tail");
	wake_peer(q);
	return 0;
}

/* ---- consumer --------------------------------------------------------- */

static inline int pop_check(struct ipcq *q, struct ipcq_slot **sp)
{
	int r;

	if (unlikely(q->role != IPCQ_CONSUMER))
		return -EINVAL;
	cons_prefetch(q, q->idx);
	r = cons_check(q, q->idx);
	if (unlikely(r <= 0))
		return r < 0 ? r : -EAGAIN;
	q->pending = 0;
	*sp = slot_of(q, q->idx);
	return 0;
}

static inline void pop_finish(struct ipcq *q)
{
	FAILPOINT("ipcq.pop.after_copy");
	cons_release(q, 1);
	FAILPOINT("ipcq.pop.after_release");
	wake_peer(q);
}

int ipcq_pop(struct ipcq *q, void *elem)
{
	struct ipcq_slot *s;
	int64_t len;
	int r;

	r = pop_check(q, &s);
	if (unlikely(r < 0))
		return r;
	len = cons_len(q, s);
	if (unlikely(len < 0))
		return (int)len;
	memcpy(elem, data_of(q, q->idx), (size_t)len);
	if (unlikely((uint32_t)len < q->elem_size))
		memset((uint8_t *)elem + len, 0, q->elem_size - (size_t)len);
	pop_finish(q);
	return 0;
}

ssize_t ipcq_recv(struct ipcq *q, void *buf, size_t cap)
{
	struct ipcq_slot *s;
	int64_t len;
	int r;

	r = pop_check(q, &s);
	if (r < 0)
		return r;
	len = cons_len(q, s);
	if (len < 0)
		return len;
	if ((uint64_t)len > cap)
		return -EMSGSIZE; /* stays in the ring */
	memcpy(buf, data_of(q, q->idx), (size_t)len);
	pop_finish(q);
	return len;
}

/* Consumer: how many of the n slots from head are published and whole
 * (len == elem_size), up to the first that is not; *r says why it stopped
 * (1: a short one, 0: not published, -EBADMSG). */
static unsigned cons_count_whole(struct ipcq *q, unsigned n, int *r)
{
	unsigned k;

	*r = 1;
	for (k = 0; k < n; k++) {
		*r = cons_check(q, q->idx + k);
		if (*r <= 0)
			break;
		/* Ordered after the acquire of seq; checked by value. */
		if (__atomic_load_n(&slot_of(q, q->idx + k)->len,
				    __ATOMIC_RELAXED) != q->elem_size)
			break;
	}
	return k;
}

/* Copy n payloads from index i out to dst, one memcpy per run up to the
 * wrap (packed payloads only). */
static void copy_out(const struct ipcq *q, uint64_t i, uint8_t *dst, unsigned n)
{
	while (n) {
		unsigned run = q->capacity - (unsigned)(i & q->mask);

		if (run > n)
			run = n;
		memcpy(dst, data_of(q, i), (size_t)run * q->elem_size);
		i += run;
		dst += (size_t)run * q->elem_size;
		n -= run;
	}
}

int ipcq_pop_n(struct ipcq *q, void *elems, unsigned n)
{
	uint8_t *dst = elems;
	unsigned k = 0;
	int r = 0;

	if (q->role != IPCQ_CONSUMER || n == 0)
		return -EINVAL;
	q->pending = 0;
	if (n > q->capacity)
		n = q->capacity;
	/* No cons_prefetch here: a batch consumer chasing the producer would
	 * pull the line of a slot being written out of the producer's cache
	 * at every look (about 8% of batch throughput, sides far apart). */
	if (q->packed) {
		/* Whole elements, packed: check their words, then copy the
		 * run at once; a short one (a byte message) goes on below. */
		unsigned j;

		k = cons_count_whole(q, n, &r);
		copy_out(q, q->idx, dst, k);
		for (j = 0; j < k; j++) /* the k-th is copied too */
			FAILPOINT("ipcq.pop_n.after_slot"); /* @j */
		if (r <= 0)
			n = k;
	}
	for (; k < n; k++) {
		uint8_t *d = dst + (size_t)k * q->elem_size;
		int64_t len;

		r = cons_check(q, q->idx + k);
		if (r <= 0)
			break;
		len = cons_len(q, slot_of(q, q->idx + k));
		if (len < 0) {
			r = (int)len;
			break;
		}
		memcpy(d, data_of(q, q->idx + k), (size_t)len);
		if ((uint32_t)len < q->elem_size)
			memset(d + len, 0, q->elem_size - (size_t)len);
		FAILPOINT("ipcq.pop_n.after_slot"); /* @k: after the k-th */
	}
	if (k == 0)
		return r < 0 ? r : -EAGAIN;
	FAILPOINT("ipcq.pop_n.after_copy");
	cons_release(q, k);
	FAILPOINT("ipcq.pop_n.after_release");
	wake_peer(q);
	return (int)k;
}

int ipcq_peek(struct ipcq *q, unsigned want, const void **first,
	      uint32_t *lens)
{
	uint64_t to_end;
	unsigned k;
	int r = 0;

	if (q->role != IPCQ_CONSUMER || want == 0 || !first)
		return -EINVAL;
	to_end = q->capacity - (q->idx & q->mask);
	if (want > to_end)
		want = (unsigned)to_end;
	cons_prefetch(q, q->idx);
	for (k = 0; k < want; k++) {
		int64_t len;

		r = cons_check(q, q->idx + k);
		if (r <= 0)
			break;
		len = cons_len(q, slot_of(q, q->idx + k));
		if (len < 0) {
			r = (int)len;
			break;
		}
		if (lens)
			lens[k] = (uint32_t)len;
	}
	if (k == 0)
		return r < 0 ? r : -EAGAIN;
	q->pending = k;
	*first = data_of(q, q->idx);
	return (int)k;
}

int ipcq_release(struct ipcq *q, unsigned n)
{
	if (q->role != IPCQ_CONSUMER || n > q->pending)
		return -EINVAL;
	q->pending = 0;
	if (n == 0)
		return 0;
	FAILPOINT("ipcq.release.before_release");
	cons_release(q, n);
	FAILPOINT("ipcq.release.after_release");
	wake_peer(q);
	return 0;
}

int64_t ipcq_peeked_bytes(const struct ipcq *q, unsigned n)
{
	uint64_t sum = 0;

	if (q->role != IPCQ_CONSUMER || n > q->pending)
		return -EINVAL;
	for (unsigned k = 0; k < n; k++) {
		/* Nothing of the peek was kept (a length per slot would be
		 * a ring's worth of memory): read the word again. Its line
		 * is one the peek brought in and an honest producer does
		 * not write before the release; a lying one can only
		 * change what it is counted for, at most elem_size. */
		uint32_t len = __atomic_load_n(&slot_of(q, q->idx + k)->len,
					       __ATOMIC_RELAXED);

		sum += len > q->elem_size ? q->elem_size : len;
	}
	return (int64_t)sum;
}

/* ---- state ------------------------------------------------------------ */

uint32_t ipcq_count(const struct ipcq *q)
{
	/* Acquire: pairs with the peer's release store of its index. */
	uint64_t other = __atomic_load_n(&q->peer->index, __ATOMIC_ACQUIRE);
	uint64_t d = q->role == IPCQ_PRODUCER ? q->idx - other : other - q->idx;

	if (q->role == IPCQ_CONSUMER && (d == 0 || d > q->capacity)) {
		/* tail lags behind the seq words (or lies): the next slot
		 * may be published all the same, and then pop would work.
		 * Acquire: pairs with the release store of seq. */
		const struct ipcq_slot *s = slot_of(q, q->idx);

		return __atomic_load_n(&s->seq, __ATOMIC_ACQUIRE) ==
		       (uint32_t)(q->idx + 1);
	}
	return d > q->capacity ? 0 : (uint32_t)d; /* a lying peer: nothing */
}

uint32_t ipcq_free(const struct ipcq *q)
{
	return q->capacity - ipcq_count(q);
}

uint32_t ipcq_capacity(const struct ipcq *q)
{
	return q->capacity;
}

uint32_t ipcq_elem_size(const struct ipcq *q)
{
	return q->elem_size;
}

uint32_t ipcq_stride(const struct ipcq *q)
{
	return q->stride;
}

enum ipcq_role ipcq_role(const struct ipcq *q)
{
	return q->role;
}

/* SPDX-License-Identifier: MIT */
/*
 * libipcq: a single-producer single-consumer ring of fixed-size elements in
 * one shared mapping, used by two unrelated processes.
 *
 * A ring lives in a sealed memfd (ipcq_create) shared over a Unix socket
 * (ipcq_share / ipcq_accept), or in a file that processes meet by path
 * (ipcq_create_path / ipcq_open_path). Each handle plays one role: the
 * producer pushes, the consumer pops. One producer and one consumer at a
 * time; a handle is not thread-safe (one thread per handle; the producer and
 * consumer handles of one ring may live in two threads).
 *
 * Every slot carries a length, so a ring holds either whole elements
 * (push/pop: always elem_size bytes) or byte messages of any length up to
 * elem_size (send/recv).
 *
 * Return values: 0 or a count on success, -errno on failure:
 *   -EAGAIN    ring full (producer) / empty (consumer), non-blocking call
 *   -ETIMEDOUT a blocking call's time-out ran out
 *   -EPIPE     the peer is gone
 *   -EMSGSIZE  a message larger than a slot (or than the caller's buffer)
 *   -EPROTO    the peer's ring has another layout version, element size or
 *              type id than asked for
 *   -EBADMSG   the shared memory holds values that cannot be right (a buggy
 *              or hostile peer); the handle stays safe to close
 *   -EINVAL    a bad argument, or a call the handle's role cannot make
 * Time-outs are milliseconds: -1 forever, 0 try once, > 0 at most that long.
 */
#ifndef MEMENPSF_IPCQ_H
#define MEMENPSF_IPCQ_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <memenpsf/memenpsf-common.h>

#ifdef __cplusplus
extern "C" {
#endif

#define IPCQ_TYPE_ID_SIZE 16
/* Largest element (slot payload) and capacity a ring may have. */
#define IPCQ_MAX_ELEM_SIZE (16u << 20)
#define IPCQ_MAX_CAPACITY (1u << 24)

struct ipcq;

enum ipcq_role {
	IPCQ_PRODUCER = 1,
	IPCQ_CONSUMER = 2,
};

/* What a new ring looks like. Fixed for the ring's life. */
struct ipcq_config {
	uint32_t elem_size;  /* payload bytes per slot, 1..IPCQ_MAX_ELEM_SIZE */
	uint32_t capacity;   /* slots: a power of two, 2..IPCQ_MAX_CAPACITY */
	uint8_t type_id[IPCQ_TYPE_ID_SIZE]; /* all zero: untyped */
	uint64_t first_index; /* where the free-running indices start
			       * (0 normally; tests start near 2^64) */
};

/* What an attaching side demands of a ring it did not create. NULL, or a
 * zero field, accepts anything for that field. */
struct ipcq_expect {
	uint32_t elem_size;
	const uint8_t *type_id; /* IPCQ_TYPE_ID_SIZE bytes, or NULL */
};

/*
 * Type id of a C type: a BLAKE2b hash (libsodium) of name and size, so two
 * programs that disagree about an element's layout get -EPROTO at attach.
 * name is any stable text the user picks, e.g. "struct tick v2".
 * Returns 0, -EINVAL (NULL name), -ENOSYS if libsodium failed to initialise.
 */
MEMENPSF_API MEMENPSF_MUST_USE
int ipcq_type_id(uint8_t out[IPCQ_TYPE_ID_SIZE], const char *name,
		 uint32_t size);

/*
 * Create a ring in a new sealed memfd and attach to it as role. The memory is
 * allocated now (a full tmpfs or cgroup fails here with -ENOMEM / -ENOSPC,
 * never later with SIGBUS). The two doorbells are created with it: each a
 * pair of connected Unix stream sockets, one end per side, which the peer
 * cannot make block (an eventfd shared with it could be: its O_NONBLOCK
 * is the peer's to clear).
 * Returns 0 with *out set, -EINVAL (bad config), -ENOMEM, -ENOSPC, -errno.
 */
MEMENPSF_API MEMENPSF_MUST_USE
int ipcq_create(struct ipcq **out, const struct ipcq_config *cfg,
		enum ipcq_role role);

/* ipcq_create_path() flags */
#define IPCQ_REPLACE 0x1u /* replace a ring at path even if a process is
			   * still attached to it */

/*
 * Create a ring in a file at path (under /dev/shm for memory, or on disk for
 * state that outlives every process) and attach as role. An existing file is
 * refused with -EEXIST while any process is attached to it, unless
 * IPCQ_REPLACE; a file no live process uses is replaced. The file is created
 * 0600. Returns 0, -EEXIST, -EINVAL, -ENOSPC, -errno.
 */
MEMENPSF_API MEMENPSF_MUST_USE
int ipcq_create_path(struct ipcq **out, const char *path,
		     const struct ipcq_config *cfg, enum ipcq_role role,
		     unsigned flags);

/*
 * Open an existing ring file as role, validating everything before use
 * (size, magic, version, geometry, expect). -EBUSY when a live process
 * already holds that role; -EPROTO / -EBADMSG / -ENOENT / -errno otherwise.
 * A producer that reopens a ring resumes after the last published element;
 * a consumer resumes at the first element not yet released.
 */
MEMENPSF_API MEMENPSF_MUST_USE
int ipcq_open_path(struct ipcq **out, const char *path,
		   const struct ipcq_expect *expect, enum ipcq_role role);

/* Detach: unmap, close this handle's fds, free. The ring's memory lives on
 * while the peer has it. NULL is ignored. Never fails, never blocks. */
MEMENPSF_API void ipcq_close(struct ipcq *q);

/*
 * Send the ring to one peer over a connected Unix socket (libfdpass): the
 * memfd and the peer's ends of both doorbells travel in one message with
 * the geometry. The peer takes the other role. q keeps its own descriptors
 * (and closes its copies of the peer's ends: ipcq_export_done), and
 * remembers sock (not owned) to notice the peer's hang-up in blocking
 * calls.
 * Returns 0, -EINVAL (a path ring, or one already shared), -EPIPE, -errno.
 */
MEMENPSF_API MEMENPSF_MUST_USE
int ipcq_share(struct ipcq *q, int sock, int timeout_ms);

/*
 * Receive a ring sent by ipcq_share() and attach with the role the sender
 * did not take. Before mapping, the memfd's seals (shrink, grow and seal)
 * and size, the magic, layout version, geometry and expect are checked;
 * on refusal no fd or mapping is left behind. sock is remembered as in
 * ipcq_share. Returns 0, -EPROTO (version / size / type mismatch),
 * -EBADMSG (bad header or geometry), -EPERM (memfd not sealed),
 * -ENOTSUP (not a memfd), -EPIPE, -ETIMEDOUT, -errno.
 */
MEMENPSF_API MEMENPSF_MUST_USE
int ipcq_accept(struct ipcq **out, int sock, const struct ipcq_expect *expect,
		int timeout_ms);

/*
 * Lower level sharing, for protocols that carry several rings in one message
 * (libiface). ipcq_export() hands out the three descriptors the peer needs,
 * in this order: the memfd, the peer's end of the data doorbell (the
 * consumer sleeps on it), the peer's end of the space doorbell (the
 * producer sleeps on it). They stay q's (closed with it). -EINVAL for a
 * path ring or one this side attached to (only its creator exports it).
 */
#define IPCQ_NFDS 3
MEMENPSF_API MEMENPSF_MUST_USE
int ipcq_export(const struct ipcq *q, int fds[IPCQ_NFDS]);

/* The descriptors of ipcq_export reached the peer (or never will): close
 * q's copies of the peer's doorbell ends (two descriptors a ring), after
 * which ipcq_export gives -EINVAL. ipcq_share does it itself. */
MEMENPSF_API void ipcq_export_done(struct ipcq *q);

/*
 * Attach to a ring from its three descriptors (as ipcq_export orders them)
 * as role, with the same checks as ipcq_accept. Takes ownership of all three
 * fds in every case: on failure they are closed.
 */
MEMENPSF_API MEMENPSF_MUST_USE
int ipcq_attach(struct ipcq **out, int fds[IPCQ_NFDS], enum ipcq_role role,
		const struct ipcq_expect *expect);

/* A descriptor whose hang-up (POLLHUP / POLLRDHUP / POLLERR) means the peer
 * is gone; blocking calls watch it and return -EPIPE. Not owned; -1 clears. */
MEMENPSF_API void ipcq_set_peer_fd(struct ipcq *q, int fd);

/* ---- element operations (non-blocking) ---------------------------------- */

/* Producer: copy one element (elem_size bytes) in. 0, -EAGAIN, -EBADMSG. */
MEMENPSF_API MEMENPSF_MUST_USE
int ipcq_push(struct ipcq *q, const void *elem);

/* Consumer: copy one element out (elem_size bytes; a shorter byte message is
 * zero-padded). 0, -EAGAIN, -EBADMSG. */
MEMENPSF_API MEMENPSF_MUST_USE
int ipcq_pop(struct ipcq *q, void *elem);

/* Producer: push up to n elements packed at elem_size apart, publishing the
 * index once. Returns how many went in (1..n), or -EAGAIN if none could. */
MEMENPSF_API MEMENPSF_MUST_USE
int ipcq_push_n(struct ipcq *q, const void *elems, unsigned n);

/* Consumer: pop up to n elements into elems (elem_size apart), releasing
 * once. Returns how many (1..n), -EAGAIN, -EBADMSG. */
MEMENPSF_API MEMENPSF_MUST_USE
int ipcq_pop_n(struct ipcq *q, void *elems, unsigned n);

/* Producer: one byte message of len bytes (0..elem_size). 0, -EMSGSIZE,
 * -EAGAIN, -EBADMSG. */
MEMENPSF_API MEMENPSF_MUST_USE
int ipcq_send(struct ipcq *q, const void *buf, size_t len);

/* Consumer: one byte message into buf. Returns its length, -EMSGSIZE when
 * cap is smaller (the message stays in the ring), -EAGAIN, -EBADMSG. */
MEMENPSF_API MEMENPSF_MUST_USE
ssize_t ipcq_recv(struct ipcq *q, void *buf, size_t cap);

/* ---- zero-copy ------------------------------------------------------------ */

/*
 * Producer: reserve up to want free slots that lie contiguously in memory.
 * Returns n (1..want) and *first points at the first slot's payload; slot k's
 * payload is at (char *)*first + k * ipcq_stride(q). -EAGAIN when full.
 * Nothing is visible to the consumer until ipcq_commit().
 */
MEMENPSF_API MEMENPSF_MUST_USE
int ipcq_reserve(struct ipcq *q, unsigned want, void **first);

/* Producer: publish the first n reserved slots, each of length elem_size.
 * 0, -EINVAL (n more than reserved). */
MEMENPSF_API MEMENPSF_MUST_USE
int ipcq_commit(struct ipcq *q, unsigned n);

/* Producer: publish one reserved slot holding a byte message of len bytes.
 * 0, -EMSGSIZE, -EINVAL (nothing reserved). */
MEMENPSF_API MEMENPSF_MUST_USE
int ipcq_commit_len(struct ipcq *q, size_t len);

/*
 * Consumer: look at up to want published elements lying contiguously.
 * Returns n and *first as for ipcq_reserve; lens, when not NULL, receives
 * each slot's validated length. The slots stay the consumer's until
 * ipcq_release(). -EAGAIN when empty, -EBADMSG.
 */
MEMENPSF_API MEMENPSF_MUST_USE
int ipcq_peek(struct ipcq *q, unsigned want, const void **first,
	      uint32_t *lens);

/* Consumer: give the first n peeked slots back to the producer.
 * 0, -EINVAL (n more than peeked). */
MEMENPSF_API MEMENPSF_MUST_USE
int ipcq_release(struct ipcq *q, unsigned n);

/* Consumer: the sum of the lengths of the first n peeked messages (as
 * ipcq_peek gave them in lens), e.g. for a byte count before
 * ipcq_release(q, n) when lens was NULL or is gone. Reads their length
 * words again: lines the peek brought in, which the producer does not
 * write before the release (a length a lying producer rewrote since
 * counts at most elem_size). Returns the sum (0..n * elem_size), or
 * -EINVAL (n more than peeked, or a producer). Never blocks. */
MEMENPSF_API MEMENPSF_MUST_USE
int64_t ipcq_peeked_bytes(const struct ipcq *q, unsigned n);

/* ---- blocking ------------------------------------------------------------- */

/*
 * Wait until the call this side makes can make progress: the consumer until
 * the ring holds an element, the producer until it has a free slot. Spins
 * first (see ipcq_set_spin), then sleeps: on a futex in shared memory for
 * up to 10 ms, then on the doorbell. Returns 0, -ETIMEDOUT, -EPIPE (peer
 * gone: socket hang-up, seen within those 10 ms, or for a path ring the
 * peer's process has exited), -EBADMSG.
 */
MEMENPSF_API MEMENPSF_MUST_USE
int ipcq_wait(struct ipcq *q, int timeout_ms);

/* Blocking forms of push / pop / send / recv; same results plus -ETIMEDOUT
 * and -EPIPE. */
MEMENPSF_API MEMENPSF_MUST_USE
int ipcq_push_wait(struct ipcq *q, const void *elem, int timeout_ms);
MEMENPSF_API MEMENPSF_MUST_USE
int ipcq_pop_wait(struct ipcq *q, void *elem, int timeout_ms);
MEMENPSF_API MEMENPSF_MUST_USE
int ipcq_send_wait(struct ipcq *q, const void *buf, size_t len,
		   int timeout_ms);
MEMENPSF_API MEMENPSF_MUST_USE
ssize_t ipcq_recv_wait(struct ipcq *q, void *buf, size_t cap, int timeout_ms);

/* How long blocking calls spin (in polls of the ring) before they sleep.
 * 0 sleeps at once. The default suits back-to-back traffic. While the
 * peer's "asleep" flag is up (it waits for what this side's last call made
 * possible, and is being woken) the spin goes on until a whole spin has
 * passed since the flag was last seen up, at most 16 spins more. Moving to
 * or from 0 changes how this side arms (see ipcq_arm); moving to 0 costs
 * one system call. */
MEMENPSF_API void ipcq_set_spin(struct ipcq *q, unsigned spins);

/*
 * For callers with their own event loop. ipcq_fd() is the doorbell this side
 * sleeps on (readable when the peer rang it); -EOPNOTSUPP for a path ring.
 * Before polling it, call ipcq_arm(): it raises this side's "asleep" flag and
 * looks at the ring once more; it returns 0 when the caller should poll,
 * -EALREADY when work is ready now (do not sleep), -EINVAL for a NULL
 * ring, or -EBADMSG when the peer's index is impossible (a consumer keeps
 * that verdict: its later receives say -EBADMSG too). After waking (or when
 * the caller stops waiting) call ipcq_disarm(): it clears the flag and
 * drains the doorbell. Without arm, the peer never rings; but after a blocking call of
 * this side (ipcq_wait and the *_wait calls), and after an ipcq_arm that
 * returned -EALREADY (the peer may have rung while the flag was up), the
 * doorbell may stay readable with a ring already taken care of, until the
 * next ipcq_arm or ipcq_disarm, which drain it (the read is left for later,
 * off the way to the work): a loop that keeps the fd in its poll set while
 * not armed should disarm on such a wake-up and not count it as work.
 * ipcq_arm is a system call where the kernel has membarrier(2) (it fences
 * the peer's process for it, so that the peer's publishes need no fence of
 * their own): about 0.25 us, a few us when the peer is running. Arm on the
 * way to sleeping, not in a busy loop; a side set to spin 0 (it sleeps at
 * every wait) arms with a plain fence instead, and its peer fences.
 */
MEMENPSF_API int ipcq_fd(const struct ipcq *q);
/* 1 when the peer's "asleep" flag on this ring is up (it armed and has not
 * disarmed yet, rung or not: a producer waiting for room, a consumer for an
 * element), 0 when not, -EINVAL. A hint
 * read from shared memory, for a loop deciding whether to arm: a peer
 * asleep on the opposite condition is being woken, and its next element
 * (or free slot) comes after its wake-up; arming now would make it ring. */
MEMENPSF_API int ipcq_peer_waiting(const struct ipcq *q);
MEMENPSF_API MEMENPSF_MUST_USE int ipcq_arm(struct ipcq *q);
/* ipcq_arm for n rings at once (a loop that sleeps on many doorbells): one
 * barrier for all of them, so one system call instead of n. res[i] gets
 * what ipcq_arm(qs[i]) would return. Returns how many were armed (res 0),
 * or -EINVAL (qs or res NULL, n 0, a NULL ring; nothing armed then). */
MEMENPSF_API MEMENPSF_MUST_USE int ipcq_arm_n(struct ipcq *const *qs,
					     unsigned n, int *res);
MEMENPSF_API void ipcq_disarm(struct ipcq *q);

/* ---- state ---------------------------------------------------------------- */

/* Elements in the ring as this side sees it (may be stale by the peer's
 * latest operation; on the consumer side at least 1 whenever the next
 * element is ready, even before the producer's tail says so), free slots,
 * and the fixed geometry. */
MEMENPSF_API uint32_t ipcq_count(const struct ipcq *q);
MEMENPSF_API uint32_t ipcq_free(const struct ipcq *q);
MEMENPSF_API uint32_t ipcq_capacity(const struct ipcq *q);
MEMENPSF_API uint32_t ipcq_elem_size(const struct ipcq *q);
MEMENPSF_API uint32_t ipcq_stride(const struct ipcq *q);
MEMENPSF_API enum ipcq_role ipcq_role(const struct ipcq *q);

/* Bytes of shared memory a ring of this geometry takes (header page and
 * slots), as ipcq_create would allocate them; 0 when the geometry is not
 * valid (see struct ipcq_config). For callers that budget memory before
 * they create rings. */
MEMENPSF_API uint64_t ipcq_size_of(uint32_t elem_size, uint32_t capacity);

/* ---- typed access ----------------------------------------------------------
 *
 * IPCQ_DEFINE_TYPE(tick, struct tick, "struct tick v1") defines static inline
 * tick_type_id(), tick_create(), tick_accept(), tick_push(), tick_pop(),
 * tick_push_n(), tick_pop_n(), tick_push_wait(), tick_pop_wait() over the
 * untyped calls above, with sizeof(T) and the type id of NAME checked at
 * attach.
 */
#define IPCQ_DEFINE_TYPE(prefix, T, NAME)                                      \
	static inline int prefix##_type_id(uint8_t id[IPCQ_TYPE_ID_SIZE])      \
	{                                                                      \
		return ipcq_type_id(id, (NAME), (uint32_t)sizeof(T));          \
	}                                                                      \
	static inline int prefix##_create(struct ipcq **out, uint32_t capacity,\
					  enum ipcq_role role)                 \
	{                                                                      \
		struct ipcq_config c = { .elem_size = (uint32_t)sizeof(T),     \
					 .capacity = capacity };               \
		int r_ = prefix##_type_id(c.type_id);                          \
		return r_ < 0 ? r_ : ipcq_create(out, &c, role);               \
	}                                                                      \
	static inline int prefix##_accept(struct ipcq **out, int sock,         \
					  int timeout_ms)                      \
	{                                                                      \
		uint8_t id_[IPCQ_TYPE_ID_SIZE];                                \
		struct ipcq_expect e = { .elem_size = (uint32_t)sizeof(T),     \
					 .type_id = id_ };                     \
		int r_ = prefix##_type_id(id_);                                \
		return r_ < 0 ? r_ : ipcq_accept(out, sock, &e, timeout_ms);   \
	}                                                                      \
	static inline int prefix##_push(struct ipcq *q, const T *e)            \
	{                                                                      \
		return ipcq_push(q, e);                                        \
	}                                                                      \
	static inline int prefix##_pop(struct ipcq *q, T *e)                   \
	{                                                                      \
		return ipcq_pop(q, e);                                         \
	}                                                                      \
	static inline int prefix##_push_n(struct ipcq *q, const T *e,          \
					  unsigned n)                          \
	{                                                                      \
		return ipcq_push_n(q, e, n);                                   \
	}                                                                      \
	static inline int prefix##_pop_n(struct ipcq *q, T *e, unsigned n)     \
	{                                                                      \
		return ipcq_pop_n(q, e, n);                                    \
	}                                                                      \
	static inline int prefix##_push_wait(struct ipcq *q, const T *e,       \
					     int timeout_ms)                   \
	{                                                                      \
		return ipcq_push_wait(q, e, timeout_ms);                       \
	}                                                                      \
	static inline int prefix##_pop_wait(struct ipcq *q, T *e,              \
					    int timeout_ms)                    \
	{                                                                      \
		return ipcq_pop_wait(q, e, timeout_ms);                        \
	}

#ifdef __cplusplus
}
#endif

#endif /* MEMENPSF_IPCQ_H */

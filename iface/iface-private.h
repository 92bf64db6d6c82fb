/* SPDX-License-Identifier: MIT */
/* libiface internals shared by server.c, client.c and chan.c. Never installed. */
#ifndef MEMENPSF_IFACE_PRIVATE_H
#define MEMENPSF_IFACE_PRIVATE_H

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <sys/epoll.h>

#include <memenpsf/iface.h>
#include <memenpsf/ipcq.h>

#include "compiler.h"
#include "deadline.h"
#include "wire.h"

/* ---- OS shim (os.c): every fd-creating call with CLOEXEC, EINTR loops ---- */

int os_epoll_create(void);
int os_eventfd(void);
int os_epoll_add(int ep, int fd, uint32_t events, void *ptr);
void os_epoll_del(int ep, int fd);
/* epoll_wait; EINTR gives 0 events. */
int os_epoll_wait(int ep, struct epoll_event *ev, int max, int timeout_ms);
/* Write 1 to an eventfd: async-signal-safe, errno preserved. */
void os_efd_kick(int efd);
void os_efd_drain(int efd);
/* Close a descriptor once, never retried on EINTR; -1 is ignored. */
void os_close(int fd);
/* poll one fd with timeout 0: revents, or 0. */
int os_poll_now(int fd, short events);

/* ---- paths (path.c) ------------------------------------------------------- */

/* Resolve cfg path / name into a malloc'd path; for the default path make
 * sure its directory exists, is ours and is 0700 (mkdir_dir non-zero). */
int path_resolve(char **out, const char *path, const char *name, int mkdir_dir);

/* ---- keys in the handshake (proof.c; auth.h does the cryptography) ------- */

struct auth_key;
struct auth_transcript;

/* The key of a config: none (*out NULL, 0), len bytes at key (-EINVAL
 * unless IFACE_KEY_SIZE), or a key file (-EACCES for its mode or owner,
 * -EINVAL for its type or content, -errno of open). Both: -EINVAL. */
int proof_key(struct auth_key **out, const void *key, size_t len,
	      const char *file);
/* Start the transcript of a conversation with its HELLO. 0 or -errno. */
int proof_start(struct auth_transcript *t, const struct wire_hello *h);
/* Add j (proof zeroed) to t, then make (make != 0: sets WIRE_JOIN_PROOF
 * and j->proof) or check the client's proof over the server nonce sn and
 * j's nonce. The server's proof the same way over WELCOME, with the client
 * nonce cn. 0, -EACCES (no proof, or a wrong one), -ENOSYS, -errno. */
int proof_join(const struct auth_key *k, struct auth_transcript *t,
	       const uint8_t sn[WIRE_NONCE_SIZE], struct wire_join *j,
	       int make);
int proof_welcome(const struct auth_key *k, struct auth_transcript *t,
		  const uint8_t sn[WIRE_NONCE_SIZE],
		  const uint8_t cn[WIRE_NONCE_SIZE], struct wire_welcome *w,
		  int make);

/* ---- the data path shared by a server's conn and a client (chan.c) ------- */

/* Where epoll events point to. */
enum ev_kind { EV_LISTEN = 1, EV_WAKE, EV_SOCK, EV_DATA };
struct evsrc {
	enum ev_kind kind;
	void *obj;
};

struct chan {
	struct ipcq *tx, *rx;
	int sock;
	enum iface_full_policy policy;
	int check_peer; /* client: look at the socket now and then */
	unsigned calls; /* calls since the last look */
	int64_t checked_ns; /* time of the last look */
	unsigned misses; /* calls that found the ring empty (or full) since
			  * the last progress */
	int dead;       /* the peer is known to be gone */
	int closing;    /* closed by this side: deliver nothing more */
	struct iface_reason why;
	struct iface_stats st;
	/* chan_deliver's settings, made once (chan_deliver_setup) for the
	 * batch it is called with (dl_for): rx slot stride, slots per batch
	 * and per call (cut for big slots: DELIVER_BYTES) */
	uint32_t rx_stride;
	unsigned dl_for, dl_batch, dl_budget;
	/* the last look of a polled ring found it empty: the next look asks
	 * for one message (chan_deliver) */
	unsigned dl_idle;
};

void chan_reason(struct iface_reason *r, uint32_t code, const char *text);

/* Read and handle what the peer sent on the control socket of an open
 * channel (BYE, hang-up, anything else is a protocol error); sets dead. */
void chan_read_control(struct chan *ch, unsigned max_fds);

/* The data path's common case is inline (the client's send / recv and a
 * server's conn_send are then one call into libipcq, not two calls: on a
 * round trip of ~160 ns between sides that share a cache every call on
 * the way counts); what is rare is out of line. A client looks at its
 * control socket every CHECK_EVERY sends (chan.c says why). */
#define CHECK_EVERY 1024
void chan_look(struct chan *ch, int64_t now);
/* r (< 0) from ipcq_send: the full policy, or r. */
int chan_send_failed(struct chan *ch, int r);
/* r (< 0) from ipcq_recv: an empty ring may look at the socket, and a
 * dead peer's ring gets one more look; else r. */
ssize_t chan_recv_failed(struct chan *ch, void *buf, size_t cap, ssize_t r);

/* A client's send: counted, and every CHECK_EVERY-th looks at the socket. */
static inline void chan_count_send(struct chan *ch)
{
	if (ch->check_peer && !ch->dead && unlikely(++ch->calls >= CHECK_EVERY))
		chan_look(ch, 0);
}

static inline int chan_send(struct chan *ch, const void *buf, size_t len)
{
	int r;

	chan_count_send(ch);
	if (unlikely(ch->dead))
		return -EPIPE;
	r = ipcq_send(ch->tx, buf, len);
	if (unlikely(r != 0))
		return chan_send_failed(ch, r);
	ch->misses = 0;
	ch->st.tx_msgs++;
	ch->st.tx_bytes += len;
	return 0;
}

int chan_send_wait(struct chan *ch, const void *buf, size_t len,
		   int timeout_ms);
int chan_send_n(struct chan *ch, const void *elems, unsigned n);
int chan_reserve(struct chan *ch, unsigned want, void **first);
int chan_commit(struct chan *ch, unsigned n);
/* Wait for a free slot in the tx ring: 0, -ETIMEDOUT, -EPIPE. */
int chan_wait_send(struct chan *ch, int timeout_ms);

/* A receive of len bytes: progress, counted. */
static inline void chan_received(struct chan *ch, size_t len)
{
	ch->misses = 0;
	ch->calls++;
	ch->st.rx_msgs++;
	ch->st.rx_bytes += len;
}

static inline ssize_t chan_recv(struct chan *ch, void *buf, size_t cap)
{
	ssize_t r = ipcq_recv(ch->rx, buf, cap);

	if (unlikely(r < 0))
		return chan_recv_failed(ch, buf, cap, r);
	chan_received(ch, (size_t)r);
	return r;
}

ssize_t chan_recv_wait(struct chan *ch, void *buf, size_t cap, int timeout_ms);
int chan_recv_n(struct chan *ch, void *elems, unsigned n);
int chan_peek(struct chan *ch, unsigned want, const void **first,
	      uint32_t *lens);
int chan_release(struct chan *ch, unsigned n);
int chan_wait(struct chan *ch, int timeout_ms);

/* A dispatch loop's epoll reported the incoming ring's doorbell: take the
 * ring (disarm, which drains the doorbell). 1 when the loop had armed the
 * ring and this is its wake-up; 0 when it had not: a ring left in the
 * doorbell by a wait of the conn's own (ipcq_wait drains it lazily, at its
 * next arm), which is no work and must not keep epoll reporting it. */
static inline int chan_doorbell(struct chan *ch, int *armed)
{
	int was = *armed;

	ipcq_disarm(ch->rx);
	*armed = 0;
	ch->dl_idle = 0; /* woken, not polled: the first look takes a batch */
	return was;
}

/* A dispatch loop polls a ring that ran empty for spin rounds before it
 * arms it. While the peer is flagged asleep on that ring (a producer
 * waiting for the room our releases made: it is being woken, and its
 * messages follow its wake-up), the polling goes on until spin rounds past
 * the last round that saw the flag, PEER_SPINS + 1 times spin rounds in
 * all. Arming meanwhile would make the peer ring the doorbell for every
 * message it sends until our own wake-up (the convoy of DESIGN.md); a peer
 * that stays flagged (stopped, hostile) costs that much polling per
 * wake-up. Returns the round (idle) at which to arm, given the one so far
 * (end); a load of a line the peer rarely writes, made every
 * PEER_LOOK_EVERY rounds and at the round that would arm (as libipcq's
 * ipcq_wait looks every 16 polls): the look, a call into libipcq, was
 * about 20 of an empty round's 330 instructions. */
#define PEER_SPINS 16
#define PEER_LOOK_EVERY 16
static inline unsigned chan_stretch(struct chan *ch, unsigned idle,
				    unsigned end, unsigned spin)
{
	uint64_t most = (uint64_t)spin * (PEER_SPINS + 1);
	uint64_t e = (uint64_t)idle + spin;

	if (!spin || idle >= most ||
	    (idle % PEER_LOOK_EVERY != 0 && idle < end) ||
	    ipcq_peer_waiting(ch->rx) != 1)
		return end;
	return (unsigned)(e < most ? e : most);
}

/* Hand up to 4 batches of messages to cb, at most batch in each (msgs and
 * lens have room for batch; fewer for big slots: DELIVER_BYTES in chan.c).
 * Returns how many, -EAGAIN when the ring was empty, -EBADMSG.
 *
 * A polled ring's first look after it was found empty asks for one
 * message (dl_idle): a look for a batch also checks the slot after the
 * message before the callback can answer it, and in a ping-pong that slot
 * is always empty. What came behind the message is delivered in the same
 * call, in batches; a ring woken by its doorbell (chan_doorbell) looks for
 * a batch at once. */
typedef void (*chan_deliver_fn)(void *ctx, const struct iface_msg *msgs,
				unsigned n);
void chan_deliver_setup(struct chan *ch, unsigned batch);
/* The rest of chan_deliver, from its first look (n from ipcq_peek for
 * want slots). Inline, so that cb is a direct call. */
static inline __attribute__((always_inline)) int
chan_deliver_from(struct chan *ch, int n, unsigned want, const void *first,
		  struct iface_msg *msgs, uint32_t *lens, chan_deliver_fn cb,
		  void *ctx)
{
	unsigned batch = ch->dl_batch, budget = ch->dl_budget, done = 0;
	uint32_t stride = ch->rx_stride;

	if (n < 0)
		return n;
	ch->dl_idle = 0;
	for (;;) {
		uint64_t bytes = 0;

		for (int i = 0; i < n; i++) {
			msgs[i].data = (const char *)first + (size_t)i * stride;
			msgs[i].len = lens[i];
			bytes += lens[i];
		}
		cb(ctx, msgs, (unsigned)n);
		if (ipcq_release(ch->rx, (unsigned)n) < 0)
			return -EBADMSG;
		ch->st.rx_msgs += (unsigned)n;
		ch->st.rx_bytes += bytes;
		done += (unsigned)n;
		/* Stop when the callback closed the channel, at the budget, or
		 * after a short batch: the ring ran dry, or the batch reached
		 * the ring's end (once a lap); either way the next round looks
		 * again, instead of a second look that finds nothing (a
		 * delivering round of one message: 525 -> 451 instructions).
		 * A first look for one message (dl_idle) is not short: the
		 * look for what came behind it is made here, after the
		 * callback answered it. */
		if (ch->closing || done >= budget || (unsigned)n < want)
			break;
		want = budget - done < batch ? budget - done : batch;
		n = ipcq_peek(ch->rx, want, &first, lens);
		if (n == -EAGAIN) {
			ch->dl_idle = 1;
			break;
		}
		if (n < 0)
			return n;
	}
	return (int)done;
}

/* Inline: a polling loop's look at an empty ring is one call into libipcq
 * (with the rest of a round out of line, an empty server round of one
 * conn is about 200 instructions: tools/memenpsf-cost under callgrind). */
static inline int chan_deliver(struct chan *ch, unsigned batch,
			       struct iface_msg *msgs, uint32_t *lens,
			       chan_deliver_fn cb, void *ctx)
{
	const void *first;
	unsigned want;
	int n;

	if (unlikely(ch->dl_for != batch))
		chan_deliver_setup(ch, batch);
	want = ch->dl_idle ? 1 : ch->dl_batch;
	n = ipcq_peek(ch->rx, want, &first, lens);
	if (n == -EAGAIN) {
		ch->dl_idle = 1;
		return n;
	}
	return chan_deliver_from(ch, n, want, first, msgs, lens, cb, ctx);
}

/* Between the rounds of a dispatch with a time-out. After a round that may
 * have waited in epoll (not busy) it reads the clock. While the loop polls
 * its rings (busy: no round waits) it reads the clock only every
 * DISPATCH_CLOCK_EVERY rounds (two reads per round were more than such a
 * round's own work), so the time-out is overrun by at most that many
 * polling rounds, about a microsecond; and after DISPATCH_TIGHT_ROUNDS
 * empty rounds in a row it pauses DISPATCH_BACKOFF_PAUSES times before each
 * next one. A poller that looks at a line the producer is about to write
 * takes it back from the producer's store; with the sides on distant cores
 * a round trip whose server looked every ~10 ns (or every ~30, with a
 * pause) came out one cross-core transfer slower, 620-660 ns against
 * 520-570 looking every ~50 ns from the 17th empty round on, while a
 * request that comes within those 16 rounds (sides sharing a cache, ~150
 * ns apart) still finds the loop looking tightly (bench/README.md, "The
 * server's polling cadence"). rounds counts the polling rounds (the
 * caller starts it at 0). Returns the ms left: left when the clock was not
 * read, else deadline_left_ms(d) (-1 for no deadline never reads it). */
#define DISPATCH_CLOCK_EVERY 64
#define DISPATCH_TIGHT_ROUNDS 16
#define DISPATCH_BACKOFF_PAUSES 2
static inline int dispatch_next(const struct deadline *d, unsigned busy,
				unsigned *rounds, int left)
{
	if (!busy) {
		*rounds = 0;
		return deadline_left_ms(d);
	}
	if (++*rounds > DISPATCH_TIGHT_ROUNDS)
		for (int i = 0; i < DISPATCH_BACKOFF_PAUSES; i++)
			cpu_relax();
	if (*rounds % DISPATCH_CLOCK_EVERY != 0)
		return left;
	return deadline_left_ms(d);
}

/* Send a REFUSE or BYE, best effort, never blocking. */
void chan_send_reason(int sock, uint16_t type, uint32_t code,
		      const char *text);

/* Close both rings. */
void chan_fini(struct chan *ch);

#endif /* MEMENPSF_IFACE_PRIVATE_H */

/* SPDX-License-Identifier: MIT */
/*
 * The data path of one channel, the same for a server's conn and a client:
 * sends into the tx ring, receives from the rx ring, the full policy, the
 * counters, and noticing that the peer is gone without losing anything it
 * published before it went.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>

#include <memenpsf/fdpass.h>

#include "compiler.h"
#include "deadline.h"
#include "iface-private.h"

/* A client looks at its control socket every CHECK_EVERY sends
 * (iface-private.h; a send into a ring with room would never notice a
 * dead server otherwise; a dead server's ring fills up within a ring's
 * worth of sends, and a full ring is looked at anyway, so more often buys
 * nothing: every 64 sends cost a fifth of the throughput in poll()
 * calls), and when a call finds the ring
 * empty (or full): the first such call after progress, when CHECK_AFTER
 * calls went by and the last look is CHECK_FIRST_GAP_NS old, and every
 * CHECK_MISSES-th such call in a row when the last look is CHECK_GAP_NS
 * old. A caller spinning on an empty ring reads the clock once per
 * CHECK_MISSES tries and sees a dead server within about 50 us; one that
 * drains a ring and then finds it empty sees the dead server at once; a
 * spinning round trip (short runs of misses between messages) reads the
 * clock once per CHECK_AFTER / 2 messages and polls once per ms, where it
 * read the clock on every message when every first miss looked (a clock
 * read is 30-70 ns here, a fifth of a 64-byte round trip) and polled every
 * 50 us. Receives that find data do not look: what the server published is
 * delivered first. */
#define CHECK_AFTER 256
#define CHECK_MISSES 64
#define CHECK_GAP_NS 50000
#define CHECK_FIRST_GAP_NS 1000000

void chan_reason(struct iface_reason *r, uint32_t code, const char *text)
{
	r->code = code;
	snprintf(r->text, sizeof(r->text), "%s", text ? text : "");
}

void chan_send_reason(int sock, uint16_t type, uint32_t code,
		      const char *text)
{
	unsigned char buf[WIRE_MAX_MSG];
	int n = wire_encode_reason(buf, sizeof(buf), type, code, text);

	if (n > 0 && sock >= 0)
		(void)!fdpass_send(sock, buf, (size_t)n, NULL, 0, 0);
}

static void mark_dead(struct chan *ch, uint32_t code, const char *text)
{
	if (ch->dead)
		return;
	ch->dead = 1;
	chan_reason(&ch->why, code, text);
}

void chan_read_control(struct chan *ch, unsigned max_fds)
{
	unsigned char buf[WIRE_MAX_MSG + 1];
	int fds[FDPASS_MAX_FDS];

	while (!ch->dead) {
		unsigned nfds = max_fds;
		struct wire_msg m;
		ssize_t r = fdpass_recv(ch->sock, buf, sizeof(buf), fds, &nfds,
					0);

		if (r == -EAGAIN)
			break;
		if (r == -EPIPE) {
			mark_dead(ch, IFACE_R_HANGUP,
				  "the peer hung up without a goodbye");
			break;
		}
		if (r < 0) {
			mark_dead(ch, IFACE_R_PROTOCOL,
				  "bad control message from the peer");
			break;
		}
		for (unsigned i = 0; i < nfds; i++)
			os_close(fds[i]); /* an open channel takes no fds */
		r = wire_decode(buf, (size_t)r, nfds, 0, &m);
		if (r == 0 && m.type == WIRE_BYE) {
			ch->dead = 1;
			ch->why.code = m.u.reason.code;
			memcpy(ch->why.text, m.u.reason.text,
			       sizeof(ch->why.text));
			ch->why.text[sizeof(ch->why.text) - 1] = 0;
		} else {
			mark_dead(ch, IFACE_R_PROTOCOL,
				  "unexpected control message from the peer");
		}
	}
}

/* Look at the control socket now (client only): read a BYE, notice a
 * hang-up. */
void __attribute__((noinline)) chan_look(struct chan *ch, int64_t now)
{
	int ev;

	ch->calls = 0;
	ch->checked_ns = now ? now : mono_ns();
	ev = os_poll_now(ch->sock, POLLIN | POLLRDHUP);
	if (ev & POLLIN)
		chan_read_control(ch, FDPASS_MAX_FDS);
	if (!ch->dead && (ev & (POLLHUP | POLLRDHUP | POLLERR)))
		mark_dead(ch, IFACE_R_HANGUP,
			  "the peer hung up without a goodbye");
}

/* A call that found the ring empty (or full) looks if the last look is at
 * least gap_ns old; either way the next first miss waits for CHECK_AFTER
 * more calls. */
static void __attribute__((noinline)) look_missed(struct chan *ch,
						  int64_t gap_ns)
{
	int64_t now = mono_ns();

	ch->calls = 0;
	if (now - ch->checked_ns >= gap_ns)
		chan_look(ch, now);
}

/* Client only: look at the socket every CHECK_EVERY calls (force 0), on an
 * empty / full call (force 1, see CHECK_AFTER), and always when
 * force is 2 (a blocking call saw the hang-up: read the BYE). Inline: the
 * common case is a counter and a branch. */
static inline void maybe_check(struct chan *ch, int force)
{
	if (force == 0) {
		chan_count_send(ch);
		return;
	}
	if (!ch->check_peer || ch->dead)
		return;
	if (force == 1) {
		unsigned m = ch->misses++;

		if (unlikely(m == 0 && ch->calls >= CHECK_AFTER))
			look_missed(ch, CHECK_FIRST_GAP_NS);
		else if (unlikely(m && (m & (CHECK_MISSES - 1)) == 0))
			look_missed(ch, CHECK_GAP_NS);
	} else {
		chan_look(ch, 0);
	}
}

/* ---- send ---------------------------------------------------------------- */

/* -EAGAIN from a non-blocking send: the full policy decides. */
static int full(struct chan *ch, unsigned n)
{
	ch->st.full++;
	maybe_check(ch, 1);
	if (ch->dead)
		return -EPIPE;
	if (ch->policy == IFACE_FULL_DROP) {
		ch->st.drops += n;
		return 0;
	}
	return -EAGAIN;
}

int chan_send_failed(struct chan *ch, int r)
{
	return r == -EAGAIN ? full(ch, 1) : r;
}

int chan_send_wait(struct chan *ch, const void *buf, size_t len,
		   int timeout_ms)
{
	int r;

	if (ch->dead)
		return -EPIPE;
	r = ipcq_send_wait(ch->tx, buf, len, timeout_ms);
	if (r == 0) {
		ch->st.tx_msgs++;
		ch->st.tx_bytes += len;
	} else if (r == -EPIPE) {
		maybe_check(ch, 2);
		mark_dead(ch, IFACE_R_HANGUP,
			  "the peer hung up without a goodbye");
	}
	return r;
}

int chan_send_n(struct chan *ch, const void *elems, unsigned n)
{
	int r;

	maybe_check(ch, 0);
	if (ch->dead)
		return -EPIPE;
	if (n == 0)
		return -EINVAL;
	r = ipcq_push_n(ch->tx, elems, n);
	if (r > 0) {
		ch->st.tx_msgs += (unsigned)r;
		ch->st.tx_bytes += (uint64_t)r * ipcq_elem_size(ch->tx);
		if ((unsigned)r < n && ch->policy == IFACE_FULL_DROP) {
			ch->st.full++;
			ch->st.drops += n - (unsigned)r;
			return (int)n;
		}
		return r;
	}
	if (r == -EAGAIN) {
		r = full(ch, n);
		return r == 0 ? (int)n : r;
	}
	return r;
}

int chan_reserve(struct chan *ch, unsigned want, void **first)
{
	int r;

	maybe_check(ch, 0);
	if (ch->dead)
		return -EPIPE;
	r = ipcq_reserve(ch->tx, want, first);
	if (r == -EAGAIN) {
		ch->st.full++;
		maybe_check(ch, 1);
		if (ch->dead)
			return -EPIPE;
	}
	return r;
}

int chan_commit(struct chan *ch, unsigned n)
{
	int r = ipcq_commit(ch->tx, n);

	if (r == 0) {
		ch->st.tx_msgs += n;
		ch->st.tx_bytes += (uint64_t)n * ipcq_elem_size(ch->tx);
	}
	return r;
}

/* ---- receive ---------------------------------------------------------------
 *
 * Empty ring: if the peer is (now) known to be gone, look at the ring once
 * more, since what it published before it died is visible by now; only an
 * empty ring after that is -EPIPE.
 */

/* One receive; look at the socket on an empty ring when look is set (a
 * blocking caller lets ipcq_wait watch for the hang-up instead). */
static ssize_t recv_once(struct chan *ch, void *buf, size_t cap, int look)
{
	ssize_t r;

	r = ipcq_recv(ch->rx, buf, cap);
	if (r == -EAGAIN) {
		if (look)
			maybe_check(ch, 1);
		if (ch->dead) {
			r = ipcq_recv(ch->rx, buf, cap);
			if (r == -EAGAIN)
				return -EPIPE;
		}
	}
	if (r >= 0)
		chan_received(ch, (size_t)r);
	return r;
}

ssize_t chan_recv_failed(struct chan *ch, void *buf, size_t cap, ssize_t r)
{
	if (r != -EAGAIN)
		return r;
	maybe_check(ch, 1);
	return ch->dead ? recv_once(ch, buf, cap, 0) : r;
}

int chan_recv_n(struct chan *ch, void *elems, unsigned n)
{
	int r;

	if (n == 0)
		return -EINVAL;
	r = ipcq_pop_n(ch->rx, elems, n);
	if (r == -EAGAIN) {
		maybe_check(ch, 1);
		if (ch->dead) {
			r = ipcq_pop_n(ch->rx, elems, n);
			if (r == -EAGAIN)
				return -EPIPE;
		}
	}
	if (r > 0) {
		ch->misses = 0;
		ch->calls++;
		ch->st.rx_msgs += (unsigned)r;
		ch->st.rx_bytes += (uint64_t)r * ipcq_elem_size(ch->rx);
	}
	return r;
}

int chan_peek(struct chan *ch, unsigned want, const void **first,
	      uint32_t *lens)
{
	int r;

	r = ipcq_peek(ch->rx, want, first, lens);
	if (r == -EAGAIN) {
		maybe_check(ch, 1);
		if (ch->dead) {
			r = ipcq_peek(ch->rx, want, first, lens);
			if (r == -EAGAIN)
				return -EPIPE;
		}
	}
	if (r > 0) {
		ch->misses = 0;
		ch->calls++;
	}
	return r;
}

/* Byte messages of any length may be among the peeked ones: count each
 * one's length (the caller's lens is the caller's, and may be NULL). */
int chan_release(struct chan *ch, unsigned n)
{
	int64_t bytes = ipcq_peeked_bytes(ch->rx, n);
	int r;

	if (bytes < 0)
		return (int)bytes;
	r = ipcq_release(ch->rx, n);
	if (r == 0) {
		ch->st.rx_msgs += n;
		ch->st.rx_bytes += (uint64_t)bytes;
	}
	return r;
}

int chan_wait(struct chan *ch, int timeout_ms)
{
	int r;

	/* (ipcq_wait looks at the ring first: no ipcq_count here, which
	 * would read the producer's line once more) */
	if (ch->dead) {
		/* one more look: a last element may have been published */
		const void *p;
		int n = ipcq_peek(ch->rx, 1, &p, NULL);

		return n > 0 ? 0 : -EPIPE;
	}
	r = ipcq_wait(ch->rx, timeout_ms);
	if (r == -EPIPE) {
		maybe_check(ch, 2);
		mark_dead(ch, IFACE_R_HANGUP,
			  "the peer hung up without a goodbye");
		return chan_wait(ch, 0);
	}
	return r;
}

int chan_wait_send(struct chan *ch, int timeout_ms)
{
	int r;

	if (ch->dead)
		return -EPIPE;
	r = ipcq_wait(ch->tx, timeout_ms);
	if (r == -EPIPE) {
		maybe_check(ch, 2);
		mark_dead(ch, IFACE_R_HANGUP,
			  "the peer hung up without a goodbye");
	}
	return r;
}

ssize_t chan_recv_wait(struct chan *ch, void *buf, size_t cap, int timeout_ms)
{
	struct deadline d;

	deadline_start(&d, timeout_ms);
	for (;;) {
		ssize_t r = recv_once(ch, buf, cap, ch->dead);

		if (r != -EAGAIN)
			return r;
		r = chan_wait(ch, deadline_left_ms(&d));
		if (r == -ETIMEDOUT && deadline_left_ms(&d) == 0)
			return r;
		if (r < 0 && r != -ETIMEDOUT && r != -EPIPE)
			return r;
	}
}

/* A batch handed to a message callback also stops at this many bytes of
 * slots: the slots go back to the producer only when the callback returns,
 * so 64 large elements (4 MiB of 64 KiB ones, half the ring) would keep the
 * producer waiting and push what the callback copies out of the cache. The
 * budget of one round shrinks with the batch: 256 batches of 64 KiB were
 * 16 MiB copied out of the ring per dispatch, far past the caches (64 KiB
 * throughput 0.46x a pop at a time; about 1x with the budget cut). */
#define DELIVER_BYTES (256u << 10)

/* Most batches one channel delivers per call (a server's dispatch round)
 * before the other conns' turn. */
#define DELIVER_BATCHES 4

void chan_deliver_setup(struct chan *ch, unsigned batch)
{
	unsigned most, budget = batch * DELIVER_BATCHES;

	ch->dl_for = batch;
	ch->rx_stride = ipcq_stride(ch->rx);
	most = DELIVER_BYTES / ch->rx_stride;
	if (!most)
		most = 1;
	if (batch > most) {
		/* big slots: smaller batches, and as many of them, so that
		 * one round touches at most budget/batch * DELIVER_BYTES */
		budget = budget / batch * most;
		batch = most;
		if (!budget)
			budget = batch;
	}
	ch->dl_batch = batch;
	ch->dl_budget = budget;
}

void chan_fini(struct chan *ch)
{
	ipcq_close(ch->tx);
	ipcq_close(ch->rx);
	ch->tx = ch->rx = NULL;
}

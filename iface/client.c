/* SPDX-License-Identifier: MIT */
/*
 * The client: connect, handshake (HELLO / JOIN / WELCOME or REFUSE), attach
 * to the two rings the server sent, and its own small run loop.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <sodium.h>

#include <memenpsf/fdpass.h>

#include "auth.h"
#include "deadline.h"
#include "iface-private.h"

struct iface_client {
	struct iface_client_config cfg;
	char *path;
	struct chan ch;
	int epfd, wakefd;
	volatile sig_atomic_t stop_req;
	struct evsrc sock_src, data_src, wake_src;
	int armed;
	int in_epoll_sock;
	int reported; /* on_disconnect was called */
	/* dispatch polls an empty ring spin_rounds rounds before arming it
	 * (as the server does; see server.c): */
	unsigned spin_rounds, idle;
	unsigned idle_end; /* arm when idle gets there (chan_stretch) */
	unsigned busy, skip_epoll; /* cost of epoll looks skipped while busy */
	int kicked;                /* wakefd written by us, not drained yet */
	uint32_t elem_size, capacity;
	uint64_t id;
	uint8_t token[WIRE_TOKEN_SIZE]; /* the session token of WELCOME */
	struct auth_key *key; /* during connect only; NULL: no key */
	struct iface_msg *msgs;
	uint32_t *lens;
};

#define DEF_TIMEOUT_MS 5000
#define DEF_BATCH 64
/* as in server.c: epoll is looked at when skipped rounds cost this much */
#define SPIN_EPOLL_EVERY 16384
#define SPIN_EPOLL_MSGS 1
#define MAX_FDS 8 /* WELCOME carries 6; more is the server's error */

static void set_why(struct iface_reason *why, uint32_t code, const char *text)
{
	if (why)
		chan_reason(why, code, text);
}

/* Receive and decode one handshake message. fds[] are the caller's on 0. */
static int hs_recv(int sock, struct wire_msg *m, int *fds, unsigned *nfds,
		   const struct deadline *d, struct iface_reason *why)
{
	unsigned char buf[WIRE_MAX_MSG + 1];
	ssize_t r;

	*nfds = MAX_FDS;
	r = fdpass_recv(sock, buf, sizeof(buf), fds, nfds,
			deadline_left_ms(d));
	if (r == -ETIMEDOUT || r == -EAGAIN) {
		set_why(why, IFACE_R_TIMEOUT, "no answer from the server");
		return -ETIMEDOUT;
	}
	if (r == -EPIPE) {
		set_why(why, IFACE_R_HANGUP,
			"the server hung up during the handshake");
		return -EPIPE;
	}
	if (r < 0) {
		set_why(why, IFACE_R_PROTOCOL, "bad control data from server");
		return -EPROTO;
	}
	r = wire_decode(buf, (size_t)r, *nfds, 0, m);
	if (r == -EPROTONOSUPPORT) {
		char text[IFACE_TEXT_MAX];

		snprintf(text, sizeof(text),
			 "the server speaks protocol version %u, we speak %u",
			 m->version, WIRE_VERSION);
		set_why(why, IFACE_R_VERSION, text);
	} else if (r < 0) {
		set_why(why, IFACE_R_PROTOCOL,
			"malformed handshake message from the server");
	}
	if (r < 0) {
		for (unsigned i = 0; i < *nfds; i++)
			os_close(fds[i]);
		*nfds = 0;
	}
	return (int)r;
}

static int refused(const struct wire_msg *m, struct iface_reason *why)
{
	if (why) {
		why->code = m->u.reason.code;
		memcpy(why->text, m->u.reason.text, sizeof(why->text));
		why->text[sizeof(why->text) - 1] = 0;
	}
	switch (m->u.reason.code) {
	case IFACE_R_CREDENTIALS:
	case IFACE_R_KEY:
		return -EACCES;
	case IFACE_R_MEMORY:
		return -ENOSPC;
	case IFACE_R_BUSY:
		return -EAGAIN;
	default:
		return -ECONNREFUSED;
	}
}

static void close_fds(int *fds, unsigned nfds)
{
	for (unsigned i = 0; i < nfds; i++)
		os_close(fds[i]);
}

/* Our key is refused for the reason text: tell the server, return -EACCES
 * (or r when the failure was not the key's but ours). */
static int key_refused(struct iface_client *c, const char *text, int r,
		       struct iface_reason *why)
{
	uint32_t code = r == -EACCES ? IFACE_R_KEY : IFACE_R_RESOURCE;

	set_why(why, code, text);
	chan_send_reason(c->ch.sock, WIRE_BYE, code, text);
	return r;
}

static int typed(const uint8_t *id)
{
	for (int i = 0; i < IPCQ_TYPE_ID_SIZE; i++)
		if (id[i])
			return 1;
	return 0;
}

/* Attach both rings from WELCOME's six fds (always consumed). */
static int attach(struct iface_client *c, int fds[2 * IPCQ_NFDS],
		  const struct wire_welcome *w, struct iface_reason *why)
{
	struct ipcq_expect e = { .elem_size = w->elem_size };
	int r;

	/* the rings must hold what we demanded, whatever WELCOME claims */
	if (typed(c->cfg.type_id))
		e.type_id = c->cfg.type_id;
	else if (w->flags & WIRE_WELCOME_TYPED)
		e.type_id = w->type_id;
	r = ipcq_attach(&c->ch.tx, fds, IPCQ_PRODUCER, &e);
	if (r < 0) {
		for (int i = IPCQ_NFDS; i < 2 * IPCQ_NFDS; i++)
			os_close(fds[i]);
		goto err;
	}
	r = ipcq_attach(&c->ch.rx, fds + IPCQ_NFDS, IPCQ_CONSUMER, &e);
	if (r < 0)
		goto err;
	if (ipcq_capacity(c->ch.tx) != w->capacity_c2s ||
	    ipcq_capacity(c->ch.rx) != w->capacity_s2c ||
	    ipcq_capacity(c->ch.tx) < c->cfg.min_capacity ||
	    ipcq_capacity(c->ch.rx) < c->cfg.min_capacity) {
		r = -EPROTO;
		goto err;
	}
	return 0;
err:
	set_why(why, IFACE_R_PROTOCOL, "the server's rings are not usable");
	return r == -ENOMEM || r == -EMFILE || r == -ENFILE ? r : -EPROTO;
}

static int handshake(struct iface_client *c, const struct deadline *d,
		     struct iface_reason *why)
{
	const struct iface_client_config *cfg = &c->cfg;
	unsigned char buf[WIRE_MAX_MSG];
	uint8_t sn[WIRE_NONCE_SIZE];
	struct auth_transcript t;
	int fds[MAX_FDS];
	struct wire_join j = { 0 };
	struct wire_msg m;
	unsigned nfds;
	int r, n;

	r = hs_recv(c->ch.sock, &m, fds, &nfds, d, why);
	if (r == -EPROTONOSUPPORT)
		chan_send_reason(c->ch.sock, WIRE_BYE, IFACE_R_VERSION,
				 why ? why->text : "protocol version");
	if (r < 0)
		return r;
	if (m.type == WIRE_REFUSE)
		return refused(&m, why);
	if (m.type != WIRE_HELLO) {
		set_why(why, IFACE_R_PROTOCOL, "HELLO expected from the server");
		return -EPROTO;
	}
	/* unknown feature bits are informative in v1. KEY without a key of
	 * ours: JOIN without a proof, and the server's REFUSE (IFACE_R_KEY)
	 * says why, to us and in the server's log. */
	if (c->key && !(m.u.hello.features & WIRE_FEAT_KEY))
		return key_refused(c,
				   "key refused: the server asks for no key, "
				   "so it cannot prove ours",
				   -EACCES, why);

	j.elem_size = cfg->elem_size;
	j.min_capacity = cfg->min_capacity;
	if (typed(cfg->type_id)) {
		j.flags |= WIRE_JOIN_TYPED;
		memcpy(j.type_id, cfg->type_id, IPCQ_TYPE_ID_SIZE);
	}
	r = auth_random(j.nonce, sizeof(j.nonce));
	if (r < 0)
		return r;
	if (c->key) {
		memcpy(sn, m.u.hello.nonce, sizeof(sn));
		r = proof_start(&t, &m.u.hello);
		if (r == 0)
			r = proof_join(c->key, &t, sn, &j, 1);
		if (r < 0)
			return key_refused(c, "could not make our proof", r,
					   why);
	}
	n = wire_encode_join(buf, sizeof(buf), &j);
	if (n < 0)
		return -EINVAL;
	r = (int)fdpass_send(c->ch.sock, buf, (size_t)n, NULL, 0,
			     deadline_left_ms(d));
	if (r < 0) {
		set_why(why, IFACE_R_HANGUP, "the server hung up");
		return r == -EAGAIN ? -ETIMEDOUT : r;
	}

	r = hs_recv(c->ch.sock, &m, fds, &nfds, d, why);
	if (r < 0)
		return r;
	if (m.type == WIRE_REFUSE)
		return refused(&m, why);
	if (m.type != WIRE_WELCOME) {
		close_fds(fds, nfds);
		set_why(why, IFACE_R_PROTOCOL,
			"WELCOME expected from the server");
		return -EPROTO;
	}
	/* wire_decode checked nfds == 6. The server proves the key before
	 * its rings are looked at. */
	if (c->key) {
		r = proof_welcome(c->key, &t, sn, j.nonce, &m.u.welcome, 0);
		if (r < 0) {
			close_fds(fds, nfds);
			return key_refused(c,
					   r == -EACCES
						   ? "key refused: the server's "
						     "proof is wrong or missing"
						   : "could not check the "
						     "server's proof",
					   r, why);
		}
	}
	if (cfg->elem_size && m.u.welcome.elem_size != cfg->elem_size) {
		for (unsigned i = 0; i < nfds; i++)
			os_close(fds[i]);
		set_why(why, IFACE_R_SIZE, "the server changed the size");
		return -EPROTO;
	}
	r = attach(c, fds, &m.u.welcome, why);
	if (r < 0)
		return r;
	c->elem_size = m.u.welcome.elem_size;
	c->capacity = m.u.welcome.capacity_s2c;
	c->id = m.u.welcome.conn_id;
	memcpy(c->token, m.u.welcome.session_token, sizeof(c->token));
	return 0;
}

int iface_client_connect(struct iface_client **out,
			 const struct iface_client_config *cfg,
			 struct iface_reason *why)
{
	struct iface_client *c;
	struct deadline d;
	int r;

	if (why)
		chan_reason(why, IFACE_R_NONE, "");
	if (!out)
		return -EINVAL;
	*out = NULL;
	r = auth_init();
	if (r < 0)
		return r;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->ch.sock = c->epfd = c->wakefd = -1;
	if (cfg)
		c->cfg = *cfg;
	if (!c->cfg.timeout_ms)
		c->cfg.timeout_ms = DEF_TIMEOUT_MS;
	if (!c->cfg.batch)
		c->cfg.batch = DEF_BATCH;
	r = -EINVAL;
	if (c->cfg.elem_size > IPCQ_MAX_ELEM_SIZE ||
	    c->cfg.min_capacity > IPCQ_MAX_CAPACITY || c->cfg.batch > 65536 ||
	    (c->cfg.full_policy != IFACE_FULL_EAGAIN &&
	     c->cfg.full_policy != IFACE_FULL_DROP))
		goto err;
	r = proof_key(&c->key, c->cfg.key, c->cfg.key_len, c->cfg.key_file);
	/* the caller's key and file name are not kept */
	c->cfg.key = NULL;
	c->cfg.key_len = 0;
	c->cfg.key_file = NULL;
	if (r < 0)
		goto err;
	c->ch.policy = c->cfg.full_policy;
	c->ch.check_peer = 1;
	r = path_resolve(&c->path, c->cfg.path, c->cfg.name, 0);
	if (r < 0)
		goto err;
	c->cfg.path = c->path;
	c->cfg.name = NULL;
	c->msgs = calloc(c->cfg.batch, sizeof(*c->msgs));
	c->lens = calloc(c->cfg.batch, sizeof(*c->lens));
	r = -ENOMEM;
	if (!c->msgs || !c->lens)
		goto err;

	deadline_start(&d, c->cfg.timeout_ms);
	r = fdpass_connect(c->path, SOCK_SEQPACKET, deadline_left_ms(&d));
	if (r < 0)
		goto err;
	c->ch.sock = r;
	r = handshake(c, &d, why);
	/* the key is needed for the handshake only (resume is not there) */
	auth_key_free(c->key);
	c->key = NULL;
	if (r < 0)
		goto err;
	ipcq_set_peer_fd(c->ch.tx, c->ch.sock);
	ipcq_set_peer_fd(c->ch.rx, c->ch.sock);
	c->spin_rounds = c->cfg.spin < 0 ? 0 : !c->cfg.spin ? IFACE_DEFAULT_SPIN
							  : (unsigned)c->cfg.spin;
	c->idle_end = c->spin_rounds;
	if (c->cfg.spin) {
		ipcq_set_spin(c->ch.tx, c->spin_rounds);
		ipcq_set_spin(c->ch.rx, c->spin_rounds);
	}

	r = c->epfd = os_epoll_create();
	if (r < 0)
		goto err;
	r = c->wakefd = os_eventfd();
	if (r < 0)
		goto err;
	c->sock_src.kind = EV_SOCK;
	c->data_src.kind = EV_DATA;
	c->wake_src.kind = EV_WAKE;
	c->sock_src.obj = c->data_src.obj = c->wake_src.obj = c;
	r = os_epoll_add(c->epfd, c->ch.sock, EPOLLIN | EPOLLRDHUP,
			 &c->sock_src);
	if (r == 0)
		r = os_epoll_add(c->epfd, ipcq_fd(c->ch.rx), EPOLLIN,
				 &c->data_src);
	if (r == 0)
		r = os_epoll_add(c->epfd, c->wakefd, EPOLLIN, &c->wake_src);
	if (r < 0)
		goto err;
	c->in_epoll_sock = 1;
	/* make the fd readable once, so that a caller's loop dispatches
	 * (and arms the ring) before it first sleeps */
	os_efd_kick(c->wakefd);
	*out = c;
	return 0;
err:
	auth_key_free(c->key);
	chan_fini(&c->ch);
	os_close(c->ch.sock);
	os_close(c->epfd);
	os_close(c->wakefd);
	free(c->msgs);
	free(c->lens);
	free(c->path);
	free(c);
	return r;
}

void iface_client_close(struct iface_client *c)
{
	if (!c)
		return;
	if (!c->ch.dead)
		chan_send_reason(c->ch.sock, WIRE_BYE, IFACE_R_CLOSED,
				 "the client closed the channel");
	if (c->armed)
		ipcq_disarm(c->ch.rx);
	chan_fini(&c->ch);
	os_close(c->ch.sock);
	os_close(c->epfd);
	os_close(c->wakefd);
	free(c->msgs);
	free(c->lens);
	free(c->path);
	free(c);
}

/* ---- run loop ----------------------------------------------------------- */

static void client_deliver_cb(void *ctx, const struct iface_msg *msgs,
			      unsigned n)
{
	struct iface_client *c = ctx;

	c->cfg.cb.on_message(c, msgs, n, c->cfg.user);
}

static void peer_gone(struct iface_client *c)
{
	if (c->armed) {
		ipcq_disarm(c->ch.rx);
		c->armed = 0;
	}
	if (c->in_epoll_sock) {
		os_epoll_del(c->epfd, c->ch.sock);
		c->in_epoll_sock = 0;
	}
}

/* One round: wait at most timeout_ms (not at all when the ring was not
 * armed yet), handle what came, deliver. 0 when it found nothing. */
static int dispatch_once(struct iface_client *c, int timeout_ms)
{
	struct epoll_event ev[4];
	int handled = 0, pending = 0, polling = 0, n = 0, r, t = timeout_ms;
	int ready = 0;
	unsigned batch;

	if (c->stop_req) {
		c->stop_req = 0;
		os_efd_drain(c->wakefd);
		c->kicked = 0;
		return -ECANCELED;
	}
	if (c->reported)
		return -EPIPE;
	if (c->armed && timeout_ms == 0 && ipcq_count(c->ch.rx)) {
		/* the armed ring has work: take it now, without waiting for
		 * epoll to report the doorbell */
		ipcq_disarm(c->ch.rx);
		c->armed = 0;
		ready = 1;
	}
	if ((!c->armed && c->cfg.cb.on_message) || c->ch.dead)
		t = 0;
	if (t == 0 && (c->busy || ready) && !c->ch.dead &&
	    (c->skip_epoll += c->busy ? c->busy : 1) < SPIN_EPOLL_EVERY) {
		n = 0; /* the ring keeps us busy: epoll can wait a few rounds */
	} else {
		c->skip_epoll = 0;
		n = os_epoll_wait(c->epfd, ev, 4, t);
		if (n < 0)
			return n;
	}
	for (int i = 0; i < n; i++) {
		struct evsrc *src = ev[i].data.ptr;

		switch (src->kind) {
		case EV_SOCK:
			chan_read_control(&c->ch, MAX_FDS);
			if (!c->ch.dead &&
			    (ev[i].events & (EPOLLHUP | EPOLLRDHUP | EPOLLERR))) {
				chan_reason(&c->ch.why, IFACE_R_HANGUP,
					    "the server hung up without a "
					    "goodbye");
				c->ch.dead = 1;
			}
			break;
		case EV_DATA:
			if (!chan_doorbell(&c->ch, &c->armed))
				continue; /* not a wake-up: not work */
			break;
		default:
			os_efd_drain(c->wakefd);
			c->kicked = 0;
			continue; /* our own kick or stop(): not work */
		}
		handled++;
	}
	if (c->ch.dead)
		peer_gone(c);

	batch = c->cfg.batch;
	if (c->cfg.cb.on_message && !c->armed) {
		r = chan_deliver(&c->ch, batch, c->msgs, c->lens,
				 client_deliver_cb, c);
		if (r == -EBADMSG) {
			chan_reason(&c->ch.why, IFACE_R_CORRUPT,
				    "the server corrupted its ring");
			if (!c->ch.dead)
				chan_send_reason(c->ch.sock, WIRE_BYE,
						 IFACE_R_CORRUPT,
						 "ring corrupted");
			c->ch.dead = 1;
			peer_gone(c);
			r = -EAGAIN;
			/* nothing more can be read safely: report now */
			c->ch.closing = 1;
		}
		if (r <= 0 && !c->ch.dead)
			c->idle_end = chan_stretch(&c->ch, c->idle, c->idle_end,
						   c->spin_rounds);
		if (r > 0) {
			handled += r;
			pending = 1;
			c->idle = 0;
			c->idle_end = c->spin_rounds;
		} else if (!c->ch.dead && c->idle < c->idle_end) {
			c->idle++; /* poll the ring again next round */
			polling = 1;
		} else if (!c->ch.dead) {
			c->idle = 0;
			c->idle_end = c->spin_rounds;
			/* -EALREADY or an error the ring keeps (-EBADMSG):
			 * the next round's deliver takes or reports it */
			if (ipcq_arm(c->ch.rx) == 0)
				c->armed = 1;
			else
				pending = 1;
		}
	}
	if (c->ch.dead && !pending &&
	    (!c->cfg.cb.on_message || c->ch.closing ||
	     ipcq_count(c->ch.rx) == 0)) {
		c->reported = 1;
		if (c->cfg.cb.on_disconnect)
			c->cfg.cb.on_disconnect(c, &c->ch.why, c->cfg.user);
		return -EPIPE;
	}
	c->busy = !(pending || polling) ? 0
					: 1 + (unsigned)handled / SPIN_EPOLL_MSGS;
	if (c->busy && !c->kicked) {
		os_efd_kick(c->wakefd); /* keep iface_client_fd() readable */
		c->kicked = 1;
	}
	if (c->stop_req) {
		c->stop_req = 0;
		return -ECANCELED;
	}
	return handled;
}

int iface_client_dispatch(struct iface_client *c, int timeout_ms)
{
	struct deadline d;

	if (!c)
		return -EINVAL;
	if (timeout_ms == 0)
		return dispatch_once(c, 0);
	deadline_start(&d, timeout_ms);
	for (unsigned rounds = 0;;) {
		/* a round that only armed the ring did not wait: go on until
		 * work, the server's end, or the time-out */
		int r = dispatch_once(c, timeout_ms);

		if (r != 0)
			return r;
		timeout_ms = dispatch_next(&d, c->busy, &rounds, timeout_ms);
		if (timeout_ms == 0)
			return 0;
	}
}

int iface_client_run(struct iface_client *c)
{
	for (;;) {
		int r = iface_client_dispatch(c, -1);

		if (r == -ECANCELED)
			return 0;
		if (r < 0)
			return r;
	}
}

void iface_client_stop(struct iface_client *c)
{
	c->stop_req = 1;
	os_efd_kick(c->wakefd);
}

int iface_client_fd(const struct iface_client *c)
{
	return c->epfd;
}

/* ---- data ------------------------------------------------------------------ */

int iface_client_send(struct iface_client *c, const void *buf, size_t len)
{
	return chan_send(&c->ch, buf, len);
}

int iface_client_send_wait(struct iface_client *c, const void *buf,
			   size_t len, int timeout_ms)
{
	return chan_send_wait(&c->ch, buf, len, timeout_ms);
}

int iface_client_send_n(struct iface_client *c, const void *elems, unsigned n)
{
	return chan_send_n(&c->ch, elems, n);
}

int iface_client_reserve(struct iface_client *c, unsigned want, void **first)
{
	return chan_reserve(&c->ch, want, first);
}

int iface_client_commit(struct iface_client *c, unsigned n)
{
	return chan_commit(&c->ch, n);
}

ssize_t iface_client_recv(struct iface_client *c, void *buf, size_t cap)
{
	return chan_recv(&c->ch, buf, cap);
}

ssize_t iface_client_recv_wait(struct iface_client *c, void *buf, size_t cap,
			       int timeout_ms)
{
	return chan_recv_wait(&c->ch, buf, cap, timeout_ms);
}

int iface_client_recv_n(struct iface_client *c, void *elems, unsigned n)
{
	return chan_recv_n(&c->ch, elems, n);
}

int iface_client_peek(struct iface_client *c, unsigned want,
		      const void **first, uint32_t *lens)
{
	return chan_peek(&c->ch, want, first, lens);
}

int iface_client_release(struct iface_client *c, unsigned n)
{
	return chan_release(&c->ch, n);
}

int iface_client_wait(struct iface_client *c, int timeout_ms)
{
	return chan_wait(&c->ch, timeout_ms);
}

int iface_client_wait_send(struct iface_client *c, int timeout_ms)
{
	return chan_wait_send(&c->ch, timeout_ms);
}

/* ---- state ----------------------------------------------------------------- */

uint32_t iface_client_elem_size(const struct iface_client *c)
{
	return c->elem_size;
}

uint32_t iface_client_capacity(const struct iface_client *c)
{
	return c->capacity;
}

uint32_t iface_client_stride(const struct iface_client *c)
{
	return ipcq_stride(c->ch.tx);
}

uint64_t iface_client_id(const struct iface_client *c)
{
	return c->id;
}

void iface_client_token(const struct iface_client *c,
			uint8_t out[IFACE_TOKEN_SIZE])
{
	memcpy(out, c->token, IFACE_TOKEN_SIZE);
}

void iface_client_stats(const struct iface_client *c, struct iface_stats *out)
{
	*out = c->ch.st;
}

void iface_client_reason(const struct iface_client *c,
			 struct iface_reason *out)
{
	if (c->ch.dead)
		*out = c->ch.why;
	else
		chan_reason(out, IFACE_R_NONE, "");
}

/* SPDX-License-Identifier: MIT */
/*
 * The server: a listening socket, a table of connections, the handshake of
 * each, and the run loop over one epoll set.
 *
 * A conn goes HANDSHAKE (HELLO sent, waiting for JOIN, with a deadline) ->
 * OPEN (WELCOME sent, rings shared) -> DRAINING (the client hung up or said
 * BYE: its ring is read to the end first) -> DEAD (on the reap list; freed at
 * the end of the dispatch, after on_disconnect). Freeing only at the end of
 * a dispatch keeps every pointer in the current epoll batch valid and makes
 * closing a conn from inside a callback safe.
 *
 * Waking: an OPEN conn whose incoming ring is empty is "armed" (ipcq_arm: the
 * client rings its data doorbell only then). When the doorbell fires, the conn
 * is disarmed and read in batches until empty, then armed again. The loop
 * sleeps in epoll_wait only when no conn is disarmed with work left.
 *
 * Spinning (cfg.spin): a conn whose ring ran empty is polled for cfg.spin
 * more dispatch rounds before it is armed, so a busy client never pays for
 * a doorbell. While some conn is polled the loop does not sleep and
 * iface_server_fd() stays readable (the wake eventfd is kicked once), and
 * epoll is looked at only now and then (SPIN_EPOLL_EVERY): a round is then
 * a pass over the rings without a system call. New clients and hang-ups
 * wait at most 16k cheap rounds or about 16k delivered messages (a few
 * hundred microseconds).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <sodium.h>

#include <memenpsf/fdpass.h>

#include "auth.h"
#include "compiler.h"
#include "deadline.h"
#include "iface-private.h"

enum conn_state { C_HANDSHAKE = 1, C_OPEN, C_DRAINING, C_DEAD };

struct iface_conn {
	struct iface_server *srv;
	struct iface_conn *prev, *next; /* srv->conns */
	struct iface_conn *reap_next;
	enum conn_state state;
	int sock;
	struct evsrc sock_src, data_src;
	int in_epoll_sock, in_epoll_data;
	int armed;
	unsigned idle; /* rounds its ring was found empty, not armed yet */
	unsigned idle_end; /* arm when idle gets there: cfg.spin, stretched
			    * while the client is flagged asleep */
	int announced; /* on_connect accepted it: on_disconnect is owed */
	int told;      /* no on_message: its messages were reported, and the
			* application has not found its ring empty since */
	int refused;   /* REFUSE sent: on_refused is owed */
	uint64_t shm;  /* bytes of shared memory its rings take */
	int64_t deadline_ns;
	struct fdpass_cred cred;
	uint64_t id;
	void *user;
	struct wire_hello hello; /* as sent: the transcript starts with it */
	uint8_t token[WIRE_TOKEN_SIZE]; /* the session token of WELCOME */
	struct chan ch;
};

struct iface_server {
	struct iface_server_config cfg;
	char *path;
	struct fdpass_listener *lst;
	int epfd, wakefd;
	volatile sig_atomic_t stop_req;
	struct evsrc lst_src, wake_src;
	struct iface_conn *conns;
	struct iface_conn *reap;
	unsigned nconns; /* handshaking + open + draining */
	unsigned nopen;  /* announced and not yet dead */
	unsigned npending; /* in C_HANDSHAKE */
	unsigned narmed;   /* conns whose ring is armed (conn_unarm) */
	uint64_t shm;      /* bytes of all conns' rings */
	uint64_t pair_shm; /* bytes of one conn's two rings */
	uid_t uid;         /* ours: the default policy */
	int lst_paused;    /* listener out of epoll: max_pending reached,
			    * or no descriptor left for accept */
	int64_t lst_retry_ns; /* no descriptor left: accept again then */
	uint64_t next_id;
	struct iface_msg *msgs;
	uint32_t *lens;
	unsigned skip_epoll; /* cost of the epoll looks skipped while busy */
	unsigned busy;       /* the last round left work or polled rings:
			      * what skipping epoll next round costs */
	int kicked;          /* wakefd written by us and not drained yet */
	uid_t *allow_uids; /* copies of the config's lists */
	gid_t *allow_gids;
	struct auth_key *key; /* NULL: no key asked for */
};

#define DEF_ELEM_SIZE 256
#define DEF_CAPACITY 1024
#define DEF_MAX_CLIENTS 64
#define DEF_HANDSHAKE_MS 2000
#define DEF_MAX_FDS 8
#define DEF_BATCH 64
#define DEF_MAX_PENDING 16
#define DEF_MAX_CLIENT_SHM (256ull << 20)
#define DEF_MAX_SHM (1ull << 30)
#define MAX_EVENTS 64
#define ACCEPT_BURST 16
/* After accept found no descriptor (EMFILE, ENFILE) or no memory: the
 * listener stays readable, so it leaves the epoll set for this long or
 * until a conn of ours closes, instead of making the loop spin. */
#define ACCEPT_RETRY_MS 100
/* While the rings keep the loop busy, epoll is looked at once the skipped
 * rounds add up to SPIN_EPOLL_EVERY: a round adds 1 plus one per
 * SPIN_EPOLL_MSGS messages it delivered, so a loop of cheap rounds (a
 * ping-pong message each, or an empty ring polled) looks every 16k rounds
 * and a loop of heavy ones (many clients, full batches) every round or so.
 * An epoll_wait costs about a microsecond, and each look also drains and
 * rewrites the wake eventfd: a cheap round is 10-30 ns, so looking every
 * 1024 rounds kept a spinning server in the kernel 5-20% of the time, and
 * a message that came meanwhile waited for it. */
#define SPIN_EPOLL_EVERY 16384
#define SPIN_EPOLL_MSGS 1

/* ---- small helpers ------------------------------------------------------- */

static int is_pow2(uint32_t v)
{
	return v && !(v & (v - 1));
}

static int typed(const uint8_t *id)
{
	for (int i = 0; i < IPCQ_TYPE_ID_SIZE; i++)
		if (id[i])
			return 1;
	return 0;
}

static void conn_deliver_cb(void *ctx, const struct iface_msg *msgs,
			    unsigned n)
{
	struct iface_conn *c = ctx;
	struct iface_server *s = c->srv;

	s->cfg.cb.on_message(c, msgs, n, s->cfg.user);
}

/* Disarm c's ring if it is armed (the client rings the doorbell only
 * then). s->narmed counts the armed ones: a dispatch(0) while none is
 * armed and none handshakes skips the pass that looks at each conn. */
static void conn_unarm(struct iface_conn *c)
{
	if (c->armed) {
		ipcq_disarm(c->ch.rx);
		c->armed = 0;
		c->srv->narmed--;
	}
}

/* Move c to the reap list: out of epoll, no longer counted. The socket is
 * closed and on_disconnect called at the end of the dispatch. */
static void conn_kill(struct iface_conn *c, uint32_t code, const char *text)
{
	struct iface_server *s = c->srv;

	if (c->state == C_DEAD)
		return;
	if (c->in_epoll_sock)
		os_epoll_del(s->epfd, c->sock);
	if (c->in_epoll_data)
		os_epoll_del(s->epfd, ipcq_fd(c->ch.rx));
	c->in_epoll_sock = c->in_epoll_data = 0;
	conn_unarm(c);
	if (!c->ch.dead || c->ch.why.code == IFACE_R_NONE)
		chan_reason(&c->ch.why, code, text);
	c->ch.dead = 1;
	c->ch.closing = 1;
	if (c->state == C_HANDSHAKE)
		s->npending--;
	c->state = C_DEAD;
	s->nconns--;
	c->reap_next = s->reap;
	s->reap = c;
}

/* Refuse a conn still in its handshake: REFUSE then close. */
static void conn_refuse(struct iface_conn *c, uint32_t code, const char *text)
{
	chan_send_reason(c->sock, WIRE_REFUSE, code, text);
	if (c->state != C_DEAD)
		c->refused = 1;
	conn_kill(c, code, text);
}

/* The credential policy: 0 when the peer may go on, -EACCES otherwise.
 * Default: our own uid only; the lists replace that; allow_any_uid drops
 * it; check_peer comes after. */
static int cred_allowed(const struct iface_server *s, int known,
			const struct iface_cred *cr)
{
	const struct iface_server_config *cfg = &s->cfg;
	int listed = cfg->n_allow_uids || cfg->n_allow_gids, ok = 0;

	if (cfg->allow_any_uid && !cfg->cb.check_peer)
		return 0;
	if (!known)
		return -EACCES; /* a policy, but nothing to check it on */
	if (cfg->allow_any_uid)
		ok = 1;
	else if (!listed)
		ok = cr->uid == s->uid;
	for (unsigned i = 0; !ok && i < cfg->n_allow_uids; i++)
		ok = s->allow_uids[i] == cr->uid;
	for (unsigned i = 0; !ok && i < cfg->n_allow_gids; i++)
		ok = s->allow_gids[i] == cr->gid;
	if (!ok)
		return -EACCES;
	if (cfg->cb.check_peer && cfg->cb.check_peer(cr, cfg->user) != 0)
		return -EACCES;
	return 0;
}

/* Refuse a socket that has no conn (nothing was allocated for it): REFUSE,
 * close, tell on_refused at once. */
static void sock_refuse(struct iface_server *s, int sock,
			const struct iface_cred *cr, uint32_t code,
			const char *text)
{
	struct iface_reason why;

	chan_send_reason(sock, WIRE_REFUSE, code, text);
	os_close(sock);
	if (s->cfg.cb.on_refused) {
		chan_reason(&why, code, text);
		s->cfg.cb.on_refused(cr, &why, s->cfg.user);
	}
}

/* Pending handshakes of pid's process, and its oldest pending conn
 * (s->conns is newest first). */
static unsigned pending_of(const struct iface_server *s, pid_t pid,
			   struct iface_conn **oldest)
{
	unsigned n = 0;

	for (struct iface_conn *c = s->conns; c; c = c->next)
		if (c->state == C_HANDSHAKE && c->cred.pid == pid) {
			n++;
			*oldest = c;
		}
	return n;
}

/*
 * At max_pending, the conn to drop for a newcomer: the oldest pending conn
 * of the process with the most pending ones, when that is at least two
 * (conn_new refuses the newcomer itself instead when its own process has
 * as many, counting it). NULL when every pending conn is another
 * process's: then nobody is dropped and the listener waits (accepting
 * resumes as soon as a pending conn finishes or times out; newcomers wait
 * in the kernel's backlog, in order). So one process that floods the
 * socket only ever loses its own connections, and an honest client, one
 * connection per process, is never dropped for another's sake while it
 * is handshaking.
 */
static struct iface_conn *pending_victim(const struct iface_server *s)
{
	struct iface_conn *victim = NULL;
	unsigned best = 1;

	for (struct iface_conn *c = s->conns; c; c = c->next) {
		struct iface_conn *old = NULL;
		unsigned n;

		if (c->state != C_HANDSHAKE)
			continue;
		n = pending_of(s, c->cred.pid, &old);
		if (n > best) {
			best = n;
			victim = old;
		}
	}
	return victim;
}

/* The listener leaves / rejoins the epoll set: it is out while max_pending
 * handshakes are pending and none can be dropped for a newcomer. */
static void listen_pause(struct iface_server *s, int pause)
{
	if (pause == s->lst_paused)
		return;
	if (pause)
		os_epoll_del(s->epfd, fdpass_listener_fd(s->lst));
	else if (os_epoll_add(s->epfd, fdpass_listener_fd(s->lst), EPOLLIN,
			      &s->lst_src) < 0)
		return; /* still paused: tried again after the next dispatch */
	s->lst_paused = pause;
}

static void conn_free(struct iface_conn *c)
{
	struct iface_server *s = c->srv;

	if (c->prev)
		c->prev->next = c->next;
	else
		s->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	s->shm -= c->shm;
	if (s->lst_retry_ns)
		s->lst_retry_ns = 1; /* descriptors come free: accept again */
	chan_fini(&c->ch);
	os_close(c->sock);
	free(c);
}

/* End of a dispatch: tell the user, then free. Returns how many. */
static int reap(struct iface_server *s)
{
	int n = 0;

	while (s->reap) {
		struct iface_conn *c = s->reap;

		s->reap = c->reap_next;
		if (c->announced) {
			s->nopen--;
			if (s->cfg.cb.on_disconnect)
				s->cfg.cb.on_disconnect(c, &c->ch.why,
							s->cfg.user);
		} else if (c->refused && s->cfg.cb.on_refused) {
			struct iface_cred cr = { .pid = c->cred.pid,
						 .uid = c->cred.uid,
						 .gid = c->cred.gid };

			s->cfg.cb.on_refused(&cr, &c->ch.why, s->cfg.user);
		}
		conn_free(c);
		n++;
	}
	return n;
}

/* ---- accepting and the handshake ------------------------------------------ */

static void conn_new(struct iface_server *s, int sock)
{
	unsigned char buf[WIRE_MAX_MSG];
	struct wire_hello h = { 0 };
	struct fdpass_cred fc = { 0 };
	struct iface_cred cr = { 0 };
	char text[IFACE_TEXT_MAX];
	struct iface_conn *c;
	int n, known;

	/* the credentials first, before anything is allocated or sent */
	known = fdpass_peer_cred(sock, &fc) == 0;
	if (known) {
		cr.pid = fc.pid;
		cr.uid = fc.uid;
		cr.gid = fc.gid;
	}
	if (cred_allowed(s, known, &cr) < 0) {
		if (known)
			snprintf(text, sizeof(text),
				 "uid %u gid %u may not use this server",
				 (unsigned)cr.uid, (unsigned)cr.gid);
		else
			snprintf(text, sizeof(text),
				 "the client's credentials are unknown");
		sock_refuse(s, sock, &cr, IFACE_R_CREDENTIALS, text);
		return;
	}
	if (s->nconns - s->npending >= s->cfg.max_clients) {
		snprintf(text, sizeof(text), "server full (%u clients)",
			 s->cfg.max_clients);
		sock_refuse(s, sock, &cr, IFACE_R_FULL, text);
		return;
	}
	if (s->npending >= s->cfg.max_pending) {
		/* accept_some looked: some process has two or more pending */
		struct iface_conn *v = pending_victim(s), *o = NULL;
		unsigned most = v ? pending_of(s, v->cred.pid, &o) : 0;

		snprintf(text, sizeof(text),
			 "too many handshakes pending (%u) from pid %ld",
			 s->cfg.max_pending, (long)cr.pid);
		if (pending_of(s, cr.pid, &o) + 1 >= most) {
			/* the newcomer's process has the most: refuse the
			 * newcomer itself, before it costs anything more */
			sock_refuse(s, sock, &cr, IFACE_R_BUSY, text);
			return;
		}
		snprintf(text, sizeof(text),
			 "too many handshakes pending (%u) from pid %ld",
			 s->cfg.max_pending, (long)v->cred.pid);
		conn_refuse(v, IFACE_R_BUSY, text);
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		sock_refuse(s, sock, &cr, IFACE_R_RESOURCE,
			    "server out of memory");
		return;
	}
	c->srv = s;
	c->idle_end = (unsigned)s->cfg.spin;
	c->cred = fc;
	c->sock = sock;
	c->ch.sock = sock;
	c->ch.policy = s->cfg.full_policy;
	c->state = C_HANDSHAKE;
	c->sock_src.kind = EV_SOCK;
	c->sock_src.obj = c;
	c->data_src.kind = EV_DATA;
	c->data_src.obj = c;
	c->next = s->conns;
	if (s->conns)
		s->conns->prev = c;
	s->conns = c;
	s->nconns++;
	s->npending++;
	c->deadline_ns = mono_ns() +
			 (int64_t)s->cfg.handshake_timeout_ms * 1000000;
	if (os_epoll_add(s->epfd, sock, EPOLLIN | EPOLLRDHUP, &c->sock_src) <
	    0) {
		conn_refuse(c, IFACE_R_RESOURCE, "server out of resources");
		return;
	}
	c->in_epoll_sock = 1;

	h.features = s->key ? WIRE_FEAT_KEY : 0;
	h.max_fds = s->cfg.max_fds;
	h.elem_size = s->cfg.elem_size;
	if (auth_random(h.nonce, sizeof(h.nonce)) < 0) {
		conn_refuse(c, IFACE_R_RESOURCE, "server has no randomness");
		return;
	}
	c->hello = h;
	n = wire_encode_hello(buf, sizeof(buf), &h);
	if (n < 0 || fdpass_send(sock, buf, (size_t)n, NULL, 0, 0) != n)
		conn_kill(c, IFACE_R_HANGUP, "client gone during handshake");
}

/* A keyed server checks the client's proof before anything else of JOIN
 * and before any allocation; t is left holding HELLO and JOIN for the
 * server's own proof. 0 when the client may go on (c refused otherwise). */
static int check_key(struct iface_conn *c, struct wire_join *j,
		     struct auth_transcript *t)
{
	struct iface_server *s = c->srv;
	int r;

	if (!(j->flags & WIRE_JOIN_PROOF)) {
		conn_refuse(c, IFACE_R_KEY,
			    "key refused: this server requires a key");
		return -EACCES;
	}
	/* the server's own challenge sent back: worthless as a nonce */
	if (sodium_memcmp(j->nonce, c->hello.nonce, WIRE_NONCE_SIZE) == 0) {
		conn_refuse(c, IFACE_R_KEY,
			    "key refused: the client sent the server's nonce");
		return -EACCES;
	}
	r = proof_start(t, &c->hello);
	if (r == 0)
		r = proof_join(s->key, t, c->hello.nonce, j, 0);
	if (r == -EACCES) {
		conn_refuse(c, IFACE_R_KEY,
			    "key refused: the client's proof is wrong");
		return r;
	}
	if (r < 0) {
		conn_refuse(c, IFACE_R_RESOURCE,
			    "server could not check the client's proof");
		return r;
	}
	return 0;
}

static void handle_join(struct iface_conn *c, struct wire_join *j)
{
	struct iface_server *s = c->srv;
	struct ipcq_config qc = { 0 };
	unsigned char buf[WIRE_MAX_MSG];
	struct wire_welcome w = { 0 };
	struct auth_transcript t;
	char text[IFACE_TEXT_MAX];
	int fds[2 * IPCQ_NFDS];
	int r, n;

	/* a keyless server ignores a proof it did not ask for: the client
	 * then refuses the WELCOME that proves nothing */
	if (s->key && check_key(c, j, &t) < 0)
		return;
	if (j->elem_size && j->elem_size != s->cfg.elem_size) {
		snprintf(text, sizeof(text),
			 "element size %u asked, the server's is %u",
			 j->elem_size, s->cfg.elem_size);
		conn_refuse(c, IFACE_R_SIZE, text);
		return;
	}
	if ((j->flags & WIRE_JOIN_TYPED) &&
	    memcmp(j->type_id, s->cfg.type_id, IPCQ_TYPE_ID_SIZE) != 0) {
		conn_refuse(c, IFACE_R_TYPE,
			    typed(s->cfg.type_id)
				    ? "element type differs from the server's"
				    : "the server's channel is untyped");
		return;
	}
	if (j->min_capacity > s->cfg.capacity) {
		snprintf(text, sizeof(text),
			 "capacity %u asked, the server's rings hold %u",
			 j->min_capacity, s->cfg.capacity);
		conn_refuse(c, IFACE_R_CAPACITY, text);
		return;
	}

	if (s->nconns - s->npending >= s->cfg.max_clients) {
		snprintf(text, sizeof(text), "server full (%u clients)",
			 s->cfg.max_clients);
		conn_refuse(c, IFACE_R_FULL, text);
		return;
	}
	if (s->shm + s->pair_shm > s->cfg.max_shm) {
		snprintf(text, sizeof(text),
			 "shared memory cap reached (%llu of %llu bytes used, "
			 "%llu more asked)",
			 (unsigned long long)s->shm,
			 (unsigned long long)s->cfg.max_shm,
			 (unsigned long long)s->pair_shm);
		conn_refuse(c, IFACE_R_MEMORY, text);
		return;
	}

	qc.elem_size = s->cfg.elem_size;
	qc.capacity = s->cfg.capacity;
	memcpy(qc.type_id, s->cfg.type_id, IPCQ_TYPE_ID_SIZE);
	c->shm = s->pair_shm; /* counted from here, also on failure */
	s->shm += c->shm;
	r = ipcq_create(&c->ch.rx, &qc, IPCQ_CONSUMER);
	if (r == 0)
		r = ipcq_create(&c->ch.tx, &qc, IPCQ_PRODUCER);
	if (r == 0)
		r = ipcq_export(c->ch.rx, fds);
	if (r == 0)
		r = ipcq_export(c->ch.tx, fds + IPCQ_NFDS);
	if (r < 0) {
		conn_refuse(c, IFACE_R_RESOURCE,
			    "server could not create the rings");
		return;
	}
	ipcq_set_peer_fd(c->ch.rx, c->sock);
	ipcq_set_peer_fd(c->ch.tx, c->sock);
	c->id = ++s->next_id;
	if (auth_random(c->token, sizeof(c->token)) < 0) {
		conn_refuse(c, IFACE_R_RESOURCE, "server has no randomness");
		return;
	}

	/* OPEN already, so that on_connect may send (the client reads it
	 * after WELCOME) or close c (a REFUSE with its reason) */
	c->state = C_OPEN;
	s->npending--;
	if (s->cfg.cb.on_connect &&
	    s->cfg.cb.on_connect(c, s->cfg.user) != 0) {
		if (c->state != C_DEAD)
			conn_refuse(c, IFACE_R_DENIED, "refused by the server");
		return;
	}
	if (c->state == C_DEAD)
		return; /* iface_conn_close() inside on_connect */
	c->announced = 1;
	s->nopen++;

	w.elem_size = qc.elem_size;
	w.capacity_c2s = qc.capacity;
	w.capacity_s2c = qc.capacity;
	w.conn_id = c->id;
	if (typed(qc.type_id)) {
		w.flags |= WIRE_WELCOME_TYPED;
		memcpy(w.type_id, qc.type_id, IPCQ_TYPE_ID_SIZE);
	}
	memcpy(w.session_token, c->token, sizeof(w.session_token));
	if (s->key &&
	    proof_welcome(s->key, &t, c->hello.nonce, j->nonce, &w, 1) < 0) {
		chan_send_reason(c->sock, WIRE_BYE, IFACE_R_RESOURCE,
				 "server could not make its proof");
		conn_kill(c, IFACE_R_RESOURCE,
			  "server could not make its proof");
		return;
	}
	n = wire_encode_welcome(buf, sizeof(buf), &w);
	if (n < 0 ||
	    fdpass_send(c->sock, buf, (size_t)n, fds, 2 * IPCQ_NFDS, 0) != n) {
		conn_kill(c, IFACE_R_HANGUP, "client gone during handshake");
		return;
	}
	/* the client has its doorbell ends: ours need not stay open */
	ipcq_export_done(c->ch.rx);
	ipcq_export_done(c->ch.tx);
	if (os_epoll_add(s->epfd, ipcq_fd(c->ch.rx), EPOLLIN, &c->data_src) <
	    0) {
		chan_send_reason(c->sock, WIRE_BYE, IFACE_R_RESOURCE,
				 "server out of resources");
		conn_kill(c, IFACE_R_RESOURCE, "server out of resources");
		return;
	}
	c->in_epoll_data = 1;
	/* not armed: the delivery pass of this dispatch reads, then arms */
}

/* The client hung up or said BYE: read its ring to the end, then report. */
static void conn_drain_start(struct iface_conn *c)
{
	struct iface_server *s = c->srv;

	if (c->in_epoll_sock) {
		os_epoll_del(s->epfd, c->sock);
		c->in_epoll_sock = 0;
	}
	conn_unarm(c);
	c->told = 0; /* report what it left, once more */
	c->state = C_DRAINING;
}

/* Something on a conn's control socket. */
static void conn_on_sock(struct iface_conn *c, uint32_t events)
{
	struct iface_server *s = c->srv;
	unsigned char buf[WIRE_MAX_MSG + 1];
	int fds[FDPASS_MAX_FDS];

	if (c->state == C_OPEN) {
		chan_read_control(&c->ch, s->cfg.max_fds);
		if (!c->ch.dead &&
		    (events & (EPOLLHUP | EPOLLRDHUP | EPOLLERR))) {
			chan_reason(&c->ch.why, IFACE_R_HANGUP,
				    "the client hung up without a goodbye");
			c->ch.dead = 1;
		}
		if (c->ch.dead) {
			if (c->ch.why.code == IFACE_R_PROTOCOL) {
				chan_send_reason(c->sock, WIRE_BYE,
						 IFACE_R_PROTOCOL,
						 c->ch.why.text);
				conn_kill(c, IFACE_R_PROTOCOL, NULL);
			} else {
				conn_drain_start(c);
			}
		}
		return;
	}
	if (c->state != C_HANDSHAKE)
		return;

	for (;;) {
		unsigned nfds = s->cfg.max_fds;
		struct wire_msg m;
		ssize_t r = fdpass_recv(c->sock, buf, sizeof(buf), fds, &nfds,
					0);
		char text[IFACE_TEXT_MAX];

		if (r == -EAGAIN)
			return;
		if (r == -EPIPE) {
			conn_kill(c, IFACE_R_HANGUP,
				  "client gone during handshake");
			return;
		}
		if (r < 0) {
			conn_refuse(c, IFACE_R_PROTOCOL,
				    r == -EMSGSIZE ? "message too long"
						   : "bad control data");
			return;
		}
		for (unsigned i = 0; i < nfds; i++)
			os_close(fds[i]); /* a client never sends fds */
		r = wire_decode(buf, (size_t)r, nfds, 0, &m);
		if (r == -EPROTONOSUPPORT) {
			snprintf(text, sizeof(text),
				 "protocol version %u not supported, the "
				 "server speaks %u",
				 m.version, WIRE_VERSION);
			conn_refuse(c, IFACE_R_VERSION, text);
			return;
		}
		if (r < 0) {
			conn_refuse(c, IFACE_R_PROTOCOL,
				    "malformed handshake message");
			return;
		}
		if (m.type == WIRE_BYE) {
			conn_kill(c, m.u.reason.code, m.u.reason.text);
			return;
		}
		if (m.type != WIRE_JOIN) {
			conn_refuse(c, IFACE_R_PROTOCOL,
				    "JOIN expected during the handshake");
			return;
		}
		handle_join(c, &m.u.join);
		return;
	}
}

/* ---- dispatch --------------------------------------------------------------- */

static void accept_some(struct iface_server *s)
{
	for (int i = 0; i < ACCEPT_BURST; i++) {
		int fd;

		if (s->npending >= s->cfg.max_pending && !pending_victim(s)) {
			listen_pause(s, 1);
			return;
		}
		fd = fdpass_accept(s->lst, 1, 0);
		if (fd == -EMFILE || fd == -ENFILE || fd == -ENOBUFS ||
		    fd == -ENOMEM) {
			/* the newcomer waits in the backlog meanwhile */
			listen_pause(s, 1);
			s->lst_retry_ns = mono_ns() +
					  ACCEPT_RETRY_MS * (int64_t)1000000;
			return;
		}
		if (fd < 0)
			return; /* -EAGAIN: nobody left; errors: next time */
		conn_new(s, fd);
	}
}

static void expire_handshakes(struct iface_server *s, int64_t now)
{
	char text[IFACE_TEXT_MAX];

	for (struct iface_conn *c = s->conns; c; c = c->next) {
		if (c->state != C_HANDSHAKE || now < c->deadline_ns)
			continue;
		snprintf(text, sizeof(text), "handshake time-out (%d ms)",
			 s->cfg.handshake_timeout_ms);
		conn_refuse(c, IFACE_R_TIMEOUT, text);
	}
}

/* Conns whose rings are to be armed in one round, armed together: one
 * barrier for all (ipcq_arm_n), where each arm would be a system call. */
#define ARM_BATCH 64
struct arm_set {
	struct ipcq *q[ARM_BATCH];
	struct iface_conn *c[ARM_BATCH];
	int res[ARM_BATCH];
	unsigned n;
};

/* Arm the set's rings; a ring that has work meanwhile (-EALREADY) or an
 * error (-EBADMSG, kept by the ring: the next round's deliver reports it and
 * ends the conn) both mean "look again". */
static void arm_flush(struct arm_set *a, int *busy)
{
	unsigned k = 0;

	/* a callback of a later conn may have closed one of them */
	for (unsigned i = 0; i < a->n; i++)
		if (a->c[i]->state != C_DEAD) {
			a->c[k] = a->c[i];
			a->q[k++] = a->q[i];
		}
	a->n = k;
	if (!a->n)
		return;
	if (ipcq_arm_n(a->q, a->n, a->res) < 0) {
		*busy = 1; /* cannot be: every ring is there */
		a->n = 0;
		return;
	}
	for (unsigned i = 0; i < a->n; i++) {
		if (a->res[i] == 0) {
			a->c[i]->armed = 1;
			a->c[i]->srv->narmed++;
		} else
			*busy = 1;
	}
	a->n = 0;
}

/* Deliver what each disarmed conn has; arm the ones that stayed empty for
 * cfg.spin rounds (longer while their client is flagged asleep on the
 * ring: chan_stretch). Returns messages delivered; *busy is set when work
 * is left or a ring is still being polled. */
static inline __attribute__((always_inline)) int
deliver_all(struct iface_server *s, int *busy)
{
	unsigned batch = s->cfg.batch;
	struct arm_set arm;
	int total = 0;

	*busy = 0;
	arm.n = 0;
	for (struct iface_conn *c = s->conns; c; c = c->next) {
		int r;

		if ((c->state != C_OPEN && c->state != C_DRAINING) || c->armed)
			continue;
		if (s->cfg.cb.on_message) {
			r = chan_deliver(&c->ch, batch, s->msgs, s->lens,
					 conn_deliver_cb, c);
		} else if (c->told) {
			/* the application reads it: reported once, not again
			 * until it found the ring empty (so one that does
			 * not read does not make the loop spin); a gone
			 * client's conn ends at the dispatch after its
			 * report, read to the end or not */
			if (c->state == C_DRAINING)
				conn_kill(c, c->ch.why.code, NULL);
			continue;
		} else {
			r = ipcq_count(c->ch.rx) ? 1 : -EAGAIN;
			c->told = r > 0;
		}
		if (r == -EBADMSG) {
			chan_send_reason(c->sock, WIRE_BYE, IFACE_R_CORRUPT,
					 "ring corrupted");
			conn_kill(c, IFACE_R_CORRUPT,
				  "the client corrupted its ring");
			continue;
		}
		if (c->state == C_DEAD)
			continue; /* closed by the callback */
		if (r > 0) {
			total += r;
			*busy |= !c->told;
			c->idle = 0;
			c->idle_end = (unsigned)s->cfg.spin;
			continue;
		}
		/* empty: a draining conn is done */
		if (c->state == C_DRAINING) {
			conn_kill(c, c->ch.why.code, NULL);
			continue;
		}
		c->idle_end = chan_stretch(&c->ch, c->idle, c->idle_end,
					   (unsigned)s->cfg.spin);
		if (c->idle < c->idle_end) {
			c->idle++; /* poll it again next round */
			*busy = 1;
			continue;
		}
		c->idle = 0;
		c->idle_end = (unsigned)s->cfg.spin;
		arm.q[arm.n] = c->ch.rx;
		arm.c[arm.n++] = c;
		if (arm.n == ARM_BATCH)
			arm_flush(&arm, busy);
	}
	if (arm.n)
		arm_flush(&arm, busy);
	return total;
}

/* The epoll time-out t (ms, -1: none) cut to reach mono_ns() time when. */
static int wait_until(int t, int64_t when)
{
	int64_t left = (when - mono_ns()) / 1000000 + 1;

	if (left < 0)
		left = 0;
	return t < 0 || left < t ? (int)left : t;
}

/* What each conn asks of a round that may wait (timeout_ms): the epoll
 * time-out t, cut to the nearest handshake deadline; 0 while a ring is
 * polled or drains. An armed ring with work is taken at once when the
 * round may not wait (*ready). *hs: somebody handshakes. Out of line with
 * the rest of what a busy polling round skips, so that round stays small. */
static int __attribute__((noinline))
round_timeout(struct iface_server *s, int timeout_ms, int *ready, int *hs)
{
	int t = timeout_ms;

	for (struct iface_conn *c = s->conns; c; c = c->next) {
		if (c->armed && timeout_ms == 0 && ipcq_count(c->ch.rx)) {
			/* an armed ring with work: take it now, without
			 * waiting for epoll to report its doorbell */
			conn_unarm(c);
			*ready = 1;
		}
		if ((c->state == C_OPEN && !c->armed && !c->told) ||
		    c->state == C_DRAINING)
			t = 0;
		if (c->state == C_HANDSHAKE)
			*hs = 1;
		if (c->state == C_HANDSHAKE && t != 0)
			t = wait_until(t, c->deadline_ns);
	}
	if (s->lst_retry_ns && t != 0)
		t = wait_until(t, s->lst_retry_ns);
	return t;
}

/* Wait at most t ms for epoll events and handle them: events handled, or
 * -errno from epoll. */
static int __attribute__((noinline)) handle_events(struct iface_server *s,
						   int t)
{
	struct epoll_event ev[MAX_EVENTS];
	int handled = 0, n = os_epoll_wait(s->epfd, ev, MAX_EVENTS, t);

	if (n < 0)
		return n;
	for (int i = 0; i < n; i++) {
		struct evsrc *src = ev[i].data.ptr;
		struct iface_conn *c = src->obj;

		switch (src->kind) {
		case EV_LISTEN:
			accept_some(s);
			break;
		case EV_WAKE:
			os_efd_drain(s->wakefd);
			s->kicked = 0;
			continue; /* our own kick or stop(): not work */
		case EV_SOCK:
			if (c->state != C_DEAD)
				conn_on_sock(c, ev[i].events);
			break;
		case EV_DATA:
			if (!chan_doorbell(&c->ch, &c->armed))
				continue; /* not a wake-up: not work */
			s->narmed--;
			break;
		}
		handled++;
	}
	return handled;
}

/* The end of a round's rare work: handshake time-outs, disconnects, the
 * listener back after a pause. Returns the disconnects. */
static int __attribute__((noinline)) round_chores(struct iface_server *s,
						  int hs)
{
	int handled = 0;

	if (hs)
		expire_handshakes(s, mono_ns());
	if (s->reap)
		handled = reap(s); /* a disconnect is work done */
	if (s->lst_paused && s->npending < s->cfg.max_pending &&
	    (!s->lst_retry_ns || mono_ns() >= s->lst_retry_ns)) {
		s->lst_retry_ns = 0;
		listen_pause(s, 0);
	}
	return handled;
}

/* One round: wait at most timeout_ms for events (not at all while the
 * rings keep the loop busy), handle them, deliver. Returns events and
 * messages handled (0 when the round found nothing), -ECANCELED, -errno.
 * A busy server's round with timeout 0 (nobody armed, nobody handshaking,
 * epoll not due) is only the delivery pass and a few tests. */
static int dispatch_once(struct iface_server *s, int timeout_ms)
{
	int handled = 0, busy = 0, t = 0, hs = 0, ready = 0;

	if (s->stop_req) {
		s->stop_req = 0;
		os_efd_drain(s->wakefd);
		s->kicked = 0;
		return -ECANCELED;
	}
	/* What each conn asks of this round. Nothing to ask when no ring is
	 * armed, nobody handshakes and the round may not wait anyway: its
	 * time-out is 0, or the last round left a ring polled (s->busy, which
	 * makes the time-out 0 again): a busy server's rounds then pass over
	 * the conns once, not twice. */
	if ((timeout_ms && !s->busy) || s->narmed || s->npending)
		t = round_timeout(s, timeout_ms, &ready, &hs);
	if (t == 0 && (s->busy || ready) &&
	    (s->skip_epoll += s->busy ? s->busy : 1) < SPIN_EPOLL_EVERY) {
		/* the rings keep us busy: epoll can wait a few rounds */
	} else {
		s->skip_epoll = 0;
		handled = handle_events(s, t);
		if (handled < 0)
			return handled;
	}
	handled += deliver_all(s, &busy);
	if (hs || s->reap || s->lst_paused)
		handled += round_chores(s, hs);
	/* what skipping epoll next round costs (0: not busy) */
	s->busy = !busy ? 0 : 1 + (unsigned)handled / SPIN_EPOLL_MSGS;
	if (busy && !s->kicked) {
		os_efd_kick(s->wakefd); /* keep iface_server_fd() readable */
		s->kicked = 1;
	}
	if (s->stop_req) {
		s->stop_req = 0;
		return -ECANCELED;
	}
	return handled;
}

int iface_server_dispatch(struct iface_server *s, int timeout_ms)
{
	struct deadline d;

	if (!s)
		return -EINVAL;
	if (timeout_ms == 0)
		return dispatch_once(s, 0); /* no clock reads on a busy poll */
	deadline_start(&d, timeout_ms);
	for (unsigned rounds = 0;;) {
		/* a round that found nothing did not necessarily wait (the
		 * rings were being polled): go on until work or time-out */
		int r = dispatch_once(s, timeout_ms);

		if (r != 0)
			return r;
		timeout_ms = dispatch_next(&d, s->busy, &rounds, timeout_ms);
		if (timeout_ms == 0)
			return 0;
	}
}

int iface_server_run(struct iface_server *s)
{
	if (!s)
		return -EINVAL;
	for (;;) {
		int r = iface_server_dispatch(s, -1);

		if (r == -ECANCELED)
			return 0;
		if (r < 0)
			return r;
	}
}

void iface_server_stop(struct iface_server *s)
{
	s->stop_req = 1;
	os_efd_kick(s->wakefd);
}

/* ---- create / destroy ---------------------------------------------------- */

static int config_check(struct iface_server_config *c)
{
	uint64_t pair;

	if (!c->elem_size)
		c->elem_size = DEF_ELEM_SIZE;
	if (!c->capacity)
		c->capacity = DEF_CAPACITY;
	if (!c->max_clients)
		c->max_clients = DEF_MAX_CLIENTS;
	if (!c->handshake_timeout_ms)
		c->handshake_timeout_ms = DEF_HANDSHAKE_MS;
	if (!c->max_fds)
		c->max_fds = DEF_MAX_FDS;
	if (!c->batch)
		c->batch = DEF_BATCH;
	if (!c->max_pending)
		c->max_pending = DEF_MAX_PENDING;
	if (!c->max_client_shm)
		c->max_client_shm = DEF_MAX_CLIENT_SHM;
	if (!c->max_shm)
		c->max_shm = DEF_MAX_SHM;
	if (!c->mode)
		c->mode = 0600;
	if (!c->spin)
		c->spin = IFACE_DEFAULT_SPIN;
	if (c->spin < 0)
		c->spin = 0;
	if (c->elem_size > IPCQ_MAX_ELEM_SIZE || !is_pow2(c->capacity) ||
	    c->capacity < 2 || c->capacity > IPCQ_MAX_CAPACITY)
		return -EINVAL;
	if ((c->n_allow_uids && !c->allow_uids) ||
	    (c->n_allow_gids && !c->allow_gids) || c->n_allow_uids > 65536 ||
	    c->n_allow_gids > 65536)
		return -EINVAL;
	if (c->handshake_timeout_ms < 0 || c->max_fds > FDPASS_MAX_FDS ||
	    c->batch > 65536 || c->max_clients > 1000000)
		return -EINVAL;
	if (c->full_policy != IFACE_FULL_EAGAIN &&
	    c->full_policy != IFACE_FULL_DROP)
		return -EINVAL;
	if (c->allow_any_uid && (c->n_allow_uids || c->n_allow_gids))
		return -EINVAL; /* which one did the caller mean? */
	if (c->max_pending > 1000000)
		return -EINVAL;
	if (c->backlog < 0 || c->backlog > 65535)
		return -EINVAL;
	/* one client's two rings must fit both caps */
	pair = 2 * ipcq_size_of(c->elem_size, c->capacity);
	if (!pair || pair > c->max_client_shm || pair > c->max_shm)
		return -EINVAL;
	return 0;
}

int iface_server_create(struct iface_server **out,
			const struct iface_server_config *cfg)
{
	struct fdpass_listen_opts lo = { 0 };
	struct iface_server *s;
	int r;

	if (!out)
		return -EINVAL;
	*out = NULL;
	r = auth_init();
	if (r < 0)
		return r;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->epfd = s->wakefd = -1;
	if (cfg)
		s->cfg = *cfg;
	r = config_check(&s->cfg);
	if (r < 0)
		goto err;
	s->pair_shm = 2 * ipcq_size_of(s->cfg.elem_size, s->cfg.capacity);
	s->uid = geteuid();
	r = proof_key(&s->key, s->cfg.key, s->cfg.key_len, s->cfg.key_file);
	/* the caller's key and file name are not kept */
	s->cfg.key = NULL;
	s->cfg.key_len = 0;
	s->cfg.key_file = NULL;
	if (r < 0)
		goto err;
	r = path_resolve(&s->path, s->cfg.path, s->cfg.name, 1);
	if (r < 0)
		goto err;
	s->cfg.path = s->path;
	s->cfg.name = NULL;
	s->msgs = calloc(s->cfg.batch, sizeof(*s->msgs));
	s->lens = calloc(s->cfg.batch, sizeof(*s->lens));
	r = -ENOMEM;
	if (!s->msgs || !s->lens)
		goto err;
	if (s->cfg.n_allow_uids) {
		s->allow_uids = calloc(s->cfg.n_allow_uids, sizeof(uid_t));
		if (!s->allow_uids)
			goto err;
		memcpy(s->allow_uids, s->cfg.allow_uids,
		       s->cfg.n_allow_uids * sizeof(uid_t));
	}
	if (s->cfg.n_allow_gids) {
		s->allow_gids = calloc(s->cfg.n_allow_gids, sizeof(gid_t));
		if (!s->allow_gids)
			goto err;
		memcpy(s->allow_gids, s->cfg.allow_gids,
		       s->cfg.n_allow_gids * sizeof(gid_t));
	}
	s->cfg.allow_uids = s->allow_uids;
	s->cfg.allow_gids = s->allow_gids;
	r = s->epfd = os_epoll_create();
	if (r < 0)
		goto err;
	r = s->wakefd = os_eventfd();
	if (r < 0)
		goto err;
	lo.type = SOCK_SEQPACKET;
	lo.mode = s->cfg.mode;
	lo.nonblock = 1;
	lo.backlog = s->cfg.backlog; /* 0: fdpass's default */
	r = fdpass_listen(&s->lst, s->path, &lo);
	if (r < 0)
		goto err;
	s->lst_src.kind = EV_LISTEN;
	s->lst_src.obj = s;
	s->wake_src.kind = EV_WAKE;
	s->wake_src.obj = s;
	r = os_epoll_add(s->epfd, fdpass_listener_fd(s->lst), EPOLLIN,
			 &s->lst_src);
	if (r == 0)
		r = os_epoll_add(s->epfd, s->wakefd, EPOLLIN, &s->wake_src);
	if (r < 0)
		goto err;
	*out = s;
	return 0;
err:
	fdpass_listener_close(s->lst);
	os_close(s->wakefd);
	os_close(s->epfd);
	auth_key_free(s->key);
	free(s->msgs);
	free(s->lens);
	free(s->allow_uids);
	free(s->allow_gids);
	free(s->path);
	free(s);
	return r;
}

void iface_server_destroy(struct iface_server *s)
{
	if (!s)
		return;
	for (struct iface_conn *c = s->conns; c; c = c->next) {
		if (c->state == C_DEAD)
			continue;
		chan_send_reason(c->sock,
				 c->state == C_HANDSHAKE ? WIRE_REFUSE : WIRE_BYE,
				 IFACE_R_SHUTDOWN, "the server is shutting down");
		conn_kill(c, IFACE_R_SHUTDOWN, "the server is shutting down");
	}
	reap(s);
	fdpass_listener_close(s->lst);
	os_close(s->wakefd);
	os_close(s->epfd);
	auth_key_free(s->key);
	free(s->msgs);
	free(s->lens);
	free(s->allow_uids);
	free(s->allow_gids);
	free(s->path);
	free(s);
}

const char *iface_server_path(const struct iface_server *s)
{
	return s->path;
}

int iface_server_fd(const struct iface_server *s)
{
	return s->epfd;
}

unsigned iface_server_nclients(const struct iface_server *s)
{
	return s->nopen;
}

unsigned iface_server_npending(const struct iface_server *s)
{
	return s->npending;
}

uint64_t iface_server_shm(const struct iface_server *s)
{
	return s->shm;
}

int iface_server_broadcast(struct iface_server *s, const void *buf, size_t len)
{
	int sent = 0;

	if (!s || (len && !buf))
		return -EINVAL;
	if (len > s->cfg.elem_size)
		return -EMSGSIZE;
	for (struct iface_conn *c = s->conns; c; c = c->next) {
		uint64_t drops = c->ch.st.drops;

		if (c->state != C_OPEN)
			continue;
		if (chan_send(&c->ch, buf, len) == 0 && c->ch.st.drops == drops)
			sent++;
	}
	return sent;
}

/* ---- conn ---------------------------------------------------------------- */

static int conn_usable(const struct iface_conn *c)
{
	return c && c->state == C_OPEN;
}

int iface_conn_send(struct iface_conn *c, const void *buf, size_t len)
{
	if (!c)
		return -EINVAL;
	return conn_usable(c) ? chan_send(&c->ch, buf, len) : -EPIPE;
}

int iface_conn_send_wait(struct iface_conn *c, const void *buf, size_t len,
			 int timeout_ms)
{
	if (!c)
		return -EINVAL;
	return conn_usable(c) ? chan_send_wait(&c->ch, buf, len, timeout_ms)
			      : -EPIPE;
}

int iface_conn_send_n(struct iface_conn *c, const void *elems, unsigned n)
{
	if (!c)
		return -EINVAL;
	return conn_usable(c) ? chan_send_n(&c->ch, elems, n) : -EPIPE;
}

int iface_conn_reserve(struct iface_conn *c, unsigned want, void **first)
{
	if (!c)
		return -EINVAL;
	return conn_usable(c) ? chan_reserve(&c->ch, want, first) : -EPIPE;
}

int iface_conn_commit(struct iface_conn *c, unsigned n)
{
	if (!c || !c->ch.tx)
		return -EINVAL;
	return chan_commit(&c->ch, n);
}

/* Receiving outside on_message: from an open conn, and from one whose
 * client is gone until its ring is read to the end (-EPIPE then). */
static int conn_readable(const struct iface_conn *c)
{
	return c && (c->state == C_OPEN || c->state == C_DRAINING);
}

/* A receive found c's ring empty: the dispatch reports its next messages. */
static ssize_t conn_got(struct iface_conn *c, ssize_t r)
{
	if (r == -EAGAIN || r == -ETIMEDOUT)
		c->told = 0;
	return r;
}

ssize_t iface_conn_recv(struct iface_conn *c, void *buf, size_t cap)
{
	if (!c)
		return -EINVAL;
	return conn_readable(c) ? conn_got(c, chan_recv(&c->ch, buf, cap))
				: -EPIPE;
}

ssize_t iface_conn_recv_wait(struct iface_conn *c, void *buf, size_t cap,
			     int timeout_ms)
{
	if (!c)
		return -EINVAL;
	if (!conn_readable(c))
		return -EPIPE;
	conn_unarm(c);
	return conn_got(c, chan_recv_wait(&c->ch, buf, cap, timeout_ms));
}

int iface_conn_recv_n(struct iface_conn *c, void *elems, unsigned n)
{
	if (!c)
		return -EINVAL;
	return conn_readable(c) ? (int)conn_got(c, chan_recv_n(&c->ch, elems, n))
				: -EPIPE;
}

int iface_conn_peek(struct iface_conn *c, unsigned want, const void **first,
		    uint32_t *lens)
{
	if (!c || !want || !first)
		return -EINVAL;
	return conn_readable(c)
		       ? (int)conn_got(c, chan_peek(&c->ch, want, first, lens))
		       : -EPIPE;
}

int iface_conn_release(struct iface_conn *c, unsigned n)
{
	if (!c || !c->ch.rx)
		return -EINVAL;
	return chan_release(&c->ch, n);
}

int iface_conn_wait(struct iface_conn *c, int timeout_ms)
{
	if (!c)
		return -EINVAL;
	if (!conn_readable(c))
		return -EPIPE;
	conn_unarm(c);
	return (int)conn_got(c, chan_wait(&c->ch, timeout_ms));
}

int iface_conn_wait_send(struct iface_conn *c, int timeout_ms)
{
	if (!c)
		return -EINVAL;
	return conn_usable(c) ? chan_wait_send(&c->ch, timeout_ms) : -EPIPE;
}

void iface_conn_close(struct iface_conn *c, uint32_t code, const char *text)
{
	if (!c || c->state == C_DEAD)
		return;
	if (!code)
		code = IFACE_R_CLOSED;
	if (c->state == C_OPEN) /* not announced yet: inside on_connect */
		chan_send_reason(c->sock, c->announced ? WIRE_BYE : WIRE_REFUSE,
				 code, text ? text : "closed by the server");
	if (!c->announced)
		c->refused = 1;
	c->ch.dead = 0; /* the reason given here wins */
	chan_reason(&c->ch.why, code, text ? text : "closed by the server");
	c->ch.dead = 1;
	conn_kill(c, code, NULL);
}

uint64_t iface_conn_id(const struct iface_conn *c)
{
	return c->id;
}

void iface_conn_token(const struct iface_conn *c,
		      uint8_t out[IFACE_TOKEN_SIZE])
{
	memcpy(out, c->token, IFACE_TOKEN_SIZE);
}

pid_t iface_conn_pid(const struct iface_conn *c)
{
	return c->cred.pid;
}

uid_t iface_conn_uid(const struct iface_conn *c)
{
	return c->cred.uid;
}

void iface_conn_cred(const struct iface_conn *c, struct iface_cred *out)
{
	out->pid = c->cred.pid;
	out->uid = c->cred.uid;
	out->gid = c->cred.gid;
}

void iface_conn_stats(const struct iface_conn *c, struct iface_stats *out)
{
	*out = c->ch.st;
}

uint32_t iface_conn_elem_size(const struct iface_conn *c)
{
	return c->srv->cfg.elem_size;
}

uint32_t iface_conn_stride(const struct iface_conn *c)
{
	return c->ch.tx ? ipcq_stride(c->ch.tx) : 0;
}

void iface_conn_set_user(struct iface_conn *c, void *user)
{
	c->user = user;
}

void *iface_conn_user(const struct iface_conn *c)
{
	return c->user;
}

struct iface_server *iface_conn_server(const struct iface_conn *c)
{
	return c->srv;
}

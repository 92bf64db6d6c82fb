/* SPDX-License-Identifier: MIT */
/*
 * libiface's credential policy and caps, with the server in a child
 * process and clients in this one or in others:
 *
 *   policy   default same uid; allow lists; check_peer; allow_any_uid; a
 *            refused client gets REFUSE before HELLO (nothing allocated)
 *   caps     total shared memory (REFUSE MEMORY, -ENOSPC), bad configs
 *   pending  max_pending: one process only drops its own connections;
 *            several processes' handshakes are never dropped for a
 *            newcomer, who waits in the backlog
 *   flood    one process opens thousands of connections and never
 *            finishes a handshake while a legitimate client connects
 *
 * Synchronisation is by pipes and by the protocol itself; nothing sleeps.
 */
#include <check.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memenpsf/fdpass.h>
#include <memenpsf/iface.h>

#include "iface_util.h"
#include "testutil.h"
#include "../iface/wire.h"
#include "../tools/flood.h"


/* ---- a server with a given policy, in a child ------------------------------ */

struct lopts {
	unsigned max_pending;
	uint64_t max_shm;
	uint32_t capacity;
	int handshake_ms;
	unsigned n_uids, n_gids;
	uid_t uids[2];
	gid_t gids[2];
	int refuse_all; /* check_peer says no */
	int allow_any;
	int quiet;      /* no notes (a flood would fill the pipe) */
};

#define N_REFUSED 1u
#define N_GONE 2u

/* What the server child writes after each dispatch, per event. */
struct lnote {
	uint32_t kind; /* N_REFUSED, N_GONE */
	uint32_t code;
	int32_t pid;
	uint32_t npending; /* the server's, after the dispatch */
	uint64_t shm;      /* the server's, after the dispatch */
};

#define MAX_LNOTES 256
static struct lnote l_notes[MAX_LNOTES];
static unsigned l_n;
static struct iface_server *l_srv;

static void l_note(uint32_t kind, pid_t pid, uint32_t code)
{
	if (l_n < MAX_LNOTES)
		l_notes[l_n++] = (struct lnote){ .kind = kind, .code = code,
						 .pid = pid };
}

static void l_refused(const struct iface_cred *cr,
		      const struct iface_reason *why, void *user)
{
	(void)user;
	l_note(N_REFUSED, cr->pid, why->code);
}

static void l_gone(struct iface_conn *c, const struct iface_reason *why,
		   void *user)
{
	(void)user;
	l_note(N_GONE, iface_conn_pid(c), why->code);
}

/* Messages are read and dropped: a server without on_message would leave
 * a client that sent something undisconnected until the test read it. */
static void l_message(struct iface_conn *c, const struct iface_msg *msgs,
		      unsigned n, void *user)
{
	(void)c;
	(void)msgs;
	(void)n;
	(void)user;
}

static int l_check(const struct iface_cred *cr, void *user)
{
	(void)cr;
	(void)user;
	return 1;
}

static void l_term(int sig)
{
	(void)sig;
	iface_server_stop(l_srv);
}

static int lserver_main(const struct lopts *o, int ready_fd, int note_fd)
{
	struct iface_server_config cfg = { 0 };
	int r;

	cfg.path = t_path;
	cfg.elem_size = T_ELEM;
	cfg.capacity = o->capacity ? o->capacity : 64;
	cfg.max_pending = o->max_pending;
	cfg.max_shm = o->max_shm;
	cfg.handshake_timeout_ms = o->handshake_ms ? o->handshake_ms : 30000;
	cfg.allow_uids = o->uids;
	cfg.n_allow_uids = o->n_uids;
	cfg.allow_gids = o->gids;
	cfg.n_allow_gids = o->n_gids;
	cfg.allow_any_uid = o->allow_any;
	cfg.cb.on_refused = l_refused;
	cfg.cb.on_disconnect = l_gone;
	cfg.cb.on_message = l_message;
	if (o->refuse_all)
		cfg.cb.check_peer = l_check;
	if (iface_server_create(&l_srv, &cfg) < 0)
		return XC_SERVER;
	signal(SIGTERM, l_term);
	if (t_write_full(ready_fd, "R", 1) < 0)
		return XC_PIPE;
	close(ready_fd);
	for (;;) {
		r = iface_server_dispatch(l_srv, -1);
		for (unsigned i = 0; i < l_n; i++) {
			l_notes[i].npending = iface_server_npending(l_srv);
			l_notes[i].shm = iface_server_shm(l_srv);
		}
		if (l_n && !o->quiet &&
		    t_write_full(note_fd, l_notes, l_n * sizeof(*l_notes)))
			return XC_PIPE;
		l_n = 0;
		if (r == -ECANCELED)
			break;
		if (r < 0)
			return XC_SERVER;
	}
	iface_server_destroy(l_srv);
	return XC_OK;
}

static pid_t lserver(const struct lopts *o, int *note_rd)
{
	int ready[2], note[2];
	pid_t pid;
	char c;

	t_pipe(ready);
	t_pipe(note);
	pid = t_fork();
	if (pid == 0) {
		close(ready[0]);
		close(note[0]);
		_exit(lserver_main(o, ready[1], note[1]));
	}
	close(ready[1]);
	close(note[1]);
	ck_assert_msg(t_read_full(ready[0], &c, 1) == 1, "server did not start");
	close(ready[0]);
	*note_rd = note[0];
	return pid;
}

static void lserver_stop(pid_t pid, int notes)
{
	ck_assert_int_eq(kill(pid, SIGTERM), 0);
	ck_assert_int_eq(tu_wait(pid), XC_OK);
	close(notes);
}

static void lnote_read(int fd, struct lnote *n)
{
	ck_assert_int_eq(t_read_full(fd, n, sizeof(*n)), (ssize_t)sizeof(*n));
}

/* ---- raw peers --------------------------------------------------------------- */

static int raw_connect(void)
{
	int s = fdpass_connect(t_path, SOCK_SEQPACKET, 10000);

	ck_assert_int_ge(s, 0);
	return s;
}

/* Connect and expect HELLO. */
static int raw_hello(void)
{
	struct wire_msg m;
	int s = raw_connect();

	ck_assert_int_eq(t_raw_recv(s, &m, NULL, 10000), 0);
	ck_assert_uint_eq(m.type, WIRE_HELLO);
	return s;
}

/* JOIN on a socket that had HELLO; 0 on WELCOME, else the REFUSE code. */
static int raw_join(int s)
{
	unsigned char buf[WIRE_MAX_MSG];
	struct wire_join j = { .elem_size = T_ELEM };
	struct wire_msg m;
	int n = wire_encode_join(buf, sizeof(buf), &j);

	ck_assert_int_gt(n, 0);
	ck_assert_int_eq(fdpass_send(s, buf, (size_t)n, NULL, 0, 5000), n);
	ck_assert_int_eq(t_raw_recv(s, &m, NULL, 10000), 0);
	if (m.type == WIRE_WELCOME)
		return 0;
	ck_assert_uint_eq(m.type, WIRE_REFUSE);
	return (int)m.u.reason.code;
}

/* Expect a REFUSE with code as the first message, then the end. */
static void raw_expect_refuse(int s, uint32_t code, const char *part)
{
	struct wire_msg m;

	ck_assert_int_eq(t_raw_recv(s, &m, NULL, 10000), 0);
	ck_assert_uint_eq(m.type, WIRE_REFUSE);
	ck_assert_uint_eq(m.u.reason.code, code);
	if (part)
		ck_assert_msg(strstr(m.u.reason.text, part), "'%s' lacks '%s'",
			      m.u.reason.text, part);
	ck_assert_int_eq(t_raw_recv(s, &m, NULL, 10000), -EPIPE);
}

static int lib_connect(struct iface_reason *why)
{
	struct iface_client_config cc = { .path = t_path, .timeout_ms = 10000 };
	struct iface_client *c = NULL;
	int r = iface_client_connect(&c, &cc, why);

	if (r == 0)
		iface_client_close(c);
	else
		ck_assert_ptr_null(c);
	return r;
}

/* ---- policy ------------------------------------------------------------------ */

/*
 * Default policy: our own uid gets in. A policy that leaves us out (an
 * allow list without our uid, or check_peer saying no) refuses us with
 * IFACE_R_CREDENTIALS before HELLO: the first and only message is the
 * REFUSE, the server tells on_refused with our pid while nothing is
 * pending (nothing was allocated for us), and the library's connect
 * returns -EACCES. Our gid in allow_gids, or allow_any_uid, lets us in.
 */
START_TEST(test_policy)
{
	struct lopts o = { 0 };
	struct iface_reason why;
	struct lnote n;
	char text[64];
	int notes, s;
	pid_t srv;

	srv = lserver(&o, &notes);
	ck_assert_int_eq(lib_connect(&why), 0);
	lnote_read(notes, &n);
	ck_assert_uint_eq(n.kind, N_GONE);
	ck_assert_uint_eq(n.code, IFACE_R_CLOSED);
	lserver_stop(srv, notes);

	o.uids[0] = getuid() + 1;
	o.n_uids = 1;
	srv = lserver(&o, &notes);
	snprintf(text, sizeof(text), "uid %u gid %u may not use",
		 (unsigned)getuid(), (unsigned)getgid());
	s = raw_connect();
	raw_expect_refuse(s, IFACE_R_CREDENTIALS, text);
	close(s);
	lnote_read(notes, &n);
	ck_assert_uint_eq(n.kind, N_REFUSED);
	ck_assert_uint_eq(n.code, IFACE_R_CREDENTIALS);
	ck_assert_int_eq(n.pid, getpid());
	ck_assert_uint_eq(n.npending, 0);
	ck_assert_uint_eq(n.shm, 0);
	ck_assert_int_eq(lib_connect(&why), -EACCES);
	ck_assert_uint_eq(why.code, IFACE_R_CREDENTIALS);
	lnote_read(notes, &n);
	ck_assert_uint_eq(n.code, IFACE_R_CREDENTIALS);
	lserver_stop(srv, notes);

	o.gids[0] = getgid();
	o.n_gids = 1;
	srv = lserver(&o, &notes);
	ck_assert_int_eq(lib_connect(&why), 0);
	lserver_stop(srv, notes);

	memset(&o, 0, sizeof(o));
	o.refuse_all = 1;
	srv = lserver(&o, &notes);
	ck_assert_int_eq(lib_connect(&why), -EACCES);
	ck_assert_uint_eq(why.code, IFACE_R_CREDENTIALS);
	lserver_stop(srv, notes);

	memset(&o, 0, sizeof(o));
	o.allow_any = 1;
	srv = lserver(&o, &notes);
	ck_assert_int_eq(lib_connect(&why), 0);
	lserver_stop(srv, notes);
}
END_TEST

/* Configs the caps refuse: -EINVAL, nothing created. */
START_TEST(test_bad_configs)
{
	uint64_t pair = 2 * ipcq_size_of(T_ELEM, 64);
	struct iface_server_config cfg = { .path = t_path, .elem_size = T_ELEM,
					   .capacity = 64 };
	uid_t u = getuid();
	struct iface_server *s = NULL;

	ck_assert_uint_gt(pair, 0);
	ck_assert_uint_eq(ipcq_size_of(T_ELEM, 63), 0);
	cfg.allow_any_uid = 1;
	cfg.allow_uids = &u;
	cfg.n_allow_uids = 1;
	ck_assert_int_eq(iface_server_create(&s, &cfg), -EINVAL);
	cfg.allow_any_uid = 0;
	cfg.max_client_shm = pair - 1;
	ck_assert_int_eq(iface_server_create(&s, &cfg), -EINVAL);
	cfg.max_client_shm = 0;
	cfg.max_shm = pair - 1;
	ck_assert_int_eq(iface_server_create(&s, &cfg), -EINVAL);
	cfg.max_shm = pair;
	ck_assert_int_eq(iface_server_create(&s, &cfg), 0);
	ck_assert_uint_eq(iface_server_shm(s), 0);
	ck_assert_uint_eq(iface_server_npending(s), 0);
	iface_server_destroy(s);
}
END_TEST

/* A server's backlog is its setting: with 2, nobody accepting, a third
 * queued connect finds it full (a non-blocking connect: -EAGAIN), where the
 * default (128) would have taken it; out-of-range values are refused. */
START_TEST(test_backlog)
{
	struct iface_server_config cfg = { .path = t_path, .elem_size = T_ELEM,
					   .capacity = 64, .backlog = -1 };
	struct iface_server *s = NULL;
	int c[4], n = 0, r = 0;

	ck_assert_int_eq(iface_server_create(&s, &cfg), -EINVAL);
	cfg.backlog = 65536;
	ck_assert_int_eq(iface_server_create(&s, &cfg), -EINVAL);
	cfg.backlog = 2;
	ck_assert_int_eq(iface_server_create(&s, &cfg), 0);
	/* no dispatch: every connect stays in the backlog */
	while (n < 4 && (r = fdpass_connect(t_path, SOCK_SEQPACKET, 0)) >= 0)
		c[n++] = r;
	ck_assert_int_lt(n, 4);
	ck_assert_int_eq(r, -EAGAIN);
	ck_assert_int_ge(n, 2); /* Linux queues backlog (+ 1) */
	while (n)
		close(c[--n]);
	iface_server_destroy(s);
}
END_TEST

/* ---- caps ----------------------------------------------------------------------- */

/*
 * max_shm holds two clients' rings: a third JOIN is refused with
 * IFACE_R_MEMORY (connect: -ENOSPC) and a text with the figures; the two
 * stay connected; once one leaves its memory is given back and the third
 * gets in.
 */
START_TEST(test_shm_cap)
{
	uint64_t pair = 2 * ipcq_size_of(T_ELEM, 64);
	struct lopts o = { .max_shm = 2 * pair + pair / 2 };
	struct iface_client_config cc = { .path = t_path, .timeout_ms = 10000 };
	struct iface_client *a, *b, *c;
	struct iface_reason why;
	struct lnote n;
	int notes;
	pid_t srv = lserver(&o, &notes);

	ck_assert_int_eq(iface_client_connect(&a, &cc, &why), 0);
	ck_assert_int_eq(iface_client_connect(&b, &cc, &why), 0);
	ck_assert_int_eq(iface_client_connect(&c, &cc, &why), -ENOSPC);
	ck_assert_uint_eq(why.code, IFACE_R_MEMORY);
	ck_assert_msg(strstr(why.text, "shared memory cap reached"), "%s",
		      why.text);
	lnote_read(notes, &n);
	ck_assert_uint_eq(n.kind, N_REFUSED);
	ck_assert_uint_eq(n.code, IFACE_R_MEMORY);
	ck_assert_uint_eq(n.shm, 2 * pair);
	ck_assert_int_eq(iface_client_send(a, "x", 1), 0);
	iface_client_close(a);
	lnote_read(notes, &n);
	ck_assert_uint_eq(n.kind, N_GONE);
	ck_assert_uint_eq(n.shm, pair);
	ck_assert_int_eq(iface_client_connect(&c, &cc, &why), 0);
	iface_client_close(b);
	iface_client_close(c);
	lserver_stop(srv, notes);
}
END_TEST

/* ---- pending handshakes ------------------------------------------------------- */

/*
 * max_pending 4, one process: ten connections that never JOIN. The fifth
 * to the tenth are refused at once (REFUSE BUSY as their first message:
 * our process has the most pending, so its newcomer goes, before a HELLO
 * is spent on it), and the first four are still served: each JOINs and
 * gets WELCOME. Then another process's connection gets in by dropping
 * our oldest pending one.
 */
START_TEST(test_pending_one_process)
{
	struct lopts o = { .max_pending = 4 };
	int notes, s[10];
	pid_t srv = lserver(&o, &notes), other;

	for (int i = 0; i < 10; i++) {
		if (i < 4) {
			s[i] = raw_hello();
			continue;
		}
		s[i] = raw_connect();
		raw_expect_refuse(s[i], IFACE_R_BUSY,
				  "too many handshakes pending (4)");
	}
	for (int i = 4; i < 10; i++) {
		struct lnote n;

		lnote_read(notes, &n);
		ck_assert_uint_eq(n.kind, N_REFUSED);
		ck_assert_uint_eq(n.code, IFACE_R_BUSY);
		ck_assert_int_eq(n.pid, getpid());
		ck_assert_uint_eq(n.npending, 4);
		close(s[i]);
	}
	other = t_fork();
	if (other == 0) {
		int k = raw_hello(); /* our oldest made room */

		_exit(raw_join(k) == 0 ? XC_OK : XC_CONNECT);
	}
	raw_expect_refuse(s[0], IFACE_R_BUSY, "too many handshakes pending");
	ck_assert_int_eq(tu_wait(other), XC_OK);
	close(s[0]);
	for (int i = 1; i < 4; i++) {
		ck_assert_int_eq(raw_join(s[i]), 0);
		close(s[i]);
	}
	lserver_stop(srv, notes);
}
END_TEST

/*
 * max_pending 4, held by four processes (one connection each, HELLO
 * received, no JOIN yet). A fifth process connects: nobody is dropped for
 * it; it waits in the backlog. When the four JOIN, each gets WELCOME (none
 * was dropped), and the fifth then gets HELLO and WELCOME too.
 */
START_TEST(test_pending_processes)
{
	struct lopts o = { .max_pending = 4 };
	int notes, ready[2], go[2], late[2];
	pid_t srv = lserver(&o, &notes), kid[4], last;
	char b;

	t_pipe(ready);
	t_pipe(go);
	t_pipe(late);
	for (int i = 0; i < 4; i++) {
		kid[i] = t_fork();
		if (kid[i] == 0) {
			int s = raw_hello();

			if (t_write_full(ready[1], "r", 1) ||
			    t_read_full(go[0], &b, 1) != 1)
				_exit(XC_PIPE);
			_exit(raw_join(s) == 0 ? XC_OK : XC_CONNECT);
		}
		ck_assert_int_eq(t_read_full(ready[0], &b, 1), 1);
	}
	last = t_fork();
	if (last == 0) {
		int s = raw_connect(); /* in the backlog, or accepted */

		if (t_write_full(late[1], "c", 1))
			_exit(XC_PIPE);
		_exit(t_raw_recv(s, &(struct wire_msg){ 0 }, NULL, 10000) == 0 &&
				      raw_join(s) == 0
			      ? XC_OK
			      : XC_CONNECT);
	}
	ck_assert_int_eq(t_read_full(late[0], &b, 1), 1);
	for (int i = 0; i < 4; i++)
		ck_assert_int_eq(t_write_full(go[1], "g", 1), 0);
	for (int i = 0; i < 4; i++)
		ck_assert_int_eq(tu_wait(kid[i]), XC_OK);
	ck_assert_int_eq(tu_wait(last), XC_OK);
	lserver_stop(srv, notes);
	close(ready[0]);
	close(ready[1]);
	close(go[0]);
	close(go[1]);
	close(late[0]);
	close(late[1]);
}
END_TEST

/* ---- flood -------------------------------------------------------------------- */

#define FLOOD_READY 3000
#define FLOOD_LEGIT 20

/*
 * A flood process (tools/flood.c: raises its descriptor limit to the hard
 * one, keeps as many connections open as the backlog takes, half of them
 * silent, half with half a JOIN, and replaces each one the server drops)
 * has opened FLOOD_READY connections; while it goes on, a legitimate
 * client in another process connects FLOOD_LEGIT times, each within the
 * handshake deadline of a default server (2 s). The flood saw its
 * connections dropped as busy (never the legitimate one: it never fails).
 * The connect times are printed, not asserted; tools/memenpsf-flood
 * measures them against a quiet server.
 */
START_TEST(test_flood)
{
	struct lopts o = { .handshake_ms = 2000, .quiet = 1 };
	struct flood_stats st;
	int notes, stop[2], ready[2], res[2], legit_res[2];
	pid_t srv, fl, legit;
	double worst = 0, sum = 0;
	char b;

	srv = lserver(&o, &notes);
	t_pipe(stop);
	t_pipe(ready);
	t_pipe(res);
	t_pipe(legit_res);
	fl = t_fork();
	if (fl == 0) {
		close(notes);
		_exit(flood_run(t_path, stop[0], ready[1], FLOOD_READY, res[1]));
	}
	ck_assert_int_eq(t_read_full(ready[0], &b, 1), 1);
	ck_assert_msg(b == 'f', "the flood did not start");
	legit = t_fork();
	if (legit == 0) {
		struct iface_client_config cc = { .path = t_path,
						  .timeout_ms = 2000 };

		for (int i = 0; i < FLOOD_LEGIT; i++) {
			struct iface_client *c;
			int64_t t0 = t_now_ns();
			int r = iface_client_connect(&c, &cc, NULL);
			double ms = (t_now_ns() - t0) / 1e6;

			if (r < 0)
				_exit(XC_CONNECT);
			iface_client_close(c);
			if (t_write_full(legit_res[1], &ms, sizeof(ms)))
				_exit(XC_PIPE);
		}
		_exit(XC_OK);
	}
	ck_assert_int_eq(tu_wait(legit), XC_OK);
	for (int i = 0; i < FLOOD_LEGIT; i++) {
		double ms;

		ck_assert_int_eq(t_read_full(legit_res[0], &ms, sizeof(ms)),
				 (ssize_t)sizeof(ms));
		sum += ms;
		if (ms > worst)
			worst = ms;
	}
	ck_assert_int_eq(t_write_full(stop[1], "s", 1), 0);
	ck_assert_int_eq(t_read_full(res[0], &st, sizeof(st)),
			 (ssize_t)sizeof(st));
	ck_assert_int_eq(tu_wait(fl), 0);
	fprintf(stderr,
		"flood: legitimate connect mean %.2f ms, worst %.2f ms (%d) "
		"under a flood of %llu connections (fd limit %llu, %llu open "
		"at most, %llu dropped as busy, %llu refused)\n",
		sum / FLOOD_LEGIT, worst, FLOOD_LEGIT,
		(unsigned long long)st.opened,
		(unsigned long long)st.fd_limit,
		(unsigned long long)st.max_open, (unsigned long long)st.busy,
		(unsigned long long)st.refused);
	ck_assert_uint_ge(st.opened, FLOOD_READY);
	ck_assert_uint_gt(st.busy, 0);
	/* st.refused (half a JOIN refused with PROTOCOL) is not asserted:
	 * whether the server reads a flooder's half JOIN before the
	 * per-process rule drops that connection is timing (0 in about one
	 * run in ten, before and after this session's changes); the refusal
	 * itself is test_hostile's H_TRUNCATED case in iface_test.c */
	lserver_stop(srv, notes);
	close(stop[0]);
	close(stop[1]);
	close(ready[0]);
	close(ready[1]);
	close(res[0]);
	close(res[1]);
	close(legit_res[0]);
	close(legit_res[1]);
}
END_TEST

/*
 * accept with no descriptor left (RLIMIT_NOFILE reached): the listener
 * stays readable, and a loop that kept it in epoll would spin. Here the
 * server is in this process, one client waits in the backlog, and the
 * limit is set to our lowest free descriptor: every accept fails with
 * EMFILE. Of 2000 dispatch(0) rounds only those after each retry interval
 * (100 ms) may find the listener again, not every one; once the limit is
 * back, the client that waited is served: it gets HELLO.
 */
START_TEST(test_accept_emfile)
{
	struct iface_server_config sc = { .path = t_path, .elem_size = T_ELEM };
	struct iface_server *srv = NULL;
	struct rlimit old, low;
	struct wire_msg m;
	int64_t t0, ms;
	int cl, spare, busy = 0, tries;

	ck_assert_int_eq(iface_server_create(&srv, &sc), 0);
	cl = raw_connect(); /* in the backlog: nobody accepts yet */
	spare = dup(0);
	ck_assert_int_ge(spare, 0);
	close(spare); /* the lowest free descriptor */
	ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &old), 0);
	low = old;
	low.rlim_cur = (rlim_t)spare;
	ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &low), 0);

	t0 = t_now_ns();
	for (int i = 0; i < 2000; i++) {
		int r = iface_server_dispatch(srv, 0);

		ck_assert_int_ge(r, 0);
		busy += r > 0;
	}
	ms = (t_now_ns() - t0) / 1000000;
	ck_assert_msg(busy <= 2 + ms / 100,
		      "%d of 2000 rounds found work in %lld ms: the loop spins "
		      "on a listener it cannot accept from", busy, (long long)ms);
	ck_assert_uint_eq(iface_server_npending(srv), 0);

	ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &old), 0);
	for (tries = 0; tries < 200 && iface_server_npending(srv) == 0; tries++)
		ck_assert_int_ge(iface_server_dispatch(srv, 50), 0);
	ck_assert_uint_eq(iface_server_npending(srv), 1);
	ck_assert_int_eq(t_raw_recv(cl, &m, NULL, 10000), 0);
	ck_assert_uint_eq(m.type, WIRE_HELLO);
	close(cl);
	iface_server_destroy(srv);
}
END_TEST

static Suite *limits_suite(void)
{
	Suite *s = suite_create("iface_limits");
	TCase *tc;

	tc = t_tcase("policy", 30);
	tcase_add_test(tc, test_policy);
	tcase_add_test(tc, test_bad_configs);
	tcase_add_test(tc, test_backlog);
	suite_add_tcase(s, tc);

	tc = t_tcase("caps", 30);
	tcase_add_test(tc, test_shm_cap);
	tcase_add_test(tc, test_pending_one_process);
	tcase_add_test(tc, test_pending_processes);
	tcase_add_test(tc, test_accept_emfile);
	suite_add_tcase(s, tc);

	tc = t_tcase("flood", 120);
	tcase_add_test(tc, test_flood);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(limits_suite());

	signal(SIGPIPE, SIG_IGN);
	return tu_run(sr);
}

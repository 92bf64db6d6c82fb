/* SPDX-License-Identifier: MIT */
/*
 * libiface across real processes: a server in one process, clients in
 * others (fork, or exec of the example programs), talking through the
 * library only, except where a test plays a hostile or foreign peer with
 * raw handshake messages on a SOCK_SEQPACKET socket (the wire encoders of
 * iface/wire.h) or writes lies into a ring (queue/layout.h).
 *
 *   stream     32 clients x 100k checked round trips
 *   crash      kill -9 of a client (x50) and of the server (x5)
 *   refuse     version (both ways), type / size / capacity, full, time-out
 *   hostile    bad clients (messages, fds, rings) and bad servers
 *   peer_dies  what a dying peer published is delivered before the news
 *   conn_recv  a server without on_message reads its conns itself; the
 *              client's blocking batch and zero-copy sends; byte counters;
 *              the client's zero-copy receive, the server's batch and
 *              blocking sends; a server driven by poll() on its fd
 *   path       the default path and its directory, a second server on a
 *              live path, the socket's mode, max_fds
 *   slow       broadcast toward a slow client; wake-ups per batch
 *   examples   ipc-server / ipc-client / ipc-typed / ipc-poll exec'd
 *   signal     stop() from a signal handler, server and client
 *
 * Synchronisation is by pipes and by the library's own callbacks; nothing
 * sleeps to wait for another process. Figures worth reporting (latencies,
 * batch sizes) are printed on stderr, which make check keeps in the log.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <memenpsf/fdpass.h>
#include <memenpsf/iface.h>
#include <memenpsf/ipcq.h>

#include "iface_util.h"
#include "testutil.h"
#include "../iface/wire.h" /* queue/ has a wire.h too */
#include "../queue/layout.h" /* to write lies into a ring */


static void stop_server(pid_t pid)
{
	ck_assert_int_eq(kill(pid, SIGTERM), 0);
	ck_assert_int_eq(tu_wait(pid), XC_OK);
}

/* ---- many clients ------------------------------------------------------------ */

/*
 * 32 clients at once, each streaming N requests with sequence numbers and
 * checksums; the server checks each request (order, sum) and answers with
 * its own sequence number and the one it answers; each client checks every
 * answer. Every client exits 0 only if it got N answers in order, and the
 * server's note for each says N requests, none bad.
 *
 * N is 100000 in every build: under ASan too this stays well within a
 * minute (about 15 s measured on the 2 shared cores).
 */
#define MANY_CLIENTS 32
#define MANY_N 100000u

START_TEST(test_many_clients)
{
	struct srv_opts o = { .path = t_path };
	pid_t srv, cl[MANY_CLIENTS];
	int notes, seen[MANY_CLIENTS] = { 0 };
	int64_t t0 = t_now_ns();

	srv = srv_spawn(&o, &notes);
	for (int i = 0; i < MANY_CLIENTS; i++)
		cl[i] = echo_client_spawn(t_path, (uint32_t)i, MANY_N, 512, -1,
					  -1, 0);
	for (int i = 0; i < MANY_CLIENTS; i++)
		ck_assert_msg(tu_wait(cl[i]) == XC_OK, "client %d failed", i);
	for (int i = 0; i < MANY_CLIENTS; i++) {
		struct srv_note n;
		int k = -1;

		srv_note_read(notes, &n);
		for (int j = 0; j < MANY_CLIENTS; j++)
			if (cl[j] == n.pid)
				k = j;
		ck_assert_int_ge(k, 0);
		ck_assert_int_eq(seen[k], 0);
		seen[k] = 1;
		ck_assert_uint_eq(n.rx, MANY_N);
		ck_assert_uint_eq(n.bad, 0);
		ck_assert_uint_eq(n.code, IFACE_R_CLOSED);
	}
	stop_server(srv);
	close(notes);
	fprintf(stderr,
		"many_clients: %d clients x %u round trips in %.2f s "
		"(%.0f msgs/s each way)\n",
		MANY_CLIENTS, MANY_N, (t_now_ns() - t0) / 1e9,
		MANY_CLIENTS * (double)MANY_N / ((t_now_ns() - t0) / 1e9));
}
END_TEST

/* ---- kill -9 of a client ------------------------------------------------------- */

/*
 * Three clients stream all along. Fifty times a fourth connects, streams,
 * and is killed with SIGKILL in the middle of its stream. Each time the
 * server reports the victim (and only it) gone as a hang-up, and its
 * descriptors and memfd mappings are back to what they were with the three;
 * the three never see an error and never wait T_STALL_MS for an answer.
 */
#define STABLE 3
#define VICTIMS 50

START_TEST(test_kill_client)
{
	struct srv_opts o = { .path = t_path };
	int notes, stop[2], ready[2], fds0, maps0;
	pid_t srv, st[STABLE];
	char b;

	srv = srv_spawn(&o, &notes);
	t_pipe(stop);
	t_pipe(ready);
	for (int i = 0; i < STABLE; i++)
		st[i] = echo_client_spawn(t_path, (uint32_t)i, UINT64_MAX, 256,
					  stop[0], ready[1], 1000);
	for (int i = 0; i < STABLE; i++)
		ck_assert_int_eq(t_read_full(ready[0], &b, 1), 1);
	fds0 = proc_fd_count(srv);
	maps0 = proc_memfd_maps(srv);
	ck_assert_int_ge(maps0, 2 * STABLE); /* two rings per client */

	for (int v = 0; v < VICTIMS; v++) {
		struct srv_note n;
		pid_t vic = echo_client_spawn(t_path, 100 + (uint32_t)v,
					      UINT64_MAX, 256, -1, ready[1],
					      200 + 37 * (uint64_t)v);

		ck_assert_int_eq(t_read_full(ready[0], &b, 1), 1);
		ck_assert_int_eq(kill(vic, SIGKILL), 0);
		ck_assert_int_eq(tu_wait(vic), 128 + SIGKILL);
		srv_note_read(notes, &n);
		ck_assert_int_eq(n.pid, vic);
		ck_assert_uint_eq(n.code, IFACE_R_HANGUP);
		ck_assert_uint_eq(n.bad, 0);
		ck_assert_uint_ge(n.rx, 200 + 37 * (uint64_t)v);
		ck_assert_int_eq(proc_fd_count(srv), fds0);
		ck_assert_int_eq(proc_memfd_maps(srv), maps0);
	}
	/* the stable clients stop (they all hold the write end too: a byte,
	 * not an end of file, is what they can see) */
	ck_assert_int_eq(t_write_full(stop[1], "s", 1), 0);
	for (int i = 0; i < STABLE; i++)
		ck_assert_msg(tu_wait(st[i]) == XC_OK, "stable client %d", i);
	for (int i = 0; i < STABLE; i++) {
		struct srv_note n;

		srv_note_read(notes, &n);
		ck_assert_uint_eq(n.code, IFACE_R_CLOSED);
		ck_assert_uint_eq(n.bad, 0);
		ck_assert_uint_gt(n.rx, 1000);
	}
	stop_server(srv);
	close(notes);
	close(stop[0]);
	close(stop[1]);
	close(ready[0]);
	close(ready[1]);
}
END_TEST

/* ---- kill -9 of the server ---------------------------------------------------------- */

/*
 * Eight clients wait in four different ways: the run loop with an
 * on_disconnect callback, a blocking recv_wait(-1), wait(-1), and sends
 * that never read (non-blocking until the ring is full, then blocking). The server is killed with SIGKILL;
 * each client writes the CLOCK_MONOTONIC time at which it learnt (the clock
 * is the same in every process). Every one must learn within 100 ms, with
 * -EPIPE and a hang-up reason. Five rounds, each with a new server on the
 * path the killed one left (it must start at once: its spawn within 1 s),
 * and one more at the end that a client connects to.
 */
#define WAITERS 8
#define EPIPE_LIMIT_NS (100 * 1000000LL)
#define KILL_ROUNDS 5
/* "At once": a fork and a create on the dead server's path, with no wait
 * for anything to time out; generous for a loaded 2-core machine. */
#define RESTART_LIMIT_NS (1000 * 1000000LL)

struct gone {
	int32_t mode, ret;
	uint32_t code, cb;
	int64_t t;
};

static struct gone g_gone;

static void wd_disconnect(struct iface_client *c, const struct iface_reason *why,
			  void *user)
{
	(void)c;
	(void)user;
	g_gone.t = t_now_ns();
	g_gone.code = why->code;
	g_gone.cb++;
}

static void wd_message(struct iface_client *c, const struct iface_msg *m,
		       unsigned n, void *user)
{
	(void)c;
	(void)m;
	(void)n;
	(void)user;
}

static int waiter(int mode, int ready_fd, int res_fd)
{
	struct iface_client_config cfg = { 0 };
	struct iface_client *c;
	struct iface_reason why;
	char buf[T_ELEM];

	cfg.path = t_path;
	cfg.cb.on_message = wd_message;
	cfg.cb.on_disconnect = wd_disconnect;
	if (iface_client_connect(&c, &cfg, &why) < 0)
		return XC_CONNECT;
	if (t_write_full(ready_fd, "w", 1) < 0)
		return XC_PIPE;
	g_gone.mode = mode;
	switch (mode) {
	case 0:
		g_gone.ret = iface_client_run(c);
		break;
	case 1:
		g_gone.ret = (int)iface_client_recv_wait(c, buf, sizeof(buf),
							 -1);
		g_gone.t = t_now_ns();
		break;
	case 2:
		g_gone.ret = iface_client_wait(c, -1);
		g_gone.t = t_now_ns();
		break;
	default:
		/* sending, never reading: non-blocking sends until the ring
		 * is full, then a blocking send (spinning here instead would
		 * starve the other waiters of the 2 cores and measure the
		 * scheduler) */
		for (uint64_t i = 0;; i++) {
			struct tmsg m;

			tmsg_fill(&m, 9, TM_REQ, i, 0);
			g_gone.ret = iface_client_send(c, &m, sizeof(m));
			if (g_gone.ret == -EAGAIN)
				g_gone.ret = iface_client_send_wait(
					c, &m, sizeof(m), -1);
			if (g_gone.ret < 0)
				break;
		}
		g_gone.t = t_now_ns();
		break;
	}
	if (mode != 0) {
		iface_client_reason(c, &why);
		g_gone.code = why.code;
	}
	iface_client_close(c);
	return t_write_full(res_fd, &g_gone, sizeof(g_gone)) ? XC_PIPE : XC_OK;
}

START_TEST(test_kill_server)
{
	struct srv_opts o = { .path = t_path };
	struct iface_client_config cc = { 0 };
	struct iface_client *c;
	struct iface_reason why;
	int ready[2], res[2];
	pid_t srv, w[WAITERS];
	int64_t t0, worst = 0, sum = 0, t1, restart = 0, worst_mode[4] = { 0 };
	char b;

	t_pipe(ready);
	t_pipe(res);
	for (int round = 0; round < KILL_ROUNDS; round++) {
		/* from the second round on, a new server on the path the
		 * killed one left behind */
		t1 = t_now_ns();
		srv = srv_spawn(&o, NULL);
		if (t_now_ns() - t1 > restart)
			restart = t_now_ns() - t1;
		for (int i = 0; i < WAITERS; i++) {
			w[i] = t_fork();
			if (w[i] == 0)
				_exit(waiter(i % 4, ready[1], res[1]));
		}
		for (int i = 0; i < WAITERS; i++)
			ck_assert_int_eq(t_read_full(ready[0], &b, 1), 1);
		t0 = t_now_ns();
		ck_assert_int_eq(kill(srv, SIGKILL), 0);
		for (int i = 0; i < WAITERS; i++) {
			struct gone g;

			ck_assert_int_eq(t_read_full(res[0], &g, sizeof(g)),
					 (ssize_t)sizeof(g));
			ck_assert_msg(g.ret == -EPIPE, "mode %d got %d", g.mode,
				      g.ret);
			ck_assert_uint_eq(g.code, IFACE_R_HANGUP);
			if (g.mode == 0)
				ck_assert_uint_eq(g.cb, 1);
			ck_assert_int_ge(g.t, t0);
			ck_assert_msg(g.t - t0 < EPIPE_LIMIT_NS,
				      "mode %d: -EPIPE after %.3f ms", g.mode,
				      (g.t - t0) / 1e6);
			if (g.t - t0 > worst)
				worst = g.t - t0;
			if (g.t - t0 > worst_mode[g.mode & 3])
				worst_mode[g.mode & 3] = g.t - t0;
			sum += g.t - t0;
		}
		for (int i = 0; i < WAITERS; i++)
			ck_assert_int_eq(tu_wait(w[i]), XC_OK);
		ck_assert_int_eq(tu_wait(srv), 128 + SIGKILL);
	}
	fprintf(stderr,
		"kill_server: %d clients x %d kills: -EPIPE after %.3f ms on "
		"average, %.3f ms at worst; restart on the path %.3f ms at "
		"worst\n",
		WAITERS, KILL_ROUNDS, sum / 1e6 / (WAITERS * KILL_ROUNDS),
		worst / 1e6, restart / 1e6);
	ck_assert_msg(restart < RESTART_LIMIT_NS,
		      "a new server on the path took %.3f ms",
		      restart / 1e6);
	fprintf(stderr,
		"kill_server: worst by way of waiting: run %.3f, recv_wait "
		"%.3f, wait %.3f, send %.3f ms\n",
		worst_mode[0] / 1e6, worst_mode[1] / 1e6, worst_mode[2] / 1e6,
		worst_mode[3] / 1e6);

	/* the last one's path too takes a new server at once, and it serves */
	srv = srv_spawn(&o, NULL);
	cc.path = t_path;
	ck_assert_int_eq(iface_client_connect(&c, &cc, &why), 0);
	iface_client_close(c);
	stop_server(srv);
	close(ready[0]);
	close(ready[1]);
	close(res[0]);
	close(res[1]);
}
END_TEST

/* ---- refusals ------------------------------------------------------------------ */

static int raw_connect_hello(void)
{
	struct wire_msg m;
	int sock = fdpass_connect(t_path, SOCK_SEQPACKET, 5000);

	ck_assert_int_ge(sock, 0);
	ck_assert_int_eq(t_raw_recv(sock, &m, NULL, 5000), 0);
	ck_assert_uint_eq(m.type, WIRE_HELLO);
	ck_assert_uint_eq(m.version, WIRE_VERSION);
	ck_assert_uint_eq(m.u.hello.elem_size, T_ELEM);
	return sock;
}

static struct wire_join plain_join(void)
{
	struct wire_join j = { .elem_size = T_ELEM };

	memset(j.nonce, 0x5a, sizeof(j.nonce));
	return j;
}

/* Expect a REFUSE or BYE (type) with code, then the end of the socket. */
static void expect_reason(int sock, uint16_t type, uint32_t code,
			  const char *text_part)
{
	struct wire_msg m;

	ck_assert_int_eq(t_raw_recv(sock, &m, NULL, 5000), 0);
	ck_assert_uint_eq(m.type, type);
	ck_assert_uint_eq(m.u.reason.code, code);
	if (text_part)
		ck_assert_msg(strstr(m.u.reason.text, text_part) != NULL,
			      "reason text '%s' lacks '%s'", m.u.reason.text,
			      text_part);
	ck_assert_int_eq(t_raw_recv(sock, &m, NULL, 5000), -EPIPE);
}

/*
 * A JOIN in protocol version 2 (built with wire_encode_raw on a raw
 * SOCK_SEQPACKET socket) gets a REFUSE, code VERSION, whose text names both
 * versions; then the server closes. The server keeps serving: a good client
 * connects after it.
 */
START_TEST(test_refuse_version)
{
	struct srv_opts o = { .path = t_path };
	struct iface_client_config cc = { .path = t_path };
	struct iface_client *c;
	struct iface_reason why;
	unsigned char buf[WIRE_MAX_MSG];
	struct wire_join j = plain_join();
	pid_t srv = srv_spawn(&o, NULL);
	int sock = raw_connect_hello(), n;

	n = wire_encode_raw(buf, sizeof(buf), 2, WIRE_JOIN, &j, sizeof(j));
	ck_assert_int_gt(n, 0);
	ck_assert_int_eq(fdpass_send(sock, buf, (size_t)n, NULL, 0, 1000), n);
	expect_reason(sock, WIRE_REFUSE, IFACE_R_VERSION, "version 2");
	close(sock);
	ck_assert_int_eq(iface_client_connect(&c, &cc, &why), 0);
	iface_client_close(c);
	stop_server(srv);
}
END_TEST

/*
 * The other way round: a foreign server that says HELLO in version 2. The
 * library client gives -EPROTONOSUPPORT with a VERSION reason naming both
 * versions, and tells the server so with a BYE (code VERSION).
 */
START_TEST(test_refuse_version_client)
{
	struct iface_client_config cc = { .path = t_path, .timeout_ms = 5000 };
	struct fdpass_listen_opts lo = { .type = SOCK_SEQPACKET };
	struct fdpass_listener *l;
	struct iface_client *c = NULL;
	struct iface_reason why;
	pid_t pid;

	ck_assert_int_eq(fdpass_listen(&l, t_path, &lo), 0);
	pid = t_fork();
	if (pid == 0) {
		struct wire_hello h = { .max_fds = 8, .elem_size = T_ELEM };
		unsigned char buf[WIRE_MAX_MSG];
		struct wire_msg m;
		int s = fdpass_accept(l, 0, 5000), n;

		if (s < 0)
			_exit(1);
		n = wire_encode_raw(buf, sizeof(buf), 2, WIRE_HELLO, &h,
				    sizeof(h));
		if (n < 0 || fdpass_send(s, buf, (size_t)n, NULL, 0, 1000) != n)
			_exit(2);
		if (t_raw_recv(s, &m, NULL, 5000) != 0 || m.type != WIRE_BYE)
			_exit(3);
		_exit(m.u.reason.code == IFACE_R_VERSION ? 0 : 4);
	}
	ck_assert_int_eq(iface_client_connect(&c, &cc, &why),
			 -EPROTONOSUPPORT);
	ck_assert_ptr_null(c);
	ck_assert_uint_eq(why.code, IFACE_R_VERSION);
	ck_assert_msg(strstr(why.text, "version 2") != NULL, "%s", why.text);
	ck_assert_int_eq(tu_wait(pid), 0);
	fdpass_listener_close(l);
}
END_TEST

/*
 * A typed server (type id all 0x11, 64-byte elements, 1024 slots): another
 * type id, an untyped server asked for a type, another element size and a
 * larger capacity are each refused with -ECONNREFUSED and the right code
 * and text; the matching demand is accepted (so the refusals are not just
 * "everything fails").
 */
START_TEST(test_refuse_type)
{
	struct srv_opts o = { .path = t_path, .typed = 1 };
	struct srv_opts u = { .path = t_path };
	struct iface_client_config cc = { .path = t_path };
	struct iface_client *c;
	struct iface_reason why;
	pid_t srv = srv_spawn(&o, NULL);

	memset(cc.type_id, 0x22, sizeof(cc.type_id));
	ck_assert_int_eq(iface_client_connect(&c, &cc, &why), -ECONNREFUSED);
	ck_assert_uint_eq(why.code, IFACE_R_TYPE);
	ck_assert_str_eq(why.text, "element type differs from the server's");

	memset(cc.type_id, 0x11, sizeof(cc.type_id));
	cc.elem_size = 32;
	ck_assert_int_eq(iface_client_connect(&c, &cc, &why), -ECONNREFUSED);
	ck_assert_uint_eq(why.code, IFACE_R_SIZE);
	ck_assert_str_eq(why.text, "element size 32 asked, the server's is 64");

	cc.elem_size = T_ELEM;
	cc.min_capacity = 4096;
	ck_assert_int_eq(iface_client_connect(&c, &cc, &why), -ECONNREFUSED);
	ck_assert_uint_eq(why.code, IFACE_R_CAPACITY);
	ck_assert_str_eq(why.text,
			 "capacity 4096 asked, the server's rings hold 1024");

	cc.min_capacity = 1024;
	ck_assert_int_eq(iface_client_connect(&c, &cc, &why), 0);
	ck_assert_uint_eq(why.code, IFACE_R_NONE);
	ck_assert_uint_eq(iface_client_elem_size(c), T_ELEM);
	ck_assert_uint_eq(iface_client_capacity(c), 1024);
	iface_client_close(c);
	stop_server(srv);

	srv = srv_spawn(&u, NULL);
	ck_assert_int_eq(iface_client_connect(&c, &cc, &why), -ECONNREFUSED);
	ck_assert_uint_eq(why.code, IFACE_R_TYPE);
	ck_assert_str_eq(why.text, "the server's channel is untyped");
	stop_server(srv);
}
END_TEST

/*
 * max_clients 2: a third client is refused (FULL, "server full (2
 * clients)"); once one of the two has left (the server's note says so) a
 * new one gets in.
 */
START_TEST(test_refuse_full)
{
	struct srv_opts o = { .path = t_path, .max_clients = 2 };
	struct iface_client_config cc = { .path = t_path };
	struct iface_client *a, *b, *c;
	struct iface_reason why;
	struct srv_note n;
	int notes;
	pid_t srv = srv_spawn(&o, &notes);

	ck_assert_int_eq(iface_client_connect(&a, &cc, &why), 0);
	ck_assert_int_eq(iface_client_connect(&b, &cc, &why), 0);
	ck_assert_int_eq(iface_client_connect(&c, &cc, &why), -ECONNREFUSED);
	ck_assert_uint_eq(why.code, IFACE_R_FULL);
	ck_assert_str_eq(why.text, "server full (2 clients)");
	iface_client_close(a);
	srv_note_read(notes, &n);
	ck_assert_uint_eq(n.code, IFACE_R_CLOSED);
	ck_assert_int_eq(iface_client_connect(&c, &cc, &why), 0);
	iface_client_close(b);
	iface_client_close(c);
	stop_server(srv);
	close(notes);
}
END_TEST

/*
 * Handshake time-out, server side: a peer that connects and never sends
 * JOIN is refused (TIMEOUT, "handshake time-out (150 ms)") no sooner than
 * 150 ms and well before a second, and the server serves others after.
 * Client side: a server that accepts (here: the backlog) and says nothing
 * gives iface_client_connect -ETIMEDOUT with a TIMEOUT reason.
 */
START_TEST(test_refuse_timeout)
{
	struct srv_opts o = { .path = t_path, .handshake_ms = 150 };
	struct iface_client_config cc = { .path = t_path };
	struct fdpass_listen_opts lo = { .type = SOCK_SEQPACKET };
	struct fdpass_listener *l;
	struct iface_client *c;
	struct iface_reason why;
	int64_t t0, dt;
	pid_t srv = srv_spawn(&o, NULL);
	int sock;

	t0 = t_now_ns();
	sock = raw_connect_hello();
	expect_reason(sock, WIRE_REFUSE, IFACE_R_TIMEOUT,
		      "handshake time-out (150 ms)");
	dt = t_now_ns() - t0;
	close(sock);
	fprintf(stderr, "refuse_timeout: dropped after %.1f ms\n", dt / 1e6);
	ck_assert_int_ge(dt, 150 * 1000000LL);
	ck_assert_int_lt(dt, 1000 * 1000000LL);
	ck_assert_int_eq(iface_client_connect(&c, &cc, &why), 0);
	iface_client_close(c);
	stop_server(srv);

	ck_assert_int_eq(fdpass_listen(&l, t_path, &lo), 0);
	cc.timeout_ms = 100;
	t0 = t_now_ns();
	ck_assert_int_eq(iface_client_connect(&c, &cc, &why), -ETIMEDOUT);
	dt = t_now_ns() - t0;
	ck_assert_uint_eq(why.code, IFACE_R_TIMEOUT);
	ck_assert_int_ge(dt, 100 * 1000000LL);
	ck_assert_int_lt(dt, 1000 * 1000000LL);
	fdpass_listener_close(l);
}
END_TEST

/*
 * A client killed in the middle of its handshake, right after its JOIN
 * (twenty times): the WELCOME and its six descriptors may still be in the
 * dead socket's queue. The server reports a hang-up for it and its
 * descriptors and memfd mappings are back to their level each time.
 */
START_TEST(test_kill_client_handshake)
{
	struct srv_opts o = { .path = t_path };
	int notes, fds0, maps0;
	pid_t srv = srv_spawn(&o, &notes);

	fds0 = proc_fd_count(srv);
	maps0 = proc_memfd_maps(srv);
	for (int v = 0; v < 20; v++) {
		struct srv_note n;
		pid_t vic = t_fork();

		if (vic == 0) {
			unsigned char buf[WIRE_MAX_MSG], hello[WIRE_MAX_MSG + 1];
			struct wire_join j = plain_join();
			int sock = fdpass_connect(t_path, SOCK_SEQPACKET, 5000);
			unsigned nfds = 0;
			int k = wire_encode_join(buf, sizeof(buf), &j);

			if (sock < 0 || k < 0 ||
			    fdpass_recv(sock, hello, sizeof(hello), NULL, &nfds,
					5000) <= 0 ||
			    fdpass_send(sock, buf, (size_t)k, NULL, 0, 1000) !=
				    k)
				_exit(1);
			raise(SIGKILL);
			_exit(2);
		}
		ck_assert_int_eq(tu_wait(vic), 128 + SIGKILL);
		srv_note_read(notes, &n);
		ck_assert_int_eq(n.pid, vic);
		ck_assert_uint_eq(n.code, IFACE_R_HANGUP);
		ck_assert_uint_eq(n.rx, 0);
		ck_assert_int_eq(proc_fd_count(srv), fds0);
		ck_assert_int_eq(proc_memfd_maps(srv), maps0);
	}
	stop_server(srv);
	close(notes);
}
END_TEST

/* ---- hostile clients ----------------------------------------------------------- */

/* Complete a raw handshake: JOIN, WELCOME with its six fds (closed). */
static int raw_open(void)
{
	unsigned char buf[WIRE_MAX_MSG];
	struct wire_join j = plain_join();
	struct wire_msg m;
	unsigned nfds = 0;
	int sock = raw_connect_hello();
	int n = wire_encode_join(buf, sizeof(buf), &j);

	ck_assert_int_gt(n, 0);
	ck_assert_int_eq(fdpass_send(sock, buf, (size_t)n, NULL, 0, 1000), n);
	ck_assert_int_eq(t_raw_recv(sock, &m, &nfds, 5000), 0);
	ck_assert_uint_eq(m.type, WIRE_WELCOME);
	ck_assert_uint_eq(nfds, WIRE_WELCOME_NFDS);
	return sock;
}

enum hostile {
	H_GARBAGE,      /* random bytes instead of JOIN */
	H_TRUNCATED,    /* the first 40 bytes of a JOIN */
	H_LONG,         /* a JOIN with 200 bytes more */
	H_JOIN_FDS,     /* a good JOIN carrying two fds */
	H_TOO_MANY_FDS, /* a good JOIN carrying 12 fds (max_fds 8) */
	H_OPEN_GARBAGE, /* after WELCOME: garbage */
	H_OPEN_FDS,     /* after WELCOME: a BYE carrying an fd */
	H_OPEN_JOIN,    /* after WELCOME: a second JOIN */
	H_COUNT
};

/* Play one hostile client and see it dropped with a PROTOCOL reason. Any
 * fds it passes are the write end of a pipe: the read end sees end of file
 * only once the server has closed every copy it received. */
static void play_hostile(enum hostile h)
{
	unsigned char buf[WIRE_MAX_MSG + 256];
	struct wire_join j = plain_join();
	int sock, n, p[2] = { -1, -1 }, fds[12];
	unsigned nf = 0;
	char b;

	memset(buf, 0, sizeof(buf));
	n = wire_encode_join(buf, sizeof(buf), &j);
	ck_assert_int_gt(n, 0);
	if (h == H_JOIN_FDS || h == H_TOO_MANY_FDS || h == H_OPEN_FDS) {
		t_pipe(p);
		nf = h == H_TOO_MANY_FDS ? 12 : h == H_JOIN_FDS ? 2 : 1;
		for (unsigned i = 0; i < nf; i++)
			fds[i] = p[1];
	}
	sock = h >= H_OPEN_GARBAGE ? raw_open() : raw_connect_hello();
	switch (h) {
	case H_GARBAGE:
	case H_OPEN_GARBAGE:
		for (int i = 0; i < 100; i++)
			buf[i] = (unsigned char)(i * 37 + 11);
		n = 100;
		break;
	case H_TRUNCATED:
		n = 40;
		break;
	case H_LONG:
		n += 200;
		break;
	case H_OPEN_FDS:
		n = wire_encode_reason(buf, sizeof(buf), WIRE_BYE,
				       IFACE_R_CLOSED, "bye");
		ck_assert_int_gt(n, 0);
		break;
	default:
		break;
	}
	ck_assert_int_eq(fdpass_send(sock, buf, (size_t)n, nf ? fds : NULL, nf,
				     1000),
			 n);
	expect_reason(sock, h >= H_OPEN_GARBAGE ? WIRE_BYE : WIRE_REFUSE,
		      IFACE_R_PROTOCOL, NULL);
	close(sock);
	if (p[0] >= 0) {
		/* every copy the server got is closed: end of file */
		struct pollfd pf = { .fd = p[0], .events = POLLIN };

		close(p[1]);
		ck_assert_msg(poll(&pf, 1, 5000) == 1,
			      "case %d: the server kept a passed fd", h);
		ck_assert_int_eq(read(p[0], &b, 1), 0);
		close(p[0]);
	}
}

/*
 * Each hostile client (garbage, truncated, too long, fds on JOIN, more fds
 * than max_fds, and after WELCOME: garbage, an fd on a BYE, a second JOIN)
 * is answered with REFUSE / BYE code PROTOCOL and dropped; the descriptors
 * it passed are closed by the server; the server's descriptor and memfd
 * mapping counts are back to their level; and a good client streaming all
 * along sees no error and no stall.
 */
START_TEST(test_hostile)
{
	struct srv_opts o = { .path = t_path };
	int notes, stop[2], ready[2], fds0, maps0;
	pid_t srv, good;
	char b;

	srv = srv_spawn(&o, &notes);
	t_pipe(stop);
	t_pipe(ready);
	good = echo_client_spawn(t_path, 7, UINT64_MAX, 256, stop[0], ready[1],
				 1000);
	ck_assert_int_eq(t_read_full(ready[0], &b, 1), 1);
	fds0 = proc_fd_count(srv);
	maps0 = proc_memfd_maps(srv);
	for (int round = 0; round < 3; round++)
		for (int h = 0; h < H_COUNT; h++) {
			play_hostile((enum hostile)h);
			ck_assert_msg(proc_fd_count(srv) == fds0,
				      "case %d: server fds %d, were %d", h,
				      proc_fd_count(srv), fds0);
			ck_assert_int_eq(proc_memfd_maps(srv), maps0);
		}
	ck_assert_int_eq(t_write_full(stop[1], "s", 1), 0);
	ck_assert_int_eq(tu_wait(good), XC_OK);
	stop_server(srv);
	close(notes);
	close(stop[0]);
	close(stop[1]);
	close(ready[0]);
	close(ready[1]);
}
END_TEST

/* ---- hostile rings -------------------------------------------------------------- */

enum hostile_ring {
	HR_LEN,       /* a published slot whose len is past elem_size */
	HR_TAIL,      /* a tail far past what a ring can hold */
	HR_TAIL_BACK, /* a tail far behind the server's head */
	HR_COUNT
};

/* Corrupt the client-to-server ring the way h says, ring its doorbell,
 * and expect BYE (CORRUPT) then the end of the socket. */
static void play_hostile_ring(enum hostile_ring h)
{
	struct wire_join j = plain_join();
	int fds[WIRE_WELCOME_NFDS], sock = t_raw_open_fds(&j, fds);
	struct ipcq_layout lay;
	struct ipcq_hdr hdr;
	struct ipcq_slot *slot;
	struct ipcq_shm *shm;
	uint64_t one = 1, first;
	ssize_t r;
	struct stat st;
	uint8_t *map;

	ck_assert_int_eq(fstat(fds[0], &st), 0);
	map = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE,
		   MAP_SHARED, fds[0], 0);
	ck_assert_ptr_ne(map, MAP_FAILED);
	shm = (struct ipcq_shm *)map;
	memcpy(&hdr, map, sizeof(hdr));
	ck_assert_uint_eq(hdr.elem_size, T_ELEM);
	first = hdr.first_index;
	ipcq_layout_of(hdr.elem_size, hdr.capacity, &lay);
	slot = ipcq_words_at(map, &lay, first & (hdr.capacity - 1));
	switch (h) {
	case HR_LEN:
		memset(ipcq_data_at(map, &lay, first & (hdr.capacity - 1)), 0xab,
		       T_ELEM);
		__atomic_store_n(&slot->len, T_ELEM + 1000, __ATOMIC_RELAXED);
		__atomic_store_n(&slot->seq, (uint32_t)(first + 1),
				 __ATOMIC_RELEASE);
		__atomic_store_n(&shm->prod.index, first + 1,
				 __ATOMIC_RELEASE);
		break;
	case HR_TAIL:
		__atomic_store_n(&shm->prod.index, first + 4 * hdr.capacity,
				 __ATOMIC_RELEASE);
		break;
	case HR_TAIL_BACK:
		__atomic_store_n(&shm->prod.index, first - 4 * hdr.capacity,
				 __ATOMIC_RELEASE);
		break;
	default:
		break;
	}
	/* the data doorbell of that ring, whether or not the server sleeps
	 * (EPIPE / ECONNRESET: it saw the lie polling and closed the ring) */
	r = send(fds[1], &one, sizeof(one), MSG_NOSIGNAL);
	ck_assert_msg(r == (ssize_t)sizeof(one) || errno == EPIPE ||
			      errno == ECONNRESET,
		      "ring: %s", strerror(errno));
	expect_reason(sock, WIRE_BYE, IFACE_R_CORRUPT, NULL);
	munmap(map, (size_t)st.st_size);
	for (int i = 0; i < WIRE_WELCOME_NFDS; i++)
		close(fds[i]);
	close(sock);
}

/*
 * A client that writes lies into its own ring (a length past the slot, a
 * tail past what the ring holds, a tail behind the head) is dropped with a
 * CORRUPT BYE, never read out of bounds; the server's descriptors and
 * mappings return to their level and a good client streaming all along
 * sees no error.
 */
START_TEST(test_hostile_ring)
{
	struct srv_opts o = { .path = t_path };
	int notes, stop[2], ready[2], fds0, maps0;
	pid_t srv, good;
	char b;

	srv = srv_spawn(&o, &notes);
	t_pipe(stop);
	t_pipe(ready);
	good = echo_client_spawn(t_path, 7, UINT64_MAX, 256, stop[0], ready[1],
				 1000);
	ck_assert_int_eq(t_read_full(ready[0], &b, 1), 1);
	fds0 = proc_fd_count(srv);
	maps0 = proc_memfd_maps(srv);
	for (int round = 0; round < 3; round++)
		for (int h = 0; h < HR_COUNT; h++) {
			struct srv_note n;

			play_hostile_ring((enum hostile_ring)h);
			srv_note_read(notes, &n);
			ck_assert_uint_eq(n.code, IFACE_R_CORRUPT);
			ck_assert_uint_eq(n.rx, 0);
			ck_assert_int_eq(proc_fd_count(srv), fds0);
			ck_assert_int_eq(proc_memfd_maps(srv), maps0);
		}
	ck_assert_int_eq(t_write_full(stop[1], "s", 1), 0);
	ck_assert_int_eq(tu_wait(good), XC_OK);
	stop_server(srv);
	close(notes);
	close(stop[0]);
	close(stop[1]);
	close(ready[0]);
	close(ready[1]);
}
END_TEST

/* ---- hostile servers ------------------------------------------------------------ */

enum hostile_srv {
	HS_HELLO_FDS,     /* a HELLO carrying two fds */
	HS_GARBAGE,       /* random bytes instead of HELLO */
	HS_WELCOME_PIPES, /* WELCOME whose six fds are pipes, not rings */
	HS_WELCOME_7,     /* WELCOME with seven fds */
	HS_WELCOME_12,    /* WELCOME with twelve fds */
	HS_WELCOME_5,     /* WELCOME with five fds */
	HS_REFUSE_FD,     /* REFUSE carrying an fd */
	HS_COUNT
};

/* The fake server's side of one case; exit 0 when every fd it passed was
 * closed by the client (the pipe's read end sees end of file). */
static int fake_server(struct fdpass_listener *l, enum hostile_srv h)
{
	struct wire_hello hello = { .max_fds = 8, .elem_size = T_ELEM };
	struct wire_welcome w = { .elem_size = T_ELEM, .capacity_c2s = 1024,
				  .capacity_s2c = 1024, .conn_id = 1 };
	unsigned char buf[WIRE_MAX_MSG];
	int p[2], fds[12], s, n;
	unsigned nf = 0;
	struct wire_msg m;
	struct pollfd pf;
	char b;

	if (pipe2(p, O_CLOEXEC) < 0)
		return 1;
	for (int i = 0; i < 12; i++)
		fds[i] = p[1];
	s = fdpass_accept(l, 0, 5000);
	if (s < 0)
		return 2;
	n = wire_encode_hello(buf, sizeof(buf), &hello);
	if (h == HS_HELLO_FDS)
		nf = 2;
	if (h == HS_GARBAGE) {
		for (int i = 0; i < 48; i++)
			buf[i] = (unsigned char)(i * 7 + 3);
		n = 48;
	}
	if (fdpass_send(s, buf, (size_t)n, nf ? fds : NULL, nf, 1000) != n)
		return 3;
	if (h >= HS_WELCOME_PIPES) {
		if (t_raw_recv(s, &m, NULL, 5000) != 0 || m.type != WIRE_JOIN)
			return 4;
		if (h == HS_REFUSE_FD) {
			n = wire_encode_reason(buf, sizeof(buf), WIRE_REFUSE,
					       IFACE_R_FULL, "full");
			nf = 1;
		} else {
			n = wire_encode_welcome(buf, sizeof(buf), &w);
			nf = h == HS_WELCOME_7 ? 7 : h == HS_WELCOME_12 ? 12
				: h == HS_WELCOME_5 ? 5 : 6;
		}
		if (fdpass_send(s, buf, (size_t)n, fds, nf, 1000) != n)
			return 5;
	}
	close(p[1]);
	pf.fd = p[0];
	pf.events = POLLIN;
	if (poll(&pf, 1, 5000) != 1 || read(p[0], &b, 1) != 0)
		return 6; /* some copy is still open in the client */
	close(s);
	return 0;
}

/*
 * A foreign server that breaks the handshake: fds on HELLO, garbage, a
 * WELCOME whose fds are not rings, with 7, 12 or 5 fds, fds on a REFUSE.
 * The client's connect fails with -EPROTO (a PROTOCOL reason), closes
 * every descriptor it was sent (the fake server sees its pipe's end of
 * file) and keeps none of its own (the descriptor count is unchanged).
 */
START_TEST(test_hostile_server)
{
	struct fdpass_listen_opts lo = { .type = SOCK_SEQPACKET };
	struct iface_client_config cc = { .path = t_path, .timeout_ms = 5000 };
	struct fdpass_listener *l;

	ck_assert_int_eq(fdpass_listen(&l, t_path, &lo), 0);
	for (int h = 0; h < HS_COUNT; h++) {
		struct iface_client *c = NULL;
		struct iface_reason why;
		int nfd = tu_fd_count(), r;
		pid_t pid = t_fork();

		if (pid == 0)
			_exit(fake_server(l, (enum hostile_srv)h));
		r = iface_client_connect(&c, &cc, &why);
		ck_assert_msg(r == -EPROTO, "case %d: connect gave %d (%s)", h,
			      r, why.text);
		ck_assert_ptr_null(c);
		ck_assert_uint_eq(why.code, IFACE_R_PROTOCOL);
		ck_assert_int_eq(tu_fd_count(), nfd);
		r = tu_wait(pid);
		ck_assert_msg(r == 0, "case %d: fake server %d", h, r);
	}
	fdpass_listener_close(l);
}
END_TEST

/* ---- stop() from a signal handler ------------------------------------------------ */

static struct iface_reason g_bye;
static int g_byes;

static void bye_cb(struct iface_client *c, const struct iface_reason *why,
		   void *user)
{
	(void)c;
	(void)user;
	g_bye = *why;
	g_byes++;
}

/*
 * A server in iface_server_run(), stopped by SIGTERM whose handler calls
 * iface_server_stop(): run() returns 0, the server is destroyed (the child
 * exits 0 only if run returned 0 and the path is gone), and the connected
 * client gets on_disconnect once with SHUTDOWN. In-process: a stop before
 * a dispatch gives -ECANCELED once, then the stop request is cleared.
 */
START_TEST(test_stop_signal)
{
	struct srv_opts o = { .path = t_path, .use_run = 1 };
	struct iface_server_config sc = { 0 };
	struct iface_client_config cc = { .path = t_path };
	struct iface_server *s;
	struct iface_client *c;
	struct iface_reason why;
	struct tmsg m;
	pid_t srv = srv_spawn(&o, NULL);
	int r;

	cc.cb.on_message = wd_message;
	cc.cb.on_disconnect = bye_cb;
	ck_assert_int_eq(iface_client_connect(&c, &cc, &why), 0);
	tmsg_fill(&m, 1, TM_REQ, 0, 0);
	ck_assert_int_eq(iface_client_send(c, &m, sizeof(m)), 0);
	ck_assert_int_eq(kill(srv, SIGTERM), 0);
	while ((r = iface_client_dispatch(c, 5000)) >= 0)
		;
	ck_assert_int_eq(r, -EPIPE);
	ck_assert_int_eq(g_byes, 1);
	ck_assert_uint_eq(g_bye.code, IFACE_R_SHUTDOWN);
	ck_assert_int_eq(tu_wait(srv), XC_OK);
	ck_assert_int_eq(access(t_path, F_OK), -1);
	iface_client_close(c);

	sc.path = t_path;
	ck_assert_int_eq(iface_server_create(&s, &sc), 0);
	iface_server_stop(s);
	ck_assert_int_eq(iface_server_dispatch(s, 1000), -ECANCELED);
	ck_assert_int_eq(iface_server_dispatch(s, 0), 0);
	iface_server_destroy(s);
}
END_TEST

static struct iface_client *g_client;
static unsigned g_echoes;

static void on_usr1(int sig)
{
	(void)sig;
	iface_client_stop(g_client); /* async-signal-safe */
}

static void echo_count(struct iface_client *c, const struct iface_msg *m,
		       unsigned n, void *user)
{
	(void)c;
	(void)m;
	(void)user;
	g_echoes += n;
}

/*
 * The client's side: iface_client_run() ended by a signal handler that
 * calls iface_client_stop() (sent by another process, whenever it lands:
 * before run() or inside it) returns 0; the client is still usable after
 * it: a request sent then is answered through its run loop.
 */
START_TEST(test_client_stop_signal)
{
	struct srv_opts o = { .path = t_path };
	struct iface_client_config cc = { .path = t_path };
	struct sigaction sa = { 0 };
	struct iface_reason why;
	struct tmsg m;
	int go[2], r;
	pid_t srv = srv_spawn(&o, NULL), kid;

	cc.cb.on_message = echo_count;
	ck_assert_int_eq(iface_client_connect(&g_client, &cc, &why), 0);
	sa.sa_handler = on_usr1;
	sigemptyset(&sa.sa_mask);
	ck_assert_int_eq(sigaction(SIGUSR1, &sa, NULL), 0);
	t_pipe(go);
	kid = t_fork();
	if (kid == 0) {
		char b;

		if (read(go[0], &b, 1) != 1)
			_exit(1);
		_exit(kill(getppid(), SIGUSR1) == 0 ? 0 : 2);
	}
	ck_assert_int_eq(write(go[1], "g", 1), 1);
	ck_assert_int_eq(iface_client_run(g_client), 0);
	ck_assert_int_eq(tu_wait(kid), 0);

	g_echoes = 0;
	tmsg_fill(&m, 3, TM_REQ, 0, 0);
	ck_assert_int_eq(iface_client_send(g_client, &m, sizeof(m)), 0);
	while (g_echoes == 0) {
		r = iface_client_dispatch(g_client, 5000);
		ck_assert_int_ge(r, 0);
	}
	ck_assert_uint_eq(g_echoes, 1);
	iface_client_close(g_client);
	g_client = NULL;
	stop_server(srv);
	close(go[0]);
	close(go[1]);
}
END_TEST

/* ---- nothing published is lost when the peer dies -------------------------------- */

/* An in-process server that records what it was given, in order, from
 * up to REC_MAX clients (its max_clients). */
#define REC_MAX 128

struct rec {
	unsigned connects, disconnects, calls;
	uint64_t msgs, bad, at_disconnect;
	uint64_t next[REC_MAX]; /* next sequence number expected per client */
	unsigned ack_every; /* answer each client every that many */
	uint32_t code;
	struct iface_conn *conn[REC_MAX];
	pid_t pid[REC_MAX];
};

static struct rec g_rec;

static int rec_connect(struct iface_conn *c, void *user)
{
	(void)user;
	if (g_rec.connects < REC_MAX) {
		g_rec.conn[g_rec.connects] = c;
		g_rec.pid[g_rec.connects] = iface_conn_pid(c);
	}
	g_rec.connects++;
	return 0;
}

static void rec_message(struct iface_conn *c, const struct iface_msg *msgs,
			unsigned n, void *user)
{
	(void)user;
	g_rec.calls++;
	for (unsigned i = 0; i < n; i++) {
		struct tmsg m;

		/* in order per client (who < REC_MAX), none missing or
		 * twice */
		if (!tmsg_ok(msgs[i].data, msgs[i].len, &m) ||
		    m.who >= REC_MAX ||
		    m.seq != g_rec.next[m.who]++)
			g_rec.bad++;
		g_rec.msgs++;
		if (g_rec.ack_every && m.who < REC_MAX &&
		    g_rec.next[m.who] % g_rec.ack_every == 0) {
			struct tmsg a;

			tmsg_fill(&a, m.who, TM_REP, g_rec.next[m.who], m.seq);
			if (iface_conn_send(c, &a, sizeof(a)) != 0)
				g_rec.bad++;
		}
	}
}

static void rec_disconnect(struct iface_conn *c, const struct iface_reason *why,
			   void *user)
{
	(void)user;
	g_rec.disconnects++;
	g_rec.code = why->code;
	g_rec.at_disconnect = g_rec.msgs;
	for (unsigned i = 0; i < g_rec.connects && i < REC_MAX; i++)
		if (g_rec.conn[i] == c)
			g_rec.conn[i] = NULL;
}

static int g_rec_spin; /* cfg.spin of the next rec_server */

static struct iface_server *rec_server(uint32_t capacity,
				       enum iface_full_policy pol)
{
	struct iface_server_config sc = { 0 };
	struct iface_server *s;

	memset(&g_rec, 0, sizeof(g_rec));
	sc.path = t_path;
	sc.elem_size = T_ELEM;
	sc.capacity = capacity;
	sc.max_clients = REC_MAX;
	sc.full_policy = pol;
	sc.spin = g_rec_spin;
	sc.cb.on_connect = rec_connect;
	sc.cb.on_message = rec_message;
	sc.cb.on_disconnect = rec_disconnect;
	ck_assert_int_eq(iface_server_create(&s, &sc), 0);
	return s;
}

/* Dispatch until cond holds; 5 s of dispatching with nothing to do fails. */
#define DISPATCH_UNTIL(s, cond)                                              \
	do {                                                                 \
		int64_t t_end_ = t_now_ns() + 5000 * 1000000LL;              \
		while (!(cond)) {                                            \
			ck_assert_int_ge(iface_server_dispatch(s, 100), 0);  \
			ck_assert_msg(t_now_ns() < t_end_,                   \
				      "waited 5 s for " #cond);              \
		}                                                            \
	} while (0)

#define LEFT_N 700 /* messages left in a 1024-slot ring by the dying peer */

/*
 * Client to server: a client sends LEFT_N messages while the server is not
 * dispatching, then dies (SIGKILL, or a graceful close). Only then does the
 * server dispatch: it gets all LEFT_N, in order, and on_disconnect comes
 * after the last of them, with HANGUP (kill) or CLOSED (close). With the
 * server's default spin and with spin off (the hang-up and the data are
 * then seen in the same dispatch).
 */
START_TEST(test_left_in_ring_to_server)
{
	for (int run = 0; run < 4; run++) {
		int graceful = run & 1;
		struct iface_server *s;

		struct tu_barrier go, sent;
		pid_t pid;

		/* with the default spin the server may poll the ring and
		 * empty it before it sees the hang-up; without it (-1) it
		 * sees both in one epoll batch and must drain first */
		g_rec_spin = run < 2 ? 0 : -1;
		s = rec_server(1024, IFACE_FULL_EAGAIN);
		tu_barrier_init(&go);
		tu_barrier_init(&sent);
		pid = t_fork();
		if (pid == 0) {
			struct iface_client_config cc = { .path = t_path };
			struct iface_client *c;
			struct tmsg m;
			char b;

			if (iface_client_connect(&c, &cc, NULL) < 0)
				_exit(XC_CONNECT);
			if (read(go.fd[0], &b, 1) != 1)
				_exit(XC_PIPE);
			for (uint64_t i = 0; i < LEFT_N; i++) {
				tmsg_fill(&m, 1, TM_REQ, i, 0);
				if (iface_client_send(c, &m, sizeof(m)) != 0)
					_exit(XC_SEND);
			}
			if (write(sent.fd[1], "s", 1) != 1)
				_exit(XC_PIPE);
			if (graceful) {
				iface_client_close(c);
				_exit(XC_OK);
			}
			raise(SIGKILL);
			_exit(XC_PIPE);
		}
		DISPATCH_UNTIL(s, g_rec.connects == 1);
		/* the WELCOME is out; no more dispatching until it is dead */
		tu_barrier_signal(&go);
		tu_barrier_wait(&sent);
		ck_assert_int_eq(tu_wait(pid), graceful ? XC_OK : 128 + SIGKILL);
		DISPATCH_UNTIL(s, g_rec.disconnects == 1);
		ck_assert_uint_eq(g_rec.msgs, LEFT_N);
		ck_assert_uint_eq(g_rec.bad, 0);
		ck_assert_uint_eq(g_rec.at_disconnect, LEFT_N);
		ck_assert_uint_eq(g_rec.code,
				  graceful ? IFACE_R_CLOSED : IFACE_R_HANGUP);
		ck_assert_uint_eq(iface_server_nclients(s), 0);
		iface_server_destroy(s);
		tu_barrier_close(&go);
		tu_barrier_close(&sent);
	}
}
END_TEST

/* ---- big slots: what one dispatch takes out of a ring ------------------- */

#define BIG_ELEM (64u << 10)
#define BIG_N 64u

static struct {
	unsigned calls, max_n, msgs, bad;
} g_big;

static void big_message(struct iface_conn *c, const struct iface_msg *msgs,
			unsigned n, void *user)
{
	(void)c;
	(void)user;
	g_big.calls++;
	if (n > g_big.max_n)
		g_big.max_n = n;
	for (unsigned i = 0; i < n; i++) {
		uint64_t seq;

		memcpy(&seq, msgs[i].data, sizeof(seq));
		if (msgs[i].len != BIG_ELEM || seq != g_big.msgs)
			g_big.bad++;
		g_big.msgs++;
	}
}

static int big_connect(struct iface_conn *c, void *user)
{
	(void)c;
	(void)user;
	return 0;
}

/*
 * A client fills a ring of 64 KiB slots (64 of them, 4 MiB) while the
 * server is not dispatching. One dispatch then hands the callback at most
 * 256 KiB of slots per call and takes at most 4 such batches out of the
 * ring, not the whole ring (which went far past the caches of the
 * callback's copies); the rest comes in the next dispatches, in order.
 */
START_TEST(test_big_slots_budget)
{
	struct iface_server_config sc = {
		.path = t_path, .elem_size = BIG_ELEM, .capacity = BIG_N,
		.spin = -1,
		.cb = { .on_connect = big_connect, .on_message = big_message },
	};
	struct iface_server *s;
	struct tu_barrier go, sent;
	unsigned before;
	pid_t pid;

	memset(&g_big, 0, sizeof(g_big));
	ck_assert_int_eq(iface_server_create(&s, &sc), 0);
	tu_barrier_init(&go);
	tu_barrier_init(&sent);
	pid = t_fork();
	if (pid == 0) {
		struct iface_client_config cc = { .path = t_path };
		struct iface_client *c;
		static unsigned char m[BIG_ELEM];
		char b;

		if (iface_client_connect(&c, &cc, NULL) < 0)
			_exit(XC_CONNECT);
		if (read(go.fd[0], &b, 1) != 1)
			_exit(XC_PIPE);
		for (uint64_t i = 0; i < BIG_N; i++) {
			memcpy(m, &i, sizeof(i));
			if (iface_client_send(c, m, sizeof(m)) != 0)
				_exit(XC_SEND);
		}
		if (write(sent.fd[1], "s", 1) != 1)
			_exit(XC_PIPE);
		if (read(go.fd[0], &b, 1) != 1)
			_exit(XC_PIPE);
		iface_client_close(c);
		_exit(XC_OK);
	}
	DISPATCH_UNTIL(s, iface_server_nclients(s) == 1);
	tu_barrier_signal(&go);
	tu_barrier_wait(&sent);
	/* the doorbell may need a round to be seen: until something came */
	DISPATCH_UNTIL(s, g_big.msgs > 0);
	ck_assert_uint_le(g_big.max_n, (256u << 10) / BIG_ELEM);
	ck_assert_uint_le(g_big.msgs, 4 * ((256u << 10) / BIG_ELEM));
	before = g_big.msgs;
	ck_assert_int_ge(iface_server_dispatch(s, 0), 0);
	ck_assert_uint_le(g_big.msgs - before, 4 * ((256u << 10) / BIG_ELEM));
	DISPATCH_UNTIL(s, g_big.msgs == BIG_N);
	ck_assert_uint_eq(g_big.bad, 0);
	ck_assert_uint_le(g_big.max_n, (256u << 10) / BIG_ELEM);
	tu_barrier_signal(&go);
	ck_assert_int_eq(tu_wait(pid), XC_OK);
	DISPATCH_UNTIL(s, iface_server_nclients(s) == 0);
	iface_server_destroy(s);
	tu_barrier_close(&go);
	tu_barrier_close(&sent);
}
END_TEST

static uint64_t g_cmsgs, g_cbad, g_cat_disc;
static uint32_t g_ccode;
static int g_cdisc;

static void cl_message(struct iface_client *c, const struct iface_msg *msgs,
		       unsigned n, void *user)
{
	(void)c;
	(void)user;
	for (unsigned i = 0; i < n; i++) {
		struct tmsg m;

		if (!tmsg_ok(msgs[i].data, msgs[i].len, &m) ||
		    m.seq != g_cmsgs)
			g_cbad++;
		g_cmsgs++;
	}
}

static void cl_disconnect(struct iface_client *c,
			  const struct iface_reason *why, void *user)
{
	(void)c;
	(void)user;
	g_cdisc++;
	g_ccode = why->code;
	g_cat_disc = g_cmsgs;
}

/* A server child that waits for one client, sends it n messages and dies
 * by SIGKILL. */
static pid_t sender_server(unsigned n)
{
	int ready[2];
	pid_t pid;
	char b;

	t_pipe(ready);
	pid = t_fork();
	if (pid == 0) {
		struct iface_server *s = rec_server(1024, IFACE_FULL_EAGAIN);
		int64_t end = t_now_ns() + 5000 * 1000000LL;

		if (write(ready[1], "r", 1) != 1)
			_exit(XC_PIPE);
		while (iface_server_nclients(s) == 0 && t_now_ns() < end)
			if (iface_server_dispatch(s, 100) < 0)
				_exit(XC_SERVER);
		for (uint64_t i = 0; i < n; i++) {
			struct tmsg m;

			tmsg_fill(&m, 0, TM_REP, i, i);
			if (iface_server_broadcast(s, &m, sizeof(m)) != 1)
				_exit(XC_SEND);
		}
		raise(SIGKILL);
		_exit(XC_PIPE);
	}
	close(ready[1]);
	ck_assert_int_eq(t_read_full(ready[0], &b, 1), 1);
	close(ready[0]);
	return pid;
}

/*
 * Server to client: a server sends LEFT_N messages and dies by SIGKILL
 * before the client reads any. The client reads them all, in order, and
 * only then learns the server is gone: with recv (-EPIPE after the last),
 * and with the run loop (on_disconnect after the last on_message).
 */
START_TEST(test_left_in_ring_to_client)
{
	for (int loop = 0; loop < 2; loop++) {
		struct iface_client_config cc = { .path = t_path };
		struct iface_client *c;
		pid_t srv = sender_server(LEFT_N);
		struct tmsg m;
		ssize_t r;

		if (loop) {
			cc.cb.on_message = cl_message;
			cc.cb.on_disconnect = cl_disconnect;
			g_cmsgs = g_cbad = g_cat_disc = 0;
			g_cdisc = 0;
		}
		ck_assert_int_eq(iface_client_connect(&c, &cc, NULL), 0);
		ck_assert_int_eq(tu_wait(srv), 128 + SIGKILL);
		if (!loop) {
			for (uint64_t i = 0; i < LEFT_N; i++) {
				struct tmsg v;

				r = iface_client_recv(c, &m, sizeof(m));
				ck_assert_int_eq(r, (ssize_t)sizeof(m));
				ck_assert(tmsg_ok(&m, (size_t)r, &v));
				ck_assert_uint_eq(v.seq, i);
			}
			ck_assert_int_eq(iface_client_recv(c, &m, sizeof(m)),
					 -EPIPE);
			ck_assert_int_eq(iface_client_wait(c, 1000), -EPIPE);
		} else {
			ck_assert_int_eq(iface_client_run(c), -EPIPE);
			ck_assert_int_eq(g_cdisc, 1);
			ck_assert_uint_eq(g_cmsgs, LEFT_N);
			ck_assert_uint_eq(g_cbad, 0);
			ck_assert_uint_eq(g_cat_disc, LEFT_N);
			ck_assert_uint_eq(g_ccode, IFACE_R_HANGUP);
		}
		iface_client_close(c);
	}
}
END_TEST

/* ---- closing from inside the callbacks ----------------------------------------- */

enum cb_mode { CB_REFUSE, CB_CLOSE_IN_CONNECT, CB_GREET, CB_CLOSE_IN_MESSAGE };

static enum cb_mode g_cbmode;
static unsigned g_cb_msgs, g_cb_after_close, g_cb_disc;
static int g_cb_closed;
static struct iface_reason g_cb_why;

static int cb_connect(struct iface_conn *c, void *user)
{
	struct tmsg m;

	(void)user;
	switch (g_cbmode) {
	case CB_REFUSE:
		return -1;
	case CB_CLOSE_IN_CONNECT:
		iface_conn_close(c, IFACE_R_DENIED, "not today");
		return 0;
	case CB_GREET:
		tmsg_fill(&m, 0, TM_REP, 42, 42);
		return iface_conn_send(c, &m, sizeof(m)) == 0 ? 0 : -1;
	default:
		return 0;
	}
}

static void cb_message(struct iface_conn *c, const struct iface_msg *msgs,
		       unsigned n, void *user)
{
	(void)msgs;
	(void)user;
	if (g_cb_closed) {
		g_cb_after_close++; /* a call after the close */
		return;
	}
	for (unsigned i = 0; i < n && !g_cb_closed; i++) {
		if (++g_cb_msgs == 10) {
			iface_conn_close(c, IFACE_R_DENIED, "enough");
			g_cb_closed = 1;
		}
	}
}

static void cb_disconnect(struct iface_conn *c, const struct iface_reason *why,
			  void *user)
{
	(void)c;
	(void)user;
	g_cb_disc++;
	g_cb_why = *why;
}

struct cb_result {
	int32_t ret;
	uint32_t code;
	uint64_t first;
	char text[IFACE_TEXT_MAX];
};

static struct cb_result g_cbr;

static void cbr_disconnect(struct iface_client *c,
			   const struct iface_reason *why, void *user)
{
	(void)c;
	(void)user;
	g_cbr.code = why->code;
	memcpy(g_cbr.text, why->text, sizeof(g_cbr.text));
}

static int cb_client(enum cb_mode mode, int res_fd)
{
	struct iface_client_config cc = { .path = t_path };
	struct iface_client *c;
	struct iface_reason why;
	struct tmsg m, v;
	ssize_t r;

	memset(&g_cbr, 0, sizeof(g_cbr));
	cc.cb.on_message = wd_message;
	cc.cb.on_disconnect = cbr_disconnect;
	g_cbr.ret = iface_client_connect(&c, &cc, &why);
	g_cbr.code = why.code;
	memcpy(g_cbr.text, why.text, sizeof(g_cbr.text));
	if (g_cbr.ret == 0 && mode == CB_GREET) {
		r = iface_client_recv_wait(c, &m, sizeof(m), T_STALL_MS);
		if (r > 0 && tmsg_ok(&m, (size_t)r, &v))
			g_cbr.first = v.seq;
		iface_client_close(c);
	} else if (g_cbr.ret == 0) {
		for (uint64_t i = 0; i < 100; i++) {
			tmsg_fill(&m, 1, TM_REQ, i, 0);
			if (iface_client_send(c, &m, sizeof(m)) != 0)
				break;
		}
		g_cbr.ret = iface_client_run(c);
		iface_client_close(c);
	}
	return t_write_full(res_fd, &g_cbr, sizeof(g_cbr)) ? XC_PIPE : XC_OK;
}

/*
 * Closing from inside the callbacks. on_connect returning non-zero: the
 * client is refused (DENIED, "refused by the server"); on_connect closing
 * the conn: refused with the code and text it gave; on_connect sending: the
 * client reads that message first. on_message closing after the 10th
 * message: the client's run loop ends with -EPIPE and the code and text
 * given, on_message is not called again (the rest of the batch it was
 * looking at is its own business), on_disconnect exactly once with
 * that reason. None of the refused conns gets an on_disconnect.
 */
START_TEST(test_close_in_callback)
{
	for (int mode = CB_REFUSE; mode <= CB_CLOSE_IN_MESSAGE; mode++) {
		struct iface_server_config sc = { 0 };
		struct iface_server *s;
		struct cb_result res;
		int rp[2];
		pid_t pid;

		g_cbmode = (enum cb_mode)mode;
		g_cb_msgs = g_cb_after_close = g_cb_disc = 0;
		g_cb_closed = 0;
		sc.path = t_path;
		sc.elem_size = T_ELEM;
		sc.cb.on_connect = cb_connect;
		sc.cb.on_message = cb_message;
		sc.cb.on_disconnect = cb_disconnect;
		ck_assert_int_eq(iface_server_create(&s, &sc), 0);
		t_pipe(rp);
		pid = t_fork();
		if (pid == 0)
			_exit(cb_client((enum cb_mode)mode, rp[1]));
		close(rp[1]);
		/* the client's result comes when it is done; serve meanwhile */
		for (;;) {
			struct pollfd pf = { .fd = rp[0], .events = POLLIN };

			if (poll(&pf, 1, 0) == 1)
				break;
			ck_assert_int_ge(iface_server_dispatch(s, 50), 0);
		}
		ck_assert_int_eq(t_read_full(rp[0], &res, sizeof(res)),
				 (ssize_t)sizeof(res));
		close(rp[0]);
		ck_assert_int_eq(tu_wait(pid), XC_OK);
		switch (mode) {
		case CB_REFUSE:
			ck_assert_int_eq(res.ret, -ECONNREFUSED);
			ck_assert_uint_eq(res.code, IFACE_R_DENIED);
			ck_assert_str_eq(res.text, "refused by the server");
			break;
		case CB_CLOSE_IN_CONNECT:
			ck_assert_int_eq(res.ret, -ECONNREFUSED);
			ck_assert_uint_eq(res.code, IFACE_R_DENIED);
			ck_assert_str_eq(res.text, "not today");
			break;
		case CB_GREET:
			ck_assert_int_eq(res.ret, 0);
			ck_assert_uint_eq(res.first, 42);
			break;
		default:
			ck_assert_int_eq(res.ret, -EPIPE);
			ck_assert_uint_eq(res.code, IFACE_R_DENIED);
			ck_assert_str_eq(res.text, "enough");
			ck_assert_uint_eq(g_cb_msgs, 10);
			ck_assert_uint_eq(g_cb_after_close, 0);
			break;
		}
		/* a greeted client says BYE: let the server see it */
		DISPATCH_UNTIL(s, iface_server_nclients(s) == 0);
		ck_assert_uint_eq(g_cb_disc, mode >= CB_GREET ? 1 : 0);
		if (mode == CB_CLOSE_IN_MESSAGE) {
			ck_assert_uint_eq(g_cb_why.code, IFACE_R_DENIED);
			ck_assert_str_eq(g_cb_why.text, "enough");
		}
		iface_server_destroy(s);
	}
}
END_TEST

/* ---- a slow client ----------------------------------------------------------------- */

#define SLOW_CAP 256
#define SLOW_N (8 * SLOW_CAP)
#define SLOW_ROUND (SLOW_CAP / 2)

/* A client that reads nothing until told, then reports how many it finds
 * (all in order from 0) on res. */
static int slow_client(int ready_fd, int go_fd, int res_fd)
{
	struct iface_client_config cc = { .path = t_path };
	struct iface_client *c;
	uint64_t n = 0;
	struct tmsg m, v;
	ssize_t r;
	char b;

	if (iface_client_connect(&c, &cc, NULL) < 0)
		return XC_CONNECT;
	if (write(ready_fd, "r", 1) != 1 || read(go_fd, &b, 1) != 1)
		return XC_PIPE;
	while ((r = iface_client_recv(c, &m, sizeof(m))) > 0) {
		if (!tmsg_ok(&m, (size_t)r, &v))
			return XC_SUM;
		if (v.seq != n)
			return XC_ORDER;
		n++;
	}
	if (r != -EAGAIN)
		return XC_RECV;
	iface_client_close(c);
	return t_write_full(res_fd, &n, sizeof(n)) ? XC_PIPE : XC_OK;
}

/* A client that reads everything, in order, acking each SLOW_ROUND. */
static int fast_client(int ready_fd, int ack_fd)
{
	struct iface_client_config cc = { .path = t_path };
	struct iface_client *c;
	struct tmsg m, v;
	ssize_t r;

	if (iface_client_connect(&c, &cc, NULL) < 0)
		return XC_CONNECT;
	if (write(ready_fd, "r", 1) != 1)
		return XC_PIPE;
	for (uint64_t i = 0; i < SLOW_N; i++) {
		r = iface_client_recv_wait(c, &m, sizeof(m), T_STALL_MS);
		if (r < 0)
			return r == -ETIMEDOUT ? XC_STALL : XC_RECV;
		if (!tmsg_ok(&m, (size_t)r, &v))
			return XC_SUM;
		if (v.seq != i)
			return XC_ORDER;
		if ((i + 1) % SLOW_ROUND == 0 && write(ack_fd, "a", 1) != 1)
			return XC_PIPE;
	}
	iface_client_close(c);
	return XC_OK;
}

/*
 * Broadcast toward a client that reads nothing, beside one that reads all:
 * SLOW_N broadcasts (8 rings' worth) all return at once; the fast client
 * gets every message in order; the slow one's ring holds the first
 * SLOW_CAP; the rest are dropped and counted (IFACE_FULL_DROP) or refused
 * and counted as full (IFACE_FULL_EAGAIN, where iface_conn_send to it says
 * -EAGAIN). broadcast returns 2 while both rings had room, 1 after.
 */
START_TEST(test_slow_client)
{
	for (int pol = 0; pol < 2; pol++) {
		enum iface_full_policy policy =
			pol ? IFACE_FULL_DROP : IFACE_FULL_EAGAIN;
		struct iface_server *s = rec_server(SLOW_CAP, policy);
		int ready[2], go[2], res[2], ack[2];
		struct iface_conn *slow = NULL, *fast = NULL;
		struct iface_stats ss, fs;
		pid_t ps, pf;
		int64_t worst = 0;
		uint64_t got;
		char b;

		t_pipe(ready);
		t_pipe(go);
		t_pipe(res);
		t_pipe(ack);
		ps = t_fork();
		if (ps == 0)
			_exit(slow_client(ready[1], go[0], res[1]));
		pf = t_fork();
		if (pf == 0)
			_exit(fast_client(ready[1], ack[1]));
		DISPATCH_UNTIL(s, g_rec.connects == 2);
		ck_assert_int_eq(t_read_full(ready[0], &b, 1), 1);
		ck_assert_int_eq(t_read_full(ready[0], &b, 1), 1);
		for (int i = 0; i < 2; i++) {
			if (g_rec.pid[i] == ps)
				slow = g_rec.conn[i];
			if (g_rec.pid[i] == pf)
				fast = g_rec.conn[i];
		}
		ck_assert_ptr_nonnull(slow);
		ck_assert_ptr_nonnull(fast);
		for (uint64_t i = 0; i < SLOW_N; i++) {
			struct tmsg m;
			int64_t t0 = t_now_ns();
			int r;

			tmsg_fill(&m, 0, TM_REP, i, i);
			r = iface_server_broadcast(s, &m, sizeof(m));
			if (t_now_ns() - t0 > worst)
				worst = t_now_ns() - t0;
			ck_assert_int_eq(r, i < SLOW_CAP ? 2 : 1);
			if ((i + 1) % SLOW_ROUND == 0)
				ck_assert_int_eq(t_read_full(ack[0], &b, 1),
						 1);
		}
		iface_conn_stats(slow, &ss);
		iface_conn_stats(fast, &fs);
		ck_assert_uint_eq(ss.tx_msgs, SLOW_CAP);
		ck_assert_uint_eq(fs.tx_msgs, SLOW_N);
		ck_assert_uint_eq(fs.drops, 0);
		ck_assert_uint_eq(fs.full, 0);
		if (policy == IFACE_FULL_DROP) {
			ck_assert_uint_eq(ss.drops, SLOW_N - SLOW_CAP);
			ck_assert_int_eq(iface_conn_send(slow, "x", 1), 0);
			iface_conn_stats(slow, &ss);
			ck_assert_uint_eq(ss.drops, SLOW_N - SLOW_CAP + 1);
		} else {
			ck_assert_uint_eq(ss.drops, 0);
			ck_assert_uint_eq(ss.full, SLOW_N - SLOW_CAP);
			ck_assert_int_eq(iface_conn_send(slow, "x", 1),
					 -EAGAIN);
		}
		ck_assert_int_eq(write(go[1], "g", 1), 1);
		ck_assert_int_eq(t_read_full(res[0], &got, sizeof(got)),
				 (ssize_t)sizeof(got));
		ck_assert_uint_eq(got, SLOW_CAP);
		ck_assert_int_eq(tu_wait(ps), XC_OK);
		ck_assert_int_eq(tu_wait(pf), XC_OK);
		DISPATCH_UNTIL(s, g_rec.disconnects == 2);
		fprintf(stderr,
			"slow_client (%s): slowest broadcast call %.3f ms\n",
			pol ? "drop" : "eagain", worst / 1e6);
		iface_server_destroy(s);
		close(ready[0]);
		close(ready[1]);
		close(go[0]);
		close(go[1]);
		close(res[0]);
		close(res[1]);
		close(ack[0]);
		close(ack[1]);
	}
}
END_TEST

/* ---- wake-ups per batch ------------------------------------------------------------- */

#define WAKE_CLIENTS 100
#define WAKE_BURST 256
#define WAKE_BURSTS 4

/*
 * A server with 100 clients wakes once per batch of ready work, not once
 * per element: each client publishes 4 bursts of 256 elements
 * (iface_client_send_n: one publish and at most one doorbell per burst),
 * each burst after the server has answered the one before, so that the
 * 400 bursts arrive at different times. The server's dispatch calls that
 * handled work are counted against the elements delivered: about one per
 * burst of ready work, never one per element; on_message gets batches too.
 */
START_TEST(test_wake_batching)
{
	struct iface_server *s = rec_server(2048, IFACE_FULL_EAGAIN);
	const uint64_t total = (uint64_t)WAKE_CLIENTS * WAKE_BURST * WAKE_BURSTS;
	int ready[2], start[2];
	pid_t pid[WAKE_CLIENTS];
	unsigned wakes = 0, idle = 0, calls0;
	char b;

	t_pipe(ready);
	t_pipe(start);
	for (int k = 0; k < WAKE_CLIENTS; k++) {
		pid[k] = t_fork();
		if (pid[k] == 0) {
			static struct tmsg burst[WAKE_BURST];
			struct iface_client_config cc = { .path = t_path };
			struct iface_client *c;

			close(start[1]);
			if (iface_client_connect(&c, &cc, NULL) < 0)
				_exit(XC_CONNECT);
			if (write(ready[1], "r", 1) != 1 ||
			    read(start[0], &b, 1) != 0)
				_exit(XC_PIPE);
			for (int j = 0; j < WAKE_BURSTS; j++) {
				for (int i = 0; i < WAKE_BURST; i++)
					tmsg_fill(&burst[i], (uint32_t)k,
						  TM_REQ,
						  (uint64_t)j * WAKE_BURST + i,
						  0);
				struct tmsg a;

				if (iface_client_send_n(c, burst, WAKE_BURST) !=
				    WAKE_BURST)
					_exit(XC_SEND);
				/* the next burst after the server took this
				 * one, so that bursts arrive one by one */
				if (iface_client_recv_wait(c, &a, sizeof(a),
							   T_STALL_MS) !=
				    (ssize_t)sizeof(a))
					_exit(XC_RECV);
			}
			iface_client_close(c);
			_exit(XC_OK);
		}
	}
	close(start[0]);
	g_rec.ack_every = WAKE_BURST;
	DISPATCH_UNTIL(s, g_rec.connects == WAKE_CLIENTS);
	for (int k = 0; k < WAKE_CLIENTS; k++)
		ck_assert_int_eq(t_read_full(ready[0], &b, 1), 1);
	calls0 = g_rec.calls;
	g_rec.msgs = 0;
	close(start[1]); /* go */
	while (g_rec.disconnects < WAKE_CLIENTS) {
		int64_t t0 = t_now_ns();
		int r = iface_server_dispatch(s, 5000);

		ck_assert_int_ge(r, 0);
		/* 0 is "nothing handled": after the 5 s time-out, or (a
		 * server busy polling its rings) a round that found them
		 * empty; only the time-out is a failure */
		ck_assert_msg(r > 0 || t_now_ns() - t0 < 4000 * 1000000LL,
			      "5 s with nothing to do");
		if (r > 0)
			wakes++;
		else
			idle++;
	}
	for (int k = 0; k < WAKE_CLIENTS; k++)
		ck_assert_int_eq(tu_wait(pid[k]), XC_OK);
	fprintf(stderr,
		"wake_batching: %lu elements, %u dispatch calls with work (and "
		"%u without), %u on_message calls (%.1f elements per "
		"dispatch, %.1f per call)\n",
		(unsigned long)g_rec.msgs, wakes, idle, g_rec.calls - calls0,
		(double)g_rec.msgs / wakes,
		(double)g_rec.msgs / (g_rec.calls - calls0));
	ck_assert_uint_eq(g_rec.msgs, total);
	ck_assert_uint_eq(g_rec.bad, 0);
	/* per client: 4 bursts and a goodbye; twice that is slack for the
	 * wake-ups that find a burst half published */
	ck_assert_uint_le(wakes, 2 * WAKE_CLIENTS * (WAKE_BURSTS + 1));
	ck_assert_uint_le(g_rec.calls - calls0, total / 8);
	iface_server_destroy(s);
	close(ready[0]);
	close(ready[1]);
}
END_TEST

#define STRETCH_SPIN 4 /* the server's cfg.spin in test_stretch */
#define STRETCH_CAP 8  /* its rings */

/* Dispatch single rounds (dispatch(0) is one) n times. */
static void rounds(struct iface_server *s, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		ck_assert_int_ge(iface_server_dispatch(s, 0), 0);
}

/* The raw client of test_stretch fills its ring with STRETCH_CAP messages
 * numbered from *seq and raises its asleep flag as a producer waiting for
 * room does (the ring is full: ipcq_arm says sleep); the server, counting
 * its rounds, takes them. */
static void fill_and_flag(struct iface_server *s, struct ipcq *p,
			  uint64_t *seq)
{
	struct tmsg m;
	int64_t t_end = t_now_ns() + 5000 * 1000000LL;

	for (unsigned i = 0; i < STRETCH_CAP; i++) {
		tmsg_fill(&m, 0, TM_REQ, (*seq)++, 0);
		ck_assert_int_eq(ipcq_send(p, &m, sizeof(m)), 0);
	}
	ck_assert_int_eq(ipcq_arm(p), 0);
	while (g_rec.msgs < *seq) {
		ck_assert_int_ge(iface_server_dispatch(s, 0), 0);
		ck_assert_msg(t_now_ns() < t_end, "messages not delivered");
	}
}

/*
 * The server does not arm a conn whose client is flagged asleep on its
 * ring (a producer waiting for the room the server's releases just made):
 * the client is being woken, its messages follow, and an armed ring would
 * make it ring the doorbell for each of them until the server woke up (the
 * convoy of DESIGN.md). Counted in dispatch rounds, no clock: with cfg.spin
 * rounds of polling, the conn is still polled spin + 2 rounds after its
 * ring ran empty while the client's flag is up (the old rule armed it
 * after spin rounds); armed within 2 spins once the flag is down; and armed
 * after at most 17 spins when the flag stays up (a stopped or hostile
 * client costs bounded polling). The client is raw (the handshake by hand,
 * its ring attached with libipcq), so that its flag is set by this test
 * and the server's flag read through ipcq_peer_waiting.
 */
START_TEST(test_stretch)
{
	unsigned char buf[WIRE_MAX_MSG + 1];
	struct wire_join j = plain_join();
	int fds[WIRE_WELCOME_NFDS], sock, n;
	unsigned nfds = WIRE_WELCOME_NFDS;
	int64_t t_end = t_now_ns() + 5000 * 1000000LL;
	struct iface_server *s;
	struct wire_msg m;
	struct ipcq *p;
	uint64_t seq = 0;
	ssize_t r;

	g_rec_spin = STRETCH_SPIN;
	s = rec_server(STRETCH_CAP, IFACE_FULL_EAGAIN);
	g_rec_spin = 0;
	/* the handshake, the server and the raw client in turns */
	sock = fdpass_connect(t_path, SOCK_SEQPACKET, 5000);
	ck_assert_int_ge(sock, 0);
	while ((n = t_raw_recv(sock, &m, NULL, 0)) != 0) {
		ck_assert_int_ge(iface_server_dispatch(s, 10), 0);
		ck_assert_msg(t_now_ns() < t_end, "no HELLO");
	}
	ck_assert_uint_eq(m.type, WIRE_HELLO);
	n = wire_encode_join(buf, sizeof(buf), &j);
	ck_assert_int_gt(n, 0);
	ck_assert_int_eq(fdpass_send(sock, buf, (size_t)n, NULL, 0, 1000), n);
	DISPATCH_UNTIL(s, g_rec.connects == 1);
	r = fdpass_recv(sock, buf, sizeof(buf), fds, &nfds, 5000);
	ck_assert_int_gt(r, 0);
	ck_assert_uint_eq(nfds, WIRE_WELCOME_NFDS);
	ck_assert_int_eq(wire_decode(buf, (size_t)r, nfds, 0, &m), 0);
	ck_assert_uint_eq(m.type, WIRE_WELCOME);
	for (int i = IPCQ_NFDS; i < WIRE_WELCOME_NFDS; i++)
		close(fds[i]); /* the server-to-client ring: not used */
	ck_assert_int_eq(ipcq_attach(&p, fds, IPCQ_PRODUCER, NULL), 0);
	ck_assert_uint_eq(ipcq_capacity(p), STRETCH_CAP);

	/* flagged: still polled past spin rounds */
	fill_and_flag(s, p, &seq);
	rounds(s, STRETCH_SPIN + 2);
	ck_assert_int_eq(ipcq_peer_waiting(p), 0);
	/* the client woke: armed within a spin of the last sighting */
	ipcq_disarm(p);
	rounds(s, 2 * STRETCH_SPIN + 2);
	ck_assert_int_eq(ipcq_peer_waiting(p), 1);
	/* flagged for good: armed all the same, after 17 spins at most */
	fill_and_flag(s, p, &seq);
	rounds(s, STRETCH_SPIN + 2);
	ck_assert_int_eq(ipcq_peer_waiting(p), 0);
	rounds(s, 17 * STRETCH_SPIN);
	ck_assert_int_eq(ipcq_peer_waiting(p), 1);
	ck_assert_uint_eq(g_rec.msgs, 2 * STRETCH_CAP);
	ck_assert_uint_eq(g_rec.bad, 0);

	ipcq_disarm(p);
	ipcq_close(p);
	close(sock);
	DISPATCH_UNTIL(s, g_rec.disconnects == 1);
	iface_server_destroy(s);
}
END_TEST

/*
 * A dispatch with a time-out whose rings are polled (cfg.spin INT_MAX: never
 * armed, so no round waits in epoll) reads the clock only every few rounds,
 * and still returns 0 once the time-out has passed, not before it and not
 * much after: on the server and on a client, each polling an idle ring.
 */
#define POLL_TIMED_MS 100
#define XC_EARLY 40 /* the client's dispatch returned before its time-out */
#define XC_LATE 41  /* ... or seconds after it, or with something */

static void nop_client_msg(struct iface_client *c, const struct iface_msg *msgs,
			   unsigned n, void *user)
{
	(void)c;
	(void)msgs;
	(void)n;
	(void)user;
}

static int poll_timed_client(struct tu_barrier *done)
{
	struct iface_client_config cc = { .path = t_path,
					  .timeout_ms = 5000,
					  .spin = INT_MAX };
	struct iface_reason why;
	struct iface_client *c;
	int64_t t0, dt;
	int r, code;

	cc.cb.on_message = nop_client_msg;
	if (iface_client_connect(&c, &cc, &why) != 0)
		return XC_CONNECT;
	t0 = t_now_ns();
	r = iface_client_dispatch(c, POLL_TIMED_MS);
	dt = t_now_ns() - t0;
	code = r != 0 || dt >= 3000 * 1000000LL	      ? XC_LATE
	       : dt < POLL_TIMED_MS * 1000000LL ? XC_EARLY
						      : XC_OK;
	tu_barrier_wait(done);
	iface_client_close(c);
	return code;
}

START_TEST(test_dispatch_timeout_polling)
{
	struct tu_barrier done;
	struct iface_server *s;
	int64_t t0, dt;
	pid_t pid;

	g_rec_spin = INT_MAX;
	s = rec_server(1024, IFACE_FULL_EAGAIN);
	g_rec_spin = 0;
	tu_barrier_init(&done);
	pid = t_fork();
	if (pid == 0)
		_exit(poll_timed_client(&done));
	DISPATCH_UNTIL(s, g_rec.connects == 1);
	while (iface_server_dispatch(s, 0) > 0)
		;
	t0 = t_now_ns();
	ck_assert_int_eq(iface_server_dispatch(s, POLL_TIMED_MS), 0);
	dt = t_now_ns() - t0;
	ck_assert_int_ge(dt, POLL_TIMED_MS * 1000000LL);
	ck_assert_int_lt(dt, 3000 * 1000000LL);
	tu_barrier_signal(&done);
	DISPATCH_UNTIL(s, g_rec.disconnects == 1);
	ck_assert_int_eq(tu_wait(pid), XC_OK);
	tu_barrier_close(&done);
	iface_server_destroy(s);
}
END_TEST

/* ---- the example programs, exec'd ------------------------------------------------- */

/* execv wants char *const[]; it does not write the strings */
#define A(lit) ((char *)(uintptr_t)(lit))

/* Run argv[0] with stdin / stdout / stderr from in / out / err (-1: stdin
 * and stdout /dev/null, stderr inherited) and keep_fd as descriptor 3. */
static pid_t spawn_io(char *const argv[], int in, int out, int err,
		      int keep_fd)
{
	pid_t pid = t_fork();

	if (pid == 0) {
		int null = open("/dev/null", O_RDWR | O_CLOEXEC);

		/* dup2 clears CLOEXEC on the copies */
		if (null < 0 || dup2(in >= 0 ? in : null, STDIN_FILENO) < 0 ||
		    dup2(out >= 0 ? out : null, STDOUT_FILENO) < 0 ||
		    (err >= 0 && dup2(err, STDERR_FILENO) < 0) ||
		    (keep_fd >= 0 && dup2(keep_fd, 3) < 0))
			_exit(126);
		execv(argv[0], argv);
		_exit(127);
	}
	return pid;
}

static pid_t spawn_prog(char *const argv[], int keep_fd)
{
	return spawn_io(argv, -1, -1, -1, keep_fd);
}

/* Everything fd gives until end of file, NUL-terminated, in buf. */
static void read_all(int fd, char *buf, size_t cap)
{
	size_t n = 0;

	for (;;) {
		ssize_t r = read(fd, buf + n, cap - 1 - n);

		if (r < 0 && errno == EINTR)
			continue;
		ck_assert_int_ge(r, 0);
		if (r == 0)
			break;
		n += (size_t)r;
		ck_assert_uint_lt(n, cap - 1);
	}
	buf[n] = '\0';
}

/*
 * ipc-server and two ipc-client run as unrelated programs (exec), as the
 * README shows: the server says "ready PATH" on --ready-fd, both clients
 * check every echo of 20000 messages and exit 0, SIGTERM ends the server
 * with status 0 and its socket path removed. The second client's messages
 * fill the server's slots (256 bytes), so its echoes take the server's
 * zero-copy path (reserve, write in place, one commit per run); the first
 * one's 64-byte messages are copied and sent.
 */
START_TEST(test_examples)
{
	char *srv_bin = tu_build_file("examples/ipc-server");
	char *cl_bin = tu_build_file("examples/ipc-client");
	char *sargv[] = { srv_bin, A("--socket"), t_path, A("--ready-fd"), A("3"),
			  A("--quiet"), NULL };
	char *cargv[] = { cl_bin,	  A("--socket"), t_path,
			  A("--count"),	  A("20000"),	 A("--mode"),
			  A("block"),	  A("--quiet"),	 NULL };
	char *cargv2[] = { cl_bin,	   A("--socket"), t_path,
			   A("--count"),   A("20000"),	  A("--size"),
			   A("256"),	   A("--quiet"),  NULL };
	char line[512], want[512];
	int ready[2];
	pid_t srv, c1, c2;
	ssize_t n;

	ck_assert_int_eq(access(srv_bin, X_OK), 0);
	ck_assert_int_eq(access(cl_bin, X_OK), 0);
	t_pipe(ready);
	srv = spawn_prog(sargv, ready[1]);
	close(ready[1]);
	snprintf(want, sizeof(want), "ready %s\n", t_path);
	n = t_read_full(ready[0], line, strlen(want));
	ck_assert_int_eq(n, (ssize_t)strlen(want));
	line[n] = '\0';
	ck_assert_str_eq(line, want);
	close(ready[0]);
	c1 = spawn_prog(cargv, -1);
	c2 = spawn_prog(cargv2, -1);
	ck_assert_int_eq(tu_wait(c1), 0);
	ck_assert_int_eq(tu_wait(c2), 0);
	ck_assert_int_eq(kill(srv, SIGTERM), 0);
	ck_assert_int_eq(tu_wait(srv), 0);
	ck_assert_int_eq(access(t_path, F_OK), -1);
	free(srv_bin);
	free(cl_bin);
}
END_TEST

/*
 * ipc-typed: a server and a client of the typed channel check 20000 ticks;
 * a client that hashes another type name is refused with the server's
 * "element type differs" text and a non-zero status (and is not counted in
 * the server's summary of clients). ipc-poll: lines on
 * its stdin come back as echoes from ipc-server through its own poll loop.
 */
START_TEST(test_examples_typed_poll)
{
	char *typed = tu_build_file("examples/ipc-typed");
	char *srv_bin = tu_build_file("examples/ipc-server");
	char *poll_bin = tu_build_file("examples/ipc-poll");
	char *tsrv[] = { typed, A("server"), A("--socket"), t_path, NULL };
	char *tcl[] = { typed,	   A("client"), A("--socket"), t_path,
			A("--count"), A("20000"), NULL };
	char *tbad[] = { typed,	       A("client"), A("--socket"),
			 t_path,	       A("--count"), A("10"),
			 A("--type-name"), A("another type v9"), NULL };
	char *sargv[] = { srv_bin, A("--socket"), t_path, A("--ready-fd"), A("3"),
			  A("--quiet"), NULL };
	char *pargv[] = { poll_bin, A("--socket"), t_path, NULL };
	char line[512], want[512], out[8192];
	int o[2], e[2], in[2], ready[2];
	pid_t srv, cl;

	ck_assert_int_eq(access(typed, X_OK), 0);
	ck_assert_int_eq(access(poll_bin, X_OK), 0);
	t_pipe(o);
	srv = spawn_io(tsrv, -1, o[1], -1, -1);
	close(o[1]);
	snprintf(want, sizeof(want), "ready %s\n", t_path);
	t_read_line(o[0], line, sizeof(line));
	ck_assert_str_eq(line, want);
	cl = spawn_prog(tcl, -1);
	ck_assert_int_eq(tu_wait(cl), 0);
	t_pipe(e);
	cl = spawn_io(tbad, -1, -1, e[1], -1);
	close(e[1]);
	read_all(e[0], out, sizeof(out));
	close(e[0]);
	ck_assert_int_ne(tu_wait(cl), 0);
	ck_assert_msg(strstr(out, "element type differs") != NULL, "%s", out);
	ck_assert_int_eq(kill(srv, SIGTERM), 0);
	ck_assert_int_eq(tu_wait(srv), 0);
	read_all(o[0], out, sizeof(out));
	close(o[0]);
	ck_assert_msg(strstr(out, "summary: clients=1 ticks=20000 bad=0") !=
			      NULL,
		      "%s", out);

	t_pipe(ready);
	srv = spawn_prog(sargv, ready[1]);
	close(ready[1]);
	t_read_line(ready[0], line, sizeof(line));
	ck_assert_str_eq(line, want);
	close(ready[0]);
	t_pipe(in);
	t_pipe(o);
	cl = spawn_io(pargv, in[0], o[1], -1, -1);
	close(in[0]);
	close(o[1]);
	ck_assert_int_eq(t_write_full(in[1], "hello\nworld\n", 12), 0);
	close(in[1]);
	read_all(o[0], out, sizeof(out));
	close(o[0]);
	ck_assert_int_eq(tu_wait(cl), 0);
	ck_assert_msg(strstr(out, ": hello\n") && strstr(out, ": world\n"),
		      "%s", out);
	ck_assert_int_eq(kill(srv, SIGTERM), 0);
	ck_assert_int_eq(tu_wait(srv), 0);
	free(typed);
	free(srv_bin);
	free(poll_bin);
}
END_TEST

/*
 * A server without on_message reads its conn itself: iface_conn_recv (byte
 * messages of every length, -EMSGSIZE, -EAGAIN), recv_wait (-ETIMEDOUT on
 * an empty ring, then woken by a message sent while it waits on an armed
 * ring), recv_n, peek / release; its dispatch wakes and returns for a conn
 * that holds messages; messages left by a client that said BYE are read
 * before -EPIPE, and on_disconnect comes only after that.
 */
#define CR_BYTES 40  /* byte messages, lengths 0..39 */
#define CR_ELEMS 8   /* whole elements by send_n */
#define CR_LEFT 3    /* left in the ring at the BYE */

static struct {
	struct iface_conn *conn;
	unsigned disconnects;
	uint32_t code;
	struct iface_stats st;
} g_cr;

static int cr_connect(struct iface_conn *c, void *user)
{
	(void)user;
	g_cr.conn = c;
	return 0;
}

static void cr_disconnect(struct iface_conn *c, const struct iface_reason *why,
			  void *user)
{
	(void)user;
	g_cr.disconnects++;
	g_cr.code = why->code;
	iface_conn_stats(c, &g_cr.st);
	g_cr.conn = NULL;
}

/* A server of T_ELEM slots on t_path that records into g_cr (cleared). */
static void cr_server_create(struct iface_server **s, uint32_t capacity)
{
	struct iface_server_config sc = { 0 };

	memset(&g_cr, 0, sizeof(g_cr));
	sc.path = t_path;
	sc.elem_size = T_ELEM;
	sc.capacity = capacity;
	sc.cb.on_connect = cr_connect;
	sc.cb.on_disconnect = cr_disconnect;
	ck_assert_int_eq(iface_server_create(s, &sc), 0);
}

static void cr_fill(unsigned char *b, size_t len, unsigned k)
{
	for (size_t i = 0; i < len; i++)
		b[i] = (unsigned char)(k * 31 + i);
}

static int cr_ok(const unsigned char *b, size_t len, unsigned k)
{
	for (size_t i = 0; i < len; i++)
		if (b[i] != (unsigned char)(k * 31 + i))
			return 0;
	return 1;
}

static int cr_client(struct tu_barrier *go, struct tu_barrier *sent)
{
	struct iface_client_config cc = { .path = t_path };
	unsigned char el[CR_ELEMS][T_ELEM], b[T_ELEM];
	struct iface_client *c;
	char t;

	if (iface_client_connect(&c, &cc, NULL) < 0)
		return XC_CONNECT;
	/* 1: byte messages and whole elements, then say so */
	if (read(go->fd[0], &t, 1) != 1)
		return XC_PIPE;
	for (unsigned k = 0; k < CR_BYTES; k++) {
		cr_fill(b, k, k);
		if (iface_client_send(c, b, k) != 0)
			return XC_SEND;
	}
	for (unsigned k = 0; k < CR_ELEMS; k++)
		cr_fill(el[k], T_ELEM, 100 + k);
	if (iface_client_send_n(c, el, CR_ELEMS) != CR_ELEMS)
		return XC_SEND;
	if (write(sent->fd[1], "s", 1) != 1)
		return XC_PIPE;
	/* 2: one message while the server waits for it */
	if (read(go->fd[0], &t, 1) != 1)
		return XC_PIPE;
	cr_fill(b, 7, 200);
	if (iface_client_send(c, b, 7) != 0)
		return XC_SEND;
	/* 3: one while the server sleeps in its dispatch */
	if (read(go->fd[0], &t, 1) != 1)
		return XC_PIPE;
	cr_fill(b, 9, 201);
	if (iface_client_send(c, b, 9) != 0)
		return XC_SEND;
	/* 4: leave some in the ring and say goodbye */
	if (read(go->fd[0], &t, 1) != 1)
		return XC_PIPE;
	for (unsigned k = 0; k < CR_LEFT; k++) {
		cr_fill(b, 5, 300 + k);
		if (iface_client_send(c, b, 5) != 0)
			return XC_SEND;
	}
	iface_client_close(c);
	return XC_OK;
}

START_TEST(test_conn_recv)
{
	struct iface_server_config sc = { 0 };
	unsigned char b[T_ELEM], el[5][T_ELEM];
	struct tu_barrier go, sent;
	struct iface_server *s;
	const void *first;
	uint32_t lens[CR_ELEMS];
	pid_t pid;
	int n;

	memset(&g_cr, 0, sizeof(g_cr));
	sc.path = t_path;
	sc.elem_size = T_ELEM;
	sc.spin = -1; /* arm an empty ring at once: the wake-ups are tested */
	sc.cb.on_connect = cr_connect;
	sc.cb.on_disconnect = cr_disconnect;
	ck_assert_int_eq(iface_server_create(&s, &sc), 0);
	tu_barrier_init(&go);
	tu_barrier_init(&sent);
	pid = t_fork();
	if (pid == 0)
		_exit(cr_client(&go, &sent));
	DISPATCH_UNTIL(s, g_cr.conn != NULL);
	ck_assert_int_eq(iface_conn_recv(g_cr.conn, b, sizeof(b)), -EAGAIN);
	ck_assert_int_eq(iface_conn_recv_wait(g_cr.conn, b, sizeof(b), 1),
			 -ETIMEDOUT);
	ck_assert_int_eq(iface_conn_recv_n(g_cr.conn, el, 0), -EINVAL);

	/* 1 */
	tu_barrier_signal(&go);
	tu_barrier_wait(&sent);
	/* the conn with messages (and its doorbell, when it was armed) */
	ck_assert_int_ge(iface_server_dispatch(s, 5000), 1);
	/* reported once: not again before the ring was found empty */
	ck_assert_int_eq(iface_server_dispatch(s, 0), 0);
	ck_assert_int_eq(iface_conn_recv(g_cr.conn, b, 8), 0); /* length 0 */
	for (unsigned k = 1; k < CR_BYTES; k++) {
		ssize_t r;

		if (k == 20) /* a buffer too small leaves it queued */
			ck_assert_int_eq(iface_conn_recv(g_cr.conn, b, k - 1),
					 -EMSGSIZE);
		r = iface_conn_recv(g_cr.conn, b, sizeof(b));
		ck_assert_int_eq(r, (ssize_t)k);
		ck_assert_msg(cr_ok(b, k, k), "message %u", k);
	}
	ck_assert_int_eq(iface_conn_recv_n(g_cr.conn, el, 5), 5);
	for (unsigned k = 0; k < 5; k++)
		ck_assert(cr_ok(el[k], T_ELEM, 100 + k));
	n = iface_conn_peek(g_cr.conn, CR_ELEMS, &first, lens);
	ck_assert_int_eq(n, CR_ELEMS - 5);
	for (int k = 0; k < n; k++) {
		ck_assert_uint_eq(lens[k], T_ELEM);
		ck_assert(cr_ok((const unsigned char *)first +
					(size_t)k * iface_conn_stride(g_cr.conn),
				T_ELEM, 105 + (unsigned)k));
	}
	ck_assert_int_eq(iface_conn_release(g_cr.conn, (unsigned)n + 1),
			 -EINVAL);
	ck_assert_int_eq(iface_conn_release(g_cr.conn, (unsigned)n), 0);
	ck_assert_int_eq(iface_conn_recv(g_cr.conn, b, sizeof(b)), -EAGAIN);
	ck_assert_int_eq(iface_conn_peek(g_cr.conn, 1, &first, NULL), -EAGAIN);

	/* 2: the ring is armed by this dispatch (spin -1); recv_wait takes
	 * it over and is woken by the message */
	ck_assert_int_eq(iface_server_dispatch(s, 0), 0);
	tu_barrier_signal(&go);
	ck_assert_int_eq(iface_conn_recv_wait(g_cr.conn, b, sizeof(b), 10000),
			 7);
	ck_assert(cr_ok(b, 7, 200));

	/* 3: the dispatch sleeps on the armed ring until the message */
	ck_assert_int_eq(iface_server_dispatch(s, 0), 0);
	tu_barrier_signal(&go);
	ck_assert_int_ge(iface_server_dispatch(s, 10000), 1);
	ck_assert_int_eq(iface_conn_recv(g_cr.conn, b, sizeof(b)), 9);
	ck_assert(cr_ok(b, 9, 201));
	ck_assert_int_eq(iface_conn_recv(g_cr.conn, b, sizeof(b)), -EAGAIN);

	/* 4: what the client left is read before -EPIPE and on_disconnect */
	tu_barrier_signal(&go);
	ck_assert_int_eq(tu_wait(pid), XC_OK);
	/* until the dispatch saw the BYE (sends to c fail from then on);
	 * the one that did reported what the client left */
	memset(b, 0, sizeof(b));
	DISPATCH_UNTIL(s, iface_conn_send(g_cr.conn, b, 1) == -EPIPE);
	for (unsigned k = 0; k < CR_LEFT; k++) {
		ck_assert_int_eq(iface_conn_recv(g_cr.conn, b, sizeof(b)), 5);
		ck_assert(cr_ok(b, 5, 300 + k));
	}
	ck_assert_int_eq(iface_conn_recv(g_cr.conn, b, sizeof(b)), -EPIPE);
	ck_assert_uint_eq(g_cr.disconnects, 0);
	DISPATCH_UNTIL(s, g_cr.disconnects == 1);
	ck_assert_uint_eq(g_cr.code, IFACE_R_CLOSED);
	ck_assert_uint_eq(g_cr.st.rx_msgs, CR_BYTES + CR_ELEMS + 2 + CR_LEFT);
	ck_assert_uint_eq(iface_server_nclients(s), 0);
	iface_server_destroy(s);
	tu_barrier_close(&go);
	tu_barrier_close(&sent);
}
END_TEST

/*
 * The client's blocking batch and zero-copy sends: wait_send on a full
 * ring times out while the server does not read, returns 0 once it read
 * some, then send_n and reserve / commit take what fits; wait_send returns
 * -EPIPE when the server goes. Every message arrives, in order.
 */
#define WS_CAP 16u

static int ws_client(struct tu_barrier *full, struct tu_barrier *done,
		     struct tu_barrier *go)
{
	struct iface_client_config cc = { .path = t_path };
	unsigned char el[4][T_ELEM];
	struct iface_client *c;
	unsigned k = 0;
	void *first;
	int r;

	if (iface_client_connect(&c, &cc, NULL) < 0)
		return XC_CONNECT;
	for (;; k++) {
		cr_fill(el[0], T_ELEM, k);
		r = iface_client_send(c, el[0], T_ELEM);
		if (r == -EAGAIN)
			break;
		if (r != 0)
			return XC_SEND;
	}
	if (k != WS_CAP || iface_client_wait_send(c, 1) != -ETIMEDOUT)
		return XC_SEND;
	tu_barrier_signal(full);
	/* the server reads 8, one at a time: each wait may end at the first
	 * free slot, so the batches go in as they fit */
	for (unsigned i = 0; i < 4; i++)
		cr_fill(el[i], T_ELEM, k + i);
	for (unsigned sent = 0; sent < 4; sent += (unsigned)r) {
		if (iface_client_wait_send(c, 10000) != 0)
			return XC_SEND;
		r = iface_client_send_n(c, el[sent], 4 - sent);
		if (r < 1)
			return XC_SEND;
	}
	k += 4;
	for (unsigned done_n = 0; done_n < 4; done_n += (unsigned)r) {
		if (iface_client_wait_send(c, 10000) != 0)
			return XC_SEND;
		r = iface_client_reserve(c, 4 - done_n, &first);
		if (r < 1)
			return XC_SEND;
		for (int i = 0; i < r; i++)
			cr_fill((unsigned char *)first +
					(size_t)i * iface_client_stride(c),
				T_ELEM, k++);
		if (iface_client_commit(c, (unsigned)r) != 0)
			return XC_SEND;
	}
	/* 16 - 8 read + 8 sent: full again */
	if (iface_client_wait_send(c, 1) != -ETIMEDOUT)
		return XC_SEND;
	tu_barrier_signal(done);
	/* the server read everything and goes away without reading more:
	 * fill the ring again, then the wait ends with the hang-up */
	tu_barrier_wait(go);
	for (;;) {
		r = iface_client_send(c, el[0], T_ELEM);
		if (r == -EAGAIN || r == -EPIPE)
			break;
		if (r != 0)
			return XC_SEND;
	}
	r = iface_client_wait_send(c, 10000);
	iface_client_close(c);
	return r == -EPIPE ? XC_OK : XC_RECV;
}

START_TEST(test_client_wait_send)
{
	struct tu_barrier full, done, go;
	struct iface_server *s;
	unsigned char b[T_ELEM];
	unsigned k = 0;
	pid_t pid;

	cr_server_create(&s, WS_CAP);
	tu_barrier_init(&full);
	tu_barrier_init(&done);
	tu_barrier_init(&go);
	pid = t_fork();
	if (pid == 0)
		_exit(ws_client(&full, &done, &go));
	DISPATCH_UNTIL(s, g_cr.conn != NULL);
	tu_barrier_wait(&full);
	for (; k < WS_CAP / 2; k++) {
		ck_assert_int_eq(iface_conn_recv(g_cr.conn, b, sizeof(b)), T_ELEM);
		ck_assert_msg(cr_ok(b, T_ELEM, k), "message %u", k);
	}
	tu_barrier_wait(&done);
	for (; k < WS_CAP + 8; k++) {
		ck_assert_int_eq(iface_conn_recv(g_cr.conn, b, sizeof(b)), T_ELEM);
		ck_assert_msg(cr_ok(b, T_ELEM, k), "message %u", k);
	}
	ck_assert_int_eq(iface_conn_recv(g_cr.conn, b, sizeof(b)), -EAGAIN);
	tu_barrier_signal(&go);
	iface_server_destroy(s); /* BYE: the client's wait_send ends */
	ck_assert_int_eq(tu_wait(pid), XC_OK);
	ck_assert_uint_eq(g_cr.disconnects, 1);
	tu_barrier_close(&full);
	tu_barrier_close(&done);
	tu_barrier_close(&go);
}
END_TEST

IFACE_DEFINE_TYPE(tm, struct tmsg, "struct tmsg v1")

/* The conn's wait and wait_send: a client that sends two messages, then
 * reads one, then leaves, each when told. */
static int cw_client(struct tu_barrier *go, struct tu_barrier *did)
{
	struct iface_client_config cc = { .path = t_path };
	unsigned char b[T_ELEM];
	struct iface_client *c;
	char t;

	if (iface_client_connect(&c, &cc, NULL) < 0)
		return XC_CONNECT;
	if (read(go->fd[0], &t, 1) != 1)
		return XC_PIPE;
	for (unsigned k = 1; k <= 2; k++) {
		cr_fill(b, sizeof(b), k);
		if (iface_client_send(c, b, sizeof(b)) != 0)
			return XC_SEND;
	}
	if (read(go->fd[0], &t, 1) != 1)
		return XC_PIPE;
	if (iface_client_recv_wait(c, b, sizeof(b), 10000) != T_ELEM)
		return XC_RECV;
	if (!cr_ok(b, sizeof(b), 0))
		return XC_SUM;
	if (write(did->fd[1], "r", 1) != 1)
		return XC_PIPE;
	if (read(go->fd[0], &t, 1) != 1)
		return XC_PIPE;
	iface_client_close(c);
	return XC_OK;
}

/*
 * iface_conn_wait: -ETIMEDOUT on an empty ring, 0 once the client sent,
 * and the message is then there to peek. iface_conn_wait_send: with the
 * ring toward the client full, -ETIMEDOUT; 0 once the client took one
 * (reserve then gets a slot); -EPIPE when the client leaves while it is
 * full again.
 */
START_TEST(test_conn_wait)
{
	struct tu_barrier go, did;
	struct iface_server *s;
	unsigned char b[T_ELEM];
	const void *first;
	struct tmsg tm;
	void *slot;
	uint32_t len;
	unsigned k;
	pid_t pid;

	cr_server_create(&s, WS_CAP);
	tu_barrier_init(&go);
	tu_barrier_init(&did);
	pid = t_fork();
	if (pid == 0)
		_exit(cw_client(&go, &did));
	DISPATCH_UNTIL(s, g_cr.conn != NULL);

	ck_assert_int_eq(iface_conn_wait(g_cr.conn, 0), -ETIMEDOUT);
	tu_barrier_signal(&go); /* send two */
	ck_assert_int_eq(iface_conn_wait(g_cr.conn, 10000), 0);
	ck_assert_int_ge(iface_conn_peek(g_cr.conn, 1, &first, &len), 1);
	ck_assert_uint_eq(len, T_ELEM);
	ck_assert(cr_ok(first, T_ELEM, 1));
	ck_assert_int_eq(iface_conn_release(g_cr.conn, 1), 0);
	/* the typed wrappers: the second, as a struct */
	ck_assert_int_eq(tm_conn_recv_wait(g_cr.conn, &tm, 10000), 0);
	ck_assert(cr_ok((const unsigned char *)&tm, T_ELEM, 2));
	ck_assert_int_eq(tm_conn_recv(g_cr.conn, &tm), -EAGAIN);

	for (k = 0; k < WS_CAP; k++) {
		cr_fill(b, sizeof(b), k);
		ck_assert_int_eq(iface_conn_send(g_cr.conn, b, sizeof(b)), 0);
	}
	ck_assert_int_eq(iface_conn_send(g_cr.conn, b, sizeof(b)), -EAGAIN);
	ck_assert_int_eq(iface_conn_wait_send(g_cr.conn, 0), -ETIMEDOUT);
	tu_barrier_signal(&go); /* take one */
	ck_assert_int_eq(iface_conn_wait_send(g_cr.conn, 10000), 0);
	ck_assert_int_eq(iface_conn_reserve(g_cr.conn, 1, &slot), 1);
	ck_assert_int_eq(iface_conn_commit(g_cr.conn, 1), 0);
	tu_barrier_wait(&did);
	tu_barrier_signal(&go); /* leave */
	ck_assert_int_eq(iface_conn_wait_send(g_cr.conn, 10000), -EPIPE);
	ck_assert_int_eq(tu_wait(pid), XC_OK);
	DISPATCH_UNTIL(s, g_cr.disconnects == 1);
	iface_server_destroy(s);
	tu_barrier_close(&go);
	tu_barrier_close(&did);
}
END_TEST

/* ---- counters ---------------------------------------------------------------- */

/*
 * The byte counters count each message's length: byte messages of
 * different lengths sent one by one (send, send_wait; conn_send,
 * conn_send_wait) and whole elements sent by batch (send_n, reserve /
 * commit; conn_send_n), taken on the other side by recv and by peek /
 * release (a part of what was peeked, then the rest, with and without
 * lens). tx_* and rx_* of both sides (iface_client_stats, iface_conn_stats,
 * also the final figures in on_disconnect) equal the sums of the lengths.
 * (A release used to count every peeked message as elem_size bytes.)
 */
static const uint32_t st_c2s[] = { 0, 1, 5, 17, 63, 64, 33, 2 };
#define ST_NC2S ((unsigned)(sizeof(st_c2s) / sizeof(st_c2s[0])))
#define ST_C2S_WAIT 11 /* then one of 11 bytes by send_wait */
#define ST_C2S_N 3     /* then whole elements by send_n */
#define ST_C2S_ZC 2    /* and by reserve / commit */
#define ST_C2S (ST_NC2S + 1 + ST_C2S_N + ST_C2S_ZC)
#define ST_C2S_RECV 4  /* the server takes these by recv, the rest by peek */
static const uint32_t st_s2c[] = { 3, 0, 64, 20, 9, 50, 1 };
#define ST_NS2C ((unsigned)(sizeof(st_s2c) / sizeof(st_s2c[0])))
#define ST_S2C_WAIT 7  /* then one of 7 bytes by conn_send_wait */
#define ST_S2C_N 2     /* then whole elements by conn_send_n */
#define ST_S2C (ST_NS2C + 1 + ST_S2C_N)
#define ST_S2C_RECV 2  /* the client takes these by recv, the rest by peek */
#define ST_PART 3      /* the first release of a peek gives back these */
#define ST_S2C_K 500   /* cr_fill's k of the server's first message */

/* Length of the k-th message of each direction. */
static uint32_t st_c2s_len(unsigned k)
{
	return k < ST_NC2S ? st_c2s[k] : k == ST_NC2S ? ST_C2S_WAIT : T_ELEM;
}

static uint32_t st_s2c_len(unsigned k)
{
	return k < ST_NS2C ? st_s2c[k] : k == ST_NS2C ? ST_S2C_WAIT : T_ELEM;
}

static uint64_t st_sum(uint32_t (*len)(unsigned), unsigned from, unsigned to)
{
	uint64_t sum = 0;

	for (unsigned k = from; k < to; k++)
		sum += len(k);
	return sum;
}

/* Peek messages from..to-1 of the server's: n of them, lengths (when
 * lens) and payloads as sent. 0 or an XC_ code (a child's check). */
static int st_check_peek(int n, const void *first, uint32_t stride,
			 const uint32_t *lens, unsigned from, unsigned to)
{
	if (n != (int)(to - from))
		return XC_RECV;
	for (unsigned k = from; k < to; k++) {
		const unsigned char *p = (const unsigned char *)first +
					 (size_t)(k - from) * stride;

		if (lens && lens[k - from] != st_s2c_len(k))
			return XC_SUM;
		if (!cr_ok(p, st_s2c_len(k), ST_S2C_K + k))
			return XC_SUM;
	}
	return 0;
}

/* A recording server and one forked client that runs client(a, b, fd) and
 * reports through the pipe's write end fd; the server waits until the
 * client is connected. */
struct cr_pair {
	struct iface_server *s;
	struct tu_barrier a, b;
	int rd;
	pid_t pid;
};

typedef int cr_client_fn(struct tu_barrier *a, struct tu_barrier *b, int fd);

static void cr_pair_start(struct cr_pair *x, uint32_t capacity,
			  cr_client_fn *client)
{
	int res[2];

	cr_server_create(&x->s, capacity);
	tu_barrier_init(&x->a);
	tu_barrier_init(&x->b);
	t_pipe(res);
	x->pid = t_fork();
	if (x->pid == 0)
		_exit(client(&x->a, &x->b, res[1]));
	close(res[1]);
	x->rd = res[0];
	DISPATCH_UNTIL(x->s, g_cr.conn != NULL);
}

/* The client's stats from the pipe, once it exited well. */
static void cr_pair_result(struct cr_pair *x, struct iface_stats *st)
{
	ck_assert_int_eq(t_read_full(x->rd, st, sizeof(*st)),
			 (ssize_t)sizeof(*st));
	ck_assert_int_eq(tu_wait(x->pid), XC_OK);
	DISPATCH_UNTIL(x->s, g_cr.disconnects == 1);
}

static void cr_pair_end(struct cr_pair *x)
{
	iface_server_destroy(x->s);
	close(x->rd);
	tu_barrier_close(&x->a);
	tu_barrier_close(&x->b);
}

static int st_client(struct tu_barrier *go, struct tu_barrier *sent,
		     int res_fd)
{
	struct iface_client_config cc = { .path = t_path };
	unsigned char b[T_ELEM], el[ST_C2S_N][T_ELEM];
	uint32_t lens[ST_S2C];
	struct iface_client *c;
	struct iface_stats st;
	const void *first;
	unsigned k = 0;
	void *slot;
	int n, r;

	if (iface_client_connect(&c, &cc, NULL) < 0)
		return XC_CONNECT;
	for (; k < ST_NC2S; k++) {
		cr_fill(b, st_c2s[k], k);
		if (iface_client_send(c, b, st_c2s[k]) != 0)
			return XC_SEND;
	}
	cr_fill(b, ST_C2S_WAIT, k++);
	if (iface_client_send_wait(c, b, ST_C2S_WAIT, 1000) != 0)
		return XC_SEND;
	for (unsigned i = 0; i < ST_C2S_N; i++)
		cr_fill(el[i], T_ELEM, k++);
	if (iface_client_send_n(c, el, ST_C2S_N) != ST_C2S_N)
		return XC_SEND;
	if (iface_client_reserve(c, ST_C2S_ZC, &slot) != ST_C2S_ZC)
		return XC_SEND;
	for (unsigned i = 0; i < ST_C2S_ZC; i++)
		cr_fill((unsigned char *)slot +
				(size_t)i * iface_client_stride(c),
			T_ELEM, k++);
	if (iface_client_commit(c, ST_C2S_ZC) != 0)
		return XC_SEND;
	tu_barrier_signal(sent);

	/* the server's: the first by recv, then a peek given back in two
	 * releases, the second after a peek without lens */
	tu_barrier_wait(go);
	for (k = 0; k < ST_S2C_RECV; k++) {
		ssize_t got = iface_client_recv(c, b, sizeof(b));

		if (got != (ssize_t)st_s2c_len(k))
			return XC_RECV;
		if (!cr_ok(b, (size_t)got, ST_S2C_K + k))
			return XC_SUM;
	}
	n = iface_client_peek(c, ST_S2C, &first, lens);
	r = st_check_peek(n, first, iface_client_stride(c), lens, k, ST_S2C);
	if (r)
		return r;
	if (iface_client_release(c, ST_PART) != 0)
		return XC_RECV;
	k += ST_PART;
	n = iface_client_peek(c, ST_S2C, &first, NULL);
	r = st_check_peek(n, first, iface_client_stride(c), NULL, k, ST_S2C);
	if (r)
		return r;
	if (iface_client_release(c, (unsigned)n) != 0 ||
	    iface_client_recv(c, b, sizeof(b)) != -EAGAIN)
		return XC_RECV;
	iface_client_stats(c, &st);
	iface_client_close(c);
	return t_write_full(res_fd, &st, sizeof(st)) ? XC_PIPE : XC_OK;
}

static void st_expect(const struct iface_stats *st, uint64_t tx_msgs,
		      uint64_t tx_bytes, uint64_t rx_msgs, uint64_t rx_bytes)
{
	ck_assert_uint_eq(st->tx_msgs, tx_msgs);
	ck_assert_uint_eq(st->tx_bytes, tx_bytes);
	ck_assert_uint_eq(st->rx_msgs, rx_msgs);
	ck_assert_uint_eq(st->rx_bytes, rx_bytes);
}

START_TEST(test_stats)
{
	const uint64_t c2s_bytes = st_sum(st_c2s_len, 0, ST_C2S);
	const uint64_t s2c_bytes = st_sum(st_s2c_len, 0, ST_S2C);
	unsigned char b[T_ELEM], el[ST_S2C_N][T_ELEM];
	uint32_t lens[ST_C2S];
	struct iface_stats st;
	struct cr_pair x;
	const void *first;
	unsigned k;
	int n;

	cr_pair_start(&x, 0, st_client);
	tu_barrier_wait(&x.b); /* the client sent */

	/* the client's: the first by recv, the rest peeked and given back
	 * in two releases */
	for (k = 0; k < ST_C2S_RECV; k++) {
		ck_assert_int_eq(iface_conn_recv(g_cr.conn, b, sizeof(b)),
				 (ssize_t)st_c2s_len(k));
		ck_assert(cr_ok(b, st_c2s_len(k), k));
	}
	n = iface_conn_peek(g_cr.conn, ST_C2S, &first, lens);
	ck_assert_int_eq(n, ST_C2S - ST_C2S_RECV);
	for (int i = 0; i < n; i++) {
		size_t at = (size_t)i * iface_conn_stride(g_cr.conn);

		ck_assert_uint_eq(lens[i], st_c2s_len(k + (unsigned)i));
		ck_assert(cr_ok((const unsigned char *)first + at, lens[i],
				k + (unsigned)i));
	}
	ck_assert_int_eq(iface_conn_release(g_cr.conn, ST_PART), 0);
	k += ST_PART;
	iface_conn_stats(g_cr.conn, &st);
	st_expect(&st, 0, 0, k, st_sum(st_c2s_len, 0, k));
	n = iface_conn_peek(g_cr.conn, ST_C2S, &first, NULL);
	ck_assert_int_eq(n, ST_C2S - k);
	ck_assert(cr_ok(first, st_c2s_len(k), k));
	ck_assert_int_eq(iface_conn_release(g_cr.conn, (unsigned)n), 0);
	ck_assert_int_eq(iface_conn_recv(g_cr.conn, b, sizeof(b)), -EAGAIN);
	iface_conn_stats(g_cr.conn, &st);
	st_expect(&st, 0, 0, ST_C2S, c2s_bytes);

	/* the server's, one by one and by batch */
	for (k = 0; k < ST_NS2C; k++) {
		cr_fill(b, st_s2c[k], ST_S2C_K + k);
		ck_assert_int_eq(iface_conn_send(g_cr.conn, b, st_s2c[k]), 0);
	}
	cr_fill(b, ST_S2C_WAIT, ST_S2C_K + k++);
	ck_assert_int_eq(iface_conn_send_wait(g_cr.conn, b, ST_S2C_WAIT, 1000),
			 0);
	for (unsigned i = 0; i < ST_S2C_N; i++)
		cr_fill(el[i], T_ELEM, ST_S2C_K + k++);
	ck_assert_int_eq(iface_conn_send_n(g_cr.conn, el, ST_S2C_N), ST_S2C_N);
	iface_conn_stats(g_cr.conn, &st);
	st_expect(&st, ST_S2C, s2c_bytes, ST_C2S, c2s_bytes);
	tu_barrier_signal(&x.a); /* go */

	/* the client's own view: the mirror image */
	cr_pair_result(&x, &st);
	st_expect(&st, ST_C2S, c2s_bytes, ST_S2C, s2c_bytes);
	st_expect(&g_cr.st, ST_S2C, s2c_bytes, ST_C2S, c2s_bytes);
	cr_pair_end(&x);
}
END_TEST

/* ---- the client's zero-copy receive, the server's batch and blocking send */

/*
 * Toward a client that does not read yet, the server's iface_conn_send_n
 * fills the ring (all of a first batch, the part that fits of a second,
 * then -EAGAIN; n 0 is -EINVAL) and iface_conn_send_wait times out with
 * -ETIMEDOUT after its time-out and well within a second (-EMSGSIZE for a
 * message over the slot). The client then reads by iface_client_peek /
 * iface_client_release: contiguous slots up to the ring's end, lens and
 * payloads as sent, -EINVAL for releasing more than peeked, a partial
 * release, lens NULL, -EAGAIN when empty; a blocking conn_send_wait that
 * waits for that room then goes through, and the client peeks its short
 * message after the wrap. Both sides' counters agree.
 */
#define PK_CAP 16u
#define PK_FIRST 10u   /* the first send_n: all of it goes in */
#define PK_WAIT_MS 100 /* the send_wait that must time out */
#define PK_LAST 10u    /* length of the message after the wrap */

static int pk_client(struct tu_barrier *go, struct tu_barrier *did,
		     int res_fd)
{
	struct iface_client_config cc = { .path = t_path };
	uint32_t lens[PK_CAP], stride;
	struct iface_client *c;
	struct iface_stats st;
	const void *first;
	unsigned k = 0;
	int n;

	if (iface_client_connect(&c, &cc, NULL) < 0)
		return XC_CONNECT;
	stride = iface_client_stride(c);
	tu_barrier_wait(go); /* the ring is full */
	n = iface_client_peek(c, 4, &first, lens);
	if (n != 4)
		return XC_RECV;
	for (int i = 0; i < n; i++)
		if (lens[i] != T_ELEM ||
		    !cr_ok((const unsigned char *)first + (size_t)i * stride,
			   T_ELEM, k + (unsigned)i))
			return XC_SUM;
	if (iface_client_release(c, 5) != -EINVAL ||
	    iface_client_release(c, 4) != 0)
		return XC_RECV;
	k += 4;
	/* up to the end of the ring, then part of it back */
	n = iface_client_peek(c, 100, &first, NULL);
	if (n != (int)(PK_CAP - k) || !cr_ok(first, T_ELEM, k))
		return XC_RECV;
	if (iface_client_release(c, 3) != 0)
		return XC_RECV;
	k += 3;
	n = iface_client_peek(c, PK_CAP, &first, lens);
	if (n != (int)(PK_CAP - k))
		return XC_RECV;
	for (int i = 0; i < n; i++)
		if (lens[i] != T_ELEM ||
		    !cr_ok((const unsigned char *)first + (size_t)i * stride,
			   T_ELEM, k + (unsigned)i))
			return XC_SUM;
	if (iface_client_release(c, (unsigned)n) != 0)
		return XC_RECV;
	tu_barrier_signal(did);
	/* the one the blocking send put in after the wrap, at slot 0 (it
	 * may be there already: the send went on at the first release) */
	if (iface_client_wait(c, 10000) != 0 ||
	    iface_client_peek(c, PK_CAP, &first, lens) != 1 ||
	    lens[0] != PK_LAST || !cr_ok(first, PK_LAST, PK_CAP))
		return XC_RECV;
	if (iface_client_release(c, 1) != 0 ||
	    iface_client_peek(c, 1, &first, lens) != -EAGAIN)
		return XC_RECV;
	iface_client_stats(c, &st);
	tu_barrier_wait(go);
	iface_client_close(c);
	return t_write_full(res_fd, &st, sizeof(st)) ? XC_PIPE : XC_OK;
}

START_TEST(test_client_peek_conn_send)
{
	unsigned char el[PK_CAP + 4][T_ELEM], b[T_ELEM + 1];
	struct iface_stats st;
	struct cr_pair x;
	int64_t t0, dt;

	cr_pair_start(&x, PK_CAP, pk_client);

	for (unsigned k = 0; k < PK_CAP + 4; k++)
		cr_fill(el[k], T_ELEM, k);
	ck_assert_int_eq(iface_conn_send_n(g_cr.conn, el, 0), -EINVAL);
	ck_assert_int_eq(iface_conn_send_n(g_cr.conn, el, PK_FIRST), PK_FIRST);
	ck_assert_int_eq(iface_conn_send_n(g_cr.conn, el[PK_FIRST], 10),
			 PK_CAP - PK_FIRST);
	ck_assert_int_eq(iface_conn_send_n(g_cr.conn, el[PK_CAP], 1), -EAGAIN);
	iface_conn_stats(g_cr.conn, &st);
	ck_assert_uint_eq(st.tx_msgs, PK_CAP);
	ck_assert_uint_eq(st.tx_bytes, PK_CAP * T_ELEM);
	ck_assert_uint_eq(st.full, 1);

	cr_fill(b, PK_LAST, PK_CAP);
	t0 = t_now_ns();
	ck_assert_int_eq(iface_conn_send_wait(g_cr.conn, b, PK_LAST,
					      PK_WAIT_MS),
			 -ETIMEDOUT);
	dt = t_now_ns() - t0;
	ck_assert_msg(dt >= (PK_WAIT_MS - 1) * 1000000LL,
		      "timed out after %.3f ms", dt / 1e6);
	ck_assert_msg(dt < 1000 * 1000000LL, "timed out after %.3f ms",
		      dt / 1e6);
	ck_assert_int_eq(iface_conn_send_wait(g_cr.conn, b, T_ELEM + 1, 10),
			 -EMSGSIZE);

	tu_barrier_signal(&x.a); /* read: the blocking send goes through */
	ck_assert_int_eq(iface_conn_send_wait(g_cr.conn, b, PK_LAST, 10000), 0);
	tu_barrier_wait(&x.b);
	iface_conn_stats(g_cr.conn, &st);
	ck_assert_uint_eq(st.tx_msgs, PK_CAP + 1);
	ck_assert_uint_eq(st.tx_bytes, PK_CAP * T_ELEM + PK_LAST);
	tu_barrier_signal(&x.a); /* leave */
	cr_pair_result(&x, &st);
	ck_assert_uint_eq(st.rx_msgs, PK_CAP + 1);
	ck_assert_uint_eq(st.rx_bytes, PK_CAP * T_ELEM + PK_LAST);
	cr_pair_end(&x);
}
END_TEST

/* ---- a server driven by its fd --------------------------------------------- */

#define FD_ROUNDS 20

static unsigned g_fd_msgs, g_fd_bad;

static void fd_echo(struct iface_conn *c, const struct iface_msg *msgs,
		    unsigned n, void *user)
{
	(void)user;
	for (unsigned i = 0; i < n; i++) {
		if (msgs[i].len != g_fd_msgs + 1 ||
		    !cr_ok(msgs[i].data, msgs[i].len, g_fd_msgs) ||
		    iface_conn_send(c, msgs[i].data, msgs[i].len) != 0)
			g_fd_bad++;
		g_fd_msgs++;
	}
}

static int fd_client(void)
{
	struct iface_client_config cc = { .path = t_path };
	unsigned char b[T_ELEM];
	struct iface_client *c;

	if (iface_client_connect(&c, &cc, NULL) < 0)
		return XC_CONNECT;
	for (unsigned k = 0; k < FD_ROUNDS; k++) {
		cr_fill(b, k + 1, k);
		if (iface_client_send(c, b, k + 1) != 0)
			return XC_SEND;
		memset(b, 0, sizeof(b));
		if (iface_client_recv_wait(c, b, sizeof(b), 10000) !=
		    (ssize_t)(k + 1))
			return XC_RECV;
		if (!cr_ok(b, k + 1, k))
			return XC_SUM;
	}
	iface_client_close(c);
	return XC_OK;
}

/*
 * A server driven only by poll() on iface_server_fd() and dispatch(0), as
 * a caller's own event loop would: the fd is not readable while nothing
 * happens; a client's connect, its handshake, each of its messages and its
 * goodbye make it readable (a poll never runs into its 5 s time-out); the
 * client's FD_ROUNDS echo round trips all come back; and once the client
 * is gone the fd is quiet again.
 */
START_TEST(test_server_fd)
{
	struct iface_server_config sc = { 0 };
	struct iface_server *s;
	struct pollfd p = { .events = POLLIN };
	unsigned polls = 0;
	pid_t pid;

	memset(&g_cr, 0, sizeof(g_cr));
	g_fd_msgs = g_fd_bad = 0;
	sc.path = t_path;
	sc.elem_size = T_ELEM;
	sc.spin = -1; /* arm at once: no polling keeps the fd readable */
	sc.cb.on_connect = cr_connect;
	sc.cb.on_message = fd_echo;
	sc.cb.on_disconnect = cr_disconnect;
	ck_assert_int_eq(iface_server_create(&s, &sc), 0);
	p.fd = iface_server_fd(s);
	ck_assert_int_ge(p.fd, 0);
	ck_assert_int_eq(poll(&p, 1, 0), 0);
	pid = t_fork();
	if (pid == 0)
		_exit(fd_client());
	while (g_cr.disconnects == 0) {
		ck_assert_msg(poll(&p, 1, 5000) == 1,
			      "the fd stayed quiet with work to do (%u polls, "
			      "%u messages)", polls, g_fd_msgs);
		ck_assert_int_ge(iface_server_dispatch(s, 0), 0);
		polls++;
	}
	ck_assert_int_eq(tu_wait(pid), XC_OK);
	ck_assert_uint_eq(g_fd_msgs, FD_ROUNDS);
	ck_assert_uint_eq(g_fd_bad, 0);
	ck_assert_uint_eq(g_cr.code, IFACE_R_CLOSED);
	ck_assert_uint_eq(g_cr.st.rx_bytes, FD_ROUNDS * (FD_ROUNDS + 1) / 2);
	ck_assert_int_eq(poll(&p, 1, 0), 0);
	iface_server_destroy(s);
}
END_TEST

/* ---- socket paths ---------------------------------------------------------- */

static int name_client(const char *name)
{
	struct iface_client_config cc = { .name = name };
	struct iface_client *c;

	if (iface_client_connect(&c, &cc, NULL) < 0)
		return XC_CONNECT;
	iface_client_close(c);
	return XC_OK;
}

/*
 * The default path with XDG_RUNTIME_DIR set to a fresh directory (t_dir,
 * from mkdtemp): iface_default_path gives DIR/memenpsf/NAME.sock and
 * creates nothing, rejects bad names and a small buffer; a server with no
 * path creates DIR/memenpsf 0700 and its socket there, and a client that
 * gives only the name finds it. A directory there of mode 0755, or a
 * symbolic link to a good one, is refused with -EACCES. With
 * XDG_RUNTIME_DIR unset (or not absolute) the path is under
 * /tmp/memenpsf-UID: only the string is checked, since a server would
 * create or use that real directory of the user.
 */
START_TEST(test_default_path)
{
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	char *old = xdg ? strdup(xdg) : NULL;
	char buf[256], want[256], dir[256], real[256], name[70];
	struct iface_server_config sc = { .name = "chk-def",
					  .elem_size = T_ELEM };
	struct iface_server *s;
	struct stat st;
	pid_t pid;

	ck_assert(!xdg || old);
	ck_assert_int_eq(setenv("XDG_RUNTIME_DIR", t_dir, 1), 0);
	ck_assert_int_lt(snprintf(dir, sizeof(dir), "%s/memenpsf", t_dir),
			 (int)sizeof(dir));
	ck_assert_int_lt(snprintf(want, sizeof(want), "%s/chk-def.sock", dir),
			 (int)sizeof(want));
	ck_assert_int_eq(iface_default_path(buf, sizeof(buf), "chk-def"),
			 (int)strlen(want));
	ck_assert_str_eq(buf, want);
	ck_assert_int_eq(lstat(dir, &st), -1); /* creates nothing */
	ck_assert_int_eq(iface_default_path(buf, sizeof(buf), NULL),
			 (int)strlen(dir) + (int)strlen("/default.sock"));
	ck_assert_str_eq(buf + strlen(dir), "/" IFACE_DEFAULT_NAME ".sock");
	ck_assert_int_eq(iface_default_path(buf, sizeof(buf), ".hidden"),
			 -EINVAL);
	ck_assert_int_eq(iface_default_path(buf, sizeof(buf), "a/b"), -EINVAL);
	ck_assert_int_eq(iface_default_path(buf, sizeof(buf), ""), -EINVAL);
	memset(name, 'n', 65);
	name[65] = '\0';
	ck_assert_int_eq(iface_default_path(buf, sizeof(buf), name), -EINVAL);
	ck_assert_int_eq(iface_default_path(buf, 8, "x"), -ENAMETOOLONG);

	/* a server creates the directory, private, and listens in it */
	memset(&g_cr, 0, sizeof(g_cr));
	sc.cb.on_connect = cr_connect;
	sc.cb.on_disconnect = cr_disconnect;
	ck_assert_int_eq(iface_server_create(&s, &sc), 0);
	ck_assert_str_eq(iface_server_path(s), want);
	ck_assert_int_eq(lstat(dir, &st), 0);
	ck_assert(S_ISDIR(st.st_mode));
	ck_assert_uint_eq(st.st_mode & 07777, 0700);
	ck_assert_uint_eq(st.st_uid, geteuid());
	ck_assert_int_eq(lstat(want, &st), 0);
	ck_assert(S_ISSOCK(st.st_mode));
	pid = t_fork();
	if (pid == 0)
		_exit(name_client("chk-def"));
	DISPATCH_UNTIL(s, g_cr.disconnects == 1);
	ck_assert_int_eq(tu_wait(pid), XC_OK);
	iface_server_destroy(s);
	ck_assert_int_eq(lstat(want, &st), -1);

	/* the directory, but too open: refused, and left as it was */
	ck_assert_int_eq(chmod(dir, 0755), 0);
	ck_assert_int_eq(iface_server_create(&s, &sc), -EACCES);
	ck_assert_int_eq(lstat(dir, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0755);
	ck_assert_int_eq(lstat(want, &st), -1);
	/* a link to a private directory: refused too */
	ck_assert_int_eq(rmdir(dir), 0);
	ck_assert_int_lt(snprintf(real, sizeof(real), "%s/real", t_dir),
			 (int)sizeof(real));
	ck_assert_int_eq(mkdir(real, 0700), 0);
	ck_assert_int_eq(symlink(real, dir), 0);
	ck_assert_int_eq(iface_server_create(&s, &sc), -EACCES);

	/* no XDG_RUNTIME_DIR, or a relative one: /tmp/memenpsf-UID */
	snprintf(want, sizeof(want), "/tmp/memenpsf-%u/chk-def.sock",
		 (unsigned)geteuid());
	ck_assert_int_eq(unsetenv("XDG_RUNTIME_DIR"), 0);
	ck_assert_int_eq(iface_default_path(buf, sizeof(buf), "chk-def"),
			 (int)strlen(want));
	ck_assert_str_eq(buf, want);
	ck_assert_int_eq(setenv("XDG_RUNTIME_DIR", "run/user", 1), 0);
	ck_assert_int_eq(iface_default_path(buf, sizeof(buf), "chk-def"),
			 (int)strlen(want));
	ck_assert_str_eq(buf, want);

	if (old)
		ck_assert_int_eq(setenv("XDG_RUNTIME_DIR", old, 1), 0);
	else
		ck_assert_int_eq(unsetenv("XDG_RUNTIME_DIR"), 0);
	free(old);
}
END_TEST

/*
 * A second server on the path of a live one fails with -EADDRINUSE and
 * leaves the live one's socket file alone (the same inode, and a client
 * still gets in); the socket file is 0600 by default, cfg.mode otherwise;
 * once the first is gone the path takes a new server.
 */
START_TEST(test_addr_in_use)
{
	struct iface_server_config sc = { 0 };
	struct iface_server *s, *s2 = NULL;
	struct stat st, st2;
	pid_t pid;

	memset(&g_cr, 0, sizeof(g_cr));
	sc.path = t_path;
	sc.elem_size = T_ELEM;
	sc.cb.on_connect = cr_connect;
	sc.cb.on_disconnect = cr_disconnect;
	ck_assert_int_eq(iface_server_create(&s, &sc), 0);
	ck_assert_int_eq(lstat(t_path, &st), 0);
	ck_assert(S_ISSOCK(st.st_mode));
	ck_assert_uint_eq(st.st_mode & 07777, 0600);
	ck_assert_int_eq(iface_server_create(&s2, &sc), -EADDRINUSE);
	ck_assert_ptr_null(s2);
	ck_assert_int_eq(lstat(t_path, &st2), 0);
	ck_assert_uint_eq(st2.st_ino, st.st_ino);
	pid = t_fork();
	if (pid == 0) {
		struct iface_client_config cc = { .path = t_path };
		struct iface_client *c;

		if (iface_client_connect(&c, &cc, NULL) < 0)
			_exit(XC_CONNECT);
		iface_client_close(c);
		_exit(XC_OK);
	}
	DISPATCH_UNTIL(s, g_cr.disconnects == 1);
	ck_assert_int_eq(tu_wait(pid), XC_OK);
	iface_server_destroy(s);

	sc.mode = 0660;
	ck_assert_int_eq(iface_server_create(&s, &sc), 0);
	ck_assert_int_eq(lstat(t_path, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0660);
	iface_server_destroy(s);
}
END_TEST

/* ---- max_fds --------------------------------------------------------------- */

#define MF_MAX 3 /* the server's max_fds in test_max_fds (default 8) */

/* The next message the in-process server s sends on the raw socket sock,
 * dispatching s meanwhile: t_raw_recv's result (0: *m filled, and the
 * number of fds that came with it, closed, in *nfds when not NULL). */
static int inproc_recv(struct iface_server *s, int sock, struct wire_msg *m,
		       unsigned *nfds)
{
	int64_t t_end = t_now_ns() + 5000 * 1000000LL;
	int r;

	while ((r = t_raw_recv(sock, m, nfds, 0)) == -EAGAIN ||
	       r == -ETIMEDOUT) {
		ck_assert_int_ge(iface_server_dispatch(s, 10), 0);
		ck_assert_msg(t_now_ns() < t_end, "nothing from the server");
	}
	return r;
}

/* A raw client of s sends one message with nfds copies of a pipe's write
 * end (a JOIN during the handshake, a BYE after WELCOME when open) and
 * must be dropped with code PROTOCOL and a text that says text_part; every
 * copy it passed is closed by the server. */
static void mf_play(struct iface_server *s, unsigned nfds, int open,
		    const char *text_part)
{
	unsigned char buf[WIRE_MAX_MSG];
	struct wire_join j = plain_join();
	struct pollfd pf = { .events = POLLIN };
	int sock, n, p[2], fds[FDPASS_MAX_FDS];
	struct wire_msg m;
	unsigned got = 0;
	char b;

	t_pipe(p);
	for (unsigned i = 0; i < nfds; i++)
		fds[i] = p[1];
	sock = fdpass_connect(t_path, SOCK_SEQPACKET, 5000);
	ck_assert_int_ge(sock, 0);
	ck_assert_int_eq(inproc_recv(s, sock, &m, NULL), 0);
	ck_assert_uint_eq(m.type, WIRE_HELLO);
	ck_assert_uint_eq(m.u.hello.max_fds, MF_MAX);
	n = wire_encode_join(buf, sizeof(buf), &j);
	ck_assert_int_gt(n, 0);
	if (open) {
		ck_assert_int_eq(fdpass_send(sock, buf, (size_t)n, NULL, 0,
					     1000),
				 n);
		ck_assert_int_eq(inproc_recv(s, sock, &m, &got), 0);
		ck_assert_uint_eq(m.type, WIRE_WELCOME);
		ck_assert_uint_eq(got, WIRE_WELCOME_NFDS);
		n = wire_encode_reason(buf, sizeof(buf), WIRE_BYE,
				       IFACE_R_CLOSED, "bye");
		ck_assert_int_gt(n, 0);
	}
	ck_assert_int_eq(fdpass_send(sock, buf, (size_t)n, fds, nfds, 1000),
			 n);
	ck_assert_int_eq(inproc_recv(s, sock, &m, NULL), 0);
	ck_assert_uint_eq(m.type, open ? WIRE_BYE : WIRE_REFUSE);
	ck_assert_uint_eq(m.u.reason.code, IFACE_R_PROTOCOL);
	ck_assert_msg(strstr(m.u.reason.text, text_part) != NULL,
		      "%u fds: '%s' lacks '%s'", nfds, m.u.reason.text,
		      text_part);
	ck_assert_int_eq(inproc_recv(s, sock, &m, NULL), -EPIPE);
	close(sock);
	close(p[1]);
	pf.fd = p[0];
	ck_assert_int_eq(poll(&pf, 1, 5000), 1);
	ck_assert_int_eq(read(p[0], &b, 1), 0);
	close(p[0]);
}

/*
 * max_fds at a non-default value (3): HELLO says 3; no client message
 * may carry fds, so a client that sends them is dropped either way, but
 * the limit decides how. A message with 3 fds is taken whole and then
 * found malformed ("malformed handshake message" for a JOIN, "unexpected
 * control message" for a BYE after WELCOME); one with 4 is refused as bad
 * control data before it is decoded (at the default of 8 it would be
 * taken whole). Every fd passed is closed either way. A max_fds over
 * FDPASS_MAX_FDS is a bad config.
 */
START_TEST(test_max_fds)
{
	struct iface_server_config sc = { 0 };
	struct iface_server *s;

	memset(&g_cr, 0, sizeof(g_cr));
	sc.path = t_path;
	sc.elem_size = T_ELEM;
	sc.max_fds = FDPASS_MAX_FDS + 1;
	ck_assert_int_eq(iface_server_create(&s, &sc), -EINVAL);
	sc.max_fds = MF_MAX;
	sc.cb.on_connect = cr_connect;
	sc.cb.on_disconnect = cr_disconnect;
	ck_assert_int_eq(iface_server_create(&s, &sc), 0);
	mf_play(s, MF_MAX, 0, "malformed handshake message");
	mf_play(s, MF_MAX + 1, 0, "bad control data");
	mf_play(s, MF_MAX, 1, "unexpected control message");
	mf_play(s, MF_MAX + 1, 1, "bad control message");
	DISPATCH_UNTIL(s, g_cr.disconnects == 2);
	ck_assert_uint_eq(iface_server_nclients(s), 0);
	iface_server_destroy(s);
}
END_TEST

static Suite *iface_suite(void)
{
	Suite *s = suite_create("iface");
	TCase *tc;

	tc = t_tcase("stream", 150);
	tcase_add_test(tc, test_many_clients);
	suite_add_tcase(s, tc);

	tc = t_tcase("crash", 60);
	tcase_add_test(tc, test_kill_client);
	tcase_add_test(tc, test_kill_client_handshake);
	tcase_add_test(tc, test_kill_server);
	suite_add_tcase(s, tc);

	tc = t_tcase("refuse", 30);
	tcase_add_test(tc, test_refuse_version);
	tcase_add_test(tc, test_refuse_version_client);
	tcase_add_test(tc, test_refuse_type);
	tcase_add_test(tc, test_refuse_full);
	tcase_add_test(tc, test_refuse_timeout);
	suite_add_tcase(s, tc);

	tc = t_tcase("hostile", 60);
	tcase_add_test(tc, test_hostile);
	tcase_add_test(tc, test_hostile_server);
	tcase_add_test(tc, test_hostile_ring);
	suite_add_tcase(s, tc);

	tc = t_tcase("peer_dies", 30);
	tcase_add_test(tc, test_left_in_ring_to_server);
	tcase_add_test(tc, test_big_slots_budget);
	tcase_add_test(tc, test_left_in_ring_to_client);
	tcase_add_test(tc, test_close_in_callback);
	suite_add_tcase(s, tc);

	tc = t_tcase("conn_recv", 30);
	tcase_add_test(tc, test_conn_recv);
	tcase_add_test(tc, test_client_wait_send);
	tcase_add_test(tc, test_conn_wait);
	tcase_add_test(tc, test_stats);
	tcase_add_test(tc, test_client_peek_conn_send);
	tcase_add_test(tc, test_server_fd);
	suite_add_tcase(s, tc);

	tc = t_tcase("path", 30);
	tcase_add_test(tc, test_default_path);
	tcase_add_test(tc, test_addr_in_use);
	tcase_add_test(tc, test_max_fds);
	suite_add_tcase(s, tc);

	tc = t_tcase("slow", 30);
	tcase_add_test(tc, test_slow_client);
	tcase_add_test(tc, test_wake_batching);
	tcase_add_test(tc, test_stretch);
	tcase_add_test(tc, test_dispatch_timeout_polling);
	suite_add_tcase(s, tc);

	tc = t_tcase("examples", 60);
	tcase_add_test(tc, test_examples);
	tcase_add_test(tc, test_examples_typed_poll);
	suite_add_tcase(s, tc);

	tc = t_tcase("signal", 30);
	tcase_add_test(tc, test_stop_signal);
	tcase_add_test(tc, test_client_stop_signal);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(iface_suite());

	signal(SIGPIPE, SIG_IGN);
	return tu_run(sr);
}

/* SPDX-License-Identifier: MIT */
/* Helpers of the libiface multi-process tests; see iface_util.h. */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <memenpsf/fdpass.h>

#include "../iface/wire.h"
#include "iface_util.h"
#include "testutil.h"

int64_t t_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

pid_t t_fork(void)
{
	pid_t pid = fork();

	ck_assert_int_ge(pid, 0);
	return pid;
}

void t_pipe(int p[2])
{
	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
}

ssize_t t_read_full(int fd, void *buf, size_t n)
{
	size_t got = 0;

	while (got < n) {
		ssize_t r = read(fd, (char *)buf + got, n - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			return 0;
		got += (size_t)r;
	}
	return (ssize_t)n;
}

int t_write_full(int fd, const void *buf, size_t n)
{
	size_t done = 0;

	while (done < n) {
		ssize_t r = write(fd, (const char *)buf + done, n - done);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		done += (size_t)r;
	}
	return 0;
}

void tmsg_fill(struct tmsg *m, uint32_t who, uint32_t kind, uint64_t seq,
	       uint64_t answered)
{
	memset(m, 0, sizeof(*m));
	m->who = who;
	m->kind = kind;
	m->seq = seq;
	m->data[0] = answered;
	m->data[1] = seq * 0x9e3779b97f4a7c15ull ^ who;
	m->data[2] = ~m->data[1];
	m->data[3] = (uint64_t)kind << 32 | who;
	m->data[4] = seq ^ 0x5555555555555555ull;
	m->sum = tu_hash(m, offsetof(struct tmsg, sum));
}

int tmsg_ok(const void *p, size_t len, struct tmsg *out)
{
	if (len != sizeof(*out))
		return 0;
	memcpy(out, p, sizeof(*out)); /* once, then look at the copy */
	return out->sum == tu_hash(out, offsetof(struct tmsg, sum)) &&
	       out->data[1] == (out->seq * 0x9e3779b97f4a7c15ull ^ out->who) &&
	       out->data[2] == ~out->data[1] &&
	       out->data[4] == (out->seq ^ 0x5555555555555555ull);
}

static int count_dir(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	int n = 0;

	ck_assert_msg(d != NULL, "opendir %s: %s", path, strerror(errno));
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

int proc_fd_count(pid_t pid)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	return count_dir(path);
}

int proc_memfd_maps(pid_t pid)
{
	char path[64], line[4096];
	FILE *f;
	int n = 0;

	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	f = fopen(path, "re");
	ck_assert_ptr_nonnull(f);
	while (fgets(line, sizeof(line), f))
		if (strstr(line, "/memfd:"))
			n++;
	fclose(f);
	return n;
}

/* ---- the echo server (child process) -------------------------------------- */

struct econn {
	uint64_t rx, tx, bad;
	uint32_t who;
};

#define MAX_NOTES 256

static struct iface_server *g_srv;
static struct srv_note g_notes[MAX_NOTES];
static unsigned g_nnotes;
static uint64_t g_bad;

static void on_term(int sig)
{
	(void)sig;
	if (g_srv)
		iface_server_stop(g_srv);
}

static int es_connect(struct iface_conn *c, void *user)
{
	struct econn *e = calloc(1, sizeof(*e));

	(void)user;
	if (!e)
		return -1;
	iface_conn_set_user(c, e);
	return 0;
}

static void es_message(struct iface_conn *c, const struct iface_msg *msgs,
		       unsigned n, void *user)
{
	struct econn *e = iface_conn_user(c);

	(void)user;
	for (unsigned i = 0; i < n; i++) {
		struct tmsg m, r;
		int rc;

		int ok = tmsg_ok(msgs[i].data, msgs[i].len, &m);

		if (!ok || m.kind != TM_REQ || m.seq != e->rx ||
		    (e->rx && m.who != e->who)) {
			if (!e->bad) /* the first one says the most */
				fprintf(stderr,
					"server: conn %lu: request %lu bad: "
					"len %u sum %s kind %u seq %lu who "
					"%u/%u\n",
					(unsigned long)iface_conn_id(c),
					(unsigned long)e->rx, msgs[i].len,
					ok ? "ok" : "BAD", m.kind,
					(unsigned long)m.seq, m.who, e->who);
			e->bad++;
			e->rx++;
			continue;
		}
		e->who = m.who;
		e->rx++;
		tmsg_fill(&r, m.who, TM_REP, e->tx, m.seq);
		/* the client keeps fewer requests in flight than the ring
		 * holds, so the reply ring can never be full here */
		rc = iface_conn_send(c, &r, sizeof(r));
		if (rc == 0)
			e->tx++;
		else if (rc != -EPIPE) /* -EPIPE: the client is leaving */
			e->bad++;
	}
}

static void es_disconnect(struct iface_conn *c, const struct iface_reason *why,
			  void *user)
{
	struct econn *e = iface_conn_user(c);

	(void)user;
	g_bad += e->bad;
	if (g_nnotes < MAX_NOTES) {
		struct srv_note *n = &g_notes[g_nnotes++];

		memset(n, 0, sizeof(*n));
		n->pid = iface_conn_pid(c);
		n->code = why->code;
		n->rx = e->rx;
		n->bad = e->bad;
		n->id = iface_conn_id(c);
	}
	free(e);
}

static int server_main(const struct srv_opts *o, int ready_fd, int note_fd)
{
	struct iface_server_config cfg = { 0 };
	struct sigaction sa = { 0 };
	int r;

	cfg.path = o->path;
	cfg.elem_size = T_ELEM;
	cfg.capacity = o->capacity ? o->capacity : 1024;
	cfg.max_clients = o->max_clients ? o->max_clients : 64;
	/* a test not about the time-out gives slow starters (a 2-core machine
	 * shared by several suites) far more than the default 2 s */
	cfg.handshake_timeout_ms = o->handshake_ms ? o->handshake_ms : 30000;
	if (o->typed)
		memset(cfg.type_id, 0x11, sizeof(cfg.type_id));
	cfg.cb.on_connect = es_connect;
	cfg.cb.on_message = es_message;
	cfg.cb.on_disconnect = es_disconnect;
	sa.sa_handler = on_term;
	sigemptyset(&sa.sa_mask);
	if (iface_server_create(&g_srv, &cfg) < 0)
		return XC_SERVER;
	sigaction(SIGTERM, &sa, NULL);
	if (t_write_full(ready_fd, "R", 1) < 0)
		return XC_PIPE;
	close(ready_fd);
	if (o->use_run) {
		r = iface_server_run(g_srv);
	} else {
		for (;;) {
			r = iface_server_dispatch(g_srv, -1);
			if (g_nnotes && note_fd >= 0) {
				/* after the dispatch: those conns are freed */
				if (t_write_full(note_fd, g_notes,
						 g_nnotes * sizeof(g_notes[0])))
					return XC_PIPE;
				g_nnotes = 0;
			}
			if (r == -ECANCELED) {
				r = 0;
				break;
			}
			if (r < 0)
				break;
		}
	}
	if (r != 0)
		return XC_SERVER;
	iface_server_destroy(g_srv);
	g_srv = NULL;
	if (g_nnotes && note_fd >= 0 &&
	    t_write_full(note_fd, g_notes, g_nnotes * sizeof(g_notes[0])))
		return XC_PIPE;
	if (access(o->path, F_OK) == 0)
		return XC_PATH;
	return g_bad ? XC_BADMSG : XC_OK;
}

pid_t srv_spawn(const struct srv_opts *o, int *note_rd)
{
	int ready[2], note[2] = { -1, -1 };
	pid_t pid;
	char c;

	t_pipe(ready);
	if (note_rd)
		t_pipe(note);
	pid = t_fork();
	if (pid == 0) {
		close(ready[0]);
		if (note[0] >= 0)
			close(note[0]);
		_exit(server_main(o, ready[1], note[1]));
	}
	close(ready[1]);
	if (note[1] >= 0)
		close(note[1]);
	ck_assert_msg(t_read_full(ready[0], &c, 1) == 1,
		      "the server child did not start");
	/* and the end of file: it closed its end, so a count of its
	 * descriptors taken from now on is its steady one */
	ck_assert_int_eq(t_read_full(ready[0], &c, 1), 0);
	close(ready[0]);
	if (note_rd)
		*note_rd = note[0];
	return pid;
}

void srv_note_read(int fd, struct srv_note *n)
{
	ck_assert_int_eq(t_read_full(fd, n, sizeof(*n)), (ssize_t)sizeof(*n));
}

/* ---- the echo client -------------------------------------------------------- */

static int stop_asked(int stop_fd)
{
	struct pollfd p = { .fd = stop_fd, .events = POLLIN };

	return stop_fd >= 0 && poll(&p, 1, 0) > 0;
}

int echo_client(const char *path, uint32_t who, uint64_t count,
		unsigned window, int stop_fd, int ready_fd, uint64_t ready_at)
{
	struct iface_client_config cfg = { 0 };
	struct iface_client *c;
	struct iface_reason why;
	uint64_t sent = 0, got = 0, limit = count;
	unsigned iter = 0;
	int ret = XC_OK, r;

	cfg.path = path;
	cfg.elem_size = T_ELEM;
	cfg.timeout_ms = 10000;
	r = iface_client_connect(&c, &cfg, &why);
	if (r < 0) {
		fprintf(stderr, "client %u: connect: %s (%u %s)\n", who,
			strerror(-r), why.code, why.text);
		return XC_CONNECT;
	}
	while (got < limit) {
		int progress = 0;
		ssize_t n;
		struct tmsg m;

		if (count == UINT64_MAX && limit == UINT64_MAX &&
		    (++iter & 63) == 0 && stop_asked(stop_fd)) {
			limit = sent; /* collect what is in flight, then stop */
			continue;
		}
		while (sent < limit && sent - got < window) {
			tmsg_fill(&m, who, TM_REQ, sent, 0);
			r = iface_client_send(c, &m, sizeof(m));
			if (r == -EAGAIN)
				break;
			if (r < 0) {
				fprintf(stderr, "client %u: send %lu: %s\n",
					who, (unsigned long)sent, strerror(-r));
				ret = XC_SEND;
				goto out;
			}
			sent++;
			progress = 1;
		}
		while ((n = iface_client_recv(c, &m, sizeof(m))) >= 0) {
			struct tmsg v;

			if (!tmsg_ok(&m, (size_t)n, &v) || v.kind != TM_REP ||
			    v.who != who) {
				ret = XC_SUM;
				goto out;
			}
			if (v.seq != got || v.data[0] != got) {
				fprintf(stderr,
					"client %u: reply %lu/%lu, want %lu\n",
					who, (unsigned long)v.seq,
					(unsigned long)v.data[0],
					(unsigned long)got);
				ret = XC_ORDER;
				goto out;
			}
			got++;
			progress = 1;
			if (got == ready_at && ready_fd >= 0 &&
			    t_write_full(ready_fd, "r", 1) < 0) {
				ret = XC_PIPE;
				goto out;
			}
		}
		if (n != -EAGAIN) {
			iface_client_reason(c, &why);
			fprintf(stderr, "client %u: recv after %lu: %s (%s)\n",
				who, (unsigned long)got, strerror((int)-n),
				why.text);
			ret = XC_RECV;
			goto out;
		}
		if (!progress && sent > got) {
			r = iface_client_wait(c, T_STALL_MS);
			if (r == -ETIMEDOUT) {
				ret = XC_STALL;
				goto out;
			}
			if (r < 0) {
				iface_client_reason(c, &why);
				fprintf(stderr, "client %u: wait: %s (%s)\n",
					who, strerror(-r), why.text);
				ret = XC_RECV;
				goto out;
			}
		}
	}
out:
	iface_client_close(c);
	return ret;
}

pid_t echo_client_spawn(const char *path, uint32_t who, uint64_t count,
			unsigned window, int stop_fd, int ready_fd,
			uint64_t ready_at)
{
	pid_t pid = t_fork();

	if (pid == 0)
		_exit(echo_client(path, who, count, window, stop_fd, ready_fd,
				  ready_at));
	return pid;
}

void t_read_line(int fd, char *buf, size_t cap)
{
	size_t n = 0;

	while (n < cap - 1) {
		ck_assert_int_eq(t_read_full(fd, buf + n, 1), 1);
		if (buf[n++] == '\n')
			break;
	}
	buf[n] = '\0';
}

int t_raw_recv(int sock, struct wire_msg *m, unsigned *nfds_out,
	       int timeout_ms)
{
	unsigned char buf[WIRE_MAX_MSG + 1];
	int fds[FDPASS_MAX_FDS];
	unsigned nfds = FDPASS_MAX_FDS;
	ssize_t r = fdpass_recv(sock, buf, sizeof(buf), fds, &nfds,
				timeout_ms);

	if (r < 0)
		return (int)r;
	for (unsigned i = 0; i < nfds; i++)
		close(fds[i]);
	if (nfds_out)
		*nfds_out = nfds;
	return wire_decode(buf, (size_t)r, nfds, 0, m);
}

char *t_dir;
char t_path[256];

static void t_tmp_setup(void)
{
	t_dir = tu_tmpdir();
	snprintf(t_path, sizeof(t_path), "%s/s.sock", t_dir);
}

static void t_tmp_teardown(void)
{
	tu_rmtree(t_dir);
	t_dir = NULL;
}

TCase *t_tcase(const char *name, int timeout)
{
	TCase *tc = tcase_create(name);

	tcase_add_checked_fixture(tc, tu_leak_setup, tu_leak_teardown);
	tcase_add_checked_fixture(tc, t_tmp_setup, t_tmp_teardown);
	tcase_set_timeout(tc, timeout);
	return tc;
}

int t_raw_open_fds(const struct wire_join *j, int *fds)
{
	unsigned char buf[WIRE_MAX_MSG + 1];
	unsigned nfds = WIRE_WELCOME_NFDS;
	int sock = fdpass_connect(t_path, SOCK_SEQPACKET, 5000), n;
	struct wire_msg m;
	ssize_t r;

	ck_assert_int_ge(sock, 0);
	ck_assert_int_eq(t_raw_recv(sock, &m, NULL, 5000), 0);
	ck_assert_uint_eq(m.type, WIRE_HELLO);
	n = wire_encode_join(buf, sizeof(buf), j);
	ck_assert_int_gt(n, 0);
	ck_assert_int_eq(fdpass_send(sock, buf, (size_t)n, NULL, 0, 1000), n);
	r = fdpass_recv(sock, buf, sizeof(buf), fds, &nfds, 5000);
	ck_assert_int_gt(r, 0);
	ck_assert_uint_eq(nfds, WIRE_WELCOME_NFDS);
	ck_assert_int_eq(wire_decode(buf, (size_t)r, nfds, 0, &m), 0);
	ck_assert_uint_eq(m.type, WIRE_WELCOME);
	return sock;
}

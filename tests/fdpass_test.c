/* SPDX-License-Identifier: MIT */
/*
 * libfdpass check suite. Every test runs in its own forked process with the
 * leak fixture (no descriptor may be opened or closed behind its back), and
 * anything that crosses processes is done with real processes.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <memenpsf/fdpass.h>

#include "failpoint.h"
#include "testutil.h"

#define TIMEOUT_S 20
#define WAIT_MS 5000 /* "forever" for a step that must happen */

/* In a forked child: report a failed check on stderr and exit non-zero
 * (check's own assertions belong to the test process, not its children). */
#define CHILD_CHECK(cond)                                                   \
	do {                                                                \
		if (!(cond)) {                                              \
			fprintf(stderr, "%s:%d: child: check failed: %s\n", \
				__FILE__, __LINE__, #cond);                 \
			_exit(3);                                           \
		}                                                           \
	} while (0)

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static char *join(const char *dir, const char *name)
{
	char *p;

	ck_assert_int_gt(asprintf(&p, "%s/%s", dir, name), 0);
	return p;
}

static void make_pipe(int p[2])
{
	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
}

/* Non-zero when every write end of the pipe whose read end is rfd is
 * closed, in every process: the read gives end of file at once. */
static int writers_gone(int rfd)
{
	char c;
	ssize_t n;
	int fl = fcntl(rfd, F_GETFL);

	ck_assert_int_ge(fl, 0);
	ck_assert_int_eq(fcntl(rfd, F_SETFL, fl | O_NONBLOCK), 0);
	n = read(rfd, &c, 1);
	ck_assert_int_eq(fcntl(rfd, F_SETFL, fl), 0);
	if (n == 0)
		return 1;
	ck_assert(n < 0 && errno == EAGAIN);
	return 0;
}

static void socketpair_ok(int sv[2])
{
	ck_assert_int_eq(fdpass_socketpair(sv), 0);
}

static void close_pair(int sv[2])
{
	close(sv[0]);
	close(sv[1]);
}

static pid_t fork_ok(void)
{
	pid_t pid = fork();

	ck_assert_int_ge(pid, 0);
	return pid;
}

/* Fill the send side of s until a try-once send says -EAGAIN; returns how
 * many messages went. */
static int fill_socket(int s)
{
	static char chunk[4096];
	int n = 0;
	ssize_t r;

	while ((r = fdpass_send(s, chunk, sizeof(chunk), NULL, 0, 0)) > 0) {
		ck_assert_int_eq(r, sizeof(chunk));
		ck_assert_int_lt(++n, 100000);
	}
	ck_assert_int_eq(r, -EAGAIN);
	return n;
}

/* Wait until process pid sleeps (state S): then it is blocked in the call
 * it was about to make. Bounded, so a process that never blocks fails. */
static void wait_sleeping(pid_t pid)
{
	int64_t end = now_ms() + WAIT_MS;
	char path[64], buf[512];

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	for (;;) {
		FILE *f = fopen(path, "re");
		char *p = NULL;

		ck_assert_ptr_nonnull(f);
		if (fgets(buf, sizeof(buf), f))
			p = strrchr(buf, ')');
		fclose(f);
		ck_assert_ptr_nonnull(p);
		if (p[1] == ' ' && p[2] == 'S')
			return;
		ck_assert_msg(now_ms() < end, "process %d never blocked",
			      (int)pid);
		sched_yield();
	}
}

/* ------------------------------------------------------------ messages */

struct file_id {
	uint64_t dev;
	uint64_t ino;
};

START_TEST(test_fd_crosses_processes)
{
	char *dir = tu_tmpdir();
	char *path = join(dir, "shared.bin");
	struct file_id id;
	struct stat st, pst;
	char buf[32];
	int sv[2], fd = -1;
	unsigned nfds = 1;
	pid_t pid;

	socketpair_ok(sv);
	pid = fork_ok();
	if (pid == 0) {
		char ack[8];
		unsigned none = 0;
		int f;

		close(sv[0]);
		f = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
		CHILD_CHECK(f >= 0);
		CHILD_CHECK(pwrite(f, "from-child", 10, 0) == 10);
		CHILD_CHECK(fstat(f, &st) == 0);
		id.dev = st.st_dev;
		id.ino = st.st_ino;
		CHILD_CHECK(fdpass_send(sv[1], &id, sizeof(id), &f, 1, WAIT_MS) ==
			    (ssize_t)sizeof(id));
		/* the parent writes through its copy, then says so */
		CHILD_CHECK(fdpass_recv(sv[1], ack, sizeof(ack), NULL, &none,
					WAIT_MS) == 3);
		CHILD_CHECK(pread(f, buf, 11, 100) == 11);
		CHILD_CHECK(memcmp(buf, "from-parent", 11) == 0);
		_exit(0);
	}
	close(sv[1]);
	ck_assert_int_eq(fdpass_recv(sv[0], &id, sizeof(id), &fd, &nfds, WAIT_MS),
			 sizeof(id));
	ck_assert_uint_eq(nfds, 1);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(fstat(fd, &st), 0);
	ck_assert_int_eq(stat(path, &pst), 0);
	/* the same open file: same object as the child saw and as the path */
	ck_assert_uint_eq(st.st_dev, id.dev);
	ck_assert_uint_eq(st.st_ino, id.ino);
	ck_assert_uint_eq(st.st_ino, pst.st_ino);
	ck_assert_int_eq(pread(fd, buf, 10, 0), 10);
	ck_assert_mem_eq(buf, "from-child", 10);
	ck_assert_int_eq(pwrite(fd, "from-parent", 11, 100), 11);
	ck_assert_int_eq(fdpass_send(sv[0], "ack", 3, NULL, 0, WAIT_MS), 3);
	ck_assert_int_eq(tu_wait(pid), 0);
	close(fd);
	close(sv[0]);
	free(path);
	tu_rmtree(dir);
}
END_TEST

/* Send n pipe write ends in one message; check that fds[i] arrives as the
 * i-th received descriptor by writing through each one. */
static void send_n_pipes(unsigned n)
{
	int p[FDPASS_MAX_FDS][2], w[FDPASS_MAX_FDS], got[FDPASS_MAX_FDS];
	unsigned nfds = FDPASS_MAX_FDS;
	char body[5] = "pipes", rbuf[8];
	int sv[2];

	socketpair_ok(sv);
	for (unsigned i = 0; i < n; i++) {
		make_pipe(p[i]);
		w[i] = p[i][1];
	}
	ck_assert_int_eq(fdpass_send(sv[0], body, sizeof(body), w, n, 0), 5);
	memset(got, -1, sizeof(got));
	ck_assert_int_eq(fdpass_recv(sv[1], rbuf, sizeof(rbuf), got, &nfds, 0), 5);
	ck_assert_mem_eq(rbuf, body, 5);
	ck_assert_uint_eq(nfds, n);
	for (unsigned i = 0; i < n; i++) {
		char c = (char)('a' + i), r = 0;

		ck_assert_int_ne(got[i], w[i]); /* a new descriptor */
		ck_assert_int_eq(write(got[i], &c, 1), 1);
		ck_assert_int_eq(read(p[i][0], &r, 1), 1);
		ck_assert_int_eq(r, c);
		close(got[i]);
		close(p[i][1]);
		ck_assert(writers_gone(p[i][0]));
		close(p[i][0]);
	}
	close_pair(sv);
}

START_TEST(test_one_fd)
{
	send_n_pipes(1);
}
END_TEST

START_TEST(test_max_fds)
{
	send_n_pipes(FDPASS_MAX_FDS);
}
END_TEST

START_TEST(test_no_fds)
{
	int sv[2], fd = -1;
	unsigned nfds = 1;
	char buf[16];

	socketpair_ok(sv);
	ck_assert_int_eq(fdpass_send(sv[0], "plain", 5, NULL, 0, 0), 5);
	ck_assert_int_eq(fdpass_recv(sv[1], buf, sizeof(buf), &fd, &nfds, 0), 5);
	ck_assert_uint_eq(nfds, 0);
	ck_assert_int_eq(fd, -1);
	ck_assert_mem_eq(buf, "plain", 5);
	close_pair(sv);
}
END_TEST

/* A sender that attaches more descriptors than the receiver has room for:
 * nothing is handed over and nothing is left open. */
START_TEST(test_more_fds_than_capacity)
{
	int p[4][2], w[4], got[2] = { -1, -1 };
	unsigned nfds = 2;
	char buf[8];
	int sv[2];

	socketpair_ok(sv);
	for (int i = 0; i < 4; i++) {
		make_pipe(p[i]);
		w[i] = p[i][1];
	}
	ck_assert_int_eq(fdpass_send(sv[0], "x", 1, w, 4, 0), 1);
	ck_assert_int_eq(fdpass_recv(sv[1], buf, sizeof(buf), got, &nfds, 0),
			 -ETOOMANYREFS);
	ck_assert_uint_eq(nfds, 0);
	for (int i = 0; i < 4; i++) {
		close(p[i][1]);
		ck_assert(writers_gone(p[i][0])); /* the received copy too */
		close(p[i][0]);
	}
	/* the connection still works */
	ck_assert_int_eq(fdpass_send(sv[0], "y", 1, NULL, 0, 0), 1);
	nfds = 2;
	ck_assert_int_eq(fdpass_recv(sv[1], buf, sizeof(buf), got, &nfds, 0), 1);
	close_pair(sv);
}
END_TEST

/* A sender (not libfdpass) that attaches more than FDPASS_MAX_FDS: the
 * control buffer overflows (MSG_CTRUNC) and every fd is accounted for. */
START_TEST(test_oversize_send_ctrunc)
{
	enum { N = FDPASS_MAX_FDS + 4 };
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int) * N)];
	} cbuf;
	int p[N][2], got[FDPASS_MAX_FDS];
	unsigned nfds = FDPASS_MAX_FDS;
	struct msghdr msg = { 0 };
	char z = 'z';
	struct iovec iov = { .iov_base = &z, .iov_len = 1 };
	struct cmsghdr *c;
	char buf[8];
	int sv[2];

	socketpair_ok(sv);
	memset(&cbuf, 0, sizeof(cbuf));
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = cbuf.buf;
	msg.msg_controllen = sizeof(cbuf.buf);
	c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int) * N);
	for (int i = 0; i < N; i++) {
		make_pipe(p[i]);
		memcpy(CMSG_DATA(c) + i * sizeof(int), &p[i][1], sizeof(int));
	}
	ck_assert_int_eq(sendmsg(sv[0], &msg, 0), 1);
	ck_assert_int_eq(fdpass_recv(sv[1], buf, sizeof(buf), got, &nfds, 0),
			 -ENOBUFS);
	ck_assert_uint_eq(nfds, 0);
	for (int i = 0; i < N; i++) {
		close(p[i][1]);
		ck_assert(writers_gone(p[i][0]));
		close(p[i][0]);
	}
	close_pair(sv);
}
END_TEST

/* The receiver cannot take every fd (RLIMIT_NOFILE): the kernel truncates
 * the control data, the receiver must close what did arrive. */
START_TEST(test_ctrunc_rlimit)
{
	int p[FDPASS_MAX_FDS][2], w[FDPASS_MAX_FDS];
	struct tu_barrier done, go;
	int sv[2];
	pid_t pid;

	socketpair_ok(sv);
	tu_barrier_init(&done);
	tu_barrier_init(&go);
	pid = fork_ok();
	if (pid == 0) {
		int got[FDPASS_MAX_FDS];
		unsigned nfds = FDPASS_MAX_FDS;
		struct tu_fdset s;
		struct rlimit rl;
		int before;
		char buf[8];
		ssize_t r;

		close(sv[0]);
		tu_fd_snapshot(&s);
		before = s.n;
		CHILD_CHECK(getrlimit(RLIMIT_NOFILE, &rl) == 0);
		/* new descriptors take the lowest free numbers below the
		 * limit: leave exactly two of them, far fewer than sent */
		for (int fd = 0, free_below = 0; free_below < 2; fd++) {
			int used = 0;

			for (int i = 0; i < s.n; i++)
				used |= s.fd[i] == fd;
			free_below += !used;
			rl.rlim_cur = (rlim_t)fd + 1;
		}
		CHILD_CHECK(setrlimit(RLIMIT_NOFILE, &rl) == 0);
		tu_barrier_signal(&done); /* ready */
		r = fdpass_recv(sv[1], buf, sizeof(buf), got, &nfds, WAIT_MS);
		CHILD_CHECK(r == -ENOBUFS);
		CHILD_CHECK(nfds == 0);
		CHILD_CHECK(tu_fd_count() == before);
		tu_barrier_signal(&done);
		tu_barrier_wait(&go); /* stay alive while the parent looks */
		_exit(0);
	}
	close(sv[1]);
	close(done.fd[1]); /* a child that fails gives end of file, not a hang */
	done.fd[1] = -1;
	/* made after the fork: the child never holds these */
	for (int i = 0; i < FDPASS_MAX_FDS; i++) {
		make_pipe(p[i]);
		w[i] = p[i][1];
	}
	tu_barrier_wait(&done);
	ck_assert_int_eq(fdpass_send(sv[0], "r", 1, w, FDPASS_MAX_FDS, WAIT_MS),
			 1);
	tu_barrier_wait(&done);
	/* the child is alive and holds none of the write ends */
	for (int i = 0; i < FDPASS_MAX_FDS; i++) {
		close(p[i][1]);
		ck_assert(writers_gone(p[i][0]));
		close(p[i][0]);
	}
	tu_barrier_signal(&go);
	ck_assert_int_eq(tu_wait(pid), 0);
	close(sv[0]);
	tu_barrier_close(&done);
	tu_barrier_close(&go);
}
END_TEST

/* SO_PASSCRED on the receiver adds an SCM_CREDENTIALS message: not ours. */
START_TEST(test_foreign_cmsg)
{
	int p[2], sv[2], one = 1, got = -1;
	unsigned nfds = 1;
	char buf[8];

	socketpair_ok(sv);
	make_pipe(p);
	ck_assert_int_eq(setsockopt(sv[1], SOL_SOCKET, SO_PASSCRED, &one,
				    sizeof(one)),
			 0);
	ck_assert_int_eq(fdpass_send(sv[0], "c", 1, &p[1], 1, 0), 1);
	ck_assert_int_eq(fdpass_recv(sv[1], buf, sizeof(buf), &got, &nfds, 0),
			 -EPROTO);
	ck_assert_uint_eq(nfds, 0);
	close(p[1]);
	ck_assert(writers_gone(p[0]));
	close(p[0]);
	close_pair(sv);
}
END_TEST

START_TEST(test_msg_trunc)
{
	char big[100], buf[10];
	int p[2], sv[2], got = -1;
	unsigned nfds = 1;

	memset(big, 'b', sizeof(big));
	socketpair_ok(sv);
	make_pipe(p);
	ck_assert_int_eq(fdpass_send(sv[0], big, sizeof(big), &p[1], 1, 0), 100);
	ck_assert_int_eq(fdpass_recv(sv[1], buf, sizeof(buf), &got, &nfds, 0),
			 -EMSGSIZE);
	ck_assert_uint_eq(nfds, 0);
	close(p[1]);
	ck_assert(writers_gone(p[0]));
	close(p[0]);
	/* the rest of that message is gone; the next one is whole */
	ck_assert_int_eq(fdpass_send(sv[0], "next", 4, NULL, 0, 0), 4);
	nfds = 1;
	ck_assert_int_eq(fdpass_recv(sv[1], buf, sizeof(buf), &got, &nfds, 0), 4);
	ck_assert_mem_eq(buf, "next", 4);
	close_pair(sv);
}
END_TEST

START_TEST(test_eagain)
{
	unsigned nfds = 0;
	char buf[8];
	int sv[2];

	socketpair_ok(sv);
	ck_assert_int_eq(fdpass_recv(sv[1], buf, sizeof(buf), NULL, &nfds, 0),
			 -EAGAIN);
	/* a blocking socket: the library must not block either */
	ck_assert_int_eq(fcntl(sv[0], F_GETFL) & O_NONBLOCK, 0);
	ck_assert_int_gt(fill_socket(sv[0]), 0);
	ck_assert_int_eq(fdpass_send(sv[0], "x", 1, NULL, 0, 0), -EAGAIN);
	close_pair(sv);
}
END_TEST

START_TEST(test_timeouts)
{
	unsigned nfds = 0;
	char buf[8];
	int64_t t0, dt;
	int sv[2];

	socketpair_ok(sv);
	t0 = now_ms();
	ck_assert_int_eq(fdpass_recv(sv[1], buf, sizeof(buf), NULL, &nfds, 120),
			 -ETIMEDOUT);
	dt = now_ms() - t0;
	ck_assert_int_ge(dt, 120);
	ck_assert_int_lt(dt, 120 + 2000);

	fill_socket(sv[0]);
	t0 = now_ms();
	ck_assert_int_eq(fdpass_send(sv[0], "x", 1, NULL, 0, 120), -ETIMEDOUT);
	dt = now_ms() - t0;
	ck_assert_int_ge(dt, 120);
	ck_assert_int_lt(dt, 120 + 2000);
	close_pair(sv);
}
END_TEST

/* A message that arrives while the receiver waits is taken at once. */
START_TEST(test_recv_wakes)
{
	struct tu_barrier b;
	unsigned nfds = 1;
	int sv[2], got = -1;
	char buf[8];
	pid_t pid;

	socketpair_ok(sv);
	tu_barrier_init(&b);
	pid = fork_ok();
	if (pid == 0) {
		int p[2];

		close(sv[1]);
		tu_barrier_wait(&b);
		CHILD_CHECK(pipe2(p, O_CLOEXEC) == 0);
		CHILD_CHECK(fdpass_send(sv[0], "w", 1, &p[0], 1, WAIT_MS) == 1);
		_exit(0);
	}
	close(sv[0]);
	tu_barrier_signal(&b);
	ck_assert_int_eq(fdpass_recv(sv[1], buf, sizeof(buf), &got, &nfds, -1),
			 1);
	ck_assert_uint_eq(nfds, 1);
	ck_assert_int_eq(tu_wait(pid), 0);
	/* the child is gone: we hold the only read end, its writer is gone */
	ck_assert(writers_gone(got));
	close(got);
	close(sv[1]);
	tu_barrier_close(&b);
}
END_TEST

START_TEST(test_peer_closed)
{
	unsigned nfds = 0;
	char buf[8];
	int sv[2];

	socketpair_ok(sv);
	close(sv[0]);
	ck_assert_int_eq(fdpass_recv(sv[1], buf, sizeof(buf), NULL, &nfds, 0),
			 -EPIPE);
	ck_assert_int_eq(fdpass_send(sv[1], "x", 1, NULL, 0, 0), -EPIPE);
	close(sv[1]);
}
END_TEST

/*
 * The peer dies (SIGKILL) while the other side is blocked in recv or send:
 * three processes, so the one that blocks and the one that dies are both
 * children and the test process can see the first one blocked.
 */
static void peer_dies_while_blocked(int in_send)
{
	struct tu_barrier ready;
	pid_t waiter, peer;
	int sv[2];

	socketpair_ok(sv);
	tu_barrier_init(&ready);
	peer = fork_ok();
	if (peer == 0) {
		close(sv[0]);
		for (;;)
			pause(); /* holds sv[1], never reads */
	}
	close(sv[1]);
	waiter = fork_ok();
	if (waiter == 0) {
		unsigned nfds = 0;
		char buf[8];
		ssize_t r;

		if (in_send)
			fill_socket(sv[0]);
		tu_barrier_signal(&ready);
		if (in_send)
			r = fdpass_send(sv[0], "x", 1, NULL, 0, -1);
		else
			r = fdpass_recv(sv[0], buf, sizeof(buf), NULL, &nfds, -1);
		CHILD_CHECK(r == -EPIPE);
		_exit(0);
	}
	close(sv[0]);
	close(ready.fd[1]); /* a waiter that fails gives end of file */
	ready.fd[1] = -1;
	tu_barrier_wait(&ready);
	wait_sleeping(waiter);
	ck_assert_int_eq(kill(peer, SIGKILL), 0);
	ck_assert_int_eq(tu_wait(peer), 128 + SIGKILL);
	ck_assert_int_eq(tu_wait(waiter), 0);
	tu_barrier_close(&ready);
}

START_TEST(test_peer_dies_in_recv)
{
	peer_dies_while_blocked(0);
}
END_TEST

START_TEST(test_peer_dies_in_send)
{
	peer_dies_while_blocked(1);
}
END_TEST

START_TEST(test_received_fds_cloexec)
{
	char *checker = tu_build_file("tests/fdpass_cloexec_check");
	int p[2], q[2], sv[2], got = -1, kept;
	struct stat gst, kst;
	unsigned nfds = 1;
	char buf[8];
	pid_t pid;

	socketpair_ok(sv);
	make_pipe(p);
	make_pipe(q);
	ck_assert_int_eq(access(checker, X_OK), 0);
	ck_assert_int_eq(fdpass_send(sv[0], "e", 1, &p[1], 1, 0), 1);
	ck_assert_int_eq(fdpass_recv(sv[1], buf, sizeof(buf), &got, &nfds, 0), 1);
	ck_assert_int_eq(fcntl(got, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
	/* the control: a descriptor that is not close-on-exec */
	kept = dup(q[1]);
	ck_assert_int_ge(kept, 0);
	ck_assert_int_eq(fcntl(kept, F_GETFD) & FD_CLOEXEC, 0);
	ck_assert_int_eq(fstat(got, &gst), 0);
	ck_assert_int_eq(fstat(kept, &kst), 0);

	pid = fork_ok();
	if (pid == 0) {
		char a[6][32];

		snprintf(a[0], sizeof(a[0]), "%d", got);
		snprintf(a[1], sizeof(a[1]), "%llu", (unsigned long long)gst.st_dev);
		snprintf(a[2], sizeof(a[2]), "%llu", (unsigned long long)gst.st_ino);
		snprintf(a[3], sizeof(a[3]), "%d", kept);
		snprintf(a[4], sizeof(a[4]), "%llu", (unsigned long long)kst.st_dev);
		snprintf(a[5], sizeof(a[5]), "%llu", (unsigned long long)kst.st_ino);
		execl(checker, checker, a[0], a[1], a[2], a[3], a[4], a[5],
		      (char *)NULL);
		_exit(127);
	}
	ck_assert_int_eq(tu_wait(pid), 0);
	close(kept);
	close(got);
	close(p[0]);
	close(p[1]);
	close(q[0]);
	close(q[1]);
	close_pair(sv);
	free(checker);
}
END_TEST

START_TEST(test_msg_bad_args)
{
	int sv[2], fds[FDPASS_MAX_FDS + 1], bad = -1;
	static char huge[FDPASS_MAX_MSG + 1];
	unsigned nfds;
	char buf[8];

	socketpair_ok(sv);
	for (int i = 0; i <= FDPASS_MAX_FDS; i++)
		fds[i] = sv[0];
	ck_assert_int_eq(fdpass_send(sv[0], "x", 0, NULL, 0, 0), -EINVAL);
	ck_assert_int_eq(fdpass_send(sv[0], NULL, 1, NULL, 0, 0), -EINVAL);
	ck_assert_int_eq(fdpass_send(sv[0], huge, sizeof(huge), NULL, 0, 0),
			 -EINVAL);
	ck_assert_int_eq(fdpass_send(sv[0], "x", 1, fds, FDPASS_MAX_FDS + 1, 0),
			 -EINVAL);
	ck_assert_int_eq(fdpass_send(sv[0], "x", 1, NULL, 1, 0), -EINVAL);
	ck_assert_int_eq(fdpass_send(sv[0], "x", 1, &bad, 1, 0), -EINVAL);
	ck_assert_int_eq(fdpass_send(-1, "x", 1, NULL, 0, 0), -EBADF);
	/* the biggest legal body does go */
	ck_assert_int_eq(fdpass_send(sv[0], huge, FDPASS_MAX_MSG, NULL, 0, 0),
			 FDPASS_MAX_MSG);

	ck_assert_int_eq(fdpass_recv(sv[1], buf, sizeof(buf), NULL, NULL, 0),
			 -EINVAL);
	nfds = 1;
	ck_assert_int_eq(fdpass_recv(sv[1], buf, sizeof(buf), NULL, &nfds, 0),
			 -EINVAL);
	ck_assert_uint_eq(nfds, 0);
	nfds = 0;
	ck_assert_int_eq(fdpass_recv(sv[1], NULL, 8, NULL, &nfds, 0), -EINVAL);
	ck_assert_int_eq(fdpass_recv(sv[1], buf, 0, NULL, &nfds, 0), -EINVAL);
	ck_assert_int_eq(fdpass_recv(-1, buf, sizeof(buf), NULL, &nfds, 0),
			 -EBADF);
	/* nothing was consumed by the refused calls */
	ck_assert_int_eq(fdpass_recv(sv[1], huge, sizeof(huge), NULL, &nfds, 0),
			 FDPASS_MAX_MSG);
	ck_assert_int_eq(fdpass_socketpair(NULL), -EINVAL);
	close_pair(sv);
}
END_TEST

/* ------------------------------------------------------------ listening */

static void connect_and_accept(struct fdpass_listener *l, const char *path,
			       int *c, int *s)
{
	*c = fdpass_connect(path, 0, WAIT_MS);
	ck_assert_int_ge(*c, 0);
	*s = fdpass_accept(l, 0, WAIT_MS);
	ck_assert_int_ge(*s, 0);
}

/* One fd each way over an accepted connection, to show it is real. */
static void exchange_fd(int a, int b)
{
	int p[2], got = -1;
	unsigned nfds = 1;
	char buf[4];

	make_pipe(p);
	ck_assert_int_eq(fdpass_send(a, "f", 1, &p[1], 1, WAIT_MS), 1);
	ck_assert_int_eq(fdpass_recv(b, buf, sizeof(buf), &got, &nfds, WAIT_MS),
			 1);
	ck_assert_uint_eq(nfds, 1);
	ck_assert_int_eq(write(got, "k", 1), 1);
	ck_assert_int_eq(read(p[0], buf, 1), 1);
	ck_assert_int_eq(buf[0], 'k');
	close(got);
	close(p[0]);
	close(p[1]);
}

static int exists(const char *path)
{
	struct stat st;

	if (lstat(path, &st) == 0)
		return 1;
	ck_assert_int_eq(errno, ENOENT);
	return 0;
}

START_TEST(test_listen_connect_path)
{
	char *dir = tu_tmpdir();
	char *path = join(dir, "s.sock"), *lock = join(dir, "s.sock.lock");
	struct fdpass_listener *l = NULL;
	int c, s;

	ck_assert_int_eq(fdpass_listen(&l, path, NULL), 0);
	ck_assert_ptr_nonnull(l);
	ck_assert_int_ge(fdpass_listener_fd(l), 0);
	ck_assert_int_eq(fcntl(fdpass_listener_fd(l), F_GETFD) & FD_CLOEXEC,
			 FD_CLOEXEC);
	ck_assert(exists(path) && exists(lock));
	connect_and_accept(l, path, &c, &s);
	exchange_fd(c, s);
	exchange_fd(s, c);
	close(c);
	close(s);
	fdpass_listener_close(l);
	ck_assert(!exists(path));
	ck_assert(!exists(lock));
	free(lock);
	free(path);
	tu_rmtree(dir);
}
END_TEST

START_TEST(test_stale_socket_replaced)
{
	char *dir = tu_tmpdir();
	char *path = join(dir, "s.sock"), *lock = join(dir, "s.sock.lock");
	struct fdpass_listener *l = NULL;
	int c, s;
	pid_t pid;

	pid = fork_ok();
	if (pid == 0) {
		struct fdpass_listener *dead;

		CHILD_CHECK(fdpass_listen(&dead, path, NULL) == 0);
		raise(SIGKILL); /* dies holding the path: files stay behind */
		_exit(1);
	}
	ck_assert_int_eq(tu_wait(pid), 128 + SIGKILL);
	ck_assert(exists(path) && exists(lock));
	ck_assert_int_eq(fdpass_connect(path, 0, 0), -ECONNREFUSED);
	ck_assert_int_eq(fdpass_listen(&l, path, NULL), 0);
	connect_and_accept(l, path, &c, &s);
	exchange_fd(c, s);
	close(c);
	close(s);
	fdpass_listener_close(l);
	ck_assert(!exists(path));
	free(lock);
	free(path);
	tu_rmtree(dir);
}
END_TEST

START_TEST(test_live_socket_refused)
{
	char *dir = tu_tmpdir();
	char *path = join(dir, "s.sock"), *lock = join(dir, "s.sock.lock");
	struct fdpass_listener *l = (struct fdpass_listener *)&l;
	struct tu_barrier ready, go;
	int c;
	pid_t pid;

	tu_barrier_init(&ready);
	tu_barrier_init(&go);
	pid = fork_ok();
	if (pid == 0) {
		struct fdpass_listener *live;
		int s;

		CHILD_CHECK(fdpass_listen(&live, path, NULL) == 0);
		tu_barrier_signal(&ready);
		s = fdpass_accept(live, 0, WAIT_MS);
		CHILD_CHECK(s >= 0);
		close(s);
		tu_barrier_wait(&go);
		fdpass_listener_close(live);
		_exit(0);
	}
	close(ready.fd[1]); /* a child that fails gives end of file */
	ready.fd[1] = -1;
	tu_barrier_wait(&ready);
	ck_assert_int_eq(fdpass_listen(&l, path, NULL), -EADDRINUSE);
	ck_assert_ptr_null(l);
	/* and the live server still serves */
	c = fdpass_connect(path, 0, WAIT_MS);
	ck_assert_int_ge(c, 0);
	close(c);
	tu_barrier_signal(&go);
	ck_assert_int_eq(tu_wait(pid), 0);
	ck_assert(!exists(path));
	ck_assert(!exists(lock));
	tu_barrier_close(&ready);
	tu_barrier_close(&go);
	free(lock);
	free(path);
	tu_rmtree(dir);
}
END_TEST

/* The lock file, not the socket, says who owns the path: while another
 * process holds PATH.lock the path is refused even with no socket there. */
START_TEST(test_held_lock_refuses)
{
	char *dir = tu_tmpdir();
	char *path = join(dir, "h.sock"), *lock = join(dir, "h.sock.lock");
	struct fdpass_listener *l = NULL;
	struct tu_barrier ready, go;
	pid_t pid;

	tu_barrier_init(&ready);
	tu_barrier_init(&go);
	pid = fork_ok();
	if (pid == 0) {
		int fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);

		CHILD_CHECK(fd >= 0);
		CHILD_CHECK(flock(fd, LOCK_EX) == 0);
		tu_barrier_signal(&ready);
		tu_barrier_wait(&go);
		_exit(0); /* the lock goes with the process */
	}
	close(ready.fd[1]);
	ready.fd[1] = -1;
	tu_barrier_wait(&ready);
	ck_assert_int_eq(fdpass_listen(&l, path, NULL), -EADDRINUSE);
	ck_assert(!exists(path));
	ck_assert(exists(lock)); /* not ours to remove */
	tu_barrier_signal(&go);
	ck_assert_int_eq(tu_wait(pid), 0);
	ck_assert_int_eq(fdpass_listen(&l, path, NULL), 0);
	fdpass_listener_close(l);
	ck_assert(!exists(lock));
	tu_barrier_close(&ready);
	tu_barrier_close(&go);
	free(lock);
	free(path);
	tu_rmtree(dir);
}
END_TEST

/* Two processes released together race for one path: exactly one wins,
 * 200 times in a row. */
START_TEST(test_listen_race)
{
	char *dir = tu_tmpdir();
	char *path = join(dir, "race.sock"), *lock = join(dir, "race.sock.lock");
	struct tu_barrier start, fin, res;

	tu_barrier_init(&start);
	tu_barrier_init(&fin);
	tu_barrier_init(&res); /* carries each child's result */
	for (int round = 0; round < 200; round++) {
		int r[2], wins = 0, losses = 0;
		pid_t pid[2];

		for (int k = 0; k < 2; k++) {
			pid[k] = fork_ok();
			if (pid[k] == 0) {
				struct fdpass_listener *l = NULL;
				int rc;

				tu_barrier_wait(&start);
				rc = fdpass_listen(&l, path, NULL);
				CHILD_CHECK(write(res.fd[1], &rc, sizeof(rc)) ==
					    sizeof(rc));
				tu_barrier_wait(&fin);
				fdpass_listener_close(l);
				_exit(0);
			}
		}
		tu_barrier_signal(&start);
		tu_barrier_signal(&start);
		for (int k = 0; k < 2; k++) {
			ck_assert_int_eq(read(res.fd[0], &r[k], sizeof(r[k])),
					 sizeof(r[k]));
			wins += r[k] == 0;
			losses += r[k] == -EADDRINUSE;
		}
		ck_assert_msg(wins == 1 && losses == 1,
			      "round %d: results %d and %d", round, r[0], r[1]);
		tu_barrier_signal(&fin);
		tu_barrier_signal(&fin);
		ck_assert_int_eq(tu_wait(pid[0]), 0);
		ck_assert_int_eq(tu_wait(pid[1]), 0);
		ck_assert(!exists(path));
		ck_assert(!exists(lock));
	}
	tu_barrier_close(&start);
	tu_barrier_close(&fin);
	tu_barrier_close(&res);
	free(lock);
	free(path);
	tu_rmtree(dir);
}
END_TEST

START_TEST(test_socket_file_mode)
{
	char *dir = tu_tmpdir();
	char *path = join(dir, "m.sock"), *lock = join(dir, "m.sock.lock");
	struct fdpass_listen_opts o = { .mode = 0660 };
	struct fdpass_listener *l;
	struct stat st;

	/* the default ignores a permissive umask */
	umask(0);
	ck_assert_int_eq(fdpass_listen(&l, path, NULL), 0);
	ck_assert_int_eq(lstat(path, &st), 0);
	ck_assert(S_ISSOCK(st.st_mode));
	ck_assert_uint_eq(st.st_mode & 07777, 0600);
	ck_assert_int_eq(lstat(lock, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0600);
	fdpass_listener_close(l);

	/* an explicit mode is exact, even under a stricter umask */
	umask(077);
	ck_assert_int_eq(fdpass_listen(&l, path, &o), 0);
	ck_assert_int_eq(lstat(path, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0660);
	fdpass_listener_close(l);
	umask(022);
	free(lock);
	free(path);
	tu_rmtree(dir);
}
END_TEST

/*
 * The socket file is never wider than asked, not even for an instant: a
 * child dies (failpoint) right after bind, before any chmod could narrow
 * it, under a umask of 0. Only in a --enable-failpoints build.
 */
START_TEST(test_socket_mode_at_bind)
{
#ifdef MEMENPSF_FAILPOINTS
	static const unsigned modes[] = { 0600, 0640 };
	char *dir = tu_tmpdir();
	char *path = join(dir, "b.sock");
	struct stat st;

	for (unsigned i = 0; i < 2; i++) {
		pid_t pid = fork_ok();

		if (pid == 0) {
			struct fdpass_listen_opts o = { .mode = modes[i] };
			struct fdpass_listener *l;

			umask(0);
			setenv(FAILPOINT_ENV, "fdpass.listen.bound", 1);
			CHILD_CHECK(fdpass_listen(&l, path, &o) == 0);
			_exit(0); /* the failpoint did not fire */
		}
		ck_assert_int_eq(tu_wait(pid), FAILPOINT_EXIT_CODE);
		ck_assert_int_eq(lstat(path, &st), 0);
		ck_assert(S_ISSOCK(st.st_mode));
		ck_assert_uint_eq(st.st_mode & 07777, modes[i]);
	}
	free(path);
	tu_rmtree(dir);
#endif
}
END_TEST

/* Close removes only files that are still ours; a non-socket file in the
 * way is refused, never removed. */
START_TEST(test_close_spares_foreign_files)
{
	char *dir = tu_tmpdir();
	char *path = join(dir, "f.sock"), *moved = join(dir, "moved.sock");
	struct fdpass_listener *l = NULL;
	int fd;

	ck_assert_int_eq(fdpass_listen(&l, path, NULL), 0);
	ck_assert_int_eq(rename(path, moved), 0);
	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	ck_assert_int_ge(fd, 0);
	close(fd);
	fdpass_listener_close(l);
	ck_assert(exists(path));
	ck_assert(exists(moved));

	ck_assert_int_eq(fdpass_listen(&l, path, NULL), -EADDRINUSE);
	ck_assert(exists(path));
	free(moved);
	free(path);
	tu_rmtree(dir);
}
END_TEST

/* A socket somebody listens on without our lock file (another program, or
 * a lock file that a cleaner removed) is live: refused, never removed. */
START_TEST(test_unlocked_live_socket_kept)
{
	char *dir = tu_tmpdir();
	char *path = join(dir, "u.sock");
	struct fdpass_listener *l = NULL;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat before, after;
	int fd, c;

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(fd, 0);
	ck_assert_uint_lt(strlen(path), sizeof(sa.sun_path));
	strcpy(sa.sun_path, path);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(listen(fd, 4), 0);
	ck_assert_int_eq(lstat(path, &before), 0);
	ck_assert_int_eq(fdpass_listen(&l, path, NULL), -EADDRINUSE);
	ck_assert_ptr_null(l);
	ck_assert_int_eq(lstat(path, &after), 0);
	ck_assert_uint_eq(after.st_ino, before.st_ino);
	c = fdpass_connect(path, SOCK_STREAM, WAIT_MS);
	ck_assert_int_ge(c, 0);
	close(c);
	/* once it stops listening the same file is stale and replaced */
	close(fd);
	ck_assert_int_eq(fdpass_listen(&l, path, NULL), 0);
	fdpass_listener_close(l);
	free(path);
	tu_rmtree(dir);
}
END_TEST

START_TEST(test_abstract_name)
{
	struct fdpass_listener *l, *l2 = NULL;
	char name[96];
	int c, s;

	snprintf(name, sizeof(name), "@memenpsf-fdpass-test-%d-%lld",
		 (int)getpid(), (long long)now_ms());
	ck_assert_int_eq(fdpass_connect(name, 0, 0), -ECONNREFUSED);
	ck_assert_int_eq(fdpass_listen(&l, name, NULL), 0);
	ck_assert(!exists(name)); /* no file, not even in the cwd */
	ck_assert_int_eq(fdpass_listen(&l2, name, NULL), -EADDRINUSE);
	connect_and_accept(l, name, &c, &s);
	exchange_fd(c, s);
	close(c);
	close(s);
	fdpass_listener_close(l);
	ck_assert_int_eq(fdpass_connect(name, 0, 0), -ECONNREFUSED);
	/* the name is free again */
	ck_assert_int_eq(fdpass_listen(&l, name, NULL), 0);
	fdpass_listener_close(l);
}
END_TEST

START_TEST(test_stream_type)
{
	char *dir = tu_tmpdir();
	char *path = join(dir, "st.sock");
	struct fdpass_listen_opts o = { .type = SOCK_STREAM };
	struct fdpass_listener *l;
	int c, s, type;
	socklen_t len = sizeof(type);

	ck_assert_int_eq(fdpass_listen(&l, path, &o), 0);
	c = fdpass_connect(path, SOCK_STREAM, WAIT_MS);
	ck_assert_int_ge(c, 0);
	ck_assert_int_eq(getsockopt(c, SOL_SOCKET, SO_TYPE, &type, &len), 0);
	ck_assert_int_eq(type, SOCK_STREAM);
	/* a seqpacket client cannot talk to a stream server */
	ck_assert_int_eq(fdpass_connect(path, SOCK_SEQPACKET, 0), -EPROTOTYPE);
	s = fdpass_accept(l, 0, WAIT_MS);
	ck_assert_int_ge(s, 0);
	exchange_fd(c, s);
	close(c);
	close(s);
	fdpass_listener_close(l);
	free(path);
	tu_rmtree(dir);
}
END_TEST

START_TEST(test_listen_bad_args)
{
	char *dir = tu_tmpdir();
	char *path = join(dir, "b.sock"), *missing = join(dir, "no/such.sock");
	struct fdpass_listen_opts o = { 0 };
	struct fdpass_listener *l = (struct fdpass_listener *)&l;
	char longp[200];

	memset(longp, 'a', sizeof(longp) - 1);
	longp[sizeof(longp) - 1] = '\0';
	longp[0] = '/';
	ck_assert_int_eq(fdpass_listen(NULL, path, NULL), -EINVAL);
	ck_assert_int_eq(fdpass_listen(&l, NULL, NULL), -EINVAL);
	ck_assert_ptr_null(l);
	ck_assert_int_eq(fdpass_listen(&l, "", NULL), -EINVAL);
	ck_assert_int_eq(fdpass_listen(&l, "@", NULL), -EINVAL);
	ck_assert_int_eq(fdpass_listen(&l, longp, NULL), -ENAMETOOLONG);
	longp[0] = '@';
	ck_assert_int_eq(fdpass_listen(&l, longp, NULL), -ENAMETOOLONG);
	ck_assert_int_eq(fdpass_listen(&l, missing, NULL), -ENOENT);
	o.type = SOCK_DGRAM;
	ck_assert_int_eq(fdpass_listen(&l, path, &o), -EINVAL);
	o.type = 0;
	o.backlog = -1;
	ck_assert_int_eq(fdpass_listen(&l, path, &o), -EINVAL);
	o.backlog = 0;
	o.mode = 04700;
	ck_assert_int_eq(fdpass_listen(&l, path, &o), -EINVAL);
	ck_assert(!exists(path)); /* nothing left behind by the refusals */

	ck_assert_int_eq(fdpass_connect(NULL, 0, 0), -EINVAL);
	ck_assert_int_eq(fdpass_connect(path, SOCK_DGRAM, 0), -EINVAL);
	ck_assert_int_eq(fdpass_connect(longp, 0, 0), -ENAMETOOLONG);
	ck_assert_int_eq(fdpass_connect(path, 0, 0), -ENOENT);
	ck_assert_int_eq(fdpass_accept(NULL, 0, 0), -EINVAL);
	ck_assert_int_eq(fdpass_listener_fd(NULL), -EINVAL);
	fdpass_listener_close(NULL);
	free(missing);
	free(path);
	tu_rmtree(dir);
}
END_TEST

/* ------------------------------------------------------------ connecting */

static void accept_times_out(int nonblock_listener)
{
	char *dir = tu_tmpdir();
	char *path = join(dir, "a.sock");
	struct fdpass_listen_opts o = { .nonblock = nonblock_listener };
	struct fdpass_listener *l;
	int64_t t0, dt;
	int c, s, fl;

	ck_assert_int_eq(fdpass_listen(&l, path, &o), 0);
	fl = fcntl(fdpass_listener_fd(l), F_GETFL);
	ck_assert_int_eq(!!(fl & O_NONBLOCK), !!nonblock_listener);
	ck_assert_int_eq(fdpass_accept(l, 0, 0), -EAGAIN);
	t0 = now_ms();
	ck_assert_int_eq(fdpass_accept(l, 0, 80), -ETIMEDOUT);
	dt = now_ms() - t0;
	ck_assert_int_ge(dt, 80);

	c = fdpass_connect(path, 0, WAIT_MS);
	ck_assert_int_ge(c, 0);
	ck_assert_int_eq(fcntl(c, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
	ck_assert_int_eq(fcntl(c, F_GETFL) & O_NONBLOCK, 0);
	s = fdpass_accept(l, 1, 0);
	ck_assert_int_ge(s, 0);
	ck_assert_int_eq(fcntl(s, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
	ck_assert_int_eq(fcntl(s, F_GETFL) & O_NONBLOCK, O_NONBLOCK);
	close(s);
	close(c);

	c = fdpass_connect(path, 0, WAIT_MS);
	ck_assert_int_ge(c, 0);
	s = fdpass_accept(l, 0, -1);
	ck_assert_int_ge(s, 0);
	ck_assert_int_eq(fcntl(s, F_GETFL) & O_NONBLOCK, 0);
	close(s);
	close(c);
	fdpass_listener_close(l);
	free(path);
	tu_rmtree(dir);
}

START_TEST(test_accept_blocking_listener)
{
	accept_times_out(0);
}
END_TEST

START_TEST(test_accept_nonblocking_listener)
{
	accept_times_out(1);
}
END_TEST

/* A server that never accepts: once its backlog is full a connect waits,
 * and gives up at its time-out. */
START_TEST(test_connect_backlog_full)
{
	char *dir = tu_tmpdir();
	char *path = join(dir, "full.sock");
	struct fdpass_listen_opts o = { .backlog = 1 };
	struct fdpass_listener *l;
	int conn[64], n = 0, c, s;
	int64_t t0, dt;

	ck_assert_int_eq(fdpass_listen(&l, path, &o), 0);
	for (;;) {
		ck_assert_int_lt(n, 64);
		c = fdpass_connect(path, 0, 0);
		if (c < 0)
			break;
		ck_assert_int_eq(fcntl(c, F_GETFL) & O_NONBLOCK, 0);
		conn[n++] = c;
	}
	ck_assert_int_eq(c, -EAGAIN);
	ck_assert_int_ge(n, 1);

	t0 = now_ms();
	ck_assert_int_eq(fdpass_connect(path, 0, 150), -ETIMEDOUT);
	dt = now_ms() - t0;
	ck_assert_int_ge(dt, 150);
	ck_assert_int_lt(dt, 150 + 2000);

	/* room again once the server accepts one */
	s = fdpass_accept(l, 0, 0);
	ck_assert_int_ge(s, 0);
	c = fdpass_connect(path, 0, 150);
	ck_assert_int_ge(c, 0);
	close(c);
	close(s);
	for (int i = 0; i < n; i++)
		close(conn[i]);
	fdpass_listener_close(l);
	free(path);
	tu_rmtree(dir);
}
END_TEST

START_TEST(test_peer_cred)
{
	char *dir = tu_tmpdir();
	char *path = join(dir, "cred.sock");
	struct fdpass_listener *l;
	struct fdpass_cred cr;
	unsigned nfds = 0;
	pid_t pid, said;
	int s, sv[2];

	ck_assert_int_eq(fdpass_listen(&l, path, NULL), 0);
	pid = fork_ok();
	if (pid == 0) {
		struct fdpass_cred sc;
		pid_t me = getpid();
		char b;
		int c = fdpass_connect(path, 0, WAIT_MS);

		CHILD_CHECK(c >= 0);
		CHILD_CHECK(fdpass_peer_cred(c, &sc) == 0);
		CHILD_CHECK(sc.pid == getppid());
		CHILD_CHECK(fdpass_send(c, &me, sizeof(me), NULL, 0, WAIT_MS) ==
			    sizeof(me));
		/* wait for the server to hang up */
		CHILD_CHECK(fdpass_recv(c, &b, 1, NULL, &nfds, WAIT_MS) == -EPIPE);
		_exit(0);
	}
	s = fdpass_accept(l, 0, WAIT_MS);
	ck_assert_int_ge(s, 0);
	ck_assert_int_eq(fdpass_peer_cred(s, &cr), 0);
	ck_assert_int_eq(cr.pid, pid);
	ck_assert_int_ne(cr.pid, getpid());
	ck_assert_uint_eq(cr.uid, getuid());
	ck_assert_uint_eq(cr.gid, getgid());
	ck_assert_int_eq(fdpass_recv(s, &said, sizeof(said), NULL, &nfds, WAIT_MS),
			 sizeof(said));
	ck_assert_int_eq(said, pid);
	close(s);
	ck_assert_int_eq(tu_wait(pid), 0);
	fdpass_listener_close(l);

	/* a socketpair's peer is this process; an unconnected socket has none */
	socketpair_ok(sv);
	ck_assert_int_eq(fdpass_peer_cred(sv[0], &cr), 0);
	ck_assert_int_eq(cr.pid, getpid());
	close_pair(sv);
	s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(s, 0);
	ck_assert_int_eq(fdpass_peer_cred(s, &cr), -ENOTCONN);
	ck_assert_int_eq(fdpass_peer_cred(s, NULL), -EINVAL);
	close(s);
	ck_assert_int_eq(fdpass_peer_cred(-1, &cr), -EBADF);
	free(path);
	tu_rmtree(dir);
}
END_TEST

/* ------------------------------------------------------------ demo */

/* Start argv with stdout on a pipe; returns the pid, *out the read end. */
static pid_t spawn(const char *const argv[], FILE **out)
{
	int p[2];
	pid_t pid;

	make_pipe(p);
	pid = fork_ok();
	if (pid == 0) {
		if (dup2(p[1], STDOUT_FILENO) < 0)
			_exit(126);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(p[1]);
	*out = fdopen(p[0], "r");
	ck_assert_ptr_nonnull(*out);
	return pid;
}

static void read_line(FILE *f, char *buf, size_t n)
{
	ck_assert_msg(fgets(buf, (int)n, f) != NULL, "no line from the demo");
}

/* examples/fdpass-demo, as two unrelated programs: the client reads the
 * server's text through the memfd and reports the server's inode; the
 * server names the client's pid as SO_PEERCRED gave it. */
START_TEST(test_demo_programs)
{
	char *demo = tu_build_file("examples/fdpass-demo");
	char *dir = tu_tmpdir();
	char *sock = join(dir, "demo.sock");
	char line[512], text[64];
	unsigned long s_ino = 0, c_ino = 0;
	int client_no = 0, seen_pid = 0;
	FILE *sout, *cout;
	pid_t srv, cli;

	ck_assert_int_eq(access(demo, X_OK), 0);
	{
		const char *argv[] = { demo, "serve", sock, "text in a memfd", "--once",
				 NULL };

		srv = spawn(argv, &sout);
	}
	read_line(sout, line, sizeof(line));
	ck_assert_int_eq(sscanf(line, "serving memfd inode %lu", &s_ino), 1);
	{
		const char *argv[] = { demo, "fetch", sock, NULL };

		cli = spawn(argv, &cout);
	}
	read_line(cout, line, sizeof(line));
	ck_assert_int_eq(sscanf(line, "fetched \"%63[^\"]\" (15 bytes) from memfd inode %lu",
				text, &c_ino),
			 2);
	ck_assert_str_eq(text, "text in a memfd");
	ck_assert_uint_eq(c_ino, s_ino);
	read_line(sout, line, sizeof(line));
	ck_assert_int_eq(sscanf(line, "client %d: pid %d", &client_no, &seen_pid),
			 2);
	ck_assert_int_eq(client_no, 1);
	ck_assert_int_eq(seen_pid, cli);
	ck_assert_int_eq(tu_wait(cli), 0);
	ck_assert_int_eq(tu_wait(srv), 0); /* --once */
	ck_assert(!exists(sock));
	{
		const char *argv[] = { demo, "fetch", sock, NULL };
		FILE *f;
		pid_t pid = spawn(argv, &f);

		ck_assert_int_ne(tu_wait(pid), 0); /* no server: a failure */
		fclose(f);
	}
	fclose(sout);
	fclose(cout);
	free(sock);
	tu_rmtree(dir);
	free(demo);
}
END_TEST

/* ------------------------------------------------------------ suites */

static TCase *tcase(const char *name)
{
	TCase *tc = tcase_create(name);

	tcase_add_checked_fixture(tc, tu_leak_setup, tu_leak_teardown);
	tcase_set_timeout(tc, TIMEOUT_S);
	return tc;
}

static Suite *msg_suite(void)
{
	Suite *s = suite_create("fdpass-msg");
	TCase *tc = tcase("transfer");

	tcase_add_test(tc, test_fd_crosses_processes);
	tcase_add_test(tc, test_one_fd);
	tcase_add_test(tc, test_max_fds);
	tcase_add_test(tc, test_no_fds);
	tcase_add_test(tc, test_received_fds_cloexec);
	tcase_add_test(tc, test_recv_wakes);
	suite_add_tcase(s, tc);

	tc = tcase("refusals");
	tcase_add_test(tc, test_more_fds_than_capacity);
	tcase_add_test(tc, test_oversize_send_ctrunc);
	tcase_add_test(tc, test_ctrunc_rlimit);
	tcase_add_test(tc, test_foreign_cmsg);
	tcase_add_test(tc, test_msg_trunc);
	tcase_add_test(tc, test_msg_bad_args);
	suite_add_tcase(s, tc);

	tc = tcase("waiting");
	tcase_add_test(tc, test_eagain);
	tcase_add_test(tc, test_timeouts);
	tcase_add_test(tc, test_peer_closed);
	tcase_add_test(tc, test_peer_dies_in_recv);
	tcase_add_test(tc, test_peer_dies_in_send);
	suite_add_tcase(s, tc);
	return s;
}

static Suite *listen_suite(void)
{
	Suite *s = suite_create("fdpass-listen");
	TCase *tc = tcase("path");

	tcase_add_test(tc, test_listen_connect_path);
	tcase_add_test(tc, test_stale_socket_replaced);
	tcase_add_test(tc, test_live_socket_refused);
	tcase_add_test(tc, test_held_lock_refuses);
	tcase_add_test(tc, test_listen_race);
	tcase_add_test(tc, test_socket_file_mode);
	tcase_add_test(tc, test_socket_mode_at_bind);
	tcase_add_test(tc, test_close_spares_foreign_files);
	tcase_add_test(tc, test_unlocked_live_socket_kept);
	suite_add_tcase(s, tc);

	tc = tcase("other");
	tcase_add_test(tc, test_abstract_name);
	tcase_add_test(tc, test_stream_type);
	tcase_add_test(tc, test_listen_bad_args);
	suite_add_tcase(s, tc);
	return s;
}

static Suite *connect_suite(void)
{
	Suite *s = suite_create("fdpass-connect");
	TCase *tc = tcase("connect");

	tcase_add_test(tc, test_accept_blocking_listener);
	tcase_add_test(tc, test_accept_nonblocking_listener);
	tcase_add_test(tc, test_connect_backlog_full);
	tcase_add_test(tc, test_peer_cred);
	suite_add_tcase(s, tc);
	return s;
}

static Suite *demo_suite(void)
{
	Suite *s = suite_create("fdpass-demo");
	TCase *tc = tcase("demo");

	tcase_add_test(tc, test_demo_programs);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(msg_suite());

	srunner_add_suite(sr, listen_suite());
	srunner_add_suite(sr, connect_suite());
	srunner_add_suite(sr, demo_suite());
	srunner_set_fork_status(sr, CK_FORK);
	return tu_run(sr);
}

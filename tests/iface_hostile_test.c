/* SPDX-License-Identifier: MIT */
/*
 * Hostile clients of a libiface echo server (tests/iface_util.c) in real
 * processes, each next to good clients whose every reply is checked:
 *
 *   rings   a client that rewrites its rings' indices, sequence words and
 *           lengths at random while 8 good clients stream: only it is
 *           dropped (IFACE_R_CORRUPT), the 8 complete with their data
 *   memfd   what a client can try on the memfds it was given: ftruncate,
 *           fallocate, more seals, a writable re-open through
 *           /proc/self/fd; memfds (unsealed, undersized) sent to the
 *           server, which never takes ring fds from a client; and the
 *           same from a fake server in WELCOME, which the client refuses
 *
 * The throughput of the good clients with and without the hostile one is
 * a figure, measured by tools/memenpsf-hostile, not asserted here.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <memenpsf/fdpass.h>
#include <memenpsf/iface.h>

#include "iface_util.h"
#include "testutil.h"
#include "../iface/wire.h"
#include "../queue/layout.h"
#include "../tools/hostile.h"


/* ---- rings rewritten at random ---------------------------------------------- */

#define GOOD 8
#define GOOD_N 20000u

/*
 * 8 good echo clients stream GOOD_N checked round trips each. Once all 8
 * are under way, a hostile client (tools/hostile.c) completes a handshake,
 * maps both its rings and writes random values into the producer's tail,
 * the consumer's head and slots' seq and len words, ringing the server's
 * doorbell after each write, until the server drops it (or, after 100000
 * writes that each looked plausible when the server looked, at one
 * certain lie). The server's note
 * for it says IFACE_R_CORRUPT; every good client exits 0 (all GOOD_N
 * replies in order with good checksums) and the server's note for each
 * says GOOD_N requests, none bad, closed normally. Three hostile rounds
 * with different seeds; the server's descriptors and memfd mappings are
 * back to their level after each.
 */
START_TEST(test_ring_rewriter)
{
	struct srv_opts o = { .path = t_path };
	int notes, ready[2], fds0, maps0, hostile_seen = 0, closed = 0;
	pid_t srv, good[GOOD];
	char b;

	srv = srv_spawn(&o, &notes);
	fds0 = proc_fd_count(srv);
	maps0 = proc_memfd_maps(srv);
	t_pipe(ready);
	for (int i = 0; i < GOOD; i++)
		good[i] = echo_client_spawn(t_path, (uint32_t)i + 1, GOOD_N, 256,
					    -1, ready[1], 1000);
	for (int i = 0; i < GOOD; i++)
		ck_assert_int_eq(t_read_full(ready[0], &b, 1), 1);
	for (int round = 0; round < 3; round++) {
		pid_t h = t_fork();
		struct srv_note n;
		int rc;

		if (h == 0)
			_exit(hostile_rewriter(t_path, 0x5eed0000u + round,
					       100000));
		rc = tu_wait(h);
		ck_assert_msg(rc == HOSTILE_DROPPED || rc == HOSTILE_DROPPED_LIE,
			      "hostile client ended with %d", rc);
		/* notes of good clients that finished meanwhile come too */
		for (;;) {
			srv_note_read(notes, &n);
			if (n.pid == h)
				break;
			ck_assert_uint_eq(n.code, IFACE_R_CLOSED);
			ck_assert_uint_eq(n.rx, GOOD_N);
			ck_assert_uint_eq(n.bad, 0);
			closed++;
		}
		ck_assert_uint_eq(n.code, IFACE_R_CORRUPT);
		hostile_seen++;
	}
	for (int i = 0; i < GOOD; i++)
		ck_assert_int_eq(tu_wait(good[i]), XC_OK);
	while (closed < GOOD) {
		struct srv_note n;

		srv_note_read(notes, &n);
		ck_assert_uint_eq(n.code, IFACE_R_CLOSED);
		ck_assert_uint_eq(n.rx, GOOD_N);
		ck_assert_uint_eq(n.bad, 0);
		closed++;
	}
	ck_assert_int_eq(hostile_seen, 3);
	ck_assert_int_eq(proc_fd_count(srv), fds0);
	ck_assert_int_eq(proc_memfd_maps(srv), maps0);
	ck_assert_int_eq(kill(srv, SIGTERM), 0);
	/* the hostile's junk, when a write happened to look published, was
	 * counted bad for it alone (the good ones' notes say none) */
	b = (char)tu_wait(srv);
	ck_assert_msg(b == XC_OK || b == XC_BADMSG, "server exit %d", b);
	close(notes);
	close(ready[0]);
	close(ready[1]);
}
END_TEST

/* ---- memfds ------------------------------------------------------------------- */

/* A raw handshake with a plain JOIN that keeps WELCOME's fds. */
static int hostile_open_fds(int fds[WIRE_WELCOME_NFDS])
{
	struct wire_join j = { .elem_size = T_ELEM };

	return t_raw_open_fds(&j, fds);
}

/* Every way to resize or unseal one ring's memfd fails with EPERM, on the
 * fd received and on a writable re-open of it through /proc/self/fd; the
 * re-open itself and a shared writable mapping succeed (both rings are
 * written by both sides by design) and change nothing about the size. */
static void memfd_attacks(int memfd)
{
	int seals = fcntl(memfd, F_GET_SEALS), re;
	char proc[64];
	struct stat st, st2;
	void *map;

	ck_assert_int_eq(seals & (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL),
			 F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL);
	ck_assert_int_eq(fstat(memfd, &st), 0);
	ck_assert_int_eq(ftruncate(memfd, 0), -1);
	ck_assert_int_eq(errno, EPERM);
	ck_assert_int_eq(ftruncate(memfd, st.st_size / 2), -1);
	ck_assert_int_eq(errno, EPERM);
	ck_assert_int_eq(ftruncate(memfd, st.st_size * 2), -1);
	ck_assert_int_eq(errno, EPERM);
	ck_assert_int_eq(fallocate(memfd, 0, st.st_size, 4096), -1);
	ck_assert_int_eq(errno, EPERM);
	ck_assert_int_eq(fallocate(memfd, FALLOC_FL_PUNCH_HOLE |
						  FALLOC_FL_KEEP_SIZE,
				   0, st.st_size),
			 0); /* allowed by the seals: it zeroes pages */
	ck_assert_int_eq(fcntl(memfd, F_ADD_SEALS, F_SEAL_WRITE), -1);
	ck_assert_int_eq(errno, EPERM); /* F_SEAL_SEAL: no seal can change */

	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", memfd);
	re = open(proc, O_RDWR | O_CLOEXEC);
	ck_assert_int_ge(re, 0);
	ck_assert_int_eq(ftruncate(re, 0), -1);
	ck_assert_int_eq(errno, EPERM);
	ck_assert_int_eq(ftruncate(re, st.st_size * 2), -1);
	ck_assert_int_eq(errno, EPERM);
	ck_assert_int_eq(fcntl(re, F_ADD_SEALS, F_SEAL_WRITE), -1);
	ck_assert_int_eq(errno, EPERM);
	map = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE,
		   MAP_SHARED, re, 0);
	ck_assert_ptr_ne(map, MAP_FAILED);
	ck_assert_int_eq(munmap(map, (size_t)st.st_size), 0);
	ck_assert_int_eq(fstat(re, &st2), 0);
	ck_assert_int_eq(st2.st_size, st.st_size);
	close(re);
}

/*
 * A client that received its rings tries to resize or unseal them
 * (memfd_attacks: all EPERM; a hole punched in the header, which the seals
 * allow, zeroes pages the server never reads again after attach, or its
 * indices and slots, which it checks on every read). Then it goes away.
 * The server drops it (HANGUP or CORRUPT, its choice depending on what it
 * read first), its descriptors and memfd mappings are back to their level,
 * and a good client streaming all along sees no error.
 */
START_TEST(test_memfd_resize)
{
	struct srv_opts o = { .path = t_path };
	int notes, stop[2], ready[2], fds0, maps0;
	pid_t srv, goodc;
	char b;

	srv = srv_spawn(&o, &notes);
	t_pipe(stop);
	t_pipe(ready);
	goodc = echo_client_spawn(t_path, 7, UINT64_MAX, 256, stop[0], ready[1],
				  1000);
	ck_assert_int_eq(t_read_full(ready[0], &b, 1), 1);
	fds0 = proc_fd_count(srv);
	maps0 = proc_memfd_maps(srv);
	for (int round = 0; round < 3; round++) {
		int fds[WIRE_WELCOME_NFDS], sock = hostile_open_fds(fds);
		uint64_t one = 1;
		struct srv_note n;
		ssize_t r;

		memfd_attacks(fds[0]);
		memfd_attacks(fds[IPCQ_NFDS]);
		/* wake the server up on the punched ring (EPIPE /
		 * ECONNRESET: it has dropped the conn already) */
		r = send(fds[1], &one, sizeof(one), MSG_NOSIGNAL);
		ck_assert_msg(r == (ssize_t)sizeof(one) || errno == EPIPE ||
				      errno == ECONNRESET,
			      "ring: %s", strerror(errno));
		for (int i = 0; i < WIRE_WELCOME_NFDS; i++)
			close(fds[i]);
		close(sock);
		srv_note_read(notes, &n);
		ck_assert_msg(n.code == IFACE_R_HANGUP ||
				      n.code == IFACE_R_CORRUPT,
			      "code %u", n.code);
		ck_assert_uint_eq(n.rx, 0);
		ck_assert_int_eq(proc_fd_count(srv), fds0);
		ck_assert_int_eq(proc_memfd_maps(srv), maps0);
	}
	ck_assert_int_eq(t_write_full(stop[1], "s", 1), 0);
	ck_assert_int_eq(tu_wait(goodc), XC_OK);
	ck_assert_int_eq(kill(srv, SIGTERM), 0);
	ck_assert_int_eq(tu_wait(srv), XC_OK);
	close(notes);
	close(stop[0]);
	close(stop[1]);
	close(ready[0]);
	close(ready[1]);
}
END_TEST

enum sent_memfd {
	SM_UNSEALED,   /* a plain memfd of a ring's size */
	SM_UNDERSIZED, /* a sealed memfd of one page */
	SM_COUNT
};

/* A memfd of the kind k; the caller closes it. */
static int make_memfd(enum sent_memfd k)
{
	int fd = memfd_create("hostile", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	off_t size = k == SM_UNDERSIZED ? 4096 : (off_t)ipcq_size_of(T_ELEM,
								      1024);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ftruncate(fd, size), 0);
	if (k == SM_UNDERSIZED)
		ck_assert_int_eq(fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK |
							  F_SEAL_GROW |
							  F_SEAL_SEAL),
				 0);
	return fd;
}

/*
 * The protocol never takes a ring's descriptors from a client: a JOIN,
 * and after WELCOME a BYE, each carrying memfds (unsealed of a ring's
 * size, or sealed and undersized) with a doorbell are refused with
 * PROTOCOL, and every copy the server received is closed: the server's
 * descriptor count and memfd mappings return to their level each time.
 */
START_TEST(test_memfd_sent)
{
	struct srv_opts o = { .path = t_path };
	int notes, fds0, maps0;
	pid_t srv = srv_spawn(&o, &notes);

	fds0 = proc_fd_count(srv);
	maps0 = proc_memfd_maps(srv);
	for (int after = 0; after < 2; after++)
		for (int k = 0; k < SM_COUNT; k++) {
			unsigned char buf[WIRE_MAX_MSG + 1];
			struct wire_join j = { .elem_size = T_ELEM };
			int fds[WIRE_WELCOME_NFDS], sock, n, mine[3];
			unsigned nfds = 0;
			struct wire_msg m;
			struct srv_note sn;
			ssize_t r;

			mine[0] = make_memfd((enum sent_memfd)k);
			mine[1] = mine[2] = eventfd(0, EFD_CLOEXEC);
			ck_assert_int_ge(mine[1], 0);
			if (after) {
				sock = hostile_open_fds(fds);
				for (int i = 0; i < WIRE_WELCOME_NFDS; i++)
					close(fds[i]);
				n = wire_encode_reason(buf, sizeof(buf),
						       WIRE_BYE,
						       IFACE_R_CLOSED, "bye");
			} else {
				sock = fdpass_connect(t_path, SOCK_SEQPACKET,
						      5000);
				ck_assert_int_ge(sock, 0);
				ck_assert_int_gt(fdpass_recv(sock, buf,
							     sizeof(buf), NULL,
							     &nfds, 5000),
						 0);
				n = wire_encode_join(buf, sizeof(buf), &j);
			}
			ck_assert_int_gt(n, 0);
			ck_assert_int_eq(fdpass_send(sock, buf, (size_t)n, mine,
						     3, 1000),
					 n);
			close(mine[0]);
			close(mine[1]);
			nfds = 0;
			r = fdpass_recv(sock, buf, sizeof(buf), NULL, &nfds,
					5000);
			ck_assert_int_gt(r, 0);
			ck_assert_int_eq(wire_decode(buf, (size_t)r, 0, 0, &m),
					 0);
			ck_assert_uint_eq(m.type, after ? WIRE_BYE : WIRE_REFUSE);
			ck_assert_uint_eq(m.u.reason.code, IFACE_R_PROTOCOL);
			/* and the end: the server closed its side */
			ck_assert_int_eq(fdpass_recv(sock, buf, sizeof(buf),
						     NULL, &nfds, 5000),
					 -EPIPE);
			close(sock);
			if (after) { /* a refusal before on_connect has no note */
				srv_note_read(notes, &sn);
				ck_assert_uint_eq(sn.code, IFACE_R_PROTOCOL);
			}
			ck_assert_msg(proc_fd_count(srv) == fds0,
				      "case %d/%d: server fds %d, were %d",
				      after, k, proc_fd_count(srv), fds0);
			ck_assert_int_eq(proc_memfd_maps(srv), maps0);
		}
	ck_assert_int_eq(kill(srv, SIGTERM), 0);
	ck_assert_int_eq(tu_wait(srv), XC_OK);
	close(notes);
}
END_TEST

/* A copy of the ring behind memfd in a new memfd: unsealed of the same
 * size, or sealed and one page short. The caller closes it. */
static int bad_copy(int memfd, int undersized)
{
	int fd = memfd_create("bad-ring", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	struct stat st;
	char *page;
	off_t size;

	if (fd < 0 || fstat(memfd, &st) < 0)
		return -1;
	size = undersized ? st.st_size - 4096 : st.st_size;
	page = malloc(4096);
	if (!page || ftruncate(fd, size) < 0 ||
	    pread(memfd, page, 4096, 0) != 4096 ||
	    pwrite(fd, page, 4096, 0) != 4096) {
		free(page);
		close(fd);
		return -1;
	}
	free(page);
	if (undersized && fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW |
							  F_SEAL_SEAL) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* A fake server whose WELCOME carries real rings, one of them replaced by
 * bad_copy(undersized) of itself (ring: 0 the client-to-server one, 1 the
 * other). Returns 0 when the client went away after it. */
static int bad_ring_server(struct fdpass_listener *l, int undersized,
			   int ring)
{
	struct wire_hello hello = { .max_fds = 8, .elem_size = T_ELEM };
	struct wire_welcome w = { .elem_size = T_ELEM, .capacity_c2s = 64,
				  .capacity_s2c = 64, .conn_id = 1 };
	struct ipcq_config qc = { .elem_size = T_ELEM, .capacity = 64 };
	unsigned char buf[WIRE_MAX_MSG + 1];
	struct ipcq *rx, *tx;
	int fds[2 * IPCQ_NFDS], s, n, bad;
	unsigned nfds = 0;

	s = fdpass_accept(l, 0, 5000);
	if (s < 0)
		return 2;
	n = wire_encode_hello(buf, sizeof(buf), &hello);
	if (fdpass_send(s, buf, (size_t)n, NULL, 0, 1000) != n ||
	    fdpass_recv(s, buf, sizeof(buf), NULL, &nfds, 5000) <= 0)
		return 3;
	if (ipcq_create(&rx, &qc, IPCQ_CONSUMER) < 0 ||
	    ipcq_create(&tx, &qc, IPCQ_PRODUCER) < 0 ||
	    ipcq_export(rx, fds) < 0 || ipcq_export(tx, fds + IPCQ_NFDS) < 0)
		return 4;
	bad = bad_copy(fds[ring * IPCQ_NFDS], undersized);
	if (bad < 0)
		return 5;
	fds[ring * IPCQ_NFDS] = bad;
	n = wire_encode_welcome(buf, sizeof(buf), &w);
	if (fdpass_send(s, buf, (size_t)n, fds, 2 * IPCQ_NFDS, 1000) != n)
		return 6;
	close(bad);
	/* the client answers with BYE or just closes: either way the end */
	while (fdpass_recv(s, buf, sizeof(buf), NULL, &nfds, 5000) > 0)
		nfds = 0;
	close(s);
	ipcq_close(rx);
	ipcq_close(tx);
	return 0;
}

/*
 * A server that hands the client an unsealed memfd (a faithful copy of a
 * ring, the right size) or a sealed one a page shorter than its header
 * says, as either ring: iface_client_connect fails with -EPROTO, and the
 * client keeps no descriptor and no mapping of it.
 */
START_TEST(test_memfd_welcome)
{
	struct fdpass_listen_opts lo = { .type = SOCK_SEQPACKET };
	struct iface_client_config cc = { .path = t_path, .timeout_ms = 5000 };
	struct fdpass_listener *l;

	ck_assert_int_eq(fdpass_listen(&l, t_path, &lo), 0);
	for (int k = 0; k < 4; k++) {
		struct iface_client *c = NULL;
		struct iface_reason why;
		int nfd = tu_fd_count(), maps = tu_shared_mappings(), r;
		pid_t pid = t_fork();

		if (pid == 0)
			_exit(bad_ring_server(l, k & 1, k >> 1));
		r = iface_client_connect(&c, &cc, &why);
		ck_assert_msg(r == -EPROTO, "case %d: connect gave %d (%s)", k,
			      r, why.text);
		ck_assert_ptr_null(c);
		ck_assert_int_eq(tu_fd_count(), nfd);
		ck_assert_int_eq(tu_shared_mappings(), maps);
		ck_assert_int_eq(tu_wait(pid), 0);
	}
	fdpass_listener_close(l);
}
END_TEST

static Suite *hostile_suite(void)
{
	Suite *s = suite_create("iface_hostile");
	TCase *tc;

	tc = t_tcase("rings", 120);
	tcase_add_test(tc, test_ring_rewriter);
	suite_add_tcase(s, tc);

	tc = t_tcase("memfd", 60);
	tcase_add_test(tc, test_memfd_resize);
	tcase_add_test(tc, test_memfd_sent);
	tcase_add_test(tc, test_memfd_welcome);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(hostile_suite());

	signal(SIGPIPE, SIG_IGN);
	return tu_run(sr);
}

/* SPDX-License-Identifier: MIT */
/*
 * A client of another uid, refused by libiface's credential policy before
 * the handshake. Needs root (to run a child as another user): as anyone
 * else the program prints why and exits 77, which automake counts as a
 * skip.
 *
 * The other user is 'nobody' when it exists, else a system user this test
 * creates (useradd --system --no-create-home memenpsf-test). The socket
 * is made 0666 in a 0711 directory, so that the kernel lets the other uid
 * connect and it is the library's policy that refuses it.
 */
#include <check.h>
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <memenpsf/fdpass.h>
#include <memenpsf/iface.h>

#include "testutil.h"
#include "../iface/wire.h"

#define OTHER_USER "memenpsf-test"

static char dir[] = "/tmp/memenpsf-uid-XXXXXX";
static char path[256];
static uid_t other_uid;
static gid_t other_gid;
static struct iface_server *g_srv;

/* Exit codes of the other-uid child. */
enum {
	OC_OK = 0,
	OC_SETID = 20,   /* could not become the other user */
	OC_SOCKET = 21,  /* the kernel refused the connect */
	OC_FIRST = 22,   /* the first message was not the expected one */
	OC_LIB = 23,     /* iface_client_connect gave something else */
};

static void on_term(int sig)
{
	(void)sig;
	iface_server_stop(g_srv);
}

static void on_refused(const struct iface_cred *cr,
		       const struct iface_reason *why, void *user)
{
	int fd = *(int *)user;
	uint32_t rec[3] = { (uint32_t)cr->uid, why->code, (uint32_t)cr->pid };

	if (write(fd, rec, sizeof(rec)) != sizeof(rec))
		_exit(3);
}

/* A server of root's in a child: default policy, or the other uid listed;
 * socket 0666. Its on_refused notes go to *notes. */
static pid_t server(int list_other, int *notes)
{
	int ready[2], note[2];
	pid_t pid;
	char b;

	ck_assert_int_eq(pipe(ready), 0);
	ck_assert_int_eq(pipe(note), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct iface_server_config cfg = { .path = path, .mode = 0666 };
		int r;

		close(ready[0]);
		close(note[0]);
		cfg.user = &note[1];
		cfg.cb.on_refused = on_refused;
		if (list_other) {
			cfg.allow_uids = &other_uid;
			cfg.n_allow_uids = 1;
		}
		if (iface_server_create(&g_srv, &cfg) < 0)
			_exit(1);
		signal(SIGTERM, on_term);
		if (write(ready[1], "r", 1) != 1)
			_exit(2);
		r = iface_server_run(g_srv);
		iface_server_destroy(g_srv);
		_exit(r < 0 ? 4 : 0);
	}
	close(ready[1]);
	close(note[1]);
	ck_assert_int_eq(read(ready[0], &b, 1), 1);
	close(ready[0]);
	*notes = note[0];
	return pid;
}

static void become_other(void)
{
	if (setgroups(0, NULL) < 0 || setgid(other_gid) < 0 ||
	    setuid(other_uid) < 0 || getuid() != other_uid)
		_exit(OC_SETID);
}

/* As the other user: a raw connect sees REFUSE (CREDENTIALS) as the very
 * first message, then the end; then the library's connect says -EACCES. */
static int other_refused(void)
{
	unsigned char buf[WIRE_MAX_MSG + 1];
	struct iface_client_config cc = { .path = path, .timeout_ms = 10000 };
	struct iface_client *c = NULL;
	struct iface_reason why;
	unsigned nfds = 0;
	struct wire_msg m;
	ssize_t r;
	int s;

	become_other();
	s = fdpass_connect(path, SOCK_SEQPACKET, 10000);
	if (s < 0)
		return OC_SOCKET;
	r = fdpass_recv(s, buf, sizeof(buf), NULL, &nfds, 10000);
	if (r <= 0 || wire_decode(buf, (size_t)r, 0, 0, &m) < 0 ||
	    m.type != WIRE_REFUSE || m.u.reason.code != IFACE_R_CREDENTIALS ||
	    fdpass_recv(s, buf, sizeof(buf), NULL, &nfds, 10000) != -EPIPE)
		return OC_FIRST;
	close(s);
	if (iface_client_connect(&c, &cc, &why) != -EACCES ||
	    why.code != IFACE_R_CREDENTIALS || c)
		return OC_LIB;
	return OC_OK;
}

/* As the other user, listed: the handshake completes and the rings map. */
static int other_admitted(void)
{
	struct iface_client_config cc = { .path = path, .timeout_ms = 10000 };
	struct iface_client *c = NULL;

	become_other();
	if (iface_client_connect(&c, &cc, NULL) != 0)
		return OC_LIB;
	if (iface_client_send(c, "hi", 2) != 0)
		return OC_LIB;
	iface_client_close(c);
	return OC_OK;
}

static int run_child(int (*fn)(void))
{
	pid_t pid = fork();

	ck_assert_int_ge(pid, 0);
	if (pid == 0)
		_exit(fn());
	return tu_wait(pid);
}

/*
 * A server run by root with the default policy (its own uid only): a
 * client of another uid is refused with IFACE_R_CREDENTIALS before HELLO,
 * and the server's on_refused names that uid. The same server with the
 * other uid in allow_uids lets it complete the handshake and send.
 */
START_TEST(test_other_uid)
{
	uint32_t rec[3];
	int notes;
	pid_t srv = server(0, &notes);

	ck_assert_int_eq(run_child(other_refused), OC_OK);
	ck_assert_int_eq(read(notes, rec, sizeof(rec)), (ssize_t)sizeof(rec));
	ck_assert_uint_eq(rec[0], other_uid);
	ck_assert_uint_eq(rec[1], IFACE_R_CREDENTIALS);
	ck_assert_int_eq(kill(srv, SIGTERM), 0);
	ck_assert_int_eq(tu_wait(srv), 0);
	close(notes);

	srv = server(1, &notes);
	ck_assert_int_eq(run_child(other_admitted), OC_OK);
	ck_assert_int_eq(kill(srv, SIGTERM), 0);
	ck_assert_int_eq(tu_wait(srv), 0);
	close(notes);
}
END_TEST

/* 'nobody', or a system user created for the test. 0, or -1 to skip. */
static int find_other(void)
{
	struct passwd *pw = getpwnam("nobody");

	if (!pw) {
		pw = getpwnam(OTHER_USER);
		if (!pw && system("useradd --system --no-create-home "
				  "--shell /usr/sbin/nologin " OTHER_USER
				  " >/dev/null 2>&1") == 0)
			pw = getpwnam(OTHER_USER);
	}
	if (!pw || pw->pw_uid == 0)
		return -1;
	other_uid = pw->pw_uid;
	other_gid = pw->pw_gid;
	return 0;
}

int main(void)
{
	SRunner *sr;
	Suite *s;
	TCase *tc;
	int failed;

	if (geteuid() != 0) {
		printf("iface_uid_test: skipped: needs root to run a client "
		       "as another user\n");
		return 77;
	}
	if (find_other() < 0) {
		printf("iface_uid_test: skipped: no user 'nobody' and useradd "
		       "failed\n");
		return 77;
	}
	if (!mkdtemp(dir) || chmod(dir, 0711) < 0) {
		perror("iface_uid_test: temporary directory");
		return 1;
	}
	snprintf(path, sizeof(path), "%s/s.sock", dir);
	signal(SIGPIPE, SIG_IGN);
	s = suite_create("iface_uid");
	tc = tcase_create("other_uid");
	tcase_add_checked_fixture(tc, tu_leak_setup, tu_leak_teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_other_uid);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	failed = tu_run(sr);
	rmdir(dir);
	return failed;
}

/* SPDX-License-Identifier: MIT */
/*
 * fdpass-demo: hand one memfd from a server process to unrelated client
 * processes over a Unix socket, with libfdpass.
 *
 *   fdpass-demo serve SOCKET_PATH [TEXT] [--once]
 *   fdpass-demo fetch SOCKET_PATH
 *
 * The server writes TEXT into a sealed memfd and sends that descriptor to
 * every client that connects; a client reads the text through the
 * descriptor it received and prints the inode, which is the server's: the
 * very same object crossed, not a copy of its bytes.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <memenpsf/fdpass.h>

#define TAG "memenpsf-fdpass-demo-1"
#define IO_TIMEOUT_MS 5000
#define MAX_TEXT (1u << 20) /* a client refuses a bigger memfd */

static const char *prog = "fdpass-demo";

static void usage(FILE *f)
{
	fprintf(f,
		"usage: %s serve SOCKET_PATH [TEXT] [--once]\n"
		"       %s fetch SOCKET_PATH\n"
		"serve: put TEXT in a memfd and hand that descriptor to every client\n"
		"       (--once: exit after the first client; SIGINT/SIGTERM stop it)\n"
		"fetch: receive the descriptor and print what it holds and its inode\n"
		"SOCKET_PATH is a file path, or @name for the abstract namespace\n",
		prog, prog);
}

static int fail(const char *what, int err)
{
	fprintf(stderr, "%s: %s: %s\n", prog, what, strerror(err));
	return 1;
}

/* A memfd holding text, sealed so no client can change or shrink it. */
static int make_memfd(const char *text)
{
	size_t len = strlen(text), off = 0;
	int fd = memfd_create("fdpass-demo", MFD_CLOEXEC | MFD_ALLOW_SEALING);

	if (fd < 0)
		return -errno;
	while (off < len) {
		ssize_t n = write(fd, text + off, len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int err = -errno;

			close(fd);
			return err;
		}
		off += (size_t)n;
	}
	if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE |
					  F_SEAL_SEAL) < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

static int serve(const char *path, const char *text, int once)
{
	struct fdpass_listener *l = NULL;
	struct pollfd p[2];
	struct stat st;
	sigset_t mask;
	int memfd, sfd = -1, r, ret = 1;
	unsigned clients = 0;

	memfd = make_memfd(text);
	if (memfd < 0)
		return fail("memfd", -memfd);
	if (fstat(memfd, &st) < 0) {
		fail("fstat", errno);
		goto out;
	}
	/* SIGINT/SIGTERM arrive as readable data, so the loop ends cleanly
	 * and the socket file is removed */
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0 ||
	    (sfd = signalfd(-1, &mask, SFD_CLOEXEC)) < 0) {
		fail("signalfd", errno);
		goto out;
	}
	r = fdpass_listen(&l, path, NULL);
	if (r < 0) {
		fprintf(stderr, "%s: cannot listen on %s: %s\n", prog, path,
			strerror(-r));
		goto out;
	}
	printf("serving memfd inode %lu (%lld bytes) on %s\n",
	       (unsigned long)st.st_ino, (long long)st.st_size, path);
	fflush(stdout);

	for (;;) {
		struct fdpass_cred cr = { 0 };
		int c;

		p[0] = (struct pollfd){ .fd = fdpass_listener_fd(l), .events = POLLIN };
		p[1] = (struct pollfd){ .fd = sfd, .events = POLLIN };
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			fail("poll", errno);
			goto out;
		}
		if (p[1].revents) {
			printf("stopping after %u client(s)\n", clients);
			break;
		}
		c = fdpass_accept(l, 0, 0);
		if (c == -EAGAIN)
			continue;
		if (c < 0) {
			fail("accept", -c);
			goto out;
		}
		r = fdpass_peer_cred(c, &cr);
		if (r == 0)
			r = (int)fdpass_send(c, TAG, sizeof(TAG), &memfd, 1,
					     IO_TIMEOUT_MS);
		close(c);
		clients++;
		/* one client's trouble is not the server's */
		if (r < 0)
			printf("client %u (pid %d): not served: %s\n", clients,
			       (int)cr.pid, strerror(-r));
		else
			printf("client %u: pid %d uid %u: sent memfd\n", clients,
			       (int)cr.pid, (unsigned)cr.uid);
		fflush(stdout);
		if (once)
			break;
	}
	ret = 0;
out:
	fdpass_listener_close(l);
	if (sfd >= 0)
		close(sfd);
	close(memfd);
	fflush(stdout);
	return ret;
}

static int fetch(const char *path)
{
	char tag[sizeof(TAG) + 1], *text = NULL;
	struct fdpass_cred cr;
	unsigned nfds = 1;
	struct stat st;
	int c, fd = -1, seals, ret = 1;
	ssize_t n;

	c = fdpass_connect(path, 0, IO_TIMEOUT_MS);
	if (c < 0) {
		fprintf(stderr, "%s: cannot connect to %s: %s\n", prog, path,
			strerror(-c));
		return 1;
	}
	if (fdpass_peer_cred(c, &cr) < 0)
		cr.pid = 0;
	n = fdpass_recv(c, tag, sizeof(tag), &fd, &nfds, IO_TIMEOUT_MS);
	if (n < 0) {
		fail("receive", (int)-n);
		goto out;
	}
	/* what came from the socket is checked before it is used */
	if ((size_t)n != sizeof(TAG) || memcmp(tag, TAG, sizeof(TAG)) != 0 ||
	    nfds != 1) {
		fail("the server does not speak this demo's protocol", EPROTO);
		goto out;
	}
	if (fstat(fd, &st) < 0) {
		fail("fstat", errno);
		goto out;
	}
	seals = fcntl(fd, F_GET_SEALS);
	if (!S_ISREG(st.st_mode) || st.st_size < 0 ||
	    (unsigned long long)st.st_size > MAX_TEXT || seals < 0 ||
	    !(seals & F_SEAL_SHRINK)) {
		fail("the descriptor is not a sealed memfd of sane size", EPROTO);
		goto out;
	}
	text = malloc((size_t)st.st_size + 1);
	if (!text) {
		fail("malloc", ENOMEM);
		goto out;
	}
	/* pread: the file offset is shared with the server and every client */
	n = pread(fd, text, (size_t)st.st_size, 0);
	if (n != st.st_size) {
		fail("read", n < 0 ? errno : EIO);
		goto out;
	}
	text[n] = '\0';
	printf("fetched \"%s\" (%zd bytes) from memfd inode %lu sent by pid %d\n",
	       text, n, (unsigned long)st.st_ino, (int)cr.pid);
	ret = 0;
out:
	free(text);
	if (fd >= 0)
		close(fd);
	close(c);
	return ret;
}

int main(int argc, char **argv)
{
	const char *pos[3];
	int npos = 0, once = 0;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			usage(stdout);
			return 0;
		} else if (!strcmp(argv[i], "--once")) {
			once = 1;
		} else if (argv[i][0] == '-' && argv[i][1] == '-') {
			fprintf(stderr, "%s: unknown option %s\n", prog, argv[i]);
			usage(stderr);
			return 2;
		} else if (npos < 3) {
			pos[npos++] = argv[i];
		} else {
			usage(stderr);
			return 2;
		}
	}
	if (npos >= 2 && !strcmp(pos[0], "serve"))
		return serve(pos[1], npos == 3 ? pos[2] : "hello from fdpass-demo",
			     once);
	if (npos == 2 && !strcmp(pos[0], "fetch") && !once)
		return fetch(pos[1]);
	usage(stderr);
	return 2;
}

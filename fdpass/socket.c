/* SPDX-License-Identifier: MIT */
/*
 * Sockets around the messages: pairs, peer credentials, listening on a path
 * (with the lock file that decides who owns it), accepting, connecting.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <memenpsf/fdpass.h>

#include "deadline.h"
#include "failpoint.h"
#include "fdpass-private.h"
#include "os-private.h"

#define DEFAULT_BACKLOG 128
#define DEFAULT_MODE 0600u
/* How often a lock file may vanish under us before we give up. Each retry
 * means another server closed at that very moment. */
#define LOCK_TRIES 16

struct fdpass_listener {
	int fd;
	int lock_fd;     /* -1: abstract name, no lock */
	int nonblock;    /* the listening socket is O_NONBLOCK */
	char *path;      /* NULL: abstract name */
	char *lock_path;
	dev_t sock_dev;
	ino_t sock_ino;
	dev_t lock_dev;
	ino_t lock_ino;
};

int fdpass_socketpair(int sv[2])
{
	if (!sv)
		return -EINVAL;
	return os_socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv);
}

int fdpass_peer_cred(int sock, struct fdpass_cred *out)
{
	struct ucred uc;
	socklen_t len = sizeof(uc);

	if (!out)
		return -EINVAL;
	if (sock < 0)
		return -EBADF;
	if (getsockopt(sock, SOL_SOCKET, SO_PEERCRED, &uc, &len) < 0)
		return -errno;
	/* an unconnected socket reports pid 0 */
	if (len != sizeof(uc) || uc.pid <= 0)
		return -ENOTCONN;
	out->pid = uc.pid;
	out->uid = uc.uid;
	out->gid = uc.gid;
	return 0;
}

static int check_type(int *type)
{
	if (*type == 0)
		*type = SOCK_SEQPACKET;
	return *type == SOCK_SEQPACKET || *type == SOCK_STREAM ? 0 : -EINVAL;
}

/* Remove path only if it is still the file we made (dev, ino). */
static void unlink_if_ours(const char *path, dev_t dev, ino_t ino)
{
	struct stat st;

	if (lstat(path, &st) == 0 && st.st_dev == dev && st.st_ino == ino)
		(void)unlink(path);
}

/*
 * One try at the exclusive lock on lock_path, creating the file if need be.
 * The lock only counts when the locked file is still the one at lock_path:
 * a server that closes unlinks its lock file while holding it, and whoever
 * opened that file just before would otherwise lock a file nobody sees.
 * 1 with *fd and *st filled, 0 to try again (the file was unlinked or
 * replaced meanwhile), -EADDRINUSE when a live server holds it, -errno.
 */
static int lock_once(const char *lock_path, int *fd, struct stat *st)
{
	struct stat at;
	int lfd, r;

	lfd = os_open(lock_path, O_RDWR | O_CREAT | O_NOFOLLOW, 0600);
	if (lfd < 0)
		return lfd;
	if (flock(lfd, LOCK_EX | LOCK_NB) < 0) {
		r = errno == EWOULDBLOCK ? -EADDRINUSE : -errno;
		goto err;
	}
	if (fstat(lfd, st) < 0 || lstat(lock_path, &at) < 0) {
		r = errno == ENOENT ? 0 : -errno;
		goto err;
	}
	if (at.st_dev != st->st_dev || at.st_ino != st->st_ino) {
		r = 0;
		goto err;
	}
	*fd = lfd;
	return 1;
err:
	os_close(lfd);
	return r;
}

static int take_lock(const char *lock_path, int *fd, struct stat *st)
{
	for (int i = 0; i < LOCK_TRIES; i++) {
		int r = lock_once(lock_path, fd, st);

		if (r != 0)
			return r < 0 ? r : 0;
	}
	return -EADDRINUSE;
}

/*
 * Non-zero when something listens at sa: a server that does not use the
 * lock file (another program, or one whose lock file a cleaner removed).
 * Refused means nobody listens; a full backlog or another socket type
 * means somebody does.
 */
static int socket_is_live(const struct sockaddr_un *sa, socklen_t len)
{
	int fd = os_socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK, 0);
	int r;

	if (fd < 0)
		return fd;
	r = os_connect(fd, (const struct sockaddr *)sa, len);
	os_close(fd);
	return r == 0 || r == -EAGAIN || r == -EPROTOTYPE;
}

/*
 * Own the file path: lock PATH.lock, then remove a stale socket left by a
 * dead server. A file at path that is not a socket, or a socket somebody
 * still listens on, is never removed.
 */
static int claim_path(struct fdpass_listener *l, const struct sockaddr_un *sa,
		      socklen_t len)
{
	struct stat st;
	size_t n = strlen(l->path);
	int r;

	l->lock_path = malloc(n + sizeof(".lock"));
	if (!l->lock_path)
		return -ENOMEM;
	memcpy(l->lock_path, l->path, n);
	memcpy(l->lock_path + n, ".lock", sizeof(".lock"));

	r = take_lock(l->lock_path, &l->lock_fd, &st);
	if (r < 0)
		return r;
	l->lock_dev = st.st_dev;
	l->lock_ino = st.st_ino;

	if (lstat(l->path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode))
			return -EADDRINUSE;
		/* we hold the lock, so whoever bound it with one is gone */
		r = socket_is_live(sa, len);
		if (r)
			return r < 0 ? r : -EADDRINUSE;
		if (unlink(l->path) < 0 && errno != ENOENT)
			return -errno;
	} else if (errno != ENOENT) {
		return -errno;
	}
	return 0;
}

/*
 * Bind to the file path so that it never exists with a mode wider than
 * asked: Linux creates the socket file with the socket inode's mode masked
 * by the umask, so narrowing the inode first (fchmod) is enough and leaves
 * the process-wide umask alone. A umask stricter than mode is then widened
 * to exactly mode.
 */
static int bind_file(struct fdpass_listener *l, const struct sockaddr_un *sa,
		     socklen_t len, unsigned mode)
{
	struct stat st;

	if (fchmod(l->fd, mode) < 0)
		return -errno;
	if (bind(l->fd, (const struct sockaddr *)sa, len) < 0)
		return -errno;
	/* a test dies here to see the file exactly as bind made it */
	FAILPOINT("fdpass.listen.bound");
	if (lstat(l->path, &st) < 0) {
		int r = -errno;

		(void)unlink(l->path); /* we hold the lock: it is ours */
		return r;
	}
	/* from here the caller's unwinding removes the file */
	l->sock_dev = st.st_dev;
	l->sock_ino = st.st_ino;
	if ((st.st_mode & 07777) != mode && chmod(l->path, mode) < 0)
		return -errno;
	return 0;
}

int fdpass_listen(struct fdpass_listener **out, const char *path,
		  const struct fdpass_listen_opts *opts)
{
	struct fdpass_listen_opts o = { 0 };
	struct fdpass_listener *l = NULL;
	struct sockaddr_un sa;
	socklen_t len;
	int r;

	if (!out)
		return -EINVAL;
	*out = NULL;
	if (opts)
		o = *opts;
	if (o.backlog == 0)
		o.backlog = DEFAULT_BACKLOG;
	if (o.mode == 0)
		o.mode = DEFAULT_MODE;
	if (check_type(&o.type) < 0 || o.backlog < 0 || (o.mode & ~0777u))
		return -EINVAL;
	r = fdpass_sockaddr(&sa, &len, path);
	if (r < 0)
		return r;

	l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	l->fd = -1;
	l->lock_fd = -1;
	l->nonblock = !!o.nonblock;
	if (path[0] != '@') {
		l->path = strdup(path);
		if (!l->path) {
			r = -ENOMEM;
			goto err;
		}
		r = claim_path(l, &sa, len);
		if (r < 0)
			goto err;
	}

	r = os_socket(AF_UNIX, o.type | (l->nonblock ? SOCK_NONBLOCK : 0), 0);
	if (r < 0)
		goto err;
	l->fd = r;
	if (l->path) {
		r = bind_file(l, &sa, len, o.mode);
	} else {
		r = bind(l->fd, (const struct sockaddr *)&sa, len) < 0 ? -errno : 0;
	}
	if (r < 0)
		goto err;
	if (listen(l->fd, o.backlog) < 0) {
		r = -errno;
		goto err;
	}
	*out = l;
	return 0;
err:
	if (l->sock_ino)
		unlink_if_ours(l->path, l->sock_dev, l->sock_ino);
	os_close(l->fd);
	if (l->lock_fd >= 0)
		unlink_if_ours(l->lock_path, l->lock_dev, l->lock_ino);
	os_close(l->lock_fd);
	free(l->lock_path);
	free(l->path);
	free(l);
	return r;
}

int fdpass_listener_fd(const struct fdpass_listener *l)
{
	return l ? l->fd : -EINVAL;
}

int fdpass_accept(struct fdpass_listener *l, int nonblock, int timeout_ms)
{
	struct deadline d;

	if (!l)
		return -EINVAL;
	deadline_start(&d, timeout_ms);
	for (;;) {
		int fd, r;

		/* accept4 on a blocking listener would not honour the
		 * time-out: wait for a connection first */
		if (!l->nonblock && timeout_ms >= 0) {
			r = os_poll1(l->fd, POLLIN, &d);
			if (r == 0)
				return timeout_ms ? -ETIMEDOUT : -EAGAIN;
			if (r < 0)
				return r;
		}
		fd = os_accept(l->fd, nonblock);
		if (fd >= 0)
			return fd;
		if (fd == -ECONNABORTED)
			continue;
		if (fd != -EAGAIN || !l->nonblock)
			return fd;
		if (timeout_ms == 0)
			return -EAGAIN;
		r = os_poll1(l->fd, POLLIN, &d);
		if (r == 0)
			return -ETIMEDOUT;
		if (r < 0)
			return r;
	}
}

void fdpass_listener_close(struct fdpass_listener *l)
{
	if (!l)
		return;
	/* unlink while we still hold the lock, so no server that started
	 * meanwhile can have put its own files there */
	if (l->path && l->sock_ino)
		unlink_if_ours(l->path, l->sock_dev, l->sock_ino);
	os_close(l->fd);
	if (l->lock_fd >= 0)
		unlink_if_ours(l->lock_path, l->lock_dev, l->lock_ino);
	os_close(l->lock_fd); /* releases the lock, last */
	free(l->lock_path);
	free(l->path);
	free(l);
}

/* SO_SNDTIMEO bounds a blocking AF_UNIX connect() that waits for room in a
 * full backlog (unix_stream_connect uses the socket's send time-out). */
static int set_sndtimeo(int fd, int ms)
{
	struct timeval tv = { .tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000 };

	if (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0)
		return -errno;
	return 0;
}

int fdpass_connect(const char *path, int type, int timeout_ms)
{
	struct sockaddr_un sa;
	struct deadline d;
	socklen_t len;
	int fd, r;

	r = check_type(&type);
	if (r < 0)
		return r;
	r = fdpass_sockaddr(&sa, &len, path);
	if (r < 0)
		return r;
	/* try once: a non-blocking connect says EAGAIN on a full backlog */
	fd = os_socket(AF_UNIX, type | (timeout_ms == 0 ? SOCK_NONBLOCK : 0), 0);
	if (fd < 0)
		return fd;

	deadline_start(&d, timeout_ms);
	for (;;) {
		if (timeout_ms > 0) {
			int left = deadline_left_ms(&d);

			/* 0 would mean "no time-out" to the kernel */
			if (left == 0) {
				r = -ETIMEDOUT;
				goto err;
			}
			r = set_sndtimeo(fd, left);
			if (r < 0)
				goto err;
		}
		r = os_connect(fd, (const struct sockaddr *)&sa, len);
		if (r == 0)
			break;
		/* interrupted while waiting for room: nothing is half done
		 * in an AF_UNIX connect, so simply try again */
		if (r == -EINTR)
			continue;
		/* the send time-out ran out (or a wake-up lost the race) */
		if (r == -EAGAIN && timeout_ms > 0)
			continue;
		goto err;
	}

	/* hand back a plain blocking socket */
	if (timeout_ms > 0) {
		r = set_sndtimeo(fd, 0);
		if (r < 0)
			goto err;
	} else if (timeout_ms == 0 && fcntl(fd, F_SETFL, 0) < 0) {
		r = -errno;
		goto err;
	}
	return fd;
err:
	os_close(fd);
	return r;
}

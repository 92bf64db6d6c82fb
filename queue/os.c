/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <linux/membarrier.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <unistd.h>

#include "deadline.h"
#include "os-private.h"

int os_memfd(const char *name)
{
	int fd;

#ifdef HAVE_MEMFD_CREATE
	fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
#else
	fd = (int)syscall(SYS_memfd_create, name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
#endif
	return fd < 0 ? -errno : fd;
}

int os_truncate(int fd, uint64_t size)
{
	if (size > (uint64_t)INT64_MAX)
		return -EFBIG;
	if (ftruncate(fd, (off_t)size) < 0)
		return -errno;
	return 0;
}

int os_fallocate(int fd, uint64_t size)
{
	int r;

	if (size > (uint64_t)INT64_MAX)
		return -EFBIG;
	/* Take the pages now: a full tmpfs or memory cgroup fails here rather
	 * than with SIGBUS at the first touch. EINTR: retry. */
	do
		r = fallocate(fd, 0, 0, (off_t)size);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return -errno;
	return 0;
}

int os_tmpfile(const char *dir)
{
#ifdef O_TMPFILE
	int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);

	if (fd >= 0)
		return fd;
	/* Kernels before 3.11 take O_TMPFILE for O_DIRECTORY: EISDIR. */
	if (errno == EISDIR || errno == EINVAL)
		return -EOPNOTSUPP;
	return -errno;
#else
	(void)dir;
	return -EOPNOTSUPP;
#endif
}

int os_link_fd(int fd, const char *path)
{
	char src[64];

	snprintf(src, sizeof(src), "/proc/self/fd/%d", fd);
	if (linkat(AT_FDCWD, src, AT_FDCWD, path, AT_SYMLINK_FOLLOW) < 0)
		return -errno;
	return 0;
}

int os_lock(int fd, int nowait)
{
	int r;

	do
		r = flock(fd, LOCK_EX | (nowait ? LOCK_NB : 0));
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	return 0;
}

int os_bell_pair(int fds[2])
{
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0,
		       fds) < 0)
		return -errno;
	return 0;
}

void os_bell_ring(int fd)
{
	char one = 1;
	ssize_t r;

	/* EAGAIN: the sleeper's end is full, it will wake anyway; EPIPE /
	 * ECONNRESET: the peer is gone, which its socket tells. */
	do
		r = send(fd, &one, 1, MSG_DONTWAIT | MSG_NOSIGNAL);
	while (r < 0 && errno == EINTR);
}

void os_bell_drain(int fd)
{
	char buf[512];
	ssize_t r;

	do
		r = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
	while (r < 0 && errno == EINTR);
}

int os_pread_all(int fd, void *buf, size_t len, off_t off)
{
	char *p = buf;

	while (len) {
		ssize_t r = pread(fd, p, len, off);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			return -EBADMSG;
		p += r;
		len -= (size_t)r;
		off += r;
	}
	return 0;
}

int os_map(int fd, size_t len, void **out)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

	if (p == MAP_FAILED)
		return -errno;
	*out = p;
	return 0;
}

int os_fd_link(int fd, char *buf, size_t cap)
{
	char path[64];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	n = readlink(path, buf, cap - 1);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	return 0;
}

int os_is_bell(int fd)
{
	int v;
	socklen_t len = sizeof(v);

	if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &v, &len) < 0 ||
	    v != AF_UNIX)
		return 0;
	len = sizeof(v);
	return getsockopt(fd, SOL_SOCKET, SO_TYPE, &v, &len) == 0 &&
	       v == SOCK_STREAM;
}

int os_futex_wait(uint32_t *word, uint32_t val, int ms)
{
	struct timespec ts = { .tv_sec = ms / 1000,
			       .tv_nsec = (long)(ms % 1000) * 1000000L };
	long r;

	/* Not FUTEX_PRIVATE_FLAG: the word is shared with another process. */
	r = syscall(SYS_futex, word, FUTEX_WAIT, val, &ts, NULL, 0);
	if (r < 0 && errno == EINTR)
		return -EINTR;
	return 0; /* woken, EAGAIN (value changed) or ETIMEDOUT */
}

int os_membarrier_ready(void)
{
	/* 0: not asked yet, 1: registered, -1: not available */
	static int state;
	int s = __atomic_load_n(&state, __ATOMIC_ACQUIRE);
	long q;

	if (s)
		return s > 0;
	q = syscall(SYS_membarrier, MEMBARRIER_CMD_QUERY, 0, 0);
	s = -1;
	if (q > 0 && (q & MEMBARRIER_CMD_GLOBAL_EXPEDITED) &&
	    (q & MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED) &&
	    syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED,
		    0, 0) == 0)
		s = 1;
	/* Racing first calls do the same and agree; registering twice is
	 * harmless. */
	__atomic_store_n(&state, s, __ATOMIC_RELEASE);
	return s > 0;
}

int os_membarrier(void)
{
	return syscall(SYS_membarrier, MEMBARRIER_CMD_GLOBAL_EXPEDITED, 0, 0) ?
		       -errno : 0;
}

void os_futex_wake(uint32_t *word)
{
	(void)syscall(SYS_futex, word, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
}

int os_proc_start(pid_t pid, uint64_t *out)
{
	char path[64], buf[1024];
	unsigned long long start;
	const char *p;
	ssize_t n;
	int fd, field;

	if (pid <= 0)
		return -ESRCH;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? -ESRCH : -errno;
	do
		n = read(fd, buf, sizeof(buf) - 1);
	while (n < 0 && errno == EINTR);
	close(fd);
	if (n <= 0)
		return -ESRCH;
	buf[n] = '\0';
	/* comm (field 2) may hold spaces and parentheses: skip to the last ')'. */
	p = strrchr(buf, ')');
	if (!p || p[1] != ' ')
		return -ESRCH;
	p += 2; /* field 3: state */
	if (*p == 'Z' || *p == 'X' || *p == 'x')
		return -ESRCH; /* exited, not yet reaped: gone for us */
	for (field = 3; field < 22 && *p; p++)
		if (*p == ' ')
			field++;
	if (field != 22 || sscanf(p, "%llu", &start) != 1)
		return -ESRCH;
	*out = start;
	return 0;
}

int os_proc_alive(pid_t pid, uint64_t start)
{
	uint64_t now;

	if (os_proc_start(pid, &now) < 0)
		return 0;
	return start == 0 || now == start;
}

int os_poll(struct pollfd *fds, unsigned n, int timeout_ms)
{
	struct deadline d;
	int r;

	deadline_start(&d, timeout_ms);
	for (;;) {
		r = poll(fds, n, deadline_left_ms(&d));
		if (r >= 0 || errno != EINTR)
			return r < 0 ? -errno : r;
		if (deadline_expired(&d))
			return 0;
	}
}

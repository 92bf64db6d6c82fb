/* SPDX-License-Identifier: MIT */
/*
 * OS shim: the only file of libfdpass that calls the descriptor-creating
 * syscalls directly. See os-private.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "deadline.h"
#include "os-private.h"

int os_socket(int domain, int type, int protocol)
{
	int fd = socket(domain, type | SOCK_CLOEXEC, protocol);

	return fd < 0 ? -errno : fd;
}

int os_socketpair(int domain, int type, int protocol, int sv[2])
{
	return socketpair(domain, type | SOCK_CLOEXEC, protocol, sv) < 0 ?
		       -errno :
		       0;
}

int os_accept(int sock, int nonblock)
{
	int flags = SOCK_CLOEXEC | (nonblock ? SOCK_NONBLOCK : 0);
	int fd;

	do
		fd = accept4(sock, NULL, NULL, flags);
	while (fd < 0 && errno == EINTR);
	return fd < 0 ? -errno : fd;
}

int os_connect(int sock, const struct sockaddr *sa, socklen_t len)
{
	return connect(sock, sa, len) < 0 ? -errno : 0;
}

int os_open(const char *path, int flags, mode_t mode)
{
	int fd;

	do
		fd = open(path, flags | O_CLOEXEC, mode);
	while (fd < 0 && errno == EINTR);
	return fd < 0 ? -errno : fd;
}

ssize_t os_sendmsg(int sock, const struct msghdr *msg, int flags)
{
	ssize_t n;

	do
		n = sendmsg(sock, msg, flags | MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	return n < 0 ? -errno : n;
}

ssize_t os_recvmsg(int sock, struct msghdr *msg, int flags)
{
	ssize_t n;

	do
		n = recvmsg(sock, msg, flags | MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	return n < 0 ? -errno : n;
}

int os_poll1(int fd, short events, const struct deadline *d)
{
	for (;;) {
		struct pollfd p = { .fd = fd, .events = events };
		int left = deadline_left_ms(d);
		int r = poll(&p, 1, left);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (r == 0) {
			/* poll may wake a hair early; the deadline decides */
			if (deadline_expired(d))
				return 0;
			continue;
		}
		if (p.revents & POLLNVAL)
			return -EBADF;
		return p.revents;
	}
}

void os_close(int fd)
{
	int saved = errno;

	if (fd >= 0)
		(void)close(fd);
	errno = saved;
}

void os_close_all(const int *fds, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		os_close(fds[i]);
}

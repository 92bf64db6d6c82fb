/* SPDX-License-Identifier: MIT */
/*
 * The OS shim of libiface: each descriptor-creating call with its CLOEXEC
 * flag, the EINTR handling, and the eventfd helpers. The rest of the layer
 * never thinks about them again.
 */
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "iface-private.h"

int os_epoll_create(void)
{
	int fd = epoll_create1(EPOLL_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

int os_eventfd(void)
{
	int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);

	return fd < 0 ? -errno : fd;
}

int os_epoll_add(int ep, int fd, uint32_t events, void *ptr)
{
	struct epoll_event ev = { .events = events, .data.ptr = ptr };

	return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

void os_epoll_del(int ep, int fd)
{
	if (fd >= 0)
		(void)epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
}

int os_epoll_wait(int ep, struct epoll_event *ev, int max, int timeout_ms)
{
	int n = epoll_wait(ep, ev, max, timeout_ms);

	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	return n;
}

void os_efd_kick(int efd)
{
	int saved = errno;
	uint64_t one = 1;

	/* EAGAIN (counter at its maximum) still leaves the fd readable */
	while (write(efd, &one, sizeof(one)) < 0 && errno == EINTR)
		;
	errno = saved;
}

void os_efd_drain(int efd)
{
	uint64_t v;

	while (read(efd, &v, sizeof(v)) < 0 && errno == EINTR)
		;
}

void os_close(int fd)
{
	if (fd >= 0)
		(void)close(fd);
}

int os_poll_now(int fd, short events)
{
	struct pollfd p = { .fd = fd, .events = events };

	if (poll(&p, 1, 0) <= 0)
		return 0;
	return p.revents;
}

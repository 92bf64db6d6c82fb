/* SPDX-License-Identifier: MIT */
/*
 * fdpass_send / fdpass_recv: one message plus descriptors (SCM_RIGHTS).
 *
 * Both sides always call the kernel with MSG_DONTWAIT and wait in poll(2)
 * themselves, so a time-out holds whether the socket is blocking or not and
 * EINTR costs nothing but a retry with the time that is left.
 */
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

#include <memenpsf/fdpass.h>

#include "deadline.h"
#include "fdpass-private.h"
#include "os-private.h"

/*
 * Control buffer for at most FDPASS_MAX_FDS descriptors and nothing else:
 * a sender that attaches more (up to the kernel's SCM_MAX_FD) overflows it,
 * the kernel reports MSG_CTRUNC and keeps the rest (closing them itself).
 * The union gives the alignment CMSG_* expects.
 */
union fdpass_cmsgbuf {
	struct cmsghdr align;
	char buf[CMSG_SPACE(sizeof(int) * FDPASS_MAX_FDS)];
};

ssize_t fdpass_send(int sock, const void *buf, size_t len, const int *fds,
		    unsigned nfds, int timeout_ms)
{
	union fdpass_cmsgbuf cbuf;
	struct iovec iov;
	struct msghdr msg;
	struct deadline d;
	ssize_t n;

	if (sock < 0)
		return -EBADF;
	if (!buf || len == 0 || len > FDPASS_MAX_MSG || nfds > FDPASS_MAX_FDS ||
	    (nfds && !fds))
		return -EINVAL;
	for (unsigned i = 0; i < nfds; i++)
		if (fds[i] < 0)
			return -EINVAL;

	memset(&msg, 0, sizeof(msg));
	iov.iov_base = (void *)buf;
	iov.iov_len = len;
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	if (nfds) {
		struct cmsghdr *c;

		memset(&cbuf, 0, sizeof(cbuf));
		msg.msg_control = cbuf.buf;
		msg.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		c = CMSG_FIRSTHDR(&msg);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
	}

	deadline_start(&d, timeout_ms);
	for (;;) {
		int r;

		n = os_sendmsg(sock, &msg, MSG_DONTWAIT);
		if (n >= 0)
			return n;
		if (n != -EAGAIN)
			return fdpass_peer_gone(sock, (int)n);
		if (timeout_ms == 0)
			return -EAGAIN;
		/* POLLOUT, or POLLHUP/POLLERR that the next sendmsg reports */
		r = os_poll1(sock, POLLOUT, &d);
		if (r == 0)
			return -ETIMEDOUT;
		if (r < 0)
			return r;
	}
}

/*
 * Take every descriptor out of the control data of msg, whatever happens
 * next, into got[] (capacity FDPASS_MAX_FDS, which the control buffer cannot
 * exceed). Sets *foreign when a control message other than SCM_RIGHTS came.
 * Returns how many descriptors were taken.
 */
static unsigned take_fds(struct msghdr *msg, int *got, int *foreign)
{
	char *end = (char *)msg->msg_control + msg->msg_controllen;
	unsigned n = 0;

	*foreign = 0;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(msg); c; c = CMSG_NXTHDR(msg, c)) {
		size_t bytes, k;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) {
			*foreign = 1;
			continue;
		}
		if (c->cmsg_len < CMSG_LEN(0))
			continue;
		bytes = c->cmsg_len - CMSG_LEN(0);
		/* never read past what the kernel says it wrote */
		if (bytes > (size_t)(end - (char *)CMSG_DATA(c)))
			bytes = (size_t)(end - (char *)CMSG_DATA(c));
		k = bytes / sizeof(int);
		for (size_t i = 0; i < k; i++) {
			int fd;

			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(fd));
			if (n < FDPASS_MAX_FDS)
				got[n++] = fd;
			else
				os_close(fd); /* cannot happen with our buffer */
		}
	}
	return n;
}

ssize_t fdpass_recv(int sock, void *buf, size_t cap, int *fds, unsigned *nfds,
		    int timeout_ms)
{
	union fdpass_cmsgbuf cbuf;
	int got[FDPASS_MAX_FDS];
	struct iovec iov;
	struct msghdr msg;
	struct deadline d;
	unsigned room, ngot;
	int foreign;
	ssize_t n;

	if (!nfds)
		return -EINVAL;
	room = *nfds;
	*nfds = 0;
	if (sock < 0)
		return -EBADF;
	if (!buf || cap == 0 || (room && !fds))
		return -EINVAL;
	if (room > FDPASS_MAX_FDS)
		room = FDPASS_MAX_FDS;

	deadline_start(&d, timeout_ms);
	for (;;) {
		int r;

		memset(&msg, 0, sizeof(msg));
		iov.iov_base = buf;
		iov.iov_len = cap;
		msg.msg_iov = &iov;
		msg.msg_iovlen = 1;
		msg.msg_control = cbuf.buf;
		msg.msg_controllen = sizeof(cbuf.buf);

		n = os_recvmsg(sock, &msg, MSG_DONTWAIT);
		if (n >= 0)
			break;
		if (n != -EAGAIN)
			return fdpass_peer_gone(sock, (int)n);
		if (timeout_ms == 0)
			return -EAGAIN;
		r = os_poll1(sock, POLLIN, &d);
		if (r == 0)
			return -ETIMEDOUT;
		if (r < 0)
			return r;
	}

	/* From here every descriptor that arrived is ours to hand over or
	 * close: nothing below returns before deciding which. */
	ngot = take_fds(&msg, got, &foreign);
	if (foreign)
		n = -EPROTO;
	else if (msg.msg_flags & MSG_CTRUNC)
		n = -ENOBUFS;
	else if (msg.msg_flags & MSG_TRUNC)
		n = -EMSGSIZE;
	else if (ngot > room)
		n = -ETOOMANYREFS;
	else if (n == 0)
		/* end of file, or an empty message (which our senders never
		 * send): carrying descriptors it breaks the protocol */
		n = ngot ? -EPROTO : -EPIPE;
	if (n < 0)
		goto err;

	if (ngot)
		memcpy(fds, got, sizeof(int) * ngot);
	*nfds = ngot;
	return n;
err:
	os_close_all(got, ngot);
	return n;
}

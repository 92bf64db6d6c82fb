/* SPDX-License-Identifier: MIT */
/* A connection flood against a libiface server; see flood.h. */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memenpsf/fdpass.h>
#include <memenpsf/iface.h>

#include "flood.h"
#include "../iface/wire.h"

static int write_all(int fd, const void *buf, size_t n)
{
	const char *p = buf;

	while (n) {
		ssize_t r = write(fd, p, n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

/* One readable flood socket: 1 to keep it (HELLO), 0 when it ended. */
static int flood_read(int sock, struct flood_stats *st)
{
	unsigned char buf[WIRE_MAX_MSG + 1];
	int fds[FDPASS_MAX_FDS];
	unsigned nfds = FDPASS_MAX_FDS;
	struct wire_msg m;
	ssize_t r = fdpass_recv(sock, buf, sizeof(buf), fds, &nfds, 0);

	if (r == -EAGAIN)
		return 1;
	if (r < 0) {
		st->closed++;
		return 0;
	}
	for (unsigned i = 0; i < nfds; i++)
		close(fds[i]);
	if (wire_decode(buf, (size_t)r, nfds, 0, &m) < 0) {
		st->closed++;
		return 0;
	}
	if (m.type == WIRE_HELLO) {
		st->hello++;
		return 1;
	}
	if (m.type == WIRE_REFUSE && m.u.reason.code == IFACE_R_BUSY)
		st->busy++;
	else
		st->refused++;
	return 0; /* the server closes after a REFUSE */
}

int flood_run(const char *path, int stop_fd, int ready_fd,
	      uint64_t ready_after, int res_fd)
{
	struct flood_stats st = { 0 };
	unsigned char half[WIRE_MAX_MSG];
	struct wire_join j = { 0 };
	struct pollfd *pf = NULL;
	struct rlimit rl;
	size_t n = 1, cap;
	int rc = 1, told = 0, half_len;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return 1;
	rl.rlim_cur = rl.rlim_max;
	(void)setrlimit(RLIMIT_NOFILE, &rl); /* as high as we may */
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return 1;
	st.fd_limit = rl.rlim_cur;
	cap = rl.rlim_cur > 1000000 ? 1000000 : (size_t)rl.rlim_cur;
	pf = calloc(cap, sizeof(*pf));
	half_len = wire_encode_join(half, sizeof(half), &j);
	if (!pf || half_len <= 0)
		goto out;
	half_len /= 2;
	pf[0].fd = stop_fd;
	pf[0].events = POLLIN;

	for (;;) {
		int full = 0, k;

		/* open until the backlog is full or no descriptor is left */
		while (n < cap) {
			int s = fdpass_connect(path, SOCK_SEQPACKET, 0);

			if (s == -EAGAIN) {
				st.full++;
				full = 1;
				break;
			}
			if (s == -EMFILE || s == -ENFILE) {
				full = 1;
				break;
			}
			if (s < 0)
				goto out; /* the server is gone */
			if (st.opened++ & 1)
				(void)send(s, half, (size_t)half_len,
					   MSG_DONTWAIT | MSG_NOSIGNAL);
			pf[n].fd = s;
			pf[n].events = POLLIN;
			n++;
			if (n - 1 > st.max_open)
				st.max_open = n - 1;
			if (!told && st.opened >= ready_after) {
				if (write_all(ready_fd, "f", 1) < 0)
					goto out;
				told = 1;
			}
		}
		/* a full backlog frees up as the server accepts, which we
		 * learn only from a drop: look again now and then */
		k = poll(pf, (nfds_t)n, full ? 5 : 0);
		if (k < 0 && errno != EINTR)
			goto out;
		if (k <= 0)
			continue;
		if (pf[0].revents)
			break;
		for (size_t i = 1; i < n; i++) {
			if (!pf[i].revents)
				continue;
			pf[i].revents = 0;
			if (flood_read(pf[i].fd, &st))
				continue;
			close(pf[i].fd);
			pf[i--] = pf[--n]; /* look at the moved one too */
		}
	}
	rc = 0;
out:
	if (pf)
		for (size_t i = 1; i < n; i++)
			close(pf[i].fd);
	free(pf);
	if (!told)
		(void)write_all(ready_fd, "x", 1); /* never wait for us */
	if (write_all(res_fd, &st, sizeof(st)) < 0)
		rc = 1;
	return rc;
}

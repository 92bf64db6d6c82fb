/* SPDX-License-Identifier: MIT */
/*
 * The kernel's byte pipes, one message per system call: a pipe pair, a Unix
 * stream socketpair and a Unix seqpacket socketpair, with the system's
 * default buffer sizes. Streams deliver bytes, not messages, so a message is
 * read (and written) in a loop until all of it has moved.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench.h"

struct sock_side {
	int tx, rx;
	int seqpacket;
	unsigned char *txbuf, *rxbuf;
};

/* A: write end of A->B, read end of B->A; B: the other two. */
static int pipe_setup(size_t size, int *fa, int *na, int *fb, int *nb)
{
	int ab[2], ba[2];

	if (pipe2(ab, O_CLOEXEC) < 0)
		return -errno;
	if (pipe2(ba, O_CLOEXEC) < 0) {
		int e = -errno;

		close(ab[0]);
		close(ab[1]);
		return e;
	}
	fa[0] = ab[1];
	fa[1] = ba[0];
	fb[0] = ba[1];
	fb[1] = ab[0];
	*na = *nb = 2;
	return 0;
}

static int pair_setup(int type, int *fa, int *na, int *fb, int *nb)
{
	int sv[2];

	if (socketpair(AF_UNIX, type | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	fa[0] = fa[1] = sv[0];
	fb[0] = fb[1] = sv[1];
	*na = *nb = 1; /* one descriptor, both directions */
	return 0;
}

static int stream_setup(size_t size, int *fa, int *na, int *fb, int *nb)
{
	return pair_setup(SOCK_STREAM, fa, na, fb, nb);
}

static int seqpacket_setup(size_t size, int *fa, int *na, int *fb, int *nb)
{
	return pair_setup(SOCK_SEQPACKET, fa, na, fb, nb);
}

static int sock_open(struct side *s)
{
	struct sock_side *ss = calloc(1, sizeof(*ss));

	if (!ss)
		return -ENOMEM;
	ss->tx = s->fds[0];
	ss->rx = s->nfds > 1 ? s->fds[1] : s->fds[0];
	ss->seqpacket = strcmp(s->t->name, "unix-seqpacket") == 0;
	ss->txbuf = tp_alloc(s->size, 1);
	ss->rxbuf = tp_alloc(s->size + 1, 1); /* one more: see truncation */
	if (!ss->txbuf || !ss->rxbuf) {
		free(ss->txbuf);
		free(ss->rxbuf);
		free(ss);
		return -ENOMEM;
	}
	s->priv = ss;
	return 0;
}

static int sock_tx_get(struct side *s, unsigned want, void **base,
		       size_t *stride)
{
	struct sock_side *ss = s->priv;

	*base = ss->txbuf;
	*stride = s->size;
	return 1;
}

static int sock_tx_put(struct side *s, unsigned n)
{
	struct sock_side *ss = s->priv;
	ssize_t r;

	if (!ss->seqpacket)
		return tp_write_all(ss->tx, ss->txbuf, s->size);
	do
		r = send(ss->tx, ss->txbuf, s->size, MSG_NOSIGNAL);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return -errno;
	return (size_t)r == s->size ? 0 : -EIO;
}

static int sock_rx(struct side *s, unsigned max, const void **base,
		   size_t *stride)
{
	struct sock_side *ss = s->priv;
	ssize_t r;

	*base = ss->rxbuf;
	*stride = s->size;
	if (!ss->seqpacket) {
		r = tp_read_all(ss->rx, ss->rxbuf, s->size);
		return r < 0 ? (int)r : 1;
	}
	do
		r = recv(ss->rx, ss->rxbuf, s->size + 1, 0);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return -errno;
	if (r == 0)
		return -EPIPE;
	return (size_t)r == s->size ? 1 : -EBADMSG;
}

static int sock_rx_done(struct side *s, unsigned n)
{
	return 0;
}

static void sock_close(struct side *s)
{
	struct sock_side *ss = s->priv;

	if (!ss)
		return;
	free(ss->txbuf);
	free(ss->rxbuf);
	free(ss);
	s->priv = NULL;
}

#define SOCK_OPS                                                               \
	.open = sock_open, .tx_get = sock_tx_get, .tx_put = sock_tx_put,      \
	.rx = sock_rx, .rx_done = sock_rx_done, .close = sock_close

static const struct transport t_pipe = {
	.name = "pipe",
	.desc = "two pipes, one message per write()/read() loop",
	.order = 60,
	.flags = T_SLEEP,
	.setup = pipe_setup,
	SOCK_OPS,
};
BENCH_TRANSPORT(t_pipe)

static const struct transport t_unix_stream = {
	.name = "unix-stream",
	.desc = "AF_UNIX SOCK_STREAM socketpair, default buffers, read loops",
	.order = 61,
	.flags = T_SLEEP,
	.setup = stream_setup,
	SOCK_OPS,
};
BENCH_TRANSPORT(t_unix_stream)

static const struct transport t_unix_seqpacket = {
	.name = "unix-seqpacket",
	.desc = "AF_UNIX SOCK_SEQPACKET socketpair, default buffers",
	.order = 62,
	.flags = T_SLEEP,
	.setup = seqpacket_setup,
	SOCK_OPS,
};
BENCH_TRANSPORT(t_unix_seqpacket)

/* SPDX-License-Identifier: MIT */
/*
 * libipcq rows: two rings (A->B and B->A), each created by its producer and
 * sent to the other side over a socketpair (ipcq_share / ipcq_accept), the
 * way a real user meets a peer. Every case uses the same ring geometry
 * (bench_ring_capacity). The five ways to drive a ring:
 *   ipcq-spin   push / pop retried in a spin loop
 *   ipcq-block  push_wait / pop_wait with their default spin, then sleep
 *   ipcq-sleep  the same with ipcq_set_spin(0): straight to the doorbell
 *   ipcq-batch  push_n / pop_n of up to --batch, spinning (throughput only)
 *   ipcq-zc     reserve / commit and peek / release, in place, spinning
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memenpsf/ipcq.h>

#include "bench.h"
#include "compiler.h"

#define SHARE_TIMEOUT_MS 10000

enum ipcq_mode { M_SPIN, M_BLOCK, M_SLEEP, M_BATCH, M_ZC };

struct ipcq_side {
	struct ipcq *tx, *rx;
	enum ipcq_mode mode;
	unsigned char *txbuf, *rxbuf; /* batch messages each */
};

static int ipcq_setup(size_t size, int *fa, int *na, int *fb, int *nb)
{
	int sv[2];

	/* the control socket libipcq shares rings over (as libiface's) */
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	fa[0] = sv[0];
	fb[0] = sv[1];
	*na = *nb = 1;
	return 0;
}

static enum ipcq_mode mode_of(const struct transport *t)
{
	static const char *const names[] = {
		[M_SPIN] = "ipcq-spin", [M_BLOCK] = "ipcq-block",
		[M_SLEEP] = "ipcq-sleep", [M_BATCH] = "ipcq-batch",
		[M_ZC] = "ipcq-zc",
	};
	unsigned i;

	for (i = 0; i < ARRAY_SIZE(names); i++)
		if (strcmp(t->name, names[i]) == 0)
			return (enum ipcq_mode)i;
	return M_SPIN;
}

/* A creates A->B and sends it, then takes B->A; B the mirror image. */
static int attach_rings(struct ipcq_side *q, int sock, int role, size_t size)
{
	struct ipcq_config cfg = {
		.elem_size = (uint32_t)size,
		.capacity = bench_ring_capacity(size),
	};
	struct ipcq_expect exp = { .elem_size = (uint32_t)size };
	int e;

	if (role == 'B') {
		e = ipcq_accept(&q->rx, sock, &exp, SHARE_TIMEOUT_MS);
		if (e < 0)
			return e;
	}
	e = ipcq_create(&q->tx, &cfg, IPCQ_PRODUCER);
	if (e < 0)
		return e;
	e = ipcq_share(q->tx, sock, SHARE_TIMEOUT_MS);
	if (e < 0)
		return e;
	if (role == 'A') {
		e = ipcq_accept(&q->rx, sock, &exp, SHARE_TIMEOUT_MS);
		if (e < 0)
			return e;
	}
	if (ipcq_role(q->rx) != IPCQ_CONSUMER ||
	    ipcq_elem_size(q->rx) != size)
		return -EPROTO;
	return 0;
}

static void ipcq_side_close(struct side *s)
{
	struct ipcq_side *q = s->priv;

	if (!q)
		return;
	ipcq_close(q->tx);
	ipcq_close(q->rx);
	free(q->txbuf);
	free(q->rxbuf);
	free(q);
	s->priv = NULL;
}

static int ipcq_side_open(struct side *s)
{
	struct ipcq_side *q;
	int e;

	if (s->nfds != 1)
		return -EINVAL;
	q = calloc(1, sizeof(*q));
	if (!q)
		return -ENOMEM;
	s->priv = q;
	q->mode = mode_of(s->t);
	q->txbuf = tp_alloc(s->size, s->batch);
	q->rxbuf = tp_alloc(s->size, s->batch);
	if (!q->txbuf || !q->rxbuf) {
		e = -ENOMEM;
		goto err;
	}
	e = attach_rings(q, s->fds[0], s->role, s->size);
	if (e < 0)
		goto err;
	if (q->mode == M_SLEEP) {
		ipcq_set_spin(q->tx, 0);
		ipcq_set_spin(q->rx, 0);
	}
	return 0;
err:
	ipcq_side_close(s);
	return e;
}

static int ipcq_tx_get(struct side *s, unsigned want, void **base,
		       size_t *stride)
{
	struct ipcq_side *q = s->priv;
	void *first;
	int n;

	if (q->mode != M_ZC) {
		*base = q->txbuf;
		*stride = s->size;
		return q->mode == M_BATCH ? (int)want : 1;
	}
	while ((n = ipcq_reserve(q->tx, want, &first)) == -EAGAIN)
		cpu_relax();
	if (n < 0)
		return n;
	*base = first;
	*stride = ipcq_stride(q->tx);
	return n;
}

static int ipcq_tx_put(struct side *s, unsigned n)
{
	struct ipcq_side *q = s->priv;
	unsigned done = 0;
	int r;

	switch (q->mode) {
	case M_SPIN:
		while ((r = ipcq_push(q->tx, q->txbuf)) == -EAGAIN)
			cpu_relax();
		return r;
	case M_BLOCK:
	case M_SLEEP:
		return ipcq_push_wait(q->tx, q->txbuf, -1);
	case M_BATCH:
		while (done < n) {
			r = ipcq_push_n(q->tx, q->txbuf + (size_t)done * s->size,
					n - done);
			if (r > 0)
				done += (unsigned)r;
			else if (r == -EAGAIN)
				cpu_relax();
			else
				return r;
		}
		return 0;
	case M_ZC:
		return ipcq_commit(q->tx, n);
	}
	return -EINVAL;
}

static int ipcq_rx(struct side *s, unsigned max, const void **base,
		   size_t *stride)
{
	struct ipcq_side *q = s->priv;
	const void *first;
	int r;

	*base = q->rxbuf;
	*stride = s->size;
	switch (q->mode) {
	case M_SPIN:
		while ((r = ipcq_pop(q->rx, q->rxbuf)) == -EAGAIN)
			cpu_relax();
		return r < 0 ? r : 1;
	case M_BLOCK:
	case M_SLEEP:
		r = ipcq_pop_wait(q->rx, q->rxbuf, -1);
		return r < 0 ? r : 1;
	case M_BATCH:
		while ((r = ipcq_pop_n(q->rx, q->rxbuf, max)) == -EAGAIN)
			cpu_relax();
		return r;
	case M_ZC:
		while ((r = ipcq_peek(q->rx, max, &first, NULL)) == -EAGAIN)
			cpu_relax();
		if (r < 0)
			return r;
		*base = first;
		*stride = ipcq_stride(q->rx);
		return r;
	}
	return -EINVAL;
}

static int ipcq_rx_done(struct side *s, unsigned n)
{
	struct ipcq_side *q = s->priv;

	return q->mode == M_ZC ? ipcq_release(q->rx, n) : 0;
}

#define IPCQ_OPS                                                               \
	.setup = ipcq_setup, .open = ipcq_side_open, .tx_get = ipcq_tx_get,   \
	.tx_put = ipcq_tx_put, .rx = ipcq_rx, .rx_done = ipcq_rx_done,        \
	.close = ipcq_side_close

static const struct transport t_ipcq_spin = {
	.name = "ipcq-spin",
	.desc = "libipcq push / pop in a spin loop",
	.order = 20,
	.flags = T_SPIN,
	IPCQ_OPS,
};
BENCH_TRANSPORT(t_ipcq_spin)

static const struct transport t_ipcq_block = {
	.name = "ipcq-block",
	.desc = "libipcq push_wait / pop_wait, default spin then sleep "
		"(also: CPU of an idle waiting consumer)",
	.order = 21,
	.flags = T_SPIN | T_SLEEP | T_IDLE,
	IPCQ_OPS,
};
BENCH_TRANSPORT(t_ipcq_block)

static const struct transport t_ipcq_sleep = {
	.name = "ipcq-sleep",
	.desc = "libipcq push_wait / pop_wait with spin 0 (always sleeps)",
	.order = 22,
	.flags = T_SLEEP,
	IPCQ_OPS,
};
BENCH_TRANSPORT(t_ipcq_sleep)

static const struct transport t_ipcq_batch = {
	.name = "ipcq-batch",
	.desc = "libipcq push_n / pop_n of up to --batch, spinning "
		"(throughput only)",
	.order = 23,
	.flags = T_SPIN | T_BATCH | T_NO_RTT,
	IPCQ_OPS,
};
BENCH_TRANSPORT(t_ipcq_batch)

static const struct transport t_ipcq_zc = {
	.name = "ipcq-zc",
	.desc = "libipcq reserve / commit and peek / release (zero-copy), "
		"one at a time, spinning",
	.order = 24,
	.flags = T_SPIN,
	IPCQ_OPS,
};
BENCH_TRANSPORT(t_ipcq_zc)

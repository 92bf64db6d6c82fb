/* SPDX-License-Identifier: MIT */
/*
 * POSIX message queues, one per direction, within the system's limits: a
 * size above /proc/sys/fs/mqueue/msgsize_max is skipped with that reason, and
 * the queue depth is msg_max (capped at 64, and so that both queues fit in
 * RLIMIT_MSGQUEUE). The queues are unlinked as soon as
 * they are open, so nothing is left in /dev/mqueue; the descriptors (always
 * close-on-exec on Linux) reach the sides by inheritance.
 */
#include <errno.h>
#include <fcntl.h>
#include <mqueue.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>

#include "bench.h"

#define MQ_DEPTH_CAP 64

static long read_long(const char *path, long dflt)
{
	FILE *f = fopen(path, "re");
	long v;

	if (!f)
		return dflt;
	if (fscanf(f, "%ld", &v) != 1)
		v = dflt;
	fclose(f);
	return v;
}

static int mq_supported(size_t size, char *why, size_t whylen)
{
	long max = read_long("/proc/sys/fs/mqueue/msgsize_max", 8192);

	if ((long)size <= max)
		return 0;
	snprintf(why, whylen, "above /proc/sys/fs/mqueue/msgsize_max (%ld)",
		 max);
	return -1;
}

static int mq_make(size_t size, unsigned n)
{
	static unsigned counter;
	struct mq_attr a = { 0 };
	char name[64];
	long depth = read_long("/proc/sys/fs/mqueue/msg_max", 10);
	struct rlimit rl;
	mqd_t q;

	if (depth > MQ_DEPTH_CAP)
		depth = MQ_DEPTH_CAP;
	/* both queues must fit in RLIMIT_MSGQUEUE (bytes, with the kernel's
	 * per-message overhead, roughly 64 bytes) */
	if (getrlimit(RLIMIT_MSGQUEUE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
	    (rlim_t)depth * 2 * (size + 64) > rl.rlim_cur)
		depth = (long)(rl.rlim_cur / (2 * (size + 64)));
	if (depth < 1)
		depth = 1;
	a.mq_maxmsg = depth;
	a.mq_msgsize = (long)size;
	snprintf(name, sizeof(name), "/memenpsf-bench.%ld.%u.%u", (long)getpid(),
		 counter++, n);
	q = mq_open(name, O_RDWR | O_CREAT | O_EXCL, 0600, &a);
	if (q == (mqd_t)-1)
		return -errno;
	mq_unlink(name);
	return (int)q;
}

/* fds: queue A->B, queue B->A (each side gets its own duplicates) */
static int mq_setup(size_t size, int *fa, int *na, int *fb, int *nb)
{
	int i, q, d, e;

	for (i = 0; i < 2; i++) {
		q = mq_make(size, (unsigned)i);
		if (q < 0) {
			e = q;
			goto err;
		}
		d = tp_dup(q);
		if (d < 0) {
			close(q);
			e = d;
			goto err;
		}
		fa[(*na)++] = q;
		fb[(*nb)++] = d;
	}
	return 0;
err:
	tp_close_fds(fa, *na);
	tp_close_fds(fb, *nb);
	*na = *nb = 0;
	return e;
}

struct mq_side {
	mqd_t tx, rx;
	unsigned char *txbuf, *rxbuf;
};

static int mq_side_open(struct side *s)
{
	struct mq_side *ms;

	if (s->nfds != 2)
		return -EINVAL;
	ms = calloc(1, sizeof(*ms));
	if (!ms)
		return -ENOMEM;
	ms->tx = (mqd_t)s->fds[s->role == 'A' ? 0 : 1];
	ms->rx = (mqd_t)s->fds[s->role == 'A' ? 1 : 0];
	ms->txbuf = tp_alloc(s->size, 1);
	ms->rxbuf = tp_alloc(s->size, 1);
	if (!ms->txbuf || !ms->rxbuf) {
		free(ms->txbuf);
		free(ms->rxbuf);
		free(ms);
		return -ENOMEM;
	}
	s->priv = ms;
	return 0;
}

static int mq_tx_get(struct side *s, unsigned want, void **base,
		     size_t *stride)
{
	struct mq_side *ms = s->priv;

	*base = ms->txbuf;
	*stride = s->size;
	return 1;
}

static int mq_tx_put(struct side *s, unsigned n)
{
	struct mq_side *ms = s->priv;
	int r;

	do
		r = mq_send(ms->tx, (const char *)ms->txbuf, s->size, 0);
	while (r < 0 && errno == EINTR);
	return r < 0 ? -errno : 0;
}

static int mq_rx(struct side *s, unsigned max, const void **base,
		 size_t *stride)
{
	struct mq_side *ms = s->priv;
	ssize_t r;

	do
		r = mq_receive(ms->rx, (char *)ms->rxbuf, s->size, NULL);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return -errno;
	if ((size_t)r != s->size)
		return -EBADMSG;
	*base = ms->rxbuf;
	*stride = s->size;
	return 1;
}

static int mq_rx_done(struct side *s, unsigned n)
{
	return 0;
}

static void mq_side_close(struct side *s)
{
	struct mq_side *ms = s->priv;

	if (!ms)
		return;
	free(ms->txbuf);
	free(ms->rxbuf);
	free(ms);
	s->priv = NULL;
}

static const struct transport t_posix_mq = {
	.name = "posix-mq",
	.desc = "two POSIX message queues (depth msg_max, capped at 64)",
	.order = 63,
	.flags = T_SLEEP,
	.supported = mq_supported,
	.setup = mq_setup,
	.open = mq_side_open,
	.tx_get = mq_tx_get,
	.tx_put = mq_tx_put,
	.rx = mq_rx,
	.rx_done = mq_rx_done,
	.close = mq_side_close,
};
BENCH_TRANSPORT(t_posix_mq)

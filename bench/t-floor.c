/* SPDX-License-Identifier: MIT */
/*
 * The floors: what no transport between two processes can beat.
 *
 * floor-line: both processes spin on one shared cache line that holds the
 * 64-byte message itself; a side publishes by storing the sequence word last
 * (release) and the other sees it change (acquire). Round trips only.
 *
 * floor-eventfd: one shared slot per direction and an eventfd doorbell per
 * direction; the receiver sleeps in read(). The least a sleeping transport
 * can cost. Round trips only.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include "bench.h"
#include "compiler.h"

/* Split one memfd between the sides: A keeps fd, B gets a duplicate. */
static int share_fd(int fd, int *fa, int *na, int *fb, int *nb)
{
	int d = tp_dup(fd);

	if (d < 0) {
		close(fd);
		return d;
	}
	fa[(*na)++] = fd;
	fb[(*nb)++] = d;
	return 0;
}

/* ---- floor-line ---------------------------------------------------------- */

struct line {
	_Atomic uint64_t head; /* the message's seq: stored last */
	unsigned char rest[CACHELINE - 8];
} __attribute__((aligned(CACHELINE)));
_Static_assert(sizeof(struct line) == CACHELINE, "one cache line");

#define LINE_MAP 4096
#define LINE_SENTINEL (~UINT64_C(0) - 1) /* no message yet */

struct line_side {
	unsigned char buf[CACHELINE] __attribute__((aligned(CACHELINE)));
	struct line *line;
	uint64_t last; /* the head this side stored last, or LINE_SENTINEL */
};

static int line_supported(size_t size, char *why, size_t whylen)
{
	if (size == CACHELINE)
		return 0;
	return -2; /* one cache line: 64 B only, not a row elsewhere */
}

static int line_setup(size_t size, int *fa, int *na, int *fb, int *nb)
{
	struct line *l;
	int fd = tp_memfd(LINE_MAP);

	if (fd < 0)
		return fd;
	l = tp_map(fd, LINE_MAP);
	if (!l) {
		int e = -errno;

		close(fd);
		return e;
	}
	atomic_store(&l->head, LINE_SENTINEL);
	munmap(l, LINE_MAP);
	return share_fd(fd, fa, na, fb, nb);
}

static int line_open(struct side *s)
{
	struct line_side *ls;

	if (s->nfds != 1)
		return -EINVAL;
	ls = tp_alloc(sizeof(*ls), 1);
	if (!ls)
		return -ENOMEM;
	ls->line = tp_map(s->fds[0], LINE_MAP);
	if (!ls->line) {
		int e = -errno;

		free(ls);
		return e;
	}
	ls->last = LINE_SENTINEL;
	s->priv = ls;
	return 0;
}

static int line_tx_get(struct side *s, unsigned want, void **base,
		       size_t *stride)
{
	struct line_side *ls = s->priv;

	*base = ls->buf;
	*stride = CACHELINE;
	return 1;
}

static int line_tx_put(struct side *s, unsigned n)
{
	struct line_side *ls = s->priv;
	uint64_t head;

	memcpy(&head, ls->buf, 8);
	memcpy(ls->line->rest, ls->buf + 8, CACHELINE - 8);
	/* pairs with the acquire load in line_rx: the rest is visible first */
	atomic_store_explicit(&ls->line->head, head, memory_order_release);
	ls->last = head;
	return 0;
}

static int line_rx(struct side *s, unsigned max, const void **base,
		   size_t *stride)
{
	struct line_side *ls = s->priv;
	uint64_t head;

	/* pairs with the release store in line_tx_put */
	while ((head = atomic_load_explicit(&ls->line->head,
					    memory_order_acquire)) == ls->last)
		cpu_relax();
	memcpy(ls->buf, &head, 8);
	memcpy(ls->buf + 8, ls->line->rest, CACHELINE - 8);
	*base = ls->buf;
	*stride = CACHELINE;
	return 1;
}

static int line_rx_done(struct side *s, unsigned n)
{
	return 0;
}

static void line_close(struct side *s)
{
	struct line_side *ls = s->priv;

	if (!ls)
		return;
	munmap(ls->line, LINE_MAP);
	free(ls);
	s->priv = NULL;
}

static const struct transport t_floor_line = {
	.name = "floor-line",
	.desc = "two processes spinning on one shared cache line (the floor "
		"for spinning)",
	.order = 10,
	.flags = T_SPIN | T_NO_TPUT,
	.supported = line_supported,
	.setup = line_setup,
	.open = line_open,
	.tx_get = line_tx_get,
	.tx_put = line_tx_put,
	.rx = line_rx,
	.rx_done = line_rx_done,
	.close = line_close,
};
BENCH_TRANSPORT(t_floor_line)

/* ---- floor-eventfd ------------------------------------------------------- */

struct efd_side {
	unsigned char *map, *tx_slot, *rx_slot;
	size_t maplen;
	int tx_efd, rx_efd;
	unsigned char *buf;
};

static size_t slot_len(size_t size)
{
	return (size + CACHELINE - 1) & ~(size_t)(CACHELINE - 1);
}

/* fds: memfd (slot A->B then slot B->A), doorbell A->B, doorbell B->A */
static int efd_setup(size_t size, int *fa, int *na, int *fb, int *nb)
{
	int fd, e, i;

	fd = tp_memfd(2 * slot_len(size));
	if (fd < 0)
		return fd;
	e = share_fd(fd, fa, na, fb, nb);
	if (e < 0)
		return e;
	for (i = 0; i < 2; i++) {
		fd = eventfd(0, EFD_CLOEXEC);
		if (fd < 0) {
			e = -errno;
			goto err;
		}
		e = share_fd(fd, fa, na, fb, nb);
		if (e < 0)
			goto err;
	}
	return 0;
err:
	tp_close_fds(fa, *na);
	tp_close_fds(fb, *nb);
	*na = *nb = 0;
	return e;
}

static int efd_open(struct side *s)
{
	struct efd_side *es;
	size_t sl = slot_len(s->size);
	int e;

	if (s->nfds != 3)
		return -EINVAL;
	es = calloc(1, sizeof(*es));
	if (!es)
		return -ENOMEM;
	es->buf = tp_alloc(s->size, 1);
	if (!es->buf) {
		e = -ENOMEM;
		goto err;
	}
	es->maplen = 2 * sl;
	es->map = tp_map(s->fds[0], es->maplen);
	if (!es->map) {
		e = -errno;
		goto err;
	}
	es->tx_slot = es->map + (s->role == 'A' ? 0 : sl);
	es->rx_slot = es->map + (s->role == 'A' ? sl : 0);
	es->tx_efd = s->fds[s->role == 'A' ? 1 : 2];
	es->rx_efd = s->fds[s->role == 'A' ? 2 : 1];
	s->priv = es;
	return 0;
err:
	free(es->buf);
	free(es);
	return e;
}

static int efd_tx_get(struct side *s, unsigned want, void **base,
		      size_t *stride)
{
	struct efd_side *es = s->priv;

	*base = es->buf;
	*stride = s->size;
	return 1;
}

static int efd_tx_put(struct side *s, unsigned n)
{
	struct efd_side *es = s->priv;
	uint64_t one = 1;

	memcpy(es->tx_slot, es->buf, s->size);
	/* the write() system call orders the slot before the doorbell */
	return tp_write_all(es->tx_efd, &one, sizeof(one));
}

static int efd_rx(struct side *s, unsigned max, const void **base,
		  size_t *stride)
{
	struct efd_side *es = s->priv;
	uint64_t v;
	int e = tp_read_all(es->rx_efd, &v, sizeof(v));

	if (e < 0)
		return e;
	if (v != 1)
		return -EPROTO; /* one message in flight: one ring per read */
	memcpy(es->buf, es->rx_slot, s->size);
	*base = es->buf;
	*stride = s->size;
	return 1;
}

static void efd_close(struct side *s)
{
	struct efd_side *es = s->priv;

	if (!es)
		return;
	munmap(es->map, es->maplen);
	free(es->buf);
	free(es);
	s->priv = NULL;
}

static const struct transport t_floor_eventfd = {
	.name = "floor-eventfd",
	.desc = "a shared slot and an eventfd doorbell per direction, the "
		"receiver sleeping in read() (the floor for sleeping)",
	.order = 11,
	.flags = T_SLEEP | T_NO_TPUT,
	.setup = efd_setup,
	.open = efd_open,
	.tx_get = efd_tx_get,
	.tx_put = efd_tx_put,
	.rx = efd_rx,
	.rx_done = line_rx_done,
	.close = efd_close,
};
BENCH_TRANSPORT(t_floor_eventfd)

/* ---- floor-ring ---------------------------------------------------------- */

/*
 * The least a copying ring can do, the floor for ipcq-batch: per direction
 * a tail and a head on lines of their own and slots of exactly the message
 * size (rounded to 8 bytes, so a 64-byte message is one line), no per-slot
 * word, no checks of the peer. The sender copies a batch from its buffer into
 * the slots (one memcpy per run up to the wrap) and publishes tail once; the
 * receiver reloads tail only when it has read all it knew, copies a run out
 * (one memcpy) and releases head once. Each side caches the other's index.
 * Same copies as ipcq-batch (in from a private buffer, out to one), so the
 * ratio ipcq-batch / floor-ring is what the ring's own work costs.
 * Throughput only.
 */
struct fring {
	_Atomic uint64_t tail;
	unsigned char pad0[2 * CACHELINE - 8];
	_Atomic uint64_t head;
	unsigned char pad1[2 * CACHELINE - 8];
	/* slots follow */
};
_Static_assert(sizeof(struct fring) == 4 * CACHELINE, "two line pairs");

struct fring_side {
	unsigned char *map, *txbuf, *rxbuf;
	size_t maplen, stride;
	struct fring *tx, *rx;
	uint64_t tail, head_seen; /* tx: mine, the peer's last seen */
	uint64_t head, tail_seen; /* rx: mine, the peer's last seen */
	uint32_t cap;
};

static size_t fring_stride(size_t size)
{
	return (size + 7) & ~(size_t)7;
}

static size_t fring_len(size_t size)
{
	size_t l = sizeof(struct fring) +
		   fring_stride(size) * bench_ring_capacity(size);

	return (l + 4095) & ~(size_t)4095;
}

static int fring_setup(size_t size, int *fa, int *na, int *fb, int *nb)
{
	int fd = tp_memfd(2 * fring_len(size));

	if (fd < 0)
		return fd;
	return share_fd(fd, fa, na, fb, nb);
}

static void fring_close(struct side *s)
{
	struct fring_side *fs = s->priv;

	if (!fs)
		return;
	if (fs->map)
		munmap(fs->map, fs->maplen);
	free(fs->txbuf);
	free(fs->rxbuf);
	free(fs);
	s->priv = NULL;
}

static int fring_open(struct side *s)
{
	struct fring_side *fs;
	size_t rl = fring_len(s->size);
	struct fring *ab, *ba;

	if (s->nfds != 1)
		return -EINVAL;
	fs = calloc(1, sizeof(*fs));
	if (!fs)
		return -ENOMEM;
	s->priv = fs;
	fs->txbuf = tp_alloc(s->size, s->batch);
	fs->rxbuf = tp_alloc(s->size, s->batch);
	fs->maplen = 2 * rl;
	fs->map = tp_map(s->fds[0], fs->maplen);
	if (!fs->txbuf || !fs->rxbuf || !fs->map) {
		int e = fs->map ? -ENOMEM : -errno;

		fs->map = NULL;
		fring_close(s);
		return e;
	}
	ab = (struct fring *)fs->map;
	ba = (struct fring *)(fs->map + rl);
	fs->tx = s->role == 'A' ? ab : ba;
	fs->rx = s->role == 'A' ? ba : ab;
	fs->stride = fring_stride(s->size);
	fs->cap = bench_ring_capacity(s->size);
	return 0;
}

static unsigned char *fring_slot(struct fring_side *fs, struct fring *r,
				 uint64_t i)
{
	return (unsigned char *)(r + 1) + (size_t)(i & (fs->cap - 1)) * fs->stride;
}

static int fring_tx_get(struct side *s, unsigned want, void **base,
			size_t *stride)
{
	struct fring_side *fs = s->priv;

	*base = fs->txbuf;
	*stride = s->size;
	return (int)want;
}

/* Copy n messages of src (s->size apart) to the slots from index i: one
 * memcpy per run when the slots are exactly the message size. */
static void fring_copy_in(struct fring_side *fs, size_t size, uint64_t i,
			  const unsigned char *src, unsigned n)
{
	while (n) {
		unsigned run = fs->cap - (unsigned)(i & (fs->cap - 1));

		if (run > n)
			run = n;
		if (fs->stride == size) {
			memcpy(fring_slot(fs, fs->tx, i), src, (size_t)run * size);
		} else {
			for (unsigned k = 0; k < run; k++)
				memcpy(fring_slot(fs, fs->tx, i + k),
				       src + (size_t)k * size, size);
		}
		i += run;
		src += (size_t)run * size;
		n -= run;
	}
}

static int fring_tx_put(struct side *s, unsigned n)
{
	struct fring_side *fs = s->priv;
	const unsigned char *src = fs->txbuf;

	while (n) {
		uint64_t room = fs->cap - (fs->tail - fs->head_seen);
		unsigned k;

		if (room == 0) {
			/* pairs with the release store of head in fring_rx */
			fs->head_seen = atomic_load_explicit(
				&fs->tx->head, memory_order_acquire);
			if (fs->tail - fs->head_seen == fs->cap)
				cpu_relax();
			continue;
		}
		k = room < n ? (unsigned)room : n;
		fring_copy_in(fs, s->size, fs->tail, src, k);
		fs->tail += k;
		/* pairs with the acquire load of tail in fring_rx */
		atomic_store_explicit(&fs->tx->tail, fs->tail,
				      memory_order_release);
		src += (size_t)k * s->size;
		n -= k;
	}
	return 0;
}

static int fring_rx(struct side *s, unsigned max, const void **base,
		    size_t *stride)
{
	struct fring_side *fs = s->priv;
	unsigned char *dst = fs->rxbuf;
	uint64_t avail;
	unsigned n, left;

	while ((avail = fs->tail_seen - fs->head) == 0) {
		/* pairs with the release store of tail in fring_tx_put */
		fs->tail_seen = atomic_load_explicit(&fs->rx->tail,
						     memory_order_acquire);
		if (fs->tail_seen == fs->head)
			cpu_relax();
	}
	n = avail < max ? (unsigned)avail : max;
	for (left = n; left;) {
		unsigned run = fs->cap - (unsigned)(fs->head & (fs->cap - 1));

		if (run > left)
			run = left;
		if (fs->stride == s->size) {
			memcpy(dst, fring_slot(fs, fs->rx, fs->head),
			       (size_t)run * s->size);
		} else {
			for (unsigned k = 0; k < run; k++)
				memcpy(dst + (size_t)k * s->size,
				       fring_slot(fs, fs->rx, fs->head + k),
				       s->size);
		}
		fs->head += run;
		dst += (size_t)run * s->size;
		left -= run;
	}
	/* pairs with the acquire load of head in fring_tx_put: the copies
	 * out are done before the sender may reuse the slots */
	atomic_store_explicit(&fs->rx->head, fs->head, memory_order_release);
	*base = fs->rxbuf;
	*stride = s->size;
	return (int)n;
}

static const struct transport t_floor_ring = {
	.name = "floor-ring",
	.desc = "a bare copying ring, tail published once per batch, no "
		"per-slot word (the floor for ipcq-batch; throughput only)",
	.order = 12,
	.flags = T_SPIN | T_BATCH | T_NO_RTT,
	.supported = NULL,
	.setup = fring_setup,
	.open = fring_open,
	.tx_get = fring_tx_get,
	.tx_put = fring_tx_put,
	.rx = fring_rx,
	.rx_done = line_rx_done,
	.close = fring_close,
};
BENCH_TRANSPORT(t_floor_ring)

/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: one side of a ring whose peer is the fuzzer.
 *
 * A valid header is laid out (the attach validator has its own target),
 * then the input sets both indices and runs a program of operations: the
 * side under test pops, receives, peeks and releases (consumer) or pushes,
 * sends, reserves and commits (producer), while the "peer" rewrites any
 * byte past the header, publishes slots with lengths of its choosing and
 * moves its index. Every call must return a documented value (data, 0,
 * -EAGAIN, -EBADMSG, -EMSGSIZE, -EINVAL for the wrong role), never crash,
 * never read or write outside the mapping (it is surrounded by guard
 * pages) and never hand out a length above elem_size or a pointer outside
 * the slots.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "fuzz-input.h"
#include "../queue/ipcq-private.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_ELEM 256
#define MAX_CAP 64

static uint8_t *guarded_map(size_t len, size_t *span)
{
	/* one PROT_NONE page on each side of the ring */
	size_t total = len + 2 * IPCQ_PAGE;
	uint8_t *p = mmap(NULL, total, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS,
			  -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	if (mprotect(p + IPCQ_PAGE, len, PROT_READ | PROT_WRITE) < 0) {
		munmap(p, total);
		return NULL;
	}
	*span = total;
	return p + IPCQ_PAGE;
}

/* FZ_TRACE=1 in the environment: print each operation and result, to
 * read what a crashing input did. */
static int tracing(void)
{
	static int on = -1;

	if (on < 0)
		on = getenv("FZ_TRACE") != NULL;
	return on;
}

static void check_ret(long r)
{
	if (tracing())
		fprintf(stderr, "ret %ld\n", r);
	FZ_MUST(r >= 0 || r == -EAGAIN || r == -EBADMSG || r == -EMSGSIZE ||
		r == -EINVAL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t buf[MAX_CAP * MAX_ELEM];
	static uint32_t lens[MAX_CAP];
	struct fz_in in = { data, size, 0 };
	struct ipcq_config cfg;
	struct ipcq_geom g;
	struct ipcq *q = NULL;
	struct ipcq_shm *shm;
	enum ipcq_role role;
	uint8_t *map, *slots;
	size_t span = 0;
	uint64_t first;
	long r;

	memset(&cfg, 0, sizeof(cfg));
	cfg.elem_size = fz_elem_sizes[fz_take(&in, 1) % FZ_NELEM];
	cfg.capacity = 2u << (fz_take(&in, 1) % 6);
	role = (fz_take(&in, 1) & 1) ? IPCQ_PRODUCER : IPCQ_CONSUMER;
	(void)fz_take(&in, 1);
	first = fz_take(&in, 8);
	cfg.first_index = first;

	ipcq_geom_of(&cfg, &g);
	map = guarded_map((size_t)g.lay.total, &span);
	if (!map)
		return 0;
	shm = (struct ipcq_shm *)(void *)map;
	ipcq_init_shm(shm, &g);
	slots = map + g.lay.data_off; /* the payloads' span */

	/* the peer's opening move: wherever it likes the indices to be */
	shm->cons.index = first + fz_take(&in, 4);
	shm->prod.index = first + fz_take(&in, 4);

	r = ipcq_new(&q, map, &g, role);
	check_ret(r);
	if (r < 0)
		goto out;
	/* ipcq_new took the mapping; we unmap the guards ourselves */
	q->shm = NULL;

	while (in.off < in.n) {
		unsigned op = (unsigned)fz_take(&in, 1) % FZ_OP_COUNT;
		const void *first_slot = NULL;
		void *wslot = NULL;

		if (tracing())
			fprintf(stderr, "op %u idx %llu cache %llu pend %u\n", op,
				(unsigned long long)q->idx,
				(unsigned long long)q->peer_cache, q->pending);
		switch (op) {
		case FZ_OP_POP:
			check_ret(ipcq_pop(q, buf));
			break;
		case FZ_OP_RECV: {
			size_t cap = (size_t)fz_take(&in, 1);

			r = ipcq_recv(q, buf, cap);
			check_ret(r);
			FZ_MUST(r <= (long)cap && r <= (long)g.elem_size);
			break;
		}
		case FZ_OP_POP_N: {
			unsigned n = (unsigned)fz_take(&in, 1) % (MAX_CAP + 1);

			r = ipcq_pop_n(q, buf, n);
			check_ret(r);
			FZ_MUST(r <= (long)n);
			break;
		}
		case FZ_OP_PEEK: {
			unsigned want = (unsigned)fz_take(&in, 1) % (MAX_CAP + 1);
			unsigned rel = (unsigned)fz_take(&in, 1);

			memset(lens, 0xff, sizeof(lens));
			r = ipcq_peek(q, want, &first_slot, lens);
			check_ret(r);
			if (r > 0) {
				const uint8_t *fp = first_slot;

				FZ_MUST(r <= (long)want && fp >= slots);
				FZ_MUST(fp + (size_t)(r - 1) * g.lay.stride +
						g.elem_size <=
					map + g.lay.total);
				for (long k = 0; k < r; k++) {
					FZ_MUST(lens[k] <= g.elem_size);
					/* the payload is readable in place */
					memcpy(buf, fp + k * g.lay.stride, lens[k]);
				}
			}
			check_ret(ipcq_release(q, rel % (MAX_CAP + 1)));
			break;
		}
		case FZ_OP_POKE: {
			size_t off = (size_t)fz_take(&in, 2);
			size_t len = (size_t)fz_take(&in, 1);
			size_t room = (size_t)g.lay.total - sizeof(struct ipcq_hdr);

			off = sizeof(struct ipcq_hdr) + off % room;
			for (size_t i = 0; i < len && off + i < g.lay.total; i++)
				map[off + i] = (uint8_t)fz_take(&in, 1);
			break;
		}
		case FZ_OP_PUBLISH: {
			uint64_t i = shm->cons.index + fz_take(&in, 1) % MAX_CAP;
			uint32_t len = (uint32_t)fz_take(&in, 4);
			struct ipcq_slot *s =
				ipcq_words_at(map, &g.lay, i & (g.capacity - 1));

			/* mostly plausible lengths, sometimes any */
			if (!(len & 0x80000000u))
				len %= g.elem_size + 1;
			s->len = len;
			s->seq = (uint32_t)(i + 1);
			if (i + 1 - shm->prod.index <= MAX_CAP)
				shm->prod.index = i + 1;
			break;
		}
		case FZ_OP_PUSH: {
			size_t len = (size_t)fz_take(&in, 1);

			memset(buf, (int)len, sizeof(buf));
			if (len % 3 == 0) {
				check_ret(ipcq_send(q, buf, len));
			} else if (len % 3 == 1) {
				check_ret(ipcq_push(q, buf));
			} else {
				unsigned n = (unsigned)len % MAX_CAP + 1;

				r = ipcq_push_n(q, buf, n);
				check_ret(r);
				FZ_MUST(r <= (long)n);
			}
			break;
		}
		case FZ_OP_RESERVE: {
			unsigned want = (unsigned)fz_take(&in, 1) % (MAX_CAP + 1);
			unsigned commit = (unsigned)fz_take(&in, 1);

			r = ipcq_reserve(q, want, &wslot);
			check_ret(r);
			if (r > 0) {
				uint8_t *wp = wslot;

				FZ_MUST(r <= (long)want && wp >= slots);
				FZ_MUST(wp + (size_t)(r - 1) * g.lay.stride +
						g.elem_size <=
					map + g.lay.total);
				for (long k = 0; k < r; k++)
					memset(wp + k * g.lay.stride, 0x5a,
					       g.elem_size);
			}
			if (commit & 0x80)
				check_ret(ipcq_commit_len(q, commit & 0x7f));
			else
				check_ret(ipcq_commit(q, commit % (MAX_CAP + 1)));
			break;
		}
		case FZ_OP_CONSUME:
			shm->cons.index += fz_take(&in, 1) % (MAX_CAP + 1);
			break;
		case FZ_OP_READY:
			check_ret(ipcq_ready(q));
			FZ_MUST(ipcq_count(q) <= g.capacity);
			FZ_MUST(ipcq_free(q) <= g.capacity);
			break;
		}
		/* white box: the producer never counts more slots in use
		 * than the ring has, whatever the peer wrote */
		if (role == IPCQ_PRODUCER)
			FZ_MUST(q->idx - q->peer_cache <= g.capacity);
	}
	ipcq_close(q);
	q = NULL;
out:
	munmap(map - IPCQ_PAGE, span);
	return 0;
}

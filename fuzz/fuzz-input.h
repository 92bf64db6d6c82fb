/* SPDX-License-Identifier: MIT */
/*
 * How each fuzz target cuts its input into arguments. Shared by the targets
 * and by gen_corpus, which writes seeds in the same layout. Every field is
 * taken at a fixed offset; what is missing at the end reads as zero.
 */
#ifndef MEMENPSF_FUZZ_INPUT_H
#define MEMENPSF_FUZZ_INPUT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* An oracle of a target: when it does not hold, say which and crash so
 * that libFuzzer keeps the input. */
#define FZ_MUST(cond)                                                     \
	do {                                                              \
		if (!(cond)) {                                            \
			fprintf(stderr, "%s:%d: broken: %s\n", __FILE__,  \
				__LINE__, #cond);                         \
			abort();                                          \
		}                                                         \
	} while (0)

/* fuzz_wire: [nfds u8][msg_flags u8][message bytes ...] */
#define FZ_WIRE_PREFIX 2

/* fuzz_wire also plays a keyed server (for a JOIN) and a keyed client (for
 * a WELCOME) with this key, after this HELLO and (for WELCOME) this JOIN,
 * proved. Fixed, not drawn: the seeds gen_corpus proves must verify in
 * every build. */
static inline void fz_key(uint8_t key[32])
{
	for (int i = 0; i < 32; i++)
		key[i] = (uint8_t)(0xa0 + i);
}

static inline void fz_key_nonces(uint8_t sn[32], uint8_t cn[32])
{
	memset(sn, 0x5e, 32);
	memset(cn, 0xc1, 32);
}

/* fuzz_ipcq_header: a 36-byte prefix, then the 128 header bytes. */
#define FZ_HDR_SEALS 0   /* u32: what F_GET_SEALS said */
#define FZ_HDR_SIZE 4    /* u64: what fstat said */
#define FZ_HDR_EXPECT 12 /* u8: bit0 expect given, bit1 elem_size, bit2 type */
#define FZ_HDR_ELEM 16   /* u32: expect.elem_size */
#define FZ_HDR_TYPE 20   /* 16 bytes: expect.type_id */
#define FZ_HDR_PREFIX 36

/* fuzz_ipcq_ring: a 20-byte prefix, then operations until the input ends. */
#define FZ_RING_ELEM 0   /* u8: index into fz_elem_sizes */
#define FZ_RING_CAP 1    /* u8: capacity 2 << (v % 6) */
#define FZ_RING_ROLE 2   /* u8: bit0 set: producer */
#define FZ_RING_SPARE 3
#define FZ_RING_FIRST 4  /* u64: first index (wrap-around near the top) */
#define FZ_RING_HEAD 12  /* u32 added to first for the consumer's head */
#define FZ_RING_TAIL 16  /* u32 added to first for the producer's tail */
#define FZ_RING_PREFIX 20

/* Operations of fuzz_ipcq_ring, one byte each (value % FZ_OP_COUNT), then
 * their arguments. */
enum fz_op {
	FZ_OP_POP,      /* ipcq_pop */
	FZ_OP_RECV,     /* u8 cap: ipcq_recv */
	FZ_OP_POP_N,    /* u8 n: ipcq_pop_n */
	FZ_OP_PEEK,     /* u8 want, u8 release: ipcq_peek, ipcq_release */
	FZ_OP_POKE,     /* u16 offset, u8 len, bytes: the peer writes the
			 * mapping anywhere past the header (offset % size) */
	FZ_OP_PUBLISH,  /* u8 slot, u32 len: the peer publishes slot
			 * (head + slot) with this length and moves tail */
	FZ_OP_PUSH,     /* u8 v: v % 3: 0 ipcq_send of v bytes, 1 ipcq_push,
			 * 2 ipcq_push_n of v % 64 + 1 */
	FZ_OP_RESERVE,  /* u8 want, u8 commit: ipcq_reserve, ipcq_commit */
	FZ_OP_CONSUME,  /* u8 n: the peer moves head on by n */
	FZ_OP_READY,    /* ipcq_ready, ipcq_count, ipcq_free */
	FZ_OP_COUNT
};

static const uint32_t fz_elem_sizes[] = { 1, 8, 13, 55, 56, 64, 100, 256 };
#define FZ_NELEM (sizeof(fz_elem_sizes) / sizeof(fz_elem_sizes[0]))

/* A cursor over the input: reads past the end give zeros. */
struct fz_in {
	const uint8_t *p;
	size_t n, off;
};

static inline uint64_t fz_take(struct fz_in *in, unsigned bytes)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < bytes; i++, in->off++)
		if (in->off < in->n)
			v |= (uint64_t)in->p[in->off] << (8 * i);
	return v;
}

static inline void fz_put(uint8_t *p, uint64_t v, unsigned bytes)
{
	for (unsigned i = 0; i < bytes; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

#endif /* MEMENPSF_FUZZ_INPUT_H */

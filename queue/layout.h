/* SPDX-License-Identifier: MIT */
/*
 * The shared-memory layout of a ring, version 2. Private: never installed.
 *
 * Every field is fixed-width, every offset is asserted below, and nothing in
 * shared memory is a pointer. The memory belongs to two processes that do not
 * trust each other: each side copies the header into a local once, checks it
 * (ipcq_check_header) and from then on uses only its private copy of the
 * geometry. Indices read later are range-checked at every use.
 *
 *   offset  size  what
 *   0       128   struct ipcq_hdr: immutable after creation
 *   128     128   producer's line: tail, pid, start time
 *   256     128   consumer's line: head, pid, start time
 *   384     128   consumer's sleep line: asleep flag, futex bell
 *   512     128   producer's sleep line: asleep flag, futex bell
 *   640     3456  reserved for later modes (multi-producer, cursors); zero
 *   4096    ...   the slots, page-rounded (see ipcq_layout_of)
 *
 * Each slot has two words, { u32 seq; u32 len; }, and elem_size payload
 * bytes. Where they live depends on the element size alone (ipcq_split):
 *
 *  - "inline": the words, then the payload, stride apart (words + payload
 *    rounded up to 8 bytes, and to whole lines from 56 payload bytes on, so
 *    a slot never shares a line with its neighbour): a message is as few
 *    lines as its bytes allow, words and all, and a spinning consumer
 *    waits for those lines only. Elements up to 56 bytes, and those up to
 *    255 whose last line has room for the 8 bytes of words.
 *  - "split": the words of all slots in an array of their own (8 bytes
 *    each, neighbours on different lines: ipcq_words_pos; page-rounded),
 *    then the payloads packed at the element size
 *    rounded up to 8, from a page boundary. For an element whose words
 *    would spill into one more line (57-64 bytes, 121-128, ...) and for
 *    every element from 256 bytes on: a 64-byte element is one line, not
 *    the two a 72-byte inline slot takes, big payloads stay aligned, and a
 *    batch of payloads is one contiguous run to copy.
 *
 * The slot of index i is published when seq == (u32)(i + 1); at creation the
 * slot of index i (first <= i < first + capacity) holds (u32)(i + 1 - cap),
 * which no index of the first lap can mistake for published.
 */
#ifndef IPCQ_LAYOUT_H
#define IPCQ_LAYOUT_H

#include <stddef.h>
#include <stdint.h>

#define IPCQ_MAGIC UINT64_C(0x3151435049454d4d) /* "MMEIPCQ1" little-endian */
#define IPCQ_LAYOUT_VERSION 2u
#define IPCQ_MODE_SPSC 0u
#define IPCQ_PAGE 4096u
#define IPCQ_LINE_PAIR 128u
#define IPCQ_SLOT_HDR 8u   /* a slot's words: seq, len */

struct ipcq_hdr {
	uint64_t magic;       /* IPCQ_MAGIC */
	uint32_t version;     /* IPCQ_LAYOUT_VERSION */
	uint32_t mode;        /* IPCQ_MODE_SPSC; others reserved */
	uint32_t elem_size;   /* payload bytes per slot */
	uint32_t stride;      /* from one slot's payload to the next */
	uint32_t capacity;    /* power of two */
	uint32_t flags;       /* 0 in version 2 */
	uint8_t type_id[16];  /* all zero: untyped */
	uint64_t total_size;  /* bytes of the whole mapping */
	uint64_t data_off;    /* slot 0's payload */
	uint64_t first_index; /* where the indices started */
	uint64_t words_off;   /* slot 0's words */
	uint32_t words_stride; /* from one slot's words to the next */
	uint32_t pad0;
	uint8_t pad[40];
};

/* One side's index line. Written only by its owner. */
struct ipcq_side_line {
	uint64_t index;      /* tail (producer) / head (consumer) */
	int32_t pid;         /* path rings: the attached process, 0: none */
	uint32_t pad0;
	uint64_t start_time; /* field 22 of /proc/PID/stat, 0: being claimed */
	uint8_t pad[IPCQ_LINE_PAIR - 24];
};

/* One side's sleep line. asleep is set by its owner when it arms
 * (IPCQ_ASLEEP: it sleeps on its doorbell socket, or on the futex bell of
 * a path ring; IPCQ_ASLEEP_FUTEX: it sleeps on the futex bell of a memfd
 * ring, inside ipcq_wait), 0 when it disarms, and turned to IPCQ_RUNG by
 * the peer that rang it (once per sleep); bell is bumped by the peer and
 * futex-waited by the owner; caps is written by the owner (when it
 * attaches, and when its spin setting moves to or from 0):
 * IPCQ_CAP_MEMBARRIER says it raises its flag with a membarrier(2) that
 * fences every registered process, so a registered waker may leave out its
 * own fence (ring.c, wake_peer); IPCQ_CAP_REGISTERED says its process is
 * registered, so it may leave out its own fence when waking a peer that
 * says the former; IPCQ_CAP_FUTEX says it wakes a peer flagged
 * IPCQ_ASLEEP_FUTEX by its futex bell, so that peer may sleep there (a
 * side without it would ring the socket: its peer sleeps on that). Version
 * 2 rings made before caps existed hold 0 there: every waker fences, every
 * sleeper sleeps on its socket. */
#define IPCQ_ASLEEP 1u
#define IPCQ_RUNG 2u
#define IPCQ_ASLEEP_FUTEX 3u
#define IPCQ_CAP_MEMBARRIER 1u
#define IPCQ_CAP_REGISTERED 2u
#define IPCQ_CAP_FUTEX 4u
struct ipcq_sleep_line {
	uint32_t asleep;
	uint32_t bell;
	uint32_t caps;
	uint8_t pad[IPCQ_LINE_PAIR - 12];
};

struct ipcq_shm {
	struct ipcq_hdr hdr;
	struct ipcq_side_line prod;
	struct ipcq_side_line cons;
	struct ipcq_sleep_line cons_sleep;
	struct ipcq_sleep_line prod_sleep;
	uint8_t reserved[IPCQ_PAGE - 5 * IPCQ_LINE_PAIR];
};

struct ipcq_slot {
	uint32_t seq;
	uint32_t len;
	/* payload follows */
};

_Static_assert(sizeof(struct ipcq_hdr) == 128, "header size");
_Static_assert(offsetof(struct ipcq_hdr, magic) == 0, "magic");
_Static_assert(offsetof(struct ipcq_hdr, version) == 8, "version");
_Static_assert(offsetof(struct ipcq_hdr, mode) == 12, "mode");
_Static_assert(offsetof(struct ipcq_hdr, elem_size) == 16, "elem_size");
_Static_assert(offsetof(struct ipcq_hdr, stride) == 20, "stride");
_Static_assert(offsetof(struct ipcq_hdr, capacity) == 24, "capacity");
_Static_assert(offsetof(struct ipcq_hdr, flags) == 28, "flags");
_Static_assert(offsetof(struct ipcq_hdr, type_id) == 32, "type_id");
_Static_assert(offsetof(struct ipcq_hdr, total_size) == 48, "total_size");
_Static_assert(offsetof(struct ipcq_hdr, data_off) == 56, "data_off");
_Static_assert(offsetof(struct ipcq_hdr, first_index) == 64, "first_index");
_Static_assert(offsetof(struct ipcq_hdr, words_off) == 72, "words_off");
_Static_assert(offsetof(struct ipcq_hdr, words_stride) == 80, "words_stride");
_Static_assert(sizeof(struct ipcq_side_line) == IPCQ_LINE_PAIR, "side line");
_Static_assert(offsetof(struct ipcq_side_line, pid) == 8, "pid");
_Static_assert(offsetof(struct ipcq_side_line, start_time) == 16, "start");
_Static_assert(sizeof(struct ipcq_sleep_line) == IPCQ_LINE_PAIR, "sleep line");
_Static_assert(offsetof(struct ipcq_sleep_line, bell) == 4, "bell");
_Static_assert(offsetof(struct ipcq_sleep_line, caps) == 8, "caps");
_Static_assert(offsetof(struct ipcq_shm, prod) == 128, "producer line");
_Static_assert(offsetof(struct ipcq_shm, cons) == 256, "consumer line");
_Static_assert(offsetof(struct ipcq_shm, cons_sleep) == 384, "cons sleep");
_Static_assert(offsetof(struct ipcq_shm, prod_sleep) == 512, "prod sleep");
_Static_assert(offsetof(struct ipcq_shm, reserved) == 640, "reserved");
_Static_assert(sizeof(struct ipcq_shm) == IPCQ_PAGE, "header page");
_Static_assert(sizeof(struct ipcq_slot) == IPCQ_SLOT_HDR, "slot header");

/* Where a ring's slots live: everything follows from the element size and
 * the capacity, so a reader recomputes it and compares, never trusts it. */
struct ipcq_layout {
	uint32_t stride;       /* payload to payload */
	uint32_t words_stride; /* words to words (IPCQ_SLOT_HDR: split) */
	uint32_t words_shift;  /* split: see ipcq_words_pos */
	uint64_t words_off;    /* slot 0's words */
	uint64_t data_off;     /* slot 0's payload */
	uint64_t total;        /* bytes of the whole mapping */
};

static inline uint64_t ipcq_page_up(uint64_t n)
{
	return (n + IPCQ_PAGE - 1) & ~(uint64_t)(IPCQ_PAGE - 1);
}

/* Non-zero when slots of elem_size bytes keep their words apart from their
 * payloads: where inline words would cost one more line per slot, and for
 * every element of 256 bytes or more. */
static inline int ipcq_split(uint32_t elem_size)
{
	if (elem_size <= 56)
		return 0;
	if (elem_size >= 256)
		return 1;
	return (IPCQ_SLOT_HDR + elem_size + 63u) / 64u > (elem_size + 63u) / 64u;
}

/* Split rings: where slot k's words sit in their array, k in [0, capacity).
 * Slots k and k + 1 never share a line of words (from 64 slots on): the
 * eight words of a line belong to slots 8 apart; (k & 7) picks one of eight
 * groups of capacity / 8 words, k >> 3 the place in it. So a producer
 * publishing slot k + 1 does not take back the line a consumer is reading
 * slot k's words from (one element at a time, words packed in slot order
 * made 64-byte pushes about 40% slower than version 1's inline slots; in
 * this order about 15%), while a batch of 32 still finds its words in 8
 * lines. shift is log2(capacity / 8), or 0 below 8 slots, where the map is
 * the identity. */
static inline uint64_t ipcq_words_pos(uint64_t k, uint32_t shift)
{
	return ((k & 7u) << shift) | (k >> 3);
}

/* The layout of a valid geometry (elem_size <= IPCQ_MAX_ELEM_SIZE, capacity
 * <= IPCQ_MAX_CAPACITY): no overflow in 64 bits. */
static inline void ipcq_layout_of(uint32_t elem_size, uint32_t capacity,
				  struct ipcq_layout *l)
{
	if (!ipcq_split(elem_size)) {
		l->stride = (IPCQ_SLOT_HDR + elem_size + 7u) & ~7u;
		if (elem_size >= 56)
			l->stride = (l->stride + 63u) & ~63u;
		l->words_stride = l->stride;
		l->words_shift = 0;
		l->words_off = IPCQ_PAGE;
		l->data_off = IPCQ_PAGE + IPCQ_SLOT_HDR;
		l->total = IPCQ_PAGE + ipcq_page_up((uint64_t)capacity * l->stride);
	} else {
		l->stride = (elem_size + 7u) & ~7u;
		l->words_stride = IPCQ_SLOT_HDR;
		l->words_shift = 0;
		while ((8u << l->words_shift) < capacity)
			l->words_shift++;
		l->words_off = IPCQ_PAGE;
		l->data_off = IPCQ_PAGE +
			      ipcq_page_up((uint64_t)capacity * IPCQ_SLOT_HDR);
		l->total = l->data_off +
			   ipcq_page_up((uint64_t)capacity * l->stride);
	}
}

/* Slot i's words and payload in a mapping at base laid out as l (i taken
 * modulo capacity by the caller's mask). */
static inline struct ipcq_slot *ipcq_words_at(void *base,
					      const struct ipcq_layout *l,
					      uint64_t k)
{
	if (l->words_stride == IPCQ_SLOT_HDR)
		k = ipcq_words_pos(k, l->words_shift);
	return (struct ipcq_slot *)((uint8_t *)base + l->words_off +
				    k * l->words_stride);
}

static inline uint8_t *ipcq_data_at(void *base, const struct ipcq_layout *l,
				    uint64_t k)
{
	return (uint8_t *)base + l->data_off + k * l->stride;
}

#endif /* IPCQ_LAYOUT_H */

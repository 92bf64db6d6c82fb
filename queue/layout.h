/* SPDX-License-Identifier: MIT */
/*
 * The shared-memory layout of a ring, version 1. Private: never installed.
 *
 * Every field is fixed-width, every offset is asserted below, and nothing in
 * shared memory is a pointer. The memory belongs to two processes that do not
 * trust each other: each side copies the header into a local once, checks it
 * (ipcq_layout_check) and from then on uses only its private copy of the
 * geometry. Indices read later are range-checked at every use.
 *
 *   offset  size  what
 *   0       128   struct ipcq_hdr: immutable after creation
 *   128     128   producer's line: tail, pid, start time
 *   256     128   consumer's line: head, pid, start time
 *   384     128   consumer's sleep line: asleep flag, futex bell
 *   512     128   producer's sleep line: asleep flag, futex bell
 *   640     3456  reserved for later modes (multi-producer, cursors); zero
 *   4096    ...   slots: capacity * stride, rounded up to a page
 *
 * A slot is { u32 seq; u32 len; } then elem_size payload bytes, stride apart.
 * The slot of index i is published when seq == (u32)(i + 1); at creation the
 * slot of index i (first <= i < first + capacity) holds (u32)(i + 1 - cap),
 * which no index of the first lap can mistake for published.
 */
#ifndef IPCQ_LAYOUT_H
#define IPCQ_LAYOUT_H

#include <stddef.h>
#include <stdint.h>

#define IPCQ_MAGIC UINT64_C(0x3151435049454d4d) /* "MMEIPCQ1" little-endian */
#define IPCQ_LAYOUT_VERSION 1u
#define IPCQ_MODE_SPSC 0u
#define IPCQ_PAGE 4096u
#define IPCQ_LINE_PAIR 128u
#define IPCQ_SLOT_HDR 8u

struct ipcq_hdr {
	uint64_t magic;       /* IPCQ_MAGIC */
	uint32_t version;     /* IPCQ_LAYOUT_VERSION */
	uint32_t mode;        /* IPCQ_MODE_SPSC; others reserved */
	uint32_t elem_size;   /* payload bytes per slot */
	uint32_t stride;      /* ipcq_stride_of(elem_size) */
	uint32_t capacity;    /* power of two */
	uint32_t flags;       /* 0 in version 1 */
	uint8_t type_id[16];  /* all zero: untyped */
	uint64_t total_size;  /* bytes of the whole mapping */
	uint64_t slots_off;   /* IPCQ_PAGE */
	uint64_t first_index; /* where the indices started */
	uint8_t pad[56];
};

/* One side's index line. Written only by its owner. */
struct ipcq_side_line {
	uint64_t index;      /* tail (producer) / head (consumer) */
	int32_t pid;         /* path rings: the attached process, 0: none */
	uint32_t pad0;
	uint64_t start_time; /* field 22 of /proc/PID/stat, 0: being claimed */
	uint8_t pad[IPCQ_LINE_PAIR - 24];
};

/* One side's sleep line. asleep is written by its owner, read by the peer;
 * bell (path rings) is bumped by the peer and futex-waited by the owner. */
struct ipcq_sleep_line {
	uint32_t asleep;
	uint32_t bell;
	uint8_t pad[IPCQ_LINE_PAIR - 8];
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
_Static_assert(offsetof(struct ipcq_hdr, slots_off) == 56, "slots_off");
_Static_assert(offsetof(struct ipcq_hdr, first_index) == 64, "first_index");
_Static_assert(sizeof(struct ipcq_side_line) == IPCQ_LINE_PAIR, "side line");
_Static_assert(offsetof(struct ipcq_side_line, pid) == 8, "pid");
_Static_assert(offsetof(struct ipcq_side_line, start_time) == 16, "start");
_Static_assert(sizeof(struct ipcq_sleep_line) == IPCQ_LINE_PAIR, "sleep line");
_Static_assert(offsetof(struct ipcq_sleep_line, bell) == 4, "bell");
_Static_assert(offsetof(struct ipcq_shm, prod) == 128, "producer line");
_Static_assert(offsetof(struct ipcq_shm, cons) == 256, "consumer line");
_Static_assert(offsetof(struct ipcq_shm, cons_sleep) == 384, "cons sleep");
_Static_assert(offsetof(struct ipcq_shm, prod_sleep) == 512, "prod sleep");
_Static_assert(offsetof(struct ipcq_shm, reserved) == 640, "reserved");
_Static_assert(sizeof(struct ipcq_shm) == IPCQ_PAGE, "header page");
_Static_assert(sizeof(struct ipcq_slot) == IPCQ_SLOT_HDR, "slot header");

/* Slot stride for an element size: header + payload rounded up to 8 bytes,
 * and to a whole cache line (64) from 56 payload bytes on, so a slot of a
 * line-sized element never shares a line with its neighbour. */
static inline uint32_t ipcq_stride_of(uint32_t elem_size)
{
	uint32_t s = (IPCQ_SLOT_HDR + elem_size + 7u) & ~7u;

	if (elem_size >= 56)
		s = (s + 63u) & ~63u;
	return s;
}

/* Total bytes of a ring's mapping. Fits in 64 bits for every valid
 * geometry (capacity <= 2^24, stride <= 2^25). */
static inline uint64_t ipcq_total_of(uint32_t stride, uint32_t capacity)
{
	uint64_t slots = (uint64_t)stride * capacity;

	return IPCQ_PAGE + ((slots + IPCQ_PAGE - 1) & ~(uint64_t)(IPCQ_PAGE - 1));
}

#endif /* IPCQ_LAYOUT_H */

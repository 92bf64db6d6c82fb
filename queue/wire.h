/* SPDX-License-Identifier: MIT */
/*
 * The message ipcq_share() sends and ipcq_accept() receives (libfdpass), with
 * its three descriptors: memfd, data doorbell, space doorbell. Fixed size,
 * little-endian, encoded and decoded byte by byte (no struct on the wire).
 *
 *   offset size field
 *   0      4    magic IPCQ_WIRE_MAGIC
 *   4      2    version IPCQ_WIRE_VERSION
 *   6      2    role the sender took (1 producer, 2 consumer)
 *   8      4    elem_size
 *   12     4    capacity
 *   16     8    total_size
 *   24     16   type id
 *   40          end
 */
#ifndef IPCQ_WIRE_H
#define IPCQ_WIRE_H

#include <stdint.h>
#include <string.h>

#define IPCQ_WIRE_MAGIC 0x53515049u /* "IPQS" */
#define IPCQ_WIRE_VERSION 1u
#define IPCQ_WIRE_SIZE 40u

struct ipcq_wire {
	uint32_t magic;
	uint16_t version, role;
	uint32_t elem_size, capacity;
	uint64_t total_size;
	uint8_t type_id[16];
};

static inline void wire_put(uint8_t *p, uint64_t v, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static inline uint64_t wire_get(const uint8_t *p, unsigned n)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < n; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

static inline void ipcq_wire_encode(uint8_t out[IPCQ_WIRE_SIZE],
				    const struct ipcq_wire *w)
{
	wire_put(out + 0, w->magic, 4);
	wire_put(out + 4, w->version, 2);
	wire_put(out + 6, w->role, 2);
	wire_put(out + 8, w->elem_size, 4);
	wire_put(out + 12, w->capacity, 4);
	wire_put(out + 16, w->total_size, 8);
	memcpy(out + 24, w->type_id, 16);
}

static inline void ipcq_wire_decode(struct ipcq_wire *w,
				    const uint8_t in[IPCQ_WIRE_SIZE])
{
	w->magic = (uint32_t)wire_get(in + 0, 4);
	w->version = (uint16_t)wire_get(in + 4, 2);
	w->role = (uint16_t)wire_get(in + 6, 2);
	w->elem_size = (uint32_t)wire_get(in + 8, 4);
	w->capacity = (uint32_t)wire_get(in + 12, 4);
	w->total_size = wire_get(in + 16, 8);
	memcpy(w->type_id, in + 24, 16);
}

#endif /* IPCQ_WIRE_H */

/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: the checks ipcq_attach() makes on a stranger's memfd
 * before it maps it (queue/create.c): the seals and size fstat reported,
 * then the 128 header bytes against the attacher's expectations.
 *
 * Input: see fuzz-input.h (seals, size, expectations, header). Besides
 * "no crash", whatever is accepted must be a geometry the ring code can
 * trust: a power-of-two capacity, the stride of the element size, slots
 * that fit in the file, a file exactly as big as the header says, and the
 * expectations met.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz-input.h"
#include "../queue/ipcq-private.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_in in = { data, size, 0 };
	uint8_t type_id[IPCQ_TYPE_ID_SIZE];
	struct ipcq_expect expect, *ex = NULL;
	struct ipcq_hdr h;
	struct ipcq_geom g;
	uint64_t file_size;
	unsigned mode;
	int seals, r;

	seals = (int)fz_take(&in, 4);
	file_size = fz_take(&in, 8);
	mode = (unsigned)fz_take(&in, 4);
	memset(&expect, 0, sizeof(expect));
	expect.elem_size = (uint32_t)fz_take(&in, 4);
	for (size_t i = 0; i < sizeof(type_id); i++)
		type_id[i] = (uint8_t)fz_take(&in, 1);
	if (mode & 1) {
		ex = &expect;
		if (!(mode & 2))
			expect.elem_size = 0;
		expect.type_id = (mode & 4) ? type_id : NULL;
	}
	/* the header as ipcq_attach has it: a private copy of the bytes */
	memset(&h, 0, sizeof(h));
	if (size > FZ_HDR_PREFIX)
		memcpy(&h, data + FZ_HDR_PREFIX,
		       size - FZ_HDR_PREFIX < sizeof(h) ? size - FZ_HDR_PREFIX
							: sizeof(h));

	r = ipcq_check_seals(seals, file_size);
	FZ_MUST(r == 0 || r == -EPERM || r == -EBADMSG);
	if (r < 0)
		return 0;
	FZ_MUST(file_size >= IPCQ_PAGE);

	memset(&g, 0xa5, sizeof(g));
	r = ipcq_check_header(&h, file_size, ex, &g);
	FZ_MUST(r == 0 || r == -EPROTO || r == -EBADMSG);
	if (r < 0)
		return 0;
	FZ_MUST(g.capacity >= 2 && g.capacity <= IPCQ_MAX_CAPACITY);
	FZ_MUST((g.capacity & (g.capacity - 1)) == 0);
	FZ_MUST(g.elem_size >= 1 && g.elem_size <= IPCQ_MAX_ELEM_SIZE);
	FZ_MUST(g.lay.stride >= g.elem_size && g.lay.stride % 8 == 0);
	FZ_MUST(g.lay.total == file_size);
	/* the words and the payloads fit in the file, past the header page,
	 * and apart from each other: nothing past its end is ever touched */
	FZ_MUST(g.lay.words_off >= IPCQ_PAGE && g.lay.data_off >= IPCQ_PAGE);
	FZ_MUST(g.lay.words_stride >= IPCQ_SLOT_HDR);
	FZ_MUST(g.lay.words_off + (uint64_t)(g.capacity - 1) * g.lay.words_stride +
			IPCQ_SLOT_HDR <= g.lay.total);
	FZ_MUST(g.lay.data_off + (uint64_t)(g.capacity - 1) * g.lay.stride +
			g.elem_size <= g.lay.total);
	if (g.lay.words_stride == IPCQ_SLOT_HDR) /* split: words, then data */
		FZ_MUST(g.lay.words_off + (uint64_t)g.capacity * IPCQ_SLOT_HDR <=
			g.lay.data_off);
	else /* inline: the payload right after its words */
		FZ_MUST(g.lay.words_stride == g.lay.stride &&
			g.lay.data_off == g.lay.words_off + IPCQ_SLOT_HDR &&
			g.lay.stride >= IPCQ_SLOT_HDR + g.elem_size);
	FZ_MUST(g.lay.total <= (uint64_t)SIZE_MAX / 2);
	FZ_MUST(!ex || !ex->elem_size || ex->elem_size == g.elem_size);
	FZ_MUST(!ex || !ex->type_id ||
		memcmp(ex->type_id, g.type_id, IPCQ_TYPE_ID_SIZE) == 0);
	FZ_MUST(memcmp(g.type_id, h.type_id, IPCQ_TYPE_ID_SIZE) == 0);
	FZ_MUST(g.first_index == h.first_index);
	return 0;
}

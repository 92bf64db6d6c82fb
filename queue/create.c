/* SPDX-License-Identifier: MIT */
/*
 * Creating a ring in a sealed memfd, attaching to one from its descriptors,
 * checking a header from a stranger, and closing.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "failpoints.h"
#include "ipcq-private.h"
#include "os-private.h"

#define REQUIRED_SEALS (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL)

static int is_pow2(uint32_t v)
{
	return v && !(v & (v - 1));
}

int ipcq_check_config(const struct ipcq_config *cfg)
{
	if (!cfg || cfg->elem_size == 0 || cfg->elem_size > IPCQ_MAX_ELEM_SIZE)
		return -EINVAL;
	if (cfg->capacity < 2 || cfg->capacity > IPCQ_MAX_CAPACITY ||
	    !is_pow2(cfg->capacity))
		return -EINVAL;
	if (ipcq_size_of(cfg->elem_size, cfg->capacity) > (uint64_t)SIZE_MAX / 2)
		return -EINVAL;
	return 0;
}

void ipcq_geom_of(const struct ipcq_config *cfg, struct ipcq_geom *g)
{
	g->elem_size = cfg->elem_size;
	g->capacity = cfg->capacity;
	g->first_index = cfg->first_index;
	ipcq_layout_of(cfg->elem_size, cfg->capacity, &g->lay);
	memcpy(g->type_id, cfg->type_id, IPCQ_TYPE_ID_SIZE);
}

uint64_t ipcq_size_of(uint32_t elem_size, uint32_t capacity)
{
	struct ipcq_layout l;

	if (elem_size == 0 || elem_size > IPCQ_MAX_ELEM_SIZE || capacity < 2 ||
	    capacity > IPCQ_MAX_CAPACITY || !is_pow2(capacity))
		return 0;
	ipcq_layout_of(elem_size, capacity, &l);
	return l.total;
}

void ipcq_init_shm(struct ipcq_shm *shm, const struct ipcq_geom *g)
{
	uint64_t i;

	/* The mapping is fresh and still private to us: plain stores. */
	memset(shm, 0, sizeof(*shm));
	shm->hdr.magic = IPCQ_MAGIC;
	shm->hdr.version = IPCQ_LAYOUT_VERSION;
	shm->hdr.mode = IPCQ_MODE_SPSC;
	shm->hdr.elem_size = g->elem_size;
	shm->hdr.stride = g->lay.stride;
	shm->hdr.capacity = g->capacity;
	shm->hdr.flags = 0;
	memcpy(shm->hdr.type_id, g->type_id, IPCQ_TYPE_ID_SIZE);
	shm->hdr.total_size = g->lay.total;
	shm->hdr.data_off = g->lay.data_off;
	shm->hdr.first_index = g->first_index;
	shm->hdr.words_off = g->lay.words_off;
	shm->hdr.words_stride = g->lay.words_stride;
	shm->prod.index = g->first_index;
	shm->cons.index = g->first_index;
	/* No slot of the first lap may look published: index i's slot starts
	 * at seq i + 1 - capacity, never i + 1. */
	for (i = g->first_index; i != g->first_index + g->capacity; i++) {
		struct ipcq_slot *s = ipcq_words_at(shm, &g->lay,
						    i & (g->capacity - 1));

		s->seq = (uint32_t)(i + 1 - g->capacity);
		s->len = 0;
	}
}

int ipcq_check_header(const struct ipcq_hdr *h, uint64_t file_size,
		      const struct ipcq_expect *expect, struct ipcq_geom *g)
{
	/* h is the caller's private copy: each field is read once here. */
	if (h->magic != IPCQ_MAGIC)
		return -EBADMSG;
	if (h->version != IPCQ_LAYOUT_VERSION || h->mode != IPCQ_MODE_SPSC ||
	    h->flags != 0)
		return -EPROTO;
	if (h->elem_size == 0 || h->elem_size > IPCQ_MAX_ELEM_SIZE)
		return -EBADMSG;
	if (h->capacity < 2 || h->capacity > IPCQ_MAX_CAPACITY ||
	    !is_pow2(h->capacity))
		return -EBADMSG;
	ipcq_layout_of(h->elem_size, h->capacity, &g->lay);
	if (g->lay.total > (uint64_t)SIZE_MAX / 2) /* as ipcq_check_config */
		return -EBADMSG;
	if (h->stride != g->lay.stride || h->data_off != g->lay.data_off ||
	    h->words_off != g->lay.words_off ||
	    h->words_stride != g->lay.words_stride ||
	    h->total_size != g->lay.total || h->total_size != file_size ||
	    h->pad0 != 0)
		return -EBADMSG;
	if (expect && expect->elem_size && expect->elem_size != h->elem_size)
		return -EPROTO;
	if (expect && expect->type_id &&
	    memcmp(expect->type_id, h->type_id, IPCQ_TYPE_ID_SIZE) != 0)
		return -EPROTO;
	g->elem_size = h->elem_size;
	g->capacity = h->capacity;
	g->first_index = h->first_index;
	memcpy(g->type_id, h->type_id, IPCQ_TYPE_ID_SIZE);
	return 0;
}

int ipcq_new(struct ipcq **out, void *map, const struct ipcq_geom *g,
	     enum ipcq_role role)
{
	struct ipcq_shm *shm = map;
	struct ipcq *q;
	uint64_t head, tail;

	/* Acquire: pair with the release stores of each side's index. */
	tail = __atomic_load_n(&shm->prod.index, __ATOMIC_ACQUIRE);
	head = __atomic_load_n(&shm->cons.index, __ATOMIC_ACQUIRE);
	/* A consumer may have popped slots published by seq past a tail its
	 * dead producer never stored: head ahead of tail by up to capacity
	 * is a lagging tail, and a producer resumes from head. */
	if (tail - head > g->capacity) {
		if (head - tail > g->capacity)
			return -EBADMSG;
		tail = head;
	}
	q = calloc(1, sizeof(*q));
	if (!q)
		return -ENOMEM;
	q->shm = shm;
	q->map_size = (size_t)g->lay.total;
	q->words = (uint8_t *)map + g->lay.words_off;
	q->data = (uint8_t *)map + g->lay.data_off;
	q->elem_size = g->elem_size;
	q->stride = g->lay.stride;
	q->words_stride = g->lay.words_stride;
	q->words_shift = g->lay.words_shift;
	q->packed = g->lay.stride == g->elem_size;
	q->capacity = g->capacity;
	q->mask = g->capacity - 1;
	q->role = role;
	memcpy(q->type_id, g->type_id, IPCQ_TYPE_ID_SIZE);
	q->memfd = q->efd_data = q->efd_space = -1;
	q->exp_data = q->exp_space = -1;
	q->my_efd = q->peer_efd = q->peer_fd = -1;
	q->spin = IPCQ_DEFAULT_SPIN;
	q->futex_ms = IPCQ_FUTEX_SLICE_MS;
	q->registered = (unsigned)os_membarrier_ready();
	q->light = q->registered;
	if (role == IPCQ_PRODUCER) {
		q->mine = &shm->prod;
		q->peer = &shm->cons;
		q->my_sleep = &shm->prod_sleep;
		q->peer_sleep = &shm->cons_sleep;
		q->idx = tail;
		q->peer_cache = head;
		/* Recovery: a producer that died between publishing seq and
		 * storing tail left published slots past tail; go past them
		 * so they are not written twice. */
		while (q->idx - head < q->capacity) {
			struct ipcq_slot *s = ipcq_words_at(shm, &g->lay,
							    q->idx & q->mask);

			/* Acquire: pairs with the release store of seq. */
			if (__atomic_load_n(&s->seq, __ATOMIC_ACQUIRE) !=
			    (uint32_t)(q->idx + 1))
				break;
			q->idx++;
		}
		if (q->idx != tail)
			/* Release: pairs with the consumer's acquire of tail. */
			__atomic_store_n(&q->mine->index, q->idx,
					 __ATOMIC_RELEASE);
	} else {
		q->mine = &shm->cons;
		q->peer = &shm->prod;
		q->my_sleep = &shm->cons_sleep;
		q->peer_sleep = &shm->prod_sleep;
		q->idx = head;
	}
	/* Before I can ever arm: from now on a peer that reads the bits may
	 * wake me without its fence, and I arm with a membarrier. */
	ipcq_store_caps(q);
	*out = q;
	return 0;
}

void ipcq_free_handle(struct ipcq *q)
{
	if (q->shm)
		munmap(q->shm, q->map_size);
	if (q->memfd >= 0)
		close(q->memfd);
	if (q->efd_data >= 0)
		close(q->efd_data);
	if (q->efd_space >= 0)
		close(q->efd_space);
	if (q->exp_data >= 0)
		close(q->exp_data);
	if (q->exp_space >= 0)
		close(q->exp_space);
	free(q);
}

static void set_doorbells(struct ipcq *q)
{
	q->my_efd = q->role == IPCQ_CONSUMER ? q->efd_data : q->efd_space;
	q->peer_efd = q->role == IPCQ_CONSUMER ? q->efd_space : q->efd_data;
}

static int check_role(enum ipcq_role role)
{
	return role == IPCQ_PRODUCER || role == IPCQ_CONSUMER ? 0 : -EINVAL;
}

int ipcq_create(struct ipcq **out, const struct ipcq_config *cfg,
		enum ipcq_role role)
{
	int memfd = -1, bell_data[2] = { -1, -1 }, bell_space[2] = { -1, -1 };
	struct ipcq_geom g;
	void *map = NULL;
	struct ipcq *q;
	uint64_t total;
	int r;

	if (!out)
		return -EINVAL;
	r = ipcq_check_config(cfg);
	if (r < 0 || check_role(role) < 0)
		return -EINVAL;
	ipcq_geom_of(cfg, &g);
	total = g.lay.total;

	r = memfd = os_memfd("ipcq");
	if (r < 0)
		goto err;
	FP_STEP("ipcq.create.after_memfd");
	r = os_truncate(memfd, total);
	if (r < 0)
		goto err;
	FP_STEP("ipcq.create.after_truncate");
	r = os_fallocate(memfd, total);
	if (r < 0)
		goto err;
	FP_STEP("ipcq.create.after_fallocate");
	r = os_map(memfd, (size_t)total, &map);
	if (r < 0)
		goto err;
	FP_STEP("ipcq.create.after_map");
	ipcq_init_shm(map, &g);
	FP_STEP("ipcq.create.before_seal");
	if (fcntl(memfd, F_ADD_SEALS, REQUIRED_SEALS) < 0) {
		r = -errno;
		goto err;
	}
	FP_STEP("ipcq.create.after_seal");
	r = os_bell_pair(bell_data);
	if (r < 0)
		goto err;
	r = os_bell_pair(bell_space);
	if (r < 0)
		goto err;
	FP_STEP("ipcq.create.after_doorbells");
	r = ipcq_new(&q, map, &g, role);
	if (r < 0)
		goto err;
	q->memfd = memfd;
	q->efd_data = bell_data[0];
	q->efd_space = bell_space[0];
	q->exp_data = bell_data[1];
	q->exp_space = bell_space[1];
	set_doorbells(q);
	*out = q;
	return 0;
err:
	if (map)
		munmap(map, (size_t)total);
	if (memfd >= 0)
		close(memfd);
	for (int i = 0; i < 2; i++) {
		if (bell_data[i] >= 0)
			close(bell_data[i]);
		if (bell_space[i] >= 0)
			close(bell_space[i]);
	}
	return r;
}

int ipcq_check_seals(int seals, uint64_t file_size)
{
	if ((seals & REQUIRED_SEALS) != REQUIRED_SEALS)
		return -EPERM;
	if (file_size < IPCQ_PAGE)
		return -EBADMSG;
	return 0;
}

/* The memfd a stranger handed us: a real memfd, sealed so that it can
 * never shrink under our mapping. */
static int check_memfd(int fd, uint64_t *size)
{
	char link[64];
	struct stat st;
	int seals;

	seals = fcntl(fd, F_GET_SEALS);
	if (seals < 0)
		return errno == EINVAL ? -ENOTSUP : -errno;
	/* tmpfs files answer F_GET_SEALS too (with F_SEAL_SEAL): a memfd's
	 * link is "/memfd:NAME (deleted)". */
	if (os_fd_link(fd, link, sizeof(link)) < 0 ||
	    strncmp(link, "/memfd:", 7) != 0)
		return -ENOTSUP;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EBADMSG;
	*size = st.st_size < 0 ? 0 : (uint64_t)st.st_size;
	return ipcq_check_seals(seals, *size);
}

int ipcq_attach(struct ipcq **out, int fds[IPCQ_NFDS], enum ipcq_role role,
		const struct ipcq_expect *expect)
{
	struct ipcq_shm hdr_copy;
	struct ipcq_geom g = { 0 };
	void *map = NULL;
	struct ipcq *q;
	uint64_t size = 0;
	int r, i;

	if (!out || !fds || check_role(role) < 0) {
		r = -EINVAL;
		goto err;
	}
	r = check_memfd(fds[0], &size);
	if (r < 0)
		goto err;
	if (!os_is_bell(fds[1]) || !os_is_bell(fds[2])) {
		r = -ENOTSUP;
		goto err;
	}
	/* Read the header into private memory once, then check that copy. */
	r = os_pread_all(fds[0], &hdr_copy, sizeof(hdr_copy), 0);
	if (r < 0)
		goto err;
	r = ipcq_check_header(&hdr_copy.hdr, size, expect, &g);
	if (r < 0)
		goto err;
	FP_STEP("ipcq.attach.after_checks");
	r = os_map(fds[0], (size_t)g.lay.total, &map);
	if (r < 0)
		goto err;
	FP_STEP("ipcq.attach.after_map");
	r = ipcq_new(&q, map, &g, role);
	if (r < 0)
		goto err;
	q->memfd = fds[0];
	q->efd_data = fds[1];
	q->efd_space = fds[2];
	set_doorbells(q);
	*out = q;
	return 0;
err:
	if (map)
		munmap(map, (size_t)g.lay.total);
	for (i = 0; fds && i < IPCQ_NFDS; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	return r;
}

int ipcq_export(const struct ipcq *q, int fds[IPCQ_NFDS])
{
	if (!q || !fds || q->path || q->exp_data < 0)
		return -EINVAL;
	fds[0] = q->memfd;
	fds[1] = q->exp_data;
	fds[2] = q->exp_space;
	return 0;
}

void ipcq_export_done(struct ipcq *q)
{
	if (!q)
		return;
	if (q->exp_data >= 0)
		close(q->exp_data);
	if (q->exp_space >= 0)
		close(q->exp_space);
	q->exp_data = q->exp_space = -1;
}

void ipcq_close(struct ipcq *q)
{
	if (!q)
		return;
	if (q->path)
		ipcq_path_release_role(q);
	ipcq_free_handle(q);
}

void ipcq_set_peer_fd(struct ipcq *q, int fd)
{
	q->peer_fd = fd < 0 ? -1 : fd;
}

void ipcq_set_spin(struct ipcq *q, unsigned spins)
{
	q->spin = spins;
	ipcq_set_light(q, spins);
}

int ipcq_type_id(uint8_t out[IPCQ_TYPE_ID_SIZE], const char *name,
		 uint32_t size)
{
	crypto_generichash_state st;
	uint8_t le[4] = { (uint8_t)size, (uint8_t)(size >> 8),
			  (uint8_t)(size >> 16), (uint8_t)(size >> 24) };

	if (!out || !name)
		return -EINVAL;
	if (sodium_init() < 0)
		return -ENOSYS;
	/* BLAKE2b-128 of "memenpsf.ipcq.type" || name || NUL || size (LE). */
	if (crypto_generichash_init(&st, NULL, 0, IPCQ_TYPE_ID_SIZE) < 0)
		return -ENOSYS;
	crypto_generichash_update(&st, (const uint8_t *)"memenpsf.ipcq.type",
				  18);
	crypto_generichash_update(&st, (const uint8_t *)name, strlen(name) + 1);
	crypto_generichash_update(&st, le, sizeof(le));
	crypto_generichash_final(&st, out, IPCQ_TYPE_ID_SIZE);
	return 0;
}

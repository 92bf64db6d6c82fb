/* SPDX-License-Identifier: MIT */
/*
 * struct ipcq and the helpers shared by queue/'s files. Never installed.
 */
#ifndef IPCQ_PRIVATE_H
#define IPCQ_PRIVATE_H

#include <stdatomic.h>
#include <stdint.h>

#include <memenpsf/ipcq.h>

#include "compiler.h"
#include "layout.h"

/* Default spin of blocking calls before they sleep: enough polls of the ring
 * to bridge the gap between two back-to-back messages of a busy peer. A poll
 * costs about 25 ns here, so 2000 polls spin about 50 us: several times
 * the cost of a sleep and a wake-up (about 7 us per hop), no more, so that
 * a peer sending every few hundred microseconds does not cost a core. */
#define IPCQ_DEFAULT_SPIN 2000u
/* A blocking call whose peer is flagged asleep on the ring polls up to this
 * many spins more before it sleeps (wait.c): the peer is being woken, and
 * its answer comes after its wake-up. With the default spin, at most about
 * 0.8 ms more here. */
#define IPCQ_PEER_SPINS 16u
/* Path rings sleep on a futex in slices this long, checking the peer's
 * liveness between slices. */
#define IPCQ_PATH_SLICE_MS 50
/* A memfd ring's ipcq_wait sleeps this long at most on its futex bell
 * (when the peer's caps say it rings it) before it moves to its doorbell
 * socket, where the peer's hang-up wakes it too (wait.c, sleep_once). */
#define IPCQ_FUTEX_SLICE_MS 10

struct ipcq {
	/* ---- fast path: private copies, never re-read from shared memory */
	uint8_t *words;       /* slot 0's words: base + words_off */
	uint8_t *data;        /* slot 0's payload: base + data_off */
	uint64_t idx;         /* producer: tail; consumer: head (local) */
	uint64_t peer_cache;  /* producer: last head seen; consumer: unused */
	uint32_t mask, stride, words_stride, elem_size, capacity;
	uint32_t words_shift; /* split rings: ipcq_words_pos */
	unsigned packed;      /* stride == elem_size: a run is one memcpy */
	unsigned pending;     /* reserved (producer) / peeked (consumer) */
	unsigned tail_lied;   /* consumer: a forced check caught tail lying */
	unsigned registered;  /* my process is registered for membarrier(2):
			       * I leave my fence out when waking a peer that
			       * arms with one (its caps say so) */
	unsigned light;       /* I arm with a membarrier (registered, spin >
			       * 0), and my caps say so */
	enum ipcq_role role;

	struct ipcq_side_line *mine; /* my line (I write index) */
	struct ipcq_side_line *peer; /* the peer's line (read when needed) */
	struct ipcq_sleep_line *my_sleep;   /* my asleep flag + bell */
	struct ipcq_sleep_line *peer_sleep; /* the peer's */

	/* ---- slow path */
	struct ipcq_shm *shm; /* the mapping */
	size_t map_size;
	int path;        /* a path ring: futexes, liveness by pid */
	int memfd;       /* -1 for a path ring */
	int efd_data;    /* my end of the doorbell the consumer sleeps on;
			  * -1 for a path ring */
	int efd_space;   /* my end of the producer's; -1 for a path ring */
	int exp_data, exp_space; /* the peer's ends, for ipcq_export; -1
				  * unless this side created the ring */
	int my_efd, peer_efd;
	int peer_fd;     /* hang-up means the peer is gone; not owned */
	int shared;      /* ipcq_share / ipcq_accept done */
	int stale;       /* my doorbell may hold a ring not drained yet */
	int sock_armed;  /* my flag says IPCQ_ASLEEP on a memfd ring: a
			  * waker may ring my socket */
	int futex_ms;    /* IPCQ_FUTEX_SLICE_MS (tests change it) */
	unsigned spin;
	uint32_t bell_snap; /* my bell when I armed on a futex */
	uint8_t type_id[IPCQ_TYPE_ID_SIZE];
};

/* A header checked and copied into private memory. */
struct ipcq_geom {
	uint32_t elem_size, capacity;
	uint64_t first_index;
	struct ipcq_layout lay;
	uint8_t type_id[IPCQ_TYPE_ID_SIZE];
};

/* create.c */
int ipcq_check_config(const struct ipcq_config *cfg);
/* The geometry a checked config makes. */
void ipcq_geom_of(const struct ipcq_config *cfg, struct ipcq_geom *g);
void ipcq_init_shm(struct ipcq_shm *shm, const struct ipcq_geom *g);
int ipcq_check_header(const struct ipcq_hdr *h, uint64_t file_size,
		      const struct ipcq_expect *expect, struct ipcq_geom *g);
/* The seals and size fstat gave for a stranger's memfd, checked before its
 * header (pure, for the fuzz target): -EPERM unsealed, -EBADMSG too small. */
int ipcq_check_seals(int seals, uint64_t file_size);
int ipcq_new(struct ipcq **out, void *map, const struct ipcq_geom *g,
	     enum ipcq_role role);
void ipcq_free_handle(struct ipcq *q);

/* ring.c */
/* Wake the side sleeping on sl (after the caller's half of the Dekker
 * pair: wake_peer): its futex bell or its doorbell socket efd. */
void ipcq_ring_bell(struct ipcq_sleep_line *sl, int efd, int futex);
/* Producer: 1 when a slot is free, 0 full, -EBADMSG. Consumer: 1 when an
 * element is published, 0 empty, -EBADMSG. */
int ipcq_ready(struct ipcq *q);
/* The same for a spin loop: the producer reloads head only when its cached
 * one says full, the consumer keeps tail off its fast path (cons_check); a
 * lie is caught by the ipcq_ready() that comes before sleeping. */
int ipcq_ready_spin(struct ipcq *q);

/* wait.c */
/* Store my caps from registered and light (seq_cst: before my next arm). */
void ipcq_store_caps(struct ipcq *q);
/* Arm with a membarrier or not: on with registered and spins > 0; turning
 * it off costs a membarrier (a peer may have read the old caps). */
void ipcq_set_light(struct ipcq *q, unsigned spins);

/* share.c / path.c */
int ipcq_path_peer_alive(const struct ipcq *q);
void ipcq_path_release_role(struct ipcq *q);

#endif /* IPCQ_PRIVATE_H */

/* SPDX-License-Identifier: MIT */
/* A client that rewrites its rings at random; see hostile.h. */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <memenpsf/fdpass.h>
#include <memenpsf/iface.h>
#include <memenpsf/ipcq.h>

#include "hostile.h"
#include "../iface/wire.h"
#include "../queue/layout.h"

static uint64_t rnd(uint64_t *s)
{
	/* xorshift64*: deterministic for a seed */
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ull;
}

struct ring_map {
	uint8_t *map;
	size_t size;
	struct ipcq_hdr hdr; /* read once, as the library does */
	struct ipcq_layout lay;
};

static int ring_map(int fd, struct ring_map *r)
{
	struct stat st;

	if (fstat(fd, &st) < 0 || st.st_size < (off_t)sizeof(struct ipcq_shm))
		return -1;
	r->size = (size_t)st.st_size;
	r->map = mmap(NULL, r->size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (r->map == MAP_FAILED)
		return -1;
	memcpy(&r->hdr, r->map, sizeof(r->hdr));
	if (ipcq_size_of(r->hdr.elem_size, r->hdr.capacity) != r->size) {
		munmap(r->map, r->size);
		return -1;
	}
	ipcq_layout_of(r->hdr.elem_size, r->hdr.capacity, &r->lay);
	return 0;
}

static struct ipcq_slot *slot_at(struct ring_map *r, uint64_t k)
{
	return ipcq_words_at(r->map, &r->lay, k & (r->hdr.capacity - 1));
}

/* A random index: anything, or near where the ring started. */
static uint64_t any_index(uint64_t *s, const struct ring_map *r)
{
	uint64_t v = rnd(s);

	if (v & 1)
		return rnd(s);
	return r->hdr.first_index + (v >> 8) % (4ull * r->hdr.capacity) -
	       2ull * r->hdr.capacity;
}

/* One random write into the words the server reads. */
static void rewrite(uint64_t *s, struct ring_map *c2s, struct ring_map *s2c)
{
	struct ipcq_shm *in = (struct ipcq_shm *)c2s->map;
	struct ipcq_shm *out = (struct ipcq_shm *)s2c->map;
	uint64_t v = rnd(s), k = rnd(s);

	switch (v % 4) {
	case 0:
		__atomic_store_n(&in->prod.index, any_index(s, c2s),
				 __ATOMIC_RELEASE);
		break;
	case 1:
		__atomic_store_n(&slot_at(c2s, k)->len,
				 (v & 16) ? (uint32_t)rnd(s)
					  : (uint32_t)(rnd(s) %
						       (2u * c2s->hdr.elem_size + 1)),
				 __ATOMIC_RELAXED);
		break;
	case 2:
		__atomic_store_n(&slot_at(c2s, k)->seq,
				 (v & 16) ? (uint32_t)rnd(s)
					  : (uint32_t)(any_index(s, c2s) + 1),
				 __ATOMIC_RELEASE);
		break;
	default:
		__atomic_store_n(&out->cons.index, any_index(s, s2c),
				 __ATOMIC_RELEASE);
		break;
	}
}

/* 1 when the server has spoken (*code set), 0 when not yet, -1 when gone
 * without a reason. */
static int server_said(int sock, uint32_t *code)
{
	unsigned char buf[WIRE_MAX_MSG + 1];
	unsigned nfds = 0;
	struct wire_msg m;
	ssize_t r = fdpass_recv(sock, buf, sizeof(buf), NULL, &nfds, 0);

	if (r == -EAGAIN)
		return 0;
	if (r < 0 || wire_decode(buf, (size_t)r, 0, 0, &m) < 0 ||
	    (m.type != WIRE_BYE && m.type != WIRE_REFUSE))
		return -1;
	*code = m.u.reason.code;
	return 1;
}

int hostile_rewriter(const char *path, uint64_t seed, uint64_t max_writes)
{
	unsigned char buf[WIRE_MAX_MSG + 1];
	struct wire_join j = { .elem_size = 0 };
	struct ring_map c2s = { 0 }, s2c = { 0 };
	int fds[WIRE_WELCOME_NFDS], sock, n, rc = HOSTILE_CONNECT;
	unsigned nfds = 0;
	uint64_t s = seed | 1, one = 1;
	uint32_t code = 0;
	struct wire_msg m;
	ssize_t r;

	sock = fdpass_connect(path, SOCK_SEQPACKET, 10000);
	if (sock < 0)
		return HOSTILE_CONNECT;
	if (fdpass_recv(sock, buf, sizeof(buf), NULL, &nfds, 10000) <= 0)
		goto out_sock; /* HELLO, or a refusal */
	n = wire_encode_join(buf, sizeof(buf), &j);
	if (n <= 0 || fdpass_send(sock, buf, (size_t)n, NULL, 0, 10000) != n)
		goto out_sock;
	nfds = WIRE_WELCOME_NFDS;
	r = fdpass_recv(sock, buf, sizeof(buf), fds, &nfds, 10000);
	if (r <= 0)
		goto out_sock;
	if (wire_decode(buf, (size_t)r, nfds, 0, &m) < 0 ||
	    m.type != WIRE_WELCOME || nfds != WIRE_WELCOME_NFDS)
		goto out_fds;
	if (ring_map(fds[0], &c2s) < 0)
		goto out_fds;
	if (ring_map(fds[IPCQ_NFDS], &s2c) < 0)
		goto out_c2s;

	rc = -1;
	for (uint64_t i = 0; i < max_writes; i++) {
		int said;

		rewrite(&s, &c2s, &s2c);
		/* the data doorbell of our ring, whether or not it sleeps
		 * (EAGAIN: its buffer is full, a ring is waiting anyway) */
		r = send(fds[1], &one, sizeof(one),
			 MSG_DONTWAIT | MSG_NOSIGNAL);
		if (r < 0 && errno != EAGAIN)
			break; /* EPIPE: the server closed the ring; its BYE is
				* read below */
		said = server_said(sock, &code);
		if (said < 0) {
			rc = HOSTILE_OTHER;
			break;
		}
		if (said > 0) {
			rc = code == IFACE_R_CORRUPT ? HOSTILE_DROPPED
						     : HOSTILE_OTHER;
			break;
		}
	}
	if (rc < 0) {
		/* a certain lie: a tail past anything the ring can hold */
		struct ipcq_shm *in = (struct ipcq_shm *)c2s.map;
		struct pollfd pf = { .fd = sock, .events = POLLIN };
		uint64_t head = __atomic_load_n(&in->cons.index,
						__ATOMIC_ACQUIRE);

		__atomic_store_n(&in->prod.index, head + 4ull * c2s.hdr.capacity,
				 __ATOMIC_RELEASE);
		rc = HOSTILE_NOT_DROPPED;
		/* ring (a full buffer or a ring already closed: the server
		 * has been woken, or has dropped us) and wait for its word */
		(void)!send(fds[1], &one, sizeof(one),
			    MSG_DONTWAIT | MSG_NOSIGNAL);
		if (poll(&pf, 1, 30000) == 1) {
			int said = server_said(sock, &code);

			rc = said > 0 && code == IFACE_R_CORRUPT
				     ? HOSTILE_DROPPED_LIE
				     : HOSTILE_OTHER;
		}
	}
	munmap(s2c.map, s2c.size);
out_c2s:
	munmap(c2s.map, c2s.size);
out_fds:
	for (unsigned i = 0; i < nfds; i++)
		close(fds[i]);
out_sock:
	close(sock);
	return rc;
}

/* SPDX-License-Identifier: MIT */
/*
 * Sharing a memfd ring with one peer over a Unix socket (libfdpass): one
 * message, the fixed body of wire.h plus the three descriptors.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <memenpsf/fdpass.h>

#include "failpoints.h"
#include "ipcq-private.h"
#include "wire.h"

int ipcq_share(struct ipcq *q, int sock, int timeout_ms)
{
	uint8_t buf[IPCQ_WIRE_SIZE];
	struct ipcq_wire w;
	int fds[IPCQ_NFDS];
	ssize_t n;
	int r;

	if (!q || sock < 0 || q->path || q->shared)
		return -EINVAL;
	r = ipcq_export(q, fds);
	if (r < 0)
		return r;
	w.magic = IPCQ_WIRE_MAGIC;
	w.version = IPCQ_WIRE_VERSION;
	w.role = (uint16_t)q->role;
	w.elem_size = q->elem_size;
	w.capacity = q->capacity;
	w.total_size = q->map_size;
	memcpy(w.type_id, q->type_id, IPCQ_TYPE_ID_SIZE);
	ipcq_wire_encode(buf, &w);
	FP_STEP("ipcq.share.before_send");
	n = fdpass_send(sock, buf, sizeof(buf), fds, IPCQ_NFDS, timeout_ms);
	if (n < 0) {
		r = (int)n;
		goto err;
	}
	if (n != (ssize_t)sizeof(buf)) {
		r = -EPIPE; /* a stream socket cut the body: unusable */
		goto err;
	}
	q->shared = 1;
	q->peer_fd = sock;
	ipcq_export_done(q);
	return 0;
err:
	return r;
}

int ipcq_accept(struct ipcq **out, int sock, const struct ipcq_expect *expect,
		int timeout_ms)
{
	uint8_t buf[IPCQ_WIRE_SIZE + 1]; /* one more: a longer body is refused */
	int fds[FDPASS_MAX_FDS];
	unsigned nfds = FDPASS_MAX_FDS, i;
	struct ipcq_wire w;
	enum ipcq_role role;
	struct ipcq *q;
	ssize_t n;
	int r;

	if (!out || sock < 0)
		return -EINVAL;
	n = fdpass_recv(sock, buf, sizeof(buf), fds, &nfds, timeout_ms);
	if (n < 0)
		return (int)n; /* fdpass closed whatever arrived */
	FP_STEP("ipcq.accept.after_recv");
	if (n != IPCQ_WIRE_SIZE || nfds != IPCQ_NFDS) {
		r = -EPROTO;
		goto err;
	}
	ipcq_wire_decode(&w, buf);
	if (w.magic != IPCQ_WIRE_MAGIC || w.version != IPCQ_WIRE_VERSION ||
	    (w.role != IPCQ_PRODUCER && w.role != IPCQ_CONSUMER)) {
		r = -EPROTO;
		goto err;
	}
	if (expect && expect->elem_size && expect->elem_size != w.elem_size) {
		r = -EPROTO;
		goto err;
	}
	role = w.role == IPCQ_PRODUCER ? IPCQ_CONSUMER : IPCQ_PRODUCER;
	/* ipcq_attach owns the three fds from here, on every path. */
	nfds = 0;
	r = ipcq_attach(&q, fds, role, expect);
	if (r < 0)
		return r;
	/* The body must describe the ring the memfd holds. */
	if (q->elem_size != w.elem_size || q->capacity != w.capacity ||
	    q->map_size != w.total_size ||
	    memcmp(q->type_id, w.type_id, IPCQ_TYPE_ID_SIZE) != 0) {
		ipcq_close(q);
		return -EBADMSG;
	}
	q->shared = 1;
	q->peer_fd = sock;
	*out = q;
	return 0;
err:
	for (i = 0; i < nfds; i++)
		close(fds[i]);
	return r;
}

/* SPDX-License-Identifier: MIT */
/*
 * libiface rows: side B is an iface server listening on a real socket path
 * in a fresh mkdtemp() directory, side A an iface client that connects to
 * it; everything goes through the public API, the way an application uses
 * it. B tells A the path over an inherited pipe. The server only receives
 * through its on_message callback (iface_server_dispatch), which copies
 * each delivered message out of the ring into one message buffer, as
 * ipcq_pop copies into its caller's buffer, and keeps the two words the
 * harness checks (the first and last 8 bytes) in a staging array until the
 * harness asks for them. (It used to stage whole messages: up to 256 of
 * them per dispatch, 768 KiB of 64 KiB ones, where ipcq-spin copies into
 * one buffer that stays in the cache: the iface rows paid for a bigger
 * copy target, 0.74x ipcq-spin's throughput at 64 KiB against 0.98x with
 * one buffer, same build, six interleaved runs.) In the round trips the
 * server answers from on_message (rx_answer), after the same copy, as an
 * application answers (ipc-server): the harness's check and the reply go
 * out before the dispatch returns. (Answering after the dispatch returned,
 * as before, put the rest of the dispatch round and the staging on every
 * round trip: about 50 ns over ipcq-spin's 170-190 where the sides
 * share a cache, 20 ns when answering from on_message; bench/README.md,
 * "The responder's turnaround".)
 *   iface-spin   client send / recv retried in a spin loop; server
 *                dispatch(-1), its own polling loop (as run() and
 *                ipc-server), iface_conn_send retried, with cfg.spin
 *                INT_MAX: the server polls the ring and never arms it, as
 *                ipcq-spin's consumer never sleeps (with the default spin,
 *                2000 empty rounds of about 10 ns, a client descheduled
 *                for 20 us on a busy machine found the ring armed and
 *                rang its doorbell: 1.9 M system calls in a 64 B run
 *                instead of 40 k). It used to call dispatch(0) in a loop
 *                of its own with a pause per empty round, which is not
 *                what iface.h advises for a spinning server.
 *   iface-block  client send_wait / recv_wait; server dispatch(-1),
 *                iface_conn_send_wait
 * The rings have the geometry of the ipcq rows (bench_ring_capacity).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <memenpsf/iface.h>

#include "bench.h"
#include "compiler.h"
#include "../tools/spawn.h"

#define CONNECT_TIMEOUT_MS 10000

struct iface_side {
	int spin;
	/* A: the client */
	struct iface_client *cl;
	/* B: the server, its one conn, and what it was told */
	struct iface_server *srv;
	struct iface_conn *conn;
	int gone;                       /* on_disconnect seen */
	struct iface_reason why;
	char dir[TOOL_DIR_MAX];
	char path[TOOL_PATH_MAX];
	size_t size;
	uint64_t (*stage)[2];           /* delivered, not yet handed out:
					 * each one's first and last 8 bytes */
	size_t stage_cap, head, tail;   /* in messages */
	int stage_err;
	unsigned char *txbuf, *rxbuf;   /* one message each */
	/* round trips (iface_rx_answer): on_message answers at once */
	side_answer_fn answer;
	struct side *side;
	int answered;                   /* 1 answered, 2 the end seen */
	int answer_err;
};

static int iface_setup(size_t size, int *fa, int *na, int *fb, int *nb)
{
	int p[2];

	(void)size;
	/* B (server) writes the socket path, A (client) reads it */
	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	fa[0] = p[0];
	fb[0] = p[1];
	*na = *nb = 1;
	return 0;
}

/* ---- server callbacks (side B) ------------------------------------------- */

static int on_connect(struct iface_conn *c, void *user)
{
	struct iface_side *q = user;

	if (q->conn)
		return 1; /* one client per case */
	q->conn = c;
	return 0;
}

static int stage_grow(struct iface_side *q, size_t need)
{
	size_t cap = q->stage_cap ? q->stage_cap : 64;
	uint64_t (*p)[2];

	while (cap < need)
		cap *= 2;
	if (cap > ((size_t)1 << 22))
		return -ENOMEM;
	p = realloc(q->stage, cap * sizeof(*p));
	if (!p)
		return -ENOMEM;
	q->stage = p;
	q->stage_cap = cap;
	return 0;
}

/* Answer the message in rxbuf: 0 (sent), 1 (the end), -errno. */
static int answer_rxbuf(struct iface_side *q, struct iface_conn *c)
{
	int r = q->answer(q->side, q->rxbuf, q->txbuf);

	if (r == 0 && !q->spin)
		r = iface_conn_send_wait(c, q->txbuf, q->size, -1);
	else if (r == 0)
		while ((r = iface_conn_send(c, q->txbuf, q->size)) == -EAGAIN)
			cpu_relax();
	return r;
}

/* Round trips: check each message and send its answer from here, as an
 * application's on_message answers (ipc-server), not after the dispatch
 * returned. Returns how many it took: up to the end message, after which
 * the next phase's messages may follow in the same batch. */
static unsigned answer_now(struct iface_side *q, struct iface_conn *c,
			   const struct iface_msg *msgs, unsigned n)
{
	unsigned i;

	for (i = 0; i < n && !q->answer_err; i++) {
		int r = -EMSGSIZE;

		if (msgs[i].len == q->size) {
			/* the copy ipcq_pop makes, as below */
			memcpy(q->rxbuf, msgs[i].data, q->size);
			r = answer_rxbuf(q, c);
		}
		if (r == 1) {
			q->answered = 2;
			q->answer = NULL; /* the rest is staged */
			return i + 1;
		}
		if (r < 0)
			q->answer_err = r;
		else
			q->answered = 1;
	}
	return n;
}

static void on_message(struct iface_conn *c, const struct iface_msg *msgs,
		       unsigned n, void *user)
{
	struct iface_side *q = user;
	unsigned i;

	if (q->answer) {
		unsigned k = answer_now(q, c, msgs, n);

		msgs += k;
		n -= k;
	}
	if (q->stage_err || n == 0)
		return;
	if (q->head == q->tail)
		q->head = q->tail = 0;
	if (q->tail + n > q->stage_cap && stage_grow(q, q->tail + n) < 0) {
		q->stage_err = -ENOMEM;
		return;
	}
	for (i = 0; i < n; i++) {
		if (msgs[i].len != q->size) {
			q->stage_err = -EBADMSG;
			return;
		}
		/* the copy ipcq_pop makes, into one buffer (rxbuf: the
		 * server's is free), then the words the harness checks */
		memcpy(q->rxbuf, msgs[i].data, q->size);
		memcpy(&q->stage[q->tail + i][0], q->rxbuf, 8);
		memcpy(&q->stage[q->tail + i][1], q->rxbuf + q->size - 8, 8);
	}
	q->tail += n;
}

static void on_disconnect(struct iface_conn *c, const struct iface_reason *why,
			  void *user)
{
	struct iface_side *q = user;

	if (c != q->conn)
		return;
	q->conn = NULL;
	q->gone = 1;
	q->why = *why;
	q->why.text[IFACE_TEXT_MAX - 1] = '\0';
}

/* Say why the channel ended, once, on stderr (the harness prints the
 * error code after it). */
static int channel_gone(struct iface_side *q, const char *who)
{
	static int told;

	if (!told) {
		told = 1;
		fprintf(stderr,
			"memenpsf-bench: libiface %s: the channel ended: "
			"reason %u (%s)\n",
			who, (unsigned)q->why.code,
			q->why.text[0] ? q->why.text : "no text");
	}
	if (q->why.code == IFACE_R_CORRUPT)
		return -EBADMSG;
	return q->why.code == IFACE_R_PROTOCOL ? -EPROTO : -EPIPE;
}

static int client_gone(struct iface_side *q, int err)
{
	iface_client_reason(q->cl, &q->why);
	if (q->why.code == IFACE_R_NONE)
		return err;
	channel_gone(q, "client");
	return err;
}

/* ---- open / close ----------------------------------------------------------- */

/* Empty and remove the server's private directory (its socket and lock
 * file). Done as soon as the client is in, so that a side killed later
 * (the harness kills the survivor of a failed case) leaves nothing behind;
 * the server's own unlink at destroy then finds nothing, which it allows. */
static void remove_dir(struct iface_side *q)
{
	char p[TOOL_DIR_MAX + 256];
	struct dirent *d;
	DIR *dh;

	if (!q->dir[0])
		return;
	dh = opendir(q->dir);
	if (dh) {
		while ((d = readdir(dh)))
			if (strcmp(d->d_name, ".") && strcmp(d->d_name, "..")) {
				snprintf(p, sizeof(p), "%s/%s", q->dir,
					 d->d_name);
				unlink(p);
			}
		closedir(dh);
	}
	rmdir(q->dir);
	q->dir[0] = '\0';
}

static int open_server(struct iface_side *q, int wfd)
{
	struct iface_server_config cfg = {
		.elem_size = (uint32_t)q->size,
		.capacity = bench_ring_capacity(q->size),
		.max_clients = 1,
		.handshake_timeout_ms = CONNECT_TIMEOUT_MS,
		.batch = 64,
		.cb = { .on_connect = on_connect, .on_message = on_message,
			.on_disconnect = on_disconnect },
		.user = q,
	};
	uint64_t end;
	uint32_t len;
	int e = tool_sock_dir("bench", q->dir, q->path);

	if (e < 0)
		return e;
	cfg.path = q->path;
	if (q->spin)
		cfg.spin = INT_MAX; /* never arm: see the top of the file */
	e = iface_server_create(&q->srv, &cfg);
	if (e < 0)
		return e;
	len = (uint32_t)strlen(q->path);
	e = tp_write_all(wfd, &len, sizeof(len));
	if (e == 0)
		e = tp_write_all(wfd, q->path, len);
	if (e < 0)
		return e;
	end = now_ns() + (uint64_t)CONNECT_TIMEOUT_MS * 1000000u;
	while (!q->conn) {
		if (now_ns() > end)
			return -ETIMEDOUT;
		e = iface_server_dispatch(q->srv, 100);
		if (e < 0)
			return e;
	}
	remove_dir(q);
	return 0;
}

static int open_client(struct iface_side *q, int rfd)
{
	struct iface_client_config cfg = {
		.elem_size = (uint32_t)q->size,
		.min_capacity = bench_ring_capacity(q->size),
		.timeout_ms = CONNECT_TIMEOUT_MS,
	};
	struct iface_reason why = { 0 };
	uint32_t len;
	int e;

	e = tp_read_all(rfd, &len, sizeof(len));
	if (e < 0)
		return e;
	if (len == 0 || len >= sizeof(q->path))
		return -EPROTO;
	e = tp_read_all(rfd, q->path, len);
	if (e < 0)
		return e;
	q->path[len] = '\0';
	cfg.path = q->path;
	e = iface_client_connect(&q->cl, &cfg, &why);
	if (e < 0 && why.code) {
		q->why = why;
		q->why.text[IFACE_TEXT_MAX - 1] = '\0';
		channel_gone(q, "connect");
	}
	return e;
}

static void iface_side_close(struct side *s)
{
	struct iface_side *q = s->priv;

	if (!q)
		return;
	iface_client_close(q->cl);
	iface_server_destroy(q->srv);
	remove_dir(q);
	free(q->stage);
	free(q->txbuf);
	free(q->rxbuf);
	free(q);
	s->priv = NULL;
}

static int iface_side_open(struct side *s)
{
	struct iface_side *q;
	int e;

	if (s->nfds != 1)
		return -EINVAL;
	q = calloc(1, sizeof(*q));
	if (!q)
		return -ENOMEM;
	s->priv = q;
	q->spin = strcmp(s->t->name, "iface-spin") == 0;
	q->size = s->size;
	q->txbuf = tp_alloc(s->size, 1);
	q->rxbuf = tp_alloc(s->size, 1);
	if (!q->txbuf || !q->rxbuf) {
		e = -ENOMEM;
		goto err;
	}
	e = s->role == 'B' ? open_server(q, s->fds[0])
			   : open_client(q, s->fds[0]);
	if (e < 0)
		goto err;
	return 0;
err:
	iface_side_close(s);
	return e;
}

/* ---- data path ---------------------------------------------------------- */

static int iface_tx_get(struct side *s, unsigned want, void **base,
			size_t *stride)
{
	struct iface_side *q = s->priv;

	(void)want;
	*base = q->txbuf;
	*stride = s->size;
	return 1;
}

static int iface_tx_put(struct side *s, unsigned n)
{
	struct iface_side *q = s->priv;
	int r;

	(void)n;
	if (q->cl) {
		if (!q->spin)
			r = iface_client_send_wait(q->cl, q->txbuf, s->size, -1);
		else
			while ((r = iface_client_send(q->cl, q->txbuf,
						      s->size)) == -EAGAIN)
				cpu_relax();
		return r < 0 ? client_gone(q, r) : 0;
	}
	if (!q->conn)
		return channel_gone(q, "server");
	if (!q->spin)
		r = iface_conn_send_wait(q->conn, q->txbuf, s->size, -1);
	else
		while ((r = iface_conn_send(q->conn, q->txbuf, s->size)) ==
		       -EAGAIN)
			cpu_relax();
	return r;
}

static int client_rx(struct side *s, struct iface_side *q)
{
	ssize_t r;

	if (!q->spin)
		r = iface_client_recv_wait(q->cl, q->rxbuf, s->size, -1);
	else
		while ((r = iface_client_recv(q->cl, q->rxbuf, s->size)) ==
		       -EAGAIN)
			cpu_relax();
	if (r < 0)
		return client_gone(q, (int)r);
	if ((size_t)r != s->size)
		return -EBADMSG;
	return 1;
}

static int iface_rx(struct side *s, unsigned max, const void **base,
		    size_t *stride)
{
	struct iface_side *q = s->priv;
	int r;

	(void)max; /* one at a time: max is at least 1 */
	*stride = s->size;
	if (q->cl) {
		*base = q->rxbuf;
		return client_rx(s, q);
	}
	while (q->head == q->tail) {
		if (q->stage_err)
			return q->stage_err;
		if (q->gone)
			return channel_gone(q, "server");
		r = iface_server_dispatch(q->srv, -1);
		if (r < 0)
			return r;
	}
	/* the next one's checked words back where the harness looks */
	memcpy(q->rxbuf, &q->stage[q->head][0], 8);
	memcpy(q->rxbuf + s->size - 8, &q->stage[q->head][1], 8);
	*base = q->rxbuf;
	return 1;
}

static int iface_rx_answer(struct side *s, side_answer_fn answer)
{
	struct iface_side *q = s->priv;
	int r = 0;

	if (q->cl)
		return -EINVAL; /* side B only */
	q->answer = answer;
	q->side = s;
	q->answered = 0;
	if (q->head != q->tail) {
		/* delivered before the round trips began (the dispatch that
		 * let the client in): its checked words back in place */
		if (!q->conn)
			return channel_gone(q, "server");
		memcpy(q->rxbuf, &q->stage[q->head][0], 8);
		memcpy(q->rxbuf + s->size - 8, &q->stage[q->head][1], 8);
		q->head++;
		r = answer_rxbuf(q, q->conn);
		q->answer = NULL;
		return r;
	}
	while (!q->answered && !q->answer_err) {
		if (q->gone) {
			r = channel_gone(q, "server");
			break;
		}
		r = iface_server_dispatch(q->srv, -1);
		if (r < 0)
			break;
		r = 0;
	}
	q->answer = NULL;
	if (q->answer_err)
		return q->answer_err;
	return r < 0 ? r : q->answered == 2;
}

static int iface_rx_done(struct side *s, unsigned n)
{
	struct iface_side *q = s->priv;

	if (q->cl)
		return 0;
	if (n > q->tail - q->head)
		return -EINVAL;
	q->head += n;
	return 0;
}

#define IFACE_OPS                                                              \
	.setup = iface_setup, .open = iface_side_open, .tx_get = iface_tx_get, \
	.tx_put = iface_tx_put, .rx = iface_rx, .rx_done = iface_rx_done,     \
	.rx_answer = iface_rx_answer, .close = iface_side_close

static const struct transport t_iface_spin = {
	.name = "iface-spin",
	.desc = "libiface client (A) and server (B) over a socket path, "
		"send / recv and dispatch(0) in spin loops, B answers from "
		"on_message",
	.order = 30,
	.flags = T_SPIN,
	IFACE_OPS,
};
BENCH_TRANSPORT(t_iface_spin)

static const struct transport t_iface_block = {
	.name = "iface-block",
	.desc = "libiface client (A) and server (B) over a socket path, "
		"send_wait / recv_wait and dispatch(-1), B answers from "
		"on_message",
	.order = 31,
	.flags = T_SPIN | T_SLEEP,
	IFACE_OPS,
};
BENCH_TRANSPORT(t_iface_block)

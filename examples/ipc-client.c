/* SPDX-License-Identifier: MIT */
/*
 * ipc-client: connect to ipc-server, send --count messages of --size bytes,
 * check every echo (sequence number, the server's per-client count, the
 * payload), and print throughput and round-trip percentiles and mean.
 * Exit status 0 only when every message came back intact and in order.
 *
 * At most --window messages are in flight, so the echo ring never overflows;
 * --batch messages are sent before looking for echoes (one publication for
 * the whole batch when --size is the slot size: zero-copy reserve/commit).
 * --mode spin polls the rings; --mode block sleeps in the library when
 * nothing can move.
 *
 * One clock reading per pass that received echoes serves both their round
 * trips and the send time of what the next pass sends (with one in flight
 * a round trip is measured from the echo before it, as memenpsf-bench
 * measures its own; the messages of a batch share their pass's reading);
 * a spinning pass that moved nothing reads the clock only every
 * WATCH_EVERY passes, for the 5 s watchdog. A clock reading costs 20-70 ns
 * on some virtual machines: one at every send, every echo and every idle
 * pass made a 64-byte round trip 25-35 ns longer on average and streaming
 * a quarter to a third slower (3.7 -> 4.8 and 9.4 -> 15.3 M echoes a
 * second, the two placements of a 2-vCPU VM).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <memenpsf/iface.h>

#include "common.h"

#define WATCH_EVERY 4096
#define WATCH_NS 5000000000ull

struct run {
	struct iface_client *c;
	uint64_t count, sent, recvd;
	uint32_t size, elem, stride, batch, window;
	int block;
	uint32_t *rtt;
	unsigned char *msg, *buf;
	uint64_t now; /* the clock when the last pass received echoes */
	int fresh;    /* now is for the next send_some() */
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: ipc-client [options]\n"
		"Send messages to ipc-server and check every echo.\n"
		"  --socket PATH     socket path (default: the library's default path)\n"
		"  --count N         messages to send (default 300000)\n"
		"  --size BYTES      message size, %u..slot size (default 64)\n"
		"  --batch N         messages sent before reading echoes (default 16)\n"
		"  --window N        most messages in flight (default: ring capacity)\n"
		"  --mode spin|block poll the rings, or sleep when idle (default spin)\n"
		"  --key-file FILE   prove this pre-shared key (0600, 32 bytes or 64\n"
		"                    hex digits) and demand the server prove it too\n"
		"  --quiet           print only errors\n"
		"  --help            this text\n"
		"Exit status 0 only when every message was checked.\n",
		EX_ECHO_MIN);
}

/* Report a failed call, with the server's reason once the channel ended
 * (e.g. "receive: Broken pipe: the server is shutting down"). */
static int fail(struct iface_client *c, const char *what, int r)
{
	struct iface_reason why;

	iface_client_reason(c, &why);
	fprintf(stderr, "ipc-client: %s: %s%s%s\n", what, strerror(-r),
		why.code ? ": " : "", why.code ? why.text : "");
	return 1;
}

static void build(struct run *x, unsigned char *m, uint64_t seq)
{
	struct ex_echo_hdr h = { .seq = seq, .t_ns = x->now };

	memcpy(m, &h, sizeof(h));
	ex_fill(m, x->size, seq);
}

/* Send up to batch messages; returns how many, or -errno. */
static int send_some(struct run *x)
{
	uint64_t room = x->window - (x->sent - x->recvd);
	uint64_t left = x->count - x->sent;
	unsigned want = x->batch;
	int n = 0, fresh = x->fresh;

	if (want > room)
		want = (unsigned)room;
	if (want > left)
		want = (unsigned)left;
	x->fresh = 0;
	if (!want)
		return 0;
	if (!fresh)
		x->now = ex_now_ns();
	if (x->size == x->elem) { /* whole slots: zero-copy, one publish */
		void *first;
		int r = iface_client_reserve(x->c, want, &first);

		if (r == -EAGAIN)
			return 0;
		if (r < 0)
			return r;
		for (int i = 0; i < r; i++)
			build(x, (unsigned char *)first + (size_t)i * x->stride,
			      x->sent + 1 + (uint64_t)i);
		n = iface_client_commit(x->c, (unsigned)r);
		if (n < 0)
			return n;
		x->sent += (unsigned)r;
		return r;
	}
	for (; (unsigned)n < want; n++) {
		int r;

		build(x, x->msg, x->sent + 1);
		r = iface_client_send(x->c, x->msg, x->size);
		if (r == -EAGAIN)
			break;
		if (r < 0)
			return r;
		x->sent++;
	}
	return n;
}

/* Read every echo there is; returns how many, -EILSEQ for a bad echo
 * (already reported), or -errno. Once the last message in flight came
 * back, it stops without looking again: nothing more can be there, and
 * with one in flight that look (about 100 instructions) would delay the
 * next message on every round trip. */
static int recv_some(struct run *x)
{
	int n = 0;

	for (;;) {
		ssize_t r;
		struct ex_echo_hdr h;
		uint64_t seq = x->recvd + 1;

		if (n && x->recvd == x->sent)
			return n;
		r = iface_client_recv(x->c, x->buf, x->elem);
		if (r == -EAGAIN)
			return n;
		if (r < 0)
			return (int)r;
		memcpy(&h, x->buf, sizeof(h));
		if ((uint32_t)r != x->size || ex_check(x->buf, (size_t)r, seq) ||
		    h.srv_seq != seq) {
			fprintf(stderr,
				"ipc-client: bad echo #%" PRIu64 ": len %zd seq %" PRIu64
				" srv_seq %" PRIu64 "\n",
				seq, r, h.seq, h.srv_seq);
			return -EILSEQ;
		}
		if (!n) {
			x->now = ex_now_ns();
			x->fresh = 1;
		}
		x->rtt[x->recvd] = (uint32_t)(x->now - h.t_ns);
		x->recvd++;
		n++;
	}
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "count", required_argument, NULL, 'n' },
		{ "size", required_argument, NULL, 'z' },
		{ "batch", required_argument, NULL, 'b' },
		{ "window", required_argument, NULL, 'w' },
		{ "mode", required_argument, NULL, 'm' },
		{ "key-file", required_argument, NULL, 'k' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct iface_client_config cfg = { 0 };
	struct iface_reason why;
	struct run x = { .count = 300000, .size = 64, .batch = 16 };
	uint64_t t0, t1, last_progress;
	unsigned idle = 0;
	int quiet = 0, opt, r, rc = 1;

	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 's':
			cfg.path = optarg;
			break;
		case 'n':
			x.count = ex_number("--count", optarg, 1, 1000000000);
			break;
		case 'z':
			x.size = (uint32_t)ex_number("--size", optarg, EX_ECHO_MIN,
						     IPCQ_MAX_ELEM_SIZE);
			break;
		case 'b':
			x.batch = (uint32_t)ex_number("--batch", optarg, 1, 65536);
			break;
		case 'w':
			x.window = (uint32_t)ex_number("--window", optarg, 1,
						       IPCQ_MAX_CAPACITY);
			break;
		case 'm':
			if (!strcmp(optarg, "block"))
				x.block = 1;
			else if (strcmp(optarg, "spin")) {
				fprintf(stderr, "bad value for --mode: '%s' (spin|block)\n",
					optarg);
				return 2;
			}
			break;
		case 'k':
			cfg.key_file = optarg;
			break;
		case 'q':
			quiet = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}

	r = iface_client_connect(&x.c, &cfg, &why);
	if (r < 0 && !why.code && cfg.key_file) {
		/* nothing came from a server: the key file, or no server */
		fprintf(stderr, "ipc-client: cannot connect (key file %s): %s\n",
			cfg.key_file, strerror(-r));
		return 1;
	}
	if (r < 0) {
		/* a refused key says "key refused: ..." in why.text */
		fprintf(stderr, "ipc-client: cannot connect: %s%s%s\n",
			strerror(-r), why.code ? ": " : "", why.text);
		return 1;
	}
	x.elem = iface_client_elem_size(x.c);
	x.stride = iface_client_stride(x.c);
	if (x.size > x.elem) {
		fprintf(stderr, "ipc-client: --size %u: the server's slots hold %u bytes\n",
			x.size, x.elem);
		goto out;
	}
	if (!x.window || x.window > iface_client_capacity(x.c))
		x.window = iface_client_capacity(x.c);
	x.rtt = malloc(x.count * sizeof(*x.rtt));
	x.msg = malloc(x.elem);
	x.buf = malloc(x.elem);
	if (!x.rtt || !x.msg || !x.buf) {
		fprintf(stderr, "ipc-client: out of memory\n");
		goto out;
	}

	t0 = last_progress = ex_now_ns();
	while (x.recvd < x.count) {
		int s = send_some(&x), g;

		if (s < 0) {
			rc = fail(x.c, "send", s);
			goto out;
		}
		g = recv_some(&x);
		if (g < 0) {
			rc = g == -EILSEQ ? 1 : fail(x.c, "receive", g);
			goto out;
		}
		if (s || g) {
			last_progress = 0;
			idle = 0;
			continue;
		}
		/* nothing moved */
		if (x.block) {
			r = iface_client_wait(x.c, 5000);
			if (r < 0) {
				rc = fail(x.c, "waiting for echoes", r);
				goto out;
			}
		} else if (++idle % WATCH_EVERY == 0) {
			uint64_t now = ex_now_ns();

			if (!last_progress)
				last_progress = now;
			else if (now - last_progress > WATCH_NS) {
				rc = fail(x.c, "no echo for 5 s", -ETIMEDOUT);
				goto out;
			}
		}
	}
	t1 = ex_now_ns();
	if (!quiet) {
		double s = (double)(t1 - t0) / 1e9;

		printf("ok: %" PRIu64 " messages of %u bytes checked in %.3f s "
		       "(%s, batch %u, window %u): %.0f msg/s, %.1f MB/s each way\n",
		       x.count, x.size, s, x.block ? "block" : "spin", x.batch,
		       x.window, (double)x.count / s,
		       (double)x.count * x.size / s / 1e6);
		ex_print_percentiles("round trip", x.rtt, x.count);
	}
	rc = 0;
out:
	free(x.rtt);
	free(x.msg);
	free(x.buf);
	iface_client_close(x.c);
	return rc;
}

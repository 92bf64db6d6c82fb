/* SPDX-License-Identifier: MIT */
/*
 * memenpsf-cost: the software cost of a libiface round trip beside
 * libipcq's, with no cache line crossing cores: one thread plays both
 * sides. A client sends a 64-byte message, the server's dispatch delivers
 * it to on_message, which copies it out, the server sends it back, the
 * client receives it; then the same with two bare rings (push, pop, push,
 * pop). Each side first finds its ring empty once, as a spinning side of
 * a ping-pong does (a polled ring's next look is then the one libiface
 * makes for a first message). Prints ns per round trip for both and the
 * difference: what
 * libiface's calls add, without the line transfers and the poll spacing
 * that make memenpsf-bench's two-process figures swing on a shared host.
 * Then the cost of one look at an empty ring: the server's dispatch(0)
 * with its client's ring polled, the client's recv, and a bare ipcq_pop:
 * what a spinning side spends between two looks (a message that arrives
 * waits half of it on average, and the whole of it at worst).
 * Under `valgrind --tool=callgrind` the same runs give instructions per
 * round trip (divide the functions' inclusive counts by the count).
 *
 *   memenpsf-cost [--count N] [--repeat N]
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <memenpsf/iface.h>
#include <memenpsf/ipcq.h>

#include "spawn.h"

#define ELEM 64

struct cost {
	char dir[TOOL_DIR_MAX], path[TOOL_PATH_MAX];
	struct iface_server *srv;
	struct iface_client *cl;
	struct iface_conn *conn;
	unsigned long got;
	int connect_err;
	int connect_done; /* the connector thread has returned */
	unsigned char rx[ELEM];
};

static int on_connect(struct iface_conn *c, void *user)
{
	struct cost *k = user;

	if (k->conn)
		return 1;
	k->conn = c;
	return 0;
}

static void on_message(struct iface_conn *c, const struct iface_msg *msgs,
		       unsigned n, void *user)
{
	struct cost *k = user;

	(void)c;
	for (unsigned i = 0; i < n; i++)
		memcpy(k->rx, msgs[i].data, msgs[i].len);
	k->got += n;
}

/* iface_client_connect blocks until the handshake is done, which needs the
 * server's dispatch: it runs on a thread while this one dispatches. */
static void *connector(void *arg)
{
	struct cost *k = arg;
	struct iface_client_config cc = { .path = k->path,
					  .elem_size = ELEM,
					  .timeout_ms = 5000 };
	struct iface_reason why = { 0 };

	k->connect_err = iface_client_connect(&k->cl, &cc, &why);
	__atomic_store_n(&k->connect_done, 1, __ATOMIC_RELEASE);
	return NULL;
}

static int setup(struct cost *k)
{
	struct iface_server_config cfg = {
		.elem_size = ELEM,
		.capacity = 1024,
		.max_clients = 1,
		.spin = INT_MAX, /* polled, never armed: no system calls */
		.cb = { .on_connect = on_connect, .on_message = on_message },
		.user = k,
	};
	pthread_t th;
	int r;

	r = tool_sock_dir("cost", k->dir, k->path);
	if (r < 0)
		return r;
	cfg.path = k->path;
	r = iface_server_create(&k->srv, &cfg);
	if (r < 0)
		return r;
	r = -pthread_create(&th, NULL, connector, k);
	if (r < 0)
		return r;
	/* until the client's connect returns, whatever it returns */
	while (!__atomic_load_n(&k->connect_done, __ATOMIC_ACQUIRE) && r >= 0)
		r = iface_server_dispatch(k->srv, 10);
	pthread_join(th, NULL);
	if (r < 0)
		return r;
	if (k->connect_err == 0 && !k->conn)
		return -EPROTO;
	return k->connect_err;
}

/* n libiface round trips; ns per round trip, or -errno */
static double __attribute__((noinline)) /* --toggle-collect=iface_rtts */
iface_rtts(struct cost *k, long n)
{
	unsigned char msg[ELEM] = { 1 }, back[ELEM];
	uint64_t t0 = tool_now_ns();
	ssize_t r;

	for (long i = 0; i < n; i++) {
		unsigned long seen = k->got;

		/* each side looks at its ring once before its message is
		 * there, as a spinning side of a ping-pong does */
		if ((r = iface_server_dispatch(k->srv, 0)) != 0)
			return r < 0 ? (double)r : -EPROTO;
		msg[1] = (unsigned char)i;
		if ((r = iface_client_send(k->cl, msg, ELEM)) < 0)
			return (double)r;
		while (k->got == seen)
			if ((r = iface_server_dispatch(k->srv, 0)) < 0)
				return (double)r;
		if ((r = iface_client_recv(k->cl, back, ELEM)) != -EAGAIN)
			return r < 0 ? (double)r : -EPROTO;
		if ((r = iface_conn_send(k->conn, k->rx, ELEM)) < 0)
			return (double)r;
		if ((r = iface_client_recv(k->cl, back, ELEM)) != ELEM)
			return r < 0 ? (double)r : -EPROTO;
		if (back[1] != msg[1])
			return -EBADMSG;
	}
	return (double)(tool_now_ns() - t0) / (double)n;
}

/* n polls of an empty ring: the server's dispatch(0) with its client's
 * ring polled (cfg.spin INT_MAX: never armed), and the client's recv;
 * ns per poll of each in *srv and *cl; 0 or -errno. Not inlined, so that
 * callgrind's --toggle-collect=iface_polls counts these rounds alone. */
static int __attribute__((noinline))
iface_polls(struct cost *k, long n, double *srv, double *cl)
{
	unsigned char back[ELEM];
	uint64_t t0 = tool_now_ns(), t1;
	int r;

	for (long i = 0; i < n; i++)
		if ((r = iface_server_dispatch(k->srv, 0)) != 0)
			return r < 0 ? r : -EPROTO;
	t1 = tool_now_ns();
	for (long i = 0; i < n; i++)
		if ((r = (int)iface_client_recv(k->cl, back, ELEM)) != -EAGAIN)
			return r < 0 ? r : -EPROTO;
	*srv = (double)(t1 - t0) / (double)n;
	*cl = (double)(tool_now_ns() - t1) / (double)n;
	return 0;
}

/* a consumer's end of a ring made here: export and attach in-process */
static int pair(struct ipcq **p, struct ipcq **c)
{
	struct ipcq_config cfg = { .elem_size = ELEM, .capacity = 1024 };
	int fds[IPCQ_NFDS], r;

	r = ipcq_create(p, &cfg, IPCQ_PRODUCER);
	if (r == 0)
		r = ipcq_export(*p, fds);
	if (r < 0)
		return r;
	for (int i = 0; i < IPCQ_NFDS; i++)
		fds[i] = dup(fds[i]); /* ipcq_attach takes them */
	return ipcq_attach(c, fds, IPCQ_CONSUMER, NULL);
}

/* n polls of an empty bare ring (ns each in *poll), then n bare-ring
 * round trips; ns per round trip, or -errno. Not inlined, for
 * --toggle-collect=ipcq_rtts. */
static double __attribute__((noinline)) ipcq_rtts(long n, double *poll)
{
	unsigned char msg[ELEM] = { 1 }, mid[ELEM], back[ELEM];
	struct ipcq *ap = NULL, *ac = NULL, *bp = NULL, *bc = NULL;
	double ns = -EPROTO;
	uint64_t t0;
	int r;

	if ((r = pair(&ap, &ac)) < 0 || (r = pair(&bp, &bc)) < 0) {
		ns = r;
		goto out;
	}
	t0 = tool_now_ns();
	for (long i = 0; i < n; i++)
		if (ipcq_pop(ac, mid) != -EAGAIN)
			goto out;
	*poll = (double)(tool_now_ns() - t0) / (double)n;
	t0 = tool_now_ns();
	for (long i = 0; i < n; i++) {
		msg[1] = (unsigned char)i;
		if (ipcq_pop(ac, mid) != -EAGAIN || ipcq_push(ap, msg) < 0 ||
		    ipcq_pop(ac, mid) < 0 || ipcq_pop(bc, back) != -EAGAIN ||
		    ipcq_push(bp, mid) < 0 || ipcq_pop(bc, back) < 0 ||
		    back[1] != msg[1])
			goto out;
	}
	ns = (double)(tool_now_ns() - t0) / (double)n;
out:
	ipcq_close(ap);
	ipcq_close(ac);
	ipcq_close(bp);
	ipcq_close(bc);
	return ns;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: memenpsf-cost [--count N] [--repeat N]\n"
		"One thread plays client and server: ns per 64-byte round trip\n"
		"through libiface (send, dispatch + on_message, send back, recv)\n"
		"and through two bare libipcq rings, each side finding its\n"
		"ring empty once first, and the difference; then ns\n"
		"per look at an empty ring (server dispatch, client recv, ipcq_pop).\n"
		"No line crosses cores: this is the libraries' own work. Run it under\n"
		"valgrind --tool=callgrind for instruction counts.\n"
		"  --count N   round trips per measurement (default 2000000)\n"
		"  --repeat N  measurements, the median printed (default 5)\n");
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "count", required_argument, NULL, 'n' },
		{ "repeat", required_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	double fi[15], fq[15], ps[15], pc[15], pq[15];
	struct cost k = { .connect_err = 0 };
	long count = 2000000, repeat = 5;
	int o, r, rc = 1;

	while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		char *end = NULL;
		long v;

		if (o == 'h') {
			usage(stdout);
			return 0;
		}
		if (o != 'n' && o != 'r') {
			usage(stderr);
			return 2;
		}
		errno = 0;
		v = strtol(optarg, &end, 10);
		if (errno || !end || *end || v < 1 ||
		    (o == 'r' && v > 15) || (o == 'n' && v > 1000000000L)) {
			fprintf(stderr, "memenpsf-cost: bad --%s %s\n",
				o == 'n' ? "count" : "repeat", optarg);
			return 2;
		}
		if (o == 'n')
			count = v;
		else
			repeat = v;
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	r = setup(&k);
	if (r < 0) {
		fprintf(stderr, "memenpsf-cost: setting up the channel: %s\n",
			strerror(-r));
		goto out;
	}
	for (long i = 0; i < repeat; i++) {
		fi[i] = iface_rtts(&k, count);
		fq[i] = ipcq_rtts(count, &pq[i]);
		if (fi[i] < 0 || fq[i] < 0) {
			fprintf(stderr, "memenpsf-cost: a round trip failed: %s\n",
				strerror((int)-(fi[i] < 0 ? fi[i] : fq[i])));
			goto out;
		}
		r = iface_polls(&k, count, &ps[i], &pc[i]);
		if (r < 0) {
			fprintf(stderr, "memenpsf-cost: an empty poll failed: %s\n",
				strerror(-r));
			goto out;
		}
	}
	qsort(fi, (size_t)repeat, sizeof(fi[0]), cmp_d);
	qsort(fq, (size_t)repeat, sizeof(fq[0]), cmp_d);
	qsort(ps, (size_t)repeat, sizeof(ps[0]), cmp_d);
	qsort(pc, (size_t)repeat, sizeof(pc[0]), cmp_d);
	qsort(pq, (size_t)repeat, sizeof(pq[0]), cmp_d);
	printf("one-thread 64 B round trip (median of %ld x %ld):\n"
	       "  libiface %.1f ns   libipcq %.1f ns   libiface adds %.1f ns\n"
	       "a poll of an empty ring:\n"
	       "  server dispatch %.1f ns   client recv %.1f ns   ipcq_pop %.1f ns\n",
	       repeat, count, fi[repeat / 2], fq[repeat / 2],
	       fi[repeat / 2] - fq[repeat / 2], ps[repeat / 2],
	       pc[repeat / 2], pq[repeat / 2]);
	rc = 0;
out:
	iface_client_close(k.cl);
	iface_server_destroy(k.srv);
	if (k.dir[0])
		rmdir(k.dir);
	return rc;
}

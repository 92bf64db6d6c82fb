/* SPDX-License-Identifier: MIT */
/*
 * memenpsf-hostile: the throughput of 8 good clients of one libiface echo
 * server, without and then with a hostile client next to them that
 * rewrites its rings at random (tools/hostile.c), is dropped, connects
 * again at once and starts over, for the whole run. Each good client does
 * --n checked round trips (window 256, 64-byte messages); the figure is
 * all their round trips over the time from the common start to the last
 * one's end. Prints both, the ratio, and how often the hostile one was
 * dropped. Separate processes: the server, the 8, the hostile one.
 *
 *   memenpsf-hostile [--n N] [--clients K] [--repeat R]
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <poll.h>
#include <time.h>
#include <unistd.h>

#include <memenpsf/iface.h>

#include "hostile.h"
#include "spawn.h"

#define ELEM 64u
#define WINDOW 256u
#define NCODES 5 /* HOSTILE_ codes */

struct msg {
	uint64_t seq;
	uint64_t who;
	uint64_t pad[5];
	uint64_t sum;
};
_Static_assert(sizeof(struct msg) == ELEM, "one slot");

static uint64_t sum_of(const struct msg *m)
{
	return (m->seq * 0x9e3779b97f4a7c15ull) ^ (m->who + 0x1234567);
}

/* A good client keeps fewer than a ring's worth in flight, so a send to it
 * never finds the ring full; one that fails goes to a client on its way
 * out (or to the hostile one), and is simply not echoed. */
static void on_message(struct iface_conn *c, const struct iface_msg *msgs,
		       unsigned n, void *user)
{
	uint64_t *unsent = user;

	for (unsigned i = 0; i < n; i++)
		if (msgs[i].len == ELEM &&
		    iface_conn_send(c, msgs[i].data, ELEM) < 0)
			(*unsent)++;
}

/* One good client: connect, say ready, wait for go, n checked round trips;
 * writes its end time (0: failed) to res. */
static int good(const char *path, uint64_t who, uint64_t n, int ready, int go,
		int res)
{
	struct iface_client_config cc = { .path = path, .elem_size = ELEM,
					  .timeout_ms = 30000 };
	struct iface_client *c;
	uint64_t sent = 0, got = 0, end = 0;
	char b;

	if (iface_client_connect(&c, &cc, NULL) < 0)
		goto out;
	if (write(ready, "r", 1) != 1 || read(go, &b, 1) != 1)
		goto close;
	while (got < n) {
		struct msg m;
		ssize_t r;

		while (sent < n && sent - got < WINDOW) {
			memset(&m, 0, sizeof(m));
			m.seq = sent;
			m.who = who;
			m.sum = sum_of(&m);
			if (iface_client_send(c, &m, sizeof(m)) < 0)
				break;
			sent++;
		}
		r = iface_client_recv(c, &m, sizeof(m));
		if (r == -EAGAIN) {
			if (iface_client_wait(c, 10000) < 0)
				goto close;
			continue;
		}
		if (r != ELEM || m.seq != got || m.who != who ||
		    m.sum != sum_of(&m))
			goto close;
		got++;
	}
	end = tool_now_ns();
close:
	iface_client_close(c);
out:
	return write(res, &end, sizeof(end)) == sizeof(end) && end ? 0 : 1;
}

/* Hostile clients one after another until stop is readable; writes how
 * many ended with each HOSTILE_ code to res. */
static int hostile_loop(const char *path, int stop, int res)
{
	struct pollfd pf = { .fd = stop, .events = POLLIN };
	uint64_t counts[NCODES] = { 0 }, seed = 1;

	while (poll(&pf, 1, 0) == 0) {
		int r = hostile_rewriter(path, seed++, 100000);

		counts[r >= 0 && r < NCODES ? r : HOSTILE_OTHER]++;
	}
	return write(res, counts, sizeof(counts)) == sizeof(counts) ? 0 : 1;
}

/* One run: k good clients of n round trips, with or without the hostile
 * one. Returns round trips per second, 0 on failure. */
static double run(const char *path, unsigned k, uint64_t n, int hostile,
		  uint64_t drops[NCODES])
{
	int ready[2], go[2], res[2], stop[2], hres[2];
	pid_t kids[64], h = -1;
	uint64_t start, last = 0;
	double rate = 0;
	char b;

	if (pipe(ready) || pipe(go) || pipe(res) || pipe(stop) || pipe(hres))
		return 0;
	for (unsigned i = 0; i < k; i++) {
		kids[i] = fork();
		if (kids[i] == 0)
			_exit(good(path, i + 1, n, ready[1], go[0], res[1]));
	}
	for (unsigned i = 0; i < k; i++)
		if (read(ready[0], &b, 1) != 1)
			goto out;
	if (hostile) {
		h = fork();
		if (h == 0)
			_exit(hostile_loop(path, stop[0], hres[1]));
	}
	start = tool_now_ns();
	for (unsigned i = 0; i < k; i++)
		if (write(go[1], "g", 1) != 1)
			goto out;
	for (unsigned i = 0; i < k; i++) {
		uint64_t end;

		if (read(res[0], &end, sizeof(end)) != sizeof(end) || !end)
			goto out;
		if (end > last)
			last = end;
	}
	rate = (double)k * (double)n / ((double)(last - start) / 1e9);
out:
	if (write(stop[1], "s", 1) != 1)
		rate = 0;
	if (h > 0) {
		if (read(hres[0], drops, NCODES * sizeof(*drops)) !=
		    (ssize_t)(NCODES * sizeof(*drops)))
			rate = 0;
		waitpid(h, NULL, 0);
	}
	for (unsigned i = 0; i < k; i++)
		waitpid(kids[i], NULL, 0);
	close(ready[0]);
	close(ready[1]);
	close(go[0]);
	close(go[1]);
	close(res[0]);
	close(res[1]);
	close(stop[0]);
	close(stop[1]);
	close(hres[0]);
	close(hres[1]);
	return rate;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	static uint64_t unsent; /* the server's: echoes it could not send */
	struct iface_server_config scfg = { .elem_size = ELEM,
					    .cb.on_message = on_message,
					    .user = &unsent };
	static const struct option lo[] = {
		{ "n", required_argument, NULL, 'n' },
		{ "clients", required_argument, NULL, 'k' },
		{ "repeat", required_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	char dir[TOOL_DIR_MAX], path[TOOL_PATH_MAX];
	unsigned k = 8, repeat = 3;
	uint64_t n = 200000, drops[NCODES] = { 0 };
	double quiet[16], loud[16];
	int o, rc = 1;
	pid_t spid;

	while ((o = getopt_long(argc, argv, "n:k:r:h", lo, NULL)) != -1) {
		switch (o) {
		case 'n':
			n = strtoull(optarg, NULL, 10);
			break;
		case 'k':
			k = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'r':
			repeat = (unsigned)strtoul(optarg, NULL, 10);
			break;
		default:
			printf("usage: %s [--n N (200000 round trips per "
			       "client)] [--clients K (8)] [--repeat R (3, "
			       "medians; alternating runs)]\n",
			       argv[0]);
			return o == 'h' ? 0 : 2;
		}
	}
	if (!n || !k || k > 64 || !repeat || repeat > 16)
		return 2;
	if (tool_sock_dir("hostile", dir, path) < 0)
		return 1;
	signal(SIGPIPE, SIG_IGN);
	scfg.path = path;
	spid = tool_server_spawn(&scfg);
	if (spid < 0)
		goto out;
	/* alternate, so that the machine's drift hits both alike */
	for (unsigned i = 0; i < repeat; i++) {
		quiet[i] = run(path, k, n, 0, NULL);
		loud[i] = run(path, k, n, 1, drops);
		if (!quiet[i] || !loud[i]) {
			fprintf(stderr, "memenpsf-hostile: run %u failed\n", i);
			goto stop;
		}
		printf("run %u: without %.0f rt/s, with %.0f rt/s (%.3f); "
		       "hostile connections: %llu dropped as corrupt within "
		       "100000 random writes, %llu only at the certain lie "
		       "after, %llu not dropped, %llu dropped for another "
		       "reason, %llu failed to connect\n",
		       i, quiet[i], loud[i], loud[i] / quiet[i],
		       (unsigned long long)drops[HOSTILE_DROPPED],
		       (unsigned long long)drops[HOSTILE_DROPPED_LIE],
		       (unsigned long long)drops[HOSTILE_NOT_DROPPED],
		       (unsigned long long)drops[HOSTILE_OTHER],
		       (unsigned long long)drops[HOSTILE_CONNECT]);
	}
	qsort(quiet, repeat, sizeof(double), cmp_d);
	qsort(loud, repeat, sizeof(double), cmp_d);
	printf("%u good clients x %llu round trips, medians of %u: without "
	       "the hostile client %.0f rt/s, with it %.0f rt/s: %.1f%%\n",
	       k, (unsigned long long)n, repeat, quiet[repeat / 2],
	       loud[repeat / 2], 100 * loud[repeat / 2] / quiet[repeat / 2]);
	rc = 0;
stop:
	kill(spid, SIGTERM);
	waitpid(spid, NULL, 0);
out:
	rmdir(dir);
	return rc;
}

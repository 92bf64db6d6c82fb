/* SPDX-License-Identifier: MIT */
/*
 * memenpsf-flood: how long a legitimate client takes to connect (connect
 * and handshake, iface_client_connect) to a libiface server with default
 * limits, without and then with a flood running: another process that
 * opens connections as fast as the server's backlog takes them and never
 * completes a handshake (tools/flood.c). Three processes: the server, the
 * flood, and this one, the legitimate client. Prints both figures and
 * their ratio; the figure is for reading, nothing here asserts a time.
 *
 *   memenpsf-flood [--tries N] [--ready-after N] [--max-pending N]
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <memenpsf/iface.h>

#include "flood.h"
#include "spawn.h"

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* tries legitimate connects; times in ns into t[]. 0 or -errno. */
static int legit(const char *path, unsigned tries, uint64_t *t)
{
	struct iface_client_config cc = { .path = path, .timeout_ms = 30000 };

	for (unsigned i = 0; i < tries; i++) {
		struct iface_reason why = { 0 };
		struct iface_client *c;
		uint64_t t0 = tool_now_ns();
		int r = iface_client_connect(&c, &cc, &why);

		t[i] = tool_now_ns() - t0;
		if (r < 0) {
			fprintf(stderr, "memenpsf-flood: connect: %s (%s)\n",
				strerror(-r), why.text);
			return r;
		}
		iface_client_close(c);
	}
	return 0;
}

static void report(const char *label, uint64_t *t, unsigned n)
{
	qsort(t, n, sizeof(*t), cmp_u64);
	printf("%-10s median %8.1f us  p90 %8.1f us  max %8.1f us  (%u)\n",
	       label, t[n / 2] / 1e3, t[n * 9 / 10] / 1e3, t[n - 1] / 1e3, n);
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "tries", required_argument, NULL, 't' },
		{ "ready-after", required_argument, NULL, 'r' },
		{ "max-pending", required_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	unsigned tries = 200, max_pending = 0;
	unsigned long ready_after = 5000;
	char dir[TOOL_DIR_MAX], path[TOOL_PATH_MAX];
	uint64_t *quiet, *loud;
	struct flood_stats st = { 0 };
	struct iface_server_config scfg = { 0 };
	int o, rc = 1, stop[2], ready[2], res[2];
	pid_t spid, fpid = -1;
	char b;

	while ((o = getopt_long(argc, argv, "t:r:p:h", lo, NULL)) != -1) {
		switch (o) {
		case 't':
			tries = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'r':
			ready_after = strtoul(optarg, NULL, 10);
			break;
		case 'p':
			max_pending = (unsigned)strtoul(optarg, NULL, 10);
			break;
		default:
			printf("usage: %s [--tries N (200)] [--ready-after N "
			       "(5000 flood connections before measuring)] "
			       "[--max-pending N (server default)]\n",
			       argv[0]);
			return o == 'h' ? 0 : 2;
		}
	}
	if (!tries || tries > 1000000)
		return 2;
	quiet = calloc(tries, sizeof(*quiet));
	loud = calloc(tries, sizeof(*loud));
	if (!quiet || !loud || tool_sock_dir("flood", dir, path) < 0) {
		free(quiet);
		free(loud);
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	scfg.path = path;
	scfg.max_pending = max_pending;
	spid = tool_server_spawn(&scfg);
	if (spid < 0)
		goto out;
	if (legit(path, tries, quiet) < 0)
		goto stop_server;
	if (pipe(stop) < 0 || pipe(ready) < 0 || pipe(res) < 0)
		goto stop_server;
	fpid = fork();
	if (fpid == 0) {
		close(stop[1]);
		close(ready[0]);
		close(res[0]);
		_exit(flood_run(path, stop[0], ready[1], ready_after, res[1]));
	}
	close(stop[0]);
	close(ready[1]);
	close(res[1]);
	if (fpid < 0 || read(ready[0], &b, 1) != 1 || b != 'f') {
		fprintf(stderr, "memenpsf-flood: the flood did not start\n");
		goto stop_flood;
	}
	if (legit(path, tries, loud) < 0)
		goto stop_flood;
	rc = 0;
stop_flood:
	close(stop[1]);
	if (read(res[0], &st, sizeof(st)) != (ssize_t)sizeof(st))
		rc = 1;
	if (fpid > 0)
		waitpid(fpid, NULL, 0);
	close(ready[0]);
	close(res[0]);
stop_server:
	kill(spid, SIGTERM);
	waitpid(spid, NULL, 0);
out:
	if (rc == 0) {
		uint64_t qm, lm;

		printf("legitimate client: connect + handshake to a server "
		       "with max_pending %u\n", max_pending ? max_pending : 16);
		report("no flood", quiet, tries);
		qm = quiet[tries / 2];
		report("flood", loud, tries);
		lm = loud[tries / 2];
		printf("flood/no flood (medians): %.2fx\n", (double)lm / qm);
		printf("flood: %llu connections opened (fd limit %llu, at most "
		       "%llu open at once, backlog full %llu times), %llu "
		       "accepted, %llu dropped as busy, %llu refused, %llu "
		       "closed\n",
		       (unsigned long long)st.opened,
		       (unsigned long long)st.fd_limit,
		       (unsigned long long)st.max_open,
		       (unsigned long long)st.full,
		       (unsigned long long)st.hello,
		       (unsigned long long)st.busy,
		       (unsigned long long)st.refused,
		       (unsigned long long)st.closed);
	}
	rmdir(dir);
	free(quiet);
	free(loud);
	return rc;
}

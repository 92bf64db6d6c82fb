/* SPDX-License-Identifier: MIT */
/*
 * ipc-typed: a typed channel. The element is a C struct (a sequence number
 * and time stamps); IFACE_DEFINE_TYPE gives typed wrappers and a type id
 * (a hash of the type's name and size) that both sides demand, so a program
 * built with another layout is refused with a reason instead of reading
 * garbage.
 *
 *   ipc-typed server [--socket PATH]            echo ticks, time-stamped
 *   ipc-typed client [--socket PATH] [--count N] [--type-name NAME]
 *
 * The server prints "ready PATH" first, one line per connect / disconnect,
 * and a summary on SIGINT / SIGTERM. The client checks every echo (its own
 * sequence, the server's per-client count) and prints the one-way latency
 * each way; exit status 0 only when every tick came back right.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <memenpsf/iface.h>

#include "common.h"

struct tick {
	uint64_t seq;      /* client's, from 1 */
	uint64_t t_ns;     /* client's send time (CLOCK_MONOTONIC) */
	uint64_t srv_ns;   /* server's receive time */
	uint64_t srv_seq;  /* server's per-client count, from 1 */
};

#define TICK_NAME "memenpsf example tick v1"
IFACE_DEFINE_TYPE(tick, struct tick, TICK_NAME)

static void usage(FILE *f)
{
	fprintf(f,
		"usage: ipc-typed server [--socket PATH]\n"
		"       ipc-typed client [--socket PATH] [--count N] [--type-name NAME]\n"
		"A typed channel of struct tick {seq, t_ns, srv_ns, srv_seq}.\n"
		"  --socket PATH      socket path (default: the library's default path)\n"
		"  --count N          ticks the client sends (default 100000)\n"
		"  --type-name NAME   type name the client hashes into its type id\n"
		"                     (default \"" TICK_NAME "\"; another is refused)\n"
		"  --help             this text\n"
		"Exit status 0 only when every tick was checked.\n");
}

/* ---- server ----------------------------------------------------------------- */

static struct iface_server *g_server;
static uint64_t g_clients, g_ticks, g_bad;

static void on_signal(int sig)
{
	(void)sig;
	iface_server_stop(g_server);
}

static int srv_connect(struct iface_conn *c, void *user)
{
	uint64_t *count = calloc(1, sizeof(*count));

	(void)user;
	if (!count)
		return -1;
	iface_conn_set_user(c, count);
	g_clients++;
	printf("connect id=%" PRIu64 " pid=%d\n", iface_conn_id(c),
	       (int)iface_conn_pid(c));
	return 0;
}

static void srv_message(struct iface_conn *c, const struct iface_msg *msgs,
			unsigned n, void *user)
{
	uint64_t *count = iface_conn_user(c), now = ex_now_ns();

	(void)user;
	for (unsigned i = 0; i < n; i++) {
		struct tick t;

		if (tick_get(&msgs[i], &t) < 0 || t.seq != *count + 1) {
			g_bad++;
			iface_conn_close(c, IFACE_R_PROTOCOL,
					 "tick out of sequence");
			return;
		}
		++*count;
		t.srv_ns = now;
		t.srv_seq = *count;
		g_ticks++;
		/* never blocks; the client keeps at most a ring's worth in
		 * flight, so this only fails for a misbehaving client */
		if (tick_conn_send(c, &t) < 0) {
			iface_conn_close(c, IFACE_R_PROTOCOL,
					 "more ticks in flight than the ring holds");
			return;
		}
	}
}

static void srv_disconnect(struct iface_conn *c, const struct iface_reason *why,
			   void *user)
{
	(void)user;
	printf("disconnect id=%" PRIu64 " reason=%u (%s) ticks=%" PRIu64 "\n",
	       iface_conn_id(c), why->code, why->text,
	       *(uint64_t *)iface_conn_user(c));
	free(iface_conn_user(c));
}

static int serve(const char *path)
{
	struct iface_server_config cfg = { .path = path };
	struct sigaction sa = { 0 };
	int r;

	r = tick_server_config(&cfg);
	if (r < 0)
		return fprintf(stderr, "ipc-typed: type id: %s\n", strerror(-r)), 1;
	cfg.cb.on_connect = srv_connect;
	cfg.cb.on_message = srv_message;
	cfg.cb.on_disconnect = srv_disconnect;
	r = iface_server_create(&g_server, &cfg);
	if (r < 0) {
		fprintf(stderr, "ipc-typed: cannot listen on %s: %s\n",
			path ? path : "the default path", strerror(-r));
		return 1;
	}
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	printf("ready %s\n", iface_server_path(g_server));
	r = iface_server_run(g_server);
	iface_server_destroy(g_server);
	printf("summary: clients=%" PRIu64 " ticks=%" PRIu64 " bad=%" PRIu64
	       "%s%s\n",
	       g_clients, g_ticks, g_bad, r < 0 ? " error=" : "",
	       r < 0 ? strerror(-r) : "");
	return r < 0 ? 1 : 0;
}

/* ---- client ----------------------------------------------------------------- */

#define BATCH 32

static int client(const char *path, uint64_t count, const char *type_name)
{
	struct iface_client_config cfg = { .path = path };
	struct iface_client *c = NULL;
	struct iface_reason why;
	struct tick out[BATCH], in[BATCH];
	uint32_t *up = NULL, *down = NULL;
	uint64_t sent = 0, recvd = 0, window, t0;
	int r, rc = 1;

	cfg.elem_size = (uint32_t)sizeof(struct tick);
	r = ipcq_type_id(cfg.type_id, type_name, cfg.elem_size);
	if (r < 0)
		return fprintf(stderr, "ipc-typed: type id: %s\n", strerror(-r)), 1;
	r = iface_client_connect(&c, &cfg, &why);
	if (r < 0) {
		fprintf(stderr, "ipc-typed: cannot connect: %s%s%s\n",
			strerror(-r), why.code ? ": " : "", why.text);
		return 1;
	}
	window = iface_client_capacity(c);
	up = malloc(count * sizeof(*up));
	down = malloc(count * sizeof(*down));
	if (!up || !down) {
		fprintf(stderr, "ipc-typed: out of memory\n");
		goto out;
	}
	t0 = ex_now_ns();
	while (recvd < count) {
		uint64_t want = count - sent, room = window - (sent - recvd);
		int moved = 0;

		if (want > room)
			want = room;
		if (want > BATCH)
			want = BATCH;
		if (want) {
			uint64_t now = ex_now_ns();

			for (unsigned i = 0; i < want; i++)
				out[i] = (struct tick){ .seq = sent + 1 + i,
							.t_ns = now };
			r = tick_send_n(c, out, (unsigned)want);
			if (r < 0 && r != -EAGAIN) {
				fprintf(stderr, "ipc-typed: send: %s\n",
					strerror(-r));
				goto out;
			}
			if (r > 0) {
				sent += (unsigned)r;
				moved = 1;
			}
		}
		r = tick_recv_n(c, in, BATCH);
		if (r < 0 && r != -EAGAIN) {
			iface_client_reason(c, &why);
			fprintf(stderr, "ipc-typed: receive: %s%s%s\n",
				strerror(-r), why.code ? ": " : "", why.text);
			goto out;
		}
		for (int i = 0; i < r; i++) {
			uint64_t now = ex_now_ns();

			if (in[i].seq != recvd + 1 || in[i].srv_seq != recvd + 1) {
				fprintf(stderr,
					"ipc-typed: bad echo #%" PRIu64 ": seq %" PRIu64
					" srv_seq %" PRIu64 "\n",
					recvd + 1, in[i].seq, in[i].srv_seq);
				goto out;
			}
			up[recvd] = (uint32_t)(in[i].srv_ns - in[i].t_ns);
			down[recvd] = (uint32_t)(now - in[i].srv_ns);
			recvd++;
			moved = 1;
		}
		if (!moved) {
			r = iface_client_wait(c, 5000);
			if (r < 0) {
				fprintf(stderr, "ipc-typed: waiting: %s\n",
					strerror(-r));
				goto out;
			}
		}
	}
	printf("ok: %" PRIu64 " ticks of %zu bytes checked in %.3f s\n", count,
	       sizeof(struct tick), (double)(ex_now_ns() - t0) / 1e9);
	ex_print_percentiles("client->server", up, count);
	ex_print_percentiles("server->client", down, count);
	rc = 0;
out:
	free(up);
	free(down);
	iface_client_close(c);
	return rc;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "count", required_argument, NULL, 'n' },
		{ "type-name", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *path = NULL, *type_name = TICK_NAME;
	uint64_t count = 100000;
	int opt;

	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 's':
			path = optarg;
			break;
		case 'n':
			count = ex_number("--count", optarg, 1, 100000000);
			break;
		case 't':
			type_name = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN);
	if (optind + 1 == argc && !strcmp(argv[optind], "server"))
		return serve(path);
	if (optind + 1 == argc && !strcmp(argv[optind], "client"))
		return client(path, count, type_name);
	usage(stderr);
	return 2;
}

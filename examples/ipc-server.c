/* SPDX-License-Identifier: MIT */
/*
 * ipc-server: serve many clients at once over libiface. Each message is
 * echoed back to its sender with the server's per-client sequence number
 * written into it (see common.h for the layout). One line per connect and
 * disconnect; SIGINT / SIGTERM end it gracefully (BYE to every client,
 * socket path removed) with a summary.
 *
 * The first line on stdout is "ready PATH" once the server listens, so a
 * script can wait for it (or pass --ready-fd N to get the same line on fd N).
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

struct client_state {
	uint64_t srv_seq;
	uint32_t stride, elem; /* the conn's slots, fixed for its life */
};

struct totals {
	uint64_t clients, refused, msgs, bytes, drops, full;
	int quiet;
	unsigned char *scratch;
	uint32_t elem_size;
};

static struct iface_server *g_server;

static void on_signal(int sig)
{
	(void)sig;
	iface_server_stop(g_server); /* async-signal-safe */
}

static int on_connect(struct iface_conn *c, void *user)
{
	struct totals *t = user;
	struct client_state *cs = calloc(1, sizeof(*cs));

	if (!cs)
		return -1; /* refused: the client reads "refused by the server" */
	cs->stride = iface_conn_stride(c);
	cs->elem = iface_conn_elem_size(c);
	iface_conn_set_user(c, cs);
	t->clients++;
	if (!t->quiet)
		printf("connect id=%" PRIu64 " pid=%d\n", iface_conn_id(c),
		       (int)iface_conn_pid(c));
	return 0;
}

/* The echo of m: its bytes at dst, the client's count stamped in. */
static void echo_into(unsigned char *dst, const struct iface_msg *m,
		      struct client_state *cs)
{
	memcpy(dst, m->data, m->len);
	if (m->len >= EX_ECHO_MIN) {
		uint64_t s = ++cs->srv_seq;

		memcpy(dst + offsetof(struct ex_echo_hdr, srv_seq), &s,
		       sizeof(s));
	}
}

/* Echo each message. Runs of whole-slot messages are written straight into
 * reserved slots of the client's ring and published together (one commit
 * for a run: zero-copy, one publish); any other length is copied and sent.
 * Never blocks: when the ring is full the rest go through iface_conn_send,
 * whose full policy drops and counts them (--drop) or counts them as full,
 * so a client that overruns its own window loses echoes rather than
 * stalling the others (the reserve that found the ring full counts as one
 * more time it was full). */
static void on_message(struct iface_conn *c, const struct iface_msg *msgs,
		       unsigned n, void *user)
{
	struct totals *t = user;
	struct client_state *cs = iface_conn_user(c);
	uint32_t stride = cs->stride, elem = cs->elem;
	int zc = 1;

	for (unsigned i = 0; i < n;) {
		unsigned run = 0;
		int r;

		while (zc && i + run < n && msgs[i + run].len == elem)
			run++;
		if (run) {
			unsigned char *first;

			r = iface_conn_reserve(c, run, (void **)&first);
			if (r > 0) {
				for (int k = 0; k < r; k++)
					echo_into(first + (size_t)k * stride,
						  &msgs[i + (unsigned)k], cs);
				r = iface_conn_commit(c, (unsigned)r) ? -EINVAL
								      : r;
				if (r > 0) {
					i += (unsigned)r;
					continue;
				}
			}
			if (r != -EAGAIN) {
				iface_conn_close(c, IFACE_R_PROTOCOL,
						 strerror(-r));
				return;
			}
			zc = 0; /* full: the rest by the full policy */
		}
		echo_into(t->scratch, &msgs[i], cs);
		r = iface_conn_send(c, t->scratch, msgs[i].len);
		if (r < 0 && r != -EAGAIN) {
			iface_conn_close(c, IFACE_R_PROTOCOL, strerror(-r));
			return;
		}
		i++;
	}
}

static void on_disconnect(struct iface_conn *c, const struct iface_reason *why,
			  void *user)
{
	struct totals *t = user;
	struct iface_stats st;

	iface_conn_stats(c, &st);
	t->msgs += st.rx_msgs;
	t->bytes += st.rx_bytes;
	t->drops += st.drops;
	t->full += st.full;
	if (!t->quiet)
		printf("disconnect id=%" PRIu64 " pid=%d reason=%u (%s) rx=%" PRIu64
		       " tx=%" PRIu64 " drops=%" PRIu64 " full=%" PRIu64 "\n",
		       iface_conn_id(c), (int)iface_conn_pid(c), why->code,
		       why->text, st.rx_msgs, st.tx_msgs, st.drops, st.full);
	free(iface_conn_user(c));
}

static void on_refused(const struct iface_cred *cred,
		       const struct iface_reason *why, void *user)
{
	struct totals *t = user;

	t->refused++;
	/* one line per refusal, also when quiet: it is the security log */
	printf("refused pid=%d reason=%u (%s)\n", (int)cred->pid, why->code,
	       why->text);
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: ipc-server [options]\n"
		"Echo every message back to its client, with a server sequence number.\n"
		"  --socket PATH       socket path (default: the library's default path)\n"
		"  --elem-size BYTES   slot size (default 256)\n"
		"  --capacity N        slots per ring, a power of two (default 1024)\n"
		"  --max-clients N     most clients at once (default 64)\n"
		"  --handshake-ms MS   drop a client silent that long (default 2000)\n"
		"  --drop              drop echoes to a full ring (default: count only)\n"
		"  --key-file FILE     require clients to prove this pre-shared key\n"
		"                      (0600, 32 bytes or 64 hex digits); the server\n"
		"                      proves it back. Refused clients are printed\n"
		"                      one line each, also with --quiet\n"
		"  --spin N            dispatch rounds an idle client's ring is polled\n"
		"                      before the server may sleep (default 2000; 0: none)\n"
		"  --ready-fd N        also write the \"ready PATH\" line to fd N\n"
		"  --quiet             no per-client lines (refusals still print)\n"
		"  --help              this text\n"
		"Stops on SIGINT/SIGTERM: BYE to every client, summary, exit 0.\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "elem-size", required_argument, NULL, 'e' },
		{ "capacity", required_argument, NULL, 'c' },
		{ "max-clients", required_argument, NULL, 'm' },
		{ "handshake-ms", required_argument, NULL, 'H' },
		{ "drop", no_argument, NULL, 'd' },
		{ "spin", required_argument, NULL, 'S' },
		{ "key-file", required_argument, NULL, 'k' },
		{ "ready-fd", required_argument, NULL, 'r' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct iface_server_config cfg = { 0 };
	struct totals t = { 0 };
	struct sigaction sa = { 0 };
	int ready_fd = -1, opt, r;

	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 's':
			cfg.path = optarg;
			break;
		case 'e':
			cfg.elem_size = (uint32_t)ex_number("--elem-size", optarg, 1,
							    IPCQ_MAX_ELEM_SIZE);
			break;
		case 'c':
			cfg.capacity = (uint32_t)ex_number("--capacity", optarg, 2,
							   IPCQ_MAX_CAPACITY);
			break;
		case 'm':
			cfg.max_clients = (unsigned)ex_number("--max-clients",
							      optarg, 1, 100000);
			break;
		case 'H':
			cfg.handshake_timeout_ms = (int)ex_number(
				"--handshake-ms", optarg, 1, 3600000);
			break;
		case 'd':
			cfg.full_policy = IFACE_FULL_DROP;
			break;
		case 'S':
			/* 0 here means none; in the config it means default */
			cfg.spin = (int)ex_number("--spin", optarg, 0, 100000000);
			if (!cfg.spin)
				cfg.spin = -1;
			break;
		case 'k':
			cfg.key_file = optarg;
			break;
		case 'r':
			ready_fd = (int)ex_number("--ready-fd", optarg, 0, 1 << 20);
			break;
		case 'q':
			t.quiet = 1;
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
	setvbuf(stdout, NULL, _IOLBF, 0);
	cfg.cb.on_connect = on_connect;
	cfg.cb.on_message = on_message;
	cfg.cb.on_disconnect = on_disconnect;
	cfg.cb.on_refused = on_refused;
	cfg.user = &t;

	r = iface_server_create(&g_server, &cfg);
	if (r < 0 && cfg.key_file) {
		fprintf(stderr, "ipc-server: cannot start on %s with key file %s: %s\n",
			cfg.path ? cfg.path : "the default path", cfg.key_file,
			strerror(-r));
		return 1;
	}
	if (r < 0) {
		fprintf(stderr, "ipc-server: cannot listen on %s: %s\n",
			cfg.path ? cfg.path : "the default path", strerror(-r));
		return 1;
	}
	t.elem_size = cfg.elem_size ? cfg.elem_size : 256;
	t.scratch = malloc(t.elem_size);
	if (!t.scratch) {
		iface_server_destroy(g_server);
		return 1;
	}
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	printf("ready %s\n", iface_server_path(g_server));
	if (ready_fd >= 0) {
		dprintf(ready_fd, "ready %s\n", iface_server_path(g_server));
		close(ready_fd);
	}
	r = iface_server_run(g_server);
	iface_server_destroy(g_server); /* BYE to all, path removed */
	free(t.scratch);
	printf("summary: clients=%" PRIu64 " msgs=%" PRIu64 " bytes=%" PRIu64
	       " drops=%" PRIu64 " full=%" PRIu64 " refused=%" PRIu64 "%s%s\n",
	       t.clients, t.msgs, t.bytes, t.drops, t.full, t.refused,
	       r < 0 ? " error=" : "", r < 0 ? strerror(-r) : "");
	return r < 0 ? 1 : 0;
}

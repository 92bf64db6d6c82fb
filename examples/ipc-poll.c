/* SPDX-License-Identifier: MIT */
/*
 * ipc-poll: libiface inside your own event loop. One poll() watches stdin
 * and iface_client_fd(); each line read from stdin goes to ipc-server, and
 * each echo comes back through the on_message callback, which
 * iface_client_dispatch() calls when the fd is readable.
 *
 *   ipc-server --socket /tmp/s &  printf 'a\nb\n' | ipc-poll --socket /tmp/s
 *
 * Prints "echo N srv=S rtt=R us: LINE" per echo. At end of input it waits
 * for the last echoes and exits 0 when every line came back intact; 1 when
 * the server went away first (with its reason) or an echo was wrong.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <memenpsf/iface.h>

#include "common.h"

struct state {
	uint64_t sent, echoed;
	uint64_t *sums;   /* digest of each line in flight, by seq % window */
	uint64_t window;  /* most lines in flight: the ring's capacity */
	int bad, gone;
	struct iface_reason why;
};

/* A line's digest (FNV-1a over its length and bytes): what the echo must
 * bring back. */
static uint64_t digest(const void *p, size_t len)
{
	const unsigned char *b = p;
	uint64_t h = 0xcbf29ce484222325ull ^ len;

	for (size_t i = 0; i < len; i++)
		h = (h ^ b[i]) * 0x100000001b3ull;
	return h;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: ipc-poll [--socket PATH]\n"
		"Send each line of stdin to ipc-server and print its echo, from one\n"
		"poll() loop over stdin and iface_client_fd().\n"
		"  --socket PATH   socket path (default: the library's default path)\n"
		"  --help          this text\n"
		"Exit status 0 only when every line was echoed intact.\n");
}

static void on_message(struct iface_client *c, const struct iface_msg *msgs,
		       unsigned n, void *user)
{
	struct state *st = user;

	(void)c;
	for (unsigned i = 0; i < n; i++) {
		const char *p = msgs[i].data;
		const char *line = p + EX_ECHO_MIN;
		uint32_t len = msgs[i].len - EX_ECHO_MIN;
		struct ex_echo_hdr h;

		if (msgs[i].len < EX_ECHO_MIN) {
			fprintf(stderr, "ipc-poll: a %u-byte echo\n", msgs[i].len);
			st->bad = 1;
			return;
		}
		memcpy(&h, p, sizeof(h));
		if (h.seq != st->echoed + 1) {
			fprintf(stderr, "ipc-poll: echo %" PRIu64 " out of order\n",
				h.seq);
			st->bad = 1;
			return;
		}
		if (digest(line, len) != st->sums[(h.seq - 1) % st->window]) {
			fprintf(stderr, "ipc-poll: echo %" PRIu64 " is not the line sent\n",
				h.seq);
			st->bad = 1;
			return;
		}
		st->echoed++;
		printf("echo %" PRIu64 " srv=%" PRIu64 " rtt=%.1f us: %.*s\n",
		       h.seq, h.srv_seq, (double)(ex_now_ns() - h.t_ns) / 1e3,
		       (int)len, line);
	}
}

static void on_disconnect(struct iface_client *c, const struct iface_reason *why,
			  void *user)
{
	struct state *st = user;

	(void)c;
	st->gone = 1;
	st->why = *why;
}

/* Send one line (without its newline) behind an echo header. */
static int send_line(struct iface_client *c, struct state *st,
		     const char *line, size_t len, unsigned char *msg)
{
	uint32_t cap = iface_client_elem_size(c) - EX_ECHO_MIN;
	struct ex_echo_hdr h = { .seq = st->sent + 1, .t_ns = ex_now_ns() };
	int r;

	if (len > cap) {
		fprintf(stderr, "ipc-poll: line cut to %u bytes (the slot size)\n",
			cap);
		len = cap;
	}
	memcpy(msg, &h, sizeof(h));
	memcpy(msg + EX_ECHO_MIN, line, len);
	/* the ring toward the server holds a slot's worth of lines; when it
	 * is full, waiting a little is fine for an interactive tool */
	r = iface_client_send_wait(c, msg, EX_ECHO_MIN + len, 5000);
	if (r == 0)
		st->sums[st->sent++ % st->window] = digest(line, len);
	return r;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct iface_client_config cfg = { 0 };
	struct iface_client *c;
	struct iface_reason why;
	struct state st = { 0 };
	char in[4096];
	size_t have = 0;
	unsigned char *msg;
	int eof = 0, opt, r, rc = 1;
	uint64_t idle_since = 0, last_echoed = 0;

	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 's':
			cfg.path = optarg;
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
	signal(SIGPIPE, SIG_IGN);
	cfg.cb.on_message = on_message;
	cfg.cb.on_disconnect = on_disconnect;
	cfg.user = &st;
	r = iface_client_connect(&c, &cfg, &why);
	if (r < 0) {
		fprintf(stderr, "ipc-poll: cannot connect: %s%s%s\n", strerror(-r),
			why.code ? ": " : "", why.text);
		return 1;
	}
	if (iface_client_elem_size(c) <= EX_ECHO_MIN) {
		fprintf(stderr, "ipc-poll: the server's slots are too small\n");
		iface_client_close(c);
		return 1;
	}
	st.window = iface_client_capacity(c);
	st.sums = calloc(st.window, sizeof(*st.sums));
	msg = malloc(iface_client_elem_size(c));
	if (!msg || !st.sums) {
		fprintf(stderr, "ipc-poll: out of memory\n");
		goto out;
	}

	while (!st.gone && !st.bad && !(eof && !have && st.echoed == st.sent)) {
		/* Send the whole lines we have while fewer than a ring's worth
		 * are in flight (ipc-server drops echoes to a full ring); a
		 * last line without newline at EOF, or a line longer than the
		 * buffer, goes as it is. */
		for (;;) {
			char *nl = memchr(in, '\n', have);
			size_t len, used;

			if (st.sent - st.echoed >= st.window)
				break;
			if (!nl && !(have && (eof || have == sizeof(in))))
				break;
			len = nl ? (size_t)(nl - in) : have;
			used = nl ? len + 1 : len;
			r = send_line(c, &st, in, len, msg);
			if (r < 0) {
				fprintf(stderr, "ipc-poll: send: %s\n",
					strerror(-r));
				goto out;
			}
			memmove(in, in + used, have - used);
			have -= used;
		}
		/* read more only when no whole line is waiting */
		int want_in = !eof && !memchr(in, '\n', have) && have < sizeof(in);
		struct pollfd p[2] = {
			{ .fd = iface_client_fd(c), .events = POLLIN },
			{ .fd = want_in ? STDIN_FILENO : -1, .events = POLLIN },
		};

		r = poll(p, 2, 1000);
		if (r < 0 && errno != EINTR) {
			perror("ipc-poll: poll");
			goto out;
		}
		if (p[0].revents & POLLIN) {
			r = iface_client_dispatch(c, 0);
			if (r < 0 && r != -EPIPE) {
				fprintf(stderr, "ipc-poll: dispatch: %s\n",
					strerror(-r));
				goto out;
			}
		}
		if (p[1].revents & (POLLIN | POLLHUP)) {
			ssize_t n = read(STDIN_FILENO, in + have,
					 sizeof(in) - have);

			if (n < 0 && errno != EINTR) {
				perror("ipc-poll: stdin");
				goto out;
			}
			if (n == 0)
				eof = 1;
			if (n > 0)
				have += (size_t)n;
		}
		/* echoes owed but none for 5 s: give up */
		if (st.sent != st.echoed && st.echoed == last_echoed) {
			if (!idle_since)
				idle_since = ex_now_ns();
			else if (ex_now_ns() - idle_since > 5000000000ull) {
				fprintf(stderr, "ipc-poll: no echo for 5 s\n");
				goto out;
			}
		} else {
			idle_since = 0;
		}
		last_echoed = st.echoed;
	}
	if (st.gone && (!eof || st.echoed != st.sent)) {
		fprintf(stderr, "ipc-poll: the server went away: %s\n", st.why.text);
		goto out;
	}
	rc = st.bad;
	fprintf(stderr, "ipc-poll: %" PRIu64 " lines sent, %" PRIu64 " echoed\n",
		st.sent, st.echoed);
out:
	free(msg);
	free(st.sums);
	iface_client_close(c);
	return rc;
}

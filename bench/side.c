/* SPDX-License-Identifier: MIT */
/*
 * One side of a case, in its own exec'd process. Side A drives every phase;
 * side B answers. The timing and the checking of every message are here,
 * the same for every transport.
 *
 *   round trips: A sends seq 2i, B checks it and answers 2i + 1, A checks;
 *                A times each round trip; A ends with END | 2i.
 *   throughput:  A sends 0, 1, 2 ... (batches of --batch when the transport
 *                takes them) for the duration, then END | n; B checks each
 *                one and acknowledges the end; A's clock stops at the ack.
 *   idle:        B waits for one message that A sends after idle_ns; B's
 *                CPU time (getrusage) over that wait is the idle cost.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

#define MAX_SAMPLES (4u << 20) /* round trips kept when bounded by time */
#define CHECK_EVERY 64         /* bursts between two looks at the clock */

static const char *phase = "setup";

static int fail(const struct side *s, const char *what, int err)
{
	fprintf(stderr, "memenpsf-bench: %s %zu B, side %c, %s: %s%s%s\n",
		s->t->name, s->size, s->role, phase, what, err ? ": " : "",
		err ? strerror(-err) : "");
	return -1;
}

static int bad_msg(const struct side *s, const void *m, uint64_t expect)
{
	char why[200];

	msg_explain(m, s->size, expect, why, sizeof(why));
	fprintf(stderr, "memenpsf-bench: %s %zu B, side %c, %s: bad message: %s\n",
		s->t->name, s->size, s->role, phase, why);
	return -1;
}

static int send_one(struct side *s, uint64_t seq)
{
	void *base;
	size_t stride;
	int n = s->t->tx_get(s, 1, &base, &stride);

	if (n < 0)
		return fail(s, "send", n);
	msg_fill(base, s->size, seq);
	n = s->t->tx_put(s, 1);
	return n < 0 ? fail(s, "send", n) : 0;
}

/* Receive one message; 0 when it is expect, 1 when it is END | expect. */
static int recv_one(struct side *s, uint64_t expect)
{
	const void *base;
	size_t stride;
	enum msg_verdict v;
	int n = s->t->rx(s, 1, &base, &stride);

	if (n < 0)
		return fail(s, "receive", n);
	if (n != 1)
		return fail(s, "receive: more messages than asked for", 0);
	v = msg_check(base, s->size, expect);
	if (v == MSG_BAD)
		return bad_msg(s, base, expect);
	n = s->t->rx_done(s, 1);
	if (n < 0)
		return fail(s, "receive", n);
	return v == MSG_IS_END;
}

static int rtt_a(struct side *s, const struct side_params *p,
		 struct side_result *res)
{
	uint64_t i = 0, k, cap, t, t_prev, t_end, *samples;
	int r;

	phase = "warm-up";
	t_end = now_ns() + p->warmup_ns;
	do {
		if (send_one(s, 2 * i) < 0 || recv_one(s, 2 * i + 1) != 0)
			return -1;
		i++;
	} while (now_ns() < t_end);

	phase = "round trips";
	cap = p->count ? p->count : MAX_SAMPLES;
	samples = malloc(cap * sizeof(*samples));
	if (!samples)
		return fail(s, "samples", -ENOMEM);
	memset(samples, 0, cap * sizeof(*samples)); /* fault the pages in now */
	t_prev = now_ns();
	t_end = t_prev + p->duration_ns;
	for (k = 0; k < cap;) {
		if (send_one(s, 2 * i) < 0 || recv_one(s, 2 * i + 1) != 0) {
			free(samples);
			return -1;
		}
		i++;
		t = now_ns();
		samples[k++] = t - t_prev;
		t_prev = t;
		if (!p->count && t >= t_end)
			break;
	}
	r = send_one(s, MSG_END | (2 * i));
	stats_compute(samples, k, &res->rtt);
	free(samples);
	res->has_rtt = 1;
	return r;
}

/* Side B's own work between a request and its answer (--work): dependent
 * multiply-adds from the request's seq; the answer's stores retire after
 * them, as a server's answer comes after what it computed. */
static void work(const struct side *s, uint64_t seq)
{
	uint64_t x = seq;

	for (unsigned i = 0; i < s->work; i++)
		x = x * 0x5851f42d4c957f2dULL + 0x14057b7ef767814fULL;
	__asm__ __volatile__("" : : "r"(x)); /* used: the loop stays */
}

/* side_answer_fn: see bench.h */
static int answer(struct side *s, const void *msg, void *reply)
{
	enum msg_verdict v = msg_check(msg, s->size, s->expect);

	if (v == MSG_BAD) {
		bad_msg(s, msg, s->expect);
		return -EBADMSG;
	}
	if (v == MSG_IS_END)
		return 1;
	work(s, s->expect);
	msg_fill(reply, s->size, s->expect + 1);
	s->expect += 2;
	return 0;
}

static int rtt_b(struct side *s)
{
	uint64_t i;
	int r;

	phase = "round trips";
	if (s->t->rx_answer) {
		s->expect = 0;
		while ((r = s->t->rx_answer(s, answer)) == 0)
			;
		if (r == -EBADMSG)
			return -1; /* reported by answer() */
		return r < 0 ? fail(s, "receive", r) : 0;
	}
	for (i = 0;; i++) {
		r = recv_one(s, 2 * i);
		if (r != 0)
			return r < 0 ? -1 : 0;
		work(s, 2 * i);
		if (send_one(s, 2 * i + 1) < 0)
			return -1;
	}
}

/* Send n messages from seq on, in bursts as large as the transport takes. */
static int send_burst(struct side *s, uint64_t *seq, unsigned want)
{
	void *base;
	size_t stride;
	int n, k;

	n = s->t->tx_get(s, want, &base, &stride);
	if (n < 0)
		return fail(s, "send", n);
	if (n == 0 || (unsigned)n > want)
		return fail(s, "send: transport gave a bad count", 0);
	for (k = 0; k < n; k++)
		msg_fill((char *)base + (size_t)k * stride, s->size, *seq + k);
	k = s->t->tx_put(s, (unsigned)n);
	if (k < 0)
		return fail(s, "send", k);
	*seq += (uint64_t)n;
	return 0;
}

static int tput_a(struct side *s, const struct side_params *p,
		  struct side_result *res)
{
	unsigned want = (s->t->flags & T_BATCH) ? s->batch : 1;
	uint64_t seq = 0, seq0, t0, t_end, left;
	unsigned j;

	phase = "throughput warm-up";
	t_end = now_ns() + p->warmup_ns;
	do {
		for (j = 0; j < CHECK_EVERY; j++)
			if (send_burst(s, &seq, want) < 0)
				return -1;
	} while (now_ns() < t_end);

	phase = "throughput";
	seq0 = seq;
	t0 = now_ns();
	t_end = t0 + p->duration_ns;
	if (p->count) {
		while ((left = p->count - (seq - seq0)) > 0)
			if (send_burst(s, &seq, left < want ? (unsigned)left :
							      want) < 0)
				return -1;
	} else {
		do {
			for (j = 0; j < CHECK_EVERY; j++)
				if (send_burst(s, &seq, want) < 0)
					return -1;
		} while (now_ns() < t_end);
	}
	if (send_one(s, MSG_END | seq) < 0)
		return -1;
	phase = "throughput acknowledgement";
	if (recv_one(s, MSG_END | seq) != 0)
		return -1;
	res->tput_ns = now_ns() - t0;
	res->tput_msgs = seq - seq0;
	res->has_tput = 1;
	return 0;
}

static int tput_b(struct side *s)
{
	unsigned max = (s->t->flags & T_BATCH) ? s->batch : 1;
	uint64_t expect = 0;
	const void *base;
	size_t stride;
	int n, k, end = 0;

	phase = "throughput";
	while (!end) {
		n = s->t->rx(s, max, &base, &stride);
		if (n < 0)
			return fail(s, "receive", n);
		if (n == 0 || (unsigned)n > max)
			return fail(s, "receive: transport gave a bad count", 0);
		for (k = 0; k < n; k++) {
			const void *m = (const char *)base + (size_t)k * stride;
			enum msg_verdict v = msg_check(m, s->size, expect);

			if (v == MSG_OK && !end) {
				expect++;
				continue;
			}
			if (v == MSG_IS_END && !end) {
				end = 1;
				continue;
			}
			return bad_msg(s, m, end ? expect + 1 : expect);
		}
		k = s->t->rx_done(s, (unsigned)n);
		if (k < 0)
			return fail(s, "receive", k);
	}
	phase = "throughput acknowledgement";
	return send_one(s, MSG_END | expect);
}

static uint64_t cpu_ns(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ((uint64_t)ru.ru_utime.tv_sec + (uint64_t)ru.ru_stime.tv_sec) *
		       1000000000u +
	       ((uint64_t)ru.ru_utime.tv_usec + (uint64_t)ru.ru_stime.tv_usec) *
		       1000u;
}

/* The idle ring: A waits idle_ns (this sleep makes the idle time, it
 * synchronises nothing), sends one message, and waits for B's answer. */
static int idle_a(struct side *s, const struct side_params *p)
{
	struct timespec ts = {
		.tv_sec = (time_t)(p->idle_ns / 1000000000u),
		.tv_nsec = (long)(p->idle_ns % 1000000000u),
	};

	phase = "idle";
	while (clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, &ts) == EINTR)
		;
	if (send_one(s, 0) < 0)
		return -1;
	return recv_one(s, 1) == 0 ? 0 : -1;
}

static int idle_b(struct side *s, struct side_result *res)
{
	uint64_t c0, w0;

	phase = "idle";
	c0 = cpu_ns();
	w0 = now_ns();
	if (recv_one(s, 0) != 0)
		return -1;
	res->idle_wall_ns = now_ns() - w0;
	res->idle_cpu_ns = cpu_ns() - c0;
	res->has_idle = 1;
	return send_one(s, 1);
}

/* ---- the exec'd side's command line -------------------------------------- */

static int parse_u64(const char *v, uint64_t *out)
{
	char *end;

	errno = 0;
	*out = strtoull(v, &end, 10);
	return (errno || end == v || *end) ? -1 : 0;
}

static int parse_params(int argc, char **argv, struct side_params *p)
{
	int i;
	uint64_t v;

	memset(p, 0, sizeof(*p));
	p->cpu = -1;
	p->result_fd = -1;
	for (i = 2; i < argc; i++) {
		char *eq = strchr(argv[i], '=');
		const char *k = argv[i], *val;

		if (!eq)
			return -1;
		*eq = '\0';
		val = eq + 1;
		if (strcmp(k, "t") == 0) {
			p->t = bench_transport(val);
			if (!p->t)
				return -1;
			continue;
		}
		if (strcmp(k, "role") == 0) {
			if (strcmp(val, "A") && strcmp(val, "B"))
				return -1;
			p->role = val[0];
			continue;
		}
		if (strcmp(k, "fds") == 0) {
			char *tok, *save = NULL;

			for (tok = strtok_r(eq + 1, ",", &save); tok;
			     tok = strtok_r(NULL, ",", &save)) {
				if (p->nfds == BENCH_MAX_FDS ||
				    parse_u64(tok, &v) || v > 1u << 20)
					return -1;
				p->fds[p->nfds++] = (int)v;
			}
			continue;
		}
		if (strcmp(k, "cpu") == 0) {
			if (strcmp(val, "-1") == 0)
				continue;
			if (parse_u64(val, &v) || v >= CPU_SETSIZE)
				return -1;
			p->cpu = (int)v;
			continue;
		}
		if (parse_u64(val, &v))
			return -1;
		if (strcmp(k, "size") == 0)
			p->size = (size_t)v;
		else if (strcmp(k, "batch") == 0)
			p->batch = (unsigned)v;
		else if (strcmp(k, "res") == 0)
			p->result_fd = (int)v;
		else if (strcmp(k, "count") == 0)
			p->count = v;
		else if (strcmp(k, "dur") == 0)
			p->duration_ns = v;
		else if (strcmp(k, "warm") == 0)
			p->warmup_ns = v;
		else if (strcmp(k, "idle") == 0)
			p->idle_ns = v;
		else if (strcmp(k, "corrupt") == 0)
			p->corrupt_seq = v;
		else if (strcmp(k, "work") == 0 && v <= BENCH_MAX_WORK)
			p->work = (unsigned)v;
		else if (strcmp(k, "timeout") == 0)
			p->timeout_s = (unsigned)v;
		else
			return -1;
	}
	if (!p->t || !p->role || p->size < BENCH_MIN_SIZE ||
	    p->size > BENCH_MAX_SIZE || p->result_fd < 0 || p->batch == 0)
		return -1;
	return 0;
}

int side_main(int argc, char **argv)
{
	struct side_params p;
	struct side_result res;
	struct side s;
	int i, r = -1;

	if (parse_params(argc, argv, &p) < 0) {
		fprintf(stderr, "memenpsf-bench: bad --side arguments (internal)\n");
		return 2;
	}
	/* die with the parent; never outlive a stuck case */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() == 1)
		return 2;
	alarm(p.timeout_s ? p.timeout_s : 300);
	signal(SIGPIPE, SIG_IGN);
	/* A sends every even seq and the throughput phase; B answers with
	 * the odd ones: an odd SEQ is damaged by both, the first one to send
	 * it fails the run (B's answers come from rx_answer where a transport
	 * has it) */
	msg_corrupt_seq = p.role == 'A' || (p.corrupt_seq & 1) ? p.corrupt_seq
							       : 0;

	memset(&s, 0, sizeof(s));
	s.t = p.t;
	s.role = p.role;
	s.size = p.size;
	s.batch = p.batch;
	s.work = p.work;
	s.nfds = p.nfds;
	for (i = 0; i < p.nfds; i++) {
		s.fds[i] = p.fds[i];
		/* inherited on purpose; nothing we start later may get it */
		if (fcntl(s.fds[i], F_SETFD, FD_CLOEXEC) < 0) {
			fail(&s, "inherited descriptor", -errno);
			return 2;
		}
	}
	if (p.cpu >= 0) {
		cpu_set_t set;

		CPU_ZERO(&set);
		CPU_SET(p.cpu, &set);
		if (sched_setaffinity(0, sizeof(set), &set) < 0)
			fail(&s, "pinning (continuing unpinned)", -errno);
	}

	memset(&res, 0, sizeof(res));
	res.magic = SIDE_RESULT_MAGIC;
	res.role = p.role;
	i = s.t->open(&s);
	if (i < 0) {
		fail(&s, "open", i);
		goto out;
	}
	if (!(s.t->flags & T_NO_RTT) &&
	    (p.role == 'A' ? rtt_a(&s, &p, &res) : rtt_b(&s)) < 0)
		goto out_close;
	if (!(s.t->flags & T_NO_TPUT) &&
	    (p.role == 'A' ? tput_a(&s, &p, &res) : tput_b(&s)) < 0)
		goto out_close;
	if ((s.t->flags & T_IDLE) && p.idle_ns &&
	    (p.role == 'A' ? idle_a(&s, &p) : idle_b(&s, &res)) < 0)
		goto out_close;
	if (tp_write_all(p.result_fd, &res, sizeof(res)) < 0) {
		fail(&s, "writing the result", -errno);
		goto out_close;
	}
	r = 0;
out_close:
	s.t->close(&s);
out:
	tp_close_fds(s.fds, s.nfds);
	close(p.result_fd);
	return r < 0 ? 1 : 0;
}

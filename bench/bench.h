/* SPDX-License-Identifier: MIT */
/*
 * memenpsf-bench: private declarations shared by the benchmark's files.
 *
 * One case = one transport at one message size, run by two processes that the
 * parent forks and execs (the same binary, with the hidden "--side" role).
 * Side A drives: warm-up, round trips, throughput; side B echoes and
 * receives. Each transport is a small vtable (struct transport) in a t-*.c
 * file that registers itself; the harness (side.c) does all the timing and
 * all the message checking, identically for every transport.
 */
#ifndef MEMENPSF_BENCH_H
#define MEMENPSF_BENCH_H

#include <stddef.h>
#include <stdint.h>

#define BENCH_MAX_FDS 8
#define BENCH_MAX_TRANSPORTS 32
#define BENCH_MAX_SIZES 16
#define BENCH_MIN_SIZE 16           /* seq in the first 8 bytes, hash in the last 8 */
#define BENCH_MAX_SIZE (16u << 20)

/* ---- messages (msg.c) ----------------------------------------------------
 * The sender writes seq in the first 8 bytes and a hash of seq in the last 8;
 * the receiver checks both. The end of a phase is seq | MSG_END. */
#define MSG_END (UINT64_C(1) << 63)

enum msg_verdict { MSG_OK = 0, MSG_IS_END = 1, MSG_BAD = -1 };

void msg_fill(void *buf, size_t size, uint64_t seq);
enum msg_verdict msg_check(const void *buf, size_t size, uint64_t expect);
/* Describe why buf is not message expect (for the error line). */
void msg_explain(const void *buf, size_t size, uint64_t expect, char *out,
		 size_t outlen);
uint64_t msg_hash(uint64_t seq);
/* Test hook: the sender corrupts the message whose seq is this (0: never). */
extern uint64_t msg_corrupt_seq;

/* ---- transports (transport.c + t-*.c) ------------------------------------ */

/* Transport flags */
#define T_SPIN     0x01u /* a spinning transport (compared to floor-line) */
#define T_SLEEP    0x02u /* a sleeping one (compared to floor-eventfd) */
#define T_NO_RTT   0x04u /* round trips not measured */
#define T_NO_TPUT  0x08u /* throughput not measured */
#define T_BATCH    0x10u /* moves up to --batch messages per call */
#define T_IDLE     0x20u /* report the idle consumer's CPU use */

/* One process's end of a case, built by the transport's open() from the
 * descriptors the parent's setup() made (or from a socket it got). */
struct side {
	const struct transport *t;
	int role;     /* 'A' or 'B' */
	size_t size;  /* message bytes */
	unsigned batch;
	int fds[BENCH_MAX_FDS];
	int nfds;
	void *priv;   /* the transport's state */
	uint64_t expect; /* side B's round trips: the next seq (rx_answer) */
	unsigned work;   /* side B's own work per answer (--work) */
};

/* Side B's answer to a round-trip message (side.c), for rx_answer: 0 when
 * msg is s->expect (reply filled with the next seq), 1 when it is the end
 * (no reply), -EBADMSG when it is neither (reported on stderr). */
typedef int (*side_answer_fn)(struct side *s, const void *msg, void *reply);

/*
 * A transport. setup() runs in the parent and fills fds_a / fds_b with the
 * descriptors each side inherits (CLOEXEC; the launcher clears the flag on
 * exactly these in the child); the parent closes them after the fork.
 * open() runs in the side's process after exec. The data path:
 *   tx_get(want) -> n buffers (base + k * stride) to fill, n in 1..want;
 *   tx_put(n)    -> send them (blocking or spinning, per transport);
 *   rx(max)      -> n received messages at base + k * stride, 1..max;
 *   rx_done(n)   -> give them back.
 * All return 0 / a count, or -errno (-EPIPE when the peer is gone).
 */
struct transport {
	const char *name;
	const char *desc;
	int order;       /* rows are printed in this order */
	unsigned flags;
	/* NULL: every size. Else 0 when size is fine, -1 to list the case as
	 * skipped with why filled, -2 to leave it out (does not apply). */
	int (*supported)(size_t size, char *why, size_t whylen);
	int (*setup)(size_t size, int *fds_a, int *nfds_a, int *fds_b,
		     int *nfds_b);
	int (*open)(struct side *s);
	int (*tx_get)(struct side *s, unsigned want, void **base,
		      size_t *stride);
	int (*tx_put)(struct side *s, unsigned n);
	int (*rx)(struct side *s, unsigned max, const void **base,
		  size_t *stride);
	int (*rx_done)(struct side *s, unsigned n);
	/* Optional, side B's round trips: receive the next message and answer
	 * it from where the transport first holds it (libiface: inside
	 * on_message, as an application answers), with answer() checking it
	 * and filling the reply. 0 answered, 1 the end, -errno. Without it
	 * side B answers with rx, rx_done, tx_get, tx_put. */
	int (*rx_answer)(struct side *s, side_answer_fn answer);
	void (*close)(struct side *s);
};

void bench_register(const struct transport *t);
#define BENCH_TRANSPORT(t)                                                    \
	__attribute__((constructor)) static void register_##t(void)           \
	{                                                                      \
		bench_register(&(t));                                          \
	}
/* Registered transports in print order. */
unsigned bench_transports(const struct transport **out, unsigned max);
const struct transport *bench_transport(const char *name);

/* Helpers for transports (transport.c) */
int tp_memfd(size_t len);                /* sized CLOEXEC memfd, or -errno */
void *tp_map(int fd, size_t len);        /* shared mapping or NULL */
int tp_write_all(int fd, const void *buf, size_t len);
int tp_read_all(int fd, void *buf, size_t len);
/* A private buffer of n messages of size bytes, 64-byte aligned. */
void *tp_alloc(size_t size, unsigned n);
void tp_close_fds(int *fds, int n);
int tp_dup(int fd);                      /* CLOEXEC duplicate, or -errno */

/* ---- statistics (stats.c) ------------------------------------------------ */
struct rtt_stats {
	uint64_t n, p50, p99, p999, max, min;
	/* the mean of the samples up to p99 (ns): a clock that steps by
	 * 10 ns quantizes p50, not a mean of many samples taken at random
	 * phases; above p99 are the interrupts and preemptions */
	double tmean;
};
/* Sorts v in place. n == 0 gives all zeros. */
void stats_compute(uint64_t *v, uint64_t n, struct rtt_stats *out);
/* The q-quantile (0..1) of sorted v by the nearest-rank method. */
uint64_t stats_quantile(const uint64_t *v, uint64_t n, double q);

/* Sort n doubles, ascending. */
void stats_sort_double(double *v, unsigned n);
/* The median of each figure of runs[0..n-1] (n >= 1, one case run n times)
 * into out: the lower middle value when n is even. A case skipped or not
 * measured in runs[0] stays so; a case failed in any run is that run. */
struct case_result;
void stats_median_case(struct case_result *out,
		       const struct case_result *runs, unsigned n);
#define BENCH_MAX_REPEAT 15

/* ---- options (opts.c) ---------------------------------------------------- */
enum out_format { OUT_MD, OUT_CSV, OUT_JSON };

struct opts {
	size_t sizes[BENCH_MAX_SIZES];
	unsigned nsizes;
	const struct transport *only[BENCH_MAX_TRANSPORTS];
	unsigned nonly;          /* 0: all */
	uint64_t count;          /* 0: bounded by duration */
	uint64_t duration_ns;    /* per measurement */
	uint64_t warmup_ns;
	uint64_t idle_ns;
	unsigned batch;
	unsigned repeat;         /* sweeps; each figure the median of them */
	int pin;
	int quick;
	int strict;
	int progress;
	enum out_format fmt;
	uint64_t corrupt_seq;
	unsigned work;           /* B's work per answer: multiply-adds */
};
#define BENCH_MAX_WORK 100000

/* Parse argv (not the hidden --side form). 0, 1 when the program should exit
 * 0 (help/list shown), -EINVAL with the reason on stderr. */
int opts_parse(struct opts *o, int argc, char **argv);
int opts_parse_sizes(const char *s, size_t *sizes, unsigned *n);

/* ---- what a side reports (side.c writes it, run.c reads it) -------------- */
struct side_result {
	uint32_t magic;
	int32_t role;
	int32_t has_rtt, has_tput, has_idle;
	struct rtt_stats rtt;
	uint64_t tput_msgs, tput_ns;
	uint64_t idle_cpu_ns, idle_wall_ns;
};
#define SIDE_RESULT_MAGIC 0x62656e63u

/* Per-side parameters, passed on the command line of the exec'd side. */
struct side_params {
	int role;
	const struct transport *t;
	size_t size;
	unsigned batch;
	int cpu;                 /* -1: not pinned */
	int result_fd;
	int fds[BENCH_MAX_FDS];
	int nfds;
	uint64_t count, duration_ns, warmup_ns, idle_ns;
	uint64_t corrupt_seq;
	unsigned work;           /* opts.work */
	unsigned timeout_s;      /* the side kills itself after this */
};

/* side.c: the body of an exec'd side; returns the process exit code. */
int side_main(int argc, char **argv);

/* ---- one case, seen from the parent (run.c) ------------------------------ */
struct case_result {
	const struct transport *t;
	size_t size;
	int skipped;
	int failed;   /* the case failed (why says how; details on stderr) */
	char why[128];
	int has_rtt, has_tput, has_idle;
	struct rtt_stats rtt;
	double msgs_per_s, mb_per_s;
	double idle_cpu_pct, idle_wall_s;
};

/* Fork + exec both sides of one case and collect their results.
 * idle: also measure the idle consumer (transports with T_IDLE).
 * 0, 1 when the case does not apply (no row), or -1 after printing why
 * the case failed (out->failed set, out->why in short). */
int run_case(const struct opts *o, const struct transport *t, size_t size,
	     const int cpus[2], int idle, struct case_result *out);
/* Pick two CPUs to pin to: 0 and fills cpus, or -1 (fewer than two). */
int pick_cpus(int cpus[2]);

/* ---- output (report.c, sysinfo.c) ---------------------------------------- */
struct machine {
	char cpu[128];
	int online, usable;
	char kernel[3 * 65 + 8];
	double load1;
	double clock_ns;  /* cost of one now_ns() call */
	char cmdline[512];
};
void machine_probe(struct machine *m, int argc, char **argv);

void report_md(const struct opts *o, const struct machine *m, int pinned,
	       const int cpus[2], const struct case_result *r, unsigned n);
void report_csv(const struct case_result *r, unsigned n);
void report_json(const struct case_result *r, unsigned n);
/* The sweeps of a --repeat run: case k of sweep rep at runs[rep * ncase + k]
 * (cases that have no row included: they have neither rtt nor msgs/s). */
struct sweeps {
	const struct case_result *runs;
	unsigned ncase, repeat;
};
/* Evaluate the targets on r (n rows: the medians, or the one sweep) and,
 * when sw has two sweeps or more, on the ratios within each sweep (see
 * report.c); prints them when print. Returns how many missed. */
int report_targets(const struct case_result *r, unsigned n,
		   const struct sweeps *sw, int print);
/* Exposed for the unit tests. */
const struct case_result *report_find(const struct case_result *r, unsigned n,
				      const char *name, size_t size);

/* Geometry every ipcq case uses (t-ipcq.c), shown in the header. */
#define BENCH_RING_SLOTS 1024u
#define BENCH_RING_BYTES (8u << 20)
uint32_t bench_ring_capacity(size_t size);

uint64_t now_ns(void);

#endif /* MEMENPSF_BENCH_H */

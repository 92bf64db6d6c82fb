/* SPDX-License-Identifier: MIT */
/* Small helpers shared by the ipc-* examples: numbers, time, percentiles. */
#ifndef MEMENPSF_EXAMPLES_COMMON_H
#define MEMENPSF_EXAMPLES_COMMON_H

#include <stddef.h>
#include <stdint.h>

/* Parse a decimal number in [min, max] (k/M suffixes allowed); exits with
 * status 2 and a message naming opt on bad input. */
uint64_t ex_number(const char *opt, const char *arg, uint64_t min,
		   uint64_t max);

/* CLOCK_MONOTONIC in nanoseconds. */
uint64_t ex_now_ns(void);

/* Sort samples and print "label: p50 ... max" in microseconds. */
void ex_print_percentiles(const char *label, uint32_t *ns, size_t n);

/* The message layout of ipc-client <-> ipc-server's echo: */
struct ex_echo_hdr {
	uint64_t seq;     /* client's sequence number, from 1 */
	uint64_t t_ns;    /* client's send time */
	uint64_t srv_seq; /* 0 from the client; the server's per-client count */
};
#define EX_ECHO_MIN ((uint32_t)sizeof(struct ex_echo_hdr))

/* Fill / check the payload after the header from seq, eight bytes at a
 * time (a pattern that catches a wrong, stale or torn message). */
void ex_fill(void *msg, size_t len, uint64_t seq);
int ex_check(const void *msg, size_t len, uint64_t seq);

#endif

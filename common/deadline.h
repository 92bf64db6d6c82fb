/* SPDX-License-Identifier: MIT */
/*
 * Time-outs in milliseconds as every memenpsf call takes them:
 * -1 waits forever, 0 tries once, > 0 is a budget. A deadline turns such a
 * budget into an absolute CLOCK_MONOTONIC instant so that loops retrying after
 * EINTR or a spurious wake-up never wait longer than asked.
 */
#ifndef MEMENPSF_DEADLINE_H
#define MEMENPSF_DEADLINE_H

#include <stdint.h>

struct deadline {
	int64_t end_ns; /* -1: no deadline */
};

int64_t mono_ns(void);

/* Start a deadline from a time-out in ms (-1 forever, 0 now, > 0 budget). */
void deadline_start(struct deadline *d, int timeout_ms);

/* Milliseconds left for poll(): -1 forever, 0 expired, else >= 1 (rounded up). */
int deadline_left_ms(const struct deadline *d);

/* Non-zero when a finite deadline has passed. */
int deadline_expired(const struct deadline *d);

#endif /* MEMENPSF_DEADLINE_H */

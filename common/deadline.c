/* SPDX-License-Identifier: MIT */
#include <time.h>

#include "deadline.h"

int64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void deadline_start(struct deadline *d, int timeout_ms)
{
	if (timeout_ms < 0)
		d->end_ns = -1;
	else
		d->end_ns = mono_ns() + (int64_t)timeout_ms * 1000000;
}

int deadline_left_ms(const struct deadline *d)
{
	int64_t left;

	if (d->end_ns < 0)
		return -1;
	left = d->end_ns - mono_ns();
	if (left <= 0)
		return 0;
	left = (left + 999999) / 1000000;
	return left > 0x7fffffff ? 0x7fffffff : (int)left;
}

int deadline_expired(const struct deadline *d)
{
	return d->end_ns >= 0 && mono_ns() >= d->end_ns;
}

/* SPDX-License-Identifier: MIT */
/*
 * A hostile libiface client, for tests/iface_hostile_test.c and
 * tools/memenpsf-hostile.c: it completes a raw handshake, maps both rings it
 * was given and writes random values (some wildly out of range, some
 * plausible) into the words the server reads: the client-to-server ring's
 * tail and its slots' seq and len, and the server-to-client ring's head,
 * ringing the server's doorbell after each write, until the server drops
 * it.
 */
#ifndef MEMENPSF_TOOLS_HOSTILE_H
#define MEMENPSF_TOOLS_HOSTILE_H

#include <stdint.h>

enum {
	HOSTILE_DROPPED = 0,     /* BYE with IFACE_R_CORRUPT came */
	HOSTILE_DROPPED_LIE = 1, /* not within max_writes random writes (the
				  * server read the ring only when it looked
				  * plausible), but at the certain lie after */
	HOSTILE_CONNECT = 2,     /* the handshake failed */
	HOSTILE_NOT_DROPPED = 3, /* still connected 30 s after the lie */
	HOSTILE_OTHER = 4,       /* dropped with another reason */
};

/* One hostile connection to path with a seeded random source; returns a
 * HOSTILE_ code. After max_writes random writes without being dropped it
 * tells one certain lie (a tail 4 capacities past the server's head) and
 * waits for the server's verdict: random values may look plausible to
 * whichever look the server takes. Writes to its own descriptors only; no
 * output. */
int hostile_rewriter(const char *path, uint64_t seed, uint64_t max_writes);

#endif /* MEMENPSF_TOOLS_HOSTILE_H */

/* SPDX-License-Identifier: MIT */
/* The transport registry and the helpers the t-*.c files share. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

static const struct transport *registry[BENCH_MAX_TRANSPORTS];
static unsigned nregistry;

void bench_register(const struct transport *t)
{
	unsigned i;

	if (nregistry == BENCH_MAX_TRANSPORTS)
		return; /* raise BENCH_MAX_TRANSPORTS */
	/* keep the registry sorted by order (constructors run in link order) */
	for (i = nregistry; i > 0 && registry[i - 1]->order > t->order; i--)
		registry[i] = registry[i - 1];
	registry[i] = t;
	nregistry++;
}

unsigned bench_transports(const struct transport **out, unsigned max)
{
	unsigned i;

	for (i = 0; i < nregistry && i < max; i++)
		out[i] = registry[i];
	return i;
}

const struct transport *bench_transport(const char *name)
{
	unsigned i;

	for (i = 0; i < nregistry; i++)
		if (strcmp(registry[i]->name, name) == 0)
			return registry[i];
	return NULL;
}

uint32_t bench_ring_capacity(size_t size)
{
	uint32_t cap = BENCH_RING_SLOTS;

	while (cap > 2 && (uint64_t)cap * size > BENCH_RING_BYTES)
		cap >>= 1;
	return cap;
}

uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int tp_memfd(size_t len)
{
	int fd = memfd_create("memenpsf-bench", MFD_CLOEXEC);

	if (fd < 0)
		return -errno;
	if (ftruncate(fd, (off_t)len) < 0) {
		int e = -errno;

		close(fd);
		return e;
	}
	return fd;
}

void *tp_map(int fd, size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

	return p == MAP_FAILED ? NULL : p;
}

int tp_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int tp_read_all(int fd, void *buf, size_t len)
{
	char *p = buf;

	while (len) {
		ssize_t n = read(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EPIPE;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

void *tp_alloc(size_t size, unsigned n)
{
	void *p = NULL;
	size_t len = size * (n ? n : 1);

	len = (len + 63) & ~(size_t)63;
	if (posix_memalign(&p, 64, len))
		return NULL;
	memset(p, 0, len); /* touch every page before timing */
	return p;
}

int tp_dup(int fd)
{
	int d = fcntl(fd, F_DUPFD_CLOEXEC, 0);

	return d < 0 ? -errno : d;
}

void tp_close_fds(int *fds, int n)
{
	int i;

	for (i = 0; i < n; i++)
		if (fds[i] >= 0) {
			close(fds[i]);
			fds[i] = -1;
		}
}

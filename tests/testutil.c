/* SPDX-License-Identifier: MIT */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"

void tu_fd_snapshot(struct tu_fdset *s)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;

	ck_assert_ptr_nonnull(d);
	s->n = 0;
	while ((e = readdir(d))) {
		int fd;

		if (e->d_name[0] == '.')
			continue;
		fd = atoi(e->d_name);
		if (fd == dirfd(d))
			continue;
		ck_assert_int_lt(s->n, TU_MAX_FDS);
		s->fd[s->n++] = fd;
	}
	closedir(d);
}

int tu_fd_count(void)
{
	struct tu_fdset s;

	tu_fd_snapshot(&s);
	return s.n;
}

int tu_shared_mappings(void)
{
	FILE *f = fopen("/proc/self/maps", "re");
	char line[4096];
	int n = 0;

	ck_assert_ptr_nonnull(f);
	while (fgets(line, sizeof(line), f))
		if (strstr(line, "/memfd:") || strstr(line, " /dev/shm/"))
			n++;
	fclose(f);
	return n;
}

static struct tu_fdset leak_before;
static int leak_maps_before;

static int has_fd(const struct tu_fdset *s, int fd)
{
	for (int i = 0; i < s->n; i++)
		if (s->fd[i] == fd)
			return 1;
	return 0;
}

void tu_leak_setup(void)
{
	tu_fd_snapshot(&leak_before);
	leak_maps_before = tu_shared_mappings();
}

void tu_leak_teardown(void)
{
	static struct tu_fdset after;

	tu_fd_snapshot(&after);
	for (int i = 0; i < after.n; i++)
		ck_assert_msg(has_fd(&leak_before, after.fd[i]),
			      "fd %d leaked by the test", after.fd[i]);
	for (int i = 0; i < leak_before.n; i++)
		ck_assert_msg(has_fd(&after, leak_before.fd[i]),
			      "fd %d closed by the test but not opened by it",
			      leak_before.fd[i]);
	ck_assert_int_eq(tu_shared_mappings(), leak_maps_before);
}

#define TMP_PREFIX "memenpsf-test-"

/* Remove the directories that test processes now gone left in base (a run
 * killed mid-test never reaches its tu_rmtree): TMP_PREFIX PID-XXXXXX,
 * where no process PID exists any more. A live PID, even a reused one,
 * keeps its directory. */
static void sweep_dead(const char *base)
{
	const size_t plen = sizeof(TMP_PREFIX) - 1;
	DIR *d = opendir(base);
	struct dirent *e;

	if (!d)
		return;
	while ((e = readdir(d))) {
		char *end, *path;
		long pid;

		if (strncmp(e->d_name, TMP_PREFIX, plen) != 0)
			continue;
		errno = 0;
		pid = strtol(e->d_name + plen, &end, 10);
		if (errno || end == e->d_name + plen || *end != '-' || pid <= 0 ||
		    pid > INT32_MAX)
			continue;
		if (kill((pid_t)pid, 0) == 0 || errno != ESRCH)
			continue;
		if (asprintf(&path, "%s/%s", base, e->d_name) > 0)
			tu_rmtree(path);
	}
	closedir(d);
}

char *tu_tmpdir(void)
{
	const char *base = getenv("TMPDIR");
	char *dir;

	if (!base || !*base)
		base = "/tmp";
	sweep_dead(base);
	ck_assert_int_gt(asprintf(&dir, "%s/" TMP_PREFIX "%ld-XXXXXX", base,
				  (long)getpid()),
			 0);
	ck_assert_ptr_nonnull(mkdtemp(dir));
	return dir;
}

static int rm_one(const char *path, const struct stat *st, int flag,
		  struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

void tu_rmtree(char *dir)
{
	if (!dir)
		return;
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(dir);
}

int tu_run(SRunner *sr)
{
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

int tu_wait(pid_t pid)
{
	int st;

	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	if (WIFSIGNALED(st))
		return 128 + WTERMSIG(st);
	return -1;
}

void tu_barrier_init(struct tu_barrier *b)
{
	ck_assert_int_eq(pipe2(b->fd, O_CLOEXEC), 0);
}

void tu_barrier_signal(struct tu_barrier *b)
{
	char c = 1;

	while (write(b->fd[1], &c, 1) < 0)
		ck_assert_int_eq(errno, EINTR);
}

void tu_barrier_wait(struct tu_barrier *b)
{
	char c;
	ssize_t r;

	while ((r = read(b->fd[0], &c, 1)) < 0)
		ck_assert_int_eq(errno, EINTR);
	ck_assert_int_eq(r, 1);
}

void tu_barrier_close(struct tu_barrier *b)
{
	close(b->fd[0]);
	close(b->fd[1]);
}

uint64_t tu_hash(const void *p, size_t n)
{
	const unsigned char *c = p;
	uint64_t h = 1469598103934665603ull;

	for (size_t i = 0; i < n; i++) {
		h ^= c[i];
		h *= 1099511628211ull;
	}
	return h;
}

char *tu_build_file(const char *rel)
{
	const char *b = getenv("MEMENPSF_BUILDDIR");
	char exe[4096], *p;
	ssize_t n;

	if (b && *b) {
		ck_assert_int_gt(asprintf(&p, "%s/%s", b, rel), 0);
		return p;
	}
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	ck_assert_int_gt(n, 0);
	exe[n] = '\0';
	*strrchr(exe, '/') = '\0';
	if (strlen(exe) > 6 && strcmp(exe + strlen(exe) - 6, "/.libs") == 0)
		exe[strlen(exe) - 6] = '\0';
	*strrchr(exe, '/') = '\0';
	ck_assert_int_gt(asprintf(&p, "%s/%s", exe, rel), 0);
	return p;
}

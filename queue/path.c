/* SPDX-License-Identifier: MIT */
/*
 * Rings in a file that processes meet by path (under /dev/shm, or on disk).
 *
 * No doorbell socket can be reached by path, so sleepers wait on a futex
 * word in their sleep line (non-private: the word is shared between processes), in
 * slices, and check between slices that the peer is still alive. Each side
 * records its pid and process start time in its line: a role held by a live
 * process is refused, a dead holder's role is taken over (pid reuse cannot
 * fool it: the start time must match too).
 *
 * Trust: unlike a sealed memfd, a file can be truncated later by anyone who
 * may write it, which would make our accesses fault (SIGBUS). So a ring file
 * must be a regular file owned by our effective uid and writable by nobody
 * else (-EPERM otherwise), and its size is checked before mapping. Past
 * that, path rings trust the owner not to shrink the file.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "failpoints.h"
#include "ipcq-private.h"
#include "os-private.h"

/* Take line's role for this process. -EBUSY when a live process holds it. */
static int claim_role(struct ipcq_side_line *l)
{
	pid_t me = getpid();
	uint64_t start;
	int32_t old;
	int r;

	r = os_proc_start(me, &start);
	if (r < 0)
		return r;
	/* Acquire: pairs with the release stores of a previous holder. */
	old = __atomic_load_n(&l->pid, __ATOMIC_ACQUIRE);
	if (old != 0 &&
	    os_proc_alive(old, __atomic_load_n(&l->start_time, __ATOMIC_ACQUIRE)))
		return -EBUSY;
	/* Seq_cst CAS: of two claimants only one wins; it pairs with the
	 * other claimant's CAS and with release_role's CAS. */
	if (!__atomic_compare_exchange_n(&l->pid, &old, (int32_t)me, 0,
					 __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
		return -EBUSY;
	/* Release: pairs with the acquire loads of liveness checkers. Until
	 * it lands, checkers see a start time that may not match and could
	 * think us dead: a window of two stores, documented in the report. */
	__atomic_store_n(&l->start_time, start, __ATOMIC_RELEASE);
	return 0;
}

static void release_role(struct ipcq_side_line *l)
{
	int32_t me = (int32_t)getpid();

	if (__atomic_load_n(&l->pid, __ATOMIC_ACQUIRE) != me)
		return; /* taken over already (we were thought dead) */
	/* Release: start 0 first, so no checker pairs our pid with a stale
	 * start time; then free the role (CAS: only if still ours). */
	__atomic_store_n(&l->start_time, 0, __ATOMIC_RELEASE);
	__atomic_compare_exchange_n(&l->pid, &me, 0, 0, __ATOMIC_SEQ_CST,
				    __ATOMIC_SEQ_CST);
}

void ipcq_path_release_role(struct ipcq *q)
{
	release_role(q->mine);
}

int ipcq_path_peer_alive(const struct ipcq *q)
{
	/* Acquire: pairs with the peer's stores in claim_role. */
	int32_t pid = __atomic_load_n(&q->peer->pid, __ATOMIC_ACQUIRE);
	uint64_t st = __atomic_load_n(&q->peer->start_time, __ATOMIC_ACQUIRE);

	if (pid == 0)
		return 1; /* no peer attached (yet, or it detached cleanly) */
	return os_proc_alive(pid, st);
}

static int line_alive(const struct ipcq_side_line *l)
{
	return l->pid != 0 && os_proc_alive(l->pid, l->start_time);
}

/* Is the file at path a ring some live process is attached to? 1 yes (or
 * not a ring at all: we do not clobber strangers' files), 0 no. */
static int path_in_use(const char *path)
{
	struct ipcq_shm copy;
	struct stat st;
	int fd, r;

	/* O_NONBLOCK: a FIFO put at the path (anyone may, in /dev/shm)
	 * would block this open until a writer came; it is no ring */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK |
				O_NOCTTY);
	if (fd < 0)
		return errno == ENOENT ? 0 : 1;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return 1;
	}
	r = os_pread_all(fd, &copy, sizeof(copy), 0);
	close(fd);
	if (r < 0 || copy.hdr.magic != IPCQ_MAGIC)
		return 1;
	return line_alive(&copy.prod) || line_alive(&copy.cons);
}

static int map_path_handle(struct ipcq **out, void *map,
			   const struct ipcq_geom *g, enum ipcq_role role)
{
	struct ipcq_shm *shm = map;
	struct ipcq_side_line *l = role == IPCQ_PRODUCER ? &shm->prod : &shm->cons;
	struct ipcq *q;
	int r;

	r = claim_role(l);
	if (r < 0)
		return r;
	/* Indices are read after the claim: a dead holder stores no more. */
	r = ipcq_new(&q, map, g, role);
	if (r < 0) {
		release_role(l);
		return r;
	}
	q->path = 1;
	*out = q;
	return 0;
}

/* ---- the file ipcq_create_path builds a ring in ------------------------ */

/* A temporary name beside path: PATH.ipcq-tmp.XXXXXX, six characters of
 * [A-Za-z0-9]. Only the file system fallback and a replacement use one. */
#define TMP_TAG ".ipcq-tmp."
#define TMP_SUFFIX 6

static int is_alnum(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') ||
	       (c >= 'a' && c <= 'z');
}

static int is_tmp_name(const char *name, const char *base, size_t blen)
{
	size_t t = sizeof(TMP_TAG) - 1, k;

	if (strncmp(name, base, blen) != 0 ||
	    strncmp(name + blen, TMP_TAG, t) != 0)
		return 0;
	name += blen + t;
	for (k = 0; k < TMP_SUFFIX; k++)
		if (!is_alnum(name[k]))
			return 0;
	return name[TMP_SUFFIX] == '\0';
}

/* path's directory (allocated) and last component (inside path). */
static int split_path(const char *path, char **dir, const char **base)
{
	const char *slash = strrchr(path, '/');

	if (!slash)
		*dir = strdup(".");
	else if (slash == path)
		*dir = strdup("/");
	else
		*dir = strndup(path, (size_t)(slash - path));
	*base = slash ? slash + 1 : path;
	if (!*dir)
		return -ENOMEM;
	return **base ? 0 : -EINVAL;
}

/*
 * Remove the temporary files that creators of path left when they died.
 * A creator holds an exclusive flock on its file from before the file has a
 * name (O_TMPFILE) or from right after mkostemp() (and then checks that the
 * name survived: a sweep between the two unlinked it, and it starts again),
 * until it is done. So a temporary name whose file nobody holds locked is
 * one whose creator is dead. Only regular files of ours with exactly the
 * temporary name pattern are touched, and only the file that was locked
 * (the name is checked to still lead to it). Best effort: an error leaves a
 * file where it is.
 */
static void sweep_stale(const char *dir, const char *base)
{
	size_t blen = strlen(base);
	struct dirent *e;
	DIR *d;

	d = opendir(dir); /* O_CLOEXEC in glibc */
	if (!d)
		return;
	while ((e = readdir(d))) {
		struct stat st, now;
		int fd;

		if (!is_tmp_name(e->d_name, base, blen))
			continue;
		fd = openat(dirfd(d), e->d_name,
			    O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK |
				    O_NOCTTY);
		if (fd < 0)
			continue;
		if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
		    st.st_uid == geteuid() && os_lock(fd, 1) == 0 &&
		    fstatat(dirfd(d), e->d_name, &now, AT_SYMLINK_NOFOLLOW) == 0 &&
		    now.st_dev == st.st_dev && now.st_ino == st.st_ino)
			unlinkat(dirfd(d), e->d_name, 0);
		close(fd); /* drops the lock */
	}
	closedir(d);
}

/* Open the file to build the ring in, locked (see sweep_stale): an unnamed
 * one in dir (*tmp NULL), or where the file system cannot, a named one
 * beside path (*tmp its name, allocated). */
static int tmp_open(const char *dir, const char *path, int *fdp, char **tmp)
{
	int fd, r, tries;

	*tmp = NULL;
	fd = FAILPOINT_ERR("ipcq.create_path.no_tmpfile") ? -EOPNOTSUPP
							   : os_tmpfile(dir);
	if (fd >= 0) {
		r = os_lock(fd, 0);
		if (r < 0) {
			close(fd);
			return r;
		}
		*fdp = fd;
		return 0;
	}
	if (fd != -EOPNOTSUPP)
		return fd;
	for (tries = 0; tries < 16; tries++) {
		struct stat st;
		char *name;

		if (asprintf(&name, "%s" TMP_TAG "XXXXXX", path) < 0)
			return -ENOMEM;
		fd = mkostemp(name, O_CLOEXEC); /* mode 0600 */
		if (fd < 0) {
			r = -errno;
			free(name);
			return r;
		}
		r = os_lock(fd, 0);
		if (r == 0 && fstat(fd, &st) < 0)
			r = -errno;
		if (r == 0 && st.st_nlink > 0) {
			*fdp = fd;
			*tmp = name;
			return 0;
		}
		/* A sweep took the name before our lock (nlink 0): again. */
		if (r < 0)
			unlink(name);
		close(fd);
		free(name);
		if (r < 0)
			return r;
	}
	return -EAGAIN;
}

/* Give the unnamed file at fd a temporary name beside path (for rename). */
static int name_tmpfile(int fd, const char *path, char **tmp)
{
	static const char set[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
				  "abcdefghijklmnopqrstuvwxyz0123456789";
	struct timespec ts;
	uint64_t x;
	size_t n;
	char *name;
	int tries, k, r = -EEXIST;

	if (asprintf(&name, "%s" TMP_TAG "XXXXXX", path) < 0)
		return -ENOMEM;
	n = strlen(name) - TMP_SUFFIX;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	x = ((uint64_t)ts.tv_sec << 32) ^ (uint64_t)ts.tv_nsec ^
	    ((uint64_t)getpid() << 40);
	for (tries = 0; tries < 100 && r == -EEXIST; tries++) {
		for (k = 0; k < TMP_SUFFIX; k++) {
			x = x * UINT64_C(6364136223846793005) +
			    UINT64_C(1442695040888963407);
			name[n + (size_t)k] = set[(x >> 33) % (sizeof(set) - 1)];
		}
		r = os_link_fd(fd, name);
	}
	if (r < 0) {
		free(name);
		return r;
	}
	*tmp = name;
	return 0;
}

/* Link the finished ring at fd (named *tmp, or unnamed) into place at path;
 * an existing ring no live process uses (or any file, with IPCQ_REPLACE)
 * is replaced atomically. *tmp is freed and cleared once renamed. */
static int link_into_place(int fd, const char *path, char **tmp,
			   unsigned flags)
{
	int r;

	if (*tmp)
		r = link(*tmp, path) < 0 ? -errno : 0;
	else
		r = os_link_fd(fd, path);
	if (r != -EEXIST)
		return r;
	if (!(flags & IPCQ_REPLACE) && path_in_use(path))
		return -EEXIST;
	/* rename() is atomic (processes still mapping the old file keep it)
	 * but wants a name to move. */
	if (!*tmp) {
		r = name_tmpfile(fd, path, tmp);
		if (r < 0)
			return r;
	}
	if (FAILPOINT_ERR("ipcq.create_path.before_rename"))
		return -EIO;
	if (rename(*tmp, path) < 0)
		return -errno;
	free(*tmp);
	*tmp = NULL;
	return 0;
}

int ipcq_create_path(struct ipcq **out, const char *path,
		     const struct ipcq_config *cfg, enum ipcq_role role,
		     unsigned flags)
{
	char *dir = NULL, *tmp = NULL;
	const char *base;
	struct ipcq_geom g;
	struct ipcq *q = NULL;
	void *map = NULL;
	uint64_t total = 0;
	int fd = -1, r;

	if (!out || !path || !*path || (flags & ~IPCQ_REPLACE) ||
	    (role != IPCQ_PRODUCER && role != IPCQ_CONSUMER))
		return -EINVAL;
	r = ipcq_check_config(cfg);
	if (r < 0)
		return r;
	ipcq_geom_of(cfg, &g);
	total = g.lay.total;

	r = split_path(path, &dir, &base);
	if (r < 0)
		goto err;
	sweep_stale(dir, base);
	/* Build the whole ring in a file without a name, then link it into
	 * place: path never names a half-made ring, and a creator that dies
	 * leaves nothing behind. Where the file system has no O_TMPFILE, and
	 * for the rename of a replacement, the file has a temporary name for
	 * a while; the next creator's sweep removes it if we die. */
	r = tmp_open(dir, path, &fd, &tmp);
	if (r < 0)
		goto err;
	FP_STEP("ipcq.create_path.after_tmpfile");
	r = os_truncate(fd, total);
	if (r < 0)
		goto err;
	r = os_fallocate(fd, total);
	if (r == -EOPNOTSUPP)
		r = 0; /* a file system without fallocate: the size stands */
	if (r < 0)
		goto err;
	FP_STEP("ipcq.create_path.after_fallocate");
	r = os_map(fd, (size_t)total, &map);
	if (r < 0)
		goto err;
	ipcq_init_shm(map, &g);
	FP_STEP("ipcq.create_path.after_init");
	r = map_path_handle(&q, map, &g, role);
	if (r < 0)
		goto err;
	FP_STEP("ipcq.create_path.before_link");
	r = link_into_place(fd, path, &tmp, flags);
	if (r < 0)
		goto err;
	if (tmp) {
		unlink(tmp); /* path holds the ring now */
		free(tmp);
	}
	free(dir);
	close(fd); /* drops the lock */
	*out = q;
	return 0;
err:
	if (q) {
		ipcq_close(q); /* unmaps */
		map = NULL;
	}
	if (map)
		munmap(map, (size_t)total);
	if (tmp) {
		unlink(tmp); /* before the lock goes with fd */
		free(tmp);
	}
	if (fd >= 0)
		close(fd);
	free(dir);
	return r;
}

int ipcq_open_path(struct ipcq **out, const char *path,
		   const struct ipcq_expect *expect, enum ipcq_role role)
{
	struct ipcq_shm copy;
	struct ipcq_geom g;
	struct stat st;
	void *map = NULL;
	int fd = -1, r;

	if (!out || !path || (role != IPCQ_PRODUCER && role != IPCQ_CONSUMER))
		return -EINVAL;
	fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		r = -errno;
		goto err;
	}
	/* Only a file nobody else can shrink under our mapping. */
	if (!S_ISREG(st.st_mode) || st.st_uid != geteuid() ||
	    (st.st_mode & (S_IWGRP | S_IWOTH))) {
		r = -EPERM;
		goto err;
	}
	if (st.st_size < (off_t)IPCQ_PAGE) {
		r = -EBADMSG;
		goto err;
	}
	r = os_pread_all(fd, &copy, sizeof(copy), 0);
	if (r < 0)
		goto err;
	r = ipcq_check_header(&copy.hdr, (uint64_t)st.st_size, expect, &g);
	if (r < 0)
		goto err;
	r = os_map(fd, (size_t)g.lay.total, &map);
	if (r < 0)
		goto err;
	FP_STEP("ipcq.open.after_map");
	r = map_path_handle(out, map, &g, role);
	if (r < 0)
		goto err;
	FAILPOINT("ipcq.open.after_claim");
	close(fd);
	return 0;
err:
	if (map)
		munmap(map, (size_t)g.lay.total);
	close(fd);
	return r;
}

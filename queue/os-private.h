/* SPDX-License-Identifier: MIT */
/*
 * libipcq's OS shim: every descriptor-creating call with its CLOEXEC flag,
 * the EINTR loops, futexes and process liveness. The rest of queue/ never
 * thinks about them. All return 0 / a value or -errno.
 */
#ifndef IPCQ_OS_PRIVATE_H
#define IPCQ_OS_PRIVATE_H

#include <stdint.h>
#include <sys/types.h>

struct pollfd;

/* memfd_create(MFD_CLOEXEC | MFD_ALLOW_SEALING). */
int os_memfd(const char *name);
/* ftruncate to size. */
int os_truncate(int fd, uint64_t size);
/* fallocate the whole size: memory/disk is taken now (-ENOSPC / -ENOMEM
 * here instead of SIGBUS at the first touch). */
int os_fallocate(int fd, uint64_t size);
/* An unnamed regular file in directory dir (O_TMPFILE | O_CLOEXEC, mode
 * 0600), read+write; -EOPNOTSUPP (or another -errno) where the file system
 * or kernel has no O_TMPFILE. */
int os_tmpfile(const char *dir);
/* Give the file open at fd the name path (linkat through /proc/self/fd:
 * needs no privilege, unlike AT_EMPTY_PATH); -EEXIST when path exists. */
int os_link_fd(int fd, const char *path);
/* flock(LOCK_EX) on fd, waiting (EINTR: retry) or not (nowait: -EAGAIN
 * when another open file holds it). */
int os_lock(int fd, int nowait);
/* A doorbell: a connected pair of AF_UNIX stream sockets (CLOEXEC,
 * non-blocking), one end for each side. Not an eventfd: an eventfd passed
 * to the peer is one open file for both, whose O_NONBLOCK the peer can
 * clear (F_SETFL) and whose counter it can fill, and then our write or
 * read blocks for good; a socket takes MSG_DONTWAIT on each call, and each
 * side's end is its own open file. 0 and fds, or -errno. */
int os_bell_pair(int fds[2]);
/* Ring: one byte to the other end; a full buffer counts as rung. */
void os_bell_ring(int fd);
/* Take the rings waiting at this end (up to a buffer's worth: a peer that
 * sends more only makes the end readable again). Never blocks. */
void os_bell_drain(int fd);
/* pread the whole buffer, looping on EINTR and short reads; -EBADMSG when the
 * file ends first. */
int os_pread_all(int fd, void *buf, size_t len, off_t off);
/* mmap(MAP_SHARED, read+write) of len bytes; 0 and *out, or -errno. */
int os_map(int fd, size_t len, void **out);
/* The target of /proc/self/fd/FD into buf (NUL-terminated); -errno. */
int os_fd_link(int fd, char *buf, size_t cap);
/* Non-zero when fd is an AF_UNIX stream socket (a doorbell's end). */
int os_is_bell(int fd);
/* futex(FUTEX_WAIT) on a shared word while it holds val, at most ms (>= 0)
 * milliseconds; returns 0 (woken, changed or time out) or -EINTR. */
int os_futex_wait(uint32_t *word, uint32_t val, int ms);
/* futex(FUTEX_WAKE) every waiter of a shared word. */
void os_futex_wake(uint32_t *word);
/* Start time of a process (field 22 of /proc/PID/stat, clock ticks since
 * boot): 0 and *out, -ESRCH when it does not exist or is a zombie. */
int os_proc_start(pid_t pid, uint64_t *out);
/* Non-zero when pid is running and started at start (0: unknown yet, any
 * start matches). pid reuse cannot fool it. */
int os_proc_alive(pid_t pid, uint64_t start);
/* Asymmetric fences (membarrier(2), MEMBARRIER_CMD_GLOBAL_EXPEDITED).
 * os_membarrier_ready: 1 when this process is registered for them (done
 * once per process, on the first call; later calls read the answer), 0
 * when the kernel or a seccomp filter says no. os_membarrier: a full
 * barrier on every CPU running a registered process (and here); 0 or
 * -errno. */
int os_membarrier_ready(void);
int os_membarrier(void);
/* poll() that retries EINTR with the time left; returns as poll(2). */
int os_poll(struct pollfd *fds, unsigned n, int timeout_ms);

#endif /* IPCQ_OS_PRIVATE_H */

/* SPDX-License-Identifier: MIT */
/*
 * The OS shim of libfdpass: every call that creates a descriptor, with its
 * close-on-exec flag, every EINTR loop and MSG_NOSIGNAL live here, so the
 * rest of the library never thinks about them. Each function returns what
 * the syscall returns on success and -errno on failure (never errno itself).
 * Private: never installed, never included from a public header.
 */
#ifndef MEMENPSF_FDPASS_OS_PRIVATE_H
#define MEMENPSF_FDPASS_OS_PRIVATE_H

#include <sys/socket.h>
#include <sys/types.h>

struct deadline;

/* socket(2) with SOCK_CLOEXEC added to type. fd or -errno. */
int os_socket(int domain, int type, int protocol);

/* socketpair(2) with SOCK_CLOEXEC added to type. 0 or -errno. */
int os_socketpair(int domain, int type, int protocol, int sv[2]);

/* accept4(2) with SOCK_CLOEXEC (and SOCK_NONBLOCK when nonblock), EINTR
 * retried. fd or -errno. */
int os_accept(int sock, int nonblock);

/* connect(2); EINTR is returned, not retried (the caller owns the time). */
int os_connect(int sock, const struct sockaddr *sa, socklen_t len);

/* open(2) with O_CLOEXEC added to flags, EINTR retried. fd or -errno. */
int os_open(const char *path, int flags, mode_t mode);

/* sendmsg(2) with MSG_NOSIGNAL added to flags, EINTR retried. */
ssize_t os_sendmsg(int sock, const struct msghdr *msg, int flags);

/* recvmsg(2) with MSG_CMSG_CLOEXEC added to flags, EINTR retried. */
ssize_t os_recvmsg(int sock, struct msghdr *msg, int flags);

/*
 * Wait until fd reports one of events or the deadline passes. EINTR is
 * retried with the time that is left. Returns the revents (> 0, may include
 * POLLHUP/POLLERR), 0 when the deadline passed, -EBADF for POLLNVAL, or
 * -errno.
 */
int os_poll1(int fd, short events, const struct deadline *d);

/* close(2) that keeps errno and is never retried (Linux frees the fd even
 * when close reports EINTR). Negative fds are ignored. */
void os_close(int fd);

/* Close fds[0..n). */
void os_close_all(const int *fds, unsigned n);

#endif /* MEMENPSF_FDPASS_OS_PRIVATE_H */

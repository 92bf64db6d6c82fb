/* SPDX-License-Identifier: MIT */
/*
 * libfdpass: send a small message plus file descriptors over an AF_UNIX
 * socket (SCM_RIGHTS), and the socket helpers around it.
 *
 * Conventions (all of memenpsf): functions return 0 or a count on success
 * and -errno on failure; errno itself is not the report. Time-outs are in
 * milliseconds: -1 waits forever, 0 tries once (-EAGAIN if it would block),
 * > 0 waits at most that long (-ETIMEDOUT). EINTR is retried inside, with the
 * time that is left. Every descriptor created here is close-on-exec.
 * Functions are thread-safe in the sense of the syscalls they wrap: two
 * threads may use two sockets freely; one socket from two threads at once is
 * the caller's business, as with sendmsg(2).
 */
#ifndef MEMENPSF_FDPASS_H
#define MEMENPSF_FDPASS_H

#include <stddef.h>
#include <sys/types.h>

#include <memenpsf/memenpsf-common.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Most descriptors one message carries. */
#define FDPASS_MAX_FDS 16

/* Largest message body fdpass_send() accepts. */
#define FDPASS_MAX_MSG 65536

/*
 * Send len bytes (1..FDPASS_MAX_MSG; at least one byte rides with the fds)
 * and nfds descriptors (0..FDPASS_MAX_FDS) in one sendmsg() with
 * MSG_NOSIGNAL. The caller's descriptors stay open and stay the caller's.
 * Returns the number of bytes sent (a short count can only happen on a
 * stream socket, and then no fd was lost: they travel with the first byte),
 * -EPIPE when the peer is gone (also for ECONNRESET, and ENOTCONN on a
 * socket that is not listening), -EAGAIN / -ETIMEDOUT per timeout_ms,
 * -EINVAL for bad arguments (NULL buf, len 0 or over FDPASS_MAX_MSG, too
 * many fds, negative fd), -EBADF for a negative sock. Never blocks beyond
 * timeout_ms, whether sock is blocking or not.
 */
MEMENPSF_API MEMENPSF_MUST_USE
ssize_t fdpass_send(int sock, const void *buf, size_t len, const int *fds,
		    unsigned nfds, int timeout_ms);

/*
 * Receive one message into buf (capacity cap >= 1) and up to *nfds
 * descriptors into fds (fds may be NULL when *nfds is 0; a capacity over
 * FDPASS_MAX_FDS counts as FDPASS_MAX_FDS); on return *nfds holds how many
 * arrived. Received descriptors are close-on-exec (MSG_CMSG_CLOEXEC).
 * Returns the number of bytes received (>= 1) and then the caller owns every
 * fd in fds[0..*nfds). On any failure *nfds is 0 and the caller owns no
 * received fd: each one that arrived was closed. Failures:
 *   -EPIPE        the peer is gone (end of file or connection reset);
 *   -EAGAIN / -ETIMEDOUT per timeout_ms;
 *   -EMSGSIZE     the message was longer than cap (MSG_TRUNC);
 *   -ETOOMANYREFS more descriptors arrived than *nfds allowed;
 *   -ENOBUFS      control data was truncated (MSG_CTRUNC): the kernel could
 *                 not hand over every fd, e.g. the receiver's RLIMIT_NOFILE
 *                 was reached or the sender sent over FDPASS_MAX_FDS;
 *   -EPROTO       a control message other than SCM_RIGHTS arrived (e.g.
 *                 SCM_CREDENTIALS with SO_PASSCRED on), or an empty
 *                 message carried descriptors;
 *   -EINVAL / -EBADF bad arguments (nothing is read).
 * When several apply they are reported in the order listed from -EPROTO
 * up: -EPROTO, -ENOBUFS, -EMSGSIZE, -ETOOMANYREFS. After any of those four
 * the message is consumed and the connection stays usable; ending it is the
 * caller's decision.
 */
MEMENPSF_API MEMENPSF_MUST_USE
ssize_t fdpass_recv(int sock, void *buf, size_t cap, int *fds, unsigned *nfds,
		    int timeout_ms);

/* Credentials of the process at the other end of a connected socket,
 * as the kernel recorded them at connect() (SO_PEERCRED). */
struct fdpass_cred {
	pid_t pid;
	uid_t uid;
	gid_t gid;
};

/* Fill *out with the peer's credentials. 0 or -errno (-ENOTCONN, -EBADF). */
MEMENPSF_API MEMENPSF_MUST_USE
int fdpass_peer_cred(int sock, struct fdpass_cred *out);

/* A connected SOCK_SEQPACKET pair, close-on-exec. 0, -EINVAL (sv NULL) or
 * -errno (-EMFILE, ...). The caller owns both descriptors. */
MEMENPSF_API MEMENPSF_MUST_USE
int fdpass_socketpair(int sv[2]);

/*
 * A listening socket bound to a path.
 *
 * A path that begins with '@' names the abstract namespace (no file is
 * created; reachable by ANY process in the same network namespace, so use
 * credentials or keys). Any other path is a file: the socket is created with
 * mode 0600 (or opts->mode), and a lock file PATH.lock beside it decides who
 * owns the path: a server holds the lock for its lifetime, so a stale socket
 * left by a dead process is replaced, while a path held by a live server is
 * refused with -EADDRINUSE. Two servers starting at once: exactly one wins.
 * A socket at the path that still accepts connections (a server that does
 * not use the lock file) and a file that is not a socket are never removed:
 * -EADDRINUSE too.
 */
struct fdpass_listener;

struct fdpass_listen_opts {
	int type;        /* SOCK_SEQPACKET (default when 0) or SOCK_STREAM */
	int backlog;     /* listen() backlog; 0: a sensible default (128) */
	unsigned mode;   /* socket file mode, exactly, whatever the umask
			  * (never wider at any moment); 0: 0600. Only the
			  * permission bits (0777). Unused for '@' names. */
	int nonblock;    /* non-zero: listening socket is O_NONBLOCK */
};

/*
 * Listen on path (opts may be NULL for the defaults). On success *out owns
 * the socket and the lock; on failure *out is NULL and nothing is left
 * behind. Returns 0, -EADDRINUSE (a live server holds it), -ENAMETOOLONG
 * (path does not fit sockaddr_un), -EINVAL (NULL or empty path, "@" alone,
 * bad opts), or the errno of the failing call (-EACCES, -ENOENT for a
 * missing directory, ...). Does not block.
 */
MEMENPSF_API MEMENPSF_MUST_USE
int fdpass_listen(struct fdpass_listener **out, const char *path,
		  const struct fdpass_listen_opts *opts);

/* The listening socket, for poll/epoll. Owned by the listener; -EINVAL for
 * NULL. */
MEMENPSF_API int fdpass_listener_fd(const struct fdpass_listener *l);

/*
 * Accept one connection: returns the new close-on-exec socket (made
 * O_NONBLOCK when nonblock is non-zero), -EAGAIN / -ETIMEDOUT per timeout_ms,
 * -EINVAL for NULL, or -errno. Transient errors of the new connection
 * (ECONNABORTED) are retried. On a blocking listener with timeout_ms >= 0 it
 * polls first and then accepts; another thread taking that connection in
 * between would make it block (one listener from two threads is the
 * caller's business).
 */
MEMENPSF_API MEMENPSF_MUST_USE
int fdpass_accept(struct fdpass_listener *l, int nonblock, int timeout_ms);

/* Close the listening socket, remove the socket file and the lock file
 * (only if they are still ours), and free l. NULL is ignored. */
MEMENPSF_API void fdpass_listener_close(struct fdpass_listener *l);

/*
 * Connect to a listening socket at path ('@' for abstract) of the given type
 * (0 means SOCK_SEQPACKET). Returns the connected close-on-exec socket
 * (blocking mode), or -ENOENT / -ECONNREFUSED (no server), -EAGAIN
 * (timeout_ms 0) or -ETIMEDOUT (the server's backlog stayed full),
 * -EPROTOTYPE (the server's socket is of the other type), -EINVAL,
 * -ENAMETOOLONG, -errno. A connect only waits while the backlog is full.
 */
MEMENPSF_API MEMENPSF_MUST_USE
int fdpass_connect(const char *path, int type, int timeout_ms);

#ifdef __cplusplus
}
#endif

#endif /* MEMENPSF_FDPASS_H */

/* SPDX-License-Identifier: MIT */
/*
 * Helpers of the libiface multi-process tests (iface_test.c): the test
 * message with its sequence number and checksum, an echo server run in a
 * child process, echo clients run in child processes, and /proc views of
 * another process's descriptors and shared mappings.
 *
 * Children never call ck_assert: they report through their exit code (0 is
 * success; each failure has its own code, named below) and through pipes.
 */
#ifndef MEMENPSF_IFACE_UTIL_H
#define MEMENPSF_IFACE_UTIL_H

#include <check.h>
#include <stdint.h>
#include <sys/types.h>

#include <memenpsf/iface.h>

/* The element of every test channel: exactly one 64-byte slot, so that it
 * goes as a byte message (send / recv) or as a whole element (send_n). */
struct tmsg {
	uint32_t who;     /* client number */
	uint32_t kind;    /* TM_REQ from a client, TM_REP from the server */
	uint64_t seq;     /* the sender's own sequence number, from 0 */
	uint64_t data[5]; /* data[0]: the sequence number answered */
	uint64_t sum;     /* tu_hash of everything before it */
};

#define T_ELEM 64u
_Static_assert(sizeof(struct tmsg) == T_ELEM, "tmsg fills a slot");

#define TM_REQ 1u
#define TM_REP 2u

/* Exit codes of the children. */
enum {
	XC_OK = 0,
	XC_CONNECT = 10, /* iface_client_connect failed */
	XC_SEND = 11,    /* a send failed */
	XC_RECV = 12,    /* a receive failed */
	XC_SUM = 13,     /* a bad checksum or length */
	XC_ORDER = 14,   /* out of order, missing or duplicated */
	XC_STALL = 15,   /* no progress for T_STALL_MS */
	XC_SERVER = 16,  /* the server failed to start or its loop failed */
	XC_BADMSG = 17,  /* the server saw bad messages from a client */
	XC_PIPE = 18,    /* a test pipe failed */
	XC_PATH = 19,    /* the socket path was not removed */
};

/* A client that sees no reply for this long counts as stalled. */
#define T_STALL_MS 5000

/* What the echo server writes to its note pipe after the dispatch in which
 * a conn went away (so the conn is freed by the time the note is read). */
struct srv_note {
	int32_t pid;    /* the client's pid (SO_PEERCRED) */
	uint32_t code;  /* the reason code given to on_disconnect */
	uint64_t rx;    /* requests it received from that client */
	uint64_t bad;   /* of which bad (checksum, order, length) */
	uint64_t id;
};

struct srv_opts {
	const char *path;
	unsigned max_clients;     /* 0: 64 */
	int handshake_ms;         /* 0: 30 s, not the library's 2 s */
	uint32_t capacity;        /* 0: 1024 */
	int typed;                /* type id all 0x11 */
	int use_run;              /* iface_server_run instead of a dispatch
				   * loop (no notes then) */
};

/* Fork an echo server on o->path; returns when it listens. *note_rd gets
 * the read end of its note pipe (or -1 when note_rd is NULL). SIGTERM stops
 * it: its loop ends, it destroys the server and exits XC_OK when every
 * request was good and the path is gone. */
pid_t srv_spawn(const struct srv_opts *o, int *note_rd);

/* Read one note (blocking); ck_asserts a whole one came. */
void srv_note_read(int fd, struct srv_note *n);

/* An echo client in the calling (child) process: connect to path, stream
 * count requests (UINT64_MAX: until stop_fd is readable or hangs up),
 * keeping at most window unanswered, checking every reply. After ready_at
 * round trips write one byte to ready_fd (if >= 0). Returns an X_ code. */
int echo_client(const char *path, uint32_t who, uint64_t count,
		unsigned window, int stop_fd, int ready_fd,
		uint64_t ready_at);

/* Fork echo_client, _exit with its code. */
pid_t echo_client_spawn(const char *path, uint32_t who, uint64_t count,
			unsigned window, int stop_fd, int ready_fd,
			uint64_t ready_at);

/* Fill / check a message. */
void tmsg_fill(struct tmsg *m, uint32_t who, uint32_t kind, uint64_t seq,
	       uint64_t answered);
int tmsg_ok(const void *p, size_t len, struct tmsg *out);

/* Descriptors of process pid, and its mappings of memfds. */
int proc_fd_count(pid_t pid);
int proc_memfd_maps(pid_t pid);

int64_t t_now_ns(void);
pid_t t_fork(void);
void t_pipe(int p[2]);
/* Read exactly n bytes; returns n, 0 at end of file, -errno. */
ssize_t t_read_full(int fd, void *buf, size_t n);
int t_write_full(int fd, const void *buf, size_t n);

/* One line from fd (byte by byte: nothing after it is taken). */
void t_read_line(int fd, char *buf, size_t cap);

/* A raw peer's receive: one datagram within timeout_ms, decoded (the
 * wire's pure decoder); its fds closed, their number in *nfds_out when not
 * NULL. 0, a decoder's -errno, or fdpass_recv's (-EPIPE: hung up). Safe in
 * children (no ck_assert). */
struct wire_msg;
int t_raw_recv(int sock, struct wire_msg *m, unsigned *nfds_out,
	       int timeout_ms);

/* A raw client's handshake on t_path (not in children: ck_assert): HELLO,
 * then JOIN j, then WELCOME, whose fds (WIRE_WELCOME_NFDS of them) it
 * keeps in fds. Returns the socket. */
struct wire_join;
int t_raw_open_fds(const struct wire_join *j, int *fds);

/* Each test's private directory and the server socket path in it, made
 * and removed around every test of a TCase from t_tcase. */
extern char *t_dir;
extern char t_path[256];

/* A test case with the fd/mapping leak fixture, the t_dir / t_path
 * fixture and a time-out in seconds. */
TCase *t_tcase(const char *name, int timeout);

#endif /* MEMENPSF_IFACE_UTIL_H */

/* SPDX-License-Identifier: MIT */
/*
 * libiface: a bidirectional channel between a server and each of its
 * clients: two shared-memory rings (libipcq), one each way, set up over a
 * SOCK_SEQPACKET control socket (libfdpass) that also tells each side at
 * once when the other is gone. Data never crosses the socket.
 *
 *   server                                  client
 *   iface_server_create(&s, &cfg)           iface_client_connect(&c, &cfg, &why)
 *   iface_server_run(s) -> callbacks        iface_client_send / recv / ...
 *     on_connect(conn)                      iface_client_close(c)
 *     on_message(conn, msgs, n)
 *     on_disconnect(conn, reason)
 *   iface_conn_send(conn, ...), iface_server_broadcast(s, ...)
 *   iface_conn_recv(conn, ...) (a server without on_message)
 *
 * Conventions (all of memenpsf): 0 or a count on success, -errno on failure:
 *   -EAGAIN     ring full (send) or empty (receive), non-blocking call
 *   -ETIMEDOUT  a time-out ran out
 *   -EPIPE      the peer is gone (after everything it published was read)
 *   -EMSGSIZE   a message larger than the slot
 *   -EPROTO     the peer broke the protocol
 *   -ECONNREFUSED the server refused the client: see struct iface_reason
 *   -EACCES     refused for the client's credentials or its key (or, on
 *               the client, a server that could not prove the key)
 *   -ENOSPC     refused: the server's shared-memory cap is reached
 *   -EBADMSG    the peer's shared memory holds values that cannot be right
 *   -EINVAL     a bad argument
 * Time-outs are milliseconds: -1 forever, 0 try once, > 0 at most that long.
 * Nothing prints; descriptors are close-on-exec. Objects are not
 * thread-safe, except iface_server_stop() / iface_client_stop(), which are
 * async-signal-safe and may be called from any thread or signal handler.
 */
#ifndef MEMENPSF_IFACE_H
#define MEMENPSF_IFACE_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>

#include <memenpsf/memenpsf-common.h>
#include <memenpsf/ipcq.h>

#ifdef __cplusplus
extern "C" {
#endif

struct iface_server;
struct iface_client;
struct iface_conn; /* the server's view of one client */

/* Why a connection was refused or ended. Codes travel on the wire. */
enum iface_reason_code {
	IFACE_R_NONE = 0,
	IFACE_R_CLOSED = 1,    /* the peer closed normally (BYE) */
	IFACE_R_VERSION = 2,   /* protocol versions differ */
	IFACE_R_TYPE = 3,      /* element type id differs */
	IFACE_R_SIZE = 4,      /* element size differs */
	IFACE_R_CAPACITY = 5,  /* ring capacity below what the client needs */
	IFACE_R_FULL = 6,      /* the server has its maximum of clients */
	IFACE_R_TIMEOUT = 7,   /* the handshake took too long */
	IFACE_R_PROTOCOL = 8,  /* a malformed or unexpected message */
	IFACE_R_DENIED = 9,    /* refused by the application (on_connect) */
	IFACE_R_SHUTDOWN = 10, /* the server is shutting down */
	IFACE_R_RESOURCE = 11, /* out of memory or descriptors */
	IFACE_R_HANGUP = 12,   /* the peer vanished without a BYE (crash) */
	IFACE_R_FEATURE = 13,  /* the peer needs a feature we lack (keys) */
	IFACE_R_CREDENTIALS = 14, /* the client's uid/gid is not allowed */
	IFACE_R_KEY = 15,      /* key refused: missing, wrong, or a proof that
				* does not verify (either side's) */
	IFACE_R_CORRUPT = 16,  /* the peer's ring held values that cannot be
				* right (-EBADMSG there): it is dropped */
	IFACE_R_MEMORY = 17,   /* the server's shared-memory cap is reached
				* (max_shm): connect gets -ENOSPC */
	IFACE_R_BUSY = 18,     /* too many handshakes pending (max_pending):
				* this one was dropped, connect gets -EAGAIN */
};

#define IFACE_TEXT_MAX 128

struct iface_reason {
	uint32_t code;               /* enum iface_reason_code */
	char text[IFACE_TEXT_MAX];   /* human-readable, NUL-terminated */
};

/* A peer's credentials as the kernel recorded them at connect()
 * (SO_PEERCRED): they cannot be forged by the peer. */
struct iface_cred {
	pid_t pid;
	uid_t uid;
	gid_t gid;
};

/* Per-connection counters, from this side's point of view. Bytes: a byte
 * message counts its length (send, send_wait, broadcast; recv, recv_wait,
 * peek / release, on_message), a whole element elem_size (send_n,
 * reserve / commit; recv_n, which hands out whole elements, a shorter
 * byte message zero-padded). */
struct iface_stats {
	uint64_t tx_msgs, tx_bytes; /* published toward the peer */
	uint64_t rx_msgs, rx_bytes; /* taken from the peer */
	uint64_t drops;             /* messages dropped (IFACE_FULL_DROP) */
	uint64_t full;              /* sends that found the ring full */
};

/* One received message as the message callback sees it: it points into the
 * ring and is valid only until the callback returns. */
struct iface_msg {
	const void *data;
	uint32_t len;
};

/* What a send to a full ring does, non-blocking calls only. */
enum iface_full_policy {
	IFACE_FULL_EAGAIN = 0, /* report -EAGAIN, count it in stats.full */
	IFACE_FULL_DROP = 1,   /* drop the message, count it, return 0 */
};

/* Size of a pre-shared key (iface_server_config.key, client the same). */
#define IFACE_KEY_SIZE 32
/* Size of the session token given in WELCOME (iface_client_token). */
#define IFACE_TOKEN_SIZE 32

/* Socket path used when a config gives no path: $XDG_RUNTIME_DIR/memenpsf/
 * NAME.sock, or /tmp/memenpsf-UID/NAME.sock when XDG_RUNTIME_DIR is unset. */
#define IFACE_DEFAULT_NAME "default"

/* Default of iface_server_config.spin: about 0.1 ms of polling per idle
 * client on a current core. */
#define IFACE_DEFAULT_SPIN 2000

/*
 * Write the default socket path for name (NULL: IFACE_DEFAULT_NAME; letters,
 * digits, '.', '_', '-', 1..64 chars, not starting with '.') into buf.
 * Returns the path's length, -ENAMETOOLONG when it does not fit in cap or in
 * a sockaddr_un, -EINVAL for a bad name. Creates nothing.
 */
MEMENPSF_API MEMENPSF_MUST_USE
int iface_default_path(char *buf, size_t cap, const char *name);

/* ---- server ----------------------------------------------------------------- */

struct iface_server_callbacks {
	/* A client passed the handshake; its rings exist. Return 0 to accept
	 * (WELCOME follows) or non-zero to refuse it (IFACE_R_DENIED). It may
	 * already send to c (the client reads it after WELCOME); closing c
	 * here refuses it with that code and text, and no on_disconnect
	 * follows. */
	int (*on_connect)(struct iface_conn *c, void *user);
	/* n (>= 1) messages from c, in order. They are released back to the
	 * client's ring when the callback returns. NULL: the application
	 * reads each conn itself (iface_conn_recv and the calls after it);
	 * a dispatch then reports a conn whose ring holds messages as one
	 * event, once: not again until a receive found the ring empty
	 * (-EAGAIN), so read until then. A conn whose client is gone is
	 * reported once more for what it left (read it until -EPIPE), and
	 * the next dispatch ends it: on_disconnect. */
	void (*on_message)(struct iface_conn *c, const struct iface_msg *msgs,
			   unsigned n, void *user);
	/* c is gone (exactly once for every accepted conn); c is freed after
	 * this returns. Everything c published was delivered first. */
	void (*on_disconnect)(struct iface_conn *c,
			      const struct iface_reason *why, void *user);
	/* Credential policy, called for each new client before anything is
	 * sent to it or allocated for it (after the config's uid policy
	 * passed): return 0 to go on with the handshake, non-zero to refuse
	 * the client with IFACE_R_CREDENTIALS (its connect gets -EACCES).
	 * NULL: no further check. */
	int (*check_peer)(const struct iface_cred *cred, void *user);
	/* A client was refused before it was connected (version, type,
	 * size, capacity, server full, credentials, key, handshake time-out,
	 * malformed handshake, shared-memory cap, dropped as a pending
	 * handshake over max_pending, on_connect): the same reason its
	 * connect returns, for the server's log. Called at the end of the
	 * dispatch, except for refusals before anything was allocated for
	 * the client (credentials, server full), which are told at once;
	 * NULL: not told. */
	void (*on_refused)(const struct iface_cred *cred,
			   const struct iface_reason *why, void *user);
};

/* A zeroed config is valid: every 0 / NULL means the default in brackets. */
struct iface_server_config {
	const char *path;      /* socket path [iface_default_path(name)] */
	const char *name;      /* name for the default path [IFACE_DEFAULT_NAME] */
	uint32_t elem_size;    /* slot payload bytes [256] */
	uint32_t capacity;     /* slots per ring, a power of two [1024] */
	uint8_t type_id[IPCQ_TYPE_ID_SIZE]; /* all zero: untyped */
	unsigned max_clients;  /* clients past their handshake at once (a
				* JOIN beyond gets IFACE_R_FULL); pending
				* handshakes are capped by max_pending [64] */
	int handshake_timeout_ms; /* a client that does not finish the
				   * handshake in time is dropped [2000] */
	unsigned max_fds;      /* most fds accepted in one control message;
				* any message that carries more is a protocol
				* error [8, at most FDPASS_MAX_FDS] */
	unsigned batch;        /* most messages per on_message call [64]; a
				* batch also stops at 256 KiB of slots, so
				* that the client refills the ring meanwhile */
	enum iface_full_policy full_policy; /* [IFACE_FULL_EAGAIN] */
	unsigned mode;         /* socket file mode [0600] */
	struct iface_server_callbacks cb;
	void *user;            /* passed to every callback */
	/* Dispatch rounds a client's ring is still polled after it ran empty
	 * before its doorbell is armed and the loop may sleep: a busy client
	 * then never needs to ring (lower latency; the loop's core stays busy
	 * meanwhile and iface_server_fd() stays readable). As libipcq's
	 * blocking calls spin before they sleep. [0: IFACE_DEFAULT_SPIN;
	 * negative: never poll, arm at once] */
	int spin;
	/* Who may connect, besides the socket file's mode. The kernel's
	 * record of the client's uid and gid (SO_PEERCRED) is checked first
	 * thing after accept, before anything is allocated for or sent to the
	 * client; a client that fails is refused with IFACE_R_CREDENTIALS
	 * (its connect gets -EACCES). With no list given, only the server's
	 * own effective uid may connect. When either list is given, a client
	 * gets in when its uid is in allow_uids or its gid in allow_gids (and
	 * only then: list the server's uid to keep it). Copied at create.
	 * check_peer, when set, is asked after this policy passed. */
	const uid_t *allow_uids;
	unsigned n_allow_uids;
	const gid_t *allow_gids;
	unsigned n_allow_gids;
	/* A pre-shared key of IFACE_KEY_SIZE bytes that every client must
	 * prove before anything is allocated for it (and that the server
	 * proves back in WELCOME): either key/key_len in memory (copied into
	 * locked, undumped memory at create; the caller's copy stays the
	 * caller's to wipe) or key_file (0600 or stricter, owned by the
	 * effective uid, 32 raw bytes or 64 hex digits and an optional
	 * newline). Not both. A client without the key is refused with
	 * IFACE_R_KEY. [none: no key asked for] */
	const void *key;
	size_t key_len;
	const char *key_file;
	/* 1: no uid/gid policy, whoever can open the socket gets in (the
	 * lists must then be empty; check_peer still applies). [0] */
	int allow_any_uid;
	/* Handshakes pending at once (connections accepted that have not
	 * finished JOIN; each costs a descriptor and a small struct, no
	 * rings). At the cap, a newcomer is accepted only when some process
	 * (SO_PEERCRED pid) has two or more pending: if the newcomer's own
	 * process has the most (counting it), the newcomer is refused with
	 * IFACE_R_BUSY (that connect gets -EAGAIN); if another has, that
	 * one's oldest is dropped the same way. Otherwise the
	 * listener waits until a pending handshake ends (JOIN, refusal or
	 * handshake_timeout_ms) and newcomers wait in the kernel's backlog,
	 * in order. So one process that floods the socket only ever drops
	 * its own connections, and a client with one connection is never
	 * dropped for someone else's. [16] */
	unsigned max_pending;
	/* Bytes of shared memory one client's rings may take (both rings,
	 * headers included; a client always has exactly two rings, created
	 * by the server with its geometry, and cannot ask for more): the
	 * server's geometry must fit, or create fails with -EINVAL.
	 * [256 MiB] */
	uint64_t max_client_shm;
	/* Bytes of shared memory all clients' rings may take together: a
	 * JOIN whose rings would pass it is refused with IFACE_R_MEMORY (the
	 * client's connect gets -ENOSPC) and the server goes on serving the
	 * others. At least one client's rings, else create fails with
	 * -EINVAL. [1 GiB] */
	uint64_t max_shm;
	/* The listening socket's backlog: connections the kernel queues
	 * before the server accepts them (beyond it a connect waits, up to
	 * its time-out). Under a flood a legitimate client waits behind at
	 * most this many queued connections; a server expecting bursts of
	 * many clients at once may want more. 1..65535 (the kernel also
	 * caps it at net.core.somaxconn). [128] */
	int backlog;
};

/*
 * Create a server listening on cfg->path (cfg may be NULL for all defaults).
 * For the default path the directory is created 0700 and refused with
 * -EACCES if it exists but is not ours or not 0700. A stale socket is
 * replaced; a live server on the path gives -EADDRINUSE. A key file with a
 * mode wider than 0600 or another owner gives -EACCES, one that is not a
 * regular file or holds anything but a key -EINVAL, a missing one -ENOENT;
 * a key of the wrong length or both key and key_file -EINVAL; libsodium
 * that cannot start -ENOSYS. Other failures: -EINVAL (bad config),
 * -ENAMETOOLONG, -ENOMEM, -errno. Never blocks.
 */
MEMENPSF_API MEMENPSF_MUST_USE
int iface_server_create(struct iface_server **out,
			const struct iface_server_config *cfg);

/*
 * Send BYE (IFACE_R_SHUTDOWN) to every client, call on_disconnect for each,
 * free every ring and descriptor, remove the socket path, free s. NULL is
 * ignored. Must not be called from inside a callback.
 */
MEMENPSF_API void iface_server_destroy(struct iface_server *s);

/* The socket path the server listens on (the default one resolved). Owned
 * by s, valid until iface_server_destroy(). */
MEMENPSF_API const char *iface_server_path(const struct iface_server *s);

/*
 * One pollable descriptor (an epoll set) for callers with their own loop:
 * when it is readable, call iface_server_dispatch(s, 0). Owned by s.
 */
MEMENPSF_API int iface_server_fd(const struct iface_server *s);

/*
 * Handle what is ready: new clients, handshakes, messages (in batches),
 * hang-ups, handshake time-outs; wait at most timeout_ms for something to be
 * ready. Returns how many events, messages (without on_message: conns
 * with new messages) and disconnects it handled (0 only when
 * timeout_ms ran out with nothing to do), -ECANCELED once
 * iface_server_stop() was called (and clears the stop request), or -errno
 * from epoll. Conns closed during the call are freed before it returns.
 * With a time-out the call polls the rings itself between rounds (cfg.spin
 * rounds per idle ring): 16 empty rounds back to back, then two pause
 * instructions between rounds, so that it does not keep taking back the
 * line a client is about to write; it returns as soon as it handled
 * something. A server that wants to spin is better served by
 * dispatch(s, -1) or run() with a large cfg.spin than by its own loop
 * around dispatch(s, 0) (bench/README.md, "The server's polling cadence").
 */
MEMENPSF_API MEMENPSF_MUST_USE
int iface_server_dispatch(struct iface_server *s, int timeout_ms);

/* Dispatch (callbacks included) until iface_server_stop(). Returns 0 after
 * a stop, or -errno from epoll. The usual main loop of a server. */
MEMENPSF_API MEMENPSF_MUST_USE
int iface_server_run(struct iface_server *s);

/* Make run() return / dispatch() return -ECANCELED soon. Async-signal-safe;
 * callable from any thread. */
MEMENPSF_API void iface_server_stop(struct iface_server *s);

/* Clients that finished the handshake (on_connect accepted them) and whose
 * on_disconnect has not come yet. */
MEMENPSF_API unsigned iface_server_nclients(const struct iface_server *s);

/* Connections accepted whose handshake is still pending (at most
 * max_pending), and bytes of shared memory the clients' rings take now
 * (at most max_shm). */
MEMENPSF_API unsigned iface_server_npending(const struct iface_server *s);
MEMENPSF_API uint64_t iface_server_shm(const struct iface_server *s);

/*
 * Send one byte message (0..elem_size bytes) to every connected client.
 * Never blocks: a client whose ring is full gets the server's full policy
 * (counted in its stats), the others are not held up. Returns how many
 * clients it was queued for, or -EMSGSIZE / -EINVAL.
 */
MEMENPSF_API int iface_server_broadcast(struct iface_server *s,
					const void *buf, size_t len);

/* ---- a server's connection ---------------------------------------------------
 *
 * A conn is valid from on_connect until on_disconnect returns, and is used
 * only from the thread that dispatches its server. Its send calls never
 * block and follow the server's full policy, except iface_conn_send_wait.
 */

/*
 * Send one byte message of len (0..elem_size) bytes to c. Returns 0, -EAGAIN
 * when c's ring is full (IFACE_FULL_DROP: 0, dropped and counted), -EMSGSIZE,
 * -EPIPE when c is closing or gone. Never blocks.
 */
MEMENPSF_API MEMENPSF_MUST_USE
int iface_conn_send(struct iface_conn *c, const void *buf, size_t len);

/*
 * As iface_conn_send, but wait at most timeout_ms for room in c's ring:
 * 0, -ETIMEDOUT, -EPIPE, -EMSGSIZE. Blocks the whole server meanwhile:
 * meant for servers with one client, or with a small time-out.
 */
MEMENPSF_API MEMENPSF_MUST_USE
int iface_conn_send_wait(struct iface_conn *c, const void *buf, size_t len,
			 int timeout_ms);

/*
 * Send up to n whole elements (elem_size bytes each, packed), publishing
 * once. Returns how many went in (1..n), -EAGAIN when none did (with
 * IFACE_FULL_DROP: n, the ones that did not fit dropped and counted),
 * -EINVAL (n == 0), -EPIPE. Never blocks.
 */
MEMENPSF_API MEMENPSF_MUST_USE
int iface_conn_send_n(struct iface_conn *c, const void *elems, unsigned n);

/*
 * Zero-copy send: reserve up to want free slots lying contiguously; slot k's
 * payload is at *first + k * iface_conn_stride(c). Returns how many (1..want),
 * -EAGAIN (full), -EPIPE, -EINVAL. Nothing is visible until
 * iface_conn_commit().
 */
MEMENPSF_API MEMENPSF_MUST_USE
int iface_conn_reserve(struct iface_conn *c, unsigned want, void **first);

/*
 * Publish the first n slots of the last iface_conn_reserve(), each as a
 * whole element (elem_size bytes), in one go. 0, or -EINVAL when n is more
 * than was reserved.
 */
MEMENPSF_API MEMENPSF_MUST_USE
int iface_conn_commit(struct iface_conn *c, unsigned n);

/*
 * Receive outside on_message (meant for a server without one; with one,
 * these find what the dispatch did not hand to it yet). One byte message
 * into buf: its length, -EMSGSIZE when cap is too small (it stays queued),
 * -EAGAIN when c's ring is empty, -EPIPE once the client is gone (seen by
 * a dispatch) and everything it published was read, -EBADMSG. Never
 * blocks.
 */
MEMENPSF_API MEMENPSF_MUST_USE
ssize_t iface_conn_recv(struct iface_conn *c, void *buf, size_t cap);

/* As iface_conn_recv, but wait at most timeout_ms for a message: its
 * length, -ETIMEDOUT, -EPIPE (at once when the client hangs up),
 * -EMSGSIZE. Blocks the whole server meanwhile, as iface_conn_send_wait. */
MEMENPSF_API MEMENPSF_MUST_USE
ssize_t iface_conn_recv_wait(struct iface_conn *c, void *buf, size_t cap,
			     int timeout_ms);

/* Receive up to n whole elements into elems (elem_size apart; shorter byte
 * messages zero-padded), releasing once. Returns how many (1..n), -EAGAIN,
 * -EPIPE, -EINVAL (n == 0). Never blocks. */
MEMENPSF_API MEMENPSF_MUST_USE
int iface_conn_recv_n(struct iface_conn *c, void *elems, unsigned n);

/* Zero-copy receive: look at up to want published messages lying
 * contiguously (slot k at *first + k * iface_conn_stride(c); lens gets each
 * length when not NULL). Returns how many, -EAGAIN, -EPIPE, -EINVAL. They
 * stay in the ring until iface_conn_release(). */
MEMENPSF_API MEMENPSF_MUST_USE
int iface_conn_peek(struct iface_conn *c, unsigned want, const void **first,
		    uint32_t *lens);

/* Give the first n peeked messages back to c's ring. 0, or -EINVAL when n
 * is more than was peeked. */
MEMENPSF_API MEMENPSF_MUST_USE
int iface_conn_release(struct iface_conn *c, unsigned n);

/* The blocking forms of the batch and zero-copy calls, as the client's
 * iface_client_wait / _wait_send: block at most timeout_ms until c's ring
 * holds a message (then recv_n / peek find at least one) or until c's
 * outgoing ring has a free slot (then send_n / reserve take at least one).
 * 0, -ETIMEDOUT, -EPIPE (at once when the client hangs up; for wait, once
 * its ring is also read to the end), -EBADMSG. Block the whole server
 * meanwhile, as iface_conn_send_wait. */
MEMENPSF_API MEMENPSF_MUST_USE
int iface_conn_wait(struct iface_conn *c, int timeout_ms);
MEMENPSF_API MEMENPSF_MUST_USE
int iface_conn_wait_send(struct iface_conn *c, int timeout_ms);

/*
 * Close c gracefully: BYE with code (0: IFACE_R_CLOSED) and text, then
 * on_disconnect (with that reason) and the free happen at the end of the
 * current dispatch, so this is safe inside any callback. Messages still in
 * c's incoming ring are dropped. Closing a closed conn does nothing.
 */
MEMENPSF_API void iface_conn_close(struct iface_conn *c, uint32_t code,
				   const char *text);

/* Server-unique id of c, from 1; the client learns the same id in WELCOME
 * (iface_client_id). */
MEMENPSF_API uint64_t iface_conn_id(const struct iface_conn *c);

/* Copy the session token sent to c in WELCOME (see iface_client_token) into
 * out; already drawn when on_connect is called. Never fails. */
MEMENPSF_API void iface_conn_token(const struct iface_conn *c,
				   uint8_t out[IFACE_TOKEN_SIZE]);

/* The client's pid and uid as the kernel recorded them when it connected
 * (SO_PEERCRED); 0 when the kernel could not tell. */
MEMENPSF_API pid_t iface_conn_pid(const struct iface_conn *c);
MEMENPSF_API uid_t iface_conn_uid(const struct iface_conn *c);

/* Copy the client's pid, uid and gid at connect time (SO_PEERCRED) into
 * *out. */
MEMENPSF_API void iface_conn_cred(const struct iface_conn *c,
				  struct iface_cred *out);

/* Copy c's counters, seen from the server (tx: toward the client), into
 * *out. Valid in on_disconnect too, for the final figures. */
MEMENPSF_API void iface_conn_stats(const struct iface_conn *c,
				   struct iface_stats *out);

/* Element size of c's rings (the server's elem_size), and the distance
 * between two slots' payloads for iface_conn_reserve and iface_conn_peek. */
MEMENPSF_API uint32_t iface_conn_elem_size(const struct iface_conn *c);
MEMENPSF_API uint32_t iface_conn_stride(const struct iface_conn *c);

/* An application pointer kept with c (NULL at first), for per-client
 * state; free what it points to in on_disconnect. */
MEMENPSF_API void iface_conn_set_user(struct iface_conn *c, void *user);
MEMENPSF_API void *iface_conn_user(const struct iface_conn *c);

/* The server c belongs to (e.g. to broadcast from inside a callback).
 * Never NULL. */
MEMENPSF_API struct iface_server *iface_conn_server(const struct iface_conn *c);

/* ---- client ----------------------------------------------------------------- */

struct iface_client_callbacks {
	/* n (>= 1) messages from the server, released when this returns. */
	void (*on_message)(struct iface_client *c, const struct iface_msg *msgs,
			   unsigned n, void *user);
	/* The server is gone (once); everything it published was delivered
	 * first. c stays valid: the caller closes it. */
	void (*on_disconnect)(struct iface_client *c,
			      const struct iface_reason *why, void *user);
};

/* A zeroed config is valid. */
struct iface_client_config {
	const char *path;     /* [iface_default_path(name)] */
	const char *name;     /* [IFACE_DEFAULT_NAME] */
	uint32_t elem_size;   /* element size demanded, 0: whatever the
			       * server has (learn it: iface_client_elem_size) */
	uint32_t min_capacity; /* smallest ring capacity accepted, 0: any */
	uint8_t type_id[IPCQ_TYPE_ID_SIZE]; /* demanded type; zero: any */
	int timeout_ms;       /* connect + handshake [5000]; -1 forever */
	unsigned batch;       /* most messages per on_message call [64];
			       * at most 256 KiB of slots */
	enum iface_full_policy full_policy; /* [IFACE_FULL_EAGAIN] */
	int spin;             /* polls of the ring before a blocking call
			       * sleeps, and dispatch rounds an empty ring is
			       * polled before it is armed (as the server's
			       * spin) [0: libipcq's default for blocking
			       * calls, IFACE_DEFAULT_SPIN rounds for
			       * dispatch; negative: sleep at once] */
	struct iface_client_callbacks cb;
	void *user;
	/* The server's pre-shared key, as in iface_server_config (key/key_len
	 * or key_file, not both). With a key the client proves it in JOIN and
	 * demands the server's proof in WELCOME: a server that asks for no
	 * key, or whose proof is wrong, is refused (-EACCES, IFACE_R_KEY)
	 * before the rings are touched. [none] */
	const void *key;
	size_t key_len;
	const char *key_file;
};

/*
 * Connect to a server and run the handshake (blocks at most cfg->timeout_ms).
 * Returns 0 with *out set, or -ENOENT / -ECONNREFUSED (no server),
 * -ECONNREFUSED with *why filled when the server refused us (why may be
 * NULL; it is also filled for -EPROTO / -EPROTONOSUPPORT: what was wrong),
 * -EACCES (refused for our credentials, key refused by the server
 * (IFACE_R_KEY, its text says "key refused"), or a server that could not
 * prove our key), -ETIMEDOUT, -EPROTO (a server that breaks the protocol),
 * -ENOSPC (the server's shared-memory cap is reached: IFACE_R_MEMORY),
 * -EAGAIN (dropped among too many pending handshakes: IFACE_R_BUSY; try
 * again), -errno. Key errors as iface_server_create (-EACCES, -EINVAL, -ENOENT,
 * -ENOSYS) come before anything is connected.
 */
MEMENPSF_API MEMENPSF_MUST_USE
int iface_client_connect(struct iface_client **out,
			 const struct iface_client_config *cfg,
			 struct iface_reason *why);

/* Send BYE (IFACE_R_CLOSED) unless the server is gone, then free
 * everything. Messages in flight toward the server that it has not read are
 * still readable by it. NULL is ignored. Not from inside a callback. */
MEMENPSF_API void iface_client_close(struct iface_client *c);

/* Geometry learnt in WELCOME: element (slot payload) size, ring capacity,
 * and the distance between two slots' payloads for reserve / peek. */
MEMENPSF_API uint32_t iface_client_elem_size(const struct iface_client *c);
MEMENPSF_API uint32_t iface_client_capacity(const struct iface_client *c);
MEMENPSF_API uint32_t iface_client_stride(const struct iface_client *c);

/* The id the server gave this connection in WELCOME (its iface_conn_id),
 * e.g. to match log lines of both sides. */
MEMENPSF_API uint64_t iface_client_id(const struct iface_client *c);

/* Copy the session token (IFACE_TOKEN_SIZE random bytes) the server gave in
 * WELCOME into out; the server's side is iface_conn_token. Reserved for
 * resuming a session after a reconnect, which is not implemented yet: today
 * it only names the session. Never fails. */
MEMENPSF_API void iface_client_token(const struct iface_client *c,
				     uint8_t out[IFACE_TOKEN_SIZE]);

/* Copy the client's counters (tx: toward the server) into *out. Never
 * fails. */
MEMENPSF_API void iface_client_stats(const struct iface_client *c,
				     struct iface_stats *out);

/* Copy why the connection ended into *out: the server's BYE reason, or
 * IFACE_R_HANGUP / IFACE_R_PROTOCOL; code IFACE_R_NONE while it is up. */
MEMENPSF_API void iface_client_reason(const struct iface_client *c,
				      struct iface_reason *out);

/*
 * Send one byte message of len (0..elem_size) bytes. 0, -EAGAIN (ring full;
 * IFACE_FULL_DROP: 0, dropped and counted), -EMSGSIZE, -EPIPE once the
 * server is known to be gone: the control socket is checked every 1024th
 * call and on a full ring (the first try after 256 calls when the last
 * look is 1 ms old, then every 64th try in a row when it is 50 us old), so
 * at most a ring's worth goes into the ring of a dead server.
 */
MEMENPSF_API MEMENPSF_MUST_USE
int iface_client_send(struct iface_client *c, const void *buf, size_t len);

/* As iface_client_send, but wait at most timeout_ms for room: 0,
 * -ETIMEDOUT, -EPIPE (at once when the server hangs up), -EMSGSIZE. */
MEMENPSF_API MEMENPSF_MUST_USE
int iface_client_send_wait(struct iface_client *c, const void *buf,
			   size_t len, int timeout_ms);

/* Send up to n whole elements (elem_size bytes each, packed), publishing
 * once. Returns how many (1..n), -EAGAIN when none fit (IFACE_FULL_DROP:
 * n, the rest dropped and counted), -EINVAL (n == 0), -EPIPE. */
MEMENPSF_API MEMENPSF_MUST_USE
int iface_client_send_n(struct iface_client *c, const void *elems, unsigned n);

/* Zero-copy send: reserve up to want contiguous free slots (slot k at
 * *first + k * iface_client_stride(c)). Returns how many, -EAGAIN, -EPIPE,
 * -EINVAL. Nothing is visible until iface_client_commit(). */
MEMENPSF_API MEMENPSF_MUST_USE
int iface_client_reserve(struct iface_client *c, unsigned want, void **first);

/* Publish the first n reserved slots as whole elements, in one go. 0, or
 * -EINVAL when n is more than was reserved. */
MEMENPSF_API MEMENPSF_MUST_USE
int iface_client_commit(struct iface_client *c, unsigned n);

/*
 * Receive one byte message into buf (when not using on_message). Returns its
 * length, -EMSGSIZE when cap is too small (it stays queued), -EAGAIN when
 * the ring is empty, -EPIPE once the server is gone and everything it
 * published was read (the socket is looked at as for a full send), -EBADMSG.
 */
MEMENPSF_API MEMENPSF_MUST_USE
ssize_t iface_client_recv(struct iface_client *c, void *buf, size_t cap);

/* As iface_client_recv, but wait at most timeout_ms for a message:
 * its length, -ETIMEDOUT, -EPIPE, -EMSGSIZE. */
MEMENPSF_API MEMENPSF_MUST_USE
ssize_t iface_client_recv_wait(struct iface_client *c, void *buf, size_t cap,
			       int timeout_ms);

/* Receive up to n whole elements into elems (elem_size apart; shorter byte
 * messages zero-padded), releasing once. Returns how many (1..n), -EAGAIN,
 * -EPIPE, -EINVAL (n == 0). Never blocks. */
MEMENPSF_API MEMENPSF_MUST_USE
int iface_client_recv_n(struct iface_client *c, void *elems, unsigned n);

/* Zero-copy receive: look at up to want published messages lying
 * contiguously (as ipcq_peek; lens gets each length when not NULL). Returns
 * how many, -EAGAIN, -EPIPE. They stay in the ring until release. */
MEMENPSF_API MEMENPSF_MUST_USE
int iface_client_peek(struct iface_client *c, unsigned want,
		      const void **first, uint32_t *lens);

/* Give the first n peeked messages back to the server's ring. 0, or
 * -EINVAL when n is more than was peeked. */
MEMENPSF_API MEMENPSF_MUST_USE
int iface_client_release(struct iface_client *c, unsigned n);

/* Block at most timeout_ms until a message can be received: 0,
 * -ETIMEDOUT, -EPIPE (the server is gone and its ring is empty). */
MEMENPSF_API MEMENPSF_MUST_USE
int iface_client_wait(struct iface_client *c, int timeout_ms);

/* Block at most timeout_ms until the ring toward the server has a free
 * slot (then send_n / reserve take at least one): 0, -ETIMEDOUT, -EPIPE
 * (at once when the server hangs up). The blocking form of the batch and
 * zero-copy sends: wait_send, then send_n or reserve. */
MEMENPSF_API MEMENPSF_MUST_USE
int iface_client_wait_send(struct iface_client *c, int timeout_ms);

/* One pollable descriptor (an epoll set, owned by c) for callers with their
 * own loop: when it is readable, call iface_client_dispatch(c, 0). It is
 * readable right after connect, so the first dispatch comes before a sleep. */
MEMENPSF_API int iface_client_fd(const struct iface_client *c);

/*
 * Deliver what came (on_message, in batches), notice the server's end
 * (on_disconnect, once, after every message it published); wait at most
 * timeout_ms. Returns events and messages handled (0 only when timeout_ms
 * ran out idle), -ECANCELED after iface_client_stop(), -EPIPE once the
 * server is gone and on_disconnect was called.
 */
MEMENPSF_API MEMENPSF_MUST_USE
int iface_client_dispatch(struct iface_client *c, int timeout_ms);

/* Dispatch until iface_client_stop() (returns 0) or until the server is
 * gone (-EPIPE, after on_disconnect); another -errno on failure. */
MEMENPSF_API MEMENPSF_MUST_USE
int iface_client_run(struct iface_client *c);

/* Make run() return 0 / dispatch() return -ECANCELED soon. Async-signal-
 * safe; callable from any thread or a signal handler. */
MEMENPSF_API void iface_client_stop(struct iface_client *c);

/* ---- typed channels ------------------------------------------------------
 *
 * IFACE_DEFINE_TYPE(tick, struct tick, "struct tick v1") defines static
 * inline wrappers over the untyped calls above, with sizeof(T) as the
 * element size and the type id of NAME (ipcq_type_id) demanded on both
 * sides, so a peer built with another layout is refused with IFACE_R_TYPE
 * or IFACE_R_SIZE instead of reading garbage:
 *   tick_server_config(&scfg), tick_client_config(&ccfg): set elem_size and
 *     type_id of a config (0, or -ENOSYS when libsodium cannot start);
 *   tick_send(c, &t), tick_send_wait(c, &t, ms), tick_send_n(c, ts, n),
 *   tick_recv(c, &t) (0 or -errno), tick_recv_wait(c, &t, ms),
 *   tick_recv_n(c, ts, n), and on a server's conn the same:
 *   tick_conn_send(conn, &t), tick_conn_send_wait(conn, &t, ms),
 *   tick_conn_send_n(conn, ts, n), tick_conn_recv(conn, &t),
 *   tick_conn_recv_wait(conn, &t, ms), tick_conn_recv_n(conn, ts, n);
 *   tick_get(msg, &t): copy one iface_msg of a message callback into t
 *     (0, or -EBADMSG when its length is not sizeof(T)).
 */
#define IFACE_DEFINE_TYPE(prefix, T, NAME)                                     \
	static inline int prefix##_type_id(uint8_t id_[IPCQ_TYPE_ID_SIZE])     \
	{                                                                      \
		return ipcq_type_id(id_, (NAME), (uint32_t)sizeof(T));         \
	}                                                                      \
	static inline int prefix##_server_config(                              \
		struct iface_server_config *cfg_)                              \
	{                                                                      \
		cfg_->elem_size = (uint32_t)sizeof(T);                         \
		return prefix##_type_id(cfg_->type_id);                        \
	}                                                                      \
	static inline int prefix##_client_config(                              \
		struct iface_client_config *cfg_)                              \
	{                                                                      \
		cfg_->elem_size = (uint32_t)sizeof(T);                         \
		return prefix##_type_id(cfg_->type_id);                        \
	}                                                                      \
	static inline int prefix##_send(struct iface_client *c_, const T *e_)  \
	{                                                                      \
		return iface_client_send(c_, e_, sizeof(T));                   \
	}                                                                      \
	static inline int prefix##_send_wait(struct iface_client *c_,          \
					     const T *e_, int timeout_ms_)     \
	{                                                                      \
		return iface_client_send_wait(c_, e_, sizeof(T), timeout_ms_); \
	}                                                                      \
	static inline int prefix##_send_n(struct iface_client *c_,             \
					  const T *e_, unsigned n_)            \
	{                                                                      \
		return iface_client_send_n(c_, e_, n_);                        \
	}                                                                      \
	static inline int prefix##_recv(struct iface_client *c_, T *e_)        \
	{                                                                      \
		int r_ = iface_client_recv_n(c_, e_, 1);                       \
		return r_ < 0 ? r_ : 0;                                        \
	}                                                                      \
	static inline int prefix##_recv_wait(struct iface_client *c_, T *e_,   \
					     int timeout_ms_)                  \
	{                                                                      \
		int r_ = iface_client_wait(c_, timeout_ms_);                   \
		return r_ < 0 ? r_ : prefix##_recv(c_, e_);                    \
	}                                                                      \
	static inline int prefix##_recv_n(struct iface_client *c_, T *e_,      \
					  unsigned n_)                         \
	{                                                                      \
		return iface_client_recv_n(c_, e_, n_);                        \
	}                                                                      \
	static inline int prefix##_conn_send(struct iface_conn *c_,            \
					     const T *e_)                      \
	{                                                                      \
		return iface_conn_send(c_, e_, sizeof(T));                     \
	}                                                                      \
	static inline int prefix##_conn_send_n(struct iface_conn *c_,          \
					       const T *e_, unsigned n_)       \
	{                                                                      \
		return iface_conn_send_n(c_, e_, n_);                          \
	}                                                                      \
	static inline int prefix##_conn_send_wait(struct iface_conn *c_,       \
						  const T *e_, int timeout_ms_) \
	{                                                                      \
		return iface_conn_send_wait(c_, e_, sizeof(T), timeout_ms_);   \
	}                                                                      \
	static inline int prefix##_conn_recv(struct iface_conn *c_, T *e_)     \
	{                                                                      \
		int r_ = iface_conn_recv_n(c_, e_, 1);                         \
		return r_ < 0 ? r_ : 0;                                        \
	}                                                                      \
	static inline int prefix##_conn_recv_wait(struct iface_conn *c_, T *e_, \
						  int timeout_ms_)             \
	{                                                                      \
		int r_ = iface_conn_wait(c_, timeout_ms_);                     \
		return r_ < 0 ? r_ : prefix##_conn_recv(c_, e_);               \
	}                                                                      \
	static inline int prefix##_conn_recv_n(struct iface_conn *c_, T *e_,   \
					       unsigned n_)                    \
	{                                                                      \
		return iface_conn_recv_n(c_, e_, n_);                          \
	}                                                                      \
	static inline int prefix##_get(const struct iface_msg *m_, T *e_)      \
	{                                                                      \
		if (m_->len != sizeof(T))                                      \
			return -EBADMSG;                                       \
		memcpy(e_, m_->data, sizeof(T));                               \
		return 0;                                                      \
	}

#ifdef __cplusplus
}
#endif

#endif /* MEMENPSF_IFACE_H */

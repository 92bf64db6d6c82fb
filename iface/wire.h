/* SPDX-License-Identifier: MIT */
/*
 * libiface control protocol, version 1: the bytes on the SOCK_SEQPACKET
 * control socket. Private: never installed.
 *
 * Every message is one datagram: a 16-byte header then a fixed-size body.
 * Integers are little-endian; structures below are the exact wire layout
 * (natural alignment, no padding, checked with _Static_assert). A message of
 * any other length than its type's is refused: later versions bump the
 * header's version instead of growing a v1 message.
 *
 *   server -> client  HELLO    (0 fds)
 *   client -> server  JOIN     (0 fds)
 *   server -> client  WELCOME  (6 fds: both rings, ipcq_export order,
 *                               client-to-server ring first) or REFUSE
 *   either side       BYE      (0 fds) then close
 *
 * Keys (iface/proof.c, iface/auth.h): HELLO carries the server nonce and
 * WIRE_FEAT_KEY when the server wants a proof; JOIN the client nonce and,
 * with WIRE_JOIN_PROOF, the client's proof; WELCOME the session token and,
 * with WIRE_WELCOME_PROOF, the server's proof, made only after the client's
 * was verified. Each proof covers the messages so far as encoded here, its
 * own with the proof field zeroed. The keys fill v1 fields that v1 always
 * had; the layout and every parser stayed as they were, so the version
 * stays 1. The resume token of JOIN is reserved: servers ignore it today.
 *
 * The decoders are pure functions (bytes, number of fds that came with them
 * and recvmsg flags in; a decoded struct or -errno out) so that a fuzz
 * target can call them directly.
 */
#ifndef MEMENPSF_IFACE_WIRE_H
#define MEMENPSF_IFACE_WIRE_H

#include <stddef.h>
#include <stdint.h>

#define WIRE_MAGIC 0x4650454du /* "MEPF" read as little-endian bytes */
#define WIRE_VERSION 1u

enum wire_type {
	WIRE_HELLO = 1,
	WIRE_JOIN = 2,
	WIRE_WELCOME = 3,
	WIRE_REFUSE = 4,
	WIRE_BYE = 5,
};

#define WIRE_NONCE_SIZE 32
#define WIRE_PROOF_SIZE 32
#define WIRE_TOKEN_SIZE 32
#define WIRE_TYPE_ID_SIZE 16
#define WIRE_TEXT_SIZE 128 /* reason text incl. its NUL */
#define WIRE_WELCOME_NFDS 6

/* HELLO feature bits */
#define WIRE_FEAT_KEY 0x1u    /* the server wants a proof of the key */
#define WIRE_FEAT_KNOWN 0x1u  /* bits this build understands */

/* JOIN flags */
#define WIRE_JOIN_TYPED 0x1u  /* type_id is meaningful */
#define WIRE_JOIN_RESUME 0x2u /* resume_token is meaningful */
#define WIRE_JOIN_PROOF 0x4u  /* proof is meaningful */
#define WIRE_JOIN_KNOWN 0x7u

/* WELCOME flags */
#define WIRE_WELCOME_TYPED 0x1u
#define WIRE_WELCOME_PROOF 0x2u
#define WIRE_WELCOME_KNOWN 0x3u

struct wire_header {
	uint32_t magic;
	uint16_t version;
	uint16_t type;
	uint32_t length;   /* whole message, header included */
	uint32_t reserved; /* 0 */
};

struct wire_hello {
	uint32_t features;
	uint32_t max_fds;  /* most fds the server accepts in one message */
	uint32_t elem_size; /* the server channel's element size (for show) */
	uint32_t reserved; /* 0 */
	uint8_t nonce[WIRE_NONCE_SIZE];
};

struct wire_join {
	uint32_t elem_size;    /* 0: any */
	uint32_t min_capacity; /* 0: any */
	uint32_t flags;        /* WIRE_JOIN_* */
	uint32_t reserved;     /* 0 */
	uint8_t type_id[WIRE_TYPE_ID_SIZE];
	uint8_t nonce[WIRE_NONCE_SIZE];
	uint8_t proof[WIRE_PROOF_SIZE];
	uint8_t resume_token[WIRE_TOKEN_SIZE];
};

struct wire_welcome {
	uint32_t elem_size;
	uint32_t capacity_c2s;
	uint32_t capacity_s2c;
	uint32_t flags; /* WIRE_WELCOME_* */
	uint64_t conn_id;
	uint8_t type_id[WIRE_TYPE_ID_SIZE];
	uint8_t session_token[WIRE_TOKEN_SIZE];
	uint8_t proof[WIRE_PROOF_SIZE];
};

/* REFUSE and BYE share the body: a code and a NUL-terminated text of
 * text_len bytes, zero-padded to WIRE_TEXT_SIZE. */
struct wire_reason {
	uint32_t code;
	uint32_t text_len; /* 0..WIRE_TEXT_SIZE-1 */
	char text[WIRE_TEXT_SIZE];
};

_Static_assert(sizeof(struct wire_header) == 16, "header size");
_Static_assert(offsetof(struct wire_header, version) == 4, "header version");
_Static_assert(offsetof(struct wire_header, type) == 6, "header type");
_Static_assert(offsetof(struct wire_header, length) == 8, "header length");
_Static_assert(offsetof(struct wire_header, reserved) == 12, "header rsvd");

_Static_assert(sizeof(struct wire_hello) == 48, "hello size");
_Static_assert(offsetof(struct wire_hello, max_fds) == 4, "hello max_fds");
_Static_assert(offsetof(struct wire_hello, elem_size) == 8, "hello elem");
_Static_assert(offsetof(struct wire_hello, nonce) == 16, "hello nonce");

_Static_assert(sizeof(struct wire_join) == 128, "join size");
_Static_assert(offsetof(struct wire_join, min_capacity) == 4, "join cap");
_Static_assert(offsetof(struct wire_join, flags) == 8, "join flags");
_Static_assert(offsetof(struct wire_join, type_id) == 16, "join type_id");
_Static_assert(offsetof(struct wire_join, nonce) == 32, "join nonce");
_Static_assert(offsetof(struct wire_join, proof) == 64, "join proof");
_Static_assert(offsetof(struct wire_join, resume_token) == 96, "join token");

_Static_assert(sizeof(struct wire_welcome) == 104, "welcome size");
_Static_assert(offsetof(struct wire_welcome, capacity_c2s) == 4, "w c2s");
_Static_assert(offsetof(struct wire_welcome, capacity_s2c) == 8, "w s2c");
_Static_assert(offsetof(struct wire_welcome, flags) == 12, "w flags");
_Static_assert(offsetof(struct wire_welcome, conn_id) == 16, "w conn_id");
_Static_assert(offsetof(struct wire_welcome, type_id) == 24, "w type_id");
_Static_assert(offsetof(struct wire_welcome, session_token) == 40, "w tok");
_Static_assert(offsetof(struct wire_welcome, proof) == 72, "w proof");

_Static_assert(sizeof(struct wire_reason) == 136, "reason size");
_Static_assert(offsetof(struct wire_reason, text_len) == 4, "reason len");
_Static_assert(offsetof(struct wire_reason, text) == 8, "reason text");

/* Largest message of version 1: a receive buffer of this size (plus one
 * byte, to see a longer message as such) holds any valid message. */
#define WIRE_MAX_MSG (sizeof(struct wire_header) + sizeof(struct wire_reason))
_Static_assert(WIRE_MAX_MSG >= sizeof(struct wire_header) +
				       sizeof(struct wire_join),
	       "max msg");
_Static_assert(WIRE_MAX_MSG >= sizeof(struct wire_header) +
				       sizeof(struct wire_welcome),
	       "max msg");

/* A decoded message. */
struct wire_msg {
	uint16_t version;
	uint16_t type;
	union {
		struct wire_hello hello;
		struct wire_join join;
		struct wire_welcome welcome;
		struct wire_reason reason; /* REFUSE and BYE */
	} u;
};

/* recvmsg() flags the decoder refuses (truncated data or control data). */
#define WIRE_BAD_MSG_FLAGS 0x28 /* MSG_CTRUNC | MSG_TRUNC */

/*
 * Decode one received message of len bytes that came with nfds descriptors
 * and recvmsg flags msg_flags. Returns 0 with *out filled, or:
 *   -EPROTONOSUPPORT  the magic is ours but the header's version is not 1
 *                     (out->version and out->type are set, for a REFUSE);
 *   -EPROTO           anything else wrong: short, long, bad magic, unknown
 *                     type, reserved bits set, a field out of bounds, the
 *                     wrong number of fds for the type, truncation flags.
 * Pure: no I/O, no allocation, no global state; the caller owns the fds.
 */
int wire_decode(const void *buf, size_t len, unsigned nfds, int msg_flags,
		struct wire_msg *out);

/* Number of descriptors a message of this type must carry. */
unsigned wire_nfds(uint16_t type);

/*
 * Encoders: write header + body for the given type into buf (cap bytes,
 * at least WIRE_MAX_MSG) and return the length, or -EINVAL for a body that
 * its own decoder would refuse (so a bug here never reaches the peer).
 */
int wire_encode_hello(void *buf, size_t cap, const struct wire_hello *m);
int wire_encode_join(void *buf, size_t cap, const struct wire_join *m);
int wire_encode_welcome(void *buf, size_t cap, const struct wire_welcome *m);
int wire_encode_reason(void *buf, size_t cap, uint16_t type, uint32_t code,
		       const char *text);

/* Encode with an arbitrary header version (tests, and REFUSE of a version
 * the server does not speak is still sent with version 1). */
int wire_encode_raw(void *buf, size_t cap, uint16_t version, uint16_t type,
		    const void *body, size_t body_len);

/* Fill a reason body from code and text (text cut to WIRE_TEXT_SIZE-1,
 * NUL-padded). */
void wire_reason_set(struct wire_reason *r, uint32_t code, const char *text);

#endif /* MEMENPSF_IFACE_WIRE_H */

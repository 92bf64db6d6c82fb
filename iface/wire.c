/* SPDX-License-Identifier: MIT */
/*
 * The control protocol's encoders and pure decoders (see wire.h). Every
 * multi-byte field is converted from little-endian after one memcpy of the
 * datagram into a local, so alignment of the caller's buffer never matters.
 */
#include <endian.h>
#include <errno.h>
#include <string.h>

#include <memenpsf/fdpass.h>
#include <memenpsf/ipcq.h>

#include "wire.h"

static int all_zero(const void *p, size_t n)
{
	const unsigned char *c = p;
	unsigned char acc = 0;

	for (size_t i = 0; i < n; i++)
		acc |= c[i];
	return acc == 0;
}

static int is_pow2(uint32_t v)
{
	return v && !(v & (v - 1));
}

static size_t body_size(uint16_t type)
{
	switch (type) {
	case WIRE_HELLO:
		return sizeof(struct wire_hello);
	case WIRE_JOIN:
		return sizeof(struct wire_join);
	case WIRE_WELCOME:
		return sizeof(struct wire_welcome);
	case WIRE_REFUSE:
	case WIRE_BYE:
		return sizeof(struct wire_reason);
	default:
		return 0;
	}
}

unsigned wire_nfds(uint16_t type)
{
	return type == WIRE_WELCOME ? WIRE_WELCOME_NFDS : 0;
}

/* ---- field checks, shared by decoders and encoders ----------------------- */

static int check_hello(const struct wire_hello *m)
{
	if (m->max_fds > FDPASS_MAX_FDS)
		return -EPROTO;
	if (m->elem_size < 1 || m->elem_size > IPCQ_MAX_ELEM_SIZE)
		return -EPROTO;
	if (m->reserved)
		return -EPROTO;
	/* unknown feature bits are the client's decision, not a parse error */
	return 0;
}

static int check_join(const struct wire_join *m)
{
	if (m->elem_size > IPCQ_MAX_ELEM_SIZE)
		return -EPROTO;
	if (m->min_capacity > IPCQ_MAX_CAPACITY)
		return -EPROTO;
	if ((m->flags & ~WIRE_JOIN_KNOWN) || m->reserved)
		return -EPROTO;
	if (!(m->flags & WIRE_JOIN_TYPED) &&
	    !all_zero(m->type_id, sizeof(m->type_id)))
		return -EPROTO;
	if (!(m->flags & WIRE_JOIN_PROOF) &&
	    !all_zero(m->proof, sizeof(m->proof)))
		return -EPROTO;
	if (!(m->flags & WIRE_JOIN_RESUME) &&
	    !all_zero(m->resume_token, sizeof(m->resume_token)))
		return -EPROTO;
	return 0;
}

static int check_welcome(const struct wire_welcome *m)
{
	if (m->elem_size < 1 || m->elem_size > IPCQ_MAX_ELEM_SIZE)
		return -EPROTO;
	if (!is_pow2(m->capacity_c2s) || m->capacity_c2s < 2 ||
	    m->capacity_c2s > IPCQ_MAX_CAPACITY)
		return -EPROTO;
	if (!is_pow2(m->capacity_s2c) || m->capacity_s2c < 2 ||
	    m->capacity_s2c > IPCQ_MAX_CAPACITY)
		return -EPROTO;
	if (m->flags & ~WIRE_WELCOME_KNOWN)
		return -EPROTO;
	if (!m->conn_id)
		return -EPROTO;
	if (!(m->flags & WIRE_WELCOME_TYPED) &&
	    !all_zero(m->type_id, sizeof(m->type_id)))
		return -EPROTO;
	if (!(m->flags & WIRE_WELCOME_PROOF) &&
	    !all_zero(m->proof, sizeof(m->proof)))
		return -EPROTO;
	return 0;
}

static int check_reason(const struct wire_reason *m)
{
	if (m->code == 0 || m->code > 0xffff)
		return -EPROTO;
	if (m->text_len >= WIRE_TEXT_SIZE)
		return -EPROTO;
	for (uint32_t i = 0; i < m->text_len; i++) {
		unsigned char c = (unsigned char)m->text[i];

		/* printable text only: it ends up on someone's terminal */
		if (c < 0x20 || c == 0x7f)
			return -EPROTO;
	}
	if (!all_zero(m->text + m->text_len, WIRE_TEXT_SIZE - m->text_len))
		return -EPROTO;
	return 0;
}

/* ---- byte order ------------------------------------------------------------ */

/* le32toh and htole32 are the same permutation: one swap serves both ways */
static void hello_swap(struct wire_hello *m)
{
	m->features = le32toh(m->features);
	m->max_fds = le32toh(m->max_fds);
	m->elem_size = le32toh(m->elem_size);
	m->reserved = le32toh(m->reserved);
}

static void join_swap(struct wire_join *m)
{
	m->elem_size = le32toh(m->elem_size);
	m->min_capacity = le32toh(m->min_capacity);
	m->flags = le32toh(m->flags);
	m->reserved = le32toh(m->reserved);
}

static void welcome_swap(struct wire_welcome *m)
{
	m->elem_size = le32toh(m->elem_size);
	m->capacity_c2s = le32toh(m->capacity_c2s);
	m->capacity_s2c = le32toh(m->capacity_s2c);
	m->flags = le32toh(m->flags);
	m->conn_id = le64toh(m->conn_id);
}

static void reason_swap(struct wire_reason *m)
{
	m->code = le32toh(m->code);
	m->text_len = le32toh(m->text_len);
}

/* ---- decode ---------------------------------------------------------------- */

int wire_decode(const void *buf, size_t len, unsigned nfds, int msg_flags,
		struct wire_msg *out)
{
	const unsigned char *p = buf;
	struct wire_header h;
	size_t body;
	int r;

	memset(out, 0, sizeof(*out));
	if (!buf || (msg_flags & WIRE_BAD_MSG_FLAGS))
		return -EPROTO;
	if (len < sizeof(h))
		return -EPROTO;
	memcpy(&h, p, sizeof(h));
	if (le32toh(h.magic) != WIRE_MAGIC)
		return -EPROTO;
	out->version = le16toh(h.version);
	out->type = le16toh(h.type);
	if (out->version != WIRE_VERSION)
		return -EPROTONOSUPPORT;
	if (h.reserved)
		return -EPROTO;
	body = body_size(out->type);
	if (!body)
		return -EPROTO;
	if (le32toh(h.length) != len || len != sizeof(h) + body)
		return -EPROTO;
	if (nfds != wire_nfds(out->type))
		return -EPROTO;
	p += sizeof(h);

	switch (out->type) {
	case WIRE_HELLO:
		memcpy(&out->u.hello, p, body);
		hello_swap(&out->u.hello);
		r = check_hello(&out->u.hello);
		break;
	case WIRE_JOIN:
		memcpy(&out->u.join, p, body);
		join_swap(&out->u.join);
		r = check_join(&out->u.join);
		break;
	case WIRE_WELCOME:
		memcpy(&out->u.welcome, p, body);
		welcome_swap(&out->u.welcome);
		r = check_welcome(&out->u.welcome);
		break;
	default: /* REFUSE, BYE */
		memcpy(&out->u.reason, p, body);
		reason_swap(&out->u.reason);
		r = check_reason(&out->u.reason);
		break;
	}
	if (r < 0)
		memset(&out->u, 0, sizeof(out->u));
	return r;
}

/* ---- encode ---------------------------------------------------------------- */

int wire_encode_raw(void *buf, size_t cap, uint16_t version, uint16_t type,
		    const void *body, size_t body_len)
{
	struct wire_header h;
	size_t len = sizeof(h) + body_len;

	if (!buf || cap < len || len > UINT32_MAX)
		return -EINVAL;
	h.magic = htole32(WIRE_MAGIC);
	h.version = htole16(version);
	h.type = htole16(type);
	h.length = htole32((uint32_t)len);
	h.reserved = 0;
	memcpy(buf, &h, sizeof(h));
	if (body_len)
		memcpy((unsigned char *)buf + sizeof(h), body, body_len);
	return (int)len;
}

int wire_encode_hello(void *buf, size_t cap, const struct wire_hello *m)
{
	struct wire_hello w = *m;

	if (check_hello(&w) < 0)
		return -EINVAL;
	hello_swap(&w);
	return wire_encode_raw(buf, cap, WIRE_VERSION, WIRE_HELLO, &w,
			       sizeof(w));
}

int wire_encode_join(void *buf, size_t cap, const struct wire_join *m)
{
	struct wire_join w = *m;

	if (check_join(&w) < 0)
		return -EINVAL;
	join_swap(&w);
	return wire_encode_raw(buf, cap, WIRE_VERSION, WIRE_JOIN, &w,
			       sizeof(w));
}

int wire_encode_welcome(void *buf, size_t cap, const struct wire_welcome *m)
{
	struct wire_welcome w = *m;

	if (check_welcome(&w) < 0)
		return -EINVAL;
	welcome_swap(&w);
	return wire_encode_raw(buf, cap, WIRE_VERSION, WIRE_WELCOME, &w,
			       sizeof(w));
}

void wire_reason_set(struct wire_reason *r, uint32_t code, const char *text)
{
	size_t n = 0;

	memset(r, 0, sizeof(*r));
	r->code = code;
	if (text) {
		while (text[n] && n < WIRE_TEXT_SIZE - 1) {
			unsigned char c = (unsigned char)text[n];

			r->text[n] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
			n++;
		}
	}
	r->text_len = (uint32_t)n;
}

int wire_encode_reason(void *buf, size_t cap, uint16_t type, uint32_t code,
		       const char *text)
{
	struct wire_reason w;

	if (type != WIRE_REFUSE && type != WIRE_BYE)
		return -EINVAL;
	wire_reason_set(&w, code, text);
	if (check_reason(&w) < 0)
		return -EINVAL;
	reason_swap(&w);
	return wire_encode_raw(buf, cap, WIRE_VERSION, type, &w, sizeof(w));
}

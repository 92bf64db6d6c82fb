/* SPDX-License-Identifier: MIT */
/*
 * The control protocol's pure encoders and decoders (iface/wire.c): every
 * field's bounds, truncated and extended messages, wrong magic / version /
 * type / length, descriptor counts, recvmsg flags, and a random-mutation run
 * that must never crash and never accept a message its checks refuse.
 */
#include <check.h>
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <memenpsf/fdpass.h>
#include <memenpsf/ipcq.h>

#include "testutil.h"
#include "../iface/wire.h" /* queue/ has a wire.h too */

#define H sizeof(struct wire_header)

static unsigned char buf[WIRE_MAX_MSG + 64];

static void put32(size_t off, uint32_t v)
{
	v = htole32(v);
	memcpy(buf + off, &v, 4);
}

static void put16(size_t off, uint16_t v)
{
	v = htole16(v);
	memcpy(buf + off, &v, 2);
}

static void put64(size_t off, uint64_t v)
{
	v = htole64(v);
	memcpy(buf + off, &v, 8);
}

static struct wire_hello good_hello(void)
{
	struct wire_hello h = { .features = 0, .max_fds = 8, .elem_size = 64 };

	memset(h.nonce, 0xa5, sizeof(h.nonce));
	return h;
}

static struct wire_join good_join(void)
{
	struct wire_join j = { .elem_size = 64, .min_capacity = 16,
			       .flags = WIRE_JOIN_TYPED };

	memset(j.type_id, 0x11, sizeof(j.type_id));
	memset(j.nonce, 0x22, sizeof(j.nonce));
	return j;
}

static struct wire_welcome good_welcome(void)
{
	struct wire_welcome w = { .elem_size = 64, .capacity_c2s = 1024,
				  .capacity_s2c = 512, .conn_id = 7 };

	memset(w.session_token, 0x33, sizeof(w.session_token));
	return w;
}

static int dec(size_t len, unsigned nfds, struct wire_msg *m)
{
	return wire_decode(buf, len, nfds, 0, m);
}

/* ---- round trips --------------------------------------------------------- */

START_TEST(roundtrip_hello)
{
	struct wire_hello h = good_hello();
	struct wire_msg m;
	int n = wire_encode_hello(buf, sizeof(buf), &h);

	ck_assert_int_eq(n, H + sizeof(struct wire_hello));
	ck_assert_int_eq(dec((size_t)n, 0, &m), 0);
	ck_assert_uint_eq(m.type, WIRE_HELLO);
	ck_assert_uint_eq(m.version, WIRE_VERSION);
	ck_assert_uint_eq(m.u.hello.max_fds, 8);
	ck_assert_uint_eq(m.u.hello.elem_size, 64);
	ck_assert_mem_eq(m.u.hello.nonce, h.nonce, WIRE_NONCE_SIZE);
	/* the bytes are little-endian at the documented offsets */
	ck_assert_uint_eq(buf[0], 'M');
	ck_assert_uint_eq(buf[1], 'E');
	ck_assert_uint_eq(buf[2], 'P');
	ck_assert_uint_eq(buf[3], 'F');
	ck_assert_uint_eq(buf[4], 1);
	ck_assert_uint_eq(buf[5], 0);
	ck_assert_uint_eq(buf[6], WIRE_HELLO);
	ck_assert_uint_eq(buf[8], (unsigned)n);
	ck_assert_uint_eq(buf[H + 4], 8);
	ck_assert_uint_eq(buf[H + 8], 64);
}
END_TEST

START_TEST(roundtrip_join)
{
	struct wire_join j = good_join();
	struct wire_msg m;
	int n = wire_encode_join(buf, sizeof(buf), &j);

	ck_assert_int_eq(n, H + 128);
	ck_assert_int_eq(dec((size_t)n, 0, &m), 0);
	ck_assert_uint_eq(m.type, WIRE_JOIN);
	ck_assert_uint_eq(m.u.join.elem_size, 64);
	ck_assert_uint_eq(m.u.join.min_capacity, 16);
	ck_assert_uint_eq(m.u.join.flags, WIRE_JOIN_TYPED);
	ck_assert_mem_eq(m.u.join.type_id, j.type_id, WIRE_TYPE_ID_SIZE);
	ck_assert_mem_eq(m.u.join.nonce, j.nonce, WIRE_NONCE_SIZE);
}
END_TEST

START_TEST(roundtrip_welcome)
{
	struct wire_welcome w = good_welcome();
	struct wire_msg m;
	int n = wire_encode_welcome(buf, sizeof(buf), &w);

	ck_assert_int_eq(n, H + 104);
	ck_assert_int_eq(dec((size_t)n, WIRE_WELCOME_NFDS, &m), 0);
	ck_assert_uint_eq(m.u.welcome.capacity_c2s, 1024);
	ck_assert_uint_eq(m.u.welcome.capacity_s2c, 512);
	ck_assert_uint_eq(m.u.welcome.conn_id, 7);
	ck_assert_mem_eq(m.u.welcome.session_token, w.session_token,
			 WIRE_TOKEN_SIZE);
	/* conn_id is 64-bit little-endian at body offset 16 */
	ck_assert_uint_eq(buf[H + 16], 7);
	ck_assert_uint_eq(buf[H + 23], 0);
}
END_TEST

START_TEST(roundtrip_reason)
{
	struct wire_msg m;
	int n = wire_encode_reason(buf, sizeof(buf), WIRE_REFUSE, 6,
				   "server full (4 clients)");

	ck_assert_int_eq(n, H + 136);
	ck_assert_int_eq(dec((size_t)n, 0, &m), 0);
	ck_assert_uint_eq(m.type, WIRE_REFUSE);
	ck_assert_uint_eq(m.u.reason.code, 6);
	ck_assert_uint_eq(m.u.reason.text_len, 23);
	ck_assert_str_eq(m.u.reason.text, "server full (4 clients)");

	n = wire_encode_reason(buf, sizeof(buf), WIRE_BYE, 1, "");
	ck_assert_int_eq(dec((size_t)n, 0, &m), 0);
	ck_assert_uint_eq(m.type, WIRE_BYE);
	ck_assert_str_eq(m.u.reason.text, "");
	/* only REFUSE and BYE carry a reason */
	ck_assert_int_eq(wire_encode_reason(buf, sizeof(buf), WIRE_HELLO, 1,
					    "x"),
			 -EINVAL);
	ck_assert_int_eq(wire_encode_reason(buf, sizeof(buf), WIRE_BYE, 0,
					    "x"),
			 -EINVAL);
}
END_TEST

START_TEST(reason_text_cleaned)
{
	struct wire_reason r;
	char longtext[400];

	memset(longtext, 'a', sizeof(longtext) - 1);
	longtext[sizeof(longtext) - 1] = 0;
	wire_reason_set(&r, 3, longtext);
	ck_assert_uint_eq(r.text_len, WIRE_TEXT_SIZE - 1);
	ck_assert_uint_eq(r.text[WIRE_TEXT_SIZE - 1], 0);
	wire_reason_set(&r, 3, "a\nb\x1b");
	ck_assert_str_eq(r.text, "a?b?");
	wire_reason_set(&r, 3, NULL);
	ck_assert_uint_eq(r.text_len, 0);
}
END_TEST

/* ---- header ---------------------------------------------------------------- */

START_TEST(header_truncated)
{
	struct wire_hello h = good_hello();
	struct wire_msg m;
	int n = wire_encode_hello(buf, sizeof(buf), &h);

	/* every length short of the full message, header included */
	for (int len = 0; len < n; len++)
		ck_assert_int_eq(dec((size_t)len, 0, &m), -EPROTO);
	ck_assert_int_eq(wire_decode(NULL, 64, 0, 0, &m), -EPROTO);
}
END_TEST

START_TEST(header_extended)
{
	struct wire_join j = good_join();
	struct wire_msg m;
	int n = wire_encode_join(buf, sizeof(buf), &j);

	/* one byte longer, with the length field agreeing or not */
	ck_assert_int_eq(dec((size_t)n + 1, 0, &m), -EPROTO);
	put32(8, (uint32_t)n + 1);
	ck_assert_int_eq(dec((size_t)n + 1, 0, &m), -EPROTO);
	/* length field lying about a correct-size datagram */
	put32(8, (uint32_t)n - 1);
	ck_assert_int_eq(dec((size_t)n, 0, &m), -EPROTO);
	put32(8, 0xffffffffu);
	ck_assert_int_eq(dec((size_t)n, 0, &m), -EPROTO);
	put32(8, (uint32_t)n);
	ck_assert_int_eq(dec((size_t)n, 0, &m), 0);
}
END_TEST

START_TEST(header_magic_version_type)
{
	struct wire_hello h = good_hello();
	struct wire_msg m;
	int n = wire_encode_hello(buf, sizeof(buf), &h);

	buf[0] ^= 1;
	ck_assert_int_eq(dec((size_t)n, 0, &m), -EPROTO);
	buf[0] ^= 1;
	ck_assert_int_eq(dec((size_t)n, 0, &m), 0);

	put16(4, 2);
	ck_assert_int_eq(dec((size_t)n, 0, &m), -EPROTONOSUPPORT);
	ck_assert_uint_eq(m.version, 2);
	ck_assert_uint_eq(m.type, WIRE_HELLO);
	put16(4, 0);
	ck_assert_int_eq(dec((size_t)n, 0, &m), -EPROTONOSUPPORT);
	put16(4, 1);

	put32(12, 1); /* reserved */
	ck_assert_int_eq(dec((size_t)n, 0, &m), -EPROTO);
	put32(12, 0);

	static const uint16_t bad_types[] = { 0, 6, 7, 0x100, 0xffff };
	for (unsigned i = 0; i < sizeof(bad_types) / sizeof(bad_types[0]);
	     i++) {
		put16(6, bad_types[i]);
		ck_assert_int_eq(dec((size_t)n, 0, &m), -EPROTO);
	}
	/* a valid type with another type's length */
	put16(6, WIRE_JOIN);
	ck_assert_int_eq(dec((size_t)n, 0, &m), -EPROTO);
	put16(6, WIRE_HELLO);
	ck_assert_int_eq(dec((size_t)n, 0, &m), 0);
}
END_TEST

START_TEST(fds_and_flags)
{
	struct wire_hello h = good_hello();
	struct wire_welcome w = good_welcome();
	struct wire_msg m;
	int n = wire_encode_hello(buf, sizeof(buf), &h);

	ck_assert_int_eq(dec((size_t)n, 1, &m), -EPROTO); /* fds on HELLO */
	ck_assert_int_eq(dec((size_t)n, 6, &m), -EPROTO);
	ck_assert_int_eq(wire_decode(buf, (size_t)n, 0, MSG_TRUNC, &m),
			 -EPROTO);
	ck_assert_int_eq(wire_decode(buf, (size_t)n, 0, MSG_CTRUNC, &m),
			 -EPROTO);
	ck_assert_int_eq(wire_decode(buf, (size_t)n, 0, MSG_EOR, &m), 0);

	n = wire_encode_welcome(buf, sizeof(buf), &w);
	for (unsigned k = 0; k <= FDPASS_MAX_FDS; k++)
		ck_assert_int_eq(dec((size_t)n, k, &m),
				 k == WIRE_WELCOME_NFDS ? 0 : -EPROTO);
	ck_assert_uint_eq(wire_nfds(WIRE_WELCOME), 6);
	ck_assert_uint_eq(wire_nfds(WIRE_JOIN), 0);
}
END_TEST

/* ---- bodies ---------------------------------------------------------------- */

START_TEST(hello_bounds)
{
	struct wire_hello h = good_hello();
	struct wire_msg m;
	int n = wire_encode_hello(buf, sizeof(buf), &h);

	put32(H + 4, FDPASS_MAX_FDS);
	ck_assert_int_eq(dec((size_t)n, 0, &m), 0);
	put32(H + 4, FDPASS_MAX_FDS + 1);
	ck_assert_int_eq(dec((size_t)n, 0, &m), -EPROTO);
	put32(H + 4, 0);
	ck_assert_int_eq(dec((size_t)n, 0, &m), 0);

	put32(H + 8, 0);
	ck_assert_int_eq(dec((size_t)n, 0, &m), -EPROTO);
	put32(H + 8, 1);
	ck_assert_int_eq(dec((size_t)n, 0, &m), 0);
	put32(H + 8, IPCQ_MAX_ELEM_SIZE);
	ck_assert_int_eq(dec((size_t)n, 0, &m), 0);
	put32(H + 8, IPCQ_MAX_ELEM_SIZE + 1);
	ck_assert_int_eq(dec((size_t)n, 0, &m), -EPROTO);
	put32(H + 8, 64);

	put32(H + 12, 1);
	ck_assert_int_eq(dec((size_t)n, 0, &m), -EPROTO);
	put32(H + 12, 0);
	/* unknown features decode (the client decides) */
	put32(H + 0, 0x80000001u);
	ck_assert_int_eq(dec((size_t)n, 0, &m), 0);
	ck_assert_uint_eq(m.u.hello.features, 0x80000001u);

	h.elem_size = 0;
	ck_assert_int_eq(wire_encode_hello(buf, sizeof(buf), &h), -EINVAL);
	h = good_hello();
	ck_assert_int_eq(wire_encode_hello(buf, 10, &h), -EINVAL);
}
END_TEST

START_TEST(join_bounds)
{
	struct wire_join j = good_join();
	struct wire_msg m;
	int n = wire_encode_join(buf, sizeof(buf), &j);

	put32(H + 0, 0);
	ck_assert_int_eq(dec((size_t)n, 0, &m), 0);
	put32(H + 0, IPCQ_MAX_ELEM_SIZE);
	ck_assert_int_eq(dec((size_t)n, 0, &m), 0);
	put32(H + 0, IPCQ_MAX_ELEM_SIZE + 1);
	ck_assert_int_eq(dec((size_t)n, 0, &m), -EPROTO);
	put32(H + 0, 64);

	put32(H + 4, IPCQ_MAX_CAPACITY);
	ck_assert_int_eq(dec((size_t)n, 0, &m), 0);
	put32(H + 4, IPCQ_MAX_CAPACITY + 1);
	ck_assert_int_eq(dec((size_t)n, 0, &m), -EPROTO);
	put32(H + 4, 0);

	put32(H + 8, 0x8);
	ck_assert_int_eq(dec((size_t)n, 0, &m), -EPROTO);
	/* a type id without the TYPED flag */
	put32(H + 8, 0);
	ck_assert_int_eq(dec((size_t)n, 0, &m), -EPROTO);
	memset(buf + H + 16, 0, 16);
	ck_assert_int_eq(dec((size_t)n, 0, &m), 0);
	/* proof / resume token without their flag, and with it */
	buf[H + 64] = 1;
	ck_assert_int_eq(dec((size_t)n, 0, &m), -EPROTO);
	put32(H + 8, WIRE_JOIN_PROOF);
	ck_assert_int_eq(dec((size_t)n, 0, &m), 0);
	buf[H + 127] = 1;
	ck_assert_int_eq(dec((size_t)n, 0, &m), -EPROTO);
	put32(H + 8, WIRE_JOIN_PROOF | WIRE_JOIN_RESUME);
	ck_assert_int_eq(dec((size_t)n, 0, &m), 0);
	put32(H + 12, 1);
	ck_assert_int_eq(dec((size_t)n, 0, &m), -EPROTO);

	j.flags = 0; /* type id set but not flagged */
	ck_assert_int_eq(wire_encode_join(buf, sizeof(buf), &j), -EINVAL);
}
END_TEST

START_TEST(welcome_bounds)
{
	struct wire_welcome w = good_welcome();
	struct wire_msg m;
	int n = wire_encode_welcome(buf, sizeof(buf), &w);
	static const uint32_t bad_caps[] = { 0, 1, 3, 1000,
					     IPCQ_MAX_CAPACITY * 2u,
					     0x80000000u, 0xffffffffu };
	const size_t nf = WIRE_WELCOME_NFDS;

	for (unsigned i = 0; i < sizeof(bad_caps) / sizeof(bad_caps[0]);
	     i++) {
		put32(H + 4, bad_caps[i]);
		ck_assert_int_eq(dec((size_t)n, nf, &m), -EPROTO);
		put32(H + 4, 1024);
		put32(H + 8, bad_caps[i]);
		ck_assert_int_eq(dec((size_t)n, nf, &m), -EPROTO);
		put32(H + 8, 512);
	}
	put32(H + 4, 2);
	put32(H + 8, IPCQ_MAX_CAPACITY);
	ck_assert_int_eq(dec((size_t)n, nf, &m), 0);

	put32(H + 0, 0);
	ck_assert_int_eq(dec((size_t)n, nf, &m), -EPROTO);
	put32(H + 0, IPCQ_MAX_ELEM_SIZE + 1);
	ck_assert_int_eq(dec((size_t)n, nf, &m), -EPROTO);
	put32(H + 0, 1);
	ck_assert_int_eq(dec((size_t)n, nf, &m), 0);

	put32(H + 12, 0x4);
	ck_assert_int_eq(dec((size_t)n, nf, &m), -EPROTO);
	put32(H + 12, 0);
	put64(H + 16, 0);
	ck_assert_int_eq(dec((size_t)n, nf, &m), -EPROTO);
	put64(H + 16, UINT64_MAX);
	ck_assert_int_eq(dec((size_t)n, nf, &m), 0);
	ck_assert_uint_eq(m.u.welcome.conn_id, UINT64_MAX);

	buf[H + 24] = 9; /* type id without TYPED */
	ck_assert_int_eq(dec((size_t)n, nf, &m), -EPROTO);
	put32(H + 12, WIRE_WELCOME_TYPED);
	ck_assert_int_eq(dec((size_t)n, nf, &m), 0);
	ck_assert_uint_eq(m.u.welcome.type_id[0], 9);
	buf[H + 103] = 1; /* proof without PROOF */
	ck_assert_int_eq(dec((size_t)n, nf, &m), -EPROTO);
}
END_TEST

START_TEST(reason_bounds)
{
	struct wire_msg m;
	int n = wire_encode_reason(buf, sizeof(buf), WIRE_BYE, 1, "bye");

	put32(H + 0, 0);
	ck_assert_int_eq(dec((size_t)n, 0, &m), -EPROTO);
	put32(H + 0, 0x10000);
	ck_assert_int_eq(dec((size_t)n, 0, &m), -EPROTO);
	put32(H + 0, 0xffff);
	ck_assert_int_eq(dec((size_t)n, 0, &m), 0);

	/* text_len must match the text exactly */
	put32(H + 4, 2);
	ck_assert_int_eq(dec((size_t)n, 0, &m), -EPROTO); /* 'e' after len */
	put32(H + 4, 4);
	ck_assert_int_eq(dec((size_t)n, 0, &m), -EPROTO); /* NUL inside */
	put32(H + 4, WIRE_TEXT_SIZE);
	ck_assert_int_eq(dec((size_t)n, 0, &m), -EPROTO);
	put32(H + 4, 0xffffffffu);
	ck_assert_int_eq(dec((size_t)n, 0, &m), -EPROTO);
	put32(H + 4, 3);
	ck_assert_int_eq(dec((size_t)n, 0, &m), 0);

	buf[H + 8 + 1] = '\n';
	ck_assert_int_eq(dec((size_t)n, 0, &m), -EPROTO);
	buf[H + 8 + 1] = 0x7f;
	ck_assert_int_eq(dec((size_t)n, 0, &m), -EPROTO);
	buf[H + 8 + 1] = (char)0xc3; /* UTF-8 bytes are fine */
	ck_assert_int_eq(dec((size_t)n, 0, &m), 0);

	/* the longest text: 127 bytes and its NUL */
	memset(buf + H + 8, 'x', WIRE_TEXT_SIZE - 1);
	put32(H + 4, WIRE_TEXT_SIZE - 1);
	ck_assert_int_eq(dec((size_t)n, 0, &m), 0);
	ck_assert_uint_eq(strlen(m.u.reason.text), WIRE_TEXT_SIZE - 1);
	buf[H + 8 + WIRE_TEXT_SIZE - 1] = 'x'; /* no terminating NUL */
	ck_assert_int_eq(dec((size_t)n, 0, &m), -EPROTO);
}
END_TEST

/* Random mutations of valid messages: nothing crashes, and whatever decodes
 * re-encodes to the same bytes (so the decoder accepted nothing its own
 * checks would refuse). */
START_TEST(mutations)
{
	unsigned seed = 12345;
	struct wire_hello h = good_hello();
	struct wire_join j = good_join();
	struct wire_welcome w = good_welcome();

	for (int it = 0; it < 200000; it++) {
		unsigned char again[sizeof(buf)];
		struct wire_msg m;
		int n, r, nfds = 0, flips;

		switch (it % 4) {
		case 0:
			n = wire_encode_hello(buf, sizeof(buf), &h);
			break;
		case 1:
			n = wire_encode_join(buf, sizeof(buf), &j);
			break;
		case 2:
			n = wire_encode_welcome(buf, sizeof(buf), &w);
			nfds = 6;
			break;
		default:
			n = wire_encode_reason(buf, sizeof(buf), WIRE_BYE, 2,
					       "text");
			break;
		}
		ck_assert_int_gt(n, 0);
		flips = 1 + (int)(rand_r(&seed) % 3);
		for (int k = 0; k < flips; k++)
			buf[rand_r(&seed) % (unsigned)n] ^=
				(unsigned char)(1u << (rand_r(&seed) % 8));
		if (rand_r(&seed) % 8 == 0)
			n = (int)(rand_r(&seed) % (unsigned)(n + 8));
		r = dec((size_t)n, (unsigned)nfds, &m);
		ck_assert(r == 0 || r == -EPROTO || r == -EPROTONOSUPPORT);
		if (r != 0)
			continue;
		switch (m.type) {
		case WIRE_HELLO:
			r = wire_encode_hello(again, sizeof(again), &m.u.hello);
			break;
		case WIRE_JOIN:
			r = wire_encode_join(again, sizeof(again), &m.u.join);
			break;
		case WIRE_WELCOME:
			r = wire_encode_welcome(again, sizeof(again),
						&m.u.welcome);
			break;
		default:
			r = wire_encode_raw(again, sizeof(again), WIRE_VERSION,
					    m.type, buf + H,
					    sizeof(struct wire_reason));
			break;
		}
		ck_assert_int_eq(r, n);
		ck_assert_mem_eq(again, buf, (size_t)n);
	}
}
END_TEST

static Suite *wire_suite(void)
{
	Suite *s = suite_create("iface_wire");
	TCase *tc = tcase_create("roundtrip");

	tcase_add_checked_fixture(tc, tu_leak_setup, tu_leak_teardown);
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, roundtrip_hello);
	tcase_add_test(tc, roundtrip_join);
	tcase_add_test(tc, roundtrip_welcome);
	tcase_add_test(tc, roundtrip_reason);
	tcase_add_test(tc, reason_text_cleaned);
	suite_add_tcase(s, tc);

	tc = tcase_create("header");
	tcase_add_checked_fixture(tc, tu_leak_setup, tu_leak_teardown);
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, header_truncated);
	tcase_add_test(tc, header_extended);
	tcase_add_test(tc, header_magic_version_type);
	tcase_add_test(tc, fds_and_flags);
	suite_add_tcase(s, tc);

	tc = tcase_create("bodies");
	tcase_add_checked_fixture(tc, tu_leak_setup, tu_leak_teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, hello_bounds);
	tcase_add_test(tc, join_bounds);
	tcase_add_test(tc, welcome_bounds);
	tcase_add_test(tc, reason_bounds);
	tcase_add_test(tc, mutations);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(wire_suite());

	srunner_set_fork_status(sr, CK_FORK);
	return tu_run(sr);
}

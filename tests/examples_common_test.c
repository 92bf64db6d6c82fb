/* SPDX-License-Identifier: MIT */
/*
 * The examples' echo pattern (examples/common.c): what ex_fill writes,
 * ex_check accepts at every length, and nothing else: any flipped bit, a
 * message of another seq, a torn one (half of each), a short one.
 */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../examples/common.h"
#include "testutil.h"

#define MAXLEN 300
#define GUARD 0xa5

/* A message of len bytes for seq, GUARD bytes after it. */
static void make(unsigned char *m, size_t len, uint64_t seq)
{
	struct ex_echo_hdr h = { .seq = seq, .t_ns = 7, .srv_seq = seq };

	memset(m, GUARD, MAXLEN + 16);
	memcpy(m, &h, sizeof(h));
	ex_fill(m, len, seq);
}

START_TEST(fill_then_check)
{
	unsigned char m[MAXLEN + 16];

	for (size_t len = EX_ECHO_MIN; len <= MAXLEN; len++)
		for (uint64_t seq = 1; seq < 4; seq++) {
			make(m, len, seq);
			ck_assert_msg(ex_check(m, len, seq) == 0, "len %zu",
				      len);
			for (size_t i = len; i < MAXLEN + 16; i++)
				ck_assert_msg(m[i] == GUARD,
					      "len %zu: byte %zu written", len,
					      i);
		}
}
END_TEST

START_TEST(check_refuses)
{
	unsigned char m[MAXLEN + 16], o[MAXLEN + 16];

	for (size_t len = EX_ECHO_MIN; len <= MAXLEN; len++) {
		make(m, len, 5);
		ck_assert_int_eq(ex_check(m, len, 6), -1); /* another seq */
		for (size_t i = EX_ECHO_MIN; i < len; i++)
			for (unsigned b = 0; b < 8; b++) {
				m[i] ^= (unsigned char)(1u << b);
				ck_assert_msg(ex_check(m, len, 5) == -1,
					      "len %zu: bit %u of byte %zu",
					      len, b, i);
				m[i] ^= (unsigned char)(1u << b);
			}
		if (len >= EX_ECHO_MIN + 2) {
			/* torn: the second half from the next message */
			make(o, len, 6);
			memcpy(m + len / 2, o + len / 2, len - len / 2);
			ck_assert_msg(ex_check(m, len, 5) == -1, "len %zu",
				      len);
		}
	}
	ck_assert_int_eq(ex_check(m, EX_ECHO_MIN - 1, 5), -1);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("examples_common");
	TCase *tc = tcase_create("pattern");
	SRunner *sr;

	tcase_add_test(tc, fill_then_check);
	tcase_add_test(tc, check_refuses);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	return tu_run(sr);
}

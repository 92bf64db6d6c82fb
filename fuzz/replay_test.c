/* SPDX-License-Identifier: MIT */
/*
 * The fuzz targets' inputs replayed in every ordinary build: each seed of
 * fuzz/corpus/TARGET and each input that once crashed a target
 * (fuzz/regress/TARGET) goes through the target's own entry point, built
 * here with gcc (and ASan+UBSan in the sanitizer build) instead of clang's
 * libFuzzer. A broken oracle aborts the test's process: check reports it.
 * So a bug that fuzzing found stays fixed without clang installed.
 */
#include <check.h>
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz-input.h"
#include "testutil.h"

/* The targets' entry points, renamed at compile time (see fuzz/local.mk). */
int fz_replay_wire(const uint8_t *data, size_t size);
int fz_replay_ipcq_header(const uint8_t *data, size_t size);
int fz_replay_ipcq_ring(const uint8_t *data, size_t size);

typedef int (*fz_fn)(const uint8_t *, size_t);

/* Run fn on every file of FUZZ_SRCDIR/sub/target; returns how many. */
static int replay_dir(const char *sub, const char *target, fz_fn fn)
{
	char dir[4096], path[4096 + 256];
	struct dirent *e;
	int n = 0;
	DIR *d;

	snprintf(dir, sizeof(dir), "%s/fuzz/%s/%s", FUZZ_SRCDIR, sub, target);
	d = opendir(dir);
	if (!d)
		return 0;
	while ((e = readdir(d))) {
		uint8_t *buf;
		long len;
		FILE *f;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		f = fopen(path, "rbe");
		ck_assert_msg(f != NULL, "%s", path);
		ck_assert_int_eq(fseek(f, 0, SEEK_END), 0);
		len = ftell(f);
		ck_assert_int_ge(len, 0);
		rewind(f);
		/* exactly len bytes: the sanitizers see any over-read */
		buf = malloc(len ? (size_t)len : 1);
		ck_assert_ptr_nonnull(buf);
		ck_assert_uint_eq(fread(buf, 1, (size_t)len, f), (size_t)len);
		fclose(f);
		ck_assert_int_eq(fn(buf, (size_t)len), 0);
		free(buf);
		n++;
	}
	closedir(d);
	return n;
}

static void replay(const char *target, fz_fn fn, int want_regress)
{
	int seeds = replay_dir("corpus", target, fn);
	int regress = replay_dir("regress", target, fn);

	/* the committed seeds are there and were all run */
	ck_assert_int_ge(seeds, 5);
	if (want_regress)
		ck_assert_int_ge(regress, 1);
}

START_TEST(replay_wire)
{
	replay("fuzz_wire", fz_replay_wire, 0);
}
END_TEST

START_TEST(replay_ipcq_header)
{
	replay("fuzz_ipcq_header", fz_replay_ipcq_header, 0);
}
END_TEST

START_TEST(replay_ipcq_ring)
{
	replay("fuzz_ipcq_ring", fz_replay_ipcq_ring, 1);
}
END_TEST

/* Inputs at the edges: too short to be anything, and a ring whose peer
 * publishes a slot with a length far above elem_size, which the consumer
 * must refuse on pop, peek and receive without touching past the slot. */
START_TEST(replay_edges)
{
	static const uint8_t nothing[1] = { 0 };
	uint8_t ring[FZ_RING_PREFIX + 12], *op = ring + FZ_RING_PREFIX;

	ck_assert_int_eq(fz_replay_wire(nothing, 0), 0);
	ck_assert_int_eq(fz_replay_wire(nothing, 1), 0);
	ck_assert_int_eq(fz_replay_ipcq_header(nothing, 0), 0);
	ck_assert_int_eq(fz_replay_ipcq_ring(nothing, 0), 0);
	memset(ring, 0, sizeof(ring)); /* consumer, elem 1, capacity 2 */
	*op++ = FZ_OP_PUBLISH;
	*op++ = 0;                     /* slot */
	fz_put(op, 0x80000005u, 4);    /* len */
	op += 4;
	*op++ = FZ_OP_POP;
	*op++ = FZ_OP_PEEK;
	*op++ = 1;                     /* want */
	*op++ = 1;                     /* release */
	*op++ = FZ_OP_RECV;
	*op++ = 200;                   /* cap */
	ck_assert_int_eq(op - ring, (long)sizeof(ring));
	ck_assert_int_eq(fz_replay_ipcq_ring(ring, sizeof(ring)), 0);
}
END_TEST

static Suite *replay_suite(void)
{
	Suite *s = suite_create("fuzz-replay");
	TCase *tc = tcase_create("corpus");

	tcase_add_checked_fixture(tc, tu_leak_setup, tu_leak_teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, replay_wire);
	tcase_add_test(tc, replay_ipcq_header);
	tcase_add_test(tc, replay_ipcq_ring);
	tcase_add_test(tc, replay_edges);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(replay_suite());

	srunner_set_fork_status(sr, CK_FORK);
	return tu_run(sr);
}

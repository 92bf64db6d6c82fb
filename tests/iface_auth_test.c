/* SPDX-License-Identifier: MIT */
/*
 * Keys and proofs of the handshake (iface/key.c, iface/auth.h): key files
 * (type, owner, mode, length, format), proofs (round trip, every single bit
 * flip of every input, reflection, replay under another nonce, wrong key),
 * transcripts, randomness, and the key's memory (PROT_NONE while idle, not
 * in core dumps, unmapped and counted back on every path).
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"
#include "../iface/auth.h"

static char *dir;
static unsigned live0;

static const uint8_t key_a[AUTH_KEY_SIZE] = {
	0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a,
	0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15,
	0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0xfe, 0xff,
};
/* key_a in hex, filled by setup() */
static char key_a_hex[2 * AUTH_KEY_SIZE + 1];

static void setup(void)
{
	ck_assert_int_eq(auth_init(), 0);
	dir = tu_tmpdir();
	ck_assert_ptr_nonnull(dir);
	live0 = auth_debug_live_keys();
	for (int i = 0; i < AUTH_KEY_SIZE; i++)
		snprintf(key_a_hex + 2 * i, 3, "%02x", key_a[i]);
}

static void teardown(void)
{
	/* every path of every test gave its key memory back */
	ck_assert_uint_eq(auth_debug_live_keys(), live0);
	tu_rmtree(dir);
	dir = NULL;
}

/* Write len bytes to DIR/name with mode; returns the path (static). */
static const char *put_file(const char *name, const void *data, size_t len,
			    mode_t mode)
{
	static char path[4096];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, data, len), (ssize_t)len);
	ck_assert_int_eq(fchmod(fd, mode), 0);
	close(fd);
	return path;
}

static const uint8_t sn0[AUTH_NONCE_SIZE] = { 1, 2, 3 };
static const uint8_t cn0[AUTH_NONCE_SIZE] = { 4, 5, 6 };
static const uint8_t th0[AUTH_HASH_SIZE] = { 7, 8, 9 };

/* The client proof under key k over the fixed inputs. */
static void proof_of(struct auth_key *k, uint8_t out[AUTH_PROOF_SIZE])
{
	ck_assert_int_eq(auth_proof(k, AUTH_CLIENT, sn0, cn0, th0, out), 0);
}

/* ---- key files --------------------------------------------------------- */

START_TEST(key_raw_hex_and_mem_agree)
{
	char text[2 * AUTH_KEY_SIZE + 2];
	uint8_t p_mem[AUTH_PROOF_SIZE], p[AUTH_PROOF_SIZE];
	struct auth_key *k = NULL;
	const char *path;

	ck_assert_int_eq(auth_key_from_mem(&k, key_a, sizeof(key_a)), 0);
	ck_assert_uint_eq(auth_debug_live_keys(), live0 + 1);
	proof_of(k, p_mem);
	auth_key_free(k);

	/* raw 32 bytes */
	path = put_file("raw", key_a, sizeof(key_a), 0600);
	ck_assert_int_eq(auth_key_load(&k, path), 0);
	proof_of(k, p);
	ck_assert_mem_eq(p, p_mem, sizeof(p));
	auth_key_free(k);

	/* 64 lower-case hex digits, no newline */
	path = put_file("hex", key_a_hex, 64, 0600);
	ck_assert_int_eq(auth_key_load(&k, path), 0);
	proof_of(k, p);
	ck_assert_mem_eq(p, p_mem, sizeof(p));
	auth_key_free(k);

	/* upper case and a newline, mode 0400 */
	for (int i = 0; i < 64; i++)
		text[i] = (char)(key_a_hex[i] >= 'a' ? key_a_hex[i] - 32 :
						      key_a_hex[i]);
	text[64] = '\n';
	path = put_file("hexnl", text, 65, 0400);
	ck_assert_int_eq(auth_key_load(&k, path), 0);
	proof_of(k, p);
	ck_assert_mem_eq(p, p_mem, sizeof(p));
	auth_key_free(k);

	/* a symlink is followed: the checks apply to the file it names */
	path = put_file("target", key_a, sizeof(key_a), 0600);
	{
		char link[4096];

		snprintf(link, sizeof(link), "%s/link", dir);
		ck_assert_int_eq(symlink(path, link), 0);
		ck_assert_int_eq(auth_key_load(&k, link), 0);
		proof_of(k, p);
		ck_assert_mem_eq(p, p_mem, sizeof(p));
		auth_key_free(k);
	}
	auth_key_free(NULL);
}
END_TEST

START_TEST(key_file_modes)
{
	static const mode_t bad[] = { 0644, 0640, 0604, 0660, 0700, 0610,
				      0601, 0666, 04600, 02600, 01600 };
	static const mode_t good[] = { 0600, 0400, 0200, 0000 };
	struct auth_key *k = NULL;
	const char *path;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		path = put_file("m", key_a, sizeof(key_a), bad[i]);
		ck_assert_msg(auth_key_load(&k, path) == -EPERM, "mode %o",
			      (unsigned)bad[i]);
		ck_assert_ptr_null(k);
	}
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		int r;

		path = put_file("m", key_a, sizeof(key_a), good[i]);
		r = auth_key_load(&k, path);
		if (geteuid() != 0 && !(good[i] & 0400)) {
			/* not readable for us: open's refusal */
			ck_assert_int_eq(r, -EACCES);
			continue;
		}
		ck_assert_msg(r == 0, "mode %o: %d", (unsigned)good[i], r);
		auth_key_free(k);
		k = NULL;
	}
}
END_TEST

START_TEST(key_file_owner)
{
	struct auth_key *k = NULL;
	const char *path = put_file("o", key_a, sizeof(key_a), 0600);

	if (geteuid() != 0) {
		/* only root can give a file away */
		fprintf(stderr, "key_file_owner: not root, owner check not "
				"exercised\n");
		return;
	}
	ck_assert_int_eq(chown(path, 4242, (gid_t)-1), 0);
	ck_assert_int_eq(auth_key_load(&k, path), -EPERM);
	ck_assert_ptr_null(k);
	/* the group does not matter, only the user */
	ck_assert_int_eq(chown(path, 0, 4242), 0);
	ck_assert_int_eq(auth_key_load(&k, path), 0);
	auth_key_free(k);
}
END_TEST

START_TEST(key_file_lengths_and_format)
{
	char big[4096], text[80];
	struct auth_key *k = NULL;
	const char *path;

	memset(big, 'a', sizeof(big));
	path = put_file("e", "", 0, 0600);
	ck_assert_int_eq(auth_key_load(&k, path), -EINVAL);
	path = put_file("e", key_a, 31, 0600);
	ck_assert_int_eq(auth_key_load(&k, path), -EINVAL);
	path = put_file("e", big, 33, 0600);
	ck_assert_int_eq(auth_key_load(&k, path), -EINVAL);
	path = put_file("e", key_a_hex, 63, 0600);
	ck_assert_int_eq(auth_key_load(&k, path), -EINVAL);
	path = put_file("e", big, 66, 0600);
	ck_assert_int_eq(auth_key_load(&k, path), -EINVAL);
	path = put_file("e", big, sizeof(big), 0600);
	ck_assert_int_eq(auth_key_load(&k, path), -EINVAL);

	/* 64 digits followed by anything but one "\n" */
	static const char *tails[] = { "\r\n", "\n\n", " ", "\r", "0", "\0" };
	for (size_t i = 0; i < sizeof(tails) / sizeof(tails[0]); i++) {
		size_t tl = tails[i][0] ? strlen(tails[i]) : 1;

		memcpy(text, key_a_hex, 64);
		memcpy(text + 64, tails[i], tl);
		path = put_file("e", text, 64 + tl, 0600);
		ck_assert_msg(auth_key_load(&k, path) == -EINVAL, "tail %zu",
			      i);
	}
	/* 65 bytes ending in a newline but with a non-digit inside */
	for (int pos = 0; pos < 64; pos += 9) {
		memcpy(text, key_a_hex, 64);
		text[64] = '\n';
		text[pos] = pos % 2 ? 'g' : ':';
		path = put_file("e", text, 65, 0600);
		ck_assert_msg(auth_key_load(&k, path) == -EINVAL, "pos %d",
			      pos);
	}
	ck_assert_ptr_null(k);
}
END_TEST

START_TEST(key_file_not_regular)
{
	struct auth_key *k = NULL;
	char path[4096];

	ck_assert_int_eq(auth_key_load(&k, dir), -EINVAL);
	snprintf(path, sizeof(path), "%s/fifo", dir);
	ck_assert_int_eq(mkfifo(path, 0600), 0);
	ck_assert_int_eq(auth_key_load(&k, path), -EINVAL); /* no hang */
	ck_assert_int_eq(auth_key_load(&k, "/dev/null"), -EINVAL);
	snprintf(path, sizeof(path), "%s/missing", dir);
	ck_assert_int_eq(auth_key_load(&k, path), -ENOENT);
	ck_assert_int_eq(auth_key_load(&k, NULL), -EINVAL);
	ck_assert_int_eq(auth_key_load(NULL, "/dev/null"), -EINVAL);
	ck_assert_ptr_null(k);
}
END_TEST

START_TEST(key_from_mem_lengths)
{
	struct auth_key *k = NULL;

	ck_assert_int_eq(auth_key_from_mem(&k, key_a, 0), -EINVAL);
	ck_assert_int_eq(auth_key_from_mem(&k, key_a, 31), -EINVAL);
	ck_assert_int_eq(auth_key_from_mem(&k, key_a_hex, 33), -EINVAL);
	ck_assert_int_eq(auth_key_from_mem(&k, key_a_hex, 64), -EINVAL);
	ck_assert_int_eq(auth_key_from_mem(&k, NULL, 32), -EINVAL);
	ck_assert_int_eq(auth_key_from_mem(NULL, key_a, 32), -EINVAL);
	ck_assert_ptr_null(k);
}
END_TEST

/* ---- proofs ------------------------------------------------------------ */

struct inputs {
	uint8_t key[AUTH_KEY_SIZE];
	uint8_t sn[AUTH_NONCE_SIZE];
	uint8_t cn[AUTH_NONCE_SIZE];
	uint8_t th[AUTH_HASH_SIZE];
	uint8_t proof[AUTH_PROOF_SIZE];
};

static void random_inputs(struct inputs *in)
{
	ck_assert_int_eq(auth_random(in->key, sizeof(in->key)), 0);
	ck_assert_int_eq(auth_random(in->sn, sizeof(in->sn)), 0);
	ck_assert_int_eq(auth_random(in->cn, sizeof(in->cn)), 0);
	ck_assert_int_eq(auth_random(in->th, sizeof(in->th)), 0);
}

static int verify_in(const struct inputs *in, enum auth_role role)
{
	struct auth_key *k = NULL;
	int r;

	ck_assert_int_eq(auth_key_from_mem(&k, in->key, sizeof(in->key)), 0);
	r = auth_verify(k, role, in->sn, in->cn, in->th, in->proof);
	auth_key_free(k);
	return r;
}

START_TEST(proof_round_trip)
{
	uint8_t pc[AUTH_PROOF_SIZE], ps[AUTH_PROOF_SIZE], again[AUTH_PROOF_SIZE];
	struct auth_key *k = NULL;

	ck_assert_int_eq(auth_key_from_mem(&k, key_a, sizeof(key_a)), 0);
	ck_assert_int_eq(auth_proof(k, AUTH_CLIENT, sn0, cn0, th0, pc), 0);
	ck_assert_int_eq(auth_proof(k, AUTH_SERVER, sn0, cn0, th0, ps), 0);
	ck_assert_int_eq(auth_verify(k, AUTH_CLIENT, sn0, cn0, th0, pc), 0);
	ck_assert_int_eq(auth_verify(k, AUTH_SERVER, sn0, cn0, th0, ps), 0);
	/* deterministic, and the two roles' proofs differ */
	ck_assert_int_eq(auth_proof(k, AUTH_CLIENT, sn0, cn0, th0, again), 0);
	ck_assert_mem_eq(again, pc, sizeof(pc));
	ck_assert_int_ne(memcmp(pc, ps, sizeof(pc)), 0);
	/* the proof is HMAC-SHA-512-256 of the documented message: a
	 * reimplementation from auth.h's description gets the same bytes */
	{
		uint8_t msg[24 + 1 + 96], ref[AUTH_PROOF_SIZE];

		memcpy(msg, "memenpsf v1 client proof", 24);
		msg[24] = AUTH_CLIENT;
		memcpy(msg + 25, sn0, 32);
		memcpy(msg + 57, cn0, 32);
		memcpy(msg + 89, th0, 32);
		ck_assert_int_eq(crypto_auth(ref, msg, sizeof(msg), key_a), 0);
		ck_assert_mem_eq(ref, pc, sizeof(pc));
	}
	auth_key_free(k);
}
END_TEST

START_TEST(proof_bad_arguments)
{
	uint8_t p[AUTH_PROOF_SIZE];
	struct auth_key *k = NULL;

	ck_assert_int_eq(auth_key_from_mem(&k, key_a, sizeof(key_a)), 0);
	memset(p, 0x55, sizeof(p));
	ck_assert_int_eq(auth_proof(k, 0, sn0, cn0, th0, p), -EINVAL);
	/* a failed proof leaves no stale bytes that look like one */
	for (size_t i = 0; i < sizeof(p); i++)
		ck_assert_uint_eq(p[i], 0);
	ck_assert_int_eq(auth_proof(k, 3, sn0, cn0, th0, p), -EINVAL);
	ck_assert_int_eq(auth_proof(NULL, AUTH_CLIENT, sn0, cn0, th0, p),
			 -EINVAL);
	ck_assert_int_eq(auth_proof(k, AUTH_CLIENT, NULL, cn0, th0, p),
			 -EINVAL);
	ck_assert_int_eq(auth_proof(k, AUTH_CLIENT, sn0, cn0, th0, NULL),
			 -EINVAL);
	ck_assert_int_eq(auth_verify(k, 0, sn0, cn0, th0, p), -EINVAL);
	ck_assert_int_eq(auth_verify(k, AUTH_SERVER, sn0, cn0, NULL, p),
			 -EINVAL);
	auth_key_free(k);
}
END_TEST

/* Every single-bit flip of the key, either nonce, the transcript hash or the
 * proof itself turns a good proof into -EACCES, for both roles. */
START_TEST(proof_every_bit_flip_fails)
{
	static const enum auth_role roles[] = { AUTH_CLIENT, AUTH_SERVER };
	struct inputs in;

	random_inputs(&in);
	for (int ri = 0; ri < 2; ri++) {
		struct auth_key *k = NULL;
		struct inputs f;
		uint8_t *fields[5];
		size_t sizes[5] = { AUTH_KEY_SIZE, AUTH_NONCE_SIZE,
				    AUTH_NONCE_SIZE, AUTH_HASH_SIZE,
				    AUTH_PROOF_SIZE };

		ck_assert_int_eq(auth_key_from_mem(&k, in.key, 32), 0);
		ck_assert_int_eq(auth_proof(k, roles[ri], in.sn, in.cn, in.th,
					    in.proof), 0);
		auth_key_free(k);
		ck_assert_int_eq(verify_in(&in, roles[ri]), 0);

		f = in;
		fields[0] = f.key;
		fields[1] = f.sn;
		fields[2] = f.cn;
		fields[3] = f.th;
		fields[4] = f.proof;
		for (int fi = 0; fi < 5; fi++) {
			for (size_t bit = 0; bit < sizes[fi] * 8; bit++) {
				fields[fi][bit / 8] ^= (uint8_t)(1u << bit % 8);
				ck_assert_msg(verify_in(&f, roles[ri]) ==
						      -EACCES,
					      "role %d field %d bit %zu", ri,
					      fi, bit);
				fields[fi][bit / 8] ^= (uint8_t)(1u << bit % 8);
			}
		}
		/* and all flips undone: good again */
		ck_assert_int_eq(verify_in(&f, roles[ri]), 0);
		/* the other role does not accept it */
		ck_assert_int_eq(verify_in(&f, roles[1 - ri]), -EACCES);
	}
}
END_TEST

/* Reflection: a client that sends the server's own proof back (or the
 * server's challenge) as its proof gets nowhere. */
START_TEST(proof_reflection_fails)
{
	uint8_t ps[AUTH_PROOF_SIZE], pc[AUTH_PROOF_SIZE];
	struct auth_key *k = NULL;

	ck_assert_int_eq(auth_key_from_mem(&k, key_a, sizeof(key_a)), 0);
	ck_assert_int_eq(auth_proof(k, AUTH_SERVER, sn0, cn0, th0, ps), 0);
	ck_assert_int_eq(auth_verify(k, AUTH_CLIENT, sn0, cn0, th0, ps),
			 -EACCES);
	/* nonces swapped: the server's nonce offered as the client's */
	ck_assert_int_eq(auth_proof(k, AUTH_CLIENT, cn0, sn0, th0, pc), 0);
	ck_assert_int_eq(auth_verify(k, AUTH_CLIENT, sn0, cn0, th0, pc),
			 -EACCES);
	/* the same nonce on both sides still proves only what it says */
	ck_assert_int_eq(auth_proof(k, AUTH_SERVER, sn0, sn0, th0, ps), 0);
	ck_assert_int_eq(auth_verify(k, AUTH_CLIENT, sn0, sn0, th0, ps),
			 -EACCES);
	auth_key_free(k);
}
END_TEST

/* Replay: a proof recorded in one handshake is refused in the next, whose
 * server nonce is fresh; a wrong key never verifies. */
START_TEST(proof_replay_and_wrong_key_fail)
{
	uint8_t sn1[AUTH_NONCE_SIZE], sn2[AUTH_NONCE_SIZE];
	uint8_t rec[AUTH_PROOF_SIZE], other[AUTH_KEY_SIZE];
	struct auth_key *k = NULL, *k2 = NULL;

	ck_assert_int_eq(auth_random(sn1, sizeof(sn1)), 0);
	ck_assert_int_eq(auth_random(sn2, sizeof(sn2)), 0);
	ck_assert_int_ne(memcmp(sn1, sn2, sizeof(sn1)), 0);
	ck_assert_int_eq(auth_key_from_mem(&k, key_a, sizeof(key_a)), 0);
	ck_assert_int_eq(auth_proof(k, AUTH_CLIENT, sn1, cn0, th0, rec), 0);
	ck_assert_int_eq(auth_verify(k, AUTH_CLIENT, sn1, cn0, th0, rec), 0);
	ck_assert_int_eq(auth_verify(k, AUTH_CLIENT, sn2, cn0, th0, rec),
			 -EACCES);

	memcpy(other, key_a, sizeof(other));
	other[31] ^= 0x80;
	ck_assert_int_eq(auth_key_from_mem(&k2, other, sizeof(other)), 0);
	ck_assert_int_eq(auth_verify(k2, AUTH_CLIENT, sn1, cn0, th0, rec),
			 -EACCES);
	auth_key_free(k2);
	auth_key_free(k);
}
END_TEST

START_TEST(transcript_order_and_framing)
{
	uint8_t h1[AUTH_HASH_SIZE], h2[AUTH_HASH_SIZE], h3[AUTH_HASH_SIZE];
	struct auth_transcript t, u;

	ck_assert_int_eq(auth_transcript_init(&t), 0);
	ck_assert_int_eq(auth_transcript_hash(&t, h1), 0);
	ck_assert_int_eq(auth_transcript_add(&t, "hello", 5), 0);
	ck_assert_int_eq(auth_transcript_hash(&t, h2), 0);
	ck_assert_int_ne(memcmp(h1, h2, sizeof(h1)), 0);
	/* reading the hash does not close the transcript */
	ck_assert_int_eq(auth_transcript_hash(&t, h3), 0);
	ck_assert_mem_eq(h2, h3, sizeof(h2));
	ck_assert_int_eq(auth_transcript_add(&t, "join", 4), 0);
	ck_assert_int_eq(auth_transcript_hash(&t, h3), 0);
	ck_assert_int_ne(memcmp(h2, h3, sizeof(h2)), 0);

	/* same bytes, other message boundaries: another hash */
	ck_assert_int_eq(auth_transcript_init(&u), 0);
	ck_assert_int_eq(auth_transcript_add(&u, "hellojoin", 9), 0);
	ck_assert_int_eq(auth_transcript_hash(&u, h1), 0);
	ck_assert_int_ne(memcmp(h1, h3, sizeof(h1)), 0);
	/* same messages, other order: another hash */
	ck_assert_int_eq(auth_transcript_init(&u), 0);
	ck_assert_int_eq(auth_transcript_add(&u, "join", 4), 0);
	ck_assert_int_eq(auth_transcript_add(&u, "hello", 5), 0);
	ck_assert_int_eq(auth_transcript_hash(&u, h1), 0);
	ck_assert_int_ne(memcmp(h1, h3, sizeof(h1)), 0);
	/* same messages, same order: the same hash */
	ck_assert_int_eq(auth_transcript_init(&u), 0);
	ck_assert_int_eq(auth_transcript_add(&u, "hello", 5), 0);
	ck_assert_int_eq(auth_transcript_add(&u, "join", 4), 0);
	ck_assert_int_eq(auth_transcript_hash(&u, h1), 0);
	ck_assert_mem_eq(h1, h3, sizeof(h1));
	/* one byte changed, same lengths: another hash */
	ck_assert_int_eq(auth_transcript_init(&u), 0);
	ck_assert_int_eq(auth_transcript_add(&u, "hello", 5), 0);
	ck_assert_int_eq(auth_transcript_add(&u, "joim", 4), 0);
	ck_assert_int_eq(auth_transcript_hash(&u, h2), 0);
	ck_assert_int_ne(memcmp(h1, h2, sizeof(h1)), 0);
	ck_assert_int_eq(auth_transcript_init(&u), 0);
	ck_assert_int_eq(auth_transcript_add(&u, "hello", 5), 0);
	ck_assert_int_eq(auth_transcript_add(&u, "join", 4), 0);
	/* an empty message counts */
	ck_assert_int_eq(auth_transcript_add(&u, NULL, 0), 0);
	ck_assert_int_eq(auth_transcript_hash(&u, h2), 0);
	ck_assert_int_ne(memcmp(h1, h2, sizeof(h1)), 0);

	ck_assert_int_eq(auth_transcript_add(&u, NULL, 1), -EINVAL);
	ck_assert_int_eq(auth_transcript_add(NULL, "x", 1), -EINVAL);
	ck_assert_int_eq(auth_transcript_hash(&u, NULL), -EINVAL);
	ck_assert_int_eq(auth_transcript_init(NULL), -EINVAL);
}
END_TEST

START_TEST(random_and_tokens)
{
	uint8_t a[AUTH_TOKEN_SIZE], b[AUTH_TOKEN_SIZE], zero[AUTH_TOKEN_SIZE];

	memset(zero, 0, sizeof(zero));
	memset(a, 0, sizeof(a));
	memset(b, 0, sizeof(b));
	ck_assert_int_eq(auth_random(a, sizeof(a)), 0);
	ck_assert_int_eq(auth_random(b, sizeof(b)), 0);
	ck_assert_int_ne(memcmp(a, zero, sizeof(a)), 0);
	ck_assert_int_ne(memcmp(a, b, sizeof(a)), 0);
	ck_assert_int_eq(auth_token_check(a, a), 0);
	ck_assert_int_eq(auth_token_check(a, b), -EACCES);
	memcpy(b, a, sizeof(b));
	b[AUTH_TOKEN_SIZE - 1] ^= 1;
	ck_assert_int_eq(auth_token_check(a, b), -EACCES);
	ck_assert_int_eq(auth_token_check(a, NULL), -EINVAL);
	ck_assert_int_eq(auth_random(NULL, 4), -EINVAL);
	ck_assert_int_eq(auth_random(a, 0), -EINVAL);
}
END_TEST

/*
 * auth_debug_seed restarts a deterministic sequence in a fuzz build (so a
 * crashing input replays the same nonces) and changes nothing in any
 * other build: there, the same seed twice still gives different bytes.
 */
START_TEST(random_seed_only_in_fuzz_builds)
{
	uint8_t a[AUTH_NONCE_SIZE], b[AUTH_NONCE_SIZE], c[AUTH_NONCE_SIZE];

	auth_debug_seed(7);
	ck_assert_int_eq(auth_random(a, sizeof(a)), 0);
	ck_assert_int_eq(auth_random(c, sizeof(c)), 0);
	auth_debug_seed(7);
	ck_assert_int_eq(auth_random(b, sizeof(b)), 0);
	ck_assert_int_ne(memcmp(a, c, sizeof(a)), 0);
#ifdef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
	ck_assert_int_eq(memcmp(a, b, sizeof(a)), 0);
#else
	ck_assert_int_ne(memcmp(a, b, sizeof(a)), 0);
#endif
}
END_TEST

/* ---- the key's memory ---------------------------------------------------- */

struct prover {
	struct auth_key *k;
	int fails;
};

static void *prove_loop(void *arg)
{
	struct prover *p = arg;
	uint8_t proof[AUTH_PROOF_SIZE];

	for (int i = 0; i < 2000; i++) {
		if (auth_proof(p->k, AUTH_SERVER, sn0, cn0, th0, proof) < 0 ||
		    auth_verify(p->k, AUTH_SERVER, sn0, cn0, th0, proof) < 0)
			p->fails++;
	}
	return NULL;
}

/* Threads proving with one key at once never find its pages closed under
 * them (a fault would kill the test). */
START_TEST(key_shared_by_threads)
{
	struct prover p[4];
	pthread_t t[4];
	struct auth_key *k = NULL;

	ck_assert_int_eq(auth_key_from_mem(&k, key_a, sizeof(key_a)), 0);
	for (int i = 0; i < 4; i++) {
		p[i].k = k;
		p[i].fails = 0;
		ck_assert_int_eq(pthread_create(&t[i], NULL, prove_loop, &p[i]),
				 0);
	}
	for (int i = 0; i < 4; i++) {
		ck_assert_int_eq(pthread_join(t[i], NULL), 0);
		ck_assert_int_eq(p[i].fails, 0);
	}
	auth_key_free(k);
}
END_TEST

/* Exit status of a child that reads the first byte at addr. */
static int child_reads(const void *addr)
{
	pid_t pid = fork();

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		volatile const uint8_t *b = addr;
		struct rlimit no_core = { 0, 0 };
		uint8_t v;

		/* the plain death by SIGSEGV: no sanitizer report, no core */
		signal(SIGSEGV, SIG_DFL);
		setrlimit(RLIMIT_CORE, &no_core);
		v = *b;

		_exit(v == 0x5a ? 3 : 0);
	}
	return tu_wait(pid);
}

/* While no proof runs, the key's pages cannot be read: a stray read (or a
 * buffer over-read next to them) faults instead of leaking the key. */
START_TEST(key_idle_pages_fault)
{
	uint8_t p[AUTH_PROOF_SIZE];
	struct auth_key *k = NULL;
	uint8_t plain = 0x5a;

	ck_assert_int_eq(child_reads(&plain), 3); /* the probe works */
	ck_assert_int_eq(auth_key_from_mem(&k, key_a, sizeof(key_a)), 0);
	ck_assert_ptr_nonnull(auth_debug_key_bytes(k));
	ck_assert_int_eq(child_reads(auth_debug_key_bytes(k)), 128 + SIGSEGV);
	/* and closed again after use */
	proof_of(k, p);
	ck_assert_int_eq(child_reads(auth_debug_key_bytes(k)), 128 + SIGSEGV);
	auth_key_free(k);
}
END_TEST

/* The mapping of addr in /proc/self/smaps: its permissions and VmFlags.
 * Returns the number of mappings in the process. */
static int smaps_of(const void *addr, char perms[5], char *flags, size_t cap)
{
	FILE *f = fopen("/proc/self/smaps", "re");
	uintptr_t a = (uintptr_t)addr, lo, hi;
	char line[512];
	int n = 0, in = 0;

	ck_assert_ptr_nonnull(f);
	perms[0] = 0;
	if (flags)
		flags[0] = 0;
	while (fgets(line, sizeof(line), f)) {
		char p[5];

		if (sscanf(line, "%" SCNxPTR "-%" SCNxPTR " %4s", &lo, &hi,
			   p) == 3) {
			n++;
			in = addr && a >= lo && a < hi;
			if (in)
				memcpy(perms, p, 5);
		} else if (in && flags && strncmp(line, "VmFlags:", 8) == 0) {
			snprintf(flags, cap, "%s", line + 8);
		}
	}
	fclose(f);
	return n;
}

/* The key is not in core dumps, is closed while idle, and free() gives its
 * pages back to the kernel: the process has as many mappings as before. */
START_TEST(key_memory_dontdump_and_unmapped)
{
	char perms[5], flags[512];
	struct auth_key *k = NULL;
	const char *path;
	int before, during, after;

	/* warm up: first use of libc/libsodium paths may map things */
	ck_assert_int_eq(auth_key_from_mem(&k, key_a, sizeof(key_a)), 0);
	auth_key_free(k);
	k = NULL;

	before = smaps_of(NULL, perms, NULL, 0);
	ck_assert_int_eq(auth_key_from_mem(&k, key_a, sizeof(key_a)), 0);
	during = smaps_of(auth_debug_key_bytes(k), perms, flags,
			  sizeof(flags));
	ck_assert_int_gt(during, before);
	ck_assert_str_eq(perms, "---p");
	ck_assert_msg(strstr(flags, " dd") != NULL, "VmFlags:%s", flags);
	auth_key_free(k);
	after = smaps_of(NULL, perms, NULL, 0);
	ck_assert_int_eq(after, before);

	/* the failure paths of the loader too */
	path = put_file("bad", key_a, 31, 0600);
	ck_assert_int_eq(auth_key_load(&k, path), -EINVAL);
	path = put_file("bad", key_a, 32, 0644);
	ck_assert_int_eq(auth_key_load(&k, path), -EPERM);
	ck_assert_int_eq(smaps_of(NULL, perms, NULL, 0), before);
	path = put_file("good", key_a_hex, 64, 0600);
	ck_assert_int_eq(auth_key_load(&k, path), 0);
	auth_key_free(k);
	ck_assert_int_eq(smaps_of(NULL, perms, NULL, 0), before);
}
END_TEST

static Suite *auth_suite(void)
{
	Suite *s = suite_create("iface-auth");
	TCase *tc;

	tc = tcase_create("key-files");
	tcase_add_checked_fixture(tc, tu_leak_setup, tu_leak_teardown);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, key_raw_hex_and_mem_agree);
	tcase_add_test(tc, key_file_modes);
	tcase_add_test(tc, key_file_owner);
	tcase_add_test(tc, key_file_lengths_and_format);
	tcase_add_test(tc, key_file_not_regular);
	tcase_add_test(tc, key_from_mem_lengths);
	suite_add_tcase(s, tc);

	tc = tcase_create("proofs");
	tcase_add_checked_fixture(tc, tu_leak_setup, tu_leak_teardown);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, proof_round_trip);
	tcase_add_test(tc, proof_bad_arguments);
	tcase_add_test(tc, proof_every_bit_flip_fails);
	tcase_add_test(tc, proof_reflection_fails);
	tcase_add_test(tc, proof_replay_and_wrong_key_fail);
	tcase_add_test(tc, transcript_order_and_framing);
	tcase_add_test(tc, random_and_tokens);
	tcase_add_test(tc, random_seed_only_in_fuzz_builds);
	suite_add_tcase(s, tc);

	tc = tcase_create("memory");
	tcase_add_checked_fixture(tc, tu_leak_setup, tu_leak_teardown);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, key_shared_by_threads);
	tcase_add_test(tc, key_idle_pages_fault);
	tcase_add_test(tc, key_memory_dontdump_and_unmapped);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(auth_suite());

	srunner_set_fork_status(sr, CK_FORK);
	return tu_run(sr);
}

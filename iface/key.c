/* SPDX-License-Identifier: MIT */
/*
 * Pre-shared keys, proofs and transcripts of the handshake (see auth.h).
 *
 * The key bytes sit in sodium_malloc'd pages that are PROT_NONE except
 * while a proof is being computed; a per-key mutex and a count of readers
 * keep two threads that prove at once from closing the pages under each
 * other. Every libsodium call's result is checked.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auth.h"

#define LABEL_SIZE 24
#define PROOF_MSG_SIZE \
	(LABEL_SIZE + 1 + 2 * AUTH_NONCE_SIZE + AUTH_HASH_SIZE)

static const char client_label[LABEL_SIZE + 1] = "memenpsf v1 client proof";
static const char server_label[LABEL_SIZE + 1] = "memenpsf v1 server proof";
static const char transcript_label[] = "memenpsf v1 transcript";

struct auth_key {
	pthread_mutex_t lock;
	unsigned readers;  /* proofs under way: pages readable while > 0 */
	uint8_t *bytes;    /* sodium_malloc'd, AUTH_KEY_SIZE */
};

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static int init_result = -ENOSYS;
static unsigned live_keys;

static void init_sodium(void)
{
	/* 0: initialised now, 1: someone else in this process did it. */
	init_result = sodium_init() < 0 ? -ENOSYS : 0;
}

int auth_init(void)
{
	if (pthread_once(&init_once, init_sodium) != 0)
		return -ENOSYS;
	return init_result;
}

/* ---- keys ------------------------------------------------------------------ */

static int key_new(struct auth_key **out, const uint8_t *bytes)
{
	struct auth_key *k = NULL;
	int r;

	r = auth_init();
	if (r < 0)
		goto err;
	k = calloc(1, sizeof(*k));
	if (!k) {
		r = -ENOMEM;
		goto err;
	}
	r = -pthread_mutex_init(&k->lock, NULL);
	if (r < 0) {
		free(k);
		k = NULL;
		goto err;
	}
	k->bytes = sodium_malloc(AUTH_KEY_SIZE);
	if (!k->bytes) {
		r = -ENOMEM;
		goto err;
	}
	__atomic_add_fetch(&live_keys, 1, __ATOMIC_RELAXED);
	memcpy(k->bytes, bytes, AUTH_KEY_SIZE);
	if (sodium_mprotect_noaccess(k->bytes) < 0) {
		r = -errno;
		goto err;
	}
	*out = k;
	return 0;
err:
	auth_key_free(k);
	return r;
}

int auth_key_from_mem(struct auth_key **out, const void *buf, size_t len)
{
	if (!out || !buf || len != AUTH_KEY_SIZE)
		return -EINVAL;
	return key_new(out, buf);
}

void auth_key_free(struct auth_key *k)
{
	if (!k)
		return;
	if (k->bytes) {
		/* sodium_free makes the pages writable, wipes them, unmaps
		 * them; the guard pages go with them. */
		sodium_free(k->bytes);
		__atomic_sub_fetch(&live_keys, 1, __ATOMIC_RELAXED);
	}
	pthread_mutex_destroy(&k->lock);
	free(k);
}

/* Read at most cap bytes of fd into buf; *n gets how many. One more byte
 * than cap available means the file is too long: -EINVAL. */
static int read_small(int fd, uint8_t *buf, size_t cap, size_t *n)
{
	size_t got = 0;
	ssize_t r;

	for (;;) {
		/* buf has cap + 1 bytes: a longer file shows as such */
		r = read(fd, buf + got, cap + 1 - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			break;
		got += (size_t)r;
		if (got > cap)
			return -EINVAL;
	}
	*n = got;
	return 0;
}

/* Raw 32 bytes, or 64 hex digits with an optional "\n". */
static int parse_key(const uint8_t *text, size_t n, uint8_t *key)
{
	size_t bin_len = 0;
	const char *end = NULL;

	if (n == AUTH_KEY_SIZE) {
		memcpy(key, text, AUTH_KEY_SIZE);
		return 0;
	}
	if (n == 2 * AUTH_KEY_SIZE + 1 && text[n - 1] == '\n')
		n--;
	if (n != 2 * AUTH_KEY_SIZE)
		return -EINVAL;
	/* constant time in the digits; no separators allowed */
	if (sodium_hex2bin(key, AUTH_KEY_SIZE, (const char *)text, n, NULL,
			   &bin_len, &end) != 0)
		return -EINVAL;
	if (bin_len != AUTH_KEY_SIZE || end != (const char *)text + n)
		return -EINVAL;
	return 0;
}

int auth_key_load(struct auth_key **out, const char *path)
{
	/* text: the file's bytes (+1 to see a longer file); key: parsed */
	uint8_t *text = NULL, *key = NULL;
	struct stat st;
	size_t n = 0;
	int fd = -1, r;

	if (!out || !path)
		return -EINVAL;
	r = auth_init();
	if (r < 0)
		goto err;
	text = sodium_malloc(AUTH_KEY_FILE_MAX + 1);
	key = sodium_malloc(AUTH_KEY_SIZE);
	if (!text || !key) {
		r = -ENOMEM;
		goto err;
	}
	/* O_NONBLOCK: a FIFO must not hang us; it is refused below anyway */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		r = -errno;
		goto err;
	}
	/* Check what was opened, not the name: no race with a rename. */
	if (fstat(fd, &st) < 0) {
		r = -errno;
		goto err;
	}
	if (!S_ISREG(st.st_mode)) {
		r = -EINVAL;
		goto err;
	}
	if (st.st_uid != geteuid() || (st.st_mode & 07777 & ~0600)) {
		r = -EPERM;
		goto err;
	}
	r = read_small(fd, text, AUTH_KEY_FILE_MAX, &n);
	if (r < 0)
		goto err;
	r = parse_key(text, n, key);
	if (r < 0)
		goto err;
	r = key_new(out, key);
err:
	if (fd >= 0)
		close(fd);
	sodium_free(text); /* wipes; NULL is fine */
	sodium_free(key);
	return r;
}

const void *auth_debug_key_bytes(const struct auth_key *k)
{
	return k ? k->bytes : NULL;
}

unsigned auth_debug_live_keys(void)
{
	return __atomic_load_n(&live_keys, __ATOMIC_RELAXED);
}

/* ---- proofs ---------------------------------------------------------------- */

/* Make the key readable for one more reader. */
static int key_open(struct auth_key *k)
{
	int r = 0;

	pthread_mutex_lock(&k->lock);
	if (k->readers == 0 && sodium_mprotect_readonly(k->bytes) < 0)
		r = -errno;
	else
		k->readers++;
	pthread_mutex_unlock(&k->lock);
	return r;
}

static int key_close(struct auth_key *k)
{
	int r = 0;

	pthread_mutex_lock(&k->lock);
	if (--k->readers == 0 && sodium_mprotect_noaccess(k->bytes) < 0)
		r = -errno;
	pthread_mutex_unlock(&k->lock);
	return r;
}

static int proof_msg(uint8_t msg[PROOF_MSG_SIZE], enum auth_role role,
		     const uint8_t *sn, const uint8_t *cn, const uint8_t *th)
{
	uint8_t *p = msg;

	if (role == AUTH_CLIENT)
		memcpy(p, client_label, LABEL_SIZE);
	else if (role == AUTH_SERVER)
		memcpy(p, server_label, LABEL_SIZE);
	else
		return -EINVAL;
	p += LABEL_SIZE;
	*p++ = (uint8_t)role;
	memcpy(p, sn, AUTH_NONCE_SIZE);
	p += AUTH_NONCE_SIZE;
	memcpy(p, cn, AUTH_NONCE_SIZE);
	p += AUTH_NONCE_SIZE;
	memcpy(p, th, AUTH_HASH_SIZE);
	return 0;
}

/* mac = crypto_auth(key, message); verify: crypto_auth_verify instead.
 * The key is const for the caller; opening its pages is not a change of
 * its value, hence the cast. */
static int mac(const struct auth_key *ck, enum auth_role role,
	       const uint8_t *sn, const uint8_t *cn, const uint8_t *th,
	       uint8_t *proof, int verify)
{
	struct auth_key *k = (struct auth_key *)ck;
	uint8_t msg[PROOF_MSG_SIZE];
	int r, r2, ok;

	if (!k || !sn || !cn || !th || !proof)
		return -EINVAL;
	r = auth_init();
	if (r < 0)
		return r;
	r = proof_msg(msg, role, sn, cn, th);
	if (r < 0)
		return r;
	r = key_open(k);
	if (r < 0)
		return r;
	if (verify)
		ok = crypto_auth_verify(proof, msg, sizeof(msg), k->bytes);
	else
		ok = crypto_auth(proof, msg, sizeof(msg), k->bytes);
	r2 = key_close(k);
	if (ok != 0)
		r = verify ? -EACCES : -ENOSYS;
	else
		r = r2;
	return r;
}

int auth_proof(const struct auth_key *k, enum auth_role role,
	       const uint8_t server_nonce[AUTH_NONCE_SIZE],
	       const uint8_t client_nonce[AUTH_NONCE_SIZE],
	       const uint8_t transcript[AUTH_HASH_SIZE],
	       uint8_t proof[AUTH_PROOF_SIZE])
{
	int r = mac(k, role, server_nonce, client_nonce, transcript, proof, 0);

	if (r < 0 && proof)
		sodium_memzero(proof, AUTH_PROOF_SIZE);
	return r;
}

int auth_verify(const struct auth_key *k, enum auth_role role,
		const uint8_t server_nonce[AUTH_NONCE_SIZE],
		const uint8_t client_nonce[AUTH_NONCE_SIZE],
		const uint8_t transcript[AUTH_HASH_SIZE],
		const uint8_t proof[AUTH_PROOF_SIZE])
{
	/* crypto_auth_verify only reads the proof */
	return mac(k, role, server_nonce, client_nonce, transcript,
		   (uint8_t *)proof, 1);
}

/* ---- randomness and tokens ------------------------------------------------- */

#ifdef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
/*
 * Fuzz builds: nonces and tokens come from a seeded deterministic generator
 * (ChaCha20 under a fixed seed whose first 8 bytes count the calls), so an
 * input that crashed a target replays the same conversation. Never in a
 * real build: configure --enable-fuzzing defines the macro.
 */
static uint64_t fuzz_calls;

void auth_debug_seed(uint64_t seed)
{
	__atomic_store_n(&fuzz_calls, seed, __ATOMIC_RELAXED);
}

static void random_bytes(void *buf, size_t len)
{
	unsigned char seed[randombytes_SEEDBYTES] = "memenpsf fuzz seed";
	uint64_t n = __atomic_fetch_add(&fuzz_calls, 1, __ATOMIC_RELAXED);

	for (int i = 0; i < 8; i++)
		seed[i] = (unsigned char)(n >> (8 * i));
	randombytes_buf_deterministic(buf, len, seed);
}
#else
void auth_debug_seed(uint64_t seed)
{
	(void)seed; /* real randomness cannot be seeded */
}

static void random_bytes(void *buf, size_t len)
{
	randombytes_buf(buf, len);
}
#endif

int auth_random(void *buf, size_t len)
{
	int r;

	if (!buf || !len)
		return -EINVAL;
	r = auth_init();
	if (r < 0)
		return r;
	random_bytes(buf, len);
	return 0;
}

int auth_token_check(const uint8_t a[AUTH_TOKEN_SIZE],
		     const uint8_t b[AUTH_TOKEN_SIZE])
{
	if (!a || !b)
		return -EINVAL;
	return sodium_memcmp(a, b, AUTH_TOKEN_SIZE) == 0 ? 0 : -EACCES;
}

/* ---- transcript ------------------------------------------------------------ */

int auth_transcript_init(struct auth_transcript *t)
{
	int r;

	if (!t)
		return -EINVAL;
	r = auth_init();
	if (r < 0)
		return r;
	if (crypto_generichash_init(&t->st, NULL, 0, AUTH_HASH_SIZE) != 0)
		return -ENOSYS;
	if (crypto_generichash_update(&t->st, (const uint8_t *)transcript_label,
				      sizeof(transcript_label)) != 0)
		return -ENOSYS;
	return 0;
}

int auth_transcript_add(struct auth_transcript *t, const void *msg,
			size_t len)
{
	uint8_t le[8];

	if (!t || (!msg && len))
		return -EINVAL;
	/* length first: "ab"+"c" and "a"+"bc" hash apart */
	for (int i = 0; i < 8; i++)
		le[i] = (uint8_t)((uint64_t)len >> (8 * i));
	if (crypto_generichash_update(&t->st, le, sizeof(le)) != 0)
		return -ENOSYS;
	if (len && crypto_generichash_update(&t->st, msg, len) != 0)
		return -ENOSYS;
	return 0;
}

int auth_transcript_hash(const struct auth_transcript *t,
			 uint8_t out[AUTH_HASH_SIZE])
{
	struct auth_transcript copy;
	int r = 0;

	if (!t || !out)
		return -EINVAL;
	/* finalise a copy so that the conversation can go on */
	copy = *t;
	if (crypto_generichash_final(&copy.st, out, AUTH_HASH_SIZE) != 0)
		r = -ENOSYS;
	sodium_memzero(&copy, sizeof(copy));
	return r;
}

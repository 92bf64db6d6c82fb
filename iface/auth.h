/* SPDX-License-Identifier: MIT */
/*
 * Keys and proofs of the authenticated handshake. Private: never installed.
 *
 * A pre-shared key is 32 bytes. It lives in sodium_malloc'd memory (guard
 * pages, locked, not dumped), which is kept PROT_NONE while no proof is being
 * computed, and is wiped and unmapped by auth_key_free() on every path.
 *
 * A proof is HMAC-SHA-512-256 (crypto_auth) under the key over a fixed-size,
 * domain-separated message:
 *
 *   label (24 bytes)  "memenpsf v1 client proof" or "memenpsf v1 server proof"
 *   role  (1 byte)    AUTH_CLIENT or AUTH_SERVER
 *   server nonce (32) client nonce (32) transcript hash (32)
 *
 * so a proof made for one role, one pair of nonces or one conversation is
 * worth nothing for another. The transcript hash is BLAKE2b-256 over every
 * control message exchanged so far, each prefixed with its length (see
 * auth_transcript_*). Verification is constant time (crypto_auth_verify).
 *
 * Every function returns 0 or -errno; -ENOSYS means libsodium could not be
 * initialised (no random source): nothing here works then.
 */
#ifndef MEMENPSF_IFACE_AUTH_H
#define MEMENPSF_IFACE_AUTH_H

#include <stddef.h>
#include <stdint.h>

#include <sodium.h>

#define AUTH_KEY_SIZE 32
#define AUTH_NONCE_SIZE 32
#define AUTH_PROOF_SIZE 32
#define AUTH_HASH_SIZE 32
#define AUTH_TOKEN_SIZE 32
/* Longest key file: 64 hex digits and a newline. */
#define AUTH_KEY_FILE_MAX 65

_Static_assert(AUTH_KEY_SIZE == crypto_auth_KEYBYTES, "key size");
_Static_assert(AUTH_PROOF_SIZE == crypto_auth_BYTES, "proof size");

enum auth_role {
	AUTH_CLIENT = 1,
	AUTH_SERVER = 2,
};

struct auth_key; /* opaque */

/* The running hash of the conversation. Plain memory: nothing secret; its
 * type asks for 64-byte alignment (libsodium's state), which a struct member
 * or a local gets by itself and malloc() does not: use aligned_alloc. */
struct auth_transcript {
	crypto_generichash_state st;
};

/*
 * Initialise libsodium, once per process (thread-safe; later calls return
 * the first call's result). Returns 0 or -ENOSYS. Every other function here
 * calls it, so calling it first is only needed to report failure early.
 */
int auth_init(void);

/*
 * Make a key from len bytes at buf (len must be AUTH_KEY_SIZE: -EINVAL
 * otherwise). The bytes are copied into protected memory; the caller's
 * buffer stays the caller's to wipe. -ENOMEM, -ENOSYS. Free with
 * auth_key_free().
 */
int auth_key_from_mem(struct auth_key **out, const void *buf, size_t len);

/*
 * Load a key file: a regular file (-EINVAL otherwise) owned by the
 * effective uid and of mode 0600 or stricter, no bit outside 0600 (-EPERM
 * otherwise), holding either exactly 32 raw bytes, or exactly 64 hex digits
 * (either case) with an optional single trailing "\n" (-EINVAL for anything
 * else). Errors of open/read as -errno. Every buffer that held key bytes is
 * wiped before return, on every path. Does not block on FIFOs.
 */
int auth_key_load(struct auth_key **out, const char *path);

/* Wipe and free a key. NULL is a no-op. */
void auth_key_free(struct auth_key *k);

/*
 * Compute the proof of role over the two nonces and the transcript hash.
 * Returns 0, -EINVAL (NULL argument, unknown role), -ENOSYS, or the -errno
 * of mprotect. Safe to call from several threads on the same key.
 */
int auth_proof(const struct auth_key *k, enum auth_role role,
	       const uint8_t server_nonce[AUTH_NONCE_SIZE],
	       const uint8_t client_nonce[AUTH_NONCE_SIZE],
	       const uint8_t transcript[AUTH_HASH_SIZE],
	       uint8_t proof[AUTH_PROOF_SIZE]);

/*
 * Check a peer's proof of role, in constant time. Returns 0 when it is
 * good, -EACCES when it is not (wrong key, role, nonce, transcript or a
 * single flipped bit), -EINVAL/-ENOSYS/-errno as auth_proof().
 */
int auth_verify(const struct auth_key *k, enum auth_role role,
		const uint8_t server_nonce[AUTH_NONCE_SIZE],
		const uint8_t client_nonce[AUTH_NONCE_SIZE],
		const uint8_t transcript[AUTH_HASH_SIZE],
		const uint8_t proof[AUTH_PROOF_SIZE]);

/* Fill buf with len unpredictable bytes (nonces, session and resume
 * tokens): randombytes_buf. Returns 0, -EINVAL or -ENOSYS. In a fuzz build
 * (FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION, configure --enable-fuzzing)
 * the bytes come from a deterministic generator instead, restarted by
 * auth_debug_seed(), so that a crashing input replays exactly. */
int auth_random(void *buf, size_t len);

/* Fuzz builds: restart auth_random's deterministic sequence at seed (call
 * it at the start of each input). A no-op in every other build. */
void auth_debug_seed(uint64_t seed);

/* Constant-time comparison of two tokens: 0 equal, -EACCES not. */
int auth_token_check(const uint8_t a[AUTH_TOKEN_SIZE],
		     const uint8_t b[AUTH_TOKEN_SIZE]);

/* Transcript: init, then add each control message in the order sent or
 * received, then read the hash of what was added so far (the transcript
 * stays open for more). Each returns 0, -EINVAL or -ENOSYS. */
int auth_transcript_init(struct auth_transcript *t);
int auth_transcript_add(struct auth_transcript *t, const void *msg,
			size_t len);
int auth_transcript_hash(const struct auth_transcript *t,
			 uint8_t out[AUTH_HASH_SIZE]);

/* Tests only: number of key allocations alive in this process (every path
 * of auth_key_* must bring it back to where it was). */
unsigned auth_debug_live_keys(void);
/* Tests only: where the key bytes are. Touching them outside auth_proof or
 * auth_verify must fault (the pages are PROT_NONE while idle). */
const void *auth_debug_key_bytes(const struct auth_key *k);

#endif /* MEMENPSF_IFACE_AUTH_H */

/* SPDX-License-Identifier: MIT */
/*
 * Writes the seed corpora of the fuzz targets: valid inputs of every kind,
 * made by the real encoders and by real rings, so that the fuzzers start
 * past the magic numbers. Usage: gen_corpus DIR (writes DIR/TARGET/NAME).
 * The output is deterministic; scripts/fuzz --regen-corpus refreshes the
 * committed copy in fuzz/corpus/.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <memenpsf/ipcq.h>

#include "fuzz-input.h"
#include "../iface/auth.h"
#include "../iface/iface-private.h" /* proof_* */
#include "../iface/wire.h"

static const char *outdir;

static void put(const char *target, const char *name, const void *p,
		size_t n)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", outdir, target);
	if (mkdir(path, 0755) < 0 && errno != EEXIST) {
		perror(path);
		exit(1);
	}
	snprintf(path, sizeof(path), "%s/%s/%s", outdir, target, name);
	f = fopen(path, "wbe");
	if (!f || fwrite(p, 1, n, f) != n || fclose(f) != 0) {
		perror(path);
		exit(1);
	}
}

/* ---- fuzz_wire ------------------------------------------------------------- */

static void wire_seed(const char *name, unsigned nfds, int flags,
		      const uint8_t *msg, int len)
{
	uint8_t in[FZ_WIRE_PREFIX + WIRE_MAX_MSG + 1];

	if (len < 0) {
		fprintf(stderr, "encoding %s failed: %d\n", name, len);
		exit(1);
	}
	in[0] = (uint8_t)nfds;
	in[1] = (uint8_t)flags;
	memcpy(in + FZ_WIRE_PREFIX, msg, (size_t)len);
	put("fuzz_wire", name, in, FZ_WIRE_PREFIX + (size_t)len);
}

/* A JOIN and a WELCOME whose proofs verify in fuzz_wire's keyed checks
 * (the fixed key, HELLO and nonces of fuzz-input.h). */
static void key_seeds(void)
{
	struct wire_hello h = { .features = WIRE_FEAT_KEY, .max_fds = 8,
				.elem_size = 64 };
	struct wire_join j = { .elem_size = 64 };
	struct wire_welcome w = { .elem_size = 64, .capacity_c2s = 256,
				  .capacity_s2c = 256, .conn_id = 3 };
	struct auth_transcript t;
	struct auth_key *k;
	uint8_t m[WIRE_MAX_MSG], b[32];

	fz_key(b);
	fz_key_nonces(h.nonce, j.nonce);
	memset(w.session_token, 0x99, sizeof(w.session_token));
	if (auth_key_from_mem(&k, b, sizeof(b)) < 0 ||
	    proof_start(&t, &h) < 0 || proof_join(k, &t, h.nonce, &j, 1) < 0 ||
	    proof_welcome(k, &t, h.nonce, j.nonce, &w, 1) < 0) {
		fprintf(stderr, "proving the key seeds failed\n");
		exit(1);
	}
	auth_key_free(k);
	wire_seed("join-proved", 0, 0, m, wire_encode_join(m, sizeof(m), &j));
	wire_seed("welcome-proved", WIRE_WELCOME_NFDS, 0, m,
		  wire_encode_welcome(m, sizeof(m), &w));
}

static void wire_seeds(void)
{
	uint8_t m[WIRE_MAX_MSG];
	struct wire_hello h = { .max_fds = 8, .elem_size = 64 };
	struct wire_join j = { .elem_size = 64, .min_capacity = 16 };
	struct wire_welcome w = { .elem_size = 64, .capacity_c2s = 256,
				  .capacity_s2c = 256, .conn_id = 1 };
	struct wire_reason rs;

	memset(h.nonce, 0x11, sizeof(h.nonce));
	wire_seed("hello", 0, 0, m, wire_encode_hello(m, sizeof(m), &h));
	h.features = WIRE_FEAT_KEY;
	wire_seed("hello-key", 0, 0, m, wire_encode_hello(m, sizeof(m), &h));

	wire_seed("join", 0, 0, m, wire_encode_join(m, sizeof(m), &j));
	j.flags = WIRE_JOIN_TYPED | WIRE_JOIN_PROOF | WIRE_JOIN_RESUME;
	memset(j.type_id, 0x22, sizeof(j.type_id));
	memset(j.nonce, 0x33, sizeof(j.nonce));
	memset(j.proof, 0x44, sizeof(j.proof));
	memset(j.resume_token, 0x55, sizeof(j.resume_token));
	wire_seed("join-all", 0, 0, m, wire_encode_join(m, sizeof(m), &j));

	wire_seed("welcome", WIRE_WELCOME_NFDS, 0, m,
		  wire_encode_welcome(m, sizeof(m), &w));
	w.flags = WIRE_WELCOME_TYPED | WIRE_WELCOME_PROOF;
	memset(w.type_id, 0x22, sizeof(w.type_id));
	memset(w.session_token, 0x66, sizeof(w.session_token));
	memset(w.proof, 0x77, sizeof(w.proof));
	w.capacity_s2c = 2;
	w.conn_id = UINT64_MAX;
	wire_seed("welcome-all", WIRE_WELCOME_NFDS, 0, m,
		  wire_encode_welcome(m, sizeof(m), &w));

	wire_seed("refuse", 0, 0, m,
		  wire_encode_reason(m, sizeof(m), WIRE_REFUSE, EACCES,
				     "key refused"));
	wire_seed("bye", 0, 0, m,
		  wire_encode_reason(m, sizeof(m), WIRE_BYE, 1, ""));
	wire_reason_set(&rs, 0xffff, "");
	memset(rs.text, 'x', WIRE_TEXT_SIZE - 1);
	rs.text_len = WIRE_TEXT_SIZE - 1;
	wire_seed("bye-long", 0, 0, m,
		  wire_encode_raw(m, sizeof(m), WIRE_VERSION, WIRE_BYE, &rs,
				  sizeof(rs)));

	key_seeds();

	/* refused ones, near the edges */
	wire_seed("hello-v2", 0, 0, m,
		  wire_encode_raw(m, sizeof(m), 2, WIRE_HELLO, &h, sizeof(h)));
	wire_seed("welcome-ctrunc", WIRE_WELCOME_NFDS, 0x08, m,
		  wire_encode_welcome(m, sizeof(m), &w));
	wire_seed("hello-1fd", 1, 0, m, wire_encode_hello(m, sizeof(m), &h));
}

/* ---- fuzz_ipcq_header ------------------------------------------------------ */

static void header_seed(const char *name, uint32_t elem, uint32_t cap,
			const char *type, unsigned mode)
{
	struct ipcq_config cfg = { .elem_size = elem, .capacity = cap };
	uint8_t in[FZ_HDR_PREFIX + 128];
	struct ipcq *q = NULL;
	int fds[IPCQ_NFDS], seals;
	struct stat st;

	if (type && ipcq_type_id(cfg.type_id, type, elem) < 0)
		exit(1);
	if (ipcq_create(&q, &cfg, IPCQ_PRODUCER) < 0 ||
	    ipcq_export(q, fds) < 0) {
		fprintf(stderr, "ring %s failed\n", name);
		exit(1);
	}
	memset(in, 0, sizeof(in));
	seals = fcntl(fds[0], F_GET_SEALS);
	if (seals < 0 || fstat(fds[0], &st) < 0 ||
	    pread(fds[0], in + FZ_HDR_PREFIX, 128, 0) != 128) {
		perror(name);
		exit(1);
	}
	fz_put(in + FZ_HDR_SEALS, (uint32_t)seals, 4);
	fz_put(in + FZ_HDR_SIZE, (uint64_t)st.st_size, 8);
	fz_put(in + FZ_HDR_EXPECT, mode, 1);
	fz_put(in + FZ_HDR_ELEM, elem, 4);
	memcpy(in + FZ_HDR_TYPE, cfg.type_id, IPCQ_TYPE_ID_SIZE);
	put("fuzz_ipcq_header", name, in, sizeof(in));
	ipcq_close(q);
}

static void header_seeds(void)
{
	header_seed("e8-c2", 8, 2, NULL, 0);
	header_seed("e64-c256-expect", 64, 256, NULL, 1 | 2);
	header_seed("e13-c1024-typed", 13, 1024, "struct thirteen", 1 | 2 | 4);
	header_seed("e4096-c16", 4096, 16, NULL, 1);
	header_seed("e100-c64", 100, 64, NULL, 0); /* inline, whole lines */
	header_seed("e1-c65536", 1, 65536, NULL, 0);
}

/* ---- fuzz_ipcq_ring -------------------------------------------------------- */

static void ring_seed(const char *name, unsigned elem_idx, unsigned cap_log,
		      unsigned producer, uint64_t first, const uint8_t *ops,
		      size_t nops)
{
	uint8_t in[FZ_RING_PREFIX + 256];

	memset(in, 0, FZ_RING_PREFIX);
	in[FZ_RING_ELEM] = (uint8_t)elem_idx;
	in[FZ_RING_CAP] = (uint8_t)cap_log;
	in[FZ_RING_ROLE] = (uint8_t)producer;
	fz_put(in + FZ_RING_FIRST, first, 8);
	memcpy(in + FZ_RING_PREFIX, ops, nops);
	put("fuzz_ipcq_ring", name, in, FZ_RING_PREFIX + nops);
}

static void ring_seeds(void)
{
	/* the peer publishes 3 slots, the consumer pops, peeks, receives */
	static const uint8_t cons[] = {
		FZ_OP_PUBLISH, 0, 8, 0, 0, 0,
		FZ_OP_PUBLISH, 1, 3, 0, 0, 0,
		FZ_OP_PUBLISH, 2, 0, 0, 0, 0,
		FZ_OP_POP,
		FZ_OP_PEEK, 4, 1,
		FZ_OP_RECV, 8,
		FZ_OP_READY,
		FZ_OP_POP,
	};
	/* the peer lies: a length above elem_size, then a wild tail */
	static const uint8_t lie[] = {
		FZ_OP_PUBLISH, 0, 0xff, 0xff, 0xff, 0xff,
		FZ_OP_POP,
		FZ_OP_POKE, 0, 0, 8, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0,
		FZ_OP_POP_N, 4,
	};
	/* the producer fills the ring, the peer consumes some, more pushes */
	static const uint8_t prod[] = {
		FZ_OP_PUSH, 1, FZ_OP_PUSH, 2, FZ_OP_RESERVE, 4, 2,
		FZ_OP_READY, FZ_OP_CONSUME, 2, FZ_OP_PUSH, 3,
		FZ_OP_RESERVE, 1, 0x83, FZ_OP_PUSH, 5,
	};

	ring_seed("consumer", 1, 2, 0, 0, cons, sizeof(cons));
	ring_seed("consumer-wrap", 5, 1, 0, UINT64_MAX - 2, cons,
		  sizeof(cons));
	ring_seed("consumer-liar", 0, 0, 0, 0, lie, sizeof(lie));
	ring_seed("producer", 2, 1, 1, 0, prod, sizeof(prod));
	ring_seed("producer-wrap", 7, 5, 1, UINT64_MAX - 1, prod,
		  sizeof(prod));
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s DIR\n", argv[0]);
		return 2;
	}
	outdir = argv[1];
	if (mkdir(outdir, 0755) < 0 && errno != EEXIST) {
		perror(outdir);
		return 1;
	}
	wire_seeds();
	header_seeds();
	ring_seeds();
	return 0;
}

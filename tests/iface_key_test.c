/* SPDX-License-Identifier: MIT */
/*
 * The key-authenticated handshake of libiface across real processes: a
 * keyed echo server in a child process; library clients with the right
 * key, a wrong one or none; raw SOCK_SEQPACKET clients that replay,
 * reflect, flip bits, cut, extend and reorder handshake messages (they
 * compute proofs with iface/auth.h like the library does); a fake keyed
 * server that flips bits of its WELCOME; key files refused at create.
 *
 * After every refusal the server still serves a good client, and neither
 * the server (its /proc fd count) nor the test process (the leak fixture)
 * keeps a descriptor. Nothing sleeps to wait for another process.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <memenpsf/fdpass.h>
#include <memenpsf/iface.h>
#include <memenpsf/ipcq.h>

#include "iface_util.h"
#include "testutil.h"
#include "../iface/auth.h"
#include "../iface/wire.h"

static const uint8_t KEY[IFACE_KEY_SIZE] = {
	0x10, 0x32, 0x54, 0x76, 0x98, 0xba, 0xdc, 0xfe, 0x01, 0x23, 0x45,
	0x67, 0x89, 0xab, 0xcd, 0xef, 0xf0, 0xe1, 0xd2, 0xc3, 0xb4, 0xa5,
	0x96, 0x87, 0x78, 0x69, 0x5a, 0x4b, 0x3c, 0x2d, 0x1e, 0x0f,
};
static uint8_t OTHER[IFACE_KEY_SIZE]; /* KEY with one bit flipped */

/* ---- the keyed echo server, in a child ----------------------------------- */

/* What the server child writes to its note pipe: code 0 and the session
 * token for each accepted client, the reason code of each refused one. */
struct knote {
	uint32_t code;
	uint8_t token[IFACE_TOKEN_SIZE];
};

static int ks_note = -1;
static struct iface_server *ks_srv;
/* Notes wait for the end of the dispatch, when the conn they are about is
 * freed (its descriptors closed): a test reading a note may count them. */
static struct knote ks_pending[64];
static unsigned ks_npending;

static void ks_term(int sig)
{
	(void)sig;
	iface_server_stop(ks_srv);
}

static void ks_write(const struct knote *n)
{
	if (ks_npending == sizeof(ks_pending) / sizeof(ks_pending[0]))
		_exit(XC_PIPE);
	ks_pending[ks_npending++] = *n;
}

static void ks_flush(void)
{
	for (unsigned i = 0; i < ks_npending; i++)
		if (t_write_full(ks_note, &ks_pending[i],
				 sizeof(ks_pending[i])) != 0)
			_exit(XC_PIPE);
	ks_npending = 0;
}

static void ks_disconnect(struct iface_conn *c, const struct iface_reason *why,
			  void *user)
{
	struct knote n = { .code = why->code };

	(void)c;
	(void)user;
	ks_write(&n);
}

static int ks_connect(struct iface_conn *c, void *user)
{
	struct knote n = { 0 };

	(void)user;
	iface_conn_token(c, n.token);
	ks_write(&n);
	return 0;
}

static void ks_message(struct iface_conn *c, const struct iface_msg *msgs,
		       unsigned n, void *user)
{
	(void)user;
	for (unsigned i = 0; i < n; i++)
		if (iface_conn_send(c, msgs[i].data, msgs[i].len) < 0)
			_exit(XC_SEND); /* the test sends one at a time */
}

static void ks_refused(const struct iface_cred *cr,
		       const struct iface_reason *why, void *user)
{
	struct knote n = { .code = why->code };

	(void)cr;
	(void)user;
	ks_write(&n);
}

/* Fork a server on t_path with key (NULL: keyless); returns when it listens.
 * *note_rd gets the note pipe. SIGTERM ends it with status 0. */
static pid_t ks_spawn(const uint8_t *key, int *note_rd)
{
	int ready[2], note[2];
	pid_t pid;
	char c;

	t_pipe(ready);
	t_pipe(note);
	pid = t_fork();
	if (pid == 0) {
		struct iface_server_config cfg = { .path = t_path,
						   .elem_size = T_ELEM,
						   .handshake_timeout_ms =
							   30000 };
		int r;

		close(ready[0]);
		close(note[0]);
		ks_note = note[1];
		cfg.key = key;
		cfg.key_len = key ? IFACE_KEY_SIZE : 0;
		cfg.cb.on_connect = ks_connect;
		cfg.cb.on_message = ks_message;
		cfg.cb.on_refused = ks_refused;
		cfg.cb.on_disconnect = ks_disconnect;
		r = iface_server_create(&ks_srv, &cfg);
		if (r < 0) {
			fprintf(stderr, "key server: create: %s\n",
				strerror(-r));
			_exit(XC_SERVER);
		}
		signal(SIGTERM, ks_term);
		if (write(ready[1], "r", 1) != 1)
			_exit(XC_PIPE);
		close(ready[1]);
		do {
			r = iface_server_dispatch(ks_srv, -1);
			ks_flush();
		} while (r >= 0);
		iface_server_destroy(ks_srv);
		_exit(r == -ECANCELED ? XC_OK : XC_SERVER);
	}
	close(ready[1]);
	close(note[1]);
	ck_assert_int_eq(t_read_full(ready[0], &c, 1), 1);
	ck_assert_int_eq(t_read_full(ready[0], &c, 1), 0);
	close(ready[0]);
	*note_rd = note[0];
	return pid;
}

static void ks_stop(pid_t pid, int note)
{
	struct knote n;

	ck_assert_int_eq(kill(pid, SIGTERM), 0);
	ck_assert_int_eq(tu_wait(pid), XC_OK);
	/* every note was read by the test: nothing unexpected is left */
	ck_assert_int_eq(t_read_full(note, &n, sizeof(n)), 0);
	close(note);
}

static void note_expect(int note, uint32_t code)
{
	struct knote n;

	ck_assert_int_eq(t_read_full(note, &n, sizeof(n)),
			 (ssize_t)sizeof(n));
	ck_assert_uint_eq(n.code, code);
}

/* Connect with key (NULL: none), one echo round trip, close; the server's
 * note for it must carry the same session token as the client's. */
static void good_client(const uint8_t *key, int note)
{
	struct iface_client_config cc = { .path = t_path, .elem_size = T_ELEM };
	uint8_t tok[IFACE_TOKEN_SIZE], zero[IFACE_TOKEN_SIZE] = { 0 };
	struct iface_client *c;
	struct iface_reason why;
	struct tmsg m, back;
	struct knote n;
	int r;

	cc.key = key;
	cc.key_len = key ? IFACE_KEY_SIZE : 0;
	r = iface_client_connect(&c, &cc, &why);
	ck_assert_msg(r == 0, "good client: %d (%s)", r, why.text);
	iface_client_token(c, tok);
	ck_assert_int_ne(memcmp(tok, zero, sizeof(tok)), 0);
	ck_assert_int_eq(t_read_full(note, &n, sizeof(n)), (ssize_t)sizeof(n));
	ck_assert_uint_eq(n.code, 0);
	ck_assert_int_eq(memcmp(n.token, tok, sizeof(tok)), 0);
	tmsg_fill(&m, 1, TM_REQ, 7, 0);
	ck_assert_int_eq(iface_client_send_wait(c, &m, sizeof(m), 5000), 0);
	ck_assert_int_eq(iface_client_recv_wait(c, &back, sizeof(back), 5000),
			 (ssize_t)sizeof(back));
	ck_assert_int_eq(memcmp(&m, &back, sizeof(m)), 0);
	iface_client_close(c);
	note_expect(note, IFACE_R_CLOSED); /* and the server freed it */
}

/* A library client with key that must be refused: -EACCES, IFACE_R_KEY,
 * "key refused" in the text. */
static void refused_client(const uint8_t *key)
{
	struct iface_client_config cc = { .path = t_path, .elem_size = T_ELEM };
	struct iface_client *c = NULL;
	struct iface_reason why;
	int r;

	cc.key = key;
	cc.key_len = key ? IFACE_KEY_SIZE : 0;
	r = iface_client_connect(&c, &cc, &why);
	ck_assert_msg(r == -EACCES, "refused client: %d (%s)", r, why.text);
	ck_assert_ptr_null(c);
	ck_assert_uint_eq(why.code, IFACE_R_KEY);
	ck_assert_msg(strstr(why.text, "key refused") != NULL, "text '%s'",
		      why.text);
}

/*
 * The right key on both sides: connected, an echo comes back, both sides
 * hold the same non-zero session token, and two sessions get different
 * tokens (the notes are compared by good_client; here the two clients').
 */
START_TEST(test_key_good)
{
	int note;
	pid_t srv = ks_spawn(KEY, &note);
	int fds0 = proc_fd_count(srv);

	good_client(KEY, note);
	good_client(KEY, note);
	ck_assert_int_eq(proc_fd_count(srv), fds0);
	ks_stop(srv, note);
}
END_TEST

/*
 * A wrong key (one bit off), and no key at all, against a keyed server:
 * -EACCES with IFACE_R_KEY "key refused ..." on the client, the server's
 * on_refused told IFACE_R_KEY, and a good client served afterwards with
 * the server's descriptors back where they were.
 */
START_TEST(test_key_wrong_and_missing)
{
	int note;
	pid_t srv = ks_spawn(KEY, &note);
	int fds0 = proc_fd_count(srv);

	refused_client(OTHER);
	note_expect(note, IFACE_R_KEY);
	refused_client(NULL);
	note_expect(note, IFACE_R_KEY);
	good_client(KEY, note);
	ck_assert_int_eq(proc_fd_count(srv), fds0);
	ks_stop(srv, note);
}
END_TEST

/*
 * A client with a key against a keyless server: the server cannot prove
 * the key, so the client refuses it (-EACCES, IFACE_R_KEY) after HELLO,
 * before any ring exists; the server keeps serving keyless clients.
 */
START_TEST(test_key_server_has_none)
{
	int note;
	pid_t srv = ks_spawn(NULL, &note);
	int fds0 = proc_fd_count(srv);

	refused_client(KEY);
	good_client(NULL, note);
	ck_assert_int_eq(proc_fd_count(srv), fds0);
	ks_stop(srv, note);
}
END_TEST

/* ---- raw clients ------------------------------------------------------------ */

static struct auth_key *test_key(const uint8_t *bytes)
{
	struct auth_key *k;

	ck_assert_int_eq(auth_key_from_mem(&k, bytes, AUTH_KEY_SIZE), 0);
	return k;
}

static int raw_hello(struct wire_hello *h)
{
	struct wire_msg m;
	int sock = fdpass_connect(t_path, SOCK_SEQPACKET, 5000);

	ck_assert_int_ge(sock, 0);
	ck_assert_int_eq(t_raw_recv(sock, &m, NULL, 5000), 0);
	ck_assert_uint_eq(m.type, WIRE_HELLO);
	ck_assert_uint_eq(m.u.hello.features & WIRE_FEAT_KEY, WIRE_FEAT_KEY);
	*h = m.u.hello;
	return sock;
}

/* A JOIN proved with k as role over hello (as the client saw it), and the
 * transcript left for the server's proof. Encoded into buf; its length. */
static int proved_join(const struct auth_key *k, enum auth_role role,
		       const struct wire_hello *hello, struct wire_join *j,
		       struct auth_transcript *t, unsigned char *buf)
{
	unsigned char tmp[WIRE_MAX_MSG];
	uint8_t th[AUTH_HASH_SIZE];
	int n;

	j->flags |= WIRE_JOIN_PROOF;
	memset(j->proof, 0, sizeof(j->proof));
	ck_assert_int_eq(auth_transcript_init(t), 0);
	n = wire_encode_hello(tmp, sizeof(tmp), hello);
	ck_assert_int_gt(n, 0);
	ck_assert_int_eq(auth_transcript_add(t, tmp, (size_t)n), 0);
	n = wire_encode_join(tmp, sizeof(tmp), j);
	ck_assert_int_gt(n, 0);
	ck_assert_int_eq(auth_transcript_add(t, tmp, (size_t)n), 0);
	ck_assert_int_eq(auth_transcript_hash(t, th), 0);
	ck_assert_int_eq(auth_proof(k, role, hello->nonce, j->nonce, th,
				    j->proof),
			 0);
	n = wire_encode_join(buf, WIRE_MAX_MSG, j);
	ck_assert_int_gt(n, 0);
	return n;
}

static struct wire_join fresh_join(void)
{
	struct wire_join j = { .elem_size = T_ELEM };

	ck_assert_int_eq(auth_random(j.nonce, sizeof(j.nonce)), 0);
	return j;
}

/* Send n bytes of buf; expect a REFUSE (any code but 0, or code if not 0)
 * without descriptors, then the end of the socket. */
static void send_expect_refuse(int sock, const void *buf, size_t n,
			       uint32_t code)
{
	struct wire_msg m;
	unsigned nfds = 9;

	ck_assert_int_eq(fdpass_send(sock, buf, n, NULL, 0, 1000), (ssize_t)n);
	ck_assert_int_eq(t_raw_recv(sock, &m, &nfds, 5000), 0);
	ck_assert_uint_eq(m.type, WIRE_REFUSE);
	ck_assert_uint_eq(nfds, 0);
	if (code)
		ck_assert_uint_eq(m.u.reason.code, code);
	else
		ck_assert_uint_ne(m.u.reason.code, 0);
	ck_assert_int_eq(t_raw_recv(sock, &m, NULL, 5000), -EPIPE);
	close(sock);
}

/* Read the server's note for a refusal and, when code, check it. */
static void note_refused(int note, uint32_t code)
{
	struct knote n;

	ck_assert_int_eq(t_read_full(note, &n, sizeof(n)), (ssize_t)sizeof(n));
	if (code)
		ck_assert_uint_eq(n.code, code);
	else
		ck_assert_msg(n.code == IFACE_R_KEY ||
				      n.code == IFACE_R_PROTOCOL ||
				      n.code == IFACE_R_VERSION,
			      "refused with code %u", n.code);
}

/*
 * Replay: a raw client with the key completes a handshake (the server's
 * proof in WELCOME checks out under the server role over the whole
 * transcript), and its JOIN, replayed byte for byte into a new
 * connection, is refused (the server's nonce is new). Also a JOIN sent
 * before HELLO was read, proved over a server nonce guessed as zero.
 */
START_TEST(test_key_replay)
{
	struct auth_key *k = test_key(KEY);
	unsigned char rec[WIRE_MAX_MSG], buf[WIRE_MAX_MSG];
	uint8_t th[AUTH_HASH_SIZE];
	struct auth_transcript t;
	struct wire_hello h;
	struct wire_join j = fresh_join();
	struct wire_msg m;
	unsigned nfds = 0;
	int note, sock, n, len;
	pid_t srv = ks_spawn(KEY, &note);
	int fds0 = proc_fd_count(srv);

	sock = raw_hello(&h);
	len = proved_join(k, AUTH_CLIENT, &h, &j, &t, rec);
	ck_assert_int_eq(fdpass_send(sock, rec, (size_t)len, NULL, 0, 1000),
			 len);
	ck_assert_int_eq(t_raw_recv(sock, &m, &nfds, 5000), 0);
	ck_assert_uint_eq(m.type, WIRE_WELCOME);
	ck_assert_uint_eq(nfds, WIRE_WELCOME_NFDS);
	ck_assert(m.u.welcome.flags & WIRE_WELCOME_PROOF);
	{
		struct wire_welcome w = m.u.welcome;

		memset(w.proof, 0, sizeof(w.proof));
		n = wire_encode_welcome(buf, sizeof(buf), &w);
		ck_assert_int_gt(n, 0);
		ck_assert_int_eq(auth_transcript_add(&t, buf, (size_t)n), 0);
		ck_assert_int_eq(auth_transcript_hash(&t, th), 0);
		ck_assert_int_eq(auth_verify(k, AUTH_SERVER, h.nonce, j.nonce,
					     th, m.u.welcome.proof),
				 0);
		/* and it is not a client's proof */
		ck_assert_int_eq(auth_verify(k, AUTH_CLIENT, h.nonce, j.nonce,
					     th, m.u.welcome.proof),
				 -EACCES);
	}
	note_expect(note, 0); /* connected */
	close(sock);
	note_expect(note, IFACE_R_HANGUP); /* no BYE from the raw client */

	sock = raw_hello(&h);
	send_expect_refuse(sock, rec, (size_t)len, IFACE_R_KEY);
	note_refused(note, IFACE_R_KEY);

	/* proof before HELLO: sent first, the server's nonce not known */
	sock = fdpass_connect(t_path, SOCK_SEQPACKET, 5000);
	ck_assert_int_ge(sock, 0);
	memset(&h, 0, sizeof(h));
	h.features = WIRE_FEAT_KEY;
	h.max_fds = 8;
	h.elem_size = T_ELEM;
	j = fresh_join();
	len = proved_join(k, AUTH_CLIENT, &h, &j, &t, buf);
	ck_assert_int_eq(fdpass_send(sock, buf, (size_t)len, NULL, 0, 1000),
			 len);
	ck_assert_int_eq(t_raw_recv(sock, &m, NULL, 5000), 0);
	ck_assert_uint_eq(m.type, WIRE_HELLO);
	ck_assert_int_eq(t_raw_recv(sock, &m, NULL, 5000), 0);
	ck_assert_uint_eq(m.type, WIRE_REFUSE);
	ck_assert_uint_eq(m.u.reason.code, IFACE_R_KEY);
	close(sock);
	note_refused(note, IFACE_R_KEY);

	good_client(KEY, note);
	ck_assert_int_eq(proc_fd_count(srv), fds0);
	ks_stop(srv, note);
	auth_key_free(k);
}
END_TEST

/*
 * Reflection: the server's challenge sent back as the client's nonce
 * (with a proof that is otherwise right), and a proof made under the
 * server's role (what the server would say) offered as the client's: both
 * refused with IFACE_R_KEY, no WELCOME.
 */
START_TEST(test_key_reflection)
{
	struct auth_key *k = test_key(KEY);
	unsigned char buf[WIRE_MAX_MSG];
	struct auth_transcript t;
	struct wire_hello h;
	struct wire_join j;
	int note, sock, n;
	pid_t srv = ks_spawn(KEY, &note);
	int fds0 = proc_fd_count(srv);

	sock = raw_hello(&h);
	j = fresh_join();
	memcpy(j.nonce, h.nonce, sizeof(j.nonce));
	n = proved_join(k, AUTH_CLIENT, &h, &j, &t, buf);
	send_expect_refuse(sock, buf, (size_t)n, IFACE_R_KEY);
	note_refused(note, IFACE_R_KEY);

	sock = raw_hello(&h);
	j = fresh_join();
	n = proved_join(k, AUTH_SERVER, &h, &j, &t, buf);
	send_expect_refuse(sock, buf, (size_t)n, IFACE_R_KEY);
	note_refused(note, IFACE_R_KEY);

	good_client(KEY, note);
	ck_assert_int_eq(proc_fd_count(srv), fds0);
	ks_stop(srv, note);
	auth_key_free(k);
}
END_TEST

/* Offsets (in the datagram) and sizes of every field of a JOIN. */
static const struct {
	unsigned off, size;
} join_fields[] = {
	{ 0, 4 },   { 4, 2 },   { 6, 2 },   { 8, 4 },  { 12, 4 }, /* header */
	{ 16, 4 },  { 20, 4 },  { 24, 4 },  { 28, 4 },            /* ints */
	{ 32, 16 }, { 48, 32 }, { 80, 32 }, { 112, 32 },          /* arrays */
};
#define NJF (unsigned)(sizeof(join_fields) / sizeof(join_fields[0]))

/* Bit b (0..2) of a field of size bytes: its lowest, its highest, one in
 * the middle. */
static unsigned field_bit(unsigned size, unsigned b)
{
	return b == 0 ? 0 : b == 1 ? size * 8 - 1 : size * 4 + 3;
}

/* HELLO body fields a client may see flipped and still decode: features
 * (an unknown bit), max_fds, elem_size, nonce (datagram offsets). */
static const struct {
	unsigned off, bit;
} hello_flips[] = { { 16, 1 }, { 20, 0 }, { 24, 5 }, { 32, 0 }, { 63, 7 } };

/*
 * A single flipped bit: in each field of a correctly proved JOIN (after
 * the proof was made), its lowest, highest and a middle bit: refused (IFACE_R_KEY for
 * a JOIN that still decodes, PROTOCOL or VERSION otherwise), never a
 * WELCOME. And a bit of HELLO flipped before the client proves over it
 * (the server's transcript differs): refused IFACE_R_KEY. Then a JOIN cut
 * by one byte and one extended by a byte: refused (PROTOCOL).
 */
START_TEST(test_key_bit_flips_and_lengths)
{
	struct auth_key *k = test_key(KEY);
	unsigned char buf[WIRE_MAX_MSG + 1];
	struct auth_transcript t;
	struct wire_hello h;
	struct wire_join j;
	int note, sock, n;
	pid_t srv = ks_spawn(KEY, &note);
	int fds0 = proc_fd_count(srv);

	/* each field of JOIN, three bits each */
	for (unsigned i = 0; i < 3 * NJF; i++) {
		unsigned f = i / 3;
		unsigned bit = join_fields[f].off * 8 +
			       field_bit(join_fields[f].size, i % 3);

		sock = raw_hello(&h);
		j = fresh_join();
		n = proved_join(k, AUTH_CLIENT, &h, &j, &t, buf);
		ck_assert_int_eq(n, 144);
		buf[bit / 8] ^= (unsigned char)(1u << (bit % 8));
		send_expect_refuse(sock, buf, (size_t)n, 0);
		/* the nonce and the proof decode whatever their bits: the
		 * proof fails; other fields may be refused as malformed */
		note_refused(note, f == 10 || f == 11 ? IFACE_R_KEY : 0);
	}
	for (unsigned f = 0; f < sizeof(hello_flips) / sizeof(hello_flips[0]);
	     f++) {
		unsigned char hb[WIRE_MAX_MSG];
		struct wire_msg m;

		sock = raw_hello(&h);
		n = wire_encode_hello(hb, sizeof(hb), &h);
		ck_assert_int_eq(n, 64);
		hb[hello_flips[f].off] ^= (unsigned char)(1u << hello_flips[f].bit);
		ck_assert_int_eq(wire_decode(hb, (size_t)n, 0, 0, &m), 0);
		j = fresh_join();
		n = proved_join(k, AUTH_CLIENT, &m.u.hello, &j, &t, buf);
		send_expect_refuse(sock, buf, (size_t)n, IFACE_R_KEY);
		note_refused(note, IFACE_R_KEY);
	}
	for (int extra = -1; extra <= 1; extra += 2) {
		sock = raw_hello(&h);
		j = fresh_join();
		n = proved_join(k, AUTH_CLIENT, &h, &j, &t, buf);
		buf[n] = 0;
		send_expect_refuse(sock, buf, (size_t)(n + extra),
				   IFACE_R_PROTOCOL);
		note_refused(note, IFACE_R_PROTOCOL);
	}

	good_client(KEY, note);
	ck_assert_int_eq(proc_fd_count(srv), fds0);
	ks_stop(srv, note);
	auth_key_free(k);
}
END_TEST

/*
 * Out of order: a HELLO sent to the server, a WELCOME-typed message (no
 * fds) and a BYE-less second JOIN after a good one (the server is then
 * OPEN: a protocol error, BYE PROTOCOL). The first two refused before any
 * proof is looked at; none of them costs the server a descriptor.
 */
START_TEST(test_key_out_of_order)
{
	struct auth_key *k = test_key(KEY);
	unsigned char buf[WIRE_MAX_MSG];
	struct auth_transcript t;
	struct wire_welcome w = { .elem_size = T_ELEM, .capacity_c2s = 2,
				  .capacity_s2c = 2, .conn_id = 1 };
	struct wire_hello h;
	struct wire_join j;
	struct wire_msg m;
	unsigned nfds;
	int note, sock, n;
	pid_t srv = ks_spawn(KEY, &note);
	int fds0 = proc_fd_count(srv);

	sock = raw_hello(&h);
	n = wire_encode_hello(buf, sizeof(buf), &h);
	send_expect_refuse(sock, buf, (size_t)n, IFACE_R_PROTOCOL);
	note_refused(note, IFACE_R_PROTOCOL);

	sock = raw_hello(&h);
	n = wire_encode_welcome(buf, sizeof(buf), &w);
	ck_assert_int_gt(n, 0);
	send_expect_refuse(sock, buf, (size_t)n, IFACE_R_PROTOCOL);
	note_refused(note, IFACE_R_PROTOCOL);

	/* JOIN twice */
	sock = raw_hello(&h);
	j = fresh_join();
	n = proved_join(k, AUTH_CLIENT, &h, &j, &t, buf);
	ck_assert_int_eq(fdpass_send(sock, buf, (size_t)n, NULL, 0, 1000), n);
	ck_assert_int_eq(t_raw_recv(sock, &m, &nfds, 5000), 0);
	ck_assert_uint_eq(m.type, WIRE_WELCOME);
	note_expect(note, 0);
	ck_assert_int_eq(fdpass_send(sock, buf, (size_t)n, NULL, 0, 1000), n);
	ck_assert_int_eq(t_raw_recv(sock, &m, NULL, 5000), 0);
	ck_assert_uint_eq(m.type, WIRE_BYE);
	ck_assert_uint_eq(m.u.reason.code, IFACE_R_PROTOCOL);
	ck_assert_int_eq(t_raw_recv(sock, &m, NULL, 5000), -EPIPE);
	close(sock);
	note_expect(note, IFACE_R_PROTOCOL); /* on_disconnect */

	good_client(KEY, note);
	ck_assert_int_eq(proc_fd_count(srv), fds0);
	ks_stop(srv, note);
	auth_key_free(k);
}
END_TEST

/* ---- a fake keyed server ---------------------------------------------------- */

/* Offsets (in the datagram) and sizes of WELCOME's fields. */
static const struct {
	unsigned off, size;
} welcome_fields[] = {
	{ 16, 4 },  { 20, 4 },  { 24, 4 },  { 28, 4 }, { 32, 8 },
	{ 40, 16 }, { 56, 32 }, { 88, 32 },
};
#define NWF (int)(sizeof(welcome_fields) / sizeof(welcome_fields[0]))

/* Accept one client, answer its JOIN with a WELCOME proved by key over
 * real rings, with bit b (see field_bit) of field f flipped (f < 0: none;
 * f == NWF: no proof at all). ok: the client is expected to accept it. Exit 0 when the
 * client answered as expected (BYE CLOSED after a good connect, BYE KEY or
 * PROTOCOL when it refused) and hung up. */
static int fake_server(struct fdpass_listener *l, const uint8_t *key, int f,
		       unsigned b, int ok)
{
	struct wire_hello hello = { .features = WIRE_FEAT_KEY, .max_fds = 8,
				    .elem_size = T_ELEM };
	struct wire_welcome w = { .elem_size = T_ELEM, .capacity_c2s = 64,
				  .capacity_s2c = 64, .conn_id = 9 };
	struct ipcq_config qc = { .elem_size = T_ELEM, .capacity = 64 };
	struct auth_key *k = NULL;
	struct auth_transcript t;
	unsigned char buf[WIRE_MAX_MSG];
	uint8_t th[AUTH_HASH_SIZE];
	struct ipcq *rx, *tx;
	struct wire_msg m;
	int fds[2 * IPCQ_NFDS], s, n;

	if (auth_key_from_mem(&k, key, AUTH_KEY_SIZE) < 0 ||
	    auth_random(hello.nonce, sizeof(hello.nonce)) < 0 ||
	    auth_random(w.session_token, sizeof(w.session_token)) < 0)
		return 1;
	if (ipcq_create(&rx, &qc, IPCQ_CONSUMER) < 0 ||
	    ipcq_create(&tx, &qc, IPCQ_PRODUCER) < 0 ||
	    ipcq_export(rx, fds) < 0 || ipcq_export(tx, fds + IPCQ_NFDS) < 0)
		return 2;
	s = fdpass_accept(l, 0, 5000);
	if (s < 0)
		return 3;
	n = wire_encode_hello(buf, sizeof(buf), &hello);
	if (fdpass_send(s, buf, (size_t)n, NULL, 0, 1000) != n ||
	    auth_transcript_init(&t) < 0 ||
	    auth_transcript_add(&t, buf, (size_t)n) < 0)
		return 4;
	if (t_raw_recv(s, &m, NULL, 5000) != 0 || m.type != WIRE_JOIN)
		return 5;
	memset(m.u.join.proof, 0, sizeof(m.u.join.proof));
	n = wire_encode_join(buf, sizeof(buf), &m.u.join);
	if (n < 0 || auth_transcript_add(&t, buf, (size_t)n) < 0)
		return 6;
	if (f != NWF) {
		w.flags |= WIRE_WELCOME_PROOF;
		n = wire_encode_welcome(buf, sizeof(buf), &w);
		if (n < 0 || auth_transcript_add(&t, buf, (size_t)n) < 0 ||
		    auth_transcript_hash(&t, th) < 0 ||
		    auth_proof(k, AUTH_SERVER, hello.nonce, m.u.join.nonce, th,
			       w.proof) < 0)
			return 7;
	}
	n = wire_encode_welcome(buf, sizeof(buf), &w);
	if (n < 0)
		return 8;
	if (f >= 0 && f < NWF) {
		unsigned bit = welcome_fields[f].off * 8 +
			       field_bit(welcome_fields[f].size, b);

		buf[bit / 8] ^= (unsigned char)(1u << (bit % 8));
	}
	if (fdpass_send(s, buf, (size_t)n, fds, 2 * IPCQ_NFDS, 1000) != n)
		return 10;
	/* the client's answer: BYE CLOSED after a good connect; BYE KEY when
	 * it refused our proof, or nothing when the WELCOME did not decode;
	 * then the end of the socket */
	n = t_raw_recv(s, &m, NULL, 5000);
	if (ok && (n != 0 || m.type != WIRE_BYE ||
		   m.u.reason.code != IFACE_R_CLOSED))
		return 11;
	if (!ok && n == 0 &&
	    (m.type != WIRE_BYE || m.u.reason.code != IFACE_R_KEY))
		return 12;
	if (n == 0 && t_raw_recv(s, &m, NULL, 5000) != -EPIPE)
		return 13;
	if (n != 0 && (ok || n != -EPIPE))
		return 14;
	close(s);
	ipcq_close(rx);
	ipcq_close(tx);
	auth_key_free(k);
	return 0;
}

/*
 * The client checks the server's proof before it touches the rings: a fake
 * server with the key that flips one bit of each WELCOME field after
 * proving, or sends no proof, or proves with another key, is refused
 * (-EACCES with IFACE_R_KEY, or -EPROTO where the flipped WELCOME no
 * longer decodes), the client closes every fd it was sent and keeps none.
 * The same fake server unflipped is accepted (the control).
 */
START_TEST(test_key_server_proof)
{
	struct fdpass_listen_opts lo = { .type = SOCK_SEQPACKET };
	struct iface_client_config cc = { .path = t_path, .timeout_ms = 5000,
					  .elem_size = T_ELEM };
	struct fdpass_listener *l;

	cc.key = KEY;
	cc.key_len = sizeof(KEY);
	ck_assert_int_eq(fdpass_listen(&l, t_path, &lo), 0);
	/* f -1: the control; 0..NWF-1: a field, three bits each; NWF: no
	 * proof; NWF + 1: proved with another key */
	for (int i = -1; i <= 3 * NWF + 1; i++) {
		int f = i < 0 ? -1 : i < 3 * NWF ? i / 3 : NWF + (i - 3 * NWF);
		unsigned b = i < 0 ? 0 : (unsigned)i % 3;
		struct iface_client *c = NULL;
		struct iface_reason why;
		int nfd = tu_fd_count(), r;
		int other = f == NWF + 1;
		pid_t pid = t_fork();

		if (pid == 0)
			_exit(fake_server(l, other ? OTHER : KEY,
					  other ? -1 : f, b, f < 0));
		r = iface_client_connect(&c, &cc, &why);
		if (f < 0) {
			ck_assert_msg(r == 0, "control: %d (%s)", r, why.text);
			iface_client_close(c);
		} else {
			ck_assert_msg(r == -EACCES || r == -EPROTO,
				      "field %d bit %u: connect gave %d (%s)",
				      f, b, r, why.text);
			ck_assert_ptr_null(c);
			ck_assert_uint_eq(why.code, r == -EACCES
							    ? IFACE_R_KEY
							    : IFACE_R_PROTOCOL);
		}
		ck_assert_int_eq(tu_fd_count(), nfd);
		r = tu_wait(pid);
		ck_assert_msg(r == 0, "field %d bit %u: fake server %d", f, b,
			      r);
	}
	fdpass_listener_close(l);
}
END_TEST

/* ---- key files --------------------------------------------------------------- */

static char *key_file(const char *name, const char *text, size_t len,
		      mode_t mode)
{
	char *p;
	int fd;

	ck_assert_int_gt(asprintf(&p, "%s/%s", t_dir, name), 0);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, len), (ssize_t)len);
	ck_assert_int_eq(fchmod(fd, mode), 0);
	close(fd);
	return p;
}

static int try_server(const char *file, const void *key, size_t len)
{
	struct iface_server_config cfg = { .path = t_path };
	struct iface_server *s = NULL;
	int r;

	cfg.key_file = file;
	cfg.key = key;
	cfg.key_len = len;
	r = iface_server_create(&s, &cfg);
	if (r == 0)
		iface_server_destroy(s);
	else
		ck_assert_ptr_null(s);
	return r;
}

static int try_client(const char *file, const void *key, size_t len)
{
	struct iface_client_config cfg = { .path = t_path, .timeout_ms = 100 };
	struct iface_client *c = NULL;
	struct iface_reason why;
	int r;

	cfg.key_file = file;
	cfg.key = key;
	cfg.key_len = len;
	r = iface_client_connect(&c, &cfg, &why);
	ck_assert_ptr_null(c);
	return r;
}

#define HEX "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"

/*
 * Key configs refused at create / connect, before any socket: a key file
 * of mode 0644 (-EACCES), of another owner when run as root (-EACCES),
 * 31 bytes or 65 hex digits (-EINVAL), missing (-ENOENT); an in-memory key
 * of 31 bytes, and key and key_file both (-EINVAL). A good 0600 file
 * works: the server is created, and a client with the same key file gets
 * past its key to the connect (no server: -ENOENT).
 */
START_TEST(test_key_files)
{
	char *good = key_file("good", HEX "\n", 65, 0600);
	char *wide = key_file("wide", HEX "\n", 65, 0644);
	char *shrt = key_file("short", HEX, 62, 0600);
	char *lng = key_file("long", HEX "0", 65, 0600);
	char *missing = NULL;

	ck_assert_int_gt(asprintf(&missing, "%s/none", t_dir), 0);
	ck_assert_int_eq(try_server(good, NULL, 0), 0);
	ck_assert_int_eq(try_server(wide, NULL, 0), -EACCES);
	ck_assert_int_eq(try_server(shrt, NULL, 0), -EINVAL);
	ck_assert_int_eq(try_server(lng, NULL, 0), -EINVAL);
	ck_assert_int_eq(try_server(missing, NULL, 0), -ENOENT);
	ck_assert_int_eq(try_server(NULL, KEY, 31), -EINVAL);
	ck_assert_int_eq(try_server(good, KEY, sizeof(KEY)), -EINVAL);
	ck_assert_int_eq(access(t_path, F_OK), -1); /* none left a socket */

	ck_assert_int_eq(try_client(good, NULL, 0), -ENOENT);
	ck_assert_int_eq(try_client(wide, NULL, 0), -EACCES);
	ck_assert_int_eq(try_client(shrt, NULL, 0), -EINVAL);
	ck_assert_int_eq(try_client(NULL, KEY, 31), -EINVAL);
	ck_assert_int_eq(try_client(good, KEY, sizeof(KEY)), -EINVAL);

	if (geteuid() == 0) {
		ck_assert_int_eq(chown(good, 65534, 65534), 0);
		ck_assert_int_eq(try_server(good, NULL, 0), -EACCES);
		ck_assert_int_eq(try_client(good, NULL, 0), -EACCES);
	} else {
		fprintf(stderr, "test_key_files: not root, other owner "
				"not tried\n");
	}
	free(good);
	free(wide);
	free(shrt);
	free(lng);
	free(missing);
}
END_TEST

/* ---- the examples with --key-file ------------------------------------------ */

#define A(lit) ((char *)(uintptr_t)(lit))

/* Run argv with stdout to out and stderr to err (-1: /dev/null). */
static pid_t spawn_out(char *const argv[], int out, int err)
{
	pid_t pid = t_fork();

	if (pid == 0) {
		int null = open("/dev/null", O_RDWR | O_CLOEXEC);

		if (null < 0 || dup2(null, STDIN_FILENO) < 0 ||
		    dup2(out >= 0 ? out : null, STDOUT_FILENO) < 0 ||
		    dup2(err >= 0 ? err : null, STDERR_FILENO) < 0)
			_exit(126);
		execv(argv[0], argv);
		_exit(127);
	}
	return pid;
}

/* Run ipc-client with extra args; its exit status, its stderr in err. */
static int run_client(char *bin, const char *file, char *err, size_t cap)
{
	char *argv[] = { bin,	      A("--socket"),   t_path, A("--count"),
			 A("2000"),   A("--quiet"),    NULL, NULL,
			 NULL };
	int e[2], st;
	size_t n = 0;
	pid_t pid;

	if (file) {
		argv[6] = A("--key-file");
		argv[7] = (char *)(uintptr_t)file;
	}
	t_pipe(e);
	pid = spawn_out(argv, -1, e[1]);
	close(e[1]);
	for (;;) {
		ssize_t r = read(e[0], err + n, cap - 1 - n);

		if (r < 0 && errno == EINTR)
			continue;
		ck_assert_int_ge(r, 0);
		if (r == 0)
			break;
		n += (size_t)r;
		ck_assert_uint_lt(n, cap - 1);
	}
	err[n] = '\0';
	close(e[0]);
	st = tu_wait(pid);
	return st;
}

/*
 * ipc-server --key-file and ipc-client --key-file as programs: the same
 * key file (hex) works (exit 0); a client with another key (raw bytes) or
 * none exits 1 saying "key refused", and for each the server prints one
 * "refused" line naming the key; SIGTERM ends the server with status 0.
 */
START_TEST(test_key_examples)
{
	char *srv_bin = tu_build_file("examples/ipc-server");
	char *cl_bin = tu_build_file("examples/ipc-client");
	char *good = key_file("key", HEX "\n", 65, 0600);
	char *other = key_file("other", (const char *)OTHER, sizeof(OTHER),
			       0600);
	char *sargv[] = { srv_bin,    A("--socket"), t_path,   A("--key-file"),
			  good,	      A("--quiet"),  NULL };
	char line[512], err[1024];
	int out[2];
	pid_t srv;

	t_pipe(out);
	srv = spawn_out(sargv, out[1], -1);
	close(out[1]);
	t_read_line(out[0], line, sizeof(line));
	ck_assert_msg(strncmp(line, "ready ", 6) == 0, "server said '%s'",
		      line);

	ck_assert_int_eq(run_client(cl_bin, good, err, sizeof(err)), 0);

	ck_assert_int_eq(run_client(cl_bin, other, err, sizeof(err)), 1);
	ck_assert_msg(strstr(err, "key refused") != NULL, "client: '%s'", err);
	t_read_line(out[0], line, sizeof(line));
	ck_assert_msg(strncmp(line, "refused ", 8) == 0 &&
			      strstr(line, "key refused") != NULL,
		      "server: '%s'", line);

	ck_assert_int_eq(run_client(cl_bin, NULL, err, sizeof(err)), 1);
	ck_assert_msg(strstr(err, "key refused") != NULL, "client: '%s'", err);
	t_read_line(out[0], line, sizeof(line));
	ck_assert_msg(strncmp(line, "refused ", 8) == 0 &&
			      strstr(line, "key refused") != NULL,
		      "server: '%s'", line);

	ck_assert_int_eq(kill(srv, SIGTERM), 0);
	ck_assert_int_eq(tu_wait(srv), 0);
	t_read_line(out[0], line, sizeof(line));
	ck_assert_msg(strstr(line, "refused=2") != NULL, "summary: '%s'",
		      line);
	close(out[0]);
	free(srv_bin);
	free(cl_bin);
	free(good);
	free(other);
}
END_TEST

static Suite *key_suite(void)
{
	Suite *s = suite_create("iface-key");
	TCase *tc = t_tcase("keys", 60);

	memcpy(OTHER, KEY, sizeof(OTHER));
	OTHER[IFACE_KEY_SIZE - 1] ^= 0x80;
	tcase_add_test(tc, test_key_good);
	tcase_add_test(tc, test_key_wrong_and_missing);
	tcase_add_test(tc, test_key_server_has_none);
	tcase_add_test(tc, test_key_files);
	tcase_add_test(tc, test_key_examples);
	suite_add_tcase(s, tc);
	tc = t_tcase("hostile", 60);
	tcase_add_test(tc, test_key_replay);
	tcase_add_test(tc, test_key_reflection);
	tcase_add_test(tc, test_key_bit_flips_and_lengths);
	tcase_add_test(tc, test_key_out_of_order);
	tcase_add_test(tc, test_key_server_proof);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(key_suite());

	srunner_set_fork_status(sr, CK_FORK);
	return tu_run(sr);
}

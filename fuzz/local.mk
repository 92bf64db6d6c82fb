# fuzz/: libFuzzer targets (configure CC=clang --enable-fuzzing; run them with
# scripts/fuzz). Each target reads its whole input as one hostile peer's
# bytes; fuzz/corpus/TARGET/ holds the seeds fuzz/gen_corpus writes.
#
#   fuzz_wire         wire_decode(): message bytes + number of fds + flags;
#                     and the key's proof check on what it accepts
#   fuzz_ipcq_header  the ring attach validator: seals, file size, header
#                     bytes and the attacher's expectations
#   fuzz_ipcq_ring    a consumer (and a producer) over a mapping whose
#                     indices, seqs, lengths and payload the input writes,
#                     before and between every call
#
# The queue targets call libipcq's private checks, so they link its static
# archive (libtool -static): hidden symbols resolve inside one executable.
EXTRA_DIST += fuzz/corpus fuzz/regress

if ENABLE_FUZZING
noinst_PROGRAMS += fuzz/fuzz_wire fuzz/fuzz_ipcq_header fuzz/fuzz_ipcq_ring

# fuzz_wire also checks proofs (iface/proof.c, compiled in: libiface hides it)
fuzz_fuzz_wire_SOURCES = fuzz/fuzz_wire.c fuzz/fuzz-input.h iface/proof.c
fuzz_fuzz_wire_CFLAGS = $(AM_CFLAGS) $(SODIUM_CFLAGS)
fuzz_fuzz_wire_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_LDFLAGS)
fuzz_fuzz_wire_LDADD = iface/libifacewire.la iface/libifaceauth.la \
	$(SODIUM_LIBS)

fuzz_fuzz_ipcq_header_SOURCES = fuzz/fuzz_ipcq_header.c fuzz/fuzz-input.h
fuzz_fuzz_ipcq_header_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_LDFLAGS) -static
fuzz_fuzz_ipcq_header_LDADD = queue/libipcq.la

fuzz_fuzz_ipcq_ring_SOURCES = fuzz/fuzz_ipcq_ring.c fuzz/fuzz-input.h
fuzz_fuzz_ipcq_ring_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_LDFLAGS) -static
fuzz_fuzz_ipcq_ring_LDADD = queue/libipcq.la
endif

# The seed generator: a plain program built by every configuration (it is
# small) and run by scripts/fuzz --regen-corpus.
noinst_PROGRAMS += fuzz/gen_corpus
fuzz_gen_corpus_SOURCES = fuzz/gen_corpus.c fuzz/fuzz-input.h iface/proof.c
fuzz_gen_corpus_CFLAGS = $(AM_CFLAGS) $(SODIUM_CFLAGS)
fuzz_gen_corpus_LDADD = iface/libifacewire.la iface/libifaceauth.la \
	queue/libipcq.la $(SODIUM_LIBS)

# The same targets' entry points, compiled by the ordinary build, replay the
# committed seeds and regressions in make check (no clang needed). Each
# target is a convenience library whose entry point gets its own name.
if HAVE_CHECK
FZ_REPLAY_CFLAGS = $(TEST_CFLAGS) -I$(top_srcdir)/fuzz
check_LTLIBRARIES += fuzz/libreplay_wire.la fuzz/libreplay_ipcq_header.la \
	fuzz/libreplay_ipcq_ring.la
fuzz_libreplay_wire_la_SOURCES = fuzz/fuzz_wire.c fuzz/fuzz-input.h \
	iface/proof.c
fuzz_libreplay_wire_la_CFLAGS = $(FZ_REPLAY_CFLAGS) $(SODIUM_CFLAGS) \
	-DLLVMFuzzerTestOneInput=fz_replay_wire
fuzz_libreplay_ipcq_header_la_SOURCES = fuzz/fuzz_ipcq_header.c \
	fuzz/fuzz-input.h
fuzz_libreplay_ipcq_header_la_CFLAGS = $(FZ_REPLAY_CFLAGS) \
	-DLLVMFuzzerTestOneInput=fz_replay_ipcq_header
fuzz_libreplay_ipcq_ring_la_SOURCES = fuzz/fuzz_ipcq_ring.c fuzz/fuzz-input.h
fuzz_libreplay_ipcq_ring_la_CFLAGS = $(FZ_REPLAY_CFLAGS) \
	-DLLVMFuzzerTestOneInput=fz_replay_ipcq_ring

# (the binary lives in tests/ so that scripts/test counts its cases)
check_PROGRAMS += tests/fuzz_replay_test
TESTS += tests/fuzz_replay_test
tests_fuzz_replay_test_SOURCES = fuzz/replay_test.c fuzz/fuzz-input.h
tests_fuzz_replay_test_CFLAGS = $(FZ_REPLAY_CFLAGS) \
	-DFUZZ_SRCDIR='"$(abs_top_srcdir)"'
# -static: the queue targets call libipcq's hidden checks
tests_fuzz_replay_test_LDFLAGS = $(AM_LDFLAGS) -static
tests_fuzz_replay_test_LDADD = fuzz/libreplay_wire.la \
	fuzz/libreplay_ipcq_header.la fuzz/libreplay_ipcq_ring.la \
	iface/libifacewire.la iface/libifaceauth.la queue/libipcq.la \
	$(TEST_LIBS) $(SODIUM_LIBS)
endif

# fuzz/: libFuzzer targets (configure CC=clang --enable-fuzzing; run them with
# scripts/fuzz). Each target reads its whole input as one hostile peer's
# bytes; fuzz/corpus/TARGET/ holds the seeds fuzz/gen_corpus writes.
#
#   fuzz_wire         wire_decode(): message bytes + number of fds + flags
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

fuzz_fuzz_wire_SOURCES = fuzz/fuzz_wire.c fuzz/fuzz-input.h
fuzz_fuzz_wire_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_LDFLAGS)
fuzz_fuzz_wire_LDADD = iface/libifacewire.la

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
fuzz_gen_corpus_SOURCES = fuzz/gen_corpus.c fuzz/fuzz-input.h
fuzz_gen_corpus_LDADD = iface/libifacewire.la queue/libipcq.la

# tests/iface-key.mk: the key-authenticated handshake of libiface.
#   iface_key_test  keyed server and clients in real processes: right,
#                   wrong and missing keys both ways, replay, reflection,
#                   bit flips, cut / extended / reordered messages, a fake
#                   server's proof, key files refused at create
if HAVE_CHECK
check_PROGRAMS += tests/iface_key_test
TESTS += tests/iface_key_test

tests_iface_key_test_SOURCES = tests/iface_key_test.c tests/iface_util.h \
	tests/iface_util.c
tests_iface_key_test_CFLAGS = $(TEST_CFLAGS) $(SODIUM_CFLAGS)
tests_iface_key_test_LDADD = iface/libiface.la iface/libifacewire.la \
	iface/libifaceauth.la queue/libipcq.la fdpass/libfdpass.la $(TEST_LIBS) \
	$(SODIUM_LIBS)
endif

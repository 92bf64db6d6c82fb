# tests/iface-auth.mk: the keys and proofs of the handshake (iface/key.c).
#   iface_auth_test  key files, proofs, transcripts, the key's memory
if HAVE_CHECK
check_PROGRAMS += tests/iface_auth_test
TESTS += tests/iface_auth_test

tests_iface_auth_test_SOURCES = tests/iface_auth_test.c
tests_iface_auth_test_CFLAGS = $(TEST_CFLAGS) $(SODIUM_CFLAGS)
tests_iface_auth_test_LDADD = iface/libifaceauth.la $(TEST_LIBS) $(SODIUM_LIBS)
endif

# tests/ipcq.mk: the check suite of libipcq.
if HAVE_CHECK
check_PROGRAMS += tests/ipcq_test
TESTS += tests/ipcq_test

tests_ipcq_test_SOURCES = tests/ipcq_test.c tests/ipcq_util.h
tests_ipcq_test_CFLAGS = $(TEST_CFLAGS)
tests_ipcq_test_LDADD = queue/libipcq.la fdpass/libfdpass.la $(TEST_LIBS)
endif

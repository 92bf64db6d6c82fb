# tests/: one check binary per layer, plus multi-process tests.
# Each suite's fragment adds itself to check_PROGRAMS and TESTS.
if HAVE_CHECK
check_LTLIBRARIES += tests/libtestutil.la
tests_libtestutil_la_SOURCES = tests/testutil.h tests/testutil.c
tests_libtestutil_la_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_libtestutil_la_LIBADD = $(CHECK_LIBS)

TEST_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) -I$(top_srcdir)/tests
TEST_LIBS = tests/libtestutil.la $(CHECK_LIBS) $(PTHREAD_LIBS)
endif

include tests/fdpass.mk
include tests/ipcq.mk
include tests/iface.mk
include tests/ipcq-extra.mk
include tests/iface-auth.mk
include tests/iface-key.mk

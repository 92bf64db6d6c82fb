# tests/fdpass.mk: the check suite of libfdpass, and the small program it
# execs to see which descriptors survive exec.
if HAVE_CHECK
check_PROGRAMS += tests/fdpass_test tests/fdpass_cloexec_check
TESTS += tests/fdpass_test

tests_fdpass_test_SOURCES = tests/fdpass_test.c
tests_fdpass_test_CFLAGS = $(TEST_CFLAGS)
tests_fdpass_test_LDADD = fdpass/libfdpass.la $(TEST_LIBS)

tests_fdpass_cloexec_check_SOURCES = tests/fdpass_cloexec_check.c
tests_fdpass_cloexec_check_CFLAGS = $(AM_CFLAGS)
endif

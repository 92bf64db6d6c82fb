# tests/ipcq-extra.mk: libipcq under crashes, hostile peers and load.
#   ipcq_crash_test    a child dies at every failpoint (skips, exit 77,
#                      without --enable-failpoints)
#   ipcq_hostile_test  a second process rewrites the shared memory
#   ipcq_stress_test   two processes, over 10 million checked elements
if HAVE_CHECK
check_PROGRAMS += tests/ipcq_crash_test tests/ipcq_hostile_test \
	tests/ipcq_stress_test
TESTS += tests/ipcq_crash_test tests/ipcq_hostile_test tests/ipcq_stress_test
tests_ipcq_crash_test_SOURCES = tests/ipcq_crash_test.c tests/ipcq_extra.h
tests_ipcq_crash_test_CFLAGS = $(TEST_CFLAGS)
tests_ipcq_crash_test_LDADD = queue/libipcq.la fdpass/libfdpass.la $(TEST_LIBS)
tests_ipcq_hostile_test_SOURCES = tests/ipcq_hostile_test.c tests/ipcq_extra.h
tests_ipcq_hostile_test_CFLAGS = $(TEST_CFLAGS)
tests_ipcq_hostile_test_LDADD = queue/libipcq.la fdpass/libfdpass.la $(TEST_LIBS)
tests_ipcq_stress_test_SOURCES = tests/ipcq_stress_test.c tests/ipcq_extra.h
tests_ipcq_stress_test_CFLAGS = $(TEST_CFLAGS)
tests_ipcq_stress_test_LDADD = queue/libipcq.la fdpass/libfdpass.la $(TEST_LIBS)
endif

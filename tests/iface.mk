# tests/iface.mk: libiface's check suites.
#   iface_wire_test  the pure parsers of the control protocol (no I/O)
#   iface_test       server and clients in real processes: streams, crashes,
#                    refusals, hostile peers, signals, slow clients, batching
if HAVE_CHECK
check_PROGRAMS += tests/iface_wire_test tests/iface_test
TESTS += tests/iface_wire_test tests/iface_test

tests_iface_wire_test_SOURCES = tests/iface_wire_test.c
tests_iface_wire_test_CFLAGS = $(TEST_CFLAGS)
tests_iface_wire_test_LDADD = iface/libifacewire.la $(TEST_LIBS)

tests_iface_test_SOURCES = tests/iface_test.c tests/iface_util.h \
	tests/iface_util.c
tests_iface_test_CFLAGS = $(TEST_CFLAGS)
tests_iface_test_LDADD = iface/libiface.la iface/libifacewire.la \
	queue/libipcq.la fdpass/libfdpass.la $(TEST_LIBS)
endif

# examples_common_test  the examples' echo pattern (examples/common.c)
if HAVE_CHECK
check_PROGRAMS += tests/examples_common_test
TESTS += tests/examples_common_test

tests_examples_common_test_SOURCES = tests/examples_common_test.c \
	examples/common.h examples/common.c
tests_examples_common_test_CFLAGS = $(TEST_CFLAGS)
tests_examples_common_test_LDADD = $(TEST_LIBS)
endif

# iface_limits_test  credential policy, caps (memory, pending handshakes)
#                    and a connection flood, in real processes
if HAVE_CHECK
check_PROGRAMS += tests/iface_limits_test
TESTS += tests/iface_limits_test

tests_iface_limits_test_SOURCES = tests/iface_limits_test.c \
	tests/iface_util.h tests/iface_util.c tools/flood.h tools/flood.c
tests_iface_limits_test_CFLAGS = $(TEST_CFLAGS)
tests_iface_limits_test_LDADD = iface/libiface.la iface/libifacewire.la \
	queue/libipcq.la \
	fdpass/libfdpass.la $(TEST_LIBS)
endif

# iface_hostile_test  clients that rewrite their rings, resize or re-open
#                     their memfds, or send memfds, beside good clients
if HAVE_CHECK
check_PROGRAMS += tests/iface_hostile_test
TESTS += tests/iface_hostile_test

tests_iface_hostile_test_SOURCES = tests/iface_hostile_test.c \
	tests/iface_util.h tests/iface_util.c tools/hostile.h tools/hostile.c
tests_iface_hostile_test_CFLAGS = $(TEST_CFLAGS)
tests_iface_hostile_test_LDADD = iface/libiface.la iface/libifacewire.la \
	queue/libipcq.la fdpass/libfdpass.la $(TEST_LIBS)
endif

# iface_uid_test  a client of another uid refused before the handshake
#                 (root only; exits 77, a skip, otherwise)
if HAVE_CHECK
check_PROGRAMS += tests/iface_uid_test
TESTS += tests/iface_uid_test

tests_iface_uid_test_SOURCES = tests/iface_uid_test.c
tests_iface_uid_test_CFLAGS = $(TEST_CFLAGS)
tests_iface_uid_test_LDADD = iface/libiface.la iface/libifacewire.la \
	queue/libipcq.la fdpass/libfdpass.la $(TEST_LIBS)
endif

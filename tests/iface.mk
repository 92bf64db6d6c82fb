# tests/iface.mk: libiface's check suites.
#   iface_wire_test  the pure parsers of the control protocol (no I/O)
if HAVE_CHECK
check_PROGRAMS += tests/iface_wire_test
TESTS += tests/iface_wire_test

tests_iface_wire_test_SOURCES = tests/iface_wire_test.c
tests_iface_wire_test_CFLAGS = $(TEST_CFLAGS)
tests_iface_wire_test_LDADD = iface/libifacewire.la $(TEST_LIBS)
endif

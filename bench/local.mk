# bench/: memenpsf-bench, our rings beside the kernel's pipes, sockets,
# eventfd and message queues, each case between two exec'd processes.
bin_PROGRAMS += bench/memenpsf-bench

# The rows of each transport family live in one t-*.c file that registers
# itself; adding a family (libiface: t-iface.c) is one file on the
# BENCH_TRANSPORTS line and its library on BENCH_LIBS.
BENCH_CORE = \
	bench/bench.h bench/opts.c bench/stats.c bench/msg.c \
	bench/proc.h bench/proc.c bench/run.c bench/side.c bench/report.c \
	bench/sysinfo.c bench/transport.c
BENCH_TRANSPORTS = bench/t-floor.c bench/t-sock.c bench/t-mq.c bench/t-ipcq.c \
	bench/t-iface.c tools/spawn.h tools/spawn.c
BENCH_LIBS = iface/libiface.la queue/libipcq.la fdpass/libfdpass.la
EXTRA_DIST += bench/README.md

bench_memenpsf_bench_SOURCES = bench/main.c $(BENCH_CORE) $(BENCH_TRANSPORTS)
bench_memenpsf_bench_LDADD = $(BENCH_LIBS) -lrt -lm

# Its tests: the pure parts in process, the program as real processes.
if HAVE_CHECK
check_PROGRAMS += tests/check-bench
TESTS += tests/check-bench
tests_check_bench_SOURCES = bench/test-bench.c bench/bench.h bench/opts.c \
	bench/stats.c bench/msg.c bench/report.c bench/transport.c
tests_check_bench_CFLAGS = $(TEST_CFLAGS)
tests_check_bench_LDADD = $(TEST_LIBS) -lm
endif

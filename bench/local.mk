# bench/: memenpsf-bench, our rings beside the kernel's pipes, sockets,
# eventfd and message queues, each case between two exec'd processes.
bin_PROGRAMS += bench/memenpsf-bench

# The rows of each transport family live in one t-*.c file that registers
# itself; adding a family (libiface: t-iface.c) is one file and one line here.
BENCH_CORE = \
	bench/bench.h bench/main.c bench/opts.c bench/stats.c bench/msg.c \
	bench/proc.h bench/proc.c bench/run.c bench/side.c bench/report.c \
	bench/sysinfo.c bench/transport.c
BENCH_TRANSPORTS = bench/t-floor.c bench/t-sock.c bench/t-mq.c
BENCH_LIBS = fdpass/libfdpass.la

# libipcq rows: switched off until queue/libipcq.la exists.
BENCH_WITH_IPCQ = no
if_ipcq_yes_src = bench/t-ipcq.c
if_ipcq_yes_lib = queue/libipcq.la

bench_memenpsf_bench_SOURCES = $(BENCH_CORE) $(BENCH_TRANSPORTS)
nodist_EXTRA_bench_memenpsf_bench_SOURCES =
bench_memenpsf_bench_CFLAGS = $(AM_CFLAGS)
bench_memenpsf_bench_LDADD = $(BENCH_LIBS) -lrt -lm
EXTRA_DIST += bench/t-ipcq.c

# queue/: libipcq, rings of fixed-size elements in shared memory.
memenpsfinclude_HEADERS += queue/memenpsf/ipcq.h
pkgconfig_DATA += queue/ipcq.pc
DISTCLEANFILES += queue/ipcq.pc
EXTRA_DIST += queue/ipcq.pc.in

lib_LTLIBRARIES += queue/libipcq.la
queue_libipcq_la_SOURCES = \
	queue/layout.h queue/wire.h queue/failpoints.h \
	queue/ipcq-private.h \
	queue/os-private.h queue/os.c \
	queue/ring.c \
	queue/create.c \
	queue/path.c \
	queue/share.c \
	queue/wait.c \
	$(COMMON_SOURCES)
queue_libipcq_la_CFLAGS = $(LIB_CFLAGS) $(SODIUM_CFLAGS) \
	-DMEMENPSF_LIB_PREFIX=memenpsf_ipcq_
queue_libipcq_la_LDFLAGS = $(LIB_LDFLAGS) -version-info $(IPCQ_LT_VERSION)
queue_libipcq_la_LIBADD = fdpass/libfdpass.la $(SODIUM_LIBS)

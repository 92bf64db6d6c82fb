# fdpass/: libfdpass, descriptors over Unix sockets.
memenpsfinclude_HEADERS += fdpass/memenpsf/fdpass.h
pkgconfig_DATA += fdpass/fdpass.pc
DISTCLEANFILES += fdpass/fdpass.pc
EXTRA_DIST += fdpass/fdpass.pc.in

lib_LTLIBRARIES += fdpass/libfdpass.la
fdpass_libfdpass_la_SOURCES = \
	fdpass/fdpass-private.h fdpass/fdpass.c \
	fdpass/os-private.h fdpass/os.c \
	fdpass/msg.c \
	fdpass/socket.c \
	$(COMMON_SOURCES)
fdpass_libfdpass_la_CFLAGS = $(LIB_CFLAGS) -DMEMENPSF_LIB_PREFIX=memenpsf_fdpass_
fdpass_libfdpass_la_LDFLAGS = $(LIB_LDFLAGS) -version-info $(FDPASS_LT_VERSION)

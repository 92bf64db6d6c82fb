# iface/: libiface, a server and its clients over two rings each.
#
# The wire format (pure encoders/decoders) is a convenience library of its
# own so that the parser tests and a fuzz target link it without the rest.
noinst_LTLIBRARIES += iface/libifacewire.la
iface_libifacewire_la_SOURCES = iface/wire.h iface/wire.c
iface_libifacewire_la_CFLAGS = $(LIB_CFLAGS) -DMEMENPSF_LIB_PREFIX=memenpsf_iface_

memenpsfinclude_HEADERS += iface/memenpsf/iface.h
pkgconfig_DATA += iface/iface.pc
DISTCLEANFILES += iface/iface.pc
EXTRA_DIST += iface/iface.pc.in

lib_LTLIBRARIES += iface/libiface.la
iface_libiface_la_SOURCES = \
	iface/iface-private.h \
	iface/os.c \
	iface/path.c \
	iface/chan.c \
	iface/proof.c \
	iface/server.c \
	iface/client.c \
	$(COMMON_SOURCES)
iface_libiface_la_CFLAGS = $(LIB_CFLAGS) $(SODIUM_CFLAGS) \
	-DMEMENPSF_LIB_PREFIX=memenpsf_iface_
iface_libiface_la_LDFLAGS = $(LIB_LDFLAGS) -version-info $(IFACE_LT_VERSION)
iface_libiface_la_LIBADD = iface/libifacewire.la queue/libipcq.la \
	fdpass/libfdpass.la $(SODIUM_LIBS)

# Keys and proofs of the authenticated handshake (iface/auth.h): a
# convenience library of its own so that its unit tests link it alone.
noinst_LTLIBRARIES += iface/libifaceauth.la
iface_libifaceauth_la_SOURCES = iface/auth.h iface/key.c
iface_libifaceauth_la_CFLAGS = $(LIB_CFLAGS) $(SODIUM_CFLAGS) $(PTHREAD_CFLAGS) \
	-DMEMENPSF_LIB_PREFIX=memenpsf_iface_
iface_libifaceauth_la_LIBADD = $(SODIUM_LIBS) $(PTHREAD_LIBS)
iface_libiface_la_LIBADD += iface/libifaceauth.la

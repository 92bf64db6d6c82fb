# iface/: libiface, a server and its clients over two rings each.
#
# The wire format (pure encoders/decoders) is a convenience library of its
# own so that the parser tests and a fuzz target link it without the rest.
noinst_LTLIBRARIES += iface/libifacewire.la
iface_libifacewire_la_SOURCES = iface/wire.h iface/wire.c
iface_libifacewire_la_CFLAGS = $(LIB_CFLAGS)

# tools/: programs that measure what the tests only assert.
#   memenpsf-flood  a legitimate client's connect time with and without a
#                   connection flood (tools/flood.c, shared with
#                   tests/iface_limits_test)
noinst_PROGRAMS += tools/memenpsf-flood
tools_memenpsf_flood_SOURCES = tools/memenpsf-flood.c tools/flood.h \
	tools/flood.c tools/spawn.h tools/spawn.c
tools_memenpsf_flood_LDADD = iface/libiface.la iface/libifacewire.la \
	fdpass/libfdpass.la

#   memenpsf-hostile  8 good clients' throughput with and without a client
#                     that rewrites its rings (tools/hostile.c, shared with
#                     tests/iface_hostile_test)
noinst_PROGRAMS += tools/memenpsf-hostile
tools_memenpsf_hostile_SOURCES = tools/memenpsf-hostile.c tools/hostile.h \
	tools/hostile.c tools/spawn.h tools/spawn.c
tools_memenpsf_hostile_LDADD = iface/libiface.la iface/libifacewire.la \
	queue/libipcq.la fdpass/libfdpass.la

#   memenpsf-cost  one thread plays client and server: ns (or, under
#                  callgrind, instructions) per libiface round trip beside
#                  libipcq's, without cache-line transfers
noinst_PROGRAMS += tools/memenpsf-cost
tools_memenpsf_cost_SOURCES = tools/memenpsf-cost.c tools/spawn.h \
	tools/spawn.c
tools_memenpsf_cost_LDADD = iface/libiface.la queue/libipcq.la \
	fdpass/libfdpass.la $(PTHREAD_LIBS)

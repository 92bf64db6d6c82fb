# examples/iface.mk: ipc-server, ipc-client and friends (libiface)
bin_PROGRAMS += examples/ipc-server examples/ipc-client examples/ipc-typed \
	examples/ipc-poll
EXAMPLES_IFACE_COMMON = examples/common.h examples/common.c

examples_ipc_server_SOURCES = examples/ipc-server.c $(EXAMPLES_IFACE_COMMON)
examples_ipc_server_LDADD = iface/libiface.la

examples_ipc_client_SOURCES = examples/ipc-client.c $(EXAMPLES_IFACE_COMMON)
examples_ipc_client_LDADD = iface/libiface.la

examples_ipc_typed_SOURCES = examples/ipc-typed.c $(EXAMPLES_IFACE_COMMON)
examples_ipc_typed_LDADD = iface/libiface.la queue/libipcq.la

examples_ipc_poll_SOURCES = examples/ipc-poll.c $(EXAMPLES_IFACE_COMMON)
examples_ipc_poll_LDADD = iface/libiface.la

# examples/iface.mk: ipc-server, ipc-client and friends

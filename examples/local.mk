# examples/: programs a user copies from. Each family has its own fragment.
include examples/fdpass.mk
include examples/iface.mk

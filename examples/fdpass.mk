# examples/fdpass.mk: the fdpass demonstration (a memfd handed from one
# process to another; scripts/demo runs it until ipc-server/ipc-client land)
bin_PROGRAMS += examples/fdpass-demo
examples_fdpass_demo_SOURCES = examples/fdpass-demo.c
examples_fdpass_demo_LDADD = fdpass/libfdpass.la

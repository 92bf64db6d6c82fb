# examples/fdpass.mk: the fdpass demonstration

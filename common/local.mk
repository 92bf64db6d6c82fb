# common/: private helpers shared by the layers (never installed, except the
# export macros header that every public header includes).
memenpsfinclude_HEADERS += common/memenpsf/memenpsf-common.h

noinst_LTLIBRARIES += common/libcommon.la
common_libcommon_la_SOURCES = \
	common/compiler.h \
	common/deadline.h common/deadline.c \
	common/failpoint.h common/failpoint.c
common_libcommon_la_CFLAGS = $(LIB_CFLAGS)

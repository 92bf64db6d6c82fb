# common/: private helpers shared by the layers (never installed, except the
# export macros header that every public header includes).
memenpsfinclude_HEADERS += common/memenpsf/memenpsf-common.h

# Compiled into each library, under the library's own names (names.h).
COMMON_SOURCES = \
	common/compiler.h common/names.h \
	common/deadline.h common/deadline.c \
	common/failpoint.h common/failpoint.c

#!/bin/sh
# A program built with the public headers calls the libraries through the
# GOT, not through a PLT stub: MEMENPSF_API carries GCC's noplt
# (common/memenpsf/memenpsf-common.h). On a Zen 5 VM one PLT stub in a loop
# that polls a ring cost about 160 ns of a 660 ns round trip
# (bench/README.md, "The PLT stub"). Links a polling loop against the built
# libipcq.so and reads its relocations: ipcq_pop must have a GOT slot
# (GLOB_DAT) and no ipcq_ function a PLT slot (JUMP_SLOT). Without the
# attribute in the header the program gets JUMP_SLOT relocations and this
# fails. Skipped where the compiler has no noplt (clang) or no shared
# library was built.
#
# Environment (from make check): MEMENPSF_BUILDDIR, MEMENPSF_SRCDIR, CC,
# MEMENPSF_LINK_LIBS.
set -u

b=${MEMENPSF_BUILDDIR:?}
s=${MEMENPSF_SRCDIR:?}
if [ ! -f "$b/queue/.libs/libipcq.so" ]; then
	echo "SKIP: no libipcq.so (configured with --disable-shared)"
	exit 77
fi
if ! command -v readelf > /dev/null 2>&1; then
	echo "SKIP: no readelf"
	exit 77
fi

tmp=$(mktemp -d) || exit 99
trap 'rm -rf "$tmp"' EXIT
inc="-I$s/common -I$s/fdpass -I$s/queue -I$s/iface"

cat > "$tmp/has.c" <<'EOF'
#if !defined(__has_attribute)
#error no __has_attribute
#elif !__has_attribute(noplt)
#error no noplt
#endif
int has_noplt;
EOF
if ! ${CC:-cc} -c -o "$tmp/has.o" "$tmp/has.c" 2> /dev/null; then
	echo "SKIP: ${CC:-cc} has no noplt attribute: calls go through the PLT"
	exit 77
fi

cat > "$tmp/poll.c" <<'EOF'
#include <errno.h>

#include <memenpsf/ipcq.h>

/* a consumer's polling loop, as an application writes it */
static int poll_one(struct ipcq *q, void *elem)
{
	int r;

	while ((r = ipcq_pop(q, elem)) == -EAGAIN)
		;
	return r;
}

int main(int argc, char **argv)
{
	struct ipcq_config cfg = { .elem_size = 8, .capacity = 4 };
	struct ipcq *q = NULL;
	char elem[8];
	int r = ipcq_create(&q, &cfg, IPCQ_CONSUMER);

	(void)argv;
	if (r == 0 && argc > 5) /* linked, never run */
		r = poll_one(q, elem);
	ipcq_close(q);
	return r == 0 ? 0 : 1;
}
EOF
# shellcheck disable=SC2086 # word lists
if ! ${CC:-cc} -O2 -fPIE -pie $inc -o "$tmp/poll" "$tmp/poll.c" \
	-L"$b/queue/.libs" -lipcq ${MEMENPSF_LINK_LIBS:-} 2> "$tmp/ld.err"; then
	echo "FAIL: the polling program does not link:"
	cat "$tmp/ld.err"
	exit 1
fi
readelf -rW "$tmp/poll" > "$tmp/rel" || exit 99
fail=0
if grep 'JUMP_SLOT' "$tmp/rel" | grep -q ' ipcq_'; then
	echo "FAIL: calls into libipcq go through the PLT:"
	grep 'JUMP_SLOT' "$tmp/rel" | grep ' ipcq_'
	fail=1
fi
if ! grep 'GLOB_DAT' "$tmp/rel" | grep -q ' ipcq_pop'; then
	echo "FAIL: no GOT slot for ipcq_pop:"
	grep ' ipcq_' "$tmp/rel"
	fail=1
fi
[ "$fail" = 0 ] && echo "PASS: ipcq_pop and the rest are called through the GOT"
exit "$fail"

#!/bin/sh
# The static archives: as built, the three link into one program (each
# library's copies of the shared internals have names of their own,
# common/names.h); as `make install` leaves them (scripts/localize-archive
# run on copies), each defines only its own API's names, and one program
# links all three while defining functions named as our internals are
# (os_close, mono_ns, deadline_start, wire_decode). Without names.h the
# first link failed with "multiple definition"; without the localizing step
# the second did.
#
# Environment (from make check): MEMENPSF_BUILDDIR, MEMENPSF_SRCDIR, CC,
# AR, OBJCOPY, MEMENPSF_LINK_LIBS (sodium, pthread, sanitizer flags).
set -u

b=${MEMENPSF_BUILDDIR:?}
s=${MEMENPSF_SRCDIR:?}
libs="fdpass/.libs/libfdpass.a queue/.libs/libipcq.a iface/.libs/libiface.a"
for l in $libs; do
	if [ ! -f "$b/$l" ]; then
		echo "SKIP: no $l (configured with --disable-static)"
		exit 77
	fi
done

tmp=$(mktemp -d) || exit 99
trap 'rm -rf "$tmp"' EXIT
for l in $libs; do
	cp "$b/$l" "$tmp/" || exit 99
done
fail=0
inc="-I$s/common -I$s/fdpass -I$s/queue -I$s/iface"

# the archives as built (internals still global, each under its library's
# names: common/names.h) link into one program: a --disable-shared build
# links its examples this way
cat > "$tmp/api.c" <<'EOF'
#include <memenpsf/fdpass.h>
#include <memenpsf/ipcq.h>
#include <memenpsf/iface.h>

int main(int argc, char **argv)
{
	struct ipcq_config cfg = { .elem_size = 8, .capacity = 4 };
	struct ipcq *q = NULL;
	int r = ipcq_create(&q, &cfg, IPCQ_PRODUCER);

	(void)argv;
	ipcq_close(q);
	if (argc > 5) { /* pulled in from the archives, never called */
		r += fdpass_peer_cred(-1, NULL);
		r += iface_server_create(NULL, NULL);
	}
	return r == 0 ? 0 : 1;
}
EOF
# shellcheck disable=SC2086 # word lists
if ! ${CC:-cc} $inc -o "$tmp/api" "$tmp/api.c" "$tmp/libiface.a" \
	"$tmp/libipcq.a" "$tmp/libfdpass.a" ${MEMENPSF_LINK_LIBS:-} \
	2> "$tmp/ld.err"; then
	echo "FAIL: the three archives as built do not link into one program:"
	grep -v -i warning "$tmp/ld.err" | grep -E 'error|multiple|undefined' | head -5
	fail=1
elif ! "$tmp/api"; then
	echo "FAIL: the program linked from the archives as built did not run"
	fail=1
fi

"$s/scripts/localize-archive" "$tmp"/*.a || fail=1

# nothing but the API is defined: fdpass_*, ipcq_*, iface_*
for a in "$tmp"/*.a; do
	extra=$(nm -g --defined-only "$a" | awk 'NF == 3 { print $3 }' |
		grep -v -E '^(fdpass|ipcq|iface)_' | grep -v -E '^__(asan|ubsan|odr_asan)')
	if [ -n "$extra" ]; then
		echo "FAIL: $(basename "$a") defines internal names:" $extra
		fail=1
	fi
	api=$(nm -g --defined-only "$a" | awk 'NF == 3 { print $3 }' | wc -l)
	if [ "$api" -lt 3 ]; then
		echo "FAIL: $(basename "$a") defines $api names: the API is gone"
		fail=1
	fi
done

cat > "$tmp/user.c" <<'EOF'
#include <stdint.h>
#include <stdio.h>
#include <memenpsf/fdpass.h>
#include <memenpsf/ipcq.h>
#include <memenpsf/iface.h>

/* a program's own functions, named as libraries' internals often are */
int os_close(int fd);
int os_close(int fd) { return fd; }
int64_t mono_ns(void);
int64_t mono_ns(void) { return 42; }
void deadline_start(void);
void deadline_start(void) {}
int wire_decode(void);
int wire_decode(void) { return 7; }

int main(void)
{
	struct ipcq_config cfg = { .elem_size = 64, .capacity = 8 };
	struct ipcq *q = NULL;
	int r = ipcq_create(&q, &cfg, IPCQ_PRODUCER);
	int ok = r == 0 && ipcq_push(q, "0123456789abcdef0123456789abcdef"
				     "0123456789abcdef0123456789abcdef") == 0 &&
		 ipcq_count(q) == 1;

	ipcq_close(q);
	/* pulled in from the archives, never called */
	if (ok && mono_ns() == 0) {
		r = fdpass_peer_cred(-1, NULL);
		r += iface_server_create(NULL, NULL);
		ok = r == 0;
	}
	printf("%s\n", ok && os_close(3) == 3 && wire_decode() == 7 ? "ok" : "bad");
	return ok ? 0 : 1;
}
EOF
# shellcheck disable=SC2086 # word lists
if ! ${CC:-cc} $inc -o "$tmp/user" "$tmp/user.c" "$tmp/libiface.a" "$tmp/libipcq.a" \
	"$tmp/libfdpass.a" ${MEMENPSF_LINK_LIBS:-} 2> "$tmp/ld.err"; then
	echo "FAIL: a program with all three archives does not link:"
	grep -v -i warning "$tmp/ld.err" | grep -E 'error|multiple|undefined' | head -5
	fail=1
elif [ "$("$tmp/user")" != ok ]; then
	echo "FAIL: the statically linked program did not run"
	fail=1
fi
[ "$fail" -eq 0 ] && echo "PASS: three archives, API only, linked into one program"
exit $fail

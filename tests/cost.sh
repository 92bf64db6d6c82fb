#!/bin/sh
# tools/memenpsf-cost runs: a few thousand one-thread round trips through
# libiface and through bare rings, every echo checked by the program (it
# exits non-zero on a lost or wrong message), and it prints both figures.
# No time is asserted. Environment (from make check): MEMENPSF_BUILDDIR.
set -u
b=${MEMENPSF_BUILDDIR:?}
out=$("$b/tools/memenpsf-cost" --count 5000 --repeat 3) || {
	echo "FAIL: memenpsf-cost exited with $?: $out"
	exit 1
}
case $out in
*"libiface "*" ns   libipcq "*" ns   libiface adds "*" ns"*"server dispatch "*" ns   client recv "*" ns   ipcq_pop "*" ns"*)
	echo "PASS: $out" ;;
*)
	echo "FAIL: unexpected output: $out"
	exit 1 ;;
esac
if "$b/tools/memenpsf-cost" --count 0 > /dev/null 2>&1; then
	echo "FAIL: --count 0 accepted"
	exit 1
fi

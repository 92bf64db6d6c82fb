#!/bin/sh
# Regenerate the build system. Needs autoconf, automake, libtool,
# autoconf-archive and pkg-config (scripts/test installs them).
set -e
cd "$(dirname "$0")"
mkdir -p m4
autoreconf --force --install --verbose >/dev/null
echo "autogen.sh: done; now run ./configure"

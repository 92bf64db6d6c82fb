# shellcheck shell=bash
# Shared by scripts/demo and scripts/test: make sure the machine has what the
# build needs, then configure and build into build/NAME.

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# Debian packages the build and the tests need.
MEMENPSF_PACKAGES=(build-essential autoconf automake libtool autoconf-archive
	pkg-config libsodium-dev check)

say() { printf '%s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

# Install whatever is missing; do nothing when all is there.
ensure_packages() {
	local missing=() p
	for p in "${MEMENPSF_PACKAGES[@]}" "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
			missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	say "installing: ${missing[*]}"
	local sudo=
	if [ "$(id -u)" -ne 0 ]; then
		command -v sudo >/dev/null || die "not root and no sudo: install ${missing[*]} by hand"
		sudo=sudo
	fi
	command -v apt-get >/dev/null || die "no apt-get: install ${missing[*]} by hand"
	export DEBIAN_FRONTEND=noninteractive
	$sudo apt-get update -qq >/dev/null || die "apt-get update failed"
	$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null ||
		die "apt-get install ${missing[*]} failed"
}

# Generate ./configure when it is missing or older than its inputs.
ensure_configure() {
	if [ ! -x "$top/configure" ] || [ "$top/configure.ac" -nt "$top/configure" ]; then
		say "running autogen.sh"
		"$top/autogen.sh" >/dev/null || die "autogen.sh failed"
	fi
}

# build NAME [configure options...]: configure (when the options changed) and
# make into $top/build/NAME. Prints the build directory.
build() {
	local name=$1; shift
	local dir="$top/build/$name" opts="$*"
	mkdir -p "$dir"
	if [ ! -f "$dir/Makefile" ] || [ "$(cat "$dir/.opts" 2>/dev/null)" != "$opts" ]; then
		say "configuring build/$name: ${opts:-(defaults)}"
		(cd "$dir" && "$top/configure" -q "$@" >/dev/null) ||
			die "configure failed (see build/$name/config.log)"
		printf '%s' "$opts" > "$dir/.opts"
	fi
	say "building build/$name"
	make -C "$dir" -j"$(nproc)" -s >/dev/null 2>"$dir/make.err" ||
		{ cat "$dir/make.err" >&2; die "build/$name failed to build"; }
	echo "$dir"
}

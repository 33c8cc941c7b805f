#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# make-sysroot.sh ARCH DIR: a target sysroot for cross-building otaroot for
# ARCH (arm64 or armhf) and running its tests under qemu-user: the -dev
# packages otaroot builds against and every library they need at run time,
# unpacked from the target's own Debian 12 .debs into DIR.
#
# Why not `dpkg --add-architecture` and `apt-get install libfoo-dev:ARCH`:
# co-installing -dev packages of two architectures needs the same version of
# each library for both, and the security mirror's index of one architecture
# can lag the host's for hours. A sysroot made from the target's own .debs
# has no such constraint and leaves the host's dpkg untouched.
#
# apt resolves the packages with a private state (DIR.apt/: its own index of
# ARCH, an empty dpkg status, its own download cache), from the archives that
# serve the host's libc6, verified with the host's apt keys. Each .deb is
# unpacked with dpkg-deb -x, and absolute symlinks are made relative so that
# they resolve inside DIR.
#
# The sysroot is built in DIR.new and renamed to DIR when complete: DIR is
# whole or absent. Downloads are retried; when they still fail the script
# names what failed and exits 1. DIR/.stamp records the recipe; a DIR with
# the same recipe is reused as it is (delete DIR to refresh it).
set -euo pipefail
# apt-get, apt-cache and dpkg-deb: Debian "required" packages, on every system.

ME=make-sysroot
die() { printf '%s: error: %s\n' "$ME" "$*" >&2; exit 1; }
[ $# -eq 2 ] || { echo "usage: $0 arm64|armhf DIR" >&2; exit 2; }
ARCH=$1
case $ARCH in
arm64) TRIPLET=aarch64-linux-gnu ;;
armhf) TRIPLET=arm-linux-gnueabihf ;;
*) die "unknown architecture '$ARCH' (arm64 or armhf)" ;;
esac
mkdir -p "$(dirname "$2")"
DIR=$(cd "$(dirname "$2")" && pwd -P)/$(basename "$2")

# What otaroot links against (CMakeLists.txt), with libc's own -dev.
PACKAGES=(libc6-dev libssl-dev libzstd-dev libcurl4-openssl-dev libjson-c-dev
	libblkid-dev libmount-dev libfdisk-dev libinih-dev)
# The static ota-init's C library (OTA_INIT_LIBC=musl): libc.a, crt files
# and musl-gcc.specs in usr/lib/<musl triplet>/, headers in
# usr/include/<musl triplet>/. Without what they depend on: musl-dev's
# Depends names the target's own gcc (for its musl-gcc wrapper), some
# 100 MB the cross gcc does not need.
MUSL_PACKAGES=(musl musl-dev)
RECIPE="3 $ARCH ${PACKAGES[*]} ${MUSL_PACKAGES[*]}"
# A sysroot made without an update suite (see below) is made again, to pick
# the suite up once the mirror serves it.
if [ -f "$DIR/.stamp" ] && [ "$(cat "$DIR/.stamp")" = "$RECIPE" ]; then
	echo "$ME: $DIR is up to date ($ARCH; delete it to refresh)"
	exit 0
fi

APTDIR=$DIR.apt
NEW=$DIR.new
LOG=$APTDIR/log
rm -rf -- "$NEW" "$APTDIR"
mkdir -p "$NEW"
trap 'rm -rf -- "$NEW"' EXIT
. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/foreign-apt.sh"
foreign_apt_setup "$ARCH" "$APTDIR" || die "apt-cache policy libc6 names no archive to take $ARCH packages from"
APT=(apt-get "${FOREIGN_APT_OPTS[@]}")

# tries CMD...: runs CMD up to three times, a pause between tries.
tries() {
	local try
	for try in 1 2 3; do
		printf '\n+ %s (try %s)\n' "$*" "$try" >>"$LOG"
		"$@" >>"$LOG" 2>&1 && return 0
		[ $try = 3 ] || sleep $((try * 10))
	done
	return 1
}

# attempt WHAT CMD...: tries CMD; when it still fails, says what failed and
# exits 1 with nothing installed.
attempt() {
	local what=$1
	shift
	tries "$@" || failed "$what"
}

failed() {
	echo "$ME: $1 failed three times; the archives tried:" >&2
	sed 's/^/  /' "$APTDIR/etc/sources.list" >&2
	echo "$ME: last lines of $LOG:" >&2
	tail -n 15 "$LOG" >&2
	echo "$ME: nothing was installed into $DIR; run again when the mirror answers" >&2
	exit 1
}

echo "$ME: $ARCH package index ($APTDIR/etc/sources.list)"
# The index of an update suite (bookworm-security, bookworm-updates) for one
# architecture can be broken for hours while the mirror syncs. Then the
# sysroot is made from the other suites, which resolve among themselves (no
# co-installation with the host's versions is needed), with a warning; the
# next run tries the full set again.
without=""
if ! tries "${APT[@]}" update; then
	broken=$(sed -n 's|^E: Failed to fetch .*/dists/\([^/]*\)/.*|\1|p' "$LOG" | sort -u)
	base=$(awk '{ print $4 }' "$APTDIR/etc/sources.list" | grep -v -- - | sort -u)
	for suite in $broken; do
		if grep -qx -- "$suite" <<<"$base" || [ "${suite#*-}" = "$suite" ]; then
			broken="" # the release itself: nothing to fall back to
			break
		fi
	done
	[ -n "$broken" ] || failed "apt-get update for $ARCH"
	for suite in $broken; do
		echo "$ME: warning: the $ARCH index of $suite cannot be fetched (mirror sync?): making the sysroot without $suite; the next run tries it again" >&2
		grep -v " $suite " "$APTDIR/etc/sources.list" >"$APTDIR/etc/sources.list.new" || true
		mv "$APTDIR/etc/sources.list.new" "$APTDIR/etc/sources.list"
		without+=" $suite"
	done
	attempt "apt-get update for $ARCH" "${APT[@]}" update
fi
# An update that fetched nothing usable still exits 0: check the index.
"${APT[@]}" install --print-uris -y "${PACKAGES[@]}" >>"$LOG" 2>&1 ||
	die "the $ARCH index lacks or cannot resolve ${PACKAGES[*]} (see $LOG)"
echo "$ME: downloading ${PACKAGES[*]} and what they depend on, for $ARCH"
attempt "downloading the $ARCH packages" "${APT[@]}" install --download-only -y "${PACKAGES[@]}"
echo "$ME: downloading ${MUSL_PACKAGES[*]} (not what they depend on), for $ARCH"
(cd "$APTDIR/archives" && tries "${APT[@]}" download "${MUSL_PACKAGES[@]}") ||
	failed "downloading ${MUSL_PACKAGES[*]} for $ARCH"

debs=("$APTDIR"/archives/*.deb)
[ -e "${debs[0]}" ] || die "apt downloaded no .deb for $ARCH (see $LOG)"
for deb in "${debs[@]}"; do
	dpkg-deb -x "$deb" "$NEW" || die "dpkg-deb -x $deb failed"
	dpkg-deb -W --showformat='${Package} ${Version}\n' "$deb" >>"$NEW/.packages"
done
# Absolute symlinks (libfoo.so -> /lib/TRIPLET/libfoo.so.1) would point at
# the build machine's files: make them relative to their place in the sysroot.
while IFS= read -r -d '' link; do
	target=$(readlink "$link")
	case $target in /*) ln -sfn "$(realpath -m --relative-to="$(dirname "$link")" "$NEW$target")" "$link" ;; esac
done < <(find "$NEW" -type l -print0)
[ -e "$NEW/usr/lib/$TRIPLET/libc.a" ] || die "the sysroot has no usr/lib/$TRIPLET/libc.a"
MUSL_TRIPLET=${TRIPLET/-linux-gnu/-linux-musl}
[ -e "$NEW/usr/lib/$MUSL_TRIPLET/musl-gcc.specs" ] || die "the sysroot has no usr/lib/$MUSL_TRIPLET/musl-gcc.specs"
[ -e "$NEW/usr/lib/$TRIPLET/pkgconfig/libcurl.pc" ] || die "the sysroot has no libcurl.pc"

{
	echo "$RECIPE"
	[ -z "$without" ] || echo "made without:$without"
} >"$NEW/.stamp"
if [ -f "$DIR/.packages" ] && cmp -s "$DIR/.packages" "$NEW/.packages"; then
	# The same packages: the files stay as they are (and with their times,
	# so a build against them is not redone).
	mv -- "$NEW/.stamp" "$DIR/.stamp"
	rm -rf -- "$NEW"
else
	rm -rf -- "$DIR"
	mv -- "$NEW" "$DIR"
fi
trap - EXIT
rm -rf -- "$APTDIR"
echo "$ME: $DIR: ${#debs[@]} packages for $ARCH, $(du -sm "$DIR" | cut -f1) MB"

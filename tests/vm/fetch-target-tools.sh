#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# fetch-target-tools.sh --arch arm64 CACHEDIR
#
# The file system programs the arm64 test image needs beside our own:
# mke2fs and mkfs.fat, which ota-part runs when ota-init provisions the disk
# at first boot, and e2fsck, which ota-init runs on a data partition that
# does not mount. Debian's arm64 e2fsprogs and dosfstools with the
# libraries they need that the cross build's sysroot lacks, from apt with a
# private state in CACHEDIR/apt (tools/foreign-apt.sh: the host's dpkg is
# not touched), unpacked into CACHEDIR/root for tests/vm/mkimage.sh
# --target-tools.
#
# Results:
#   CACHEDIR/root/          the unpacked packages (sbin/mke2fs, sbin/e2fsck,
#                           sbin/mkfs.fat, their libraries)
#   CACHEDIR/tools.stamp    cache key: package versions, recipe hash
# Needs root (apt-get download).
set -euo pipefail

PACKAGES=(e2fsprogs libext2fs2 libcom-err2 libss2 libblkid1 libuuid1 dosfstools)
PROGRAMS=(sbin/mke2fs sbin/e2fsck sbin/mkfs.fat)

die() { echo "fetch-target-tools: error: $*" >&2; exit 1; }
log() { echo "fetch-target-tools: $*" >&2; }

usage="usage: $0 --arch arm64 CACHEDIR"
if [ $# -ne 3 ] || [ "$1" != --arch ] || [ -z "$3" ]; then die "$usage"; fi
ARCH=$2
[ "$ARCH" = arm64 ] || die "unknown architecture '$ARCH' (arm64)"
mkdir -p "$3"
CACHEDIR=$(cd "$3" && pwd)
exec 9>"$CACHEDIR/.lock"
flock 9

. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../../tools/foreign-apt.sh"
foreign_apt_setup "$ARCH" "$CACHEDIR/apt" || die "apt-cache policy libc6 names no archive to take $ARCH packages from"

candidates() {
	local p v
	for p in "${PACKAGES[@]}"; do
		v=$(apt-cache "${FOREIGN_APT_OPTS[@]}" policy "$p" 2>/dev/null | awk '$1 == "Candidate:" { print $2; exit }')
		[ -n "$v" ] && [ "$v" != "(none)" ] || return 1
		printf '%s=%s\n' "$p" "$v"
	done
}
want=()
mapfile -t want < <(candidates) || true
if [ "${#want[@]}" -ne "${#PACKAGES[@]}" ]; then
	log "running apt-get update (private $ARCH index in $CACHEDIR/apt)"
	foreign_apt_update || die "apt-get update failed 3 times (private $ARCH index in $CACHEDIR/apt)"
	mapfile -t want < <(candidates) || true
	[ "${#want[@]}" -eq "${#PACKAGES[@]}" ] || die "the $ARCH index lacks one of ${PACKAGES[*]}"
fi

RECIPE=$(sha256sum "${BASH_SOURCE[0]}" | cut -c1-16)
stamp="$RECIPE ${want[*]}"
if [ "$(cat "$CACHEDIR/tools.stamp" 2>/dev/null)" = "$stamp" ]; then
	log "cached: ${want[*]}"
	exit 0
fi

log "downloading ${want[*]}"
rm -f "$CACHEDIR/tools.stamp"
foreign_apt_unpack "$CACHEDIR" "${want[@]}" || die "could not fetch ${want[*]}"
for p in "${PROGRAMS[@]}"; do
	[ -f "$CACHEDIR/root/$p" ] || die "no $p in ${want[*]}"
done
echo "$stamp" >"$CACHEDIR/tools.stamp"
log "${PROGRAMS[*]} for $ARCH in $CACHEDIR/root"

#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# bench/init-size.sh [BUILD_DIR...]: the stripped size of the static ota-init
# of each build, as installed in images (issue 19's target: at most 1 MiB,
# 1,048,576 bytes). Without arguments: build/, build-arm64/ and build-armhf/
# of this tree, those that hold an ota-init. One line per build: the
# architecture (from the ELF header), the C library it was linked with
# (OTA_INIT_LIBC in the build's CMake cache), the size as built and
# stripped (with the architecture's own strip), and the stripped size's
# share of 1 MiB. A size, not a test: nothing fails on a figure.
set -euo pipefail
. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../tools/need.sh"
need readelf strip
top=$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/..
if [ $# -eq 0 ]; then
	set --
	for d in build build-arm64 build-armhf; do
		[ -x "$top/$d/bin/ota-init" ] && set -- "$@" "$top/$d"
	done
	[ $# -gt 0 ] || { echo "init-size: no build of this tree holds bin/ota-init; name a BUILD_DIR" >&2; exit 1; }
fi

W=$(mktemp -d /tmp/init-size.XXXXXX)
trap 'rm -rf "$W"' EXIT
printf '%-8s %-6s %12s %12s %8s  %s\n' arch libc built stripped '/1MiB' build
for b in "$@"; do
	bin=$b/bin/ota-init
	[ -x "$bin" ] || { echo "init-size: $bin is not an executable" >&2; exit 1; }
	machine=$(readelf -hW "$bin" | sed -n 's/^ *Machine: *//p')
	case $machine in
	*X86-64*) arch=x86_64 strip=strip ;;
	*AArch64*) arch=arm64 strip=aarch64-linux-gnu-strip ;;
	ARM) arch=armhf strip=arm-linux-gnueabihf-strip ;;
	*) echo "init-size: $bin: unknown machine '$machine'" >&2; exit 1 ;;
	esac
	need "$strip"
	libc=$(sed -n 's/^OTA_INIT_LIBC:[A-Z]*=//p' "$b/CMakeCache.txt" 2>/dev/null || true)
	"$strip" -o "$W/ota-init" "$bin"
	built=$(stat -c %s "$bin")
	stripped=$(stat -c %s "$W/ota-init")
	printf '%-8s %-6s %12s %12s %7s%%  %s\n' "$arch" "${libc:-glibc}" "$built" "$stripped" \
		"$(awk -v s="$stripped" 'BEGIN { printf "%.1f", s * 100 / 1048576 }')" "$b"
done

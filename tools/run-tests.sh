#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# run-tests.sh [CTEST ARGS...]: installs what is missing (as root, Debian 12),
# checks that everything tools/deps.list names is present, builds otaroot
# into build/ and runs the whole test suite: unit, integration and VM tests.
# Then the cross builds for arm64 and armhf (build-arm64/, build-armhf/;
# cmake/toolchain-*.cmake) run their unit tests, fuzz replays and integration
# tests under qemu-user, labelled arm64 and armhf. Pass ctest arguments to
# narrow every build's run, e.g. `-L unit`, `-L armhf`, `-LE 'arm64|armhf'`.
#
# Slow cases that repeat a path a default case proves carry the ctest label
# "extended" and are left out unless the first argument is --extended
# (docs/building.md says what runs where).
#
# Afterwards it fails, naming them, if the tests left a loop device, a mount,
# a process or a file in /tmp or /var/tmp behind (tools/leftovers.py).
set -euo pipefail
cd "$(dirname "$0")/.."

SELECT=(-LE extended)
if [ "${1:-}" = --extended ]; then
	SELECT=()
	shift
fi

tools/deps.sh
tools/deps.sh --check
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)"
CROSS=(arm64 armhf)
for arch in "${CROSS[@]}"; do
	cmake -S . -B "build-$arch" -DCMAKE_TOOLCHAIN_FILE="cmake/toolchain-$arch.cmake" \
		-DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	cmake --build "build-$arch" -j"$(nproc)"
done

OTA_LEFTOVER_TAG=$(cat /proc/sys/kernel/random/uuid)
export OTA_LEFTOVER_TAG
snapshot=$(mktemp "${TMPDIR:-/tmp}/ota-leftovers.XXXXXX")
tools/leftovers.py snapshot "$snapshot"
rc=0
# Two at a time: the VM tests hold the lock "qemu" (one QEMU, one core under
# TCG), those on loop devices the lock "loop"; a unit or integration test runs
# on the other core beside a VM. crash.quick takes both cores (PROCESSORS 2).
(cd build && ctest --output-on-failure -j2 "${SELECT[@]}" "$@") || rc=$?
# The arm64 VM's fixtures make their bundles with the native ota-bundle (the
# format is the same everywhere; emulated, it takes minutes), the Raspberry
# Pi board's post-image its image with the native ota-image.
export OTA_HOST_OTA_BUNDLE=$PWD/build/bin/ota-bundle
export OTA_HOST_OTA_IMAGE=$PWD/build/bin/ota-image
# The emulated tests wait mostly on qemu, timers and servers: two at a time
# (those holding the loop lock one after the other; the arm64 VM's alone).
for arch in "${CROSS[@]}"; do
	(cd "build-$arch" && ctest --output-on-failure -j2 "${SELECT[@]}" "$@") || rc=$?
	# What was skipped and why (test.h's SKIP, the scripts' "skip" lines).
	grep -h '^skip \|skipped: ' "build-$arch/Testing/Temporary/LastTest.log" 2>/dev/null |
		sed "s/^/$arch: /" || true
done
left=0
tools/leftovers.py compare "$snapshot" || left=1
rm -f "$snapshot"
[ $rc != 0 ] && exit $rc
exit $left

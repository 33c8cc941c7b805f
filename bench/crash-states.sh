#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# crash-states.sh [--quick] [--build DIR] [CLASS...]: record-and-replay
# power-cut testing of every on-disk write (issue 16, docs/reliability.md).
# Makes the VM fixtures it needs when they are missing (the test kernel, the
# GRUB and U-Boot flows' disks and bundles), then runs tests/crash/crashstates.py: per
# operation class it prints the distinct crash states, how many were
# checked and the violations; exits 1 on any violation (or a canary class
# that found none). Without --quick every distinct state is checked (about
# 20 minutes on 2 cores, and about 40 more for provision's ~12,000); --quick
# checks a sample of 150 per class, as the ctest crash.quick does;
# --max-states N checks a uniform sample of N distinct states of a provision
# window that has more. Needs root (loop devices, mounts).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
build=$repo/build
args=()
while [ $# -gt 0 ]; do
	case $1 in
	--build) build=$(cd "$2" && pwd); shift 2 ;;
	-h | --help) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; exit 0 ;;
	*) args+=("$1"); shift ;;
	esac
done
[ -x "$build/bin/ota-init" ] && [ -x "$build/tests/ota-test-state-recover" ] ||
	{ echo "crash-states: build first (cmake -S $repo -B $build && cmake --build $build)" >&2; exit 1; }
[ -f "$build/vm/kernel/vmlinuz" ] || "$repo/tests/vm/fetch-kernel.sh" "$build/vm/kernel"
[ -f "$build/vm/grub/good.otab" ] || "$repo/tests/vm/mkflow-fixtures.sh" "$build" grub
[ -f "$build/vm/uboot/good.otab" ] || "$repo/tests/vm/mkflow-fixtures.sh" "$build" uboot
OTA_BUILD_DIR=$build exec python3 "$repo/tests/crash/crashstates.py" "${args[@]}"

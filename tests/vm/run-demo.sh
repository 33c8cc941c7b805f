#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# run-demo.sh BUILD_DIR: the demo's VM part (tools/demo.sh builds first):
# a throwaway signing CA, the version-1 disk image and the signed version-2
# update bundle made by ota-image from the demo's image description
# (tests/vm/demo-image.conf; docs/ota-image.md), then tests/vm/demo.py boots,
# updates and commits. Also run as the VM test vm.demo, so the README's demo
# stays true.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${1:?usage: run-demo.sh BUILD_DIR}" && pwd)
d=$build/vm/demo
say() { printf 'demo: %s\n' "$*"; }
rm -rf "$d"; mkdir -p "$d"
"$here/demo-pki.sh" "$d/pki"
cp "$here/demo-image.conf" "$d/image.conf"
# The roots of versions 1 and 2: the test system (BusyBox init, otaroot's
# programs, the test agent) with the VM tests' kernel (fetch-kernel.sh) in
# /boot, where ota-image's GRUB boot flow loads it.
for v in 1 2; do
	"$here/mkimage.sh" --bin-dir "$build/bin" --grub --kernel-dir "$build/vm/kernel" --root-dir "$d/root-v$v" \
		--version "$v" >/dev/null
done
# ota-image runs as root (the files keep root's owners; the demo runs as
# root); each command is shown as it runs.
img() {
	say "ota-image $*"
	"$build/bin/ota-image" "$@"
}
cd "$d"
# --data-dir: the boot-flow files of this tree (an installed ota-image has its own).
img build image.conf --rootfs root-v1 -o out --data-dir "$here/../../bootflow"
img bundle image.conf --rootfs root-v2 --system-version 2 -o update-v2.otab
# The image holds the ESP and system-a; the first boot appends system-b and
# data on whatever disk it is written to: here a 512 MiB disk file.
say "truncate -s 512M out/disk.img"
truncate -s 512M out/disk.img
rm -rf "$d/root-v1" "$d/root-v2"
OTA_BUILD_DIR=$build OTA_VM_IMAGE="$d/out/disk.img" OTA_DEMO_BUNDLE="$d/update-v2.otab" python3 "$here/demo.py"

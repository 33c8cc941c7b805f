#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# mkuboot-image.sh BUILD_DIR: the fixtures of vm.uboot.ota-image
# (tests/vm/test_uboot.py), in BUILD_DIR/vm/uboot-image: a disk image and an
# update made by ota-image (target uboot, docs/ota-image.md) from the test
# system, for Debian's qemu-x86 U-Boot.
#   disk.img    version 1: the FAT boot partition (boot.scr made by
#               ota-image, ota.env, ota.env.bak) and system-a, in a 512 MiB
#               file: the first boot appends system-b and data
#   good.otab   version 2, signed, by ota-image bundle
# The roots are the test system of mkimage.sh --root-dir --uboot (BusyBox,
# otaroot's programs, the VM tests' kernel and initramfs in /boot, the test
# agent), trusting pki/keyring.pem.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${1:?usage: mkuboot-image.sh BUILD_DIR}" && pwd)
d=$build/vm/uboot-image
rm -rf "$d"; mkdir -p "$d"
"$here/demo-pki.sh" "$d/pki" >/dev/null
for v in 1 2; do
	"$here/mkimage.sh" --bin-dir "$build/bin" --uboot --kernel-dir "$build/vm/kernel" --root-dir "$d/root-v$v" \
		--version "$v" >/dev/null
done
# The machine of vm.py's firmware "uboot": one virtio disk; a 30 s trial
# watchdog as the other uboot cases (cycle.update_and_commit checks it).
cat >"$d/image.conf" <<'CONF'
[image]
target = uboot
arch = amd64
slot-size = 128M
kernel-cmdline = console=ttyS0 panic=-1 no_timer_check
[uboot]
device = virtio 0
[init]
trial-watchdog = 30
[system]
compatible = otaroot-qemu-demo
version = 1
[update]
keyring = pki/keyring.pem
[sign]
key = pki/signer.key
cert = pki/signer.pem
CONF
img() { "$build/bin/ota-image" "$@" -q; }
img build "$d/image.conf" --rootfs "$d/root-v1" -o "$d/out" --data-dir "$here/../../bootflow"
img bundle "$d/image.conf" --rootfs "$d/root-v2" --system-version 2 -o "$d/good.otab"
mv "$d/out/disk.img" "$d/disk.img"
truncate -s 512M "$d/disk.img"
rm -rf "$d/out" "$d/root-v1" "$d/root-v2"
echo "mkuboot-image: done: $d"

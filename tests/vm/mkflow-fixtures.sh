#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# mkflow-fixtures.sh BUILD_DIR grub|uboot|uboot-file [--arch arm64]: fixtures of a boot
# flow's VM tests (tests/vm/test_grub.py, test_uboot.py), in BUILD_DIR/vm/<flow>.
# --arch arm64 (BUILD_DIR: the arm64 cross build): the arm64 VM's disk
# (mkimage.sh --arch arm64; uboot: native env mode in the flash), with the
# kernel of BUILD_DIR/vm/kernel-arm64, bundles made by the arm64 ota-bundle
# under qemu-user, or by OTA_HOST_OTA_BUNDLE when set (tools/run-tests.sh
# sets the native build's: the bundle format is the same on every
# architecture, and the emulated create takes minutes; the arm64 ota-bundle
# has its own tests under qemu-user). uboot-file (arm64 only; in BUILD_DIR/vm/uboot-file): the uboot
# flow in file mode, as on x86_64.
#   disk.img               grub: UEFI disk (ESP + system-a v1 + empty
#                          system-b + data); uboot: FAT boot partition (file
#                          mode) instead of the ESP; trusting pki/keyring.pem
#   good.otab              version 2, a working system
#   panic.otab             version 2 whose early userspace panics the kernel
#                          (sysrq 'c' from /sbin/ota-init)
#   init-exits.otab        version 2 whose real init exits at once (PID 1
#                          dies: the kernel panics)
#   hang.otab              version 2 whose real init hangs (only the trial
#                          watchdog that ota-init armed ends it)
#   degraded.otab          (grub) version 2 whose data partition cannot be found
#                          (ota-init's set-up degrades: a trial reboots)
set -euo pipefail
. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../../tools/need.sh"
need mkimage
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${1:?usage: mkflow-fixtures.sh BUILD_DIR grub|uboot}" && pwd)
flow=${2:?usage: mkflow-fixtures.sh BUILD_DIR grub|uboot}
case $flow in grub | uboot | uboot-file) ;; *) echo "mkflow-fixtures: unknown boot flow '$flow'" >&2; exit 2 ;; esac
d=$build/vm/$flow
kernel=$build/vm/kernel
arch_args=()
ota_bundle=$build/bin/ota-bundle
if [ "${3:-}" = --arch ]; then
	[ "${4:-}" = arm64 ] || { echo "mkflow-fixtures: unknown architecture '${4:-}' (arm64)" >&2; exit 2; }
	kernel=$build/vm/kernel-arm64
	arch_args=(--arch arm64 --busybox "$kernel/busybox")
	ota_bundle=${OTA_HOST_OTA_BUNDLE:-$build/emulated/ota-bundle}
fi
flow_args=(--"$flow")
if [ "$flow" = uboot-file ]; then
	[ ${#arch_args[@]} -gt 0 ] || { echo "mkflow-fixtures: uboot-file is for --arch arm64 (x86_64's uboot is file mode)" >&2; exit 2; }
	flow_args=(--uboot --uboot-env-mode file)
fi
rm -rf "$d"; mkdir -p "$d/extra/etc/ota"
"$here/demo-pki.sh" "$d/pki" >/dev/null
cp "$d/pki/keyring.pem" "$d/extra/etc/ota/keyring.pem"
# A 30 s trial watchdog: the hang case waits for it.
mk() { "$here/mkimage.sh" --bin-dir "$build/bin" "${arch_args[@]}" "${flow_args[@]}" --kernel-dir "$kernel" --trial-watchdog 30 "$@" >/dev/null; }
mk --out "$d/disk.img" --extra-root "$d/extra" --version 1

bundle() { # name, extra root dir, more mkimage arguments
	local name=$1 extra=$2
	shift 2
	mk --out "$d/$name.ext4" --extra-root "$extra" --version 2 --rootfs-only "$@"
	printf '[bundle]\ncompatible = otaroot-qemu-demo\nversion = 2\n[image.system]\nfile = %s.ext4\n' "$name" \
		>"$d/$name.ini"
	"$ota_bundle" create --key "$d/pki/signer.key" --cert "$d/pki/signer.pem" "$d/$name.ini" \
		"$d/$name.otab" >/dev/null
	rm -f "$d/$name.ext4"
}
broken() { # name, path in the root, script body
	local name=$1 path=$2 body=$3
	rm -rf "$d/extra-$name"; cp -a "$d/extra" "$d/extra-$name"
	mkdir -p "$(dirname "$d/extra-$name$path")"
	printf '#!/bin/sh\n%s\n' "$body" >"$d/extra-$name$path"
	chmod 0755 "$d/extra-$name$path"
	bundle "$name" "$d/extra-$name"
}
bundle good "$d/extra"
broken panic /sbin/ota-init 'mount -t proc proc /proc; echo "broken update: panicking the kernel" >/dev/console; echo c >/proc/sysrq-trigger'
broken init-exits /sbin/init 'echo "broken update: init exits" >/dev/console; exit 1'
broken hang /sbin/init 'echo "broken update: init hangs" >/dev/console; while :; do sleep 3600; done'
[ "${flow#uboot}" != "$flow" ] || bundle degraded "$d/extra" --data-device PARTLABEL=no-such-partition
echo "mkflow-fixtures: done: $d"

#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# run-demo.sh BUILD_DIR: the demo's VM part (tools/demo.sh builds first):
# a throwaway signing CA, a version-1 disk image trusting it, a signed
# version-2 update bundle, then tests/vm/demo.py boots, updates and commits.
# Also run as the VM test vm.demo, so the README's demo stays true.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${1:?usage: run-demo.sh BUILD_DIR}" && pwd)
d=$build/vm/demo
rm -rf "$d"; mkdir -p "$d/extra/etc/ota"
"$here/demo-pki.sh" "$d/pki"
cp "$d/pki/keyring.pem" "$d/extra/etc/ota/keyring.pem"
# A UEFI machine: OVMF starts GRUB from the ESP, GRUB's boot flow picks the
# group (docs/boot-flows.md); the kernel is the VM tests' (fetch-kernel.sh).
"$here/mkimage.sh" --bin-dir "$build/bin" --grub --kernel-dir "$build/vm/kernel" --out "$d/disk.img" \
	--extra-root "$d/extra" --version 1
"$here/mkimage.sh" --bin-dir "$build/bin" --grub --kernel-dir "$build/vm/kernel" --out "$d/system-v2.ext4" \
	--extra-root "$d/extra" --version 2 --rootfs-only
printf '[bundle]\ncompatible = otaroot-qemu-demo\nversion = 2\n[image.system]\nfile = system-v2.ext4\n' >"$d/bundle.ini"
"$build/bin/ota-bundle" create --key "$d/pki/signer.key" --cert "$d/pki/signer.pem" "$d/bundle.ini" "$d/update-v2.otab"
OTA_BUILD_DIR=$build OTA_VM_IMAGE="$d/disk.img" OTA_DEMO_BUNDLE="$d/update-v2.otab" python3 "$here/demo.py"

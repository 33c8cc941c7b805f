#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# mkboard-fixtures.sh BUILD_DIR: fixtures of the QEMU board's VM tests
# (tests/vm/test_board.py), in BUILD_DIR/vm/board-qemu-x86_64. The board's
# own post-build.sh and post-image.sh (board/qemu-x86_64/, which runs
# ota-image) make them, run the way Buildroot runs them, on real inputs:
#   TARGET_DIR   the VM test system (mkimage.sh --root-dir --grub): BusyBox,
#                this build's otaroot programs, Debian's kernel as
#                /boot/bzImage (BR2_LINUX_KERNEL_INSTALL_TARGET) and the test
#                initramfs; /etc/ota/ as the otaroot package installs it (the
#                board's system.conf and layout.conf, board/common/state.conf,
#                a demo-pki.sh keyring)
#   rootfs.tar   tar of TARGET_DIR, owned by root (BR2_TARGET_ROOTFS_TAR)
#   HOST_DIR/bin ota-image, ota-bundle and ota-grubenv of this build
#                (host-otaroot); ota-image builds GRUB from Debian's modules
# Results:
#   disk.img     version 1, ota-image's disk (esp + system-a)
#   update.otab  version 2, ota-image's signed bundle
set -euo pipefail
. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../../tools/need.sh"
need grub-mkimage /usr/lib/grub/x86_64-efi mke2fs mkfs.fat mcopy mkimage make
ME=mkboard-fixtures
die() { printf '%s: error: %s\n' "$ME" "$*" >&2; exit 1; }
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
build=$(cd "${1:?usage: mkboard-fixtures.sh BUILD_DIR}" && pwd)
bdir=$repo/board/qemu-x86_64
d=$build/vm/board-qemu-x86_64

rm -rf "$d"
mkdir -p "$d/extra/etc/ota" "$d/host/bin"
"$here/demo-pki.sh" "$d/pki" >/dev/null
cp "$bdir/system.conf" "$bdir/layout.conf" "$d/extra/etc/ota/"
cp "$repo/board/common/state.conf" "$d/extra/etc/ota/state.conf"
cp "$d/pki/keyring.pem" "$d/extra/etc/ota/keyring.pem"
"$here/mkimage.sh" --bin-dir "$build/bin" --root-dir "$d/target" --grub --kernel-dir "$build/vm/kernel" \
	--extra-root "$d/extra" >/dev/null
mv "$d/target/boot/vmlinuz" "$d/target/boot/bzImage"

ln -s "$build/bin/ota-image" "$build/bin/ota-bundle" "$build/bin/ota-grubenv" "$d/host/bin/"

export BR2_EXTERNAL_OTAROOT_PATH=$repo/kconfig HOST_DIR=$d/host BR2_CONFIG=$d/.config
export OTAROOT_SIGNING_KEY=$d/pki/signer.key OTAROOT_SIGNING_CERT=$d/pki/signer.pem
: > "$BR2_CONFIG"
# One Buildroot build of version $1: post-build, the tarball, post-image.
br_build() {
	export TARGET_DIR=$d/br-$1/target BINARIES_DIR=$d/br-$1/images BUILD_DIR=$d/br-$1/build
	mkdir -p "$BINARIES_DIR" "$BUILD_DIR"
	cp -a "$d/target" "$TARGET_DIR"
	OTAROOT_VERSION=$1 "$bdir/post-build.sh" "$TARGET_DIR" >/dev/null
	tar -C "$TARGET_DIR" --numeric-owner --owner=0 --group=0 -cf "$BINARIES_DIR/rootfs.tar" .
	"$bdir/post-image.sh" "$BINARIES_DIR" >"$d/br-$1/post-image.log" 2>&1 ||
		{ cat "$d/br-$1/post-image.log" >&2; die "post-image.sh failed (version $1)"; }
}
br_build 1
mv "$d/br-1/images/disk.img" "$d/disk.img"
br_build 2
mv "$d/br-2/images/update.otab" "$d/update.otab"
rm -rf "$d/br-1" "$d/br-2" "$d/target" "$d/extra" "$d/host"
echo "$ME: done: $d"

#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Raspberry Pi 4 post-image (BR2_ROOTFS_POST_IMAGE_SCRIPT): sdcard.img with
# the tryboot A/B layout (genimage.cfg), then update.otab, a signed bundle
# of boot.vfat (class boot) and rootfs.ext4 (class system).
#
# genimage, not ota-image: ota-image has no rpi-tryboot target yet (the
# QEMU board's post-image shows the ota-image way; docs/buildroot.md).
set -eu
ME=rpi4-post-image
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../common/lib.sh"
BINARIES_DIR=${1:-${BINARIES_DIR:-}}
need_env BINARIES_DIR TARGET_DIR HOST_DIR
use_host_tools

mkdir -p "$BINARIES_DIR/otaroot-rpi4"
for f in autoboot.txt config.txt cmdline-a.txt cmdline-b.txt; do
	cp "$here/$f" "$BINARIES_DIR/otaroot-rpi4/$f"
done
[ -d "$BINARIES_DIR/rpi-firmware" ] || die "$BINARIES_DIR/rpi-firmware missing: enable BR2_PACKAGE_RPI_FIRMWARE"

run_genimage "$here/genimage.cfg"
say "disk image $BINARIES_DIR/sdcard.img"
make_bundle update.otab boot=boot.vfat system=rootfs.ext4

#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Raspberry Pi 4 post-image (BR2_ROOTFS_POST_IMAGE_SCRIPT): disk.img (the
# tryboot A/B layout, MBR) and update.otab (boot-a's image, class boot, and
# the system slot, class system) made by the host ota-image (host-otaroot;
# docs/ota-image.md, target rpi-tryboot) from Buildroot's rootfs.tar.
#
# The image description (BINARIES_DIR/image.conf) is this board's
# image.conf plus what the build already says, one source for each value:
#   [system] compatible, version   the target's /etc/ota/system.conf
#                                  (BR2_PACKAGE_OTAROOT_SYSTEM_CONF; the
#                                  version filled in by post-build.sh)
#   [update] keyring               the target's /etc/ota/keyring.pem
#   [update] downgrade, channel, [bootflow] tries
#                                  system.conf
#   [image] slot-size, [rpi] boot-size
#                                  /etc/ota/layout.conf (system-a, boot-a)
#   [image] overlay                BINARIES_DIR/otaroot-rpi4-root: the
#                                  firmware (rpi-firmware/), Image and the
#                                  bcm27*.dtb of BINARIES_DIR in
#                                  /boot/firmware, whence ota-image makes
#                                  boot-a (they also stay in the system
#                                  slot, hidden by bootfs's mount there)
#   [rpi] config                   this board's config.txt
# ota-image writes its own system.conf (the rest of the target's is added
# to it: [image] system-conf), layout.conf and the /boot/firmware line of
# /etc/fstab into the image. It runs the build machine's mke2fs, debugfs,
# mkfs.fat and mtools (docs/buildroot.md), as root or under fakeroot.
set -eu
ME=rpi4-post-image
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../common/lib.sh"
BINARIES_DIR=${1:-${BINARIES_DIR:-}}
need_env BINARIES_DIR TARGET_DIR HOST_DIR BR2_EXTERNAL_OTAROOT_PATH
use_host_tools

ota_image_setup
fw="$BINARIES_DIR/rpi-firmware"
[ -d "$fw" ] || die "$fw missing: enable BR2_PACKAGE_RPI_FIRMWARE"
[ -f "$BINARIES_DIR/Image" ] || die "$BINARIES_DIR/Image missing: enable BR2_LINUX_KERNEL"
overlay="$BINARIES_DIR/otaroot-rpi4-root"
rm -rf "$overlay"
mkdir -p "$overlay/boot/firmware"
cp -RL "$fw/." "$BINARIES_DIR/Image" "$overlay/boot/firmware/"
for dtb in "$BINARIES_DIR"/bcm27*.dtb; do
	[ -f "$dtb" ] && cp "$dtb" "$overlay/boot/firmware/"
done

desc="$BINARIES_DIR/image.conf"
{
	cat "$here/image.conf"
	echo "slot-size = $(layout_size system-a)"
	echo "overlay = $overlay"
	ota_image_desc_rest
	echo "[rpi]"
	echo "boot-size = $(layout_size boot-a)"
	echo "config = $here/config.txt"
} > "$desc"
run_ota_image "$desc"

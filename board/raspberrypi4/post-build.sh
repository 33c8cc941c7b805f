#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Raspberry Pi 4 post-build (BR2_ROOTFS_POST_BUILD_SCRIPT): the common steps,
# then a check that the image's system.conf uses the tryboot boot flow (its
# slots are checked against ota-image's by post-image.sh's ota-image).
set -eu
ME=rpi4-post-build
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../common/lib.sh"
board_post_build "$here" rpi-tryboot "${1:-}"
# Where the boot flow's FAT partition (bootfs) is mounted; ota-image writes
# its /etc/fstab line.
mkdir -p "$TARGET_DIR/boot/firmware"

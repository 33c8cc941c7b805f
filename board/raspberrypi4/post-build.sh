#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Raspberry Pi 4 post-build (BR2_ROOTFS_POST_BUILD_SCRIPT): the common steps,
# then a check that the image's system.conf uses the tryboot boot flow (its
# slots are checked against ota-image's by post-image.sh's ota-image).
set -eu
ME=rpi4-post-build
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../common/lib.sh"
TARGET_DIR=${1:-${TARGET_DIR:-}}
need_env TARGET_DIR
"$here/../common/post-build.sh" "$TARGET_DIR"

conf="$TARGET_DIR/etc/ota/system.conf"
type=$(ini_get "$conf" bootflow type)
[ "$type" = rpi-tryboot ] || die "$conf: [bootflow] type is '$type', this board boots with rpi-tryboot"
# Where the boot flow's FAT partition (bootfs) is mounted; ota-image writes
# its /etc/fstab line.
mkdir -p "$TARGET_DIR/boot/firmware"

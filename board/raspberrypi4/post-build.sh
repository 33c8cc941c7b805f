#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Raspberry Pi 4 post-build (BR2_ROOTFS_POST_BUILD_SCRIPT): the common steps,
# then a check that the image's system.conf uses the tryboot boot flow and
# names the same disk signature as genimage.cfg.
set -eu
ME=rpi4-post-build
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../common/lib.sh"
board_post_build "$here" rpi-tryboot "${1:-}"
sig=$(sed -n 's/^[ \t]*disk-signature[ \t]*=[ \t]*0x\([0-9a-fA-F]*\).*/\1/p' "$here/genimage.cfg")
grep -q "PARTUUID=$sig-05" "$conf" || die "$conf does not name PARTUUID=$sig-05 (disk signature of genimage.cfg)"

# The boot flow's FAT partition, by the label genimage.cfg gives it.
mkdir -p "$TARGET_DIR/boot/firmware"
if ! grep -q '[[:space:]]/boot/firmware[[:space:]]' "$TARGET_DIR/etc/fstab" 2>/dev/null; then
	printf 'LABEL=BOOTFS\t/boot/firmware\tvfat\tnoatime,nosuid,nodev,noexec\t0\t0\n' >> "$TARGET_DIR/etc/fstab"
fi

#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# QEMU x86_64 post-build (BR2_ROOTFS_POST_BUILD_SCRIPT): the common steps,
# then /boot/vmlinuz, where grub.cfg loads the kernel from the system slot
# (Buildroot installs it as /boot/bzImage with BR2_LINUX_KERNEL_INSTALL_TARGET).
set -eu
ME=qemu-post-build
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../common/lib.sh"
TARGET_DIR=${1:-${TARGET_DIR:-}}
need_env TARGET_DIR
"$here/../common/post-build.sh" "$TARGET_DIR"

conf="$TARGET_DIR/etc/ota/system.conf"
type=$(ini_get "$conf" bootflow type)
[ "$type" = grub ] || die "$conf: [bootflow] type is '$type', this board boots with grub"
[ -e "$TARGET_DIR/boot/bzImage" ] || die "$TARGET_DIR/boot/bzImage missing: enable BR2_LINUX_KERNEL_INSTALL_TARGET"
ln -sf bzImage "$TARGET_DIR/boot/vmlinuz"


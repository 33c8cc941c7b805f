#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# QEMU x86_64 post-build (BR2_ROOTFS_POST_BUILD_SCRIPT): the common steps,
# then /boot/vmlinuz, where grub.cfg loads the kernel from the system slot
# (Buildroot installs it as /boot/bzImage with BR2_LINUX_KERNEL_INSTALL_TARGET).
set -eu
ME=qemu-post-build
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../common/lib.sh"
board_post_build "$here" grub "${1:-}"
[ -e "$TARGET_DIR/boot/bzImage" ] || die "$TARGET_DIR/boot/bzImage missing: enable BR2_LINUX_KERNEL_INSTALL_TARGET"
ln -sf bzImage "$TARGET_DIR/boot/vmlinuz"


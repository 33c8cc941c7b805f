#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# QEMU x86_64 post-image (BR2_ROOTFS_POST_IMAGE_SCRIPT): disk.img and
# update.otab made by the host ota-image (host-otaroot; docs/ota-image.md,
# target efi) from Buildroot's rootfs.tar, and start-qemu.sh.
#
# The image description (BINARIES_DIR/image.conf) is this board's
# image.conf plus what the target already says, so that there is one source
# for each value:
#   [system] compatible, version   the target's /etc/ota/system.conf
#                                  (BR2_PACKAGE_OTAROOT_SYSTEM_CONF; the
#                                  version filled in by post-build.sh)
#   [update] keyring               the target's /etc/ota/keyring.pem
#                                  (BR2_PACKAGE_OTAROOT_KEYRING)
#   [update] downgrade, channel, [bootflow] tries
#                                  system.conf
#   [image] slot-size, esp-size    /etc/ota/layout.conf (system-a, esp)
# ota-image writes its own system.conf and layout.conf into the image from
# the description: the same slots, groups and partitions as this board's
# files (post-build.sh refuses a system.conf for another boot flow); the
# rest of the target's system.conf is added to it ([image] system-conf).
#
# ota-image runs the build machine's mke2fs, debugfs, grub-mkimage (with
# the GRUB EFI modules of Debian's grub-efi-amd64-bin, or
# OTAROOT_GRUB_MODULES), mkfs.fat and mtools (docs/buildroot.md). It runs
# under Buildroot's fakeroot, so the files keep the owners rootfs.tar gives
# them.
set -eu
ME=qemu-post-image
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../common/lib.sh"
BINARIES_DIR=${1:-${BINARIES_DIR:-}}
need_env BINARIES_DIR TARGET_DIR HOST_DIR BR2_EXTERNAL_OTAROOT_PATH
use_host_tools

ota_image_setup
for g in a b; do
	grep -q "^\[group\.$g\]" "$conf" || die "$conf: no [group.$g]; ota-image's GRUB boots groups a and b"
done

desc="$BINARIES_DIR/image.conf"
{
	cat "$here/image.conf"
	echo "slot-size = $(layout_size system-a)"
	echo "esp-size = $(layout_size esp)"
	ota_image_desc_rest
} > "$desc"
if [ -n "${OTAROOT_GRUB_MODULES:-}" ]; then
	run_ota_image "$desc" --grub-modules "$OTAROOT_GRUB_MODULES"
else
	run_ota_image "$desc"
fi

cat > "$BINARIES_DIR/start-qemu.sh" <<'QEMU'
#!/bin/sh
# Boots disk.img with OVMF (Buildroot's edk2: OVMF.fd), a virtio disk, the
# i6300esb watchdog (trial boots) and the console on this terminal. The first
# boot grows the disk layout, so give the disk room: truncate -s 2G disk.img
cd "$(dirname "$0")"
exec qemu-system-x86_64 -M pc -m 1024 -bios OVMF.fd \
	-drive file=disk.img,if=virtio,format=raw \
	-device i6300esb \
	-netdev user,id=net0 -device virtio-net-pci,netdev=net0 \
	-nographic "$@"
QEMU
chmod +x "$BINARIES_DIR/start-qemu.sh"

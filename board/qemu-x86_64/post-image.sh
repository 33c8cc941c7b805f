#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# QEMU x86_64 post-image (BR2_ROOTFS_POST_IMAGE_SCRIPT): disk.img with the
# GRUB EFI A/B layout (genimage.cfg), update.otab (rootfs.ext4 as class
# system, signed) and start-qemu.sh.
#
# The ESP gets (docs/boot-flows.md, grub):
#   EFI/BOOT/BOOTX64.EFI  Buildroot's GRUB (efi-part/EFI/BOOT/bootx64.efi)
#                         with grub-embedded.cfg built in
#   otaroot/grub.cfg, otaroot/flow.cfg
#                         the GRUB boot flow's scripts, bootflow/grub/ of the
#                         otaroot tree this BR2_EXTERNAL belongs to
#   otaroot/board.cfg     this board's groups, partitions, root= and cmdline
#                         (grub-board.cfg)
#   otaroot/env1, otaroot/env2, otaroot/tries
#                         the initial boot state (host ota-grubenv init:
#                         group a, no trial), 1024 bytes each
set -eu
ME=qemu-post-image
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../common/lib.sh"
BINARIES_DIR=${1:-${BINARIES_DIR:-}}
need_env BINARIES_DIR TARGET_DIR HOST_DIR BR2_EXTERNAL_OTAROOT_PATH
use_host_tools

grub_efi="$BINARIES_DIR/efi-part/EFI/BOOT/bootx64.efi"
flow="$BR2_EXTERNAL_OTAROOT_PATH/../bootflow/grub"
grubenv="$HOST_DIR/bin/ota-grubenv"
[ -f "$grub_efi" ] || die "$grub_efi missing: enable BR2_TARGET_GRUB2 with BR2_TARGET_GRUB2_X86_64_EFI"
for f in grub.cfg flow.cfg; do
	[ -f "$flow/$f" ] || die "$flow/$f missing: the GRUB boot flow's scripts come from the otaroot tree"
done
[ -x "$grubenv" ] || die "$grubenv missing: enable BR2_PACKAGE_HOST_OTAROOT"
conf="$TARGET_DIR/etc/ota/system.conf"
for g in a b; do
	grep -q "^\[group\.$g\]" "$conf" || die "$conf: no [group.$g]; grub-board.cfg boots groups a and b"
done

esp="$BINARIES_DIR/otaroot-esp"
rm -rf "$esp"
mkdir -p "$esp/EFI/BOOT" "$esp/otaroot"
cp "$grub_efi" "$esp/EFI/BOOT/BOOTX64.EFI"
cp "$flow/grub.cfg" "$flow/flow.cfg" "$esp/otaroot/"
cp "$here/grub-board.cfg" "$esp/otaroot/board.cfg"
"$grubenv" init "$esp/otaroot" --groups a,b >/dev/null || die "ota-grubenv init failed"

run_genimage "$here/genimage.cfg"
say "disk image $BINARIES_DIR/disk.img"
make_bundle update.otab system=rootfs.ext4

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

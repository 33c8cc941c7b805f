#!/bin/sh
# QEMU x86_64 post-image (BR2_ROOTFS_POST_IMAGE_SCRIPT): disk.img with the
# GRUB EFI A/B layout (genimage.cfg), update.otab (rootfs.ext4 as class
# system, signed) and start-qemu.sh.
#
# The ESP gets:
#   EFI/BOOT/BOOTX64.EFI  Buildroot's GRUB (efi-part/EFI/BOOT/bootx64.efi)
#   otaroot/grub.cfg, otaroot/env1, otaroot/env2, otaroot/tries
#                         the GRUB boot flow's script and environment files,
#                         taken as they are from $OTAROOT_GRUB_DIR (default
#                         $BINARIES_DIR/otaroot-grub); each environment file
#                         must be exactly 1024 bytes (GRUB rewrites it in place).
set -eu
ME=qemu-post-image
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../common/lib.sh"
BINARIES_DIR=${1:-${BINARIES_DIR:-}}
need_env BINARIES_DIR TARGET_DIR HOST_DIR
use_host_tools

grub_efi="$BINARIES_DIR/efi-part/EFI/BOOT/bootx64.efi"
grub_dir=${OTAROOT_GRUB_DIR:-$BINARIES_DIR/otaroot-grub}
[ -f "$grub_efi" ] || die "$grub_efi missing: enable BR2_TARGET_GRUB2 with BR2_TARGET_GRUB2_X86_64_EFI"
for f in grub.cfg env1 env2 tries; do
	[ -f "$grub_dir/$f" ] || die "$grub_dir/$f missing: the GRUB boot flow's files (set OTAROOT_GRUB_DIR, docs/buildroot.md)"
done
for f in env1 env2 tries; do
	size=$(stat -c %s "$grub_dir/$f")
	[ "$size" = 1024 ] || die "$grub_dir/$f is $size bytes; GRUB environment files must be exactly 1024"
done

esp="$BINARIES_DIR/otaroot-esp"
rm -rf "$esp"
mkdir -p "$esp/EFI/BOOT" "$esp/otaroot"
cp "$grub_efi" "$esp/EFI/BOOT/BOOTX64.EFI"
for f in grub.cfg env1 env2 tries; do
	cp "$grub_dir/$f" "$esp/otaroot/$f"
done

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

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

image="$HOST_DIR/bin/ota-image"
rootfs="$BINARIES_DIR/rootfs.tar"
conf="$TARGET_DIR/etc/ota/system.conf"
layout="$TARGET_DIR/etc/ota/layout.conf"
keyring="$TARGET_DIR/etc/ota/keyring.pem"
[ -x "$image" ] || die "$image missing: enable BR2_PACKAGE_HOST_OTAROOT"
[ -x "$HOST_DIR/bin/ota-bundle" ] || die "$HOST_DIR/bin/ota-bundle missing: enable BR2_PACKAGE_HOST_OTAROOT"
[ -f "$rootfs" ] || die "$rootfs missing: enable BR2_TARGET_ROOTFS_TAR (ota-image makes the system slot from it)"
[ -f "$layout" ] || die "$layout missing: set BR2_PACKAGE_OTAROOT_LAYOUT_CONF"
[ -f "$keyring" ] || die "$keyring missing: set BR2_PACKAGE_OTAROOT_KEYRING (the CA devices trust)"
system_identity
for g in a b; do
	grep -q "^\[group\.$g\]" "$conf" || die "$conf: no [group.$g]; ota-image's GRUB boots groups a and b"
done

set --
if [ "${OTAROOT_BUNDLE:-yes}" = no ]; then
	say "OTAROOT_BUNDLE=no: no update bundle"
else
	signing_key
	set -- --key "$key" --cert "$cert"
	[ -n "$chain" ] && set -- "$@" --chain "$chain"
fi
[ -n "${OTAROOT_GRUB_MODULES:-}" ] && set -- "$@" --grub-modules "$OTAROOT_GRUB_MODULES"

# layout_size NAME: the size of [partition NAME] in layout.conf
layout_size() {
	size=$(ini_get "$layout" "partition $1" size)
	[ -n "$size" ] || die "$layout: no size in [partition $1]"
	echo "$size"
}
desc="$BINARIES_DIR/image.conf"
{
	cat "$here/image.conf"
	echo "slot-size = $(layout_size system-a)"
	echo "esp-size = $(layout_size esp)"
	# Every other setting of the target's system.conf ([data] options,
	# [hawkbit], ...) is added to the one ota-image writes; a key that
	# contradicts the lines below is refused by name.
	echo "system-conf = $conf"
	echo "[system]"
	echo "compatible = $compatible"
	echo "version = $version"
	echo "[update]"
	echo "keyring = $keyring"
	for k in downgrade channel; do
		v=$(ini_get "$conf" update "$k")
		[ -z "$v" ] || echo "$k = $v"
	done
	tries=$(ini_get "$conf" bootflow tries)
	[ -z "$tries" ] || printf '[bootflow]\ntries = %s\n' "$tries"
} > "$desc"

# The boot flow's grub.cfg and flow.cfg from the otaroot tree this
# BR2_EXTERNAL belongs to (host-otaroot installs the same files).
run_image() {
	if [ "$(id -u)" = 0 ]; then
		"$image" "$@"
	else
		command -v fakeroot >/dev/null || die "fakeroot not found (Buildroot's host-fakeroot makes the root file system images)"
		fakeroot -- "$image" "$@"
	fi
}
rm -f "$BINARIES_DIR/disk.img" "$BINARIES_DIR/update.otab"
run_image build "$desc" --rootfs "$rootfs" -o "$BINARIES_DIR" \
	--data-dir "$BR2_EXTERNAL_OTAROOT_PATH/../bootflow" "$@" || die "ota-image build failed (description $desc)"
say "disk image $BINARIES_DIR/disk.img (ota-image)"
if [ "${OTAROOT_BUNDLE:-yes}" = no ]; then
	rm -f "$BINARIES_DIR/update.otab"
else
	verify_bundle update.otab
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

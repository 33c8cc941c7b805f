#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# mkdebian.sh BUILDDIR [--ota-image]: the Debian VM image (tests/vm/test_debian.py).
#
# A Debian 12 root made with debootstrap (minbase + systemd, systemd-sysv,
# udev and openssh-server), made ready by otaroot's mmdebstrap hook
# (mmdebstrap/customize50-otaroot, as docs/debian.md's first section runs
# it): the otaroot package built by the ctest debian.packages
# (BUILDDIR/debian/debs/), the state defaults and the SSH host key unit
# (OTAROOT_KERNEL=none: the harness's kernel, below); then the files of
# tests/vm/debian-root/ (system.conf with the GRUB boot flow and the hawkBit
# test server, its target token, layout.conf,
# state.d for the SSH host keys, the test agent as a systemd service), the
# harness's kernel and initramfs in /boot, no SSH host keys and an empty
# /etc/machine-id. The disk is what a device ships: GPT with an ESP (GRUB,
# tools/mkesp-grub.sh) and system-a (ext4 made from the directory with
# mkfs.ext4 -d: no loop devices), in a file with room for the rest; the first
# boot appends system-b and data (layout.conf). Booted by OVMF and GRUB with
# init=/sbin/ota-init; systemd is the real init.
#
# Output: BUILDDIR/vm/debian.img (version 1.0), BUILDDIR/vm/debian-v2.otab
# (the same root as version 2.0) and debian-v3.otab (3.0, whose health check
# fails). The debootstrap tarball is cached as
# BUILDDIR/vm/debian-root-<key>.tar (the network is needed the first time).
# These are the steps of docs/debian.md.
#
# --ota-image: the same root, but the image and the update are made by
# ota-image (docs/ota-image.md) from a description, as a user would
# (tests/vm/test_debian_image.py): BUILDDIR/vm/debian-image.img (1.0; only
# the ESP and system-a, no room for the rest: the test grows the disk) and
# BUILDDIR/vm/debian-image-v2.otab (2.0: the otaroot package upgraded to a
# higher version in the root, /etc/ota-release 2.0).
set -euo pipefail
. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../../tools/need.sh"
need debootstrap sfdisk mkfs.ext4 cpio
BUILD=$(cd "${1:?usage: mkdebian.sh BUILDDIR [--ota-image]}" && pwd -P)
WITH_OTA_IMAGE=0
[ "${2:-}" = --ota-image ] && WITH_OTA_IMAGE=1
here=$(cd "$(dirname "$0")" && pwd)
MIRROR=${OTA_DEBIAN_MIRROR:-http://deb.debian.org/debian}
say() { printf 'mkdebian: %s\n' "$*"; }
die() { printf 'mkdebian: error: %s\n' "$*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "needs root (debootstrap, chroot, file ownership)"

DEB=$(ls "$BUILD"/debian/debs/otaroot_*.deb 2>/dev/null | head -n1)
[ -f "$DEB" ] || die "no otaroot .deb in $BUILD/debian/debs: run ctest -R debian.packages first"
KDIR=$BUILD/vm/kernel
[ -f "$KDIR/vmlinuz" ] && [ -f "$KDIR/initramfs.cpio.gz" ] || die "no kernel in $KDIR: run ctest -R vm.setup.kernel first"
OUT=$BUILD/vm/debian.img
mkdir -p "$BUILD/vm"
work=$(mktemp -d "$BUILD/vm/debian.work.XXXXXX")
trap 'rm -rf "$work"' EXIT
root=$work/root

# The caches below (the debootstrap tarball, the PKI) are shared by
# vm.setup.debian and vm.setup.debian-image, which ctest runs at the same
# time: one run makes them while the other waits (bounded, under the tests'
# 1200 s timeout), and each is made aside and renamed into place, so no run
# ever sees half of one.
exec 9>"$BUILD/vm/debian-cache.lock"
flock -w 1000 9 || die "waited 1000 s for $BUILD/vm/debian-cache.lock (another mkdebian.sh making the caches)"

# 1. debootstrap (cached): minbase, systemd as init, udev, and the package's
# run-time dependencies, so that dpkg -i needs no network.
deps=$(dpkg-deb -f "$DEB" Depends | tr ',' '\n' | sed 's/[(|].*//; s/ //g' | grep -v '^$' | sort -u | paste -sd, -)
include="systemd,systemd-sysv,udev,openssh-server,$deps"
key=$(printf '%s %s\n' "$MIRROR" "$include" | sha256sum | cut -c1-12)
tarball=$BUILD/vm/debian-root-$key.tar
if [ ! -f "$tarball" ]; then
	say "debootstrap --variant=minbase --include=$include bookworm"
	debootstrap --variant=minbase --include="$include" bookworm "$work/boot" "$MIRROR" >"$work/debootstrap.log" 2>&1 ||
		{ tail -n 30 "$work/debootstrap.log" >&2; die "debootstrap failed"; }
	rm -f "$BUILD"/vm/debian-root-*.tar
	tar -C "$work/boot" -cf "$tarball.tmp" . && mv "$tarball.tmp" "$tarball"
	rm -rf "$work/boot"
fi
# The update PKI (cached): root.pem is the device's keyring, signer.* sign bundles.
pki=$BUILD/vm/debian-pki
if [ ! -f "$pki/signer.pem" ]; then
	rm -rf "$pki" "$pki.tmp" && mkdir -p "$pki.tmp"
	(cd "$pki.tmp" && . "$here/../lib/pki.sh" && pki_init && pki_root root && pki_cert signer root signer) >/dev/null
	mv "$pki.tmp" "$pki"
fi
exec 9>&- # the caches are made: the other run may go on
mkdir -p "$root"
tar -C "$root" -xf "$tarball"

# 2. the package, the state defaults, the SSH host keys' unit: otaroot's
# mmdebstrap hook, run on the debootstrapped root (no network: the package's
# dependencies are in the root, systemd-sysv too, no kernel).
OTAROOT_DEBS=$DEB OTAROOT_KERNEL=none "$here/../../mmdebstrap/customize50-otaroot" "$root" >"$work/hook.log" 2>&1 ||
	{ cat "$work/hook.log" >&2; die "the mmdebstrap hook failed"; }

# 3. the device's configuration and the test agent
cp -a "$here/debian-root/." "$root/"
chmod 600 "$root/etc/ota/hawkbit-token" # a credential: root's only, as a device would keep it
chroot "$root" systemctl enable ota-test-agent.service >/dev/null 2>&1 || die "enabling ota-test-agent.service"
# The kernel: the harness's (Debian's kernel and a small initramfs that loads
# the virtio drivers), where GRUB's flow.cfg looks for it.
install -D -m 0644 "$KDIR/vmlinuz" "$root/boot/vmlinuz"
install -D -m 0644 "$KDIR/initramfs.cpio.gz" "$root/boot/initrd.img"
install -m 0644 "$pki/root.pem" "$root/etc/ota/keyring.pem"
# Networking for the update check: DHCP by systemd-networkd (the virtio NIC
# driver is loaded by the harness's initramfs).
mkdir -p "$root/etc/systemd/network"
printf '[Match]\nName=en* eth*\n\n[Network]\nDHCP=yes\n' >"$root/etc/systemd/network/20-wired.network"
chroot "$root" systemctl enable systemd-networkd.service >/dev/null 2>&1 || die "enabling systemd-networkd"
echo otaroot-debian >"$root/etc/hostname"
# Leave /var/log/journal to the package's state.d entry (seeded, persisted).
mkdir -p "$root/var/log/journal"
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*

echo "1.0" >"$root/etc/ota-release"

if [ $WITH_OTA_IMAGE = 1 ]; then
	# 4. the image and the 2.0 bundle, by ota-image from a description that
	# says what tests/vm/debian-root/etc/ota/system.conf says.
	cat >"$work/image.conf" <<CONF
[image]
target = efi
arch = amd64
slot-size = $(( ($(du -sm --apparent-size "$root" | cut -f1) * 13 / 10 + 64 + 63) / 64 * 64 ))M
kernel-cmdline = console=ttyS0 panic=-1 no_timer_check
grub-serial = yes
[system]
compatible = otaroot-qemu-debian
version = 1.0
[update]
keyring = $pki/root.pem
[bootflow]
tries = 3
[init]
trial-watchdog = 300
[sign]
key = $pki/signer.key
cert = $pki/signer.pem
CONF
	img() { "$BUILD/bin/ota-image" "$@"; }
	img build "$work/image.conf" --rootfs "$root" -o "$work/out" --data-dir "$here/../../bootflow" ||
		die "ota-image build"
	mv "$work/out/disk.img" "$BUILD/vm/debian-image.img"
	say "$BUILD/vm/debian-image.img: $(stat -c %s "$BUILD/vm/debian-image.img") bytes (ota-image)"
	# 2.0: the otaroot package upgraded (the same .deb as a higher version:
	# no network), and the release file.
	debver=$(dpkg-deb -f "$DEB" Version)
	rm -rf "$work/deb" && dpkg-deb -R "$DEB" "$work/deb"
	sed -i "s/^Version: .*/Version: ${debver}+up1/" "$work/deb/DEBIAN/control"
	dpkg-deb -b "$work/deb" "$root/tmp/otaroot-up.deb" >/dev/null
	chroot "$root" dpkg -i /tmp/otaroot-up.deb >"$work/dpkg-up.log" 2>&1 || { cat "$work/dpkg-up.log" >&2; die "dpkg -i (upgrade)"; }
	rm -f "$root/tmp/otaroot-up.deb"
	echo "2.0" >"$root/etc/ota-release"
	img bundle "$work/image.conf" --rootfs "$root" --system-version 2.0 -o "$BUILD/vm/debian-image-v2.otab" ||
		die "ota-image bundle"
	say "$BUILD/vm/debian-image-v2.otab: version 2.0 (otaroot ${debver}+up1), $(stat -c %s "$BUILD/vm/debian-image-v2.otab") bytes"
	exit 0
fi

# 4. the disk: GPT with the ESP (32 MiB) and system-a, in a file with room
# for system-b and a 128 MiB data partition, which the first boot appends.
used_mib=$(du -sm --apparent-size "$root" | cut -f1)
A_MIB=$(( (used_mib * 13 / 10 + 64 + 63) / 64 * 64 ))
ESP_MIB=32
DATA_MIB=128
sed -i "s/@SLOT_MIB@/$A_MIB/" "$root/etc/ota/layout.conf"
mkfs() { # mkfs IMG MIB LABEL [DIR]
	E2FSPROGS_FAKE_TIME=1700000000 mke2fs -q -t ext4 -L "$3" ${4:+-d "$4"} "$1" "${2}M"
}
mkfs "$work/a.img" "$A_MIB" system-a "$root"
"$here/../../tools/mkesp-grub.sh" --out "$work/esp.img" --board "$here/grub-board.cfg" --groups a,b \
	--grubenv "$BUILD/bin/ota-grubenv" --size-mib "$ESP_MIB" >/dev/null
rm -f "$OUT.tmp"
truncate -s $(( 1 + ESP_MIB + 2 * A_MIB + DATA_MIB + 1 ))M "$OUT.tmp"
sfdisk -q "$OUT.tmp" <<SF
label: gpt
start=2048, size=$((ESP_MIB * 2048)), type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, name=esp
start=$((2048 + ESP_MIB * 2048)), size=$((A_MIB * 2048)), type=4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709, name=system-a
SF
dd if="$work/esp.img" of="$OUT.tmp" bs=1M seek=1 conv=notrunc,sparse status=none
dd if="$work/a.img" of="$OUT.tmp" bs=1M seek=$((1 + ESP_MIB)) conv=notrunc,sparse status=none
mv "$OUT.tmp" "$OUT"
say "$OUT: esp $ESP_MIB MiB and system-a $A_MIB MiB (root $used_mib MiB); the first boot adds system-b and data"

# 5. the update: the same root as version 2.0, in a bundle signed by the PKI
sed -i 's/^version = 1.0$/version = 2.0/' "$root/etc/ota/system.conf"
echo "2.0" >"$root/etc/ota-release"
mkfs "$work/v2.img" "$A_MIB" system-a "$root"
printf '[bundle]\ncompatible = otaroot-qemu-debian\nversion = 2.0\n[image.system]\nfile = %s\n' "$work/v2.img" >"$work/v2.ini"
"$BUILD/bin/ota-bundle" create --key "$pki/signer.key" --cert "$pki/signer.pem" "$work/v2.ini" "$BUILD/vm/debian-v2.otab.tmp" >/dev/null
mv "$BUILD/vm/debian-v2.otab.tmp" "$BUILD/vm/debian-v2.otab"
say "$BUILD/vm/debian-v2.otab: version 2.0, $(stat -c %s "$BUILD/vm/debian-v2.otab") bytes"

# 6. a bad update: version 3.0 whose health check fails. A unit required by
# boot-complete.target fails; ota-commit.service waits (retries) and rolls
# the trial back at its deadline, 60 s after boot.
sed -i 's/^version = 2.0$/version = 3.0/' "$root/etc/ota/system.conf"
echo "3.0" >"$root/etc/ota-release"
cat >"$root/etc/systemd/system/app-health.service" <<'UNIT'
[Unit]
Description=Application health check (fails in version 3.0 of the test image)
Before=boot-complete.target
[Service]
Type=oneshot
ExecStart=/bin/sh -c 'echo "app-health: the application does not answer"; exit 1'
[Install]
RequiredBy=boot-complete.target
UNIT
mkdir -p "$root/etc/systemd/system/boot-complete.target.requires"
ln -sf /etc/systemd/system/app-health.service "$root/etc/systemd/system/boot-complete.target.requires/app-health.service"
sed -i 's/^OTA_COMMIT_ON_FAILURE=.*/OTA_COMMIT_ON_FAILURE=wait/; s/^OTA_COMMIT_RETRY_INTERVAL=.*/OTA_COMMIT_RETRY_INTERVAL=5/; s/^OTA_COMMIT_DEADLINE=.*/OTA_COMMIT_DEADLINE=60/' \
	"$root/etc/default/otaroot"
rm -f "$work/v2.img"
mkfs "$work/v3.img" "$A_MIB" system-a "$root"
printf '[bundle]\ncompatible = otaroot-qemu-debian\nversion = 3.0\n[image.system]\nfile = %s\n' "$work/v3.img" >"$work/v3.ini"
"$BUILD/bin/ota-bundle" create --key "$pki/signer.key" --cert "$pki/signer.pem" "$work/v3.ini" "$BUILD/vm/debian-v3.otab.tmp" >/dev/null
mv "$BUILD/vm/debian-v3.otab.tmp" "$BUILD/vm/debian-v3.otab"
say "$BUILD/vm/debian-v3.otab: version 3.0 (failing health check), $(stat -c %s "$BUILD/vm/debian-v3.otab") bytes"

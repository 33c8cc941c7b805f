#!/bin/bash
# deps.sh: installs, as root on Debian 12, the packages otaroot needs to build,
# make images and run its tests. Installs only what is missing.
set -euo pipefail

PACKAGES=(
	# build
	build-essential cmake pkg-config
	libblkid-dev libmount-dev libfdisk-dev libzstd-dev libssl-dev libinih-dev libjson-c-dev
	# ota-bundle reads bundles over http(s) (bundle/http.c)
	libcurl4-openssl-dev
	# static util-linux libraries from the source package (tools/build-util-linux-static.sh)
	dpkg-dev
	# images and the VM harness
	fdisk e2fsprogs dosfstools busybox-static cpio gzip xz-utils zstd kmod
	qemu-system-x86 python3
	# tests (clang + libclang-rt for the libFuzzer targets)
	binutils clang libclang-rt-14-dev
	# bundle tests: a throwaway CA and signatures made with the openssl CLI
	openssl
	# uboot boot flow tests: mkenvimage and mkimage (u-boot-tools) make env
	# images and boot.scr; fw_printenv/fw_setenv (libubootenv-tool) check our env
	u-boot-tools libubootenv-tool
	# Buildroot tree and boards (tests/buildroot): Kconfig, disk images, FAT
	# contents, a GRUB EFI image and environment files (grub-editenv)
	python3-kconfiglib genimage mtools grub-efi-amd64-bin grub-common make
	# GRUB boot flow VM tests: UEFI firmware for QEMU
	ovmf
	# ota-update over HTTP against a real server (tests/integration/update-nginx.sh)
	nginx-light curl
	# Debian packages (debian/, tests/debian): dpkg-buildpackage with dh, lintian,
	# and a debootstrapped bookworm chroot to install them into
	debhelper lintian debootstrap
	# bench/ (not run by CI): casync, RAUC and GNU time for peak RSS
	casync bc rauc time squashfs-tools
)

missing=()
for p in "${PACKAGES[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
[ "$(id -u)" = 0 ] || { echo "deps: missing packages: ${missing[*]} (run as root to install them)" >&2; exit 1; }
echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null

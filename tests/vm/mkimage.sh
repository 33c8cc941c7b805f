#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# mkimage.sh --bin-dir DIR --out IMAGE [--no-data] [--system-a-only] [--data-mib N] [--extra-root DIR]
#            [--version V] [--rootfs-only] [--grub|--uboot --kernel-dir DIR [--trial-watchdog S]]
#            [--data-device SPEC] [--arch arm64 --busybox FILE [--target-tools DIR]
#            [--uboot-env-mode native|file]]
# mkimage.sh --bin-dir DIR --root-dir DIR [--extra-root DIR] [--version V] [--grub --kernel-dir DIR]
#
# Builds the test/demo disk image: GPT with partitions named system-a,
# system-b and data. system-a holds a BusyBox root filesystem with otaroot's
# binaries (ota-init as /sbin/ota-init), BusyBox init and the test agent;
# system-b is left empty; data is an empty ext4 labelled "data". No loop
# devices: filesystems are made from directories with mkfs.ext4 -d and copied
# into place. --extra-root adds (or replaces) files from DIR in system-a.
# --system-a-only makes the image a first-boot image: just system-a, as
# shipped to be provisioned (partitioner) on a larger disk. --version sets
# the system's version (system.conf, /etc/ota-release); --rootfs-only writes
# just the system filesystem image to --out (the payload of an update bundle).
# --grub makes a UEFI machine with the GRUB boot flow: partition 1 is an ESP
# (tools/mkesp-grub.sh, named "esp"), the slots follow as partitions 2 and 3,
# the kernel and initramfs of --kernel-dir go into each system's /boot, and
# system.conf's [bootflow] says grub. --root-dir (instead of --out) only
# assembles the root filesystem tree in DIR, as a Buildroot TARGET_DIR for a
# board's post-build.sh: @VERSION@ in system.conf is left for it to fill in.
# --uboot makes a machine for Debian's qemu-x86 U-Boot (tests/vm/vm.py,
# firmware "uboot") with the uboot boot flow in file mode: partition 1 is a
# FAT partition named "boot" (legacy-BIOS-bootable, so U-Boot's distro boot
# scans it) with boot.scr (the board's settings + bootflow/uboot/boot.cmd)
# and ota.env/ota.env.bak; kernel and initramfs go into each system's /boot
# as with --grub, and system.conf's [bootflow] says uboot.
# --arch arm64 makes the image of the arm64 VM (vm.py, arch "arm64"): the
# programs of --bin-dir (build-arm64/bin) with their libraries from the cross
# build's sysroot (BIN_DIR/../sysroot, tools/make-sysroot.sh), the arm64
# static busybox of --busybox (fetch-kernel.sh --arch arm64 publishes it),
# the console on ttyAMA0 and the test agent on the virtio console hvc0.
# mke2fs, mkfs.fat and e2fsck come from --target-tools DIR (Debian's arm64
# e2fsprogs and dosfstools, unpacked by fetch-target-tools.sh), their
# libraries from the sysroot or DIR; without it the image has none (no
# first-boot provisioning, no e2fsck repair). With --uboot, the arm64 machine's boot flow runs in
# native env mode (U-Boot's env in flash, written by ota-update through the
# kernel's MTD device; provisioned as IMAGE.uboot-env) unless
# --uboot-env-mode file says file mode, as on x86_64.
set -euo pipefail
. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../../tools/need.sh"
need sfdisk mkfs.ext4 mkfs.fat cpio readelf

ME=mkimage
say() { printf '%s: %s\n' "$ME" "$*"; }
die() { printf '%s: error: %s\n' "$ME" "$*" >&2; exit 1; }

here=$(cd "$(dirname "$0")" && pwd)
bin_dir= out= root_dir= with_data=1 with_b=1 extra_root= data_mib=64 version=1 rootfs_only=0 grub=0 uboot=0 kernel_dir= trial_watchdog=120 data_device= arch=amd64 busybox=/bin/busybox uboot_env_mode= target_tools=
while [ $# -gt 0 ]; do
	case $1 in
	--bin-dir) bin_dir=$2; shift 2 ;;
	--out) out=$2; shift 2 ;;
	--no-data) with_data=0; shift ;;
	--system-a-only) with_data=0; with_b=0; shift ;;
	--data-mib) data_mib=$2; shift 2 ;;
	--version) version=$2; shift 2 ;;
	--rootfs-only) rootfs_only=1; shift ;;
	--extra-root) extra_root=$2; shift 2 ;;
	--root-dir) root_dir=$2; shift 2 ;;
	--grub) grub=1; shift ;;
	--uboot) uboot=1; shift ;;
	--kernel-dir) kernel_dir=$2; shift 2 ;;
	--trial-watchdog) trial_watchdog=$2; shift 2 ;;
	--data-device) data_device=$2; shift 2 ;;
	--arch) arch=$2; shift 2 ;;
	--busybox) busybox=$2; shift 2 ;;
	--target-tools) target_tools=$(cd "$2" && pwd)/root; shift 2 ;;
	--uboot-env-mode) uboot_env_mode=$2; shift 2 ;;
	*) die "unknown argument '$1'" ;;
	esac
done
[ -n "$root_dir" ] && [ -z "$out" ] && out=$root_dir
[ -n "$bin_dir" ] && [ -n "$out" ] || die "usage: mkimage.sh --bin-dir DIR --out IMAGE [--no-data]"
[ -x "$bin_dir/ota-init" ] || die "$bin_dir/ota-init missing: build first"
case $arch in
amd64)
	need /bin/busybox
	[ "$busybox" = /bin/busybox ] || die "--busybox is for --arch arm64"
	BB_RUN=() ;;
arm64)
	need qemu-aarch64-static
	if [ "$busybox" = /bin/busybox ] || [ ! -f "$busybox" ]; then
		die "--arch arm64 needs --busybox FILE (the arm64 busybox-static)"
	fi
	BB_RUN=(qemu-aarch64-static)
	sysroot=$(cd "$bin_dir/.." && pwd)/sysroot
	[ -e "$sysroot/lib/ld-linux-aarch64.so.1" ] || die "no arm64 sysroot at $sysroot (tools/make-sysroot.sh makes it)"
	readelf -hW "$bin_dir/ota-init" | grep -q AArch64 || die "$bin_dir/ota-init is not an arm64 program"
	;;
*) die "unknown architecture '$arch' (amd64 or arm64)" ;;
esac
busybox_static=$(readelf -lW "$busybox" | grep -c INTERP || true)
[ "$busybox_static" = 0 ] || die "$busybox is not static: apt-get install busybox-static"

[ $grub = 0 ] || [ -f "$kernel_dir/vmlinuz" ] || die "--grub needs --kernel-dir with vmlinuz"
[ $uboot = 0 ] || [ -f "$kernel_dir/vmlinuz" ] || die "--uboot needs --kernel-dir with vmlinuz"
[ $grub = 0 ] || [ $uboot = 0 ] || die "--grub and --uboot exclude each other"
if [ $uboot = 1 ]; then
	need mkimage mcopy
	case $arch/${uboot_env_mode:-default} in
	amd64/default | amd64/file) uboot_env_mode=file ;;
	arm64/default | arm64/native) uboot_env_mode=native; need mkenvimage ;;
	arm64/file) ;;
	*) die "--uboot-env-mode $uboot_env_mode is not available for $arch" ;;
	esac
fi

# Partition geometry in 512-byte sectors: 1 MiB alignment, 64 MiB slots,
# with --grub a 32 MiB ESP first, with --uboot a 32 MiB FAT boot partition.
SLOT_SECTORS=131072
ESP_START=2048
ESP_SECTORS=$(((grub + uboot) * 65536))
A_START=$((ESP_START + ESP_SECTORS))
B_START=$((A_START + SLOT_SECTORS))
DATA_START=$((B_START + SLOT_SECTORS))
DATA_SECTORS=$((data_mib * 2048))
if [ $with_data = 1 ]; then END=$((DATA_START + DATA_SECTORS))
elif [ $with_b = 1 ]; then END=$DATA_START
else END=$B_START; fi
IMAGE_MIB=$(( END / 2048 + 1 ))

work=$(mktemp -d "${out}.work.XXXXXX")
trap 'rm -rf "$work"' EXIT
root=$work/rootfs
if [ -n "$root_dir" ]; then
	rm -rf "$root_dir"
	root=$root_dir
fi

copy_with_libs() { # copy a dynamically linked binary and the libraries it needs
	local bin=$1 dest=$2
	install -D -m 0755 "$bin" "$root$dest"
	if ! readelf -lW "$bin" | grep -q INTERP; then
		return 0
	elif [ "$arch" = amd64 ]; then
		ldd "$bin" | grep -o '/[^ ]*' | while read -r lib; do
			[ -e "$root$lib" ] || install -D -m 0755 "$lib" "$root$lib"
		done
	else
		copy_sysroot_libs "$bin"
	fi
}

# copy_sysroot_libs ELF: the interpreter and the DT_NEEDED libraries of a
# foreign program, recursively, from the sysroot (no ldd: it cannot run it).
copy_sysroot_libs() {
	local elf=$1 interp lib dir found
	interp=$(readelf -lW "$elf" | sed -n 's/.*Requesting program interpreter: \(.*\)]/\1/p')
	if [ -n "$interp" ] && [ ! -e "$root$interp" ]; then
		install -D -m 0755 "$(readlink -f "$sysroot$interp")" "$root$interp"
	fi
	for lib in $(readelf -dW "$elf" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
		[ -e "$root/lib/aarch64-linux-gnu/$lib" ] && continue
		found=
		local dirs=("$sysroot/lib/aarch64-linux-gnu" "$sysroot/usr/lib/aarch64-linux-gnu")
		[ -z "$target_tools" ] || dirs+=("$target_tools/lib/aarch64-linux-gnu" "$target_tools/usr/lib/aarch64-linux-gnu")
		for dir in "${dirs[@]}"; do
			if [ -e "$dir/$lib" ]; then found=$dir/$lib; break; fi
		done
		[ -n "$found" ] || die "$lib (needed by $elf) is not in the sysroot $sysroot${target_tools:+ nor in $target_tools}"
		install -D -m 0755 "$(readlink -f "$found")" "$root/lib/aarch64-linux-gnu/$lib"
		copy_sysroot_libs "$found"
	done
}

# install_fs_tools SRC: real mkfs programs for the partitioner (BusyBox's
# mke2fs makes only ext2), and e2fsck, which ota-init runs on a data
# partition that does not mount, from the tree SRC ("": this host's, for
# amd64; --target-tools' for arm64).
install_fs_tools() {
	local src=$1 prog
	for prog in /sbin/mke2fs /sbin/mkfs.fat /sbin/e2fsck; do
		[ -f "$src$prog" ] || die "$src$prog missing${src:+ (tests/vm/fetch-target-tools.sh)}"
		rm -f "$root$prog"
		copy_with_libs "$src$prog" "$prog"
	done
	ln -sf mke2fs "$root/sbin/mkfs.ext4"
	ln -sf mkfs.fat "$root/sbin/mkfs.vfat"
}

say "assembling the root filesystem"
mkdir -p "$root"
cp -a "$here/rootfs/." "$root/"
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,run,tmp,root,var,mnt}
chmod 1777 "$root/tmp"
install -m 0755 "$busybox" "$root/bin/busybox"
"${BB_RUN[@]}" "$busybox" --list-full | while read -r applet; do
	[ -e "$root/$applet" ] || ln -s /bin/busybox "$root/$applet"
done
if [ "$arch" = amd64 ]; then
	install -m 0755 -s "$bin_dir/ota-init" "$root/sbin/ota-init"
	install_fs_tools ""
else
	need aarch64-linux-gnu-strip
	aarch64-linux-gnu-strip -o "$root/sbin/ota-init" "$bin_dir/ota-init"
	chmod 0755 "$root/sbin/ota-init"
	[ -z "$target_tools" ] || install_fs_tools "$target_tools"
	# virt has one UART (the console); the agent talks over a virtio console.
	sed -i -e 's|^::respawn:/usr/libexec/ota-test-agent /dev/ttyS1$|::respawn:/usr/libexec/ota-test-agent /dev/hvc0|' \
		-e 's|^ttyS0::|ttyAMA0::|' "$root/etc/inittab"
	grep -q 'ota-test-agent /dev/hvc0' "$root/etc/inittab" || die "the agent line of etc/inittab was not found"
fi
install -m 0644 /etc/mke2fs.conf "$root/etc/mke2fs.conf"
for b in "$bin_dir"/*; do
	name=$(basename "$b")
	[ "$name" = ota-init ] && continue
	[ -x "$b" ] && [ -f "$b" ] && copy_with_libs "$b" "/usr/bin/$name"
done

if [ $grub = 1 ] || [ $uboot = 1 ]; then
	if [ "$arch" = arm64 ]; then
		# Debian's arm64 vmlinuz is an uncompressed Image (33 MB): gzipped it
		# leaves room in the 64 MiB slot; U-Boot unzips it before booti.
		mkdir -p "$root/boot"
		gzip -9 -n -c "$kernel_dir/vmlinuz" > "$root/boot/vmlinuz"
	else
		install -D -m 0644 "$kernel_dir/vmlinuz" "$root/boot/vmlinuz"
	fi
	install -D -m 0644 "$kernel_dir/initramfs.cpio.gz" "$root/boot/initrd.img"
	# The [bootflow] section becomes the machine's, and a trial watchdog is set.
	awk '/^\[/ { skip = ($0 == "[bootflow]") } !skip' "$root/etc/ota/system.conf" > "$work/system.conf"
	if [ $grub = 1 ]; then
		cat >> "$work/system.conf" <<-'CONF'

		[bootflow]
		type = grub
		# The ESP, mounted privately while the boot state is read or written.
		device = PARTLABEL=esp
		CONF
	elif [ "$uboot_env_mode" = native ]; then
		cat >> "$work/system.conf" <<-'CONF'

		[bootflow]
		type = uboot
		# Native mode: U-Boot's own environment (qemu_arm64: CONFIG_ENV_IS_IN_FLASH,
		# one copy of CONFIG_ENV_SIZE at CONFIG_ENV_ADDR 0x4000000, the start of
		# the virt machine's second flash bank), written through the kernel's
		# MTD device of the flash (both banks: 128 MiB, 256 KiB erase blocks).
		env-mode = native
		env = /dev/mtd0
		env-offset = 0x4000000
		env-size = 0x40000
		CONF
	else
		cat >> "$work/system.conf" <<-'CONF'

		[bootflow]
		type = uboot
		# File mode: U-Boot's `env export -t` files on the FAT boot partition,
		# mounted privately while the boot state is read or written.
		env-mode = file
		device = PARTLABEL=boot
		env = /ota.env
		CONF
	fi
	cat >> "$work/system.conf" <<-CONF
	tries = 3

	[init]
	# Seconds a trial boot has to commit before the watchdog resets it.
	trial-watchdog = $trial_watchdog
	CONF
	cp "$work/system.conf" "$root/etc/ota/system.conf"
fi
# --remove-destination: the root is full of absolute symlinks (/sbin/init ->
# /bin/busybox); writing through one would write the build host's file.
[ -n "$extra_root" ] && cp -a --remove-destination "$extra_root/." "$root/"
if [ -n "$root_dir" ]; then
	echo "otaroot test system $version" > "$root/etc/ota-release"
	say "done: $root_dir (root filesystem tree, version $version)"
	exit 0
fi
sed -i "s/@VERSION@/$version/" "$root/etc/ota/system.conf"
# --data-device: [data] device (the tests' way to break a system's data mount)
[ -z "$data_device" ] || sed -i "0,/^device = auto$/s||device = $data_device|" "$root/etc/ota/system.conf"
echo "otaroot test system $version" > "$root/etc/ota-release"

say "making filesystems"
mkfs.ext4 -q -F -L system-a -E root_owner=0:0 -d "$root" "$work/system-a.ext4" $((SLOT_SECTORS / 2))k
if [ $rootfs_only = 1 ]; then
	mv "$work/system-a.ext4" "$out"
	say "done: $out (system filesystem, version $version)"
	exit 0
fi
[ $with_data = 1 ] && mkfs.ext4 -q -F -L data "$work/data.ext4" $((DATA_SECTORS / 2))k

say "writing the GPT to $out (${IMAGE_MIB} MiB)"
ROOT_TYPE=4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709
[ "$arch" = amd64 ] || ROOT_TYPE=B921B045-1DF0-41C3-AF44-4C6F280D3FAE
rm -f "$out"
truncate -s "${IMAGE_MIB}M" "$out"
{
	echo "label: gpt"
	echo "label-id: 0FA7C0DE-0000-4000-8000-000000000001"
	echo "unit: sectors"
	echo "first-lba: 2048"
	[ $uboot = 1 ] && echo "start=$ESP_START, size=$ESP_SECTORS, type=EBD0A0A2-B9E5-4433-87C0-68B6B72699C7, uuid=0FA7C0DE-0000-4000-8000-0000000000B0, name=boot, attrs=LegacyBIOSBootable"
	[ $grub = 1 ] && echo "start=$ESP_START, size=$ESP_SECTORS, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, uuid=0FA7C0DE-0000-4000-8000-0000000000EF, name=esp"
	# root-x86-64 or root-arm64 (Discoverable Partitions) for the slots, Linux data for data.
	echo "start=$A_START, size=$SLOT_SECTORS, type=$ROOT_TYPE, uuid=0FA7C0DE-0000-4000-8000-00000000000A, name=system-a"
	[ $with_b = 1 ] && echo "start=$B_START, size=$SLOT_SECTORS, type=$ROOT_TYPE, uuid=0FA7C0DE-0000-4000-8000-00000000000B, name=system-b"
	[ $with_data = 1 ] && echo "start=$DATA_START, size=$DATA_SECTORS, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, uuid=0FA7C0DE-0000-4000-8000-0000000000DA, name=data"
	true
} | sfdisk --quiet --no-reread --no-tell-kernel "$out" >/dev/null

dd if="$work/system-a.ext4" of="$out" bs=512 seek=$A_START conv=notrunc,sparse status=none
if [ $grub = 1 ] && [ "$arch" = arm64 ]; then
	# ota-grubenv of the arm64 build, under qemu-user; GRUB from the modules
	# fetch-kernel.sh --arch arm64 unpacked beside the kernel.
	printf '#!/bin/sh\nexec qemu-aarch64-static -L %s %s "$@"\n' "$sysroot" "$bin_dir/ota-grubenv" > "$work/ota-grubenv"
	chmod 0755 "$work/ota-grubenv"
	"$here/../../tools/mkesp-grub.sh" --out "$work/esp.img" --board "$here/grub-board-arm64.cfg" --groups a,b \
		--grubenv "$work/ota-grubenv" --size-mib $((ESP_SECTORS / 2048)) \
		--target arm64-efi --modules "$kernel_dir/grub/arm64-efi" >/dev/null
	dd if="$work/esp.img" of="$out" bs=512 seek=$ESP_START conv=notrunc,sparse status=none
elif [ $grub = 1 ]; then
	"$here/../../tools/mkesp-grub.sh" --out "$work/esp.img" --board "$here/grub-board.cfg" --groups a,b \
		--grubenv "$bin_dir/ota-grubenv" --size-mib $((ESP_SECTORS / 2048)) >/dev/null
	dd if="$work/esp.img" of="$out" bs=512 seek=$ESP_START conv=notrunc,sparse status=none
fi
if [ $uboot = 1 ] && [ "$arch" = arm64 ] && [ "$uboot_env_mode" = native ]; then
	# The board's settings, then the generic script, as one boot.scr; native
	# env mode: no env files, U-Boot's env is in flash.
	cat > "$work/boot.cmd" <<-'BOARD'
	# The QEMU arm64 test machine (tests/vm/mkimage.sh --uboot --arch arm64):
	# Debian's qemu_arm64 U-Boot, its env in the second flash bank, one
	# virtio disk; partition 1 FAT (this script), 2 and 3 the groups' roots
	# with the kernel (a gzipped arm64 Image) in /boot.
	setenv ota_cmdline "console=ttyAMA0 panic=-1 no_timer_check"
	setenv ota_boot_a 'setenv bootargs "${bootargs} root=PARTLABEL=system-a"; load virtio 0:2 ${ramdisk_addr_r} /boot/vmlinuz && unzip ${ramdisk_addr_r} ${kernel_addr_r} && load virtio 0:2 ${ramdisk_addr_r} /boot/initrd.img && booti ${kernel_addr_r} ${ramdisk_addr_r}:${filesize} ${fdtcontroladdr}'
	setenv ota_boot_b 'setenv bootargs "${bootargs} root=PARTLABEL=system-b"; load virtio 0:3 ${ramdisk_addr_r} /boot/vmlinuz && unzip ${ramdisk_addr_r} ${kernel_addr_r} && load virtio 0:3 ${ramdisk_addr_r} /boot/initrd.img && booti ${kernel_addr_r} ${ramdisk_addr_r}:${filesize} ${fdtcontroladdr}'
	BOARD
	cat "$here/../../bootflow/uboot/boot.cmd" >> "$work/boot.cmd"
	mkimage -A arm64 -O linux -T script -C none -n otaroot -d "$work/boot.cmd" "$work/boot.scr" >/dev/null
	# The env the board is provisioned with, as a factory writes it to the
	# flash (vm.py puts it at the start of the second bank): what U-Boot's
	# default env would do here (PCI and virtio up, boot.scr from
	# partition 1), the load addresses of qemu_arm64's default env, and
	# ota_default, which ota-update requires. mkenvimage: CRC + data, one
	# copy of CONFIG_ENV_SIZE.
	cat > "$work/uboot-env.txt" <<-'ENV'
	bootcmd=pci enum; virtio scan; load virtio 0:1 ${scriptaddr} /boot.scr && source ${scriptaddr}
	bootdelay=0
	scriptaddr=0x40200000
	kernel_addr_r=0x40400000
	ramdisk_addr_r=0x44000000
	ota_default=a
	ENV
	mkenvimage -s 0x40000 -o "$out.uboot-env" "$work/uboot-env.txt"
	mkfs.fat -C -n OTA-BOOT "$work/boot.img" $((ESP_SECTORS / 2)) >/dev/null
	MTOOLS_SKIP_CHECK=1 mcopy -i "$work/boot.img" "$work/boot.scr" ::/
	dd if="$work/boot.img" of="$out" bs=512 seek=$ESP_START conv=notrunc,sparse status=none
elif [ $uboot = 1 ]; then
	# The board's settings, then the generic script, as one boot.scr.
	if [ "$arch" = arm64 ]; then
		cat > "$work/boot.cmd" <<-'BOARD'
		# The QEMU arm64 test machine in file mode (tests/vm/mkimage.sh --uboot
		# --arch arm64 --uboot-env-mode file): Debian's qemu_arm64 U-Boot, one
		# virtio disk; partition 1 FAT (this script, the env files), 2 and 3
		# the groups' roots with the kernel (a gzipped arm64 Image) in /boot.
		setenv ota_env_dev virtio
		setenv ota_env_part 0:1
		setenv ota_cmdline "console=ttyAMA0 panic=-1 no_timer_check"
		setenv ota_boot_a 'setenv bootargs "${bootargs} root=PARTLABEL=system-a"; load virtio 0:2 ${ramdisk_addr_r} /boot/vmlinuz && unzip ${ramdisk_addr_r} ${kernel_addr_r} && load virtio 0:2 ${ramdisk_addr_r} /boot/initrd.img && booti ${kernel_addr_r} ${ramdisk_addr_r}:${filesize} ${fdtcontroladdr}'
		setenv ota_boot_b 'setenv bootargs "${bootargs} root=PARTLABEL=system-b"; load virtio 0:3 ${ramdisk_addr_r} /boot/vmlinuz && unzip ${ramdisk_addr_r} ${kernel_addr_r} && load virtio 0:3 ${ramdisk_addr_r} /boot/initrd.img && booti ${kernel_addr_r} ${ramdisk_addr_r}:${filesize} ${fdtcontroladdr}'
		BOARD
	else
		cat > "$work/boot.cmd" <<-'BOARD'
		# The QEMU test machine (tests/vm/mkimage.sh --uboot): Debian's qemu-x86
		# U-Boot, one virtio disk; partition 1 FAT (this script, the env files),
		# 2 and 3 the groups' roots with the kernel in /boot.
		setenv ota_env_dev virtio
		setenv ota_env_part 0:1
		setenv ota_cmdline "console=ttyS0 panic=-1 no_timer_check"
		setenv ota_boot_a 'setenv bootargs "${bootargs} root=PARTLABEL=system-a"; load virtio 0:2 ${kernel_addr_r} /boot/vmlinuz && load virtio 0:2 ${ramdisk_addr_r} /boot/initrd.img && zboot ${kernel_addr_r} 0 ${ramdisk_addr_r} ${filesize}'
		setenv ota_boot_b 'setenv bootargs "${bootargs} root=PARTLABEL=system-b"; load virtio 0:3 ${kernel_addr_r} /boot/vmlinuz && load virtio 0:3 ${ramdisk_addr_r} /boot/initrd.img && zboot ${kernel_addr_r} 0 ${ramdisk_addr_r} ${filesize}'
		BOARD
	fi
	cat "$here/../../bootflow/uboot/boot.cmd" >> "$work/boot.cmd"
	mkimage -A "$([ "$arch" = arm64 ] && echo arm64 || echo x86)" -O linux -T script -C none -n otaroot \
		-d "$work/boot.cmd" "$work/boot.scr" >/dev/null
	printf 'ota_default=a\nota_seq=0\nota_valid=0\n' > "$work/ota.env"
	mkfs.fat -C -n OTA-BOOT "$work/boot.img" $((ESP_SECTORS / 2)) >/dev/null
	MTOOLS_SKIP_CHECK=1 mcopy -i "$work/boot.img" "$work/boot.scr" "$work/ota.env" ::/
	MTOOLS_SKIP_CHECK=1 mcopy -i "$work/boot.img" "$work/ota.env" ::/ota.env.bak
	dd if="$work/boot.img" of="$out" bs=512 seek=$ESP_START conv=notrunc,sparse status=none
fi
[ $with_data = 1 ] && dd if="$work/data.ext4" of="$out" bs=512 seek=$DATA_START conv=notrunc,sparse status=none
say "done: $out"

#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# board.sh BOARD OTA_BUNDLE OTA_PART OTA_GRUBENV TARGET_BUILD OTA_IMAGE: runs
# a board's post-build.sh and post-image.sh (board/BOARD/) the way Buildroot
# does: the otaroot programs of TARGET_BUILD (a CMake build for the board's
# architecture: build-arm64 for the Raspberry Pi 4) installed into the target
# as the Buildroot package installs them, on stand-in inputs otherwise:
# a tiny root filesystem (rootfs.ext4 by mke2fs -d, rootfs.tar), stand-in
# kernel, DTBs and firmware, our ota-bundle, ota-grubenv and ota-image
# (which both boards' post-image runs) as the host tools and a throwaway CA.
# (tests/vm/test_board.py boots the QEMU board's image made from the real
# test system.) Then checks the disk image (sfdisk --json, mtools, debugfs),
# that it is ota-image's (the same bytes as ota-image makes from the
# description post-image.sh wrote), that the bundle verifies against the image's
# keyring, that ota-part finds the image a prefix of the board's layout.conf
# and provisions it on a bigger disk, and the scripts' errors (no signing
# key, no host tool, no rootfs.tar, wrong boot flow).
set -euo pipefail
. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../../tools/need.sh"
need cmake debugfs grub-mkimage mdir mtype mke2fs readelf sfdisk mkfs.fat mcopy /bin/busybox
usage="usage: board.sh BOARD OTA_BUNDLE OTA_PART OTA_GRUBENV TARGET_BUILD OTA_IMAGE"
board=${1:?$usage}
# The host's ota-bundle (Buildroot's host-otaroot) when the caller has one
# (tools/run-tests.sh), else OTA_BUNDLE, which may be emulated.
ota_bundle=$(realpath "${OTA_HOST_OTA_BUNDLE:-${2:?$usage}}")
ota_part=$(realpath "${3:?$usage}")
ota_grubenv=$(realpath "${4:?$usage}")
target_build=$(realpath "${5:?$usage}")
# The host's ota-image likewise (OTA_HOST_OTA_IMAGE), else OTA_IMAGE.
ota_image=$(realpath "${OTA_HOST_OTA_IMAGE:-${6:?$usage}}")
repo=$(cd "$(dirname "$0")/../.." && pwd)
bdir=$repo/board/$board
# The QEMU board's ota-image builds GRUB from Debian's modules.
[ "$board" != qemu-x86_64 ] || need /usr/lib/grub/x86_64-efi
fails=0
ok() { echo "ok   $*"; }
fail() { echo "FAIL $*"; fails=$((fails + 1)); }
check() { local what=$1; shift; if "$@"; then ok "$what"; else fail "$what"; fi; }

work=$(mktemp -d /tmp/otaroot-board-XXXXXX)
trap 'rm -rf "$work"' EXIT
export BR2_EXTERNAL_OTAROOT_PATH=$repo/kconfig
export TARGET_DIR=$work/target BINARIES_DIR=$work/images HOST_DIR=$work/host BUILD_DIR=$work/build
export BR2_CONFIG=$work/.config
mkdir -p "$TARGET_DIR"/{etc/ota,sbin,boot} "$BINARIES_DIR" "$HOST_DIR/bin" "$BUILD_DIR"
ln -s "$ota_bundle" "$HOST_DIR/bin/ota-bundle"
ln -s "$ota_grubenv" "$HOST_DIR/bin/ota-grubenv"
ln -s "$ota_image" "$HOST_DIR/bin/ota-image"
: > "$BR2_CONFIG"

# What the otaroot package installs (BR2_PACKAGE_OTAROOT_*_CONF), and a
# skeleton fstab with the /run line post-build must drop.
"$repo/tests/vm/demo-pki.sh" "$work/pki" >/dev/null
"$repo/tests/vm/demo-pki.sh" "$work/other-pki" >/dev/null
cp "$bdir/system.conf" "$TARGET_DIR/etc/ota/system.conf"
cp "$bdir/layout.conf" "$TARGET_DIR/etc/ota/layout.conf"
cp "$repo/board/common/state.conf" "$TARGET_DIR/etc/ota/state.conf"
cp "$work/pki/keyring.pem" "$TARGET_DIR/etc/ota/keyring.pem"
printf '/dev/root\t/\text2\trw,noauto\t0\t1\nproc\t/proc\tproc\tdefaults\t0\t0\ntmpfs\t/run\ttmpfs\tmode=0755,nosuid,nodev\t0\t0\n' > "$TARGET_DIR/etc/fstab"
# The otaroot package is a CMake package: its install step, with ota-init in
# /sbin (the package's -DOTA_INIT_INSTALL_DIR=/sbin).
DESTDIR=$TARGET_DIR cmake --install "$target_build" --prefix /usr >/dev/null
mv "$TARGET_DIR/usr/sbin/ota-init" "$TARGET_DIR/sbin/ota-init"
case $board in
raspberrypi4) machine=AArch64 ;;
qemu-x86_64) machine="Advanced Micro Devices X86-64" ;;
*) echo "unknown board $board" >&2; exit 2 ;;
esac
check "ota-init of $target_build is built for $machine" \
	bash -c "readelf -h '$TARGET_DIR/sbin/ota-init' | grep -q 'Machine: *$machine\$'"
check "... and static (no program interpreter)" bash -c "! readelf -l '$TARGET_DIR/sbin/ota-init' | grep -q INTERP"
[ "$board" != qemu-x86_64 ] || head -c 64K /dev/urandom > "$TARGET_DIR/boot/bzImage"
# BusyBox init as Buildroot installs it (ota-image refuses a root without
# /sbin/init; a stand-in of the host's architecture: only ota-init's is checked).
install -D -m 0755 /bin/busybox "$TARGET_DIR/bin/busybox"
ln -s ../bin/busybox "$TARGET_DIR/sbin/init"

export OTAROOT_VERSION=2025.01.1
check "post-build.sh runs" "$bdir/post-build.sh" "$TARGET_DIR"
check "post-build: version filled in" grep -q '^version = 2025.01.1$' "$TARGET_DIR/etc/ota/system.conf"
check "post-build: /run tmpfs gone from fstab" bash -c "! grep -q '/run' '$TARGET_DIR/etc/fstab'"
check "post-build: proc still in fstab" grep -q '^proc' "$TARGET_DIR/etc/fstab"
case $board in
raspberrypi4) check "post-build: /boot/firmware (bootfs's mount point) made" test -d "$TARGET_DIR/boot/firmware" ;;
qemu-x86_64) check "system.conf: [bootflow] device = PARTLABEL=esp (ota-update mounts the ESP itself)" \
	test "$(sed -n '/^\[bootflow\]/,/^\[/s/^device = //p' "$TARGET_DIR/etc/ota/system.conf")" = PARTLABEL=esp ;;
esac
[ "$board" = qemu-x86_64 ] && check "post-build: /boot/vmlinuz -> bzImage" test "$(readlink "$TARGET_DIR/boot/vmlinuz")" = bzImage
mke2fs -q -F -t ext4 -L rootfs -d "$TARGET_DIR" "$BINARIES_DIR/rootfs.ext4" 32M
for f in sbin/ota-init usr/bin/ota-update usr/bin/ota-state usr/sbin/ota-part; do
	rm -f "$work/dumped"
	debugfs -R "dump /$f $work/dumped" "$BINARIES_DIR/rootfs.ext4" >/dev/null 2>&1 || true
	check "root filesystem has the target build's /$f" cmp -s "$work/dumped" "$target_build/bin/${f##*/}"
done

case $board in
raspberrypi4)
	mkdir -p "$BINARIES_DIR/rpi-firmware/overlays"
	echo start4 > "$BINARIES_DIR/rpi-firmware/start4.elf"
	echo fixup4 > "$BINARIES_DIR/rpi-firmware/fixup4.dat"
	echo overlay > "$BINARIES_DIR/rpi-firmware/overlays/miniuart-bt.dtbo"
	head -c 256K /dev/urandom > "$BINARIES_DIR/Image"
	for d in bcm2711-rpi-4-b bcm2711-rpi-400 bcm2711-rpi-cm4; do echo dtb > "$BINARIES_DIR/$d.dtb"; done
	;;
esac
# BR2_TARGET_ROOTFS_TAR: made under Buildroot's fakeroot, root's files.
tar -C "$TARGET_DIR" --numeric-owner --owner=0 --group=0 -cf "$BINARIES_DIR/rootfs.tar" .
disk=disk.img

# post-image without a signing key: a clear error, no bundle.
out=$("$bdir/post-image.sh" "$BINARIES_DIR" 2>&1) && rc=0 || rc=$?
check "post-image without a key fails" test $rc != 0
check "... saying which variables to set" grep -q 'OTAROOT_SIGNING_KEY and OTAROOT_SIGNING_CERT' <<< "$out"
rm -f "$BINARIES_DIR/update.otab"

# Keys through the BR2 options this time (the environment is tested by the
# error above and by docs/buildroot.md).
cat > "$BR2_CONFIG" <<CFG
BR2_PACKAGE_HOST_OTAROOT_SIGNING_KEY="$work/pki/signer.key"
BR2_PACKAGE_HOST_OTAROOT_SIGNING_CERT="$work/pki/signer.pem"
CFG
check "post-image.sh runs" bash -c "'$bdir/post-image.sh' '$BINARIES_DIR' > '$work/post-image.log' 2>&1 || { cat '$work/post-image.log'; false; }"
img=$BINARIES_DIR/$disk
compatible=$(sed -n 's/^compatible = //p' "$TARGET_DIR/etc/ota/system.conf")
check "$disk made" test -f "$img"
check "update.otab made" test -f "$BINARIES_DIR/update.otab"
check "post-image says ota-image made the disk" grep -q 'disk image .*disk.img (ota-image)' "$work/post-image.log"
# The disk is ota-image's: the same bytes from the description post-image wrote.
mkdir -p "$work/again"
check "ota-image build from post-image's image.conf and rootfs.tar" "$ota_image" build "$BINARIES_DIR/image.conf" \
	--rootfs "$BINARIES_DIR/rootfs.tar" -o "$work/again" --data-dir "$repo/bootflow" -q
check "... gives the same disk.img (one implementation)" cmp "$work/again/disk.img" "$img"
desc_get() { sed -n "/^\[$1\]/,/^\[/s/^$2 = //p" "$BINARIES_DIR/image.conf"; }
check "image.conf: compatible and version from system.conf" \
	test "$(desc_get system compatible) $(desc_get system version)" = "$compatible 2025.01.1"

check "bundle verifies against the image's keyring" \
	"$ota_bundle" verify --keyring "$TARGET_DIR/etc/ota/keyring.pem" --compatible "$compatible" "$BINARIES_DIR/update.otab"
check "bundle does not verify against another CA" \
	bash -c "! '$ota_bundle' verify --keyring '$work/other-pki/keyring.pem' '$BINARIES_DIR/update.otab' >/dev/null 2>&1"
inspect=$("$ota_bundle" inspect "$BINARIES_DIR/update.otab")
check "bundle version is the image's" grep -q '2025.01.1' <<< "$inspect"

json=$(sfdisk --json "$img")
ptable() { python3 -c "import json,sys; t=json.load(sys.stdin)['partitiontable']; print(eval(sys.argv[1]))" "$1" <<< "$json"; }
sectors() { echo $(( $1 * 2048 )); }
# mtools on partition N: -i IMAGE@@OFFSET
part_off() { echo $(( $(ptable "t['partitions'][$1]['start']") * 512 )); }
mfile() { MTOOLS_SKIP_CHECK=1 mtype -i "$img@@$(part_off "$1")" "::$2" 2>/dev/null; }
mhas() { MTOOLS_SKIP_CHECK=1 mdir -b -i "$img@@$(part_off "$1")" "::$2" >/dev/null 2>&1; }
# slot_file N PATH: PATH in the ext4 of partition N (debugfs on a copy of it)
slot_file() {
	[ -f "$work/part$1.ext4" ] || dd if="$img" of="$work/part$1.ext4" bs=512 skip="$(ptable "t['partitions'][$1]['start']")" \
		count="$(ptable "t['partitions'][$1]['size']")" status=none
	rm -f "$work/dumped"
	debugfs -R "dump $2 $work/dumped" "$work/part$1.ext4" >/dev/null 2>&1
	cat "$work/dumped" 2>/dev/null
}

case $board in
raspberrypi4)
	check "image.conf: slot-size and [rpi] boot-size from layout.conf" \
		test "$(desc_get image slot-size) $(desc_get rpi boot-size)" = "512M 128M"
	# The disk signature ota-image derives from the compatible, which
	# system.conf names the slots by.
	sig=519dd017
	check "MBR" test "$(ptable "t['label']")" = dos
	check "disk signature 0x$sig" test "$(ptable "t['id']")" = 0x$sig
	check "5 partitions (3 primary, extended, system-a)" test "$(ptable "len(t['partitions'])")" = 5
	# 0x05: the extended partition type ota-image writes (Linux reads it as it
	# reads 0x0f; the firmware boots from the primaries only).
	check "types c c c 5 83" test "$(ptable "' '.join(p['type'] for p in t['partitions'])")" = "c c c 5 83"
	check "p1 bootable" test "$(ptable "t['partitions'][0].get('bootable', False)")" = True
	check "sizes 64M 128M 128M, system-a 512M" \
		test "$(ptable "' '.join(str(t['partitions'][i]['size']) for i in (0,1,2,4))")" = "$(sectors 64) $(sectors 128) $(sectors 128) $(sectors 512)"
	check "p1 autoboot.txt: tryboot, boot p2, try p3" \
		test "$(mfile 0 autoboot.txt | tr -d '\r' | tr '\n' ' ')" = "[all] tryboot_a_b=1 boot_partition=2 [tryboot] boot_partition=3 "
	check "p1 FAT label BOOTFS" test "$(blkid -p -O "$(part_off 0)" -s LABEL -o value "$img")" = BOOTFS
	check "p1 holds only autoboot.txt" test "$(MTOOLS_SKIP_CHECK=1 mdir -b -i "$img@@$(part_off 0)" :: | wc -l)" = 1
	for f in config.txt cmdline-a.txt cmdline-b.txt Image start4.elf fixup4.dat bcm2711-rpi-4-b.dtb bcm2711-rpi-cm4.dtb overlays/miniuart-bt.dtbo; do
		check "boot-a has $f" mhas 1 "$f"
	done
	check "boot-a Image is the kernel" cmp -s <(mfile 1 Image) "$BINARIES_DIR/Image"
	mfile 1 config.txt > "$work/config.txt"
	check "boot-a config.txt: kernel=Image, Pi 4 firmware" \
		bash -c "grep -qx kernel=Image '$work/config.txt' && grep -qx start_file=start4.elf '$work/config.txt'"
	check "boot-a config.txt has the board's lines" \
		bash -c "grep -v '^#' '$bdir/config.txt' | while read -r l; do grep -qxF \"\$l\" '$work/config.txt' || exit 1; done"
	check "cmdline-a: root=PARTUUID=$sig-05 ota.slot=a init=/sbin/ota-init, the board's consoles" \
		bash -c "mtype -i '$img@@$(part_off 1)' ::cmdline-a.txt | grep 'root=PARTUUID=$sig-05 ' | grep ' ota.slot=a ' | grep ' init=/sbin/ota-init ' | grep -q 'console=ttyAMA0,115200'"
	check "cmdline-b: root=PARTUUID=$sig-06 ota.slot=b" \
		bash -c "mtype -i '$img@@$(part_off 1)' ::cmdline-b.txt | grep 'root=PARTUUID=$sig-06 ' | grep -q ' ota.slot=b '"
	check "boot-b unformatted" bash -c "! blkid -p -O $(part_off 2) '$img' >/dev/null 2>&1"
	system_part=4
	check "system-a's fstab mounts bootfs (PARTUUID=$sig-01) on /boot/firmware" \
		grep -Eq "^PARTUUID=$sig-01[[:space:]]+/boot/firmware[[:space:]]+vfat" <(slot_file "$system_part" /etc/fstab)
	check "system-a's system.conf: slots by PARTUUID=$sig-0N" \
		grep -qx "device = PARTUUID=$sig-06" <(slot_file "$system_part" /etc/ota/system.conf)
	check "bundle payloads boot and system" bash -c "grep -qw boot <<< '$inspect' && grep -qw system <<< '$inspect'"
	;;
qemu-x86_64)
	check "image.conf: slot-size and esp-size from layout.conf" \
		test "$(desc_get image slot-size) $(desc_get image esp-size)" = "512M 64M"
	check "GPT" test "$(ptable "t['label']")" = gpt
	check "2 partitions: esp, system-a" test "$(ptable "' '.join(p['name'] for p in t['partitions'])")" = "esp system-a"
	check "esp is an EFI system partition" test "$(ptable "t['partitions'][0]['type']")" = C12A7328-F81F-11D2-BA4B-00A0C93EC93B
	check "system-a is root-x86-64" test "$(ptable "t['partitions'][1]['type']")" = 4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709
	check "sizes esp 64M, system-a 512M" \
		test "$(ptable "' '.join(str(p['size']) for p in t['partitions'])")" = "$(sectors 64) $(sectors 512)"
	check "ESP has EFI/BOOT/BOOTX64.EFI" mhas 0 EFI/BOOT/BOOTX64.EFI
	for f in grub.cfg flow.cfg; do
		check "ESP otaroot/$f is bootflow/grub/$f" diff <(mfile 0 otaroot/$f) "$repo/bootflow/grub/$f"
	done
	mfile 0 otaroot/board.cfg > "$work/board.cfg"
	check "board.cfg: the board's kernel command line" grep -q 'console=ttyS0 panic=5 no_timer_check' "$work/board.cfg"
	mkdir -p "$work/state"
	for f in env1 env2 tries; do
		mfile 0 otaroot/$f > "$work/state/$f"
		check "ESP otaroot/$f is 1024 bytes" test "$(stat -c %s "$work/state/$f")" = 1024
	done
	check "ESP state: group a, no trial" test "$("$ota_grubenv" show "$work/state" --groups a,b | tr '\n' ' ')" = \
		"copy=1 seq=1 default=a trial= trial_id= tries=0 boot=a boot_trial=0 "
	# board.cfg boots what system.conf and the layout name.
	for g in a b; do
		check "board.cfg root= of group $g is system.conf's slot device" \
			grep -q "ota_root_$g=.*$(sed -n "/^\[slot.system-$g\]/,/^\[/s/^device = //p" "$TARGET_DIR/etc/ota/system.conf")" "$work/board.cfg"
	done
	system_part=1
	check "system-a's /boot/vmlinuz is the kernel" cmp -s <(slot_file "$system_part" /boot/bzImage) "$TARGET_DIR/boot/bzImage"
	check "bundle payload system" grep -qw system <<< "$inspect"
	check "start-qemu.sh made" test -x "$BINARIES_DIR/start-qemu.sh"
	;;
esac
# system-a (partition system_part) holds the target, with ota-image's files.
check "system-a holds the target build's /sbin/ota-init" cmp -s <(slot_file "$system_part" /sbin/ota-init) "$target_build/bin/ota-init"
check "system-a's keyring is the target's" cmp -s <(slot_file "$system_part" /etc/ota/keyring.pem) "$TARGET_DIR/etc/ota/keyring.pem"
check "system-a's system.conf has the board's compatible" grep -qx "compatible = $compatible" <(slot_file "$system_part" /etc/ota/system.conf)
# Every setting of the target's system.conf reached the image (ota-image's
# [image] system-conf), e.g. the board's [data] options.
conf_keys() { awk '/^\[/ { s = $0; next } /^[^#;].*=/ { print s " " $0 }' | sort -u; }
check "system-a's system.conf keeps every setting of the target's" \
	test -z "$(comm -23 <(conf_keys < "$TARGET_DIR/etc/ota/system.conf") <(slot_file "$system_part" /etc/ota/system.conf | conf_keys))"
check "... [data] options among them" grep -qx "options = noatime" <(slot_file "$system_part" /etc/ota/system.conf)

# The image is a prefix of layout.conf: ota-part on a 2 GiB copy plans to
# keep what ships and create the rest, applies it, and then has nothing to do.
cp --sparse=always "$img" "$work/disk"
truncate -s 2G "$work/disk"
plan=$("$ota_part" --layout "$bdir/layout.conf" plan "$work/disk" 2>&1) && rc=0 || rc=$?
echo "$plan" | sed 's/^/     /'
check "ota-part plan accepts the image" test $rc = 0
check "ota-part apply provisions it" "$ota_part" --layout "$bdir/layout.conf" apply "$work/disk"
after=$(sfdisk --json "$work/disk")
json=$after
case $board in
raspberrypi4)
	check "provisioned: p1-p7, types c c c 5 83 83 83" \
		test "$(ptable "' '.join(p['type'] for p in t['partitions'])")" = "c c c 5 83 83 83"
	;;
qemu-x86_64)
	check "provisioned: esp system-a system-b data" \
		test "$(ptable "' '.join(p['name'] for p in t['partitions'])")" = "esp system-a system-b data"
	check "board.cfg: system-a is partition 2, system-b 3" \
		bash -c "grep -q 'ota_part_a=2' '$work/board.cfg' && grep -q 'ota_part_b=3' '$work/board.cfg'"
	;;
esac
n=$(ptable "len(t['partitions'])")
check "data partition has an ext4 labelled data" \
	test "$(blkid -p -O "$(( $(ptable "t['partitions'][$n-1]['start']") * 512 ))" -s LABEL -o value "$work/disk")" = data
plan2=$("$ota_part" --layout "$bdir/layout.conf" --json plan "$work/disk" 2>&1) || true
check "second plan has nothing to create" bash -c "! grep -q '\"create\"' <<< '$plan2'"

# Without rootfs.tar or the host ota-image (host-otaroot) a board cannot
# make its image: a clear error naming the option.
mv "$BINARIES_DIR/rootfs.tar" "$work/rootfs.tar"
out=$("$bdir/post-image.sh" "$BINARIES_DIR" 2>&1) && rc=0 || rc=$?
check "post-image without rootfs.tar fails" test $rc != 0
check "... naming BR2_TARGET_ROOTFS_TAR" grep -q 'rootfs.tar missing: enable BR2_TARGET_ROOTFS_TAR' <<< "$out"
mv "$work/rootfs.tar" "$BINARIES_DIR/rootfs.tar"
rm "$HOST_DIR/bin/ota-image"
out=$("$bdir/post-image.sh" "$BINARIES_DIR" 2>&1) && rc=0 || rc=$?
check "post-image without the host ota-image fails" test $rc != 0
check "... naming BR2_PACKAGE_HOST_OTAROOT" grep -q 'ota-image missing: enable BR2_PACKAGE_HOST_OTAROOT' <<< "$out"
# A system.conf for another boot flow is refused by the board's post-build.
sed -i 's/^type = .*/type = custom/' "$TARGET_DIR/etc/ota/system.conf"
check "post-build refuses a system.conf for another boot flow" bash -c "! '$bdir/post-build.sh' '$TARGET_DIR' 2>/dev/null"

if [ $fails -gt 0 ]; then
	echo "board $board: $fails check(s) failed" >&2
	exit 1
fi
echo "board $board: all passed"

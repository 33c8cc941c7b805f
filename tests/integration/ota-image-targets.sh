#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# ota-image-targets.sh SRC OTA_IMAGE OTA_BUNDLE OTA_PART OTA_INIT SYSCONF_DUMP:
# ota-image's rpi-tryboot and uboot targets without a VM or a board
# (docs/ota-image.md), each image parsed back:
#   - rpi-tryboot: the MBR (disk signature from the compatible, bootfs
#     active, boot-a, boot-b, the extended p4 and system-a as p5), bootfs's
#     autoboot.txt, boot-a's firmware files, kernel, initramfs, config.txt
#     and cmdline-{a,b}.txt (via mtools), system.conf (sysconf) and fstab in
#     the slot, layout.conf against the shipped MBR (ota-part plan), the
#     bundle (verified; its boot image is boot-a's, its system system-a);
#   - uboot: the GPT (boot LegacyBIOSBootable, system-a), boot.scr decoded
#     with mkimage -l and dumpimage (the board's lines for [uboot] device,
#     then bootflow/uboot/boot.cmd), the env files, system.conf, layout.conf,
#     the bundle; arm64 with a device tree (booti, unzip of a gzipped kernel);
#   - both: two builds (a later copy of the root, a tarball) give the same
#     bytes; a root lacking what the target boots is refused naming every
#     missing item, with no output; bad descriptions.
# ota-init is checked by its ELF header only: the arm64 one is the host's
# with e_machine patched (it never runs here).
set -uo pipefail
. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../lib/itest.sh"
need debugfs sfdisk mdir mtype mcopy mkimage dumpimage /bin/busybox
itest_begin "ota-image-targets.sh SRC OTA_IMAGE OTA_BUNDLE OTA_PART OTA_INIT SYSCONF_DUMP" SRC IMG BUNDLE PART INIT DUMP -- "$@"
export MTOOLS_SKIP_CHECK=1
(. "$SRC/tests/lib/pki.sh" && pki_init && pki_root root && pki_cert signer root signer) >pki.log 2>&1 ||
	{ cat pki.log; exit 1; }

# An arm64 ota-init as far as the root check can tell (EM_AARCH64 = 0xb7).
cp "$INIT" init-arm64 && printf '\267\000' | dd of=init-arm64 bs=1 seek=18 conv=notrunc status=none

# mkroot DIR INIT: fake_debian_root with an fstab naming the firmware partition.
mkroot() {
	fake_debian_root "$1" "$2" 6.1.0-t
	printf 'proc /proc proc defaults 0 0\nLABEL=RASPIFIRM /boot/firmware vfat defaults 0 2\n' >"$1/etc/fstab"
}
# The Raspberry Pi firmware as Debian's raspi-firmware leaves it in /boot/firmware.
add_firmware() {
	local f=$1/boot/firmware
	mkdir -p "$f/overlays"
	head -c 20000 /dev/urandom >"$f/start4.elf"
	head -c 3000 /dev/urandom >"$f/fixup4.dat"
	head -c 5000 /dev/urandom >"$f/bcm2711-rpi-4-b.dtb"
	head -c 5000 /dev/urandom >"$f/bcm2712-rpi-5-b.dtb"
	head -c 700 /dev/urandom >"$f/overlays/miniuart-bt.dtbo"
	echo 'kernel=the-roots-own' >"$f/config.txt"
}
mkroot rpi-root init-arm64 && add_firmware rpi-root
mkroot uboot-root "$INIT"
mkroot uboot64-root init-arm64
mkdir -p uboot64-root/usr/lib/linux-image-6.1.0-t/broadcom
head -c 4000 /dev/urandom >uboot64-root/usr/lib/linux-image-6.1.0-t/broadcom/bcm2711-rpi-4-b.dtb
gzip -n -c uboot64-root/boot/vmlinuz-6.1.0-t >k.gz && mv k.gz uboot64-root/boot/vmlinuz-6.1.0-t

# desc NAME TARGET ARCH [LINES...]
desc() {
	local name=$1 target=$2 arch=$3
	shift 3
	{
		printf '[image]\ntarget = %s\narch = %s\nslot-size = 64M\n' "$target" "$arch"
		printf '[system]\ncompatible = test-%s\nversion = 1.0\n' "$target"
		printf '[update]\nkeyring = root.pem\n[bootflow]\ntries = 2\n'
		printf '%s\n' "$@"
	} >"$name"
}
image() { "$IMG" "$@" --threads 2 --data-dir "$SRC/bootflow" -q; }
# reproducible TARGET DESC ROOT OUT: a later copy and a tarball of ROOT give
# OUT's bytes (a signed bundle: what is signed; its CMS has its signing time)
reproducible() {
	local t=$1 d=$2 r=$3 o=$4
	sleep 1.1
	cp -a "$r" "$r-later" && chmod 0755 "$r-later/etc"
	tar -C "$r" -czf "$r.tar.gz" .
	if image build "$d" --rootfs "$r-later" -o "$o-2" && image build "$d" --rootfs "$r.tar.gz" -o "$o-3"; then
		check "$t: reproducible: the same disk image from a later copy" cmp "$o/disk.img" "$o-2/disk.img"
		check "$t: reproducible: the same disk image from a tarball" cmp "$o/disk.img" "$o-3/disk.img"
		if "$BUNDLE" inspect "$o/update.otab" 2>/dev/null | grep -q '^signature: *none'; then
			check "$t: reproducible: the same bundle" cmp "$o/update.otab" "$o-2/update.otab"
		else
			"$BUNDLE" prepare "$o/update.otab" "$o.m1" >/dev/null && "$BUNDLE" prepare "$o-2/update.otab" "$o.m2" >/dev/null
			check "$t: reproducible: the same signed manifest" cmp "$o.m1" "$o.m2"
		fi
		check "$t: reproducible: the same block map" cmp "$o/disk.img.bmap" "$o-2/disk.img.bmap"
	else bad "$t: reproducible: second build" "exit $?"; fi
}
dump_conf() { debugfs -R "cat /etc/ota/$2" "$1" 2>/dev/null; }

# ==== rpi-tryboot ===========================================================
desc rpi.conf rpi-tryboot arm64 '[image]' 'kernel-cmdline = console=ttyAMA0,115200' '[rpi]' 'boot-size = 96M' 'config = extra.txt' \
	'[sign]' 'key = signer.key' 'cert = signer.pem'
printf 'dtoverlay=miniuart-bt\n' >extra.txt
if image build rpi.conf --rootfs rpi-root -o rpi; then ok "rpi: build"; else bad "rpi: build" "exit $?"; fi
check "rpi: disk.img, its bmap, update.otab" test -s rpi/disk.img -a -s rpi/disk.img.bmap -a -s rpi/update.otab
sfdisk -d rpi/disk.img >mbr.txt 2>&1
sig=$(sed -n 's/^label-id: 0x\([0-9a-f]*\)$/\1/p' mbr.txt)
check "rpi: an MBR with a disk signature" grep -qx 'label: dos' mbr.txt
check "rpi: p1 bootfs at 1 MiB, 64 MiB, FAT32 LBA, active" grep -Eq '^rpi/disk.img1 : start= +2048, size= +131072, type=c, bootable$' mbr.txt
check "rpi: p2 boot-a, 96 MiB" grep -Eq '^rpi/disk.img2 : start= +133120, size= +196608, type=c$' mbr.txt
check "rpi: p3 boot-b, 96 MiB" grep -Eq '^rpi/disk.img3 : start= +329728, size= +196608, type=c$' mbr.txt
check "rpi: p4 extended, to the image's end" grep -Eq '^rpi/disk.img4 : start= +526336, size= +135168, type=5$' mbr.txt
check "rpi: p5 system-a, 64 MiB, after its EBR" grep -Eq '^rpi/disk.img5 : start= +528384, size= +131072, type=83$' mbr.txt
check "rpi: no other partition" test "$(grep -c '^rpi/disk.img[0-9]' mbr.txt)" = 5
mtype -i rpi/disk.img@@1M ::/autoboot.txt >autoboot.txt 2>&1
printf '[all]\ntryboot_a_b=1\nboot_partition=2\n[tryboot]\nboot_partition=3\n' >autoboot.want
check "rpi: bootfs: autoboot.txt boots p2, tries p3" cmp autoboot.txt autoboot.want
check "rpi: bootfs: autoboot.txt only" test "$(mdir -b -i rpi/disk.img@@1M ::/ | wc -l)" = 1
dd if=rpi/disk.img of=boot-a.img bs=1M skip=65 count=96 status=none
for f in start4.elf fixup4.dat bcm2711-rpi-4-b.dtb bcm2712-rpi-5-b.dtb overlays/miniuart-bt.dtbo; do
	check "rpi: boot-a: $f from the firmware directory" sh -c "mtype -i boot-a.img ::/$f | cmp - rpi-root/boot/firmware/$f"
done
check "rpi: boot-a: the kernel as vmlinuz" sh -c "mtype -i boot-a.img ::/vmlinuz | cmp - rpi-root/boot/vmlinuz-6.1.0-t"
check "rpi: boot-a: the initramfs as initrd.img" sh -c "mtype -i boot-a.img ::/initrd.img | cmp - rpi-root/boot/initrd.img-6.1.0-t"
mtype -i boot-a.img ::/config.txt >config.txt 2>&1
check "rpi: config.txt: ours, not the root's" sh -c "! grep -q the-roots-own config.txt"
check "rpi: config.txt: kernel=vmlinuz" grep -qx 'kernel=vmlinuz' config.txt
check "rpi: config.txt: the initramfs" grep -qx 'initramfs initrd.img followkernel' config.txt
check "rpi: config.txt: 64-bit" grep -qx 'arm_64bit=1' config.txt
check "rpi: config.txt: cmdline by boot partition" sh -c "grep -A1 -x '\[boot_partition=2\]' config.txt | grep -qx cmdline=cmdline-a.txt && grep -A1 -x '\[boot_partition=3\]' config.txt | grep -qx cmdline=cmdline-b.txt"
check "rpi: config.txt: [rpi] config's lines" grep -qx 'dtoverlay=miniuart-bt' config.txt
mtype -i boot-a.img ::/cmdline-a.txt >cmdline-a.txt 2>&1
mtype -i boot-a.img ::/cmdline-b.txt >cmdline-b.txt 2>&1
check "rpi: cmdline-a.txt: p5, ota-init, slot a, kernel-cmdline" grep -qx "root=PARTUUID=$sig-05 rootwait ro init=/sbin/ota-init ota.slot=a panic=5 console=ttyAMA0,115200" cmdline-a.txt
check "rpi: cmdline-b.txt: p6, slot b" grep -q "^root=PARTUUID=$sig-06 .*ota.slot=b " cmdline-b.txt
dd if=rpi/disk.img of=rpi-a.img bs=512 skip=528384 count=131072 status=none
dump_conf rpi-a.img system.conf >rpi-system.conf
"$DUMP" rpi-system.conf >dump.txt 2>&1
check "rpi: system.conf parsed by sysconf" grep -qx 'compatible=test-rpi-tryboot' dump.txt
for kv in bootflow=rpi-tryboot autoboot=/boot/firmware/autoboot.txt partition=a:2 partition=b:3 \
	"slot=boot-a:boot:a:PARTUUID=$sig-02" "slot=boot-b:boot:b:PARTUUID=$sig-03" \
	"slot=system-a:system:a:PARTUUID=$sig-05" "slot=system-b:system:b:PARTUUID=$sig-06" init=/sbin/init; do
	check "rpi: system.conf: $kv" grep -qxF "$kv" dump.txt
done
debugfs -R "cat /etc/fstab" rpi-a.img >fstab 2>/dev/null
check "rpi: fstab: bootfs on /boot/firmware" grep -qxP "PARTUUID=$sig-01\t/boot/firmware\tvfat\tnoatime,nosuid,nodev,noexec\t0\t0" fstab
check "rpi: fstab: the root's own /boot/firmware line replaced, the others kept" sh -c "! grep -q RASPIFIRM fstab && grep -q '^proc /proc' fstab"
check "rpi: machine-id empty" sh -c "debugfs -R 'stat /etc/machine-id' rpi-a.img 2>/dev/null | grep -q 'Size: 0\$'"
check "rpi: keyring" sh -c "debugfs -R 'cat /etc/ota/keyring.pem' rpi-a.img 2>/dev/null | cmp - root.pem"
dump_conf rpi-a.img layout.conf >rpi-layout.conf
cp --sparse=always rpi/disk.img rpi-grown.img && truncate -s 1G rpi-grown.img
"$PART" --layout rpi-layout.conf plan rpi-grown.img >plan.txt 2>&1
check "rpi: layout.conf keeps the shipped partitions" sh -c "grep -Eq '^1 +bootfs +keep' plan.txt && grep -Eq '^3 +boot-b +keep' plan.txt && grep -Eq '^5 +system-a +keep' plan.txt"
check "rpi: layout.conf: the first boot creates system-b (p6) and data (p7)" sh -c "grep -Eq '^6 +system-b +create' plan.txt && grep -Eq '^7 +data +create' plan.txt"
check "rpi: bundle verifies" "$BUNDLE" verify --keyring root.pem --compatible test-rpi-tryboot rpi/update.otab
"$BUNDLE" extract --keyring root.pem rpi/update.otab boot rpi-boot.img >/dev/null 2>&1
"$BUNDLE" extract --keyring root.pem rpi/update.otab system rpi-system.img >/dev/null 2>&1
check "rpi: bundle: its boot image is boot-a" cmp rpi-boot.img boot-a.img
check "rpi: bundle: its system is system-a" cmp rpi-system.img rpi-a.img
reproducible rpi rpi.conf rpi-root rpi
# the next version's bundle carries the boot image too
if "$IMG" bundle rpi.conf --rootfs rpi-root --system-version 2.0 -o rpi-2.otab -q; then
	"$BUNDLE" extract --keyring root.pem rpi-2.otab boot rpi-boot-2.img >/dev/null 2>&1
	check "rpi: bundle 2.0: the boot image, with the kernel" sh -c "mtype -i rpi-boot-2.img ::/vmlinuz | cmp - rpi-root/boot/vmlinuz-6.1.0-t"
else bad "rpi: bundle 2.0" "exit $?"; fi
# the firmware directory and kernel of the description
mkdir -p other-fw && cp -a rpi-root other-fw/root && mv other-fw/root/boot/firmware other-fw/root/fw
cp other-fw/root/boot/vmlinuz-6.1.0-t other-fw/root/fw/Image
desc rpi-fw.conf rpi-tryboot arm64 '[rpi]' 'firmware = /fw' 'boot-size = 64M'
if image build rpi-fw.conf --rootfs other-fw/root -o rpi-fw; then
	dd if=rpi-fw/disk.img of=boot-fw.img bs=1M skip=65 count=64 status=none
	check "rpi: [rpi] firmware: its kernel Image" sh -c "mtype -i boot-fw.img ::/config.txt | grep -qx kernel=Image"
	check "rpi: [rpi] firmware: no second kernel" sh -c "! mdir -b -i boot-fw.img ::/vmlinuz"
else bad "rpi: [rpi] firmware build" "exit $?"; fi
# a root without firmware or kernel: everything named, nothing written
mkroot rpi-bare init-arm64 && rm -f rpi-bare/vmlinuz rpi-bare/boot/vmlinuz-*
fails "rpi: a root without firmware and kernel" "lacks what the rpi-tryboot target boots: /boot/firmware/start4.elf" \
	image build rpi.conf --rootfs rpi-bare -o rpi-err
for want in /boot/firmware/fixup4.dat 'bcm2711-*.dtb or bcm2712-*.dtb' 'the kernel (/boot/firmware/kernel8.img, Image or vmlinuz'; do
	check "rpi: a root without firmware: names $want" grep -qF "$want" fail.err
done
check "rpi: a root without firmware: no output" sh -c "test ! -e rpi-err && ! ls -d rpi-err.ota-image-* 2>/dev/null"
desc rpi-amd64.conf rpi-tryboot amd64
fails "rpi: arch amd64" "rpi-tryboot needs arch = arm64" image build rpi-amd64.conf --rootfs rpi-root -o rpi-err

# ==== uboot =================================================================
desc uboot.conf uboot amd64 '[image]' 'kernel-cmdline = console=ttyS0 panic=-1' 'esp-size = 16M' '[uboot]' 'device = virtio 0' \
	'[sign]' 'key = signer.key' 'cert = signer.pem'
if image build uboot.conf --rootfs uboot-root -o uboot; then ok "uboot: build"; else bad "uboot: build" "exit $?"; fi
sfdisk -d uboot/disk.img >gpt.txt 2>&1
check "uboot: p1 boot, FAT, LegacyBIOSBootable" grep -Eq '^uboot/disk.img1 : start= +2048, size= +32768, type=EBD0A0A2-B9E5-4433-87C0-68B6B72699C7, uuid=.*, name="boot", attrs="LegacyBIOSBootable"$' gpt.txt
check "uboot: p2 system-a, root-x86-64" grep -Eq '^uboot/disk.img2 : start= +34816, size= +131072, type=4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709, uuid=.*, name="system-a"$' gpt.txt
check "uboot: two partitions" test "$(grep -c '^uboot/disk.img[0-9]' gpt.txt)" = 2
boot=uboot/disk.img@@1M
mcopy -n -i "$boot" ::/boot.scr ::/ota.env ::/ota.env.bak . 2>/dev/null
mkimage -l boot.scr >scr-l.txt 2>&1
check "uboot: boot.scr is an x86 script image" grep -q 'Image Type: *Intel x86 Linux Script (uncompressed)' scr-l.txt
check "uboot: boot.scr is named otaroot" grep -q 'Image Name: *otaroot' scr-l.txt
dumpimage -T script -p 0 -o scr.raw boot.scr >/dev/null 2>&1
tail -c +9 scr.raw | tr -d '\0' >boot.cmd
check "uboot: boot.cmd: env files on virtio 0:1" sh -c "grep -qx 'setenv ota_env_dev virtio' boot.cmd && grep -qx 'setenv ota_env_part 0:1' boot.cmd"
check "uboot: boot.cmd: kernel-cmdline" grep -qx 'setenv ota_cmdline "console=ttyS0 panic=-1"' boot.cmd
check "uboot: boot.cmd: group a boots system-a's kernel and initramfs" grep -qxF "setenv ota_boot_a 'setenv bootargs \"\${bootargs} root=PARTLABEL=system-a\"; load virtio 0:2 \${kernel_addr_r} /boot/vmlinuz && load virtio 0:2 \${ramdisk_addr_r} /boot/initrd.img && zboot \${kernel_addr_r} 0 \${ramdisk_addr_r} \${filesize}'" boot.cmd
check "uboot: boot.cmd: group b from partition 3" grep -q "^setenv ota_boot_b .*root=PARTLABEL=system-b.*load virtio 0:3 " boot.cmd
n=$(wc -l <"$SRC/bootflow/uboot/boot.cmd")
check "uboot: boot.cmd: then the flow's script, whole" sh -c "tail -n $n boot.cmd | cmp - $SRC/bootflow/uboot/boot.cmd"
check "uboot: ota.env: group a, no trial" sh -c "printf 'ota_default=a\nota_seq=0\nota_valid=0\n' | cmp - ota.env && cmp ota.env ota.env.bak"
dd if=uboot/disk.img of=uboot-a.img bs=1M skip=17 count=64 status=none
dump_conf uboot-a.img system.conf >uboot-system.conf
"$DUMP" uboot-system.conf >dump.txt 2>&1
check "uboot: system.conf parsed by sysconf" grep -qx 'compatible=test-uboot' dump.txt
for kv in bootflow=uboot bootflow_device=PARTLABEL=boot env_mode=file env=/ota.env tries=2 \
	slot=system-a:system:a:PARTLABEL=system-a slot=system-b:system:b:PARTLABEL=system-b; do
	check "uboot: system.conf: $kv" grep -qxF "$kv" dump.txt
done
check "uboot: the kernel link in the slot" sh -c "debugfs -R 'stat /boot/vmlinuz' uboot-a.img 2>/dev/null | grep -q 'Fast link dest: \"vmlinuz-6.1.0-t\"'"
dump_conf uboot-a.img layout.conf >uboot-layout.conf
cp --sparse=always uboot/disk.img uboot-grown.img && truncate -s 1G uboot-grown.img
"$PART" --layout uboot-layout.conf plan uboot-grown.img >plan.txt 2>&1
check "uboot: layout.conf keeps boot and system-a" sh -c "grep -Eq '^1 +boot +keep' plan.txt && grep -Eq '^2 +system-a +keep' plan.txt"
check "uboot: layout.conf: the first boot creates system-b and data" sh -c "grep -Eq '^3 +system-b +create' plan.txt && grep -Eq '^4 +data +create' plan.txt"
check "uboot: bundle verifies" "$BUNDLE" verify --keyring root.pem --compatible test-uboot uboot/update.otab
"$BUNDLE" extract --keyring root.pem uboot/update.otab system uboot-system.img >/dev/null 2>&1
check "uboot: bundle: its system is system-a" cmp uboot-system.img uboot-a.img
# arm64: booti with the device tree of the description, the gzipped kernel unzipped
desc uboot64.conf uboot arm64 '[uboot]' 'fdt = /usr/lib/linux-image-6.1.0-t/broadcom/bcm2711-rpi-4-b.dtb' 'device = mmc 1'
if image build uboot64.conf --rootfs uboot64-root -o uboot64; then
	mcopy -n -i uboot64/disk.img@@1M ::/boot.scr boot64.scr 2>/dev/null
	check "uboot arm64: an arm64 script image" sh -c "mkimage -l boot64.scr | grep -q 'AArch64 Linux Script'"
	dumpimage -T script -p 0 -o scr64.raw boot64.scr >/dev/null 2>&1
	tail -c +9 scr64.raw | tr -d '\0' >boot64.cmd
	check "uboot arm64: unzip, the device tree, booti" grep -qxF "setenv ota_boot_a 'setenv bootargs \"\${bootargs} root=PARTLABEL=system-a\"; load mmc 1:2 \${ramdisk_addr_r} /boot/vmlinuz && unzip \${ramdisk_addr_r} \${kernel_addr_r} && load mmc 1:2 \${fdt_addr_r} /usr/lib/linux-image-6.1.0-t/broadcom/bcm2711-rpi-4-b.dtb && load mmc 1:2 \${ramdisk_addr_r} /boot/initrd.img && booti \${kernel_addr_r} \${ramdisk_addr_r}:\${filesize} \${fdt_addr_r}'" boot64.cmd
	check "uboot arm64: no ota_cmdline without kernel-cmdline" sh -c "! grep -q '^setenv ota_cmdline' boot64.cmd"
	check "uboot arm64: root-arm64 slot" grep -q 'type=B921B045-1DF0-41C3-AF44-4C6F280D3FAE' <(sfdisk -d uboot64/disk.img)
else bad "uboot arm64: build" "exit $?"; fi
# reproducible (unsigned: a signature carries its signing time)
desc uboot-u.conf uboot amd64 '[uboot]' 'device = virtio 0'
if image build uboot-u.conf --rootfs uboot-root -o uboot-u; then reproducible uboot uboot-u.conf uboot-root uboot-u
else bad "uboot: unsigned build" "exit $?"; fi
# errors
cp -a uboot64-root uboot-bare && rm -f uboot-bare/vmlinuz uboot-bare/boot/vmlinuz-* uboot-bare/usr/lib/linux-image-6.1.0-t/broadcom/*.dtb
rm -f uboot-bare/sbin/ota-init
fails "uboot: a root without kernel, device tree, ota-init" "lacks what the uboot target boots: /boot/vmlinuz" \
	image build uboot64.conf --rootfs uboot-bare -o uboot-err
check "uboot: the device tree named" grep -qF 'bcm2711-rpi-4-b.dtb (the device tree of [uboot] fdt)' fail.err
check "uboot: ota-init named" grep -qF '/sbin/ota-init (install the otaroot package' fail.err
check "uboot: no output" sh -c "test ! -e uboot-err && ! ls -d uboot-err.ota-image-* 2>/dev/null"
desc uboot-dev.conf uboot amd64 '[uboot]' 'device = mmc'
fails "uboot: a bad device" "[uboot] device 'mmc' is not U-Boot's interface and device number" image build uboot-dev.conf --rootfs uboot-root -o uboot-err
desc uboot-fdt.conf uboot amd64 '[uboot]' 'fdt = /x.dtb'
fails "uboot: fdt on amd64" "[uboot] fdt is for arch = arm64" image build uboot-fdt.conf --rootfs uboot-root -o uboot-err
desc uboot-q.conf uboot amd64 '[image]' "kernel-cmdline = console=ttyS0 x=\$y"
fails "uboot: a kernel-cmdline the script cannot carry" "kernel-cmdline 'console=ttyS0 x=\$y' has a quote" image build uboot-q.conf --rootfs uboot-root -o uboot-err
check "uboot: no output after a bad kernel-cmdline" test ! -e uboot-err
tally_end

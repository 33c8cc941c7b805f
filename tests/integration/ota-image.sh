#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# ota-image.sh SRC OTA_IMAGE OTA_BUNDLE OTA_GRUBENV OTA_PART OTA_INIT SYSCONF_DUMP:
# ota-image end to end without a VM (docs/ota-image.md), on a small root of
# our own: static BusyBox as init, the real ota-init, a fake kernel installed
# the way Debian's packages do (/boot/vmlinuz-VERSION and a /vmlinuz link).
#   - build: the GPT (partitions, types, names), the ESP (GRUB EFI, the grub
#     flow's files from SRC, board.cfg, the initial boot state read back by
#     ota-grubenv), the system slot (system.conf parsed by sysconf, the
#     layout.conf and the shipped GPT agreeing in ota-part's plan for a
#     larger disk, keyring, empty machine-id, the kernel link), the bundle
#     (verified, its payload the very system-a);
#   - reproducible: a second build from a copy of the root made later, with
#     another thread count, and one from a tarball of it, give the same disk
#     image and the same signed manifest; unsigned bundles are the same bytes;
#   - bundle: the next version from a changed root;
#   - errors: a root without kernel, without ota-init and init, an ota-init
#     of the other architecture, a bad description, a missing keyring: exit 1
#     naming what is wrong, and no output (an existing OUT keeps its files);
#   - run --print: the QEMU command line, the firmware's variable store.
set -uo pipefail
. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../lib/itest.sh"
need debugfs sfdisk mdir mtype mcopy /bin/busybox
itest_begin "ota-image.sh SRC OTA_IMAGE OTA_BUNDLE OTA_GRUBENV OTA_PART OTA_INIT SYSCONF_DUMP" SRC IMG BUNDLE GRUBENV PART INIT DUMP -- "$@"
export MTOOLS_SKIP_CHECK=1
(. "$SRC/tests/lib/pki.sh" && pki_init && pki_root root && pki_cert signer root signer) >pki.log 2>&1 ||
	{ cat pki.log; exit 1; }

# The root (fake_debian_root) with a D-Bus machine id and a host name.
fake_debian_root root "$INIT" 6.1.0-test
ln -s busybox root/bin/sh
mkdir -p root/var/lib/dbus
cp root/etc/machine-id root/var/lib/dbus/machine-id
echo test-device >root/etc/hostname

# desc NAME [SECTION LINES...]: a description with the test's defaults
desc() {
	local name=$1
	shift
	{
		printf '[image]\ntarget = efi\narch = amd64\nslot-size = 64M\nkernel-cmdline = console=ttyS0 quiet\n'
		printf 'grub-serial = yes\n'
		printf '[system]\ncompatible = test-image-efi\nversion = 1.0\n'
		printf '[update]\nkeyring = root.pem\nchannel = http://updates.invalid/c.json\n'
		printf '[bootflow]\ntries = 4\n[init]\ntrial-watchdog = 90\n'
		printf '%s\n' "$@"
	} >"$name"
}
desc signed.conf '[sign]' 'key = signer.key' 'cert = signer.pem'
desc unsigned.conf
image() { "$IMG" "$@" --threads 2 --data-dir "$SRC/bootflow" -q; }
# no_staging: a failed or finished run leaves no staging directory
no_staging() {
	if ls -d ./*.ota-image-* >/dev/null 2>&1; then bad "$1: staging removed" "$(ls -d ./*.ota-image-*)"; else ok "$1: staging removed"; fi
}

# ---- build ---------------------------------------------------------------
if image build signed.conf --rootfs root -o out; then ok "build"; else bad "build" "exit $?"; fi
no_staging build
check "build: disk.img and update.otab" test -s out/disk.img -a -s out/update.otab
check "build: the root given is not written" grep -q 0123456789abcdef root/etc/machine-id

# The GPT: the ESP and system-a, 1 MiB aligned, nothing else.
sfdisk -d out/disk.img >gpt.txt 2>&1
check "gpt: esp at 1 MiB, 32 MiB, ESP type" grep -q 'start=        2048, size=       65536, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, uuid=.*name="esp"' gpt.txt
check "gpt: system-a after it, 64 MiB, root-x86-64" grep -q 'start=       67584, size=      131072, type=4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709, uuid=.*name="system-a"' gpt.txt
check "gpt: two partitions" test "$(grep -c '^out/disk.img[0-9]' gpt.txt)" = 2

# The ESP, read with mtools at its offset.
esp=out/disk.img@@1M
check "esp: GRUB EFI as the removable-media loader" sh -c "mtype -i $esp ::/EFI/BOOT/BOOTX64.EFI | head -c 2 | grep -q MZ"
for f in grub.cfg flow.cfg; do
	check "esp: otaroot/$f is the grub flow's" sh -c "mtype -i $esp ::/otaroot/$f | cmp - $SRC/bootflow/grub/$f"
done
mtype -i "$esp" ::/otaroot/board.cfg >board.cfg 2>&1
check "esp: board.cfg's kernel command line" grep -qx 'set ota_cmdline="console=ttyS0 quiet"' board.cfg
check "esp: board.cfg's partitions (system-b is 3)" grep -qx 'set ota_part_b=3' board.cfg
check "esp: board.cfg's serial console" grep -qx 'serial --unit=0 --speed=115200' board.cfg
mkdir -p state && mcopy -n -i "$esp" ::/otaroot/env1 ::/otaroot/env2 ::/otaroot/tries state/ 2>/dev/null
"$GRUBENV" show state --groups a,b >show.txt 2>&1
check "esp: the boot state boots a, no trial" grep -qx 'boot=a' show.txt
check "esp: no trial armed" grep -qx 'boot_trial=0' show.txt

# The system slot.
dd if=out/disk.img of=system-a.img bs=1M skip=33 count=64 status=none
dfs() { debugfs -R "$1" system-a.img 2>/dev/null; }
dfs "cat /etc/ota/system.conf" >system.conf
"$DUMP" system.conf >dump.txt 2>&1
check "system.conf: parsed by sysconf" grep -qx 'compatible=test-image-efi' dump.txt
for kv in version=1.0 keyring=/etc/ota/keyring.pem channel=http://updates.invalid/c.json tries=4 \
	bootflow=grub bootflow_device=PARTLABEL=esp groups=a,b slot=system-a:system:a:PARTLABEL=system-a \
	slot=system-b:system:b:PARTLABEL=system-b init=/sbin/init trial_watchdog=90 data_device=auto; do
	check "system.conf: $kv" grep -qxF "$kv" dump.txt
done
dfs "cat /etc/ota/layout.conf" >layout.conf
cp --sparse=always out/disk.img grown.img && truncate -s 1G grown.img
"$PART" --layout layout.conf plan grown.img >plan.txt 2>&1
check "layout.conf: the shipped partitions are kept" grep -Eq '^2 +system-a +keep' plan.txt
check "layout.conf: the first boot creates system-b" grep -Eq '^3 +system-b +create .* 64\.0 ' plan.txt
check "layout.conf: the first boot creates data" grep -Eq '^4 +data +create .* make$' plan.txt
dfs "cat /etc/ota/keyring.pem" >keyring.pem
check "keyring: the description's CA" cmp keyring.pem root.pem
check "machine-id: empty" sh -c "debugfs -R 'stat /etc/machine-id' system-a.img 2>/dev/null | grep -q 'Size: 0\$'"
check "dbus machine-id: removed" sh -c "! debugfs -R 'stat /var/lib/dbus/machine-id' system-a.img 2>/dev/null | grep -q Size"
check "kernel: /boot/vmlinuz links the installed one" sh -c "debugfs -R 'stat /boot/vmlinuz' system-a.img 2>/dev/null | grep -q 'Fast link dest: \"vmlinuz-6.1.0-test\"'"
check "initramfs: /boot/initrd.img too" sh -c "debugfs -R 'stat /boot/initrd.img' system-a.img 2>/dev/null | grep -q 'Fast link dest: \"initrd.img-6.1.0-test\"'"
check "system-a: e2fsck finds it clean" e2fsck -f -n system-a.img

# The bundle: signed, for this compatible and version, its payload system-a.
check "bundle: verifies" "$BUNDLE" verify --keyring root.pem --compatible test-image-efi out/update.otab
"$BUNDLE" inspect out/update.otab >inspect.txt 2>&1
check "bundle: version 1.0" grep -Eq '^version: +1\.0$' inspect.txt
"$BUNDLE" extract --keyring root.pem out/update.otab system payload.img >/dev/null 2>&1
check "bundle: its payload is the image's system-a" cmp payload.img system-a.img

# ---- reproducible --------------------------------------------------------
sleep 1.1
cp -a root root-later
chmod 0755 root-later/etc # a new ctime, the same tree
tar -C root -czf root.tar.gz .
if "$IMG" build signed.conf --rootfs root-later -o out2 --threads 1 --data-dir "$SRC/bootflow" -q; then
	check "reproducible: the same disk image from a later copy" cmp out/disk.img out2/disk.img
	"$BUNDLE" prepare out/update.otab m1 >/dev/null && "$BUNDLE" prepare out2/update.otab m2 >/dev/null
	check "reproducible: the same signed manifest" cmp m1 m2
else bad "reproducible: second build" "exit $?"; fi
if image build signed.conf --rootfs root.tar.gz -o out3; then
	check "reproducible: the same disk image from a tarball" cmp out/disk.img out3/disk.img
else bad "build from a tarball" "exit $?"; fi
image build unsigned.conf --rootfs root -o u1 && image build unsigned.conf --rootfs root-later -o u2
check "reproducible: unsigned bundles are the same bytes" cmp u1/update.otab u2/update.otab
SOURCE_DATE_EPOCH=1700000000 image build unsigned.conf --rootfs root -o e1 >/dev/null 2>&1
check "SOURCE_DATE_EPOCH: every inode's times" sh -c "dd if=e1/disk.img of=e1.img bs=1M skip=33 count=64 status=none &&
	debugfs -R 'stat /etc/hostname' e1.img 2>/dev/null | grep -c 0x6553f100 | grep -qx 4"

# ---- EROFS: built where erofs-utils is installed, else named ----------------
desc erofs.conf '[image]' 'filesystem = erofs' '[sign]' 'key = signer.key' 'cert = signer.pem'
if command -v mkfs.erofs >/dev/null 2>&1 || [ -x /usr/bin/mkfs.erofs ] || [ -x /sbin/mkfs.erofs ]; then
	if image build erofs.conf --rootfs root -o erofs; then
		dd if=erofs/disk.img of=erofs-a.img bs=1M skip=33 count=64 status=none
		check "erofs: system-a holds EROFS" sh -c "od -An -tx4 -j1024 -N4 erofs-a.img | grep -q e0f5e1e2"
		check "erofs: the bundle verifies" "$BUNDLE" verify --keyring root.pem erofs/update.otab
	else bad "erofs build" "exit $?"; fi
else
	rc=0; image build erofs.conf --rootfs root -o erofs 2>fail.err || rc=$?
	if [ "$rc" = 1 ] && grep -q 'mkfs.erofs not found.*install the Debian package erofs-utils' fail.err && [ ! -e erofs ]; then
		ok "erofs without erofs-utils: exit 1 naming the package, no output"
	else bad "erofs without erofs-utils" "exit $rc, $(cat fail.err)"; fi
fi

# ---- bundle: the next version ----------------------------------------------
echo changed-device >root-later/etc/hostname
if "$IMG" bundle signed.conf --rootfs root-later --system-version 2.0 -o v2.otab --threads 2 -q; then ok "bundle"; else bad "bundle" "exit $?"; fi
check "bundle 2.0: verifies" "$BUNDLE" verify --keyring root.pem v2.otab
"$BUNDLE" extract --keyring root.pem v2.otab system v2.img >/dev/null 2>&1
check "bundle 2.0: system.conf says 2.0" sh -c "debugfs -R 'cat /etc/ota/system.conf' v2.img 2>/dev/null | grep -qx 'version = 2.0'"
check "bundle 2.0: the changed file" sh -c "debugfs -R 'cat /etc/hostname' v2.img 2>/dev/null | grep -qx changed-device"

# ---- errors: exit 1 naming what is wrong, no output --------------------------
cp -a root nokernel && rm -f nokernel/vmlinuz nokernel/boot/vmlinuz-*
fails "root without a kernel" "lacks what the efi target boots: /boot/vmlinuz" image build signed.conf --rootfs nokernel -o err1
check "root without a kernel: no output" test ! -e err1
cp -a root noinit && rm -f noinit/sbin/ota-init noinit/sbin/init
fails "root without ota-init and init" "/sbin/ota-init (install the otaroot package" image build signed.conf --rootfs noinit -o err2
check "root without ota-init and init: both named" grep -q '/sbin/init (the real init' fail.err
check "root without ota-init and init: no output" test ! -e err2
desc arm.conf '[image]' 'arch = arm64'
sed -i '0,/^arch = amd64$/{/^arch = amd64$/d}' arm.conf
fails "ota-init of another architecture" "/sbin/ota-init for arm64" image build arm.conf --rootfs root -o err3
desc typo.conf '[image]' 'slot-sise = 64M'
fails "bad description" "typo.conf:18: [image] slot-sise: unknown key" image build typo.conf --rootfs root -o err4
check "bad description: no output" test ! -e err4
desc nokey.conf
sed -i 's/^keyring = root.pem$/keyring = missing-ca.pem/' nokey.conf
mkdir keep && echo old >keep/disk.img
fails "missing keyring" "missing-ca.pem" image build nokey.conf --rootfs root -o keep
check "missing keyring: the old output is kept" grep -qx old keep/disk.img
check "missing keyring: nothing else written" test "$(ls keep)" = disk.img
no_staging errors
rc=0; "$IMG" build signed.conf -o err5 >/dev/null 2>fail.err || rc=$?
check "no --rootfs: usage error" test "$rc" = 2

# ---- run: the QEMU command line ----------------------------------------------
if "$IMG" run --print --ssh-port 2345 --memory 512 out/disk.img >run.txt 2>&1; then
	check "run: SSH forwarded" grep -q 'hostfwd=tcp:127.0.0.1:2345-:22' run.txt
	check "run: the image as a virtio disk" grep -q "if=virtio,format=raw,file=out/disk.img" run.txt
	check "run: the image's own UEFI variables" test -s out/disk.img.efivars
else bad "run --print" "$(cat run.txt)"; fi
tally_end

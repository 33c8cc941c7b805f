#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# smoke-initramfs.sh [CACHEDIR]
#
# Proves that the kernel + initramfs from fetch-kernel.sh hand init= the same
# environment as a kernel with built-in drivers and no initramfs: PID 1, root
# mounted read-only, /proc, /sys and /dev not mounted, fds 0/1/2 on the console.
#
# Builds a GPT disk image (one partition named system-a, ext4 made with
# mkfs.ext4 -d, no loop devices) whose /sbin/init is a busybox sh script that
# reports what it sees and powers off, then boots it with QEMU:
#   1. root=PARTLABEL=system-a with KVM, if usable (probed by booting the
#      kernel: on some nested hypervisors KVM guests hang); SMOKE_ACCEL=kvm|tcg
#      overrides the probe
#   2. the same forced to TCG
#   3. root=PARTUUID=..., root=/dev/vda1 rw with an i6300esb (preferred accelerator)
# The guest also mounts a vfat partition and an overlay (module set check).
#   4. a missing root device: the initramfs must give up and power off
# Exits non-zero if any expected line is missing. CACHEDIR defaults to
# $VMCACHE or /tmp/vmcache.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CACHEDIR=${1:-${VMCACHE:-/tmp/vmcache}}

die() { echo "smoke-initramfs: error: $*" >&2; exit 1; }
log() { echo "smoke-initramfs: $*" >&2; }

# ---------------------------------------------------------------- dependencies
. "$HERE/../../tools/need.sh"
need qemu-system-x86_64 sfdisk mkfs.ext4 /bin/busybox

"$HERE/fetch-kernel.sh" "$CACHEDIR"
KERNEL="$CACHEDIR/vmlinuz"
INITRD="$CACHEDIR/initramfs.cpio.gz"
log "kernel $(cat "$CACHEDIR/kernel.version"), initramfs $(stat -c %s "$INITRD") bytes"

WORK=$(mktemp -d /tmp/smoke-initramfs.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

# ---------------------------------------------------------------- disk image
R="$WORK/rootfs"
mkdir -p "$R"/{bin,sbin,dev,proc,sys,tmp,etc,mnt/vfat,mnt/ovl}
cp /bin/busybox "$R/bin/busybox"
cat >"$R/sbin/init" <<'EOF'
#!/bin/busybox sh
# Reports the environment PID 1 got, then powers off. Uses only shell
# builtins and explicit /bin/busybox applets (no PATH, no symlinks).
bb=/bin/busybox
echo "SMOKE: pid=$$"
if [ -e /proc/self ]; then echo "SMOKE: proc_self=present"; else echo "SMOKE: proc_self=absent"; fi
if [ -e /sys/kernel ]; then echo "SMOKE: sys=populated"; else echo "SMOKE: sys=empty"; fi
echo "SMOKE: dev_entries=$($bb ls -A /dev | $bb wc -l)"
t=
for fd in 0 1 2; do if [ -t $fd ]; then t="$t $fd:tty"; else t="$t $fd:NOT-tty"; fi; done
echo "SMOKE: fds$t"
# (no /dev/null here: /dev is empty and / may be read-only)
if $bb touch /.rwtest 2>&-; then echo "SMOKE: root=rw"; $bb rm -f /.rwtest; else echo "SMOKE: root=ro"; fi
echo "SMOKE: args=$*"
# Look around with /proc mounted (only now, after the checks above).
$bb mount -t proc proc /proc
echo "SMOKE: mounts=$($bb cut -d' ' -f1-4 /proc/mounts | $bb tr '\n' ';')"
echo "SMOKE: fd0=$($bb readlink /proc/self/fd/0)"
# the environment PID 1 was exec'd with (the shell's own exports would differ)
echo "SMOKE: env=$($bb tr '\0' '\n' </proc/1/environ | $bb sort | $bb paste -s -d ' ')"
echo "SMOKE: uptime=$($bb cut -d' ' -f1 /proc/uptime)"
echo "SMOKE: modules=$($bb cut -d' ' -f1 /proc/modules | $bb sort | $bb tr '\n' ' ')"
# The other modules in the initramfs: vfat (+ default NLS), overlay, i6300esb.
$bb mount -t devtmpfs dev /dev
$bb mount -t vfat -o ro /dev/vda2 /mnt/vfat && echo "SMOKE: vfat=ok"
$bb mount -t tmpfs tmp /tmp && $bb mkdir /tmp/u /tmp/w &&
	$bb mount -t overlay -o lowerdir=/,upperdir=/tmp/u,workdir=/tmp/w ovl /mnt/ovl &&
	$bb touch /mnt/ovl/written && echo "SMOKE: overlay=ok"
# (only listed, never opened: opening would arm it)
echo "SMOKE: watchdog=$($bb ls /dev | $bb grep '^watchdog[0-9]' | $bb paste -s -d ' ')"
echo "SMOKE: done"
$bb poweroff -f
EOF
chmod 755 "$R/sbin/init"

FS="$WORK/fs.img"
VFAT="$WORK/vfat.img"
DISK="$WORK/disk.img"
PART_UUID=6a3c2f0e-1b7d-4c59-9e2a-0d4f8b1c7e35
mkfs.ext4 -q -F -L smoke-root -d "$R" "$FS" 32M
truncate -s 8M "$VFAT"
busybox mkdosfs -n BOOT "$VFAT" >/dev/null # empty; mounting it needs vfat + default NLS
truncate -s 48M "$DISK"
sfdisk -q "$DISK" <<EOF
label: gpt
start=2048, size=65536, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, uuid=$PART_UUID, name=system-a
start=67584, size=16384, type=EBD0A0A2-B9E5-4433-87C0-68B6B72699C7, name=boot
EOF
dd if="$FS" of="$DISK" bs=1M seek=1 conv=notrunc status=none
dd if="$VFAT" of="$DISK" bs=1M seek=33 conv=notrunc status=none
rm -f "$FS" "$VFAT"

# ---------------------------------------------------------------- boot
# /dev/kvm existing and even QEMU initialising KVM is not enough: under some
# nested hypervisors the guest kernel then hangs in its decompressor forever.
# So the probe boots the real kernel + initramfs with a root device that does
# not exist; it must reach the initramfs and power off within the deadline.
KVM_REASON=
kvm_usable() {
	if [ ! -e /dev/kvm ]; then KVM_REASON="no /dev/kvm"; return 1; fi
	if [ ! -r /dev/kvm ] || [ ! -w /dev/kvm ]; then KVM_REASON="/dev/kvm not accessible"; return 1; fi
	local t0 rc=0
	t0=$(date +%s.%N)
	timeout 30 qemu-system-x86_64 -machine q35 -accel kvm -m 512 -nographic -no-reboot \
		-kernel "$KERNEL" -initrd "$INITRD" \
		-append "console=ttyS0 panic=-1 quiet root=PARTLABEL=kvm-probe rootwait=0" \
		</dev/null >"$WORK/kvm-probe.log" 2>&1 || rc=$?
	if tr -d '\r' <"$WORK/kvm-probe.log" | grep -q '^initramfs: FATAL: root device PARTLABEL=kvm-probe'; then
		log "KVM probe booted to the initramfs in $(awk "BEGIN{printf \"%.1f\", $(date +%s.%N) - $t0}") s"
		return 0
	fi
	if [ "$rc" -eq 124 ]; then
		KVM_REASON="a KVM guest did not reach the initramfs within 30 s (broken nested virtualization?)"
	else
		KVM_REASON="qemu -accel kvm failed (status $rc): $(grep -m1 -i kvm "$WORK/kvm-probe.log" || true)"
	fi
	return 1
}
case ${SMOKE_ACCEL:-} in
kvm | tcg) PREFERRED=$SMOKE_ACCEL ;;
'') if kvm_usable; then PREFERRED=kvm; else PREFERRED=tcg; fi ;;
*) die "SMOKE_ACCEL must be kvm or tcg" ;;
esac
if [ "$PREFERRED" = kvm ]; then log "accelerator: kvm"; else log "accelerator: tcg${KVM_REASON:+ (KVM not usable: $KVM_REASON)}"; fi

failures=0
# has_line LOG LINE: LINE is a console line. Matched as a line suffix: with
# "quiet", the first line our code prints follows SeaBIOS's "Booting from
# ROM.." and terminal escape sequences without a newline in between.
has_line() {
	awk -v want="$2" '{ sub(/\r+$/, ""); n = length(want)
		if (length($0) >= n && substr($0, length($0) - n + 1) == want) { found = 1; exit } }
		END { exit !found }' "$1"
}

# boot NAME ACCEL TIMEOUT APPEND EXPECTED-LINE...: boot the disk, check the console log.
boot() {
	local name=$1 accel=$2 tmo=$3 append=$4 log="$WORK/$1.log" rc=0 t0 t1 line ok=1
	shift 4
	local cmd=(qemu-system-x86_64 -machine q35 -accel "$accel" -m 512 -nographic -no-reboot
		-kernel "$KERNEL" -initrd "$INITRD" -append "$append"
		-drive "file=$DISK,if=virtio,format=raw")
	# extra devices for one boot: QEMU_EXTRA="-device ..." boot ...
	# shellcheck disable=SC2206
	[ -z "${QEMU_EXTRA:-}" ] || cmd+=(${QEMU_EXTRA})
	echo "=== $name: ${cmd[*]}"
	t0=$(date +%s.%N)
	timeout "$tmo" "${cmd[@]}" </dev/null >"$log" 2>&1 || rc=$?
	t1=$(date +%s.%N)
	tr -d '\r' <"$log" | grep -aE '(SMOKE|initramfs): |Kernel panic|qemu' | sed 's/^/    /' || true
	[ "$rc" -eq 0 ] || { echo "    qemu exit status $rc (124 = timeout ${tmo}s)"; ok=; }
	for line in "$@"; do
		if ! has_line "$log" "$line"; then
			echo "    MISSING: $line"
			ok=
		fi
	done
	printf '    %s: boot-to-poweroff %.1f s\n' "$name" "$(awk "BEGIN{print $t1 - $t0}")"
	if [ -n "$ok" ]; then
		echo "    $name: OK"
	else
		echo "    $name: FAILED, full console log:"
		sed 's/^/    | /' "$log"
		failures=$((failures + 1))
	fi
}

BASE="console=ttyS0 panic=-1 quiet"
EXPECT=("SMOKE: pid=1" "SMOKE: proc_self=absent" "SMOKE: sys=empty" "SMOKE: dev_entries=0"
	"SMOKE: fds 0:tty 1:tty 2:tty" "SMOKE: vfat=ok" "SMOKE: overlay=ok" "SMOKE: done")
KENV="SMOKE: env=HOME=/ TERM=linux"

[ "$PREFERRED" = kvm ] && boot partlabel-kvm kvm 120 "$BASE root=PARTLABEL=system-a ro init=/sbin/init" \
	"${EXPECT[@]}" "SMOKE: root=ro" "$KENV"
boot partlabel-tcg tcg 300 "$BASE root=PARTLABEL=system-a ro init=/sbin/init" \
	"${EXPECT[@]}" "SMOKE: root=ro" "$KENV"
tmo=120
[ "$PREFERRED" = kvm ] || tmo=300
boot "partuuid-$PREFERRED" "$PREFERRED" $tmo "$BASE root=PARTUUID=${PART_UUID^^} rootwait" \
	"${EXPECT[@]}" "SMOKE: root=ro"
QEMU_EXTRA="-device i6300esb" boot "devname-rw-$PREFERRED" "$PREFERRED" $tmo \
	"$BASE root=/dev/vda1 rootfstype=ext4 rw init=/sbin/init single foo=bar" \
	"${EXPECT[@]}" "SMOKE: root=rw" "SMOKE: args=single" "$KENV foo=bar" "SMOKE: watchdog=watchdog0"
boot "noroot-$PREFERRED" "$PREFERRED" $tmo "$BASE root=PARTLABEL=system-x rootwait=3" \
	"initramfs: waiting up to 3s for root device PARTLABEL=system-x" \
	"initramfs: FATAL: root device PARTLABEL=system-x did not appear within 3s"

if [ "$failures" -ne 0 ]; then
	echo "smoke-initramfs: $failures boot(s) FAILED"
	exit 1
fi
echo "smoke-initramfs: all boots OK"

#!/bin/bash
# smoke-initramfs.sh [CACHEDIR]
#
# Proves that the kernel + initramfs from fetch-kernel.sh hand init= the same
# environment as a kernel with built-in drivers and no initramfs: PID 1, root
# mounted read-only, /proc, /sys and /dev not mounted, fds 0/1/2 on the console.
#
# Builds a GPT disk image (one partition named system-a, ext4 made with
# mkfs.ext4 -d, no loop devices) whose /sbin/init is a busybox sh script that
# reports what it sees and powers off, then boots it with QEMU:
#   1. root=PARTLABEL=system-a with KVM (if /dev/kvm is usable)
#   2. the same forced to TCG
#   3. root=PARTUUID=..., root=/dev/vda1 rw (preferred accelerator)
#   4. a missing root device: the initramfs must give up and power off
# Exits non-zero if any expected line is missing. CACHEDIR defaults to
# $VMCACHE or /tmp/vmcache.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CACHEDIR=${1:-${VMCACHE:-/tmp/vmcache}}

die() { echo "smoke-initramfs: error: $*" >&2; exit 1; }
log() { echo "smoke-initramfs: $*" >&2; }

# ---------------------------------------------------------------- dependencies
need=()
command -v qemu-system-x86_64 >/dev/null || need+=(qemu-system-x86)
command -v sfdisk >/dev/null || need+=(fdisk)
command -v mkfs.ext4 >/dev/null || need+=(e2fsprogs)
[ "$(dpkg-query -W -f='${db:Status-Status}' busybox-static 2>/dev/null)" = installed ] || need+=(busybox-static)
if [ ${#need[@]} -gt 0 ]; then
	log "installing: ${need[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get install -y -q --no-install-recommends "${need[@]}" >&2 ||
		{ apt-get update -q >&2 && apt-get install -y -q --no-install-recommends "${need[@]}" >&2; } ||
		die "cannot install ${need[*]}"
fi

"$HERE/fetch-kernel.sh" "$CACHEDIR"
KERNEL="$CACHEDIR/vmlinuz"
INITRD="$CACHEDIR/initramfs.cpio.gz"
log "kernel $(cat "$CACHEDIR/kernel.version"), initramfs $(stat -c %s "$INITRD") bytes"

WORK=$(mktemp -d /tmp/smoke-initramfs.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

# ---------------------------------------------------------------- disk image
R="$WORK/rootfs"
mkdir -p "$R"/{bin,sbin,dev,proc,sys,tmp,etc}
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
if $bb touch /.rwtest 2>/dev/null; then echo "SMOKE: root=rw"; $bb rm -f /.rwtest; else echo "SMOKE: root=ro"; fi
echo "SMOKE: args=$*"
echo "SMOKE: env=$($bb env | $bb sort | $bb tr '\n' ' ')"
# Look around with /proc mounted (only now, after the checks above).
$bb mount -t proc proc /proc
echo "SMOKE: mounts=$($bb cut -d' ' -f1-4 /proc/mounts | $bb tr '\n' ';')"
echo "SMOKE: fd0=$($bb readlink /proc/self/fd/0)"
echo "SMOKE: uptime=$($bb cut -d' ' -f1 /proc/uptime)"
echo "SMOKE: modules=$($bb cut -d' ' -f1 /proc/modules | $bb sort | $bb tr '\n' ' ')"
$bb umount /proc
echo "SMOKE: done"
$bb poweroff -f
EOF
chmod 755 "$R/sbin/init"

FS="$WORK/fs.img"
DISK="$WORK/disk.img"
PART_UUID=6a3c2f0e-1b7d-4c59-9e2a-0d4f8b1c7e35
mkfs.ext4 -q -F -L smoke-root -d "$R" "$FS" 32M
truncate -s 40M "$DISK"
sfdisk -q "$DISK" <<EOF
label: gpt
start=2048, size=65536, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, uuid=$PART_UUID, name=system-a
EOF
dd if="$FS" of="$DISK" bs=1M seek=1 conv=notrunc status=none
rm -f "$FS"

# ---------------------------------------------------------------- boot
kvm_usable() {
	[ -r /dev/kvm ] && [ -w /dev/kvm ] || return 1
	echo quit | timeout 20 qemu-system-x86_64 -machine none -accel kvm -nodefaults \
		-display none -monitor stdio >/dev/null 2>&1
}
if kvm_usable; then PREFERRED=kvm; else PREFERRED=tcg; fi
log "KVM usable: $([ "$PREFERRED" = kvm ] && echo yes || echo no)"

failures=0
# boot NAME ACCEL TIMEOUT APPEND EXPECTED-LINE...: boot the disk, check the console log.
boot() {
	local name=$1 accel=$2 tmo=$3 append=$4 log="$WORK/$1.log" rc=0 t0 t1 line ok=1
	shift 4
	local cmd=(qemu-system-x86_64 -machine q35 -accel "$accel" -m 512 -nographic -no-reboot
		-kernel "$KERNEL" -initrd "$INITRD" -append "$append"
		-drive "file=$DISK,if=virtio,format=raw")
	echo "=== $name: ${cmd[*]}"
	t0=$(date +%s.%N)
	timeout "$tmo" "${cmd[@]}" </dev/null >"$log" 2>&1 || rc=$?
	t1=$(date +%s.%N)
	tr -d '\r' <"$log" | grep -E '^(SMOKE|initramfs):|Kernel panic|qemu' | sed 's/^/    /' || true
	[ "$rc" -eq 0 ] || { echo "    qemu exit status $rc (124 = timeout ${tmo}s)"; ok=; }
	for line in "$@"; do
		if ! tr -d '\r' <"$log" | grep -qxF -- "$line"; then
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
	"SMOKE: fds 0:tty 1:tty 2:tty" "SMOKE: done")

[ "$PREFERRED" = kvm ] && boot partlabel-kvm kvm 120 "$BASE root=PARTLABEL=system-a ro init=/sbin/init" \
	"${EXPECT[@]}" "SMOKE: root=ro"
boot partlabel-tcg tcg 600 "$BASE root=PARTLABEL=system-a ro init=/sbin/init" \
	"${EXPECT[@]}" "SMOKE: root=ro"
tmo=120
[ "$PREFERRED" = kvm ] || tmo=600
boot partuuid-$PREFERRED "$PREFERRED" $tmo "$BASE root=PARTUUID=${PART_UUID^^} rootwait" \
	"${EXPECT[@]}" "SMOKE: root=ro"
boot devname-rw-$PREFERRED "$PREFERRED" $tmo "$BASE root=/dev/vda1 rootfstype=ext4 rw init=/sbin/init single foo=bar" \
	"${EXPECT[@]}" "SMOKE: root=rw" "SMOKE: args=single"
boot noroot-$PREFERRED "$PREFERRED" $tmo "$BASE root=PARTLABEL=system-x rootwait=3" \
	"initramfs: waiting up to 3s for root device PARTLABEL=system-x" \
	"initramfs: FATAL: root device PARTLABEL=system-x did not appear within 3s"

if [ "$failures" -ne 0 ]; then
	echo "smoke-initramfs: $failures boot(s) FAILED"
	exit 1
fi
echo "smoke-initramfs: all boots OK"

#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# partitioner.sh OTA_PART [PROBE_BLKPG]: ota-part plan/apply on real loop
# devices (GPT and MBR with extended/logical partitions, 512- and 4096-byte
# sectors) and on image files. Root needed.
#
# PROBE_BLKPG (tests/integration/probe-blkpg.c, run as OTA_PART is): when it
# says that BLKPG_RESIZE_PARTITION does not reach the kernel (qemu-user), the
# checks of the kernel's view of a grown partition are skipped with that
# reason, and the script exits 77 (skipped) unless something failed.
set -euo pipefail
. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../../tools/need.sh"
need sfdisk
bin=$(readlink -f "${1:?usage: partitioner.sh OTA_PART [PROBE_BLKPG]}")
no_resize=""
[ -z "${2:-}" ] || no_resize=$("$2") || true
[ "$(id -u)" = 0 ] || { echo "FAIL: needs root (loop devices)"; exit 1; }

work=$(mktemp -d /var/tmp/ota-it-part.XXXXXX)
. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../lib/workdir.sh"
trap 'release_workdir "$work"' EXIT

passed=0 failed=0 skipped=0
ok() { echo "ok   $*"; passed=$((passed + 1)); }
# check_resized NAME CMD...: check, where the kernel can be told of a resize
check_resized() {
	if [ -n "$no_resize" ]; then
		echo "skip $1: $no_resize"
		skipped=$((skipped + 1))
	else
		check "$@"
	fi
}
bad() { echo "FAIL $*"; failed=$((failed + 1)); }
check() {
	local name=$1; shift
	if "$@" >"$work/out" 2>&1; then ok "$name"; else bad "$name"; sed 's/^/     /' "$work/out"; fi
}
refuse() { # refuse NAME MESSAGE ARGS...: ota-part must fail naming the problem
	local name=$1 msg=$2; shift 2
	if "$bin" "$@" >"$work/out" 2>&1; then bad "$name (succeeded)"; sed 's/^/     /' "$work/out"
	elif grep -qF -- "$msg" "$work/out"; then ok "$name"
	else bad "$name (message)"; echo "     expected: $msg"; sed 's/^/     got: /' "$work/out"; fi
}

# apply_grow NAME PARTNO DEV: apply a plan that grows partition PARTNO; where
# BLKPG_RESIZE_PARTITION does not reach the kernel, apply must say that the
# kernel kept the old size (the table on the disk is the new one).
apply_grow() {
	if [ -n "$no_resize" ]; then
		refuse "$1 fails: the kernel kept the old size ($no_resize)" "the kernel still has partition $2" $G apply "$3"
	else
		check "$1" "$bin" $G apply "$3"
	fi
}

# loop FILE SIZE SECTOR: a fresh loop device over a new file
loop() {
	rm -f "$1"; truncate -s "$2" "$1"
	losetup --show -f -b "$3" "$1"
}
# table DEV SFDISK-SCRIPT: write a table and tell the kernel (partx: this
# machine's kernel may lack partition-table parsers)
table() { echo "$2" | sfdisk -q --no-reread --no-tell-kernel "$1"; partx --delete "$1" 2>/dev/null || true; partx --add "$1" 2>/dev/null || true; }
dump() { sfdisk -d "$1" | grep -v '^device:\|^label-id\|^last-lba\|^first-lba\|^sector-size\|^unit'; }
nparts() { sfdisk -d "$1" | grep -c '^/' || true; }

cat > "$work/gpt.conf" <<'EOT'
[table]
type = gpt
[partition boot]
size = 16M
type = esp
filesystem = vfat
label = BOOT
[partition system-a]
size = 32M
type = root-x86-64
[partition system-b]
size = 32M
type = root-x86-64
[partition data]
size = rest
type = linux
filesystem = ext4
label = data
grow = yes
EOT
G="--layout $work/gpt.conf"

for ss in 512 4096; do
	# Append only: boot + system-a shipped, disk larger.
	d=$(loop "$work/a$ss.img" 256M $ss)
	table "$d" "label: gpt
size=16MiB, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, name=boot
size=32MiB, type=4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709, name=system-a"
	check "[$ss] plan changes nothing" sh -c "before=\$(sha256sum < $work/a$ss.img); '$bin' $G plan $d | grep -q create && [ \"\$(sha256sum < $work/a$ss.img)\" = \"\$before\" ]"
	check "[$ss] show needs no layout" sh -c "'$bin' --layout /nonexistent --json show $d | python3 -c 'import json,sys; d=json.load(sys.stdin); assert [p[\"name\"] for p in d[\"partitions\"]] == [\"boot\", \"system-a\"], d; assert d[\"sector_size\"] == $ss, d'"
	check "[$ss] append: apply" "$bin" $G apply "$d"
	check "[$ss] append: four partitions" test "$(nparts "$d")" = 4
	check "[$ss] append: kernel knows them (BLKPG)" test -b "${d}p4"
	check "[$ss] append: data formatted ext4 labelled data" sh -c "blkid -p -o value -s LABEL ${d}p4 | grep -qx data && blkid -p -o value -s TYPE ${d}p4 | grep -qx ext4"
	check "[$ss] append: data reaches the end" sh -c "[ \$(( \$(blockdev --getsize64 $d) - \$(blockdev --getsize64 ${d}p4) )) -lt \$((100 << 20)) ]"
	check "[$ss] append: system-b left unformatted" sh -c "[ -z \"\$(blkid -p -o value -s TYPE ${d}p3)\" ]"
	check "[$ss] append: boot untouched (no filesystem made on it)" sh -c "[ -z \"\$(blkid -p -o value -s TYPE ${d}p1)\" ]"
	before=$(sha256sum < "$work/a$ss.img")
	check "[$ss] already provisioned: nothing to do" sh -c "'$bin' $G apply $d | grep -q 'nothing to do'"
	check "[$ss] already provisioned: disk bit-identical" test "$(sha256sum < "$work/a$ss.img")" = "$before"

	# Grow only: all four there, data small, disk grown.
	mkdir -p "$work/mnt"
	mount "${d}p4" "$work/mnt" && echo precious > "$work/mnt/keep" && umount "$work/mnt"
	partx --delete "$d"; losetup -d "$d"; truncate -s 512M "$work/a$ss.img"
	d=$(losetup --show -f -b $ss "$work/a$ss.img")
	partx --add "$d" 2>/dev/null || true
	check "[$ss] grow: plan says grow and backup header moves" sh -c "'$bin' $G --json plan $d | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d[\"relocate_backup_header\"]; assert [p[\"action\"] for p in d[\"partitions\"]] == [\"keep\",\"keep\",\"keep\",\"grow\"], d'"
	apply_grow "[$ss] grow: apply" 4 "$d"
	check_resized "[$ss] grow: partition grew" sh -c "[ \$(blockdev --getsize64 ${d}p4) -gt \$((400 << 20)) ]"
	check "[$ss] grow: data kept (never reformatted)" sh -c "mount ${d}p4 $work/mnt && grep -qx precious $work/mnt/keep; r=\$?; umount $work/mnt; exit \$r"
	check "[$ss] grow: backup GPT header at the end" sh -c "sfdisk -V $d"
done

# Both: grow the last existing and append.
d=$(loop "$work/both.img" 300M 512)
table "$d" "label: gpt
size=16MiB, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, name=boot
size=20MiB, type=4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709, name=system-a"
check "both: plan grows system-a and creates the rest" sh -c "'$bin' $G --json plan $d | python3 -c 'import json,sys; d=json.load(sys.stdin); assert [p[\"action\"] for p in d[\"partitions\"]] == [\"keep\",\"grow\",\"create\",\"create\"], d'"
apply_grow "both: apply" 2 "$d"
check_resized "both: system-a is 32 MiB" test "$(blockdev --getsize64 "${d}p2")" = $((32 << 20))

# A partition only the kernel knows (added with addpart, in no table) lies
# where system-a grows: BLKPG refuses the resize (overlap), libfdisk only
# warns, and apply must fail naming the partition instead of reporting
# success over the old extents.
d=$(loop "$work/stale.img" 300M 512)
table "$d" "label: gpt
size=16MiB, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, name=boot
size=20MiB, type=4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709, name=system-a"
addpart "$d" 9 $((40 << 11)) 2048
refuse "stale kernel partition in the way: apply fails naming the partition" "the kernel still has partition 2" $G apply "$d"
check "stale kernel partition in the way: the new table is on the disk" sh -c "sfdisk -d $d | grep -q 'size= *65536, .*name=\"system-a\"'"
delpart "$d" 9

# Mismatching disks are refused and left bit-identical.
mismatch() { # NAME MESSAGE SFDISK-SCRIPT
	local dev; dev=$(loop "$work/mm.img" 256M 512)
	table "$dev" "$3"
	local before; before=$(sha256sum < "$work/mm.img")
	refuse "mismatch: $1" "$2" $G apply "$dev"
	check "mismatch: $1: bit-identical" test "$(sha256sum < "$work/mm.img")" = "$before"
}
mismatch "other type" "has type 0FC63DAF" "label: gpt
size=16MiB, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, name=boot"
mismatch "other name" "is named 'rootfs', the layout declares 'system-a'" "label: gpt
size=16MiB, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, name=boot
size=32MiB, type=4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709, name=rootfs"
mismatch "extra partition" "is not in the layout" "label: gpt
size=16MiB, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, name=boot
size=32MiB, type=4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709, name=system-a
size=32MiB, type=4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709, name=system-b
size=32MiB, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, name=data
size=8MiB, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, name=extra"
mismatch "MBR disk, GPT layout" "has a MBR partition table, the layout declares gpt" "label: dos
size=16MiB, type=c"

# Too small.
d=$(loop "$work/small.img" 64M 512)
table "$d" "label: gpt
size=16MiB, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, name=boot
size=32MiB, type=4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709, name=system-a"
before=$(sha256sum < "$work/small.img")
refuse "too small: clear error" "too small: partitions 3 to 4 ('system-b' to 'data') need at least 40 MiB from 49 MiB on, 14.98 MiB are free there: 25.02 MiB missing" $G apply "$d"
check "too small: bit-identical" test "$(sha256sum < "$work/small.img")" = "$before"

# Plan-time limits: what depends on the disk (its size, sector size, table)
# is refused with the partition, the limit and how much is missing, and the
# disk stays bit-identical.
boot_only() { # boot_only FILE SIZE SECTOR: a loop device whose GPT holds only boot
	local dev; dev=$(loop "$1" "$2" "$3")
	table "$dev" "label: gpt
size=16MiB, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, name=boot" >&2
	echo "$dev"
}
limit() { # NAME MESSAGE LAYOUT DEV IMG
	local before; before=$(sha256sum < "$5")
	refuse "limit: $1" "$2" --layout "$3" apply "$4"
	check "limit: $1: bit-identical" test "$(sha256sum < "$5")" = "$before"
}
# A little too small: the layout needs 96 MiB and the backup GPT, the disk
# has 96 MiB.
d=$(boot_only "$work/little.img" 96M 512)
sed 's/^size = rest$/size = 15M/' "$work/gpt.conf" > "$work/fixed.conf"
limit "a little too small, missing amount named" \
	"too small: partition 4 ('data') needs at least 15 MiB from 81 MiB on, 14.98 MiB are free there: 16896 bytes missing" \
	"$work/fixed.conf" "$d" "$work/little.img"
# size = rest leaving less than ext4's minimum: refused, not a journal-less
# filesystem (or a failing mkfs) at first boot.
d=$(boot_only "$work/rest.img" 86M 512)
limit "size = rest below ext4's minimum" \
	"partition 4 ('data', size = rest) would get 4 MiB, ext4 (mkfs.ext4 makes no journal below 2048 blocks) needs at least 8 MiB: 4 MiB missing" \
	"$work/gpt.conf" "$d" "$work/rest.img"
# 4096-byte sectors: a size that is whole 512-byte sectors but not whole
# 4096-byte ones was rounded up without a word; now refused on this disk
# only (the same layout plans on a 512-byte-sector disk).
sed 's/^size = 32M$/size = 33554944/' "$work/gpt.conf" > "$work/odd.conf"
d=$(boot_only "$work/s4k.img" 256M 4096)
limit "[4096] size not whole sectors" \
	"[partition system-a] size: 33554944 bytes is not a whole number of the disk's 4096-byte sectors" \
	"$work/odd.conf" "$d" "$work/s4k.img"
d=$(boot_only "$work/s512.img" 256M 512)
check "[512] the same size is whole sectors here" sh -c "'$bin' --layout $work/odd.conf --json plan $d | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d[\"partitions\"][1][\"size\"] == 33554944, d'"
# A GPT with fewer entries than the layout has partitions.
d=$(loop "$work/entries.img" 256M 512)
table "$d" "label: gpt
table-length: 2
size=16MiB, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, name=boot"
limit "GPT entries" "its GPT has room for 2 partition entries, the layout declares 4" "$work/gpt.conf" "$d" "$work/entries.img"
# A name an older ota-part cut to 36 characters: the layout's long name is
# refused saying which name matches the disk, and that name plans.
long=provisioned-by-an-old-ota-part-data-x
d=$(loop "$work/cut.img" 256M 512)
table "$d" "label: gpt
size=16MiB, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, name=boot
size=16MiB, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, name=${long:0:36}"
printf '[partition boot]\nsize = 16M\ntype = esp\n[partition %s]\nsize = 16M\ntype = linux\n' "$long" > "$work/cut.conf"
limit "cut name: the layout says what to use" "use that name to keep such disks matching" "$work/cut.conf" "$d" "$work/cut.img"
refuse "cut name: names the disk's name" "cut to '${long:0:36}'" --layout "$work/cut.conf" plan "$d"
sed "s/$long/${long:0:36}/" "$work/cut.conf" > "$work/cut36.conf"
check "cut name: the 36-character name matches" sh -c "'$bin' --layout $work/cut36.conf plan $d | grep -q 'nothing to do'"
printf '[partition boot]\nsize = 16M\ntype = esp\n[partition other]\nsize = 16M\ntype = linux\n' > "$work/other.conf"
limit "other name: says how to rename" "sfdisk --part-label $d 2 \"other\"', or change the layout's name to '${long:0:36}'" \
	"$work/other.conf" "$d" "$work/cut.img"
# A name above U+FFFF, which an older ota-part wrote as none: only renaming
# the partition helps, and that is what the message says.
d=$(loop "$work/unnamed.img" 256M 512)
table "$d" "label: gpt
size=16MiB, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, name=boot
size=16MiB, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4"
limit "no name: says how to rename" "is named '', the layout declares 'other' (rename the partition with 'sfdisk --part-label $d 2 \"other\"')" \
	"$work/other.conf" "$d" "$work/unnamed.img"

# MBR: 32-bit sectors. On a 3 TiB image a partition past 2 TiB is refused
# naming MBR's reach; size = rest stops there and the plan says so.
rm -f "$work/3t.img"; truncate -s 3T "$work/3t.img"
echo "label: dos
size=16MiB, type=c" | sfdisk -q "$work/3t.img" 2>/dev/null
printf '[table]\ntype = mbr\n[partition boot]\nsize = 16M\ntype = fat32\n[partition data]\nsize = 2100G\ntype = linux\n' > "$work/mbr-big.conf"
before=$(sfdisk -d "$work/3t.img" 2>/dev/null)
refuse "MBR: past 2^32 sectors" "needs at least 2100 GiB from 17 MiB on, 2097135 MiB are free there: 53265 MiB missing (MBR reaches only the first 2 TiB of this disk)" \
	--layout "$work/mbr-big.conf" apply "$work/3t.img"
check "MBR: past 2^32 sectors: table unchanged" test "$(sfdisk -d "$work/3t.img" 2>/dev/null)" = "$before"
sed 's/^size = 2100G$/size = rest/' "$work/mbr-big.conf" > "$work/mbr-rest.conf"
check "MBR: rest stops at 2 TiB and the plan says so" sh -c "'$bin' --layout $work/mbr-rest.conf --json plan $work/3t.img | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d[\"unreachable_bytes\"] == 1 << 40, d; assert d[\"partitions\"][1][\"start\"] + d[\"partitions\"][1][\"size\"] <= 1 << 41, d'"
rm -f "$work/3t.img"

# MBR with extended and logical partitions, as genimage lays them out.
cat > "$work/mbr.conf" <<'EOT'
[table]
type = mbr
[partition config]
size = 16M
type = fat32
[partition boot-a]
size = 16M
type = fat32
[partition boot-b]
size = 16M
type = fat32
filesystem = vfat
[partition rootfs-a]
size = 32M
type = linux
[partition rootfs-b]
size = 32M
type = linux
[partition data]
size = rest
type = linux
filesystem = ext4
label = data
grow = yes
EOT
M="--layout $work/mbr.conf"
for ss in 512 4096; do
	d=$(loop "$work/m$ss.img" 256M $ss)
	table "$d" "label: dos
label-id: 0x0fa7c0de
size=16MiB, type=c
size=16MiB, type=c"
	check "[$ss] MBR: apply" "$bin" $M apply "$d"
	check "[$ss] MBR: 3 primaries, extended, 3 logicals" sh -c "sfdisk -d $d | grep -c '^/' | grep -qx 7 && sfdisk -d $d | grep -q 'p4 .*type=5'"
	check "[$ss] MBR: disk signature kept" sh -c "sfdisk -d $d | grep -q 'label-id: 0x0fa7c0de'"
	check "[$ss] MBR: logical data formatted" sh -c "blkid -p -o value -s LABEL ${d}p7 | grep -qx data"
	check "[$ss] MBR: no-op afterwards" sh -c "'$bin' $M plan $d | grep -q 'nothing to do'"
done
# A logical partition grows after its extended container.
d=$(loop "$work/mg.img" 160M 512)
table "$d" "label: dos
size=16MiB, type=c
size=16MiB, type=c
size=16MiB, type=c
start=100352, size=100MiB, type=5
size=32MiB, type=83
size=32MiB, type=83
size=8MiB, type=83"
partx --delete "$d"; losetup -d "$d"; truncate -s 400M "$work/mg.img"
d=$(losetup --show -f "$work/mg.img"); partx --add "$d" 2>/dev/null || true
if [ -n "$no_resize" ]; then
	refuse "MBR grow fails: the kernel kept the old size ($no_resize)" "the kernel still has partition 7" $M apply "$d"
else check "MBR grow: extended then logical grow" sh -c "'$bin' $M --json apply $d | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d[\"partitions\"][-1][\"action\"] == \"grow\", d; assert d[\"partitions\"][-1][\"size\"] > 250 << 20, d'"
fi
check "MBR grow: the table is valid" sfdisk -V "$d"

# Image files on a build host (mkfs through offsets, no loop device).
rm -f "$work/host.img"; truncate -s 200M "$work/host.img"
echo "label: gpt
size=16MiB, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, name=boot" | sfdisk -q "$work/host.img"
check "image file: apply" "$bin" $G apply "$work/host.img"
check "image file: data formatted at its offset" sh -c "start=\$(sfdisk -d $work/host.img | awk -F'[=,]' '/host.img4/ {print \$2+0}'); blkid -p -O \$((start * 512)) $work/host.img | grep -q 'LABEL=\"data\"'"

echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" = 0 ] || exit 1
[ "$skipped" = 0 ] || exit 77

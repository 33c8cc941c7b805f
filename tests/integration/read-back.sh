#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# read-back.sh TEST-READ-BACK: ota-update's read-back (update/slot-io.h)
# reads what the medium holds, not the page cache. Each case writes a slot,
# reads it so that its pages are cached, then changes the medium underneath
# (the loop device's backing file) and shows first that a plain buffered read
# still returns the cached, stale bytes (else the case would prove nothing),
# then that the read-back returns the changed ones:
#   - a block device (a loop device);
#   - a regular file on ext4 (on a loop device), changed through the
#     backing file at the file's physical block (debugfs bmap).
set -euo pipefail
. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../../tools/need.sh"
need mke2fs debugfs
T=$(realpath "${1:?usage: read-back.sh TEST-READ-BACK}")
HERE=$(dirname "$(realpath "$0")")
. "$HERE/../lib/workdir.sh"
W=$(mktemp -d)
trap 'release_workdir "$W"' EXIT
cd "$W"
. "$HERE/../lib/tally.sh"
. "$HERE/../lib/prand.sh"

sum() { sha256sum | cut -d' ' -f1; }
# changed_under NAME SLOT SIZE BACKING OFFSET: the 21 bytes at OFFSET of
# SLOT's medium (the file BACKING) are rewritten behind SLOT's page cache;
# SLOT's first SIZE bytes then are those of expected.img.
changed_under() {
	local name=$1 slot=$2 size=$3 backing=$4 off=$5
	local written cached medium got
	written=$(head -c "$size" "$slot" | sum)
	cat "$slot" >/dev/null # cached now
	printf 'changed on the medium' | dd of="$backing" bs=1 seek="$off" conv=notrunc,fsync status=none
	cached=$(head -c "$size" "$slot" | sum)
	if [ "$cached" != "$written" ]; then
		bad "$name" "the page cache did not keep the stale bytes: the case proves nothing"
		return
	fi
	medium=$(head -c "$size" expected.img | sum)
	got=$("$T" "$slot" "$size") || { bad "$name" "test-read-back failed"; return; }
	[ "$got" = "$medium" ] && [ "$got" != "$written" ] \
		&& ok "$name: a buffered read returns the stale cached bytes, the read-back the medium's" \
		|| bad "$name" "read back $got; medium $medium, page cache $written"
}
# expect OFFSET FILE: expected.img is FILE with the change at OFFSET.
expect() {
	cp "$2" expected.img
	printf 'changed on the medium' | dd of=expected.img bs=1 seek="$1" conv=notrunc status=none
}

# ---- a block device (written through its page cache, as ota-update's partial blocks are) ----
SIZE=$((6 * 1048576 + 1234))
prand rb1 $((8 << 20)) >disk.img
L=$(losetup -f --show disk.img)
# The last close of a block device drops its page cache: another opener
# (udev's probe, a monitoring tool) keeps it, as this one does.
exec 7<"$L"
prand rb2 "$SIZE" | dd of="$L" bs=1M conv=fsync status=none iflag=fullblock
expect $((3 << 20)) disk.img
changed_under block-device "$L" "$SIZE" disk.img $((3 << 20))
exec 7<&-

# ---- a regular file on ext4 -------------------------------------------------------
truncate -s 64M fs.img
mke2fs -q -t ext4 -b 4096 -E lazy_itable_init=0,lazy_journal_init=0 fs.img
L2=$(losetup -f --show fs.img)
mkdir -p mnt
mount "$L2" mnt
prand rb3 "$SIZE" >mnt/slot
sync mnt/slot
# The physical block of the file's byte 1 MiB (its block 256).
blk=$(debugfs -R "bmap /slot 256" "$L2" 2>/dev/null | tail -1)
if [[ $blk =~ ^[0-9]+$ ]]; then
	expect $((1 << 20)) mnt/slot
	changed_under regular-file "$W/mnt/slot" "$SIZE" fs.img $((blk * 4096))
else
	bad regular-file "debugfs bmap gave '$blk'"
fi
umount mnt

tally_end

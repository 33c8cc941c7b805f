#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# loop-devices.sh TEST_BINARY: sets up a GPT and an MBR disk on loop devices
# (root needed), runs the device-discovery tests against them, tears down.
set -euo pipefail
. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../../tools/need.sh"
need sfdisk mkfs.ext4
bin=${1:?usage: loop-devices.sh TEST_BINARY}
[ "$(id -u)" = 0 ] || { echo "FAIL: loop devices need root"; exit 1; }

work=$(mktemp -d /tmp/ota-it-loop.XXXXXX)
. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../lib/workdir.sh"
trap 'release_workdir "$work"' EXIT

tag=$(basename "$work" | cut -d. -f2)
p1_uuid=$(cat /proc/sys/kernel/random/uuid)

truncate -s 64M "$work/gpt.img" "$work/mbr.img"
sfdisk --quiet "$work/gpt.img" <<EOT
label: gpt
size=8MiB, type=linux, name=system-a-$tag, uuid=$p1_uuid
size=8MiB, type=linux, name=system-b-$tag
size=8MiB, type=linux, name=userdata
size=8MiB, type=linux, name=data
EOT
sfdisk --quiet "$work/mbr.img" <<EOT
label: dos
size=8MiB, type=83
size=8MiB, type=83
EOT

gpt=$(losetup --show -f "$work/gpt.img")
mbr=$(losetup --show -f "$work/mbr.img")
# partx reads the table in userspace (libblkid) and adds the partitions with
# BLKPG, so this works even on kernels built without partition-table parsers
# (such as this project's build machines).
for dev in "$gpt" "$mbr"; do
	partx --delete "$dev" 2>/dev/null || true  # stale ones from an earlier user
	partx --add "$dev"
done
# Partition nodes come from devtmpfs; give the kernel a moment to add them.
for node in "${gpt}p1" "${gpt}p4" "${mbr}p1" "${mbr}p2"; do
	for _ in $(seq 50); do [ -b "$node" ] && break; sleep 0.1; done
	[ -b "$node" ] || { echo "FAIL: $node did not appear"; exit 1; }
done
mkfs.ext4 -q -L rootfs "${gpt}p1"
mkfs.ext4 -q -L data "${gpt}p3"
mkfs.ext4 -q -L rootfs "${mbr}p1"
mkfs.ext4 -q -L data "${mbr}p2"

OTA_IT_GPT=$gpt OTA_IT_MBR=$mbr OTA_IT_TAG=$tag OTA_IT_P1_UUID=$p1_uuid "$bin"

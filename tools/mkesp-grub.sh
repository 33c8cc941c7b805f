#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# mkesp-grub.sh --out IMAGE --board BOARD.CFG --groups A,B --grubenv OTA-GRUBENV [--size-mib N]
#               [--default GROUP]
#
# Makes the EFI system partition of the GRUB boot flow (docs/boot-flows.md) as
# a FAT image file, without loop devices or mounts (mtools):
#   /EFI/BOOT/BOOTX64.EFI   GRUB (grub-mkimage, Debian's grub-efi-amd64-bin),
#                           prefix /otaroot on the partition it was loaded from
#   /otaroot/grub.cfg, flow.cfg   bootflow/grub/ of this tree
#   /otaroot/board.cfg      the machine's groups, partitions, root= and cmdline
#   /otaroot/env1, env2, tries    the initial state (ota-grubenv init)
set -euo pipefail
. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/./need.sh"
need /usr/lib/grub/x86_64-efi grub-mkimage mcopy mmd mkfs.fat

ME=mkesp-grub
die() { printf '%s: error: %s\n' "$ME" "$*" >&2; exit 1; }
here=$(cd "$(dirname "$0")/.." && pwd)
out= board= groups= grubenv= size_mib=32 default=
while [ $# -gt 0 ]; do
	case $1 in
	--out) out=$2; shift 2 ;;
	--board) board=$2; shift 2 ;;
	--groups) groups=$2; shift 2 ;;
	--grubenv) grubenv=$2; shift 2 ;;
	--size-mib) size_mib=$2; shift 2 ;;
	--default) default=$2; shift 2 ;;
	*) die "unknown argument '$1'" ;;
	esac
done
[ -n "$out" ] && [ -n "$board" ] && [ -n "$groups" ] && [ -n "$grubenv" ] ||
	die "usage: mkesp-grub.sh --out IMAGE --board BOARD.CFG --groups A,B --grubenv OTA-GRUBENV"
[ -f "$board" ] || die "$board: no such board.cfg"
[ -x "$grubenv" ] || die "$grubenv: not executable (build ota-grubenv first)"

work=$(mktemp -d "${out}.work.XXXXXX")
trap 'rm -rf "$work"' EXIT

# Only what grub.cfg and flow.cfg use: no module is loaded from the ESP.
grub-mkimage -O x86_64-efi -o "$work/BOOTX64.EFI" -p /otaroot \
	part_gpt part_msdos fat ext2 normal linux echo test loadenv regexp configfile \
	serial terminal sleep reboot halt gzio efi_gop
"$grubenv" init "$work/state" --groups "$groups" ${default:+--default "$default"}

rm -f "$out"
mkfs.fat -C -n OTA-ESP "$out" $((size_mib * 1024)) >/dev/null
export MTOOLS_SKIP_CHECK=1
mmd -i "$out" ::/EFI ::/EFI/BOOT ::/otaroot
mcopy -i "$out" "$work/BOOTX64.EFI" ::/EFI/BOOT/BOOTX64.EFI
mcopy -i "$out" "$here/bootflow/grub/grub.cfg" "$here/bootflow/grub/flow.cfg" ::/otaroot/
mcopy -i "$out" "$board" ::/otaroot/board.cfg
mcopy -i "$out" "$work/state/env1" "$work/state/env2" "$work/state/tries" ::/otaroot/
echo "$ME: done: $out"

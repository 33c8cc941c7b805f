#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# mkesp-grub.sh --out IMAGE --board BOARD.CFG --groups A,B --grubenv OTA-GRUBENV [--size-mib N]
#               [--default GROUP] [--target arm64-efi --modules DIR]
#
# Makes the EFI system partition of the GRUB boot flow (docs/boot-flows.md) as
# a FAT image file, without loop devices or mounts (mtools):
#   /EFI/BOOT/BOOTX64.EFI   GRUB (grub-mkimage, Debian's grub-efi-amd64-bin),
#                           prefix /otaroot on the partition it was loaded from
#   /otaroot/grub.cfg, flow.cfg   bootflow/grub/ of this tree
#   /otaroot/board.cfg      the machine's groups, partitions, root= and cmdline
#   /otaroot/env1, env2, tries    the initial state (ota-grubenv init)
# --target arm64-efi: GRUB for 64-bit ARM, /EFI/BOOT/BOOTAA64.EFI, made by the
# host's grub-mkimage from the arm64-efi modules in DIR (Debian's
# grub-efi-arm64-bin, which tests/vm/fetch-kernel.sh --arch arm64 unpacks).
set -euo pipefail
. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/./need.sh"
need grub-mkimage mcopy mmd mkfs.fat

ME=mkesp-grub
die() { printf '%s: error: %s\n' "$ME" "$*" >&2; exit 1; }
here=$(cd "$(dirname "$0")/.." && pwd)
out= board= groups= grubenv= size_mib=32 default= target=x86_64-efi modules=
while [ $# -gt 0 ]; do
	case $1 in
	--out) out=$2; shift 2 ;;
	--board) board=$2; shift 2 ;;
	--groups) groups=$2; shift 2 ;;
	--grubenv) grubenv=$2; shift 2 ;;
	--size-mib) size_mib=$2; shift 2 ;;
	--default) default=$2; shift 2 ;;
	--target) target=$2; shift 2 ;;
	--modules) modules=$2; shift 2 ;;
	*) die "unknown argument '$1'" ;;
	esac
done
[ -n "$out" ] && [ -n "$board" ] && [ -n "$groups" ] && [ -n "$grubenv" ] ||
	die "usage: mkesp-grub.sh --out IMAGE --board BOARD.CFG --groups A,B --grubenv OTA-GRUBENV"
[ -f "$board" ] || die "$board: no such board.cfg"
[ -x "$grubenv" ] || die "$grubenv: not executable (build ota-grubenv first)"
case $target in
x86_64-efi)
	need /usr/lib/grub/x86_64-efi
	[ -n "$modules" ] || modules=/usr/lib/grub/x86_64-efi
	efi=BOOTX64.EFI ;;
arm64-efi) efi=BOOTAA64.EFI ;;
*) die "unknown --target '$target' (x86_64-efi or arm64-efi)" ;;
esac
[ -s "$modules/moddep.lst" ] || die "${modules:-(--modules)}: no GRUB $target modules"

work=$(mktemp -d "${out}.work.XXXXXX")
trap 'rm -rf "$work"' EXIT

# Only what grub.cfg and flow.cfg use: no module is loaded from the ESP.
grub-mkimage -O "$target" -d "$modules" -o "$work/$efi" -p /otaroot \
	part_gpt part_msdos fat ext2 normal linux echo test loadenv regexp configfile \
	serial terminal sleep reboot halt gzio efi_gop
"$grubenv" init "$work/state" --groups "$groups" ${default:+--default "$default"}

rm -f "$out"
mkfs.fat -C -n OTA-ESP "$out" $((size_mib * 1024)) >/dev/null
export MTOOLS_SKIP_CHECK=1
mmd -i "$out" ::/EFI ::/EFI/BOOT ::/otaroot
mcopy -i "$out" "$work/$efi" "::/EFI/BOOT/$efi"
mcopy -i "$out" "$here/bootflow/grub/grub.cfg" "$here/bootflow/grub/flow.cfg" ::/otaroot/
mcopy -i "$out" "$board" ::/otaroot/board.cfg
mcopy -i "$out" "$work/state/env1" "$work/state/env2" "$work/state/tries" ::/otaroot/
echo "$ME: done: $out"

# SPDX-License-Identifier: Apache-2.0
# workdir.sh: sourced by tests and benchmarks that attach loop devices or
# mount things below a scratch directory.
#
#   release_workdir DIR   unmounts everything mounted below DIR (deepest
#                         first), detaches every loop device whose backing
#                         file lies below DIR (its BLKPG partitions first),
#                         then removes DIR. Never fails.
#
# It finds what to release from the kernel's view (mountinfo, the loop
# devices' backing files), not from variables the test kept: a loop device
# attached in a subshell, e.g. in d=$(attach ...), is released too. Call it
# from the EXIT trap.

release_workdir() {
	local dir mnt dev back
	dir=$(readlink -f "$1" 2>/dev/null) || return 0
	[ -n "$dir" ] && [ "$dir" != / ] || return 0
	awk -v d="$dir/" 'index($5 "/", d) == 1 { print $5 }' /proc/self/mountinfo | sort -r |
		while read -r mnt; do umount "$mnt" 2>/dev/null || umount -l "$mnt" 2>/dev/null || true; done
	losetup -nl -O NAME,BACK-FILE 2>/dev/null | while read -r dev back; do
		case "$back" in
		"$dir"/*)
			partx --delete "$dev" 2>/dev/null || true
			losetup -d "$dev" 2>/dev/null || true
			;;
		esac
	done
	rm -rf "$dir"
}

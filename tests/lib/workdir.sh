# SPDX-License-Identifier: Apache-2.0
# workdir.sh: sourced by tests and benchmarks that attach loop devices or
# mount things below a scratch directory.
#
#   release_workdir DIR   unmounts everything mounted below DIR (deepest
#                         first), detaches every loop device whose backing
#                         file lies below DIR (its BLKPG partitions first),
#                         then removes DIR. Never fails.
#
#   scratch_workdir NAME  sets W to a new directory /var/tmp/NAME.XXXXXX and
#                         PIDS to an empty array, and sets an EXIT trap
#                         that kills and reaps the pids the caller adds to
#                         PIDS (its servers), then release_workdir "$W"
#                         (the benchmarks' set-up).
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

scratch_workdir() {
	W=$(mktemp -d "/var/tmp/$1.XXXXXX")
	PIDS=()
	trap _scratch_workdir_end EXIT
}

_scratch_workdir_end() {
	local p
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
	release_workdir "$W"
}

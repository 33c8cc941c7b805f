# SPDX-License-Identifier: Apache-2.0
# bench/lib.sh: sourced (bash) by the benchmarks that attach loop devices and
# start servers (delta.sh, update.sh, image-fs.sh).
#
#   bench_begin NAME   makes the scratch directory W (/var/tmp/bench-NAME.XXXXXX,
#                      on disk: images do not fit in a tmpfs). At exit every
#                      pid in PIDS is killed and waited for, then W released
#                      (tests/lib/workdir.sh: mounts, loop devices, files).
#   say MSG...         a progress line on stderr
#   now                the time, in seconds with nanoseconds

. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../tests/lib/workdir.sh"

bench_begin() {
	W=$(mktemp -d "/var/tmp/bench-$1.XXXXXX")
	PIDS=()
	trap bench_end EXIT
}

bench_end() {
	local p
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
	release_workdir "$W"
}

say() { echo "== $*" >&2; }
now() { date +%s.%N; }

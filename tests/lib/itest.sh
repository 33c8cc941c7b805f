# SPDX-License-Identifier: Apache-2.0
# itest.sh: the start every integration script shares. Source it right after
# `set -euo pipefail`; it brings need (tools/need.sh), ok/bad/tally_end
# (tally.sh) and release_workdir (workdir.sh), and sets HERE to the script's
# directory.
#
#   itest_begin USAGE NAME... -- "$@"
#                        sets each NAME to the absolute path of the script's
#                        next argument (fails with USAGE if one is missing),
#                        then makes a scratch directory, sets W to it and
#                        changes into it. At exit, every process given to
#                        itest_track is killed (and waited for), then W is
#                        released (release_workdir: mounts, loop devices).
#   itest_track PID...   kills PID at exit (one that has ended is skipped)
#   free_port            prints a TCP port on 127.0.0.1 that nothing listens on
#   wait_for_file FILE ERR
#                        waits up to 10 s for FILE to have content (a server's
#                        port file); fails the script, showing ERR (its
#                        stderr), if it has none by then
#   fake_debian_root DIR INIT KVER
#                        a small root file system as Debian leaves it: BusyBox
#                        as /sbin/init, INIT as /sbin/ota-init, a kernel and an
#                        initramfs of version KVER (random bytes) in /boot with
#                        the /vmlinuz and /initrd.img links, a machine id
#   http_server NAME DIR [OPTION...]
#                        tests/integration/http-server.py serving DIR in the
#                        background, with OPTIONs (e.g. --tls CERT KEY); its
#                        request log is $W/NAME.log, its stderr $W/NAME.err.
#                        Returns once it listens, with PORT_NAME set to its
#                        port and PID_NAME to its pid (killed at exit).

itest_lib=$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")
. "$itest_lib/../../tools/need.sh"
. "$itest_lib/tally.sh"
. "$itest_lib/workdir.sh"
HERE=$(dirname "$(realpath "$0")")
itest_pids=()

itest_begin() {
	local usage=$1 names=() name
	shift
	while [ "$1" != -- ]; do names+=("$1"); shift; done
	shift
	for name in "${names[@]}"; do
		[ -n "${1:-}" ] || { echo "usage: $usage" >&2; exit 2; }
		printf -v "$name" '%s' "$(realpath "$1")"
		shift
	done
	W=$(mktemp -d)
	trap itest_end EXIT
	cd "$W"
}

itest_track() { itest_pids+=("$@"); }

itest_end() {
	local p
	for p in "${itest_pids[@]}"; do
		kill "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	release_workdir "$W"
}

fake_debian_root() {
	local r=$1 kver=$3
	mkdir -p "$r"/{bin,sbin,boot,etc,proc,sys,dev,run,tmp}
	cp /bin/busybox "$r/bin/busybox"
	ln -s /bin/busybox "$r/sbin/init"
	install -m 0755 "$2" "$r/sbin/ota-init"
	head -c 300000 /dev/urandom >"$r/boot/vmlinuz-$kver"
	head -c 90000 /dev/urandom >"$r/boot/initrd.img-$kver"
	ln -s "boot/vmlinuz-$kver" "$r/vmlinuz"
	ln -s "boot/initrd.img-$kver" "$r/initrd.img"
	echo 0123456789abcdef0123456789abcdef >"$r/etc/machine-id"
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

wait_for_file() {
	for _ in $(seq 100); do [ -s "$1" ] && return 0; sleep 0.1; done
	echo "$1 was not written: $(cat "$2" 2>/dev/null)" >&2
	exit 1
}

http_server() {
	local name=$1 dir=$2
	shift 2
	rm -f "$W/$name.port"
	python3 "$itest_lib/../integration/http-server.py" "$dir" "$W/$name.port" "$W/$name.log" "$@" 2>"$W/$name.err" &
	printf -v "PID_$name" '%s' "$!"
	itest_track "$!"
	wait_for_file "$W/$name.port" "$W/$name.err"
	printf -v "PORT_$name" '%s' "$(cat "$W/$name.port")"
}

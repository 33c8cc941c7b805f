#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# cli.sh VERSION NAME=PROGRAM...: the command-line rules every tool keeps
# (docs/cli.md): --help and -h print usage on stdout and exit 0; --version
# and -V print "<tool> VERSION" and exit 0; an unknown option, an option
# without its argument and an unknown command exit 2 naming themselves on
# stderr. For the tools with per-command options (ota-update, ota-state, ota-image):
# COMMAND --help, and a command given another command's option, exit 2.
# ota-init runs in a private mount namespace: a regression that got past its
# PID-1 check must not rearrange the host's mounts.
set -uo pipefail
. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../lib/tally.sh"
version=${1:?usage: cli.sh VERSION NAME=PROGRAM...}
shift
work=$(mktemp -d)
trap 'rm -rf -- "$work"' EXIT

# run NAME PROGRAM ARGS...: exit status in $rc, output in $work/out, $work/err
run() {
	local name=$1 prog=$2
	shift 2
	rc=0
	if [ "$name" = ota-init ]; then
		unshare --mount --propagation private $prog "$@" >"$work/out" 2>"$work/err" || rc=$?
	else
		$prog "$@" >"$work/out" 2>"$work/err" || rc=$?
	fi
}

# expect_help NAME PROGRAM ARGS...: usage on stdout, nothing on stderr, exit 0
expect_help() {
	local name=$1 prog=$2 what="$1 ${*:3}"
	run "$@"
	if [ "$rc" = 0 ] && grep -q '^Usage: ' "$work/out" && [ ! -s "$work/err" ]; then
		ok "$what: usage on stdout, exit 0"
	else
		bad "$what" "exit $rc, stdout: $(head -c 200 "$work/out"), stderr: $(head -c 200 "$work/err")"
	fi
}

# expect_usage_error NAME PROGRAM WORD ARGS...: exit 2, stderr names WORD,
# stdout empty
expect_usage_error() {
	local name=$1 prog=$2 word=$3 what="$1 ${*:4}"
	run "$name" "$prog" "${@:4}"
	if [ "$rc" = 2 ] && grep -qF -- "'$word'" "$work/err" && [ ! -s "$work/out" ]; then
		ok "$what: exit 2 naming '$word'"
	else
		bad "$what" "exit $rc (want 2 naming '$word'), stderr: $(head -c 300 "$work/err")"
	fi
}

for arg; do
	name=${arg%%=*}
	prog=${arg#*=}
	expect_help "$name" "$prog" --help
	expect_help "$name" "$prog" -h
	for v in --version -V; do
		run "$name" "$prog" $v
		out=$(cat "$work/out")
		if [ "$rc" = 0 ] && [ "$out" = "$name $version" ]; then
			ok "$name $v: '$out'"
		else
			bad "$name $v" "exit $rc, stdout '$out' (want '$name $version'), stderr: $(head -c 200 "$work/err")"
		fi
	done
	expect_usage_error "$name" "$prog" --no-such-option --no-such-option
	expect_usage_error "$name" "$prog" -Z -Z
	[ "$name" = ota-init ] || expect_usage_error "$name" "$prog" no-such-command no-such-command
done

# Per-command options. Each command has its own usage and refuses what
# belongs to another command; an option needing an argument says so.
for arg; do
	name=${arg%%=*}
	prog=${arg#*=}
	case $name in
	ota-update)
		for cmd in install commit rollback status check report; do
			expect_help "$name" "$prog" "$cmd" --help
			grep -q "^Usage: ota-update $cmd" "$work/out" || bad "$name $cmd --help" "not the command's usage: $(head -1 "$work/out")"
		done
		expect_usage_error "$name" "$prog" --json commit --json
		expect_usage_error "$name" "$prog" --channel status --channel http://127.0.0.1:9/c.json
		expect_usage_error "$name" "$prog" --install install --install x.otab
		expect_usage_error "$name" "$prog" --reboot status --reboot
		expect_usage_error "$name" "$prog" --no-delta rollback --no-delta
		expect_usage_error "$name" "$prog" --now install --now x.otab
		expect_usage_error "$name" "$prog" --config --config
		expect_usage_error "$name" "$prog" --channel check --channel
		;;
	ota-image)
		for cmd in build bundle run; do
			expect_help "$name" "$prog" "$cmd" --help
			grep -q "^Usage: ota-image $cmd" "$work/out" || bad "$name $cmd --help" "not the command's usage: $(head -1 "$work/out")"
		done
		expect_usage_error "$name" "$prog" --print build --print d.conf
		expect_usage_error "$name" "$prog" --data-dir bundle --data-dir /x d.conf
		expect_usage_error "$name" "$prog" --rootfs run --rootfs /x disk.img
		expect_usage_error "$name" "$prog" --rootfs build d.conf --rootfs
		;;
	ota-state)
		for cmd in persist unpersist list status reset; do
			expect_help "$name" "$prog" "$cmd" --help
			grep -q "^Usage: ota-state $cmd" "$work/out" || bad "$name $cmd --help" "not the command's usage: $(head -1 "$work/out")"
		done
		expect_usage_error "$name" "$prog" --keep-on-reset unpersist --keep-on-reset /etc/x
		expect_usage_error "$name" "$prog" --drop persist --drop /etc/x
		expect_usage_error "$name" "$prog" --backup list --backup b1
		expect_usage_error "$name" "$prog" --json reset --json
		expect_usage_error "$name" "$prog" --data-dir status --data-dir
		;;
	esac
done
tally_end

#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# fuzz-campaign.sh [--runs N] [--out DIR] [TARGET...]: runs every fuzz target
# (or the named ones) for N executions each (default 10,000,000), one after
# the other on one core, starting from tests/fuzz/corpus/TARGET. Inputs that
# reach new code are merged back into tests/fuzz/corpus/TARGET (libFuzzer
# -merge=1 keeps only those that add coverage), so the corpus grows with each
# campaign; commit it. Prints per target: executions, seconds, executions per
# second, corpus files added, findings (crash-, leak-, timeout-, oom- files in
# DIR/artifacts/TARGET/). Exits 1 if anything was found.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
runs=10000000
out=/var/tmp/otaroot-fuzz-campaign
while [ $# -gt 0 ]; do
	case $1 in
	--runs) runs=$2; shift 2 ;;
	--out) out=$2; shift 2 ;;
	-h | --help) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; exit 0 ;;
	-*) echo "fuzz-campaign: unknown option $1" >&2; exit 2 ;;
	*) break ;;
	esac
done
"$repo/tests/fuzz/build.sh" "$out" >/dev/null
want=("$@")

found=0
printf '%-14s %12s %8s %9s %6s %s\n' target executions seconds exec/s added findings
while read -r target max_len; do
	if [ ${#want[@]} -gt 0 ] && ! printf '%s\n' "${want[@]}" | grep -qx "$target"; then continue; fi
	corpus=$repo/tests/fuzz/corpus/$target
	new=$out/new/$target
	art=$out/artifacts/$target
	rm -rf "$new"
	mkdir -p "$new" "$art"
	before=$(ls "$corpus" | wc -l)
	t0=$SECONDS
	# New inputs go to the first directory; the seed corpus is read only.
	"$out/fuzz-$target" -runs="$runs" -max_len="$max_len" -artifact_prefix="$art/" -print_final_stats=1 \
		"$new" "$corpus" >"$out/$target.log" 2>&1 || true
	secs=$((SECONDS - t0))
	done_runs=$(sed -n 's/^Done \([0-9]*\) runs.*/\1/p' "$out/$target.log" | tail -1)
	"$out/fuzz-$target" -merge=1 -max_len="$max_len" "$corpus" "$new" >>"$out/$target.log" 2>&1
	added=$(($(ls "$corpus" | wc -l) - before))
	findings=$(ls "$art" | wc -l)
	[ "$findings" = 0 ] || found=1
	printf '%-14s %12s %8s %9s %6s %s\n' "$target" "${done_runs:-?}" "$secs" \
		"$(( ${done_runs:-0} / (secs > 0 ? secs : 1) ))" "$added" \
		"$([ "$findings" = 0 ] && echo none || ls "$art" | tr '\n' ' ')"
done <"$out/targets"
rm -rf "$out/new"
exit $found

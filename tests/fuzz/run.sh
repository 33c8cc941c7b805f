#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# run.sh OUTDIR [RUNS]: builds the libFuzzer targets (build.sh) and runs each
# for RUNS inputs (default 20000) from the seed corpus, which it does not
# change. A crash, sanitizer report or leak fails. Long runs that grow the
# corpus: bench/fuzz-campaign.sh.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${1:?usage: run.sh OUTDIR [RUNS]}
runs=${2:-20000}
"$here/build.sh" "$out"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
while read -r target max_len; do
	rm -rf "${work:?}"/*
	cp "$here/corpus/$target"/* "$work/"
	echo "fuzz-$target: $runs runs"
	"$out/fuzz-$target" -runs="$runs" -max_len="$max_len" -artifact_prefix="$out/" "$work" 2>&1 | tail -n 3
done <"$out/targets"

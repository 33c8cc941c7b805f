#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# build.sh OUTDIR: builds the libFuzzer targets with clang (ASan+UBSan) into
# OUTDIR/fuzz-TARGET and lists them, one "TARGET MAX_LEN" a line, in
# OUTDIR/targets. Used by run.sh (the smoke run in the tests) and
# bench/fuzz-campaign.sh (long runs that grow the corpus).
set -euo pipefail
. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../../tools/need.sh"
need clang /usr/lib/llvm-14/lib/clang/14.0.6/lib/linux/libclang_rt.fuzzer-x86_64.a
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
out=${1:?usage: build.sh OUTDIR}
mkdir -p "$out"

# sources.list and targets.list: "#" comments and blank lines dropped.
list() { sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$here/$1"; }
sources=()
while read -r src; do sources+=("$repo/$src"); done < <(list sources.list)
common=(-std=c11 -D_GNU_SOURCE -D_FILE_OFFSET_BITS=64 -I"$repo" -g -O1 -fno-sanitize-recover=all
	$(pkg-config --cflags blkid inih libzstd libcrypto json-c libcurl))
libs=($(pkg-config --libs blkid inih libzstd libcrypto json-c libcurl) -lpthread)

# The library sources are compiled once (in parallel), each target links them.
objdir=$out/obj
rm -rf "$objdir"
mkdir -p "$objdir"
objs=()
for src in "${sources[@]}"; do
	obj=$objdir/$(printf '%s' "${src#"$repo"/}" | tr / _).o
	objs+=("$obj")
	clang "${common[@]}" -fsanitize=fuzzer-no-link,address,undefined -c "$src" -o "$obj" &
	while [ "$(jobs -rp | wc -l)" -ge "$(nproc)" ]; do wait -n || true; done
done
wait
for obj in "${objs[@]}"; do [ -f "$obj" ] || { echo "build.sh: compiling $obj failed" >&2; exit 1; }; done

: >"$out/targets.new"
while read -r target max_len; do
	clang "${common[@]}" -fsanitize=fuzzer,address,undefined -o "$out/fuzz-$target" "$here/fuzz-$target.c" \
		"${objs[@]}" "${libs[@]}"
	echo "$target $max_len" >>"$out/targets.new"
done < <(list targets.list)
mv "$out/targets.new" "$out/targets"

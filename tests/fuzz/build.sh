#!/bin/bash
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

sources=("$repo"/init/cmdline.c "$repo"/init/config.c "$repo"/stateman/overlay.c
	"$repo"/sysutil/{error,log,strings,files,path,blockdev,copy,ini}.c "$repo"/stateman/stateconf.c
	"$repo"/partitioner/layout.c "$repo"/bootflow/grubenv.c
	"$repo"/bundle/{chunker,format,manifest,signature,reader,writer,ranges}.c
	"$repo"/update/{config,channel,trust}.c "$repo"/sysutil/spawn.c "$repo"/bootflow/{bootflow,custom,grub,uboot-env,uboot,rpi-tryboot,proc}.c)
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

# target:max_len (bundles need room for a header, manifest and some chunks)
: >"$out/targets.new"
for spec in cmdline:4096 config:4096 update-config:4096 channel:8192 stateconf:4096 layout:4096 multipart:8192 manifest:8192 bundle:65536 signature:8192 grubenv:4096 uboot-env:8192; do
	target=${spec%%:*}
	clang "${common[@]}" -fsanitize=fuzzer,address,undefined -o "$out/fuzz-$target" "$here/fuzz-$target.c" \
		"${objs[@]}" "${libs[@]}"
	echo "$target ${spec#*:}" >>"$out/targets.new"
done
mv "$out/targets.new" "$out/targets"

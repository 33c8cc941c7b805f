#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# bench/bundle.sh BUILD_DIR [IMAGE]: throughput of `ota-bundle create` against
# `casync make`, and of `ota-bundle extract` (verify + decompress + write)
# against `zstd -dc | sha256sum`, on the same image, measured in one run and
# printed as ratios. Without IMAGE, an ext4 image is filled from /usr (a
# stand-in for a root filesystem; pass a debootstrap image for the real thing).
# Fuzzers for as long as you like: tests/fuzz/run.sh OUT RUNS.
set -euo pipefail
. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../tools/need.sh"
need casync zstd bc mke2fs debootstrap
build=$(realpath "${1:?usage: bench/bundle.sh BUILD_DIR [IMAGE]}")
B=$build/bin/ota-bundle
W=$(mktemp -d /var/tmp/bench-bundle.XXXXXX)
trap 'rm -rf "$W"' EXIT
if [ -n "${2:-}" ]; then
	img=$(realpath "$2")
else
	img=$W/rootfs.ext4
	mkdir -p "$W/root/usr/share" && cp -a /usr/bin /usr/sbin /usr/lib/python3 "$W/root/usr/" && cp -a /usr/share/doc /usr/share/man "$W/root/usr/share/"
	truncate -s 0 "$img"
	size=$(( $(du -sm "$W/root" | cut -f1) * 12 / 10 + 64 ))
	mke2fs -q -t ext4 -d "$W/root" "$img" "${size}M"
	rm -rf "$W/root"
fi
mb=$(( $(stat -c %s "$img") / 1048576 ))
printf '[bundle]\ncompatible = bench\nversion = 1\n[image.rootfs]\nfile = %s\n' "$img" >"$W/b.ini"
sync

now() { date +%s.%N; }
secs() { echo "$2 - $1" | bc; }

t0=$(now); "$B" create "$W/b.ini" "$W/b.otab"; t1=$(now)
casync make --compression=zstd --chunk-size=65536 --store="$W/store.castr" "$W/b.caibx" "$img" >/dev/null; t2=$(now)
zstd -q -3 -T0 -c "$img" >"$W/img.zst"
t3=$(now); "$B" extract --allow-unsigned "$W/b.otab" rootfs "$W/out.img"; t4=$(now)
zstd -dc "$W/img.zst" | sha256sum >/dev/null; t5=$(now)
cmp -s "$img" "$W/out.img" || { echo "bench: extracted image differs" >&2; exit 1; }

c_ota=$(secs "$t0" "$t1"); c_ca=$(secs "$t1" "$t2"); x_ota=$(secs "$t3" "$t4"); x_ref=$(secs "$t4" "$t5")
echo "image: $mb MiB, $(nproc) CPUs; bundle $(( $(stat -c %s "$W/b.otab") / 1048576 )) MiB"
printf 'create:  ota-bundle %6.2f s (%5.0f MiB/s)   casync make %6.2f s (%5.0f MiB/s)   ratio %.2fx\n' \
	"$c_ota" "$(echo "$mb / $c_ota" | bc -l)" "$c_ca" "$(echo "$mb / $c_ca" | bc -l)" "$(echo "$c_ca / $c_ota" | bc -l)"
printf 'extract: ota-bundle %6.2f s (%5.0f MiB/s)   zstd -dc|sha256sum %6.2f s (%5.0f MiB/s)   ratio %.2fx\n' \
	"$x_ota" "$(echo "$mb / $x_ota" | bc -l)" "$x_ref" "$(echo "$mb / $x_ref" | bc -l)" "$(echo "$x_ref / $x_ota" | bc -l)"
echo "(ratio > 1: ota-bundle faster)"

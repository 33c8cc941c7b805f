#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# bench/delta.sh [--rounds N] BUILD_DIR [CACHE_DIR]: bytes downloaded by a delta install
# with chunk patches (issue 20), one run each (method:
# ../../shared/notes/benchmarking.md), over nginx, on a real Debian security
# update: v1 = `debootstrap --variant=minbase bookworm`, v2 = v1 after
# `apt-get upgrade` from bookworm-security (bench/delta-roots.sh; the roots
# are cached in CACHE_DIR, default BUILD_DIR/bench-delta, so a re-run only
# makes the images again). The device's active slot holds the old image, its
# spare unrelated data. Printed:
#   - ota-update with patches (bundle made with --delta-base v1.img), without
#     (the same image, no patches), `casync extract --seed=v1.img` (64 KiB
#     chunks, zstd) and the floor, `zstd -19 --long=31 --patch-from=v1 v2`;
#   - a one-file change (v3 = v2 with one binary rebuilt), with and without
#     patches;
#   - base missing: the device on v1 installs v3's bundle, whose patches are
#     against v2 only (bases are named by content, so those that v1 shares
#     with v2 still serve); and, with no base on the device at all, v2's
#     bundle with patches against v3 only: must download what the bundle
#     without patches does;
#   - the bundles' growth from the patches, and the install time with patches
#     against a full install of the same image from a local bundle, medians
#     of --rounds N (default 3) interleaved rounds: on the device above (its
#     active slot flashed, not installed by ota-update: no saved index) with
#     the bundle's moves and with a bundle without them (the slot scanned),
#     and on one whose active slot ota-update installed (its index saved).
# Not run by CI. Needs root, loop devices, debootstrap and Debian's mirrors
# (first run), nginx, casync, zstd, GNU time (tools/deps.sh).
set -euo pipefail
. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../tools/need.sh"
need casync nginx /usr/bin/time zstd bc curl python3 debugfs
ROUNDS=3
if [ "${1:-}" = --rounds ]; then
	ROUNDS=${2:?--rounds N}
	shift 2
fi
build=$(realpath "${1:?usage: bench/delta.sh [--rounds N] BUILD_DIR [CACHE_DIR]}")
cache=$(realpath -m "${2:-$build/bench-delta}")
here=$(dirname "$(realpath "$0")")
U=$build/bin/ota-update
B=$build/bin/ota-bundle
. "$here/lib.sh"
bench_begin delta

say "images (roots cached in $cache)"
"$here/delta-roots.sh" "$cache"
cd "$W"
ln -s "$cache/v1.img" v1.img
ln -s "$cache/v2.img" v2.img
# v3: v2 with one file changed, as a rebuilt binary: bytes rewritten at a few places.
if [ ! -e "$cache/v3.img" ] || [ "$cache/v3.img" -ot "$cache/v2.img" ]; then
	cp --reflink=auto "$cache/v2.img" "$cache/v3.img"
	inode=$(debugfs -R 'stat /usr/bin/bash' "$cache/v3.img" 2>/dev/null | sed -n 's/^Inode: \([0-9]*\).*/\1/p')
	blocks=$(debugfs -R 'blocks /usr/bin/bash' "$cache/v3.img" 2>/dev/null)
	[ -n "$inode" ] && [ -n "$blocks" ] || { echo "bench: /usr/bin/bash not found in v2.img" >&2; exit 1; }
	python3 - "$cache/v3.img" $blocks <<'PY'
import random, sys
img, blocks = sys.argv[1], [int(b) for b in sys.argv[2:]]
rnd = random.Random(20)
with open(img, 'r+b') as f:
    for b in sorted(rnd.sample(blocks, 12)):  # 12 of its 4 KiB blocks, 64 bytes each
        f.seek(b * 4096 + rnd.randrange(4096 - 64))
        f.write(bytes(rnd.randrange(256) for _ in range(64)))
PY
fi
ln -s "$cache/v3.img" v3.img
IMG_BYTES=$(stat -L -c %s v1.img)

say "the floor: zstd -19 --long=31 --patch-from (cached by the images' SHA-256)"
key=$(cat v1.img v2.img | sha256sum | cut -c1-16)
if [ ! -s "$cache/floor-$key.size" ] || [ "$(cat "$cache/floor-$key.size")" = 0 ]; then
	# The files themselves: zstd skips symbolic links.
	zstd -q -19 --long=31 -T0 --patch-from="$cache/v1.img" "$cache/v2.img" -c 2>/dev/null | wc -c >"$cache/floor-$key.size"
fi
FLOOR=$(cat "$cache/floor-$key.size")
[ "$FLOOR" -gt 0 ] || { echo "bench: zstd --patch-from gave nothing" >&2; exit 1; }

# ---- bundles ------------------------------------------------------------------------------
. "$here/../tests/lib/pki.sh"
pki_init
pki_root ca
pki_cert signer ca plain_signer
ini() { printf '[bundle]\ncompatible = bench\nversion = %s\n[image.system]\nfile = %s\n' "$1" "$2" >"$3"; }
mkdir -p srv
ini 1 v1.img v1.ini
ini 2 v2.img v2.ini
ini 3 v3.img v3.ini
say "bundles"
t0=$(now)
"$B" create --key signer.key --cert signer.pem v2.ini srv/v2-plain.otab >/dev/null
t1=$(now)
"$B" create --key signer.key --cert signer.pem --delta-base v1.img v2.ini srv/v2.otab >/dev/null
t2=$(now)
"$B" create --key signer.key --cert signer.pem v3.ini srv/v3-plain.otab >/dev/null
"$B" create --key signer.key --cert signer.pem --delta-base v2.img v3.ini srv/v3.otab >/dev/null
"$B" create --key signer.key --cert signer.pem --delta-base v3.img v2.ini srv/v2-other.otab >/dev/null
"$B" create --key signer.key --cert signer.pem v2.ini v2-local.otab >/dev/null
T_CREATE_PLAIN=$(echo "$t1 - $t0" | bc -l)
T_CREATE_PATCH=$(echo "$t2 - $t1" | bc -l)

# ---- the device -----------------------------------------------------------------------------
truncate -s $((IMG_BYTES + (64 << 20))) slot-a.img slot-b.img
LA=$(losetup -f --show slot-a.img)
LB=$(losetup -f --show slot-b.img)
. "$here/../tests/lib/fake-device.sh"
fake_bootflow
fake_conf "$W" "$W/ca.pem" bench --classes system "system-a=device:$LA" "system-b=device:$LB" >ota.conf
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$here/../tests/lib/nginx-serve.sh" "$W/ngx" "$W/srv" "$PORT" &
PIDS+=($!)
for _ in $(seq 50); do curl -s -o /dev/null "http://127.0.0.1:$PORT/" && break; sleep 0.1; done
served() { awk '{ n += $3 } END { print n + 0 }' ngx/access.log; }
# device ACTIVE-IMAGE: the active slot a holds it, the spare b unrelated bytes, no status.
device() {
	dd if="$1" of="$LA" bs=1M conv=fsync status=none
	head -c "$IMG_BYTES" /dev/urandom | dd of="$LB" bs=1M conv=fsync iflag=fullblock status=none
	rm -rf data
	fake_boot a
}
# fetch NAME BUNDLE WANT: installs BUNDLE over nginx, checks the spare holds WANT; sets DL_NAME, T_NAME.
fetch() {
	local name=$1 bundle=$2 want=$3 t
	: >ngx/access.log
	sync
	/usr/bin/time -f '%e' -o "time.$name" "$U" --config ota.conf install --json "http://127.0.0.1:$PORT/$bundle" >"$name.json"
	cmp -s -n "$IMG_BYTES" "$LB" "$want" || { echo "bench: $name left a wrong image" >&2; exit 1; }
	printf -v "DL_$name" '%s' "$(served)"
	read -r t <"time.$name"
	printf -v "T_$name" '%s' "$t"
	say "$name: $(served) bytes downloaded, $t s"
}

# pair NAME ACTIVE BUNDLE WANT: with patches (BUNDLE.otab) and without (BUNDLE-plain.otab).
pair() {
	device "$2"
	fetch "$1_patch" "$3.otab" "$4"
	device "$2"
	fetch "$1_plain" "$3-plain.otab" "$4"
}
say "v1 -> v2: ota-update with and without patches"
pair v2 v1.img v2 v2.img
say "one-file change v2 -> v3"
pair one v2.img v3 v3.img
say "base missing: v1 -> v3 (patches against v2 only)"
pair miss v1.img v3 v3.img
say "no base at all: v1 -> v2 with patches against v3 only"
device v1.img
fetch none v2-other.otab v2.img
# ---- install time ----------------------------------------------------------------------------
# Interleaved rounds (one of each per round, page cache dropped before each;
# medians: single runs here vary by a third), against a full install of the
# same image from a local bundle:
#   M  delta with patches, active slot flashed (no saved index): the bundle's
#      moves place v1's chunks (stage index-moves);
#   S  the same bundle with its moves field renamed (what a bundle from before
#      moves gives): the active slot is scanned (stage index);
#   I  delta with patches on a device whose active slot ota-update installed
#      (its index saved), the device after its first update: v1 installed
#      into b from a local bundle, b booted, a holding random bytes;
#   F, IF  full installs on the flashed device and on that one.
python3 "$here/../tests/integration/bundle-mutate.py" retag srv/v2.otab v2-nomoves.unsigned system 0x0021 0x0fe1
"$B" sign --key signer.key --cert signer.pem v2-nomoves.unsigned srv/v2-nomoves.otab
"$B" create --key signer.key --cert signer.pem v1.ini v1-local.otab >/dev/null
device_ix() {
	rm -rf data
	fake_boot a
	"$U" --config ota.conf install v1-local.otab >/dev/null
	fake_boot b
	head -c "$IMG_BYTES" /dev/urandom | dd of="$LA" bs=1M conv=fsync iflag=fullblock status=none
}
# timed NAME STAGE SPARE ARGS...: one install (page cache dropped first) that
# must report STAGE (if any) and leave v2 in SPARE; appends its time to T_NAME.
timed() {
	local name=$1 stage=$2 spare=$3 t0 t1 var=T_$1
	shift 3
	sync
	echo 3 >/proc/sys/vm/drop_caches
	t0=$(now)
	"$U" --config ota.conf install --json "$@" >"time-$name.json"
	t1=$(now)
	cmp -s -n "$IMG_BYTES" "$spare" v2.img || { echo "bench: $name left a wrong image" >&2; exit 1; }
	[ -z "$stage" ] || grep -q "\"stage\":\"$stage\"" "time-$name.json" ||
		{ echo "bench: $name did not use stage $stage" >&2; exit 1; }
	printf -v "$var" '%s %s' "${!var:-}" "$(echo "$t1 - $t0" | bc -l)"
}
median() { printf '%s\n' "$@" | sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
spread() { printf '%s\n' "$@" | sort -g | awk '{ a[NR] = $1 } END { printf "%.2f-%.2f", a[1], a[NR] }'; }
for round in $(seq "$ROUNDS"); do
	say "install times, round $round of $ROUNDS"
	device v1.img
	timed F "" "$LB" v2-local.otab
	device v1.img
	timed M index-moves "$LB" "http://127.0.0.1:$PORT/v2.otab"
	device v1.img
	timed S index "$LB" "http://127.0.0.1:$PORT/v2-nomoves.otab"
	device_ix
	timed I index-loaded "$LA" "http://127.0.0.1:$PORT/v2.otab"
	device_ix
	timed IF "" "$LA" v2-local.otab
done

say "casync extract --seed=v1.img"
casync make --compression=zstd --chunk-size=65536 --store=srv/store.castr srv/v2.caibx v2.img >/dev/null
: >ngx/access.log
casync extract --store="http://127.0.0.1:$PORT/store.castr" --seed=v1.img "http://127.0.0.1:$PORT/v2.caibx" \
	casync-out.img
cmp -s casync-out.img v2.img || { echo "bench: casync extract left a wrong image" >&2; exit 1; }
DL_casync=$(served)
rm -f casync-out.img

# ---- report ---------------------------------------------------------------------------------
size() { stat -c %s "$1"; }
pct() { echo "100 * $1 / $2" | bc -l; }
x() { echo "$1 / $2" | bc -l; }
echo
echo "v1 -> v2: Debian 12 minbase, apt-get upgrade from bookworm-security ($(cat "$cache/upgraded.count") packages); 1 GiB ext4 images; $(nproc) CPUs"
printf '  %-46s %10s bytes   %5.2fx casync   %5.2fx the floor   %6.1f s\n' "ota-update, patches against v1" "$DL_v2_patch" \
	"$(x "$DL_v2_patch" "$DL_casync")" "$(x "$DL_v2_patch" "$FLOOR")" "$T_v2_patch"
printf '  %-46s %10s bytes   %5.2fx casync   %5.2fx the floor   %6.1f s\n' "ota-update, no patches" "$DL_v2_plain" \
	"$(x "$DL_v2_plain" "$DL_casync")" "$(x "$DL_v2_plain" "$FLOOR")" "$T_v2_plain"
printf '  %-46s %10s bytes\n' "casync extract --seed=v1.img" "$DL_casync"
printf '  %-46s %10s bytes\n' "zstd -19 --long=31 --patch-from=v1 (floor)" "$FLOOR"
printf '  %-46s %10s -> %s bytes (+%.2f %%), create %.1f s -> %.1f s\n' "bundle v2 without -> with patches" \
	"$(size srv/v2-plain.otab)" "$(size srv/v2.otab)" \
	"$(pct "$(($(size srv/v2.otab) - $(size srv/v2-plain.otab)))" "$(size srv/v2-plain.otab)")" \
	"$T_CREATE_PLAIN" "$T_CREATE_PATCH"
echo "install time with patches against a full install of v2 from a local bundle (medians of $ROUNDS interleaved rounds, page cache dropped):"
# row LABEL DELTA FULL: medians, ranges and the ratio of the medians.
row() {
	local d f
	d=$(median ${!2}) f=$(median ${!3})
	printf '  %-46s %5.2f s (%s) vs %5.2f s (%s): %.2fx\n' "$1" "$d" "$(spread ${!2})" "$f" "$(spread ${!3})" "$(x "$d" "$f")"
}
row "flashed device, moves (no scan)" T_M T_F
row "flashed device, bundle without moves (scan)" T_S T_F
row "index saved by an earlier install" T_I T_IF
echo "one-file change v2 -> v3 (/usr/bin/bash, 12 blocks rewritten):"
printf '  %-46s %10s bytes\n' "ota-update, patches against v2" "$DL_one_patch"
printf '  %-46s %10s bytes\n' "ota-update, no patches" "$DL_one_plain"
printf '  %-46s %10s -> %s bytes\n' "bundle v3 without -> with patches" "$(size srv/v3-plain.otab)" "$(size srv/v3.otab)"
echo "base missing: device on v1, bundle v3 with patches against v2 only (bases v1 shares with v2 still serve):"
printf '  %-46s %10s bytes (%+.2f %% against the bundle without patches: %s bytes)\n' "ota-update" "$DL_miss_patch" \
	"$(pct "$((DL_miss_patch - DL_miss_plain))" "$DL_miss_plain")" "$DL_miss_plain"
echo "no base on the device: device on v1, bundle v2 with patches against v3 only:"
printf '  %-46s %10s bytes (%+.2f %% against the bundle without patches: %s bytes)\n' "ota-update" "$DL_none" \
	"$(pct "$((DL_none - DL_v2_plain))" "$DL_v2_plain")" "$DL_v2_plain"

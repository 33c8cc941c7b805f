#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# update-patches.sh OTA_UPDATE OTA_BUNDLE: delta installs with chunk patches
# (docs/bundle-format.md "Chunk patches") from a real nginx on 127.0.0.1 into
# loop-device slots. v2 is v1 with 24 files edited in a few places (as
# rebuilt binaries are); its bundle carries patches against v1. Cases:
#   - patch used: the active slot holds v1 (flashed: no saved index): fewer
#     bytes fetched than for the same image without patches, multi-range
#     requests, the image right; the bundle's moves place v1's chunks (stage
#     index-moves), the slot is not scanned;
#   - moves stale: v1 with the last chunk of every run changed (the probes
#     read first chunks): those are fetched, the rest reused, the image
#     right, no more fetched than the bundle without patches or moves costs
#     on the same device (which scans it);
#   - base corrupted: one byte of every patch's base region damaged in the
#     active slot: no patch used, the chunks fetched, the image right;
#   - base absent: the active slot holds unrelated bytes: what the bundle
#     without patches costs (within 1 %, plus the larger manifest); the
#     moves' probes fail, the slot is scanned;
#   - old reader: the patch and moves fields renamed to tags no reader knows
#     (what a reader from before them sees) and re-signed: installs by delta
#     (scanning) and streamed, ignoring them; `ota-bundle verify` accepts the
#     bundle;
#   - moved within the spare: the spare holds v1, installed by ota-update
#     (its index saved), the new image is v1 moved 1 MiB towards the start:
#     its chunks are copied within the spare, not fetched.
set -euo pipefail
. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../../tools/need.sh"
need curl mke2fs python3
U=$(realpath "${1:?usage: update-patches.sh OTA_UPDATE OTA_BUNDLE}")
B=$(realpath "${2:?usage: update-patches.sh OTA_UPDATE OTA_BUNDLE}")
HERE=$(dirname "$(realpath "$0")")
. "$HERE/../lib/workdir.sh"
W=$(mktemp -d)
NGINX=
cleanup() {
	[ -n "$NGINX" ] && kill "$NGINX" 2>/dev/null && wait "$NGINX" 2>/dev/null || true
	release_workdir "$W"
}
trap cleanup EXIT
cd "$W"
. "$HERE/../lib/tally.sh"

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
mkdir -p srv
"$HERE/../lib/nginx-serve.sh" "$W/ngx" "$W/srv" "$PORT" &
NGINX=$!
for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$PORT/" && break; sleep 0.1; done
URL=http://127.0.0.1:$PORT
served() { awk '{ n += $3 } END { print n + 0 }' ngx/access.log; }

. "$HERE/../lib/pki.sh"
. "$HERE/../lib/corrupt.sh"
pki_init
pki_root root
pki_cert signer root signer

# 120 files of base64 text (compressible, as binaries are), 24 of them
# edited in v2 at 6 places each: 40 bytes rewritten, 16 inserted.
mkdir -p tree/usr/lib tree/etc
for i in $(seq 120); do head -c $((36 << 10)) /dev/urandom | base64 -w 76 >tree/usr/lib/lib$i.so; done
mkimg() {
	rm -f "$1"
	E2FSPROGS_FAKE_TIME=1700000000 mke2fs -q -t ext4 -b 4096 -U 3f0e8c1a-6b2d-4e7f-9a10-c5d4e3f2a1b0 \
		-E hash_seed=7a6b5c4d-3e2f-4a1b-8c9d-0e1f2a3b4c5d,lazy_itable_init=0 -d tree "$1" 24M
}
mkimg system-v1.img
EDITED=$(seq 5 5 120)
python3 - $EDITED <<'PY'
import random, sys
rnd = random.Random(7)
for i in sys.argv[1:]:
    path = "tree/usr/lib/lib%s.so" % i
    b = bytearray(open(path, "rb").read())
    for _ in range(6):
        at = rnd.randrange(len(b) - 64)
        b[at:at + 40] = bytes(rnd.randrange(65, 91) for _ in range(40))
        b[at:at] = b"patched-" * 2
    open(path, "wb").write(bytes(b))
PY
mkimg system-v2.img
bundle() { # bundle NAME VERSION IMAGE [create options]
	local name=$1 version=$2 image=$3
	shift 3
	printf '[bundle]\ncompatible = test-board\nversion = %s\n[image.system]\nfile = %s\n' "$version" "$image" >"$name.ini"
	"$B" create --key signer.key --cert signer.pem "$@" "$name.ini" "srv/$name.otab" >/dev/null
}
# v1 moved 1 MiB towards the start, 1 MiB of new bytes at its end.
{ tail -c +$((1048576 + 1)) system-v1.img; head -c 1048576 /dev/urandom; } >system-moved.img
bundle v1 1.0 system-v1.img
bundle moved 3.0 system-moved.img
bundle v2-plain 2.0 system-v2.img
bundle v2 2.0 system-v2.img --delta-base system-v1.img
# What a reader from before patches sees: the field under a tag it does not know (optional: skipped).
python3 "$HERE/bundle-mutate.py" retag srv/v2.otab v2-old.tmp system 0x0020 0x0fe0
python3 "$HERE/bundle-mutate.py" retag v2-old.tmp v2-old.unsigned system 0x0021 0x0fe1
"$B" sign --key signer.key --cert signer.pem v2-old.unsigned srv/v2-old.otab
inspect() { "$B" inspect --json "srv/$1.otab" | python3 -c "import json,sys; j=json.load(sys.stdin); print($2)"; }
NPATCH=$(inspect v2 "j['payloads'][0]['patches']") NMOVES=$(inspect v2 "j['payloads'][0]['moves']")
[ "$NPATCH" -gt 0 ] && [ "$NMOVES" -gt 0 ] && [ "$(inspect v2-old "j['payloads'][0]['patches']")" = 0 ] \
	&& [ "$(inspect v2-old "j['payloads'][0]['moves']")" = 0 ] && [ "$(inspect v2-plain "j['payloads'][0]['moves']")" = 0 ] \
	&& ok "bundle: $NPATCH chunk patches and $NMOVES runs of moves against v1; $(stat -c %s srv/v2-plain.otab) -> $(stat -c %s srv/v2.otab) bytes" \
	|| bad bundle "patches: $NPATCH, moves: $NMOVES"

# ---- the device: system slots on loop devices --------------------------------------------
. "$HERE/../lib/fake-device.sh"
fake_loop_device 32M
# The done event's field, "missing" if it has none.
done_field() { python3 -c "import json; e=json.loads(open('out.txt').read().strip().splitlines()[-1]); print(e.get('$1', 'missing'))"; }
# device ACTIVE: booted a holds ACTIVE (a file), b unrelated bytes, no status.
# install leaves b and the status as they are.
device() {
	dd if="$1" of="$LA" bs=1M conv=fsync status=none
	head -c $((32 << 20)) /dev/urandom | dd of="$LB" bs=1M conv=fsync iflag=fullblock status=none
	rm -rf data/*
	fake_boot a
}
# install NAME BUNDLE [OPTIONS]: sets SRV (bytes nginx sent) and PATCHED; 1 if it failed or left a wrong image.
install() {
	local name=$1 bundle=$2 rc=0
	shift 2
	: >ngx/access.log
	"$U" --config system.conf install --json "$@" "$URL/$bundle.otab" >out.txt 2>err.txt || rc=$?
	SRV=$(served)
	if [ $rc != 0 ]; then bad "$name" "exit $rc: $(cat err.txt)"; return 1; fi
	if ! cmp -s -n "$(stat -c %s "$WANT")" "$LB" "$WANT"; then bad "$name" "wrong image in the spare"; return 1; fi
	PATCHED=$(done_field patched)
	[ "$PATCHED" != missing ] || { bad "$name" "no 'patched' in the done event: $(tail -1 out.txt)"; return 1; }
}

WANT=system-v2.img

# ---- patch used ----------------------------------------------------------------------------
device system-v1.img
install plain v2-plain && PLAIN=$SRV
device system-v1.img
# Which index the install used: moves, index (a scan) or index-loaded.
index_stage() { grep -o '"stage":"index[a-z-]*"' out.txt | head -1 | cut -d'"' -f4; }
if install patch-used v2; then
	MULTI=$(awk -F'"' '$2 ~ /,/' ngx/access.log | wc -l) USED=$PATCHED
	[ "$PATCHED" -gt 0 ] && [ "$SRV" -lt "$PLAIN" ] && [ "$MULTI" -gt 0 ] \
		&& ok "patches used: $SRV bytes fetched instead of $PLAIN, $PATCHED image bytes made from patches, $MULTI multi-range requests" \
		|| bad patch-used "fetched $SRV (without patches $PLAIN), patched $PATCHED, multi-range $MULTI"
	[ "$(index_stage)" = index-moves ] && [ "$(done_field reused_active)" -gt $((2 << 20)) ] \
		&& ok "moves: v1's chunks placed by the bundle's moves, the slot not scanned, $(done_field reused_active) bytes reused" \
		|| bad moves-used "index stage '$(index_stage)', reused from the active slot $(done_field reused_active)"
fi

# ---- moves stale ----------------------------------------------------------------------------
# v1 with one byte of the last chunk of every run longer than one chunk changed.
stale_device() {
	device system-v1.img
	STALE=0
	while read -r base count first last size; do
		[ "$count" -gt 1 ] || continue
		flip_byte "$LA" $((last + size / 2))
		STALE=$((STALE + 1))
	done < <(python3 "$HERE/bundle-mutate.py" moves srv/v2.otab)
	sync
}
stale_device
install moves-stale-plain v2-plain && STALE_PLAIN=$SRV
stale_device
if install moves-stale v2; then
	[ "$STALE" -gt 0 ] && [ "$(index_stage)" = index-moves ] && [ "$SRV" -le $((STALE_PLAIN + STALE_PLAIN / 100)) ] \
		&& [ "$(done_field reused_active)" -gt $((1 << 20)) ] \
		&& ok "moves stale: $STALE chunks not where the moves say, fetched: $SRV bytes (the bundle without patches or moves, scanning: $STALE_PLAIN), the image right" \
		|| bad moves-stale "$STALE stale, index stage '$(index_stage)', fetched $SRV (without patches, scanning: $STALE_PLAIN), reused $(done_field reused_active)"
fi

# ---- base corrupted locally ----------------------------------------------------------------
# One byte in the middle of every base region, in the active slot.
device system-v1.img
python3 "$HERE/bundle-mutate.py" patches srv/v2.otab | while read -r off size; do
	flip_byte "$LA" $((off + size / 2))
done
sync
if install base-corrupted v2; then
	[ "$PATCHED" = 0 ] && [ "$SRV" -gt "$PLAIN" ] \
		&& ok "base corrupted: no patches used, the chunks fetched ($SRV bytes), the image right" \
		|| bad base-corrupted "patched $PATCHED, fetched $SRV (without patches, intact base: $PLAIN)"
fi

# ---- base absent ----------------------------------------------------------------------------
head -c $((24 << 20)) /dev/urandom >unrelated.img
device unrelated.img
install absent-plain v2-plain && ABSENT_PLAIN=$SRV
device unrelated.img
if install base-absent v2; then
	GROWTH=$(($(inspect v2 "j['manifest_size']") - $(inspect v2-plain "j['manifest_size']")))
	[ "$PATCHED" = 0 ] && [ "$SRV" -le $((ABSENT_PLAIN + ABSENT_PLAIN / 100 + GROWTH)) ] && [ "$(index_stage)" = index ] \
		&& ok "base absent: $SRV bytes fetched, without patches $ABSENT_PLAIN (+ $GROWTH bytes of manifest), the slot scanned" \
		|| bad base-absent "patched $PATCHED, fetched $SRV, without patches $ABSENT_PLAIN, manifest growth $GROWTH"
fi

# ---- old reader -----------------------------------------------------------------------------
"$B" verify --keyring root.pem srv/v2.otab >/dev/null 2>err.txt && ok "ota-bundle verify accepts the bundle with patches" \
	|| bad verify "$(cat err.txt)"
device system-v1.img
if install old-reader-delta v2-old; then
	[ "$PATCHED" = 0 ] && [ "$(index_stage)" = index ] \
		&& ok "old reader, delta: patches and moves ignored (the slot scanned), the chunks fetched whole ($SRV bytes), the image right" \
		|| bad old-reader-delta "patched $PATCHED, index stage '$(index_stage)'"
fi
device system-v1.img
install old-reader-streamed v2-old --no-delta && [ "$SRV" = "$(stat -c %s srv/v2-old.otab)" ] \
	&& ok "old reader, streamed: the whole bundle read ($SRV bytes), the image right" \
	|| bad old-reader-streamed "fetched $SRV"

# ---- moved within the spare -----------------------------------------------------------------
head -c $((24 << 20)) /dev/urandom >unrelated.img
device unrelated.img
WANT=system-v1.img
if install spare-v1 v1; then
	WANT=system-moved.img
	if install moved-in-spare moved; then
		# All-zero chunks need no source (zero_chunks); the data chunks
		# that moved come from the spare.
		SPARE=$(done_field reused_spare) ZERO=$(done_field zero_chunks) SZ=$(stat -c %s srv/moved.otab)
		[ "$SPARE" -gt $((4 << 20)) ] && [ $((SPARE + ZERO)) -gt $((20 << 20)) ] && [ $((SRV * 4)) -lt "$SZ" ] \
			&& ok "moved within the spare: $SPARE bytes copied within it ($ZERO of zeros), $SRV of $SZ bundle bytes fetched" \
			|| bad moved-in-spare "reused in the spare $SPARE, zeros $ZERO, fetched $SRV of $SZ"
	fi
fi

tally_end

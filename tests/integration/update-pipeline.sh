#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# update-pipeline.sh OTA_UPDATE OTA_BUNDLE: the pipelined streamed install
# (update/slot-io.c: chunks decoded and verified on one thread, written on
# another; zero runs zeroed; the slot read back from the medium). On loop
# devices and files filled with garbage first:
#   - an image of data and long zero runs, with an odd-sized tail, lands
#     bit-exact, zero runs zeroed where the device says it can;
#   - a bad chunk in the middle of the stream, a stream cut in the middle and
#     a slot whose medium fails mid-write each fail with their own message,
#     in bounded time (no thread left waiting), arm nothing and leave the
#     active slot bit-identical;
#   - --no-read-back skips the read-back and says so.
set -euo pipefail
. "$(dirname "$(readlink -f "$0")")/../lib/itest.sh"
need python3
itest_begin "update-pipeline.sh OTA_UPDATE OTA_BUNDLE" U B -- "$@"
MUT=$HERE/bundle-mutate.py
. "$HERE/../lib/pki.sh"
. "$HERE/../lib/prand.sh"
. "$HERE/../lib/fake-device.sh"
pki_signer

# 44 MiB + 12345 bytes: data, 12 MiB of zeros, data, 6 MiB of zeros, data.
{
	prand p1 $((7 << 20)); head -c $((12 << 20)) /dev/zero; prand p2 $((9 << 20))
	head -c $((6 << 20)) /dev/zero; prand p3 $((10 << 20 | 12345))
} >image.img
IMG=$(stat -c %s image.img)
. "$HERE/../lib/signed-bundle.sh"
signed_bundle good.otab 2.0 system=image.img
read -r _ CHUNKS < <(python3 "$MUT" offsets good.otab | grep '^chunks.system ')
read -r _ END < <(python3 "$MUT" offsets good.otab | grep '^end ')
python3 "$MUT" flip good.otab bad-chunk.otab $(((CHUNKS + END) / 2))

# The device: system-a (active) and system-b, as loop devices over garbage.
prand active $((48 << 20)) >a.img
prand spare $((48 << 20)) >b.img
LA=$(losetup -f --show a.img)
LB=$(losetup -f --show b.img)
mkdir -p data hooks
fake_bootflow
conf() { # conf FILE SLOT-B-SPEC
	cat >"$1" <<CONF
$(fake_conf_head "$W" "$W/root.pem" test-board)
$(fake_slots "$W" --classes system "system-a=device:$LA" "system-b=$2")
CONF
}
conf loop.conf "device:$LB"
ACTIVE=$(sha256sum <"$LA")
json_done() { python3 -c "import json; e=json.loads(open('out.txt').read().strip().splitlines()[-1]); print(e['$1'])"; }
# install NAME CONF ARGS...: ota-update install under a 120 s bound.
install() {
	local conf=$2
	shift 2
	fake_boot a a
	rc=0
	timeout 120 "$U" --config "$W/$conf" install "$@" >out.txt 2>err.txt || rc=$?
}
# refused NAME PATTERN STATUS: exit STATUS (its reason's, docs/cli.md; 124
# would be the time bound), PATTERN in the message, nothing armed, the
# spare marked bad, the active slot unchanged.
refused() {
	if [ "$rc" != "$3" ]; then bad "$1" "exit $rc, expected $3 $([ "$rc" = 124 ] && echo '(hung)'): $(cat err.txt)"; return; fi
	if ! grep -q -- "$2" err.txt; then bad "$1" "message '$(cat err.txt)' lacks '$2'"; return; fi
	if [ "$(fake_calls arm)" != 0 ]; then bad "$1" "armed: $(cat calls)"; return; fi
	if [ "$(fake_calls mark-bad)" != 1 ]; then bad "$1" "spare not marked bad: $(cat calls)"; return; fi
	if [ "$(sha256sum <"$LA")" != "$ACTIVE" ]; then bad "$1" "the active slot changed"; return; fi
	ok "$1: $(grep -o 'error:.*' err.txt | head -c 200)"
}

# ---- a loop device over garbage -----------------------------------------------------
install loop loop.conf --json good.otab
zmax=$(cat "/sys/block/$(basename "$LB")/queue/write_zeroes_max_bytes" 2>/dev/null || echo 0)
if [ $rc = 0 ] && cmp -s -n "$IMG" "$LB" image.img && [ "$(fake_calls arm)" = 1 ]; then
	ok "loop device: the image is in place, armed"
	z=$(json_done zeroed)
	if [ "$zmax" -gt 0 ]; then
		[ "$z" -ge $((16 << 20)) ] && ok "loop device: $z bytes of zero runs zeroed by BLKZEROOUT" \
			|| bad loop-zeroed "zeroed $z, expected at least 16 MiB (write_zeroes_max_bytes $zmax)"
	else
		[ "$z" = 0 ] && ok "loop device: no BLKZEROOUT here, zeros written" || bad loop-zeroed "zeroed $z"
	fi
	[ "$(json_done read_back)" = True ] && [ "$(json_done readback_bytes)" = "$IMG" ] \
		&& [ "$(json_done readback_ms)" -le "$(json_done elapsed_ms)" ] \
		&& ok "loop device: read back $IMG bytes ($(json_done readback_early) while writing), waited $(json_done readback_ms) of $(json_done elapsed_ms) ms" \
		|| bad loop-readback "$(tail -1 out.txt)"
else
	bad loop "exit $rc: $(cat err.txt)"
fi
[ "$(sha256sum <"$LA")" = "$ACTIVE" ] && ok "loop device: the active slot is bit-identical" || bad loop-active changed

# ---- a file over garbage (FALLOC_FL_ZERO_RANGE where the file system has it) -------------
mkdir -p slots
prand file-spare $((50 << 20)) >slots/system-b
conf file.conf "file:$W/slots/system-b"
install file file.conf --json good.otab
[ $rc = 0 ] && cmp -s slots/system-b image.img && [ "$(fake_calls arm)" = 1 ] \
	&& ok "file: the image is in place ($(json_done zeroed) bytes zeroed), armed" || bad file "exit $rc: $(cat err.txt)"

# ---- errors in the middle of the stream -------------------------------------------------
prand spare $((48 << 20)) | dd of="$LB" bs=1M conv=fsync status=none iflag=fullblock
install bad-chunk loop.conf bad-chunk.otab
refused "bad chunk in the middle" "payload 'system': chunk .*: \(hash mismatch\|decompression failed\)" 3
install truncated loop.conf - < <(head -c $(((CHUNKS + END) / 2)) good.otab)
refused "stream cut in the middle" "truncated in chunk data" 3
# A spare whose medium fails mid-write: a loop device over a file on a
# 20 MiB tmpfs, 48 MiB of which the image needs 26 MiB of data.
mkdir -p small
mount -t tmpfs -o size=20m tmpfs small
truncate -s 48M small/spare.img
LS=$(losetup -f --show small/spare.img)
conf failing.conf "device:$LS"
install failing failing.conf good.otab
refused "the spare's medium fails mid-write (no-space)" "slot system-b: \(write\|fsync\|zero\)" 4
losetup -d "$LS"
umount small

# ---- --no-read-back -----------------------------------------------------------------------
install no-read-back loop.conf --json --no-read-back good.otab
[ $rc = 0 ] && cmp -s -n "$IMG" "$LB" image.img && [ "$(json_done read_back)" = False ] \
	&& [ "$(json_done readback_bytes)" = 0 ] && ok "--no-read-back: installed, not read back" \
	|| bad no-read-back "exit $rc: $(cat err.txt) $(tail -1 out.txt)"
install no-read-back-text loop.conf --no-read-back good.otab
grep -q "not read back (--no-read-back)" out.txt && ok "--no-read-back: says so" || bad no-read-back-text "$(cat out.txt)"
install text loop.conf good.otab
grep -q "read back $IMG bytes from the medium ([0-9]* while writing), then .* s after the last fsync (.*% of the install" out.txt \
	&& ok "the read-back's share of the time: $(grep 'read back' out.txt)" || bad text "$(cat out.txt)"

tally_end

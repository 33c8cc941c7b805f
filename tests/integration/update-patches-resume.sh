#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# update-patches-resume.sh OTA_UPDATE OTA_BUNDLE: a delta install that uses
# chunk patches (docs/bundle-format.md "Chunk patches"), interrupted half-way,
# resumes and completes (docs/update.md "Resume"). Loop-device slots, the
# fault-injecting server http-server.py on 127.0.0.1. v2 is v1 (64 MiB of
# text) with 160 small edits spread over it (patched against v1) and three
# 5 MiB runs of new random bytes (fetched whole, several fetch rounds). Once
# a reference install has shown what is served, the server sends 70 % (40 %)
# of that and then holds every connection:
#   - killed: ota-update is killed (SIGKILL) while it waits;
#   - dropped: with http-stall-time = 1 and http-attempts = 1, ota-update
#     gives up on the stalled transfer itself.
# Each time: nothing armed, the spare recorded "installing" with a
# checkpoint, not yet the new image. Then the same install again: it
# completes, the spare is bit-exact, one trial armed, the chunks below the
# checkpoint were found in place (resumed) rather than fetched again, and the
# rest still used patches.
set -euo pipefail
. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../lib/itest.sh"
need curl python3
itest_begin "update-patches-resume.sh OTA_UPDATE OTA_BUNDLE" U B -- "$@"
# An ota-update still running at exit is killed first (it may hold the slot's
# loop device that release_workdir detaches).
INST=
trap '[ -n "$INST" ] && kill -KILL "$INST" 2>/dev/null && wait "$INST" 2>/dev/null; itest_end' EXIT
. "$HERE/../lib/pki.sh"
pki_init
pki_root root
pki_cert signer root signer

# ---- images and the bundle --------------------------------------------------------------
SIZE=$((64 << 20))
python3 - "$SIZE" <<'PY'
import base64, os, random, sys
size = int(sys.argv[1])
rnd = random.Random(11)
# Text (compressible, as binaries are), lines of 76.
b = bytearray(base64.encodebytes(os.urandom(size * 3 // 4 + 76))[:size])
open("v1.img", "wb").write(bytes(b))
seg = len(b) // 160
for k in range(160):  # in place, as a rebuilt binary: offsets kept, 40 bytes rewritten
    at = k * seg + rnd.randrange(seg - 64)
    b[at:at + 40] = bytes(rnd.randrange(65, 91) for _ in range(40))
for frac in (0.35, 0.60, 0.85):
    at = int(len(b) * frac)
    b[at:at + (5 << 20)] = os.urandom(5 << 20)
open("v2.img", "wb").write(bytes(b))
PY
mkdir -p srv
printf '[bundle]\ncompatible = test-board\nversion = 2.0\n[image.system]\nfile = v2.img\n' >v2.ini
"$B" create --key signer.key --cert signer.pem --delta-base v1.img v2.ini srv/v2.otab >/dev/null
NPATCH=$("$B" inspect --json srv/v2.otab | python3 -c "import json,sys; print(json.load(sys.stdin)['payloads'][0]['patches'])")
[ "$NPATCH" -gt 0 ] && ok "bundle: $NPATCH chunk patches against v1" || bad bundle "no patches"

# ---- server and device ---------------------------------------------------------------------
http_server http "$W/srv"
URL=http://127.0.0.1:$PORT_http
ctl() { curl -sf "$URL/_ctl?$1" >/dev/null; }
# Body bytes the server sent (stalled responses count whole: they are logged as they start).
served() { awk '$1 == "GET" && $2 !~ /^\/_ctl/ { sub("bytes=", "", $NF); n += $NF } END { print n + 0 }' http.log; }

. "$HERE/../lib/fake-device.sh"
fake_loop_device $((SIZE + (16 << 20)))
# The same device, giving up on a transfer stalled for 1 s, at the first attempt.
sed 's/^\[update\]$/[update]\nhttp-stall-time = 1\nhttp-attempts = 1/' system.conf >impatient.conf
# device: booted a holds v1, the spare b unrelated bytes, no status.
device() {
	dd if=v1.img of="$LA" bs=1M conv=fsync status=none
	head -c $((SIZE + (16 << 20))) /dev/urandom | dd of="$LB" bs=1M conv=fsync iflag=fullblock status=none
	rm -rf data/*
	fake_boot a
	ctl reset=1
	: >http.log
}
field() { python3 -c "import json; e=json.loads(open('$1').read().strip().splitlines()[-1]); print(e.get('$2', 'missing'))"; }
spare_record() {
	python3 -c "import json; s=json.load(open('data/slots.json'))['slots'].get('system-b', {}); print(s.get('state', 'none'), s.get('checkpoint_chunks', 0))"
}
# complete NAME: the install again, undisturbed: it must finish, bit-exact, armed once, resumed and patched.
complete() {
	local name=$1 rc=0
	ctl reset=1
	: >http.log
	"$U" --config system.conf install --json "$URL/v2.otab" >out.txt 2>err.txt || rc=$?
	if [ $rc != 0 ]; then bad "$name-resume" "exit $rc: $(cat err.txt)"; return; fi
	local resumed patched got
	resumed=$(field out.txt resumed) patched=$(field out.txt patched) got=$(served)
	if ! cmp -s -n "$SIZE" "$LB" v2.img; then
		bad "$name-resume" "the spare is not the new image"
	elif [ "$(fake_calls arm)" != 1 ]; then
		bad "$name-resume" "armed $(fake_calls arm) times"
	elif [ "$resumed" -le 0 ] || [ "$patched" -le 0 ] || [ "$got" -ge "$REF" ]; then
		bad "$name-resume" "resumed $resumed bytes, patched $patched, fetched $got (uninterrupted: $REF)"
	else
		ok "$name: resumed: $resumed bytes in place below the checkpoint, $patched made from patches, $got of $REF bytes fetched, bit-exact, armed"
	fi
}
# interrupted NAME: after the interruption: not armed, installing with a checkpoint, not complete.
interrupted() {
	local name=$1 rec
	rec=$(spare_record)
	if [ "$(fake_calls arm)" != 0 ] || grep -q '^trial=b' bf.state; then
		bad "$name" "a trial was armed before the install completed"
	elif [ "${rec% *}" != installing ] || [ "${rec#* }" -le 0 ]; then
		bad "$name" "the spare's record is '$rec', not installing with a checkpoint"
	elif cmp -s -n "$SIZE" "$LB" v2.img; then
		bad "$name" "the spare was complete already: not interrupted half-way"
	else
		ok "$name: interrupted with the spare installing (checkpoint at chunk ${rec#* }), nothing armed"
	fi
}

# ---- reference: undisturbed ----------------------------------------------------------------
device
if "$U" --config system.conf install --json "$URL/v2.otab" >out.txt 2>err.txt && cmp -s -n "$SIZE" "$LB" v2.img; then
	REF=$(served)
	[ "$(field out.txt patched)" -gt 0 ] && ok "reference install: $REF bytes fetched, patches used" \
		|| bad reference "no patches used: $(tail -1 out.txt)"
else
	bad reference "$(cat err.txt)"
	tally_end
fi

# ---- killed while the server holds the connection ------------------------------------------
device
ctl "hostile=stall&after=$((REF * 7 / 10))"
"$U" --config system.conf install --json "$URL/v2.otab" >out.txt 2>err.txt &
INST=$!
# The stalled response is logged as it starts: then ota-update waits on it.
for _ in $(seq 600); do [ "$(served)" -gt $((REF * 7 / 10)) ] && break; sleep 0.1; done
sleep 1
if kill -0 "$INST" 2>/dev/null; then
	kill -KILL "$INST"
	wait "$INST" 2>/dev/null || true
	INST=
	interrupted killed
	complete killed
else
	wait "$INST" || true
	INST=
	bad killed "ota-update ended before it was killed: $(tail -1 out.txt) $(cat err.txt)"
fi

# ---- the server stalls, ota-update gives up ------------------------------------------------
device
ctl "hostile=stall&after=$((REF * 4 / 10))"
rc=0
timeout 120 "$U" --config impatient.conf install --json "$URL/v2.otab" >out.txt 2>err.txt || rc=$?
if [ $rc = 0 ] || [ $rc = 124 ]; then
	bad dropped "exit $rc: the install did not fail on the stalled transfer"
else
	interrupted dropped
	complete dropped
fi

tally_end

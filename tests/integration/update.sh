#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# update.sh OTA_UPDATE OTA_BUNDLE: ota-update end to end with real signed
# bundles from a throwaway CA, file slots and loop-device slots, and a custom
# boot-flow script that records every call. Each bad input must be refused
# with a specific message, leave the booted group's slots bit-identical and
# arm nothing.
set -euo pipefail
. "$(dirname "$(readlink -f "$0")")/../lib/itest.sh"
need curl strip
itest_begin "update.sh OTA_UPDATE OTA_BUNDLE" U B -- "$@"
MUT=$HERE/bundle-mutate.py
LOOPS=()
check() { # check NAME CONDITION-COMMAND...
	local name=$1
	shift
	if "$@"; then ok "$name"; else bad "$name" "failed: $*"; fi
}

# ---- PKI and bundles ------------------------------------------------------------
. "$HERE/../lib/pki.sh"
. "$HERE/../lib/prand.sh"
. "$HERE/../lib/corrupt.sh"
. "$HERE/../lib/signed-bundle.sh"
pki_init
pki_root root
pki_root other-root
pki_cert signer root signer
pki_cert stranger other-root signer
pki_cert expired root signer 20200101000000Z 20210101000000Z

prand L39 3000000 >system.img
head -c 1000000 /dev/zero >>system.img
prand L41 300000 >boot.img
# bundle NAME COMPATIBLE VERSION SIGNER
bundle() {
	cat >"$1.ini" <<INI
[bundle]
compatible = $2
version = $3
[image.system]
file = system.img
[image.boot]
file = boot.img
INI
	"$B" create --key "$4.key" --cert "$4.pem" "$1.ini" "$1.otab" >/dev/null
}
bundle good test-board 2.0.1 signer
bundle wrongcompat other-board 2.0.1 signer
bundle older test-board 0.9 signer
bundle stranger test-board 2.0.1 stranger
bundle expired test-board 2.0.1 expired
cp good.otab corrupt.otab
size=$(stat -c %s corrupt.otab)
flip_byte corrupt.otab $((size - 50))
cmp -s good.otab corrupt.otab && { echo "corrupt.otab is not corrupt"; exit 1; }

# ---- the device ----------------------------------------------------------------
mkdir -p slots hooks data
prand L68 2000000 >slots/system-a
prand L69 200000 >slots/boot-a
prand L70 123456 >slots/system-b
prand L71 4567 >slots/boot-b

. "$HERE/../lib/fake-device.sh"
fake_bootflow

conf() { # conf FILE SYSTEM-A SYSTEM-B KEY(device|file)
	cat >"$1" <<CONF
[data]
device = auto
[system]
compatible = test-board
version = 1.0
[update]
keyring = $W/root.pem
status-file = $W/data/ota/update/slots.json
hooks-dir = $W/hooks
lock-file = $W/update.lock
hook-timeout = 20
$(fake_slots "$W" --tries 3 "system-a=$4:$2" "system-b=$4:$3")
CONF
}
conf system.conf "$W/slots/system-a" "$W/slots/system-b" file
C=(--config "$W/system.conf")

hook() { # hook STAGE NAME BODY
	mkdir -p "hooks/$1.d"
	printf '#!/bin/sh\n%s\n' "$3" >"hooks/$1.d/$2"
	chmod +x "hooks/$1.d/$2"
}
for s in pre-install post-install pre-commit post-commit; do
	hook $s 10-record 'echo "hook $OTA_HOOK_STAGE" >>'"$W"'/calls; env | grep ^OTA_ | sort >'"$W/env-\$OTA_HOOK_STAGE"
done
printf '#!/bin/sh\nexit 1\n' >hooks/pre-install.d/05-not-executable  # skipped: not executable

active_sum() { sha256sum slots/system-a slots/boot-a | sha256sum; }
ACTIVE=$(active_sum)

# expect_refused NAME PATTERN MARKED_BAD(yes|no) ARGS...: exits $want (1
# unless set; the statuses of docs/cli.md, "Failure reasons")
expect_refused() {
	local name=$1 pattern=$2 marked=$3 rc=0
	shift 3
	"$U" "${C[@]}" "$@" >out.txt 2>err.txt || rc=$?
	if [ "$rc" != "${want:-1}" ]; then bad "$name" "exit $rc, expected ${want:-1}: $(cat err.txt)"; return; fi
	if ! grep -q -- "$pattern" err.txt; then bad "$name" "message '$(cat err.txt)' lacks '$pattern'"; return; fi
	if [ "$(active_sum)" != "$ACTIVE" ]; then bad "$name" "the active slots changed"; return; fi
	if [ "$(fake_calls arm)" != 0 ]; then bad "$name" "armed: $(cat calls)"; return; fi
	if [ "$marked" = yes ] && [ "$(fake_calls mark-bad)" != 1 ]; then bad "$name" "spare not marked bad: $(cat calls)"; return; fi
	if [ "$marked" = no ] && [ "$(fake_calls mark-bad)" != 0 ]; then bad "$name" "spare marked bad: $(cat calls)"; return; fi
	ok "$name: $(grep error: err.txt | head -c 240)"
}

# ---- bad input first: nothing may be armed ---------------------------------------
fake_boot a a
SPARE_BEFORE=$(sha256sum slots/system-b | cut -d' ' -f1)
want=3 expect_refused bad-signature "bundle 'stranger.otab'" no install stranger.otab
grep -q -i "sign\|certificate" err.txt && ok "bad-signature: message names the signature check" || bad bad-signature-msg "$(cat err.txt)"
fake_boot a a
want=4 expect_refused wrong-compatible "compatible check: bundle 'wrongcompat.otab' is for 'other-board', this device is 'test-board'" no install wrongcompat.otab
fake_boot a a
want=4 expect_refused downgrade "version check: bundle version 0.9 is older than the running version 1.0 (downgrade policy refuse)" no install older.otab
# [update] check-time and the algorithm policy (issue 15, class 12).
sed 's/^hook-timeout = 20$/&\ncheck-time = yes/' system.conf >check-time.conf
C=(--config "$W/check-time.conf")
fake_boot a a
want=3 expect_refused check-time-yes-expired-signer "certificate has expired" no install expired.otab
sed 's/^hook-timeout = 20$/&\nmin-ec-bits = 384/' system.conf >policy.conf
C=(--config "$W/policy.conf")
fake_boot a a
want=3 expect_refused policy-raised-in-config "256-bit EC key; the policy needs at least 384" no install good.otab
sed 's/^hook-timeout = 20$/&\nmin-digest-bits = 160/' system.conf >lowered.conf
C=(--config "$W/lowered.conf")
fake_boot a a
expect_refused policy-not-lowered-by-config "min-digest-bits: '160' is not a number in 256..512" no install good.otab
C=(--config "$W/system.conf")
fake_boot a a
expect_refused missing-file "open bundle '$W/nope.otab'" no install "$W/nope.otab"
[ "$(sha256sum slots/system-b | cut -d' ' -f1)" = "$SPARE_BEFORE" ] && ok "checks before writing: spare untouched" || bad spare-untouched "spare written"
fake_boot a a
want=3 expect_refused corrupted-chunk "payload 'boot': chunk" yes install corrupt.otab
grep -q "left marked bad" err.txt && ok "corrupted-chunk: says the spare is left marked bad" || bad corrupt-msg "$(cat err.txt)"
python3 -c "import json,sys; s=json.load(open('data/ota/update/slots.json'))['slots']; sys.exit(0 if s['boot-b']['state']=='installing' else 1)" \
	&& ok "corrupted-chunk: boot-b recorded as installing, never installed" || bad corrupt-status "$(cat data/ota/update/slots.json)"

fake_boot a a
hook pre-install 20-fail 'echo "health: no" >&2; exit 4'
SPARE_BEFORE=$(sha256sum slots/system-b | cut -d' ' -f1)
expect_refused failing-pre-install-hook "install aborted, nothing written: pre-install hook '$W/hooks/pre-install.d/20-fail' failed with exit status 4" no install good.otab
[ "$(sha256sum slots/system-b | cut -d' ' -f1)" = "$SPARE_BEFORE" ] && ok "failing pre-install hook: spare untouched" || bad hook-spare "spare written"
rm hooks/pre-install.d/20-fail

fake_boot b a b 2
expect_refused uncommitted-trial "the running system (group b) is an uncommitted trial: commit or roll back first" no install good.otab

fake_boot a a
rc=0; flock "$W/update.lock" "$U" "${C[@]}" install good.otab >out.txt 2>err.txt || rc=$?
[ $rc = 6 ] && grep -q "another ota-update is running (lock '$W/update.lock' is held)" err.txt \
	&& ok "two installs at once: the second is refused" || bad concurrent "exit $rc: $(cat err.txt)"

# ---- a good install -------------------------------------------------------------------
fake_boot a a
rm -f data/ota/update/slots.json
rc=0; "$U" "${C[@]}" install good.otab >out.txt 2>err.txt || rc=$?
[ $rc = 0 ] && ok "install: $(cat out.txt)" || bad install "exit $rc: $(cat err.txt)"
cmp -s slots/system-b system.img && ok "install: system-b byte-identical to the image" || bad install-cmp-system "differs"
cmp -s slots/boot-b boot.img && ok "install: boot-b byte-identical to the image" || bad install-cmp-boot "differs"
[ "$(active_sum)" = "$ACTIVE" ] && ok "install: active slots bit-identical" || bad install-active "changed"
expected_calls="get-state
hook pre-install
mark-bad b
hook post-install
arm b 3"
[ "$(cat calls)" = "$expected_calls" ] && ok "install: boot flow and hooks called in order, armed once" || bad install-calls "$(cat calls)"
grep -q '^trial=b$' bf.state && grep -q '^tries=3$' bf.state && ok "install: trial of b armed with 3 tries" || bad install-state "$(cat bf.state)"
grep -qx "OTA_SLOT_SYSTEM=$W/slots/system-b" env-pre-install && grep -qx "OTA_BUNDLE_VERSION=2.0.1" env-pre-install \
	&& grep -qx "OTA_TARGET_GROUP=b" env-post-install && grep -qx "OTA_HOOK_STAGE=post-install" env-post-install \
	&& ok "hooks: documented environment" || bad hook-env "$(cat env-pre-install)"
python3 - "$W/data/ota/update/slots.json" "$(sha256sum system.img | cut -d' ' -f1)" <<'PY' && ok "install: slot status recorded" || bad install-status "$(cat data/ota/update/slots.json)"
import json, sys
s = json.load(open(sys.argv[1]))["slots"]["system-b"]
assert s["state"] == "installed" and s["version"] == "2.0.1" and s["sha256"] == sys.argv[2], s
assert s["size"] == 4000000 and s["installed"] > 1600000000, s
PY
[ ! -e data/ota/update/slots.json.tmp ] && ok "install: no temporary status file left" || bad tmp-left "slots.json.tmp"
[ -s data/ota/update/index/system-b.idx ] && [ -s data/ota/update/index/boot-b.idx ] \
	&& ok "install: a streamed install saves the chunk index of each slot" || bad stream-index "$(ls -R data)"

# Installing again while a trial is armed (not booted) is fine: it re-arms.
: >calls
rc=0; "$U" "${C[@]}" install --json - <good.otab >out.txt 2>err.txt || rc=$?
[ $rc = 0 ] && ok "install from stdin with --json while armed" || bad install-stdin "exit $rc: $(cat err.txt)"
python3 - out.txt <<'PY' && ok "--json: every line is JSON, percentages and a done event" || bad json-lines "$(head -5 out.txt)"
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
assert ev[-1]["event"] == "done" and ev[-1]["group"] == "b" and ev[-1]["image_bytes"] == 4300000, ev[-1]
w = [e for e in ev if e.get("stage") == "write"]
assert {e["slot"] for e in w} == {"system-b", "boot-b"} and any(e["percent"] == 100 for e in w), w
PY
[ "$(fake_calls arm)" = 1 ] && ok "re-install: armed exactly once" || bad rearm "$(cat calls)"

# ---- status, commit, rollback ------------------------------------------------------------
fake_boot b a b 3
"$U" "${C[@]}" status --json >status.json 2>err.txt
python3 - status.json <<'PY' && ok "status --json parses and reports the trial" || bad status-json "$(cat status.json) $(cat err.txt)"
import json, sys
s = json.load(open(sys.argv[1]))
assert s["booted"] == "b" and s["default"] == "a" and s["trial_state"] == "running" and s["tries_left"] == 3, s
sl = {x["name"]: x for x in s["slots"]}
assert sl["system-b"]["version"] == "2.0.1" and sl["system-b"]["booted"] and sl["system-a"]["state"] == "good", sl
PY
"$U" "${C[@]}" status >status.txt && grep -q "trial:   running (group b, 3 tries left)" status.txt \
	&& ok "status: text" || bad status-text "$(cat status.txt)"

fake_boot b a b 3
hook pre-commit 20-unhealthy 'exit 9'
rc=0; "$U" "${C[@]}" commit >out.txt 2>err.txt || rc=$?
[ $rc = 1 ] && grep -q "group b not committed: pre-commit hook '.*20-unhealthy' failed with exit status 9" err.txt \
	&& [ "$(fake_calls commit)" = 0 ] && ok "commit: a failing pre-commit hook prevents it" || bad commit-hook "exit $rc: $(cat err.txt) $(cat calls)"
rm hooks/pre-commit.d/20-unhealthy
fake_boot b a b 3
rc=0; "$U" "${C[@]}" commit >out.txt 2>err.txt || rc=$?
[ $rc = 0 ] && [ "$(grep -v '^get-state' calls)" = "hook pre-commit
commit b
hook post-commit" ] && grep -q '^default=b$' bf.state && ok "commit: commit b between the hooks" || bad commit "exit $rc: $(cat err.txt) $(cat calls)"
: >calls
"$U" "${C[@]}" commit >out.txt 2>err.txt && grep -q "nothing to commit" out.txt && [ "$(fake_calls commit)" = 0 ] \
	&& ok "commit: no-op when committed" || bad commit-noop "$(cat out.txt) $(cat calls)"

fake_boot b a b 2
"$U" "${C[@]}" rollback >out.txt 2>err.txt && [ "$(fake_calls mark-bad)" = 1 ] && grep -q "^mark-bad b$" calls \
	&& ok "rollback of a running trial marks it bad" || bad rollback "$(cat err.txt) $(cat calls)"
fake_boot a a b 3
"$U" "${C[@]}" rollback --reboot >out.txt 2>err.txt && grep -q "^mark-bad b$" calls && grep -q "^reboot$" calls \
	&& ok "rollback of an armed trial disarms it, --reboot reboots" || bad rollback-armed "$(cat err.txt) $(cat calls)"
fake_boot a a
rc=0; "$U" "${C[@]}" rollback >out.txt 2>err.txt || rc=$?
[ $rc = 1 ] && grep -q "nothing to roll back: group a is committed and no trial is armed" err.txt \
	&& ok "rollback: refused when there is nothing to roll back" || bad rollback-none "$(cat err.txt)"

fake_boot a a
touch bf.fail-arm
rc=0; "$U" "${C[@]}" install good.otab >out.txt 2>err.txt || rc=$?
[ $rc = 1 ] && grep -q "boot flow custom: arm group b: .*exited with status 1: simulated arm failure" err.txt \
	&& ok "a failing boot flow is reported with its stderr" || bad bf-fail "$(cat err.txt)"
rm bf.fail-arm

# A spare slot that is the active one under another name (a symlink).
ln -s "$W/slots/system-a" slots/alias
conf alias.conf "$W/slots/system-a" "$W/slots/alias" file
C=(--config "$W/alias.conf")
fake_boot a a
expect_refused spare-is-active-slot "slot system-b ('$W/slots/alias') shares storage with slot system-a ('$W/slots/system-a') of the booted group a" no install good.otab

# ---- over HTTP: the fault-injecting server of the bundle tests ----------------------

mkdir -p srv && cp good.otab srv/
http_server http "$W/srv"
URL=http://127.0.0.1:$PORT_http
C=(--config "$W/system.conf")
fake_boot a a
rc=0; "$U" "${C[@]}" install --json "$URL/good.otab" >out.txt 2>err.txt || rc=$?
[ $rc = 0 ] && cmp -s slots/system-b system.img && [ "$(fake_calls arm)" = 1 ] \
	&& ok "http: install from $URL ($(tail -1 out.txt))" || bad http-install "exit $rc: $(cat err.txt)"
curl -sf "$URL/_ctl?drop=100000,1" >/dev/null
fake_boot a a
rc=0; "$U" "${C[@]}" install "$URL/good.otab" >out.txt 2>err.txt || rc=$?
[ $rc = 0 ] && cmp -s slots/system-b system.img && ok "http: a dropped connection is resumed" || bad http-drop "exit $rc: $(cat err.txt)"
fake_boot a a
want=5 expect_refused http-404 "404" no install "$URL/missing.otab"

# ---- adaptive delta over HTTP ranges ------------------------------------------------------
# v2: v1's system image with 20000 bytes changed at 1 MB and 3000 bytes inserted
# at 2.5 MB (moves everything after it); boot.img unchanged.
python3 - <<'PY2'
import random
rnd = random.Random(2)  # the same v2 in every run, like prand
v1 = open("system.img", "rb").read()
v2 = bytearray(v1)
v2[1000000:1020000] = rnd.randbytes(20000)
v2 = bytes(v2[:2500000]) + rnd.randbytes(3000) + bytes(v2[2500000:])
open("system-v2.img", "wb").write(v2)
PY2
signed_bundle srv/v2.otab 2.0.2 system=system-v2.img boot=boot.img
V2_SIZE=$(stat -c %s srv/v2.otab)
served() { awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^bytes=/) { sub("bytes=", "", $i); n += $i } } END { print n + 0 }' http.log; }
done_field() { python3 -c "import json,sys; e=json.loads(open('out.txt').read().strip().splitlines()[-1]); print(e['$1'])"; }
# delta_install NAME: installs v2 over HTTP with --json; sets DL (tool) and SRV (server) byte counts.
delta_install() {
	: >http.log
	rc=0; "$U" "${C[@]}" install --json "$URL/v2.otab" >out.txt 2>err.txt || rc=$?
	if [ $rc != 0 ]; then bad "$1" "exit $rc: $(cat err.txt)"; DL=-1; SRV=-1; return 1; fi
	DL=$(done_field downloaded) SRV=$(served)
}
# Slot b holds v1 (the HTTP installs above); boot b, install v2 into the spare a.
# (Slots of group a are the "active" ones of the checks below: saved, restored after.)
for f in system-a boot-a boot-b; do cp slots/$f slots/$f.saved; done
cmp -s slots/system-b system.img || { bad delta-setup "system-b does not hold v1"; }
prand L339 2000000 >slots/system-a
fake_boot b b
if delta_install delta-from-active; then
	[ "$(fake_calls arm)" = 1 ] && cmp -s slots/system-a system-v2.img && cmp -s slots/boot-a boot.img \
		&& ok "delta: system-a and boot-a byte-identical to v2, armed" || bad delta-cmp "differs or not armed: $(cat calls)"
	[ $((SRV * 4)) -lt "$V2_SIZE" ] && [ $((DL * 4)) -lt "$V2_SIZE" ] \
		&& ok "delta from the active slot: server sent $SRV, tool counted $DL of $V2_SIZE bundle bytes (< 25 %)" \
		|| bad delta-bytes "server $SRV, tool $DL of $V2_SIZE"
	[ "$(done_field delta)" = True ] && [ "$(done_field reused_active)" -gt 3000000 ] \
		&& ok "delta: --json reports $(done_field reused_active) bytes reused from the active slot" || bad delta-json "$(tail -1 out.txt)"
	grep -q "range=bytes=0-63 " http.log && ! grep -q " range=None" http.log \
		&& ok "delta: range requests only, the header first" || bad delta-ranges "$(grep -c . http.log) requests: $(grep -v "range=bytes" http.log | head -3)"
fi
FIRST_DL=$DL

# Same bundle again into a: every chunk is already in place in the spare.
fake_boot b b
if delta_install delta-spare; then
	cmp -s slots/system-a system-v2.img && [ "$(done_field reused_spare)" = 4303000 ] && [ "$SRV" -lt 20000 ] \
		&& ok "delta: spare already holds v2: $SRV bytes served (headers and chunk tables only)" \
		|| bad delta-spare "server $SRV: $(tail -1 out.txt)"
fi

# A local chunk corrupted behind the tool's back (in the spare and in the active
# slot at the same place): re-hashed, found wrong, fetched instead.
printf 'corrupted!' | dd of=slots/system-a bs=1 seek=300000 conv=notrunc status=none
printf 'corrupted!' | dd of=slots/system-b bs=1 seek=300000 conv=notrunc status=none
fake_boot b b
if delta_install delta-corrupt; then
	cmp -s slots/system-a system-v2.img && [ "$SRV" -gt 20000 ] && [ $((SRV * 4)) -lt "$V2_SIZE" ] \
		&& ok "delta: corrupted local chunk detected and fetched ($SRV bytes served)" \
		|| bad delta-corrupt "server $SRV: $(cmp slots/system-a system-v2.img)"
fi

# The first delta install saved system-a's chunk index beside the status file.
# Boot a (v2), install v1 into b: the saved index is used, not a scan; a chunk
# the index names, corrupted in the active slot behind the tool's back, is
# re-hashed, found wrong and fetched.
[ -s data/ota/update/index/system-a.idx ] && ok "delta: chunk index of system-a saved" || bad index-saved "$(ls -R data)"
cp slots/system-b slots/system-b.v1
prand L379 500000 >slots/system-b
prand L380 4096 | dd of=slots/system-a bs=1 seek=2600000 count=4096 conv=notrunc status=none  # in moved data
cp slots/system-a slots/system-a.before
fake_boot a a
: >http.log
rc=0; "$U" "${C[@]}" install --json "$URL/good.otab" >out.txt 2>err.txt || rc=$?
if [ $rc = 0 ]; then
	SRV=$(served) G_SIZE=$(stat -c %s srv/good.otab)
	grep -q '"stage":"index-loaded","payload":1,.*"class":"system"' out.txt && ! grep -q '"stage":"index",.*"class":"system"' out.txt \
		&& ok "delta: the saved index of the active slot is used (no scan)" || bad index-used "$(grep index out.txt)"
	cmp -s slots/system-b system.img && [ $((SRV * 4)) -lt "$G_SIZE" ] && [ "$SRV" -gt 20000 ] \
		&& ok "delta: v1 into b from a's index: $SRV of $G_SIZE bundle bytes, corrupted indexed chunk fetched" \
		|| bad index-delta "server $SRV of $G_SIZE: $(cmp slots/system-b system.img)"
	cmp -s slots/system-a slots/system-a.before && ok "delta: the active slot was only read" || bad index-active "changed"
else
	bad index-delta "exit $rc: $(cat err.txt)"
fi
rm -f slots/system-a.before
mv slots/system-b.v1 slots/system-b
# Restore a to v2 for the rest (a's record still says v2; its index is fine).
cp system-v2.img slots/system-a

# A stale index: every entry of system-a's saved index moved by 4 KiB (as if
# the file described other bytes). Each chunk the index names is first
# looked for where it says, found wrong, then at its own offset: v1's chunks
# below 2.5 MB sit in v2 where they sit in v1 and are reused from there;
# only what moved (behind the 3,000 inserted bytes) and what changed is
# fetched.
cp data/ota/update/index/system-a.idx system-a.idx.good
python3 - data/ota/update/index/system-a.idx <<'PY'
import struct, sys
b = bytearray(open(sys.argv[1], "rb").read())
for at in range(56, len(b), 44):
    (off,) = struct.unpack_from(">Q", b, at + 32)
    struct.pack_into(">Q", b, at + 32, off + 4096)
open(sys.argv[1], "wb").write(b)
PY
cp slots/system-b slots/system-b.v1
prand L381 500000 >slots/system-b
fake_boot a a
: >http.log
rc=0; "$U" "${C[@]}" install --json "$URL/good.otab" >out.txt 2>err.txt || rc=$?
if [ $rc = 0 ]; then
	SRV=$(served) REUSED=$(done_field reused_active)
	cmp -s slots/system-b system.img && [ "$REUSED" -ge 2000000 ] && [ "$SRV" -lt 1000000 ] \
		&& ok "delta: stale index: chunks at their own offset still reused ($REUSED bytes), $SRV bytes served" \
		|| bad stale-index "reused $REUSED, served $SRV: $(cmp slots/system-b system.img)"
else
	bad stale-index "exit $rc: $(cat err.txt)"
fi
mv system-a.idx.good data/ota/update/index/system-a.idx
mv slots/system-b.v1 slots/system-b

# Text summary line.
fake_boot b b
"$U" "${C[@]}" install "$URL/v2.otab" >out.txt 2>err.txt && grep -q "^downloaded .* MiB of .* MiB (.*%)" out.txt \
	&& ok "delta: summary '$(grep ^downloaded out.txt)'" || bad delta-summary "$(cat out.txt err.txt)"

# A server that ignores Range: one full streamed download.
curl -sf "$URL/_ctl?ranges=0" >/dev/null
prand L408 2000000 >slots/system-a
fake_boot b b
if delta_install delta-no-ranges; then
	cmp -s slots/system-a system-v2.img && [ "$(done_field delta)" = False ] && [ "$DL" -ge "$V2_SIZE" ] \
		&& grep -q '"stage":"full-download"' out.txt \
		&& ok "no range support: full streamed download ($DL bytes)" || bad no-ranges "$(tail -1 out.txt)"
fi
curl -sf "$URL/_ctl?reset=1" >/dev/null

# A server that refuses multi-range (whole file for several ranges): single
# ranges from then on, still a delta.
curl -sf "$URL/_ctl?multirange=0" >/dev/null
prand L420 2000000 >slots/system-a
fake_boot b b
if delta_install delta-single-ranges; then
	cmp -s slots/system-a system-v2.img && [ "$(done_field delta)" = True ] && [ $((DL * 2)) -lt "$V2_SIZE" ] \
		&& ok "no multi-range: single ranges, $DL of $V2_SIZE bundle bytes" || bad single-ranges "$(tail -1 out.txt)"
fi
curl -sf "$URL/_ctl?reset=1" >/dev/null

# --no-delta streams the whole bundle.
fake_boot b b
if "$U" "${C[@]}" install --json --no-delta "$URL/v2.otab" >out.txt 2>err.txt; then
	cmp -s slots/system-a system-v2.img && [ "$(done_field delta)" = False ] && [ "$(done_field downloaded)" = "$V2_SIZE" ] \
		&& ok "--no-delta: full download" || bad no-delta "$(tail -1 out.txt)"
else
	bad no-delta "$(cat err.txt)"
fi
# A tampered chunk in the bundle is refused (verified after decompression), nothing armed.
cp srv/v2.otab srv/v2-bad.otab
flip_byte srv/v2-bad.otab $((V2_SIZE - 50))
prand L440 300000 >slots/boot-a  # nothing reusable: every boot chunk is fetched
prand L441 300000 >slots/boot-b
fake_boot b b
rc=0; "$U" "${C[@]}" install "$URL/v2-bad.otab" >out.txt 2>err.txt || rc=$?
[ $rc = 3 ] && grep -q "payload 'boot': chunk .*: \(hash mismatch\|decompression failed\)" err.txt && [ "$(fake_calls arm)" = 0 ] \
	&& ok "delta: a tampered chunk is refused: $(grep -o "payload 'boot'.*" err.txt | head -c 160)" || bad delta-tampered "exit $rc: $(cat err.txt)"
echo "(delta: first install downloaded $FIRST_DL of $V2_SIZE bundle bytes)"
for f in system-a boot-a boot-b; do mv slots/$f.saved slots/$f; done
kill "$PID_http"; wait "$PID_http" 2>/dev/null || true

# ---- resume of an interrupted streamed install ---------------------------------------------
# A 72 MiB image: checkpoints every 32 MiB. The first attempt reads a truncated
# stdin (as if the network or the machine stopped), the second gets the file.
prand big $((72 << 20)) >big.img
signed_bundle big.otab 3.0 system=big.img boot=boot.img
signed_bundle big31.otab 3.1 system=big.img boot=boot.img
BIG_SIZE=$(stat -c %s big.otab)
json_done() { python3 -c "import json,sys; e=json.loads(open('out.txt').read().strip().splitlines()[-1]); print(e['$1'])"; }
record() { python3 -c "import json; print(json.load(open('data/ota/update/slots.json'))['slots']['$1'].get('$2', 0))"; }
interrupt() { # interrupt BUNDLE: installs only the first 70 % of it from stdin
	fake_boot a a
	rc=0; head -c $((BIG_SIZE * 7 / 10)) "$1" | "$U" "${C[@]}" install - >out.txt 2>err.txt || rc=$?
}
interrupt big.otab
[ $rc = 3 ] && grep -q "stdin" err.txt && [ "$(fake_calls arm)" = 0 ] && [ "$(record system-b state)" = installing ] \
	&& [ "$(record system-b checkpoint_bytes)" -ge $((32 << 20)) ] \
	&& ok "resume: interrupted stream fails, nothing armed, checkpoint at $(record system-b checkpoint_bytes) bytes" \
	|| bad resume-interrupt "exit $rc: $(cat err.txt) $(cat calls) $(cat data/ota/update/slots.json)"
CKPT=$(record system-b checkpoint_bytes)
fake_boot a a
rc=0; "$U" "${C[@]}" install --json big.otab >out.txt 2>err.txt || rc=$?
if [ $rc = 0 ]; then
	cmp -s slots/system-b big.img && [ "$(fake_calls arm)" = 1 ] && [ "$(json_done resumed_at)" = "$CKPT" ] \
		&& [ "$(json_done resumed)" = "$CKPT" ] && [ "$(json_done image_bytes)" = $((72 * 1048576 + 300000 - CKPT)) ] \
		&& grep -q "\"stage\":\"resume\",\"payload\":1,.*\"slot\":\"system-b\",\"done\":$CKPT" out.txt \
		&& ok "resume: same bundle continues at $CKPT of $((72 << 20)) bytes, writes only the rest, then armed" \
		|| bad resume "$(grep resume out.txt | head -2) $(tail -1 out.txt) $(cat calls)"
	[ "$(record system-b state)" = installed ] && [ "$(record system-b checkpoint_bytes)" = 0 ] \
		&& ok "resume: the record is 'installed' without a checkpoint" || bad resume-record "$(cat data/ota/update/slots.json)"
else
	bad resume "exit $rc: $(cat err.txt)"
fi
# The checkpoint is a hint: a chunk below it damaged after the interruption
# (a torn write, a bad block) is found and rewritten.
interrupt big.otab
CKPT=$(record system-b checkpoint_bytes)
printf 'damaged' | dd of=slots/system-b bs=1 seek=5000000 conv=notrunc status=none
fake_boot a a
rc=0; "$U" "${C[@]}" install --json big.otab >out.txt 2>err.txt || rc=$?
[ $rc = 0 ] && cmp -s slots/system-b big.img && [ "$(json_done resumed_at)" = "$CKPT" ] \
	&& [ "$(json_done resumed)" -lt "$CKPT" ] && [ "$(json_done resumed)" -gt $((CKPT - (1 << 20))) ] \
	&& ok "resume: a damaged chunk below the checkpoint is rewritten ($(json_done resumed) of $CKPT bytes kept)" \
	|| bad resume-damaged "exit $rc: $(tail -1 out.txt) $(cat err.txt)"
# Another bundle (same images, another manifest) discards the checkpoint.
interrupt big.otab
fake_boot a a
rc=0; "$U" "${C[@]}" install --json big31.otab >out.txt 2>err.txt || rc=$?
[ $rc = 0 ] && cmp -s slots/system-b big.img && [ "$(json_done resumed_at)" = 0 ] && ! grep -q '"stage":"resume"' out.txt \
	&& [ "$(json_done image_bytes)" = $((72 * 1048576 + 300000)) ] \
	&& ok "resume: a different bundle does not resume, it rewrites everything" || bad resume-other "exit $rc: $(tail -1 out.txt)"
rm -f big.img big.otab big31.otab

# ---- block-device slots on loop devices -------------------------------------------------
truncate -s 8M disk-a.img disk-b.img
truncate -s 1M disk-small.img
prand L515 8000000 | dd of=disk-a.img conv=notrunc status=none
for f in disk-a disk-b disk-small; do
	l=$(losetup -f --show "$f.img")
	LOOPS+=("$l")
done
conf loop.conf "${LOOPS[0]}" "${LOOPS[1]}" device
C=(--config "$W/loop.conf")
LOOP_A=$(sha256sum "${LOOPS[0]}" | cut -d' ' -f1)
fake_boot a a
rc=0; "$U" "${C[@]}" install good.otab >out.txt 2>err.txt || rc=$?
[ $rc = 0 ] && ok "loop devices: install" || bad loop-install "exit $rc: $(cat err.txt)"
cmp -n 4000000 -s "${LOOPS[1]}" system.img && ok "loop devices: the spare holds the image" || bad loop-cmp "differs"
[ "$(sha256sum "${LOOPS[0]}" | cut -d' ' -f1)" = "$LOOP_A" ] && ok "loop devices: the active slot is bit-identical" || bad loop-active "changed"
[ "$(fake_calls arm)" = 1 ] && ok "loop devices: armed once" || bad loop-arm "$(cat calls)"

# Delta into a loop device: booted b (holding v1 now), install v2 into a
# (and into the file slot boot-a, restored after).
cp slots/boot-a slots/boot-a.saved
http_server http "$W/srv"
URL=http://127.0.0.1:$PORT_http
fake_boot b b
if delta_install loop-delta; then
	cmp -n 4003000 -s "${LOOPS[0]}" system-v2.img && [ $((SRV * 4)) -lt "$V2_SIZE" ] && [ "$(fake_calls arm)" = 1 ] \
		&& ok "loop devices: delta install of v2 ($SRV of $V2_SIZE bundle bytes served)" || bad loop-delta "server $SRV: $(tail -1 out.txt)"
fi
kill "$PID_http"; wait "$PID_http" 2>/dev/null || true
mv slots/boot-a.saved slots/boot-a

conf small.conf "${LOOPS[0]}" "${LOOPS[2]}" device
C=(--config "$W/small.conf")
fake_boot a a
want=4 expect_refused slot-too-small "slot check: image 'system' (4000000 bytes) does not fit slot system-b ('${LOOPS[2]}', 1048576 bytes)" no install good.otab

conf same.conf "${LOOPS[0]}" "${LOOPS[0]}x" device
sed -i "s#${LOOPS[0]}x#${LOOPS[0]}#; s#^device = ${LOOPS[0]}\$#device = ${LOOPS[0]}#" same.conf
C=(--config "$W/same.conf")
expect_refused same-device-twice "name the same '${LOOPS[0]}'" no install good.otab

tally_end

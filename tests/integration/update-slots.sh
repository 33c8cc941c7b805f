#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# update-slots.sh OTA_UPDATE OTA_BUNDLE: what ota-update refuses about slots
# (issue #15), end to end with real signed bundles, file slots, loop devices
# and a custom boot flow:
#   - a group is armed only when every slot of it is verified: a slot torn by
#     an earlier install, never written, rebuilt 'unknown' or changed behind
#     the tool's back refuses a bundle that does not carry it;
#   - two names for one storage (two loop devices over one file, overlapping
#     loop offsets, a loop device over a file slot, PARTLABEL= and /dev path,
#     a partition and its disk) are refused before anything is written;
#   - a corrupt status file is moved aside, kept and rebuilt; a full or
#     read-only one is named in the error, and works again once fixed.
# Three slot classes (system, dtb, boot), so that bundles can carry subsets.
set -euo pipefail
. "$(dirname "$(readlink -f "$0")")/../lib/itest.sh"
[ "$(id -u)" = 0 ] || { echo "FAIL: loop devices and mounts need root"; exit 1; }
itest_begin "update-slots.sh OTA_UPDATE OTA_BUNDLE" U B -- "$@"
LOOPS=()
# loop VAR LOSETUP-ARGS...: attaches a loop device, named in VAR and detached at exit
# (not in a $(...) subshell, which would lose it from LOOPS).
loop() { local -n ret=$1; shift; ret=$(losetup -f --show "$@"); LOOPS+=("$ret"); }

# ---- PKI, images, bundles -------------------------------------------------------
. "$HERE/../lib/pki.sh"
. "$HERE/../lib/corrupt.sh"
pki_signer
. "$HERE/../lib/signed-bundle.sh"
head -c 1500000 /dev/urandom >system.img
head -c 20000 /dev/urandom >dtb.img
head -c 200000 /dev/urandom >boot.img
# bundle NAME VERSION CLASS...
bundle() {
	local name=$1 version=$2 images=() c
	shift 2
	for c in "$@"; do images+=("$c=$c.img"); done
	signed_bundle "$name.otab" "$version" "${images[@]}"
}
bundle full20 2.0 system dtb boot
bundle full21 2.1 system dtb boot
bundle sysdtb 2.1 system dtb
bundle bootdtb 2.1 boot dtb
bundle sysonly 2.2 system
# boot is the last payload: a byte flipped near the end tears it.
cp full20.otab tornboot.otab
size=$(stat -c %s tornboot.otab)
flip_byte tornboot.otab $((size - 50))

# ---- the device ----------------------------------------------------------------------
mkdir -p slots hooks
for s in system-a system-b dtb-a dtb-b boot-a boot-b; do head -c 307200 /dev/urandom >slots/$s; done  # whole sectors (losetup)
. "$HERE/../lib/fake-device.sh"
fake_bootflow
# conf FILE STATUS-FILE [SLOT=KEY:VALUE]...: every slot a file in slots/ unless given.
conf() {
	local f=$1 status=$2
	shift 2
	{
		printf '[system]\ncompatible = test-board\nversion = 1.0\n'
		printf '[update]\nkeyring = %s\nstatus-file = %s\nhooks-dir = %s\nlock-file = %s\n' \
			"$W/root.pem" "$status" "$W/hooks" "$W/update.lock"
		fake_slots "$W" --classes "system dtb boot" --tries 3 "$@"
	} >"$f"
}
S=$W/data/slots.json
conf system.conf "$S"
C=(--config "$W/system.conf")

sums() { sha256sum "$@" | cut -d' ' -f1 | sha256sum; }
record() { python3 -c "import json; print(json.load(open('$S'))['slots'].get('$1', {}).get('${2:-state}', ''))"; }
run() { rc=0; "$U" "${C[@]}" "$@" >out.txt 2>err.txt || rc=$?; }
# expect_refused NAME PATTERN MARKED(yes|no) UNCHANGED-PATHS -- ARGS...: exit 1
# with PATTERN in the message, nothing armed (boot flow not asked, no trial
# in its state), the paths bit-identical, the spare marked bad or not.
expect_refused() {
	local name=$1 pattern=$2 marked=$3 paths=() before
	shift 3
	while [ "$1" != -- ]; do paths+=("$1"); shift; done
	shift
	before=$(sums "${paths[@]}")
	run "$@"
	if [ "$rc" != 1 ]; then bad "$name" "exit $rc, expected 1: $(cat err.txt)"; return; fi
	if ! grep -q -- "$pattern" err.txt; then bad "$name" "message '$(cat err.txt)' lacks '$pattern'"; return; fi
	if [ "$(fake_calls arm)" != 0 ] || ! grep -q '^trial=$' bf.state; then bad "$name" "armed: $(cat calls) $(cat bf.state)"; return; fi
	if [ "$(sums "${paths[@]}")" != "$before" ]; then bad "$name" "slots changed: ${paths[*]}"; return; fi
	if [ "$marked" = no ] && [ "$(fake_calls mark-bad)" != 0 ]; then bad "$name" "spare marked bad: $(cat calls)"; return; fi
	ok "$name: $(grep error: err.txt | head -c 300)"
}
expect_installed() { # expect_installed NAME ARGS...: exit 0, armed once
	local name=$1
	shift
	run "$@"
	if [ "$rc" = 0 ] && [ "$(fake_calls arm)" = 1 ]; then ok "$name"; else bad "$name" "exit $rc: $(cat err.txt) $(cat calls)"; fi
}
ALL_SLOTS=(slots/system-a slots/system-b slots/dtb-a slots/dtb-b slots/boot-a slots/boot-b)

# ---- class 1: a group is armed only when every slot of it is verified ---------------
# A new device: group b was never written nor run; a bundle without boot
# and dtb cannot make it bootable.
fake_boot a a
expect_refused never-written "slot check: group b cannot be armed: slot dtb-b (class dtb) is not in this bundle and is recorded 'no record'" \
	no "${ALL_SLOTS[@]}" -- install sysonly.otab

# An install torn in its last payload (boot), then a bundle without boot.
fake_boot a a
run install tornboot.otab
[ "$rc" = 3 ] && grep -q "payload 'boot': chunk" err.txt && [ "$(record boot-b)" = installing ] && [ "$(record dtb-b)" = installed ] \
	&& ok "torn boot: the install fails in the boot payload, boot-b recorded installing" || bad torn-setup "exit $rc: $(cat err.txt)"
fake_boot a a
expect_refused torn-boot-then-system-and-dtb "slot boot-b (class boot) is not in this bundle and is recorded 'installing' (torn" \
	no "${ALL_SLOTS[@]}" -- install sysdtb.otab

# Complete group b, then a bundle of system only: dtb-b and boot-b are
# recorded installed and re-read: they still hash to their records.
fake_boot a a
expect_installed "full install into b" install full20.otab
fake_boot a a
expect_installed "a system-only bundle into a verified group b is armed" install sysonly.otab
cmp -s -n 1500000 slots/system-b system.img && [ "$(record system-b version)" = 2.2 ] && [ "$(record boot-b version)" = 2.0 ] \
	&& ok "system-only: system-b is 2.2, boot-b still 2.0" || bad sysonly-records "$(cat "$S")"

# A slot changed behind the tool's back is not the image it recorded.
printf 'changed' | dd of=slots/dtb-b bs=1 seek=1000 conv=notrunc status=none
fake_boot a a
expect_refused changed-behind-the-back "slot dtb-b ('$W/slots/dtb-b'): its first 20000 bytes no longer hash to the image recorded installed" \
	no slots/system-a slots/system-b slots/boot-a slots/boot-b -- install sysonly.otab

# An install interrupted in its first payload (system; the stream stops as
# if the network or the power went), then a bundle with the other two.
fake_boot a a
expect_installed "full install repairs group b" install full21.otab
fake_boot a a
rc=0; head -c $(($(stat -c %s full20.otab) * 3 / 10)) full20.otab | "$U" "${C[@]}" install - >out.txt 2>err.txt || rc=$?
[ "$rc" = 3 ] && [ "$(record system-b)" = installing ] && ok "interrupted: system-b recorded installing" || bad interrupt-setup "exit $rc: $(cat err.txt)"
fake_boot a a
expect_refused interrupted-then-boot-and-dtb "slot system-b (class system) is not in this bundle and is recorded 'installing'" \
	no "${ALL_SLOTS[@]}" -- install bootdtb.otab

# Known good: group a ran committed while b was installed, so its slots
# were recorded good; booted b, a system-only bundle may go into a.
fake_boot a a
expect_installed "full install into b again" install full20.otab
[ "$(record boot-a)" = good ] && [ "$(record dtb-a)" = good ] && [ "$(record dtb-a version)" = 1.0 ] \
	&& ok "the booted committed group's slots are recorded good (version 1.0)" || bad good-records "$(cat "$S")"
fake_boot b b
expect_installed "a system-only bundle into a group known good is armed" install sysonly.otab
fake_boot a a

# ---- class 11: the status file --------------------------------------------------------
# Corrupt in ways the tool could never have written it: each is moved aside
# (kept, byte-identical), rebuilt 'unknown', and the install goes on.
python3 - "$S" <<'PY'
import json, sys
good = open(sys.argv[1]).read()
d = json.loads(good)
v = {}
v["truncated"] = good[: len(good) // 3]
v["empty"] = ""
v["nul-bytes"] = "\0" * 64 + good
v["array"] = "[" + good + "]"
v["trailing"] = good + "}garbage"
d2 = json.loads(good); d2["slots"].setdefault("system-b", {})["size"] = "4000000"; v["size-is-a-string"] = json.dumps(d2)
d3 = json.loads(good); d3["slots"].setdefault("boot-b", {})["state"] = "installed?"; v["unknown-state"] = json.dumps(d3)
d4 = json.loads(good); d4["slots"]["dtb-b"] = ["installed"]; v["record-not-an-object"] = json.dumps(d4)
d5 = json.loads(good); d5["format"] = 2; v["format-2"] = json.dumps(d5)
d6 = json.loads(good); d6["slots"].setdefault("system-a", {})["sha256"] = "f" * 300; v["string-too-long"] = json.dumps(d6)
for k, t in v.items():
    open("corrupt-" + k, "w").write(t)
PY
for v in truncated empty nul-bytes array trailing size-is-a-string unknown-state record-not-an-object format-2 string-too-long; do
	rm -f "$S".corrupt-*
	cp "corrupt-$v" "$S"
	fake_boot a a
	run install full20.otab
	aside=$(ls "$S".corrupt-* 2>/dev/null | head -1 || true)
	if [ "$rc" = 0 ] && grep -q "warning: status file '$S'.*moved to '$S.corrupt-[0-9]*' and rebuilt with every slot 'unknown'" err.txt \
		&& [ -n "$aside" ] && cmp -s "$aside" "corrupt-$v" && [ "$(record system-b)" = installed ] && [ "$(fake_calls arm)" = 1 ]; then
		ok "corrupt status file ($v): kept, rebuilt, installed: $(grep warning: err.txt | head -c 200)"
	else
		bad "corrupt-$v" "exit $rc: $(cat err.txt) [$aside]"
	fi
done

# With --json the warning is an event of its own; every line stays JSON.
rm -f "$S".corrupt-*
cp corrupt-trailing "$S"
fake_boot a a
run install --json full20.otab
[ "$rc" = 0 ] && python3 - out.txt "$S" <<'PY' && ok "--json: the repair is a warning event naming the status file" || bad json-warning "exit $rc: $(head -3 out.txt)"
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
w = [e for e in ev if e["event"] == "warning"]
assert len(w) == 1 and w[0]["message"].startswith("status file '%s' has data after" % sys.argv[2]), w
assert ev[-1]["event"] == "done", ev[-1]
PY

# Rebuilt means 'unknown', and unknown is not verified: a partial bundle is
# refused until a full one was installed; the booted group is known good.
cp corrupt-truncated "$S"
rm -f "$S".corrupt-*
fake_boot a a
expect_refused unknown-is-not-verified "slot dtb-b (class dtb) is not in this bundle and is recorded 'unknown'" \
	no "${ALL_SLOTS[@]}" -- install sysonly.otab
[ "$(record system-a)" = unknown ] && ls "$S".corrupt-* >/dev/null && ok "unknown: rebuilt file says unknown, the corrupt one is kept" \
	|| bad unknown-rebuilt "$(cat "$S")"

# status reads a corrupt file without changing it: a warning, every slot unknown.
cp corrupt-unknown-state "$S"
rc=0; "$U" "${C[@]}" status --json >status.json 2>err.txt || rc=$?
[ "$rc" = 0 ] && grep -q "warning: status file '$S': slots.boot-b.state 'installed?' is not a known state" err.txt \
	&& python3 -c "import json; s=json.load(open('status.json')); assert all(x['state']=='unknown' for x in s['slots'])" \
	&& cmp -s "$S" corrupt-unknown-state && ok "status: warns about a corrupt status file, shows unknown, leaves it" \
	|| bad status-corrupt "exit $rc: $(cat err.txt) $(cat status.json)"

# A full file system: the error names the status file and the reason, not
# the bundle; nothing is marked or written; once there is room it works.
mkdir -p small
mount -t tmpfs -o size=256k tmpfs small
SS=$W/small/ota/slots.json
conf small.conf "$SS"
C=(--config "$W/small.conf")
fake_boot a a
expect_installed "status file on a small file system" install full20.otab
dd if=/dev/zero of=small/fill bs=4k status=none 2>/dev/null || true
fake_boot a a
expect_refused status-file-full "install aborted, nothing written: status file '$SS': .*No space left on device" \
	no "${ALL_SLOTS[@]}" -- install full21.otab
grep -q "payload" err.txt && bad status-file-full-blame "blames a payload: $(cat err.txt)" || ok "status-file-full: no payload blamed"
rm small/fill
fake_boot a a
expect_installed "after freeing space the next install works (no file removed by hand)" install full21.otab
# Full only once the install has begun (a pre-install hook fills it): the
# spare is marked bad, then recording the slots 'installing' fails, naming
# the status file; nothing is written, nothing armed, no payload blamed.
mkdir -p hooks/pre-install.d
printf '#!/bin/sh\ndd if=/dev/zero of=%s bs=4k status=none 2>/dev/null; exit 0\n' "$W/small/fill" >hooks/pre-install.d/50-fill
chmod +x hooks/pre-install.d/50-fill
fake_boot a a
expect_refused status-file-full-after-mark-bad "install into group b failed (group left marked bad): status file '$SS': .*No space left on device" \
	yes "${ALL_SLOTS[@]}" -- install full21.otab
grep -q "payload" err.txt && bad status-file-full-after-mark-bad-blame "blames a payload: $(cat err.txt)" || ok "status-file-full-after-mark-bad: no payload blamed"
rm hooks/pre-install.d/50-fill small/fill
fake_boot a a
expect_installed "after freeing space the next install works again" install full21.otab
mount -o remount,ro small
fake_boot a a
expect_refused status-file-read-only "status file '$SS': .*Read-only file system" no "${ALL_SLOTS[@]}" -- install full20.otab
mount -o remount,rw small
fake_boot a a
expect_installed "after remounting read-write the next install works" install full20.otab
umount small
C=(--config "$W/system.conf")

# ---- class 7: two names for one storage ----------------------------------------------
# Each is refused before anything is written, naming both slots and devices.
head -c $((4 << 20)) /dev/urandom >disk.img
loop L1 disk.img
loop L2 disk.img
conf two-loops.conf "$W/data/two.json" "system-a=device:$L1" "system-b=device:$L2"
C=(--config "$W/two-loops.conf")
fake_boot a a
expect_refused two-loops-one-file "slot check: slot system-b ('$L2') shares storage with slot system-a ('$L1') of the booted group a: loop device $L2 over '$W/disk.img'" \
	no disk.img -- install full20.otab

# Loop devices over one file with offsets: [0, 8M) and [4M, 12M) overlap,
# [0, 8M) and [8M, 12M) do not.
head -c $((12 << 20)) /dev/urandom >wide.img
loop LA --sizelimit $((8 << 20)) wide.img
loop LB -o $((4 << 20)) wide.img
loop LC -o $((8 << 20)) wide.img
conf offsets.conf "$W/data/offsets.json" "system-a=device:$LA" "system-b=device:$LB"
C=(--config "$W/offsets.conf")
fake_boot a a
expect_refused overlapping-offsets "slot system-b ('$LB') shares storage with slot system-a ('$LA') of the booted group a: .*at offset 4194304" \
	no wide.img -- install full20.otab
FIRST8=$(head -c $((8 << 20)) wide.img | sha256sum)
conf apart.conf "$W/data/apart.json" "system-a=device:$LA" "system-b=device:$LC"
C=(--config "$W/apart.conf")
fake_boot a a
expect_installed "adjacent loop offsets are different storage: installed" install full20.otab
[ "$(head -c $((8 << 20)) wide.img | sha256sum)" = "$FIRST8" ] && ok "adjacent offsets: the active range is bit-identical" || bad adjacent-active changed

# A loop device over the file that is another slot.
loop LF slots/boot-a
conf file-loop.conf "$W/data/file-loop.json" "boot-b=device:$LF"
C=(--config "$W/file-loop.conf")
fake_boot a a
expect_refused loop-over-file-slot "slot boot-b ('$LF') shares storage with slot boot-a ('$W/slots/boot-a') of the booted group a" \
	no slots/boot-a -- install full20.otab

# One partition by PARTLABEL= and by its /dev path; a partition and its disk.
tag=$(basename "$W" | tr -cd 'a-zA-Z0-9' | tail -c 8)
truncate -s 12M gpt.img
sfdisk --quiet gpt.img <<EOT
label: gpt
size=4MiB, type=linux, name=sysa-$tag
size=4MiB, type=linux, name=sysb-$tag
EOT
loop LG gpt.img
partx --delete "$LG" 2>/dev/null || true
partx --add "$LG"
for _ in $(seq 50); do [ -b "${LG}p2" ] && break; sleep 0.1; done
dd if=/dev/urandom of="${LG}p1" bs=1M count=4 status=none
P1=$(sha256sum "${LG}p1" | cut -d' ' -f1)
conf partlabel.conf "$W/data/partlabel.json" "system-a=device:PARTLABEL=sysa-$tag" "system-b=device:${LG}p1"
C=(--config "$W/partlabel.conf")
fake_boot a a
expect_refused partlabel-and-dev-path "slot system-b ('${LG}p1') shares storage with slot system-a ('PARTLABEL=sysa-$tag' = '${LG}p1') of the booted group a: .*partition ${LG}p1" \
	no -- install full20.otab
conf whole-disk.conf "$W/data/whole-disk.json" "system-a=device:PARTLABEL=sysa-$tag" "system-b=device:$LG"
C=(--config "$W/whole-disk.conf")
fake_boot a a
expect_refused partition-and-its-disk "slot system-b ('$LG') shares storage with slot system-a ('PARTLABEL=sysa-$tag' = '${LG}p1') of the booted group a" \
	no -- install full20.otab
conf partitions.conf "$W/data/partitions.json" "system-a=device:PARTLABEL=sysa-$tag" "system-b=device:PARTLABEL=sysb-$tag"
C=(--config "$W/partitions.conf")
fake_boot a a
expect_installed "two partitions of one disk are different storage: installed" install full20.otab
[ "$(sha256sum "${LG}p1" | cut -d' ' -f1)" = "$P1" ] && ok "partitions: the active partition is bit-identical" || bad partitions-active changed

tally_end

#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# bootflow-uboot.sh OTA_UPDATE OTA_BUNDLE: the uboot boot flow end to end.
# The real ota-update installs, commits and rolls back against a U-Boot
# environment (native redundant copies in a file, and file mode), and the
# real U-Boot tools check our bytes: mkenvimage makes the env images we read,
# fw_printenv (libubootenv) reads what we wrote, fw_setenv changes what we
# then read. U-Boot itself is not run: its side (the boot script counting
# down a trial) is played by fw_setenv / a file write, and the booted group
# by a fake /proc/cmdline (`[bootflow] proc`).
set -euo pipefail
. "$(dirname "$(readlink -f "$0")")/../lib/itest.sh"
need mkimage dumpimage mkenvimage fw_printenv fw_setenv
itest_begin "bootflow-uboot.sh OTA_UPDATE OTA_BUNDLE" U B -- "$@"

# ---- a signed bundle from a throwaway CA ---------------------------------------
. "$HERE/../lib/pki.sh"
pki_signer
head -c 300000 /dev/urandom >system.img
. "$HERE/../lib/signed-bundle.sh"
signed_bundle good.otab 2.0 system=system.img

mkdir -p slots proc fat
head -c 300000 /dev/urandom >slots/system-a
: >slots/system-b
booted() { echo "console=ttyS0 root=PARTLABEL=system-$1 ota.group=$1" >proc/cmdline; }

conf() { # conf FILE BOOTFLOW-KEYS...
	local f=$1
	shift
	{
		cat <<CONF
[system]
compatible = test-board
version = 1.0
[update]
keyring = $W/root.pem
status-file = $W/status.json
hooks-dir = $W/hooks
lock-file = $W/update.lock
[bootflow]
type = uboot
tries = 3
proc = $W/proc
CONF
		printf '%s\n' "$@"
		cat <<CONF
[slot.system-a]
class = system
file = $W/slots/system-a
[slot.system-b]
class = system
file = $W/slots/system-b
[group.a]
system = system-a
[group.b]
system = system-b
CONF
	} >"$f"
}
# status_is CONF NAME BOOTED DEFAULT TRIAL_STATE TRIES
status_is() {
	local out
	out=$("$U" --config "$1" status --json 2>&1) || { bad "$2" "status failed: $out"; return; }
	if python3 - "$3" "$4" "$5" "$6" "$out" <<'PY'; then ok "$2"; else bad "$2" "$out"; fi
import json, sys
s = json.loads(sys.argv[5])
want = dict(booted=sys.argv[1], default=sys.argv[2], trial_state=sys.argv[3], tries_left=int(sys.argv[4]))
got = {k: s[k] for k in want}
sys.exit(0 if got == want else print(got, "!=", want) or 1)
PY
}
run() { # run NAME ARGS... (ota-update must succeed)
	local name=$1
	shift
	if "$U" "$@" >out.txt 2>err.txt; then ok "$name"; else bad "$name" "$(cat err.txt)"; fi
}
printenv_is() { # printenv_is NAME FWCONF VAR EXPECTED ("" = unset)
	local got
	got=$(fw_printenv -c "$2" -n "$3" 2>/dev/null || true)
	[ "$got" = "$4" ] && ok "$1" || bad "$1" "fw_printenv $3 = '$got', expected '$4'"
}

# ---- native, single copy made by mkenvimage ----------------------------------------
printf 'bootcmd=run ota_boot\nbootdelay=2\nota_default=a\nserial#=0042\n' >env.txt
mkenvimage -s 0x4000 -o single.img env.txt
conf single.conf "env = $W/single.img" "env-size = 0x4000"
booted a
status_is single.conf "mkenvimage single image: read (booted a, default a, none)" a a none 0
echo "$W/single.img 0x0000 0x4000" >fw_single.config
run "native single: install arms b" --config single.conf install good.otab
printenv_is "native single: fw_printenv sees ota_trial=b" fw_single.config ota_trial b
printenv_is "native single: fw_printenv sees ota_tries=3" fw_single.config ota_tries 3
printenv_is "native single: other variables kept" fw_single.config serial# 0042

# ---- native, redundant copies in one file -----------------------------------------
# copy 0 at 0 (flag 1 from mkenvimage -r), copy 1 at 0x8000 (an older copy, made
# with ota_default=b, flag set to 0): we must pick copy 0 as fw_printenv does.
mkenvimage -r -s 0x4000 -o c0.img env.txt
sed 's/ota_default=a/ota_default=b/' env.txt >env-b.txt
mkenvimage -r -s 0x4000 -o c1.img env-b.txt
printf '\x00' | dd of=c1.img bs=1 seek=4 conv=notrunc status=none
{ cat c0.img; head -c $((0x8000 - 0x4000)) /dev/zero; cat c1.img; } >redund.img
printf '%s\n' "$W/redund.img 0x0000 0x4000" "$W/redund.img 0x8000 0x4000" >fw_env.config
conf redund.conf "env = $W/redund.img" "env-offset = 0" "env-redundant-offset = 0x8000" "env-size = 0x4000"
[ "$(fw_printenv -c fw_env.config -n ota_default)" = a ] && ok "fw_printenv picks copy 0 (flag 1 over 0)" || bad fw-pick "$(fw_printenv -c fw_env.config)"
status_is redund.conf "mkenvimage -r: we pick the same copy (default a)" a a none 0
fw_printenv -c fw_env.config | grep -v '^ota_' | sort >others.before
run "native redundant: install arms b" --config redund.conf install good.otab
cmp -s slots/system-b system.img && ok "native redundant: system-b installed" || bad install-cmp "differs"
printenv_is "native redundant: fw_printenv sees ota_trial=b" fw_env.config ota_trial b
printenv_is "native redundant: fw_printenv sees ota_tries=3" fw_env.config ota_tries 3
fw_printenv -c fw_env.config | grep -v '^ota_' | sort >others.after
cmp -s others.before others.after && ok "native redundant: every other variable unchanged" || bad others "$(diff others.before others.after)"
[ "$(head -c 5 redund.img | tail -c 1 | od -An -tu1 | tr -d ' ')" = 1 ] && \
	[ "$(dd if=redund.img bs=1 skip=$((0x8004)) count=1 status=none | od -An -tu1 | tr -d ' ')" = 2 ] \
	&& ok "native redundant: we wrote copy 1 with flag 2, copy 0 untouched" || bad flags "$(od -An -tu1 -N5 redund.img)"
status_is redund.conf "native redundant: armed, 3 tries" a a armed 3
# U-Boot's trial boot: the script decrements and saves (fw_setenv plays it).
fw_setenv -c fw_env.config ota_tries 2
booted b
status_is redund.conf "fw_setenv's change is seen: running, 2 tries" b a running 2
run "native redundant: commit" --config redund.conf commit
printenv_is "commit: fw_printenv sees ota_default=b" fw_env.config ota_default b
printenv_is "commit: ota_trial deleted" fw_env.config ota_trial ""
printenv_is "commit: ota_tries deleted" fw_env.config ota_tries ""
status_is redund.conf "after commit: none" b b none 0
# Next update into a; its trial uses up its tries and U-Boot falls back to b.
: >slots/system-a
run "native redundant: install from b arms a" --config redund.conf install good.otab
printenv_is "arm a: fw_printenv sees ota_trial=a" fw_env.config ota_trial a
fw_setenv -c fw_env.config ota_tries 0
status_is redund.conf "tries used up on the default: failed" b b failed 0
run "native redundant: rollback of the failed trial" --config redund.conf rollback
printenv_is "rollback: ota_trial deleted" fw_env.config ota_trial ""
status_is redund.conf "after rollback: none" b b none 0
# fw_setenv drives the flag counter to the wrap (newest copy 0, older 255),
# alternating ota_tries so that reading the wrong copy shows.
flag_at() { od -An -tu1 -j "$1" -N1 redund.img | tr -d ' '; }
fw_setenv -c fw_env.config ota_trial a
n=0
while :; do
	n=$((n + 1))
	fw_setenv -c fw_env.config ota_tries $((n % 2 + 1))
	case "$(flag_at 4) $(flag_at $((0x8004)))" in "255 0" | "0 255") break ;; esac
	[ $n -lt 600 ] || break
done
echo "     (flags $(flag_at 4) and $(flag_at $((0x8004))) after $n fw_setenv writes)"
status_is redund.conf "at the wrap (flags 255/0): we read fw_setenv's newest copy" b b armed $((n % 2 + 1))
run "at the wrap: install arms a" --config redund.conf install good.otab
printenv_is "after the wrap: fw_printenv sees our ota_tries=3" fw_env.config ota_tries 3
# install = mark-bad a (flag 1 over the 255 copy) + arm a (flag 2 over the 0 copy)
[ "$(flag_at 4) $(flag_at $((0x8004)))" = "1 2" ] || [ "$(flag_at 4) $(flag_at $((0x8004)))" = "2 1" ] \
	&& ok "after the wrap: we wrote flags 1 then 2" || bad wrap-flag "$(flag_at 4) $(flag_at $((0x8004)))"
status_is redund.conf "after the wrap: armed" b b armed 3
# A torn write of the copy we write next: the previous state is read back.
cur=$(python3 - "$W/redund.img" <<'PY'
import sys
d = open(sys.argv[1], "rb").read()
f0, f1 = d[4], d[0x8004]
print(1 if (f0 == 255 and f1 == 0) or (f1 > f0 and not (f1 == 255 and f0 == 0)) else 0)
PY
)
other=$((cur == 0 ? 0x8000 : 0))
run "torn write: commit writes the other copy" --config redund.conf rollback
head -c 2000 /dev/urandom | dd of=redund.img bs=1 seek=$((other + 100)) conv=notrunc status=none
status_is redund.conf "torn write: the previous state (armed a) is read back" b b armed 3
printenv_is "torn write: fw_printenv agrees (ota_trial=a)" fw_env.config ota_trial a
head -c 2000 /dev/urandom | dd of=redund.img bs=1 seek=$((0x8000 - other + 100)) conv=notrunc status=none
rc=0; "$U" --config redund.conf status >out.txt 2>err.txt || rc=$?
[ $rc != 0 ] && grep -q "no valid environment: CRC mismatch in '$W/redund.img' at 0 and in" err.txt \
	&& ok "both copies corrupt: $(grep -o 'no valid environment.*' err.txt | head -c 120)" || bad both-corrupt "exit $rc: $(cat err.txt)"

# ---- file mode: two `env export -t` files on a FAT partition -----------------------
printf 'ota_default=a\nota_seq=1\n' >fat/ota.env
conf file.conf "env-mode = file" "env = $W/fat/ota.env"
booted a
: >slots/system-b
status_is file.conf "file mode: read ota.env (default a)" a a none 0
run "file mode: install arms b" --config file.conf install good.otab
[ "$(cat fat/ota.env.bak)" = "$(printf 'ota_default=a\nota_seq=2\nota_trial=b\nota_tries=3\nota_valid=2')" ] \
	&& ok "file mode: ota.env.bak written (seq 2, sorted like env export)" || bad file-bak "$(cat fat/ota.env.bak)"
[ "$(cat fat/ota.env)" = "$(printf 'ota_default=a\nota_seq=1')" ] && ok "file mode: ota.env untouched" || bad file-env "$(cat fat/ota.env)"
[ ! -e fat/ota.env.bak.tmp ] && ok "file mode: no temporary file left" || bad file-tmp "left"
# U-Boot's trial boot: env export -t of the five variables into the older file
# (ota_seq and ota_valid count modulo 3: 2 + 1 = 0). ota.env was written by an
# older ota-update (no ota_valid): it counted while .bak had none either.
printf 'ota_default=a\nota_seq=0\nota_trial=b\nota_tries=2\nota_valid=0\n\0' >fat/ota.env
booted b
status_is file.conf "file mode: U-Boot's write seen (running, 2 tries)" b a running 2
run "file mode: commit" --config file.conf commit
[ "$(cat fat/ota.env.bak)" = "$(printf 'ota_default=b\nota_seq=1\nota_valid=1')" ] && ok "file mode: commit wrote ota.env.bak (seq 1)" || bad file-commit "$(cat fat/ota.env.bak)"
status_is file.conf "file mode: after commit none" b b none 0
run "file mode: install from b arms a" --config file.conf install good.otab
printf 'ota_default=b\nota_seq=0\nota_trial=a\nota_tries=0\nota_valid=0\n' >fat/ota.env.bak
status_is file.conf "file mode: tries used up: failed" b b failed 0
run "file mode: rollback" --config file.conf rollback
status_is file.conf "file mode: after rollback none" b b none 0

# ---- config validation ---------------------------------------------------------
conf bad1.conf "env = $W/redund.img"
rc=0; "$U" --config bad1.conf status >out.txt 2>err.txt || rc=$?
[ $rc != 0 ] && grep -q "env-size (U-Boot's CONFIG_ENV_SIZE) is required for env-mode native" err.txt \
	&& ok "config: env-size required" || bad cfg-size "$(cat err.txt)"
conf bad2.conf "env = $W/redund.img" "env-size = 0x4000" "env-offset = 99999999999999999999"
rc=0; "$U" --config bad2.conf status >out.txt 2>err.txt || rc=$?
[ $rc != 0 ] && grep -q "env-offset: '99999999999999999999' is not a number" err.txt \
	&& ok "config: a 64-bit overflow is refused" || bad cfg-offset "$(cat err.txt)"

# ---- the boot script wraps into a U-Boot script image -------------------------------
mkimage -A arm -O linux -T script -C none -n otaroot -d "$HERE/../../bootflow/uboot/boot.cmd" boot.scr >/dev/null \
	&& dumpimage -l boot.scr | grep -q "Script" && ok "boot.cmd: mkimage -T script builds boot.scr" || bad mkimage "failed"

tally_end

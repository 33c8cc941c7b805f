# SPDX-License-Identifier: Apache-2.0
# fake-device.sh: a device for ota-update tests without a real boot loader:
# a custom boot flow (docs/boot-flows.md, "custom") that keeps its state in a
# file and records every call, and file slots. The one copy every
# integration test shares. Source it, then in the test's working directory:
#
#   . tests/lib/fake-device.sh
#   fake_bootflow                 # ./bootflow.sh (executable = $PWD/bootflow.sh)
#   fake_boot BOOTED [DEFAULT [TRIAL [TRIES]]]
#                                 # ./bf.state (DEFAULT: BOOTED; no trial,
#                                 # 0 tries); empties ./calls
#   fake_device SYSTEM-BYTES BOOT-BYTES
#                                 # ./slots, ./data, ./hooks, the active slots
#                                 # slots/system-a and slots/boot-a of random
#                                 # bytes, and fake_bootflow
#   fake_loop_device SIZE         # system slots on loop devices: disk-a.img
#                                 # and disk-b.img of SIZE bytes attached, LA
#                                 # and LB set to them; ./data, fake_bootflow
#                                 # and ./system.conf (class system, keyring
#                                 # $PWD/root.pem, compatible test-board)
#   fake_reset                    # back to a device that never installed:
#                                 # booted a (fake_boot a), no status file, no
#                                 # slots of group b
#   fake_calls VERB               # how many calls started with VERB
#   fake_slots "$PWD" [--classes "system dtb boot"] [--tries 3] [system-b=device:/dev/loop3]...
#                                 # [bootflow] (this boot flow), [slot.*] and
#                                 # [group.*] sections for groups a and b, a
#                                 # slot per class (default: system, boot),
#                                 # each the file DIR/slots/CLASS-GROUP unless
#                                 # given as SLOT=KEY:VALUE (KEY: file, device)
#   fake_conf_head DIR KEYRING COMPATIBLE [VERSION]
#                                 # the start of a system.conf on stdout:
#                                 # [system] (VERSION: 1.0) and [update] with
#                                 # KEYRING and the status file, hooks and lock
#                                 # below DIR; a test adds its own keys, then
#                                 # fake_slots
#   fake_conf DIR KEYRING COMPATIBLE [fake_slots options and slots]
#                                 # a whole system.conf on stdout: version 1.0,
#                                 # downgrades allowed, status file, hooks and
#                                 # lock below DIR, then fake_slots
#
# bootflow.sh keeps its state in bf.state next to it and appends every call
# (its arguments, one line) to calls; get-state prints the state, arm sets
# the trial and its tries, commit makes its group the default and ends the
# trial, mark-bad ends the trial of its group, reboot does nothing. A file
# bf.fail-VERB makes that verb fail (exit 1, "simulated VERB failure" on
# stderr) after it is recorded.

fake_bootflow() {
	cat >bootflow.sh <<'SH'
#!/bin/sh
D=$(dirname "$0")
echo "$*" >>"$D/calls"
[ -e "$D/bf.fail-$1" ] && { echo "simulated $1 failure" >&2; exit 1; }
. "$D/bf.state"
case "$1" in
get-state) printf 'booted=%s\ndefault=%s\ntrial=%s\ntries=%s\n' "$booted" "$default" "$trial" "$tries"; exit 0 ;;
arm) trial=$2 tries=$3 ;;
commit) default=$2 trial= tries=0 ;;
mark-bad) if [ "$trial" = "$2" ]; then trial= tries=0; fi ;;
reboot) exit 0 ;;
*) exit 0 ;;
esac
printf 'booted=%s\ndefault=%s\ntrial=%s\ntries=%s\n' "$booted" "$default" "$trial" "$tries" >"$D/bf.state"
SH
	chmod +x bootflow.sh
}

fake_boot() {
	printf 'booted=%s\ndefault=%s\ntrial=%s\ntries=%s\n' "$1" "${2:-$1}" "${3:-}" "${4:-0}" >bf.state
	: >calls
}

fake_calls() { grep -c "^$1" calls || true; }

fake_device() {
	mkdir -p slots data hooks
	head -c "$1" /dev/urandom >slots/system-a
	head -c "$2" /dev/urandom >slots/boot-a
	fake_bootflow
}

fake_loop_device() {
	truncate -s "$1" disk-a.img disk-b.img
	LA=$(losetup -f --show disk-a.img)
	LB=$(losetup -f --show disk-b.img)
	mkdir -p data
	fake_bootflow
	fake_conf "$PWD" "$PWD/root.pem" test-board --classes system "system-a=device:$LA" "system-b=device:$LB" >system.conf
}

fake_reset() { fake_boot a; rm -f data/slots.json slots/system-b slots/boot-b; }

# fake_slots DIR [--classes "CLASS..."] [--tries N] [SLOT=KEY:VALUE]...
fake_slots() {
	local dir=$1 classes="system boot" tries= s spec c g
	shift
	while [ $# -gt 0 ]; do
		case $1 in
		--classes) classes=$2; shift 2 ;;
		--tries) tries=$2; shift 2 ;;
		*) break ;;
		esac
	done
	declare -A slot=()
	for s in "$@"; do slot[${s%%=*}]=${s#*=}; done
	printf '[bootflow]\ntype = custom\nexecutable = %s/bootflow.sh\n' "$dir"
	[ -z "$tries" ] || printf 'tries = %s\n' "$tries"
	for c in $classes; do
		for s in "$c-a" "$c-b"; do
			spec=${slot[$s]:-file:$dir/slots/$s}
			printf '[slot.%s]\nclass = %s\n%s = %s\n' "$s" "$c" "${spec%%:*}" "${spec#*:}"
		done
	done
	for g in a b; do
		printf '[group.%s]\n' "$g"
		for c in $classes; do printf '%s = %s-%s\n' "$c" "$c" "$g"; done
	done
}

fake_conf_head() {
	printf '[system]\ncompatible = %s\nversion = %s\n[update]\nkeyring = %s\n' "$3" "${4:-1.0}" "$2"
	printf 'status-file = %s/data/slots.json\nhooks-dir = %s/hooks\nlock-file = %s/update.lock\n' "$1" "$1" "$1"
}

fake_conf() {
	local dir=$1 keyring=$2 compatible=$3
	shift 3
	fake_conf_head "$dir" "$keyring" "$compatible"
	echo "downgrade = allow"
	fake_slots "$dir" "$@"
}

# SPDX-License-Identifier: Apache-2.0
# custom-bootflow.sh: a custom boot flow for ota-update tests (docs/boot-flows.md,
# "custom"). Source it, then in the test's working directory:
#
#   custom_bootflow                  # ./bootflow.sh (executable = $PWD/bootflow.sh)
#   state BOOTED DEFAULT [TRIAL [TRIES]]   # ./bf.state; empties ./calls
#
# bootflow.sh keeps its state in bf.state next to it and appends every call
# to calls; a file bf.fail-<verb> makes that verb fail.

custom_bootflow() {
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

state() { printf 'booted=%s\ndefault=%s\ntrial=%s\ntries=%s\n' "$1" "$2" "${3:-}" "${4:-0}" >bf.state; : >calls; }

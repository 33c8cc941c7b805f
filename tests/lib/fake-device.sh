# fake-device.sh: a device for ota-update tests without a real boot loader.
# Source it, then call the functions in the test's working directory:
#
#   . tests/lib/fake-device.sh
#   fake_bootflow                 # ./bootflow.sh: a custom boot flow kept in
#                                 # ./bf.state; each call is appended to ./calls
#   fake_boot a                   # booted = default = a, no trial, calls emptied
#   fake_calls arm                # how many calls started with "arm"
#   fake_file_slots "$PWD"        # [bootflow] and [slot.*]/[group.*] sections for
#                                 # file slots DIR/slots/{system,boot}-{a,b}

fake_bootflow() {
	cat >bootflow.sh <<'SH'
#!/bin/sh
D=$(dirname "$0")
echo "$*" >>"$D/calls"
. "$D/bf.state"
case "$1" in
get-state) printf 'booted=%s\ndefault=%s\ntrial=%s\ntries=%s\n' "$booted" "$default" "$trial" "$tries"; exit 0 ;;
arm) trial=$2 tries=$3 ;;
mark-bad) if [ "$trial" = "$2" ]; then trial= tries=0; fi ;;
*) exit 0 ;;
esac
printf 'booted=%s\ndefault=%s\ntrial=%s\ntries=%s\n' "$booted" "$default" "$trial" "$tries" >"$D/bf.state"
SH
	chmod +x bootflow.sh
}

fake_boot() { printf 'booted=%s\ndefault=%s\ntrial=\ntries=0\n' "$1" "$1" >bf.state; : >calls; }

fake_calls() { grep -c "^$1" calls || true; }

fake_file_slots() {
	cat <<CONF
[bootflow]
type = custom
executable = $1/bootflow.sh
[slot.system-a]
class = system
file = $1/slots/system-a
[slot.system-b]
class = system
file = $1/slots/system-b
[slot.boot-a]
class = boot
file = $1/slots/boot-a
[slot.boot-b]
class = boot
file = $1/slots/boot-b
[group.a]
system = system-a
boot = boot-a
[group.b]
system = system-b
boot = boot-b
CONF
}

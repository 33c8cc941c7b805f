# SPDX-License-Identifier: Apache-2.0
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

. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/custom-bootflow.sh"

fake_bootflow() { custom_bootflow; }

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

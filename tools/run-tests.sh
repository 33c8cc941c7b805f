#!/bin/bash
# run-tests.sh [CTEST ARGS...]: installs what is missing (as root, Debian 12),
# checks that everything tools/deps.list names is present, builds otaroot
# into build/ and runs the whole test suite: unit, integration and VM tests.
# Pass ctest arguments to narrow it, e.g. `-L unit`.
#
# Afterwards it fails, naming them, if the tests left a loop device, a mount,
# a process or a file in /tmp or /var/tmp behind (tools/leftovers.py).
set -euo pipefail
cd "$(dirname "$0")/.."

tools/deps.sh
tools/deps.sh --check
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)"

OTA_LEFTOVER_TAG=$(cat /proc/sys/kernel/random/uuid)
export OTA_LEFTOVER_TAG
snapshot=$(mktemp "${TMPDIR:-/tmp}/ota-leftovers.XXXXXX")
tools/leftovers.py snapshot "$snapshot"
rc=0
(cd build && ctest --output-on-failure "$@") || rc=$?
left=0
tools/leftovers.py compare "$snapshot" || left=1
rm -f "$snapshot"
[ $rc != 0 ] && exit $rc
exit $left

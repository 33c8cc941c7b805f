#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# ota-init runs as PID 1 before anything else is mounted: it must not need a
# dynamic loader or shared libraries. Fails if readelf finds either.
set -euo pipefail
. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../../tools/need.sh"
need readelf
bin=${1:?usage: check-static.sh BINARY}
[ -x "$bin" ] || { echo "FAIL: $bin is not an executable"; exit 1; }
interp=$(readelf -lW "$bin" | grep -c 'INTERP' || true)
needed=$(readelf -dW "$bin" 2>/dev/null | grep -c '(NEEDED)' || true)
size=$(stat -c %s "$bin")
echo "$bin: $size bytes, PT_INTERP segments: $interp, DT_NEEDED entries: $needed"
if [ "$interp" != 0 ] || [ "$needed" != 0 ]; then
	readelf -lW "$bin" | grep -A1 INTERP || true
	readelf -dW "$bin" | grep NEEDED || true
	echo "FAIL: $bin is not fully static"
	exit 1
fi
echo "ok: $bin is fully static"

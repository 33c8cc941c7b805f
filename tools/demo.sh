#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# demo.sh: builds otaroot, makes a disk image and a signed update bundle
# with ota-image from an image description (tests/vm/demo-image.conf), boots
# the image in QEMU through ota-init, installs the update into the spare
# slot, reboots into it on trial and commits it, showing each step. Run as
# root on Debian 12; installs what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

tools/deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)"
tests/vm/fetch-kernel.sh build/vm/kernel

exec tests/vm/run-demo.sh build

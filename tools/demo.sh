#!/bin/bash
# demo.sh: builds otaroot, makes a disk image, boots it in QEMU through
# ota-init and shows what happened in the guest. Run as root on Debian 12;
# installs what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

tools/deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)"
tests/vm/fetch-kernel.sh build/vm/kernel
tests/vm/mkimage.sh --bin-dir build/bin --out build/vm/demo.img
OTA_VM_IMAGE=build/vm/demo.img python3 tests/vm/demo.py

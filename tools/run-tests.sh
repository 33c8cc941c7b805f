#!/bin/bash
# run-tests.sh [CTEST ARGS...]: installs what is missing (as root, Debian 12),
# builds otaroot into build/ and runs the whole test suite: unit, integration
# and VM tests. Pass ctest arguments to narrow it, e.g. `-L unit`.
set -euo pipefail
cd "$(dirname "$0")/.."

tools/deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)"
cd build
ctest --output-on-failure "$@"

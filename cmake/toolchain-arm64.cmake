# SPDX-License-Identifier: Apache-2.0
# Cross build for 64-bit ARM (Debian arm64):
#   cmake -S . -B build-arm64 -DCMAKE_TOOLCHAIN_FILE=cmake/toolchain-arm64.cmake
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(OTA_TARGET_ARCH arm64)
set(OTA_TARGET_TRIPLET aarch64-linux-gnu)
set(OTA_TARGET_EMULATOR qemu-aarch64-static)
include(${CMAKE_CURRENT_LIST_DIR}/toolchain-cross.cmake)

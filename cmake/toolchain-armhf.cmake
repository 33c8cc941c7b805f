# SPDX-License-Identifier: Apache-2.0
# Cross build for 32-bit ARM (Debian armhf, ARMv7 hard float):
#   cmake -S . -B build-armhf -DCMAKE_TOOLCHAIN_FILE=cmake/toolchain-armhf.cmake
set(CMAKE_SYSTEM_PROCESSOR arm)
set(OTA_TARGET_ARCH armhf)
set(OTA_TARGET_TRIPLET arm-linux-gnueabihf)
set(OTA_TARGET_EMULATOR qemu-arm-static)
# 64-bit file offsets and time_t on a 32-bit target (glibc >= 2.34): sizes
# past 2 GiB and times past 2038. CMakeLists.txt defines _FILE_OFFSET_BITS=64
# for every build; _TIME_BITS=64 needs it and is set here for everything the
# compiler builds, the static util-linux libraries included.
set(CMAKE_C_FLAGS_INIT "-D_FILE_OFFSET_BITS=64 -D_TIME_BITS=64")
include(${CMAKE_CURRENT_LIST_DIR}/toolchain-cross.cmake)

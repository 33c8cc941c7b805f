# SPDX-License-Identifier: Apache-2.0
# Shared part of the cross toolchain files (toolchain-arm64.cmake,
# toolchain-armhf.cmake), which set OTA_TARGET_ARCH, OTA_TARGET_TRIPLET and
# OTA_TARGET_EMULATOR before including it.
#
# Compiler: Debian 12's cross gcc (gcc-aarch64-linux-gnu,
# gcc-arm-linux-gnueabihf). Libraries and headers: a sysroot unpacked from the
# target's own .debs by tools/make-sysroot.sh, <build dir>/sysroot unless
# OTA_SYSROOT names another; the first configure makes it. Tests run under
# qemu-user with the sysroot as its library prefix (-L): no binfmt_misc.
# See docs/building.md.

set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_C_COMPILER ${OTA_TARGET_TRIPLET}-gcc)

# The toolchain file is read again for every try_compile project, whose
# CMAKE_BINARY_DIR is elsewhere: the sysroot travels as a platform variable.
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES OTA_SYSROOT)
if(NOT OTA_SYSROOT)
  set(OTA_SYSROOT "${CMAKE_BINARY_DIR}/sysroot" CACHE PATH
      "Target sysroot made by tools/make-sysroot.sh from the target's .debs")
endif()
get_property(_ota_in_try_compile GLOBAL PROPERTY IN_TRY_COMPILE)
if(NOT _ota_in_try_compile)
  execute_process(
    COMMAND ${CMAKE_CURRENT_LIST_DIR}/../tools/make-sysroot.sh ${OTA_TARGET_ARCH} ${OTA_SYSROOT}
    RESULT_VARIABLE _ota_rc)
  if(NOT _ota_rc EQUAL 0)
    message(FATAL_ERROR "tools/make-sysroot.sh ${OTA_TARGET_ARCH} ${OTA_SYSROOT} failed (see above)")
  endif()
endif()

set(CMAKE_SYSROOT ${OTA_SYSROOT})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
set(CMAKE_LIBRARY_ARCHITECTURE ${OTA_TARGET_TRIPLET})

# pkg-config answers from the sysroot only, with its paths prefixed.
set(ENV{PKG_CONFIG_SYSROOT_DIR} ${OTA_SYSROOT})
set(ENV{PKG_CONFIG_LIBDIR} "${OTA_SYSROOT}/usr/lib/${OTA_TARGET_TRIPLET}/pkgconfig:${OTA_SYSROOT}/usr/share/pkgconfig")
set(ENV{PKG_CONFIG_PATH} "")

# An absolute path: the tests hand it to ota_spawn(), which takes no other.
find_program(OTA_EMULATOR_PATH ${OTA_TARGET_EMULATOR} NO_CMAKE_FIND_ROOT_PATH)
if(NOT OTA_EMULATOR_PATH)
  message(FATAL_ERROR "${OTA_TARGET_EMULATOR} not found: install qemu-user-static (tools/deps.sh)")
endif()
set(CMAKE_CROSSCOMPILING_EMULATOR ${OTA_EMULATOR_PATH} -L ${OTA_SYSROOT})

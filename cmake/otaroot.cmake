# SPDX-License-Identifier: Apache-2.0
# Build helpers shared by every component.
#
# Each component is one library, built three ways from the same sources:
#   <name>         for the dynamically linked tools (ota-state, ota-update, ...);
#   <name>-static  the same objects, linked against static archives, for the
#                  fully static ota-init (PID 1 must not depend on a loader);
#   <name>-san     compiled with ASan+UBSan, for the unit tests (OTA_SANITIZE).
# External dependencies are named logically (blkid, mount, fdisk, inih, zstd,
# crypto, curl) so each variant can resolve them its own way.

set(OTA_EXTERNAL_DEPS blkid mount fdisk inih zstd crypto jsonc curl)

# Dynamic resolution: the pkg-config imported targets (those looked for: a
# subset build, OTA_BUILD_*, leaves the others empty).
foreach(dep blkid mount fdisk inih zstd crypto jsonc curl)
  string(TOUPPER ${dep} DEP)
  add_library(ota_dyn_${dep} INTERFACE)
  if(TARGET PkgConfig::${DEP})
    target_link_libraries(ota_dyn_${dep} INTERFACE PkgConfig::${DEP})
  endif()
endforeach()

foreach(dep blkid mount fdisk inih zstd crypto jsonc curl)
  add_library(ota_static_${dep} INTERFACE)
endforeach()

# What compiles and links the static variants with musl (OTA_INIT_LIBC): the
# same gcc with Debian's musl specs file, which is all musl-gcc adds. The
# specs leave out /usr/include, where glibc's headers are: the kernel's
# headers and inih's ini.h are reached through a directory of links to them.
# A cross build takes the target's musl-dev from the sysroot
# (tools/make-sysroot.sh) with the cross gcc: its specs name the target's
# /usr/include/<musl triplet> and /usr/lib/<musl triplet>, so the build
# uses a copy that names them in the sysroot. There libc.so (package musl)
# is in lib/<musl triplet>, which Debian's merged /usr makes the same
# directory as usr/lib/<musl triplet> but dpkg-deb -x does not: the copy
# searches lib/ first, so that a dynamic link (configure's link tests) finds
# libc.so and a static one libc.a.
add_library(ota_musl INTERFACE)
if(OTA_BUILD_INIT AND OTA_INIT_LIBC STREQUAL "musl")
  # Debian puts musl under its multiarch name with gnu made musl
  # (x86_64-linux-musl, arm-linux-musleabihf).
  string(REPLACE "-linux-gnu" "-linux-musl" OTA_MUSL_TRIPLET "${CMAKE_LIBRARY_ARCHITECTURE}")
  if(CMAKE_CROSSCOMPILING)
    set(OTA_MUSL_ROOT ${CMAKE_SYSROOT})
    set(specs_in ${CMAKE_SYSROOT}/usr/lib/${OTA_MUSL_TRIPLET}/musl-gcc.specs)
    if(NOT EXISTS ${specs_in})
      message(FATAL_ERROR "OTA_INIT_LIBC=musl: ${specs_in} not found: the sysroot lacks musl-dev "
        "(delete ${CMAKE_SYSROOT} to have tools/make-sysroot.sh make it again), "
        "or configure with -DOTA_INIT_LIBC=glibc")
    endif()
    if(CMAKE_SYSROOT MATCHES "[ \t%]")
      message(FATAL_ERROR "OTA_INIT_LIBC=musl: the sysroot path '${CMAKE_SYSROOT}' has a blank or %, which a gcc specs file cannot hold")
    endif()
    file(READ ${specs_in} specs)
    string(REGEX REPLACE "/usr/(include|lib)/${OTA_MUSL_TRIPLET}" "${CMAKE_SYSROOT}/usr/\\1/${OTA_MUSL_TRIPLET}"
      specs "${specs}")
    set(libdir "-L${CMAKE_SYSROOT}/usr/lib/${OTA_MUSL_TRIPLET}")
    string(FIND "${specs}" "${libdir} " at)
    if(at EQUAL -1)
      message(FATAL_ERROR "OTA_INIT_LIBC=musl: ${specs_in} has no -L/usr/lib/${OTA_MUSL_TRIPLET} to rewrite")
    endif()
    string(REPLACE "${libdir} " "-L${CMAKE_SYSROOT}/lib/${OTA_MUSL_TRIPLET} ${libdir} " specs "${specs}")
    set(OTA_MUSL_SPECS ${CMAKE_BINARY_DIR}/musl-gcc.specs)
    file(WRITE ${OTA_MUSL_SPECS} "${specs}")
  else()
    set(OTA_MUSL_ROOT "")
    find_program(OTA_MUSL_GCC musl-gcc)
    set(OTA_MUSL_SPECS /usr/lib/${OTA_MUSL_TRIPLET}/musl-gcc.specs)
    if(NOT OTA_MUSL_GCC OR NOT EXISTS ${OTA_MUSL_SPECS})
      message(FATAL_ERROR "OTA_INIT_LIBC=musl needs musl-gcc and ${OTA_MUSL_SPECS}: "
        "install musl-tools (tools/deps.sh), or configure with -DOTA_INIT_LIBC=glibc")
    endif()
  endif()
  find_path(OTA_INIH_HEADER_DIR ini.h HINTS ${INIH_INCLUDE_DIRS} REQUIRED NO_CACHE)
  set(OTA_MUSL_INCLUDE ${CMAKE_BINARY_DIR}/musl-include)
  file(MAKE_DIRECTORY ${OTA_MUSL_INCLUDE})
  set(inc ${OTA_MUSL_ROOT}/usr/include)
  foreach(pair "linux=${inc}/linux" "asm-generic=${inc}/asm-generic"
               "asm=${inc}/${CMAKE_LIBRARY_ARCHITECTURE}/asm" "ini.h=${OTA_INIH_HEADER_DIR}/ini.h")
    string(REPLACE "=" ";" pair "${pair}")
    list(GET pair 0 link)
    list(GET pair 1 target)
    if(NOT EXISTS ${target})
      message(FATAL_ERROR "OTA_INIT_LIBC=musl: ${target} not found (linux-libc-dev, libinih-dev)")
    endif()
    file(CREATE_LINK ${target} ${OTA_MUSL_INCLUDE}/${link} SYMBOLIC)
  endforeach()
  target_compile_options(ota_musl INTERFACE -specs=${OTA_MUSL_SPECS} -isystem ${OTA_MUSL_INCLUDE})
  target_link_options(ota_musl INTERFACE -specs=${OTA_MUSL_SPECS})
endif()

if(NOT OTA_BUILD_INIT)
  # Nothing static is built: ota_static_* stay empty.
elseif(OTA_STATIC_FROM_SYSROOT)
  # A cross build (Buildroot): the sysroot has static archives of every
  # library ota-init needs, and their .pc files list what those archives
  # need in turn (Libs.private). With -static the linker takes lib*.a for
  # each -l. Nothing is built from source.
  foreach(dep blkid mount fdisk inih)
    string(TOUPPER ${dep} DEP)
    target_include_directories(ota_static_${dep} INTERFACE ${${DEP}_STATIC_INCLUDE_DIRS})
    target_link_libraries(ota_static_${dep} INTERFACE ${${DEP}_STATIC_LDFLAGS})
  endforeach()
else()
  # Static resolution. Debian ships static libblkid, libuuid, libinih, libzstd and
  # libcrypto, but no static libmount or libfdisk; those (and, for one consistent
  # util-linux version, libblkid and libuuid) come from the distribution's own
  # util-linux source package, built once into OTA_UTIL_LINUX_STATIC_DIR by
  # tools/build-util-linux-static.sh. See docs/building.md.
  set(UL ${OTA_UTIL_LINUX_STATIC_DIR})
  if(OTA_INIT_LIBC STREQUAL "musl")
    # Built with musl, cached apart from a glibc build of the same tree.
    string(APPEND UL "-musl")
  endif()
  set(OTA_UL_ARCHIVES ${UL}/lib/libfdisk.a ${UL}/lib/libmount.a ${UL}/lib/libblkid.a ${UL}/lib/libuuid.a)
  set(OTA_UL_BUILD ${PROJECT_SOURCE_DIR}/tools/build-util-linux-static.sh)
  set(OTA_UL_ARGS)
  if(OTA_INIT_LIBC STREQUAL "musl")
    set(OTA_UL_ARGS --libc musl)
  endif()
  if(CMAKE_CROSSCOMPILING)
    # For the target: its compiler, flags and sysroot (with musl: the specs
    # naming the sysroot's musl); the verification program runs under the
    # emulator.
    set(ul_cflags "-O2 -g -ffunction-sections -fdata-sections ${CMAKE_C_FLAGS} --sysroot=${CMAKE_SYSROOT}")
    if(OTA_INIT_LIBC STREQUAL "musl")
      string(APPEND ul_cflags " -specs=${OTA_MUSL_SPECS}")
    endif()
    string(REPLACE ";" " " OTA_UL_EMULATOR "${CMAKE_CROSSCOMPILING_EMULATOR}")
    set(OTA_UL_BUILD ${CMAKE_COMMAND} -E env CC=${CMAKE_C_COMPILER}
        "UL_STATIC_CFLAGS=${ul_cflags}" "UL_STATIC_EMULATOR=${OTA_UL_EMULATOR}"
        ${OTA_UL_BUILD} --host ${OTA_TARGET_TRIPLET})
  endif()
  add_custom_command(
    OUTPUT ${OTA_UL_ARCHIVES}
    COMMAND ${OTA_UL_BUILD} ${OTA_UL_ARGS} ${UL}
    COMMENT "Building static util-linux libraries (cached in ${UL})"
    VERBATIM)
  add_custom_target(util-linux-static DEPENDS ${OTA_UL_ARCHIVES})

  function(ota_find_static_archive var name)
    find_library(${var} NAMES lib${name}.a REQUIRED NO_CACHE)
    set(${var} ${${var}} PARENT_SCOPE)
  endfunction()
  ota_find_static_archive(OTA_INIH_A inih)
  ota_find_static_archive(OTA_ZSTD_A zstd)
  ota_find_static_archive(OTA_CRYPTO_A crypto)

  # No static libcurl: Debian ships none, and nothing static (ota-init) needs
  # HTTP. ota_static_curl stays empty so that linking it statically fails loudly.
  target_include_directories(ota_static_curl INTERFACE ${CURL_INCLUDE_DIRS})
  ota_find_static_archive(OTA_JSONC_A json-c)
  target_include_directories(ota_static_jsonc INTERFACE ${JSONC_INCLUDE_DIRS})
  target_link_libraries(ota_static_jsonc INTERFACE ${OTA_JSONC_A})
  target_include_directories(ota_static_blkid INTERFACE ${BLKID_INCLUDE_DIRS})
  target_link_libraries(ota_static_blkid INTERFACE ${UL}/lib/libblkid.a ${UL}/lib/libuuid.a)
  target_include_directories(ota_static_mount INTERFACE ${MOUNT_INCLUDE_DIRS})
  target_link_libraries(ota_static_mount INTERFACE ${UL}/lib/libmount.a ota_static_blkid)
  target_include_directories(ota_static_fdisk INTERFACE ${FDISK_INCLUDE_DIRS})
  target_link_libraries(ota_static_fdisk INTERFACE ${UL}/lib/libfdisk.a ota_static_blkid ${UL}/lib/libuuid.a)
  # Debian ships inih's static archive but not its source (no deb-src of it
  # is served): a musl ota-init links the same libinih.a. It needs nothing
  # from libc but malloc, stdio (fopen64, fgets, fclose), strchr, strlen,
  # the stack protector and __ctype_b_loc, which musl provides for objects
  # compiled against glibc.
  target_include_directories(ota_static_inih INTERFACE ${INIH_INCLUDE_DIRS})
  target_link_libraries(ota_static_inih INTERFACE ${OTA_INIH_A})
  target_include_directories(ota_static_zstd INTERFACE ${ZSTD_INCLUDE_DIRS})
  target_link_libraries(ota_static_zstd INTERFACE ${OTA_ZSTD_A})
  target_include_directories(ota_static_crypto INTERFACE ${CRYPTO_INCLUDE_DIRS})
  target_link_libraries(ota_static_crypto INTERFACE ${OTA_CRYPTO_A} pthread dl)
endif()

# ota_add_library(<name> SOURCES <src>... [DEPS <own lib or external dep>...])
function(ota_add_library name)
  cmake_parse_arguments(A "" "" "SOURCES;DEPS" ${ARGN})
  set(dyn_deps)
  set(static_deps)
  set(san_deps)
  set(compile_deps)
  foreach(d ${A_DEPS})
    if(d IN_LIST OTA_EXTERNAL_DEPS)
      list(APPEND dyn_deps ota_dyn_${d})
      list(APPEND static_deps ota_static_${d})
      list(APPEND san_deps ota_dyn_${d})
      list(APPEND compile_deps ota_dyn_${d})
    else()
      list(APPEND dyn_deps ${d})
      list(APPEND static_deps ${d}-static)
      list(APPEND san_deps ${d}-san)
      list(APPEND compile_deps ${d})
    endif()
  endforeach()

  add_library(${name}-obj OBJECT ${A_SOURCES})
  target_include_directories(${name}-obj PUBLIC ${PROJECT_SOURCE_DIR})
  # For usage requirements (headers) only: an object library links nothing,
  # and its objects are shared by the dynamic and static variants.
  target_link_libraries(${name}-obj PUBLIC ${compile_deps})

  add_library(${name} STATIC $<TARGET_OBJECTS:${name}-obj>)
  target_include_directories(${name} PUBLIC ${PROJECT_SOURCE_DIR})
  target_link_libraries(${name} PUBLIC ${dyn_deps})

  # Built only for a static executable that links it (ota-init's components:
  # the others' dependencies, such as libcrypto's headers, are not for musl).
  if(OTA_INIT_LIBC STREQUAL "musl")
    # Against musl's headers: objects of their own.
    add_library(${name}-static STATIC EXCLUDE_FROM_ALL ${A_SOURCES})
    target_link_libraries(${name}-static PUBLIC ota_musl)
  else()
    add_library(${name}-static STATIC EXCLUDE_FROM_ALL $<TARGET_OBJECTS:${name}-obj>)
  endif()
  target_include_directories(${name}-static PUBLIC ${PROJECT_SOURCE_DIR})
  target_link_libraries(${name}-static PUBLIC ${static_deps})

  if(OTA_SANITIZE)
    add_library(${name}-san STATIC ${A_SOURCES})
    target_include_directories(${name}-san PUBLIC ${PROJECT_SOURCE_DIR})
    target_compile_options(${name}-san PUBLIC ${OTA_SANITIZER_FLAGS})
    target_link_options(${name}-san PUBLIC ${OTA_SANITIZER_FLAGS})
    target_link_libraries(${name}-san PUBLIC ${san_deps})
  endif()
endfunction()

# ota_add_executable(<name> SOURCES <src>... DEPS <own lib>...): a tool.
function(ota_add_executable name)
  cmake_parse_arguments(A "" "" "SOURCES;DEPS" ${ARGN})
  add_executable(${name} ${A_SOURCES})
  target_link_libraries(${name} PRIVATE ${A_DEPS})
endfunction()

# ota_add_static_executable(<name> SOURCES <src>... DEPS <own lib>...)
# A fully static binary: no PT_INTERP, no DT_NEEDED (checked by a test).
function(ota_add_static_executable name)
  cmake_parse_arguments(A "" "" "SOURCES;DEPS" ${ARGN})
  add_executable(${name} ${A_SOURCES})
  foreach(d ${A_DEPS})
    target_link_libraries(${name} PRIVATE ${d}-static)
  endforeach()
  target_link_options(${name} PRIVATE -static -Wl,--gc-sections)
  if(NOT OTA_STATIC_FROM_SYSROOT)
    add_dependencies(${name} util-linux-static)
  endif()
endfunction()

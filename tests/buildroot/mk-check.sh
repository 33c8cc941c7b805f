#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# mk-check.sh REPO: every package .mk of the BR2_EXTERNAL tree (kconfig/)
# defines what a Buildroot package must, and evaluates in GNU make:
#  - <PKG>_VERSION, _SITE (+ _SITE_METHOD), _LICENSE, _LICENSE_FILES (files
#    that exist in the sources), _DEPENDENCIES, and ends with
#    $(eval $(cmake-package)) (and $(eval $(host-cmake-package)) with the
#    HOST_<PKG>_* variables for a host package);
#  - with cmake-package stubbed out, make evaluates external.mk and the
#    variables come out as expected for BR2_PACKAGE_<PKG>_UPDATE=y and =;
#  - every target dependency is selected in the package's Config.in;
#  - external.desc names the tree OTAROOT and Config.in sources each package.
set -uo pipefail
. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../../tools/need.sh"
need make openssl zstd
repo=$(cd "$1" && pwd)
tree=$repo/kconfig
fails=0
ok() { echo "ok   $*"; }
fail() { echo "FAIL $*"; fails=$((fails + 1)); }
check() { local what=$1; shift; if "$@"; then ok "$what"; else fail "$what"; fi; }

check "external.desc: name: OTAROOT" grep -qx 'name: OTAROOT' "$tree/external.desc"
check "external.desc: desc: is one line" test "$(grep -c '^desc: ' "$tree/external.desc")" = 1
check "external.mk includes the package .mk files" grep -q 'BR2_EXTERNAL_OTAROOT_PATH)/package/\*/\*.mk' "$tree/external.mk"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
shopt -s nullglob
mks=("$tree"/package/*/*.mk)
check "packages found: ${#mks[@]}" test ${#mks[@]} -ge 1

for mk in "${mks[@]}"; do
	dir=$(dirname "$mk")
	pkg=$(basename "$dir")
	PKG=$(echo "$pkg" | tr 'a-z-' 'A-Z_')
	name=${mk#$repo/}
	check "$name: file is named after its directory" test "$(basename "$mk" .mk)" = "$pkg"
	check "$name: Config.in sources package/$pkg/Config.in" \
		grep -q "source \"\$BR2_EXTERNAL_OTAROOT_PATH/package/$pkg/Config.in\"" "$tree/Config.in"
	for v in VERSION SITE LICENSE LICENSE_FILES DEPENDENCIES; do
		check "$name: defines ${PKG}_$v" grep -Eq "^${PKG}_$v[[:space:]]*\+?=" "$mk"
	done
	check "$name: last target line is \$(eval \$(cmake-package)) or the host one after it" \
		grep -Eq '^\$\(eval \$\(cmake-package\)\)$' "$mk"
	host=no
	if grep -Eq '^\$\(eval \$\(host-cmake-package\)\)$' "$mk"; then
		host=yes
		check "$name: defines HOST_${PKG}_DEPENDENCIES" grep -Eq "^HOST_${PKG}_DEPENDENCIES[[:space:]]*\+?=" "$mk"
		check "$name: defines HOST_${PKG}_CONF_OPTS" grep -Eq "^HOST_${PKG}_CONF_OPTS[[:space:]]*\+?=" "$mk"
		check "$name: Config.in sources package/$pkg/Config.in.host" \
			grep -q "source \"\$BR2_EXTERNAL_OTAROOT_PATH/package/$pkg/Config.in.host\"" "$tree/Config.in"
	fi
	check "$name: $(tail -n 1 "$mk") is the last line" grep -Eq '^\$\(eval \$\((host-)?cmake-package\)\)$' <(tail -n 1 "$mk")

	# Evaluate it in GNU make with Buildroot's helpers stubbed.
	cat > "$tmp/wrap.mk" <<MK
BR2_EXTERNAL_OTAROOT_PATH := $tree
TARGET_DIR := /target
STAGING_DIR := /staging
INSTALL := install
qstrip = \$(strip \$(subst ",,\$(1)))
cmake-package :=
host-cmake-package :=
include $tree/external.mk
${PKG}_PKGDIR ?= $dir/
\$(info VERSION=\$(${PKG}_VERSION))
\$(info SITE=\$(${PKG}_SITE))
\$(info SITE_METHOD=\$(${PKG}_SITE_METHOD))
\$(info LICENSE_FILES=\$(${PKG}_LICENSE_FILES))
\$(info DEPENDENCIES=\$(${PKG}_DEPENDENCIES))
\$(info CONF_OPTS=\$(${PKG}_CONF_OPTS))
\$(info HOST_DEPENDENCIES=\$(HOST_${PKG}_DEPENDENCIES))
\$(info HOST_CONF_OPTS=\$(HOST_${PKG}_CONF_OPTS))
all: ;
MK
	for update in y ""; do
		out=$(make -s -f "$tmp/wrap.mk" BR2_PACKAGE_${PKG}=y BR2_PACKAGE_${PKG}_UPDATE=$update 2>&1)
		check "$name: evaluates in make (UPDATE='$update')" test $? = 0
		get() { sed -n "s/^$1=//p" <<< "$out"; }
		site=$(get SITE)
		version=$(get VERSION)
		check "$name: version $version matches project() in CMakeLists.txt" \
			grep -q "project(otaroot VERSION $version " "$repo/CMakeLists.txt"
		if [ "$(get SITE_METHOD)" = local ]; then
			check "$name: local SITE $site is the source tree" test -f "$site/CMakeLists.txt"
			for f in $(get LICENSE_FILES); do
				check "$name: licence file $f exists" test -f "$site/$f"
			done
		fi
		deps=$(get DEPENDENCIES)
		opts=$(get CONF_OPTS)
		check "$name: static ota-init from the sysroot" grep -q -- '-DOTA_STATIC_FROM_SYSROOT=ON' <<< "$opts"
		check "$name: no tests in the target build" grep -q -- '-DOTA_BUILD_TESTS=OFF' <<< "$opts"
		if [ "$update" = y ]; then
			check "$name: UPDATE=y builds ota-update" grep -q -- '-DOTA_BUILD_UPDATE=ON' <<< "$opts"
			for d in zstd openssl libcurl; do
				check "$name: UPDATE=y depends on $d" grep -qw "$d" <<< "$deps"
			done
		else
			check "$name: UPDATE= builds no ota-update" grep -q -- '-DOTA_BUILD_UPDATE=OFF' <<< "$opts"
			check "$name: UPDATE= needs no libcurl" bash -c "! grep -qw libcurl <<< '$deps'"
		fi
		for d in $deps; do
			case $d in host-*) continue ;; esac
			sym=BR2_PACKAGE_$(echo "$d" | tr 'a-z-' 'A-Z_')
			check "$name: dependency $d is selected ($sym)" grep -Eq "^[[:space:]]*select $sym([[:space:]]|$)" "$dir/Config.in"
		done
		if [ $host = yes ]; then
			hopts=$(get HOST_CONF_OPTS)
			check "$name: host build makes ota-bundle and ota-image, no device tools" \
				bash -c "grep -q -- -DOTA_BUILD_BUNDLE=ON <<< '$hopts' && grep -q -- -DOTA_BUILD_IMAGE=ON <<< '$hopts' && grep -q -- -DOTA_BUILD_INIT=OFF <<< '$hopts' && grep -q -- -DOTA_BUILD_UPDATE=OFF <<< '$hopts'"
			for d in $(get HOST_DEPENDENCIES); do
				check "$name: host dependency $d is a host package" test "${d#host-}" != "$d"
			done
		fi
	done
done

# The install hook's bootflow check works both ways.
chk=$tree/package/otaroot/check-bootflow.sh
printf '[bootflow]\ntype = grub\n' > "$tmp/s.conf"
check "check-bootflow.sh accepts a matching type" "$chk" "$tmp/s.conf" grub
check "check-bootflow.sh refuses another type" bash -c "! '$chk' '$tmp/s.conf' rpi-tryboot 2>/dev/null"

if [ $fails -gt 0 ]; then
	echo "mk-check: $fails check(s) failed" >&2
	exit 1
fi
echo "mk-check: all passed"

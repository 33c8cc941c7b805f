#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# post-build.sh TARGET_DIR: what every otaroot board needs in its root
# filesystem. Board post-build scripts run this first.
#  - fills in the system version (@VERSION@ in /etc/ota/system.conf) from
#    OTAROOT_VERSION, else a UTC time stamp (increasing: the default
#    downgrade policy refuses older versions);
#  - drops the skeleton's /run tmpfs from /etc/fstab: BusyBox init's
#    "mount -a" would hide the /run/ota that ota-init hands over.
set -eu
ME=otaroot-post-build
. "$(dirname "$0")/lib.sh"
TARGET_DIR=${1:-${TARGET_DIR:-}}
need_env TARGET_DIR

conf="$TARGET_DIR/etc/ota/system.conf"
[ -f "$conf" ] || die "$conf missing: set BR2_PACKAGE_OTAROOT_SYSTEM_CONF"
version=${OTAROOT_VERSION:-$(date -u +%Y.%m.%d.%H%M%S)}
case $version in *[!A-Za-z0-9.~+_-]*|'') die "OTAROOT_VERSION '$version': use letters, digits and . ~ + _ -" ;; esac
sed -i "s/@VERSION@/$version/" "$conf"
echo "$version" > "$TARGET_DIR/etc/ota-version"
say "system version $version"

if [ -f "$TARGET_DIR/etc/fstab" ]; then
	sed -i '/^[^#][^ \t]*[ \t][ \t]*\/run[ \t]/d' "$TARGET_DIR/etc/fstab"
fi

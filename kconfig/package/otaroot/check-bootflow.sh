#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# check-bootflow.sh SYSTEM_CONF TYPE: fails unless the [bootflow] section of
# SYSTEM_CONF has "type = TYPE" (BR2_PACKAGE_OTAROOT_BOOTFLOW_* and the
# installed system.conf must agree). A file without [bootflow] passes: it
# configures ota-init only.
conf=$1 want=$2
have=$(awk '
	/^[ \t]*\[/ { sec = $0; gsub(/[][ \t]/, "", sec); next }
	sec == "bootflow" && /^[ \t]*type[ \t]*=/ { sub(/^[^=]*=[ \t]*/, ""); sub(/[ \t;#].*$/, ""); print; exit }
' "$conf")
[ -z "$have" ] && exit 0
[ "$have" = "$want" ] && exit 0
echo "otaroot: $conf has [bootflow] type = $have, but the package is configured for '$want' (BR2_PACKAGE_OTAROOT_BOOTFLOW_*)" >&2
exit 1

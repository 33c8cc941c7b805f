#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# fetch-qemu.sh CACHEDIR
#
# The arm64 VM's QEMU: Debian's qemu-system-arm from bookworm-backports
# (QEMU 10), unpacked into CACHEDIR, never installed. Debian 12's own QEMU
# (7.2+dfsg-7+deb12u*) carries "hw/pflash: implement update buffer for block
# writes" without its later fix (QEMU issue 2343): a buffered write whose
# set-up command lies outside the data's write block is dropped, and U-Boot's
# CFI driver sends exactly that, so U-Boot's saveenv cannot write the virt
# machine's NOR flash and cannot count trial boots in native env mode
# (docs/boot-flows.md). Backports' QEMU writes it as NOR flash does.
#
# The packages come from apt with a private state in CACHEDIR/apt
# (tools/foreign-apt.sh) whose dpkg status is a copy of the host's, so apt
# resolves exactly the packages the host lacks (on Debian 12 with tools/deps.sh
# run: qemu-system-arm, -common and -data) and the host's dpkg is not touched.
# The host keeps its own QEMU for everything else.
#
# Results:
#   CACHEDIR/root/                  the unpacked packages
#   CACHEDIR/qemu-system-aarch64    runs that QEMU (its libraries, its data)
#   CACHEDIR/qemu.stamp             cache key: versions, recipe hash
# Needs root (apt-get download).
set -euo pipefail

# The oldest QEMU this is tested with; Debian 12's 7.2 has the bug above.
MIN_MAJOR=10
PACKAGES=(qemu-system-arm qemu-system-common qemu-system-data)
RELEASE=bookworm-backports

die() { echo "fetch-qemu: error: $*" >&2; exit 1; }
log() { echo "fetch-qemu: $*" >&2; }

if [ $# -ne 1 ] || [ -z "$1" ]; then die "usage: $0 CACHEDIR"; fi
mkdir -p "$1"
CACHEDIR=$(cd "$1" && pwd)
exec 9>"$CACHEDIR/.lock"
flock 9

HERE=$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")
. "$HERE/../../tools/foreign-apt.sh"

# The host's status, refreshed each run: what apt must add is what the host
# lacks now.
APTDIR=$CACHEDIR/apt
mkdir -p "$APTDIR"
cp /var/lib/dpkg/status "$APTDIR/status"
arch=$(dpkg --print-architecture)
foreign_apt_setup "$arch" "$APTDIR" || die "apt-cache policy libc6 names no archive to take packages from"
# The backports suite of the archive that serves the host's libc6.
mirror=$(awk '$4 == "bookworm" { print $3; exit }' "$APTDIR/etc/sources.list")
[ -n "$mirror" ] || die "the host's apt has no bookworm archive (needs Debian 12): $APTDIR/etc/sources.list"
echo "deb [arch=$arch] $mirror $RELEASE main" >>"$APTDIR/etc/sources.list"

log "running apt-get update (private index in $APTDIR)"
foreign_apt_update || die "apt-get update failed 3 times (private index in $APTDIR)"

wanted=()
for p in "${PACKAGES[@]}"; do wanted+=("$p/$RELEASE"); done
# What installing backports' QEMU on this host would add: "Inst PKG [old] (new ...".
mapfile -t install < <(apt-get "${FOREIGN_APT_OPTS[@]}" -s install "${wanted[@]}" 2>&1 |
	awk '$1 == "Inst" { v = $3 ~ /^\[/ ? $4 : $3; sub(/^\(/, "", v); print $2 "=" v }')
[ "${#install[@]}" -gt 0 ] || die "apt cannot install ${wanted[*]} from $RELEASE (apt-get -s install with $APTDIR)"

RECIPE=$(sha256sum "${BASH_SOURCE[0]}" | cut -c1-16)
stamp="$RECIPE ${install[*]}"
if [ -x "$CACHEDIR/qemu-system-aarch64" ] && [ "$(cat "$CACHEDIR/qemu.stamp" 2>/dev/null)" = "$stamp" ]; then
	log "cached: ${install[*]}"
	exit 0
fi

log "downloading ${install[*]}"
rm -f "$CACHEDIR/qemu-system-aarch64" "$CACHEDIR/qemu.stamp"
foreign_apt_unpack "$CACHEDIR" "${install[@]}" || die "could not fetch ${install[*]}"

bin=$CACHEDIR/root/usr/bin/qemu-system-aarch64
[ -x "$bin" ] || die "$bin is not in ${install[*]}"
libdirs=$(find "$CACHEDIR/root" -name 'lib*.so*' -printf '%h\n' 2>/dev/null | sort -u | paste -sd: -)
missing=$(LD_LIBRARY_PATH=$libdirs ldd "$bin" | awk '/not found/ { print $1 }' | paste -sd' ' -)
[ -z "$missing" ] || die "$bin needs libraries this host lacks: $missing"

# QEMU finds its firmware and option ROMs with -L; its modules (display,
# audio, ...) are not needed by a -nographic virt machine, and the host's
# are another build's, which QEMU refuses anyway.
# Libraries the packages brought (none where the host has them all) come first.
env=
[ -z "$libdirs" ] || env="LD_LIBRARY_PATH=$libdirs\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH} "
cat >"$CACHEDIR/qemu-system-aarch64" <<EOF
#!/bin/sh
# From tests/vm/fetch-qemu.sh: ${install[*]}
${env}exec "$bin" -L "$CACHEDIR/root/usr/share/qemu" "\$@"
EOF
chmod +x "$CACHEDIR/qemu-system-aarch64"
version=$("$CACHEDIR/qemu-system-aarch64" --version | awk 'NR == 1 { print $4 }')
[ "${version%%.*}" -ge "$MIN_MAJOR" ] 2>/dev/null ||
	die "$RELEASE's QEMU is $version; the U-Boot native-env tests need $MIN_MAJOR or newer (see this script's head)"
echo "$stamp" >"$CACHEDIR/qemu.stamp"
log "QEMU $version in $CACHEDIR"

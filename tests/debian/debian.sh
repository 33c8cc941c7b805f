#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# tests/debian/debian.sh SRCDIR BUILDDIR
#
# Builds the Debian packages from this tree (dpkg-buildpackage -us -uc -b),
# runs lintian on them, and installs, removes and purges them in a
# debootstrapped Debian 12 chroot (minbase + systemd), checking which files
# appear and that purge leaves the chroot as it was. Needs root (chroot).
#
# Cached under BUILDDIR/debian/: the chroot tarball (debootstrap needs the
# network the first time) and the static util-linux libraries the build
# shares with BUILDDIR (OTA_UTIL_LINUX_STATIC_DIR).
#
# Environment: OTA_DEBIAN_MIRROR (default http://deb.debian.org/debian),
# OTA_DEBIAN_KEEP=1 keeps the work directory.
set -euo pipefail
. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../../tools/need.sh"
need dpkg-buildpackage dh lintian debootstrap

SRC=$(cd "$1" && pwd -P)
BUILD=$(cd "$2" && pwd -P)
CACHE=$BUILD/debian
MIRROR=${OTA_DEBIAN_MIRROR:-http://deb.debian.org/debian}
mkdir -p "$CACHE"

say() { printf 'debian: %s\n' "$*"; }
fail() { printf 'debian: FAIL: %s\n' "$*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || { echo "debian: needs root (chroot); skipped"; exit 77; }

WORK=$(mktemp -d "$CACHE/work.XXXXXX")
ROOT=$WORK/root
cleanup() {
	for m in proc dev/pts dev; do
		mountpoint -q "$ROOT/$m" 2>/dev/null && umount -l "$ROOT/$m"
	done
	if [ "${OTA_DEBIAN_KEEP:-0}" = 1 ]; then say "kept $WORK"; else rm -rf -- "$WORK"; fi
}
trap cleanup EXIT
# lintian leaves its MLDBM caches (/tmp/mldbm-elf-*) behind; every tool this
# script runs gets a private TMPDIR inside WORK, which cleanup removes.
export TMPDIR=$WORK/tmp
mkdir -p "$TMPDIR"

# --- 1. build ------------------------------------------------------------------
# dpkg-buildpackage writes its results next to the source tree, so it builds
# a copy (without build directories or .git).
VERSION=$(dpkg-parsechangelog -l "$SRC/debian/changelog" -S Version)
TREE=$WORK/src/otaroot-$VERSION
mkdir -p "$TREE"
tar -C "$SRC" --exclude=./build --exclude='./build-*' --exclude=./.git --exclude='./obj-*' \
	--exclude=./debian/.util-linux-static -cf - . | tar -C "$TREE" -xf -
UL=$BUILD/third_party/util-linux
say "dpkg-buildpackage -us -uc -b (static util-linux from $UL)"
t0=$SECONDS
if ! (cd "$TREE" && OTA_UTIL_LINUX_STATIC_DIR=$UL dpkg-buildpackage -us -uc -b >"$WORK/build.log" 2>&1); then
	tail -n 60 "$WORK/build.log" >&2
	fail "dpkg-buildpackage failed (log: $WORK/build.log)"
fi
say "built in $((SECONDS - t0))s: $(cd "$WORK/src" && echo *.deb)"
CHANGES=$(echo "$WORK"/src/otaroot_"${VERSION}"_*.changes)
DEB_MAIN=$(echo "$WORK"/src/otaroot_"${VERSION}"_*.deb)
DEB_BUNDLER=$(echo "$WORK"/src/otaroot-bundler_"${VERSION}"_*.deb)
[ -f "$CHANGES" ] && [ -f "$DEB_MAIN" ] && [ -f "$DEB_BUNDLER" ] || fail "missing build results in $WORK/src"

# Contents.
contents() { dpkg-deb -c "$1" | awk '{ print $6 }' | sed 's|^\./|/|'; }
for f in /sbin/ota-init /usr/bin/ota-state /usr/bin/ota-update /usr/sbin/ota-part \
	/lib/systemd/system/ota-commit.service /lib/systemd/system/ota-update.timer \
	/lib/systemd/system/ota-update-check.service /usr/libexec/otaroot/ota-commit \
	/lib/systemd/system/systemd-machine-id-commit.service.d/otaroot.conf \
	/lib/systemd/system/ota-update-reboot.timer /usr/libexec/otaroot/ota-trial-armed \
	/usr/lib/ota/state.d/10-systemd.conf /etc/default/otaroot /usr/share/doc/otaroot/debian.md.gz \
	/usr/share/man/man8/ota-init.8.gz /usr/share/man/man8/ota-update.8.gz /usr/share/man/man8/ota-state.8.gz \
	/usr/share/man/man8/ota-part.8.gz /usr/share/man/man5/system.conf.5.gz /usr/share/man/man5/state.conf.5.gz \
	/usr/share/man/man5/layout.conf.5.gz /usr/share/bash-completion/completions/ota-update; do
	contents "$DEB_MAIN" | grep -qx "$f" || fail "otaroot lacks $f"
done
for f in /usr/bin/ota-bundle /usr/bin/ota-grubenv /usr/share/man/man1/ota-bundle.1.gz \
	/usr/share/man/man8/ota-grubenv.8.gz /usr/share/bash-completion/completions/ota-bundle \
	/usr/bin/ota-image /usr/share/man/man1/ota-image.1.gz /usr/share/otaroot/grub/grub.cfg \
	/usr/share/otaroot/grub/flow.cfg /usr/share/bash-completion/completions/ota-image; do
	contents "$DEB_BUNDLER" | grep -qx "$f" || fail "otaroot-bundler lacks $f"
done
# The mmdebstrap hook directory (docs/debian.md): mmdebstrap --hook-dir runs
# only executable customize* files.
for f in customize50-otaroot files/ssh-host-keys; do
	dpkg-deb -c "$DEB_BUNDLER" | awk -v f="./usr/share/otaroot/mmdebstrap/$f" '$6 == f { print $1 }' |
		grep -qx -- '-rwxr-xr-x' || fail "otaroot-bundler lacks the executable /usr/share/otaroot/mmdebstrap/$f"
done
for f in state.conf 50-ssh.conf sshd-host-keys.conf ssh-host-keys.service; do
	contents "$DEB_BUNDLER" | grep -qx "/usr/share/otaroot/mmdebstrap/files/$f" ||
		fail "otaroot-bundler lacks /usr/share/otaroot/mmdebstrap/files/$f"
done
dpkg-deb -I "$DEB_MAIN" conffiles | grep -qx /etc/default/otaroot || fail "/etc/default/otaroot is not a conffile"
dpkg-deb -f "$DEB_MAIN" Built-Using | grep -q 'util-linux (= ' || fail "no Built-Using: util-linux"
dpkg-deb -x "$DEB_MAIN" "$WORK/x"
if readelf -lW "$WORK/x/sbin/ota-init" | grep -q INTERP; then fail "ota-init is not static"; fi
# Kept for the Debian VM test (tests/vm/mkdebian.sh).
rm -rf "$CACHE/debs"
mkdir -p "$CACHE/debs"
cp "$DEB_MAIN" "$DEB_BUNDLER" "$CACHE/debs/"
say "package contents ok; Built-Using: $(dpkg-deb -f "$DEB_MAIN" Built-Using)"

# --- 2. lintian -------------------------------------------------------------------
say "lintian --fail-on error,warning"
if ! lintian --fail-on error,warning --info "$CHANGES" >"$WORK/lintian.log" 2>&1; then
	cat "$WORK/lintian.log" >&2
	fail "lintian"
fi
grep -v '^N:' "$WORK/lintian.log" || true
say "lintian clean (overrides: $(cat "$SRC"/debian/*.lintian-overrides | grep -vc '^#\|^$'))"

# --- 3. chroot ---------------------------------------------------------------------
# The packages' run-time dependencies come from the chroot tarball (no network
# needed by dpkg -i); the tarball is rebuilt when that list changes.
deps() { dpkg-deb -f "$1" Depends | tr ',' '\n' | sed 's/[(|].*//; s/ //g' | grep -v '^$'; }
INCLUDE=$( (deps "$DEB_MAIN"; deps "$DEB_BUNDLER"; echo systemd) | sort -u | paste -sd, -)
KEY=$(printf '%s %s\n' "$MIRROR" "$INCLUDE" | sha256sum | cut -c1-12)
TARBALL=$CACHE/bookworm-minbase-$KEY.tar
if [ ! -f "$TARBALL" ]; then
	say "debootstrap --variant=minbase --include=$INCLUDE bookworm (cached as $TARBALL)"
	t0=$SECONDS
	debootstrap --variant=minbase --include="$INCLUDE" bookworm "$WORK/boot" "$MIRROR" >"$WORK/debootstrap.log" 2>&1 ||
		{ tail -n 30 "$WORK/debootstrap.log" >&2; fail "debootstrap"; }
	rm -f "$CACHE"/bookworm-minbase-*.tar
	tar -C "$WORK/boot" -cf "$TARBALL.tmp" . && mv "$TARBALL.tmp" "$TARBALL"
	rm -rf -- "$WORK/boot"
	say "debootstrap took $((SECONDS - t0))s"
fi
mkdir -p "$ROOT"
tar -C "$ROOT" -xf "$TARBALL"
mount -t proc proc "$ROOT/proc"
cp "$DEB_MAIN" "$DEB_BUNDLER" "$ROOT/tmp/"
in_root() { chroot "$ROOT" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 "$@"; }

# A listing of everything that dpkg does not itself keep: what purge must
# restore (/run: tmpfs on a real system; systemd-analyze below writes there).
snapshot() {
	(cd "$ROOT" && find . -xdev \( -path ./proc -o -path ./tmp -o -path ./run -o -path ./var/lib/dpkg -o -path ./var/log \
		-o -path ./var/cache \) -prune -o -printf '%p %y %m %l\n' | LC_ALL=C sort)
}
snapshot >"$WORK/before"

say "dpkg -i otaroot otaroot-bundler"
in_root dpkg -i "/tmp/$(basename "$DEB_MAIN")" "/tmp/$(basename "$DEB_BUNDLER")" >"$WORK/dpkg-i.log" 2>&1 ||
	{ cat "$WORK/dpkg-i.log" >&2; fail "dpkg -i"; }
for f in /sbin/ota-init /usr/bin/ota-update /usr/bin/ota-state /usr/sbin/ota-part /usr/bin/ota-bundle \
	/usr/bin/ota-grubenv /etc/default/otaroot /usr/lib/ota/state.d/10-systemd.conf \
	/lib/systemd/system/ota-commit.service; do
	[ -e "$ROOT$f" ] || fail "$f missing after dpkg -i"
done
# Enabled by the maintainer scripts, not started.
[ -L "$ROOT/etc/systemd/system/multi-user.target.wants/ota-commit.service" ] || fail "ota-commit.service not enabled"
[ -L "$ROOT/etc/systemd/system/timers.target.wants/ota-update.timer" ] || fail "ota-update.timer not enabled"
[ ! -e "$ROOT/etc/systemd/system/timers.target.wants/ota-update-reboot.timer" ] || fail "ota-update-reboot.timer enabled"
# The dynamic tools find their libraries; the units parse.
# runs NAME ARGS...: the program starts (its libraries resolve) and prints its usage.
runs() {
	local out rc=0
	out=$(in_root "$@" 2>&1) || rc=$?
	[ "$rc" -le 2 ] && grep -qi usage <<<"$out" || fail "$1 does not run (exit $rc): $out"
}
runs ota-update --help
in_root ota-update --help | grep -q 'check' || fail "ota-update lacks check"
runs ota-bundle --help
runs ota-state --help
runs ota-part --help
runs ota-grubenv
out=$(unshare --mount --propagation private chroot "$ROOT" /sbin/ota-init 2>&1) && fail "ota-init ran outside PID 1"
echo "$out" | grep -q 'must run as PID 1' || fail "ota-init: $out"
in_root systemd-analyze verify --man=no /lib/systemd/system/ota-commit.service \
	/lib/systemd/system/ota-update-check.service /lib/systemd/system/ota-update.timer \
	/lib/systemd/system/ota-update-reboot.service /lib/systemd/system/ota-update-reboot.timer >"$WORK/verify.log" 2>&1 ||
	{ cat "$WORK/verify.log" >&2; fail "systemd-analyze verify"; }
grep -i 'ota-' "$WORK/verify.log" && fail "systemd-analyze verify complains about our units"
say "installed: files in place, units enabled and valid, binaries run"

say "dpkg -r (conffiles stay)"
in_root dpkg -r otaroot otaroot-bundler >"$WORK/dpkg-r.log" 2>&1 || { cat "$WORK/dpkg-r.log" >&2; fail "dpkg -r"; }
for f in /sbin/ota-init /usr/bin/ota-update /usr/bin/ota-bundle /lib/systemd/system/ota-commit.service \
	/usr/lib/ota/state.d/10-systemd.conf; do
	[ ! -e "$ROOT$f" ] || fail "$f still there after dpkg -r"
done
[ -f "$ROOT/etc/default/otaroot" ] || fail "dpkg -r removed the conffile"
in_root dpkg-query -W -f='${Status}\n' otaroot | grep -q 'config-files' || fail "otaroot not in config-files state"

say "dpkg --purge"
in_root dpkg --purge otaroot otaroot-bundler >"$WORK/dpkg-purge.log" 2>&1 || { cat "$WORK/dpkg-purge.log" >&2; fail "dpkg --purge"; }
[ ! -e "$ROOT/etc/default/otaroot" ] || fail "purge left /etc/default/otaroot"
snapshot >"$WORK/after"
if ! diff -u "$WORK/before" "$WORK/after" >"$WORK/diff"; then
	cat "$WORK/diff" >&2
	fail "purge did not restore the chroot"
fi
say "purged: the chroot is as before the install"
say "ok"

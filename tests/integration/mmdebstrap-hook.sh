#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# mmdebstrap-hook.sh SRC BUILD OTA_IMAGE OTA_STATE: otaroot's mmdebstrap hook
# (docs/debian.md, "Debian in two commands") without mmdebstrap, a mirror or
# a VM. The hook directory is the one `cmake --install` makes; it runs on
# small roots with a stand-in `chroot` first in PATH that plays dpkg-query
# and apt-get over a repository of tiny .debs (made with dpkg-deb and
# unpacked with dpkg-deb -x: the otaroot one holds the real ota-init), and
# logs every command run in the root. Checked:
#   - a root with openssh-server: otaroot from OTAROOT_DEBS (a directory),
#     then systemd-sysv, linux-image-amd64 and initramfs-tools in one
#     transaction, no recommends; the state defaults parsed by ota-state
#     (--root); no SSH host keys, the host key unit enabled; an empty
#     machine-id; and `ota-image build` accepts the root (the second command);
#   - a root with its own state.conf and no sshd, arm64, OTAROOT_KERNEL=none,
#     otaroot installed already: its files kept, nothing of SSH, no kernel;
#   - errors: OTAROOT_DEBS naming nothing, no otaroot anywhere: exit 1 naming
#     what to set.
set -uo pipefail
usage="usage: mmdebstrap-hook.sh SRC BUILD OTA_IMAGE OTA_STATE"
SRC=$(realpath "${1:?$usage}") BUILD=$(realpath "${2:?$usage}")
IMG=$(realpath "${3:?$usage}") STATE=$(realpath "${4:?$usage}")
. "$SRC/tests/lib/tally.sh"
. "$SRC/tools/need.sh"
need grub-mkimage /usr/lib/grub/x86_64-efi mke2fs
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
cd "$W"

# The hook directory as installed.
DESTDIR=$W/inst cmake --install "$BUILD" --prefix /usr >install.log 2>&1 || { cat install.log; exit 1; }
HOOKS=$W/inst/usr/share/otaroot/mmdebstrap
hooks=$(cd "$HOOKS" && ls -d customize* setup* extract* essential* 2>/dev/null | tr '\n' ' ')
if [ "$hooks" = "customize50-otaroot " ] && [ -x "$HOOKS/customize50-otaroot" ]; then
	ok "installed hook directory: one executable customize hook"
else
	bad "installed hook directory: one executable customize hook" "found '$hooks' in $HOOKS"
fi
ota_init=$W/inst/usr/sbin/ota-init
[ -x "$ota_init" ] || { echo "no ota-init installed as $ota_init"; exit 1; }

# mkdeb NAME VERSION ARCH [PATH=CONTENT|PATH->TARGET|PATH<FILE]...: a .deb into repo/
mkdeb() {
	local name=$1 version=$2 arch=$3 d=$W/debsrc/$1
	shift 3
	rm -rf "$d" && mkdir -p "$d/DEBIAN" repo
	printf 'Package: %s\nVersion: %s\nArchitecture: %s\nMaintainer: t <t@t>\nDescription: stand-in\n' \
		"$name" "$version" "$arch" >"$d/DEBIAN/control"
	for spec; do
		case $spec in
		*'->'*) mkdir -p "$(dirname "$d/${spec%%->*}")" && ln -s "${spec#*->}" "$d/${spec%%->*}" ;;
		*'<'*) install -D -m 0755 "${spec#*<}" "$d/${spec%%<*}" ;;
		*) mkdir -p "$(dirname "$d/${spec%%=*}")" && printf '%s\n' "${spec#*=}" >"$d/${spec%%=*}" ;;
		esac
	done
	dpkg-deb --root-owner-group -b "$d" "repo/${name}_${version}_${arch}.deb" >/dev/null
}
mkdeb otaroot 9.9 amd64 "sbin/ota-init<$ota_init" \
	"usr/lib/ota/state.d/10-systemd.conf<$SRC/systemd/10-systemd.conf"
mkdir -p otaroot-debs && mv repo/otaroot_9.9_amd64.deb otaroot-debs/
head -c 300000 /dev/urandom >kernel.bin
mkdeb linux-image-amd64 6.1 amd64 "boot/vmlinuz-6.1.0-99-amd64<$W/kernel.bin"
mkdeb linux-image-arm64 6.1 arm64 "boot/vmlinuz-6.1.0-99-arm64<$W/kernel.bin"
mkdeb initramfs-tools 0.142 all "usr/sbin/update-initramfs=#!/bin/sh"
mkdeb systemd-sysv 252 amd64 "lib/systemd/systemd=#!/bin/sh" "sbin/init->/lib/systemd/systemd"

# The stand-in chroot: `chroot ROOT CMD...`, logged to ROOT.log.
mkdir -p bin
cat >bin/chroot <<'FAKE'
#!/bin/bash
set -u
root=$1; shift
echo "$*" >>"$root.log"
[ "$1" = env ] && { shift; while [[ $1 == *=* ]]; do shift; done; }
status=$root/var/lib/fake-status
case $1 in
dpkg) [ "$2" = --print-architecture ] && { echo "${FAKE_ARCH:?}"; exit 0; } ;;
dpkg-query) grep -qx "${!#}" "$status" 2>/dev/null && { echo installed; exit 0; }
	echo "dpkg-query: no packages found matching ${!#}" >&2; exit 1 ;;
systemctl) [ "$2" = enable ] && [ -f "$root/etc/systemd/system/$3" ] && exit 0
	echo "Failed to enable unit: Unit file $3 does not exist." >&2; exit 1 ;;
apt-get)
	for a in "$@"; do
		case $a in
		apt-get | install | -y | --no-install-recommends) continue ;;
		/*) deb=$root$a ;;
		*) deb=$(ls "$FAKE_REPO/${a}"_*.deb 2>/dev/null | head -n1)
			[ -n "$deb" ] || { echo "E: Unable to locate package $a" >&2; exit 100; } ;;
		esac
		dpkg-deb -x "$deb" "$root" && dpkg-deb -f "$deb" Package >>"$status" || exit 100
	done
	exit 0 ;;
esac
echo "stand-in chroot: unexpected command: $*" >&2
exit 1
FAKE
chmod +x bin/chroot
export PATH=$W/bin:$PATH FAKE_REPO=$W/repo

# mkroot DIR: a Debian-like root before the hook (mmdebstrap's customize stage).
mkroot() {
	mkdir -p "$1"/{etc/ssh,tmp,usr/sbin,var/lib/dpkg,var/lib/dbus}
	echo 0123456789abcdef0123456789abcdef >"$1/etc/machine-id"
	cp "$1/etc/machine-id" "$1/var/lib/dbus/machine-id"
	echo builder >"$1/etc/hostname"
	: >"$1/var/lib/fake-status"
}
hook() { "$HOOKS/customize50-otaroot" "$@" >hook.out 2>&1; }
# logged ROOT LINE: the stand-in chroot ran exactly LINE in ROOT
logged() { grep -qxF "$2" "$1.log"; }
check() {
	local name=$1
	shift
	if "$@" >check.out 2>&1; then ok "$name"; else bad "$name" "$(head -c 600 check.out)"; fi
}

# ---- a root with openssh-server, otaroot from a directory -----------------
mkroot r1
echo sshd >r1/usr/sbin/sshd
for k in ed25519 ecdsa; do echo key >"r1/etc/ssh/ssh_host_${k}_key" && echo pub >"r1/etc/ssh/ssh_host_${k}_key.pub"; done
if OTAROOT_DEBS=$W/otaroot-debs FAKE_ARCH=amd64 hook r1; then ok "hook on a root with sshd"; else bad "hook on a root with sshd" "$(cat hook.out)"; fi
check "otaroot installed from OTAROOT_DEBS (copied into the root)" \
	logged r1 "env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends /tmp/otaroot-debs/otaroot_9.9_amd64.deb"
check "init, kernel of the root's architecture (its dpkg --print-architecture), initramfs in one transaction" \
	logged r1 "env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends systemd-sysv linux-image-amd64 initramfs-tools"
check "the copied .deb is gone from the root" test ! -e r1/tmp/otaroot-debs
check "the root's /sbin/ota-init is the package's" cmp "$ota_init" r1/sbin/ota-init
persisted=$("$STATE" --root r1 list 2>&1)
for p in /etc/hostname /etc/ssh/host-keys /var/log/journal; do
	if awk '{print $1}' <<<"$persisted" | grep -qx "$p"; then ok "state defaults persist $p (ota-state --root list)"; else bad "state defaults persist $p (ota-state --root list)" "$persisted"; fi
done
check "overlay discarded at boot" grep -qx 'mode = discard' r1/etc/ota/state.conf
check "no SSH host keys in the root" bash -c '! ls r1/etc/ssh/ssh_host_* 2>/dev/null'
check "sshd reads the persisted host keys" grep -qx 'HostKey /etc/ssh/host-keys/ssh_host_ed25519_key' r1/etc/ssh/sshd_config.d/host-keys.conf
check "ssh-host-keys.service enabled" logged r1 "systemctl enable ssh-host-keys.service"
check "ssh-host-keys is executable" test -x r1/usr/local/sbin/ssh-host-keys
check "its unit runs it" grep -qx 'ExecStart=/usr/local/sbin/ssh-host-keys /etc/ssh/host-keys' r1/etc/systemd/system/ssh-host-keys.service
check "empty /etc/machine-id" test -f r1/etc/machine-id -a ! -s r1/etc/machine-id
check "no /var/lib/dbus/machine-id" test ! -e r1/var/lib/dbus/machine-id

# The second command.
(. "$SRC/tests/lib/pki.sh" && pki_init && pki_root root) >pki.log 2>&1 || { cat pki.log; exit 1; }
printf '[image]\nslot-size = 64M\n[system]\ncompatible = test-hook\nversion = 1.0\n[update]\nkeyring = root.pem\n' >image.conf
if "$IMG" build image.conf --rootfs r1 -o out --data-dir "$SRC/bootflow" -q >build.out 2>&1 && [ -s out/disk.img ]; then
	ok "ota-image build accepts the hook's root"
else
	bad "ota-image build accepts the hook's root" "$(tail -c 800 build.out)"
fi

# ---- the root's own state.conf, no sshd, arm64, no kernel, otaroot present
mkroot r2
mkdir -p r2/etc/ota r2/sbin
printf '[overlay]\nmode = in-memory\n' >r2/etc/ota/state.conf
cp r2/etc/ota/state.conf own-state.conf
cp "$ota_init" r2/sbin/ota-init
echo otaroot >r2/var/lib/fake-status
if FAKE_ARCH=arm64 OTAROOT_KERNEL=none hook r2; then ok "hook on an arm64 root with otaroot, no sshd, OTAROOT_KERNEL=none"; else bad "hook on an arm64 root with otaroot, no sshd, OTAROOT_KERNEL=none" "$(cat hook.out)"; fi
check "otaroot not installed again" bash -c "! grep -q 'apt-get.*otaroot' r2.log"
check "only systemd-sysv, no kernel" logged r2 "env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends systemd-sysv"
check "the root's state.conf kept" cmp own-state.conf r2/etc/ota/state.conf
check "nothing of SSH without sshd" bash -c '! ls r2/etc/ota/state.d/50-ssh.conf r2/etc/systemd/system/ssh-host-keys.service 2>/dev/null && ! grep -q systemctl r2.log'
mkroot r3
if FAKE_ARCH=arm64 OTAROOT_DEBS=$W/otaroot-debs/otaroot_9.9_amd64.deb hook r3; then ok "hook with OTAROOT_DEBS naming a file, arm64 from dpkg"; else bad "hook with OTAROOT_DEBS naming a file, arm64 from dpkg" "$(cat hook.out)"; fi
check "the kernel of dpkg --print-architecture (arm64)" \
	logged r3 "env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends systemd-sysv linux-image-arm64 initramfs-tools"

# ---- errors --------------------------------------------------------------
mkroot r4
export FAKE_ARCH=amd64
# err NAME WANT: the hook failed, saying WANT, and installed nothing
err() {
	if [ "$rc" != 0 ] && grep -qF "$2" hook.out && ! grep -q 'apt-get install.* systemd-sysv' r4.log 2>/dev/null; then
		ok "$1"
	else
		bad "$1" "exit $rc: $(cat hook.out)"
	fi
}
OTAROOT_DEBS=$W/no-such.deb hook r4 && rc=0 || rc=$?
err "OTAROOT_DEBS naming nothing: exit 1" "OTAROOT_DEBS: $W/no-such.deb does not exist"
OTAROOT_DEBS=$W/repo hook r4 && rc=0 || rc=$?
err "OTAROOT_DEBS a directory without otaroot: exit 1" "no otaroot_*.deb in the directory $W/repo"
hook r4 && rc=0 || rc=$?
err "no otaroot anywhere: exit 1 naming OTAROOT_DEBS" "set OTAROOT_DEBS to the otaroot .deb"
tally_end

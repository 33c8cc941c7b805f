#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# fetch-kernel.sh [--arch amd64|arm64] CACHEDIR
#
# Fetch Debian's current kernel for ARCH (default amd64; the package the
# metapackage linux-image-ARCH depends on) and build a tiny initramfs for the
# VM tests.
#
# amd64 comes from the host's apt (its index, its download). Any other
# architecture comes from apt with a private state in CACHEDIR/apt
# (tools/foreign-apt.sh, as tools/make-sysroot.sh does: the host's dpkg is
# not touched), and so does that architecture's static busybox (Debian's
# busybox-static), which the initramfs needs and which is published as
# CACHEDIR/busybox for the test image (tests/vm/mkimage.sh --arch).
#
# Debian's kernel has its storage/filesystem drivers as modules, but our PID-1
# shim (ota-init, started with init=/sbin/ota-init) must find the environment a
# kernel with built-in drivers gives to init= without an initramfs:
#   - root= mounted at / (read-only with "ro", the default),
#   - /dev, /proc and /sys NOT mounted,
#   - fds 0/1/2 open on the console, PID 1.
# The initramfs built here only loads the needed modules, mounts root= and
# switch_roots to init=, unmounting its own /proc, /sys and /dev first.
#
# Results (everything else is deleted again to keep disk use low):
#   CACHEDIR/vmlinuz            the kernel image
#   CACHEDIR/initramfs.cpio.gz  the initramfs
#   CACHEDIR/kernel.version     uname -r of the kernel, e.g. 6.1.0-56-amd64
#   CACHEDIR/modules.list       modules in the initramfs, in load order
#   CACHEDIR/kernel.config      the kernel's config (for reference)
#   CACHEDIR/kernel.stamp       cache key: package, version, recipe hash
#   CACHEDIR/busybox            (not amd64) the static busybox of ARCH
#   CACHEDIR/grub/arm64-efi     (arm64) GRUB's arm64-efi modules (Debian's
#                               grub-efi-arm64-bin, an arm64-only package the
#                               host cannot install), for tools/mkesp-grub.sh
#
# Kernel command line understood by the initramfs /init:
#   root=/dev/NAME | PARTLABEL=NAME | PARTUUID=UUID | UUID=UUID | LABEL=LABEL | MAJ:MIN
#     PARTUUID= works for GPT and MBR ("SSSSSSSS-PP") disks; the kernel's
#     PARTUUID=.../PARTNROFF=N form is not supported.
#   rootfstype=T[,T...] (default: ext4, then auto-detection)   rootflags=OPTS
#   ro | rw (default ro)   init=PATH (default: /sbin/init, /etc/init, /bin/init, /bin/sh)
#   rootwait (accepted; the wait has a deadline anyway)   rootwait=SECONDS (deadline,
#     default 15 s; on timeout the VM powers off with an "initramfs: FATAL: ..." line)
#   quiet (no "initramfs:" progress line)   initramfs.debug (verbose module loading)
#
# Needs root (apt-get download). The host tools it uses come from
# tools/deps.sh; a missing one stops it with the package to install.
set -euo pipefail

ROOT_WAIT_DEFAULT=15

die() { echo "fetch-kernel: error: $*" >&2; exit 1; }
log() { echo "fetch-kernel: $*" >&2; }

ARCH=amd64
if [ "${1:-}" = --arch ]; then
	ARCH=${2:-}
	shift 2 || die "usage: $0 [--arch amd64|arm64] CACHEDIR"
fi
case $ARCH in amd64 | arm64) ;; *) die "unknown architecture '$ARCH' (amd64 or arm64)" ;; esac
META_PKG=linux-image-$ARCH
if [ $# -ne 1 ] || [ -z "$1" ]; then die "usage: $0 [--arch amd64|arm64] CACHEDIR"; fi
mkdir -p "$1"
CACHEDIR=$(cd "$1" && pwd)

# Serialize concurrent runs on the same cache directory.
exec 9>"$CACHEDIR/.lock"
flock 9

# Anything that changes what gets built must invalidate the cache: hash this script.
RECIPE=$(sha256sum "${BASH_SOURCE[0]}" | cut -c1-16)

# APT_OPTS: the host's apt for amd64, a private one for another architecture.
APT_OPTS=()
if [ "$ARCH" != amd64 ]; then
	. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../../tools/foreign-apt.sh"
	foreign_apt_setup "$ARCH" "$CACHEDIR/apt" || die "apt-cache policy libc6 names no archive to take $ARCH packages from"
	APT_OPTS=("${FOREIGN_APT_OPTS[@]}")
fi
apt_updated=
apt_update() {
	[ -z "$apt_updated" ] || return 0
	log "running apt-get update${APT_OPTS:+ (private $ARCH index in $CACHEDIR/apt)}"
	apt-get "${APT_OPTS[@]}" update -q >&2 || return 1
	apt_updated=1
}

# Tool dependencies. busybox must be the *static* one: it runs in the initramfs
# without any libc.
. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../../tools/need.sh"
need depmod cpio gzip hexdump readelf
if [ "$ARCH" = amd64 ]; then
	need /bin/busybox
	BUSYBOX=/bin/busybox
	if ldd "$BUSYBOX" >/dev/null 2>&1; then
		die "$BUSYBOX is dynamically linked; need the one from busybox-static"
	fi
fi

# ---------------------------------------------------------------- cache check
result_files=(vmlinuz initramfs.cpio.gz kernel.version modules.list kernel.stamp)
[ "$ARCH" = amd64 ] || result_files+=(busybox)
[ "$ARCH" != arm64 ] || result_files+=(grub/arm64-efi/moddep.lst)
have_result() {
	local f
	for f in "${result_files[@]}"; do [ -s "$CACHEDIR/$f" ] || return 1; done
}

# resolve_kernel: sets KPKG (concrete kernel package) and KPKG_VER (its candidate version).
resolve_kernel() {
	KPKG=$(apt-cache "${APT_OPTS[@]}" depends "$META_PKG" 2>/dev/null |
		awk '$1 == "Depends:" && $2 ~ /^linux-image-[0-9]/ { print $2; exit }') || true
	KPKG_VER=
	[ -n "$KPKG" ] || return 1
	KPKG_VER=$(apt-cache "${APT_OPTS[@]}" policy "$KPKG" 2>/dev/null | awk '$1 == "Candidate:" { print $2; exit }') || true
	[ -n "$KPKG_VER" ] && [ "$KPKG_VER" != "(none)" ]
}

if ! resolve_kernel; then
	if ! apt_update || ! resolve_kernel; then
		if have_result; then
			log "WARNING: cannot resolve $META_PKG (no apt lists / mirror unreachable);" \
				"using cached $(cat "$CACHEDIR/kernel.stamp")"
			exit 0
		fi
		die "cannot find the kernel package $META_PKG depends on"
	fi
fi

# The busybox of another architecture is part of the result: its version too.
BB_VER=
resolve_busybox() {
	[ "$ARCH" != amd64 ] || return 0
	BB_VER=$(apt-cache "${APT_OPTS[@]}" policy busybox-static 2>/dev/null | awk '$1 == "Candidate:" { print $2; exit }') || true
	[ -n "$BB_VER" ] && [ "$BB_VER" != "(none)" ] || die "no busybox-static in the $ARCH index"
	[ "$ARCH" = arm64 ] || return 0
	GRUB_VER=$(apt-cache "${APT_OPTS[@]}" policy grub-efi-arm64-bin 2>/dev/null | awk '$1 == "Candidate:" { print $2; exit }') || true
	[ -n "$GRUB_VER" ] && [ "$GRUB_VER" != "(none)" ] || die "no grub-efi-arm64-bin in the $ARCH index"
}
GRUB_VER=
resolve_busybox
stamp() { echo "package=$KPKG version=$KPKG_VER${BB_VER:+ busybox-static=$BB_VER}${GRUB_VER:+ grub-efi-arm64-bin=$GRUB_VER} recipe=$RECIPE"; }
if have_result && [ "$(cat "$CACHEDIR/kernel.stamp")" = "$(stamp)" ]; then
	log "cached: $(stamp) kernel $(cat "$CACHEDIR/kernel.version")"
	exit 0
fi

# ---------------------------------------------------------------- download
BUILD="$CACHEDIR/.build"
rm -rf "$BUILD"
mkdir -p "$BUILD/dl"
trap 'rm -rf "$BUILD"' EXIT

# apt downloads as the unprivileged _apt user ("sandbox"). When root downloads
# into a directory _apt cannot write, apt warns "Download is performed
# unsandboxed as root ...". Give the download dir to _apt; if _apt still cannot
# write there (e.g. a parent directory is not traversable), disable the sandbox
# explicitly instead of getting the warning.
apt_dl_opts=()
if [ "$(id -u)" -eq 0 ]; then
	if id _apt >/dev/null 2>&1 && chown _apt "$BUILD/dl" 2>/dev/null &&
		runuser -u _apt -- test -w "$BUILD/dl" 2>/dev/null; then
		:
	else
		apt_dl_opts=(-o APT::Sandbox::User=root)
	fi
fi

download() {
	(cd "$BUILD/dl" && apt-get "${APT_OPTS[@]}" download -q "${apt_dl_opts[@]}" "$KPKG=$KPKG_VER") >&2
}

log "downloading $KPKG=$KPKG_VER"
if ! download; then
	# Stale package lists (the version was superseded on the mirror): refresh once.
	[ -z "$apt_updated" ] || die "apt-get download $KPKG=$KPKG_VER failed"
	apt_update || die "apt-get update failed"
	resolve_kernel || die "cannot find the kernel package $META_PKG depends on"
	resolve_busybox
	if have_result && [ "$(cat "$CACHEDIR/kernel.stamp")" = "$(stamp)" ]; then
		log "cached: $(stamp)"
		exit 0
	fi
	log "downloading $KPKG=$KPKG_VER"
	download || die "apt-get download $KPKG=$KPKG_VER failed"
fi

debs=("$BUILD"/dl/*.deb)
if [ ${#debs[@]} -ne 1 ] || [ ! -f "${debs[0]}" ]; then die "expected exactly one .deb in $BUILD/dl"; fi
X="$BUILD/x"
dpkg-deb -x "${debs[0]}" "$X"
rm -f "${debs[0]}"

if [ "$ARCH" != amd64 ]; then
	log "downloading busybox-static=$BB_VER ($ARCH)"
	mkdir -p "$BUILD/bb"
	(cd "$BUILD/dl" && apt-get "${APT_OPTS[@]}" download -q "${apt_dl_opts[@]}" "busybox-static=$BB_VER") >&2 ||
		die "apt-get download busybox-static=$BB_VER ($ARCH) failed"
	dpkg-deb -x "$BUILD"/dl/busybox-static_*.deb "$BUILD/bb"
	BUSYBOX=$BUILD/bb/bin/busybox
	[ -f "$BUSYBOX" ] || die "no /bin/busybox in busybox-static ($ARCH)"
	! readelf -lW "$BUSYBOX" | grep -q INTERP || die "busybox-static ($ARCH) is dynamically linked"
fi
if [ "$ARCH" = arm64 ]; then
	log "downloading grub-efi-arm64-bin=$GRUB_VER"
	(cd "$BUILD/dl" && apt-get "${APT_OPTS[@]}" download -q "${apt_dl_opts[@]}" "grub-efi-arm64-bin=$GRUB_VER") >&2 ||
		die "apt-get download grub-efi-arm64-bin=$GRUB_VER failed"
	dpkg-deb -x "$BUILD"/dl/grub-efi-arm64-bin_*.deb "$BUILD/grub"
	[ -s "$BUILD/grub/usr/lib/grub/arm64-efi/moddep.lst" ] || die "no usr/lib/grub/arm64-efi in grub-efi-arm64-bin"
fi

# ---------------------------------------------------------------- kernel
KVERS=()
for d in "$X"/lib/modules/*/; do [ -d "$d" ] && KVERS+=("$(basename "$d")"); done
[ ${#KVERS[@]} -eq 1 ] || die "expected one /lib/modules/<version> in $KPKG, found: ${KVERS[*]:-none}"
KVER=${KVERS[0]}
MODDIR="$X/lib/modules/$KVER"
[ -f "$X/boot/vmlinuz-$KVER" ] || die "no /boot/vmlinuz-$KVER in $KPKG"
KCONFIG="$X/boot/config-$KVER"
[ -f "$KCONFIG" ] || die "no /boot/config-$KVER in $KPKG"

# ---------------------------------------------------------------- arm64: NOR flash drivers
# Debian's arm64 kernel has MTD and mtdchar (/dev/mtdN) but none of the
# drivers of the NOR flash on QEMU's virt machine, where U-Boot keeps its
# environment (CONFIG_MTD_PHYSMAP and CONFIG_MTD_CFI are not set). They are
# built here as out-of-tree modules from Debian's own source of the same
# kernel (linux-source-6.1, its drivers/mtd/chips and physmap), against the
# kernel's headers (linux-headers-KVER, -common) with Debian's kbuild tools
# for the build machine (linux-kbuild-6.1) and the cross compiler, and
# installed under updates/otaroot, so depmod resolves them like the kernel's
# own. Unsigned: they taint the kernel (Debian does not enforce module
# signatures without Secure Boot). What each one is:
#   physmap          maps the cfi-flash device-tree node (CONFIG_MTD_PHYSMAP_OF)
#   cfi_probe, gen_probe, cfi_util   the CFI probe
#   cfi_cmdset_0001  the Intel/Sharp command set QEMU's pflash speaks
if [ "$ARCH" = arm64 ]; then
	need make xz aarch64-linux-gnu-gcc-12
	src_ver=$(apt-cache policy linux-source-6.1 2>/dev/null | awk '$1 == "Candidate:" { print $2; exit }') || true
	[ "$src_ver" = "$KPKG_VER" ] ||
		die "linux-source-6.1 is at '${src_ver:-none}' in the host's index, the kernel at $KPKG_VER: the flash drivers must be built from the kernel's own source (apt-get update?)"
	log "downloading linux-source-6.1, linux-kbuild-6.1, linux-headers-$KVER(-common) $KPKG_VER to build the flash drivers"
	mkdir -p "$BUILD/mtd-dl" "$BUILD/mtd"
	[ ${#apt_dl_opts[@]} -gt 0 ] || chown _apt "$BUILD/mtd-dl" 2>/dev/null || true
	(cd "$BUILD/mtd-dl" &&
		apt-get download -q "${apt_dl_opts[@]}" "linux-source-6.1=$KPKG_VER" "linux-kbuild-6.1=$KPKG_VER" \
			"linux-headers-${KVER%-*}-common=$KPKG_VER" &&
		apt-get "${APT_OPTS[@]}" download -q "${apt_dl_opts[@]}" "linux-headers-$KVER=$KPKG_VER") >&2 ||
		die "downloading the kernel source and headers for the flash drivers failed"
	H="$BUILD/mtd/x"
	for deb in "$BUILD"/mtd-dl/*.deb; do dpkg-deb -x "$deb" "$H"; done
	rm -rf "$BUILD/mtd-dl"
	tar -xJf "$H/usr/src/linux-source-6.1.tar.xz" -C "$BUILD/mtd" \
		linux-source-6.1/drivers/mtd/chips linux-source-6.1/drivers/mtd/maps ||
		die "linux-source-6.1.tar.xz has no drivers/mtd/chips or maps"
	rm -f "$H/usr/src/linux-source-6.1.tar.xz"
	HDR="$H/usr/src/linux-headers-$KVER"
	# Its Makefile includes the -common one by its installed, absolute path.
	echo "include $H/usr/src/linux-headers-${KVER%-*}-common/Makefile" >"$HDR/Makefile"
	M="$BUILD/mtd/mod"
	mkdir -p "$M"
	cp "$BUILD"/mtd/linux-source-6.1/drivers/mtd/chips/{cfi_probe.c,cfi_cmdset_0001.c,cfi_util.c,gen_probe.c,fwh_lock.h} \
		"$BUILD"/mtd/linux-source-6.1/drivers/mtd/maps/physmap-core.c \
		"$BUILD"/mtd/linux-source-6.1/drivers/mtd/maps/physmap-*.h "$M/"
	cat >"$M/Kbuild" <<-'KBUILD'
	# The options of the drivers that are not set in Debian's config.
	ccflags-y := -DCONFIG_MTD_PHYSMAP_OF=1 -DCONFIG_MTD_CFI_INTELEXT=1
	obj-m := physmap.o cfi_probe.o cfi_cmdset_0001.o cfi_util.o gen_probe.o
	physmap-objs := physmap-core.o
	KBUILD
	make -s -C "$HDR" M="$M" ARCH=arm64 DEB_BUILD_ARCH=amd64 DEB_HOST_ARCH=arm64 \
		DEB_HOST_GNU_TYPE=aarch64-linux-gnu -j2 modules >"$BUILD/mtd/build.log" 2>&1 ||
		{ tail -n 20 "$BUILD/mtd/build.log" >&2; die "building the flash drivers failed"; }
	mkdir -p "$MODDIR/updates/otaroot"
	for m in physmap cfi_probe cfi_cmdset_0001 cfi_util gen_probe; do
		[ "$(modinfo -F vermagic "$M/$m.ko" | cut -d' ' -f1)" = "$KVER" ] || die "$m.ko was not built for $KVER"
		cp "$M/$m.ko" "$MODDIR/updates/otaroot/"
	done
	rm -rf "$BUILD/mtd"
	# The kernel's modules.dep would not name them: make it anew.
	rm -f "$MODDIR/modules.dep"
fi

# Debian's package does not ship modules.dep (its postinst runs depmod).
if [ ! -s "$MODDIR/modules.dep" ]; then
	depmod -b "$X" "$KVER" || die "depmod failed"
fi
[ -s "$MODDIR/modules.dep" ] || die "no modules.dep for $KVER"

# ---------------------------------------------------------------- module set
kconfig() { sed -n "s/^$1=//p" "$KCONFIG" | tr -d '"'; }
norm() { local n=${1##*/}; n=${n%%.ko*}; echo "${n//-/_}"; }

# vfat always loads its default codepage and iocharset NLS tables.
fat_cp=$(kconfig CONFIG_FAT_DEFAULT_CODEPAGE)
fat_io=$(kconfig CONFIG_FAT_DEFAULT_IOCHARSET)
REQUIRED=(virtio_pci virtio_blk ext4 overlay vfat "nls_cp${fat_cp:-437}" "nls_${fat_io:-iso8859-1}" i6300esb
	virtio_net)  # virtio_net: installs over HTTP from the host (QEMU user networking)
OPTIONAL=(virtio_console nls_ascii nls_iso8859_1 nls_utf8)
if [ "$ARCH" = arm64 ]; then
	# QEMU's virt machine: the test agent's port is a virtio console (virt
	# has one UART); U-Boot's environment is on the second bank of the
	# cfi-flash node, which physmap (of_flash) maps, the CFI Intel/Sharp
	# command set writes, and mtdchar gives userspace as /dev/mtdN.
	# The chip drivers before physmap, whose probe looks them up (no modprobe here).
	REQUIRED+=(virtio_console cfi_cmdset_0001 cfi_probe physmap)
fi

declare -A PATH_OF=() DEPS=() BUILTIN=() SOFT=() STATE=() OPT=()
while IFS= read -r line; do
	mod=${line%%:*}
	n=$(norm "$mod")
	PATH_OF[$n]=$mod
	DEPS[$n]=${line#*:}
done <"$MODDIR/modules.dep"
if [ -f "$MODDIR/modules.builtin" ]; then
	while IFS= read -r line; do BUILTIN[$(norm "$line")]=1; done <"$MODDIR/modules.builtin"
fi
# softdeps ("softdep ext4 pre: crypto-crc32c"): ext4/jbd2 need a crc32c
# implementation at mount time, which they request via the crypto API (i.e. via
# a modprobe the initramfs does not have). Treated as "load before".
if [ -f "$MODDIR/modules.softdep" ]; then
	while read -r kw m rest; do
		[ "$kw" = softdep ] || continue
		m=$(norm "$m")
		for t in $rest; do
			case $t in pre: | post:) ;; *) SOFT[$m]+=" $t" ;; esac
		done
	done <"$MODDIR/modules.softdep"
fi

# resolve_names NAME-OR-ALIAS: print module names (exact name, else exact alias).
resolve_names() {
	local n
	n=$(norm "$1")
	if [ -n "${PATH_OF[$n]:-}" ] || [ -n "${BUILTIN[$n]:-}" ]; then
		echo "$n"
		return
	fi
	awk -v a="$1" '$1 == "alias" && $2 == a { print $3 }' "$MODDIR/modules.alias" | sort -u
}

ORDER=()
# visit NAME OPTIONAL(0/1): depth-first post-order => dependencies first.
visit() {
	local n=$1 opt=$2 d s r
	if [ -n "${BUILTIN[$n]:-}" ] && [ -z "${PATH_OF[$n]:-}" ]; then
		log "module $n is built into the kernel, skipping"
		return 0
	fi
	if [ -z "${PATH_OF[$n]:-}" ]; then
		[ "$opt" = 1 ] && { log "optional module $n not available, skipping"; return 0; }
		die "required module $n not found in $KVER"
	fi
	# a module needed by something required is required
	[ "$opt" = 0 ] && OPT[$n]=0
	[ -n "${OPT[$n]:-}" ] || OPT[$n]=$opt
	case ${STATE[$n]:-} in
	done | active) return 0 ;;
	esac
	STATE[$n]=active
	for s in ${SOFT[$n]:-}; do
		for r in $(resolve_names "$s"); do
			# any one of several implementations will do: each one optional
			visit "$r" 1
		done
	done
	for d in ${DEPS[$n]}; do visit "$(norm "$d")" "$opt"; done
	STATE[$n]="done"
	ORDER+=("$n")
}
for m in "${REQUIRED[@]}"; do visit "$(norm "$m")" 0; done
for m in "${OPTIONAL[@]}"; do visit "$(norm "$m")" 1; done
# Softdeps marked optional: make sure at least one crc32c made it in.
[ -n "${STATE[crc32c_generic]:-}" ] || die "crc32c_generic missing from the module set (ext4 needs it)"

# ---------------------------------------------------------------- initramfs
S="$BUILD/initramfs"
mkdir -p "$S"/{bin,dev,proc,sys,newroot,lib/modules}
cp "$BUSYBOX" "$S/bin/busybox"
# Another architecture's busybox lists its applets under qemu-user.
BB_RUN=()
[ "$ARCH" != arm64 ] || { need qemu-aarch64-static; BB_RUN=(qemu-aarch64-static); }
for a in $("${BB_RUN[@]}" "$BUSYBOX" --list); do
	[ "$a" = busybox ] || ln -s busybox "$S/bin/$a"
done
mkdir -p "$S/lib/modules/$KVER"
LOADLIST="$S/lib/modules/load-order"
: >"$LOADLIST"
: >"$BUILD/modules.list"
for n in "${ORDER[@]}"; do
	rel=${PATH_OF[$n]}
	src="$MODDIR/$rel"
	dst="$S/lib/modules/$KVER/${rel%.ko*}.ko"
	mkdir -p "$(dirname "$dst")"
	case $rel in
	*.ko) cp "$src" "$dst" ;;
	*.ko.gz) gzip -dc "$src" >"$dst" ;;
	*.ko.xz)
		need xz
		xz -dc "$src" >"$dst"
		;;
	*.ko.zst)
		need zstd
		zstd -q -dc "$src" >"$dst"
		;;
	*) die "unknown module format: $rel" ;;
	esac
	flag=req
	[ "${OPT[$n]}" = 1 ] && flag=opt
	echo "$n /lib/modules/$KVER/${rel%.ko*}.ko $flag" >>"$LOADLIST"
	echo "$n $flag ${rel%.ko*}.ko" >>"$BUILD/modules.list"
done

cat >"$S/init" <<'INIT_EOF'
#!/bin/sh
# Minimal initramfs /init for the otaroot VM tests (generated by
# tests/vm/fetch-kernel.sh; see there for the supported kernel parameters).
# Loads modules, mounts root= at /newroot, unmounts /proc, /sys and /dev again
# and switch_roots to init=, so that init sees what a kernel with built-in
# drivers and no initramfs gives it: root mounted, nothing else mounted.
# Not exported on purpose: the kernel gives init no PATH and neither do we.
PATH=/bin
quiet='' debug=''
msg() { echo "initramfs: $*"; }
info() { [ -n "$quiet" ] || msg "$@"; }
fail() {
	msg "FATAL: $*"
	msg "powering off"
	sync
	poweroff -f
	sleep 10
	exit 1 # kernel panic: with panic=-1 and qemu -no-reboot, qemu exits too
}

mount -t proc -o nosuid,nodev,noexec proc /proc || fail "cannot mount /proc"
mount -t sysfs -o nosuid,nodev,noexec sysfs /sys || fail "cannot mount /sys"
mount -t devtmpfs -o nosuid,mode=0755 devtmpfs /dev || fail "cannot mount devtmpfs on /dev"

# init must get exactly the environment the kernel gave us (HOME, TERM and
# unknown NAME=VALUE boot parameters); this shell would add PATH, PWD, OLDPWD
# and SHLVL. Saved now, shell-quoted, for "env -i" at the end.
kernel_env=$(tr '\0' '\n' </proc/1/environ | sed "s/'/'\\\\''/g; s/^/'/; s/\$/'/" | tr '\n' ' ')

root='' fstype='' flags='' mode=ro init='' timeout=__ROOT_WAIT_DEFAULT__
set -f # split into words, no globbing
# shellcheck disable=SC2013
for arg in $(cat /proc/cmdline); do
	case $arg in
	root=*) root=${arg#root=} ;;
	rootfstype=*) fstype=${arg#rootfstype=} ;;
	rootflags=*) flags=${arg#rootflags=} ;;
	ro) mode=ro ;;
	rw) mode=rw ;;
	init=*) init=${arg#init=} ;;
	rootwait=*)
		case ${arg#rootwait=} in
		'' | *[!0-9]*) msg "ignoring invalid $arg" ;;
		*) timeout=${arg#rootwait=} ;;
		esac
		;;
	quiet) quiet=1 ;;
	initramfs.debug) debug=1 ;;
	esac
done
set +f

# Modules, dependencies first. Lines: NAME PATH req|opt
while read -r name path flag; do
	[ -n "$path" ] || continue
	[ -d "/sys/module/$name" ] && continue # built in or already loaded
	if out=$(insmod "$path" 2>&1); then
		[ -z "$debug" ] || msg "loaded $name"
	elif [ -d "/sys/module/$name" ]; then
		:
	elif [ "$flag" = opt ]; then
		[ -z "$debug" ] || msg "optional module $name not loaded: $out"
	else
		msg "WARNING: insmod $name failed: $out"
	fi
done </lib/modules/load-order

[ -n "$root" ] || fail "no root= on the kernel command line"

devname_of() { sed -n 's/^DEVNAME=//p' "$1/uevent"; }

# GPT partition GUID (mixed endian on disk) at byte offset $2 of device $1.
gpt_guid() {
	hexdump -s "$2" -n 16 -v -e '16/1 "%02x"' "$1" 2>/dev/null |
		sed -e 's/^\(..\)\(..\)\(..\)\(..\)\(..\)\(..\)\(..\)\(..\)\(.*\)$/\4\3\2\1-\6\5-\8\7-\9/' \
			-e 's/^\(.\{23\}\)/\1-/'
}

# Sets dev=/dev/NAME of the partition whose PARTUUID is $1.
find_partuuid() {
	want=$(echo "$1" | tr A-F a-f)
	for p in /sys/class/block/*; do
		[ -e "$p/partition" ] || continue
		if grep -qixF "PARTUUID=$want" "$p/uevent"; then # newer kernels
			dev=/dev/$(devname_of "$p")
			return 0
		fi
		n=$(cat "$p/partition")
		disk=$(basename "$(readlink -f "$p/..")")
		d=/dev/$disk
		[ -b "$d" ] || continue
		ss=$(cat "/sys/class/block/$disk/queue/logical_block_size" 2>/dev/null) || ss=512
		if [ "$(dd if="$d" bs=1 skip="$ss" count=8 2>/dev/null)" = "EFI PART" ]; then
			lba=$(od -A n -t u4 -j $((ss + 72)) -N 4 "$d" | tr -d ' ')
			esz=$(od -A n -t u4 -j $((ss + 84)) -N 4 "$d" | tr -d ' ')
			if [ -z "$lba" ] || [ -z "$esz" ]; then continue; fi
			g=$(gpt_guid "$d" $((lba * ss + (n - 1) * esz + 16)))
		else # MBR: disk signature - partition number
			g=$(od -A n -t x4 -j 440 -N 4 "$d" | tr -d ' ')
			g=$(printf '%s-%02x' "$g" "$n")
		fi
		if [ "$g" = "$want" ]; then
			dev=/dev/$(devname_of "$p")
			return 0
		fi
	done
	return 1
}

# Sets dev from root=; fails while the device is not there (yet).
resolve_root() {
	dev=
	case $root in
	/dev/*) dev=$root ;;
	PARTLABEL=*)
		for p in /sys/class/block/*; do
			if grep -qxF "PARTNAME=${root#PARTLABEL=}" "$p/uevent" 2>/dev/null; then
				dev=/dev/$(devname_of "$p")
				break
			fi
		done
		;;
	PARTUUID=*/*) fail "root=$root: PARTUUID=.../PARTNROFF= is not supported" ;;
	PARTUUID=*) find_partuuid "${root#PARTUUID=}" ;;
	UUID=* | LABEL=*) dev=$(findfs "$root" 2>/dev/null) ;;
	[0-9]*:[0-9]*) [ -e "/sys/dev/block/$root" ] && dev=/dev/$(devname_of "/sys/dev/block/$root") ;;
	*) fail "unsupported root=$root (use /dev/NAME, PARTLABEL=, PARTUUID=, UUID=, LABEL= or MAJ:MIN)" ;;
	esac
	[ -n "$dev" ] && [ -b "$dev" ]
}

uptime_s() {
	read -r up rest </proc/uptime
	echo "${up%%.*}"
}
deadline=$(($(uptime_s) + timeout))
waiting=''
until resolve_root; do
	if [ -z "$waiting" ]; then
		msg "waiting up to ${timeout}s for root device $root"
		waiting=1
	fi
	if [ "$(uptime_s)" -ge "$deadline" ]; then
		msg "block devices:"
		for p in /sys/class/block/*; do
			[ -e "$p" ] || continue
			msg "  $(basename "$p") $(grep '^PARTNAME=' "$p/uevent" 2>/dev/null)"
		done
		fail "root device $root did not appear within ${timeout}s"
	fi
	usleep 100000
done

opts=$mode${flags:+,$flags}
mounted=''
for t in $(echo "${fstype:-ext4,auto}" | tr , ' '); do
	if [ "$t" = auto ]; then
		err=$(mount -o "$opts" "$dev" /newroot 2>&1) && mounted=1
	else
		err=$(mount -t "$t" -o "$opts" "$dev" /newroot 2>&1) && mounted=1
	fi
	[ -n "$mounted" ] && break
	[ -z "$debug" ] || msg "mount -t $t $dev failed: $err"
done
[ -n "$mounted" ] || fail "cannot mount root $dev (root=$root, fstype ${fstype:-ext4/auto}, options $opts): $err"

if [ -n "$init" ]; then
	[ -e "/newroot$init" ] || [ -L "/newroot$init" ] || fail "init=$init not found on root $dev"
else
	for c in /sbin/init /etc/init /bin/init /bin/sh; do
		if [ -e "/newroot$c" ] || [ -L "/newroot$c" ]; then
			init=$c
			break
		fi
	done
	[ -n "$init" ] || fail "no init found on root $dev"
fi

info "root=$root is $dev, mounted $mode; starting $init"
cd /
for m in /dev /sys /proc; do
	umount "$m" 2>/dev/null || umount -l "$m" || fail "cannot unmount $m"
done
# switch_root: empties the initramfs, moves /newroot to / and chroots (no /proc
# needed); exec keeps PID 1. Arguments the kernel passed to us go to init.
eval "exec env -i $kernel_env /bin/switch_root /newroot \"\$init\" \"\$@\""
INIT_EOF
sed -i "s/__ROOT_WAIT_DEFAULT__/$ROOT_WAIT_DEFAULT/" "$S/init"
chmod 755 "$S/init"

# newc_entry NAME MODE(octal) RDEVMAJOR RDEVMINOR: one cpio "newc" header for an
# empty file (used for the /dev/console char device, so that no device node has
# to be created on disk and the build does not depend on mknod).
newc_entry() {
	local name=$1 namesize=$((${#1} + 1)) pad
	printf '070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X' \
		"${5:-1}" "$((8#$2))" 0 0 1 0 0 0 0 "$3" "$4" "$namesize" 0
	printf '%s\0' "$name"
	pad=$(((4 - (110 + namesize) % 4) % 4))
	[ "$pad" -eq 0 ] || head -c "$pad" /dev/zero
}

find "$S" -exec touch -h -d @0 {} +
CPIO="$BUILD/initramfs.cpio"
(cd "$S" && find . -mindepth 1 | LC_ALL=C sort |
	cpio -o -H newc -R 0:0 --reproducible --quiet) >"$CPIO"
# The kernel opens /dev/console in the initramfs for /init's fds 0/1/2 before
# /init runs (devtmpfs is not mounted then), so the archive must contain it.
# Appended as a second archive, which the kernel unpacks too.
{
	newc_entry dev/console 020600 5 1 99999
	newc_entry 'TRAILER!!!' 0 0 0 0
} >"$BUILD/console.cpio"
cpio -itv --quiet <"$BUILD/console.cpio" | grep -q '^crw-------.* 5, *1 .* dev/console$' ||
	die "bad /dev/console cpio entry"
cat "$BUILD/console.cpio" >>"$CPIO"
gzip -9 -n <"$CPIO" >"$BUILD/initramfs.cpio.gz"

# ---------------------------------------------------------------- publish
rm -f "$CACHEDIR/kernel.stamp"
mv "$X/boot/vmlinuz-$KVER" "$CACHEDIR/vmlinuz"
mv "$BUILD/initramfs.cpio.gz" "$CACHEDIR/initramfs.cpio.gz"
mv "$BUILD/modules.list" "$CACHEDIR/modules.list"
[ "$ARCH" = amd64 ] || install -m 0755 "$BUSYBOX" "$CACHEDIR/busybox"
if [ "$ARCH" = arm64 ]; then
	rm -rf "$CACHEDIR/grub"
	mkdir -p "$CACHEDIR/grub"
	mv "$BUILD/grub/usr/lib/grub/arm64-efi" "$CACHEDIR/grub/arm64-efi"
fi
cp "$KCONFIG" "$CACHEDIR/kernel.config"
echo "$KVER" >"$CACHEDIR/kernel.version"
stamp >"$CACHEDIR/kernel.stamp"
rm -rf "$BUILD"
log "built kernel $KVER ($KPKG $KPKG_VER): initramfs $(stat -c %s "$CACHEDIR/initramfs.cpio.gz") bytes," \
	"${#ORDER[@]} modules: ${ORDER[*]}"

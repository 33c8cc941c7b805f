#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# build-util-linux-static.sh [--host TRIPLET] [--libc musl] OUTDIR
#
# Builds static libuuid/libblkid/libmount/libfdisk from Debian's own
# util-linux *source* package (deb-src) and installs them into OUTDIR:
#
#   OUTDIR/lib/{libuuid,libblkid,libmount,libfdisk}.a
#   OUTDIR/include/{uuid,blkid,libmount,libfdisk}/*.h
#   OUTDIR/lib/pkgconfig/{uuid,blkid,mount,fdisk}.pc
#
# --host TRIPLET cross-builds them for another machine (e.g.
# aarch64-linux-gnu, arm-linux-gnueabihf; configure --host), with
# TRIPLET-gcc unless CC says otherwise. UL_STATIC_CFLAGS then carries the
# target's --sysroot (libc headers and libc.a) and flags such as
# -D_TIME_BITS=64; the verification program runs under UL_STATIC_EMULATOR.
#
# --libc musl builds them against musl instead of glibc, for a musl
# ota-init: for the machine itself with Debian's musl-tools (musl-gcc); with
# --host, with the cross gcc and a specs file naming the target's musl in
# the sysroot, both given by the caller (UL_STATIC_CFLAGS="--sysroot=DIR
# -specs=FILE ..."; CMake writes FILE, see cmake/otaroot.cmake). musl's
# headers leave out /usr/include, so the kernel's headers (linux/, asm/,
# asm-generic/; the sysroot's with --host) are reached through links in
# OUTDIR/src/musl-include.
#
# Use:  PKG_CONFIG_PATH=OUTDIR/lib/pkgconfig pkg-config --static --libs fdisk mount blkid
# (PKG_CONFIG_LIBDIR=OUTDIR/lib/pkgconfig is stricter: it cannot fall back to
# the system's shared-only libmount-dev/libfdisk-dev .pc files.)
#
# Debian 12 ships libblkid.a/libuuid.a but no libmount.a/libfdisk.a, which a
# fully static PID 1 (ota-init) needs.
#
# Cached: OUTDIR/.stamp holds the source version that was built (line 1) and a
# fingerprint of the build configuration (line 2); it is written last, so an
# interrupted build is redone. Delete OUTDIR/.stamp to force a rebuild.
#
# Environment (all optional):
#   CC                   compiler (default gcc, with --host TRIPLET-gcc)
#   UL_STATIC_CFLAGS     CFLAGS for the libraries and the verification program
#                        (default: -O2 -g -ffunction-sections -fdata-sections,
#                        so the final link can use -Wl,--gc-sections)
#   UL_STATIC_EMULATOR   with --host: the command that runs a target program
#                        (e.g. "qemu-arm-static"); unset, the verification
#                        program is linked and checked but not run
#   UL_STATIC_JOBS       make -j (default: the number of CPUs)
#   UL_STATIC_REGEN      auto|touch|autoreconf: how to deal with Debian patches
#                        that modify autotools inputs (see prepare_buildsys)
#
# Needs root only when it has to add deb-src entries or install build tools.
set -euo pipefail

ME=build-util-linux-static
say() { printf '%s: %s\n' "$ME" "$*"; }
die() { printf '%s: error: %s\n' "$ME" "$*" >&2; exit 1; }

usage() { echo "usage: $0 [--host TRIPLET] [--libc musl] OUTDIR" >&2; exit 2; }
HOST=""
LIBC=glibc
while [ $# -gt 1 ]; do
	case "$1" in
	--host)
		HOST=${2:-}
		[ -n "$HOST" ] || usage
		shift 2
		;;
	--libc)
		[ "${2:-}" = musl ] || usage
		LIBC=musl
		shift 2
		;;
	*) break ;;
	esac
done
if [ $# -ne 1 ] || [ -z "$1" ]; then usage; fi

SRCPKG=util-linux
UL_LIBS=(uuid blkid mount fdisk)
# Bump when the build recipe changes in a way the configure flags don't show.
RECIPE_REV=1
# Debian patches that touch autotools inputs but not the libraries we build
# (checked in UL_STATIC_REGEN=auto mode; anything else -> autoreconf).
KNOWN_BUILDSYS_PATCHES=(
	debian/verbose-tests.patch                                 # tests/Makemodule.am
	debian/lsfd-usrbin.patch                                   # misc-utils/Makemodule.am
	upstream/autotools-add-disable-makeinstall-tty-setgid.patch # configure.ac, term-utils/Makemodule.am
)

# --- OUTDIR ---------------------------------------------------------------
mkdir -p -- "$1"
OUTDIR=$(cd -- "$1" && pwd -P)
MARKER="$OUTDIR/.build-util-linux-static"
case "$OUTDIR" in
/ | /usr | /usr/local | /etc | /var | /opt | /root | /home | /tmp) die "refusing OUTDIR=$OUTDIR" ;;
esac
# We delete OUTDIR/{lib,include,share,src} on rebuild: only do that in a
# directory this script created (or an empty one).
if [ ! -e "$MARKER" ]; then
	if [ -n "$(ls -A -- "$OUTDIR")" ]; then
		die "$OUTDIR is not empty and was not created by this script; refusing to use it"
	fi
	: >"$MARKER"
fi

exec 9>"$OUTDIR/.lock"
if ! flock -n 9; then
	say "waiting for another build in $OUTDIR"
	flock 9
fi

STAMP="$OUTDIR/.stamp"
LOG="$OUTDIR/build.log"
DL="$OUTDIR/src"
TREE="$DL/$SRCPKG"

# Keep the caller's build environment out of this build.
unset CFLAGS CPPFLAGS CXXFLAGS LDFLAGS LIBS MAKEFLAGS MFLAGS MAKELEVEL
: "${CC:=${HOST:+$HOST-}gcc}"
[ "$LIBC" = glibc ] || [ -n "$HOST" ] || CC=musl-gcc
STRIP=${HOST:+$HOST-}strip
UL_STATIC_CFLAGS=${UL_STATIC_CFLAGS:--O2 -g -ffunction-sections -fdata-sections}
MUSL_INCLUDE="$OUTDIR/src/musl-include"
[ "$LIBC" = glibc ] || UL_STATIC_CFLAGS+=" -isystem $MUSL_INCLUDE"
if [ "$LIBC" = musl ] && [ -n "$HOST" ] && ! grep -q -- '-specs=' <<<"$UL_STATIC_CFLAGS"; then
	die "--host with --libc musl: UL_STATIC_CFLAGS names no -specs=FILE for the target's musl"
fi
UL_STATIC_REGEN=${UL_STATIC_REGEN:-auto}
case "$UL_STATIC_REGEN" in auto | touch | autoreconf) ;; *) die "UL_STATIC_REGEN must be auto, touch or autoreconf" ;; esac

CONFIGURE_FLAGS=(
	--prefix="$OUTDIR"
	--libdir="$OUTDIR/lib"
	--includedir="$OUTDIR/include"
	--with-pkgconfigdir="$OUTDIR/lib/pkgconfig"
	# only the four libraries, static only
	--disable-all-programs
	--enable-libuuid --enable-libblkid --enable-libmount --enable-libfdisk
	--disable-libsmartcols
	--enable-static --disable-shared
	# nothing optional that would pull in another library
	--disable-nls
	--without-selinux --without-audit --without-smack
	--without-udev --without-systemd
	--without-cryptsetup --without-econf
	--without-readline --without-ncursesw --without-ncurses --without-slang --without-tinfo
	--without-libz --without-libmagic --without-user --without-utempter --without-cap-ng --without-util
	--without-python --disable-pylibmount
	# no docs, no install-time chown/setuid
	--disable-asciidoc --disable-poman --disable-gtk-doc --disable-bash-completion
	--disable-makeinstall-chown --disable-makeinstall-setuid
	--disable-dependency-tracking --enable-silent-rules
)
[ -z "$HOST" ] || CONFIGURE_FLAGS+=(--host="$HOST")

fingerprint() {
	{
		echo "recipe=$RECIPE_REV"
		echo "libc=$LIBC"
		echo "outdir=$OUTDIR"
		echo "cc=$CC $("$CC" -dumpfullversion 2>/dev/null || true) $("$CC" -dumpmachine 2>/dev/null || true)"
		echo "cflags=$UL_STATIC_CFLAGS"
		# A specs file (--host with --libc musl) is configuration too.
		local f
		for f in $UL_STATIC_CFLAGS; do
			case $f in -specs=*) echo "specs=$(sha256sum <"${f#-specs=}")" ;; esac
		done
		printf '%s\n' "${CONFIGURE_FLAGS[@]}"
	} | sha256sum | cut -d' ' -f1
}

APT_OPTS=()
[ "$(id -u)" -eq 0 ] && APT_OPTS=(-o APT::Sandbox::User=root) # no "_apt cannot access" warning

# The version `apt-get source` would fetch right now ("" if apt cannot tell,
# e.g. no deb-src entries). Epoch-less, as in the .dsc file name.
wanted_version() {
	(cd /tmp && apt-get "${APT_OPTS[@]}" source --print-uris "$SRCPKG" 2>/dev/null) |
		sed -n "s/^'[^']*' ${SRCPKG}_\(.*\)\.dsc .*/\1/p" | head -n1 || true
}

# --- 1. cache check ----------------------------------------------------------
FP=$(fingerprint)
WANT=$(wanted_version)
if [ -f "$STAMP" ]; then
	have_ver=$(sed -n 1p "$STAMP")
	have_fp=$(sed -n 2p "$STAMP")
	if [ "$have_fp" = "config-sha256 $FP" ] && [ -n "$have_ver" ]; then
		if [ "$WANT" = "$have_ver" ]; then
			say "cache used: $SRCPKG $have_ver already built in $OUTDIR"
			exit 0
		elif [ -z "$WANT" ]; then
			say "cache used: $SRCPKG $have_ver already built in $OUTDIR (apt cannot tell the current source version: no deb-src)"
			exit 0
		fi
		say "cache is $SRCPKG $have_ver, apt now offers $WANT: rebuilding"
	else
		say "cache in $OUTDIR was built with another configuration: rebuilding"
	fi
fi

# --- from here on: a real build ------------------------------------------------
rm -f "$STAMP"
: >"$LOG"
WORKTMP=""
PHASE="setup"
on_exit() {
	rc=$?
	[ -n "$WORKTMP" ] && rm -rf -- "$WORKTMP"
	if [ "$rc" -ne 0 ]; then
		printf '%s: FAILED during %s (exit %s); last lines of %s:\n' "$ME" "$PHASE" "$rc" "$LOG" >&2
		tail -n 40 "$LOG" >&2 || true
	fi
}
trap on_exit EXIT
logrun() { # logrun CMD...: run quietly, output into the log
	local t0=$SECONDS rc=0
	printf '\n+ %s\n' "$*" >>"$LOG"
	"$@" >>"$LOG" 2>&1 || rc=$?
	printf '+ (exit %s, %ss)\n' "$rc" "$((SECONDS - t0))" >>"$LOG"
	return "$rc"
}
need_root() { [ "$(id -u)" -eq 0 ] || die "$1: run as root (or do it by hand first)"; }
START=$SECONDS

# --- 2. deb-src -------------------------------------------------------------------
# Emits deb-src stanzas (deb822) built from the enabled `deb` entries of the
# system's apt sources, both deb822 (*.sources) and one-line (*.list) style.
# $1: space-separated URIs to keep (those serving util-linux), "" = keep all.
derive_deb_src() {
	local keep=$1 f
	local -a d822=() oneline=()
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] && [ "$f" != "$DEBSRC_FILE" ] && d822+=("$f")
	done
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -f "$f" ] && oneline+=("$f")
	done
	{
		# deb822: copy every field but Types/Architectures/Enabled verbatim
		# (keeps URIs, Suites, Components, Signed-By incl. inline keys,
		# Check-Valid-Until, Trusted, ...), with Types: deb-src.
		[ ${#d822[@]} -eq 0 ] || awk -v keep="$keep" '
			function norm(u) { sub(/\/+$/, "", u); return u }
			function flush(   i, n, t, ok, u) {
				if (nf == 0) return
				n = split(val["types"], t, /[ \t]+/); isdeb = 0
				for (i = 1; i <= n; i++) if (t[i] == "deb") isdeb = 1
				ok = isdeb && tolower(val["enabled"]) != "no"
				if (ok && keep != "") {
					ok = 0; n = split(val["uris"], t, /[ \t\n]+/)
					for (i = 1; i <= n; i++) if (t[i] != "" && index(" " keep " ", " " norm(t[i]) " ")) ok = 1
				}
				if (ok) {
					out = "Types: deb-src\n"
					for (i = 1; i <= nf; i++)
						if (name[i] != "types" && name[i] != "architectures" && name[i] != "enabled")
							out = out raw[i] "\n"
					print out
				}
				nf = 0; delete val; delete raw; delete name
			}
			FNR == 1 { flush() } # a file ends a stanza
			/^[ \t]*#/ { next }
			/^[ \t]*$/ { flush(); next }
			/^[ \t]/ { if (nf) { raw[nf] = raw[nf] "\n" $0; val[name[nf]] = val[name[nf]] " " $0 } next }
			{
				k = $0; sub(/:.*/, "", k); k = tolower(k)
				v = $0; sub(/^[^:]*:[ \t]*/, "", v)
				name[++nf] = k; raw[nf] = $0; val[k] = v
			}
			END { flush() }
		' "${d822[@]}"
		# one-line: deb [opts] URI SUITE [COMPONENT...]
		[ ${#oneline[@]} -eq 0 ] || awk -v keep="$keep" '
			function norm(u) { sub(/\/+$/, "", u); return u }
			{ sub(/#.*/, ""); sub(/[ \t]+$/, "") }
			$1 != "deb" { next }
			{
				line = $0; sub(/^[ \t]*deb[ \t]+/, "", line); opts = ""
				if (substr(line, 1, 1) == "[" && (p = index(line, "]")) > 0) {
					opts = substr(line, 2, p - 2); line = substr(line, p + 1); sub(/^[ \t]+/, "", line)
				}
				n = split(line, w, /[ \t]+/); if (n < 2) next
				if (keep != "" && !index(" " keep " ", " " norm(w[1]) " ")) next
				comps = ""; for (i = 3; i <= n; i++) comps = comps (comps == "" ? "" : " ") w[i]
				out = "Types: deb-src\nURIs: " w[1] "\nSuites: " w[2] "\n"
				if (comps != "") out = out "Components: " comps "\n"
				m = split(opts, o, /[ \t]+/)
				for (i = 1; i <= m; i++) {
					split(o[i], kv, "=")
					if (kv[1] == "signed-by") out = out "Signed-By: " kv[2] "\n"
					else if (kv[1] == "trusted") out = out "Trusted: " kv[2] "\n"
					else if (kv[1] == "check-valid-until") out = out "Check-Valid-Until: " kv[2] "\n"
				}
				print out
			}
		' "${oneline[@]}"
	} | awk 'BEGIN { RS = ""; ORS = "\n\n" } !seen[$0]++' # drop duplicate stanzas
}

DEBSRC_FILE=/etc/apt/sources.list.d/otaroot-deb-src.sources
ensure_deb_src() {
	[ -n "$WANT" ] && return 0
	PHASE="deb-src setup"
	need_root "adding deb-src entries to apt"
	# Only mirror the archives that actually serve util-linux binaries.
	local keep stanzas
	keep=$(apt-cache policy "$SRCPKG" 2>/dev/null |
		awk '$1 ~ /^[0-9]+$/ && $2 ~ /:/ && $2 !~ /^\// { u = $2; sub(/\/+$/, "", u); print u }' |
		sort -u | tr '\n' ' ' | sed 's/ $//')
	stanzas=$(derive_deb_src "$keep")
	[ -n "$stanzas" ] || stanzas=$(derive_deb_src "")
	if [ -z "$stanzas" ]; then
		# Last resort: Debian's default archive layout for this release.
		local codename
		# shellcheck disable=SC1091
		codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
		[ -n "$codename" ] || die "cannot derive deb-src entries (no apt sources, no VERSION_CODENAME)"
		say "no usable deb entries found; falling back to Debian defaults for $codename"
		stanzas="Types: deb-src
URIs: http://deb.debian.org/debian
Suites: $codename $codename-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb-src
URIs: http://deb.debian.org/debian-security
Suites: $codename-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
"
	fi
	say "apt has no deb-src for $SRCPKG: writing $DEBSRC_FILE and running apt-get update"
	{
		echo "# Written by otaroot tools/build-util-linux-static.sh: source entries"
		echo "# derived from the deb entries, for 'apt-get source $SRCPKG'."
		echo
		printf '%s\n' "$stanzas"
	} >"$DEBSRC_FILE.tmp"
	mv -f "$DEBSRC_FILE.tmp" "$DEBSRC_FILE"
	cat "$DEBSRC_FILE" >>"$LOG"
	# A failing unrelated source must not stop us; what counts is the result.
	logrun apt-get update || say "apt-get update reported errors (see $LOG); checking the result"
	WANT=$(wanted_version)
	[ -n "$WANT" ] || die "apt-get source still cannot find $SRCPKG after adding $DEBSRC_FILE"
}

# --- build tools --------------------------------------------------------------------
APT_UPDATED=""
apt_install() { # apt_install PKG...
	need_root "installing $*"
	say "installing with apt-get: $*"
	if [ -z "$APT_UPDATED" ] && ! apt-cache show "$@" >/dev/null 2>&1; then
		logrun apt-get update || true
	fi
	APT_UPDATED=1
	logrun env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@"
}
ensure_tools() {
	PHASE="installing build tools"
	local -a pkgs=()
	if [ "$LIBC" = musl ] && [ -z "$HOST" ]; then
		command -v "$CC" >/dev/null || pkgs+=(musl-tools)
		command -v make >/dev/null || pkgs+=(make)
	elif [ -z "$HOST" ]; then
		command -v "$CC" >/dev/null && command -v make >/dev/null &&
			[ -f "$("$CC" -print-file-name=libc.a 2>/dev/null)" ] || pkgs+=(build-essential)
	else
		# A cross compiler finds libc in the sysroot of UL_STATIC_CFLAGS.
		command -v "$CC" >/dev/null || die "cross compiler $CC not found (tools/deps.sh installs it)"
		command -v make >/dev/null || pkgs+=(make)
	fi
	command -v dpkg-source >/dev/null || pkgs+=(dpkg-dev)
	command -v pkg-config >/dev/null || pkgs+=(pkg-config)
	command -v xz >/dev/null || pkgs+=(xz-utils)
	command -v readelf >/dev/null || pkgs+=(binutils)
	[ ${#pkgs[@]} -eq 0 ] || apt_install "${pkgs[@]}"
}

# Debian's patch series edits autotools inputs (configure.ac, */Makemodule.am);
# after `dpkg-source -x` those are newer than the shipped configure/Makefile.in,
# so `make` would try to rerun aclocal-1.16/automake (not installed -> error 127).
#  touch:      date the patched inputs back before the shipped generated files.
#              Right when the build-system patches don't affect the libraries.
#  autoreconf: regenerate with ./autogen.sh (as debian/rules does); needs
#              autoconf, automake, libtool, autopoint, gettext, bison.
#  auto:       touch if every patch touching autotools inputs is in
#              KNOWN_BUILDSYS_PATCHES, else autoreconf.
prepare_buildsys() {
	local mode=$UL_STATIC_REGEN p f unknown=""
	if [ "$mode" = auto ]; then
		mode="touch"
		if [ -f debian/patches/series ]; then
			while read -r p _; do
				case "$p" in '' | '#'*) continue ;; esac
				f=$(sed -n 's/^+++ [^/]*\/\([^[:space:]]*\).*/\1/p' "debian/patches/$p")
				if grep -Eq '(^|/)(configure\.ac|[^/]*\.am|[^/]*\.m4|configure|Makefile\.in|autogen\.sh)$' <<<"$f"; then
					case " ${KNOWN_BUILDSYS_PATCHES[*]} " in
					*" $p "*) ;;
					*) unknown+=" $p" ;;
					esac
				fi
			done <debian/patches/series
		fi
		if [ -n "$unknown" ]; then
			say "unreviewed Debian patches touch the build system:$unknown -> autoreconf"
			mode=autoreconf
		fi
	fi
	if [ "$mode" = touch ]; then
		local ref n
		ref=$(($(stat -c %Y configure) - 1))
		n=0
		while IFS= read -r -d '' f; do
			touch -d "@$ref" -- "$f"
			echo "dated back: $f" >>"$LOG"
			n=$((n + 1))
		done < <(find . -path ./debian -prune -o \( -name configure.ac -o -name '*.am' -o -name '*.m4' \) -newer configure -print0)
		say "autotools inputs patched by Debian: $n (dated back, no autoreconf needed)"
	else
		local -a pkgs=()
		for p in autoconf automake libtool autopoint gettext bison; do
			dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || pkgs+=("$p")
		done
		[ ${#pkgs[@]} -eq 0 ] || apt_install "${pkgs[@]}"
		say "regenerating the build system (./autogen.sh)"
		logrun ./autogen.sh
	fi
}

ensure_deb_src
ensure_tools
say "building $SRCPKG $WANT (static libuuid, libblkid, libmount, libfdisk) into $OUTDIR; log: $LOG"

# --- 3. fetch, unpack, configure, build, install ------------------------------------
PHASE="download"
mkdir -p "$DL"
rm -rf -- "$TREE"
# Keep the downloaded files of this version only.
find "$DL" -mindepth 1 -maxdepth 1 ! -name "${SRCPKG}_${WANT}.*" ! -name "${SRCPKG}_${WANT%%-*}.orig.*" -exec rm -rf -- {} +
say "fetching source package: apt-get source --download-only $SRCPKG"
(cd "$DL" && logrun apt-get "${APT_OPTS[@]}" source --download-only "$SRCPKG")
DSC="$DL/${SRCPKG}_${WANT}.dsc"
[ -f "$DSC" ] || die "apt-get source did not produce $DSC"

PHASE="unpack"
say "unpacking with dpkg-source -x (Debian patches applied)"
logrun dpkg-source -x "$DSC" "$TREE"
cd "$TREE"

PHASE="build-system preparation"
prepare_buildsys

if [ "$LIBC" = musl ]; then
	# The kernel's headers of the target: the machine's own (musl-gcc's gcc
	# is the machine's) or the sysroot's (gcc -print-sysroot answers with
	# UL_STATIC_CFLAGS' --sysroot); the gcc's multiarch directory holds asm/.
	read -r -a SYSROOT_CFLAGS <<<"$UL_STATIC_CFLAGS"
	inc=$("$CC" "${SYSROOT_CFLAGS[@]}" -print-sysroot)/usr/include
	rm -rf -- "$MUSL_INCLUDE"
	mkdir -p "$MUSL_INCLUDE"
	ln -s "$inc/linux" "$inc/asm-generic" "$MUSL_INCLUDE/"
	ln -s "$inc/$("$CC" -dumpmachine)/asm" "$MUSL_INCLUDE/asm"
	for d in linux asm-generic asm; do
		[ -d "$MUSL_INCLUDE/$d/" ] || die "no kernel headers at $(readlink "$MUSL_INCLUDE/$d") (linux-libc-dev)"
	done
fi

PHASE="configure"
say "configure CFLAGS='$UL_STATIC_CFLAGS' ${CONFIGURE_FLAGS[*]}"
logrun ./configure CC="$CC" CFLAGS="$UL_STATIC_CFLAGS" "${CONFIGURE_FLAGS[@]}"
if grep -q 'unrecognized options' "$LOG"; then
	die "configure did not recognise some options: $(grep 'unrecognized options' "$LOG")"
fi

PHASE="make"
JOBS=${UL_STATIC_JOBS:-$(nproc 2>/dev/null || echo 1)}
say "make -j$JOBS (libraries only)"
# With --disable-all-programs, `make all` builds just the enabled libraries and
# their .pc files (checked after the install below).
logrun make -j"$JOBS"

PHASE="install"
say "installing into $OUTDIR"
rm -rf -- "${OUTDIR:?}/lib" "${OUTDIR:?}/include" "${OUTDIR:?}/share"
logrun make install
rm -rf -- "$OUTDIR/share"               # man pages
rm -f -- "$OUTDIR"/lib/lib*.la          # libtool archives: not needed, hold absolute paths
cd "$OUTDIR"
for d in */; do # empty bin/, sbin/, ... left by `make install`
	[ "$d" = src/ ] || find "$d" -depth -type d -empty -delete
done
extra=$(find lib include -mindepth 1 -maxdepth 1 ! -name 'lib*.a' ! -name pkgconfig ! -name uuid ! -name blkid ! -name libmount ! -name libfdisk)
extra+=$(find . -mindepth 1 -maxdepth 1 ! -name lib ! -name include ! -name src ! -name '.*' ! -name build.log)
[ -z "$extra" ] || die "make install produced unexpected files: $extra"

for l in "${UL_LIBS[@]}"; do
	[ -f "lib/lib$l.a" ] || die "missing lib/lib$l.a"
	[ -f "lib/pkgconfig/$l.pc" ] || die "missing lib/pkgconfig/$l.pc"
done
for d in uuid blkid libmount libfdisk; do
	compgen -G "include/$d/*.h" >/dev/null || die "missing include/$d/*.h"
done

# --- 5. verify: a fully static program using all three libraries ------------------
PHASE="verification"
say "verifying: $CC -static with pkg-config --static flags"
export PKG_CONFIG_PATH="$OUTDIR/lib/pkgconfig"
for l in "${UL_LIBS[@]}"; do
	got=$(pkg-config --variable=libdir "$l")
	[ "$got" = "$OUTDIR/lib" ] || die "pkg-config resolves $l to $got, not $OUTDIR/lib"
done
WORKTMP=$(mktemp -d /tmp/ulstatic-verify.XXXXXX)
cat >"$WORKTMP/t.c" <<'EOF'
#include <stdio.h>
#include <libfdisk.h>
#include <libmount.h>
#include <blkid.h>

int main(void)
{
	struct fdisk_context *f = fdisk_new_context();
	struct libmnt_context *m = mnt_new_context();
	blkid_probe p = blkid_new_probe();

	if (!f || !m || !p) {
		fprintf(stderr, "allocation failed: fdisk=%p mount=%p blkid=%p\n",
			(void *)f, (void *)m, (void *)p);
		return 1;
	}
	blkid_free_probe(p);
	mnt_free_context(m);
	fdisk_unref_context(f);
	puts("libfdisk, libmount, libblkid: ok");
	return 0;
}
EOF
read -r -a PC_CFLAGS <<<"$(pkg-config --static --cflags fdisk mount blkid)"
read -r -a PC_LIBS <<<"$(pkg-config --static --libs fdisk mount blkid)"
echo "pkg-config --static --cflags --libs fdisk mount blkid: ${PC_CFLAGS[*]} ${PC_LIBS[*]}" >>"$LOG"
# glibc warns that libmount's getpwnam_r/getgrnam_r/getpwuid_r need NSS
# modules at run time; expected (see log).
read -r -a VERIFY_CFLAGS <<<"$UL_STATIC_CFLAGS"
logrun "$CC" -static "${VERIFY_CFLAGS[@]}" "${PC_CFLAGS[@]}" -o "$WORKTMP/t" "$WORKTMP/t.c" "${PC_LIBS[@]}"
if readelf -lW "$WORKTMP/t" | grep -q INTERP; then die "test binary has a PT_INTERP"; fi
if readelf -dW "$WORKTMP/t" | grep -q NEEDED; then die "test binary has DT_NEEDED entries"; fi
logrun readelf -lW "$WORKTMP/t"
if [ -z "$HOST" ]; then
	logrun "$WORKTMP/t"
elif [ -n "${UL_STATIC_EMULATOR:-}" ]; then
	read -r -a EMU <<<"$UL_STATIC_EMULATOR"
	logrun "${EMU[@]}" "$WORKTMP/t"
else
	say "not running the $HOST test binary: no UL_STATIC_EMULATOR"
fi
logrun "$STRIP" -o "$WORKTMP/t.stripped" "$WORKTMP/t"
say "test binary: static, no INTERP, no NEEDED, runs; $(stat -c %s "$WORKTMP/t") bytes ($(stat -c %s "$WORKTMP/t.stripped") stripped)"

# --- done -----------------------------------------------------------------------------
PHASE="cleanup"
rm -rf -- "$TREE"
for l in "${UL_LIBS[@]}"; do
	say "  lib/lib$l.a  $(stat -c %s "lib/lib$l.a") bytes"
done
FP=$(fingerprint) # again: the compiler may have been installed meanwhile
printf '%s\nconfig-sha256 %s\n' "$WANT" "$FP" >"$STAMP.tmp"
mv -f "$STAMP.tmp" "$STAMP"
say "done: $SRCPKG $WANT in $((SECONDS - START))s; stamp written to $STAMP"

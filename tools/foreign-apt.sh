# shellcheck shell=bash
# SPDX-License-Identifier: Apache-2.0
# foreign-apt.sh: sourced. apt for another architecture's packages with a
# private state, leaving the host's dpkg untouched (no `dpkg
# --add-architecture`): tools/make-sysroot.sh (the cross builds' target
# libraries), tests/vm/fetch-kernel.sh --arch arm64 (the arm64 VM's kernel
# and busybox), tests/vm/fetch-target-tools.sh (its mkfs and e2fsck) and
# tests/vm/fetch-qemu.sh (the host's architecture, another suite).
#
# foreign_apt_setup ARCH APTDIR: makes APTDIR (its own index of ARCH, an
# empty dpkg status, its own download cache), writes APTDIR/etc/sources.list
# with the archives that serve the host's libc6 (checked with the host's apt
# keys), and sets the array FOREIGN_APT_OPTS: the options to pass to apt-get
# and apt-cache. Returns 1 when apt-cache policy names no archive. An APTDIR
# that exists keeps its index (apt-get update then fetches only what changed).
# apt-get, apt-cache: Debian "required" packages, on every system.

foreign_apt_setup() {
	local arch=$1 aptdir=$2
	mkdir -p "$aptdir"/{lists/partial,archives/partial,etc/preferences.d,etc/sources.list.d}
	[ -e "$aptdir/status" ] || : >"$aptdir/status"
	# deb lines for ARCH from the archives that serve the host's libc6, e.g.
	# "500 http://deb.debian.org/debian bookworm/main amd64 Packages".
	apt-cache policy libc6 |
		awk -v arch="$arch" '$1 ~ /^[0-9]+$/ && $2 ~ /:\/\// && $3 ~ /\// && $5 == "Packages" {
			split($3, sc, "/"); print "deb [arch=" arch "] " $2 " " sc[1] " " sc[2] }' |
		sort -u >"$aptdir/etc/sources.list"
	[ -s "$aptdir/etc/sources.list" ] || return 1
	# shellcheck disable=SC2034 # for the scripts that source this
	FOREIGN_APT_OPTS=(-q
		-o Dir::State="$aptdir" -o Dir::State::Lists="$aptdir/lists"
		-o Dir::State::status="$aptdir/status" -o Dir::Cache="$aptdir"
		-o Dir::Cache::archives="$aptdir/archives"
		-o Dir::Cache::pkgcache= -o Dir::Cache::srcpkgcache=
		-o Dir::Etc::sourcelist="$aptdir/etc/sources.list"
		-o Dir::Etc::sourceparts="$aptdir/etc/sources.list.d"
		-o Dir::Etc::preferencesparts="$aptdir/etc/preferences.d"
		-o APT::Architecture="$arch" -o APT::Architectures::="$arch"
		-o APT::Sandbox::User=root -o Acquire::Retries=3
		-o APT::Install-Recommends=false -o Debug::NoLocking=true)
}

# foreign_apt_unpack DIR PKG=VERSION...: downloads the packages with
# FOREIGN_APT_OPTS into DIR/debs and unpacks them all into DIR/root (made
# anew); the .debs are removed again. Returns 1, saying which, when a
# download or an unpack fails.
foreign_apt_unpack() {
	local dir=$1 deb
	shift
	rm -rf "$dir/root" "$dir/debs"
	mkdir -p "$dir/debs" "$dir/root"
	if ! (cd "$dir/debs" && apt-get "${FOREIGN_APT_OPTS[@]}" download "$@" >&2); then
		echo "apt-get download $* failed" >&2
		return 1
	fi
	for deb in "$dir"/debs/*.deb; do
		dpkg-deb -x "$deb" "$dir/root" || { echo "cannot unpack $deb" >&2; return 1; }
	done
	rm -rf "$dir/debs"
}

# foreign_apt_update: apt-get update with FOREIGN_APT_OPTS, tried three
# times five seconds apart (a mirror's index can be mid-sync); returns 1
# when every try failed.
foreign_apt_update() {
	local try
	for try in 1 2 3; do
		apt-get "${FOREIGN_APT_OPTS[@]}" update >&2 && return 0
		[ "$try" -lt 3 ] && sleep 5
	done
	return 1
}

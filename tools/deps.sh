#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# deps.sh [--check | --which NAME | --packages]: the Debian 12 packages of
# tools/deps.list, which the build, the demo, the tests and the benchmarks use.
#
#   deps.sh            installs (as root) the listed packages that are missing
#   deps.sh --check    installs nothing; exits 1 naming each listed package
#                      that is not installed and each listed program or file
#                      that is missing (with its package), and each listed
#                      file that dpkg says another package owns
#   deps.sh --which NAME   prints the package that provides NAME (a program
#                      or an absolute path) according to the list; exit 1
#                      when the list does not name it
#   deps.sh --packages prints the listed packages, one a line
set -euo pipefail

LIST=$(dirname "$(readlink -f "$0")")/deps.list
[ -r "$LIST" ] || { echo "deps: $LIST missing" >&2; exit 1; }
# Programs in /usr/sbin and /sbin count even for a user whose PATH lacks them.
PATH=$PATH:/usr/local/sbin:/usr/sbin:/sbin

# list_entries: "PACKAGE [PROVIDES...]" lines of the list, comments dropped.
list_entries() { sed -e 's/#.*//' -e 's/[[:space:]]\+/ /g' -e 's/^ //' -e 's/ $//' "$LIST" | grep -v '^$'; }

packages() { list_entries | cut -d' ' -f1; }

installed() { dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null | grep -qx installed; }

present() { # present NAME: an absolute path exists, or a program is in PATH
	case $1 in
	/*) [ -e "$1" ] ;;
	*) command -v "$1" >/dev/null 2>&1 ;;
	esac
}

which_package() {
	local pkg item
	while read -r pkg items; do
		for item in $items; do
			[ "$item" = "$1" ] && { echo "$pkg"; return 0; }
		done
	done < <(list_entries)
	return 1
}

check() {
	local pkg item owner bad=0
	while read -r pkg items; do
		if ! installed "$pkg"; then
			echo "deps: package $pkg is not installed (tools/deps.sh installs it)" >&2
			bad=1
			continue
		fi
		for item in $items; do
			if ! present "$item"; then
				echo "deps: $item missing although $pkg is installed" >&2
				bad=1
			elif [ "${item#/}" != "$item" ]; then
				# The list must name the package that really ships the file, or
				# the harness would tell the user to install the wrong one.
				owner=$(dpkg-query -S "$item" 2>/dev/null | cut -d: -f1 | tr ',' '\n' | tr -d ' ' | grep -x "$pkg" || true)
				[ -n "$owner" ] || { echo "deps: $item is listed under $pkg, but dpkg says: $(dpkg-query -S "$item" 2>&1 | head -1)" >&2; bad=1; }
			fi
		done
	done < <(list_entries)
	[ $bad = 0 ] && echo "deps: all $(packages | wc -l) packages of $LIST and what they provide are present"
	return $bad
}

install_missing() {
	local missing=() p
	for p in $(packages); do installed "$p" || missing+=("$p"); done
	[ ${#missing[@]} -eq 0 ] && return 0
	[ "$(id -u)" = 0 ] || { echo "deps: missing packages: ${missing[*]} (run as root to install them)" >&2; exit 1; }
	echo "deps: installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

case ${1:-} in
--check) check ;;
--which) which_package "${2:?usage: deps.sh --which NAME}" ;;
--packages) packages ;;
"") install_missing ;;
-h | --help) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0" ;;
*) echo "deps: unknown option $1 (see deps.sh --help)" >&2; exit 2 ;;
esac

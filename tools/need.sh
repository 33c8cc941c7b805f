# SPDX-License-Identifier: Apache-2.0
# need.sh: sourced by the scripts of the build, tests and benchmarks.
#
# need NAME...: call before using a host program or file (an absolute path)
# that is not part of otaroot. Exits 1 with the name and the Debian package
# that provides it when it is missing, and also when tools/deps.list does not
# list it: a dependency nobody listed then fails on every machine, not only on
# a fresh one where nothing was installed by hand.
#
# The Python harness has the same check in tests/vm/need.py.

_NEED_DEPS=$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/deps.sh

need() {
	local name pkg
	for name; do
		if ! pkg=$("$_NEED_DEPS" --which "$name"); then
			echo "need: $name is used but tools/deps.list does not list it: add it under the Debian package that provides it" >&2
			exit 1
		fi
		local kind=program found=
		case $name in
		/*) kind=file; [ -e "$name" ] && found=1 ;;
		*) PATH=$PATH:/usr/local/sbin:/usr/sbin:/sbin command -v "$name" >/dev/null 2>&1 && found=1 ;;
		esac
		if [ -z "${found:-}" ]; then
			echo "missing host $kind $name: install the Debian package $pkg (tools/deps.sh installs what the build, tests and benchmarks need)" >&2
			exit 1
		fi
	done
}

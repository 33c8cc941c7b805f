#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# need-check.sh REPO: tools/need.sh against a list of its own (a copy of
# need.sh and deps.sh beside a made-up deps.list): a missing file or program
# fails naming its package wherever it stands among the names, an unlisted
# name fails, names all present pass.
set -uo pipefail
repo=${1:?usage: need-check.sh REPO}
w=$(mktemp -d)
trap 'rm -rf "$w"' EXIT
cp "$repo/tools/need.sh" "$repo/tools/deps.sh" "$w/"
cat >"$w/deps.list" <<'LIST'
present-pkg   sh /bin
absent-pkg    /nonexistent/otaroot-need-check no-such-program-otaroot
LIST
failed=0
expect() { # expect NAME WANT(ok|fail) PATTERN NAMES...
	local name=$1 want=$2 pattern=$3 out rc=0
	shift 3
	out=$(bash -c '. "$0/need.sh"; need "$@"' "$w" "$@" 2>&1) || rc=$?
	if { [ "$want" = ok ] && [ $rc = 0 ]; } || { [ "$want" = fail ] && [ $rc != 0 ] && grep -qF -- "$pattern" <<<"$out"; }; then
		echo "ok   $name"
	else
		echo "FAIL $name: exit $rc: $out"; failed=1
	fi
}
expect all-present ok "" sh /bin
expect missing-file-first fail "missing host file /nonexistent/otaroot-need-check: install the Debian package absent-pkg" \
	/nonexistent/otaroot-need-check sh
expect missing-file-after-present-ones fail "install the Debian package absent-pkg" sh /bin /nonexistent/otaroot-need-check
expect missing-program-last fail "missing host program no-such-program-otaroot" sh no-such-program-otaroot
expect unlisted fail "does not list it" sh ls
exit $failed

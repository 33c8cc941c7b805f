# SPDX-License-Identifier: Apache-2.0
# tally.sh: pass/fail counting for the integration scripts. Source it, then
#   ok NAME            # one check passed
#   bad NAME WHY       # one check failed (the script goes on)
#   tally_end          # prints the counts; fails if any check failed
#   check NAME CMD...  # ok if CMD succeeds, else bad with the start of its output
#   fails NAME WANT CMD...  # ok if CMD exits 1 with WANT in its stderr
#                           # (left in fail.err, fail.out in the current directory)
passed=0
failed=0
ok() { echo "ok   $1"; passed=$((passed + 1)); }
bad() { echo "FAIL $1: $2"; failed=$((failed + 1)); }
tally_end() {
	echo "passed $passed, failed $failed"
	[ "$failed" = 0 ]
}
check() {
	local name=$1
	shift
	if "$@" >check.out 2>&1; then ok "$name"; else bad "$name" "$(head -c 600 check.out)"; fi
}
fails() {
	local name=$1 want=$2 rc=0
	shift 2
	"$@" >fail.out 2>fail.err || rc=$?
	if [ "$rc" = 1 ] && grep -qF -- "$want" fail.err; then ok "$name: exit 1 naming '$want'"
	else bad "$name" "exit $rc, stderr: $(head -c 400 fail.err)"; fi
}

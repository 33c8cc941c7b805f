# SPDX-License-Identifier: Apache-2.0
# tally.sh: pass/fail counting for the integration scripts. Source it, then
#   ok NAME            # one check passed
#   bad NAME WHY       # one check failed (the script goes on)
#   tally_end          # prints the counts; fails if any check failed
passed=0
failed=0
ok() { echo "ok   $1"; passed=$((passed + 1)); }
bad() { echo "FAIL $1: $2"; failed=$((failed + 1)); }
tally_end() {
	echo "passed $passed, failed $failed"
	[ "$failed" = 0 ]
}

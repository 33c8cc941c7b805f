#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# ota-commit.sh SCRIPT: the decisions of systemd/ota-commit (ota-commit.service)
# with a fake ota-update and systemctl that record their calls: not a trial
# boot; healthy -> commit; a failed hook or an inactive boot-complete.target
# with on-failure=reboot (reboot, trial left uncommitted) and with wait
# (retry, commit once healthy); the deadline (rollback --reboot); a boot
# state that cannot be read.
set -euo pipefail
S=$(realpath "${1:?usage: ota-commit.sh SCRIPT}")
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
cd "$W"
mkdir bin
# fake ota-update: state in files. trial: running|none; commit-fails: number
# of commits that fail before one succeeds; status-fails: status exits 1.
cat >bin/ota-update <<'SH'
#!/bin/sh
D=$(dirname "$0")/..
echo "ota-update $*" >>"$D/calls"
case "$1" in
status)
	[ -f "$D/status-fails" ] && exit 1
	printf '{ "booted": "b", "trial_state": "%s" }\n' "$(cat "$D/trial")" ;;
commit)
	n=$(cat "$D/commit-fails")
	if [ "$n" -gt 0 ]; then echo $((n - 1)) >"$D/commit-fails"; echo "hook failed" >&2; exit 1; fi
	echo none >"$D/trial" ;;
rollback) echo none >"$D/trial" ;;
esac
SH
cat >bin/systemctl <<'SH'
#!/bin/sh
D=$(dirname "$0")/..
echo "systemctl $*" >>"$D/calls"
case "$1" in
is-active) [ "$(cat "$D/target")" = active ] ;;
reboot) exit 0 ;;
esac
SH
cat >bin/sleep <<'SH'
#!/bin/sh
# time passes: each retry adds the interval to the uptime
D=$(dirname "$0")/..
echo "sleep $*" >>"$D/calls"
echo "$(( $(cut -d. -f1 "$D/uptime") + $1 )).00 0.00" >"$D/uptime"
SH
chmod +x bin/*
passed=0 failed=0
# case NAME TRIAL COMMIT-FAILS TARGET UPTIME ENV... -- EXPECTED-RC EXPECTED-CALLS
run_case() {
	local name=$1 trial=$2 fails=$3 target=$4 up=$5
	shift 5
	local -a env=()
	while [ "$1" != -- ]; do env+=("$1"); shift; done
	shift
	local want_rc=$1 want=$2 rc=0
	echo "$trial" >trial; echo "$fails" >commit-fails; echo "$target" >target; echo "$up.00 0.00" >uptime
	: >calls; rm -f status-fails
	[ "$trial" = broken ] && : >status-fails
	env -i PATH="$W/bin:/usr/bin:/bin" OTA_UPDATE="$W/bin/ota-update" OTA_PROC_UPTIME="$W/uptime" "${env[@]}" \
		"$S" >out 2>&1 || rc=$?
	local got
	got=$( (grep -v 'ota-update status' calls || true) | paste -sd';' -)
	if [ "$rc" = "$want_rc" ] && [ "$got" = "$want" ]; then
		echo "ok   $name: $got"; passed=$((passed + 1))
	else
		echo "FAIL $name: exit $rc (want $want_rc), calls '$got', want '$want'"; sed 's/^/     /' out
		failed=$((failed + 1))
	fi
}
run_case "not a trial boot" none 0 active 30 -- 0 ""
run_case "healthy trial committed" running 0 active 30 -- 0 "systemctl is-active --quiet boot-complete.target;ota-update commit"
run_case "hook fails, on-failure=reboot" running 1 active 30 -- 0 \
	"systemctl is-active --quiet boot-complete.target;ota-update commit;systemctl reboot"
run_case "health unit failed, on-failure=reboot: no commit tried" running 0 failed 30 -- 0 \
	"systemctl is-active --quiet boot-complete.target;systemctl reboot"
run_case "on-failure=wait: retried, then committed" running 2 active 30 OTA_COMMIT_ON_FAILURE=wait OTA_COMMIT_RETRY_INTERVAL=10 -- 0 \
	"systemctl is-active --quiet boot-complete.target;ota-update commit;sleep 10;systemctl is-active --quiet boot-complete.target;ota-update commit;sleep 10;systemctl is-active --quiet boot-complete.target;ota-update commit"
run_case "on-failure=wait: deadline rolls back" running 99 active 30 OTA_COMMIT_ON_FAILURE=wait OTA_COMMIT_RETRY_INTERVAL=20 OTA_COMMIT_DEADLINE=60 -- 0 \
	"systemctl is-active --quiet boot-complete.target;ota-update commit;sleep 20;systemctl is-active --quiet boot-complete.target;ota-update commit;sleep 20;systemctl is-active --quiet boot-complete.target;ota-update commit;ota-update rollback --reboot"
run_case "past the deadline at start: rolled back, not rebooted" running 1 active 1000 OTA_COMMIT_DEADLINE=900 -- 0 \
	"systemctl is-active --quiet boot-complete.target;ota-update commit;ota-update rollback --reboot"
run_case "deadline 0: never rolled back" running 1 active 100000 OTA_COMMIT_DEADLINE=0 -- 0 \
	"systemctl is-active --quiet boot-complete.target;ota-update commit;systemctl reboot"
run_case "another target" running 0 active 30 OTA_COMMIT_TARGET=graphical.target -- 0 \
	"systemctl is-active --quiet graphical.target;ota-update commit"
run_case "boot state unreadable" broken 0 active 30 -- 1 ""
# ota-trial-armed (ExecCondition= of ota-update-reboot.service): 0 only when
# an update is armed for the next boot.
ARMED=$(dirname "$S")/ota-trial-armed
for t in armed:0 running:1 none:1; do
	echo "${t%%:*}" >trial; rm -f status-fails
	rc=0; env -i PATH="$W/bin:/usr/bin:/bin" OTA_UPDATE="$W/bin/ota-update" "$ARMED" || rc=$?
	if [ "$rc" = "${t#*:}" ]; then echo "ok   ota-trial-armed, trial ${t%%:*}: exit $rc"; passed=$((passed + 1))
	else echo "FAIL ota-trial-armed, trial ${t%%:*}: exit $rc"; failed=$((failed + 1)); fi
done
echo "ota-commit: $passed passed, $failed failed"
[ "$failed" = 0 ]

#!/bin/bash
# state.sh OTA_STATE_BINARY: ota-state against a real ext4 data partition on
# a loop device, mounted at /run/ota/data inside a private mount namespace
# (so nothing leaks into the host). Root needed.
set -euo pipefail
. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../../tools/need.sh"
need mkfs.ext4
bin=$(readlink -f "${1:?usage: state.sh OTA_STATE}")
[ "$(id -u)" = 0 ] || { echo "FAIL: needs root (loop devices, mount namespaces)"; exit 1; }
if [ "${OTA_IT_INNER:-}" != 1 ]; then
	exec env OTA_IT_INNER=1 unshare --mount --propagation private "$0" "$@"
fi

. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../lib/workdir.sh"
work=$(mktemp -d /var/tmp/ota-it-state.XXXXXX)
loop=
cleanup() {
	# The binds ota-state made live under $work; undo them deepest first.
	awk -v w="$work" '$2 ~ "^"w {print $2}' /proc/self/mounts | sort -r | xargs -r -n1 umount -l
	umount -R /run 2>/dev/null || true
	release_workdir "$work"
}
trap cleanup EXIT

passed=0 failed=0
ok() { echo "ok   $*"; passed=$((passed + 1)); }
bad() { echo "FAIL $*"; failed=$((failed + 1)); }
check() { # check NAME COMMAND...: the command must succeed
	local name=$1; shift
	if "$@" >"$work/out" 2>&1; then ok "$name"; else bad "$name"; sed 's/^/     /' "$work/out"; fi
}
refuse() { # refuse NAME MESSAGE ota-state ARGS...: must fail, naming the rule
	local name=$1 msg=$2; shift 2
	if "$bin" --root "$work/root" "$@" >"$work/out" 2>&1; then
		bad "$name (succeeded)"; sed 's/^/     /' "$work/out"
	elif grep -qF -- "$msg" "$work/out"; then ok "$name"
	else bad "$name (message)"; echo "     expected: $msg"; sed 's/^/     got: /' "$work/out"; fi
}
ost() { "$bin" --root "$work/root" "$@"; }

# A 48 MiB ext4 on a loop device as the data partition.
truncate -s 48M "$work/data.img"
mkfs.ext4 -q -L data "$work/data.img"
loop=$(losetup --show -f "$work/data.img")
mount -t tmpfs tmpfs /run
mkdir -p /run/ota/data
mount "$loop" /run/ota/data
D=/run/ota/data

# Configuration: one good drop-in, one malformed one.
mkdir -p "$work/root/etc/ota/state.d" "$work/root/usr/lib/ota/state.d"
T=$work/sys
mkdir -p "$T/app/sub" "$T/declared" "$T/other"
cat > "$work/root/etc/ota/state.d/10-app.conf" <<EOT
[persist $T/declared]
keep-on-reset = yes
EOT
printf '[persist %s/other]\nbogus = 1\n' "$T" > "$work/root/etc/ota/state.d/20-broken.conf"

# Content with every kind of metadata.
echo hello > "$T/app/file"
echo nested > "$T/app/sub/deep"
ln -s file "$T/app/link"
mkfifo "$T/app/fifo"
chown 1234:5678 "$T/app/file"
chmod 0640 "$T/app/file"
chmod 0750 "$T/app/sub"
touch -d '2001-02-03 04:05:06' "$T/app/file"
python3 -c "import os; os.setxattr('$T/app/file', 'user.ota', b'xattr-value')"

check "persist a directory" ost persist "$T/app"
check "it is bind-mounted now" mountpoint -q "$T/app"
S=$D/ota/state/persist$T/app
check "stored copy keeps owner and mode" test "$(stat -c '%u:%g %a' "$S/file")" = "1234:5678 640"
check "stored copy keeps mtime" test "$(stat -c %Y "$S/file")" = "$(date -d '2001-02-03 04:05:06' +%s)"
check "stored copy keeps xattrs" python3 -c "import os; assert os.getxattr('$S/file', 'user.ota') == b'xattr-value'"
check "stored copy keeps symlinks and FIFOs" test -L "$S/link" -a -p "$S/fifo" -a "$(readlink "$S/link")" = file
check "stored copy keeps directory modes" test "$(stat -c %a "$S/sub")" = 750
check "entry recorded in runtime.conf" grep -qxF "[persist $T/app]" "$D/ota/state/runtime.conf"
echo written-after > "$T/app/new"
check "writes land in the store" test "$(cat "$S/new")" = written-after
check "persist is idempotent" sh -c "'$bin' --root '$work/root' persist '$T/app' | grep -q 'persisted already'"
check "list shows the runtime entry" sh -c "'$bin' --root '$work/root' list | grep -E '^$T/app +directory +yes +no +runtime'"
check "list shows the declared entry" sh -c "'$bin' --root '$work/root' list | grep -E '^$T/declared +auto +no +yes +/etc/ota/state.d/10-app.conf'"

echo single > "$T/onefile"
check "persist a single file" ost persist "$T/onefile"
check "the file is bind-mounted" mountpoint -q "$T/onefile"

refuse "relative path refused" "is relative" persist relative/path
refuse "'..' refused" "contains '.' or '..'" persist "$T/app/../x"
refuse "/proc refused" "is under /proc" persist /proc/sys
refuse "/run refused" "is under /run" persist /run/foo
refuse "state store refused" "is inside the state store" persist /run/ota/data/ota
refuse "/ refused" "'/' itself cannot be persisted" persist /
refuse "child of a persisted path refused" "is already covered by persisted $T/app" persist "$T/app/sub"
refuse "parent of a persisted path refused" "contains persisted" persist "$T"
refuse "missing path refused" "No such file or directory" persist "$T/missing"
refuse "declared entry cannot be unpersisted" "is declared in" unpersist "$T/declared"
refuse "unknown entry cannot be unpersisted" "is not persisted" unpersist "$T/other"

check "malformed drop-in reported by status" sh -c "'$bin' --root '$work/root' status | grep -F 'config error' | grep -qF '20-broken.conf:2'"
check "status --json is JSON with the facts" python3 -c "
import json, subprocess
s = json.loads(subprocess.check_output(['$bin', '--root', '$work/root', 'status', '--json']))
assert s['data_mounted'] is True, s
assert s['data_bytes_total'] > 30 << 20, s
assert s['persisted_paths'] == 3, s
assert any('20-broken.conf' in e for e in s['config_errors']), s
"

check "unpersist" ost unpersist "$T/app"
check "no longer mounted" sh -c "! mountpoint -q '$T/app'"
check "copy set aside" test -f "$D/ota/state/unpersisted$T/app/new"
check "entry gone from runtime.conf" sh -c "! grep -qF '[persist $T/app]' '$D/ota/state/runtime.conf'"
check "unpersist --drop" ost unpersist --drop "$T/onefile"
check "dropped copy is in the trash" sh -c "ls '$D/ota/trash' | grep -q '^unpersisted-'"
check "persist again after unpersist" ost persist "$T/app"

# A full data partition: persist fails cleanly and leaves the store as it was.
cp "$D/ota/state/runtime.conf" "$work/runtime.before"
mkdir -p "$T/big"
head -c 60M /dev/urandom > "$T/big/blob"
refuse "full data partition refused" "the data partition is full" persist "$T/big"
check "runtime.conf unchanged" cmp "$D/ota/state/runtime.conf" "$work/runtime.before"
check "no staging leftovers" sh -c "[ -z \"\$(ls -A '$D/ota/state/staging' 2>/dev/null)\" ]"
check "no half copy in the store" test ! -e "$D/ota/state/persist$T/big"
check "not mounted" sh -c "! mountpoint -q '$T/big'"

refuse "bad backup name refused" "backup name '../x'" reset --backup ../x
check "reset request" ost reset --backup before-reset
check "reset request recorded" test "$(cat "$D/ota/reset-request")" = "backup=before-reset"

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]

#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
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
	# (mount points with blanks are octal-escaped in /proc/self/mounts)
	python3 -c 'import re
for l in open("/proc/self/mounts"):
    print(re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), l.split()[1]))' |
		grep -F "$work" | sort -r | xargs -d '\n' -r -n1 umount -l
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

# Issue 15, class 9: a FIFO or a directory named *.conf in state.d is
# reported as not a regular file, never waited on (timeout: a hang fails).
mkfifo "$work/root/etc/ota/state.d/30-pipe.conf"
mkdir "$work/root/usr/lib/ota/state.d/31-dir.conf"
check "FIFO and directory in state.d reported, no hang" sh -c "
	timeout 20 '$bin' --root '$work/root' status >'$work/status' &&
	grep -qF \"30-pipe.conf' is a FIFO, not a regular file; file skipped\" '$work/status' &&
	grep -qF \"31-dir.conf' is a directory, not a regular file; file skipped\" '$work/status' &&
	grep -qF 'persisted paths:  3' '$work/status'"
rm "$work/root/etc/ota/state.d/30-pipe.conf"
rmdir "$work/root/usr/lib/ota/state.d/31-dir.conf"

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

# Issue #15 class 4: every accepted path round-trips through runtime.conf.
odd=("$T/semi;colon" "$T/hash #sign" "$T/ trailing blank " "$T/eq = sign" "$T/$(printf 'l%.0s' $(seq 1 200))/$(printf 'm%.0s' $(seq 1 200))/$(printf 'n%.0s' $(seq 1 200))")
for p in "${odd[@]}"; do mkdir -p "$p"; echo "$p" > "$p/who"; done
check "persist paths with ';', '#', '=', blanks, 600+ bytes" ost persist "${odd[@]}"
check "list shows every one of them" python3 -c "
import json, subprocess, sys
paths = {e['path']: e for e in json.loads(subprocess.check_output(['$bin', '--root', '$work/root', 'list', '--json']))}
for p in sys.argv[1:]:
    assert p in paths and paths[p]['active'] and paths[p]['source'] == 'runtime', (p, sorted(paths))
assert '$T/app' in paths, sorted(paths)
" "${odd[@]}"
check "unpersist one of them keeps the others" ost unpersist --drop "$T/hash #sign"
check "the others are still recorded" python3 -c "
import json, subprocess, sys
paths = [e['path'] for e in json.loads(subprocess.check_output(['$bin', '--root', '$work/root', 'list', '--json']))]
assert sorted(paths) == sorted(sys.argv[1:]), paths
" "$T/app" "$T/declared" "${odd[0]}" "${odd[2]}" "${odd[3]}" "${odd[4]}"
refuse "control character refused" "control character 0x01" persist "$T/ctl$(printf '\001')x"
refuse "tab refused" "control character 0x09" persist "$T/tab$(printf '\t')x"
refuse "path over the limit refused" "is longer than 3840 bytes" persist "/$(printf 'p%.0s' $(seq 1 3900))"

# A runtime.conf that does not parse is reported, kept, never rewritten.
cp "$D/ota/state/runtime.conf" "$work/runtime.good"
printf 'garbage without equals\n' >> "$D/ota/state/runtime.conf"
lines=$(wc -l < "$D/ota/state/runtime.conf")
cp "$D/ota/state/runtime.conf" "$work/runtime.broken"
mkdir -p "$T/later"
refuse "persist refused on a broken runtime.conf" "runtime.conf:$lines:" persist "$T/later"
refuse "unpersist refused on a broken runtime.conf" "runtime.conf:$lines:" unpersist "$T/app"
refuse "reset refused on a broken runtime.conf" "runtime.conf:$lines:" reset
refuse "list fails naming the file and line" "runtime.conf:$lines:" list
refuse "status fails naming the file and line" "runtime.conf:$lines:" status
check "the broken file is kept as it was" cmp "$D/ota/state/runtime.conf" "$work/runtime.broken"
check "nothing was copied for the refused persist" test ! -e "$D/ota/state/persist$T/later"
cp "$work/runtime.good" "$D/ota/state/runtime.conf"

# Class 5: no depth of the tree crashes the copy; a failed copy leaves nothing.
python3 - "$T/deep900" 900 "$T/deep2600" 2600 <<'PY'
import os, sys
for i in range(1, len(sys.argv), 2):
    top, depth = sys.argv[i], sys.argv[i + 1]
    os.mkdir(top)
    fd = os.open(top, os.O_RDONLY)
    for i in range(int(depth)):
        os.mkdir("d", dir_fd=fd)
        if i % 50 == 0:
            os.close(os.open("f", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd))
        sub = os.open("d", os.O_RDONLY, dir_fd=fd)
        os.close(fd)
        fd = sub
    os.close(fd)
PY
check "persist a tree 900 levels deep" ost persist "$T/deep900"
check "its deepest level is stored" test -d "$D/ota/state/persist$T/deep900$(printf '/d%.0s' $(seq 1 900))"
cp "$D/ota/state/runtime.conf" "$work/runtime.before"
refuse "a tree deeper than PATH_MAX allows is refused" "too deep to copy" persist "$T/deep2600"
check "runtime.conf unchanged after the deep failure" cmp "$D/ota/state/runtime.conf" "$work/runtime.before"
check "no staging left after the deep failure" sh -c "[ -z \"\$(ls -A '$D/ota/state/staging' 2>/dev/null)\" ]"
check "no stored copy of the deep tree" test ! -e "$D/ota/state/persist$T/deep2600"
mkdir -p "$D/ota/state/staging/crashed/c/x"
mkdir -p "$T/after-crash"
check "persist after a crashed copy" ost persist "$T/after-crash"
check "the crashed copy's staging is cleaned" sh -c "[ -z \"\$(ls -A '$D/ota/state/staging' 2>/dev/null)\" ]"

# Class 6: the rules apply to where a path leads.
ln -s /proc "$T/to-proc"
ln -s "$(realpath --relative-to="$T" /)/dev" "$T/to-dev"
ln -s /run/ota/data "$T/to-store"
ln -s /sys/kernel "$T/to-sys"
ln -s loop-b "$T/loop-a"; ln -s loop-a "$T/loop-b"
refuse "/proc through an absolute symlink" "is under /proc" persist "$T/to-proc/sys"
refuse "/dev through a relative symlink" "is under /dev" persist "$T/to-dev/shm"
refuse "/sys through a symlink to a subdirectory" "is under /sys" persist "$T/to-sys/mm"
refuse "the store through a middle component" "inside the state store" persist "$T/to-store/ota/state"
refuse "a symlink loop" "more than 40 symlinks" persist "$T/loop-a/x"
mkdir -p "$T/real/conf"
ln -s real "$T/alias"
check "persist through a symlinked middle component" ost persist "$T/alias/conf"
check "the resolved path is recorded" grep -qxF "[persist $T/real/conf]" "$D/ota/state/runtime.conf"
check "list shows it active" sh -c "'$bin' --root '$work/root' list | grep -E '^$T/real/conf +directory +yes'"
check "the bind is on the resolved path" mountpoint -q "$T/real/conf"

refuse "bad backup name refused" "backup name '../x'" reset --backup ../x
check "reset request" ost reset --backup before-reset
check "reset request recorded" test "$(cat "$D/ota/reset-request")" = "backup=before-reset"

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]

#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# update-check.sh OTA_UPDATE OTA_BUNDLE: `ota-update check` against a channel
# document served by python's http.server on 127.0.0.1 (docs/channel.md).
# Cases: a newer version is reported, then installed and armed (once: a
# second check sees it armed); an equal and an older version are ignored; a
# relative bundle URL; a channel for another board, a bundle that is not what
# the channel announced (disarmed), a malformed channel and a dead server
# fail with a message and arm nothing.
set -euo pipefail
. "$(dirname "$(readlink -f "$0")")/../lib/itest.sh"
need curl
itest_begin "update-check.sh OTA_UPDATE OTA_BUNDLE" U B -- "$@"

# ---- server ------------------------------------------------------------------------
mkdir -p srv/stable srv/bundles
PORT=$(free_port)
# --pdeathsig: gone with this script even when a timeout SIGKILLs it
setpriv --pdeathsig TERM python3 -m http.server --bind 127.0.0.1 --directory srv "$PORT" >server.log 2>&1 &
SERVER=$!
itest_track "$SERVER"
for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$PORT/" && break; sleep 0.1; done
URL=http://127.0.0.1:$PORT
channel() { printf '%s\n' "$1" >srv/stable/channel.json; }

# ---- bundles and a device with file slots ---------------------------------------------
. "$HERE/../lib/pki.sh"
pki_signer
head -c $((4 << 20)) /dev/urandom >system-v2.img
head -c 300000 /dev/urandom >boot.img
. "$HERE/../lib/signed-bundle.sh"
bundle() { signed_bundle "$1" "$2" system=system-v2.img boot=boot.img; } # bundle FILE VERSION
bundle srv/bundles/board-2.0.otab 2.0
bundle srv/bundles/board-2.1.otab 2.1
. "$HERE/../lib/fake-device.sh"
fake_device $((4 << 20)) 300000
cat >system.conf <<CONF
$(fake_conf_head "$W" "$W/root.pem" test-board 2.0)
channel = $URL/stable/channel.json
http-connect-timeout = 3
http-attempts = 2
$(fake_slots "$W")
CONF
C=(--config "$W/system.conf")
run() { rc=0; "$U" "${C[@]}" "$@" >out.txt 2>err.txt || rc=$?; }

# expect_nothing NAME RC PATTERN ARGS...: that exit code, the pattern in the
# output, nothing armed, no request for a bundle.
expect_nothing() {
	local name=$1 want=$2 pattern=$3
	shift 3
	: >server.log
	run "$@"
	if [ "$rc" != "$want" ]; then bad "$name" "exit $rc, expected $want: $(cat out.txt err.txt)"; return; fi
	if ! cat out.txt err.txt | grep -q -- "$pattern"; then bad "$name" "output lacks '$pattern': $(cat out.txt err.txt)"; return; fi
	if [ "$(fake_calls arm)" != 0 ]; then bad "$name" "armed: $(cat calls)"; return; fi
	if grep -q 'GET /bundles/' server.log; then bad "$name" "fetched a bundle"; return; fi
	ok "$name: $(cat out.txt err.txt | tr '\n' ' ' | head -c 200)"
}

# ---- equal and older versions: nothing to do -------------------------------------------
fake_reset
channel '{"format":1,"compatible":"test-board","version":"2.0","bundle":"/bundles/board-2.0.otab"}'
expect_nothing "equal version ignored" 0 "up to date: running 2.0, the channel offers 2.0" check --install
channel '{"version":"1.9.9","bundle":"/bundles/board-2.0.otab"}'
expect_nothing "older version ignored" 0 "up to date" check --install
channel '{"version":"2.0~rc1","bundle":"/bundles/board-2.0.otab"}'
expect_nothing "pre-release of the running version ignored" 0 "up to date" check --install

# ---- newer: reported, then installed --------------------------------------------------
channel "{\"format\":1,\"compatible\":\"test-board\",\"version\":\"2.1\",\"bundle\":\"../bundles/board-2.1.otab\",\"size\":$(stat -c %s srv/bundles/board-2.1.otab)}"
expect_nothing "newer version reported without --install" 0 "update available: 2.0 -> 2.1 ($URL/bundles/board-2.1.otab)" check
run check --install
if [ "$rc" = 0 ] && grep -q 'installed 2.1 into group b' out.txt && [ "$(fake_calls arm)" = 1 ] &&
	cmp -s slots/system-b system-v2.img && cmp -s slots/boot-b boot.img && grep -q '^trial=b' bf.state; then
	ok "newer version installed from a relative bundle URL and armed: $(head -1 out.txt)"
else
	bad "install" "exit $rc: $(cat out.txt err.txt) calls: $(cat calls)"
fi
: >server.log
run check --install --json
if [ "$rc" = 0 ] && grep -q '"result":"armed"' out.txt && [ "$(fake_calls arm)" = 1 ] && ! grep -q 'GET /bundles/' server.log; then
	ok "second check: already installed and armed, not installed again"
else
	bad "second check" "exit $rc: $(cat out.txt err.txt) calls: $(cat calls)"
fi

# ---- failures ---------------------------------------------------------------------------
fake_reset
channel '{"compatible":"other-board","version":"9.0","bundle":"/bundles/board-2.1.otab"}'
expect_nothing "channel of another board refused" 4 "is for 'other-board', this system is 'test-board'" check --install
channel '{"version":"2.1","bundle":'
expect_nothing "malformed channel refused" 5 "not JSON" check --install
channel '{"version":"2.1","bundle":"/bundles/missing.otab"}'
run check --install
if [ "$rc" = 5 ] && grep -q 'missing.otab' err.txt && [ "$(fake_calls arm)" = 0 ]; then
	ok "missing bundle: $(grep error: err.txt | head -c 200)"
else
	bad "missing bundle" "exit $rc: $(cat out.txt err.txt)"
fi
# expect_disarmed NAME CHANNEL PATTERN: the bundle is not what CHANNEL
# announced: check --install installs it, then disarms the trial (exit 5,
# PATTERN on stderr).
expect_disarmed() {
	channel "$2"
	run check --install
	if [ "$rc" = 5 ] && grep -q "$3" err.txt && grep -q '^trial=$' bf.state; then
		ok "bundle $1 not what the channel announced: disarmed"
	else
		bad "announced $1" "exit $rc: $(cat out.txt err.txt) state: $(cat bf.state)"
	fi
	fake_reset
}
# The channel says 2.2, the signed bundle is 2.1: installed, then disarmed.
expect_disarmed version '{"version":"2.2","bundle":"/bundles/board-2.1.otab"}' 'the channel announced 2.2.*trial disarmed'
expect_disarmed size '{"version":"2.1","bundle":"/bundles/board-2.1.otab","size":12}' '(12 bytes)'
expect_nothing "no channel at that URL" 5 "404" check --channel "$URL/nothing/channel.json"
kill "$SERVER"; wait "$SERVER" 2>/dev/null || true; SERVER=
expect_nothing "server down" 5 "channel '$URL/stable/channel.json'" check --install

tally_end

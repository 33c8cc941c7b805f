#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# error-reasons.sh OTA_UPDATE OTA_BUNDLE: every failure class of an install
# ends with its own "reason" in the --json error event and its exit status
# (docs/cli.md, "Failure reasons"): failures that used to share one errno
# (an untrusted signer and a TLS certificate failure) must be told apart.
# Real signed bundles from a throwaway PKI, a local HTTPS server, file slots
# and the fake boot flow; nothing is ever armed.
set -euo pipefail
. "$(dirname "$(readlink -f "$0")")/../lib/itest.sh"
need openssl python3
itest_begin "error-reasons.sh OTA_UPDATE OTA_BUNDLE" U B -- "$@"

# ---- PKI: two signing roots, a TLS root ----------------------------------------
. "$HERE/../lib/pki.sh"
pki_init
pki_root vendor-ca
pki_root lab-ca
pki_root web-ca
pki_cert release vendor-ca signer
pki_cert intern lab-ca signer
pki_cert web web-ca server

# ---- bundles --------------------------------------------------------------------
head -c 700000 /dev/urandom >rootfs.img
head -c 90000 /dev/urandom >kernel.img
# bundle NAME COMPATIBLE VERSION [SIGNER]: NAME.otab (unsigned without SIGNER)
bundle() {
	printf '[bundle]\ncompatible = %s\nversion = %s\n[image.system]\nfile = rootfs.img\n[image.boot]\nfile = kernel.img\n' \
		"$2" "$3" >"$1.ini"
	"$B" create ${4:+--key "$4.key" --cert "$4.pem"} "$1.ini" "$1.otab" >/dev/null 2>&1
}
bundle release gateway-x1 7.4 release
bundle intern gateway-x1 7.4 intern
bundle sibling gateway-y7 7.4 release
bundle older gateway-x1 7.0 release
bundle bare gateway-x1 7.4
# A signature, valid and by a trusted signer, over another manifest (7.5's):
# it does not match this bundle's.
bundle other gateway-x1 7.5
"$B" prepare other.otab other.tbs
openssl cms -sign -binary -md sha256 -in other.tbs -signer release.pem -inkey release.key -outform DER \
	-out other.sig 2>/dev/null
"$B" attach release.otab other.sig forged.otab
head -c 5000 release.otab >cut.otab
mkdir -p srv
cp release.otab srv/

# ---- the device -----------------------------------------------------------------
. "$HERE/../lib/fake-device.sh"
fake_device 700000 90000
fake_boot a
conf() { # conf CA-FILE
	cat >system.conf <<CONF
$(fake_conf_head "$W" "$W/vendor-ca.pem" gateway-x1 7.1)
ca-file = $W/$1
http-attempts = 1
$(fake_slots "$W")
CONF
}
conf web-ca.pem

http_server web "$W/srv" --tls web.pem web.key
HTTPS=https://127.0.0.1:$PORT_web
DEAD=http://127.0.0.1:$(free_port)

# expect_install NAME STATUS REASON SOURCE: ota-update install --json exits
# STATUS and its one error event has REASON (and a negative errno as code);
# nothing is armed or marked bad.
expect_install() {
	local name=$1 want=$2 reason=$3 rc=0 got
	fake_boot a
	"$U" install --config system.conf --json "$4" >out.json 2>err.txt || rc=$?
	got=$(python3 -c '
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
err = [e for e in ev if e["event"] == "error"]
assert len(err) == 1, ev
e = err[0]
assert isinstance(e["code"], int) and e["code"] < 0, e
print(e["reason"])' out.json 2>&1) || { bad "$name" "no single error event: $got"; return; }
	if [ "$rc" != "$want" ] || [ "$got" != "$reason" ]; then
		bad "$name" "exit $rc reason '$got', expected exit $want reason '$reason': $(cat err.txt)"
	elif [ "$(fake_calls arm)" != 0 ] || [ "$(fake_calls mark-bad)" != 0 ]; then
		bad "$name" "the boot flow was changed: $(cat calls)"
	else
		ok "$name: exit $rc, reason $got"
	fi
}

# expect_verify NAME STATUS PATTERN ARGS...: ota-bundle exits STATUS, names PATTERN.
expect_verify() {
	local name=$1 want=$2 pattern=$3 rc=0
	shift 3
	"$B" verify "$@" >out.txt 2>err.txt || rc=$?
	if [ "$rc" != "$want" ]; then bad "$name" "exit $rc, expected $want: $(cat err.txt)"
	elif ! grep -q -- "$pattern" err.txt; then bad "$name" "'$(cat err.txt)' lacks '$pattern'"
	else ok "$name: exit $rc"; fi
}

# ---- the bundle is not authentic: 3 ---------------------------------------------
expect_install "signer of another root" 3 signer-untrusted intern.otab
expect_install "signature over another manifest" 3 signature-invalid forged.otab
expect_install "no signature" 3 unsigned bare.otab
expect_install "truncated bundle" 3 bundle-malformed cut.otab

# ---- not for this system: 4 ------------------------------------------------------
expect_install "bundle for another board" 4 incompatible sibling.otab
expect_install "older version" 4 downgrade older.otab

# ---- the download failed: 5 ------------------------------------------------------
conf lab-ca.pem # a CA that did not issue the server's certificate
expect_install "server certificate of an unknown CA" 5 tls "$HTTPS/release.otab"
# The same signer-untrusted and TLS failures used to carry one errno: their
# codes differ now too.
"$U" install --config system.conf --json "$HTTPS/release.otab" >tls.json 2>/dev/null || true
"$U" install --config system.conf --json intern.otab >signer.json 2>/dev/null || true
if [ "$(grep -o '"code":-[0-9]*' tls.json)" != "$(grep -o '"code":-[0-9]*' signer.json)" ]; then
	ok "TLS and untrusted signer have different codes"
else
	bad "TLS and untrusted signer" "one code: $(cat tls.json signer.json)"
fi
conf web-ca.pem
expect_install "nothing listening" 5 network "$DEAD/release.otab"
expect_install "HTTP 404" 5 network "$HTTPS/missing.otab"

# ---- another ota-update: 6 -------------------------------------------------------
# The lock as ota-update takes it (flock), held by another process.
python3 -c '
import fcntl, sys, time
f = open(sys.argv[1], "w")
fcntl.flock(f, fcntl.LOCK_EX)
open(sys.argv[2], "w").close()
time.sleep(30)' update.lock locked &
holder=$!
itest_track "$holder"
for _ in $(seq 50); do [ -e locked ] && break; sleep 0.1; done
expect_install "lock held" 6 locked release.otab
kill "$holder" 2>/dev/null || true
wait "$holder" 2>/dev/null || true

# ---- and a good bundle over the same HTTPS server installs: 0 --------------------
fake_boot a
rc=0
"$U" install --config system.conf --json "$HTTPS/release.otab" >out.json 2>err.txt || rc=$?
if [ "$rc" = 0 ] && grep -q '"event":"done"' out.json && ! grep -q '"event":"error"' out.json; then
	ok "the good bundle over HTTPS installs"
else
	bad "good bundle over HTTPS" "exit $rc: $(cat err.txt)"
fi

# ---- ota-bundle verify: the same statuses ------------------------------------------
K=(--keyring vendor-ca.pem)
expect_verify "verify: signer of another root" 3 "is not trusted" "${K[@]}" intern.otab
expect_verify "verify: signature over another manifest" 3 "does not match the manifest" "${K[@]}" forged.otab
expect_verify "verify: another compatible" 4 "not compatible with 'gateway-x1'" "${K[@]}" --compatible gateway-x1 sibling.otab
expect_verify "verify: server certificate of an unknown CA" 5 "SSL certificate problem" "${K[@]}" --ca-file lab-ca.pem \
	--attempts 1 "$HTTPS/release.otab"
expect_verify "verify: the good bundle" 0 "" "${K[@]}" --ca-file web-ca.pem "$HTTPS/release.otab"

tally_end

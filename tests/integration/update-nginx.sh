#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# update-nginx.sh OTA_UPDATE OTA_BUNDLE: ota-update against a real nginx on
# 127.0.0.1, started by this script (its own config, prefix and port, killed
# at the end), serving signed bundles made here, into loop-device slots.
# Cases: full install; delta where a few files changed (bytes downloaded);
# the server killed mid-download, then restarted and the install resumed;
# unreachable servers; no range support; a full disk under a file slot; a
# slot too small; two installs at once. Every failure must name what failed,
# arm nothing and leave the booted group's slots bit-identical.
set -euo pipefail
. "$(dirname "$(readlink -f "$0")")/../lib/itest.sh"
need curl mke2fs strip
itest_begin "update-nginx.sh OTA_UPDATE OTA_BUNDLE" U B -- "$@"
LOOPS=()
NGINX=

# ---- nginx ------------------------------------------------------------------------------
PORT=$(free_port)
mkdir -p srv
# /       plain static files (ranges and multi-range)
# /slow/  the same at 8 MiB/s per connection, to be stopped mid-download
# /noranges/ the same without range support (max_ranges 0: always 200 and the whole file)
LOCATIONS="location /slow/ { alias $W/srv/; limit_rate 8m; } location /noranges/ { alias $W/srv/; max_ranges 0; }"
start_nginx() {
	"$HERE/../lib/nginx-serve.sh" "$W/ngx" "$W/srv" "$PORT" "$LOCATIONS" &
	NGINX=$!
	itest_track "$NGINX"
	for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$PORT/" && return 0; sleep 0.1; done
	echo "nginx did not start: $(cat ngx/error.log)"
	exit 1
}
# SIGTERM: nginx's fast shutdown, open connections are cut.
stop_nginx() { kill "$NGINX"; wait "$NGINX" 2>/dev/null || true; NGINX=; }
start_nginx
URL=http://127.0.0.1:$PORT
served() { awk '{ n += $3 } END { print n + 0 }' ngx/access.log; }

# ---- PKI, images and bundles ----------------------------------------------------------
. "$HERE/../lib/pki.sh"
pki_signer

# A 64 MiB ext4 image of 300 files (random data: nothing compresses), made
# reproducibly (fixed UUID, hash seed and time) so that v2, with 3 files
# rewritten and one added, differs from v1 only where the files did.
mkdir -p tree/etc tree/usr/lib
for i in $(seq 300); do head -c $((64 << 10)) /dev/urandom >tree/usr/lib/f$i.so; done
echo "version 1" >tree/etc/version
mkimg() {
	rm -f "$1"
	E2FSPROGS_FAKE_TIME=1700000000 mke2fs -q -t ext4 -b 4096 -U 6e1c0b5a-0f0e-4c34-9d26-4f3c1e8a7b21 \
		-E hash_seed=2b8a1d8e-3b9c-4e0f-8a41-5d6f7e8a9b0c,lazy_itable_init=0 -d tree "$1" 64M
}
mkimg system-v1.img
for i in 17 150 299; do head -c $((64 << 10)) /dev/urandom >tree/usr/lib/f$i.so; done
head -c 100000 /dev/urandom >tree/usr/lib/new.so
echo "version 2" >tree/etc/version
mkimg system-v2.img
head -c $((64 << 20)) /dev/urandom >system-v3.img  # all new: nothing to reuse
head -c 1000000 /dev/urandom >boot.img
. "$HERE/../lib/signed-bundle.sh"
bundle() { signed_bundle "srv/$1.otab" "$2" system="$3" boot=boot.img; } # bundle NAME VERSION SYSTEM-IMAGE
bundle v1 2.0 system-v1.img
bundle v2 2.1 system-v2.img
bundle v3 3.0 system-v3.img
size_of() { stat -c %s "srv/$1.otab"; }

# ---- the device: system slots on loop devices, boot slots in files ---------------------
truncate -s 80M disk-a.img disk-b.img
truncate -s 16M disk-small.img
for f in disk-a disk-b disk-small; do LOOPS+=("$(losetup -f --show "$f.img")"); done
head -c $((80 << 20)) /dev/urandom | dd of="${LOOPS[0]}" bs=1M oflag=direct status=none
head -c $((80 << 20)) /dev/urandom | dd of="${LOOPS[1]}" bs=1M oflag=direct status=none
mkdir -p slots data tiny
head -c 1000000 /dev/urandom >slots/boot-a
. "$HERE/../lib/fake-device.sh"
fake_bootflow
conf() { # conf FILE SYSTEM-B-DEVICE BOOT-B-FILE
	cat >"$1" <<CONF
$(fake_conf_head "$W" "$W/root.pem" test-board)
downgrade = allow
http-connect-timeout = 3
http-attempts = 2
$(fake_slots "$W" "system-a=device:${LOOPS[0]}" "system-b=device:$2" "boot-b=file:$3")
CONF
}
conf system.conf "${LOOPS[1]}" "$W/slots/boot-b"
C=(--config "$W/system.conf")
done_field() { python3 -c "import json; e=json.loads(open('out.txt').read().strip().splitlines()[-1]); print(e['$1'])"; }
slot_has() { cmp -s -n "$(stat -c %s "$2")" "$1" "$2"; }  # slot_has DEVICE IMAGE
sum_a() { cat "${LOOPS[0]}" slots/boot-a | sha256sum; }
sum_b() { cat "${LOOPS[1]}" slots/boot-b 2>/dev/null | sha256sum; }

# expect_refused NAME PATTERN ARGS...: exit $want (1 unless set), the message, nothing armed, the
# booted group a bit-identical.
expect_refused() {
	local name=$1 pattern=$2 rc=0 before
	shift 2
	before=$(sum_a)
	"$U" "${C[@]}" "$@" >out.txt 2>err.txt || rc=$?
	if [ "$rc" != "${want:-1}" ]; then bad "$name" "exit $rc, expected ${want:-1}: $(cat err.txt)"; return 1; fi
	if ! grep -q -- "$pattern" err.txt; then bad "$name" "message '$(cat err.txt)' lacks '$pattern'"; return 1; fi
	if [ "$(fake_calls arm)" != 0 ]; then bad "$name" "armed: $(cat calls)"; return 1; fi
	if [ "$(sum_a)" != "$before" ]; then bad "$name" "the booted group's slots changed"; return 1; fi
	ok "$name: $(grep error: err.txt | head -c 300)"
}

# ---- full install over HTTP ----------------------------------------------------------------
fake_boot a
: >ngx/access.log
rc=0; "$U" "${C[@]}" install --json "$URL/v1.otab" >out.txt 2>err.txt || rc=$?
if [ $rc = 0 ]; then
	slot_has "${LOOPS[1]}" system-v1.img && cmp -s slots/boot-b boot.img && [ "$(fake_calls arm)" = 1 ] \
		&& ok "full install over HTTP: slots hold v1, armed once ($(done_field downloaded) of $(size_of v1) bytes)" \
		|| bad full "$(tail -1 out.txt) $(cat calls)"
else
	bad full "exit $rc: $(cat err.txt)"
fi

# ---- delta: a few files changed -------------------------------------------------------------
# Booted b (v1), install v2 into a; a holds random data.
fake_boot b
: >ngx/access.log
rc=0; "$U" "${C[@]}" install --json "$URL/v2.otab" >out.txt 2>err.txt || rc=$?
if [ $rc = 0 ]; then
	DL=$(done_field downloaded) SRV=$(served) SZ=$(size_of v2)
	slot_has "${LOOPS[0]}" system-v2.img && [ "$(fake_calls arm)" = 1 ] && [ "$(done_field delta)" = True ] \
		&& [ $((DL * 10)) -lt "$SZ" ] && [ $((SRV * 10)) -lt "$SZ" ] \
		&& ok "delta over nginx: 3 files changed, 1 added: downloaded $DL (nginx sent $SRV) of $SZ bundle bytes (< 10 %)" \
		|| bad delta "downloaded $DL, served $SRV of $SZ: $(tail -1 out.txt)"
else
	bad delta "exit $rc: $(cat err.txt)"
fi
# Put a back to something unrelated to every bundle, boot a again.
head -c 1000000 /dev/urandom >slots/boot-a

# ---- the server stopped mid-download, then the install resumed ----------------------------
# v3 (64 MiB of new data) from /slow/ (8 MiB/s) into b; nginx is stopped
# once 60 % of the system image is in place (past the first 32 MiB checkpoint).
fake_boot a
: >ngx/access.log
"$U" "${C[@]}" install --json "$URL/slow/v3.otab" >out.txt 2>err.txt &
INSTALL=$!
itest_track "$INSTALL"
# Bounded, and generous for a loaded machine; if the first install is not
# under way by then (or already gone), the cases below would test nothing:
# say so with its own output instead.
reached=0
for _ in $(seq 1200); do
	grep -q '"stage":"write","payload":1,.*"percent":6[0-9]' out.txt && { reached=1; break; }
	kill -0 "$INSTALL" 2>/dev/null || break
	sleep 0.1
done
[ $reached = 1 ] || bad slow-install "the first install did not reach 60 % within 120 s: $(tail -c 300 err.txt) $(tail -1 out.txt)"
# Meanwhile, a second install is refused by the lock.
rc=0; "$U" "${C[@]}" install "$URL/v1.otab" >out2.txt 2>err2.txt || rc=$?
[ $rc = 6 ] && grep -q "another ota-update is running (lock '$W/update.lock' is held)" err2.txt \
	&& ok "two installs at once: the second says $(grep -o 'another.*' err2.txt)" || bad concurrent "exit $rc: $(cat err2.txt)"
stop_nginx
rc=0; wait "$INSTALL" || rc=$?
python3 - "$W/data/slots.json" <<'PY' >record.txt || true
import json, sys
r = json.load(open(sys.argv[1]))["slots"]["system-b"]
print(r["state"], r.get("checkpoint_bytes", 0))
PY
read -r REC_STATE CKPT <record.txt
if [ $rc = 5 ] && grep -q "$URL/slow/v3.otab" err.txt && grep -q "left marked bad" err.txt && [ "$(fake_calls arm)" = 0 ] \
	&& [ "$REC_STATE" = installing ] && [ "$CKPT" -ge $((32 << 20)) ]; then
	ok "server stopped mid-download: fails, nothing armed, checkpoint at $CKPT: $(grep error: err.txt | head -c 240)"
else
	bad stopped "exit $rc, record $REC_STATE $CKPT: $(cat err.txt) $(cat calls)"
fi
start_nginx
fake_boot a
: >ngx/access.log
rc=0; "$U" "${C[@]}" install --json "$URL/v3.otab" >out.txt 2>err.txt || rc=$?
if [ $rc = 0 ]; then
	DL=$(done_field downloaded) SRV=$(served) SZ=$(size_of v3)
	slot_has "${LOOPS[1]}" system-v3.img && cmp -s slots/boot-b boot.img && [ "$(fake_calls arm)" = 1 ] \
		&& [ "$(done_field resumed_at)" = "$CKPT" ] && [ "$(done_field resumed)" = "$CKPT" ] \
		&& [ $((DL * 2)) -lt "$SZ" ] && [ $((SRV * 2)) -lt "$SZ" ] \
		&& grep -q '"stage":"resume","payload":1' out.txt \
		&& ok "resumed after nginx restarted: downloaded $DL (nginx sent $SRV) of $SZ bytes, resumed at $CKPT, hash right, armed" \
		|| bad resumed "downloaded $DL served $SRV of $SZ: $(tail -1 out.txt) $(cat calls)"
else
	bad resumed "exit $rc: $(cat err.txt)"
fi

# ---- unreachable servers -------------------------------------------------------------------
fake_boot a
DEAD=$(free_port)
want=5 expect_refused connection-refused "http://127.0.0.1:$DEAD/v1.otab" install "http://127.0.0.1:$DEAD/v1.otab" || true
grep -qi "refused\|connect" err.txt || bad connection-refused-msg "$(cat err.txt)"
[ "$(fake_calls mark-bad)" = 0 ] && ok "connection refused: the spare was not even marked bad" || bad refused-marked "$(cat calls)"
fake_boot a
want=5 expect_refused unresolvable "no-such-host.invalid" install "http://no-such-host.invalid/v1.otab" || true
fake_boot a
# TEST-NET-1 (RFC 5737): routed nowhere; the connect timeout (3 s here) ends it.
want=5 expect_refused unroutable "192.0.2.1" install "http://192.0.2.1:9/v1.otab" || true
fake_boot a
want=5 expect_refused not-found "404" install "$URL/missing.otab" || true

# ---- no range support: a full streamed download ---------------------------------------------
fake_boot a
: >ngx/access.log
rc=0; "$U" "${C[@]}" install --json "$URL/noranges/v1.otab" >out.txt 2>err.txt || rc=$?
if [ $rc = 0 ]; then
	slot_has "${LOOPS[1]}" system-v1.img && [ "$(done_field delta)" = False ] && grep -q '"stage":"full-download"' out.txt \
		&& [ "$(done_field downloaded)" -ge "$(size_of v1)" ] && [ "$(fake_calls arm)" = 1 ] \
		&& ok "no range support (max_ranges 0): full streamed download of $(done_field downloaded) bytes, armed" \
		|| bad no-ranges "$(tail -1 out.txt)"
else
	bad no-ranges "exit $rc: $(cat err.txt)"
fi

# ---- a full disk under a file slot ------------------------------------------------------------
# boot-b on a 512 KiB tmpfs (in a private mount namespace) cannot hold 1 MB.
conf tiny.conf "${LOOPS[1]}" "$W/tiny/boot-b"
C=(--config "$W/tiny.conf")
fake_boot a
before=$(sum_a)
rc=0
unshare --mount --propagation private sh -c 'mount -t tmpfs -o size=512k tmpfs "$1" && shift && exec "$@"' sh \
	"$W/tiny" "$U" "${C[@]}" install "$URL/v1.otab" >out.txt 2>err.txt || rc=$?
[ $rc = 4 ] && grep -q "slot boot-b: reserve 1000000 bytes for '$W/tiny/boot-b': No space left on device" err.txt \
	&& [ "$(fake_calls arm)" = 0 ] && [ "$(sum_a)" = "$before" ] \
	&& ok "full disk: $(grep error: err.txt | head -c 240)" || bad full-disk "exit $rc: $(cat err.txt) $(cat calls)"

# ---- a slot too small ---------------------------------------------------------------------------
conf small.conf "${LOOPS[2]}" "$W/slots/boot-b"
C=(--config "$W/small.conf")
fake_boot a
want=4 expect_refused slot-too-small \
	"slot check: image 'system' ($((64 << 20)) bytes) does not fit slot system-b ('${LOOPS[2]}', $((16 << 20)) bytes)" \
	install "$URL/v1.otab" || true
[ "$(fake_calls mark-bad)" = 0 ] && ok "slot too small: nothing marked" || bad small-marked "$(cat calls)"

tally_end

#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# bundle-http.sh OTA_BUNDLE TEST_HTTP_FETCH: bundles over HTTP(S) from a local
# server on 127.0.0.1 (http-server.py: Range, multi-range, If-Range, ETag and
# faults on demand). Checks bytes and messages, not just exit codes.
set -euo pipefail
. "$(dirname "$(readlink -f "$0")")/../lib/itest.sh"
need curl
itest_begin "bundle-http.sh OTA_BUNDLE TEST_HTTP_FETCH" B F -- "$@"
MUT=$HERE/bundle-mutate.py

# run NAME EXPECTED_RC PATTERN CMD...: exit status and a stderr pattern.
run() {
	local name=$1 want=$2 pattern=$3 rc=0
	shift 3
	"$@" >out.txt 2>err.txt || rc=$?
	if [ "$rc" != "$want" ]; then
		bad "$name" "exit $rc, expected $want: $(tail -c 600 err.txt)"
	elif [ -n "$pattern" ] && ! grep -q -- "$pattern" err.txt; then
		bad "$name" "stderr '$(tail -c 600 err.txt)' lacks '$pattern'"
	else
		ok "$name: $(grep -v '^ota-bundle: downloaded' err.txt | head -1 | cut -c1-160)"
	fi
}
same() { # same NAME A B
	if cmp -s "$2" "$3"; then ok "$1"; else bad "$1" "$2 and $3 differ"; fi
}

ctl() { curl -sf "http://127.0.0.1:$PORT_plain/_ctl?$1" >/dev/null; }

# ---- a signing CA, a TLS CA, a bundle -------------------------------------------
. "$HERE/../lib/pki.sh"
pki_signer
pki_root tls-root
pki_cert tls-server tls-root server

head -c 3000000 /dev/urandom >rootfs.img
head -c 1000000 /dev/zero >>rootfs.img
head -c 300000 /dev/urandom >boot.img
printf '[bundle]\ncompatible = test-board\nversion = 3.0\n[image.rootfs]\nfile = rootfs.img\n[image.boot]\nfile = boot.img\n' >m.ini
"$B" create --key signer.key --cert signer.pem m.ini good.otab 2>/dev/null
SIZE=$(stat -c %s good.otab)
mkdir srv
cp good.otab srv/good.otab
http_server plain "$W/srv"
http_server tls "$W/srv" --tls tls-server.pem tls-server.key
U=http://127.0.0.1:$PORT_plain
V=(--keyring root.pem --retry-delay 20)

# ---- the same results as from the file -------------------------------------------
run verify-http 0 "downloaded $SIZE of $SIZE bytes in 1 requests (0 retries)" "$B" verify "${V[@]}" "$U/good.otab"
grep -q "^$U/good.otab: OK (/CN=signer)" out.txt && ok "verify-http says OK with the signer" || bad verify-http-out "$(cat out.txt)"
run extract-file 0 "" "$B" extract "${V[@]}" good.otab rootfs file.img
run extract-http 0 "downloaded $SIZE of $SIZE" "$B" extract "${V[@]}" "$U/good.otab" rootfs http.img
same "extract over HTTP = extract from the file" file.img http.img
same "extract over HTTP = the image" rootfs.img http.img
run extract-boot-http 0 "" "$B" extract "${V[@]}" "$U/good.otab" boot boot.out
same "extract boot over HTTP = the image" boot.img boot.out
"$B" inspect --json good.otab >inspect.file
run inspect-http 0 "downloaded" "$B" inspect --json "$U/good.otab"
same "inspect --json over HTTP = from the file" inspect.file out.txt
head_bytes=$(sed -n 's/.*downloaded \([0-9]*\) of.*/\1/p' err.txt)
[ "$head_bytes" -lt 20000 ] && ok "inspect over HTTP downloads only the head ($head_bytes of $SIZE bytes)" ||
	bad inspect-ranged "downloaded $head_bytes bytes"

# ---- range fetches of chosen chunks ------------------------------------------------
declare -A at
while read -r name off; do at[$name]=$off; done < <("$MUT" offsets good.otab)
# chunk CLASS I: "OFFSET:LENGTH" of the compressed chunk I in the file.
chunk() {
	python3 - good.otab "${at[data]}" "${at[table.$1]}" "$2" <<'PY'
import struct, sys
b = open(sys.argv[1], "rb").read()
d, t, i = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
off, csize = struct.unpack(">QI", b[t + 48 * i + 32:t + 48 * i + 44])
print("%d:%d" % (d + off, csize))
PY
}
RANGES=("$(chunk rootfs 1)" "$(chunk rootfs 2)" "$(chunk rootfs 10)" "$(chunk boot 0)" "$(chunk rootfs 3)")
expected() { # the bytes of the ranges in "$@", from the file
	python3 -c 'import sys
b = open("good.otab", "rb").read()
for r in sys.argv[1:]:
    o, n = map(int, r.split(":")); sys.stdout.buffer.write(b[o:o + n])' "$@"
}
expected "${RANGES[@]}" >want.bin
want_bytes=$(stat -c %s want.bin)
: >plain.log
run range-fetch 0 "multirange yes" "$F" "$U/good.otab" "${RANGES[@]}"
same "range fetch returns exactly the chunks' bytes" want.bin out.txt
got=$(sed -n 's/^downloaded \([0-9]*\) of.*/\1/p' err.txt)
echo "     range fetch: $want_bytes bytes of chunks, downloaded $got of $SIZE bytes"
# Only the chunks plus multipart framing (< 200 bytes a part) come down.
[ "$got" -ge "$want_bytes" ] && [ "$got" -lt $((want_bytes + 600)) ] && [ "$got" -lt $((SIZE / 5)) ] &&
	ok "range fetch downloads $got of $SIZE bytes for $want_bytes bytes of chunks" || bad range-counter "$got"
# Chunks 1, 2, 3 are adjacent: one span. So three ranges in one request.
[ "$(grep -c 'range=bytes=' plain.log)" = 1 ] && grep -q 'range=bytes=[0-9]*-[0-9]*,[0-9]*-[0-9]*,[0-9]*-[0-9]* ' plain.log &&
	ok "one multi-range request with adjacent chunks merged: $(grep -o 'range=[^ ]*' plain.log)" ||
	bad multirange-request "$(cat plain.log)"

ctl multirange=0
: >plain.log
run range-fetch-no-multirange 0 "multirange no" "$F" "$U/good.otab" "${RANGES[@]}"
same "without multi-range support: the same bytes" want.bin out.txt
[ "$(grep -c -- '-> 206' plain.log)" = 3 ] && ok "fallback: 3 single-range requests" || bad fallback "$(cat plain.log)"
ctl reset=1
run range-no-merge 0 "" "$F" --max-ranges 1 --gap 0 "$U/good.otab" "${RANGES[@]}"
same "--max-ranges 1: the same bytes" want.bin out.txt
run range-beyond-end 1 "beyond the end of the file ($SIZE bytes)" "$F" "$U/good.otab" 0:10 "$((SIZE - 5)):10"

# ---- transient failures ------------------------------------------------------------
ctl drop=200000,1
: >plain.log
run stream-drop-resumed 0 "in 2 requests (1 retries)" "$B" extract "${V[@]}" "$U/good.otab" rootfs drop.img
same "extract after a dropped connection = the image" rootfs.img drop.img
grep -q 'range=bytes=200000- if-range="' plain.log && ok "resumed at byte 200000 with If-Range" || bad resume "$(cat plain.log)"
ctl drop=0,-1
run stream-drop-forever 5 "gave up after 3 attempts" "$B" verify "${V[@]}" --attempts 3 "$U/good.otab"
grep -q "bundle '$U/good.otab'" err.txt && ok "the give-up message names the URL" || bad give-up-url "$(cat err.txt)"
ctl reset=1
ctl status=503,2
run http-503-retried 0 "(2 retries)" "$B" verify "${V[@]}" "$U/good.otab"
ctl status=503,-1
run http-503-forever 5 "HTTP 503 Service Unavailable (gave up after 3 attempts)" "$B" verify "${V[@]}" --attempts 3 "$U/good.otab"
ctl reset=1
ctl drop=1000,1
run range-drop-retried 0 "1 retries" "$F" "$U/good.otab" "${RANGES[@]}"
same "range fetch after a dropped connection: the same bytes" want.bin out.txt

# ---- the file changes on the server between requests --------------------------------
cp good.otab srv/other.otab
"$MUT" flip good.otab changed.otab $((at[chunks.boot] + 10))
run replaced-between-ranges 1 "changed on the server between requests (ETag was \"" \
	"$F" "$U/other.otab" "${RANGES[0]}" "run:cp changed.otab srv/other.tmp && mv srv/other.tmp srv/other.otab" "${RANGES[2]}"
ctl etag=0
cp good.otab srv/other.otab
touch -d '2001-01-01' srv/other.otab
run replaced-last-modified 1 "changed on the server between requests (Last-Modified was" \
	"$F" "$U/other.otab" "${RANGES[0]}" "run:cp changed.otab srv/other.tmp && mv srv/other.tmp srv/other.otab" "${RANGES[2]}"
ctl reset=1

# ---- errors ---------------------------------------------------------------------------
run not-found 5 "'$U/missing.otab': HTTP 404 Not Found" "$B" verify "${V[@]}" "$U/missing.otab"
run not-found-inspect 5 "HTTP 404 Not Found" "$B" inspect "$U/missing.otab"
run connection-refused 5 "Couldn't connect to server (gave up after 2 attempts)" \
	"$B" verify "${V[@]}" --attempts 2 "http://127.0.0.1:$(free_port)/good.otab"
run bad-scheme-is-a-path 1 "open bundle 'ftp://x/y'" "$B" verify "${V[@]}" ftp://x/y
cp changed.otab srv/corrupt.otab
run corrupted-on-server 3 "payload 'boot': chunk 0 (image offset 0): \\(hash mismatch\\|decompression failed\\)" \
	"$B" extract "${V[@]}" "$U/corrupt.otab" boot corrupt.out
[ ! -e corrupt.out ] && ok "no output left from a corrupted bundle" || bad corrupt-out "corrupt.out exists"

# ---- HTTPS ---------------------------------------------------------------------------
T=https://127.0.0.1:$PORT_tls
run https-verify 0 "downloaded $SIZE of $SIZE" "$B" verify "${V[@]}" --ca-file tls-root.pem "$T/good.otab"
run https-extract 0 "" "$B" extract "${V[@]}" --ca-file tls-root.pem "$T/good.otab" rootfs tls.img
same "extract over HTTPS = the image" rootfs.img tls.img
run https-range 0 "multirange yes" "$F" --ca-file tls-root.pem "$T/good.otab" "${RANGES[@]}"
same "range fetch over HTTPS: the same bytes" want.bin out.txt
run https-untrusted-default 5 "SSL certificate problem" "$B" verify "${V[@]}" "$T/good.otab"
run https-wrong-ca 5 "SSL certificate problem" "$B" verify "${V[@]}" --ca-file root.pem "$T/good.otab"

tally_end

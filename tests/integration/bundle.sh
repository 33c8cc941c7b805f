#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# bundle.sh OTA_BUNDLE: end-to-end tests of signed bundles with a throwaway CA
# made here with the openssl CLI, then a generated corpus of broken bundles.
# Each broken bundle must be rejected with a specific message, exit 3 or 4 (not a
# crash) and stay within a small address-space limit (no huge allocation).
set -euo pipefail
B=$(realpath "${1:?usage: bundle.sh OTA_BUNDLE}")
MUT=$(dirname "$(realpath "$0")")/bundle-mutate.py
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
cd "$W"
passed=0
failed=0

ok() { echo "ok   $1"; passed=$((passed + 1)); }

# The address-space limit bounds ota-bundle's allocations. Under qemu-user
# (a cross build's run, OTA_TEST_EMULATOR set) it would bound the emulator
# instead: qemu-arm reserves a 32-bit guest's whole address space up front
# and cannot start under it, and qemu-aarch64 running the threaded 'create'
# under it hung in 17 of 40 tries (never without it). There the limit is
# left out, the script says so and exits 77 (skipped) unless something failed.
VLIMIT=400000
no_vlimit=""
if [ -n "${OTA_TEST_EMULATOR:-}" ]; then
	no_vlimit="under qemu-user ulimit -v would bound the emulator, not ota-bundle"
	echo "skip the address-space limit (ulimit -v $VLIMIT): $no_vlimit"
	VLIMIT=unlimited
fi
bad() { echo "FAIL $1: $2"; failed=$((failed + 1)); }

# expect_fail NAME PATTERN ARGS...: ota-bundle must exit $want (1 unless
# set; docs/cli.md: 3 not authentic, 4 not for this system) and say PATTERN.
want=1
expect_fail() {
	local name=$1 pattern=$2 rc=0
	shift 2
	(ulimit -v $VLIMIT; "$B" "$@") >out.txt 2>err.txt || rc=$?
	if [ "$rc" != "$want" ]; then
		bad "$name" "exit $rc, expected $want: $(cat err.txt)"
	elif ! grep -q -- "$pattern" err.txt; then
		bad "$name" "message '$(cat err.txt)' lacks '$pattern'"
	else
		ok "$name: $(cut -c1-150 err.txt)"
	fi
}
expect_ok() {
	local name=$1 rc=0
	shift
	(ulimit -v $VLIMIT; "$B" "$@") >out.txt 2>err.txt || rc=$?
	if [ "$rc" = 0 ]; then ok "$name"; else bad "$name" "exit $rc: $(cat err.txt)"; fi
}
# expect_sh NAME SCRIPT: a shell pipeline around ota-bundle ($B) must succeed.
expect_sh() {
	local name=$1 rc=0
	(ulimit -v $VLIMIT; B=$B sh -c "$2") >out.txt 2>err.txt || rc=$?
	if [ "$rc" = 0 ]; then ok "$name"; else bad "$name" "exit $rc: $(cat err.txt)"; fi
}

# ---- a throwaway PKI (tests/lib/pki.sh) ----------------------------------------
. "$(dirname "$(realpath "$0")")/../lib/pki.sh"
pki_init
pki_root root
pki_root other-root
pki_cert inter root v3_ca
pki_cert signer inter signer
pki_cert expired inter signer 20200101000000Z 20210101000000Z
pki_cert noku inter no_ku
pki_cert wrongeku inter server
pki_cert stranger other-root signer

# ---- good bundles ------------------------------------------------------------
head -c 3000000 /dev/urandom >rootfs.img
head -c 1000000 /dev/zero >>rootfs.img
head -c 300000 /dev/urandom >boot.img
cat >m.ini <<'INI'
[bundle]
compatible = test-board
version = 2.0.1
build = integration
[image.rootfs]
file = rootfs.img
[image.boot]
file = boot.img
INI
V=(verify --keyring root.pem)
expect_ok create-signed create --key signer.key --cert signer.pem --chain inter.pem m.ini good.otab
expect_ok verify-signed "${V[@]}" good.otab
expect_sh verify-stdin '"$B" verify --keyring root.pem - <good.otab'
expect_ok extract extract --keyring root.pem good.otab rootfs out.img
cmp -s out.img rootfs.img && ok "extract: identical image" || bad extract-cmp "extracted image differs"
expect_sh extract-pipe 'cat good.otab | "$B" extract --keyring root.pem - boot boot.out'
cmp -s boot.out boot.img && ok "extract from a pipe: identical image" || bad extract-pipe-cmp "differs"
expect_ok inspect-json inspect --json good.otab
grep -q '"compatible":"test-board"' out.txt && ok "inspect --json names compatible" || bad inspect-json "$(cat out.txt)"
expect_ok keyring-pins-intermediate verify --keyring inter.pem good.otab

expect_ok create-unsigned create m.ini unsigned.otab

# Issue 15, class 9: the manifest input is in the one INI dialect and read
# only as a regular file (a FIFO must not hang create).
printf '[bundle]\ncompatible = test-board\nversion = 2.0.1\nversion = 2.0.2\n[image.boot]\nfile = boot.img\n' >dup.ini
expect_fail manifest-input-repeated-key "dup.ini', line 4: key 'version' given again in \[bundle\]" create dup.ini x.otab
printf '[bundle]\ncompatible = test-board\nversion = 2.0.1\n[image.boot]\nfile = boot.img\n  file = rootfs.img\n' >ind.ini
expect_fail manifest-input-indented "ind.ini', line 6: indented line" create ind.ini x.otab
mkfifo fifo.ini
expect_sh manifest-input-fifo "timeout 20 \"\$B\" create fifo.ini x.otab 2>&1 | grep -q \"fifo.ini' is a FIFO, not a regular file\""
rm fifo.ini
want=3 # from here on, bundles that do not verify: not authentic
expect_fail unsigned-refused "not signed" "${V[@]}" unsigned.otab
expect_ok unsigned-allowed verify --allow-unsigned unsigned.otab

# Two-step signing: prepare -> openssl cms (stands in for an HSM) -> attach.
expect_ok prepare prepare unsigned.otab tosign.bin
openssl cms -sign -binary -outform DER -in tosign.bin -signer signer.pem -inkey signer.key \
	-certfile inter.pem -out sig.der
expect_ok attach attach unsigned.otab sig.der twostep.otab
expect_ok verify-two-step "${V[@]}" twostep.otab
cmp -s <(tail -c +2 unsigned.otab | tail -c 100000) <(tail -c 100000 twostep.otab) &&
	ok "attach keeps the data area" || bad attach-data "data area changed"

# ---- signers -----------------------------------------------------------------
sign_as() { "$B" sign --key "$1.key" --cert "$1.pem" --chain inter.pem unsigned.otab "$2"; }
sign_as stranger s-stranger.otab
expect_fail untrusted-signer "is not trusted: unable to get local issuer certificate" "${V[@]}" s-stranger.otab
expect_fail wrong-keyring "is not trusted" verify --keyring other-root.pem good.otab
"$B" sign --key signer.key --cert signer.pem unsigned.otab s-nochain.otab
expect_fail missing-intermediate "unable to get local issuer certificate" "${V[@]}" s-nochain.otab
sign_as expired s-expired.otab
expect_fail expired-signer-clock-trusted "certificate has expired" verify --keyring root.pem --check-time s-expired.otab
expect_ok expired-signer-no-clock "${V[@]}" s-expired.otab
sign_as noku s-noku.otab
expect_fail missing-key-usage "lacks the digitalSignature key usage" "${V[@]}" s-noku.otab
sign_as wrongeku s-wrongeku.otab
expect_fail wrong-extended-key-usage "lacks the codeSigning extended key usage" "${V[@]}" s-wrongeku.otab
want=4 expect_fail wrong-compatible "not compatible with 'other-board'" verify --keyring root.pem --compatible other-board good.otab
want=1 expect_fail no-keyring "no keyring" verify --allow-unsigned good.otab
want=1 expect_fail empty-keyring "keyring: no PEM certificate" verify --keyring /dev/null good.otab

# ---- truncation at every section boundary (and inside each section) ----------
declare -A at
while read -r name off; do at[$name]=$off; done < <("$MUT" offsets good.otab)
trunc() { # trunc NAME LENGTH PATTERN
	"$MUT" truncate good.otab t.otab "$2"
	expect_fail "truncated-$1-at-$2" "$3" "${V[@]}" t.otab
}
trunc empty 0 "truncated in the header"
trunc header 40 "truncated in the header"
trunc manifest-start "${at[manifest]}" "truncated in the manifest"
trunc manifest-mid $((at[manifest] + 100)) "truncated in the manifest"
trunc signature-start "${at[signature]}" "truncated in the signature"
trunc signature-mid $((at[signature] + 50)) "truncated in the signature"
trunc data-start "${at[data]}" "truncated in the chunk table"
trunc table-mid $((at[table.rootfs] + 100)) "truncated in the chunk table"
trunc chunks-start "${at[chunks.rootfs]}" "truncated in chunk data"
trunc chunks-mid $((at[chunks.rootfs] + 70000)) "truncated in chunk data"
trunc second-table "${at[table.boot]}" "payload 'boot': truncated in the chunk table"
trunc last-byte $((at[end] - 1)) "truncated in chunk data"
"$MUT" append good.otab t.otab 1
expect_fail trailing-byte "trailing data after the end" "${V[@]}" t.otab

# ---- bit flips -----------------------------------------------------------------
flip() { # flip NAME OFFSET PATTERN
	"$MUT" flip good.otab f.otab "$2"
	expect_fail "flip-$1" "$3" "${V[@]}" f.otab
}
flip magic 0 "bad magic"
want=4 flip version 11 "unsupported bundle format version"
flip header-size 15 "header size"
flip manifest-size-high 16 "manifest size"
flip signature-size-high 24 "signature size"
flip reserved 40 "reserved byte"
flip manifest-first $((at[manifest])) "signature does not match the manifest"
flip manifest-last $((at[signature] - 1)) "signature does not match the manifest"
flip signature-tail $((at[data] - 5)) "signature"
flip table-hash $((at[table.rootfs] + 3)) "chunk table hash mismatch"
flip table-offset $((at[table.rootfs] + 48 + 39)) "chunk table hash mismatch"
flip table-boot $((at[table.boot] + 10)) "payload 'boot': chunk table hash mismatch"
flip chunk-first $((at[chunks.rootfs] + 20)) "payload 'rootfs': chunk 0"
flip chunk-late $((at[chunks.boot] + 1000)) "payload 'boot': chunk"
flip last-byte $((at[end] - 1)) "chunk"

# ---- hostile lengths in the header ----------------------------------------------
hdr() { "$MUT" header64 good.otab h.otab "$2" "$3"; expect_fail "header-$1" "$4" "${V[@]}" h.otab; }
hdr manifest-2^32 16 0x100000000 "manifest size 4294967296 out of range"
hdr manifest-2^64-1 16 0xffffffffffffffff "manifest size 18446744073709551615 out of range"
hdr manifest-0 16 0 "manifest size 0 out of range"
hdr signature-2^32-1 24 0xffffffff "signature size 4294967295 out of range"
hdr signature-2^64-1 24 0xffffffffffffffff "signature size 18446744073709551615 out of range"

# ---- hostile manifests, validly signed (a signer's bug or a leaked key) ------
man() { # man NAME PATTERN MUTATION...
	local name=$1 pattern=$2
	shift 2
	"$MUT" "$@" && "$B" sign --key signer.key --cert signer.pem --chain inter.pem m.otab
	expect_fail "manifest-$name" "$pattern" "${V[@]}" m.otab
}
want=1 man chunk-count-2^32 "chunks, limit" pfield good.otab m.otab rootfs 0x8015 u64:0x100000000
want=1 man chunk-count-2^64-1 "chunks, limit" pfield good.otab m.otab rootfs 0x8015 u64:0xffffffffffffffff
man chunk-count-short "chunks cannot hold an image" pfield good.otab m.otab rootfs 0x8015 u64:3
man image-size-2^64-1 "cannot hold an image" pfield good.otab m.otab rootfs 0x8013 u64:0xffffffffffffffff
want=1 man table-offset-2^64 "overflows 64 bits" pfield good.otab m.otab boot 0x8017 u64:0xfffffffffffffff0
man table-offset-wrong "chunk table at offset" pfield good.otab m.otab boot 0x8017 u64:0
man data-size-2^64-1 "payloads cover" field good.otab m.otab 0x8007 u64:0xffffffffffffffff
man payload-data-2^32 "impossible for" pfield good.otab m.otab boot 0x8018 u64:0x100000000000
man field-length-2^32-1 "exceeds the" rawlen good.otab m.otab 0xffffffff
man duplicate-payload "duplicate payload for slot class 'rootfs'" dup-payload good.otab m.otab
want=4 man unknown-critical "unknown critical field 0x8123" field good.otab m.otab 0x8123 00
man missing-compatible "missing or invalid 'compatible'" field good.otab m.otab 0x8002 del
man missing-table-hash "required field is missing" pfield good.otab m.otab rootfs 0x8016 del
want=4 man format-version-2 "format version 2 in the manifest" field good.otab m.otab 0x8001 u32:2
man bad-slot-class "invalid slot class" pfield good.otab m.otab boot 0x8011 str:../etc
man chunker-unknown "unsupported chunker" pfield good.otab m.otab rootfs 0x8019 u32:7
man wrong-table-hash "chunk table hash mismatch" pfield good.otab m.otab rootfs 0x8016 \
	0000000000000000000000000000000000000000000000000000000000000000
man wrong-image-hash "image hash mismatch" pfield good.otab m.otab boot 0x8014 \
	0000000000000000000000000000000000000000000000000000000000000000
# Extensibility: an unknown optional field is skipped.
"$MUT" field good.otab m.otab 0x0123 0102 && "$B" sign --key signer.key --cert signer.pem --chain inter.pem m.otab
expect_ok unknown-optional-field-skipped "${V[@]}" m.otab

# ---- extract never destroys what it did not make (issue 15, class 10) --------
# The output is published only when the whole bundle verified: a failure in
# the wanted payload or after it leaves an existing output as it was, creates
# none, leaves no temporary; a device or FIFO is written in place, never removed.
mkdir -p x
"$MUT" flip good.otab bad-boot.otab $((at[chunks.boot] + 2000))      # after the wanted rootfs
"$MUT" flip good.otab bad-rootfs.otab $((at[chunks.rootfs] + 70000))  # inside it
for b in bad-boot bad-rootfs; do
	printf 'kept by the user\n' >x/keep.img
	expect_fail "extract-$b-keeps-existing-output" "chunk" extract --keyring root.pem $b.otab rootfs x/keep.img
	[ "$(cat x/keep.img)" = "kept by the user" ] && ok "extract-$b: existing output unchanged" ||
		bad "extract-$b-existing" "output changed: $(head -c 40 x/keep.img | od -c | head -2)"
	expect_fail "extract-$b-new-output" "chunk" extract --keyring root.pem $b.otab rootfs x/new.img
	[ ! -e x/new.img ] && ok "extract-$b: no output made" || bad "extract-$b-new" "x/new.img exists"
done
[ -z "$(ls x | grep -v '^keep.img$')" ] && ok "extract: no temporary file left" || bad extract-temp "left: $(ls x)"
mknod x/null c 1 3
expect_fail extract-device-not-removed "chunk" extract --keyring root.pem bad-boot.otab rootfs x/null
[ -c x/null ] && ok "extract: a device given as output is not removed" || bad extract-device "x/null is gone"
grep -q "written in place and holds partial data" err.txt && ok "extract: says the device holds partial data" ||
	bad extract-device-msg "$(cat err.txt)"
mkfifo x/fifo
cat x/fifo >x/from-fifo & reader=$!
expect_ok extract-to-fifo extract --keyring root.pem good.otab boot x/fifo
wait $reader
cmp -s x/from-fifo boot.img && [ -p x/fifo ] && ok "extract: a FIFO is written in place" || bad extract-fifo "differs"
ln -s keep.img x/link.img
expect_ok extract-through-symlink extract --keyring root.pem good.otab boot x/link.img
cmp -s x/keep.img boot.img && [ -L x/link.img ] && ok "extract: a symlinked output is written at its target" ||
	bad extract-symlink "link or target wrong"
want=1 expect_fail extract-to-directory "is a directory" extract --keyring root.pem good.otab boot x

# ---- algorithm policy (issue 15, class 12) --------------------------------------
# Weak signatures are made with the openssl CLI (ota-bundle refuses to make
# them) and attached; each weakness is refused naming what is weak.
cms_attach() { # cms_attach SIGNER OUT [openssl cms args...]: sign unsigned.otab's bytes
	local signer=$1 out=$2; shift 2
	openssl cms -sign -binary -outform DER -in tosign.bin -signer "$signer.pem" -inkey "$signer.key" \
		-certfile inter.pem "$@" -out "$out.der" 2>/dev/null
	"$B" attach unsigned.otab "$out.der" "$out.otab" >/dev/null
}
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:1536 -out rsa1536.key 2>/dev/null
pki_cert rsa1536 inter signer
cms_attach rsa1536 w-rsa1536
expect_fail policy-rsa-1536-signer "RSA-1536 key; the policy needs at least RSA-2048" "${V[@]}" w-rsa1536.otab
want=1 expect_fail policy-sign-refuses-weak-key "RSA-1536" sign --key rsa1536.key --cert rsa1536.pem unsigned.otab x/w.otab
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-224 -out p224.key 2>/dev/null
pki_cert p224 inter signer
cms_attach p224 w-p224
expect_fail policy-ec-p224-signer "224-bit EC key; the policy needs at least 256" "${V[@]}" w-p224.otab
cms_attach signer w-sha224 -md sha224
expect_fail policy-sha224-digest "digest SHA224 (224 bits)" "${V[@]}" w-sha224.otab
PKI_MD=sha1 pki_cert sha1inter root v3_ca
pki_cert undersha1 sha1inter signer
openssl cms -sign -binary -outform DER -in tosign.bin -signer undersha1.pem -inkey undersha1.key \
	-certfile sha1inter.pem -out w-sha1chain.der 2>/dev/null
"$B" attach unsigned.otab w-sha1chain.der w-sha1chain.otab >/dev/null
expect_fail policy-sha1-signed-intermediate "certificate '/CN=sha1inter' uses the digest SHA1" "${V[@]}" w-sha1chain.otab
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:1024 -out weakroot.key 2>/dev/null
pki_root weakroot
pki_cert underweak weakroot signer
openssl cms -sign -binary -outform DER -in tosign.bin -signer underweak.pem -inkey underweak.key \
	-out w-weakroot.der 2>/dev/null
"$B" attach unsigned.otab w-weakroot.der w-weakroot.otab >/dev/null
expect_fail policy-rsa-1024-anchor "'/CN=weakroot' has an RSA-1024 key" verify --keyring weakroot.pem w-weakroot.otab
# Strong ones pass: RSA-3072 with SHA-384; an Ed25519 intermediate (OpenSSL
# 3.0's CMS cannot sign with Ed25519, certificates can).
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:3072 -out rsa3072.key 2>/dev/null
pki_cert rsa3072 inter signer
cms_attach rsa3072 s-rsa3072 -md sha384
expect_ok policy-rsa-3072-sha384 "${V[@]}" s-rsa3072.otab
openssl genpkey -algorithm ED25519 -out edinter.key 2>/dev/null
pki_cert edinter root v3_ca
PKI_MD=default pki_cert underedd edinter signer
expect_ok policy-ed25519-intermediate-sign sign --key underedd.key --cert underedd.pem --chain edinter.pem \
	unsigned.otab s-ed.otab
expect_ok policy-ed25519-intermediate-verify "${V[@]}" s-ed.otab
# The policy can be raised, never lowered.
expect_fail policy-raised-ec "256-bit EC key; the policy needs at least 384" "${V[@]}" --min-ec-bits 384 good.otab
expect_fail policy-raised-rsa "RSA-3072 key; the policy needs at least RSA-4096" "${V[@]}" --min-rsa-bits 4096 s-rsa3072.otab
rc=0; "$B" verify --keyring root.pem --min-rsa-bits 1024 good.otab 2>err.txt || rc=$?
[ $rc = 2 ] && grep -q "can be raised, not lowered" err.txt && ok "policy: --min-rsa-bits 1024 refused as usage" ||
	bad policy-lowered "exit $rc: $(cat err.txt)"

echo "$passed passed, $failed failed"
[ "$failed" = 0 ] || exit 1
[ -z "$no_vlimit" ] || exit 77

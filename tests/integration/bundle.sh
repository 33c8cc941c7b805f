#!/bin/bash
# bundle.sh OTA_BUNDLE: end-to-end tests of signed bundles with a throwaway CA
# made here with the openssl CLI, then a generated corpus of broken bundles.
# Each broken bundle must be rejected with a specific message, exit 1 (not a
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
bad() { echo "FAIL $1: $2"; failed=$((failed + 1)); }

# expect_fail NAME PATTERN ARGS...: ota-bundle must exit 1 and say PATTERN.
expect_fail() {
	local name=$1 pattern=$2 rc=0
	shift 2
	(ulimit -v 400000; "$B" "$@") >out.txt 2>err.txt || rc=$?
	if [ "$rc" != 1 ]; then
		bad "$name" "exit $rc, expected 1: $(cat err.txt)"
	elif ! grep -q -- "$pattern" err.txt; then
		bad "$name" "message '$(cat err.txt)' lacks '$pattern'"
	else
		ok "$name: $(cut -c1-150 err.txt)"
	fi
}
expect_ok() {
	local name=$1 rc=0
	shift
	(ulimit -v 400000; "$B" "$@") >out.txt 2>err.txt || rc=$?
	if [ "$rc" = 0 ]; then ok "$name"; else bad "$name" "exit $rc: $(cat err.txt)"; fi
}
# expect_sh NAME SCRIPT: a shell pipeline around ota-bundle ($B) must succeed.
expect_sh() {
	local name=$1 rc=0
	(ulimit -v 400000; B=$B sh -c "$2") >out.txt 2>err.txt || rc=$?
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
pki_cert wrongeku inter wrong_eku
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
expect_fail wrong-compatible "not compatible with 'other-board'" verify --keyring root.pem --compatible other-board good.otab
expect_fail no-keyring "no keyring" verify --allow-unsigned good.otab
expect_fail empty-keyring "keyring: no PEM certificate" verify --keyring /dev/null good.otab

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
flip version 11 "unsupported bundle format version"
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
man chunk-count-2^32 "chunks, limit" pfield good.otab m.otab rootfs 0x8015 u64:0x100000000
man chunk-count-2^64-1 "chunks, limit" pfield good.otab m.otab rootfs 0x8015 u64:0xffffffffffffffff
man chunk-count-short "chunks cannot hold an image" pfield good.otab m.otab rootfs 0x8015 u64:3
man image-size-2^64-1 "cannot hold an image" pfield good.otab m.otab rootfs 0x8013 u64:0xffffffffffffffff
man table-offset-2^64 "overflows 64 bits" pfield good.otab m.otab boot 0x8017 u64:0xfffffffffffffff0
man table-offset-wrong "chunk table at offset" pfield good.otab m.otab boot 0x8017 u64:0
man data-size-2^64-1 "payloads cover" field good.otab m.otab 0x8007 u64:0xffffffffffffffff
man payload-data-2^32 "impossible for" pfield good.otab m.otab boot 0x8018 u64:0x100000000000
man field-length-2^32-1 "exceeds the" rawlen good.otab m.otab 0xffffffff
man duplicate-payload "duplicate payload for slot class 'rootfs'" dup-payload good.otab m.otab
man unknown-critical "unknown critical field 0x8123" field good.otab m.otab 0x8123 00
man missing-compatible "missing or invalid 'compatible'" field good.otab m.otab 0x8002 del
man missing-table-hash "required field is missing" pfield good.otab m.otab rootfs 0x8016 del
man format-version-2 "format version 2 in the manifest" field good.otab m.otab 0x8001 u32:2
man bad-slot-class "invalid slot class" pfield good.otab m.otab boot 0x8011 str:../etc
man chunker-unknown "unsupported chunker" pfield good.otab m.otab rootfs 0x8019 u32:7
man wrong-table-hash "chunk table hash mismatch" pfield good.otab m.otab rootfs 0x8016 \
	0000000000000000000000000000000000000000000000000000000000000000
man wrong-image-hash "image hash mismatch" pfield good.otab m.otab boot 0x8014 \
	0000000000000000000000000000000000000000000000000000000000000000
# Extensibility: an unknown optional field is skipped.
"$MUT" field good.otab m.otab 0x0123 0102 && "$B" sign --key signer.key --cert signer.pem --chain inter.pem m.otab
expect_ok unknown-optional-field-skipped "${V[@]}" m.otab

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]

#!/bin/bash
# demo-pki.sh DIR: a throwaway CA (DIR/keyring.pem, trusted by the demo
# image) and a code-signing key and certificate it issued (DIR/signer.key,
# DIR/signer.pem) for signing the demo's update bundle. Made anew each run.
set -euo pipefail
dir=${1:?usage: demo-pki.sh DIR}
rm -rf "$dir"; mkdir -p "$dir"; cd "$dir"
cat >ca.cnf <<'CNF'
[ca]
default_ca = demo
[demo]
database = index.txt
new_certs_dir = .
serial = serial
default_md = sha256
policy = any
copy_extensions = none
[any]
commonName = supplied
[v3_ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
[signer]
basicConstraints = CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = codeSigning
CNF
: >index.txt
echo 01 >serial
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out ca.key 2>/dev/null
openssl req -x509 -new -key ca.key -subj "/CN=otaroot demo CA" -days 3650 -config ca.cnf -extensions v3_ca \
	-out keyring.pem 2>/dev/null
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out signer.key 2>/dev/null
openssl req -new -key signer.key -subj "/CN=otaroot demo release signer" -out signer.csr 2>/dev/null
openssl ca -batch -config ca.cnf -notext -cert keyring.pem -keyfile ca.key -extensions signer -extfile ca.cnf \
	-days 3650 -in signer.csr -out signer.pem 2>/dev/null
echo "demo-pki: CA $dir/keyring.pem, signer $dir/signer.pem"

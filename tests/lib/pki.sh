# SPDX-License-Identifier: Apache-2.0
# pki.sh: a throwaway X.509 PKI for tests and the demo, made with the openssl
# CLI. Source it, then call the functions in an empty working directory:
#
#   . tests/lib/pki.sh
#   pki_init                           # ca.cnf, index.txt, serial
#   pki_root root ["/CN=subject"]      # self-signed CA: root.key, root.pem
#   pki_cert signer root signer        # signer.key, signer.pem issued by root
#   pki_signer                         # all three above: what most tests sign with
#
# Extensions for pki_cert: v3_ca (an intermediate CA), signer (code signing),
# plain_signer (digitalSignature, no extended key usage: what RAUC 1.8 accepts),
# no_ku (key usage without digitalSignature), server (serverAuth only, for
# 127.0.0.1: a TLS server's certificate, and the wrong extended key usage for
# a signer).
# Keys are EC P-256. Validity: 2020-01-01 to 2099-12-31 unless given, so
# signatures verify whatever the test machine's clock says.

. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../../tools/need.sh"
need openssl

pki_init() {
	cat >ca.cnf <<'CNF'
[ca]
default_ca = test
[test]
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
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[signer]
basicConstraints = CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = codeSigning
[plain_signer]
basicConstraints = CA:FALSE
keyUsage = critical,digitalSignature
[no_ku]
basicConstraints = CA:FALSE
keyUsage = critical,keyEncipherment
[server]
basicConstraints = CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1
CNF
	: >index.txt
	echo 01 >serial
}

# pki_key NAME: NAME.key, EC P-256, unless NAME.key exists (make a key of
# another kind with openssl genpkey first to get a certificate for it)
pki_key() {
	[ -f "$1.key" ] || openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1.key" 2>/dev/null
}

# pki_root NAME [SUBJECT]: a self-signed CA, NAME.key and NAME.pem
pki_root() {
	pki_key "$1"
	openssl req -x509 -new -key "$1.key" -subj "${2:-/CN=$1}" -days 36500 -config ca.cnf -extensions v3_ca \
		-out "$1.pem" 2>/dev/null
}

# pki_cert NAME ISSUER EXTENSION [START END [SUBJECT]]: NAME.key and NAME.pem
# issued by ISSUER (ISSUER.key, ISSUER.pem); START/END as YYYYMMDDHHMMSSZ.
# PKI_MD (default sha256) is the digest of the issuer's signature.
pki_cert() {
	pki_key "$1"
	openssl req -new -key "$1.key" -subj "${6:-/CN=$1}" -out "$1.csr" 2>/dev/null
	openssl ca -batch -config ca.cnf -notext -md "${PKI_MD:-sha256}" -cert "$2.pem" -keyfile "$2.key" -extensions "$3" \
		-extfile ca.cnf -startdate "${4:-20200101000000Z}" -enddate "${5:-20991231000000Z}" \
		-in "$1.csr" -out "$1.pem" 2>/dev/null
}

# pki_signer: pki_init, a root CA (root.key, root.pem) and a code signer it
# issued (signer.key, signer.pem)
pki_signer() {
	pki_init
	pki_root root
	pki_cert signer root signer
}

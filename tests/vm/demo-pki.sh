#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# demo-pki.sh DIR: a throwaway CA (DIR/keyring.pem, trusted by the demo
# image) and a code-signing key and certificate it issued (DIR/signer.key,
# DIR/signer.pem) for signing the demo's update bundle. Made anew each run.
set -euo pipefail
dir=${1:?usage: demo-pki.sh DIR}
here=$(dirname "$(realpath "$0")")
rm -rf "$dir"; mkdir -p "$dir"; cd "$dir"
. "$here/../lib/pki.sh"
pki_init
pki_root ca "/CN=otaroot demo CA"
pki_cert signer ca signer "" "" "/CN=otaroot demo release signer"
cp ca.pem keyring.pem
echo "demo-pki: CA $dir/keyring.pem, signer $dir/signer.pem"

# SPDX-License-Identifier: Apache-2.0
# signed-bundle.sh: sourced by tests that make bundles with ota-bundle ($B),
# signed by pki_signer's signer (signer.key, signer.pem in the working
# directory).
#
#   signed_bundle OUT VERSION CLASS=FILE...
#                     OUT, a bundle for the board test-board at VERSION with
#                     one image CLASS from FILE for each CLASS=FILE; its
#                     recipe is left in bundle.ini. Fails with ota-bundle.

signed_bundle() {
	local out=$1 version=$2 image
	shift 2
	printf '[bundle]\ncompatible = test-board\nversion = %s\n' "$version" >bundle.ini
	for image in "$@"; do printf '[image.%s]\nfile = %s\n' "${image%%=*}" "${image#*=}" >>bundle.ini; done
	"$B" create --key signer.key --cert signer.pem bundle.ini "$out" >/dev/null
}

# SPDX-License-Identifier: Apache-2.0
# prand.sh: sourced by tests that need incompressible data.
#
#   prand SEED SIZE   writes SIZE pseudo-random bytes, the same for the same
#                     SEED on every run (AES-128-CTR over zeros, keyed by SEED)
#
# Tests use it instead of /dev/urandom so that what depends on the data
# (content-defined chunk boundaries, and so how many bytes a delta reuses)
# is the same in every run: a check either holds or it does not.

prand() {
	# openssl ends on SIGPIPE once head has enough: not a failure (pipefail).
	{ openssl enc -aes-128-ctr -nosalt -pass "pass:otaroot-test-$1" -pbkdf2 -in /dev/zero 2>/dev/null || true; } |
		head -c "$2"
}

# SPDX-License-Identifier: Apache-2.0
# corrupt.sh: sourced by tests that damage a file on purpose.
#
#   flip_byte FILE OFFSET   inverts every bit of the byte at OFFSET in place;
#                           fails if FILE has no byte there
#
# Inverting, not overwriting with a constant: a constant equals the byte it
# replaces once in 256 runs over random data, and the "corrupted" file is then
# intact (integration.update-slots failed so under CI with an \xff write).

flip_byte() {
	local file=$1 offset=$2 byte
	byte=$(od -An -tu1 -j "$offset" -N1 "$file" | tr -d ' \n')
	if [ -z "$byte" ]; then
		echo "flip_byte: '$file' has no byte at offset $offset" >&2
		return 1
	fi
	# shellcheck disable=SC2059 # the format is the octal escape built here
	printf "\\$(printf %03o $((byte ^ 255)))" |
		dd of="$file" bs=1 seek="$offset" conv=notrunc status=none
}

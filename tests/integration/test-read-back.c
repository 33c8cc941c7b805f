/* SPDX-License-Identifier: Apache-2.0 */
/* test-read-back PATH SIZE: prints the SHA-256 (hex) of the first SIZE bytes
 * of PATH as ota-update's read-back sees them (update/slot-io.h), for
 * read-back.sh, which changes the medium under the page cache. */
#include <stdio.h>

#include "bundle/bundle.h"
#include "update/slot-io.h"

int main(int argc, char **argv)
{
	uint64_t size;
	if (argc != 3 || ota_parse_u64(argv[2], &size) < 0) {
		fprintf(stderr, "usage: test-read-back PATH SIZE\n");
		return 2;
	}
	struct ota_error err = { 0 };
	uint8_t sha[32];
	char hex[65];
	if (ota_slot_read_back("test", argv[1], false, size, sha, &err) < 0) {
		fprintf(stderr, "test-read-back: %s\n", err.msg);
		return 1;
	}
	ota_bundle_hex(sha, hex);
	printf("%s\n", hex);
	return 0;
}

/* SPDX-License-Identifier: Apache-2.0 */
/* ota-test-status-read STATUS_FILE SLOT...: reads the slot records of the
 * status file with ota-update's own reader (ota_update_status_read) and
 * prints one line per slot, "slot<TAB>NAME<TAB>STATE<TAB>SHA256" (STATE
 * empty: no record), or "corrupt<TAB>MESSAGE" if the file does not load.
 * For the crash-state checker (tests/crash/crashstates.py). Exit 0, or 2 on
 * usage errors. */
#include <stdio.h>

#include "update/update.h"

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: %s STATUS_FILE SLOT...\n", argv[0]);
		return 2;
	}
	for (int i = 2; i < argc; i++) {
		struct ota_slot_record rec;
		struct ota_error err = { 0 };
		if (ota_update_status_read(argv[1], argv[i], &rec, &err) < 0) {
			printf("corrupt\t%s\n", err.msg);
			return 0;
		}
		printf("slot\t%s\t%s\t%s\n", argv[i], ota_slot_state_to_string(rec.state), rec.sha256);
	}
	return 0;
}

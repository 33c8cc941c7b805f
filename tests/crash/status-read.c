/* SPDX-License-Identifier: Apache-2.0 */
/* ota-test-status-read STATUS_FILE SLOT...: reads the slot records of the
 * status file with ota-update's own reader (ota_update_status_read) and
 * prints one line per slot, "slot<TAB>NAME<TAB>STATE<TAB>SHA256" (STATE
 * empty: no record), or "corrupt<TAB>MESSAGE" if the file does not load.
 * Then, per slot, what the delta planner's loader (ota_chunk_index_load)
 * makes of the slot's saved chunk index: "index<TAB>NAME<TAB>none" or
 * "index<TAB>NAME<TAB>COUNT<TAB>DIGEST" (FNV-1a over the loaded entries,
 * enough to tell two indexes apart). The chunker and average the loader
 * must match are taken from the file's own header, so that every other
 * check of the loader applies.
 * For the crash-state checker (tests/crash/crashstates.py). Exit 0, or 2 on
 * usage errors. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "sysutil/sysutil.h"
#include "update/chunk-index.h"
#include "update/update.h"

static void print_index(const char *status_file, const char *slot)
{
	char path[4096];
	uint8_t head[48];
	int fd = ota_chunk_index_path(status_file, slot, path, sizeof(path)) < 0 ? -1 : open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd < 0 ? -1 : pread(fd, head, sizeof(head), 0);
	if (fd >= 0)
		close(fd);
	struct ota_manifest_payload p = { 0 };
	if (n == (ssize_t)sizeof(head)) {
		p.chunker = (enum ota_chunker_kind)ota_get_be32(head + 40);
		p.chunk_avg = ota_get_be32(head + 44);
	}
	struct ota_chunk_index ix = { 0 };
	if (n != (ssize_t)sizeof(head) || ota_chunk_index_load(status_file, slot, &p, &ix) <= 0) {
		printf("index\t%s\tnone\n", slot);
		return;
	}
	uint64_t h = 14695981039346656037ull;
	for (size_t i = 0; i < ix.n; i++) {
		uint8_t rec[44];
		memcpy(rec, ix.v[i].sha, 32);
		ota_put_be64(rec + 32, ix.v[i].offset);
		ota_put_be32(rec + 40, ix.v[i].size);
		for (size_t k = 0; k < sizeof(rec); k++)
			h = (h ^ rec[k]) * 1099511628211ull;
	}
	printf("index\t%s\t%zu\t%016llx\n", slot, ix.n, (unsigned long long)h);
	ota_chunk_index_done(&ix);
}

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
	for (int i = 2; i < argc; i++)
		print_index(argv[1], argv[i]);
	return 0;
}

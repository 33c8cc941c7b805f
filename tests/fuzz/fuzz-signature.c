/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: the CMS signature decoder (DER), as used by inspect and
 * attach, and the fixed header and chunk-table decoders. */
#include "bundle/bundle.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ota_error err = { 0 };
	struct ota_bundle_signer_info info;
	fuzz_says_why(ota_bundle_signature_describe(data, size, &info, &err), &err);
	struct ota_bundle_header h;
	(void)!ota_bundle_header_parse(data, size, &h, &err);
	/* Chunk table against a fixed payload description. */
	struct ota_manifest_payload p = { .chunker = OTA_CHUNKER_BUZHASH, .chunk_avg = 256,
					  .chunk_count = size / OTA_BUNDLE_CHUNK_ENTRY_SIZE,
					  .image_size = 1000, .data_offset = 0, .data_size = 500 };
	struct ota_chunk_entry *t = NULL;
	if (ota_chunk_table_parse(data, size - size % OTA_BUNDLE_CHUNK_ENTRY_SIZE, &p, &t, &err) == 0)
		free(t);
	return 0;
}

/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: the bundle manifest (TLV) parser and, when it parses,
 * the re-encoder (which must reproduce a manifest that parses again). */
#include "bundle/bundle.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ota_manifest *m = NULL;
	struct ota_error err = { 0 };
	if (fuzz_says_why(ota_manifest_parse(data, size, &m, &err), &err) < 0)
		return 0;
	uint8_t *raw = NULL;
	size_t n;
	struct ota_manifest *again = NULL;
	/* A valid manifest must survive a round trip. */
	FUZZ_ASSERT(ota_manifest_serialize(m, &raw, &n, &err) >= 0 && ota_manifest_parse(raw, n, &again, &err) >= 0);
	free(raw);
	ota_manifest_free(again);
	ota_manifest_free(m);
	return 0;
}

/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: the /etc/ota/layout.conf parser. */
#include "fuzz.h"
#include "partitioner/partitioner.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	_cleanup_free_ char *text = fuzz_text(data, size);
	struct ota_layout l;
	struct ota_error err = { 0 };
	if (!text || fuzz_says_why(ota_layout_parse(&l, text, "fuzz.conf", &err), &err) != 0)
		return 0;
	FUZZ_ASSERT(l.n_parts > 0 && l.n_parts <= OTA_LAYOUT_MAX_PARTS);
	for (size_t i = 0; i < l.n_parts; i++) {
		const struct ota_layout_part *p = &l.parts[i];
		const char *why;
		FUZZ_ASSERT(!p->rest || i + 1 == l.n_parts);
		/* Accepted sizes are whole 512-byte sectors and at least the
		 * partition's minimum; names fit a GPT entry. */
		FUZZ_ASSERT(p->rest || (p->size % 512 == 0 && p->size >= ota_layout_min_size(p, &why)));
		FUZZ_ASSERT(p->name[0] && strlen(p->name) <= 3 * OTA_GPT_NAME_UNITS);
	}
	return 0;
}

/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: the /etc/ota/layout.conf parser. */
#include <stdint.h>
#include <string.h>

#include "partitioner/partitioner.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	struct ota_layout l;
	struct ota_error err = { 0 };
	int r = ota_layout_parse(&l, text, "fuzz.conf", &err);
	if (r < 0 && !err.msg[0])
		__builtin_trap(); /* every failure must say why */
	if (r == 0 && (l.n_parts == 0 || l.n_parts > OTA_LAYOUT_MAX_PARTS))
		__builtin_trap();
	for (size_t i = 0; r == 0 && i < l.n_parts; i++) {
		const struct ota_layout_part *p = &l.parts[i];
		const char *why;
		if (p->rest && i + 1 != l.n_parts)
			__builtin_trap();
		/* Accepted sizes are whole 512-byte sectors and at least the
		 * partition's minimum; names fit a GPT entry. */
		if (!p->rest && (p->size % 512 || p->size < ota_layout_min_size(p, &why)))
			__builtin_trap();
		if (!p->name[0] || strlen(p->name) > 3 * OTA_GPT_NAME_UNITS)
			__builtin_trap();
	}
	free(text);
	return 0;
}

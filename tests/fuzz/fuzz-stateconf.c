/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: the state.conf / state.d / runtime.conf parser. */
#include <stdint.h>
#include <string.h>

#include "stateman/stateman.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	struct ota_state_config c;
	struct ota_error err = { 0 };
	ota_state_config_init(&c);
	if (ota_state_config_merge_text(&c, text, "fuzz.conf", &err) < 0 && !err.msg[0])
		__builtin_trap(); /* every failure must say why */
	ota_state_config_drop_nested(&c);
	for (size_t i = 0; i < c.n_entries; i++) {
		char norm[4096];
		/* Whatever was accepted must be a valid, normalised path. */
		if (ota_state_normalize_path(c.entries[i].path, norm, sizeof(norm), NULL) < 0 ||
		    strcmp(norm, c.entries[i].path) != 0)
			__builtin_trap();
	}
	ota_state_config_done(&c);

	/* runtime.conf: whatever its reader takes, its writer gives back. */
	struct ota_state_config rt, back;
	ota_state_config_init(&rt);
	ota_state_config_init(&back);
	if (ota_state_runtime_parse(&rt, text, "runtime.conf", &err) < 0 && !err.msg[0])
		__builtin_trap();
	char *out = NULL;
	size_t len = 0;
	if (ota_state_runtime_format(&rt, NULL, NULL, false, &out, &len, &err) == 0) {
		if (ota_state_runtime_parse(&back, out, "again", &err) < 0 || back.n_entries != rt.n_entries)
			__builtin_trap();
		for (size_t i = 0; i < rt.n_entries; i++) {
			const struct ota_persist_entry *b = ota_state_config_find(&back, rt.entries[i].path);
			if (!b || b->keep_on_reset != rt.entries[i].keep_on_reset)
				__builtin_trap();
		}
	}
	free(out);
	ota_state_config_done(&rt);
	ota_state_config_done(&back);
	free(text);
	return 0;
}

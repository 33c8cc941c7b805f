/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: the state.conf / state.d / runtime.conf parser. */
#include "fuzz.h"
#include "stateman/stateman.h"

static void state_conf(const char *text)
{
	struct ota_state_config c;
	struct ota_error err = { 0 };
	ota_state_config_init(&c);
	fuzz_says_why(ota_state_config_merge_text(&c, text, "fuzz.conf", &err), &err);
	ota_state_config_drop_nested(&c);
	for (size_t i = 0; i < c.n_entries; i++) {
		char norm[4096];
		/* Whatever was accepted must be a valid, normalised path. */
		FUZZ_ASSERT(ota_state_normalize_path(c.entries[i].path, norm, sizeof(norm), NULL) >= 0 &&
			    strcmp(norm, c.entries[i].path) == 0);
	}
	ota_state_config_done(&c);
}

/* runtime.conf: whatever its reader takes, its writer gives back. */
static void runtime_conf(const char *text)
{
	struct ota_state_config rt, back;
	struct ota_error err = { 0 };
	ota_state_config_init(&rt);
	ota_state_config_init(&back);
	fuzz_says_why(ota_state_runtime_parse(&rt, text, "runtime.conf", &err), &err);
	_cleanup_free_ char *out = NULL;
	size_t len = 0;
	if (ota_state_runtime_format(&rt, NULL, NULL, false, &out, &len, &err) == 0) {
		FUZZ_ASSERT(ota_state_runtime_parse(&back, out, "again", &err) >= 0 && back.n_entries == rt.n_entries);
		for (size_t i = 0; i < rt.n_entries; i++) {
			const struct ota_persist_entry *b = ota_state_config_find(&back, rt.entries[i].path);
			FUZZ_ASSERT(b && b->keep_on_reset == rt.entries[i].keep_on_reset);
		}
	}
	ota_state_config_done(&rt);
	ota_state_config_done(&back);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	_cleanup_free_ char *text = fuzz_text(data, size);
	if (text) {
		state_conf(text);
		runtime_conf(text);
	}
	return 0;
}

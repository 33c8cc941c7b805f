/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: /etc/ota/system.conf as ota-update reads it (sysconf,
 * OTA_SYSCONF_UPDATE), input of any bytes. */
#include "fuzz.h"
#include "update/update.h"

/* A valid config: two groups, each with a slot per class. */
static void check_valid(const struct ota_update_config *c)
{
	FUZZ_ASSERT(c->bootflow.groups[0] && c->bootflow.groups[1] && c->n_slots > 0);
	for (size_t i = 0; i < c->n_slots; i++) {
		const struct ota_slot_config *s = &c->slots[i];
		FUZZ_ASSERT(!!s->device != !!s->file && s->group);
		const char *other = ota_sysconf_other_group(c, s->group);
		FUZZ_ASSERT(other && ota_sysconf_slot(c, other, s->slot_class));
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	_cleanup_free_ char *text = fuzz_text(data, size);
	struct ota_sysconf c;
	struct ota_error err = { 0 };
	ota_sysconf_init(&c);
	if (text && fuzz_says_why(ota_sysconf_parse(&c, OTA_SYSCONF_UPDATE, text, "fuzz.conf", &err), &err) == 0)
		check_valid(&c.update);
	ota_sysconf_done(&c);
	return 0;
}

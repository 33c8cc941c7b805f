/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: ota-update's sections of /etc/ota/system.conf
 * (update/config.c), input of any bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "update/update.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	struct ota_update_config c;
	struct ota_error err = { 0 };
	ota_update_config_init(&c);
	int r = ota_update_config_parse(&c, text, "fuzz.conf", &err);
	if (r < 0 && !err.msg[0])
		__builtin_trap(); /* every failure must say why */
	if (r == 0) {
		/* A valid config: two groups, each with a slot per class. */
		if (!c.groups[0] || !c.groups[1] || c.n_slots == 0)
			__builtin_trap();
		for (size_t i = 0; i < c.n_slots; i++) {
			const struct ota_slot_config *s = &c.slots[i];
			if (!!s->device == !!s->file || !s->group)
				__builtin_trap();
			const char *other = ota_update_config_other_group(&c, s->group);
			if (!other || !ota_update_config_slot(&c, other, s->slot_class))
				__builtin_trap();
		}
	}
	ota_update_config_done(&c);
	free(text);
	return 0;
}

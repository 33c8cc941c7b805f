/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: the /etc/ota/system.conf parser (input of any bytes). */
#include <stdint.h>
#include <string.h>

#include "init/init.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	struct ota_system_config c;
	struct ota_error err = { 0 };
	ota_system_config_init(&c);
	if (ota_system_config_parse(&c, text, "fuzz.conf", &err) < 0 && !err.msg[0])
		__builtin_trap(); /* every failure must say why */
	ota_system_config_done(&c);
	free(text);
	return 0;
}

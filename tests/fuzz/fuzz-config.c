/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: the /etc/ota/system.conf parser (input of any bytes). */
#include "fuzz.h"
#include "init/init.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	_cleanup_free_ char *text = fuzz_text(data, size);
	struct ota_system_config c;
	struct ota_error err = { 0 };
	ota_system_config_init(&c);
	if (text)
		fuzz_says_why(ota_system_config_parse(&c, text, "fuzz.conf", &err), &err);
	ota_system_config_done(&c);
	return 0;
}

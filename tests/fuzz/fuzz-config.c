/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: the /etc/ota/system.conf parser as ota-init uses it
 * (sysconf, OTA_SYSCONF_INIT), input of any bytes. */
#include "fuzz.h"
#include "sysconf/sysconf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	_cleanup_free_ char *text = fuzz_text(data, size);
	struct ota_sysconf c;
	struct ota_error err = { 0 };
	ota_sysconf_init(&c);
	if (text)
		fuzz_says_why(ota_sysconf_parse(&c, OTA_SYSCONF_INIT, text, "fuzz.conf", &err), &err);
	ota_sysconf_done(&c);
	return 0;
}

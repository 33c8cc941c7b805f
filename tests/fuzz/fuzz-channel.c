/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: the update channel document (update/channel.c), input
 * of any bytes, resolved against a fixed channel URL. */
#include "fuzz.h"
#include "update/update.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ota_channel ch = { 0 };
	struct ota_error err = { 0 };
	int r = ota_channel_parse(&ch, (const char *)data, size, "https://cdn.example.com/a/channel.json", &err);
	if (fuzz_says_why(r, &err) == 0) {
		FUZZ_ASSERT(ch.version && ch.bundle && ch.version[0] && strlen(ch.bundle) <= OTA_CHANNEL_URL_MAX);
		FUZZ_ASSERT(strncmp(ch.bundle, "http://", 7) == 0 || strncmp(ch.bundle, "https://", 8) == 0);
		FUZZ_ASSERT(!ch.sha256[0] || strlen(ch.sha256) == 64);
		ota_channel_done(&ch);
	}
	return 0;
}

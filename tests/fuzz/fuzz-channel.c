/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: the update channel document (update/channel.c), input
 * of any bytes, resolved against a fixed channel URL. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "update/update.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ota_channel ch = { 0 };
	struct ota_error err = { 0 };
	int r = ota_channel_parse(&ch, (const char *)data, size, "https://cdn.example.com/a/channel.json", &err);
	if (r < 0 && !err.msg[0])
		__builtin_trap(); /* every failure must say why */
	if (r == 0) {
		if (!ch.version || !ch.bundle || !ch.version[0] || strlen(ch.bundle) > OTA_CHANNEL_URL_MAX)
			__builtin_trap();
		if (strncmp(ch.bundle, "http://", 7) != 0 && strncmp(ch.bundle, "https://", 8) != 0)
			__builtin_trap();
		if (ch.sha256[0] && strlen(ch.sha256) != 64)
			__builtin_trap();
		ota_channel_done(&ch);
	}
	return 0;
}

/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: the kernel command line parser (input of any bytes). */
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
	struct ota_cmdline c;
	if (ota_cmdline_parse(text, &c, NULL) == 0)
		ota_cmdline_done(&c);
	free(text);
	return 0;
}

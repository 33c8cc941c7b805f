/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: the kernel command line parser (input of any bytes). */
#include "fuzz.h"
#include "init/init.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	_cleanup_free_ char *text = fuzz_text(data, size);
	struct ota_cmdline c;
	if (text && ota_cmdline_parse(text, &c, NULL) == 0)
		ota_cmdline_done(&c);
	return 0;
}

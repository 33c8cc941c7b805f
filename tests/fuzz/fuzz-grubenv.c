/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer: the GRUB boot flow's decision over hostile environment files
 * (bootflow/grubenv.c). The input is cut into env1, env2 and tries; whatever
 * the bytes, the decision names a configured group, and a decided state
 * written back out decides the same. */
#include "bootflow/bootflow-private.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const groups[2] = { "a", "b" };
	size_t third = size / 3;
	const char *p = (const char *)data;
	struct ota_grub_files f = { p, p + third, p + 2 * third, third, third, size - 2 * third };
	struct ota_grub_decision d;
	if (ota_grub_decide(&f, groups, &d) < 0)
		return 0;
	FUZZ_ASSERT(strcmp(d.boot, "a") == 0 || strcmp(d.boot, "b") == 0);
	char block[OTA_GRUBENV_SIZE];
	if (d.copy == 0 || ota_grubenv_format_state(block, &d.state) < 0)
		return 0;
	struct ota_grub_files g = { block, block, NULL, sizeof(block), sizeof(block), 0 };
	struct ota_grub_decision e;
	FUZZ_ASSERT(ota_grub_decide(&g, groups, &e) >= 0 && e.copy == 1 &&
		    strcmp(e.state.default_group, d.state.default_group) == 0 && strcmp(e.state.trial, d.state.trial) == 0);
	return 0;
}

/* SPDX-License-Identifier: Apache-2.0 */
/* For the boot-flow unit tests: the boot flow a test expects to be made. */
#ifndef OTA_TEST_BOOTFLOW_H
#define OTA_TEST_BOOTFLOW_H

#include <stdio.h>
#include "bootflow/bootflow.h"

/* The boot flow cfg describes, or NULL after printing why it was refused
 * (the case's next ASSERT then fails on the NULL). */
static inline struct ota_bootflow *test_bootflow_new(const struct ota_bootflow_config *cfg)
{
	struct ota_bootflow *bf = NULL;
	struct ota_error err = { 0 };
	if (ota_bootflow_new(cfg, &bf, &err) < 0)
		fprintf(stderr, "  %s\n", err.msg);
	return bf;
}

#endif

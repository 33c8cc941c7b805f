/* Layout of struct ota_bootflow, shared by the backends. */
#ifndef OTA_BOOTFLOW_PRIVATE_H
#define OTA_BOOTFLOW_PRIVATE_H

#include "bootflow/bootflow.h"

struct ota_bootflow {
	const struct ota_bootflow_ops *ops;
	char *executable;
	unsigned timeout_ms;
	char *groups[2];
	char *device;
	char *directory;
	char *cmdline;
};

extern const struct ota_bootflow_ops ota_bootflow_custom_ops;
extern const struct ota_bootflow_ops ota_bootflow_grub_ops;

#endif

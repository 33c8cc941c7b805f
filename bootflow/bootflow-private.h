/* SPDX-License-Identifier: Apache-2.0 */
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
	/* Valid during ops->init only: backends copy what they need into data. */
	const struct ota_bootflow_config *cfg;
	void *data;                        /* the backend's, freed by free_data */
	void (*free_data)(void *data);
};

extern const struct ota_bootflow_ops ota_bootflow_custom_ops;
extern const struct ota_bootflow_ops ota_bootflow_grub_ops;
extern const struct ota_bootflow_ops ota_bootflow_uboot_ops;
extern const struct ota_bootflow_ops ota_bootflow_rpi_tryboot_ops;

/* ---- shared by uboot and rpi-tryboot --------------------------------------- */

/* "<proc>/<rel>" into buf; proc NULL means "/proc". */
int ota_bootflow_proc_path(const char *proc, const char *rel, char *buf, size_t size, struct ota_error *err);
/* The real reboot(2) after sync(); the default ota_bootflow_reboot_fn. */
int ota_bootflow_sys_reboot(unsigned cmd, const char *arg);

/* ---- grub and uboot (file mode): the FAT boot partition ---------------------- */

/* Mounts device (PARTLABEL=, PARTUUID=, /dev/...) as vfat (nosuid, nodev,
 * noexec) on a new directory made by mkdtemp(mnt): mnt is a template ending
 * in XXXXXX under /run/ota, and holds the mount point on success, "" on
 * failure. what names the partition in errors ("ESP"). */
int ota_bootflow_mount_vfat(const char *device, char *mnt, const char *what, struct ota_error *err) _must_check_;
/* Unmounts and removes mnt if it is not ""; leaves it "". */
void ota_bootflow_umount(char *mnt);

/* ---- rpi-tryboot pure cores (unit tests, fuzzing) ---------------------------- */

/* Parses autoboot.txt (at most 512 bytes): boot_partition of [all] (required)
 * and of [tryboot] (0 if absent). */
int ota_autoboot_parse(const char *text, unsigned *ret_default, unsigned *ret_tryboot,
		       struct ota_error *err) _must_check_;
/* The exact autoboot.txt otaroot writes. */
int ota_autoboot_format(unsigned default_part, unsigned tryboot_part, char *buf, size_t size) _must_check_;

#endif

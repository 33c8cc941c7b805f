/* SPDX-License-Identifier: Apache-2.0 */
/* Layout of struct ota_bootflow, shared by the backends, and the backends'
 * pure cores (GRUB environment files, autoboot.txt) for their unit tests,
 * fuzzers and ota-grubenv. Not part of the public contract (bootflow.h). */
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

/* ---- grub pure cores: GRUB environment files (bootflow/grubenv.c; docs/boot-flows.md) ---- */

#define OTA_GRUBENV_SIZE 1024u
#define OTA_GRUBENV_FILE_MAX (64u * 1024u) /* larger files are not ours */

/* Reads a GRUB environment block as `load_env -f F names...` does: checks the
 * signature (-EBADMSG), then sets values[i] (malloc'd, replacing an earlier
 * value) for each occurrence of names[i]; a block broken half-way keeps what
 * was set before the break, as GRUB does. -ENOMEM. */
int ota_grubenv_load(const char *buf, size_t len, const char *const *names, char **values, size_t n);

struct ota_grub_state {       /* one copy of the state (env1 or env2) */
	uint64_t seq;             /* ota_seq_begin = ota_seq_end */
	char default_group[OTA_BOOTFLOW_NAME_MAX];
	char trial[OTA_BOOTFLOW_NAME_MAX];     /* "" if none */
	char trial_id[OTA_BOOTFLOW_NAME_MAX];  /* matches tries' ota_tries_id */
};

struct ota_grub_files {       /* contents; NULL: missing or unreadable */
	const char *env1, *env2, *tries;
	size_t env1_len, env2_len, tries_len;
};

struct ota_grub_decision {
	int copy;                 /* 1 or 2: the copy in force; 0: none valid */
	struct ota_grub_state state;  /* of that copy; copy 0: default = groups[0] */
	unsigned tries;           /* the trial's tries left now (0: no trial will run) */
	bool boot_trial;          /* GRUB boots the trial now (and saves tries - 1) */
	char boot[OTA_BOOTFLOW_NAME_MAX];  /* the group GRUB boots now */
};

/* What bootflow/grub/flow.cfg decides from these bytes, step for step. */
int ota_grub_decide(const struct ota_grub_files *f, const char *const groups[2],
		    struct ota_grub_decision *ret) _must_check_;
/* A state copy: exactly OTA_GRUBENV_SIZE bytes, ota_seq_end in the last
 * line. -EINVAL for values GRUB would need escaped. */
int ota_grubenv_format_state(char out[OTA_GRUBENV_SIZE], const struct ota_grub_state *s) _must_check_;
/* The tries file in GRUB's own layout (save_env can rewrite it). */
int ota_grubenv_format_tries(char out[OTA_GRUBENV_SIZE], const char *trial_id, unsigned tries) _must_check_;

/* ---- rpi-tryboot pure cores (unit tests, fuzzing) ---------------------------- */

/* Parses autoboot.txt (at most 512 bytes): boot_partition of [all] (required)
 * and of [tryboot] (0 if absent). */
int ota_autoboot_parse(const char *text, unsigned *ret_default, unsigned *ret_tryboot,
		       struct ota_error *err) _must_check_;

#endif

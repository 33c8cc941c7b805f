/* SPDX-License-Identifier: Apache-2.0 */
/* init: the building blocks of ota-init, the PID-1 shim started by the kernel
 * with init=/sbin/ota-init.
 *
 * Boot sequence (each step is one function below; main calls them in order):
 *   1. mount /proc, /sys, /dev (devtmpfs) and /run (tmpfs) where not mounted;
 *   2. read /proc/cmdline and /etc/ota/system.conf (the cmdline wins);
 *   3. find the booted system device from stat("/"), cross-checked with root=;
 *   3b. on a first boot, provision the disk from /etc/ota/layout.conf;
 *   4. find and mount the data partition at /run/ota/data;
 *   5. build the new root: overlayfs over a read-only bind of the system slot,
 *      with the persisted paths bind-mounted from the data partition;
 *   6. move /dev, /proc, /sys and our /run/ota mounts into it, pivot_root;
 *   7. record what happened in /run/ota/status, exec the real init.
 *
 * Invariants:
 * - ota-init never exits and never lets the kernel panic by its own fault. A
 *   failure in steps 3-6 degrades the boot (in-memory overlay, or the
 *   read-only root as is) and is recorded with its reason; step 7 falls back
 *   to /sbin/init, /etc/init, /bin/init and /bin/sh as the kernel does.
 * - Nothing here exits, aborts, uses threads or NSS.
 * - Output: the parsers (kernel command line; system.conf, in sysconf/) do not print;
 *   they return errors in struct ota_error. The boot steps (ota_boot_*,
 *   boot.c and trial.c) are ota-init's main cut into named steps and are
 *   linked into no other program: they log what they did, and each
 *   degradation with its reason, through ota_log (console and /dev/kmsg) as
 *   they go, because a step that degrades the boot carries on instead of
 *   returning an error for main to print.
 */
#ifndef OTA_INIT_H
#define OTA_INIT_H

#include <limits.h>
#include <sys/types.h>

#include "partitioner/partitioner.h"
#include "stateman/stateman.h"
#include "sysconf/sysconf.h"
#include "sysutil/sysutil.h"

#define OTA_DEFAULT_INIT "/sbin/init"
#define OTA_CMDLINE_MAX 4096

/* ---- kernel command line ------------------------------------------------- */

struct ota_cmdline {
	char *root;     /* root= */
	char *init;     /* ota.init=: the real init */
	char *slot;     /* ota.slot=: booted slot as the boot flow names it */
	char *overlay;  /* ota.overlay=: overrides the configured overlay mode */
	char *data;     /* ota.data=: overrides the configured data device */
	bool debug;     /* ota.debug: log at debug level */
	bool trial;     /* ota.trial: the boot flow boots an uncommitted trial */
};

/* Parses a kernel command line with the kernel's quoting rules (double quotes
 * group, are removed, and "--" ends the kernel's part). Unknown parameters are
 * ignored; for repeated ones the last wins, as in the kernel. */
int ota_cmdline_parse(const char *text, struct ota_cmdline *ret, struct ota_error *err) _must_check_;
void ota_cmdline_done(struct ota_cmdline *c);

/* ---- the boot ------------------------------------------------------------ */

struct ota_boot {
	struct ota_cmdline cmdline;
	struct ota_sysconf config;      /* its init part: OTA_SYSCONF_INIT */
	char config_error[512];     /* "" when the config was fine or absent */
	struct ota_state_config state;  /* persisted paths, overlay mode */
	const char *state_root;     /* where state.conf is read: "" = / */
	char state_errors[1024];    /* skipped state files and entries */
	unsigned persisted;         /* paths bound from the store */
	bool reset_done;            /* a factory reset ran this boot */
	uint64_t init_usec;         /* time from ota-init's start to the status */

	char system_dev[64];        /* booted system partition, "" if unknown */
	dev_t system_devno;
	char disk_dev[64];          /* its whole disk, "" if unknown */
	dev_t disk_devno;
	char root_check[256];       /* outcome of the root= cross-check */
	char slot[64];              /* booted slot, "unknown" if not found */

	struct ota_layout layout;   /* /etc/ota/layout.conf, when have_layout */
	bool have_layout;
	struct ota_part_plan plan;  /* what provisioning found or did */
	char provision[512];        /* outcome of provisioning, for the status */
	bool data_grown;            /* the data filesystem grew this boot */

	char data_dev[64];          /* "" when no data partition was found */
	char data_fstype[32];
	bool data_mounted;
	bool data_repaired; /* e2fsck had to repair it before it mounted */

	enum ota_overlay_mode overlay_requested;
	enum ota_overlay_mode overlay;  /* what was actually set up */
	bool root_switched;             /* pivot_root done: / is the overlay */

	char api_mounted[64];           /* API filesystems ota-init mounted itself */
	char degraded[1024];            /* why the boot is degraded, "" if not */
	char boot_id[40];
};

void ota_boot_init(struct ota_boot *b);
void ota_boot_done(struct ota_boot *b);
/* Appends a reason to b->degraded (and returns it for logging). */
const char *ota_boot_degrade(struct ota_boot *b, const char *fmt, ...) _printf_(2, 3);

/* Step 1. Mounts the API filesystems that are not mounted yet and lists
 * them in b->api_mounted. */
int ota_boot_mount_api_filesystems(struct ota_boot *b, struct ota_error *err) _must_check_;
/* Step 2. Never fails: a broken config is recorded and the defaults used.
 * state_root prefixes the state configuration's paths ("" normally). */
void ota_boot_load_settings(struct ota_boot *b, const char *cmdline_text, const char *config_path,
			    const char *state_root);
/* Step 3. */
int ota_boot_find_system(struct ota_boot *b, struct ota_error *err) _must_check_;
/* Step 3b. With /etc/ota/layout.conf: provisions the boot disk (grow,
 * create, format; a no-op once done). Failures are recorded, never fatal. */
void ota_boot_provision(struct ota_boot *b, const char *layout_path);
/* Step 4d. Grows the mounted data filesystem when the layout asks for it. */
void ota_boot_grow_data(struct ota_boot *b);
/* Step 4a. Finds the data partition: ota.data= or [data] device when set;
 * otherwise the partition of the boot disk whose GPT name is "data", else
 * the one whose filesystem label is "data" (never the booted system). */
int ota_boot_find_data(struct ota_boot *b, struct ota_error *err) _must_check_;
/* Step 4b. Finds (4a) and mounts the data partition at OTA_DATA_DIR. */
int ota_boot_mount_data(struct ota_boot *b, struct ota_error *err) _must_check_;
/* Step 4c. With the data partition mounted: loads the runtime entries,
 * carries out a requested factory reset, discards unfinished copies. */
void ota_boot_prepare_state(struct ota_boot *b);
/* Step 5. Mounts the overlay at OTA_ROOT_DIR. Falls back to in-memory and
 * then to disabled by itself, recording why in b->degraded. */
void ota_boot_build_root(struct ota_boot *b);
/* Step 5b. Seeds and bind-mounts every persisted path into the new root
 * and sets up /etc/machine-id. Failures are recorded, never fatal. */
void ota_boot_bind_state(struct ota_boot *b);
/* Step 6. On failure the caller still execs init on whatever root it has. */
int ota_boot_switch_root(struct ota_boot *b, struct ota_error *err) _must_check_;
/* Step 7a. Writes OTA_STATUS_FILE (key=value lines, shell-sourceable). */
int ota_boot_write_status(const struct ota_boot *b, struct ota_error *err) _must_check_;
/* Step 7b. Starts emptying the discarded-overlay trash in a child process at
 * idle priority; the real init inherits and reaps it. */
void ota_boot_start_trash_cleaner(const struct ota_boot *b);
/* Step 7c. Execs the real init (argv[1..] and envp are passed on). Returns
 * only if no init at all could be executed. */
void ota_boot_exec_init(const struct ota_boot *b, char **argv, char **envp);
/* On a trial boot (ota.trial): a degraded boot reboots at once, so the boot
 * flow counts the try and falls back; otherwise the hardware watchdog is
 * started and left running for `ota-update commit` to stop, so a hang falls
 * back too. Returns only when the boot goes on. */
void ota_boot_guard_trial(struct ota_boot *b);

/* Fills list with the init candidates in the order they are tried, without
 * duplicates; returns their number. Exposed for tests. */
size_t ota_boot_init_candidates(const char *requested, const char **list, size_t size);
/* Derives a slot name from a GPT partition name: "system-a" -> "a",
 * "rootfs_b" -> "b"; other names are taken whole. Exposed for tests. */
int ota_boot_slot_from_partname(const char *partname, char *buf, size_t size) _must_check_;

#endif

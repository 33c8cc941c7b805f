/* SPDX-License-Identifier: Apache-2.0 */
/* bootflow: how userspace talks to the bootloader about A/B boot groups.
 *
 * Job: one interface over every boot flow (GRUB, U-Boot, Raspberry Pi
 * tryboot, custom). A boot flow knows which boot group is running (booted),
 * which one boots when nothing else is arranged (default), and whether a
 * trial boot of a group is armed or running, with how many tries are left.
 * ota-update arms a trial of the spare group after an install, the running
 * trial system commits itself (it becomes the default), and a failed or
 * rejected trial falls back to the default.
 *
 * Backends are ops tables (struct ota_bootflow_ops), one file each, chosen
 * once by name (ota_bootflow_new). Today: `custom` (bootflow/custom.c), an
 * executable speaking the protocol of docs/boot-flows.md; `grub`
 * (bootflow/grub.c and grubenv.c, GRUB environment blocks on the EFI system
 * partition plus bootflow/grub/flow.cfg); `uboot` (bootflow/uboot.c and
 * uboot-env.c, the U-Boot environment plus bootflow/uboot/boot.cmd);
 * `rpi-tryboot` (bootflow/rpi-tryboot.c, autoboot.txt and the one-shot
 * tryboot flag). Each adds a file and a table entry; nothing else changes.
 * Their internals (the GRUB and U-Boot environment codecs, autoboot.txt)
 * are in bootflow-private.h and uboot-env.h, for the backends, their unit
 * tests and fuzzers.
 *
 * Invariants:
 * - Group names are 1..63 characters of [A-Za-z0-9_-]; every name crossing
 *   the interface (in either direction) is checked.
 * - arm(g, n) leaves the default untouched: if the trial of g fails (no
 *   commit within n boots) the device boots the default again.
 * - commit(g) makes g the default and ends any trial; mark_bad(g) makes g
 *   unbootable (it disarms a trial of g) until it is armed again.
 *
 * Errors: 0 or a negative errno; struct ota_error, always last, names the
 * backend, the operation and the group (and, for custom, the executable, its
 * exit status and the first line of its stderr). ret_* are written only on
 * success.
 *
 * Ownership: ota_bootflow_new() returns an object freed with
 * ota_bootflow_free() (NULL is fine). The config strings are copied.
 *
 * PID 1: not linked into ota-init today; nothing here exits or prints. The
 * custom backend forks and execs (no shell) and waits with a timeout.
 */
#ifndef OTA_BOOTFLOW_H
#define OTA_BOOTFLOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sysconf/sysconf.h" /* struct ota_bootflow_config, OTA_BOOTFLOW_NAME_MAX, OTA_BOOTFLOW_MAX_TRIES */
#include "sysutil/sysutil.h"

#define OTA_BOOTFLOW_OUTPUT_MAX 4096u    /* custom: bytes of stdout read */
#define OTA_BOOTFLOW_DEFAULT_TIMEOUT_MS 30000u

enum ota_trial_state {
	OTA_TRIAL_NONE = 0,  /* no trial: booted == default, nothing armed */
	OTA_TRIAL_ARMED,     /* a trial of another group is armed for the next boot */
	OTA_TRIAL_RUNNING,   /* the booted group is an uncommitted trial */
	OTA_TRIAL_FAILED,    /* a trial used up its tries without a commit: the
			      * bootloader fell back (trial != booted, tries 0) */
};

struct ota_bootflow_state {
	char booted[OTA_BOOTFLOW_NAME_MAX];   /* the running group */
	char default_group[OTA_BOOTFLOW_NAME_MAX];
	char trial[OTA_BOOTFLOW_NAME_MAX];    /* group of the armed/running trial, "" if none */
	unsigned tries_left;                  /* of the trial; 0 when there is none */
	enum ota_trial_state trial_state;     /* derived from the three names */
};

struct ota_bootflow;

struct ota_bootflow_ops {
	const char *name;
	int (*init)(struct ota_bootflow *bf, struct ota_error *err);
	int (*get_state)(struct ota_bootflow *bf, struct ota_bootflow_state *ret, struct ota_error *err);
	int (*arm)(struct ota_bootflow *bf, const char *group, unsigned tries, struct ota_error *err);
	int (*commit)(struct ota_bootflow *bf, const char *group, struct ota_error *err);
	int (*mark_bad)(struct ota_bootflow *bf, const char *group, struct ota_error *err);
	int (*reboot)(struct ota_bootflow *bf, struct ota_error *err);
};

/* struct ota_bootflow_config, what ota_bootflow_new takes, is the boot-flow
 * part of system.conf: sysconf/sysconf.h defines it with the [bootflow] key
 * of each field, and ota-update hands its parsed part over as it is. A new
 * backend's key is a field there and a row in sysconf.c's schema. */

const char *ota_trial_state_to_string(enum ota_trial_state s);
/* ota_sysconf_name_valid: 1..63 of [A-Za-z0-9_-]. */
bool ota_bootflow_group_name_valid(const char *name);

/* Looks the backend up by cfg->type (-EOPNOTSUPP: unknown, naming it). */
int ota_bootflow_new(const struct ota_bootflow_config *cfg, struct ota_bootflow **ret,
		     struct ota_error *err) _must_check_;
struct ota_bootflow *ota_bootflow_free(struct ota_bootflow *bf);
OTA_DEFINE_CLEANUP_FUNC(struct ota_bootflow *, ota_bootflow_free)
const char *ota_bootflow_name(const struct ota_bootflow *bf);

int ota_bootflow_get_state(struct ota_bootflow *bf, struct ota_bootflow_state *ret,
			   struct ota_error *err) _must_check_;
/* tries in [1, OTA_BOOTFLOW_MAX_TRIES]. */
int ota_bootflow_arm(struct ota_bootflow *bf, const char *group, unsigned tries, struct ota_error *err) _must_check_;
int ota_bootflow_commit(struct ota_bootflow *bf, const char *group, struct ota_error *err) _must_check_;
int ota_bootflow_mark_bad(struct ota_bootflow *bf, const char *group, struct ota_error *err) _must_check_;
/* Returns only on failure for backends that reboot themselves; 0 when the
 * reboot was requested and is under way. */
int ota_bootflow_reboot(struct ota_bootflow *bf, struct ota_error *err) _must_check_;

/* ---- pure cores (unit tests, fuzzing) ------------------------------------ */

/* Parses the custom protocol's get-state output: key=value lines, keys
 * booted (required), default (required), trial (may be empty), tries
 * (number, required if trial is set); unknown keys are ignored, a repeated
 * key is an error. Fills trial_state. */
int ota_bootflow_parse_state(const char *text, struct ota_bootflow_state *ret, struct ota_error *err) _must_check_;
/* Derives trial_state from booted, default, trial and tries_left. */
enum ota_trial_state ota_bootflow_trial_state(const struct ota_bootflow_state *s);

/* The grub backend's files for a fresh image (docs/boot-flows.md): writes
 * env1 and env2 (sequence 1, default_group the default, no trial) and an
 * empty tries file into dir, which is created, each file power-fail safe
 * (ota_write_file_atomic). For image builders: ota-grubenv init and
 * ota-image. -EINVAL when default_group is not one of groups. */
int ota_bootflow_grub_write_initial(const char *dir, const char *const groups[2], const char *default_group,
				    struct ota_error *err) _must_check_;

/* The exact autoboot.txt the rpi-tryboot backend writes: default_part
 * boots, tryboot_part on a tryboot. Also for image builders (ota-image),
 * so a fresh image's file is the backend's. -ENAMETOOLONG if buf is short. */
int ota_autoboot_format(unsigned default_part, unsigned tryboot_part, char *buf, size_t size) _must_check_;

#endif

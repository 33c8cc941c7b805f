/* SPDX-License-Identifier: Apache-2.0 */
/* sysconf: /etc/ota/system.conf, its one schema and its one parser
 * (docs/configuration.md, system.conf(5)).
 *
 * The file is shared: [data] and [init] are ota-init's, [system], [update],
 * [bootflow], [slot.<name>] and [group.<name>] ota-update's. One table in
 * sysconf.c names every section and key, the part of struct ota_sysconf it
 * fills, its type and its bounds; the parser, the defaults and
 * ota_sysconf_done all read that table. Each program parses the file once,
 * asking for the parts it uses (OTA_SYSCONF_INIT, OTA_SYSCONF_UPDATE): a
 * section of a part not asked for is known and skipped unread, so a mistake
 * in ota-update's sections never costs ota-init its settings (nor the
 * other way round). A section or key in no part is an error for every
 * reader: a typo would otherwise be a setting silently not applied.
 *
 * Errors: 0 or a negative errno; struct ota_error names file:line, the
 * section and the key ("t.conf:7: [update] hook-timeout: '0' is not a
 * number in 1..86400"); checks that span keys (a required key, the groups)
 * name the file and the section. On error the config is left as it was.
 *
 * Ownership: struct ota_sysconf owns every string in it (the parts' const
 * char * included); free with ota_sysconf_done().
 *
 * PID 1: linked into ota-init (static). Needs sysutil only; nothing here
 * exits or prints.
 */
#ifndef OTA_SYSCONF_H
#define OTA_SYSCONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bundle/bundle.h" /* the algorithm floors [update] min-*-bits may only raise (header only) */
#include "sysutil/sysutil.h"

#define OTA_SYSCONF_PATH "/etc/ota/system.conf"

/* Which readers' sections to parse. */
enum ota_sysconf_part {
	OTA_SYSCONF_INIT = 1u << 0,    /* [data], [init] */
	OTA_SYSCONF_UPDATE = 1u << 1,  /* [system], [update], [bootflow], [slot.*], [group.*] */
};

/* ---- ota-init's part: [data], [init] -------------------------------------- */

#define OTA_TRIAL_WATCHDOG_DEFAULT_S 120u

struct ota_init_config {
	const char *data_device;   /* [data] device; NULL (auto): the partition named or labelled "data" */
	const char *data_fstype;   /* [data] fstype; NULL (auto): probe */
	const char *data_options;  /* [data] options: mount options, e.g. "noatime" */
	const char *init;          /* [init] path: the real init */
	unsigned trial_watchdog_s; /* [init] trial-watchdog; 0: off */
};

/* ---- the boot-flow part: [bootflow], the groups; bootflow.h's config ------ */

#define OTA_BOOTFLOW_NAME_MAX 64u  /* slot, class and group names: < 64 characters */
#define OTA_BOOTFLOW_MAX_TRIES 100u

/* A slot, class or group name: 1-63 of A-Z a-z 0-9 _ -. */
bool ota_sysconf_name_valid(const char *name);

/* uboot/rpi-tryboot: which boot group lives on which boot partition. */
struct ota_bootflow_partition {
	const char *group;
	unsigned number;          /* 1-based partition number */
};

/* The firmware-facing reboot(2) call: cmd is LINUX_REBOOT_CMD_*, arg the
 * RESTART2 argument (NULL otherwise). Tests replace it to fake the firmware. */
typedef int (*ota_bootflow_reboot_fn)(unsigned cmd, const char *arg);

/* What ota_bootflow_new (bootflow.h) takes. Parsed from the file, the
 * strings belong to the struct ota_sysconf; built by hand (tests,
 * ota-grubenv), they are the caller's: the boot flow copies what it keeps. */
struct ota_bootflow_config {
	const char *type;         /* [bootflow] type: "custom", "grub", "uboot", "rpi-tryboot" */
	const char *executable;   /* custom: absolute path of the controller */
	unsigned timeout_ms;      /* [bootflow] timeout (seconds in the file) per call;
				   * 0: OTA_BOOTFLOW_DEFAULT_TIMEOUT_MS */
	const char *groups[2];    /* the two [group.<g>] names in file order; the first is GRUB's fallback */
	const char *device;       /* grub: the ESP (PARTLABEL=, PARTUUID=, /dev/...), mounted
				   * privately while in use; NULL: directory is mounted */
	const char *directory;    /* grub: env1/env2/tries; relative to the ESP's root
				   * with device (default "otaroot"), else absolute */
	const char *cmdline;      /* grub: [bootflow] kernel-cmdline, a file with the kernel
				   * command line (ota.slot=); NULL: /proc/cmdline. For tests. */
	/* uboot and rpi-tryboot: where the kernel's /proc is (NULL: "/proc").
	 * Only tests point it elsewhere, at a fake cmdline / device tree. */
	const char *proc;
	ota_bootflow_reboot_fn reboot_fn;  /* not a key: NULL, the real reboot(2) */
	/* uboot (docs/boot-flows.md): env-mode "native" (default) or "file". */
	const char *env_mode;
	const char *env;                  /* native: device or file; file: first file */
	const char *env_redundant;        /* native: second copy's device (NULL: env);
					   * file: second file (NULL: <env>.bak) */
	uint64_t env_offset;
	uint64_t env_redundant_offset;
	bool env_has_redundant;           /* native: a second copy exists (env-redundant-offset given) */
	uint64_t env_size;                /* native: CONFIG_ENV_SIZE (required) */
	/* rpi-tryboot */
	const char *autoboot;             /* autoboot.txt on the first FAT partition */
	const char *state_file;           /* NULL: ota-tryboot.state beside autoboot */
	struct ota_bootflow_partition partitions[2];  /* partition.<group> = N */
};

/* ---- ota-update's part: [system], [update], [slot.*], [group.*] ------------ */

#define OTA_UPDATE_STATUS_FILE "/run/ota/data/ota/update/slots.json"
#define OTA_UPDATE_HOOKS_DIR "/etc/ota/hooks"
#define OTA_UPDATE_LOCK_FILE "/run/ota/update.lock"
#define OTA_UPDATE_MAX_SLOTS 32u
#define OTA_UPDATE_DEFAULT_TRIES 3u
#define OTA_UPDATE_DEFAULT_HOOK_TIMEOUT_S 300u

enum ota_downgrade_policy {
	OTA_DOWNGRADE_REFUSE = 0, /* older versions refused; the same version may be reinstalled */
	OTA_DOWNGRADE_STRICT,     /* only strictly newer versions */
	OTA_DOWNGRADE_ALLOW,      /* any version */
};
/* The values' text in the file (and in ota-update's output). */
extern const char *const ota_downgrade_policy_names[OTA_DOWNGRADE_ALLOW + 1];

/* Whether certificate validity periods are checked against the clock. auto:
 * when the kernel says the clock is synchronized (an NTP client such as
 * systemd-timesyncd or chrony cleared STA_UNSYNC); a device without an RTC
 * boots in 1970 and must still install. */
enum ota_check_time {
	OTA_CHECK_TIME_AUTO = 0,
	OTA_CHECK_TIME_YES,
	OTA_CHECK_TIME_NO,
};

struct ota_slot_config {
	char *name;        /* [slot.<name>] */
	char *slot_class;  /* class = system */
	char *device;      /* device = PARTLABEL=... | PARTUUID=... | /dev/...; NULL for a file slot */
	char *file;        /* file = /path (plain file slot); NULL for a device */
	char *group;       /* set from the [group.<g>] that lists it */
};

/* [memfault] (docs/fleet.md) */
struct ota_memfault_config {
	const char *base_url;           /* base-url; NULL: OTA_MEMFAULT_DEFAULT_BASE (update.h) */
	const char *project_key_file;   /* project-key-file (required with channel = memfault) */
	const char *hardware_version;   /* hardware-version (required with channel = memfault) */
	const char *software_type;      /* software-type (required with channel = memfault) */
	const char *current_version;    /* current-version (alias software-version); NULL: [system] version */
	const char *device_serial;      /* device-serial; NULL: /etc/machine-id */
};

/* [hawkbit] (docs/fleet.md) */
struct ota_hawkbit_config {
	const char *server;             /* server: http(s)://host[:port][/path] (required with channel = hawkbit) */
	const char *tenant;             /* tenant; NULL: DEFAULT */
	const char *controller_id;      /* controller-id; NULL: /etc/machine-id */
	const char *target_token_file;  /* target-token-file: Authorization: TargetToken */
	const char *gateway_token_file; /* gateway-token-file: Authorization: GatewayToken */
	const char *client_cert;        /* client-cert, client-key: TLS client certificate (PEM) */
	const char *client_key;
};

struct ota_update_config {
	const char *compatible;        /* [system] compatible (required) */
	const char *version;           /* [system] version (required) */
	const char *keyring;           /* [update] keyring (required) */
	enum ota_downgrade_policy downgrade;  /* [update] downgrade = refuse|strict|allow */
	const char *status_file;       /* [update] status-file */
	const char *hooks_dir;         /* [update] hooks-dir */
	const char *lock_file;         /* [update] lock-file */
	const char *ca_file;           /* [update] ca-file: CAs for https (NULL: system) */
	const char *channel;           /* [update] channel: URL of the channel document, memfault or hawkbit
					* (ota-update check) */
	const char *outcome_file;      /* [update] outcome-file: the fleet outcome for other agents
					* (OTA_FLEET_OUTCOME_FILE, update.h) */
	struct ota_memfault_config memfault;  /* [memfault] */
	struct ota_hawkbit_config hawkbit;    /* [hawkbit] */
	unsigned hook_timeout_s;       /* [update] hook-timeout */
	unsigned http_connect_timeout_s; /* [update] http-connect-timeout; 0: libcurl source default (30 s) */
	unsigned http_attempts;        /* [update] http-attempts: per request without progress; 0: 5 */
	unsigned http_min_rate;        /* [update] http-min-rate: bytes/s (default OTA_BUNDLE_HTTP_DEFAULT_MIN_RATE) */
	unsigned http_stall_time_s;    /* [update] http-stall-time: below that rate this long is a stall */
	unsigned download_timeout_s;   /* [update] download-timeout: all requests of one install, or one check */
	enum ota_check_time check_time;  /* [update] check-time = auto|yes|no */
	struct ota_bundle_algorithms algorithms;  /* [update] min-rsa-bits, min-ec-bits, min-digest-bits */
	unsigned tries;                /* [bootflow] tries: of a trial ota-update arms */
	struct ota_bootflow_config bootflow;  /* [bootflow] and the group names */
	struct ota_slot_config *slots;
	size_t n_slots;
};

/* The slot of `slot_class` in `group`, NULL if there is none. */
const struct ota_slot_config *ota_sysconf_slot(const struct ota_update_config *c, const char *group,
					       const char *slot_class);
/* The group that is not `group`, NULL if group is not configured. */
const char *ota_sysconf_other_group(const struct ota_update_config *c, const char *group);

/* ---- the file ---------------------------------------------------------------- */

struct ota_sysconf {
	struct ota_init_config init;
	struct ota_update_config update;
};

/* Every part at its defaults. */
void ota_sysconf_init(struct ota_sysconf *c);
void ota_sysconf_done(struct ota_sysconf *c);
/* Parses system.conf text (name is used in messages) for the parts asked
 * for (OTA_SYSCONF_* or'ed). With OTA_SYSCONF_UPDATE it also checks what
 * ota-update needs: the required keys, exactly two groups with the same
 * classes and one slot per class, every slot in exactly one group, the
 * keys each boot-flow type requires. On error c is unchanged. */
int ota_sysconf_parse(struct ota_sysconf *c, unsigned parts, const char *text, const char *name,
		      struct ota_error *err) _must_check_;
/* Loads path (ota_read_config_file: a regular text file up to 1 MiB);
 * -ENOENT, c unchanged, when it does not exist. */
int ota_sysconf_load(struct ota_sysconf *c, unsigned parts, const char *path, struct ota_error *err) _must_check_;

/* The schema, for tests and documentation checks: the i-th key as
 * "[section] key" ("[bootflow] partition.<group>"; "[slot.<name>]" for a section
 * whose keys its own code checks),
 * NULL past the last. */
const char *ota_sysconf_key_name(size_t i, char *buf, size_t size);

#endif

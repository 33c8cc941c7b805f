/* SPDX-License-Identifier: Apache-2.0 */
/* update: install signed bundles into the spare boot group, commit, roll
 * back, report status (ota-update; docs/update.md).
 *
 * Model: /etc/ota/system.conf names slots (block devices by PARTLABEL=,
 * PARTUUID= or /dev path, or plain files), each of a class (e.g. "system",
 * "boot"), and exactly two boot groups that pair one slot per class. The boot
 * flow (bootflow/bootflow.h) says which group runs; the other one is the
 * spare, the only one ota-update ever writes.
 *
 * Install order (each step only after the previous one succeeded):
 *   lock -> refuse an uncommitted trial -> repair a corrupt status file ->
 *   open the bundle (signature) -> compatible, version, slot classes and
 *   sizes, no target sharing storage with another slot, every spare slot the
 *   bundle does not carry verified; record the booted group's slots "good"
 *   -> pre-install hooks ->
 *   on the first verified chunk: mark the spare group bad, record the target
 *   slots as "installing" (fsync) -> write each chunk once verified -> per
 *   payload: fsync, read the slot back and check the whole-image SHA-256,
 *   record the slot "installed" -> post-install hooks -> every slot of the
 *   spare group verified -> arm a trial of the spare group. A failure anywhere leaves nothing armed; the running group's
 *   slots are never opened for writing.
 *
 * Errors: 0 or a negative errno; struct ota_error, always last, names the
 * check, slot, device, hook or URL that failed. ret_* are written only on
 * success. Nothing here exits. Progress and a repaired status file go to
 * the install's progress callback, errors to struct ota_error; hooks write
 * their own output to our stderr. The library itself prints one line only:
 * a commit whose trial watchdog cannot be stopped logs (ota_log, stderr)
 * that the watchdog may reset the machine, as the commit itself succeeded
 * and returns 0.
 *
 * Ownership: the configuration is the caller's (struct ota_sysconf). Status
 * objects: ota_update_status_done().
 *
 * PID 1: not linked into ota-init.
 */
#ifndef OTA_UPDATE_H
#define OTA_UPDATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bootflow/bootflow.h"
#include "bundle/bundle.h"
#include "sysconf/sysconf.h"
#include "sysutil/sysutil.h"

#define OTA_UPDATE_STATUS_MAX (256u << 10)

/* ---- configuration ---------------------------------------------------------- */

/* struct ota_update_config is ota-update's part of /etc/ota/system.conf,
 * parsed and checked by sysconf (sysconf/sysconf.h: ota_sysconf_load with
 * OTA_SYSCONF_UPDATE); its boot-flow part, c->bootflow, goes to
 * ota_bootflow_new as it is. */

/* The decision for a setting, given whether the clock is synchronized. */
bool ota_check_time_wanted(enum ota_check_time setting, bool clock_synchronized);
/* Whether the kernel says the system clock is synchronized (adjtimex). */
bool ota_clock_synchronized(void);
/* The trust settings bundles are verified with: keyring, algorithm policy,
 * and the clock check as [update] check-time decides it now. */
void ota_update_trust(const struct ota_update_config *c, struct ota_bundle_trust *ret);

/* ---- versions ----------------------------------------------------------------- */

/* Compares version strings segment by segment: runs of digits numerically,
 * other runs bytewise, '~' sorting before anything (1.0~rc1 < 1.0), as dpkg
 * does. Returns <0, 0 or >0. */
int ota_version_compare(const char *a, const char *b);
const char *ota_downgrade_policy_to_string(enum ota_downgrade_policy p);
/* 0 if a bundle of version `bundle` may replace `running`, else -EPERM
 * with a message naming both versions and the policy. */
int ota_update_check_version(enum ota_downgrade_policy p, const char *running, const char *bundle,
			     struct ota_error *err) _must_check_;

/* ---- slot status (the status file, JSON, replaced atomically) ------------ */

/* Recorded states of a slot (docs/update.md, "Status file"), with their text
 * in the status file and in `status`. A group is armed only if every slot of
 * it is verified: written and read back by this install, or recorded
 * "installed" and still hashing to its record, or "good". "installing",
 * "unknown" and no record never count. */
enum ota_slot_state {
	OTA_SLOT_NONE = 0,    /* "": no record */
	OTA_SLOT_INSTALLING,  /* "installing": being written, torn until read back */
	OTA_SLOT_INSTALLED,   /* "installed": written and read back, sha256 of size bytes */
	OTA_SLOT_GOOD,        /* "good": not written by ota-update since its group ran committed */
	OTA_SLOT_UNKNOWN,     /* "unknown": the status file was rebuilt, nothing known */
	OTA_SLOT_STATE_MAX,
	OTA_SLOT_STATE_INVALID = -1,
};

/* The state's text above ("invalid" for a value that is none of them). */
const char *ota_slot_state_to_string(enum ota_slot_state s);
/* The state whose text s is, else OTA_SLOT_STATE_INVALID (NULL too). */
enum ota_slot_state ota_slot_state_from_string(const char *s);

struct ota_slot_record {
	char name[64];
	enum ota_slot_state state;
	char version[128];
	char compatible[128];
	char sha256[65];
	uint64_t size;
	uint64_t installed;   /* seconds since the epoch, 0 = unknown */
	char bundle[65];      /* SHA-256 of the signed manifest written ("" = unknown) */
	/* "installing" only: chunks [0, checkpoint_chunks) of the image, i.e.
	 * bytes [0, checkpoint_bytes), were fdatasync'd before this record was
	 * written. A hint for resuming the same bundle; re-checked before use. */
	uint64_t checkpoint_chunks;
	uint64_t checkpoint_bytes;
};

/* Reads the record of one slot; a missing file or slot gives an empty record.
 * A status file that does not load fails (-EBADMSG if corrupt), naming it. */
int ota_update_status_read(const char *status_file, const char *slot, struct ota_slot_record *ret,
			   struct ota_error *err) _must_check_;
/* Sets the records of n slots in one atomic replace of the file (errors name
 * it). A file that does not load is never rewritten: repair it first. */
int ota_update_status_write(const char *status_file, const struct ota_slot_record *recs, size_t n,
			    struct ota_error *err) _must_check_;
/* If the status file cannot be read or is not one ota-update could have
 * written (not JSON, truncated, wrong types, unknown states or fields), moves
 * it to <file>.corrupt-<seconds> (kept) and writes a new one with every
 * configured slot "unknown"; returns 1 and a message naming both files in
 * *ret_warning. 0: the file is fine (or missing). */
int ota_update_status_repair(const struct ota_update_config *c, struct ota_error *ret_warning,
			     struct ota_error *err) _must_check_;

/* ---- operations ---------------------------------------------------------------- */

/* The stages an install reports, with their text in `--json` progress
 * events (docs/cli.md). */
enum ota_update_stage {
	OTA_STAGE_WARNING,       /* "warning": see message; the install goes on */
	OTA_STAGE_FULL_DOWNLOAD, /* "full-download": no delta, the server ignores ranges */
	OTA_STAGE_VERIFIED,      /* "verified": signature, compatible, version, slots checked */
	OTA_STAGE_PRE_INSTALL,   /* "pre-install": the hooks run */
	OTA_STAGE_INDEX,         /* "index": the active slot is cut into chunks (delta) */
	OTA_STAGE_INDEX_LOADED,  /* "index-loaded": its saved chunk index is used instead */
	OTA_STAGE_INDEX_MOVES,   /* "index-moves": the bundle's moves place its chunks instead */
	OTA_STAGE_RESUME,        /* "resume": done is the checkpoint of an interrupted install of this bundle */
	OTA_STAGE_WRITE,         /* "write": done of total bytes in place */
	OTA_STAGE_INSTALLED,     /* "installed": the payload is read back, its image hash checked */
	OTA_STAGE_POST_INSTALL,  /* "post-install": the hooks run */
	OTA_STAGE_ARMED,         /* "armed": the trial of the spare group is armed */
	OTA_STAGE_MAX,
	OTA_STAGE_INVALID = -1,
};

/* The stage's text above ("invalid" for a value that is none of them). */
const char *ota_update_stage_to_string(enum ota_update_stage s);
/* The stage whose text s is, else OTA_STAGE_INVALID (NULL too). */
enum ota_update_stage ota_update_stage_from_string(const char *s);

struct ota_update_progress {
	enum ota_update_stage stage;
	const char *slot_class;  /* per payload (index, resume, write, installed) */
	const char *slot;
	unsigned payload;        /* 1-based index and count of the payloads written */
	unsigned n_payloads;
	uint64_t done, total;    /* bytes of this payload */
	const char *message;     /* "warning": what happened; the install goes on */
};

struct ota_update_install_opts {
	const char *source;      /* a path, "-" (stdin) or an http(s) URL */
	bool no_delta;           /* URL: stream the whole bundle instead of adaptive delta */
	/* Skip reading each written slot back from the medium (after fsync)
	 * and checking the whole image's SHA-256: every chunk was still
	 * verified before it was written, but what the medium holds is not
	 * checked (docs/update.md, "Read-back"). */
	bool no_readback;
	/* URL: sent with every request (a fleet server's Authorization; see
	 * ota_bundle_http_opts), and a TLS client certificate; NULL: none. */
	const char *const *http_headers;
	const char *client_cert, *client_key;
	/* Called once everything is written and verified, before the arm (NULL:
	 * none): < 0 leaves the group written but not armed, and is the error
	 * (a fleet server's cancel that came during the install). */
	int (*before_arm)(void *arm_userdata, struct ota_error *err);
	void *arm_userdata;
	void (*progress)(void *userdata, const struct ota_update_progress *p);
	void *userdata;
};

struct ota_update_result {
	char group[OTA_BOOTFLOW_NAME_MAX];  /* the group installed and armed */
	char version[128];
	uint64_t image_bytes;                /* written to slots */
	uint64_t bundle_bytes;               /* the bundle's size if known (file, URL) */
	uint64_t downloaded;                 /* HTTP body bytes received (0 for files) */
	bool delta;                          /* URL fetched by range, reusing local chunks */
	uint64_t reused_spare;               /* delta: bytes already in place in the spare slots */
	uint64_t reused_active;              /* delta: bytes copied from the active slots */
	uint64_t patched;                    /* delta: bytes made from chunk patches and the active slots */
	uint64_t zero_chunks;                /* delta: bytes of all-zero chunks, written with no source read */
	char reused_from[128];               /* delta: the active slots bytes were copied from */
	uint64_t resumed_at;                 /* resume: sum of the checkpoints found (bytes) */
	uint64_t resumed;                    /* resume: bytes below them found in place, not rewritten */
	uint64_t zeroed;                     /* of image_bytes: zeroed by BLKZEROOUT / FALLOC_FL_ZERO_RANGE */
	bool read_back;                      /* the slots were read back from the medium */
	uint64_t readback_bytes;             /* ... that many bytes */
	uint64_t readback_early;             /* ... of them while the slots were written (streamed) */
	uint64_t readback_ms;                /* time the install waited for the read-back after fsync */
	uint64_t elapsed_ms;                 /* the whole install, from taking the lock to arming */
};

int ota_update_install(const struct ota_update_config *c, const struct ota_update_install_opts *o,
		       struct ota_update_result *ret, struct ota_error *err) _must_check_;
/* Makes the booted group the default after the pre-commit hooks (health
 * checks) succeed. Returns 1 when there was nothing to commit (no-op). */
int ota_update_commit(const struct ota_update_config *c, struct ota_error *err) _must_check_;
/* Running an uncommitted trial: marks the booted group bad, so the next boot
 * is the default. A trial armed but not booted yet: disarms it (mark-bad of
 * the spare). Nothing to roll back: -EALREADY. ret_group: the group marked
 * bad (OTA_BOOTFLOW_NAME_MAX bytes). */
int ota_update_rollback(const struct ota_update_config *c, char *ret_group, struct ota_error *err) _must_check_;
int ota_update_reboot(const struct ota_update_config *c, struct ota_error *err) _must_check_;

struct ota_update_slot_status {
	const struct ota_slot_config *slot;
	struct ota_slot_record rec;
	bool booted;    /* in the booted group */
};

struct ota_update_status {
	struct ota_bootflow_state boot;
	struct ota_error warning;  /* code 0, or why the status file was not used (slots shown "unknown") */
	struct ota_update_slot_status *slots;
	size_t n_slots;
};

int ota_update_status_get(const struct ota_update_config *c, struct ota_update_status *ret,
			  struct ota_error *err) _must_check_;
void ota_update_status_done(struct ota_update_status *s);
/* One JSON object (docs/update.md); *ret is malloc'd. */
int ota_update_status_to_json(const struct ota_update_config *c, const struct ota_update_status *s,
			      char **ret) _must_check_;

/* ---- update channel (ota-update check; docs/channel.md) -------------------------- */

#define OTA_CHANNEL_MAX (64u << 10)  /* bytes of a channel document */
#define OTA_CHANNEL_URL_MAX 4096u

struct ota_channel {
	char *version;      /* the latest version */
	char *bundle;       /* its bundle: an absolute http(s) URL */
	char *compatible;   /* NULL if the channel does not say */
	char sha256[65];    /* of the bundle file, lower-case hex; "" if not given */
	uint64_t size;      /* of the bundle file; 0 if not given */
};

void ota_channel_done(struct ota_channel *ch);
/* Parses a channel document of len bytes (any bytes; at most OTA_CHANNEL_MAX).
 * A relative "bundle" resolves against base_url (the channel's URL; NULL:
 * relative references are errors). ret is written only on success. */
int ota_channel_parse(struct ota_channel *ret, const char *text, size_t len, const char *base_url,
		      struct ota_error *err) _must_check_;
/* GETs url (http or https, [update] ca-file and http-connect-timeout apply)
 * and parses the document. */
int ota_channel_fetch(const struct ota_update_config *c, const char *url, struct ota_channel *ret,
		      struct ota_error *err) _must_check_;

/* ---- fleet servers (ota-update check and report; docs/fleet.md) ------------------ */

#define OTA_MEMFAULT_DEFAULT_BASE "https://device.memfault.com"
#define OTA_HAWKBIT_DEFAULT_TENANT "DEFAULT"
#define OTA_FLEET_OUTCOME_FILE "/run/ota/update-outcome"
#define OTA_FLEET_MACHINE_ID "/etc/machine-id"
#define OTA_FLEET_DOC_MAX (256u << 10)    /* bytes of a server's JSON or text answer */

/* Who `ota-update check` asks: [update] channel = memfault | hawkbit | URL. */
enum ota_fleet_backend {
	OTA_FLEET_CHANNEL = 0,   /* a channel document (channel.md) */
	OTA_FLEET_MEMFAULT,
	OTA_FLEET_HAWKBIT,
	OTA_FLEET_BACKEND_MAX,
	OTA_FLEET_BACKEND_INVALID = -1,
};
const char *ota_fleet_backend_to_string(enum ota_fleet_backend b);
enum ota_fleet_backend ota_fleet_backend_from_string(const char *s);
/* The backend [update] channel (or --channel) names: memfault, hawkbit, else a channel URL. */
enum ota_fleet_backend ota_fleet_backend_of(const char *channel);

enum ota_fleet_result {
	OTA_FLEET_UP_TO_DATE = 0, /* "up-to-date": nothing offered */
	OTA_FLEET_AVAILABLE,      /* "available": offered, not installed (no --install) */
	OTA_FLEET_ARMED,          /* "armed": the offered update is installed and armed already */
	OTA_FLEET_INSTALLED,      /* "installed": installed now and armed */
	OTA_FLEET_CANCELED,       /* "canceled": the server canceled the action before the first write */
	OTA_FLEET_DEFERRED,       /* "deferred": the server says not to install now (download only, maintenance window) */
	OTA_FLEET_NOT_DUE,        /* "not-due": hawkBit's config.polling.sleep since the last poll has not passed */
	OTA_FLEET_RESULT_MAX,
	OTA_FLEET_RESULT_INVALID = -1,
};
const char *ota_fleet_result_to_string(enum ota_fleet_result r);

struct ota_fleet_check_opts {
	bool install;
	bool no_delta;
	bool now;      /* hawkBit: poll even before the server's polling sleep has passed */
	void (*progress)(void *userdata, const struct ota_update_progress *p);
	void *userdata;
};

struct ota_fleet_check_result {
	enum ota_fleet_result result;
	char bundle[OTA_CHANNEL_URL_MAX + 1];  /* the bundle URL offered ("" if none) */
	char action[32];                       /* hawkBit: the action id ("" if none) */
	unsigned poll_s;                       /* hawkBit: the server's polling sleep, 0 if not given */
	unsigned poll_due_s;                   /* hawkBit, OTA_FLEET_NOT_DUE: seconds until the next poll */
	unsigned reasked;                      /* Memfault: fresh URLs asked for after an expired one */
	struct ota_update_result install;      /* OTA_FLEET_INSTALLED */
};

/* Asks the fleet server c->channel names (not a channel URL) for an update
 * and, with o->install, installs and arms it, keeping the action on the
 * data partition for the outcome report. Delivers a pending outcome first. */
int ota_fleet_check(const struct ota_update_config *c, const struct ota_fleet_check_opts *o,
		    struct ota_fleet_check_result *ret, struct ota_error *err) _must_check_;

/* The outcome of an installed fleet update, once its trial is over. */
enum ota_fleet_outcome {
	OTA_FLEET_PENDING = 0,    /* "pending": not decided yet (armed, or running uncommitted) */
	OTA_FLEET_SUCCESS,        /* "success": the trial was committed */
	OTA_FLEET_FAILURE,        /* "failure": rolled back, fell back, or disarmed */
	OTA_FLEET_OUTCOME_MAX,
	OTA_FLEET_OUTCOME_INVALID = -1,
};
const char *ota_fleet_outcome_to_string(enum ota_fleet_outcome o);
enum ota_fleet_outcome ota_fleet_outcome_from_string(const char *s);

struct ota_fleet_report {
	enum ota_fleet_backend backend;
	enum ota_fleet_outcome outcome;
	char action[32];
	char version[128];
	char reason[512];
};

/* Decides the outcome of a pending fleet update from the boot state (if the
 * trial is over), keeps the decision on the data partition, and delivers it
 * once: hawkBit feedback "closed" with success or failure and the reason;
 * Memfault (no feedback endpoint) and every backend: c->outcome_file. The
 * record is removed only after delivery, so an undelivered outcome is
 * retried by the next call, across reboots. Returns 0: nothing pending; 1:
 * pending, trial not over; 2: delivered (*ret filled). */
int ota_fleet_report(const struct ota_update_config *c, struct ota_fleet_report *ret,
		     struct ota_error *err) _must_check_;
/* Decides the outcome now, with a reason (ota-update rollback: failure);
 * nothing pending or already decided: 0, nothing changed. */
int ota_fleet_decide(const struct ota_update_config *c, enum ota_fleet_outcome outcome, const char *reason,
		     struct ota_error *err) _must_check_;

#endif

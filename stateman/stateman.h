/* SPDX-License-Identifier: Apache-2.0 */
/* stateman: where a device's state lives and how the root filesystem is
 * layered over the read-only system slot.
 *
 * The data partition is mounted at OTA_DATA_DIR (/run/ota/data). Layout:
 *   ota/overlay/slot-<slot>/{upper,work}  persist mode: one upper per slot, so
 *                                        changes made on top of slot A never
 *                                        land on top of slot B's different image
 *   ota/overlay/discard/{upper,work}      discard mode: this boot's upper
 *   ota/trash/<boot-id>/                  uppers of earlier boots, emptied in
 *                                        the background after the switch
 *
 * Invariants:
 * - overlayfs is mounted with index=off, metacopy=off, redirect_dir=off and
 *   xino=off: each of these records facts about the lower in the upper, and the
 *   lower changes under the upper whenever an update switches slots.
 * - Discarding an upper is one rename() (constant time, crash-safe: after a
 *   power cut the old upper is either still in place and gets discarded at the
 *   next boot, or already in the trash). Deleting its files happens later, so
 *   boot time does not grow with the size of what is discarded.
 * - Safe for PID 1: nothing here exits or prints.
 */
#ifndef OTA_STATEMAN_H
#define OTA_STATEMAN_H

#include <limits.h>

#include "sysutil/sysutil.h"

#define OTA_RUN_DIR "/run/ota"
#define OTA_DATA_DIR OTA_RUN_DIR "/data"
#define OTA_SYSTEM_DIR OTA_RUN_DIR "/system"
#define OTA_TMPFS_OVERLAY_DIR OTA_RUN_DIR "/overlay"
#define OTA_ROOT_DIR OTA_RUN_DIR "/root"
#define OTA_STATUS_FILE OTA_RUN_DIR "/status"

/* Configuration, relative to a root prefix ("" on a running system). */
#define OTA_STATE_CONF "/etc/ota/state.conf"
#define OTA_STATE_VENDOR_DIR "/usr/lib/ota/state.d"
#define OTA_STATE_ADMIN_DIR "/etc/ota/state.d"
#define OTA_STATE_ENTRIES_MAX 1024
#define OTA_STATE_ERRORS_MAX 32
/* The longest persisted path: PATH_MAX less room for the store's own
 * prefix (<data>/ota/state/unpersisted), so every accepted path has a
 * stored copy. */
#define OTA_PERSIST_PATH_MAX (PATH_MAX - 256)
/* runtime.conf holds at most every entry at the longest path. */
#define OTA_STATE_RUNTIME_MAX (OTA_STATE_ENTRIES_MAX * (OTA_PERSIST_PATH_MAX + 64))

enum ota_overlay_mode {
	OTA_OVERLAY_DISCARD,   /* upper on the data partition, discarded at each boot */
	OTA_OVERLAY_IN_MEMORY, /* upper on tmpfs */
	OTA_OVERLAY_PERSIST,   /* upper on the data partition, kept, one per slot */
	OTA_OVERLAY_DISABLED,  /* the read-only system is the root */
	OTA_OVERLAY_MODE_MAX,
	OTA_OVERLAY_MODE_INVALID = -1,
};

const char *ota_overlay_mode_to_string(enum ota_overlay_mode mode);
/* Accepts the names above ("discard", "in-memory", "persist", "disabled"). */
enum ota_overlay_mode ota_overlay_mode_from_string(const char *s);
/* True if the mode keeps its upper on the data partition. */
bool ota_overlay_mode_needs_data(enum ota_overlay_mode mode);

struct ota_overlay_dirs {
	char upper[PATH_MAX];
	char work[PATH_MAX];
};

/* ---- state configuration -------------------------------------------- */

enum ota_persist_type {
	OTA_PERSIST_AUTO,      /* whatever the image has at the path */
	OTA_PERSIST_DIRECTORY,
	OTA_PERSIST_FILE,
	OTA_PERSIST_TYPE_MAX,
	OTA_PERSIST_TYPE_INVALID = -1,
};

/* The names of state.conf's type key: "auto", "directory", "file". */
const char *ota_persist_type_to_string(enum ota_persist_type type);
enum ota_persist_type ota_persist_type_from_string(const char *s);

struct ota_persist_entry {
	char *path;            /* absolute, normalised, validated */
	enum ota_persist_type type;
	char *default_content; /* for a file the image lacks; NULL: empty */
	bool has_default;
	mode_t mode;           /* for content made from scratch */
	bool keep_on_reset;    /* survives a factory reset */
	char *source;          /* the config file, or "runtime" */
};

struct ota_state_config {
	enum ota_overlay_mode overlay;
	bool overlay_set;
	struct ota_persist_entry *entries;
	size_t n_entries;
	char *errors[OTA_STATE_ERRORS_MAX]; /* why a file or entry was skipped */
	size_t n_errors;
};

void ota_state_config_init(struct ota_state_config *c);
void ota_state_config_done(struct ota_state_config *c);

/* Reads root + /etc/ota/state.conf, then every *.conf of
 * /usr/lib/ota/state.d (vendor) and /etc/ota/state.d (admin; a file of the
 * same name replaces the vendor's) in sorted file-name order. Later files
 * override the overlay mode and replace entries for the same path. A file
 * that does not parse is skipped whole and its error recorded in c->errors;
 * so is an entry inside another entry's path. Fails only on ENOMEM. */
int ota_state_config_load(struct ota_state_config *c, const char *root, struct ota_error *err) _must_check_;
/* Parses one file's text and merges it into c (nothing merged on error). */
int ota_state_config_merge_text(struct ota_state_config *c, const char *text, const char *source,
				struct ota_error *err) _must_check_;
/* Adds the runtime entries recorded on the data partition (source
 * "runtime"); entries the configuration declares take precedence. A
 * runtime.conf that does not parse (or does not fit) gives -EINVAL (-E2BIG)
 * with the file and line in err and in c->errors; c keeps the rest, the
 * file is left as it is, and callers must not rewrite it. */
int ota_state_config_load_runtime(struct ota_state_config *c, const char *data_dir,
				  struct ota_error *err) _must_check_;

/* runtime.conf, the runtime entries: written and read by otaroot alone
 * (see stateconf.c for the format). Every entry a config can hold whose
 * path ota_state_normalize_path() accepts round-trips through format and
 * parse. parse adds to c (source "runtime"); errors name where:line.
 * read: a missing file is no entries. format writes the runtime entries of
 * rt plus add (may be NULL), minus skip (may be NULL), only those kept on
 * reset if only_kept; *ret_text is malloc'd. */
int ota_state_runtime_parse(struct ota_state_config *c, const char *text, const char *where,
			    struct ota_error *err) _must_check_;
int ota_state_runtime_read(const char *path, struct ota_state_config *c, struct ota_error *err) _must_check_;
int ota_state_runtime_format(const struct ota_state_config *rt, const struct ota_persist_entry *add, const char *skip,
			     bool only_kept, char **ret_text, size_t *ret_size, struct ota_error *err) _must_check_;
/* Drops entries inside another entry's path, recording why. */
void ota_state_config_drop_nested(struct ota_state_config *c);
const struct ota_persist_entry *ota_state_config_find(const struct ota_state_config *c, const char *path);

/* Validates and normalises a path to persist as written: absolute, no "."
 * or "..", no control character or ']', at most OTA_PERSIST_PATH_MAX
 * bytes, not /, not under /proc, /sys, /dev or /run (nor the state store,
 * which lives under /run/ota/data). Messages name the rule. */
int ota_state_normalize_path(const char *path, char *buf, size_t size, struct ota_error *err) _must_check_;
/* ota_state_normalize_path(), then resolves the symlinks on the way inside
 * root (see ota_path_resolve_in_root()) and applies the same rules to where
 * the path leads: buf gets the resolved path, the one to persist and bind. */
int ota_state_resolve_path(const char *root, const char *path, char *buf, size_t size,
			   struct ota_error *err) _must_check_;
/* True if a is b or inside b ("/etc/ssh" is inside "/etc"). */
bool ota_path_is_inside(const char *a, const char *b);

/* ---- the state store ---------------------------------------------------
 * Under <data>/ota/state:
 *   persist/<path>   the stored content of each persisted path
 *   runtime.conf     entries added with ota-state persist (INI, as state.d)
 *   machine-id       this device's machine id
 *   unpersisted/<path>  stored copies set aside by unpersist
 * <data>/ota/reset-request asks for a factory reset at the next boot.
 */

/* Moves what an interrupted copy left in <data>/ota/state/staging into the
 * trash; callers hold the store (ota-state's lock, or ota-init at boot). */
int ota_state_clean_staging(const char *data_dir, const char *why, struct ota_error *err) _must_check_;

/* Makes sure e's stored content exists: copied from image_root + path (the
 * path resolved inside image_root) the first time, or made from the
 * default/empty. Atomic: copied to a staging name, then renamed into place;
 * a failed copy leaves no staging behind. */
int ota_state_seed(const char *data_dir, const char *image_root, const struct ota_persist_entry *e,
		   struct ota_error *err) _must_check_;
/* Bind-mounts e's stored content on new_root + path, the path resolved
 * inside new_root (a symlink in the image cannot lead the bind elsewhere,
 * nor into a refused area), creating the target (on the overlay) when it is
 * missing. */
int ota_state_bind(const char *data_dir, const char *new_root, const struct ota_persist_entry *e,
		   struct ota_error *err) _must_check_;
/* Generates the machine id once (stored at <data>/ota/state/machine-id, or
 * in /run/ota when data_dir is NULL) and bind-mounts it on
 * new_root/etc/machine-id. */
int ota_state_setup_machine_id(const char *data_dir, const char *new_root, struct ota_error *err) _must_check_;

/* Runtime persist of a path of the running system: resolves it (symlinks
 * followed, see ota_state_resolve_path(); the resolved path is what is
 * recorded), refuses it inside or around data_dir, copies its content into
 * the store, records the entry (the commit point: a power cut before it
 * leaves the path not persisted, after it fully persisted), bind-mounts it.
 * runtime.conf is reread and must parse: it is never rewritten with less.
 * Returns 1 if it was already persisted (nothing done). */
int ota_state_persist(const char *data_dir, const struct ota_state_config *c, const char *path,
		      bool keep_on_reset, struct ota_error *err) _must_check_;
/* Removes a runtime entry; the stored copy moves to unpersisted/ (or the
 * trash with drop). Entries from configuration files are refused. */
int ota_state_unpersist(const char *data_dir, const struct ota_state_config *c, const char *path, bool drop,
			struct ota_error *err) _must_check_;
/* Asks for a factory reset at the next boot; backup names the directory
 * (<data>/ota/backup/<name>) the old state moves to, NULL to discard it. */
int ota_state_request_reset(const char *data_dir, const char *backup, struct ota_error *err) _must_check_;
/* At boot, before anything else uses the store: carries out a requested
 * reset. Idempotent, so a power cut in the middle converges at the next boot.
 * Returns 1 if a reset was done, 0 if none was requested. */
int ota_state_apply_reset(const char *data_dir, const struct ota_state_config *c, const char *boot_id,
			  struct ota_error *err) _must_check_;

/* Makes the upper and work directories for mode (not for DISABLED).
 * data_dir is the mounted data partition (required by discard and persist).
 * in-memory mounts a tmpfs at OTA_TMPFS_OVERLAY_DIR. slot names the booted
 * slot (persist keeps one upper per slot). boot_id makes the trash entry of a
 * discarded upper unique. */
int ota_state_prepare_overlay(enum ota_overlay_mode mode, const char *data_dir, const char *slot,
			      const char *boot_id, struct ota_overlay_dirs *ret,
			      struct ota_error *err) _must_check_;

/* Mounts the overlay at target with lower (read-only) and dirs. */
int ota_state_mount_overlay(const char *lower, const struct ota_overlay_dirs *dirs, const char *target,
			    struct ota_error *err) _must_check_;

/* Deletes the discarded uppers under data_dir/ota/trash. Its run time grows
 * with their size: call it from a background process. */
int ota_state_empty_trash(const char *data_dir, struct ota_error *err) _must_check_;

#endif

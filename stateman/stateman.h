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

/* SPDX-License-Identifier: Apache-2.0 */
/* Overlay root: upper/work preparation and the overlayfs mount. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include "stateman/stateman-private.h"
#include "stateman/stateman.h"

static const char *const ota_overlay_mode_names[OTA_OVERLAY_MODE_MAX] = {
	[OTA_OVERLAY_DISCARD] = "discard",
	[OTA_OVERLAY_IN_MEMORY] = "in-memory",
	[OTA_OVERLAY_PERSIST] = "persist",
	[OTA_OVERLAY_DISABLED] = "disabled",
};

OTA_DEFINE_ENUM_TO_STRING(ota_overlay_mode, enum ota_overlay_mode, "invalid")
OTA_DEFINE_ENUM_FROM_STRING(ota_overlay_mode, enum ota_overlay_mode)

bool ota_overlay_mode_needs_data(enum ota_overlay_mode mode)
{
	return mode == OTA_OVERLAY_DISCARD || mode == OTA_OVERLAY_PERSIST;
}

static int make_dir(const char *path, struct ota_error *err)
{
	int r = ota_mkdir_p(path, 0755);
	if (r < 0)
		return ota_error_errno(err, r, "create directory '%s'", path);
	return 0;
}

static int set_dirs(struct ota_overlay_dirs *d, const char *base, struct ota_error *err)
{
	if (ota_format(d->upper, sizeof(d->upper), "%s/upper", base) < 0 ||
	    ota_format(d->work, sizeof(d->work), "%s/work", base) < 0)
		return ota_error_set(err, -ENAMETOOLONG, "path too long: '%s'", base);
	int r = make_dir(d->upper, err);
	return r < 0 ? r : make_dir(d->work, err);
}

int ota_state_move_if_exists(const char *from, const char *to, struct ota_error *err)
{
	struct stat st;
	if (lstat(from, &st) < 0)
		return errno == ENOENT ? 0 : ota_error_errno(err, -errno, "stat '%s'", from);
	int r = ota_mkdir_parent(to, 0755);
	if (r < 0)
		return ota_error_errno(err, r, "create the parent directories of '%s'", to);
	if (rename(from, to) < 0)
		return ota_error_errno(err, -errno, "move '%s' to '%s'", from, to);
	return 0;
}

/* Moves the previous boot's upper into the trash: a single rename, so the
 * cost does not depend on how much was written under / last time. */
static int discard_previous(const char *data_dir, const char *base, const char *boot_id,
			    struct ota_error *err)
{
	char trash_dir[PATH_MAX], trash_entry[PATH_MAX];
	if (ota_format(trash_dir, sizeof(trash_dir), "%s/ota/trash", data_dir) < 0 ||
	    ota_format(trash_entry, sizeof(trash_entry), "%s/discard-%s", trash_dir, boot_id) < 0)
		return ota_error_set(err, -ENAMETOOLONG, "path too long under '%s'", data_dir);
	return ota_state_move_if_exists(base, trash_entry, err);
}

int ota_state_prepare_overlay(enum ota_overlay_mode mode, const char *data_dir, const char *slot,
			      const char *boot_id, struct ota_overlay_dirs *ret, struct ota_error *err)
{
	char base[PATH_MAX];
	int r;

	switch (mode) {
	case OTA_OVERLAY_IN_MEMORY:
		r = make_dir(OTA_TMPFS_OVERLAY_DIR, err);
		if (r < 0)
			return r;
		if (mount("tmpfs", OTA_TMPFS_OVERLAY_DIR, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755") < 0)
			return ota_error_errno(err, -errno, "mount tmpfs on '%s'", OTA_TMPFS_OVERLAY_DIR);
		return set_dirs(ret, OTA_TMPFS_OVERLAY_DIR, err);
	case OTA_OVERLAY_PERSIST:
		if (!data_dir)
			return ota_error_set(err, -ENODEV, "overlay mode 'persist' needs the data partition");
		if (ota_format(base, sizeof(base), "%s/ota/overlay/slot-%s", data_dir, slot) < 0)
			return ota_error_set(err, -ENAMETOOLONG, "slot name too long: '%s'", slot);
		return set_dirs(ret, base, err);
	case OTA_OVERLAY_DISCARD:
		if (!data_dir)
			return ota_error_set(err, -ENODEV, "overlay mode 'discard' needs the data partition");
		if (ota_format(base, sizeof(base), "%s/ota/overlay/discard", data_dir) < 0)
			return ota_error_set(err, -ENAMETOOLONG, "path too long under '%s'", data_dir);
		r = discard_previous(data_dir, base, boot_id, err);
		return r < 0 ? r : set_dirs(ret, base, err);
	default:
		return ota_error_set(err, -EINVAL, "overlay mode '%s' has no upper directory",
				     ota_overlay_mode_to_string(mode));
	}
}

int ota_state_mount_overlay(const char *lower, const struct ota_overlay_dirs *dirs, const char *target,
			    struct ota_error *err)
{
	/* Full A/B-safe options first; kernels older than 4.19 do not know
	 * metacopy/xino, and there index=off alone gives the same safety
	 * because the others default to off. */
	static const char *const option_sets[] = {
		"index=off,metacopy=off,redirect_dir=off,xino=off",
		"index=off,redirect_dir=off",
		"index=off",
	};
	char opts[3 * PATH_MAX + 128];
	int r = make_dir(target, err);
	if (r < 0)
		return r;
	int last = 0;
	for (size_t i = 0; i < OTA_ELEMENTSOF(option_sets); i++) {
		if (ota_format(opts, sizeof(opts), "lowerdir=%s,upperdir=%s,workdir=%s,%s", lower, dirs->upper,
			       dirs->work, option_sets[i]) < 0)
			return ota_error_set(err, -ENAMETOOLONG, "overlay options too long");
		if (mount("overlay", target, "overlay", 0, opts) == 0)
			return 0;
		last = -errno;
		if (last != -EINVAL)
			break;
	}
	return ota_error_errno(err, last, "mount overlay on '%s' (lower '%s', upper '%s')", target, lower,
			       dirs->upper);
}

int ota_state_empty_trash(const char *data_dir, struct ota_error *err)
{
	char trash_dir[PATH_MAX];
	if (ota_format(trash_dir, sizeof(trash_dir), "%s/ota/trash", data_dir) < 0)
		return ota_error_set(err, -ENAMETOOLONG, "path too long under '%s'", data_dir);
	_cleanup_close_ int fd = open(trash_dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		return ota_error_errno(err, -errno, "open '%s'", trash_dir);
	}
	int r = ota_remove_contents_at(fd);
	if (r < 0)
		return ota_error_errno(err, r, "empty '%s'", trash_dir);
	return 0;
}

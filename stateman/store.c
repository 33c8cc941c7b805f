/* SPDX-License-Identifier: Apache-2.0 */
/* The state store on the data partition: seeding, binding, runtime persist
 * and unpersist, machine id, factory reset. See stateman.h for the layout.
 *
 * Crash safety rests on two rules: content reaches its final name only by a
 * rename() of a fully written and synced staging copy, and each operation has
 * one commit point (an atomic rewrite of runtime.conf, or the removal of the
 * reset request) after which a power cut no longer changes the outcome. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include "stateman/stateman-private.h"
#include "stateman/stateman.h"

#define STATE_SUBDIR "/ota/state"

static int state_path(char *buf, size_t size, const char *data_dir, const char *sub, const char *path,
		      struct ota_error *err)
{
	if (ota_format(buf, size, "%s" STATE_SUBDIR "%s%s", data_dir, sub, path ? path : "") < 0)
		return ota_error_set(err, -ENAMETOOLONG, "path too long under '%s'", data_dir);
	return 0;
}

static int sync_fs_of(const char *path)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	return syncfs(fd) < 0 ? -errno : 0;
}

static int mkdir_parent(const char *path, struct ota_error *err)
{
	int r = ota_mkdir_parent(path, 0755);
	if (r == -ENAMETOOLONG)
		return ota_error_set(err, r, "path too long: '%s'", path);
	if (r < 0)
		return ota_error_errno(err, r, "create the parent directories of '%s'", path);
	return 0;
}

/* Moves path (if it exists) into <data>/ota/trash under a unique name. */
static int move_to_trash(const char *data_dir, const char *path, const char *why, struct ota_error *err)
{
	char trash[PATH_MAX], uuid[40];
	if (ota_read_line("/proc/sys/kernel/random/uuid", uuid, sizeof(uuid)) < 0)
		(void)!ota_format(uuid, sizeof(uuid), "%ld", (long)getpid());
	if (ota_format(trash, sizeof(trash), "%s/ota/trash/%s-%s", data_dir, why, uuid) < 0)
		return ota_error_set(err, -ENAMETOOLONG, "path too long under '%s'", data_dir);
	return ota_state_move_if_exists(path, trash, err);
}

/* ---- staging ----------------------------------------------------------- */

/* A fresh staging directory on the data partition; the copy goes to
 * <staging>/c and is renamed from there. */
static int make_staging(const char *data_dir, char *staging, size_t size, struct ota_error *err)
{
	int r = state_path(staging, size, data_dir, "/staging/XXXXXX", NULL, err);
	if (r < 0)
		return r;
	r = mkdir_parent(staging, err);
	if (r < 0)
		return r;
	if (!mkdtemp(staging))
		return ota_error_errno(err, -errno, "create a staging directory under '%s'", data_dir);
	return 0;
}

static void drop_staging(const char *staging)
{
	_cleanup_close_ int fd = open(staging, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd >= 0)
		(void)!ota_remove_contents_at(fd);
	(void)rmdir(staging);
}

int ota_state_clean_staging(const char *data_dir, const char *why, struct ota_error *err)
{
	char staging[PATH_MAX];
	int r = state_path(staging, sizeof(staging), data_dir, "/staging", NULL, err);
	return r < 0 ? r : move_to_trash(data_dir, staging, why, err);
}

/* Syncs the staged copy, renames it to store and makes the rename durable. */
static int commit_staged(const char *data_dir, const char *staging, const char *store, struct ota_error *err)
{
	char staged[PATH_MAX], parent[PATH_MAX];
	if (ota_format(staged, sizeof(staged), "%s/c", staging) < 0 ||
	    ota_format(parent, sizeof(parent), "%s", store) < 0)
		return ota_error_set(err, -ENAMETOOLONG, "path too long: '%s'", store);
	int r = sync_fs_of(data_dir);
	if (r < 0)
		return ota_error_errno(err, r, "sync '%s'", data_dir);
	r = mkdir_parent(store, err);
	if (r < 0)
		return r;
	if (rename(staged, store) < 0)
		return ota_error_errno(err, -errno, "rename '%s' to '%s'", staged, store);
	(void)rmdir(staging);
	r = ota_fsync_dir(dirname(parent));
	if (r < 0)
		return ota_error_errno(err, r, "sync the directory of '%s'", store);
	return 0;
}

static int write_content(const char *path, const char *content, mode_t mode, struct ota_error *err)
{
	_cleanup_close_ int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	if (fd < 0)
		return ota_error_errno(err, -errno, "create '%s'", path);
	size_t len = content ? strlen(content) : 0;
	if (len && write(fd, content, len) != (ssize_t)len)
		return ota_error_errno(err, errno ? -errno : -EIO, "write '%s'", path);
	if (fchmod(fd, mode) < 0) /* the umask must not narrow a declared mode */
		return ota_error_errno(err, -errno, "chmod '%s'", path);
	return 0;
}

/* ---- seeding and binding ------------------------------------------------ */

static int make_first_content(const struct ota_persist_entry *e, const char *image_path, const char *dst,
			      struct ota_error *err)
{
	struct stat st;
	if (lstat(image_path, &st) == 0) {
		bool is_dir = S_ISDIR(st.st_mode);
		if (!is_dir && !S_ISREG(st.st_mode))
			return ota_error_set(err, -EINVAL, "'%s' in the image is neither a directory nor a file",
					     e->path);
		if ((e->type == OTA_PERSIST_DIRECTORY && !is_dir) || (e->type == OTA_PERSIST_FILE && is_dir))
			return ota_error_set(err, -EINVAL, "'%s' is a %s in the image but declared as a %s", e->path,
					     is_dir ? "directory" : "file",
					     e->type == OTA_PERSIST_FILE ? "file" : "directory");
		return ota_copy_tree(image_path, dst, err);
	}
	if (errno != ENOENT)
		return ota_error_errno(err, -errno, "stat '%s'", image_path);
	if (e->type == OTA_PERSIST_FILE)
		return write_content(dst, e->default_content, e->mode ? e->mode : 0644, err);
	if (mkdir(dst, e->mode ? e->mode : 0755) < 0 || chmod(dst, e->mode ? e->mode : 0755) < 0)
		return ota_error_errno(err, -errno, "create directory '%s'", dst);
	return 0;
}

int ota_state_seed(const char *data_dir, const char *image_root, const struct ota_persist_entry *e,
		   struct ota_error *err)
{
	char store[PATH_MAX], staging[PATH_MAX], staged[PATH_MAX], image_path[PATH_MAX], resolved[PATH_MAX];
	struct stat st;
	int r = state_path(store, sizeof(store), data_dir, "/persist", e->path, err);
	if (r < 0)
		return r;
	if (lstat(store, &st) == 0)
		return 0; /* seeded before: the store, not the image, has the content now */
	r = ota_state_resolve_path(*image_root ? image_root : "/", e->path, resolved, sizeof(resolved), err);
	if (r < 0)
		return r;
	if (ota_format(image_path, sizeof(image_path), "%s%s", image_root, resolved) < 0)
		return ota_error_set(err, -ENAMETOOLONG, "path too long: '%s'", e->path);
	r = make_staging(data_dir, staging, sizeof(staging), err);
	if (r < 0)
		return r;
	(void)!ota_format(staged, sizeof(staged), "%s/c", staging);
	r = make_first_content(e, image_path, staged, err);
	if (r == 0)
		r = commit_staged(data_dir, staging, store, err);
	if (r < 0) {
		drop_staging(staging);
		ota_error_prefix(err, "seed '%s': ", e->path);
	}
	return r;
}

/* The mount point for a bind: created on the (writable) overlay when the
 * image lacks it, and of the same kind as the stored content. */
static int make_target(const char *target, bool dir, struct ota_error *err)
{
	struct stat st;
	if (lstat(target, &st) == 0) {
		if (S_ISLNK(st.st_mode))
			return ota_error_set(err, -ELOOP, "'%s' is a symlink; a bind mount would follow it", target);
		if (dir != !!S_ISDIR(st.st_mode))
			return ota_error_set(err, -EINVAL, "'%s' is a %s but the stored content is a %s", target,
					     S_ISDIR(st.st_mode) ? "directory" : "file", dir ? "directory" : "file");
		return 0;
	}
	int r = mkdir_parent(target, err);
	if (r < 0)
		return r;
	if (dir ? mkdir(target, 0755) < 0 : mknod(target, S_IFREG | 0644, 0) < 0)
		return ota_error_errno(err, -errno, "create mount point '%s'", target);
	return 0;
}

static int bind_store(const char *store, const char *target, struct ota_error *err)
{
	struct stat st;
	if (lstat(store, &st) < 0)
		return ota_error_errno(err, -errno, "stored content '%s'", store);
	int r = make_target(target, S_ISDIR(st.st_mode), err);
	if (r < 0)
		return r;
	if (mount(store, target, NULL, MS_BIND, NULL) < 0)
		return ota_error_errno(err, -errno, "bind '%s' on '%s'", store, target);
	return 0;
}

int ota_state_bind(const char *data_dir, const char *new_root, const struct ota_persist_entry *e,
		   struct ota_error *err)
{
	char store[PATH_MAX], target[PATH_MAX], resolved[PATH_MAX];
	int r = state_path(store, sizeof(store), data_dir, "/persist", e->path, err);
	if (r == 0)
		r = ota_state_resolve_path(*new_root ? new_root : "/", e->path, resolved, sizeof(resolved), err);
	if (r < 0)
		return r;
	if (ota_format(target, sizeof(target), "%s%s", new_root, resolved) < 0)
		return ota_error_set(err, -ENAMETOOLONG, "path too long: '%s'", e->path);
	return bind_store(store, target, err);
}

/* ---- machine id ---------------------------------------------------------- */

static bool valid_machine_id(const char *s)
{
	size_t n = 0;
	for (; s[n]; n++)
		if (!((s[n] >= '0' && s[n] <= '9') || (s[n] >= 'a' && s[n] <= 'f')))
			return false;
	return n == 32;
}

int ota_state_setup_machine_id(const char *data_dir, const char *new_root, struct ota_error *err)
{
	char path[PATH_MAX], target[PATH_MAX], id[64], uuid[64];
	int r;
	if (data_dir)
		r = state_path(path, sizeof(path), data_dir, "/machine-id", NULL, err);
	else
		r = ota_format(path, sizeof(path), OTA_RUN_DIR "/machine-id") < 0 ? -ENAMETOOLONG : 0;
	if (r < 0)
		return r;
	if (ota_read_line(path, id, sizeof(id)) < 0 || !valid_machine_id(id)) {
		/* The kernel's random UUID is a version 4 UUID, as systemd's
		 * machine ids are; the id is its 32 hex digits. */
		if (ota_read_line("/proc/sys/kernel/random/uuid", uuid, sizeof(uuid)) < 0)
			return ota_error_errno(err, -errno, "read a random UUID from the kernel");
		size_t n = 0;
		for (const char *c = uuid; *c && n < 32; c++)
			if (*c != '-')
				id[n++] = *c;
		id[n] = '\0';
		char line[40];
		(void)!ota_format(line, sizeof(line), "%s\n", id);
		r = mkdir_parent(path, err);
		if (r < 0)
			return r;
		/* write-new-then-rename, fsync'd: an id is never half written. */
		r = ota_write_file_atomic(path, line, strlen(line), 0444, err);
		if (r < 0)
			return r;
	}
	if (ota_format(target, sizeof(target), "%s/etc/machine-id", new_root) < 0)
		return ota_error_set(err, -ENAMETOOLONG, "path too long: '%s'", new_root);
	return bind_store(path, target, err);
}

/* ---- runtime entries ------------------------------------------------------ */

static int runtime_conf(char *buf, size_t size, const char *data_dir, struct ota_error *err)
{
	return state_path(buf, size, data_dir, "/runtime.conf", NULL, err);
}

/* Rewrites path with the runtime entries of rt (as read from the file
 * itself, never from a merged view that may lack some), plus add, minus
 * skip. Atomic (write new, fsync, rename, fsync directory): this is the
 * commit point of persist and unpersist. */
static int write_runtime_to(const char *path, const struct ota_state_config *rt,
			    const struct ota_persist_entry *add, const char *skip, bool only_kept,
			    struct ota_error *err)
{
	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	int r = ota_state_runtime_format(rt, add, skip, only_kept, &text, &len, err);
	if (r == 0)
		r = mkdir_parent(path, err);
	return r < 0 ? r : ota_write_file_atomic(path, text, len, 0644, err);
}

static int check_overlaps(const struct ota_state_config *c, const char *path, struct ota_error *err)
{
	for (size_t i = 0; i < c->n_entries; i++) {
		const struct ota_persist_entry *e = &c->entries[i];
		if (ota_path_is_inside(path, e->path))
			return ota_error_set(err, -EEXIST, "'%s' is already covered by persisted %s (from %s)", path,
					     e->path, e->source);
		if (ota_path_is_inside(e->path, path))
			return ota_error_set(err, -EEXIST, "'%s' contains persisted %s (from %s); unpersist that first",
					     path, e->path, e->source);
	}
	return 0;
}

/* A runtime.conf read for a rewrite, and where it lives. */
struct runtime_file {
	char path[PATH_MAX];
	struct ota_state_config entries;
};

static void runtime_file_done(struct runtime_file *rf)
{
	ota_state_config_done(&rf->entries);
}

/* Reads runtime.conf for a rewrite; rf needs runtime_file_done() after,
 * whatever the result. */
static int open_runtime(const char *data_dir, struct runtime_file *rf, struct ota_error *err)
{
	int r = runtime_conf(rf->path, sizeof(rf->path), data_dir, err);
	return r < 0 ? r : ota_state_runtime_read(rf->path, &rf->entries, err);
}

/* The store must never be copied into itself, nor be part of a copy. */
static int check_store(const char *data_dir, const char *path, struct ota_error *err)
{
	char store[PATH_MAX];
	int r = ota_path_resolve_in_root("/", data_dir, store, sizeof(store), err);
	if (r < 0)
		return r;
	if (ota_path_is_inside(path, store))
		return ota_error_set(err, -EINVAL, "'%s' is inside the state store (%s)", path, store);
	if (ota_path_is_inside(store, path))
		return ota_error_set(err, -EINVAL, "'%s' contains the state store (%s)", path, store);
	return 0;
}

/* Copies path (of the running system) into store through a staging copy
 * that is removed again if anything fails. */
static int store_copy(const char *data_dir, const char *path, const char *store, struct ota_error *err)
{
	char staging[PATH_MAX], staged[PATH_MAX];
	int r = make_staging(data_dir, staging, sizeof(staging), err);
	if (r < 0)
		return r;
	(void)!ota_format(staged, sizeof(staged), "%s/c", staging);
	r = ota_copy_tree(path, staged, err);
	if (r == -ENOSPC || r == -EDQUOT)
		ota_error_prefix(err, "the data partition is full; nothing was persisted: ");
	/* A stored copy without an entry is left over from an unpersist or
	 * an interrupted persist; the fresh copy replaces it. */
	if (r == 0)
		r = move_to_trash(data_dir, store, "replaced", err);
	if (r == 0)
		r = commit_staged(data_dir, staging, store, err);
	if (r < 0)
		drop_staging(staging);
	return r;
}

int ota_state_persist(const char *data_dir, const struct ota_state_config *c, const char *path, bool keep_on_reset,
		      struct ota_error *err)
{
	char norm[PATH_MAX], store[PATH_MAX];
	_cleanup_(runtime_file_done) struct runtime_file rf;
	struct stat st;
	ota_state_config_init(&rf.entries);
	int r = ota_state_resolve_path("/", path, norm, sizeof(norm), err);
	if (r < 0)
		return r;
	if (ota_state_config_find(c, norm))
		return 1;
	r = check_store(data_dir, norm, err);
	if (r == 0)
		r = check_overlaps(c, norm, err);
	if (r < 0)
		return r;
	if (lstat(norm, &st) < 0)
		return ota_error_errno(err, -errno, "'%s'", norm);
	if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode))
		return ota_error_set(err, -EINVAL, "'%s' is neither a directory nor a regular file", norm);
	r = state_path(store, sizeof(store), data_dir, "/persist", norm, err);
	if (r < 0)
		return r;
	/* Read before the copy: a file that does not parse stops us here. */
	r = open_runtime(data_dir, &rf, err);
	if (r == 0)
		r = store_copy(data_dir, norm, store, err);
	struct ota_persist_entry e = {
		.path = norm,
		.type = S_ISDIR(st.st_mode) ? OTA_PERSIST_DIRECTORY : OTA_PERSIST_FILE,
		.keep_on_reset = keep_on_reset,
		.source = (char *)"runtime",
	};
	if (r == 0)
		r = write_runtime_to(rf.path, &rf.entries, &e, NULL, false, err);
	if (r < 0)
		return r;
	/* Committed: from here the path is persisted, whatever happens. */
	r = bind_store(store, norm, err);
	if (r < 0)
		ota_error_prefix(err, "persisted, but takes effect only at the next boot: ");
	return r;
}

int ota_state_unpersist(const char *data_dir, const struct ota_state_config *c, const char *path, bool drop,
			struct ota_error *err)
{
	char norm[PATH_MAX], store[PATH_MAX], aside[PATH_MAX];
	_cleanup_(runtime_file_done) struct runtime_file rf;
	ota_state_config_init(&rf.entries);
	/* As recorded (resolved at persist), else as written: an entry whose
	 * path resolves elsewhere today can still be forgotten. */
	int r = ota_state_resolve_path("/", path, norm, sizeof(norm), err);
	const struct ota_persist_entry *e = r == 0 ? ota_state_config_find(c, norm) : NULL;
	if (!e && ota_state_normalize_path(path, norm, sizeof(norm), NULL) == 0)
		e = ota_state_config_find(c, norm);
	if (!e)
		return r < 0 ? r : ota_error_set(err, -ENOENT, "'%s' is not persisted", norm);
	if (strcmp(e->source, "runtime") != 0)
		return ota_error_set(err, -EPERM, "'%s' is declared in %s; remove it there", norm, e->source);
	r = open_runtime(data_dir, &rf, err);
	if (r == 0)
		r = write_runtime_to(rf.path, &rf.entries, NULL, norm, false, err);
	if (r < 0)
		return r;
	if (umount2(norm, MNT_DETACH) < 0 && errno != EINVAL)
		return ota_error_errno(err, -errno, "unmount '%s' (no longer persisted from the next boot)", norm);
	r = state_path(store, sizeof(store), data_dir, "/persist", norm, err);
	if (r == 0)
		r = state_path(aside, sizeof(aside), data_dir, "/unpersisted", norm, err);
	if (r < 0)
		return r;
	if (drop)
		return move_to_trash(data_dir, store, "unpersisted", err);
	r = move_to_trash(data_dir, aside, "unpersisted", err);
	if (r == 0)
		r = mkdir_parent(aside, err);
	if (r == 0 && rename(store, aside) < 0 && errno != ENOENT)
		r = ota_error_errno(err, -errno, "set '%s' aside as '%s'", store, aside);
	return r;
}

/* ---- factory reset ----------------------------------------------------------- */

static bool valid_backup_name(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 64 || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') ||
		      s[i] == '.' || s[i] == '_' || s[i] == '-'))
			return false;
	return true;
}

int ota_state_request_reset(const char *data_dir, const char *backup, struct ota_error *err)
{
	char path[PATH_MAX], content[128] = "";
	struct stat st;
	if (backup) {
		if (!valid_backup_name(backup))
			return ota_error_set(err, -EINVAL,
					     "backup name '%s' must be 1-64 letters, digits, '.', '_' or '-'", backup);
		if (ota_format(path, sizeof(path), "%s/ota/backup/%s", data_dir, backup) < 0)
			return ota_error_set(err, -ENAMETOOLONG, "path too long under '%s'", data_dir);
		if (lstat(path, &st) == 0)
			return ota_error_set(err, -EEXIST, "a backup named '%s' exists already", backup);
		(void)!ota_format(content, sizeof(content), "backup=%s\n", backup);
	}
	if (ota_format(path, sizeof(path), "%s/ota/reset-request", data_dir) < 0)
		return ota_error_set(err, -ENAMETOOLONG, "path too long under '%s'", data_dir);
	int r = mkdir_parent(path, err);
	return r < 0 ? r : ota_write_file_atomic(path, content, strlen(content), 0644, err);
}

/* Moves the stored content of entries that survive a reset into new_state.
 * runtime.conf is read first: if it does not parse, nothing moves (its
 * entries kept on reset would be lost) and the reset waits for a fix. */
static int keep_survivors(const char *data_dir, const struct ota_state_config *c, const char *new_state,
			  struct ota_error *err)
{
	char from[PATH_MAX], to[PATH_MAX];
	_cleanup_(runtime_file_done) struct runtime_file rf;
	ota_state_config_init(&rf.entries);
	int r = open_runtime(data_dir, &rf, err);
	if (r < 0)
		return r;
	r = ota_mkdir_p(new_state, 0755);
	if (r < 0)
		return ota_error_errno(err, r, "create '%s'", new_state);
	for (size_t i = 0; i < c->n_entries; i++) {
		if (!c->entries[i].keep_on_reset)
			continue;
		r = state_path(from, sizeof(from), data_dir, "/persist", c->entries[i].path, err);
		if (r == 0 && ota_format(to, sizeof(to), "%s/persist%s", new_state, c->entries[i].path) < 0)
			r = ota_error_set(err, -ENAMETOOLONG, "path too long: '%s'", c->entries[i].path);
		if (r == 0)
			r = ota_state_move_if_exists(from, to, err);
		if (r < 0)
			return r;
	}
	/* Runtime entries that survive keep their record. */
	if (ota_format(to, sizeof(to), "%s/runtime.conf", new_state) < 0)
		return ota_error_set(err, -ENAMETOOLONG, "path too long: '%s'", new_state);
	return write_runtime_to(to, &rf.entries, NULL, NULL, true, err);
}

int ota_state_apply_reset(const char *data_dir, const struct ota_state_config *c, const char *boot_id,
			  struct ota_error *err)
{
	char request[PATH_MAX], line[128], state[PATH_MAX], new_state[PATH_MAX], target[PATH_MAX],
		from[PATH_MAX], to[PATH_MAX];
	struct stat st;
	(void)!ota_format(request, sizeof(request), "%s/ota/reset-request", data_dir);
	int r = ota_read_line(request, line, sizeof(line));
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return ota_error_errno(err, r, "read '%s'", request);

	const char *backup = ota_startswith(line, "backup=") ? line + strlen("backup=") : NULL;
	if (backup && !valid_backup_name(backup))
		backup = NULL;
	(void)!ota_format(state, sizeof(state), "%s/ota/state", data_dir);
	(void)!ota_format(new_state, sizeof(new_state), "%s/ota/state.new", data_dir);
	if (backup)
		r = ota_format(target, sizeof(target), "%s/ota/backup/%s", data_dir, backup);
	else
		r = ota_format(target, sizeof(target), "%s/ota/trash/reset-%s", data_dir, boot_id);
	if (r < 0)
		return ota_error_set(err, -ENAMETOOLONG, "path too long under '%s'", data_dir);

	/* Each step is a rename of what still exists, so a rerun after a power
	 * cut picks up where the last one stopped. */
	if (lstat(state, &st) == 0) {
		r = keep_survivors(data_dir, c, new_state, err);
		if (r < 0)
			return r;
		(void)!ota_format(to, sizeof(to), "%s/state", target);
		if (lstat(to, &st) == 0) /* name taken by an older reset */
			(void)!ota_format(target + strlen(target), sizeof(target) - strlen(target), "-%s", boot_id);
		(void)!ota_format(to, sizeof(to), "%s/state", target);
		r = ota_state_move_if_exists(state, to, err);
		if (r < 0)
			return r;
	}
	(void)!ota_format(from, sizeof(from), "%s/ota/overlay", data_dir);
	(void)!ota_format(to, sizeof(to), "%s/overlay", target);
	if (lstat(to, &st) == 0)
		r = move_to_trash(data_dir, from, "reset-overlay", err);
	else
		r = ota_state_move_if_exists(from, to, err);
	if (r == 0)
		r = ota_state_move_if_exists(new_state, state, err);
	if (r < 0)
		return r;
	r = sync_fs_of(data_dir);
	if (r < 0)
		return ota_error_errno(err, r, "sync '%s'", data_dir);
	/* The commit point: only now is the reset done. */
	if (unlink(request) < 0)
		return ota_error_errno(err, -errno, "remove '%s'", request);
	(void)!ota_format(from, sizeof(from), "%s/ota", data_dir);
	r = ota_fsync_dir(from);
	return r < 0 ? ota_error_errno(err, r, "sync '%s'", from) : 1;
}

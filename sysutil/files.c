/* SPDX-License-Identifier: Apache-2.0 */
/* File helpers: bounded reads, crash-safe writes, recursive removal. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <linux/fs.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "sysutil/sysutil.h"

/* Reads all of fd (at most max_size bytes) into a NUL-terminated buffer. */
static int read_fd(int fd, const char *path, size_t max_size, char **ret_data, size_t *ret_size,
		   struct ota_error *err)
{
	size_t cap = max_size < 4096 ? max_size : 4096, len = 0;
	_cleanup_free_ char *buf = malloc(cap + 1);
	if (!buf)
		return ota_error_set(err, -ENOMEM, "out of memory reading '%s'", path);
	for (;;) {
		if (len == cap && cap >= max_size) {
			/* Full: the file fits only if nothing follows. */
			char extra;
			ssize_t n = read(fd, &extra, 1);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0)
				return ota_error_errno(err, -errno, "read '%s'", path);
			if (n > 0)
				return ota_error_set(err, -EFBIG, "'%s' is larger than %zu bytes", path, max_size);
			break;
		}
		if (len == cap) {
			size_t ncap = cap * 2 > max_size ? max_size : cap * 2;
			char *nbuf = realloc(buf, ncap + 1);
			if (!nbuf)
				return ota_error_set(err, -ENOMEM, "out of memory reading '%s'", path);
			buf = nbuf;
			cap = ncap;
		}
		ssize_t n = read(fd, buf + len, cap - len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return ota_error_errno(err, -errno, "read '%s'", path);
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	*ret_data = TAKE_PTR(buf);
	if (ret_size)
		*ret_size = len;
	return 0;
}

int ota_read_file(const char *path, size_t max_size, char **ret_data, size_t *ret_size,
		  struct ota_error *err)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return ota_error_errno(err, -errno, "open '%s'", path);
	return read_fd(fd, path, max_size, ret_data, ret_size, err);
}

/* read_fd() for text: refuses a NUL byte, naming its line. */
static int read_text_fd(int fd, const char *path, size_t max_size, char **ret_text, struct ota_error *err)
{
	_cleanup_free_ char *text = NULL;
	size_t size = 0;
	int r = read_fd(fd, path, max_size, &text, &size, err);
	if (r < 0)
		return r;
	size_t len = strlen(text);
	if (len != size) {
		int line = 1;
		for (const char *p = text; p < text + len; p++)
			line += *p == '\n';
		return ota_error_set(err, -EINVAL, "'%s': line %d: NUL byte: not a text file", path, line);
	}
	*ret_text = TAKE_PTR(text);
	return 0;
}

static int check_regular(const char *path, mode_t mode, struct ota_error *err)
{
	if (S_ISREG(mode))
		return 0;
	const char *kind = S_ISDIR(mode) ? "a directory" : S_ISFIFO(mode) ? "a FIFO" : S_ISSOCK(mode) ? "a socket"
			   : S_ISCHR(mode) || S_ISBLK(mode) ? "a device" : "a special file";
	return ota_error_set(err, -EINVAL, "'%s' is %s, not a regular file", path, kind);
}

int ota_read_text_file(const char *path, size_t max_size, char **ret_text, struct ota_error *err)
{
	/* stat first so that a device is never opened (opening some has side
	 * effects); then O_NONBLOCK and fstat for whatever was swapped in
	 * between: opening a FIFO without O_NONBLOCK waits for a writer. */
	struct stat st;
	if (stat(path, &st) < 0)
		return ota_error_errno(err, -errno, "open '%s'", path);
	int r = check_regular(path, st.st_mode, err);
	if (r < 0)
		return r;
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return ota_error_errno(err, -errno, "open '%s'", path);
	if (fstat(fd, &st) < 0)
		return ota_error_errno(err, -errno, "stat '%s'", path);
	r = check_regular(path, st.st_mode, err);
	if (r < 0)
		return r;
	if ((uint64_t)st.st_size > max_size)
		return ota_error_set(err, -EFBIG, "'%s' is larger than %zu bytes", path, max_size);
	return read_text_fd(fd, path, max_size, ret_text, err);
}

int ota_read_config_file(const char *path, char **ret_text, struct ota_error *err)
{
	return ota_read_text_file(path, OTA_CONFIG_FILE_MAX, ret_text, err);
}

int ota_read_line(const char *path, char *buf, size_t size)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	if (size == 0)
		return -EINVAL;
	ssize_t n = read(fd, buf, size - 1);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

/* offset + size fits off_t (both are counted in bytes of one file). */
static bool fits_off_t(uint64_t offset, size_t size)
{
	return offset <= (uint64_t)INT64_MAX && size <= (uint64_t)INT64_MAX - offset;
}

/* read(), or pread() at *offset, until size bytes or the end of the file. */
static ssize_t read_loop(int fd, void *buf, size_t size, const uint64_t *offset)
{
	if (size > (size_t)SSIZE_MAX || (offset && !fits_off_t(*offset, size)))
		return -EOVERFLOW;
	uint8_t *p = buf;
	size_t done = 0;
	while (done < size) {
		ssize_t n = offset ? pread(fd, p + done, size - done, (off_t)(*offset + done))
				   : read(fd, p + done, size - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		done += (size_t)n;
	}
	return (ssize_t)done;
}

ssize_t ota_read_full(int fd, void *buf, size_t size)
{
	return read_loop(fd, buf, size, NULL);
}

ssize_t ota_pread_full(int fd, void *buf, size_t size, uint64_t offset)
{
	return read_loop(fd, buf, size, &offset);
}

/* write(), or pwrite() at *offset, until all of data is written; a file or
 * device that takes nothing more is full (-ENOSPC), not retried forever. */
static int write_loop(int fd, const void *data, size_t size, const uint64_t *offset)
{
	if (offset && !fits_off_t(*offset, size))
		return -EOVERFLOW;
	const uint8_t *p = data;
	for (size_t done = 0; done < size;) {
		ssize_t n = offset ? pwrite(fd, p + done, size - done, (off_t)(*offset + done))
				   : write(fd, p + done, size - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -ENOSPC;
		done += (size_t)n;
	}
	return 0;
}

int ota_write_all(int fd, const void *data, size_t size)
{
	return write_loop(fd, data, size, NULL);
}

int ota_pwrite_all(int fd, const void *data, size_t size, uint64_t offset)
{
	return write_loop(fd, data, size, &offset);
}

int ota_fsync_dir(const char *dir)
{
	_cleanup_close_ int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	return fsync(fd) < 0 ? -errno : 0;
}

static int fsync_parent_dir(const char *path)
{
	char copy[PATH_MAX];
	if (ota_format(copy, sizeof(copy), "%s", path) < 0)
		return -ENAMETOOLONG;
	return ota_fsync_dir(dirname(copy));
}

int ota_write_file_atomic(const char *path, const void *data, size_t size, mode_t mode,
			  struct ota_error *err)
{
	char tmp[PATH_MAX];
	if (ota_format(tmp, sizeof(tmp), "%s.tmp", path) < 0)
		return ota_error_set(err, -ENAMETOOLONG, "path too long: '%s'", path);

	_cleanup_close_ int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
	if (fd < 0)
		return ota_error_errno(err, -errno, "create '%s'", tmp);
	int r = ota_write_all(fd, data, size);
	if (r < 0)
		goto fail;
	if (fsync(fd) < 0) {
		r = -errno;
		goto fail;
	}
	(void)close(TAKE_FD(fd));
	if (rename(tmp, path) < 0) {
		r = -errno;
		(void)unlink(tmp);
		return ota_error_errno(err, r, "rename '%s' to '%s'", tmp, path);
	}
	r = fsync_parent_dir(path);
	if (r < 0)
		return ota_error_errno(err, r, "fsync directory of '%s'", path);
	return 0;
fail:
	(void)unlink(tmp);
	return ota_error_errno(err, r, "write '%s'", tmp);
}

int ota_overwrite_same_size(const char *path, const void *data, size_t size, struct ota_error *err)
{
	_cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return errno == ENOENT ? 1 : ota_error_errno(err, -errno, "open '%s'", path);
	struct stat st;
	if (fstat(fd, &st) < 0)
		return ota_error_errno(err, -errno, "stat '%s'", path);
	if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size != (uint64_t)size)
		return 1;
	int r = ota_pwrite_all(fd, data, size, 0);
	if (r < 0)
		return ota_error_errno(err, r, "write '%s'", path);
	if (fsync(fd) < 0)
		return ota_error_errno(err, -errno, "fsync '%s'", path);
	return 0;
}

int ota_atomic_file_open(struct ota_atomic_file *f, const char *path, mode_t mode, struct ota_error *err)
{
	f->fd = -1;
	if (ota_format(f->tmp, sizeof(f->tmp), "%s.tmp-XXXXXX", path) < 0)
		return ota_error_set(err, -ENAMETOOLONG, "output path '%s' too long", path);
	f->fd = mkostemp(f->tmp, O_CLOEXEC);
	if (f->fd < 0)
		return ota_error_errno(err, -errno, "create a temporary file beside '%s'", path);
	/* mkostemp makes 0600; give the file the mode open(2) would have. */
	mode_t mask = umask(0);
	umask(mask);
	if (fchmod(f->fd, mode & ~mask) < 0) {
		int r = ota_error_errno(err, -errno, "chmod '%s'", f->tmp);
		ota_atomic_file_abort(f);
		return r;
	}
	return 0;
}

int ota_atomic_file_commit(struct ota_atomic_file *f, const char *path, struct ota_error *err)
{
	int r = 0;
	if (fsync(f->fd) < 0)
		r = ota_error_errno(err, -errno, "fsync '%s'", f->tmp);
	else if (close(TAKE_FD(f->fd)) < 0)
		r = ota_error_errno(err, -errno, "close '%s'", f->tmp);
	else if (rename(f->tmp, path) < 0)
		r = ota_error_errno(err, -errno, "rename '%s' to '%s'", f->tmp, path);
	if (r < 0) {
		ota_atomic_file_abort(f);
		return r;
	}
	f->tmp[0] = '\0';
	r = fsync_parent_dir(path);
	return r < 0 ? ota_error_errno(err, r, "fsync directory of '%s'", path) : 0;
}

void ota_atomic_file_abort(struct ota_atomic_file *f)
{
	if (f->fd >= 0)
		(void)close(TAKE_FD(f->fd));
	if (f->tmp[0])
		(void)unlink(f->tmp);
	f->tmp[0] = '\0';
}

int ota_rename_noreplace(const char *from, const char *to, struct ota_error *err)
{
	/* The system call, not libc's renameat2(): musl (the static ota-init)
	 * has no wrapper for it. */
	if (syscall(SYS_renameat2, AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE) < 0) {
		if (errno != EINVAL)
			return ota_error_errno(err, -errno, "rename '%s' to '%s'", from, to);
		/* A file system without RENAME_NOREPLACE: link() never replaces. */
		if (link(from, to) < 0)
			return ota_error_errno(err, -errno, "rename '%s' to '%s'", from, to);
		if (unlink(from) < 0)
			return ota_error_errno(err, -errno, "remove '%s' (now also '%s')", from, to);
	}
	int r = fsync_parent_dir(to);
	if (r < 0)
		return ota_error_errno(err, r, "fsync directory of '%s'", to);
	return 0;
}

int ota_mkdir_p(const char *path, mode_t mode)
{
	char buf[PATH_MAX];
	if (ota_format(buf, sizeof(buf), "%s", path) < 0)
		return -ENAMETOOLONG;
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, mode) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, mode) < 0 && errno != EEXIST)
		return -errno;
	struct stat st;
	if (stat(buf, &st) < 0)
		return -errno;
	return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
}

int ota_mkdir_parent(const char *path, mode_t mode)
{
	char copy[PATH_MAX];
	if (ota_format(copy, sizeof(copy), "%s", path) < 0)
		return -ENAMETOOLONG;
	char *slash = strrchr(copy, '/');
	if (!slash || slash == copy)
		return 0;
	*slash = '\0';
	return ota_mkdir_p(copy, mode);
}

/* One directory on the way down: its identity (to check ".." leads back to
 * it) and the subdirectories still to empty. */
struct rm_level {
	char *name; /* in the parent; NULL for the top */
	dev_t dev;
	ino_t ino;
	char **subdirs;
	size_t n, cap;
};

static void rm_level_done(struct rm_level *l)
{
	free(l->name);
	while (l->n)
		free(l->subdirs[--l->n]);
	free(l->subdirs);
}

static void keep_first(int *first_error, int r)
{
	if (r < 0 && !*first_error)
		*first_error = r;
}

/* Unlinks what dirfd holds except directories of the same filesystem, which
 * are listed in l->subdirs for a visit. */
static void rm_scan(int dirfd, dev_t top_dev, struct rm_level *l, int *first_error)
{
	int dup_fd = fcntl(dirfd, F_DUPFD_CLOEXEC, 3);
	DIR *dir = dup_fd < 0 ? NULL : fdopendir(dup_fd);
	if (!dir) {
		keep_first(first_error, -errno);
		if (dup_fd >= 0)
			(void)close(dup_fd);
		return;
	}
	struct dirent *de;
	while ((errno = 0, de = readdir(dir))) {
		struct stat st;
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (fstatat(dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			keep_first(first_error, errno == ENOENT ? 0 : -errno);
			continue;
		}
		if (!S_ISDIR(st.st_mode)) {
			if (unlinkat(dirfd, de->d_name, 0) < 0 && errno != ENOENT)
				keep_first(first_error, -errno);
			continue;
		}
		if (st.st_dev != top_dev)
			continue; /* never descend into another filesystem (a mount inside) */
		if (l->n == l->cap) {
			/* The capacity follows every successful growth: realloc
			 * may grow in place and return the same pointer. */
			size_t cap = l->cap ? l->cap * 2 : 16;
			char **n = reallocarray(l->subdirs, cap, sizeof(*n));
			if (!n) {
				keep_first(first_error, -ENOMEM);
				break;
			}
			l->subdirs = n;
			l->cap = cap;
		}
		char *name = strdup(de->d_name);
		if (!name) {
			keep_first(first_error, -ENOMEM);
			break;
		}
		l->subdirs[l->n++] = name;
	}
	keep_first(first_error, errno ? -errno : 0);
	(void)closedir(dir);
}

/* Iterative, holding one directory open at a time: neither the stack nor
 * the file descriptors limit the depth of what it removes (the trash holds
 * whatever was in an overlay upper). It climbs back with "..", checked
 * against the device and inode it came from. */
int ota_remove_contents_at(int dirfd)
{
	struct stat st;
	if (fstat(dirfd, &st) < 0)
		return -errno;
	_cleanup_close_ int cur = fcntl(dirfd, F_DUPFD_CLOEXEC, 3);
	if (cur < 0)
		return -errno;
	_cleanup_free_ struct rm_level *levels = malloc(16 * sizeof(*levels));
	size_t depth = 1, cap = 16;
	int first_error = 0;
	if (!levels)
		return -ENOMEM;
	levels[0] = (struct rm_level){ .dev = st.st_dev, .ino = st.st_ino };
	rm_scan(cur, st.st_dev, &levels[0], &first_error);
	while (depth > 0) {
		struct rm_level *l = &levels[depth - 1];
		if (l->n) {
			char *name = l->subdirs[--l->n];
			struct stat sst;
			int sub = openat(cur, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			int r = sub < 0 || fstat(sub, &sst) < 0 ? -errno : 0;
			if (r < 0 || sst.st_dev != levels[0].dev) {
				keep_first(&first_error, r);
				if (sub >= 0)
					(void)close(sub);
				free(name);
				continue;
			}
			if (depth == cap) {
				struct rm_level *n = reallocarray(levels, cap * 2, sizeof(*n));
				if (!n) {
					(void)close(sub);
					free(name);
					keep_first(&first_error, -ENOMEM);
					continue;
				}
				levels = n;
				cap *= 2;
			}
			(void)close(cur);
			cur = sub;
			levels[depth] = (struct rm_level){ .name = name, .dev = sst.st_dev, .ino = sst.st_ino };
			rm_scan(cur, levels[0].dev, &levels[depth++], &first_error);
			continue;
		}
		if (depth == 1) {
			rm_level_done(l);
			break;
		}
		struct stat pst;
		int parent = openat(cur, "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (parent < 0 || fstat(parent, &pst) < 0 || pst.st_dev != levels[depth - 2].dev ||
		    pst.st_ino != levels[depth - 2].ino) {
			/* Moved away while we were inside: stop rather than
			 * remove in a place we did not come from. */
			keep_first(&first_error, parent < 0 ? -errno : -ESTALE);
			if (parent >= 0)
				(void)close(parent);
			while (depth)
				rm_level_done(&levels[--depth]);
			break;
		}
		(void)close(cur);
		cur = parent;
		if (unlinkat(cur, l->name, AT_REMOVEDIR) < 0 && errno != ENOENT)
			keep_first(&first_error, -errno);
		rm_level_done(l);
		depth--;
	}
	return first_error;
}

/* Undoes the octal escapes (\040 for space) of /proc/self/mountinfo. */
static void unescape_mountinfo(char *s)
{
	char *out = s;
	for (char *in = s; *in; in++) {
		if (in[0] == '\\' && in[1] >= '0' && in[1] <= '3' && in[2] >= '0' && in[2] <= '7' &&
		    in[3] >= '0' && in[3] <= '7') {
			*out++ = (char)((in[1] - '0') * 64 + (in[2] - '0') * 8 + (in[3] - '0'));
			in += 3;
		} else {
			*out++ = *in;
		}
	}
	*out = '\0';
}

int ota_is_mount_point(const char *path)
{
	_cleanup_fclose_ FILE *f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return -errno;
	_cleanup_free_ char *line = NULL;
	size_t cap = 0;
	while (getline(&line, &cap, f) > 0) {
		/* id parent major:minor root mountpoint ... */
		char *save = NULL, *field = strtok_r(line, " ", &save);
		for (int i = 0; field && i < 4; i++)
			field = strtok_r(NULL, " ", &save);
		if (!field)
			continue;
		unescape_mountinfo(field);
		if (strcmp(field, path) == 0)
			return 1;
	}
	return 0;
}

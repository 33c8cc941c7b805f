/* SPDX-License-Identifier: Apache-2.0 */
/* cp -a in-process: files, directories, symlinks, device nodes and FIFOs
 * with owner, mode, timestamps and extended attributes. Hard links are copied
 * as separate files; sockets are skipped (they are meaningless on disk). */
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

#include "sysutil/sysutil.h"

static int copy_xattrs(const char *src, const char *dst, struct ota_error *err)
{
	ssize_t size = llistxattr(src, NULL, 0);
	if (size < 0)
		return (errno == ENOTSUP || errno == ENODATA) ? 0 : ota_error_errno(err, -errno, "list xattrs of '%s'", src);
	if (size == 0)
		return 0;
	_cleanup_free_ char *names = malloc((size_t)size);
	if (!names)
		return ota_error_set(err, -ENOMEM, "out of memory copying xattrs of '%s'", src);
	size = llistxattr(src, names, (size_t)size);
	if (size < 0)
		return ota_error_errno(err, -errno, "list xattrs of '%s'", src);
	for (char *name = names; name < names + size; name += strlen(name) + 1) {
		/* overlayfs bookkeeping belongs to the layer, not the content. */
		if (ota_startswith(name, "trusted.overlay."))
			continue;
		ssize_t vlen = lgetxattr(src, name, NULL, 0);
		if (vlen < 0)
			return ota_error_errno(err, -errno, "read xattr '%s' of '%s'", name, src);
		_cleanup_free_ char *value = malloc(vlen ? (size_t)vlen : 1);
		if (!value)
			return ota_error_set(err, -ENOMEM, "out of memory copying xattrs of '%s'", src);
		vlen = lgetxattr(src, name, value, (size_t)vlen);
		if (vlen < 0)
			return ota_error_errno(err, -errno, "read xattr '%s' of '%s'", name, src);
		if (lsetxattr(dst, name, value, (size_t)vlen, 0) < 0 && errno != ENOTSUP)
			return ota_error_errno(err, -errno, "set xattr '%s' on '%s'", name, dst);
	}
	return 0;
}

/* Owner, mode, xattrs and times, in that order: chown clears set-id bits, and
 * every change to the inode would bump what the times are to keep. */
static int copy_metadata(const char *src, const char *dst, const struct stat *st, struct ota_error *err)
{
	if (lchown(dst, st->st_uid, st->st_gid) < 0)
		return ota_error_errno(err, -errno, "chown '%s'", dst);
	if (!S_ISLNK(st->st_mode) && chmod(dst, st->st_mode & 07777) < 0)
		return ota_error_errno(err, -errno, "chmod '%s'", dst);
	int r = copy_xattrs(src, dst, err);
	if (r < 0)
		return r;
	struct timespec times[2] = { st->st_atim, st->st_mtim };
	if (utimensat(AT_FDCWD, dst, times, AT_SYMLINK_NOFOLLOW) < 0)
		return ota_error_errno(err, -errno, "set times of '%s'", dst);
	return 0;
}

static int copy_data(int in, int out)
{
	for (;;) {
		ssize_t n = copy_file_range(in, NULL, out, NULL, 1 << 30, 0);
		if (n == 0)
			return 0;
		if (n > 0)
			continue;
		if (errno == EINTR)
			continue;
		if (errno != EXDEV && errno != ENOSYS && errno != EINVAL && errno != EOPNOTSUPP)
			return -errno;
		break; /* not supported between these filesystems: copy by hand */
	}
	char buf[65536];
	for (;;) {
		ssize_t n = read(in, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return 0;
		for (ssize_t done = 0; done < n;) {
			ssize_t w = write(out, buf + done, (size_t)(n - done));
			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0)
				return -errno;
			done += w;
		}
	}
}

static int copy_file(const char *src, const char *dst, struct ota_error *err)
{
	_cleanup_close_ int in = open(src, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
	if (in < 0)
		return ota_error_errno(err, -errno, "open '%s'", src);
	_cleanup_close_ int out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (out < 0)
		return ota_error_errno(err, -errno, "create '%s'", dst);
	int r = copy_data(in, out);
	if (r < 0)
		return ota_error_errno(err, r, "copy '%s' to '%s'", src, dst);
	return 0;
}

/* Directories still to copy, or whose own metadata is still to set. The walk
 * is iterative, so no depth of the tree on disk can exhaust the stack (the
 * copy runs in PID 1 when seeding); paths are bounded by PATH_MAX, which
 * bounds the depth as well. */
struct pending {
	char *rel;        /* below the top: "" or "/a/b" */
	bool finish;      /* set the directory's metadata, after its content */
	struct stat st;   /* for finish */
};

struct worklist {
	struct pending *items;
	size_t n, cap;
};

static int push(struct worklist *w, const char *rel, const char *name, const struct stat *finish)
{
	if (w->n == w->cap) {
		size_t ncap = w->cap ? w->cap * 2 : 64;
		struct pending *n = reallocarray(w->items, ncap, sizeof(*n));
		if (!n)
			return -ENOMEM;
		w->items = n;
		w->cap = ncap;
	}
	struct pending *p = &w->items[w->n];
	size_t len = strlen(rel), nlen = name ? strlen(name) : 0;
	p->rel = malloc(len + nlen + 2);
	if (!p->rel)
		return -ENOMEM;
	memcpy(p->rel, rel, len);
	if (name) {
		p->rel[len] = '/';
		memcpy(p->rel + len + 1, name, nlen + 1);
	} else {
		p->rel[len] = '\0';
	}
	p->finish = finish != NULL;
	if (finish)
		p->st = *finish;
	w->n++;
	return 0;
}

static int queue_dir(struct worklist *w, const char *src, const char *dst, const char *rel, const struct stat *st,
		     struct ota_error *err)
{
	if (mkdir(dst, 0700) < 0)
		return ota_error_errno(err, -errno, "create directory '%s'", dst);
	if (push(w, rel, NULL, st) < 0)
		return ota_error_set(err, -ENOMEM, "out of memory copying '%s'", src);
	_cleanup_closedir_ DIR *dir = opendir(src);
	if (!dir)
		return ota_error_errno(err, -errno, "open directory '%s'", src);
	struct dirent *de;
	while ((errno = 0, de = readdir(dir))) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (push(w, rel, de->d_name, NULL) < 0)
			return ota_error_set(err, -ENOMEM, "out of memory copying '%s'", src);
	}
	if (errno)
		return ota_error_errno(err, -errno, "read directory '%s'", src);
	return 0;
}

static int copy_entry(struct worklist *w, const char *src, const char *dst, const char *rel, struct ota_error *err)
{
	struct stat st;
	int r;
	if (lstat(src, &st) < 0)
		return ota_error_errno(err, -errno, "stat '%s'", src);
	switch (st.st_mode & S_IFMT) {
	case S_IFDIR:
		return queue_dir(w, src, dst, rel, &st, err); /* metadata once the content is in */
	case S_IFREG:
		r = copy_file(src, dst, err);
		break;
	case S_IFLNK: {
		char target[PATH_MAX];
		ssize_t n = readlink(src, target, sizeof(target) - 1);
		if (n < 0)
			return ota_error_errno(err, -errno, "read symlink '%s'", src);
		target[n] = '\0';
		r = symlink(target, dst) < 0 ? ota_error_errno(err, -errno, "create symlink '%s'", dst) : 0;
		break;
	}
	case S_IFCHR:
	case S_IFBLK:
	case S_IFIFO:
		r = mknod(dst, st.st_mode, st.st_rdev) < 0 ? ota_error_errno(err, -errno, "create node '%s'", dst) : 0;
		break;
	default:
		return 0; /* sockets */
	}
	return r < 0 ? r : copy_metadata(src, dst, &st, err);
}

static size_t depth_of(const char *rel)
{
	size_t n = 0;
	for (; *rel; rel++)
		n += *rel == '/';
	return n;
}

int ota_copy_tree(const char *src, const char *dst, struct ota_error *err)
{
	struct stat st;
	struct worklist w = { 0 };
	char s[PATH_MAX], d[PATH_MAX];
	if (lstat(dst, &st) == 0)
		return ota_error_set(err, -EEXIST, "copy destination '%s' exists", dst);
	int r = push(&w, "", NULL, NULL) < 0 ? ota_error_set(err, -ENOMEM, "out of memory copying '%s'", src) : 0;
	while (r == 0 && w.n) {
		struct pending p = w.items[--w.n];
		if (ota_format(s, sizeof(s), "%s%s", src, p.rel) < 0 || ota_format(d, sizeof(d), "%s%s", dst, p.rel) < 0)
			r = ota_error_set(err, -ENAMETOOLONG,
					  "'%s' is too deep to copy: at depth %zu a path (of the original or the copy) "
					  "is longer than %d bytes",
					  src, depth_of(p.rel), PATH_MAX - 1);
		else if (p.finish)
			r = copy_metadata(s, d, &p.st, err);
		else
			r = copy_entry(&w, s, d, p.rel, err);
		free(p.rel);
	}
	while (w.n)
		free(w.items[--w.n].rel);
	free(w.items);
	return r;
}

/* SPDX-License-Identifier: Apache-2.0 */
/* The staged root: a copy of the user's root (never written itself), checked
 * for what the target boots, configured for the device, its times made
 * reproducible. */
#include <dirent.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <fts.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "image/image-private.h"

OTA_DEFINE_CLEANUP_FUNC(FTS *, fts_close)

int ota_image_stage_root(struct ota_image_ctx *c, struct ota_error *err)
{
	const char *src = c->opts->rootfs;
	struct stat st;
	char dot[PATH_MAX];
	if (stat(src, &st) < 0)
		return ota_error_errno(err, -errno, "root file system '%s'", src);
	if (mkdir(c->root, 0755) < 0)
		return ota_error_errno(err, -errno, "creating %s", c->root);
	int r;
	if (S_ISDIR(st.st_mode)) {
		if (ota_format(dot, sizeof(dot), "%s/.", src) < 0)
			return ota_error_set(err, -ENAMETOOLONG, "%s: path too long", src);
		ota_image_progress(c, "copying the root %s", src);
		const char *argv[] = { "cp", "-a", "--reflink=auto", "--", dot, c->root, NULL };
		r = ota_image_run(c, argv, err);
	} else if (S_ISREG(st.st_mode)) {
		ota_image_progress(c, "unpacking the root %s", src);
		/* tar recognises the compression itself */
		const char *argv[] = { "tar", "-x", "-p", "--numeric-owner", "--xattrs", "--xattrs-include=*",
				       "-f", src, "-C", c->root, NULL };
		r = ota_image_run(c, argv, err);
	} else
		return ota_error_set(err, -EINVAL, "root file system '%s' is neither a directory nor a tarball", src);
	if (r < 0) {
		ota_error_prefix(err, "staging the root %s: ", src);
		return r;
	}
	const char *overlay = c->desc->overlay;
	if (!overlay)
		return 0;
	if (stat(overlay, &st) < 0 || !S_ISDIR(st.st_mode))
		return ota_error_set(err, -ENOTDIR, "%s: [image] overlay '%s' is not a directory", c->desc->source,
				     overlay);
	if (ota_format(dot, sizeof(dot), "%s/.", overlay) < 0)
		return ota_error_set(err, -ENAMETOOLONG, "%s: path too long", overlay);
	/* --remove-destination: an absolute symlink in the root (/etc/resolv.conf)
	 * must be replaced, not written through onto the build host's file. */
	const char *argv[] = { "cp", "-a", "--remove-destination", "--", dot, c->root, NULL };
	r = ota_image_run(c, argv, err);
	if (r < 0)
		ota_error_prefix(err, "copying the overlay %s: ", overlay);
	return r;
}

int ota_image_in_root(const struct ota_image_ctx *c, const char *path, char *buf, size_t size, struct ota_error *err)
{
	char resolved[PATH_MAX];
	int r = ota_path_resolve_in_root(c->root, path, resolved, sizeof(resolved), err);
	if (r < 0)
		return r;
	if (ota_format(buf, size, "%s%s", c->root, resolved) < 0)
		return ota_error_set(err, -ENAMETOOLONG, "%s%s: path too long", c->root, resolved);
	return 0;
}

int ota_image_is_file_in_root(const struct ota_image_ctx *c, const char *path)
{
	char host[PATH_MAX];
	struct stat st;
	struct ota_error e = { 0 };
	return ota_image_in_root(c, path, host, sizeof(host), &e) == 0 && stat(host, &st) == 0 && S_ISREG(st.st_mode);
}

/* The ELF machine of a file, 0 if it is no ELF file. */
static unsigned elf_machine(const char *host)
{
	_cleanup_close_ int fd = open(host, O_RDONLY | O_CLOEXEC);
	unsigned char h[EI_NIDENT + 4];
	if (fd < 0 || ota_read_full(fd, h, sizeof(h)) != (ssize_t)sizeof(h) || memcmp(h, ELFMAG, SELFMAG) != 0)
		return 0;
	return h[EI_DATA] == ELFDATA2MSB ? (unsigned)(h[EI_NIDENT + 2] << 8 | h[EI_NIDENT + 3])
					 : (unsigned)(h[EI_NIDENT + 3] << 8 | h[EI_NIDENT + 2]);
}

/* Links /boot/NAME to what Debian's kernel packages leave: the /NAME
 * symlink, else the one /boot/NAME-* (GRUB's flow loads /boot/vmlinuz and
 * /boot/initrd.img). 0 linked or present, -ENOENT none, -EEXIST several. */
static int link_boot_file(const struct ota_image_ctx *c, const char *name, char *found, size_t found_size)
{
	char boot[PATH_MAX], top[PATH_MAX], target[PATH_MAX] = "", host[PATH_MAX];
	struct ota_error e = { 0 };
	if (ota_format(boot, sizeof(boot), "/boot/%s", name) < 0 || ota_format(top, sizeof(top), "/%s", name) < 0)
		return -ENAMETOOLONG;
	if (ota_image_is_file_in_root(c, boot))
		return 0;
	if (ota_image_is_file_in_root(c, top)) {
		char resolved[PATH_MAX];
		if (ota_path_resolve_in_root(c->root, top, resolved, sizeof(resolved), &e) < 0 ||
		    ota_format(target, sizeof(target), "%s",
			       ota_startswith(resolved, "/boot/") ? resolved + strlen("/boot/") : resolved) < 0)
			return -ENOENT;
	} else {
		char dir[PATH_MAX], prefix[NAME_MAX];
		if (ota_format(dir, sizeof(dir), "%s/boot", c->root) < 0 ||
		    ota_format(prefix, sizeof(prefix), "%s-", name) < 0)
			return -ENAMETOOLONG;
		_cleanup_closedir_ DIR *d = opendir(dir);
		struct dirent *de;
		unsigned n = 0;
		while (d && (de = readdir(d)))
			if (ota_startswith(de->d_name, prefix) && de->d_type == DT_REG && n++ == 0 &&
			    ota_format(target, sizeof(target), "%s", de->d_name) < 0)
				return -ENAMETOOLONG;
		if (n > 1)
			return -EEXIST;
		if (n == 0)
			return -ENOENT;
	}
	char link[PATH_MAX];
	if (ota_image_in_root(c, "/boot", host, sizeof(host), &e) < 0 || ota_mkdir_p(host, 0755) < 0 ||
	    ota_format(link, sizeof(link), "%s/%s", host, name) < 0 || symlink(target, link) < 0)
		return -EIO;
	(void)!ota_format(found, found_size, "%s", target);
	return 0;
}

void ota_image_missing(char *list, size_t size, const char *what)
{
	size_t used = strlen(list);
	(void)snprintf(list + used, size - used, "%s%s", used ? "; " : "", what);
}

void ota_image_check_kernel(struct ota_image_ctx *c, char *list, size_t size)
{
	char kernel[PATH_MAX] = "", initrd[PATH_MAX] = "";
	int r = link_boot_file(c, "vmlinuz", kernel, sizeof(kernel));
	if (r == -EEXIST)
		ota_image_missing(list, size, "/boot/vmlinuz (several /boot/vmlinuz-* and no /vmlinuz link to say "
					      "which one boots)");
	else if (r < 0)
		ota_image_missing(list, size, "/boot/vmlinuz (the kernel; also found as the /vmlinuz link or the one "
					      "/boot/vmlinuz-*)");
	else if (kernel[0])
		ota_image_progress(c, "kernel: /boot/vmlinuz -> %s", kernel);
	if (r == 0 && link_boot_file(c, "initrd.img", initrd, sizeof(initrd)) == 0 && initrd[0])
		ota_image_progress(c, "initramfs: /boot/initrd.img -> %s", initrd);
}

static int check_root(struct ota_image_ctx *c, struct ota_error *err)
{
	const struct ota_image_target_ops *t = ota_image_target_ops_of(c->desc->target);
	char list[2048] = "", host[PATH_MAX];
	struct ota_error e = { 0 };
	t->check_root(c, list, sizeof(list));
	struct stat st;
	unsigned want = c->desc->arch == OTA_IMAGE_ARCH_ARM64 ? EM_AARCH64 : EM_X86_64;
	if (ota_image_in_root(c, "/sbin/ota-init", host, sizeof(host), &e) < 0 || stat(host, &st) < 0 || !S_ISREG(st.st_mode) ||
	    !(st.st_mode & S_IXUSR))
		ota_image_missing(list, sizeof(list), "/sbin/ota-init (install the otaroot package into the root)");
	else if (elf_machine(host) != want)
		ota_image_missing(list, sizeof(list), c->desc->arch == OTA_IMAGE_ARCH_ARM64
						    ? "/sbin/ota-init for arm64 (it is no arm64 program)"
						    : "/sbin/ota-init for amd64 (it is no x86-64 program)");
	if (ota_image_in_root(c, "/sbin/init", host, sizeof(host), &e) < 0 || stat(host, &st) < 0 || !S_ISREG(st.st_mode))
		ota_image_missing(list, sizeof(list), "/sbin/init (the real init ota-init starts: systemd-sysv, BusyBox, ...)");
	if (list[0])
		return ota_error_set(err, -ENOENT, "the root %s lacks what the %s target boots: %s", c->opts->rootfs,
				     t->name, list);
	return 0;
}

int ota_image_write_in_root(const struct ota_image_ctx *c, const char *path, const char *data, size_t size,
			    mode_t mode, struct ota_error *err)
{
	char host[PATH_MAX];
	int r = ota_image_in_root(c, path, host, sizeof(host), err);
	if (r < 0)
		return r;
	r = ota_mkdir_parent(host, 0755);
	if (r < 0)
		return ota_error_errno(err, r, "creating the directory of %s", host);
	/* Power-fail safety does not matter in a staging tree, but this is the
	 * one helper that writes a whole file and names it in its errors. */
	return ota_write_file_atomic(host, data, size, mode, err);
}

static int install_keyring(const struct ota_image_ctx *c, struct ota_error *err)
{
	_cleanup_free_ char *pem = NULL;
	int r = ota_read_text_file(c->desc->keyring, 1u << 20, &pem, err);
	if (r < 0) {
		ota_error_prefix(err, "%s: [update] keyring: ", c->desc->source);
		return r;
	}
	if (!strstr(pem, "-----BEGIN CERTIFICATE-----"))
		return ota_error_set(err, -EINVAL, "%s: [update] keyring %s holds no PEM certificate",
				     c->desc->source, c->desc->keyring);
	return ota_image_write_in_root(c, OTA_IMAGE_KEYRING, pem, strlen(pem), 0644, err);
}

int ota_image_configure_root(struct ota_image_ctx *c, const char *version, uint64_t slot_size, struct ota_error *err)
{
	_cleanup_free_ char *sysconf = NULL, *layout = NULL;
	int r = check_root(c, err);
	if (r < 0)
		return r;
	if ((r = ota_image_system_conf(c->desc, version, &sysconf, err)) < 0 ||
	    (r = ota_image_layout_conf(c->desc, slot_size, &layout, err)) < 0)
		return r;
	if ((r = ota_image_write_in_root(c, "/etc/ota/system.conf", sysconf, strlen(sysconf), 0644, err)) < 0 ||
	    (r = ota_image_write_in_root(c, "/etc/ota/layout.conf", layout, strlen(layout), 0644, err)) < 0 ||
	    (r = install_keyring(c, err)) < 0)
		return r;
	const struct ota_image_target_ops *t = ota_image_target_ops_of(c->desc->target);
	if (t->configure_root && (r = t->configure_root(c, err)) < 0)
		return r;
	/* ota-init makes the device's id and binds it over this file: empty,
	 * every device flashed from the image gets its own. */
	if ((r = ota_image_write_in_root(c, "/etc/machine-id", "", 0, 0444, err)) < 0)
		return r;
	char host[PATH_MAX];
	struct stat st;
	struct ota_error e = { 0 };
	if (ota_image_in_root(c, "/var/lib/dbus/machine-id", host, sizeof(host), &e) == 0 && lstat(host, &st) == 0 &&
	    S_ISREG(st.st_mode) && unlink(host) < 0)
		return ota_error_errno(err, -errno, "removing %s (an id every device would share)", host);
	return 0;
}

/* Walks the staged root without following symlinks or leaving its file
 * system; calls visit with each entry's path inside the root ("/" first). */
static int walk_root(const struct ota_image_ctx *c,
		     int (*visit)(void *user, FTSENT *e, const char *path, struct ota_error *err), void *user,
		     struct ota_error *err)
{
	char *const paths[] = { (char *)c->root, NULL };
	_cleanup_(fts_closep) FTS *fts = fts_open(paths, FTS_PHYSICAL | FTS_XDEV | FTS_NOCHDIR, NULL);
	if (!fts)
		return ota_error_errno(err, -errno, "walking %s", c->root);
	size_t skip = strlen(c->root);
	for (;;) {
		errno = 0;
		FTSENT *e = fts_read(fts);
		if (!e)
			break;
		if (e->fts_info == FTS_DP)
			continue;
		if (e->fts_info == FTS_DNR || e->fts_info == FTS_ERR || e->fts_info == FTS_NS)
			return ota_error_errno(err, -e->fts_errno, "reading %s", e->fts_path);
		int r = visit(user, e, e->fts_path[skip] ? e->fts_path + skip : "/", err);
		if (r < 0)
			return r;
	}
	return errno ? ota_error_errno(err, -errno, "walking %s", c->root) : 0;
}

struct normalise {
	const struct ota_image_ctx *c;
	FILE *script;
};

static int normalise_one(void *user, FTSENT *e, const char *path, struct ota_error *err)
{
	struct normalise *n = user;
	uint64_t epoch = n->c->epoch;
	if (strpbrk(path, "\"\n"))
		return ota_error_set(err, -EINVAL, "%s: a file name with a double quote or a line break: debugfs "
				     "cannot name it to normalise its times", e->fts_path);
	if ((uint64_t)e->fts_statp->st_mtime > epoch) {
		struct timespec ts[2] = { { .tv_sec = (time_t)epoch }, { .tv_sec = (time_t)epoch } };
		if (utimensat(AT_FDCWD, e->fts_accpath, ts, AT_SYMLINK_NOFOLLOW) < 0)
			return ota_error_errno(err, -errno, "setting the times of %s", e->fts_path);
	}
	fprintf(n->script, "sif \"%s\" atime @%" PRIu64 "\nsif \"%s\" ctime @%" PRIu64 "\n", path, epoch, path,
		epoch);
	return ferror(n->script) ? ota_error_set(err, -EIO, "writing the debugfs script") : 0;
}

int ota_image_normalise_root(struct ota_image_ctx *c, const char *debugfs_script, struct ota_error *err)
{
	_cleanup_fclose_ FILE *f = fopen(debugfs_script, "we");
	if (!f)
		return ota_error_errno(err, -errno, "creating %s", debugfs_script);
	struct normalise n = { c, f };
	int r = walk_root(c, normalise_one, &n, err);
	if (r < 0)
		return r;
	if (fflush(f) != 0)
		return ota_error_errno(err, -errno, "writing %s", debugfs_script);
	return 0;
}

struct scan {
	uint64_t newest;
	uint64_t bytes;
};

static int scan_one(void *user, FTSENT *e, const char *path, struct ota_error *err)
{
	struct scan *s = user;
	const struct stat *st = e->fts_statp;
	if (st->st_mtime > 0 && (uint64_t)st->st_mtime > s->newest)
		s->newest = (uint64_t)st->st_mtime;
	uint64_t size = S_ISREG(st->st_mode) ? (uint64_t)st->st_size : 0;
	s->bytes += (size + 4095) / 4096 * 4096 + 4096; /* its blocks and its inode's share of the tables */
	return 0;
}

int ota_image_root_scan(const struct ota_image_ctx *c, uint64_t *ret_newest, uint64_t *ret_bytes,
			struct ota_error *err)
{
	struct scan s = { 0 };
	int r = walk_root(c, scan_one, &s, err);
	if (r < 0)
		return r;
	*ret_newest = s.newest;
	*ret_bytes = s.bytes;
	return 0;
}

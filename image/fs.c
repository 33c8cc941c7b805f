/* SPDX-License-Identifier: Apache-2.0 */
/* The system slot's file system (mke2fs -d or mkfs.erofs) and FAT images
 * (mkfs.fat, mtools), each an image file made without loop devices or
 * mounts. */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <dirent.h>
#include <stdlib.h>

#include "image/image-private.h"

/* debugfs reports a failed command on stderr and still exits 0: anything
 * there but its version banner is an error. */
static int check_debugfs_output(char *text, struct ota_error *err)
{
	for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n"))
		if (!ota_startswith(line, "debugfs "))
			return ota_error_set(err, -EIO, "debugfs: %s", line);
	return 0;
}

static int mkfs_ext4(struct ota_image_ctx *c, const char *out, uint64_t size, struct ota_error *err)
{
	char uuid[37], seed[37], extended[128], blocks[32], script[PATH_MAX];
	ota_image_uuid(c->desc->compatible, "system-fs", uuid);
	ota_image_uuid(c->desc->compatible, "system-fs-hash-seed", seed);
	if (ota_format(extended, sizeof(extended), "hash_seed=%s,root_owner=0:0", seed) < 0 ||
	    ota_format(blocks, sizeof(blocks), "%" PRIu64 "k", size >> 10) < 0 ||
	    ota_format(script, sizeof(script), "%s/times.debugfs", c->work) < 0)
		return -ENAMETOOLONG;
	int r = ota_image_normalise_root(c, script, err);
	if (r < 0)
		return r;
	/* -m 0: a read-only system needs no blocks reserved for root. */
	const char *mkfs[] = { "mke2fs", "-q", "-F", "-t", "ext4", "-b", "4096", "-m", "0", "-L", "system", "-U", uuid,
			       "-E", extended, "-d", c->root, out, blocks, NULL };
	if ((r = ota_image_run(c, mkfs, err)) < 0) {
		ota_error_prefix(err, "making the system file system (%" PRIu64 " MiB; [image] slot-size): ",
				 size >> 20);
		return r;
	}
	/* mke2fs -d takes atime and ctime from the stage, where they are the
	 * copy's: set them to the epoch in every inode. */
	char errout[65536];
	const char *debugfs[] = { "debugfs", "-w", "-f", script, out, NULL };
	if ((r = ota_image_run_capture(c, debugfs, errout, sizeof(errout), err)) < 0 ||
	    (r = check_debugfs_output(errout, err)) < 0) {
		ota_error_prefix(err, "normalising the inode times of %s: ", out);
		return r;
	}
	const char *fsck[] = { "e2fsck", "-f", "-n", out, NULL };
	if ((r = ota_image_run(c, fsck, err)) < 0)
		ota_error_prefix(err, "checking %s: ", out);
	return r;
}

static int mkfs_erofs(struct ota_image_ctx *c, const char *out, uint64_t slot_size, struct ota_error *err)
{
	char uuid[37], epoch[32], script[PATH_MAX];
	ota_image_uuid(c->desc->compatible, "system-fs", uuid);
	if (ota_format(epoch, sizeof(epoch), "-T%" PRIu64, c->epoch) < 0 ||
	    ota_format(script, sizeof(script), "%s/times.debugfs", c->work) < 0)
		return -ENAMETOOLONG;
	/* Clamps the mtimes (EROFS keeps no atime or ctime); the script is unused. */
	int r = ota_image_normalise_root(c, script, err);
	if (r < 0)
		return r;
	/* No -L: Debian 12's erofs-utils 1.5 has none, and slots are found by
	 * their GPT names, never by a file system label. */
	const char *mkfs[] = { "mkfs.erofs", "-zlz4hc", epoch, "-U", uuid, out, c->root, NULL };
	if ((r = ota_image_run(c, mkfs, err)) < 0) {
		ota_error_prefix(err, "making the system file system: ");
		return r;
	}
	struct stat st;
	if (stat(out, &st) < 0)
		return ota_error_errno(err, -errno, "%s", out);
	if ((uint64_t)st.st_size > slot_size)
		return ota_error_set(err, -ENOSPC, "the EROFS image of the root is %" PRIu64 " MiB, more than [image] "
				     "slot-size (%" PRIu64 " MiB)", ((uint64_t)st.st_size + (1u << 20) - 1) >> 20,
				     slot_size >> 20);
	return 0;
}

int ota_image_mkfs_system(struct ota_image_ctx *c, const char *out, uint64_t slot_size, struct ota_error *err)
{
	ota_image_progress(c, "making the system file system (%s)",
			   c->desc->filesystem == OTA_IMAGE_FS_EROFS ? "erofs" : "ext4");
	if (c->desc->filesystem == OTA_IMAGE_FS_EROFS)
		return mkfs_erofs(c, out, slot_size, err);
	return mkfs_ext4(c, out, slot_size, err);
}

int ota_image_mkfat(const struct ota_image_ctx *c, const char *out, uint64_t size, const char *label,
		    const char *purpose, bool fat32, struct ota_error *err)
{
	char kib[32], volid[16], uuid[37];
	if (ota_format(kib, sizeof(kib), "%" PRIu64, size >> 10) < 0)
		return -EINVAL;
	ota_image_uuid(c->desc->compatible, purpose, uuid);
	memcpy(volid, uuid, 8);
	volid[8] = '\0';
	const char *fat[] = { "mkfs.fat", "--invariant", "-i", volid, "-C", "-n", label, out, kib, NULL };
	const char *fat_32[] = { "mkfs.fat", "--invariant", "-F", "32", "-i", volid, "-C", "-n", label, out, kib, NULL };
	return ota_image_run(c, fat32 ? fat_32 : fat, err);
}

int ota_image_fat_copy(const struct ota_image_ctx *c, const char *image, const char *const *files, const char *dest,
		       struct ota_error *err)
{
	size_t n = 0;
	while (files[n])
		n++;
	_cleanup_free_ const char **argv = calloc(n + 7, sizeof(*argv));
	if (!argv)
		return ota_error_set(err, -ENOMEM, "out of memory");
	/* -D o: ours replace a file of the same name (a firmware directory's config.txt) */
	const char *head[] = { "mcopy", "-D", "o", "-i", image };
	memcpy(argv, head, sizeof(head));
	memcpy(argv + OTA_ELEMENTSOF(head), files, n * sizeof(*argv));
	argv[n + OTA_ELEMENTSOF(head)] = dest;
	return ota_image_run(c, argv, err);
}

static void free_entries(struct dirent **e, int n)
{
	for (int i = 0; i < n; i++)
		free(e[i]);
}

/* Depth-bounded: a firmware tree is two levels (overlays/). */
static int copy_tree(const struct ota_image_ctx *c, const char *image, const char *src, const char *dest,
		     unsigned depth, struct ota_error *err)
{
	if (depth > 8)
		return ota_error_set(err, -ELOOP, "%s: directories nested too deep for a FAT boot partition", src);
	struct dirent **e = NULL;
	int n = scandir(src, &e, NULL, alphasort);
	if (n < 0)
		return ota_error_errno(err, -errno, "reading %s", src);
	_cleanup_free_ char **paths = calloc((size_t)n + 1, sizeof(*paths));
	size_t n_files = 0;
	int r = paths ? 0 : ota_error_set(err, -ENOMEM, "out of memory");
	/* files first, in one mcopy (the directory's entries in name order), then each directory */
	for (int pass = 0; pass < 2 && r >= 0; pass++)
		for (int i = 0; i < n && r >= 0; i++) {
			char path[PATH_MAX], sub[PATH_MAX];
			struct stat st;
			if (ota_streq(e[i]->d_name, ".") || ota_streq(e[i]->d_name, ".."))
				continue;
			if (ota_format(path, sizeof(path), "%s/%s", src, e[i]->d_name) < 0) {
				r = ota_error_set(err, -ENAMETOOLONG, "%s/%s: path too long", src, e[i]->d_name);
				break;
			}
			if (stat(path, &st) < 0) {
				r = ota_error_errno(err, -errno, "%s", path);
				break;
			}
			if (pass == 0 && S_ISREG(st.st_mode)) {
				if (!(paths[n_files++] = strdup(path)))
					r = ota_error_set(err, -ENOMEM, "out of memory");
			} else if (pass == 1 && S_ISDIR(st.st_mode)) {
				if (ota_format(sub, sizeof(sub), "%s/%s", dest, e[i]->d_name) < 0)
					r = ota_error_set(err, -ENAMETOOLONG, "%s: path too long", sub);
				const char *mmd[] = { "mmd", "-i", image, sub, NULL };
				if (r >= 0)
					r = ota_image_run(c, mmd, err);
				if (r >= 0)
					r = copy_tree(c, image, path, sub, depth + 1, err);
			}
		}
	if (r >= 0 && n_files) {
		char to[PATH_MAX];
		if (ota_format(to, sizeof(to), "%s/", dest) < 0)
			r = ota_error_set(err, -ENAMETOOLONG, "%s: path too long", dest);
		else
			r = ota_image_fat_copy(c, image, (const char *const *)paths, to, err);
	}
	for (size_t i = 0; paths && i < n_files; i++)
		free(paths[i]);
	free_entries(e, n);
	free(e);
	return r;
}

int ota_image_fat_copy_tree(const struct ota_image_ctx *c, const char *image, const char *src, const char *dest,
			    struct ota_error *err)
{
	return copy_tree(c, image, src, dest, 0, err);
}

int ota_image_work_file(const struct ota_image_ctx *c, const char *name, const char *text, char *path, size_t size,
			struct ota_error *err)
{
	if (ota_format(path, size, "%s/%s", c->work, name) < 0)
		return ota_error_set(err, -ENAMETOOLONG, "%s/%s: path too long", c->work, name);
	return ota_write_file_atomic(path, text, strlen(text), 0644, err);
}

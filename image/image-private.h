/* SPDX-License-Identifier: Apache-2.0 */
/* What image/'s files share; not part of the contract (image.h). */
#ifndef OTA_IMAGE_PRIVATE_H
#define OTA_IMAGE_PRIVATE_H

#include <stdint.h>
#include <time.h>

#include "image/image.h"

#define OTA_IMAGE_KEYRING "/etc/ota/keyring.pem"
#define OTA_IMAGE_GROUPS { "a", "b" }
/* A host tool's bound: a root of some GiB through cp, tar or mke2fs. */
#define OTA_IMAGE_TOOL_TIMEOUT_MS (60u * 60u * 1000u)

/* One build: its time, its staging directory, how chatty it is. */
struct ota_image_ctx {
	const struct ota_image_desc *desc;
	const struct ota_image_opts *opts;
	uint64_t epoch;               /* SOURCE_DATE_EPOCH, or the newest mtime in the root */
	char work[4096];              /* staging directory */
	char root[4096];              /* work/root: the staged root */
};

void ota_image_progress(const struct ota_image_ctx *c, const char *fmt, ...) _printf_(2, 3);

/* Runs a host tool (argv[0] a name, found in /sbin, /usr/sbin, /bin,
 * /usr/bin) with a clean environment (PATH, LC_ALL=C, TZ=UTC,
 * SOURCE_DATE_EPOCH, E2FSPROGS_FAKE_TIME, MTOOLS_SKIP_CHECK). A missing tool
 * is named with the Debian package that has it; a failing one with its exit
 * status and the start of its stderr. 0 or -errno. */
int ota_image_run(const struct ota_image_ctx *c, const char **argv, struct ota_error *err) _must_check_;
/* The same, with the tool's stderr (its first size - 1 bytes) in errout. */
int ota_image_run_capture(const struct ota_image_ctx *c, const char **argv, char *errout, size_t size,
			  struct ota_error *err) _must_check_;
/* 0 if the tool is installed, -ENOENT (err names its package) if not. */
int ota_image_have_tool(const char *name, struct ota_error *err) _must_check_;

/* A UUID derived from the compatible string and a purpose ("disk",
 * "system-a", "ext4-hash"): the same image, the same ids. */
void ota_image_uuid(const char *compatible, const char *purpose, char out[37]);

const char *ota_image_root_type(enum ota_image_arch arch);

/* root.c: the staged root. */
int ota_image_stage_root(struct ota_image_ctx *c, struct ota_error *err) _must_check_;
int ota_image_configure_root(struct ota_image_ctx *c, const char *version, uint64_t slot_size,
			     struct ota_error *err) _must_check_;
/* Clamps mtimes to the epoch and writes the debugfs script that sets every
 * inode's atime and ctime to it (mke2fs -d copies them from the stage). */
int ota_image_normalise_root(struct ota_image_ctx *c, const char *debugfs_script, struct ota_error *err) _must_check_;
/* The newest mtime in the staged root (the epoch when SOURCE_DATE_EPOCH is
 * unset) and the bytes it holds (its files' blocks and a block per inode). */
int ota_image_root_scan(const struct ota_image_ctx *c, uint64_t *ret_newest, uint64_t *ret_bytes,
			struct ota_error *err) _must_check_;

/* fs.c: the system slot's file system and the ESP. */
int ota_image_mkfs_system(struct ota_image_ctx *c, const char *out, uint64_t slot_size,
			  struct ota_error *err) _must_check_;
int ota_image_make_esp(struct ota_image_ctx *c, const char *out, struct ota_error *err) _must_check_;

/* disk.c: GPT (libfdisk) with the ESP and system-a, the images copied in. */
int ota_image_write_disk(struct ota_image_ctx *c, const char *out, const char *esp, const char *system,
			 uint64_t slot_size, struct ota_error *err) _must_check_;

#endif

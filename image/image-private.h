/* SPDX-License-Identifier: Apache-2.0 */
/* What image/'s files share; not part of the contract (image.h). */
#ifndef OTA_IMAGE_PRIVATE_H
#define OTA_IMAGE_PRIVATE_H

#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>
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
/* Where otaroot's boot-flow files are: --data-dir, else the installed. */
const char *ota_image_data_dir(const struct ota_image_ctx *c);

/* config.c: what the GPT targets (efi, uboot) share: system.conf's slots
 * and groups by PARTLABEL, layout.conf's system-a, system-b and data. */
void ota_image_gpt_slots_conf(FILE *f);
void ota_image_gpt_slots_layout(const struct ota_image_desc *d, uint64_t slot_size, FILE *f);
/* layout.conf's data partition, the last of every target. */
void ota_image_data_layout(FILE *f);

/* A partition of the shipped image, in table order: its layout.conf name
 * (and so its type), its size, the file copied into it (a path in the
 * staging directory; "" leaves it empty). */
struct ota_image_part {
	const char *name;
	uint64_t size;
	bool bootable;      /* MBR: the active flag; GPT: LegacyBIOSBootable (U-Boot's distro boot scans it) */
	bool in_bundle;     /* its image is also in every bundle, class boot */
	char image[4096];
};
#define OTA_IMAGE_MAX_PARTS 4

/* What differs between targets (efi.c, uboot.c, rpi.c); everything else,
 * from staging the root to publishing the outputs, is shared. */
struct ota_image_target_ops {
	const char *name;
	/* Appends "; "-separated what the staged root lacks to boot this way. */
	void (*check_root)(struct ota_image_ctx *c, char *missing, size_t size);
	/* More changes to the staged root, after system.conf; may be NULL. */
	int (*configure_root)(struct ota_image_ctx *c, struct ota_error *err);
	/* system.conf from [bootflow] on: the boot flow, slots and groups. */
	void (*system_conf)(const struct ota_image_desc *d, FILE *f);
	/* layout.conf, whole: what the image ships and the first boot adds. */
	void (*layout_conf)(const struct ota_image_desc *d, uint64_t slot_size, FILE *f);
	/* The partitions shipped before system-a (at most
	 * OTA_IMAGE_MAX_PARTS), made in the staging directory from the
	 * configured root: parts[0..*n). Without for_disk only those in_bundle. */
	int (*make_boot)(struct ota_image_ctx *c, bool for_disk, struct ota_image_part *parts, size_t *n,
			 struct ota_error *err);
};

extern const struct ota_image_target_ops ota_image_target_efi, ota_image_target_uboot, ota_image_target_rpi;
const struct ota_image_target_ops *ota_image_target_ops_of(enum ota_image_target t);

/* root.c: the staged root. */
int ota_image_stage_root(struct ota_image_ctx *c, struct ota_error *err) _must_check_;
int ota_image_configure_root(struct ota_image_ctx *c, const char *version, uint64_t slot_size,
			     struct ota_error *err) _must_check_;
/* The host path of path inside the staged root, symlinks resolved in it. */
int ota_image_in_root(const struct ota_image_ctx *c, const char *path, char *buf, size_t size,
		      struct ota_error *err) _must_check_;
/* 1 if path (in the root) is a regular file, 0 if not. */
int ota_image_is_file_in_root(const struct ota_image_ctx *c, const char *path);
/* Writes a whole file into the staged root (its directory created). */
int ota_image_write_in_root(const struct ota_image_ctx *c, const char *path, const char *data, size_t size,
			    mode_t mode, struct ota_error *err) _must_check_;
/* Appends "what (why)" to a "; "-separated list. */
void ota_image_missing(char *list, size_t size, const char *what);
/* /boot/vmlinuz (and /boot/initrd.img when there is one), linked to the
 * installed kernel as Debian installs it; names it missing otherwise. */
void ota_image_check_kernel(struct ota_image_ctx *c, char *missing, size_t size);
/* Clamps mtimes to the epoch and writes the debugfs script that sets every
 * inode's atime and ctime to it (mke2fs -d copies them from the stage). */
int ota_image_normalise_root(struct ota_image_ctx *c, const char *debugfs_script, struct ota_error *err) _must_check_;
/* The newest mtime in the staged root (the epoch when SOURCE_DATE_EPOCH is
 * unset) and the bytes it holds (its files' blocks and a block per inode). */
int ota_image_root_scan(const struct ota_image_ctx *c, uint64_t *ret_newest, uint64_t *ret_bytes,
			struct ota_error *err) _must_check_;

/* fs.c: the system slot's file system and FAT images. */
int ota_image_mkfs_system(struct ota_image_ctx *c, const char *out, uint64_t slot_size,
			  struct ota_error *err) _must_check_;
/* An empty FAT file system image of size bytes (fat32: FAT32, else what
 * mkfs.fat picks), its volume id derived from the compatible and purpose. */
int ota_image_mkfat(const struct ota_image_ctx *c, const char *out, uint64_t size, const char *label,
		    const char *purpose, bool fat32, struct ota_error *err) _must_check_;
/* Copies files (host paths, NULL-terminated) into the FAT image's
 * directory dest ("::/", "::/dir/"), in the order given. */
int ota_image_fat_copy(const struct ota_image_ctx *c, const char *image, const char *const *files, const char *dest,
		       struct ota_error *err) _must_check_;
/* Copies the directory tree src into the FAT image's directory dest
 * ("::" the top), directories and files sorted by name: the same tree,
 * the same bytes. */
int ota_image_fat_copy_tree(const struct ota_image_ctx *c, const char *image, const char *src, const char *dest,
			    struct ota_error *err) _must_check_;
/* A text file in the staging directory (name), for a FAT image. */
int ota_image_work_file(const struct ota_image_ctx *c, const char *name, const char *text, char *path, size_t size,
			struct ota_error *err) _must_check_;

/* disk.c: the partition table (libfdisk; layout.conf's table type) with
 * parts and system-a, the images copied in. */
int ota_image_write_disk(struct ota_image_ctx *c, const char *out, const struct ota_image_part *parts, size_t n,
			 const char *system, uint64_t slot_size, struct ota_error *err) _must_check_;


#endif

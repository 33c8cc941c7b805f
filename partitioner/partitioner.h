/* SPDX-License-Identifier: Apache-2.0 */
/* partitioner: first-boot provisioning of a disk from a declared layout
 * (/etc/ota/layout.conf), in-process with libfdisk and libblkid.
 *
 * What it may do, and nothing else:
 * - grow the last existing partition (and, on MBR, the extended partition
 *   holding it) and append the missing partitions of the layout; never move,
 *   shrink or delete, never touch a disk whose partitions are not a prefix of
 *   the layout (other types, other names, extra partitions);
 * - relocate a GPT's backup header to the end of a larger disk;
 * - make filesystems only on partitions it created.
 *
 * Crash safety: a partition that needs a filesystem is created with a
 * *pending* type (GPT: OTA_PART_PENDING_GUID, MBR: 0xda) in the same table
 * write that creates it. Its filesystem is made, synced, and only then is the
 * type switched to the final one in a second table write. At any power cut the
 * table says exactly what is left to do: a pending partition is formatted
 * (again) at the next boot, a final-typed one never is. Filesystem growth is
 * idempotent and checked at every boot. See docs/provisioning.md.
 *
 * The same code plans and applies: a plan is the edit done on libfdisk's
 * in-memory label without writing it. Safe for PID 1: nothing exits; mkfs
 * runs through ota_spawn() with a clean argv and environment, at most 10
 * minutes, and its status is checked.
 */
#ifndef OTA_PARTITIONER_H
#define OTA_PARTITIONER_H

#include <stdint.h>

#include "sysutil/sysutil.h"

#define OTA_LAYOUT_CONF "/etc/ota/layout.conf"
#define OTA_LAYOUT_MAX_PARTS 32
#define OTA_PART_PENDING_GUID "4f544150-454e-4449-4e47-0000000a4f4b"
#define OTA_PART_PENDING_MBR 0xda

/* What the tables, libfdisk and mkfs can hold; layout.conf values beyond
 * these are refused with the limit in the message (docs/provisioning.md). */
#define OTA_GPT_NAME_UNITS 36     /* UTF-16 code units in a GPT entry's name */
/* Its UTF-8 and NUL: libfdisk writes only U+0000..U+FFFF, 3 bytes at most. */
#define OTA_PART_NAME_SIZE (OTA_GPT_NAME_UNITS * 3 + 1)
#define OTA_PART_MIN_SIZE (1ull << 20) /* libfdisk's alignment grain */
/* mkfs.ext4 makes a filesystem without a journal below 2048 blocks, which
 * is 8 MiB with the largest (4 KiB) block size. */
#define OTA_EXT4_MIN_SIZE (8ull << 20)
#define OTA_EXT4_LABEL_MAX 16     /* bytes; mkfs.ext4 truncates a longer one */
#define OTA_VFAT_LABEL_MAX 11     /* characters, ASCII; mkfs.vfat refuses more */
#define OTA_MKFS_MAX_OPTIONS 32   /* words in mkfs-options */
#define OTA_MBR_MAX_SECTORS 0xffffffffull /* MBR starts and sizes are 32-bit */

enum ota_table_type { OTA_TABLE_GPT, OTA_TABLE_MBR };
enum ota_fs_type { OTA_FS_NONE, OTA_FS_EXT4, OTA_FS_VFAT };

struct ota_layout_part {
	char name[OTA_PART_NAME_SIZE]; /* GPT partition name; on MBR only for messages */
	uint64_t size;         /* bytes, a multiple of 512, at least the minimum; 0 with rest */
	bool rest;             /* takes the rest of the disk (last entry only) */
	char gpt_type[40];     /* lower-case type GUID (GPT) */
	unsigned mbr_type;     /* type byte (MBR) */
	enum ota_fs_type fs;
	char label[64];        /* filesystem label */
	char mkfs_options[256];/* extra mkfs arguments, split on spaces */
	bool grow;             /* grow the filesystem with the partition */
};

struct ota_layout {
	enum ota_table_type table;
	struct ota_layout_part parts[OTA_LAYOUT_MAX_PARTS];
	size_t n_parts;
};

/* Parses layout.conf text and checks every value against what the table
 * type and the filesystem's mkfs can hold; messages name source:line, the
 * partition, the key and the limit. What depends on the disk (its sector
 * size and size) is checked by ota_part_provision(). */
int ota_layout_parse(struct ota_layout *l, const char *text, const char *source,
		     struct ota_error *err) _must_check_;
int ota_layout_load(struct ota_layout *l, const char *path, struct ota_error *err) _must_check_;
/* The smallest size partition p may have: OTA_PART_MIN_SIZE, or what its
 * filesystem needs; why names the reason. */
uint64_t ota_layout_min_size(const struct ota_layout_part *p, const char **why);

enum ota_part_action_kind {
	OTA_PART_KEEP,    /* exists as declared */
	OTA_PART_GROW,    /* exists, grows */
	OTA_PART_CREATE,  /* missing, created */
	OTA_PART_FINISH,  /* exists with the pending type: format, then finalise */
};

struct ota_part_action {
	enum ota_part_action_kind kind;
	size_t index;            /* into the layout */
	unsigned partno;         /* 1-based, as the kernel numbers it */
	uint64_t start;          /* bytes */
	uint64_t old_size;       /* bytes, 0 when created */
	uint64_t new_size;       /* bytes */
	bool format;             /* a filesystem is made on it */
	bool grow_fs;            /* its filesystem is grown */
};

struct ota_part_plan {
	enum ota_table_type table;
	uint64_t disk_size;      /* bytes */
	uint64_t unreachable;    /* bytes at the disk's end no partition can use
				  * (MBR addresses only 2^32 sectors) */
	unsigned sector_size;
	bool table_changes;      /* the partition table is written */
	bool relocate_backup;    /* GPT backup header moves to the disk's end */
	struct ota_part_action actions[OTA_LAYOUT_MAX_PARTS + 1];
	size_t n_actions;
	bool extended_created;   /* MBR: the extended partition is new or grows */
};

/* Plans (apply false: nothing is written) or carries out the provisioning of
 * device, a block device or an image file. On a block device in use the
 * kernel learns of the changes via BLKPG, under an exclusive flock. Returns 0
 * and the plan; -EUCLEAN when the disk does not match the layout's prefix,
 * -EINVAL/-E2BIG when a declared value does not fit this disk's table or
 * sector size, and -ENOSPC, naming how much is missing, when the layout does
 * not fit (all leave the disk untouched). Sizes are never rounded and what
 * libfdisk plans is checked against the layout before it is written. */
int ota_part_provision(const char *device, const struct ota_layout *l, bool apply, struct ota_part_plan *ret,
		       struct ota_error *err) _must_check_;

struct ota_part_entry {
	unsigned partno;         /* 1-based */
	uint64_t start, size;    /* bytes */
	char type[40];           /* GUID (GPT) or "0x83" (MBR) */
	char name[OTA_PART_NAME_SIZE]; /* GPT name */
	bool container;          /* MBR extended partition */
	bool pending;            /* created by provisioning, not yet formatted */
};

struct ota_part_table {
	enum ota_table_type table;
	uint64_t disk_size;
	unsigned sector_size;
	struct ota_part_entry entries[128];
	size_t n_entries;
};

/* Reads the partition table of device (block device or image), read-only. */
int ota_part_read_table(const char *device, struct ota_part_table *ret, struct ota_error *err) _must_check_;

/* True if the plan changes anything. */
bool ota_part_plan_has_work(const struct ota_part_plan *p);

/* Grows a mounted ext4 filesystem to the size of its block device (online,
 * EXT4_IOC_RESIZE_FS). Returns 1 if it grew, 0 if it already fit. */
int ota_part_grow_mounted_fs(const char *mount_point, const char *device, struct ota_error *err) _must_check_;

#endif

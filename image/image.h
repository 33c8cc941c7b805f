/* SPDX-License-Identifier: Apache-2.0 */
/* image: ota-image, from a root filesystem to a flashable A/B disk image and
 * signed update bundles, on the build host (docs/ota-image.md).
 *
 * Job: read an image description (the project's INI dialect; its one schema
 * is the table in image/desc.c), stage a copy of the root (a directory or a
 * tarball; the caller's tree is never written), check that it holds what the
 * target boots (kernel, /sbin/ota-init for the description's architecture,
 * the real init), write the device's configuration into it
 * (/etc/ota/system.conf and layout.conf, each parsed back by its owner,
 * sysconf/ and partitioner/, before it is written; the keyring; an empty
 * /etc/machine-id), make the system slot's file system (mke2fs -d or
 * mkfs.erofs), and then either the disk image (the partition table with
 * libfdisk, the target's FAT boot partitions made with mkfs.fat and mtools,
 * the system-a slot; layout.conf makes the first boot append the rest) with
 * the first bundle, or only the bundle (bundle/). Targets: efi (GPT, an ESP
 * with GRUB EFI, the grub flow), rpi-tryboot (MBR, the Raspberry Pi
 * firmware's tryboot A/B: autoboot.txt, a boot partition per group whose
 * image is also in every bundle), uboot (GPT, a FAT partition with boot.scr
 * and the uboot flow's env files; kernels in the slots).
 *
 * Reproducible: the same root and description give the same bytes. Every
 * time written is SOURCE_DATE_EPOCH (or the newest mtime in the root), mtimes
 * newer than it are clamped, atime and ctime of every inode are set to it,
 * every UUID, the ext4 hash seed and the FAT volume id are derived from the
 * compatible string, and the tools run with a clean environment (LC_ALL=C,
 * TZ=UTC). The CMS signature of a signed bundle carries its own signing time;
 * everything it signs is reproducible.
 *
 * Outputs are published whole: everything is made in a staging directory
 * beside the output and renamed into place at the end; on any failure the
 * staging directory is removed and nothing is written.
 *
 * Errors: 0 or a negative errno; struct ota_error names the description's
 * file:line and key, the root's missing files, or the tool that failed with
 * its exit status and its first error line (a missing tool: its package).
 *
 * Host tools run through ota_spawn() with an argv (no shell), found in
 * /sbin, /usr/sbin, /bin, /usr/bin, each under a deadline. Not for PID 1.
 */
#ifndef OTA_IMAGE_H
#define OTA_IMAGE_H

#include <stdbool.h>
#include <stdint.h>

#include "sysutil/sysutil.h"

enum ota_image_target {
	OTA_IMAGE_TARGET_EFI = 0,     /* GPT, ESP with GRUB EFI, the grub boot flow */
	OTA_IMAGE_TARGET_RPI_TRYBOOT, /* MBR, the Raspberry Pi firmware's tryboot A/B (board/raspberrypi4) */
	OTA_IMAGE_TARGET_UBOOT,       /* GPT, a FAT boot partition with boot.scr, the uboot flow (file mode) */
};
enum ota_image_arch {
	OTA_IMAGE_ARCH_AMD64 = 0,
	OTA_IMAGE_ARCH_ARM64,
};
enum ota_image_fs {
	OTA_IMAGE_FS_EXT4 = 0,
	OTA_IMAGE_FS_EROFS,
};
enum ota_image_bmap {
	OTA_IMAGE_BMAP_AUTO = 0, /* when bmaptool is installed */
	OTA_IMAGE_BMAP_YES,      /* bmaptool is required */
	OTA_IMAGE_BMAP_NO,
};

#define OTA_IMAGE_DEFAULT_ESP_SIZE (32ull << 20)
#define OTA_IMAGE_DEFAULT_RPI_BOOT_SIZE (128ull << 20)
#define OTA_IMAGE_ALIGN (1ull << 20) /* partitions start and end on MiB boundaries */

/* A parsed description. Paths are absolute (relative ones are taken from
 * the description's directory). Strings are owned; free with
 * ota_image_desc_done(). */
struct ota_image_desc {
	char *source;                 /* the description file, for messages */
	/* [image] */
	enum ota_image_target target;
	enum ota_image_arch arch;
	enum ota_image_fs filesystem;
	uint64_t slot_size;           /* bytes, MiB multiple; 0: from the root's size */
	uint64_t esp_size;            /* bytes, MiB multiple: the ESP (efi), the boot partition (uboot) */
	char *kernel_cmdline;         /* more kernel arguments; may be NULL */
	bool grub_serial;             /* GRUB's menu on the first serial port too */
	enum ota_image_bmap bmap;
	char *overlay;                /* a directory copied over the root; may be NULL */
	char *system_conf;            /* a system.conf whose settings are added; may be NULL */
	/* [system] */
	char *compatible;
	char *version;
	/* [update] */
	char *keyring;                /* PEM CA file, installed as /etc/ota/keyring.pem */
	char *channel;                /* may be NULL */
	char *downgrade;              /* refuse, strict or allow; may be NULL (refuse) */
	/* [bootflow], [init] */
	unsigned tries;
	unsigned trial_watchdog_s;
	/* [rpi] (rpi-tryboot): paths inside the root */
	char *rpi_firmware;           /* the firmware directory; NULL: /boot/firmware */
	char *rpi_kernel;             /* NULL: found (docs/ota-image.md) */
	uint64_t rpi_boot_size;       /* boot-a, boot-b */
	char *rpi_config;             /* lines added to config.txt (a host file); may be NULL */
	/* [uboot] (uboot) */
	char *uboot_device;           /* U-Boot's interface and device, "mmc 0"; NULL: mmc 0 */
	char *uboot_fdt;              /* the device tree loaded from the slot; NULL: U-Boot's own */
	/* [sign]; all NULL: the bundle is left unsigned (ota-bundle sign) */
	char *key, *cert, *chain;
};

void ota_image_desc_init(struct ota_image_desc *d);
void ota_image_desc_done(struct ota_image_desc *d);
OTA_DEFINE_DONE_CLEANUP_FUNC(struct ota_image_desc, ota_image_desc_done)
/* Parses description text (source names it in messages and is the base of
 * relative paths). An unknown section or key, a bad value (file:line,
 * [section] key and why) or a missing required key is an error; d is then
 * left as it was. */
int ota_image_desc_parse(struct ota_image_desc *d, const char *text, const char *source,
			 struct ota_error *err) _must_check_;
int ota_image_desc_load(struct ota_image_desc *d, const char *path, struct ota_error *err) _must_check_;
/* The schema, for tests and documentation: the i-th key as "[section] key",
 * NULL past the last. */
const char *ota_image_desc_key_name(size_t i, char *buf, size_t size);

/* What the description makes the device's files say (version: the
 * description's, unless overridden). *ret is malloc'd text, already parsed
 * back by its owner (sysconf/, partitioner/) before it is returned. */
int ota_image_system_conf(const struct ota_image_desc *d, const char *version, char **ret,
			  struct ota_error *err) _must_check_;
/* Adds the settings of extra (a system.conf read from extra_source) to
 * generated (the one the description makes): a key of extra that generated
 * also has must have the same value (else an error naming both: the
 * description owns it), the others are appended in their sections, so a
 * product's own settings ([data] options, [hawkbit], ...) reach the image
 * and none is dropped or silently overridden. *ret is malloc'd. */
int ota_image_system_conf_merge(const char *generated, const char *extra, const char *extra_source, char **ret,
				struct ota_error *err) _must_check_;
int ota_image_layout_conf(const struct ota_image_desc *d, uint64_t slot_size, char **ret,
			  struct ota_error *err) _must_check_;

/* The MBR disk signature of an rpi-tryboot image, derived from the
 * compatible string (never 0): its slots are PARTUUID=<signature>-NN. */
uint32_t ota_image_mbr_id(const char *compatible);

struct ota_image_opts {
	const char *rootfs;           /* directory or tarball */
	const char *version;          /* NULL: the description's */
	const char *data_dir;         /* grub/grub.cfg, grub/flow.cfg, uboot/boot.cmd; NULL: the installed */
	const char *grub_modules;     /* NULL: /usr/lib/grub/<x86_64-efi|arm64-efi> */
	const char *key, *cert, *chain; /* override [sign] */
	unsigned threads;             /* bundle compression; 0: one per CPU */
	bool quiet;                   /* no progress lines on stderr */
};

/* OUT/disk.img, OUT/disk.img.bmap (bmap permitting) and OUT/update.otab;
 * OUT is created, files of those names in it are replaced. */
int ota_image_build(const struct ota_image_desc *d, const struct ota_image_opts *o, const char *out_dir,
		    struct ota_error *err) _must_check_;
/* The bundle alone, to out_path. */
int ota_image_bundle(const struct ota_image_desc *d, const struct ota_image_opts *o, const char *out_path,
		     struct ota_error *err) _must_check_;

/* ota-image run: the QEMU command line booting image with UEFI firmware. */
struct ota_image_run_opts {
	enum ota_image_arch arch;
	unsigned ssh_port;            /* host port forwarded to the guest's 22 */
	unsigned memory_mib;
	unsigned cpus;
	bool kvm;
	const char *firmware_code;    /* NULL: OVMF's or AAVMF's of Debian */
	const char *firmware_vars;    /* NULL: IMAGE.efivars, made from the template */
};
/* Fills argv (NULL-terminated, at most n entries; strings in the
 * caller's buf) and makes the firmware's variable store when it is missing. */
int ota_image_run_argv(const char *image, const struct ota_image_run_opts *o, const char **argv, size_t n,
		       char *buf, size_t buf_size, struct ota_error *err) _must_check_;

#endif

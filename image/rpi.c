/* SPDX-License-Identifier: Apache-2.0 */
/* The rpi-tryboot target: the Raspberry Pi 4/5 layout of board/raspberrypi4.
 *
 *   MBR (disk signature from the compatible)
 *   p1 bootfs    FAT32  64M  autoboot.txt: which of p2/p3 the firmware boots
 *   p2 boot-a    FAT32       firmware, kernel, DTBs, config.txt, cmdline-{a,b}.txt
 *   p3 boot-b               in the table, empty until the first update
 *   p4 extended             grown to the disk's end by the first boot
 *   p5 system-a             the root
 *   p6 system-b, p7 data    appended by the first boot (layout.conf)
 *
 * The boot image (p2) is group a's boot slot and is in every bundle (class
 * boot): config.txt picks cmdline-a.txt or cmdline-b.txt by the partition
 * the firmware booted from, so the same image serves either group. Its
 * files come from the root: the firmware directory ([rpi] firmware,
 * /boot/firmware as Debian's raspi-firmware fills it), the kernel. */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bootflow/bootflow.h"
#include "image/image-private.h"

#define BOOTFS_SIZE (64ull << 20)
#define FIRMWARE_MOUNT "/boot/firmware" /* p1 there: the flow's autoboot.txt */
#define CONFIG_EXTRA_MAX (64u * 1024)

/* What the firmware of a Pi 4 needs beside the kernel; a Pi 5 ignores them. */
static const char *const firmware_files[] = { "start4.elf", "fixup4.dat" };
/* Kernels in the firmware directory, as Buildroot's and Debian's name them. */
static const char *const firmware_kernels[] = { "kernel8.img", "Image", "vmlinuz" };

static const char *firmware_dir(const struct ota_image_desc *d)
{
	return d->rpi_firmware ? d->rpi_firmware : "/boot/firmware";
}

/* The root's file for name in the firmware directory (a path in the root). */
static int fw_path(const struct ota_image_desc *d, const char *name, char *buf, size_t size)
{
	return ota_format(buf, size, "%s/%s", firmware_dir(d), name);
}

/* The kernel: [rpi] kernel, else one in the firmware directory (*in_fw),
 * else /boot/vmlinuz (as Debian installs it). Sets *fat_name to its name
 * on the FAT (config.txt's kernel=). */
static int find_kernel(struct ota_image_ctx *c, char *path, size_t size, const char **fat_name, bool *in_fw)
{
	*in_fw = false;
	if (c->desc->rpi_kernel) {
		const char *slash = strrchr(c->desc->rpi_kernel, '/');
		*fat_name = slash[1] ? slash + 1 : "kernel8.img";
		(void)!ota_format(path, size, "%s", c->desc->rpi_kernel);
		return ota_image_is_file_in_root(c, path) ? 0 : -ENOENT;
	}
	for (size_t i = 0; i < OTA_ELEMENTSOF(firmware_kernels); i++)
		if (fw_path(c->desc, firmware_kernels[i], path, size) == 0 && ota_image_is_file_in_root(c, path)) {
			*fat_name = firmware_kernels[i];
			*in_fw = true;
			return 0;
		}
	*fat_name = "vmlinuz";
	(void)!ota_format(path, size, "/boot/vmlinuz");
	return ota_image_is_file_in_root(c, path) ? 0 : -ENOENT;
}

/* 1 if the firmware directory holds a device tree of a Pi 4 or 5. */
static bool has_dtb(const struct ota_image_ctx *c)
{
	char host[PATH_MAX];
	struct ota_error e = { 0 };
	if (ota_image_in_root(c, firmware_dir(c->desc), host, sizeof(host), &e) < 0)
		return false;
	_cleanup_closedir_ DIR *d = opendir(host);
	struct dirent *de;
	while (d && (de = readdir(d)))
		if ((ota_startswith(de->d_name, "bcm2711-") || ota_startswith(de->d_name, "bcm2712-")) &&
		    strlen(de->d_name) > 4 && ota_streq(de->d_name + strlen(de->d_name) - 4, ".dtb"))
			return true;
	return false;
}

static void rpi_check_root(struct ota_image_ctx *c, char *missing, size_t size)
{
	const struct ota_image_desc *d = c->desc;
	char path[PATH_MAX], what[PATH_MAX + 160];
	const char *fat_name;
	bool in_fw;
	for (size_t i = 0; i < OTA_ELEMENTSOF(firmware_files); i++)
		if (fw_path(d, firmware_files[i], path, sizeof(path)) < 0 || !ota_image_is_file_in_root(c, path)) {
			(void)snprintf(what, sizeof(what), "%s (the Pi 4 firmware: Debian's raspi-firmware, or "
				       "[rpi] firmware)", path);
			ota_image_missing(missing, size, what);
		}
	if (!has_dtb(c)) {
		(void)snprintf(what, sizeof(what), "%s/bcm2711-*.dtb or bcm2712-*.dtb (the device trees of the "
			       "Pi 4 or 5)", firmware_dir(d));
		ota_image_missing(missing, size, what);
	}
	/* Links /boot/vmlinuz (and initrd.img) as Debian installs them, for
	 * find_kernel's last choice; its message is replaced by ours. */
	char debian[1024] = "";
	if (!d->rpi_kernel)
		ota_image_check_kernel(c, debian, sizeof(debian));
	if (find_kernel(c, path, sizeof(path), &fat_name, &in_fw) < 0) {
		if (d->rpi_kernel)
			(void)snprintf(what, sizeof(what), "%s (the kernel of [rpi] kernel)", d->rpi_kernel);
		else
			(void)snprintf(what, sizeof(what), "the kernel (%s/kernel8.img, Image or vmlinuz, or "
				       "/boot/vmlinuz; or [rpi] kernel)", firmware_dir(d));
		ota_image_missing(missing, size, what);
	}
}

static void rpi_system_conf(const struct ota_image_desc *d, FILE *f)
{
	uint32_t id = ota_image_mbr_id(d->compatible);
	fprintf(f,
		"# Raspberry Pi firmware tryboot (docs/boot-flows.md, rpi-tryboot): the first\n"
		"# FAT partition (bootfs) is mounted on " FIRMWARE_MOUNT " (/etc/fstab);\n"
		"# autoboot.txt there names the default boot partition and the trial one.\n"
		"[bootflow]\n"
		"type = rpi-tryboot\n"
		"autoboot = " FIRMWARE_MOUNT "/autoboot.txt\n"
		"partition.a = 2\n"
		"partition.b = 3\n"
		"\n"
		"[slot.boot-a]\n"
		"class = boot\n"
		"device = PARTUUID=%08" PRIx32 "-02\n"
		"[slot.boot-b]\n"
		"class = boot\n"
		"device = PARTUUID=%08" PRIx32 "-03\n"
		"[slot.system-a]\n"
		"class = system\n"
		"device = PARTUUID=%08" PRIx32 "-05\n"
		"[slot.system-b]\n"
		"class = system\n"
		"device = PARTUUID=%08" PRIx32 "-06\n"
		"\n"
		"[group.a]\n"
		"boot = boot-a\n"
		"system = system-a\n"
		"[group.b]\n"
		"boot = boot-b\n"
		"system = system-b\n",
		id, id, id, id);
}

static void rpi_layout_conf(const struct ota_image_desc *d, uint64_t slot_size, FILE *f)
{
	unsigned long long boot_mib = d->rpi_boot_size >> 20, slot_mib = slot_size >> 20;
	fprintf(f,
		"# /etc/ota/layout.conf (docs/provisioning.md), written by ota-image: the\n"
		"# image ships bootfs, boot-a, boot-b and system-a (p5; p4 is the extended\n"
		"# partition); the first boot appends system-b and data.\n"
		"[table]\n"
		"type = mbr\n"
		"\n"
		"[partition bootfs]\n"
		"size = %lluM\n"
		"type = 0c\n"
		"filesystem = vfat\n"
		"\n"
		"[partition boot-a]\n"
		"size = %lluM\n"
		"type = 0c\n"
		"filesystem = vfat\n"
		"\n"
		"[partition boot-b]\n"
		"size = %lluM\n"
		"type = 0c\n"
		"\n"
		"[partition system-a]\n"
		"size = %lluM\n"
		"type = linux\n"
		"\n"
		"[partition system-b]\n"
		"size = %lluM\n"
		"type = linux\n"
		"\n",
		(unsigned long long)(BOOTFS_SIZE >> 20), boot_mib, boot_mib, slot_mib, slot_mib);
	ota_image_data_layout(f);
}

static int write_cmdline(const struct ota_image_ctx *c, char group, unsigned partno, char *path, size_t size,
			 struct ota_error *err)
{
	const struct ota_image_desc *d = c->desc;
	char text[2048], name[32];
	if (ota_format(name, sizeof(name), "cmdline-%c.txt", group) < 0 ||
	    ota_format(text, sizeof(text), "root=PARTUUID=%08" PRIx32 "-%02u rootwait ro init=/sbin/ota-init "
		       "ota.slot=%c panic=5 %s\n", ota_image_mbr_id(d->compatible), partno, group,
		       d->kernel_cmdline ? d->kernel_cmdline : "console=serial0,115200 console=tty1") < 0)
		return ota_error_set(err, -E2BIG, "%s: [image] kernel-cmdline is too long", d->source);
	return ota_image_work_file(c, name, text, path, size, err);
}

static int write_config(const struct ota_image_ctx *c, const char *kernel, bool initramfs, char *path, size_t size,
			struct ota_error *err)
{
	const struct ota_image_desc *d = c->desc;
	_cleanup_free_ char *extra = NULL;
	if (d->rpi_config) {
		int r = ota_read_text_file(d->rpi_config, CONFIG_EXTRA_MAX, &extra, err);
		if (r < 0) {
			ota_error_prefix(err, "%s: [rpi] config: ", d->source);
			return r;
		}
	}
	_cleanup_free_ char *text = NULL;
	if (asprintf(&text,
		     "# Raspberry Pi 4/5 firmware configuration, written by ota-image (docs/ota-image.md),\n"
		     "# the same in boot-a and boot-b. Firmware syntax: no spaces around '='.\n"
		     "[pi4]\n"
		     "start_file=start4.elf\n"
		     "fixup_file=fixup4.dat\n"
		     "[all]\n"
		     "kernel=%s\n"
		     "%s%s%s"
		     "arm_64bit=1\n"
		     "enable_uart=1\n"
		     "# The hardware watchdog that ota-init arms for a trial boot.\n"
		     "dtparam=watchdog=on\n"
		     "%s%s"
		     "\n"
		     "# One boot image for both groups: the command line follows the partition the\n"
		     "# firmware booted from (autoboot.txt: 2 normally, 3 on a tryboot).\n"
		     "[boot_partition=2]\n"
		     "cmdline=cmdline-a.txt\n"
		     "[boot_partition=3]\n"
		     "cmdline=cmdline-b.txt\n"
		     "[all]\n",
		     kernel, initramfs ? "initramfs " : "", initramfs ? "initrd.img" : "", initramfs ? " followkernel\n" : "",
		     extra ? "# [rpi] config of the image description:\n" : "", extra ? extra : "") < 0)
		return ota_error_set(err, -ENOMEM, "out of memory");
	return ota_image_work_file(c, "config.txt", text, path, size, err);
}

/* boot-a's image: the firmware directory, the kernel and initramfs when
 * they are elsewhere in the root, then our config.txt and command lines
 * (replacing any the firmware directory has). */
static int make_boot_image(struct ota_image_ctx *c, const char *out, struct ota_error *err)
{
	const struct ota_image_desc *d = c->desc;
	char fw[PATH_MAX], kernel[PATH_MAX], kernel_host[PATH_MAX], initrd_host[PATH_MAX], config[PATH_MAX];
	char cmdline_a[PATH_MAX], cmdline_b[PATH_MAX], dest[PATH_MAX], fw_initrd[PATH_MAX];
	const char *kernel_name;
	bool kernel_in_fw;
	int r = find_kernel(c, kernel, sizeof(kernel), &kernel_name, &kernel_in_fw);
	if (r < 0)
		return ota_error_set(err, r, "%s: no kernel", c->opts->rootfs);
	bool initrd_in_fw = fw_path(d, "initrd.img", fw_initrd, sizeof(fw_initrd)) == 0 &&
			    ota_image_is_file_in_root(c, fw_initrd);
	bool initrd = initrd_in_fw || ota_image_is_file_in_root(c, "/boot/initrd.img");
	if ((r = ota_image_in_root(c, firmware_dir(d), fw, sizeof(fw), err)) < 0 ||
	    (r = ota_image_in_root(c, kernel, kernel_host, sizeof(kernel_host), err)) < 0 ||
	    (r = write_config(c, kernel_name, initrd, config, sizeof(config), err)) < 0 ||
	    (r = write_cmdline(c, 'a', 5, cmdline_a, sizeof(cmdline_a), err)) < 0 ||
	    (r = write_cmdline(c, 'b', 6, cmdline_b, sizeof(cmdline_b), err)) < 0)
		return r;
	ota_image_progress(c, "making the boot image (%s, kernel %s)", firmware_dir(d), kernel);
	const char *ours[] = { config, cmdline_a, cmdline_b, NULL };
	if ((r = ota_image_mkfat(c, out, d->rpi_boot_size, "BOOT", "boot-volume-id", true, err)) < 0 ||
	    (r = ota_image_fat_copy_tree(c, out, fw, "::", err)) < 0 ||
	    (r = ota_image_fat_copy(c, out, ours, "::/", err)) < 0)
		return r;
	if (!kernel_in_fw) {
		const char *k[] = { kernel_host, NULL };
		if (ota_format(dest, sizeof(dest), "::/%s", kernel_name) < 0)
			return -ENAMETOOLONG;
		if ((r = ota_image_fat_copy(c, out, k, dest, err)) < 0)
			return r;
	}
	if (initrd && !initrd_in_fw) {
		const char *i[] = { initrd_host, NULL };
		if ((r = ota_image_in_root(c, "/boot/initrd.img", initrd_host, sizeof(initrd_host), err)) < 0 ||
		    (r = ota_image_fat_copy(c, out, i, "::/initrd.img", err)) < 0)
			return r;
	}
	return 0;
}

/* /etc/fstab: bootfs on FIRMWARE_MOUNT, where the flow finds autoboot.txt;
 * a line of the root's for that mount point is replaced (on a Debian Pi it
 * mounts the single firmware partition this layout splits in three). */
static int rpi_configure_root(struct ota_image_ctx *c, struct ota_error *err)
{
	char host[PATH_MAX], line[256];
	_cleanup_free_ char *old = NULL;
	int r = ota_image_in_root(c, "/etc/fstab", host, sizeof(host), err);
	if (r < 0)
		return r;
	if (access(host, F_OK) == 0 && (r = ota_read_text_file(host, 1u << 20, &old, err)) < 0)
		return r;
	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	if (!f)
		return ota_error_set(err, -ENOMEM, "out of memory");
	for (char *p = old, *next; p && *p; p = next) {
		size_t n = strcspn(p, "\n");
		next = p[n] ? p + n + 1 : p + n;
		char field[PATH_MAX] = "";
		if (sscanf(p, "%*s %4095s", field) == 1 && ota_streq(field, FIRMWARE_MOUNT) && p[0] != '#')
			continue;
		fprintf(f, "%.*s\n", (int)n, p);
	}
	(void)snprintf(line, sizeof(line), "PARTUUID=%08" PRIx32 "-01\t" FIRMWARE_MOUNT "\tvfat\tnoatime,nosuid,"
		       "nodev,noexec\t0\t0\n", ota_image_mbr_id(c->desc->compatible));
	fputs(line, f);
	bool bad = ferror(f);
	if (fclose(f) != 0 || bad)
		return ota_error_set(err, -ENOMEM, "out of memory");
	char dir[PATH_MAX];
	if ((r = ota_image_write_in_root(c, "/etc/fstab", text, strlen(text), 0644, err)) < 0 ||
	    (r = ota_image_in_root(c, FIRMWARE_MOUNT, dir, sizeof(dir), err)) < 0)
		return r;
	r = ota_mkdir_p(dir, 0755);
	return r < 0 ? ota_error_errno(err, r, "creating %s", dir) : 0;
}

static int rpi_make_boot(struct ota_image_ctx *c, bool for_disk, struct ota_image_part *parts, size_t *n,
			 struct ota_error *err)
{
	const struct ota_image_desc *d = c->desc;
	*n = 0;
	struct ota_image_part *bootfs = &parts[0], *boot_a = &parts[1], *boot_b = &parts[2];
	*bootfs = (struct ota_image_part){ .name = "bootfs", .size = BOOTFS_SIZE, .bootable = true };
	*boot_a = (struct ota_image_part){ .name = "boot-a", .size = d->rpi_boot_size, .in_bundle = true };
	*boot_b = (struct ota_image_part){ .name = "boot-b", .size = d->rpi_boot_size };
	if (ota_format(bootfs->image, sizeof(bootfs->image), "%s/bootfs.img", c->work) < 0 ||
	    ota_format(boot_a->image, sizeof(boot_a->image), "%s/boot.vfat", c->work) < 0)
		return ota_error_set(err, -ENAMETOOLONG, "%s: path too long", c->work);
	int r = make_boot_image(c, boot_a->image, err);
	if (r < 0) {
		ota_error_prefix(err, "making the boot image (%llu MiB; [rpi] boot-size): ",
				 (unsigned long long)(d->rpi_boot_size >> 20));
		return r;
	}
	if (!for_disk) {
		parts[0] = *boot_a;
		*n = 1;
		return 0;
	}
	char autoboot[512], path[PATH_MAX];
	if (ota_autoboot_format(2, 3, autoboot, sizeof(autoboot)) < 0)
		return -ENAMETOOLONG;
	const char *files[] = { path, NULL };
	if ((r = ota_image_work_file(c, "autoboot.txt", autoboot, path, sizeof(path), err)) < 0 ||
	    (r = ota_image_mkfat(c, bootfs->image, BOOTFS_SIZE, "BOOTFS", "bootfs-volume-id", true, err)) < 0 ||
	    (r = ota_image_fat_copy(c, bootfs->image, files, "::/", err)) < 0) {
		ota_error_prefix(err, "making bootfs: ");
		return r;
	}
	*n = 3;
	return 0;
}

const struct ota_image_target_ops ota_image_target_rpi = {
	.name = "rpi-tryboot",
	.check_root = rpi_check_root,
	.system_conf = rpi_system_conf,
	.layout_conf = rpi_layout_conf,
	.configure_root = rpi_configure_root,
	.make_boot = rpi_make_boot,
};

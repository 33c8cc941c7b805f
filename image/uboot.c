/* SPDX-License-Identifier: Apache-2.0 */
/* The uboot target: GPT with a FAT boot partition (LegacyBIOSBootable, so
 * U-Boot's distro boot scans it for /boot.scr) holding boot.scr (the
 * board's lines for [uboot] device, then bootflow/uboot/boot.cmd, made with
 * mkimage) and the flow's two env files (file mode); each group's kernel,
 * initramfs and device tree are in its system slot's /boot, so a bundle of
 * the system updates them. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "image/image-private.h"

#define BOOT_CMD_MAX (64u * 1024)
#define ENV_FILE "ota.env"
/* What boot.cmd's file mode reads first: group a, no trial. */
#define INITIAL_ENV "ota_default=a\nota_seq=0\nota_valid=0\n"

static const char *device_of(const struct ota_image_desc *d)
{
	return d->uboot_device ? d->uboot_device : "mmc 0";
}

static void uboot_check_root(struct ota_image_ctx *c, char *missing, size_t size)
{
	ota_image_check_kernel(c, missing, size);
	const char *fdt = c->desc->uboot_fdt;
	if (fdt && !ota_image_is_file_in_root(c, fdt)) {
		char what[PATH_MAX + 64];
		(void)snprintf(what, sizeof(what), "%s (the device tree of [uboot] fdt)", fdt);
		ota_image_missing(missing, size, what);
	}
}

static void uboot_system_conf(const struct ota_image_desc *d, FILE *f)
{
	fprintf(f,
		"# U-Boot (docs/boot-flows.md, uboot): boot.scr on the FAT boot partition\n"
		"# reads the boot state from the env files there (file mode).\n"
		"[bootflow]\n"
		"type = uboot\n"
		"env-mode = file\n"
		"device = PARTLABEL=boot\n"
		"env = /" ENV_FILE "\n"
		"tries = %u\n"
		"\n",
		d->tries);
	ota_image_gpt_slots_conf(f);
}

static void uboot_layout_conf(const struct ota_image_desc *d, uint64_t slot_size, FILE *f)
{
	fprintf(f,
		"# /etc/ota/layout.conf (docs/provisioning.md), written by ota-image: the\n"
		"# image ships boot and system-a; the first boot appends system-b and data.\n"
		"[table]\n"
		"type = gpt\n"
		"\n"
		"[partition boot]\n"
		"size = %lluM\n"
		"type = fat32\n"
		"filesystem = vfat\n"
		"\n",
		(unsigned long long)(d->esp_size >> 20));
	ota_image_gpt_slots_layout(d, slot_size, f);
}

/* 1 if the root's kernel is gzipped (Debian's arm64 vmlinuz is not; booti
 * takes only an uncompressed Image, so a gzipped one is unzipped first). */
static bool kernel_gzipped(const struct ota_image_ctx *c)
{
	char host[PATH_MAX];
	unsigned char magic[2];
	struct ota_error e = { 0 };
	if (ota_image_in_root(c, "/boot/vmlinuz", host, sizeof(host), &e) < 0)
		return false;
	_cleanup_close_ int fd = open(host, O_RDONLY | O_CLOEXEC);
	return fd >= 0 && ota_read_full(fd, magic, 2) == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
}

/* ota_boot_<group>: load that group's kernel (and initramfs, device tree)
 * from its slot, partition part, and boot it. */
static int boot_command(const struct ota_image_ctx *c, char group, unsigned part, char *buf, size_t size)
{
	const struct ota_image_desc *d = c->desc;
	char dev[64], kernel[256], fdt[PATH_MAX + 64] = "", initrd[128] = "", boot[256];
	bool arm64 = d->arch == OTA_IMAGE_ARCH_ARM64;
	bool have_initrd = ota_image_is_file_in_root(c, "/boot/initrd.img");
	if (ota_format(dev, sizeof(dev), "%s:%u", device_of(d), part) < 0)
		return -ENAMETOOLONG;
	if (arm64 && kernel_gzipped(c))
		(void)snprintf(kernel, sizeof(kernel), "load %s ${ramdisk_addr_r} /boot/vmlinuz && unzip "
			       "${ramdisk_addr_r} ${kernel_addr_r}", dev);
	else
		(void)snprintf(kernel, sizeof(kernel), "load %s ${kernel_addr_r} /boot/vmlinuz", dev);
	if (arm64 && d->uboot_fdt && ota_format(fdt, sizeof(fdt), " && load %s ${fdt_addr_r} %s", dev, d->uboot_fdt) < 0)
		return -ENAMETOOLONG;
	if (have_initrd)
		(void)snprintf(initrd, sizeof(initrd), " && load %s ${ramdisk_addr_r} /boot/initrd.img", dev);
	/* the initramfs is loaded last: ${filesize} is its size */
	if (arm64)
		(void)snprintf(boot, sizeof(boot), "booti ${kernel_addr_r} %s %s",
			       have_initrd ? "${ramdisk_addr_r}:${filesize}" : "-",
			       d->uboot_fdt ? "${fdt_addr_r}" : "${fdtcontroladdr}");
	else
		(void)snprintf(boot, sizeof(boot), "zboot ${kernel_addr_r}%s",
			       have_initrd ? " 0 ${ramdisk_addr_r} ${filesize}" : "");
	if (ota_format(buf, size,
		       "setenv ota_boot_%c 'setenv bootargs \"${bootargs} root=PARTLABEL=system-%c\"; %s%s%s && %s'\n",
		       group, group, kernel, fdt, initrd, boot) < 0)
		return -ENAMETOOLONG;
	return 0;
}

/* boot.cmd: the board's lines (docs/ota-image.md), then the flow's script. */
static int write_boot_cmd(const struct ota_image_ctx *c, const char *path, struct ota_error *err)
{
	const struct ota_image_desc *d = c->desc;
	char script[PATH_MAX], boot_a[2048], boot_b[2048], cmdline[1024] = "", head[8192];
	const char *dev = device_of(d);
	size_t iface = strcspn(dev, " ");
	if (ota_format(script, sizeof(script), "%s/uboot/boot.cmd", ota_image_data_dir(c)) < 0)
		return ota_error_set(err, -ENAMETOOLONG, "%s: path too long", ota_image_data_dir(c));
	_cleanup_free_ char *flow = NULL;
	int r = ota_read_text_file(script, BOOT_CMD_MAX, &flow, err);
	if (r < 0) {
		ota_error_prefix(err, "the uboot boot flow's script (--data-dir): ");
		return r;
	}
	if (d->kernel_cmdline && strpbrk(d->kernel_cmdline, "\"'$\\;"))
		return ota_error_set(err, -EINVAL, "%s: [image] kernel-cmdline '%s' has a quote, $, \\ or ; that the "
				     "boot script cannot carry", d->source, d->kernel_cmdline);
	if (d->kernel_cmdline)
		(void)snprintf(cmdline, sizeof(cmdline), "setenv ota_cmdline \"%s\"\n", d->kernel_cmdline);
	if (boot_command(c, 'a', 2, boot_a, sizeof(boot_a)) < 0 || boot_command(c, 'b', 3, boot_b, sizeof(boot_b)) < 0)
		return ota_error_set(err, -ENAMETOOLONG, "%s: [uboot] fdt is too long", d->source);
	if (ota_format(head, sizeof(head),
		       "# The board, written by ota-image (docs/ota-image.md, target uboot): U-Boot's\n"
		       "# device %s; partition 1 FAT (this script, the env files), 2 and 3 the\n"
		       "# groups' system slots with the kernel in /boot.\n"
		       "setenv ota_env_dev %.*s\n"
		       "setenv ota_env_part %s:1\n"
		       "%s%s%s",
		       dev, (int)iface, dev, dev + iface + 1, cmdline, boot_a, boot_b) < 0)
		return ota_error_set(err, -E2BIG, "boot.cmd: too long");
	_cleanup_free_ char *text = NULL;
	if (asprintf(&text, "%s%s", head, flow) < 0)
		return ota_error_set(err, -ENOMEM, "out of memory");
	return ota_write_file_atomic(path, text, strlen(text), 0644, err);
}

static int uboot_make_boot(struct ota_image_ctx *c, bool for_disk, struct ota_image_part *parts, size_t *n,
			   struct ota_error *err)
{
	*n = 0;
	if (!for_disk)
		return 0;
	char cmd[PATH_MAX], scr[PATH_MAX], env[PATH_MAX], env_bak[PATH_MAX];
	struct ota_image_part *boot = &parts[0];
	*boot = (struct ota_image_part){ .name = "boot", .size = c->desc->esp_size, .bootable = true };
	if (ota_format(cmd, sizeof(cmd), "%s/boot.cmd", c->work) < 0 ||
	    ota_format(scr, sizeof(scr), "%s/boot.scr", c->work) < 0 ||
	    ota_format(boot->image, sizeof(boot->image), "%s/boot.img", c->work) < 0)
		return ota_error_set(err, -ENAMETOOLONG, "%s: path too long", c->work);
	ota_image_progress(c, "making the boot partition (boot.scr for U-Boot's %s)", device_of(c->desc));
	int r = write_boot_cmd(c, cmd, err);
	if (r < 0)
		return r;
	const char *arch = c->desc->arch == OTA_IMAGE_ARCH_ARM64 ? "arm64" : "x86";
	const char *mkimage[] = { "mkimage", "-A", arch, "-O", "linux", "-T", "script", "-C", "none", "-n", "otaroot",
				  "-d", cmd, scr, NULL };
	const char *files[] = { scr, env, env_bak, NULL };
	if ((r = ota_image_run(c, mkimage, err)) < 0 ||
	    (r = ota_image_work_file(c, ENV_FILE, INITIAL_ENV, env, sizeof(env), err)) < 0 ||
	    (r = ota_image_work_file(c, ENV_FILE ".bak", INITIAL_ENV, env_bak, sizeof(env_bak), err)) < 0 ||
	    (r = ota_image_mkfat(c, boot->image, boot->size, "OTA-BOOT", "boot-volume-id", false, err)) < 0 ||
	    (r = ota_image_fat_copy(c, boot->image, files, "::/", err)) < 0) {
		ota_error_prefix(err, "making the boot partition (%llu MiB; [image] esp-size): ",
				 (unsigned long long)(c->desc->esp_size >> 20));
		return r;
	}
	*n = 1;
	return 0;
}

const struct ota_image_target_ops ota_image_target_uboot = {
	.name = "uboot",
	.check_root = uboot_check_root,
	.system_conf = uboot_system_conf,
	.layout_conf = uboot_layout_conf,
	.make_boot = uboot_make_boot,
};

/* SPDX-License-Identifier: Apache-2.0 */
/* The efi target: GPT, an ESP with GRUB EFI (grub-mkimage) and the grub boot
 * flow's files, the kernel and initramfs in each system slot's /boot. */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "bootflow/bootflow.h"
#include "image/image-private.h"

static void efi_system_conf(const struct ota_image_desc *d, FILE *f)
{
	fprintf(f,
		"# GRUB EFI (docs/boot-flows.md): the boot state is on the ESP.\n"
		"[bootflow]\n"
		"type = grub\n"
		"device = PARTLABEL=esp\n"
		"tries = %u\n"
		"\n",
		d->tries);
	ota_image_gpt_slots_conf(f);
}

static void efi_layout_conf(const struct ota_image_desc *d, uint64_t slot_size, FILE *f)
{
	fprintf(f,
		"# /etc/ota/layout.conf (docs/provisioning.md), written by ota-image: the\n"
		"# image ships esp and system-a; the first boot appends system-b and data.\n"
		"[table]\n"
		"type = gpt\n"
		"\n"
		"[partition esp]\n"
		"size = %lluM\n"
		"type = esp\n"
		"filesystem = vfat\n"
		"\n",
		(unsigned long long)(d->esp_size >> 20));
	ota_image_gpt_slots_layout(d, slot_size, f);
}

/* GRUB's double-quoted string: \ " $ escaped. */
static int grub_quote(const char *s, char *buf, size_t size)
{
	size_t n = 0;
	for (; *s; s++) {
		if (n + 3 > size)
			return -ENAMETOOLONG;
		if (strchr("\\\"$", *s))
			buf[n++] = '\\';
		buf[n++] = *s;
	}
	buf[n] = '\0';
	return 0;
}

static int write_board_cfg(const struct ota_image_ctx *c, const char *path, struct ota_error *err)
{
	char cmdline[2048], text[4096];
	const struct ota_image_desc *d = c->desc;
	if (grub_quote(d->kernel_cmdline ? d->kernel_cmdline : "", cmdline, sizeof(cmdline)) < 0)
		return ota_error_set(err, -E2BIG, "%s: [image] kernel-cmdline is too long", d->source);
	/* Partition 1 the ESP, 2 system-a, 3 system-b (layout.conf's order). */
	if (ota_format(text, sizeof(text),
		       "# The machine, for the grub boot flow (docs/boot-flows.md); written by ota-image.\n"
		       "%s"
		       "set ota_group_a=a\n"
		       "set ota_group_b=b\n"
		       "set ota_part_a=2\n"
		       "set ota_part_b=3\n"
		       "set ota_root_a=PARTLABEL=system-a\n"
		       "set ota_root_b=PARTLABEL=system-b\n"
		       "set ota_cmdline=\"%s\"\n",
		       d->grub_serial ? "serial --unit=0 --speed=115200\n"
					"terminal_input serial console\n"
					"terminal_output serial console\n"
				      : "",
		       cmdline) < 0)
		return ota_error_set(err, -E2BIG, "board.cfg: too long");
	return ota_write_file_atomic(path, text, strlen(text), 0644, err);
}

static int make_esp(struct ota_image_ctx *c, const char *out, struct ota_error *err)
{
	bool arm64 = c->desc->arch == OTA_IMAGE_ARCH_ARM64;
	const char *format = arm64 ? "arm64-efi" : "x86_64-efi", *efi = arm64 ? "BOOTAA64.EFI" : "BOOTX64.EFI";
	char modules[PATH_MAX], dir[PATH_MAX], grub[PATH_MAX], board[PATH_MAX], state[PATH_MAX];
	char grub_cfg[PATH_MAX], flow_cfg[PATH_MAX], env[3][PATH_MAX], moddep[PATH_MAX];
	const char *data = ota_image_data_dir(c);
	if (ota_format(modules, sizeof(modules), "%s",
		       c->opts->grub_modules ? c->opts->grub_modules : arm64 ? "/usr/lib/grub/arm64-efi"
									     : "/usr/lib/grub/x86_64-efi") < 0 ||
	    ota_format(moddep, sizeof(moddep), "%s/moddep.lst", modules) < 0 ||
	    ota_format(dir, sizeof(dir), "%s/esp", c->work) < 0 ||
	    ota_format(grub, sizeof(grub), "%s/%s", dir, efi) < 0 ||
	    ota_format(board, sizeof(board), "%s/board.cfg", dir) < 0 ||
	    ota_format(state, sizeof(state), "%s/state", dir) < 0 ||
	    ota_format(grub_cfg, sizeof(grub_cfg), "%s/grub/grub.cfg", data) < 0 ||
	    ota_format(flow_cfg, sizeof(flow_cfg), "%s/grub/flow.cfg", data) < 0 ||
	    ota_format(env[0], sizeof(env[0]), "%s/env1", state) < 0 ||
	    ota_format(env[1], sizeof(env[1]), "%s/env2", state) < 0 ||
	    ota_format(env[2], sizeof(env[2]), "%s/tries", state) < 0)
		return ota_error_set(err, -ENAMETOOLONG, "%s: path too long", c->work);
	if (access(moddep, R_OK) < 0)
		return ota_error_set(err, -ENOENT, "no GRUB %s modules in %s (%s)", format, modules,
				     arm64 ? "Debian's grub-efi-arm64-bin, unpacked: --grub-modules DIR"
					   : "install the Debian package grub-efi-amd64-bin");
	if (access(grub_cfg, R_OK) < 0 || access(flow_cfg, R_OK) < 0)
		return ota_error_set(err, -ENOENT, "the grub boot flow's grub.cfg and flow.cfg are not in %s/grub "
				     "(--data-dir)", data);
	ota_image_progress(c, "making the ESP (GRUB %s)", format);
	int r = ota_mkdir_p(dir, 0755);
	if (r < 0)
		return ota_error_errno(err, r, "creating %s", dir);
	/* Only what grub.cfg and flow.cfg use: no module is loaded from the ESP. */
	const char *mkimage[] = { "grub-mkimage", "-O", format, "-d", modules, "-o", grub, "-p", "/otaroot",
				  "part_gpt", "part_msdos", "fat", "ext2", "normal", "linux", "echo", "test",
				  "loadenv", "regexp", "configfile", "serial", "terminal", "sleep", "reboot", "halt",
				  "gzio", "efi_gop", NULL };
	static const char *const groups[2] = OTA_IMAGE_GROUPS;
	if ((r = ota_image_run(c, mkimage, err)) < 0 || (r = write_board_cfg(c, board, err)) < 0 ||
	    (r = ota_bootflow_grub_write_initial(state, groups, groups[0], err)) < 0)
		return r;
	const char *mmd[] = { "mmd", "-i", out, "::/EFI", "::/EFI/BOOT", "::/otaroot", NULL };
	char efi_dest[64];
	if (ota_format(efi_dest, sizeof(efi_dest), "::/EFI/BOOT/%s", efi) < 0)
		return -ENAMETOOLONG;
	const char *copy_grub[] = { grub, NULL };
	const char *copy_flow[] = { grub_cfg, flow_cfg, board, env[0], env[1], env[2], NULL };
	if ((r = ota_image_mkfat(c, out, c->desc->esp_size, "OTA-ESP", "esp-volume-id", false, err)) < 0 ||
	    (r = ota_image_run(c, mmd, err)) < 0 || (r = ota_image_fat_copy(c, out, copy_grub, efi_dest, err)) < 0 ||
	    (r = ota_image_fat_copy(c, out, copy_flow, "::/otaroot/", err)) < 0)
		ota_error_prefix(err, "making the ESP (%" PRIu64 " MiB; [image] esp-size): ", c->desc->esp_size >> 20);
	return r;
}

static int efi_make_boot(struct ota_image_ctx *c, bool for_disk, struct ota_image_part *parts, size_t *n,
			 struct ota_error *err)
{
	*n = 0;
	if (!for_disk)
		return 0;
	parts[0] = (struct ota_image_part){ .name = "esp", .size = c->desc->esp_size };
	if (ota_format(parts[0].image, sizeof(parts[0].image), "%s/esp.img", c->work) < 0)
		return ota_error_set(err, -ENAMETOOLONG, "%s: path too long", c->work);
	int r = make_esp(c, parts[0].image, err);
	if (r >= 0)
		*n = 1;
	return r;
}

const struct ota_image_target_ops ota_image_target_efi = {
	.name = "efi",
	.check_root = ota_image_check_kernel,
	.system_conf = efi_system_conf,
	.layout_conf = efi_layout_conf,
	.make_boot = efi_make_boot,
};

/* SPDX-License-Identifier: Apache-2.0 */
/* The system slot's file system (mke2fs -d or mkfs.erofs) and the ESP
 * (grub-mkimage, mkfs.fat, mtools), each an image file made without loop
 * devices or mounts. */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "bootflow/bootflow.h"
#include "image/image-private.h"

#ifndef OTA_IMAGE_DATA_DIR
#define OTA_IMAGE_DATA_DIR "/usr/share/otaroot"
#endif

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

int ota_image_make_esp(struct ota_image_ctx *c, const char *out, struct ota_error *err)
{
	bool arm64 = c->desc->arch == OTA_IMAGE_ARCH_ARM64;
	const char *format = arm64 ? "arm64-efi" : "x86_64-efi", *efi = arm64 ? "BOOTAA64.EFI" : "BOOTX64.EFI";
	char modules[PATH_MAX], dir[PATH_MAX], grub[PATH_MAX], board[PATH_MAX], state[PATH_MAX];
	char grub_cfg[PATH_MAX], flow_cfg[PATH_MAX], env[3][PATH_MAX], kib[32], volid[16], uuid[37], moddep[PATH_MAX];
	const char *data = c->opts->data_dir ? c->opts->data_dir : OTA_IMAGE_DATA_DIR;
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
	    ota_format(env[2], sizeof(env[2]), "%s/tries", state) < 0 ||
	    ota_format(kib, sizeof(kib), "%" PRIu64, c->desc->esp_size >> 10) < 0)
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
	ota_image_uuid(c->desc->compatible, "esp-volume-id", uuid);
	memcpy(volid, uuid, 8);
	volid[8] = '\0';
	const char *mkfs[] = { "mkfs.fat", "--invariant", "-i", volid, "-C", "-n", "OTA-ESP", out, kib, NULL };
	const char *mmd[] = { "mmd", "-i", out, "::/EFI", "::/EFI/BOOT", "::/otaroot", NULL };
	char efi_dest[64];
	if (ota_format(efi_dest, sizeof(efi_dest), "::/EFI/BOOT/%s", efi) < 0)
		return -ENAMETOOLONG;
	const char *copy_grub[] = { "mcopy", "-i", out, grub, efi_dest, NULL };
	const char *copy_flow[] = { "mcopy", "-i", out, grub_cfg, flow_cfg, board, env[0], env[1], env[2],
				    "::/otaroot/", NULL };
	if ((r = ota_image_run(c, mkfs, err)) < 0 || (r = ota_image_run(c, mmd, err)) < 0 ||
	    (r = ota_image_run(c, copy_grub, err)) < 0 || (r = ota_image_run(c, copy_flow, err)) < 0)
		ota_error_prefix(err, "making the ESP (%" PRIu64 " MiB; [image] esp-size): ", c->desc->esp_size >> 20);
	return r;
}

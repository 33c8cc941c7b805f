/* SPDX-License-Identifier: Apache-2.0 */
/* The uboot boot flow: the A/B state as U-Boot environment variables,
 * counted down by bootflow/uboot/boot.cmd. docs/boot-flows.md has the state
 * diagram; in short:
 *
 *   ota_default  group booted when no trial runs (required)
 *   ota_trial    group on trial, unset: none
 *   ota_tries    tries left for the trial, lowercase hexadecimal without 0x
 *                or leading zeros, 0..64: the boot script counts it down by
 *                table look-up (U-Boot builds without setexpr exist)
 *   ota_seq      file mode only: which of the two files is newer, a counter
 *                modulo 3 (0, 1, 2); a file is newer iff its ota_seq is the
 *                other's + 1 (mod 3)
 *
 * The booted group is ota.group= on the kernel command line, which the boot
 * script appends (with ota.slot= and, on a trial, ota.trial=1 for ota-init):
 * the env says what should boot, the cmdline what did.
 *
 * Storage (env-mode):
 * - native: U-Boot's own env (CONFIG_ENV_IS_IN_MMC etc.), one or two copies
 *   of env-size bytes at env-offset (and env-redundant-offset) of a device or
 *   file. Every change is one write of the non-current copy (flag + 1). On
 *   an MTD character device (/dev/mtdN: NOR flash, CONFIG_ENV_IS_IN_FLASH)
 *   the copy's erase blocks are erased before the write (mtd_write_copy).
 * - file: two `env export -t` text files on the boot FAT partition, `env`
 *   and `env-redundant` (default <env>.bak); the boot script imports both
 *   and takes the newer by ota_seq. Every change replaces the older file.
 *   With `device`, the partition is mounted privately (vfat) for each
 *   operation and the two paths are inside it.
 *
 * Every operation reads the whole env, changes it in memory and commits it
 * with one write: all other variables are preserved byte for byte. */
#include <errno.h>
#include <fcntl.h>
#include <linux/reboot.h>
#include <mtd/mtd-user.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

#include "bootflow/bootflow-private.h"
#include "bootflow/uboot-env.h"

#define FILE_ENV_MAX (64u * 1024)  /* a text env file of ours is ~100 bytes */
#define CMDLINE_MAX 4096u
#define SEQ_MOD 3u                 /* file mode: ota_seq counts 0, 1, 2, 0, ... */
#define BOOT_MOUNT_TEMPLATE "/run/ota/uboot-boot.XXXXXX"

struct uboot {
	bool file_mode;
	bool redundant;       /* native: two copies */
	char *device;         /* file: the FAT partition holding path[], or NULL */
	char *path[2];        /* file with device: paths inside that partition */
	uint64_t offset[2];
	size_t size;          /* native: CONFIG_ENV_SIZE */
	char *proc;
	ota_bootflow_reboot_fn reboot_fn;
};

/* One read of the env: the variables and which copy they came from. */
struct loaded {
	struct ota_uenv env;
	int current;          /* 0 or 1 */
	uint8_t flag;         /* native, redundant: the current copy's flag */
	uint32_t seq;         /* file: the current file's ota_seq */
	bool valid[2];
};

static void uboot_free(void *data)
{
	struct uboot *u = data;
	if (!u)
		return;
	free(u->path[0]);
	free(u->path[1]);
	free(u->device);
	free(u->proc);
	free(u);
}

/* ---- native: one or two copies on a device or file -------------------------- */

/* Reads copy i: 1 if all size bytes were there, 0 if the device or file is
 * shorter (that copy is treated as invalid, like a bad CRC). */
static int read_copy(const struct uboot *u, int i, uint8_t *buf, struct ota_error *err)
{
	_cleanup_close_ int fd = open(u->path[i], O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return ota_error_errno(err, -errno, "open '%s'", u->path[i]);
	ssize_t n = ota_pread_full(fd, buf, u->size, u->offset[i]);
	if (n < 0)
		return ota_error_errno(err, (int)n, "read '%s' at offset %llu", u->path[i],
				       (unsigned long long)u->offset[i]);
	return (size_t)n == u->size;
}

static int native_load(const struct uboot *u, struct loaded *ret, struct ota_error *err)
{
	_cleanup_free_ uint8_t *buf = malloc(2 * u->size);
	if (!buf)
		return ota_error_set(err, -ENOMEM, "out of memory");
	uint8_t flag[2] = { 0, 0 };
	bool ok[2] = { false, false };
	for (int i = 0; i < (u->redundant ? 2 : 1); i++) {
		int r = read_copy(u, i, buf + i * u->size, err);
		if (r < 0)
			return r;
		ok[i] = r == 1 && ota_uenv_image_check(buf + i * u->size, u->size, u->redundant, &flag[i]) == 0;
	}
	int pick = ota_uenv_pick(ok[0], flag[0], ok[1], flag[1]);
	if (pick < 0)
		return ota_error_set(err, -EBADMSG,
				     "no valid environment: CRC mismatch in '%s' at %llu%s%s (env-offset and env-size "
				     "must match U-Boot's CONFIG_ENV_OFFSET and CONFIG_ENV_SIZE)",
				     u->path[0], (unsigned long long)u->offset[0], u->redundant ? " and in " : "",
				     u->redundant ? u->path[1] : "");
	struct loaded l = { .current = pick, .valid = { ok[0], ok[1] } };
	int r = ota_uenv_image_decode(buf + pick * u->size, u->size, u->redundant, &l.env, &l.flag, err);
	if (r < 0) {
		ota_error_prefix(err, "'%s' at %llu: ", u->path[pick], (unsigned long long)u->offset[pick]);
		return r;
	}
	*ret = l;
	return 0;
}

static int write_all(int fd, const uint8_t *buf, size_t size, uint64_t offset, const char *path,
		     struct ota_error *err)
{
	int r = ota_pwrite_all(fd, buf, size, offset);
	if (r < 0)
		return ota_error_errno(err, r, "write '%s' at offset %llu (%zu bytes)", path,
				       (unsigned long long)offset, size);
	return 0;
}

/* All of size bytes at offset: a shorter device is an error here. */
static int read_all(int fd, uint8_t *buf, size_t size, uint64_t offset, const char *path, struct ota_error *err)
{
	ssize_t n = ota_pread_full(fd, buf, size, offset);
	if (n >= 0 && (size_t)n != size)
		n = -EIO;
	if (n < 0)
		return ota_error_errno(err, (int)n, "read '%s' at offset %llu (%zu bytes)", path,
				       (unsigned long long)offset, size);
	return 0;
}

/* fd is an MTD character device (the kernel's /dev/mtdN): NOR or NAND
 * flash, where a write can only clear bits and an erase block must be
 * erased first. Sets *info. */
static bool is_mtd(int fd, struct mtd_info_user *info)
{
	struct stat st;
	return fstat(fd, &st) == 0 && S_ISCHR(st.st_mode) && ioctl(fd, MEMGETINFO, info) == 0;
}

/* Writes img (one env copy) at offset of an MTD character device: the erase
 * blocks the copy covers are read, the copy patched in, erased (MEMERASE),
 * written and read back. U-Boot's saveenv for CONFIG_ENV_IS_IN_FLASH does
 * the same (it keeps the rest of the sector too).
 * Power-fail property: none beyond U-Boot's own: between the erase and the
 * end of the write the copy has no valid CRC, so a cut there leaves U-Boot
 * with its built-in default env (and, if the copy shares its erase blocks
 * with other data, that data is lost too: keep the env in blocks of its
 * own, as U-Boot's CONFIG_ENV_SECT_SIZE does). Only a redundant env makes a
 * change atomic, and on NOR flash U-Boot marks redundant copies with its
 * active/obsolete flags, which we do not write (refused in native_store). */
static int mtd_write_copy(int fd, const struct mtd_info_user *info, const uint8_t *img, size_t size,
			  uint64_t offset, const char *path, struct ota_error *err)
{
	if (info->type == MTD_ABSENT || !(info->flags & MTD_WRITEABLE) || info->erasesize == 0)
		return ota_error_set(err, -EROFS, "'%s' is a flash device that cannot be written", path);
	if (info->type != MTD_NORFLASH)
		return ota_error_set(err, -EOPNOTSUPP,
				     "'%s' is not NOR flash (MTD type %u): an env on NAND needs bad-block handling "
				     "(U-Boot's CONFIG_ENV_IS_IN_NAND), which ota-update does not do",
				     path, (unsigned)info->type);
	uint64_t start = offset - offset % info->erasesize;
	uint64_t end = offset + size;
	if (end % info->erasesize)
		end += info->erasesize - end % info->erasesize;
	/* info->size is 32-bit: past this check start and len fit erase_info_user. */
	if (end > info->size)
		return ota_error_set(err, -ERANGE, "env at %llu (%zu bytes) is beyond the end of '%s' (%u bytes)",
				     (unsigned long long)offset, size, path, (unsigned)info->size);
	size_t len = (size_t)(end - start);
	_cleanup_free_ uint8_t *blocks = malloc(len);
	_cleanup_free_ uint8_t *back = malloc(len);
	if (!blocks || !back)
		return ota_error_set(err, -ENOMEM, "out of memory");
	int r = read_all(fd, blocks, len, start, path, err);
	if (r < 0)
		return r;
	memcpy(blocks + (offset - start), img, size);
	struct erase_info_user erase = { .start = (uint32_t)start, .length = (uint32_t)len };
	if (ioctl(fd, MEMERASE, &erase) < 0)
		return ota_error_errno(err, -errno, "erase '%s' at %llu (%zu bytes)", path,
				       (unsigned long long)start, len);
	r = write_all(fd, blocks, len, start, path, err);
	if (r < 0)
		return r;
	r = read_all(fd, back, len, start, path, err);
	if (r < 0)
		return r;
	if (memcmp(blocks, back, len) != 0)
		return ota_error_set(err, -EIO, "'%s' at %llu: the flash does not read back what was written",
				     path, (unsigned long long)start);
	return 0;
}

/* Power-fail property: with two copies we overwrite only the one U-Boot is
 * not using, and its new flag (current + 1) makes it win only once its CRC
 * is complete: a cut mid-write leaves a copy with a bad CRC, and both U-Boot
 * and we keep reading the old, intact one. With a single copy there is no
 * such guarantee: a cut mid-write leaves a bad CRC and U-Boot falls back to
 * its built-in default env (documented; use a redundant env). */
static int native_store(const struct uboot *u, const struct loaded *l, const struct ota_uenv *env,
			struct ota_error *err)
{
	int target = u->redundant ? 1 - l->current : 0;
	_cleanup_free_ uint8_t *img = malloc(u->size);
	if (!img)
		return ota_error_set(err, -ENOMEM, "out of memory");
	int r = ota_uenv_image_encode(env, u->redundant, (uint8_t)(l->flag + 1), img, u->size, err);
	if (r < 0)
		return r;
	_cleanup_close_ int fd = open(u->path[target], O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return ota_error_errno(err, -errno, "open '%s' for writing", u->path[target]);
	struct mtd_info_user info;
	bool mtd = is_mtd(fd, &info);
	if (mtd) {
		if (u->redundant)
			return ota_error_set(err, -EOPNOTSUPP,
					     "'%s' is flash (MTD): U-Boot's redundant env on flash uses active/obsolete "
					     "flags, which ota-update does not write; use a single copy",
					     u->path[target]);
		r = mtd_write_copy(fd, &info, img, u->size, u->offset[target], u->path[target], err);
	} else {
		r = write_all(fd, img, u->size, u->offset[target], u->path[target], err);
	}
	if (r < 0)
		return r;
	/* mtdchar has no fsync (EINVAL) and needs none: it has no cache, its
	 * write returns once the flash is programmed, and we read it back. */
	if (!mtd && fsync(fd) < 0)
		return ota_error_errno(err, -errno, "fsync '%s'", u->path[target]);
	if (close(TAKE_FD(fd)) < 0)
		return ota_error_errno(err, -errno, "close '%s'", u->path[target]);
	return 0;
}

/* ---- file: two text files, the newer by ota_seq ------------------------------ */

/* A number as the boot script compares it, as a string: lowercase hex, no
 * 0x, no leading zeros ("%x"). Anything else (0x3, 03, A) is not a number
 * for the script, so it is none for us either. */
static int parse_hex_u32(const char *s, uint32_t *ret)
{
	uint64_t n = 0;
	if (!*s || strlen(s) > 8 || (s[0] == '0' && s[1]))
		return -EINVAL;
	for (; *s; s++) {
		int d = (*s >= '0' && *s <= '9') ? *s - '0' : (*s >= 'a' && *s <= 'f') ? *s - 'a' + 10 : -1;
		if (d < 0)
			return -EINVAL;
		n = n * 16 + (uint64_t)d;
	}
	*ret = (uint32_t)n;
	return 0;
}

/* One file: 1 and the env if it exists, parses, has ota_seq (0, 1 or 2)
 * and ota_default, and its ota_valid, where it has one, equals ota_seq; 0
 * if not (missing or torn: the other file decides); <0 on I/O errors.
 * *marked says whether it has an ota_valid (see file_load). */
static int file_load_one(const char *path, struct ota_uenv *ret, uint32_t *ret_seq, bool *marked,
			 struct ota_error *err)
{
	_cleanup_free_ char *text = NULL;
	size_t size;
	struct ota_error ignored = { 0 };
	int r = ota_read_file(path, FILE_ENV_MAX, &text, &size, err);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return r;
	struct ota_uenv env = { 0 };
	if (ota_uenv_parse_data(text, size, '\n', &env, &ignored) < 0)
		return 0;
	/* Usable as the boot script judges it: ota_seq and ota_default set,
	 * and ota_valid, if there, the same as ota_seq. */
	const char *seq = ota_uenv_get(&env, "ota_seq"), *def = ota_uenv_get(&env, "ota_default");
	const char *valid = ota_uenv_get(&env, "ota_valid");
	*marked = valid != NULL;
	if (!seq || parse_hex_u32(seq, ret_seq) < 0 || *ret_seq >= SEQ_MOD || !def || !def[0] ||
	    (valid && strcmp(valid, seq) != 0)) {
		ota_uenv_done(&env);
		return 0;
	}
	*ret = env;
	return 1;
}

/* The boot script's rule, in C: a file is newer iff its ota_seq is the
 * other's plus one (mod 3); otherwise (equal) the first file. Writers always
 * write current + 1 (mod 3) into the other file, so after every complete
 * write the file written is the newer one; with three values "the other
 * + 1" and "the other - 1" are distinct, so the order is never ambiguous. */
static int file_load(char *const path[2], struct loaded *ret, struct ota_error *err)
{
	struct ota_uenv env[2] = { { 0 }, { 0 } };
	uint32_t seq[2] = { 0, 0 };
	bool marked[2] = { false, false };
	int ok[2];
	for (int i = 0; i < 2; i++) {
		ok[i] = file_load_one(path[i], &env[i], &seq[i], &marked[i], err);
		if (ok[i] < 0) {
			ota_uenv_done(&env[0]);
			return ok[i];
		}
	}
	/* U-Boot's fatwrite writes the data before the file's size: a cut can
	 * leave new data cut to the old size, which parses but has lost its
	 * last line, ota_valid. Beside a file that has one, a file without it
	 * is such a file (without either: both from an older ota-update). */
	for (int i = 0; i < 2; i++)
		if (ok[i] && !marked[i] && marked[1 - i]) {
			ota_uenv_done(&env[i]);
			ok[i] = 0;
		}
	if (!ok[0] && !ok[1])
		return ota_error_set(err, -EBADMSG,
				     "no valid environment file: neither '%s' nor '%s' exists with ota_seq and ota_default",
				     path[0], path[1]);
	int pick = !ok[0] ? 1 : !ok[1] ? 0 : (seq[1] == (seq[0] + 1u) % SEQ_MOD) ? 1 : 0;
	ota_uenv_done(&env[1 - pick]);
	*ret = (struct loaded){ .env = env[pick], .current = pick, .seq = seq[pick], .valid = { ok[0], ok[1] } };
	return 0;
}

static int cmp_var(const void *a, const void *b)
{
	return strcmp(((const struct ota_uenv_var *)a)->name, ((const struct ota_uenv_var *)b)->name);
}

/* Power-fail property: only the older file is replaced, by write-new, fsync,
 * rename, fsync-dir. On FAT a cut during the rename may lose that name or
 * leave the .tmp beside it, but the newer file is never touched, so the
 * previous state survives in it. Lines are sorted by name like U-Boot's
 * `env export`, so ota_valid (= ota_seq) is the last of ours: a file that a
 * torn FAT write of U-Boot's cut short (fatwrite writes the data, then the
 * size) has lost it and is not used (file_load); the other file decides. */
static int file_store(char *const path[2], const struct loaded *l, struct ota_uenv *env, struct ota_error *err)
{
	int target = 1 - l->current;
	char seq[16];
	if (ota_format(seq, sizeof(seq), "%x", (l->seq + 1u) % SEQ_MOD) < 0 || ota_uenv_set(env, "ota_seq", seq) < 0 ||
	    ota_uenv_set(env, "ota_valid", seq) < 0)
		return ota_error_set(err, -ENOMEM, "out of memory");
	qsort(env->vars, env->n, sizeof(env->vars[0]), cmp_var);
	_cleanup_free_ char *text = NULL;
	size_t size;
	int r = ota_uenv_format_text(env, &text, &size, err);
	if (r < 0)
		return r;
	return ota_write_file_atomic(path[target], text, size, 0644, err);
}

/* ---- the state ------------------------------------------------------------------ */

/* Where the env is for one operation: file mode with a device mounts it
 * and points path[] into the mount; otherwise path[] are the configured
 * paths. */
struct where {
	char mnt[sizeof(BOOT_MOUNT_TEMPLATE)];
	char buf[2][4096];
	char *path[2];
};

static int where_open(const struct uboot *u, struct where *w, struct ota_error *err)
{
	memset(w, 0, sizeof(*w));
	w->path[0] = u->path[0];
	w->path[1] = u->path[1];
	if (!u->file_mode || !u->device)
		return 0;
	strcpy(w->mnt, BOOT_MOUNT_TEMPLATE);
	int r = ota_bootflow_mount_vfat(u->device, w->mnt, "boot partition", err);
	if (r < 0)
		return r;
	for (int i = 0; i < 2; i++) {
		if (ota_format(w->buf[i], sizeof(w->buf[i]), "%s%s", w->mnt, u->path[i]) < 0)
			return ota_error_set(err, -ENAMETOOLONG, "env '%s': path too long", u->path[i]);
		w->path[i] = w->buf[i];
	}
	return 0;
}

static void where_close(struct where *w)
{
	ota_bootflow_umount(w->mnt);
}

static int load(const struct uboot *u, const struct where *w, struct loaded *ret, struct ota_error *err)
{
	return u->file_mode ? file_load(w->path, ret, err) : native_load(u, ret, err);
}

static int store(const struct uboot *u, const struct where *w, struct loaded *l, struct ota_error *err)
{
	return u->file_mode ? file_store(w->path, l, &l->env, err) : native_store(u, l, &l->env, err);
}

/* ota.group=<name> from the kernel command line. */
static int read_booted(const struct uboot *u, char *ret, struct ota_error *err)
{
	char path[4096];
	int r = ota_bootflow_proc_path(u->proc, "cmdline", path, sizeof(path), err);
	if (r < 0)
		return r;
	_cleanup_free_ char *text = NULL;
	r = ota_read_text_file(path, CMDLINE_MAX, &text, err);
	if (r < 0)
		return r;
	char *save = NULL;
	for (char *tok = strtok_r(text, " \t\n", &save); tok; tok = strtok_r(NULL, " \t\n", &save)) {
		if (!ota_startswith(tok, "ota.group="))
			continue;
		if (!ota_bootflow_group_name_valid(tok + 10))
			return ota_error_set(err, -EINVAL, "%s: ota.group: invalid group name '%.64s'", path, tok + 10);
		strcpy(ret, tok + 10);
		return 0;
	}
	return ota_error_set(err, -ENOENT, "%s: no ota.group= (the boot script appends it to bootargs)", path);
}

static int env_state(const struct ota_uenv *env, struct ota_bootflow_state *s, struct ota_error *err)
{
	const char *def = ota_uenv_get(env, "ota_default");
	const char *trial = ota_uenv_get(env, "ota_trial");
	const char *tries = ota_uenv_get(env, "ota_tries");
	if (!def)
		return ota_error_set(err, -ENOENT, "variable ota_default is not set");
	if (!ota_bootflow_group_name_valid(def))
		return ota_error_set(err, -EINVAL, "ota_default: invalid group name '%.64s'", def);
	strcpy(s->default_group, def);
	s->trial[0] = '\0';
	s->tries_left = 0;
	if (!trial || !trial[0])
		return 0;
	if (!ota_bootflow_group_name_valid(trial))
		return ota_error_set(err, -EINVAL, "ota_trial: invalid group name '%.64s'", trial);
	strcpy(s->trial, trial);
	uint32_t n = 0;
	/* A trial without ota_tries has none left: it fails safe. */
	if (tries && (parse_hex_u32(tries, &n) < 0 || n > OTA_BOOTFLOW_MAX_TRIES))
		return ota_error_set(err, -EINVAL,
				     "ota_tries: '%.16s' is not a hex number in 0..%x as the boot script reads it "
				     "(lowercase, no 0x, no leading zeros)",
				     tries, OTA_BOOTFLOW_MAX_TRIES);
	s->tries_left = n;
	return 0;
}

static int uboot_get_state(struct ota_bootflow *bf, struct ota_bootflow_state *ret, struct ota_error *err)
{
	const struct uboot *u = bf->data;
	struct ota_bootflow_state s = { 0 };
	int r = read_booted(u, s.booted, err);
	if (r < 0) {
		ota_error_prefix(err, "boot flow uboot: get-state: ");
		return r;
	}
	struct loaded l;
	struct where w;
	r = where_open(u, &w, err);
	if (r == 0)
		r = load(u, &w, &l, err);
	if (r == 0) {
		r = env_state(&l.env, &s, err);
		if (r < 0)
			ota_error_prefix(err, "%s: ", u->path[0]);
		ota_uenv_done(&l.env);
	}
	where_close(&w);
	if (r < 0) {
		ota_error_prefix(err, "boot flow uboot: get-state: ");
		return r;
	}
	*ret = s;
	return 0;
}

/* Loads, checks the current state, applies set(), stores if it changed. */
static int change(struct ota_bootflow *bf, const char *op, const char *group, unsigned tries,
		  int (*set)(struct ota_uenv *env, const struct ota_bootflow_state *s, const char *group,
			     unsigned tries, struct ota_error *err),
		  struct ota_error *err)
{
	const struct uboot *u = bf->data;
	struct loaded l;
	struct where w;
	int r = where_open(u, &w, err);
	if (r == 0)
		r = load(u, &w, &l, err);
	if (r == 0) {
		struct ota_bootflow_state s = { 0 };
		r = env_state(&l.env, &s, err);
		if (r < 0)
			ota_error_prefix(err, "%s: ", u->path[0]);
		if (r == 0)
			r = set(&l.env, &s, group, tries, err);
		if (r > 0)
			r = store(u, &w, &l, err);
		ota_uenv_done(&l.env);
	}
	where_close(&w);
	if (r < 0)
		ota_error_prefix(err, "boot flow uboot: %s group %s: ", op, group);
	return r < 0 ? r : 0;
}

/* The set_* return 1 when the env must be written, 0 when nothing changes. */
static int set_arm(struct ota_uenv *env, const struct ota_bootflow_state *s, const char *group, unsigned tries,
		   struct ota_error *err)
{
	char n[16];
	(void)s;
	if (ota_format(n, sizeof(n), "%x", tries) < 0 || ota_uenv_set(env, "ota_trial", group) < 0 ||
	    ota_uenv_set(env, "ota_tries", n) < 0)
		return ota_error_set(err, -ENOMEM, "out of memory");
	return 1;
}

static int set_commit(struct ota_uenv *env, const struct ota_bootflow_state *s, const char *group, unsigned tries,
		      struct ota_error *err)
{
	(void)tries;
	if (strcmp(s->default_group, group) == 0 && !s->trial[0] && !ota_uenv_get(env, "ota_tries"))
		return 0;
	if (ota_uenv_set(env, "ota_default", group) < 0 || ota_uenv_set(env, "ota_trial", NULL) < 0 ||
	    ota_uenv_set(env, "ota_tries", NULL) < 0)
		return ota_error_set(err, -ENOMEM, "out of memory");
	return 1;
}

static int set_mark_bad(struct ota_uenv *env, const struct ota_bootflow_state *s, const char *group,
			unsigned tries, struct ota_error *err)
{
	(void)tries;
	if (strcmp(s->trial, group) == 0) {
		if (ota_uenv_set(env, "ota_trial", NULL) < 0 || ota_uenv_set(env, "ota_tries", NULL) < 0)
			return ota_error_set(err, -ENOMEM, "out of memory");
		return 1;
	}
	/* The default boots when everything else fails; it cannot be bad. */
	if (strcmp(s->default_group, group) == 0)
		return ota_error_set(err, -EBUSY, "group %s is the default (ota_default): commit another first", group);
	return 0; /* not armed, not the default: never booted as it is */
}

static int uboot_arm(struct ota_bootflow *bf, const char *group, unsigned tries, struct ota_error *err)
{
	return change(bf, "arm", group, tries, set_arm, err);
}

static int uboot_commit(struct ota_bootflow *bf, const char *group, struct ota_error *err)
{
	return change(bf, "commit", group, 0, set_commit, err);
}

static int uboot_mark_bad(struct ota_bootflow *bf, const char *group, struct ota_error *err)
{
	return change(bf, "mark-bad", group, 0, set_mark_bad, err);
}

static int uboot_reboot(struct ota_bootflow *bf, struct ota_error *err)
{
	const struct uboot *u = bf->data;
	int r = u->reboot_fn(LINUX_REBOOT_CMD_RESTART, NULL);
	if (r < 0)
		return ota_error_errno(err, r, "boot flow uboot: reboot");
	return 0;
}

/* ---- configuration --------------------------------------------------------------- */

static int check_range(const char *path, uint64_t offset, uint64_t size, struct ota_error *err)
{
	/* pread takes an off_t: offset + size must stay below 2^63. */
	if (offset > (uint64_t)INT64_MAX - size)
		return ota_error_set(err, -ERANGE, "env '%s': offset %llu + size %llu overflows", path,
				     (unsigned long long)offset, (unsigned long long)size);
	return 0;
}

static int init_native(struct uboot *u, const struct ota_bootflow_config *c, struct ota_error *err)
{
	if (c->env_size < OTA_UENV_SIZE_MIN || c->env_size > OTA_UENV_SIZE_MAX)
		return ota_error_set(err, -EINVAL, "env-size %llu is not in %u..%u (CONFIG_ENV_SIZE)",
				     (unsigned long long)c->env_size, OTA_UENV_SIZE_MIN, OTA_UENV_SIZE_MAX);
	u->size = (size_t)c->env_size;
	u->redundant = c->env_has_redundant || c->env_redundant;
	u->offset[0] = c->env_offset;
	u->offset[1] = c->env_redundant_offset;
	if (ota_strdup_to(&u->path[0], c->env) < 0 ||
	    ota_strdup_to(&u->path[1], c->env_redundant ? c->env_redundant : c->env) < 0)
		return ota_error_set(err, -ENOMEM, "out of memory");
	if (u->redundant && strcmp(u->path[0], u->path[1]) == 0 &&
	    !(u->offset[1] >= u->offset[0] + u->size || u->offset[0] >= u->offset[1] + u->size))
		return ota_error_set(err, -EINVAL, "env copies at %llu and %llu of '%s' overlap (env-size %zu)",
				     (unsigned long long)u->offset[0], (unsigned long long)u->offset[1], u->path[0],
				     u->size);
	int r = check_range(u->path[0], u->offset[0], u->size, err);
	return r < 0 ? r : check_range(u->path[1], u->offset[1], u->size, err);
}

static int init_file(struct uboot *u, const struct ota_bootflow_config *c, struct ota_error *err)
{
	char bak[4096];
	if (c->env_has_redundant || c->env_offset || c->env_size)
		return ota_error_set(err, -EINVAL, "env-mode file takes no env-offset, env-size or env-redundant-offset");
	if (c->env_redundant && c->env_redundant[0] != '/')
		return ota_error_set(err, -EINVAL, "env-redundant '%s' is not an absolute path", c->env_redundant);
	if (ota_strdup_to(&u->device, c->device) < 0)
		return ota_error_set(err, -ENOMEM, "out of memory");
	if (!c->env_redundant && ota_format(bak, sizeof(bak), "%s.bak", c->env) < 0)
		return ota_error_set(err, -ENAMETOOLONG, "env '%s': path too long", c->env);
	if (ota_strdup_to(&u->path[0], c->env) < 0 ||
	    ota_strdup_to(&u->path[1], c->env_redundant ? c->env_redundant : bak) < 0)
		return ota_error_set(err, -ENOMEM, "out of memory");
	if (strcmp(u->path[0], u->path[1]) == 0)
		return ota_error_set(err, -EINVAL, "env and env-redundant are the same file '%s'", u->path[0]);
	return 0;
}

static int uboot_init(struct ota_bootflow *bf, struct ota_error *err)
{
	const struct ota_bootflow_config *c = bf->cfg;
	if (!c->env || c->env[0] != '/')
		return ota_error_set(err, -EINVAL, "env '%s' is not an absolute path", c->env ? c->env : "");
	struct uboot *u = calloc(1, sizeof(*u));
	if (!u)
		return ota_error_set(err, -ENOMEM, "out of memory");
	bf->data = u;
	bf->free_data = uboot_free;
	u->reboot_fn = c->reboot_fn ? c->reboot_fn : ota_bootflow_sys_reboot;
	if (c->proc && ota_strdup_to(&u->proc, c->proc) < 0)
		return ota_error_set(err, -ENOMEM, "out of memory");
	const char *mode = c->env_mode ? c->env_mode : "native";
	if (strcmp(mode, "native") == 0) {
		if (c->device)
			return ota_error_set(err, -EINVAL, "device is for env-mode file (the FAT partition with the env files)");
		return init_native(u, c, err);
	}
	if (strcmp(mode, "file") == 0) {
		u->file_mode = true;
		return init_file(u, c, err);
	}
	return ota_error_set(err, -EINVAL, "env-mode '%s' is not native or file", mode);
}

const struct ota_bootflow_ops ota_bootflow_uboot_ops = {
	.name = "uboot",
	.init = uboot_init,
	.get_state = uboot_get_state,
	.arm = uboot_arm,
	.commit = uboot_commit,
	.mark_bad = uboot_mark_bad,
	.reboot = uboot_reboot,
};

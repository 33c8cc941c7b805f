/* SPDX-License-Identifier: Apache-2.0 */
/* bootflow: the U-Boot env codec, the uboot backend (native redundant and
 * file mode) on files, and the rpi-tryboot backend against a faked firmware.
 *
 * What is faked, and why: only the firmware. /proc/cmdline and
 * /proc/device-tree/chosen/bootloader/ are files under a temporary `proc`
 * directory (the kernel's view of what the bootloader did), and reboot(2) is
 * replaced by a function that records its arguments (a real one would reset
 * this machine). Env storage, autoboot.txt and the state file are real files
 * written by the real code. Compatibility with U-Boot's own tools is
 * tests/integration/bootflow-uboot.sh. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/reboot.h>
#include <sys/stat.h>

#include "bootflow/bootflow-private.h"
#include "bootflow/uboot-env.h"
#include "test-bootflow.h"
#include "test.h"

#define ENV_SIZE 0x2000u

/* Files of the faked firmware and the real code, in the program's scratch
 * directory. */
static const char *path_in(const char *name)
{
	static char buf[8][PATH_MAX];
	static int i;
	i = (i + 1) % 8;
	(void)snprintf(buf[i], sizeof(buf[i]), "%s/%s", test_tmpdir(), name);
	return buf[i];
}

static void put_file(const char *name, const void *data, size_t size)
{
	const char *p = path_in(name);
	char dir[PATH_MAX];
	(void)snprintf(dir, sizeof(dir), "%s", p);
	*strrchr(dir, '/') = '\0';
	ASSERT_INT_EQ(ota_mkdir_p(dir, 0755), 0);
	FILE *f = fopen(p, "w");
	ASSERT_TRUE(f != NULL);
	ASSERT_INT_EQ(fwrite(data, 1, size, f), size);
	fclose(f);
}

static char *get_file(const char *name)
{
	char *text = NULL;
	size_t size;
	if (ota_read_file(path_in(name), 1 << 20, &text, &size, NULL) < 0)
		return NULL;
	return text;
}

/* ---- codec -------------------------------------------------------------------- */

TEST(crc32_is_zlibs)
{
	ASSERT_INT_EQ(ota_uenv_crc32(0, "123456789", 9), 0xcbf43926u);
	ASSERT_INT_EQ(ota_uenv_crc32(0, "", 0), 0);
}

static void env_of(struct ota_uenv *env, const char *const *kv)
{
	*env = (struct ota_uenv){ 0 };
	for (; kv[0]; kv += 2)
		ASSERT_INT_EQ(ota_uenv_set(env, kv[0], kv[1]), 0);
}

TEST(image_round_trip_keeps_order_and_values)
{
	struct ota_uenv env, back;
	struct ota_error err = { 0 };
	env_of(&env, (const char *const[]){ "zeta", "1", "bootcmd", "run a; run b", "ota_default", "a", "empty", "",
					    NULL });
	static uint8_t img[ENV_SIZE];
	for (int redundant = 0; redundant < 2; redundant++) {
		uint8_t flag = 0;
		ASSERT_INT_EQ(ota_uenv_image_encode(&env, redundant, 7, img, sizeof(img), &err), 0);
		ASSERT_INT_EQ(ota_uenv_image_decode(img, sizeof(img), redundant, &back, &flag, &err), 0);
		ASSERT_INT_EQ(flag, redundant ? 7 : 0);
		ASSERT_INT_EQ(back.n, 4);
		ASSERT_STR_EQ(back.vars[0].name, "zeta");
		ASSERT_STR_EQ(back.vars[1].value, "run a; run b");
		ASSERT_STR_EQ(ota_uenv_get(&back, "empty"), "");
		ASSERT_NULL(ota_uenv_get(&back, "nope"));
		ota_uenv_done(&back);
	}
	/* delete and re-add: the new one goes last */
	ASSERT_INT_EQ(ota_uenv_set(&env, "zeta", NULL), 0);
	ASSERT_INT_EQ(ota_uenv_set(&env, "zeta", "2"), 0);
	ASSERT_STR_EQ(env.vars[3].name, "zeta");
	ASSERT_INT_EQ(ota_uenv_set(&env, "a=b", "x"), -EINVAL);
	ota_uenv_done(&env);
}

TEST(image_crc_mismatch_is_detected)
{
	struct ota_uenv env, back;
	struct ota_error err = { 0 };
	static uint8_t img[ENV_SIZE];
	uint8_t flag;
	env_of(&env, (const char *const[]){ "ota_default", "a", NULL });
	ASSERT_INT_EQ(ota_uenv_image_encode(&env, true, 1, img, sizeof(img), &err), 0);
	img[ENV_SIZE - 1] ^= 1; /* padding is covered too */
	ASSERT_INT_EQ(ota_uenv_image_check(img, sizeof(img), true, &flag), -EBADMSG);
	ASSERT_INT_EQ(ota_uenv_image_decode(img, sizeof(img), true, &back, &flag, &err), -EBADMSG);
	ASSERT_CONTAINS(err.msg, "CRC mismatch");
	img[ENV_SIZE - 1] ^= 1;
	/* The flag byte is outside the CRC: U-Boot rewrites it alone on NOR. */
	img[4] = 9;
	ASSERT_INT_EQ(ota_uenv_image_check(img, sizeof(img), true, &flag), 0);
	ASSERT_INT_EQ(flag, 9);
	ota_uenv_done(&env);
}

TEST(pick_redundant_copy_like_uboot)
{
	ASSERT_INT_EQ(ota_uenv_pick(true, 3, true, 4), 1);
	ASSERT_INT_EQ(ota_uenv_pick(true, 4, true, 3), 0);
	ASSERT_INT_EQ(ota_uenv_pick(true, 4, true, 4), 0);     /* tie: the first */
	ASSERT_INT_EQ(ota_uenv_pick(true, 255, true, 0), 1);   /* wrapped */
	ASSERT_INT_EQ(ota_uenv_pick(true, 0, true, 255), 0);
	ASSERT_INT_EQ(ota_uenv_pick(true, 254, true, 0), 0);   /* only 255->0 wraps */
	ASSERT_INT_EQ(ota_uenv_pick(false, 9, true, 1), 1);
	ASSERT_INT_EQ(ota_uenv_pick(true, 1, false, 9), 0);
	ASSERT_INT_EQ(ota_uenv_pick(false, 1, false, 2), -ENODATA);
}

static int parse(const char *data, size_t size, char sep, struct ota_uenv *env, struct ota_error *err)
{
	return ota_uenv_parse_data(data, size, sep, env, err);
}

TEST(parse_text_and_binary_data)
{
	struct ota_uenv env;
	struct ota_error err = { 0 };
	const char text[] = "ota_default=a\r\n\nota_seq=1f\nota_trial=b\0ignored=1\n";
	ASSERT_INT_EQ(parse(text, sizeof(text) - 1, '\n', &env, &err), 0);
	ASSERT_INT_EQ(env.n, 3);
	ASSERT_STR_EQ(ota_uenv_get(&env, "ota_default"), "a");
	ASSERT_STR_EQ(ota_uenv_get(&env, "ota_trial"), "b");
	ota_uenv_done(&env);
	ASSERT_INT_EQ(parse("a=1\nb=2", 7, '\n', &env, &err), 0); /* no final newline */
	ASSERT_INT_EQ(env.n, 2);
	ota_uenv_done(&env);
	const char bin[] = "a=1\0b=\0\0c=3\0";
	ASSERT_INT_EQ(parse(bin, sizeof(bin) - 1, '\0', &env, &err), 0);
	ASSERT_INT_EQ(env.n, 2);
	ota_uenv_done(&env);
	ASSERT_INT_EQ(parse("a=1\0b=2", 7, '\0', &env, &err), -EBADMSG);
	ASSERT_CONTAINS(err.msg, "entry 1 is not NUL-terminated");
	ASSERT_INT_EQ(parse("a=1\nnoequals\n", 13, '\n', &env, &err), -EBADMSG);
	ASSERT_CONTAINS(err.msg, "entry 1 ('noequals') has no '='");
	ASSERT_INT_EQ(parse("=1\n", 3, '\n', &env, &err), -EBADMSG);
	ASSERT_CONTAINS(err.msg, "empty name");
	ASSERT_INT_EQ(parse("a=1\na=2\n", 8, '\n', &env, &err), -EBADMSG);
	ASSERT_CONTAINS(err.msg, "variable 'a' given twice");
}

TEST(format_refuses_what_does_not_fit)
{
	struct ota_uenv env;
	struct ota_error err = { 0 };
	uint8_t img[32];
	env_of(&env, (const char *const[]){ "long", "0123456789012345678901234567", NULL });
	ASSERT_INT_EQ(ota_uenv_image_encode(&env, false, 0, img, sizeof(img), &err), -ENOSPC);
	ASSERT_INT_EQ(ota_uenv_image_encode(&env, false, 0, img, 8, &err), -EINVAL);
	ota_uenv_done(&env);
	/* exactly full: 27 bytes of data area = "x=<23>\0" + the final NUL */
	env_of(&env, (const char *const[]){ "x", "01234567890123456789012", NULL });
	ASSERT_INT_EQ(ota_uenv_image_encode(&env, true, 0, img, sizeof(img), &err), 0);
	ota_uenv_done(&env);
}

/* ---- uboot backend, native redundant env in a file ------------------------------- */

static const char *CMDLINE_A = "console=ttyS0 root=PARTLABEL=system-a ota.group=a quiet\n";
static const char *CMDLINE_B = "console=ttyS0 ota.group=b\n";

/* Two copies at 0x1000 and 0x4000 of env.img, with the given flags. */
static void make_native(const char *const *kv0, int flag0, const char *const *kv1, int flag1)
{
	static uint8_t file[0x8000];
	struct ota_uenv env;
	memset(file, 0xa5, sizeof(file));
	if (kv0) {
		env_of(&env, kv0);
		ASSERT_INT_EQ(ota_uenv_image_encode(&env, true, (uint8_t)flag0, file + 0x1000, ENV_SIZE, NULL), 0);
		ota_uenv_done(&env);
	}
	if (kv1) {
		env_of(&env, kv1);
		ASSERT_INT_EQ(ota_uenv_image_encode(&env, true, (uint8_t)flag1, file + 0x4000, ENV_SIZE, NULL), 0);
		ota_uenv_done(&env);
	}
	put_file("env.img", file, sizeof(file));
}

/* Decodes copy i of env.img; returns its flag, or -1 if its CRC is bad. */
static int copy_flag(int i, struct ota_uenv *env)
{
	char *data = NULL;
	size_t size;
	uint8_t flag;
	if (ota_read_file(path_in("env.img"), 1 << 20, &data, &size, NULL) < 0)
		return -2;
	int r = ota_uenv_image_decode(data + (i ? 0x4000 : 0x1000), ENV_SIZE, true, env, &flag, NULL);
	free(data);
	return r < 0 ? -1 : flag;
}

static struct ota_bootflow *uboot_native(void)
{
	struct ota_bootflow_config cfg = {
		.type = "uboot", .env = path_in("env.img"), .env_offset = 0x1000, .env_has_redundant = true,
		.env_redundant_offset = 0x4000, .env_size = ENV_SIZE, .proc = path_in("proc"),
	};
	return test_bootflow_new(&cfg);
}

static const char *const BASE[] = { "bootcmd", "run distro_bootcmd", "ota_default", "a", "serial#", "42", NULL };

TEST(uboot_native_arm_writes_the_other_copy_and_keeps_the_rest)
{
	struct ota_error err = { 0 };
	struct ota_bootflow_state s;
	struct ota_uenv env;
	put_file("proc/cmdline", CMDLINE_A, strlen(CMDLINE_A));
	make_native(BASE, 5, BASE, 4);
	struct ota_bootflow *bf = uboot_native();
	ASSERT_TRUE(bf != NULL);
	ASSERT_INT_EQ(ota_bootflow_get_state(bf, &s, &err), 0);
	ASSERT_STR_EQ(s.booted, "a");
	ASSERT_STR_EQ(s.default_group, "a");
	ASSERT_INT_EQ(s.trial_state, OTA_TRIAL_NONE);
	ASSERT_INT_EQ(ota_bootflow_arm(bf, "b", 12, &err), 0);
	/* copy 0 (flag 5) was current: copy 1 now has flag 6 */
	ASSERT_INT_EQ(copy_flag(1, &env), 6);
	ASSERT_STR_EQ(ota_uenv_get(&env, "ota_trial"), "b");
	ASSERT_STR_EQ(ota_uenv_get(&env, "ota_tries"), "c"); /* hex, as setexpr */
	ASSERT_STR_EQ(ota_uenv_get(&env, "serial#"), "42");
	ASSERT_STR_EQ(env.vars[0].name, "bootcmd");
	ota_uenv_done(&env);
	ASSERT_INT_EQ(copy_flag(0, &env), 5); /* untouched */
	ASSERT_NULL(ota_uenv_get(&env, "ota_trial"));
	ota_uenv_done(&env);
	ASSERT_INT_EQ(ota_bootflow_get_state(bf, &s, &err), 0);
	ASSERT_INT_EQ(s.trial_state, OTA_TRIAL_ARMED);
	ASSERT_INT_EQ(s.tries_left, 12);
	/* the trial boots (the script decremented), then commits */
	put_file("proc/cmdline", CMDLINE_B, strlen(CMDLINE_B));
	ASSERT_INT_EQ(ota_bootflow_get_state(bf, &s, &err), 0);
	ASSERT_INT_EQ(s.trial_state, OTA_TRIAL_RUNNING);
	ASSERT_INT_EQ(ota_bootflow_commit(bf, "b", &err), 0);
	ASSERT_INT_EQ(copy_flag(0, &env), 7);
	ASSERT_STR_EQ(ota_uenv_get(&env, "ota_default"), "b");
	ASSERT_NULL(ota_uenv_get(&env, "ota_trial"));
	ASSERT_NULL(ota_uenv_get(&env, "ota_tries"));
	ota_uenv_done(&env);
	ASSERT_INT_EQ(ota_bootflow_get_state(bf, &s, &err), 0);
	ASSERT_INT_EQ(s.trial_state, OTA_TRIAL_NONE);
	ASSERT_STR_EQ(s.default_group, "b");
	/* the default cannot be marked bad */
	ASSERT_INT_EQ(ota_bootflow_mark_bad(bf, "b", &err), -EBUSY);
	ASSERT_CONTAINS(err.msg, "boot flow uboot: mark-bad group b: group b is the default");
	ota_bootflow_free(bf);
}

TEST(uboot_native_flag_wraps_around)
{
	struct ota_error err = { 0 };
	struct ota_bootflow_state s;
	struct ota_uenv env;
	put_file("proc/cmdline", CMDLINE_A, strlen(CMDLINE_A));
	/* copy 0: flag 255 says trial b; copy 1: flag 0, newer, says none */
	make_native((const char *const[]){ "ota_default", "a", "ota_trial", "b", "ota_tries", "3", NULL }, 255, BASE,
		    0);
	struct ota_bootflow *bf = uboot_native();
	ASSERT_INT_EQ(ota_bootflow_get_state(bf, &s, &err), 0);
	ASSERT_INT_EQ(s.trial_state, OTA_TRIAL_NONE);
	ASSERT_INT_EQ(ota_bootflow_arm(bf, "b", 1, &err), 0);
	ASSERT_INT_EQ(copy_flag(0, &env), 1); /* 0 + 1 over the old 255 */
	ASSERT_STR_EQ(ota_uenv_get(&env, "ota_tries"), "1");
	ota_uenv_done(&env);
	ota_bootflow_free(bf);
}

TEST(uboot_native_torn_and_corrupt_copies)
{
	struct ota_error err = { 0 };
	struct ota_bootflow_state s;
	put_file("proc/cmdline", CMDLINE_A, strlen(CMDLINE_A));
	make_native(BASE, 1, BASE, 0);
	struct ota_bootflow *bf = uboot_native();
	ASSERT_INT_EQ(ota_bootflow_arm(bf, "b", 3, &err), 0); /* writes copy 1, flag 2 */
	/* A cut while that copy was written: its tail never arrived. */
	int fd = open(path_in("env.img"), O_WRONLY);
	ASSERT_TRUE(fd >= 0);
	static uint8_t junk[0x800];
	memset(junk, 0xff, sizeof(junk));
	ASSERT_INT_EQ(pwrite(fd, junk, sizeof(junk), 0x4000 + 0x1000), (ssize_t)sizeof(junk));
	ASSERT_INT_EQ(ota_bootflow_get_state(bf, &s, &err), 0);
	ASSERT_INT_EQ(s.trial_state, OTA_TRIAL_NONE); /* the old state, from copy 0 */
	/* The next write goes to the broken copy again, with copy 0's flag + 1. */
	ASSERT_INT_EQ(ota_bootflow_arm(bf, "b", 2, &err), 0);
	ASSERT_INT_EQ(ota_bootflow_get_state(bf, &s, &err), 0);
	ASSERT_INT_EQ(s.trial_state, OTA_TRIAL_ARMED);
	ASSERT_INT_EQ(s.tries_left, 2);
	/* Both corrupt: a clear error, and no write. */
	ASSERT_INT_EQ(pwrite(fd, junk, sizeof(junk), 0x1000 + 0x100), (ssize_t)sizeof(junk));
	ASSERT_INT_EQ(pwrite(fd, junk, sizeof(junk), 0x4000 + 0x100), (ssize_t)sizeof(junk));
	close(fd);
	ASSERT_INT_EQ(ota_bootflow_get_state(bf, &s, &err), -EBADMSG);
	ASSERT_CONTAINS(err.msg, "boot flow uboot: get-state: no valid environment: CRC mismatch in");
	ASSERT_CONTAINS(err.msg, "at 4096 and in");
	ASSERT_INT_EQ(ota_bootflow_commit(bf, "a", &err), -EBADMSG);
	ASSERT_CONTAINS(err.msg, "boot flow uboot: commit group a: no valid environment");
	ota_bootflow_free(bf);
}

TEST(uboot_failed_trial_and_bad_values)
{
	struct ota_error err = { 0 };
	struct ota_bootflow_state s;
	put_file("proc/cmdline", CMDLINE_A, strlen(CMDLINE_A));
	make_native((const char *const[]){ "ota_default", "a", "ota_trial", "b", "ota_tries", "0", NULL }, 1, NULL, 0);
	struct ota_bootflow *bf = uboot_native();
	ASSERT_INT_EQ(ota_bootflow_get_state(bf, &s, &err), 0);
	ASSERT_INT_EQ(s.trial_state, OTA_TRIAL_FAILED);
	ASSERT_INT_EQ(ota_bootflow_mark_bad(bf, "b", &err), 0); /* rollback clears it */
	ASSERT_INT_EQ(ota_bootflow_get_state(bf, &s, &err), 0);
	ASSERT_INT_EQ(s.trial_state, OTA_TRIAL_NONE);
	make_native((const char *const[]){ "ota_default", "a", "ota_trial", "b", "ota_tries", "65", NULL }, 1, NULL, 0);
	ASSERT_INT_EQ(ota_bootflow_get_state(bf, &s, &err), -EINVAL);
	ASSERT_CONTAINS(err.msg, "ota_tries: '65' is not a hex number in 0..64");
	make_native((const char *const[]){ "ota_default", "a;reset", NULL }, 1, NULL, 0);
	ASSERT_INT_EQ(ota_bootflow_get_state(bf, &s, &err), -EINVAL);
	ASSERT_CONTAINS(err.msg, "ota_default: invalid group name 'a;reset'");
	put_file("proc/cmdline", "root=/dev/sda1\n", 15);
	ASSERT_INT_EQ(ota_bootflow_get_state(bf, &s, &err), -ENOENT);
	ASSERT_CONTAINS(err.msg, "no ota.group=");
	ota_bootflow_free(bf);
}

TEST(uboot_config_errors)
{
	struct ota_error err = { 0 };
	struct ota_bootflow *bf = NULL;
	struct ota_bootflow_config cfg = { .type = "uboot", .env = "/dev/mmcblk0", .env_size = 4 };
	ASSERT_INT_EQ(ota_bootflow_new(&cfg, &bf, &err), -EINVAL);
	ASSERT_CONTAINS(err.msg, "boot flow uboot: env-size 4 is not in");
	cfg.env_size = 0x4000;
	cfg.env_has_redundant = true;
	cfg.env_redundant_offset = 0x2000;
	ASSERT_INT_EQ(ota_bootflow_new(&cfg, &bf, &err), -EINVAL);
	ASSERT_CONTAINS(err.msg, "overlap");
	cfg.env_offset = UINT64_MAX - 10;
	cfg.env_redundant_offset = 0;
	ASSERT_INT_EQ(ota_bootflow_new(&cfg, &bf, &err), -ERANGE);
	ASSERT_CONTAINS(err.msg, "overflows");
	cfg = (struct ota_bootflow_config){ .type = "uboot", .env = "relative" };
	ASSERT_INT_EQ(ota_bootflow_new(&cfg, &bf, &err), -EINVAL);
	cfg = (struct ota_bootflow_config){ .type = "uboot", .env = "/boot/ota.env", .env_mode = "fat" };
	ASSERT_INT_EQ(ota_bootflow_new(&cfg, &bf, &err), -EINVAL);
	ASSERT_CONTAINS(err.msg, "env-mode 'fat' is not native or file");
	/* device (a FAT partition to mount) only goes with file mode. */
	cfg = (struct ota_bootflow_config){ .type = "uboot", .env = "/dev/mmcblk0", .env_size = 0x4000,
					    .device = "PARTLABEL=boot" };
	ASSERT_INT_EQ(ota_bootflow_new(&cfg, &bf, &err), -EINVAL);
	ASSERT_CONTAINS(err.msg, "device is for env-mode file");
	cfg = (struct ota_bootflow_config){ .type = "uboot", .env = "/ota.env", .env_mode = "file",
					    .device = "PARTLABEL=boot" };
	ASSERT_INT_EQ(ota_bootflow_new(&cfg, &bf, &err), 0);
	bf = ota_bootflow_free(bf);
}

/* ---- uboot backend, file mode ----------------------------------------------------- */

static struct ota_bootflow *uboot_file(void)
{
	struct ota_bootflow_config cfg = {
		.type = "uboot", .env_mode = "file", .env = path_in("fat/ota.env"), .proc = path_in("proc"),
	};
	return test_bootflow_new(&cfg);
}

TEST(uboot_file_mode_alternates_files_by_seq)
{
	struct ota_error err = { 0 };
	struct ota_bootflow_state s;
	put_file("proc/cmdline", CMDLINE_A, strlen(CMDLINE_A));
	put_file("fat/ota.env", "ota_default=a\nota_seq=2\n", 24);
	(void)unlink(path_in("fat/ota.env.bak"));
	struct ota_bootflow *bf = uboot_file();
	ASSERT_TRUE(bf != NULL);
	ASSERT_INT_EQ(ota_bootflow_arm(bf, "b", 3, &err), 0);
	char *t = get_file("fat/ota.env.bak");
	/* sorted, like env export; 2 + 1 mod 3; ota_valid repeats it, last */
	ASSERT_STR_EQ(t, "ota_default=a\nota_seq=0\nota_trial=b\nota_tries=3\nota_valid=0\n");
	free(t);
	t = get_file("fat/ota.env");
	ASSERT_STR_EQ(t, "ota_default=a\nota_seq=2\n"); /* the newer file is never touched */
	free(t);
	/* U-Boot's trial boot: it writes the older file, seq 1, tries 2 */
	static const char uboot_wrote[] = "ota_default=a\nota_seq=1\nota_trial=b\nota_tries=2\nota_valid=1\n";
	put_file("fat/ota.env", uboot_wrote, sizeof(uboot_wrote)); /* with the NUL env export ends with */
	put_file("proc/cmdline", CMDLINE_B, strlen(CMDLINE_B));
	ASSERT_INT_EQ(ota_bootflow_get_state(bf, &s, &err), 0);
	ASSERT_INT_EQ(s.trial_state, OTA_TRIAL_RUNNING);
	ASSERT_INT_EQ(s.tries_left, 2);
	ASSERT_INT_EQ(ota_bootflow_commit(bf, "b", &err), 0);
	t = get_file("fat/ota.env.bak");
	ASSERT_STR_EQ(t, "ota_default=b\nota_seq=2\nota_valid=2\n");
	free(t);
	/* U-Boot's fatwrite cut short (tests/crash): the new data landed, the
	 * file's size did not, so the older file's length cuts it before its
	 * ota_valid. It parses, with a newer seq and without the trial; beside
	 * a file that has ota_valid it is not used, and the trial goes on. */
	put_file("fat/ota.env.bak", "ota_default=a\nota_seq=2\nota_trial=b\nota_tries=1\nota_valid=2\n", 26);
	ASSERT_INT_EQ(ota_bootflow_get_state(bf, &s, &err), 0);
	ASSERT_STR_EQ(s.default_group, "a");
	ASSERT_INT_EQ(s.trial_state, OTA_TRIAL_RUNNING);
	ASSERT_INT_EQ(s.tries_left, 2);
	/* ... and one whose ota_valid is not its seq (a stale tail) is not used either. */
	put_file("fat/ota.env.bak", "ota_default=b\nota_seq=2\nota_valid=0\n", 36);
	ASSERT_INT_EQ(ota_bootflow_get_state(bf, &s, &err), 0);
	ASSERT_STR_EQ(s.default_group, "a");
	/* A torn write of the newest file (truncated, seq line lost): the other wins. */
	put_file("fat/ota.env.bak", "ota_default=b\n", 14);
	ASSERT_INT_EQ(ota_bootflow_get_state(bf, &s, &err), 0);
	ASSERT_STR_EQ(s.default_group, "a");
	ASSERT_INT_EQ(s.trial_state, OTA_TRIAL_RUNNING);
	/* ... and one that kept ota_seq but lost ota_default, as the script judges. */
	put_file("fat/ota.env.bak", "ota_seq=2\n", 10);
	ASSERT_INT_EQ(ota_bootflow_get_state(bf, &s, &err), 0);
	ASSERT_STR_EQ(s.default_group, "a");
	/* Neither file usable: a clear error. */
	(void)unlink(path_in("fat/ota.env.bak"));
	put_file("fat/ota.env", "garbage\n", 8);
	ASSERT_INT_EQ(ota_bootflow_get_state(bf, &s, &err), -EBADMSG);
	ASSERT_CONTAINS(err.msg, "no valid environment file: neither");
	/* ota_seq counts modulo 3, as the boot script (no setexpr) does: 2 is
	 * older than 0, and a seq outside 0..2 makes the file invalid. */
	put_file("fat/ota.env", "ota_default=a\nota_seq=2\n", 24);
	put_file("fat/ota.env.bak", "ota_default=b\nota_seq=0\n", 24);
	ASSERT_INT_EQ(ota_bootflow_get_state(bf, &s, &err), 0);
	ASSERT_STR_EQ(s.default_group, "b");
	put_file("fat/ota.env", "ota_default=a\nota_seq=0\n", 24);
	put_file("fat/ota.env.bak", "ota_default=b\nota_seq=2\n", 24);
	ASSERT_INT_EQ(ota_bootflow_get_state(bf, &s, &err), 0);
	ASSERT_STR_EQ(s.default_group, "a");
	put_file("fat/ota.env", "ota_default=a\nota_seq=3\n", 24);
	ASSERT_INT_EQ(ota_bootflow_get_state(bf, &s, &err), 0);
	ASSERT_STR_EQ(s.default_group, "b");
	/* ota_tries only as the script compares it: "%x", nothing else. */
	put_file("fat/ota.env", "ota_default=a\nota_seq=0\nota_trial=b\nota_tries=03\n", 48);
	ASSERT_INT_EQ(ota_bootflow_get_state(bf, &s, &err), -EINVAL);
	ASSERT_CONTAINS(err.msg, "ota_tries: '03' is not a hex number");
	ota_bootflow_free(bf);
}

/* ---- rpi-tryboot against a faked firmware -------------------------------------------- */

static unsigned reboot_cmd;
static char reboot_arg[64];
static int reboots;

static int fake_reboot(unsigned cmd, const char *arg)
{
	reboot_cmd = cmd;
	(void)snprintf(reboot_arg, sizeof(reboot_arg), "%s", arg ? arg : "(null)");
	reboots++;
	return 0;
}

/* What the firmware tells the kernel after it booted partition `part`. */
static void firmware_booted(unsigned part, unsigned tryboot)
{
	uint8_t be[4] = { 0, 0, 0, (uint8_t)part };
	put_file("proc/device-tree/chosen/bootloader/partition", be, 4);
	be[3] = (uint8_t)tryboot;
	put_file("proc/device-tree/chosen/bootloader/tryboot", be, 4);
}

static struct ota_bootflow *tryboot(void)
{
	struct ota_bootflow_config cfg = {
		.type = "rpi-tryboot", .autoboot = path_in("boot/autoboot.txt"), .proc = path_in("proc"),
		.reboot_fn = fake_reboot, .partitions = { { "a", 2 }, { "b", 3 } },
	};
	return test_bootflow_new(&cfg);
}

static const char AUTOBOOT_A[] = "[all]\ntryboot_a_b=1\nboot_partition=2\n[tryboot]\nboot_partition=3\n";
static const char AUTOBOOT_B[] = "[all]\ntryboot_a_b=1\nboot_partition=3\n[tryboot]\nboot_partition=2\n";

static enum ota_trial_state trial_state(struct ota_bootflow *bf)
{
	struct ota_bootflow_state s;
	struct ota_error err = { 0 };
	if (ota_bootflow_get_state(bf, &s, &err) < 0) {
		fprintf(stderr, "  %s\n", err.msg);
		return (enum ota_trial_state)-1;
	}
	return s.trial_state;
}

TEST(tryboot_arm_trial_boot_commit)
{
	struct ota_error err = { 0 };
	struct ota_bootflow_state s;
	put_file("boot/autoboot.txt", AUTOBOOT_A, strlen(AUTOBOOT_A));
	(void)unlink(path_in("boot/ota-tryboot.state"));
	firmware_booted(2, 0);
	struct ota_bootflow *bf = tryboot();
	ASSERT_TRUE(bf != NULL);
	ASSERT_INT_EQ(trial_state(bf), OTA_TRIAL_NONE);
	ASSERT_INT_EQ(ota_bootflow_arm(bf, "b", 3, &err), 0);
	ASSERT_INT_EQ(ota_bootflow_get_state(bf, &s, &err), 0);
	ASSERT_INT_EQ(s.trial_state, OTA_TRIAL_ARMED);
	ASSERT_INT_EQ(s.tries_left, 1); /* tryboot is one-shot */
	char *t = get_file("boot/autoboot.txt");
	ASSERT_STR_EQ(t, AUTOBOOT_A); /* arm leaves the default alone */
	free(t);
	reboots = 0;
	ASSERT_INT_EQ(ota_bootflow_reboot(bf, &err), 0);
	ASSERT_INT_EQ(reboots, 1);
	ASSERT_INT_EQ(reboot_cmd, LINUX_REBOOT_CMD_RESTART2);
	ASSERT_STR_EQ(reboot_arg, "0 tryboot");
	t = get_file("boot/ota-tryboot.state");
	ASSERT_STR_EQ(t, "trial=b\nused=1\n");
	free(t);
	firmware_booted(3, 1); /* the firmware's tryboot of [tryboot] */
	ASSERT_INT_EQ(ota_bootflow_get_state(bf, &s, &err), 0);
	ASSERT_INT_EQ(s.trial_state, OTA_TRIAL_RUNNING);
	ASSERT_STR_EQ(s.booted, "b");
	ASSERT_INT_EQ(ota_bootflow_commit(bf, "b", &err), 0);
	t = get_file("boot/autoboot.txt");
	ASSERT_STR_EQ(t, AUTOBOOT_B);
	free(t);
	ASSERT_INT_EQ(trial_state(bf), OTA_TRIAL_NONE);
	firmware_booted(3, 0); /* a plain reboot now boots b */
	ASSERT_INT_EQ(ota_bootflow_get_state(bf, &s, &err), 0);
	ASSERT_STR_EQ(s.default_group, "b");
	ASSERT_INT_EQ(s.trial_state, OTA_TRIAL_NONE);
	/* with no trial, reboot is a plain one */
	ASSERT_INT_EQ(ota_bootflow_reboot(bf, &err), 0);
	ASSERT_INT_EQ(reboot_cmd, LINUX_REBOOT_CMD_RESTART);
	ASSERT_STR_EQ(reboot_arg, "(null)");
	ota_bootflow_free(bf);
}

static ino_t inode_of(const char *name)
{
	struct stat st;
	return stat(path_in(name), &st) == 0 ? st.st_ino : 0;
}

/* autoboot.txt must never be missing after a cut, and a rename on FAT can
 * lose the name: a text of the file's length is written in place (same
 * inode, no temporary); one of another length is replaced whole. */
TEST(tryboot_commit_rewrites_autoboot_in_place)
{
	struct ota_error err = { 0 };
	static const char SHIPPED_B[] = "# as shipped\n[all]\ntryboot_a_b=1\nboot_partition=3\n[tryboot]\nboot_partition=2\n";
	put_file("boot/autoboot.txt", SHIPPED_B, strlen(SHIPPED_B));
	(void)unlink(path_in("boot/ota-tryboot.state"));
	firmware_booted(3, 0);
	struct ota_bootflow *bf = tryboot();
	ASSERT_TRUE(bf != NULL);
	ASSERT_INT_EQ(ota_bootflow_arm(bf, "a", 1, &err), 0);
	ASSERT_INT_EQ(ota_bootflow_reboot(bf, &err), 0);
	firmware_booted(2, 1);
	ino_t shipped = inode_of("boot/autoboot.txt");
	ASSERT_INT_EQ(ota_bootflow_commit(bf, "a", &err), 0);
	char *t = get_file("boot/autoboot.txt");
	ASSERT_STR_EQ(t, AUTOBOOT_A);
	free(t);
	ASSERT_TRUE(inode_of("boot/autoboot.txt") != shipped); /* another length: replaced */
	firmware_booted(2, 0);
	ASSERT_INT_EQ(ota_bootflow_arm(bf, "b", 1, &err), 0);
	ASSERT_INT_EQ(ota_bootflow_reboot(bf, &err), 0);
	firmware_booted(3, 1);
	ino_t ours = inode_of("boot/autoboot.txt");
	ASSERT_INT_EQ(ota_bootflow_commit(bf, "b", &err), 0);
	t = get_file("boot/autoboot.txt");
	ASSERT_STR_EQ(t, AUTOBOOT_B);
	free(t);
	ASSERT_TRUE(inode_of("boot/autoboot.txt") == ours); /* same length: in place */
	ASSERT_TRUE(access(path_in("boot/autoboot.txt.tmp"), F_OK) < 0);
	ota_bootflow_free(bf);
}

TEST(tryboot_trial_without_commit_is_failed)
{
	struct ota_error err = { 0 };
	put_file("boot/autoboot.txt", AUTOBOOT_A, strlen(AUTOBOOT_A));
	(void)unlink(path_in("boot/ota-tryboot.state"));
	firmware_booted(2, 0);
	struct ota_bootflow *bf = tryboot();
	ASSERT_INT_EQ(ota_bootflow_arm(bf, "b", 1, &err), 0);
	ASSERT_INT_EQ(ota_bootflow_reboot(bf, &err), 0);
	firmware_booted(3, 1);
	ASSERT_INT_EQ(trial_state(bf), OTA_TRIAL_RUNNING);
	/* reboot without commit: the flag is gone, the firmware boots [all] */
	firmware_booted(2, 0);
	ASSERT_INT_EQ(trial_state(bf), OTA_TRIAL_FAILED);
	char *t = get_file("boot/autoboot.txt");
	ASSERT_STR_EQ(t, AUTOBOOT_A);
	free(t);
	/* a reboot now does not try again */
	ASSERT_INT_EQ(ota_bootflow_reboot(bf, &err), 0);
	ASSERT_INT_EQ(reboot_cmd, LINUX_REBOOT_CMD_RESTART);
	/* rollback clears it; marking the default bad is refused */
	ASSERT_INT_EQ(ota_bootflow_mark_bad(bf, "b", &err), 0);
	ASSERT_INT_EQ(trial_state(bf), OTA_TRIAL_NONE);
	ASSERT_INT_EQ(ota_bootflow_mark_bad(bf, "a", &err), -EBUSY);
	ASSERT_CONTAINS(err.msg, "boot flow rpi-tryboot: mark-bad group a: it is the default");
	ASSERT_INT_EQ(ota_bootflow_arm(bf, "a", 1, &err), -EINVAL);
	/* an armed trial whose reboot never came stays armed after a plain reboot */
	ASSERT_INT_EQ(ota_bootflow_arm(bf, "b", 1, &err), 0);
	firmware_booted(2, 0);
	ASSERT_INT_EQ(trial_state(bf), OTA_TRIAL_ARMED);
	ota_bootflow_free(bf);
}

TEST(autoboot_parse_and_errors)
{
	unsigned def, try;
	struct ota_error err = { 0 };
	ASSERT_INT_EQ(ota_autoboot_parse(AUTOBOOT_B, &def, &try, &err), 0);
	ASSERT_INT_EQ(def, 3);
	ASSERT_INT_EQ(try, 2);
	ASSERT_INT_EQ(ota_autoboot_parse("# x\r\nboot_partition=2\r\n[none]\nboot_partition=9\n", &def, &try, &err), 0);
	ASSERT_INT_EQ(def, 2);
	ASSERT_INT_EQ(try, 0);
	ASSERT_INT_EQ(ota_autoboot_parse("[tryboot]\nboot_partition=3\n", &def, &try, &err), -EINVAL);
	ASSERT_CONTAINS(err.msg, "no boot_partition= in [all]");
	ASSERT_INT_EQ(ota_autoboot_parse("[all]\nboot_partition=x\n", &def, &try, &err), -EINVAL);
	ASSERT_CONTAINS(err.msg, "line 2: boot_partition 'x' is not a number");
	char big[600];
	memset(big, '#', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	ASSERT_INT_EQ(ota_autoboot_parse(big, &def, &try, &err), -EFBIG);
	struct ota_bootflow *bf = NULL;
	struct ota_bootflow_config cfg = { .type = "rpi-tryboot", .autoboot = "/boot/autoboot.txt",
					   .partitions = { { "a", 2 }, { "b", 2 } } };
	ASSERT_INT_EQ(ota_bootflow_new(&cfg, &bf, &err), -EINVAL);
	ASSERT_CONTAINS(err.msg, "partition.a and partition.b must differ");
}

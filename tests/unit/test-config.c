/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <limits.h>
#include <sys/stat.h>

#include "init/init.h"
#include "test.h"

TEST(config_defaults)
{
	struct ota_sysconf c;
	ota_sysconf_init(&c);
	ASSERT_NULL(c.init.data_device);
	ASSERT_NULL(c.init.init);
	ota_sysconf_done(&c);
}

TEST(config_full)
{
	struct ota_sysconf c;
	ota_sysconf_init(&c);
	ASSERT_INT_EQ(ota_sysconf_parse(&c, OTA_SYSCONF_INIT,
					      "# comment\n"
					      "[data]\n"
					      "device = PARTLABEL=userdata\n"
					      "fstype = ext4\n"
					      "options = noatime,commit=30\n"
					      "\n"
					      "[init]\n"
					      "path = /lib/systemd/systemd\n",
					      "t.conf", NULL),
		      0);
	ASSERT_STR_EQ(c.init.data_device, "PARTLABEL=userdata");
	ASSERT_STR_EQ(c.init.data_fstype, "ext4");
	ASSERT_STR_EQ(c.init.data_options, "noatime,commit=30");
	ASSERT_STR_EQ(c.init.init, "/lib/systemd/systemd");
	ota_sysconf_done(&c);
}

TEST(config_auto_values)
{
	struct ota_sysconf c;
	ota_sysconf_init(&c);
	ASSERT_INT_EQ(ota_sysconf_parse(&c, OTA_SYSCONF_INIT, "[data]\ndevice=auto\nfstype=auto\n", "t.conf", NULL), 0);
	ASSERT_NULL(c.init.data_device);
	ASSERT_NULL(c.init.data_fstype);
	ota_sysconf_done(&c);
}

static void expect_error(const char *text, const char *fragment)
{
	struct ota_sysconf c;
	struct ota_error err = { 0 };
	ota_sysconf_init(&c);
	int r = ota_sysconf_parse(&c, OTA_SYSCONF_INIT, "[init]\npath = /sbin/first\n", "t.conf", NULL);
	ASSERT_INT_EQ(r, 0);
	r = ota_sysconf_parse(&c, OTA_SYSCONF_INIT, text, "t.conf", &err);
	ASSERT_INT_EQ(r, -EINVAL);
	ASSERT_CONTAINS(err.msg, fragment);
	/* A bad file changes nothing. */
	ASSERT_STR_EQ(c.init.init, "/sbin/first");
	ota_sysconf_done(&c);
}

TEST(config_malformed_files)
{
	expect_error("[init]\npth = /sbin/init\n", "t.conf:2: unknown key 'pth' in section [init]");
	expect_error("[overlay]\nmode = persist\n", "t.conf:2: unknown section [overlay]");
	expect_error("[dta]\ndevice = auto\n", "t.conf:2: unknown section [dta]");
	expect_error("device = auto\n", "t.conf:1: key 'device' outside of any section");
	expect_error("[data]\ndevice = sda3\n", "t.conf:2: [data] device: 'sda3' is not auto");
	expect_error("[init]\npath = sbin/init\n", "t.conf:2: [init] path: 'sbin/init' is not an absolute path");
	expect_error("[data\ndevice = auto\n", "t.conf:1: section header without ']'");
	expect_error("[data]\njust some words\n", "t.conf:2: 'just some words' is neither [section] nor key = value");
	expect_error("# c\n[init]\npath = /x\n\n[data]\nfstype = ext4\nbogus = 1\n",
		     "t.conf:7: unknown key 'bogus' in section [data]");
}

TEST(config_missing_file_is_enoent)
{
	struct ota_sysconf c;
	struct ota_error err = { 0 };
	ota_sysconf_init(&c);
	ASSERT_INT_EQ(ota_sysconf_load(&c, OTA_SYSCONF_INIT, "/nonexistent/ota/system.conf", &err), -ENOENT);
	ASSERT_CONTAINS(err.msg, "/nonexistent/ota/system.conf");
	ota_sysconf_done(&c);
}

TEST(config_load_rejects_binary)
{
	char path[PATH_MAX];
	ASSERT_INT_EQ(ota_format(path, sizeof(path), "%s/conf-XXXXXX", test_tmpdir()), 0);
	int fd = mkstemp(path);
	ASSERT_TRUE(fd >= 0);
	ASSERT_INT_EQ(write(fd, "[init]\0path=/sbin/x\n", 20), 20);
	close(fd);
	struct ota_sysconf c;
	struct ota_error err = { 0 };
	ota_sysconf_init(&c);
	int r = ota_sysconf_load(&c, OTA_SYSCONF_INIT, path, &err);
	unlink(path);
	ASSERT_INT_EQ(r, -EINVAL);
	ASSERT_CONTAINS(err.msg, "not a text file");
	ota_sysconf_done(&c);
}

/* system.conf is shared with ota-update: its sections are skipped for
 * ota-init's part (and checked for ota-update's), ota-init's own ones still
 * are checked. */
TEST(config_skips_update_sections)
{
	struct ota_sysconf c;
	ota_sysconf_init(&c);
	ASSERT_INT_EQ(ota_sysconf_parse(&c, OTA_SYSCONF_INIT,
					      "[system]\ncompatible = board\nversion = 1\n"
					      "[update]\nkeyring = /etc/ota/keyring.pem\n"
					      "[bootflow]\ntype = custom\n"
					      "[slot.system-a]\nclass = system\n"
					      "[group.a]\nsystem = system-a\n"
					      "[init]\npath = /sbin/x\n",
					      "t.conf", NULL),
		      0);
	ASSERT_STR_EQ(c.init.init, "/sbin/x");
	ota_sysconf_done(&c);
	expect_error("[slot.]\nclass = x\n", "t.conf:2: unknown section [slot.]");
	expect_error("[slots.a]\nclass = x\n", "t.conf:2: unknown section [slots.a]");
}

/* Issue 15, class 9: system.conf in the one INI dialect (docs/configuration.md,
 * "Configuration file syntax"). Instances other than the issue's. */
TEST(config_dialect_numbers_repeats_indentation)
{
	struct ota_sysconf c;
	ota_sysconf_init(&c);
	ASSERT_INT_EQ(ota_sysconf_parse(&c, OTA_SYSCONF_INIT, "[init]\ntrial-watchdog = 0030\n", "t.conf", NULL), 0);
	ASSERT_INT_EQ(c.init.trial_watchdog_s, 30); /* decimal: not octal 24 */
	ota_sysconf_done(&c);
	expect_error("[data]\nfstype = ext4\noptions = noatime\nfstype = vfat\n",
		     "t.conf:4: key 'fstype' given again in [data] (first on line 2)");
	expect_error("[data]\noptions = noatime\n  path = /x\n",
		     "t.conf:3: indented line: continuation lines are not supported");
	expect_error("[init]\npath = /sbin/x\n\t[data]\n", "t.conf:3: indented line");
}

TEST(config_dialect_bom_and_long_lines)
{
	struct ota_sysconf c;
	ota_sysconf_init(&c);
	ASSERT_INT_EQ(ota_sysconf_parse(&c, OTA_SYSCONF_INIT, "\xEF\xBB\xBF[data]\nfstype = ext4\n", "t.conf", NULL), 0);
	ASSERT_STR_EQ(c.init.data_fstype, "ext4");
	static char text[12000], want[9000];
	for (size_t len = 290; len < 9000; len += 4700) { /* 300 and 5000 byte lines */
		snprintf(want, sizeof(want), "noatime,%0*d", (int)len - 8, 3);
		snprintf(text, sizeof(text), "[data]\noptions = %s\nfstype = vfat\n", want);
		ASSERT_INT_EQ(ota_sysconf_parse(&c, OTA_SYSCONF_INIT, text, "t.conf", NULL), 0);
		ASSERT_STR_EQ(c.init.data_options, want);
		ASSERT_STR_EQ(c.init.data_fstype, "vfat");
	}
	ota_sysconf_done(&c);
	snprintf(text, sizeof(text), "[data]\noptions = %09000d\n", 1);
	expect_error(text, "t.conf:2: line longer than 8192 bytes");
}

static int write_file(const char *path, const char *data, size_t size)
{
	return ota_write_file_atomic(path, data, size, 0644, NULL);
}

/* A FIFO or directory as system.conf is an error, not a hang; the limit is
 * 1 MiB for every configuration file. */
TEST(config_load_only_regular_files_up_to_1mib)
{
	char dir[TEST_DIR_MAX], path[PATH_MAX];
	ASSERT_INT_EQ(test_mkdtemp(dir, sizeof(dir), "conf"), 0);
	snprintf(path, sizeof(path), "%s/system.conf", dir);
	struct ota_sysconf c;
	struct ota_error err = { 0 };
	ota_sysconf_init(&c);
	ASSERT_INT_EQ(mkfifo(path, 0644), 0);
	alarm(20); /* on a hang, fail instead of waiting for ctest's timeout */
	ASSERT_INT_EQ(ota_sysconf_load(&c, OTA_SYSCONF_INIT, path, &err), -EINVAL);
	alarm(0);
	ASSERT_CONTAINS(err.msg, "system.conf' is a FIFO, not a regular file");
	ASSERT_INT_EQ(unlink(path), 0);
	ASSERT_INT_EQ(mkdir(path, 0755), 0);
	ASSERT_INT_EQ(ota_sysconf_load(&c, OTA_SYSCONF_INIT, path, &err), -EINVAL);
	ASSERT_CONTAINS(err.msg, "system.conf' is a directory, not a regular file");
	ASSERT_INT_EQ(rmdir(path), 0);

	static char big[(1 << 20) + 1];
	memset(big, '#', sizeof(big));
	for (size_t i = 99; i < sizeof(big); i += 100)
		big[i] = '\n';
	memcpy(big, "[init]\npath = /sbin/big\n", 24);
	ASSERT_INT_EQ(write_file(path, big, 100 * 1024), 0);
	ASSERT_INT_EQ(ota_sysconf_load(&c, OTA_SYSCONF_INIT, path, &err), 0);
	ASSERT_STR_EQ(c.init.init, "/sbin/big");
	ASSERT_INT_EQ(write_file(path, big, sizeof(big)), 0);
	ASSERT_INT_EQ(ota_sysconf_load(&c, OTA_SYSCONF_INIT, path, &err), -EFBIG);
	ASSERT_CONTAINS(err.msg, "is larger than 1048576 bytes");
	ota_sysconf_done(&c);
	unlink(path);
	rmdir(dir);
}

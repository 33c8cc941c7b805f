/* SPDX-License-Identifier: Apache-2.0 */
/* ota-update's part of system.conf (sysconf, OTA_SYSCONF_UPDATE), and versions. */
#include <errno.h>

#include "test.h"
#include "update/update.h"

/* A key may be given once per section: BASE_SYSTEM for cases with their
 * own [bootflow] type. */
#define BASE_SYSTEM                                                     \
	"[system]\ncompatible = board-x\nversion = 1.2.0\n"             \
	"[update]\nkeyring = /etc/ota/keyring.pem\n"
#define BASE BASE_SYSTEM "[bootflow]\ntype = custom\nexecutable = /usr/lib/ota/bf\n"

#define SLOTS                                                           \
	"[slot.system-a]\nclass = system\ndevice = PARTLABEL=system-a\n" \
	"[slot.system-b]\nclass = system\ndevice = PARTUUID=1234-02\n"   \
	"[slot.boot-a]\nclass = boot\nfile = /boot/a.img\n"             \
	"[slot.boot-b]\nclass = boot\nfile = /boot/b.img\n"             \
	"[group.a]\nsystem = system-a\nboot = boot-a\n"                 \
	"[group.b]\nsystem = system-b\nboot = boot-b\n"

TEST(update_config_full)
{
	struct ota_sysconf c;
	struct ota_error err = { 0 };
	ota_sysconf_init(&c);
	int r = ota_sysconf_parse(&c, OTA_SYSCONF_UPDATE,
					"[data]\ndevice = auto\n[init]\npath = /sbin/init\n" BASE
					"[update]\ndowngrade = strict\nstatus-file = /tmp/s.json\nhook-timeout = 5\n"
					"http-connect-timeout = 4\nhttp-attempts = 9\nhttp-min-rate = 2048\n"
					"http-stall-time = 45\ndownload-timeout = 604800\n[bootflow]\n"
					"tries = 2\ntimeout = 7\n" SLOTS,
					"t.conf", &err);
	ASSERT_INT_EQ(r, 0);
	ASSERT_STR_EQ(c.update.compatible, "board-x");
	ASSERT_STR_EQ(c.update.version, "1.2.0");
	ASSERT_STR_EQ(c.update.keyring, "/etc/ota/keyring.pem");
	ASSERT_INT_EQ(c.update.downgrade, OTA_DOWNGRADE_STRICT);
	ASSERT_STR_EQ(c.update.status_file, "/tmp/s.json");
	ASSERT_STR_EQ(c.update.hooks_dir, OTA_UPDATE_HOOKS_DIR);
	ASSERT_STR_EQ(c.update.lock_file, OTA_UPDATE_LOCK_FILE);
	ASSERT_INT_EQ(c.update.hook_timeout_s, 5);
	ASSERT_INT_EQ(c.update.http_connect_timeout_s, 4);
	ASSERT_INT_EQ(c.update.http_attempts, 9);
	ASSERT_INT_EQ(c.update.http_min_rate, 2048);
	ASSERT_INT_EQ(c.update.http_stall_time_s, 45);
	ASSERT_INT_EQ(c.update.download_timeout_s, 604800);
	ASSERT_INT_EQ(c.update.tries, 2);
	ASSERT_INT_EQ(c.update.bootflow.timeout_ms, 7000);
	ASSERT_STR_EQ(c.update.bootflow.type, "custom");
	ASSERT_INT_EQ(c.update.n_slots, 4);
	ASSERT_STR_EQ(c.update.bootflow.groups[0], "a");
	ASSERT_STR_EQ(c.update.bootflow.groups[1], "b");
	const struct ota_slot_config *s = ota_sysconf_slot(&c.update, "b", "system");
	ASSERT_TRUE(s != NULL);
	ASSERT_STR_EQ(s->name, "system-b");
	ASSERT_STR_EQ(s->device, "PARTUUID=1234-02");
	ASSERT_NULL(s->file);
	s = ota_sysconf_slot(&c.update, "a", "boot");
	ASSERT_TRUE(s != NULL);
	ASSERT_STR_EQ(s->file, "/boot/a.img");
	ASSERT_STR_EQ(ota_sysconf_other_group(&c.update, "a"), "b");
	ASSERT_STR_EQ(ota_sysconf_other_group(&c.update, "b"), "a");
	ASSERT_NULL(ota_sysconf_other_group(&c.update, "c"));
	ASSERT_NULL(ota_sysconf_slot(&c.update, "a", "kernel"));
	ota_sysconf_done(&c);
}

TEST(update_config_defaults)
{
	struct ota_sysconf c;
	ota_sysconf_init(&c);
	ASSERT_INT_EQ(ota_sysconf_parse(&c, OTA_SYSCONF_UPDATE, BASE SLOTS, "t.conf", NULL), 0);
	ASSERT_INT_EQ(c.update.downgrade, OTA_DOWNGRADE_REFUSE);
	ASSERT_INT_EQ(c.update.tries, OTA_UPDATE_DEFAULT_TRIES);
	ASSERT_STR_EQ(c.update.status_file, OTA_UPDATE_STATUS_FILE);
	/* Every transfer bounded even without a word in the file. */
	ASSERT_INT_EQ(c.update.http_min_rate, 1024);
	ASSERT_INT_EQ(c.update.http_stall_time_s, 60);
	ASSERT_INT_EQ(c.update.download_timeout_s, 3600);
	ota_sysconf_done(&c);
}

static void expect_error(const char *text, const char *msg)
{
	struct ota_sysconf c;
	struct ota_error err = { 0 };
	ota_sysconf_init(&c);
	int r = ota_sysconf_parse(&c, OTA_SYSCONF_UPDATE, text, "t.conf", &err);
	if (r != -EINVAL)
		fprintf(stderr, "  for: %s\n", msg);
	ASSERT_INT_EQ(r, -EINVAL);
	ASSERT_CONTAINS(err.msg, msg);
	ASSERT_INT_EQ(c.update.n_slots, 0);
	ota_sysconf_done(&c);
}

TEST(update_config_errors)
{
	expect_error(SLOTS, "t.conf: [system] compatible is required");
	expect_error("[system]\ncompatible = x\nversion = 1\n[bootflow]\ntype = custom\nexecutable = /x\n" SLOTS,
		     "[update] keyring is required");
	expect_error(BASE "[slot.a]\nclass = system\nfile = /a\n[slot.b]\nclass = system\nfile = /b\n",
		     "two boot groups are required");
	expect_error(BASE "[update]\ndowngrade = sometimes\n" SLOTS,
		     "t.conf:10: [update] downgrade: 'sometimes' is not refuse, strict or allow");
	expect_error("[update]\nkeyring = relative.pem\n", "'relative.pem' is not an absolute path");
	expect_error(BASE "[update]\nbogus = 1\n", "t.conf:10: unknown key 'bogus' in section [update]");
	expect_error(BASE "[slots.a]\nclass = x\n", "t.conf:10: unknown section [slots.a]");
	expect_error(BASE "[slot.a]\ndevice = sda3\n", "[slot.a] device: 'sda3' is not /dev/..., PARTLABEL= or PARTUUID=");
	expect_error(BASE "[slot.a b]\nclass = x\n", "invalid slot name");
	expect_error(BASE "[bootflow]\ntries = 0\n", "[bootflow] tries: '0' is not a number in 1..100");
	expect_error(BASE "[slot.x]\nclass = system\nfile = /x\n[group.a]\nsystem = y\n", "[group.a] system: no section [slot.y]");
	expect_error(BASE "[slot.x]\nclass = boot\nfile = /x\n[group.a]\nsystem = x\n",
		     "[group.a] system = x: slot x is of class 'boot'");
	expect_error(BASE "[slot.x]\nclass = s\nfile = /x\n[slot.y]\nclass = s\nfile = /y\n"
			  "[group.a]\ns = x\n[group.b]\ns = x\n",
		     "slot x is already in group a");
	expect_error(BASE "[slot.x]\nclass = s\nfile = /x\n[slot.y]\nclass = s\nfile = /y\n[slot.z]\nclass = t\nfile = /z\n"
			  "[group.a]\ns = x\nt = z\n[group.b]\ns = y\n",
		     "group a has a slot of class 't' (z), group b has none");
	expect_error(BASE "[slot.x]\nclass = s\nfile = /x\n[slot.y]\nclass = s\nfile = /x\n"
			  "[group.a]\ns = x\n[group.b]\ns = y\n",
		     "[slot.x] and [slot.y] name the same '/x'");
	expect_error(BASE "[slot.x]\nclass = s\nfile = /x\ndevice = /dev/sda1\n[slot.y]\nclass = s\nfile = /y\n"
			  "[group.a]\ns = x\n[group.b]\ns = y\n",
		     "[slot.x]: exactly one of device and file is required");
	expect_error(BASE "[slot.x]\nclass = s\nfile = /x\n[slot.y]\nclass = s\nfile = /y\n[slot.z]\nclass = s\nfile = /z\n"
			  "[group.a]\ns = x\n[group.b]\ns = y\n",
		     "[slot.z]: not in any group");
	expect_error(BASE SLOTS "[group.c]\nsystem = system-a\n", "[group.c]: more than two boot groups");
	/* No way to switch a bound off: 0 and "forever" are refused. */
	expect_error(BASE "[update]\ndownload-timeout = 0\n", "[update] download-timeout: '0' is not a number in 1..604800");
	expect_error(BASE "[update]\ndownload-timeout = 604801\n", "'604801' is not a number in 1..604800");
	expect_error(BASE "[update]\ndownload-timeout = 1h\n", "'1h' is not a number");
	expect_error(BASE "[update]\nhttp-min-rate = 0\n", "[update] http-min-rate: '0' is not a number in 1..1073741824");
	expect_error(BASE "[update]\nhttp-stall-time = 3601\n", "[update] http-stall-time: '3601' is not a number in 1..3600");
}

/* [update] check-time and the algorithm policy keys (issue 15, class 12). */
TEST(update_config_trust)
{
	struct ota_sysconf c;
	struct ota_error err = { 0 };
	ota_sysconf_init(&c);
	ASSERT_INT_EQ(ota_sysconf_parse(&c, OTA_SYSCONF_UPDATE, BASE "[update]\ncheck-time = no\nmin-rsa-bits = 3072\n"
						 "min-ec-bits = 384\nmin-digest-bits = 512\n" SLOTS, "t.conf", &err), 0);
	ASSERT_INT_EQ(c.update.check_time, OTA_CHECK_TIME_NO);
	struct ota_bundle_trust t;
	ota_update_trust(&c.update, &t);
	ASSERT_STR_EQ(t.keyring, "/etc/ota/keyring.pem");
	ASSERT_TRUE(!(t.check_time));
	ASSERT_INT_EQ(t.algorithms.min_rsa_bits, 3072);
	ASSERT_INT_EQ(t.algorithms.min_ec_bits, 384);
	ASSERT_INT_EQ(t.algorithms.min_digest_bits, 512);
	ota_sysconf_done(&c);

	ota_sysconf_init(&c);
	ASSERT_INT_EQ(ota_sysconf_parse(&c, OTA_SYSCONF_UPDATE, BASE "[update]\ncheck-time = yes\n" SLOTS, "t.conf", &err), 0);
	ota_update_trust(&c.update, &t);
	ASSERT_TRUE(t.check_time);
	ota_sysconf_done(&c);

	/* auto follows the kernel's clock state; the default is auto */
	ASSERT_TRUE(ota_check_time_wanted(OTA_CHECK_TIME_AUTO, true));
	ASSERT_TRUE(!(ota_check_time_wanted(OTA_CHECK_TIME_AUTO, false)));
	ASSERT_TRUE(ota_check_time_wanted(OTA_CHECK_TIME_YES, false));
	ASSERT_TRUE(!(ota_check_time_wanted(OTA_CHECK_TIME_NO, true)));
	ota_sysconf_init(&c);
	ASSERT_INT_EQ(ota_sysconf_parse(&c, OTA_SYSCONF_UPDATE, BASE SLOTS, "t.conf", &err), 0);
	ASSERT_INT_EQ(c.update.check_time, OTA_CHECK_TIME_AUTO);
	ota_update_trust(&c.update, &t);
	ASSERT_TRUE(t.check_time == ota_clock_synchronized());
	ota_sysconf_done(&c);

	expect_error(BASE "[update]\ncheck-time = sometimes\n", "[update] check-time: 'sometimes' is not auto, yes or no");
	expect_error(BASE "[update]\nmin-rsa-bits = 1024\n", "[update] min-rsa-bits: '1024' is not a number in 2048..16384");
	expect_error(BASE "[update]\nmin-ec-bits = 224\n", "[update] min-ec-bits: '224' is not a number in 256..521");
	expect_error(BASE "[update]\nmin-digest-bits = 160\n", "[update] min-digest-bits: '160' is not a number in 256..512");
}

TEST(version_compare)
{
	ASSERT_TRUE(ota_version_compare("1.0", "1.0") == 0);
	ASSERT_TRUE(ota_version_compare("1.10", "1.9") > 0);
	ASSERT_TRUE(ota_version_compare("1.9", "1.10") < 0);
	ASSERT_TRUE(ota_version_compare("2.0.1", "2.0") > 0);
	ASSERT_TRUE(ota_version_compare("1.0~rc1", "1.0") < 0);
	ASSERT_TRUE(ota_version_compare("1.0a", "1.0") > 0);
	ASSERT_TRUE(ota_version_compare("01.2", "1.2") == 0);
	ASSERT_TRUE(ota_version_compare("2024.06", "2024.10") < 0);
	ASSERT_TRUE(ota_version_compare("", "0") == 0);
}

TEST(version_policy)
{
	struct ota_error err = { 0 };
	ASSERT_INT_EQ(ota_update_check_version(OTA_DOWNGRADE_REFUSE, "1.2", "1.3", &err), 0);
	ASSERT_INT_EQ(ota_update_check_version(OTA_DOWNGRADE_REFUSE, "1.2", "1.2", &err), 0);
	ASSERT_INT_EQ(ota_update_check_version(OTA_DOWNGRADE_REFUSE, "1.2", "1.1", &err), -EPERM);
	ASSERT_CONTAINS(err.msg, "bundle version 1.1 is older than the running version 1.2 (downgrade policy refuse)");
	ASSERT_INT_EQ(ota_update_check_version(OTA_DOWNGRADE_STRICT, "1.2", "1.2", &err), -EPERM);
	ASSERT_CONTAINS(err.msg, "is the running version (downgrade policy strict)");
	ASSERT_INT_EQ(ota_update_check_version(OTA_DOWNGRADE_STRICT, "1.2", "1.2.1", &err), 0);
	ASSERT_INT_EQ(ota_update_check_version(OTA_DOWNGRADE_ALLOW, "1.2", "0.1", &err), 0);
}

TEST(update_config_uboot_and_tryboot_keys)
{
	struct ota_sysconf c;
	struct ota_error err = { 0 };
	ota_sysconf_init(&c);
	ASSERT_INT_EQ(ota_sysconf_parse(&c, OTA_SYSCONF_UPDATE,
					      BASE_SYSTEM "[bootflow]\ntype = uboot\nenv = /dev/mmcblk0\nenv-offset = 0x3f8000\n"
						   "env-redundant-offset = 4169728\nenv-size = 0x4000\n" SLOTS,
					      "t.conf", &err),
		      0);
	ASSERT_STR_EQ(c.update.bootflow.type, "uboot");
	ASSERT_STR_EQ(c.update.bootflow.env, "/dev/mmcblk0");
	ASSERT_TRUE(c.update.bootflow.env_offset == 0x3f8000);
	ASSERT_TRUE(c.update.bootflow.env_redundant_offset == 0x3fa000);
	ASSERT_TRUE(c.update.bootflow.env_has_redundant);
	ASSERT_TRUE(c.update.bootflow.env_size == 0x4000);
	ASSERT_INT_EQ(ota_sysconf_parse(&c, OTA_SYSCONF_UPDATE,
					      BASE_SYSTEM "[bootflow]\ntype = rpi-tryboot\nautoboot = /boot/firmware/autoboot.txt\n"
						   "partition.a = 2\npartition.b = 3\n" SLOTS,
					      "t.conf", &err),
		      0);
	ASSERT_STR_EQ(c.update.bootflow.partitions[0].group, "a");
	ASSERT_INT_EQ(c.update.bootflow.partitions[1].number, 3);
	ota_sysconf_done(&c);
	expect_error(BASE_SYSTEM "[bootflow]\ntype = uboot\n" SLOTS, "[bootflow] env is required for type uboot");
	expect_error(BASE_SYSTEM "[bootflow]\ntype = uboot\nenv = /dev/mmcblk0\n" SLOTS,
		     "[bootflow] env-size (U-Boot's CONFIG_ENV_SIZE) is required for env-mode native");
	expect_error(BASE_SYSTEM "[bootflow]\ntype = uboot\nenv-mode = file\nenv = /boot/ota.env\nenv-size = 0x4000\n" SLOTS,
		     "env-mode file takes no env-size");
	expect_error(BASE "[bootflow]\nenv-mode = fat\n", "[bootflow] env-mode: 'fat' is not native or file");
	expect_error(BASE "[bootflow]\nenv-offset = 0x4000000000000001\n", "env-offset: '0x4000000000000001' is not a number");
	expect_error(BASE "[bootflow]\nenv-size = -1\n", "env-size: '-1' is not a number");
	expect_error(BASE_SYSTEM "[bootflow]\ntype = rpi-tryboot\nautoboot = /boot/autoboot.txt\npartition.a = 2\n" SLOTS,
		     "[bootflow] partition.b (its boot partition number) is required for type rpi-tryboot");
	expect_error(BASE "[bootflow]\npartition.a = 0\n", "[bootflow] partition: '0' is not a number in 1..255");
	expect_error(BASE "[bootflow]\npartition.a = 2\npartition.b = 3\npartition.c = 4\n",
		     "partition.c: more than two groups");
	expect_error(BASE_SYSTEM "[bootflow]\ntype = rpi-tryboot\n" SLOTS, "[bootflow] autoboot is required for type rpi-tryboot");
}

/* Issue 15, class 9: a repeated key is an error wherever it is, numbers are
 * decimal unless documented as 0x hex (docs/configuration.md, "Configuration
 * file syntax"). Instances other than the issue's. */
TEST(update_config_dialect)
{
	expect_error(BASE_SYSTEM "channel = https://a/c.json\nhook-timeout = 5\nchannel = https://b/c.json\n"
				 "[bootflow]\ntype = custom\nexecutable = /x\n" SLOTS,
		     "t.conf:8: key 'channel' given again in [update] (first on line 6)");
	expect_error(BASE "[slot.system-a]\nclass = system\ndevice = PARTLABEL=system-a\ndevice = /dev/sda2\n",
		     "t.conf:12: key 'device' given again in [slot.system-a] (first on line 11)");
	expect_error(BASE "[slot.system-a]\nclass = system\n[group.a]\nsystem = system-a\n[slot.system-a]\nclass = boot\n",
		     "t.conf:14: key 'class' given again in [slot.system-a] (first on line 10)");
	expect_error(BASE "[slot.system-a]\nclass = system\n    device = /dev/sda2\n",
		     "t.conf:11: indented line: continuation lines are not supported");

	struct ota_sysconf c;
	struct ota_error err = { 0 };
	ota_sysconf_init(&c);
	ASSERT_INT_EQ(ota_sysconf_parse(&c, OTA_SYSCONF_UPDATE, BASE_SYSTEM "[bootflow]\ntype = custom\nexecutable = /x\ntries = 011\n" SLOTS,
					      "t.conf", &err),
		      0);
	ASSERT_INT_EQ(c.update.tries, 11); /* not octal 9 */
	ota_sysconf_done(&c);
	expect_error(BASE "[bootflow]\ntries = 0x5\n", "[bootflow] tries: '0x5' is not a number in 1..100");
}

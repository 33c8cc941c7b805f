/* SPDX-License-Identifier: Apache-2.0 */
/* Device discovery on real loop devices with real partition tables, set up
 * by loop-devices.sh: a GPT disk (system-a, system-b, "userdata" whose ext4 is
 * labelled data, and a partition named data) and an MBR disk (no names; one
 * ext4 labelled data). Environment: OTA_IT_GPT, OTA_IT_MBR (loop disks),
 * OTA_IT_TAG (unique per run, part of the GPT names), OTA_IT_P1_UUID. */
#include <errno.h>
#include <sys/stat.h>

#include "init/init.h"
#include "../unit/test.h"

static const char *env(const char *name)
{
	const char *v = getenv(name);
	return v ? v : "";
}

static dev_t rdev_of(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 ? st.st_rdev : 0;
}

static void part_path(char *buf, size_t size, const char *disk, int n)
{
	snprintf(buf, size, "%sp%d", disk, n);
}

TEST(gpt_partitions_listed_with_names_uuids_and_filesystems)
{
	struct ota_partition *parts = NULL;
	size_t n = 0;
	char name[80];
	ASSERT_INT_EQ(ota_blockdev_list_partitions(rdev_of(env("OTA_IT_GPT")), &parts, &n, NULL), 0);
	ASSERT_INT_EQ(n, 4);
	snprintf(name, sizeof(name), "system-a-%s", env("OTA_IT_TAG"));
	ASSERT_STR_EQ(parts[0].name, name);
	ASSERT_INT_EQ(parts[0].partno, 1);
	ASSERT_STR_EQ(parts[0].partuuid, env("OTA_IT_P1_UUID"));
	ASSERT_STR_EQ(parts[0].fstype, "ext4");
	ASSERT_STR_EQ(parts[2].name, "userdata");
	ASSERT_STR_EQ(parts[2].label, "data");
	ASSERT_STR_EQ(parts[3].name, "data");
	ASSERT_STR_EQ(parts[3].fstype, "");
	char p4[64];
	part_path(p4, sizeof(p4), env("OTA_IT_GPT"), 4);
	ASSERT_STR_EQ(parts[3].devpath, p4);
	ASSERT_TRUE(parts[3].devno == rdev_of(p4));
	free(parts);
}

TEST(resolve_partlabel_and_partuuid_case_insensitively)
{
	char spec[128], path[64], expect[64];
	dev_t devno;
	snprintf(spec, sizeof(spec), "PARTLABEL=system-b-%s", env("OTA_IT_TAG"));
	ASSERT_INT_EQ(ota_blockdev_resolve(spec, &devno, path, sizeof(path), NULL), 0);
	part_path(expect, sizeof(expect), env("OTA_IT_GPT"), 2);
	ASSERT_STR_EQ(path, expect);
	ASSERT_TRUE(devno == rdev_of(expect));

	/* The kernel accepts root=PARTUUID= in either case. */
	snprintf(spec, sizeof(spec), "PARTUUID=%s", env("OTA_IT_P1_UUID"));
	for (char *c = spec + 9; *c; c++)
		if (*c >= 'a' && *c <= 'f')
			*c = (char)(*c - 'a' + 'A');
	ASSERT_INT_EQ(ota_blockdev_resolve(spec, &devno, path, sizeof(path), NULL), 0);
	part_path(expect, sizeof(expect), env("OTA_IT_GPT"), 1);
	ASSERT_STR_EQ(path, expect);
}

TEST(whole_disk_of_a_loop_partition)
{
	char p2[64], disk[64];
	dev_t d;
	part_path(p2, sizeof(p2), env("OTA_IT_GPT"), 2);
	ASSERT_INT_EQ(ota_blockdev_whole_disk(rdev_of(p2), &d, disk, sizeof(disk), NULL), 0);
	ASSERT_STR_EQ(disk, env("OTA_IT_GPT"));
	ASSERT_TRUE(d == rdev_of(env("OTA_IT_GPT")));
}

static int find_data_on(const char *disk, int system_partno, char *ret, size_t size, struct ota_error *err)
{
	struct ota_boot b;
	char sys[64];
	ota_boot_init(&b);
	b.disk_devno = rdev_of(disk);
	snprintf(b.disk_dev, sizeof(b.disk_dev), "%s", disk);
	part_path(sys, sizeof(sys), disk, system_partno);
	b.system_devno = rdev_of(sys);
	int r = ota_boot_find_data(&b, err);
	snprintf(ret, size, "%s", b.data_dev);
	ota_boot_done(&b);
	return r;
}

TEST(data_partition_by_gpt_name_before_label)
{
	char found[64], expect[64];
	ASSERT_INT_EQ(find_data_on(env("OTA_IT_GPT"), 1, found, sizeof(found), NULL), 0);
	part_path(expect, sizeof(expect), env("OTA_IT_GPT"), 4);
	ASSERT_STR_EQ(found, expect);
}

TEST(data_partition_by_label_on_mbr)
{
	char found[64], expect[64];
	ASSERT_INT_EQ(find_data_on(env("OTA_IT_MBR"), 1, found, sizeof(found), NULL), 0);
	part_path(expect, sizeof(expect), env("OTA_IT_MBR"), 2);
	ASSERT_STR_EQ(found, expect);
}

TEST(data_partition_never_the_booted_system)
{
	/* Booted from the MBR disk's data-labelled partition: nothing else
	 * qualifies, so there is no data partition. */
	char found[64];
	struct ota_error err = { 0 };
	ASSERT_INT_EQ(find_data_on(env("OTA_IT_MBR"), 2, found, sizeof(found), &err), -ENOENT);
	ASSERT_CONTAINS(err.msg, "no partition named or labelled 'data' on");
}

TEST(data_partition_from_explicit_spec)
{
	struct ota_boot b;
	char spec[128], expect[64];
	ota_boot_init(&b);
	snprintf(spec, sizeof(spec), "PARTLABEL=system-b-%s", env("OTA_IT_TAG"));
	b.cmdline.data = strdup(spec);
	ASSERT_INT_EQ(ota_boot_find_data(&b, NULL), 0);
	part_path(expect, sizeof(expect), env("OTA_IT_GPT"), 2);
	ASSERT_STR_EQ(b.data_dev, expect);
	ota_boot_done(&b);
}

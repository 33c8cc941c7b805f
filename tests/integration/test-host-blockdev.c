/* SPDX-License-Identifier: Apache-2.0 */
/* Device resolution against this machine's own block devices (sysfs and
 * libblkid, read-only; no root needed), so it needs a host with one: an
 * integration test, not a unit test. Loop-device cases with partition names
 * and labels: test-loop-devices.c; the pure cases: tests/unit/test-blockdev.c. */
#include <errno.h>
#include <limits.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "sysutil/sysutil.h"
#include "../unit/test.h"

/* Any block device the kernel lists, preferably the one under /. */
static int some_block_device(dev_t *ret)
{
	struct stat st;
	if (stat("/", &st) == 0 && major(st.st_dev) != 0) {
		char path[64];
		if (ota_blockdev_devpath(st.st_dev, path, sizeof(path), NULL) == 0) {
			*ret = st.st_dev;
			return 0;
		}
	}
	FILE *f = fopen("/proc/partitions", "re");
	if (!f)
		return -errno;
	char line[256];
	unsigned ma, mi;
	unsigned long long blocks;
	char name[64];
	int r = -ENODEV;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%u %u %llu %63s", &ma, &mi, &blocks, name) == 4) {
			*ret = makedev(ma, mi);
			r = 0;
			break;
		}
	fclose(f);
	return r;
}

TEST(devpath_and_resolve_round_trip)
{
	dev_t devno, back;
	char path[64], path2[64], majmin[32];
	ASSERT_INT_EQ(some_block_device(&devno), 0);
	ASSERT_INT_EQ(ota_blockdev_devpath(devno, path, sizeof(path), NULL), 0);
	ASSERT_TRUE(ota_startswith(path, "/dev/"));
	ASSERT_INT_EQ(ota_blockdev_resolve(path, &back, path2, sizeof(path2), NULL), 0);
	ASSERT_TRUE(back == devno);
	ASSERT_STR_EQ(path2, path);
	snprintf(majmin, sizeof(majmin), "%u:%u", major(devno), minor(devno));
	ASSERT_INT_EQ(ota_blockdev_resolve(majmin, &back, path2, sizeof(path2), NULL), 0);
	ASSERT_TRUE(back == devno);
	ASSERT_STR_EQ(path2, path);
}

TEST(whole_disk_of_a_device)
{
	dev_t devno, disk;
	char diskpath[64];
	ASSERT_INT_EQ(some_block_device(&devno), 0);
	ASSERT_INT_EQ(ota_blockdev_whole_disk(devno, &disk, diskpath, sizeof(diskpath), NULL), 0);
	ASSERT_TRUE(ota_startswith(diskpath, "/dev/"));
	struct ota_partition *parts = NULL;
	size_t n = 99;
	ASSERT_INT_EQ(ota_blockdev_list_partitions(disk, &parts, &n, NULL), 0);
	/* If devno is a partition, it must be among its disk's partitions. */
	bool found = devno == disk;
	for (size_t i = 0; i < n; i++)
		found = found || parts[i].devno == devno;
	free(parts);
	ASSERT_TRUE(found);
}

TEST(a_partition_overlaps_its_disk)
{
	dev_t devno, disk;
	char path[64], diskpath[64];
	ASSERT_INT_EQ(some_block_device(&devno), 0);
	ASSERT_INT_EQ(ota_blockdev_devpath(devno, path, sizeof(path), NULL), 0);
	ASSERT_INT_EQ(ota_blockdev_whole_disk(devno, &disk, diskpath, sizeof(diskpath), NULL), 0);
	struct ota_storage_extent p, d;
	ASSERT_INT_EQ(ota_storage_extent_of(path, &p, NULL), 0);
	ASSERT_INT_EQ(ota_storage_extent_of(diskpath, &d, NULL), 0);
	ASSERT_TRUE(p.size > 0);
	ASSERT_TRUE(ota_storage_extents_overlap(&p, &d));
	if (devno != disk) /* a partition: a part of its disk, from its start */
		ASSERT_TRUE(p.start > d.start && p.size < d.size);
}

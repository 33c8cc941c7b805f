/* Device resolution against this machine's real block devices (sysfs and
 * libblkid, read-only; no root needed). Loop-device cases with partition
 * names and labels are in tests/integration. */
#include <errno.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "sysutil/sysutil.h"
#include "test.h"

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

TEST(resolve_rejects_bad_specs)
{
	dev_t devno;
	struct ota_error err = { 0 };
	ASSERT_INT_EQ(ota_blockdev_resolve("sda1", &devno, NULL, 0, &err), -EINVAL);
	ASSERT_CONTAINS(err.msg, "unsupported device specification 'sda1'");
	ASSERT_INT_EQ(ota_blockdev_resolve("WHAT=x", &devno, NULL, 0, &err), -EINVAL);
	ASSERT_CONTAINS(err.msg, "unsupported device specification 'WHAT=x'");
	ASSERT_INT_EQ(ota_blockdev_resolve("", &devno, NULL, 0, &err), -EINVAL);
	ASSERT_INT_EQ(ota_blockdev_resolve("/dev/null", &devno, NULL, 0, &err), -ENOTBLK);
	ASSERT_CONTAINS(err.msg, "device '/dev/null'");
	ASSERT_INT_EQ(ota_blockdev_resolve("/dev/no-such-disk9", &devno, NULL, 0, &err), -ENOENT);
	ASSERT_INT_EQ(ota_blockdev_resolve("PARTLABEL=otaroot-no-such-partition", &devno, NULL, 0, &err), -ENODEV);
	ASSERT_CONTAINS(err.msg, "no block device matches 'PARTLABEL=otaroot-no-such-partition'");
	ASSERT_INT_EQ(ota_blockdev_resolve("PARTUUID=", &devno, NULL, 0, &err), -EINVAL);
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

/* SPDX-License-Identifier: Apache-2.0 */
/* Device specifications and storage identity, with no block device of this
 * machine's involved (those cases, which need one, are in
 * tests/integration/test-host-blockdev.c; loop devices with partition names
 * and labels in test-loop-devices.c). */
#include <errno.h>
#include <limits.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "sysutil/sysutil.h"
#include "test.h"

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

/* ---- storage identity ---- */

static struct ota_storage_extent ext(dev_t dev, ino_t ino, uint64_t start, uint64_t size)
{
	return (struct ota_storage_extent){ .dev = dev, .ino = ino, .start = start, .size = size };
}

TEST(extents_overlap_only_on_the_same_object_and_shared_bytes)
{
	struct ota_storage_extent a = ext(makedev(8, 0), 0, 1 << 20, 4 << 20);
	struct ota_storage_extent b = ext(makedev(8, 0), 0, 5 << 20, 4 << 20);   /* right after a */
	struct ota_storage_extent c = ext(makedev(8, 0), 0, (5 << 20) - 1, 1);   /* a's last byte */
	struct ota_storage_extent d = ext(makedev(8, 16), 0, 1 << 20, 4 << 20);  /* another disk */
	struct ota_storage_extent e = ext(makedev(8, 0), 12, 1 << 20, 4 << 20);  /* a file on it */
	struct ota_storage_extent whole = ext(makedev(8, 0), 0, 0, 64 << 20);
	ASSERT_TRUE(!ota_storage_extents_overlap(&a, &b));
	ASSERT_TRUE(!ota_storage_extents_overlap(&b, &a));
	ASSERT_TRUE(ota_storage_extents_overlap(&a, &c));
	ASSERT_TRUE(ota_storage_extents_overlap(&c, &a));
	ASSERT_TRUE(!ota_storage_extents_overlap(&a, &d));
	ASSERT_TRUE(!ota_storage_extents_overlap(&a, &e));
	ASSERT_TRUE(ota_storage_extents_overlap(&whole, &b));
	ASSERT_TRUE(ota_storage_extents_overlap(&a, &a));
}

TEST(extents_to_the_end_and_empty_ones)
{
	struct ota_storage_extent file = ext(makedev(254, 0), 77, 0, UINT64_MAX);
	struct ota_storage_extent far = ext(makedev(254, 0), 77, UINT64_MAX - 10, 5);
	struct ota_storage_extent past = ext(makedev(254, 0), 77, UINT64_MAX - 2, UINT64_MAX); /* end saturates */
	struct ota_storage_extent empty = ext(makedev(254, 0), 77, 0, 0); /* an unbound loop device */
	ASSERT_TRUE(ota_storage_extents_overlap(&file, &far));
	ASSERT_TRUE(ota_storage_extents_overlap(&far, &past) == false);
	ASSERT_TRUE(ota_storage_extents_overlap(&file, &past));
	ASSERT_TRUE(!ota_storage_extents_overlap(&file, &empty));
	ASSERT_TRUE(!ota_storage_extents_overlap(&empty, &empty));
}

TEST(extent_of_a_file_and_a_symlink_to_it)
{
	char dir[TEST_DIR_MAX], file[PATH_MAX], link[PATH_MAX], missing[PATH_MAX];
	ASSERT_INT_EQ(test_mkdtemp(dir, sizeof(dir), "extent"), 0);
	snprintf(file, sizeof(file), "%s/slot", dir);
	snprintf(link, sizeof(link), "%s/alias", dir);
	FILE *f = fopen(file, "we");
	ASSERT_TRUE(f != NULL);
	fputs("x", f);
	fclose(f);
	ASSERT_INT_EQ(symlink(file, link), 0);
	struct ota_storage_extent a, b;
	struct ota_error err = { 0 };
	int ra = ota_storage_extent_of(file, &a, NULL), rb = ota_storage_extent_of(link, &b, NULL);
	snprintf(missing, sizeof(missing), "%s/missing/x", dir);
	int rmissing = ota_storage_extent_of(missing, &b, &err);
	int rdir = ota_storage_extent_of(dir, &b, NULL);
	unlink(link);
	unlink(file);
	rmdir(dir);
	ASSERT_INT_EQ(ra, 0);
	ASSERT_INT_EQ(rb, 0);
	ASSERT_TRUE(a.ino != 0 && a.size == UINT64_MAX);
	ASSERT_TRUE(ota_storage_extents_overlap(&a, &b));
	ASSERT_INT_EQ(rmissing, -ENOENT);
	ASSERT_TRUE(strstr(err.msg, missing) != NULL);
	ASSERT_INT_EQ(rdir, -EINVAL);
}

/* SPDX-License-Identifier: Apache-2.0 */
/* Online growth of a mounted ext4 filesystem to its partition's size. */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/statfs.h>

#include "partitioner/partitioner.h"

#ifndef EXT4_IOC_RESIZE_FS
#define EXT4_IOC_RESIZE_FS _IOW('f', 16, uint64_t)
#endif

int ota_part_grow_mounted_fs(const char *mount_point, const char *device, struct ota_error *err)
{
	_cleanup_close_ int dev = open(device, O_RDONLY | O_CLOEXEC);
	if (dev < 0)
		return ota_error_errno(err, -errno, "open '%s'", device);
	uint64_t bytes;
	if (ioctl(dev, BLKGETSIZE64, &bytes) < 0)
		return ota_error_errno(err, -errno, "size of '%s'", device);
	_cleanup_close_ int fd = open(mount_point, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return ota_error_errno(err, -errno, "open '%s'", mount_point);
	struct statfs before, after;
	if (fstatfs(fd, &before) < 0)
		return ota_error_errno(err, -errno, "statfs '%s'", mount_point);
	uint64_t blocks = bytes / (uint64_t)before.f_bsize;
	/* Idempotent: asking for the current size is a no-op in the kernel, so
	 * a growth interrupted by a power cut simply happens at the next boot. */
	if (ioctl(fd, EXT4_IOC_RESIZE_FS, &blocks) < 0)
		return ota_error_errno(err, -errno, "grow the filesystem on '%s' to %llu blocks", mount_point,
				       (unsigned long long)blocks);
	if (fstatfs(fd, &after) < 0)
		return ota_error_errno(err, -errno, "statfs '%s'", mount_point);
	return after.f_blocks > before.f_blocks ? 1 : 0;
}

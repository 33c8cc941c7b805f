/* SPDX-License-Identifier: Apache-2.0 */
/* Block-device discovery without udev: sysfs for the kernel's view of disks
 * and partitions, libblkid for partition-table and filesystem metadata.
 * ota-init runs before any udev, so /dev/disk/by-* never exists here. */
#include <blkid.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/loop.h>
#include <linux/major.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "sysutil/sysutil.h"

/* Finds KEY=value in a sysfs uevent file. */
static int uevent_value(const char *uevent_path, const char *key, char *buf, size_t size)
{
	_cleanup_fclose_ FILE *f = fopen(uevent_path, "re");
	if (!f)
		return -errno;
	char line[256];
	size_t klen = strlen(key);
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		if (strncmp(line, key, klen) == 0 && line[klen] == '=')
			return ota_format(buf, size, "%s", line + klen + 1);
	}
	return -ENOENT;
}

int ota_blockdev_devpath(dev_t devno, char *buf, size_t size, struct ota_error *err)
{
	char uevent[64], name[64];
	if (ota_format(uevent, sizeof(uevent), "/sys/dev/block/%u:%u/uevent", major(devno), minor(devno)) < 0)
		return ota_error_set(err, -EINVAL, "bad device number");
	int r = uevent_value(uevent, "DEVNAME", name, sizeof(name));
	if (r < 0)
		return ota_error_errno(err, r, "no block device %u:%u in sysfs ('%s')", major(devno),
				       minor(devno), uevent);
	if (ota_format(buf, size, "/dev/%s", name) < 0)
		return ota_error_set(err, -ENAMETOOLONG, "device name too long: '%s'", name);
	return 0;
}

static int stat_blockdev(const char *path, dev_t *ret)
{
	struct stat st;
	if (stat(path, &st) < 0)
		return -errno;
	if (!S_ISBLK(st.st_mode))
		return -ENOTBLK;
	*ret = st.st_rdev;
	return 0;
}

/* /dev/<name> whose node is missing: the kernel still knows the name. */
static int devno_from_kernel_name(const char *name, dev_t *ret)
{
	char path[PATH_MAX], line[32];
	if (ota_format(path, sizeof(path), "/sys/class/block/%s/dev", name) < 0)
		return -ENAMETOOLONG;
	int r = ota_read_line(path, line, sizeof(line));
	if (r < 0)
		return r;
	unsigned ma, mi;
	if (sscanf(line, "%u:%u", &ma, &mi) != 2)
		return -EINVAL;
	*ret = makedev(ma, mi);
	return 0;
}

static int resolve_tag(const char *spec, char **ret_devname)
{
	static const char *const tags[] = { "PARTUUID=", "PARTLABEL=", "UUID=", "LABEL=" };
	for (size_t i = 0; i < OTA_ELEMENTSOF(tags); i++) {
		if (!ota_startswith(spec, tags[i]))
			continue;
		char token[16], value[128];
		size_t tlen = strlen(tags[i]) - 1;
		memcpy(token, tags[i], tlen);
		token[tlen] = '\0';
		if (ota_format(value, sizeof(value), "%s", spec + tlen + 1) < 0 || !value[0])
			return -EINVAL;
		/* The kernel matches PARTUUID case-insensitively; libblkid
		 * reports it lower-case. */
		if (i == 0)
			for (char *c = value; *c; c++)
				*c = (char)((*c >= 'A' && *c <= 'Z') ? *c - 'A' + 'a' : *c);
		/* A cache on /dev/null is never written back: no stray
		 * blkid.tab on a read-only or not-yet-mounted /run. */
		blkid_cache cache = NULL;
		if (blkid_get_cache(&cache, "/dev/null") < 0)
			return -ENOMEM;
		char *devname = blkid_evaluate_tag(token, value, &cache);
		blkid_put_cache(cache);
		if (!devname)
			return -ENODEV;
		*ret_devname = devname;
		return 0;
	}
	return -EINVAL;
}

int ota_blockdev_resolve(const char *spec, dev_t *ret_devno, char *ret_path, size_t path_size,
			 struct ota_error *err)
{
	dev_t devno = 0;
	char path[PATH_MAX];
	int r;
	unsigned ma, mi;
	char tail;

	if (!spec || !*spec)
		return ota_error_set(err, -EINVAL, "empty device specification");
	if (ota_startswith(spec, "/dev/")) {
		r = stat_blockdev(spec, &devno);
		if (r == -ENOENT && !strchr(spec + 5, '/'))
			r = devno_from_kernel_name(spec + 5, &devno);
		if (r < 0)
			return ota_error_errno(err, r, "device '%s'", spec);
		r = ota_blockdev_devpath(devno, path, sizeof(path), err);
	} else if (sscanf(spec, "%u:%u%c", &ma, &mi, &tail) == 2) {
		devno = makedev(ma, mi);
		r = ota_blockdev_devpath(devno, path, sizeof(path), err);
	} else if (strchr(spec, '=')) {
		_cleanup_free_ char *devname = NULL;
		r = resolve_tag(spec, &devname);
		if (r == -EINVAL)
			return ota_error_set(err, r, "unsupported device specification '%s' "
						     "(use /dev/..., PARTUUID=, PARTLABEL=, UUID=, LABEL= or MAJ:MIN)", spec);
		if (r < 0)
			return ota_error_set(err, r, "no block device matches '%s'", spec);
		r = stat_blockdev(devname, &devno);
		if (r < 0)
			return ota_error_errno(err, r, "device '%s' (from '%s')", devname, spec);
		r = ota_format(path, sizeof(path), "%s", devname);
	} else {
		return ota_error_set(err, -EINVAL, "unsupported device specification '%s' "
						   "(use /dev/..., PARTUUID=, PARTLABEL=, UUID=, LABEL= or MAJ:MIN)", spec);
	}
	if (r < 0)
		return r;
	if (ret_path && ota_format(ret_path, path_size, "%s", path) < 0)
		return ota_error_set(err, -ENAMETOOLONG, "device path too long: '%s'", path);
	*ret_devno = devno;
	return 0;
}

int ota_blockdev_whole_disk(dev_t part, dev_t *ret_disk, char *ret_path, size_t path_size,
			    struct ota_error *err)
{
	char name[64];
	dev_t disk;
	if (blkid_devno_to_wholedisk(part, name, sizeof(name), &disk) < 0)
		return ota_error_set(err, -ENODEV, "cannot find the disk of block device %u:%u", major(part),
				     minor(part));
	if (ret_path && ota_format(ret_path, path_size, "/dev/%s", name) < 0)
		return ota_error_set(err, -ENAMETOOLONG, "disk name too long: '%s'", name);
	*ret_disk = disk;
	return 0;
}

static void copy_str(char *dst, size_t size, const char *src)
{
	if (ota_format(dst, size, "%s", src ? src : "") < 0)
		dst[0] = '\0';
}

int ota_blockdev_probe_fs(const char *devpath, char *fstype, size_t fstype_size, char *label,
			  size_t label_size, struct ota_error *err)
{
	blkid_probe pr = blkid_new_probe_from_filename(devpath);
	if (!pr)
		return ota_error_errno(err, errno ? -errno : -EIO, "probe '%s'", devpath);
	blkid_probe_enable_superblocks(pr, 1);
	blkid_probe_set_superblocks_flags(pr, BLKID_SUBLKS_LABEL | BLKID_SUBLKS_TYPE);
	blkid_probe_enable_partitions(pr, 0);
	int r = blkid_do_safeprobe(pr);
	const char *type = NULL, *lab = NULL;
	if (r == 0) {
		(void)blkid_probe_lookup_value(pr, "TYPE", &type, NULL);
		(void)blkid_probe_lookup_value(pr, "LABEL", &lab, NULL);
	}
	copy_str(fstype, fstype_size, type);
	if (label)
		copy_str(label, label_size, lab);
	blkid_free_probe(pr);
	if (r == -2)
		return ota_error_set(err, -EUCLEAN, "'%s' carries signatures of more than one filesystem", devpath);
	if (r < 0)
		return ota_error_set(err, -EIO, "probing '%s' failed", devpath);
	return 0;
}

/* Partition names and PARTUUIDs as the table states them. */
static void fill_from_table(const char *diskpath, struct ota_partition *parts, size_t count)
{
	blkid_probe pr = blkid_new_probe_from_filename(diskpath);
	if (!pr)
		return;
	blkid_probe_enable_superblocks(pr, 0);
	blkid_probe_enable_partitions(pr, 1);
	blkid_partlist list = blkid_probe_get_partitions(pr);
	for (size_t i = 0; list && i < count; i++) {
		blkid_partition p = blkid_partlist_get_partition_by_partno(list, (int)parts[i].partno);
		if (!p)
			continue;
		if (blkid_partition_get_name(p))
			copy_str(parts[i].name, sizeof(parts[i].name), blkid_partition_get_name(p));
		copy_str(parts[i].partuuid, sizeof(parts[i].partuuid), blkid_partition_get_uuid(p));
	}
	blkid_free_probe(pr);
}

static int sysfs_u64(dev_t devno, const char *attr, uint64_t *ret)
{
	char path[96], line[32];
	if (ota_format(path, sizeof(path), "/sys/dev/block/%u:%u/%s", major(devno), minor(devno), attr) < 0)
		return -ENAMETOOLONG;
	int r = ota_read_line(path, line, sizeof(line));
	return r < 0 ? r : ota_parse_u64(line, ret);
}

/* Sectors of 512 bytes (sysfs "start" and "size", whatever the logical block
 * size) to bytes, refusing what does not fit 64 bits. */
static int sysfs_bytes(dev_t devno, const char *attr, uint64_t *ret)
{
	uint64_t sectors;
	int r = sysfs_u64(devno, attr, &sectors);
	if (r < 0)
		return r;
	if (sectors > UINT64_MAX / 512)
		return -EOVERFLOW;
	*ret = sectors * 512;
	return 0;
}

static int read_sysfs_partition(const char *diskdir, const char *entry, struct ota_partition *p)
{
	char path[PATH_MAX], line[64];
	unsigned ma, mi;
	uint64_t partno;

	if (ota_format(path, sizeof(path), "%s/%s/partition", diskdir, entry) < 0)
		return -ENAMETOOLONG;
	if (ota_read_line(path, line, sizeof(line)) < 0)
		return -ENOENT; /* not a partition (queue/, holders/, ...) */
	if (ota_parse_u64(line, &partno) < 0 || partno == 0 || partno > UINT32_MAX)
		return -EINVAL;
	if (ota_format(path, sizeof(path), "%s/%s/dev", diskdir, entry) < 0)
		return -ENAMETOOLONG;
	int r = ota_read_line(path, line, sizeof(line));
	if (r < 0)
		return r;
	if (sscanf(line, "%u:%u", &ma, &mi) != 2)
		return -EINVAL;
	memset(p, 0, sizeof(*p));
	p->partno = (unsigned)partno;
	p->devno = makedev(ma, mi);
	r = sysfs_bytes(p->devno, "start", &p->start);
	if (r == 0)
		r = sysfs_bytes(p->devno, "size", &p->size);
	if (r < 0)
		return r;
	if (ota_format(p->devpath, sizeof(p->devpath), "/dev/%s", entry) < 0)
		return -ENAMETOOLONG;
	/* The kernel's own copy of the GPT name, in case libblkid cannot read
	 * the table (it is replaced by libblkid's below when available). */
	if (ota_format(path, sizeof(path), "%s/%s/uevent", diskdir, entry) == 0)
		(void)uevent_value(path, "PARTNAME", p->name, sizeof(p->name));
	return 0;
}

static int by_partno(const void *a, const void *b)
{
	const struct ota_partition *x = a, *y = b;
	return (x->partno > y->partno) - (x->partno < y->partno);
}

int ota_blockdev_list_partitions(dev_t disk, struct ota_partition **ret, size_t *ret_count,
				 struct ota_error *err)
{
	char diskdir[PATH_MAX], diskpath[PATH_MAX];
	if (ota_format(diskdir, sizeof(diskdir), "/sys/dev/block/%u:%u", major(disk), minor(disk)) < 0)
		return ota_error_set(err, -EINVAL, "bad disk device number");
	int r = ota_blockdev_devpath(disk, diskpath, sizeof(diskpath), err);
	if (r < 0)
		return r;

	_cleanup_closedir_ DIR *dir = opendir(diskdir);
	if (!dir)
		return ota_error_errno(err, -errno, "open '%s'", diskdir);
	_cleanup_free_ struct ota_partition *parts = NULL;
	size_t count = 0, cap = 0;
	struct dirent *de;
	while ((de = readdir(dir))) {
		if (de->d_name[0] == '.')
			continue;
		struct ota_partition p;
		if (read_sysfs_partition(diskdir, de->d_name, &p) < 0)
			continue;
		if (count == cap) {
			size_t ncap = cap ? cap * 2 : 8;
			struct ota_partition *np = reallocarray(parts, ncap, sizeof(*np));
			if (!np)
				return ota_error_set(err, -ENOMEM, "out of memory listing '%s'", diskpath);
			parts = np;
			cap = ncap;
		}
		parts[count++] = p;
	}
	if (count)
		qsort(parts, count, sizeof(*parts), by_partno);
	fill_from_table(diskpath, parts, count);
	for (size_t i = 0; i < count; i++)
		(void)!ota_blockdev_probe_fs(parts[i].devpath, parts[i].fstype, sizeof(parts[i].fstype),
					    parts[i].label, sizeof(parts[i].label), NULL);
	*ret = TAKE_PTR(parts);
	*ret_count = count;
	return 0;
}

/* ---- storage identity ---------------------------------------------------------
 *
 * A slot is named by a path (a file, /dev/...) or a tag (PARTLABEL=...), and
 * several names can lead to the same bytes. Names are compared by what they
 * end on: a file by (st_dev, inode), a disk by its device number, each with
 * the byte range the name covers. A partition is its disk from its start; a
 * bound loop device is its backing file from its offset. */

/* A description for messages; truncation is acceptable there. */
_printf_(2, 3) static void describe(struct ota_storage_extent *e, const char *fmt, ...)
{
	size_t l = strnlen(e->via, sizeof(e->via));
	va_list ap;
	va_start(ap, fmt);
	(void)vsnprintf(e->via + l, sizeof(e->via) - l, fmt, ap);
	va_end(ap);
}

/* The kernel reports a loop's lo_device as huge_encode_dev(): the low byte
 * of the minor, then 12 bits of major, then the rest of the minor. */
static dev_t decode_huge_dev(uint64_t v)
{
	return makedev((unsigned)((v & 0xfff00u) >> 8), (unsigned)((v & 0xffu) | ((v >> 12) & 0xfff00u)));
}

/* A whole disk: itself, unless it is a bound loop device (its backing file). */
static int disk_extent(dev_t disk, const char *devpath, struct ota_storage_extent *ret, struct ota_error *err)
{
	uint64_t size;
	int r = sysfs_bytes(disk, "size", &size);
	if (r < 0)
		return ota_error_errno(err, r, "size of '%s' in sysfs", devpath);
	*ret = (struct ota_storage_extent){ .dev = disk, .ino = 0, .start = 0, .size = size };
	if (major(disk) != LOOP_MAJOR) {
		describe(ret, "disk %s (%u:%u)", devpath, major(disk), minor(disk));
		return 0;
	}
	/* O_NONBLOCK: no media wait; read-only, not exclusive: only asked. */
	_cleanup_close_ int fd = open(devpath, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return ota_error_errno(err, -errno, "open loop device '%s'", devpath);
	struct loop_info64 info;
	if (ioctl(fd, LOOP_GET_STATUS64, &info) < 0) {
		if (errno != ENXIO)
			return ota_error_errno(err, -errno, "loop status of '%s'", devpath);
		/* Not bound: no backing file, nothing to share. */
		describe(ret, "unbound loop device %s", devpath);
		return 0;
	}
	info.lo_file_name[LO_NAME_SIZE - 1] = '\0';
	ret->dev = decode_huge_dev(info.lo_device);
	ret->ino = (ino_t)info.lo_inode;
	ret->start = info.lo_offset;
	describe(ret, "loop device %s over '%s' (inode %llu on %u:%u) at offset %llu",
		       devpath, (const char *)info.lo_file_name, (unsigned long long)info.lo_inode, major(ret->dev),
		       minor(ret->dev), (unsigned long long)info.lo_offset);
	return 0;
}

static int blockdev_extent(dev_t devno, struct ota_storage_extent *ret, struct ota_error *err)
{
	char devpath[PATH_MAX];
	int r = ota_blockdev_devpath(devno, devpath, sizeof(devpath), err);
	if (r < 0)
		return r;
	uint64_t start, size;
	r = sysfs_bytes(devno, "start", &start);
	if (r == -ENOENT) /* no "start": a whole disk */
		return disk_extent(devno, devpath, ret, err);
	if (r < 0 || (r = sysfs_bytes(devno, "size", &size)) < 0)
		return ota_error_errno(err, r, "start and size of partition '%s' in sysfs", devpath);
	dev_t disk;
	char diskpath[PATH_MAX];
	r = ota_blockdev_whole_disk(devno, &disk, diskpath, sizeof(diskpath), err);
	if (r < 0)
		return r;
	struct ota_storage_extent d;
	r = disk_extent(disk, diskpath, &d, err);
	if (r < 0)
		return r;
	if (__builtin_add_overflow(d.start, start, &d.start))
		return ota_error_set(err, -EOVERFLOW, "partition '%s': start out of range", devpath);
	d.size = size;
	describe(&d, ", partition %s from byte %llu", devpath, (unsigned long long)start);
	*ret = d;
	return 0;
}

int ota_storage_extent_of(const char *path, struct ota_storage_extent *ret, struct ota_error *err)
{
	struct stat st;
	if (stat(path, &st) < 0)
		return ota_error_errno(err, -errno, "stat '%s'", path);
	if (S_ISBLK(st.st_mode))
		return blockdev_extent(st.st_rdev, ret, err);
	if (!S_ISREG(st.st_mode))
		return ota_error_set(err, -EINVAL, "'%s' is neither a regular file nor a block device", path);
	*ret = (struct ota_storage_extent){ .dev = st.st_dev, .ino = st.st_ino, .start = 0, .size = UINT64_MAX };
	describe(ret, "file '%s' (inode %llu on %u:%u)", path,
		       (unsigned long long)st.st_ino, major(st.st_dev), minor(st.st_dev));
	return 0;
}

static uint64_t extent_end(const struct ota_storage_extent *e)
{
	uint64_t end;
	return __builtin_add_overflow(e->start, e->size, &end) ? UINT64_MAX : end;
}

bool ota_storage_extents_overlap(const struct ota_storage_extent *a, const struct ota_storage_extent *b)
{
	if (a->dev != b->dev || a->ino != b->ino || a->size == 0 || b->size == 0)
		return false;
	return a->start < extent_end(b) && b->start < extent_end(a);
}

/* SPDX-License-Identifier: Apache-2.0 */
/* The disk image: a GPT written with libfdisk (every GUID fixed, so the
 * table is the same bytes each time) holding the ESP and system-a; the file
 * is sparse, with room for nothing else: layout.conf makes the device's
 * first boot append system-b and data. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libfdisk/libfdisk.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "image/image-private.h"
#include "partitioner/partitioner.h"

OTA_DEFINE_CLEANUP_FUNC(struct fdisk_context *, fdisk_unref_context)
OTA_DEFINE_CLEANUP_FUNC(struct fdisk_partition *, fdisk_unref_partition)

#define SECTOR 512u

struct part {
	const char *name;   /* its layout.conf name (and type) */
	uint64_t start, size;
};

static int add_partition(struct fdisk_context *cxt, const struct ota_image_ctx *c, size_t partno0,
			 const struct part *p, const struct ota_layout *l, struct ota_error *err)
{
	const char *guid = NULL;
	for (size_t i = 0; i < l->n_parts; i++)
		if (ota_streq(l->parts[i].name, p->name))
			guid = l->parts[i].gpt_type;
	if (!guid)
		return ota_error_set(err, -EINVAL, "layout.conf has no partition %s", p->name);
	char uuid[37];
	ota_image_uuid(c->desc->compatible, p->name, uuid);
	_cleanup_(fdisk_unref_partitionp) struct fdisk_partition *pa = fdisk_new_partition();
	struct fdisk_parttype *t = fdisk_label_get_parttype_from_string(fdisk_get_label(cxt, NULL), guid);
	if (!t)
		t = fdisk_new_unknown_parttype(0, guid);
	if (!pa || !t)
		return ota_error_set(err, -ENOMEM, "out of memory");
	fdisk_partition_size_explicit(pa, 1);
	int r = fdisk_partition_set_partno(pa, partno0);
	if (r >= 0)
		r = fdisk_partition_set_start(pa, p->start / SECTOR);
	if (r >= 0)
		r = fdisk_partition_set_size(pa, p->size / SECTOR);
	if (r >= 0)
		r = fdisk_partition_set_name(pa, p->name);
	if (r >= 0)
		r = fdisk_partition_set_uuid(pa, uuid);
	if (r >= 0)
		r = fdisk_partition_set_type(pa, t);
	fdisk_unref_parttype(t);
	if (r >= 0)
		r = fdisk_add_partition(cxt, pa, NULL);
	if (r < 0)
		return ota_error_errno(err, r, "adding partition %s", p->name);
	return 0;
}

static int write_table(const struct ota_image_ctx *c, const char *out, const struct part *parts, size_t n,
		       const struct ota_layout *l, struct ota_error *err)
{
	char disk_id[37];
	ota_image_uuid(c->desc->compatible, "disk", disk_id);
	_cleanup_(fdisk_unref_contextp) struct fdisk_context *cxt = fdisk_new_context();
	if (!cxt)
		return ota_error_set(err, -ENOMEM, "out of memory");
	int r = fdisk_assign_device(cxt, out, 0);
	if (r < 0)
		return ota_error_errno(err, r, "libfdisk: opening %s", out);
	if ((r = fdisk_create_disklabel(cxt, "gpt")) < 0 || (r = fdisk_set_disklabel_id_from_string(cxt, disk_id)) < 0)
		return ota_error_errno(err, r, "libfdisk: creating the GPT on %s", out);
	for (size_t i = 0; i < n; i++)
		if ((r = add_partition(cxt, c, i, &parts[i], l, err)) < 0)
			return r;
	if ((r = fdisk_write_disklabel(cxt)) < 0)
		return ota_error_errno(err, r, "libfdisk: writing the GPT to %s", out);
	if ((r = fdisk_deassign_device(cxt, 0)) < 0)
		return ota_error_errno(err, r, "libfdisk: closing %s", out);
	return 0;
}

static bool all_zero(const uint8_t *p, size_t n)
{
	return n == 0 || (p[0] == 0 && memcmp(p, p + 1, n - 1) == 0);
}

/* Copies the file src to offset in fd, skipping zero blocks: they stay holes
 * in the sparse image (and out of its bmap). */
static int copy_into(int fd, const char *src, uint64_t offset, uint64_t max, struct ota_error *err)
{
	enum { BLOCK = 1 << 20 };
	_cleanup_close_ int in = open(src, O_RDONLY | O_CLOEXEC);
	_cleanup_free_ uint8_t *buf = malloc(BLOCK);
	if (in < 0)
		return ota_error_errno(err, -errno, "opening %s", src);
	if (!buf)
		return ota_error_set(err, -ENOMEM, "out of memory");
	for (uint64_t pos = 0;; pos += BLOCK) {
		ssize_t n = ota_read_full(in, buf, BLOCK);
		if (n < 0)
			return ota_error_errno(err, (int)n, "reading %s", src);
		if (n == 0)
			return 0;
		if (pos + (uint64_t)n > max)
			return ota_error_set(err, -ENOSPC, "%s is larger than its partition (%" PRIu64 " bytes)", src, max);
		int r = all_zero(buf, (size_t)n) ? 0 : ota_pwrite_all(fd, buf, (size_t)n, offset + pos);
		if (r < 0)
			return ota_error_errno(err, r, "writing the disk image");
	}
}

int ota_image_write_disk(struct ota_image_ctx *c, const char *out, const char *esp, const char *system,
			 uint64_t slot_size, struct ota_error *err)
{
	_cleanup_free_ char *layout_text = NULL;
	struct ota_layout l;
	int r = ota_image_layout_conf(c->desc, slot_size, &layout_text, err);
	if (r < 0 || (r = ota_layout_parse(&l, layout_text, "layout.conf", err)) < 0)
		return r;
	const struct part parts[] = {
		{ "esp", OTA_IMAGE_ALIGN, c->desc->esp_size },
		{ "system-a", OTA_IMAGE_ALIGN + c->desc->esp_size, slot_size },
	};
	/* One MiB after the last partition: the backup GPT (33 sectors). */
	uint64_t size = parts[1].start + parts[1].size + OTA_IMAGE_ALIGN;
	ota_image_progress(c, "writing the disk image (%" PRIu64 " MiB: esp %" PRIu64 " MiB, system-a %" PRIu64
			   " MiB)", size >> 20, parts[0].size >> 20, parts[1].size >> 20);
	{
		_cleanup_close_ int fd = open(out, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
		if (fd < 0)
			return ota_error_errno(err, -errno, "creating %s", out);
		if (ftruncate(fd, (off_t)size) < 0)
			return ota_error_errno(err, -errno, "sizing %s", out);
	}
	if ((r = write_table(c, out, parts, OTA_ELEMENTSOF(parts), &l, err)) < 0)
		return r;
	_cleanup_close_ int fd = open(out, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return ota_error_errno(err, -errno, "opening %s", out);
	if ((r = copy_into(fd, esp, parts[0].start, parts[0].size, err)) < 0 ||
	    (r = copy_into(fd, system, parts[1].start, parts[1].size, err)) < 0)
		return r;
	if (fsync(fd) < 0)
		return ota_error_errno(err, -errno, "syncing %s", out);
	return 0;
}

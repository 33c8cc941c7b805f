/* SPDX-License-Identifier: Apache-2.0 */
/* The disk image: the partition table of layout.conf's type written with
 * libfdisk (every id fixed, so the table is the same bytes each time)
 * holding the target's boot partitions and system-a; the file is sparse,
 * with room for nothing else: layout.conf makes the device's first boot
 * append the rest. An MBR of more than four partitions numbers them as the
 * partitioner does: three primaries, the extended partition 4 (reaching the
 * image's end; the first boot grows it), logical ones from 5. */
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

#define GPT_ATTR_LEGACY_BIOS_BOOTABLE (1ull << 2)
#define MBR_TYPE_EXTENDED 0x05

/* A partition placed on the disk: partno0 is libfdisk's 0-based number. */
struct placed {
	const char *name;   /* its layout.conf name; NULL: the MBR's extended partition */
	size_t partno0;
	uint64_t start, size;
	bool bootable;
	const char *image;
};

uint32_t ota_image_mbr_id(const char *compatible)
{
	char uuid[37];
	ota_image_uuid(compatible, "mbr-disk-signature", uuid);
	uuid[8] = '\0';
	uint32_t id = (uint32_t)strtoul(uuid, NULL, 16);
	return id ? id : 1;
}

static struct fdisk_parttype *type_of(struct fdisk_context *cxt, const struct placed *p, const struct ota_layout *l)
{
	struct fdisk_label *label = fdisk_get_label(cxt, NULL);
	if (!p->name)
		return fdisk_label_get_parttype_from_code(label, MBR_TYPE_EXTENDED);
	for (size_t i = 0; i < l->n_parts; i++) {
		if (!ota_streq(l->parts[i].name, p->name))
			continue;
		if (l->table == OTA_TABLE_MBR) {
			struct fdisk_parttype *t = fdisk_label_get_parttype_from_code(label, l->parts[i].mbr_type);
			return t ? t : fdisk_new_unknown_parttype(l->parts[i].mbr_type, NULL);
		}
		struct fdisk_parttype *t = fdisk_label_get_parttype_from_string(label, l->parts[i].gpt_type);
		return t ? t : fdisk_new_unknown_parttype(0, l->parts[i].gpt_type);
	}
	return NULL;
}

static int add_partition(struct fdisk_context *cxt, const struct ota_image_ctx *c, const struct placed *p,
			 const struct ota_layout *l, struct ota_error *err)
{
	const char *what = p->name ? p->name : "extended";
	struct fdisk_parttype *t = type_of(cxt, p, l);
	if (!t)
		return ota_error_set(err, -EINVAL, "layout.conf has no partition %s", what);
	_cleanup_(fdisk_unref_partitionp) struct fdisk_partition *pa = fdisk_new_partition();
	if (!pa) {
		fdisk_unref_parttype(t);
		return ota_error_set(err, -ENOMEM, "out of memory");
	}
	fdisk_partition_size_explicit(pa, 1);
	int r = fdisk_partition_set_partno(pa, p->partno0);
	if (r >= 0)
		r = fdisk_partition_set_start(pa, p->start / SECTOR);
	if (r >= 0)
		r = fdisk_partition_set_size(pa, p->size / SECTOR);
	if (r >= 0 && l->table == OTA_TABLE_GPT) {
		char uuid[37];
		ota_image_uuid(c->desc->compatible, p->name, uuid);
		r = fdisk_partition_set_name(pa, p->name);
		if (r >= 0)
			r = fdisk_partition_set_uuid(pa, uuid);
	}
	if (r >= 0)
		r = fdisk_partition_set_type(pa, t);
	fdisk_unref_parttype(t);
	if (r >= 0)
		r = fdisk_add_partition(cxt, pa, NULL);
	if (r >= 0 && p->bootable)
		r = l->table == OTA_TABLE_GPT
			    ? fdisk_gpt_set_partition_attrs(cxt, p->partno0, GPT_ATTR_LEGACY_BIOS_BOOTABLE)
			    : fdisk_toggle_partition_flag(cxt, p->partno0, DOS_FLAG_ACTIVE);
	if (r < 0)
		return ota_error_errno(err, r, "adding partition %s", what);
	return 0;
}

static int write_table(const struct ota_image_ctx *c, const char *out, const struct placed *parts, size_t n,
		       const struct ota_layout *l, struct ota_error *err)
{
	bool gpt = l->table == OTA_TABLE_GPT;
	char disk_id[37];
	if (gpt)
		ota_image_uuid(c->desc->compatible, "disk", disk_id);
	else
		(void)snprintf(disk_id, sizeof(disk_id), "0x%08" PRIx32, ota_image_mbr_id(c->desc->compatible));
	_cleanup_(fdisk_unref_contextp) struct fdisk_context *cxt = fdisk_new_context();
	if (!cxt)
		return ota_error_set(err, -ENOMEM, "out of memory");
	int r = fdisk_assign_device(cxt, out, 0);
	if (r < 0)
		return ota_error_errno(err, r, "libfdisk: opening %s", out);
	if ((r = fdisk_create_disklabel(cxt, gpt ? "gpt" : "dos")) < 0 ||
	    (r = fdisk_set_disklabel_id_from_string(cxt, disk_id)) < 0)
		return ota_error_errno(err, r, "libfdisk: creating the %s on %s", gpt ? "GPT" : "MBR", out);
	for (size_t i = 0; i < n; i++)
		if ((r = add_partition(cxt, c, &parts[i], l, err)) < 0)
			return r;
	if ((r = fdisk_write_disklabel(cxt)) < 0)
		return ota_error_errno(err, r, "libfdisk: writing the partition table to %s", out);
	if ((r = fdisk_deassign_device(cxt, 0)) < 0)
		return ota_error_errno(err, r, "libfdisk: closing %s", out);
	return 0;
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
		int r = ota_all_zero(buf, (size_t)n) ? 0 : ota_pwrite_all(fd, buf, (size_t)n, offset + pos);
		if (r < 0)
			return ota_error_errno(err, r, "writing the disk image");
	}
}

static size_t layout_index(const struct ota_layout *l, const char *name)
{
	for (size_t i = 0; i < l->n_parts; i++)
		if (ota_streq(l->parts[i].name, name))
			return i;
	return l->n_parts;
}

/* Places parts one after the other from 1 MiB, numbered as layout.conf
 * numbers them; an MBR's extended partition is added before the first
 * logical one (a MiB for its EBR in front of that). Returns the count. */
static int place(const struct ota_image_part *parts, size_t n, const struct ota_layout *l, struct placed *out,
		 uint64_t *ret_end, struct ota_error *err)
{
	bool extended = l->table == OTA_TABLE_MBR && l->n_parts > 4;
	uint64_t pos = OTA_IMAGE_ALIGN;
	size_t m = 0;
	for (size_t i = 0; i < n; i++) {
		size_t k = layout_index(l, parts[i].name);
		if (k == l->n_parts || k != i)
			return ota_error_set(err, -EINVAL, "layout.conf's partition %zu is not %s", i + 1, parts[i].name);
		if (extended && k == 3) {
			out[m++] = (struct placed){ .partno0 = 3, .start = pos };
			pos += OTA_IMAGE_ALIGN;
		}
		out[m++] = (struct placed){ .name = parts[i].name, .partno0 = extended && k >= 3 ? k + 1 : k,
					    .start = pos, .size = parts[i].size, .bootable = parts[i].bootable,
					    .image = parts[i].image };
		pos += parts[i].size;
	}
	/* One MiB after the last partition: a GPT's backup (33 sectors). */
	*ret_end = pos + OTA_IMAGE_ALIGN;
	for (size_t i = 0; i < m; i++)
		if (!out[i].name)
			out[i].size = *ret_end - out[i].start;
	return (int)m;
}

int ota_image_write_disk(struct ota_image_ctx *c, const char *out, const struct ota_image_part *boot, size_t n_boot,
			 const char *system, uint64_t slot_size, struct ota_error *err)
{
	_cleanup_free_ char *layout_text = NULL;
	struct ota_layout l;
	int r = ota_image_layout_conf(c->desc, slot_size, &layout_text, err);
	if (r < 0 || (r = ota_layout_parse(&l, layout_text, "layout.conf", err)) < 0)
		return r;
	struct ota_image_part parts[OTA_IMAGE_MAX_PARTS + 1];
	struct placed placed[OTA_IMAGE_MAX_PARTS + 2];
	if (n_boot > OTA_IMAGE_MAX_PARTS)
		return -E2BIG;
	memcpy(parts, boot, n_boot * sizeof(*parts));
	parts[n_boot] = (struct ota_image_part){ .name = "system-a", .size = slot_size };
	if (ota_format(parts[n_boot].image, sizeof(parts[n_boot].image), "%s", system) < 0)
		return -ENAMETOOLONG;
	uint64_t size = 0;
	int n = place(parts, n_boot + 1, &l, placed, &size, err);
	if (n < 0)
		return n;
	ota_image_progress(c, "writing the disk image (%" PRIu64 " MiB, %s)", size >> 20,
			   l.table == OTA_TABLE_GPT ? "GPT" : "MBR");
	{
		_cleanup_close_ int fd = open(out, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
		if (fd < 0)
			return ota_error_errno(err, -errno, "creating %s", out);
		if (ftruncate(fd, (off_t)size) < 0)
			return ota_error_errno(err, -errno, "sizing %s", out);
	}
	if ((r = write_table(c, out, placed, (size_t)n, &l, err)) < 0)
		return r;
	_cleanup_close_ int fd = open(out, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return ota_error_errno(err, -errno, "opening %s", out);
	for (int i = 0; i < n; i++)
		if (placed[i].image && placed[i].image[0] &&
		    (r = copy_into(fd, placed[i].image, placed[i].start, placed[i].size, err)) < 0)
			return r;
	if (fsync(fd) < 0)
		return ota_error_errno(err, -errno, "syncing %s", out);
	return 0;
}

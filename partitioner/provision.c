/* SPDX-License-Identifier: Apache-2.0 */
/* Planning and applying a layout with libfdisk; see partitioner.h for the
 * rules and the crash-safety argument. */
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <libfdisk.h>
#include <limits.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>

#include "partitioner/partitioner.h"

OTA_DEFINE_CLEANUP_FUNC(struct fdisk_context *, fdisk_unref_context)
OTA_DEFINE_CLEANUP_FUNC(struct fdisk_table *, fdisk_unref_table)
OTA_DEFINE_CLEANUP_FUNC(struct fdisk_partition *, fdisk_unref_partition)

struct existing {
	bool present;
	unsigned partno0;     /* libfdisk's 0-based number */
	uint64_t start, size; /* sectors */
	bool pending;
};

struct job {
	struct fdisk_context *cxt;
	const struct ota_layout *l;
	const char *device;
	struct ota_part_plan *plan;
	struct ota_error *err;
	struct existing ex[OTA_LAYOUT_MAX_PARTS];
	size_t n_existing;     /* the matched prefix */
	bool has_extended;
	unsigned long ss;      /* sector size */
	bool image;            /* an image file, not a block device */
};

bool ota_part_plan_has_work(const struct ota_part_plan *p)
{
	if (p->table_changes)
		return true;
	for (size_t i = 0; i < p->n_actions; i++)
		if (p->actions[i].kind != OTA_PART_KEEP || p->actions[i].grow_fs)
			return true;
	return false;
}

/* ---- numbering ------------------------------------------------------------ */

/* MBR with more than four partitions: three primaries, the extended one as
 * number 4 (0-based 3), the rest logical from 5 on, as genimage lays it out. */
static bool uses_extended(const struct ota_layout *l)
{
	return l->table == OTA_TABLE_MBR && l->n_parts > 4;
}

static unsigned partno_of_index(const struct ota_layout *l, size_t i)
{
	return (unsigned)(uses_extended(l) && i >= 3 ? i + 1 : i);
}

static int index_of_partno(const struct ota_layout *l, unsigned partno0, size_t *ret)
{
	size_t i = uses_extended(l) && partno0 >= 4 ? partno0 - 1 : partno0;
	if (uses_extended(l) && partno0 == 3)
		return -ENOENT; /* the extended container */
	if (i >= l->n_parts)
		return -ENOENT;
	*ret = i;
	return 0;
}

/* ---- types ------------------------------------------------------------------ */

static struct fdisk_parttype *make_type(struct fdisk_context *cxt, const struct ota_layout *l,
					const struct ota_layout_part *p, bool pending)
{
	struct fdisk_label *lb = fdisk_get_label(cxt, NULL);
	if (l->table == OTA_TABLE_GPT) {
		const char *guid = pending ? OTA_PART_PENDING_GUID : p->gpt_type;
		struct fdisk_parttype *t = fdisk_label_get_parttype_from_string(lb, guid);
		return t ? t : fdisk_new_unknown_parttype(0, guid);
	}
	unsigned code = pending ? OTA_PART_PENDING_MBR : p->mbr_type;
	struct fdisk_parttype *t = fdisk_label_get_parttype_from_code(lb, code);
	return t ? t : fdisk_new_unknown_parttype(code, NULL);
}

static bool type_is(struct fdisk_partition *pa, const struct ota_layout *l, const char *guid, unsigned code)
{
	struct fdisk_parttype *t = fdisk_partition_get_type(pa);
	if (!t)
		return false;
	if (l->table == OTA_TABLE_GPT)
		return fdisk_parttype_get_string(t) && strcasecmp(fdisk_parttype_get_string(t), guid) == 0;
	return fdisk_parttype_get_code(t) == code;
}

static const char *type_text(struct fdisk_partition *pa, char *buf, size_t size)
{
	struct fdisk_parttype *t = fdisk_partition_get_type(pa);
	if (!t)
		return "none";
	if (fdisk_parttype_get_string(t))
		(void)!ota_format(buf, size, "%s", fdisk_parttype_get_string(t));
	else
		(void)!ota_format(buf, size, "0x%02x", fdisk_parttype_get_code(t));
	return buf;
}

/* ---- matching the disk against the layout ---------------------------------- */

static int mismatch(struct job *j, const char *fmt, ...) _printf_(2, 3);
static int mismatch(struct job *j, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return ota_error_set(j->err, -EUCLEAN, "%s: %s; the disk is left as it is", j->device, msg);
}

static int match_one(struct job *j, struct fdisk_partition *pa)
{
	const struct ota_layout *l = j->l;
	unsigned partno0 = (unsigned)fdisk_partition_get_partno(pa);
	char tbuf[64], want[64];
	size_t i;

	if (fdisk_partition_is_container(pa)) {
		if (!uses_extended(l) || partno0 != 3)
			return mismatch(j, "partition %u is an extended partition the layout does not declare", partno0 + 1);
		j->has_extended = true;
		return 0;
	}
	if (index_of_partno(l, partno0, &i) < 0)
		return mismatch(j, "partition %u is not in the layout (it declares %zu)", partno0 + 1, l->n_parts);
	const struct ota_layout_part *p = &l->parts[i];
	bool pending = type_is(pa, l, OTA_PART_PENDING_GUID, OTA_PART_PENDING_MBR);
	if (!pending && !type_is(pa, l, p->gpt_type, p->mbr_type)) {
		if (l->table == OTA_TABLE_GPT)
			(void)!ota_format(want, sizeof(want), "%s", p->gpt_type);
		else
			(void)!ota_format(want, sizeof(want), "0x%02x", p->mbr_type);
		return mismatch(j, "partition %u has type %s, the layout declares %s for '%s'", partno0 + 1,
				type_text(pa, tbuf, sizeof(tbuf)), want, p->name);
	}
	const char *name = fdisk_partition_get_name(pa);
	name = name ? name : "";
	if (l->table == OTA_TABLE_GPT && strcmp(name, p->name) != 0) {
		/* Older ota-part versions wrote a long name cut to 36 units and a
		 * name above U+FFFF as none; the layout now refuses both, so say
		 * how to bring either side in line. */
		char other[OTA_PART_NAME_SIZE + 64] = "";
		if (*name)
			(void)!ota_format(other, sizeof(other), ", or change the layout's name to '%s'", name);
		return mismatch(j, "partition %u is named '%s', the layout declares '%s' (rename the partition with "
				"'sfdisk --part-label %s %u \"%s\"'%s)",
				partno0 + 1, name, p->name, j->device, partno0 + 1, p->name, other);
	}
	j->ex[i] = (struct existing){ .present = true,
				      .partno0 = partno0,
				      .start = fdisk_partition_get_start(pa),
				      .size = fdisk_partition_get_size(pa),
				      .pending = pending };
	return 0;
}

static int match_disk(struct job *j)
{
	_cleanup_(fdisk_unref_tablep) struct fdisk_table *tb = NULL;
	struct fdisk_partition *pa;
	struct fdisk_iter *itr;
	int r;

	if (fdisk_get_partitions(j->cxt, &tb) < 0)
		return ota_error_set(j->err, -EIO, "%s: cannot read the partition table", j->device);
	itr = fdisk_new_iter(FDISK_ITER_FORWARD);
	if (!itr)
		return ota_error_set(j->err, -ENOMEM, "out of memory");
	r = 0;
	while (r == 0 && fdisk_table_next_partition(tb, itr, &pa) == 0)
		r = match_one(j, pa);
	fdisk_free_iter(itr);
	if (r < 0)
		return r;
	/* Existing partitions must be a prefix of the layout, without holes. */
	while (j->n_existing < j->l->n_parts && j->ex[j->n_existing].present)
		j->n_existing++;
	for (size_t i = j->n_existing; i < j->l->n_parts; i++)
		if (j->ex[i].present)
			return mismatch(j, "partition %u ('%s') exists but '%s' before it does not",
					partno_of_index(j->l, i) + 1, j->l->parts[i].name, j->l->parts[j->n_existing].name);
	if (uses_extended(j->l) && j->n_existing > 3 && !j->has_extended)
		return mismatch(j, "partition %u should be the extended partition", 4u);
	return 0;
}

/* ---- edits ---------------------------------------------------------------- */

/* Declared sizes are whole sectors of this disk (checked by check_disk). */
static uint64_t sectors_of(struct job *j, const struct ota_layout_part *p)
{
	return p->size / j->ss;
}

/* "2 TiB", "12 MiB", "1536 KiB", "20.98 MiB" or "512 bytes", for messages. */
static const char *human(uint64_t bytes, char *buf, size_t size)
{
	static const char *const units[] = { "bytes", "KiB", "MiB", "GiB", "TiB" };
	unsigned u = 0;
	while (bytes && u + 1 < OTA_ELEMENTSOF(units) && bytes % (1ull << (10 * (u + 1))) == 0)
		u++;
	if (u < 2 && bytes >= (1u << 20))
		(void)!ota_format(buf, size, "%.2f MiB", (double)bytes / (1u << 20));
	else
		(void)!ota_format(buf, size, "%llu %s", (unsigned long long)(bytes >> (10 * u)), units[u]);
	return buf;
}

/* The last sector a partition may use: MBR's starts and sizes are 32-bit,
 * and libfdisk ends MBR partitions below 2^32 sectors. */
static uint64_t last_lba(struct job *j)
{
	uint64_t last = fdisk_get_last_lba(j->cxt);
	return j->l->table == OTA_TABLE_MBR && last > OTA_MBR_MAX_SECTORS ? OTA_MBR_MAX_SECTORS : last;
}

/* What the layout declares that this disk's label and sector size cannot
 * hold: before anything is planned, so nothing is rounded or cut. */
static int check_disk(struct job *j)
{
	const struct ota_layout *l = j->l;
	for (size_t i = 0; i < l->n_parts; i++) {
		const struct ota_layout_part *p = &l->parts[i];
		if (!p->rest && p->size % j->ss)
			return ota_error_set(j->err, -EINVAL,
					     "%s: [partition %s] size: %llu bytes is not a whole number of the disk's %lu-byte "
					     "sectors; the disk is left as it is",
					     j->device, p->name, (unsigned long long)p->size, j->ss);
	}
	size_t entries = fdisk_get_npartitions(j->cxt);
	if (l->table == OTA_TABLE_GPT && entries < l->n_parts)
		return ota_error_set(j->err, -E2BIG,
				     "%s: its GPT has room for %zu partition entries, the layout declares %zu; the disk "
				     "is left as it is", j->device, entries, l->n_parts);
	return 0;
}

static uint64_t align_up(uint64_t v, uint64_t grain)
{
	return grain > 1 && v % grain ? v + grain - v % grain : v;
}

/* The error when partitions i.. of the layout do not fit from sector start
 * on: how much they need at least (declared sizes, starts aligned to the
 * grain, an EBR before each logical partition, size = rest at its
 * minimum), how much is free, how much is missing. */
static int no_room(struct job *j, size_t i, uint64_t start)
{
	const struct ota_layout *l = j->l;
	uint64_t grain = fdisk_get_grain_size(j->cxt) / j->ss, last = last_lba(j);
	uint64_t need = 0;
	for (size_t k = i; k < l->n_parts; k++) {
		const char *why;
		const struct ota_layout_part *p = &l->parts[k];
		if (k > i)
			need = align_up(need, grain) + (uses_extended(l) && k >= 3 ? grain : 0);
		need += p->rest ? ota_layout_min_size(p, &why) / j->ss : sectors_of(j, p);
	}
	uint64_t free = last >= start ? last - start + 1 : 0;
	char what[OTA_PART_NAME_SIZE + 64], needs[32], frees[32], at[32], missing[32], reach[96] = "";
	if (i + 1 == l->n_parts)
		(void)!ota_format(what, sizeof(what), "partition %u ('%s')", partno_of_index(l, i) + 1, l->parts[i].name);
	else
		(void)!ota_format(what, sizeof(what), "partitions %u to %u ('%s' to '%s')", partno_of_index(l, i) + 1,
				  partno_of_index(l, l->n_parts - 1) + 1, l->parts[i].name, l->parts[l->n_parts - 1].name);
	if (j->plan->unreachable)
		(void)!ota_format(reach, sizeof(reach), " (MBR reaches only the first %s of this disk)",
				  human((OTA_MBR_MAX_SECTORS + 1) * j->ss, frees, sizeof(frees)));
	if (need <= free) /* libfdisk refused for another reason */
		return ota_error_set(j->err, -ENOSPC, "%s: no room for %s from %s on%s; the disk is left as it is", j->device,
				     what, human(start * j->ss, at, sizeof(at)), reach);
	return ota_error_set(j->err, -ENOSPC,
			     "%s: too small: %s need%s at least %s from %s on, %s %s free there: %s missing%s; the "
			     "disk is left as it is",
			     j->device, what, i + 1 == l->n_parts ? "s" : "", human(need * j->ss, needs, sizeof(needs)), human(start * j->ss, at, sizeof(at)),
			     human(free * j->ss, frees, sizeof(frees)), free ? "are" : "is",
			     human((need - free) * j->ss, missing, sizeof(missing)),
			     reach);
}

static int set_size(struct job *j, unsigned partno0, uint64_t sectors)
{
	_cleanup_(fdisk_unref_partitionp) struct fdisk_partition *pa = fdisk_new_partition();
	if (!pa)
		return -ENOMEM;
	fdisk_partition_size_explicit(pa, 1);
	int r = fdisk_partition_set_size(pa, sectors);
	return r < 0 ? r : fdisk_set_partition(j->cxt, partno0, pa);
}

/* The most sectors partition partno0 can have without moving: up to the next
 * partition's start or the end of its space (the disk's last usable sector,
 * or for a logical partition the end of the extended one). */
static int max_size(struct job *j, unsigned partno0, uint64_t *ret)
{
	_cleanup_(fdisk_unref_partitionp) struct fdisk_partition *self = NULL;
	_cleanup_(fdisk_unref_tablep) struct fdisk_table *tb = NULL;
	struct fdisk_partition *pa;
	bool logical = j->l->table == OTA_TABLE_MBR && partno0 >= 4;
	if (fdisk_get_partition(j->cxt, partno0, &self) < 0 || fdisk_get_partitions(j->cxt, &tb) < 0)
		return -EIO;
	uint64_t start = fdisk_partition_get_start(self);
	uint64_t limit = fdisk_get_last_lba(j->cxt);
	struct fdisk_iter *itr = fdisk_new_iter(FDISK_ITER_FORWARD);
	if (!itr)
		return -ENOMEM;
	while (fdisk_table_next_partition(tb, itr, &pa) == 0) {
		uint64_t s = fdisk_partition_get_start(pa);
		unsigned n = (unsigned)fdisk_partition_get_partno(pa);
		if (n == partno0 || (j->l->table == OTA_TABLE_MBR && partno0 == 3 && n >= 4))
			continue; /* itself, or what the extended partition holds */
		if (logical && fdisk_partition_is_container(pa)) {
			uint64_t end = s + fdisk_partition_get_size(pa) - 1;
			if (end < limit)
				limit = end;
		} else if (s > start && s - 1 < limit && (!logical || n >= 4)) {
			/* a logical partition's EBR sits in front of it */
			limit = s - 1 - (logical ? fdisk_get_grain_size(j->cxt) / j->ss : 0);
		}
	}
	fdisk_free_iter(itr);
	*ret = limit >= start ? limit - start + 1 : 0;
	return 0;
}

/* MBR: the extended partition always reaches the end of the disk, so
 * logical partitions can be appended and grown inside it. */
static int ensure_extended(struct job *j)
{
	uint64_t max;
	if (j->has_extended) {
		int r = max_size(j, 3, &max);
		_cleanup_(fdisk_unref_partitionp) struct fdisk_partition *pa = NULL;
		if (r == 0)
			r = fdisk_get_partition(j->cxt, 3, &pa);
		if (r < 0)
			return ota_error_set(j->err, r, "%s: cannot size the extended partition", j->device);
		if (max > fdisk_partition_get_size(pa)) {
			r = set_size(j, 3, max);
			if (r < 0)
				return ota_error_set(j->err, r, "%s: cannot grow the extended partition", j->device);
			j->plan->extended_created = true;
		}
		return 0;
	}
	_cleanup_(fdisk_unref_partitionp) struct fdisk_partition *pa = fdisk_new_partition();
	struct fdisk_parttype *t = fdisk_label_get_parttype_from_code(fdisk_get_label(j->cxt, NULL), 0x05);
	if (!pa || !t)
		return ota_error_set(j->err, -ENOMEM, "out of memory");
	fdisk_partition_set_partno(pa, 3);
	fdisk_partition_start_follow_default(pa, 1);
	fdisk_partition_end_follow_default(pa, 1);
	fdisk_partition_set_type(pa, t);
	int r = fdisk_add_partition(j->cxt, pa, NULL);
	if (r < 0)
		return ota_error_set(j->err, -ENOSPC, "%s: no room for the extended partition", j->device);
	j->has_extended = true;
	j->plan->extended_created = true;
	return 0;
}

static int grow_last(struct job *j)
{
	size_t i = j->n_existing - 1;
	const struct ota_layout_part *p = &j->l->parts[i];
	struct existing *e = &j->ex[i];
	uint64_t max;
	if (uses_extended(j->l) && i >= 3) {
		int r = ensure_extended(j);
		if (r < 0)
			return r;
	}
	if (max_size(j, e->partno0, &max) < 0)
		return ota_error_set(j->err, -EIO, "%s: cannot find the room after partition %u", j->device,
				     e->partno0 + 1);
	uint64_t want = p->rest ? max : sectors_of(j, p);
	if (want > max)
		return no_room(j, i, e->start);
	/* Alignment can leave a partition a little below its nominal size;
	 * growing by less than a grain is not worth a table write. */
	if (want <= e->size + fdisk_get_grain_size(j->cxt) / j->ss)
		return 0;
	int r = set_size(j, e->partno0, want);
	if (r < 0)
		return ota_error_set(j->err, r, "%s: cannot grow partition %u", j->device, e->partno0 + 1);
	return 1;
}

/* Where libfdisk puts partition i when it is appended: the first grain
 * boundary after the partition before it (and after the EBR in front of a
 * logical one). For messages only. */
static uint64_t next_start(struct job *j, size_t i)
{
	uint64_t grain = fdisk_get_grain_size(j->cxt) / j->ss, start = fdisk_get_first_lba(j->cxt);
	_cleanup_(fdisk_unref_partitionp) struct fdisk_partition *prev = NULL;
	if (i > 0 && fdisk_get_partition(j->cxt, partno_of_index(j->l, i - 1), &prev) == 0)
		start = fdisk_partition_get_start(prev) + fdisk_partition_get_size(prev);
	return align_up(start, grain) + (uses_extended(j->l) && i >= 3 ? grain : 0);
}

/* What libfdisk made must be what the layout declares: libfdisk cuts a
 * name it cannot store and takes what is left for size = rest, both
 * without a word. */
static int check_created(struct job *j, size_t i)
{
	const struct ota_layout_part *p = &j->l->parts[i];
	unsigned partno0 = partno_of_index(j->l, i);
	_cleanup_(fdisk_unref_partitionp) struct fdisk_partition *pa = NULL;
	char got[32], want[32], missing[32];
	if (fdisk_get_partition(j->cxt, partno0, &pa) < 0)
		return ota_error_set(j->err, -EIO, "%s: partition %u ('%s') is not in the planned table", j->device,
				     partno0 + 1, p->name);
	uint64_t size = fdisk_partition_get_size(pa);
	const char *why, *name = fdisk_partition_get_name(pa);
	uint64_t min = ota_layout_min_size(p, &why) / j->ss;
	if (p->rest && size < min)
		return ota_error_set(j->err, -ENOSPC,
				     "%s: too small: partition %u ('%s', size = rest) would get %s, %s needs at least %s: "
				     "%s missing; the disk is left as it is",
				     j->device, partno0 + 1, p->name, human(size * j->ss, got, sizeof(got)), why,
				     human(min * j->ss, want, sizeof(want)), human((min - size) * j->ss, missing, sizeof(missing)));
	if (!p->rest && size != sectors_of(j, p))
		return ota_error_set(j->err, -EIO, "%s: libfdisk planned partition %u ('%s') with %s instead of %s",
				     j->device, partno0 + 1, p->name, human(size * j->ss, got, sizeof(got)),
				     human(p->size, want, sizeof(want)));
	if (j->l->table == OTA_TABLE_GPT && strcmp(name ? name : "", p->name) != 0)
		return ota_error_set(j->err, -EIO, "%s: libfdisk would name partition %u '%s' instead of '%s'", j->device,
				     partno0 + 1, name ? name : "", p->name);
	return 0;
}

static int create(struct job *j, size_t i)
{
	const struct ota_layout_part *p = &j->l->parts[i];
	if (uses_extended(j->l) && i >= 3) {
		int r = ensure_extended(j);
		if (r < 0)
			return r;
	}
	_cleanup_(fdisk_unref_partitionp) struct fdisk_partition *pa = fdisk_new_partition();
	struct fdisk_parttype *t = make_type(j->cxt, j->l, p, p->fs != OTA_FS_NONE);
	if (!pa || !t)
		return ota_error_set(j->err, -ENOMEM, "out of memory");
	fdisk_partition_set_partno(pa, partno_of_index(j->l, i));
	fdisk_partition_start_follow_default(pa, 1);
	if (p->rest) {
		fdisk_partition_end_follow_default(pa, 1);
	} else {
		fdisk_partition_size_explicit(pa, 1);
		fdisk_partition_set_size(pa, sectors_of(j, p));
	}
	fdisk_partition_set_type(pa, t);
	fdisk_unref_parttype(t);
	if (j->l->table == OTA_TABLE_GPT)
		fdisk_partition_set_name(pa, p->name);
	int r = fdisk_add_partition(j->cxt, pa, NULL);
	if (r < 0)
		return no_room(j, i, next_start(j, i));
	return check_created(j, i);
}

static void record(struct job *j, size_t i, enum ota_part_action_kind kind)
{
	struct ota_part_action *a = &j->plan->actions[j->plan->n_actions++];
	const struct ota_layout_part *p = &j->l->parts[i];
	_cleanup_(fdisk_unref_partitionp) struct fdisk_partition *pa = NULL;
	a->kind = kind;
	a->index = i;
	a->partno = partno_of_index(j->l, i) + 1;
	a->old_size = j->ex[i].present ? j->ex[i].size * j->ss : 0;
	if (fdisk_get_partition(j->cxt, a->partno - 1, &pa) == 0) {
		a->start = fdisk_partition_get_start(pa) * j->ss;
		a->new_size = fdisk_partition_get_size(pa) * j->ss;
	}
	a->format = p->fs != OTA_FS_NONE && (kind == OTA_PART_CREATE || kind == OTA_PART_FINISH);
	a->grow_fs = kind == OTA_PART_GROW && p->grow;
}

static int plan_edits(struct job *j)
{
	int r = check_disk(j);
	if (r == 0)
		r = match_disk(j);
	if (r < 0)
		return r;
	int grown = 0;
	if (j->n_existing > 0) {
		grown = grow_last(j);
		if (grown < 0)
			return grown;
	}
	for (size_t i = 0; i < j->n_existing; i++)
		record(j, i, j->ex[i].pending ? OTA_PART_FINISH
					      : (grown && i + 1 == j->n_existing) ? OTA_PART_GROW : OTA_PART_KEEP);
	for (size_t i = j->n_existing; i < j->l->n_parts; i++) {
		r = create(j, i);
		if (r < 0)
			return r;
		record(j, i, OTA_PART_CREATE);
	}
	j->plan->table_changes = fdisk_label_is_changed(fdisk_get_label(j->cxt, NULL));
	return 0;
}

/* ---- applying ------------------------------------------------------------------ */

/* mkfs may discard the whole partition first, which takes minutes on a large
 * SD card or eMMC; past this bound something is stuck, and ota-init carries
 * on degraded instead of hanging the boot. */
#define MKFS_TIMEOUT_MS (10u * 60u * 1000u)

/* Runs argv[0], a program name, through ota_run_system_program(); a
 * non-zero exit is an error. */
static int run_program(const char **argv, struct ota_error *err)
{
	int r = ota_run_system_program(argv, MKFS_TIMEOUT_MS, err);
	if (r > 0)
		r = ota_error_set(err, -EIO, "%s failed (status %d)", argv[0], r);
	return r;
}

/* The kernel's node for partition partno of the disk, waited for with a
 * deadline: devtmpfs adds it shortly after BLKPG. */
static int partition_node(struct job *j, unsigned partno, char *buf, size_t size)
{
	struct stat st;
	if (stat(j->device, &st) < 0)
		return ota_error_errno(j->err, -errno, "stat '%s'", j->device);
	for (int tries = 0; tries < 100; tries++) {
		_cleanup_free_ struct ota_partition *parts = NULL;
		size_t n = 0;
		if (ota_blockdev_list_partitions(st.st_rdev, &parts, &n, NULL) == 0)
			for (size_t i = 0; i < n; i++)
				if (parts[i].partno == partno && stat(parts[i].devpath, &st) == 0)
					return ota_format(buf, size, "%s", parts[i].devpath);
		struct timespec ts = { 0, 50 * 1000 * 1000 };
		nanosleep(&ts, NULL);
		(void)stat(j->device, &st);
	}
	return ota_error_set(j->err, -ETIMEDOUT, "partition %u of %s did not appear within 5 s", partno, j->device);
}

static int make_fs(struct job *j, const struct ota_part_action *a)
{
	const struct ota_layout_part *p = &j->l->parts[a->index];
	const char *argv[48];
	size_t n = 0;
	char target[PATH_MAX], offset[64], size_k[32], opts[sizeof(p->mkfs_options)];
	bool image = j->image;

	if (image) {
		(void)!ota_format(target, sizeof(target), "%s", j->device);
	} else {
		int r = partition_node(j, a->partno, target, sizeof(target));
		if (r < 0)
			return r;
	}
	if (p->fs == OTA_FS_EXT4) {
		argv[n++] = "mkfs.ext4";
		argv[n++] = "-F";
		argv[n++] = "-q";
		if (image) {
			(void)!ota_format(offset, sizeof(offset), "offset=%llu", (unsigned long long)a->start);
			argv[n++] = "-E";
			argv[n++] = offset;
		}
	} else {
		argv[n++] = "mkfs.vfat";
		if (image) {
			(void)!ota_format(offset, sizeof(offset), "%llu", (unsigned long long)(a->start / 512));
			argv[n++] = "--offset";
			argv[n++] = offset;
		}
	}
	if (p->label[0]) {
		argv[n++] = (p->fs == OTA_FS_EXT4 ? "-L" : "-n");
		argv[n++] = p->label;
	}
	(void)!ota_format(opts, sizeof(opts), "%s", p->mkfs_options);
	for (char *save = NULL, *tok = strtok_r(opts, " \t", &save); tok && n < OTA_ELEMENTSOF(argv) - 4;
	     tok = strtok_r(NULL, " \t", &save))
		argv[n++] = tok;
	argv[n++] = target;
	if (image) {
		(void)!ota_format(size_k, sizeof(size_k), "%llu", (unsigned long long)(a->new_size / 1024));
		argv[n++] = size_k;
	}
	argv[n] = NULL;
	int r = run_program(argv, j->err);
	if (r < 0)
		ota_error_prefix(j->err, "make %s on partition %u ('%s') of %s: ", p->fs == OTA_FS_EXT4 ? "ext4" : "vfat",
				 a->partno, p->name, j->device);
	return r;
}

/* The partition in the kernel's list with number partno, or NULL. */
static const struct ota_partition *find_partno(const struct ota_partition *parts, size_t n, unsigned partno)
{
	for (size_t i = 0; i < n; i++)
		if (parts[i].partno == partno)
			return &parts[i];
	return NULL;
}

/* libfdisk's fdisk_reread_changes() only warns when a BLKPG request fails
 * (EBUSY, EINVAL) and still returns 0, so success is taken from the
 * kernel's own view: every partition of the written table at its start
 * and size in sysfs, and no other. Otherwise mkfs or a grown file system
 * would work on the old extents while we reported success. */
static int check_kernel_view(struct job *j)
{
	struct stat st;
	if (fstat(fdisk_get_devfd(j->cxt), &st) < 0)
		return ota_error_errno(j->err, -errno, "stat '%s'", j->device);
	_cleanup_free_ struct ota_partition *parts = NULL;
	size_t n = 0;
	int r = ota_blockdev_list_partitions(st.st_rdev, &parts, &n, j->err);
	if (r < 0)
		return r;
	_cleanup_(fdisk_unref_tablep) struct fdisk_table *tb = NULL;
	r = fdisk_get_partitions(j->cxt, &tb);
	if (r < 0)
		return ota_error_errno(j->err, r, "read back the partition table of %s", j->device);
	size_t in_table = 0, kernel_extra = n;
	for (size_t k = 0; k < fdisk_table_get_nents(tb); k++) {
		struct fdisk_partition *pa = fdisk_table_get_partition(tb, k);
		if (!pa || !fdisk_partition_has_partno(pa) || !fdisk_partition_has_start(pa))
			continue;
		unsigned partno = (unsigned)fdisk_partition_get_partno(pa) + 1;
		/* An MBR extended container is a marker to the kernel (1-2
		 * sectors; libfdisk's BLKPG add of it fails on 4096-byte
		 * sectors): nothing is made on it, its logical partitions are
		 * what is checked. */
		if (fdisk_partition_is_container(pa)) {
			kernel_extra -= find_partno(parts, n, partno) != NULL;
			continue;
		}
		in_table++;
		uint64_t start = fdisk_partition_get_start(pa) * j->ss;
		uint64_t size = fdisk_partition_get_size(pa) * j->ss;
		const struct ota_partition *kp = find_partno(parts, n, partno);
		if (!kp)
			return ota_error_set(j->err, -EIO,
					     "%s: the kernel did not add partition %u (BLKPG); the new table "
					     "is on the disk and takes effect at the next boot", j->device, partno);
		if (kp->start != start || kp->size != size)
			return ota_error_set(j->err, -EIO,
					     "%s: the kernel still has partition %u at byte %llu, %llu bytes, "
					     "not %llu, %llu bytes as written (BLKPG refused); the new table "
					     "is on the disk and takes effect at the next boot", j->device, partno,
					     (unsigned long long)kp->start, (unsigned long long)kp->size,
					     (unsigned long long)start, (unsigned long long)size);
	}
	if (kernel_extra != in_table)
		return ota_error_set(j->err, -EIO,
				     "%s: the kernel has %zu partitions, the written table %zu (BLKPG refused); "
				     "the new table is on the disk and takes effect at the next boot", j->device,
				     kernel_extra, in_table);
	return 0;
}

static int write_table(struct job *j, struct fdisk_table *before)
{
	int r = fdisk_write_disklabel(j->cxt);
	if (r < 0)
		return ota_error_errno(j->err, r, "write the partition table of %s", j->device);
	if (fsync(fdisk_get_devfd(j->cxt)) < 0)
		return ota_error_errno(j->err, -errno, "sync %s", j->device);
	/* BLKPG per partition: BLKRRPART fails with EBUSY on a disk in use. */
	if (!before || j->image)
		return 0;
	if (fdisk_reread_changes(j->cxt, before) < 0)
		return ota_error_set(j->err, -EIO, "%s: the kernel did not take the new partitions (BLKPG)", j->device);
	return check_kernel_view(j);
}

static int apply(struct job *j, struct fdisk_table *before)
{
	int r;
	if (j->plan->table_changes) {
		r = write_table(j, before);
		if (r < 0)
			return r;
	}
	bool any = false;
	for (size_t k = 0; k < j->plan->n_actions; k++)
		any = any || j->plan->actions[k].format;
	if (!any)
		return 0;
	/* libfdisk holds the disk open with O_EXCL, which makes mkfs take the
	 * partitions for mounted. Close it for mkfs and reopen it after; the
	 * table on disk is what is read back. */
	bool image = j->image;
	(void)fdisk_deassign_device(j->cxt, 0);
	bool finish = false;
	for (size_t k = 0; k < j->plan->n_actions; k++) {
		const struct ota_part_action *a = &j->plan->actions[k];
		if (!a->format)
			continue;
		r = make_fs(j, a);
		if (r < 0)
			return r;
		finish = true;
	}
	if (!finish)
		return 0;
	sync(); /* the filesystems are on disk before the table says they are */
	r = fdisk_assign_device(j->cxt, j->device, 0);
	if (r < 0)
		return ota_error_errno(j->err, r, "reopen '%s'", j->device);
	if (!image && flock(fdisk_get_devfd(j->cxt), LOCK_EX) < 0)
		return ota_error_errno(j->err, -errno, "lock '%s'", j->device);
	for (size_t k = 0; k < j->plan->n_actions; k++) {
		const struct ota_part_action *a = &j->plan->actions[k];
		if (!a->format)
			continue;
		struct fdisk_parttype *t = make_type(j->cxt, j->l, &j->l->parts[a->index], false);
		r = t ? fdisk_set_partition_type(j->cxt, a->partno - 1, t) : -ENOMEM;
		fdisk_unref_parttype(t);
		if (r < 0)
			return ota_error_errno(j->err, r, "set the type of partition %u of %s", a->partno, j->device);
	}
	/* The commit point of formatting: from now on never formatted again. */
	return write_table(j, NULL);
}

int ota_part_provision(const char *device, const struct ota_layout *l, bool do_apply, struct ota_part_plan *ret,
		       struct ota_error *err)
{
	_cleanup_(fdisk_unref_contextp) struct fdisk_context *cxt = fdisk_new_context();
	_cleanup_(fdisk_unref_tablep) struct fdisk_table *before = NULL;
	struct ota_part_plan plan = { .table = l->table };
	struct job j = { .cxt = cxt, .l = l, .device = device, .plan = &plan, .err = err };

	if (!cxt)
		return ota_error_set(err, -ENOMEM, "out of memory");
	fdisk_disable_dialogs(cxt, 1);
	/* Read-write even for a plan (nothing is written without
	 * fdisk_write_disklabel): libfdisk relocates a GPT's backup header, and
	 * with it the last usable sector, only on a writable context, and the
	 * plan must see the same room the apply will. */
	int r = fdisk_assign_device(cxt, device, 0);
	if (r < 0 && !do_apply && (r == -EACCES || r == -EROFS || r == -EPERM))
		r = fdisk_assign_device(cxt, device, 1);
	if (r < 0)
		return ota_error_errno(err, r, "open '%s'", device);
	/* Keep udev (and anyone else who probes) away while the table changes. */
	if (do_apply && !fdisk_is_regfile(cxt) && flock(fdisk_get_devfd(cxt), LOCK_EX) < 0)
		return ota_error_errno(err, -errno, "lock '%s'", device);
	if (!fdisk_has_label(cxt))
		return ota_error_set(err, -EUCLEAN, "%s has no partition table; the disk is left as it is", device);
	bool gpt = fdisk_is_label(cxt, GPT), dos = fdisk_is_label(cxt, DOS);
	if ((l->table == OTA_TABLE_GPT && !gpt) || (l->table == OTA_TABLE_MBR && !dos))
		return ota_error_set(err, -EUCLEAN, "%s has a %s partition table, the layout declares %s; the disk is left as it is",
				     device, gpt ? "GPT" : dos ? "MBR" : "foreign",
				     l->table == OTA_TABLE_GPT ? "gpt" : "mbr");
	j.ss = fdisk_get_sector_size(cxt);
	j.image = fdisk_is_regfile(cxt);
	plan.sector_size = (unsigned)j.ss;
	plan.disk_size = (uint64_t)fdisk_get_nsectors(cxt) * j.ss;
	if (dos && fdisk_get_nsectors(cxt) > OTA_MBR_MAX_SECTORS + 1)
		plan.unreachable = (fdisk_get_nsectors(cxt) - OTA_MBR_MAX_SECTORS - 1) * j.ss;
	/* libfdisk marks a GPT changed on reading when its backup header is not
	 * at the end of the (grown) disk: the write relocates it. */
	plan.relocate_backup = gpt && fdisk_label_is_changed(fdisk_get_label(cxt, NULL));
	if (fdisk_get_partitions(cxt, &before) < 0)
		return ota_error_set(err, -EIO, "%s: cannot read the partition table", device);

	r = plan_edits(&j);
	if (r == 0 && do_apply)
		r = apply(&j, before);
	if (r == 0)
		*ret = plan;
	(void)fdisk_deassign_device(cxt, do_apply ? 0 : 1);
	return r;
}

int ota_part_read_table(const char *device, struct ota_part_table *ret, struct ota_error *err)
{
	_cleanup_(fdisk_unref_contextp) struct fdisk_context *cxt = fdisk_new_context();
	_cleanup_(fdisk_unref_tablep) struct fdisk_table *tb = NULL;
	struct fdisk_partition *pa;
	if (!cxt)
		return ota_error_set(err, -ENOMEM, "out of memory");
	fdisk_disable_dialogs(cxt, 1);
	int r = fdisk_assign_device(cxt, device, 1);
	if (r < 0)
		return ota_error_errno(err, r, "open '%s'", device);
	if (!fdisk_has_label(cxt) || !(fdisk_is_label(cxt, GPT) || fdisk_is_label(cxt, DOS)))
		return ota_error_set(err, -EUCLEAN, "%s has no GPT or MBR partition table", device);
	if (fdisk_get_partitions(cxt, &tb) < 0)
		return ota_error_set(err, -EIO, "%s: cannot read the partition table", device);
	unsigned long ss = fdisk_get_sector_size(cxt);
	ret->table = fdisk_is_label(cxt, GPT) ? OTA_TABLE_GPT : OTA_TABLE_MBR;
	ret->sector_size = (unsigned)ss;
	ret->disk_size = (uint64_t)fdisk_get_nsectors(cxt) * ss;
	ret->n_entries = 0;
	struct fdisk_iter *itr = fdisk_new_iter(FDISK_ITER_FORWARD);
	if (!itr)
		return ota_error_set(err, -ENOMEM, "out of memory");
	while (ret->n_entries < OTA_ELEMENTSOF(ret->entries) && fdisk_table_next_partition(tb, itr, &pa) == 0) {
		struct ota_part_entry *e = &ret->entries[ret->n_entries++];
		char tbuf[64];
		const char *name = fdisk_partition_get_name(pa);
		*e = (struct ota_part_entry){ .partno = (unsigned)fdisk_partition_get_partno(pa) + 1,
					      .start = fdisk_partition_get_start(pa) * ss,
					      .size = fdisk_partition_get_size(pa) * ss,
					      .container = fdisk_partition_is_container(pa) };
		(void)!ota_format(e->type, sizeof(e->type), "%s", type_text(pa, tbuf, sizeof(tbuf)));
		(void)!ota_format(e->name, sizeof(e->name), "%s", name ? name : "");
		e->pending = strcasecmp(e->type, OTA_PART_PENDING_GUID) == 0 ||
			     (ret->table == OTA_TABLE_MBR && strcmp(e->type, "0xda") == 0);
	}
	fdisk_free_iter(itr);
	(void)fdisk_deassign_device(cxt, 1);
	return 0;
}

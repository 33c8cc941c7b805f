/* SPDX-License-Identifier: Apache-2.0 */
/* ota-image build and bundle: the steps, the staging directory and the
 * publication of the outputs. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "bundle/bundle.h"
#include "image/image-private.h"

/* The staging directory beside dest: same file system, so the outputs are
 * renamed into place. */
static int make_work(struct ota_image_ctx *c, const char *dest, struct ota_error *err)
{
	char copy[PATH_MAX];
	size_t len = strlen(dest);
	while (len > 1 && dest[len - 1] == '/')
		len--;
	if (ota_format(copy, sizeof(copy), "%.*s", (int)len, dest) < 0 ||
	    ota_format(c->work, sizeof(c->work), "%s.ota-image-XXXXXX", copy) < 0 ||
	    ota_format(c->root, sizeof(c->root), "%s/root", c->work) < 0)
		return ota_error_set(err, -ENAMETOOLONG, "%s: path too long", dest);
	if (!mkdtemp(c->work)) {
		c->work[0] = '\0';
		return ota_error_errno(err, -errno, "creating a staging directory beside %s", dest);
	}
	/* the same length: only the XXXXXX changed */
	return ota_format(c->root, sizeof(c->root), "%s/root", c->work) < 0 ? -ENAMETOOLONG : 0;
}

static void remove_work(struct ota_image_ctx *c)
{
	if (!c->work[0])
		return;
	_cleanup_close_ int fd = open(c->work, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (fd >= 0)
		(void)!ota_remove_contents_at(fd);
	(void)rmdir(c->work);
	c->work[0] = '\0';
}

/* The epoch: SOURCE_DATE_EPOCH, else the newest mtime in the root. */
static int read_epoch(struct ota_image_ctx *c, uint64_t newest, struct ota_error *err)
{
	const char *sde = getenv("SOURCE_DATE_EPOCH");
	c->epoch = newest;
	if (sde && (ota_parse_u64(sde, &c->epoch) < 0 || c->epoch > INT32_MAX * 2ull))
		return ota_error_set(err, -EINVAL, "SOURCE_DATE_EPOCH '%s' is not a number of seconds", sde);
	return 0;
}

/* The slot: the description's size, else the root's with a third to spare
 * and 64 MiB for the file system, in 64 MiB steps. */
static uint64_t slot_size(const struct ota_image_ctx *c, uint64_t used)
{
	if (c->desc->slot_size)
		return c->desc->slot_size;
	uint64_t step = 64ull << 20, slot = (used / 10 * 13 + step + step - 1) / step * step;
	ota_image_progress(c, "slot size %" PRIu64 " MiB (the root holds %" PRIu64 " MiB; set [image] slot-size to "
			   "fix it for every later version)", slot >> 20, used >> 20);
	return slot;
}

/* Stage, check and configure the root, then make the system file system. */
static int make_system(struct ota_image_ctx *c, const char *version, const char *out, uint64_t *ret_slot,
		       struct ota_error *err)
{
	uint64_t newest, used;
	int r;
	if ((r = ota_image_stage_root(c, err)) < 0 || (r = ota_image_root_scan(c, &newest, &used, err)) < 0 ||
	    (r = read_epoch(c, newest, err)) < 0)
		return r;
	uint64_t slot = slot_size(c, used);
	if ((r = ota_image_configure_root(c, version, slot, err)) < 0 || (r = ota_image_mkfs_system(c, out, slot, err)) < 0)
		return r;
	*ret_slot = slot;
	return 0;
}

static int make_bundle(struct ota_image_ctx *c, const struct ota_image_part *boot, size_t n_boot, const char *system,
		       const char *out, struct ota_error *err)
{
	const struct ota_image_desc *d = c->desc;
	const struct ota_image_opts *o = c->opts;
	const char *key = o->key ? o->key : d->key, *cert = o->cert ? o->cert : d->cert;
	const char *chain = o->chain ? o->chain : d->chain;
	struct ota_bundle_image images[OTA_IMAGE_MAX_PARTS + 1];
	size_t n = 0;
	for (size_t i = 0; i < n_boot; i++)
		if (boot[i].in_bundle)
			images[n++] = (struct ota_bundle_image){ .path = boot[i].image, .slot_class = "boot" };
	images[n++] = (struct ota_bundle_image){ .path = system, .slot_class = "system" };
	struct ota_bundle_create_opts b = {
		.compatible = d->compatible,
		.version = o->version ? o->version : d->version,
		.created = c->epoch,
		.chunker = OTA_CHUNKER_BUZHASH,
		.threads = o->threads,
		.images = images,
		.n_images = n,
		.cert = cert,
		.key = key,
		.chain = chain,
	};
	ota_image_progress(c, "making the bundle (version %s%s)", b.version,
			   key ? "" : ", unsigned: sign it with ota-bundle sign");
	int r = ota_bundle_create(&b, out, err);
	if (r < 0)
		ota_error_prefix(err, "bundle %s: ", out);
	return r;
}

static int work_path(const struct ota_image_ctx *c, const char *name, char *buf, size_t size)
{
	return ota_format(buf, size, "%s/%s", c->work, name);
}

static int make_bmap(struct ota_image_ctx *c, const char *image, const char *bmap, bool *made, struct ota_error *err)
{
	*made = false;
	if (c->desc->bmap == OTA_IMAGE_BMAP_NO)
		return 0;
	struct ota_error e = { 0 };
	if (ota_image_have_tool("bmaptool", &e) < 0) {
		if (c->desc->bmap == OTA_IMAGE_BMAP_YES)
			return ota_error_set(err, e.code, "[image] bmap = yes: %s", e.msg);
		ota_image_progress(c, "no .bmap: %s", e.msg);
		return 0;
	}
	const char *argv[] = { "bmaptool", "create", "-o", bmap, image, NULL };
	int r = ota_image_run(c, argv, err);
	*made = r == 0;
	return r;
}

/* Moves the staged outputs into out_dir (created if missing), each by one
 * rename: a file there is either the old one or the complete new one. */
static int publish(struct ota_image_ctx *c, const char *out_dir, const char *const *names, size_t n,
		   struct ota_error *err)
{
	int r = ota_mkdir_p(out_dir, 0755);
	if (r < 0)
		return ota_error_errno(err, r, "creating %s", out_dir);
	for (size_t i = 0; i < n; i++) {
		char from[PATH_MAX], to[PATH_MAX];
		if (!names[i])
			continue;
		if (work_path(c, names[i], from, sizeof(from)) < 0 ||
		    ota_format(to, sizeof(to), "%s/%s", out_dir, names[i]) < 0)
			return ota_error_set(err, -ENAMETOOLONG, "%s: path too long", out_dir);
		if (rename(from, to) < 0)
			return ota_error_errno(err, -errno, "renaming %s to %s", from, to);
	}
	r = ota_fsync_dir(out_dir);
	if (r < 0)
		return ota_error_errno(err, r, "syncing %s", out_dir);
	return 0;
}

int ota_image_build(const struct ota_image_desc *d, const struct ota_image_opts *o, const char *out_dir,
		    struct ota_error *err)
{
	struct ota_image_ctx c = { .desc = d, .opts = o };
	const struct ota_image_target_ops *t = ota_image_target_ops_of(d->target);
	char system[PATH_MAX], disk[PATH_MAX], bmap[PATH_MAX], bundle[PATH_MAX];
	struct ota_image_part boot[OTA_IMAGE_MAX_PARTS];
	size_t n_boot = 0;
	uint64_t slot = 0;
	bool have_bmap = false;
	int r = make_work(&c, out_dir, err);
	if (r < 0)
		return r;
	if (work_path(&c, "system.img", system, sizeof(system)) < 0 || work_path(&c, "disk.img", disk, sizeof(disk)) < 0 ||
	    work_path(&c, "disk.img.bmap", bmap, sizeof(bmap)) < 0 ||
	    work_path(&c, "update.otab", bundle, sizeof(bundle)) < 0)
		r = ota_error_set(err, -ENAMETOOLONG, "%s: path too long", c.work);
	if (r >= 0)
		r = make_system(&c, o->version, system, &slot, err);
	if (r >= 0)
		r = t->make_boot(&c, true, boot, &n_boot, err);
	if (r >= 0)
		r = ota_image_write_disk(&c, disk, boot, n_boot, system, slot, err);
	if (r >= 0)
		r = make_bmap(&c, disk, bmap, &have_bmap, err);
	if (r >= 0)
		r = make_bundle(&c, boot, n_boot, system, bundle, err);
	if (r >= 0) {
		const char *names[] = { "disk.img", have_bmap ? "disk.img.bmap" : NULL, "update.otab" };
		r = publish(&c, out_dir, names, OTA_ELEMENTSOF(names), err);
	}
	if (r >= 0)
		ota_image_progress(&c, "done: %s/disk.img%s and %s/update.otab", out_dir,
				   have_bmap ? " (with disk.img.bmap)" : "", out_dir);
	remove_work(&c);
	return r;
}

int ota_image_bundle(const struct ota_image_desc *d, const struct ota_image_opts *o, const char *out_path,
		     struct ota_error *err)
{
	struct ota_image_ctx c = { .desc = d, .opts = o };
	char system[PATH_MAX];
	struct ota_image_part boot[OTA_IMAGE_MAX_PARTS];
	size_t n_boot = 0;
	uint64_t slot;
	int r = make_work(&c, out_path, err);
	if (r < 0)
		return r;
	if (work_path(&c, "system.img", system, sizeof(system)) < 0)
		r = ota_error_set(err, -ENAMETOOLONG, "%s: path too long", c.work);
	if (r >= 0)
		r = make_system(&c, o->version, system, &slot, err);
	if (r >= 0)
		r = ota_image_target_ops_of(d->target)->make_boot(&c, false, boot, &n_boot, err);
	/* ota_bundle_create writes a temporary file and renames it. */
	if (r >= 0)
		r = make_bundle(&c, boot, n_boot, system, out_path, err);
	if (r >= 0)
		ota_image_progress(&c, "done: %s", out_path);
	remove_work(&c);
	return r;
}

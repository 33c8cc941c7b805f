/* SPDX-License-Identifier: Apache-2.0 */
/* Adaptive delta over HTTP ranges: the planner that decides, chunk by chunk,
 * where the bytes of a new image come from; see install-private.h.
 *
 * Per payload: the chunk table is fetched by range and checked against the
 * verified manifest. Each chunk of the new image is then looked for locally,
 * in this order, and used only if its bytes, read from the device right now,
 * hash to the chunk's SHA-256 in the table:
 *   1. the spare slot at the same offset (already in place: not rewritten);
 *   2. the active slot of the same class at the same offset;
 *   3. the active slot anywhere, through an index of its content-defined
 *      chunks (same chunker and parameters as the payload) made at the start
 *      or saved when it was installed (chunk-index.h);
 *   4. the spare elsewhere, through the index saved when its old image was
 *      installed (chunks that moved towards its start);
 *   5. a patch (docs/bundle-format.md "Chunk patches") whose base region,
 *      read from the active slot, hashes to the SHA-256 the manifest names:
 *      then only the patch is fetched. The base is read and hashed again
 *      right before the patch is decoded, and the result must hash to the
 *      chunk's SHA-256; if either fails, the chunk is fetched after all.
 * The spare is written in image order; a chunk found elsewhere in it is read
 * (and re-hashed) before it is written at its own place, and one whose old
 * region was already overwritten simply fails its hash and is fetched. The
 * active slot is never written. Missing chunks and patches are fetched in
 * rounds of at most DELTA_BATCH compressed bytes (the HTTP source merges
 * neighbours and uses multi-range), decompressed, hashed, then written. A
 * chunk that has patches is fetched without them (its own frame).
 *
 * Power-fail: every write goes through the install pipeline (install.c),
 * which records the slot "installing" before the first byte and checkpoints
 * only what is durable; a checkpoint is taken only where every chunk below it
 * is in place (between fetch rounds). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/fs.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

#include "update/chunk-index.h"
#include "update/install-private.h"

#define DELTA_BATCH (4u << 20)
#define DELTA_BATCH_CHUNKS 1024u

/* The chunks of one payload queued for one fetch, and the buffers they pass through. */
struct batch {
	const struct ota_delta *d;
	struct ota_install_target *t;
	const struct ota_chunk_entry *table;
	struct ota_chunk_decoder *dec;
	uint8_t *ubuf, *cbuf;
	struct ota_bundle_range *ranges;
	uint64_t *chunk_of, *offset_of;
	const struct ota_chunk_patch **patch_of; /* NULL: the chunk itself is queued */
	size_t n;
	uint64_t bytes;
	int active;        /* the active slot: where the bases are */
	uint8_t *bbuf;     /* a base region */
	uint8_t *fbuf;     /* a chunk fetched after its patch failed */
};

/* Size of the active slot's image: its record's size if installed, else the whole slot. */
static uint64_t active_size(const struct ota_install *x, const struct ota_slot_config *s, int fd, bool is_file)
{
	uint64_t size = 0;
	struct stat st;
	if (is_file) {
		if (fstat(fd, &st) == 0)
			size = (uint64_t)st.st_size;
	} else if (ioctl(fd, BLKGETSIZE64, &size) < 0) {
		size = 0;
	}
	struct ota_slot_record rec;
	if (ota_update_status_read(x->c->status_file, s->name, &rec, NULL) == 0 && rec.state == OTA_SLOT_INSTALLED &&
	    rec.size > 0 && rec.size < size)
		size = rec.size;
	return size;
}

/* The chunk of queued item k, verified, into b->ubuf. */
static int decode_queued(struct ota_install *x, struct batch *b, size_t k)
{
	const struct ota_chunk_entry *e = &b->table[b->chunk_of[k]];
	const struct ota_chunk_patch *pt = b->patch_of[k];
	if (!pt && b->ranges[k].size < e->csize) /* its own frame, without its patches */
		return ota_chunk_decode_frame(b->dec, e, (uint32_t)b->ranges[k].size, b->ranges[k].buf, b->ubuf, x->err);
	if (!pt)
		return ota_chunk_decode(b->dec, e, b->ranges[k].buf, b->ubuf, x->err);
	/* The base, read again right before use (ota_chunk_patch_decode hashes it). */
	if (ota_pread_full(b->active, b->bbuf, pt->base_size, pt->base_offset) == (ssize_t)pt->base_size &&
	    ota_chunk_patch_decode(b->dec, e, pt, b->bbuf, b->ranges[k].buf, b->ubuf, NULL) == 0) {
		x->patched += e->usize;
		return 0;
	}
	/* Never worse than without patches: the chunk's own frame, fetched now. */
	struct ota_bundle_range one = { .offset = b->d->data_off + e->offset, .size = pt->frame_size, .buf = b->fbuf };
	int r = ota_bundle_http_fetch(b->d->web, &one, 1, x->err);
	if (r < 0)
		return r;
	return ota_chunk_decode_frame(b->dec, e, pt->frame_size, b->fbuf, b->ubuf, x->err);
}

/* Fetches the queued chunks and patches, verifies each chunk and writes it at its offset. */
static int delta_flush(struct ota_install *x, struct batch *b)
{
	if (b->n == 0)
		return 0;
	int r = ota_bundle_http_fetch(b->d->web, b->ranges, b->n, x->err);
	if (r < 0) {
		ota_error_prefix(x->err, "bundle '%s': payload '%s': fetch %zu chunks: ", b->d->src->name,
				 b->t->p->slot_class, b->n);
		return r;
	}
	for (size_t k = 0; k < b->n; k++) {
		const struct ota_chunk_entry *e = &b->table[b->chunk_of[k]];
		r = decode_queued(x, b, k);
		if (r < 0) {
			ota_error_prefix(x->err, "bundle '%s': payload '%s': chunk %llu (image offset %llu): ",
					 b->d->src->name, b->t->p->slot_class, (unsigned long long)b->chunk_of[k],
					 (unsigned long long)b->offset_of[k]);
			return r;
		}
		if ((r = ota_install_write_at(x, b->t, b->offset_of[k], b->ubuf, e->usize)) < 0)
			return r;
	}
	b->n = 0;
	b->bytes = 0;
	return 0;
}

/* Whether the base region of pt, read from the active slot now, is the one it names. */
static bool base_in_place(struct batch *b, const struct ota_chunk_patch *pt)
{
	return b->active >= 0 && ota_pread_full(b->active, b->bbuf, pt->base_size, pt->base_offset) == (ssize_t)pt->base_size &&
	       ota_chunk_patch_base_ok(pt, b->bbuf);
}

/* Queues chunk i (at image offset off) for the next fetch: its smallest
 * patch whose base is in place, else the chunk (without its patches). */
static void queue_chunk(struct batch *b, const struct ota_manifest_payload *p, uint64_t i, uint64_t off)
{
	const struct ota_chunk_entry *e = &b->table[i];
	const struct ota_chunk_patch *pp, *use = NULL;
	size_t np = ota_payload_chunk_patches(p, i, &pp);
	uint64_t size = np && ota_chunk_patch_usable(&pp[0], e) ? pp[0].frame_size : e->csize;
	bool tried[OTA_BUNDLE_MAX_PATCH_BASES] = { false };
	for (size_t round = 0; round < np && !use; round++) {
		size_t best = np;
		for (size_t k = 0; k < np; k++)
			if (!tried[k] && ota_chunk_patch_usable(&pp[k], e) && (best == np || pp[k].size < pp[best].size))
				best = k;
		if (best == np)
			break;
		tried[best] = true;
		if (base_in_place(b, &pp[best]))
			use = &pp[best];
	}
	b->ranges[b->n] = (struct ota_bundle_range){ .offset = b->d->data_off + (use ? use->offset : e->offset),
						     .size = use ? use->size : size, .buf = b->cbuf + b->bytes };
	b->patch_of[b->n] = use;
	b->chunk_of[b->n] = i;
	b->offset_of[b->n] = off;
	b->bytes += b->ranges[b->n].size;
	b->n++;
}

/* Whether the size bytes of e at offset `at` of fd, read now into buf, are chunk e. */
static bool read_chunk(int fd, uint8_t *buf, const struct ota_chunk_entry *e, uint64_t at)
{
	return ota_pread_full(fd, buf, e->usize, at) == (ssize_t)e->usize && ota_chunk_verify(e, buf, e->usize) == 0;
}

static void note_source(struct ota_install *x, const char *slot)
{
	if (strstr(x->reused_from, slot))
		return;
	size_t l = strlen(x->reused_from);
	(void)snprintf(x->reused_from + l, sizeof(x->reused_from) - l, "%s%s", l ? ", " : "", slot);
}

int ota_delta_payload(struct ota_install *x, const struct ota_delta *d, struct ota_install_target *t)
{
	const struct ota_manifest_payload *p = t->p;
	_cleanup_free_ struct ota_chunk_entry *table = NULL;
	int r = ota_bundle_fetch_table(d->src, d->data_off, p, 0, &table, x->err);
	if (r < 0)
		return r;
	uint64_t max, cmax;
	if (ota_bundle_payload_bounds(p, NULL, &max, &cmax) < 0)
		return ota_error_set_because(x->err, OTA_REASON_BUNDLE_MALFORMED, -EBADMSG,
					     "payload '%s': bad chunker parameters", p->slot_class);
	_cleanup_(ota_chunk_decoder_freep) struct ota_chunk_decoder *dec = NULL;
	if ((r = ota_chunk_decoder_new(&dec, x->err)) < 0)
		return r;
	_cleanup_free_ uint8_t *ubuf = malloc(max);
	_cleanup_free_ uint8_t *cbuf = malloc(DELTA_BATCH + cmax);
	_cleanup_free_ struct ota_bundle_range *ranges = calloc(DELTA_BATCH_CHUNKS, sizeof(*ranges));
	_cleanup_free_ uint64_t *chunk_of = calloc(DELTA_BATCH_CHUNKS, sizeof(*chunk_of));
	_cleanup_free_ uint64_t *offset_of = calloc(DELTA_BATCH_CHUNKS, sizeof(*offset_of));
	_cleanup_free_ const struct ota_chunk_patch **patch_of = calloc(DELTA_BATCH_CHUNKS, sizeof(*patch_of));
	/* Bases and the fallback only for a payload that has patches. */
	_cleanup_free_ uint8_t *bbuf = p->n_patches ? malloc(ota_bundle_patch_base_max(p)) : NULL;
	_cleanup_free_ uint8_t *fbuf = p->n_patches ? malloc(cmax) : NULL;
	if (!ubuf || !cbuf || !ranges || !chunk_of || !offset_of || !patch_of || (p->n_patches && (!bbuf || !fbuf)))
		return ota_error_set(x->err, -ENOMEM, "payload '%s' into slot %s: out of memory for delta buffers",
				     p->slot_class, t->slot->name);
	struct batch b = { .d = d, .t = t, .table = table, .dec = dec, .ubuf = ubuf, .cbuf = cbuf, .ranges = ranges,
			   .chunk_of = chunk_of, .offset_of = offset_of, .patch_of = patch_of, .bbuf = bbuf, .fbuf = fbuf,
			   .active = -1 };

	/* The spare's old content (read-only fd; may not exist yet for a file slot). */
	_cleanup_close_ int spare = open(t->path, O_RDONLY | O_CLOEXEC | (t->is_file ? O_NOFOLLOW : 0));
	/* The active slot of the same class, indexed by content. */
	const struct ota_slot_config *as = ota_sysconf_slot(x->c, d->booted, p->slot_class);
	_cleanup_close_ int active = -1;
	_cleanup_(ota_chunk_index_done) struct ota_chunk_index ix = { 0 };
	char apath[PATH_MAX];
	ota_install_begin_payload(x, t);
	if (as && ota_install_slot_path(as, apath, sizeof(apath), NULL) == 0) {
		active = open(apath, O_RDONLY | O_CLOEXEC | (as->file ? O_NOFOLLOW : 0));
		if (active >= 0 && ota_chunk_index_load(x->c->status_file, as->name, p, &ix) > 0) {
			ota_install_report(x, OTA_STAGE_INDEX_LOADED, t, 0);
		} else if (active >= 0) {
			ota_install_report(x, OTA_STAGE_INDEX, t, 0);
			r = ota_chunk_index_scan(active, active_size(x, as, active, as->file != NULL), p, max, &ix, as->name,
						 x->err);
			if (r < 0)
				return r;
		}
	}

	/* The spare's old image, if its index was saved: chunks that moved
	 * towards its start are found (the spare is written from the start, so
	 * what moved towards its end is overwritten before it is needed). */
	_cleanup_(ota_chunk_index_done) struct ota_chunk_index moved = { 0 };
	if (spare >= 0)
		(void)ota_chunk_index_load_candidates(x->c->status_file, t->slot->name, p, &moved);
	b.active = p->n_patches ? active : -1;
	ota_install_report(x, OTA_STAGE_WRITE, t, 0);
	uint64_t off = 0;
	for (uint64_t i = 0; i < p->chunk_count; off += table[i].usize, i++) {
		const struct ota_chunk_entry *e = &table[i];
		/* 1. already in place in the spare: re-hashed now, left as it is. */
		if (b.n == 0 && (r = ota_install_checkpoint(x, t, i, off)) < 0)
			return r;
		if (spare >= 0 && read_chunk(spare, ubuf, e, off)) {
			if ((r = ota_install_open_target(x, t)) < 0)
				return r;
			/* Below a checkpoint: left there by the interrupted attempt. */
			*(i < t->resume_chunks ? &x->resumed : &x->reused_spare) += e->usize;
			ota_install_account(x, t, e->usize);
			continue;
		}
		/* 2./3. the active slot, same offset or anywhere its index says;
		 * 4. moved within the spare, where its old image's index says. Re-hashed. */
		const struct ota_chunk_index_entry *lc;
		bool from_active = active >= 0 && (read_chunk(active, ubuf, e, off) ||
						   ((lc = ota_chunk_index_find(&ix, e)) && read_chunk(active, ubuf, e, lc->offset)));
		if (from_active || (spare >= 0 && (lc = ota_chunk_index_find(&moved, e)) && lc->offset != off &&
				    read_chunk(spare, ubuf, e, lc->offset))) {
			if ((r = ota_install_write_at(x, t, off, ubuf, e->usize)) < 0)
				return r;
			*(from_active ? &x->reused_active : &x->reused_spare) += e->usize;
			if (from_active)
				note_source(x, as->name);
			continue;
		}
		/* 5./6. fetch a patch or the chunk. */
		if (b.n == DELTA_BATCH_CHUNKS || (b.n > 0 && b.bytes + e->csize > DELTA_BATCH)) {
			if ((r = delta_flush(x, &b)) < 0)
				return r;
			/* Everything below chunk i is in place now. */
			if ((r = ota_install_checkpoint(x, t, i, off)) < 0)
				return r;
		}
		queue_chunk(&b, p, i, off);
	}
	if ((r = delta_flush(x, &b)) < 0)
		return r;
	/* fsync, read back and check the whole-image SHA-256, record "installed". */
	if ((r = ota_install_end_payload(x, p)) < 0)
		return r;
	ota_chunk_index_save(x->c->status_file, t->slot->name, p, table);
	return 0;
}

ssize_t ota_delta_read_head(void *userdata, void *buf, size_t size)
{
	struct ota_delta *d = userdata;
	ssize_t n = d->src->read_at(d->src->userdata, d->data_off, buf, size);
	if (n > 0)
		d->data_off += (uint64_t)n;
	return n;
}

/* SPDX-License-Identifier: Apache-2.0 */
/* Adaptive delta over HTTP ranges: the planner that decides, chunk by chunk,
 * where the bytes of a new image come from; see install-private.h.
 *
 * Per payload: the chunk table is fetched by range and checked against the
 * verified manifest. Each chunk of the new image is then looked for locally,
 * in this order, and used only if its bytes, read from the device right now,
 * hash to the chunk's SHA-256 in the table:
 *   1. the spare slot at the same offset (already in place: not rewritten);
 *   2. the active slot of the same class where an index of its
 *      content-defined chunks (same chunker and parameters as the payload)
 *      places it, then at the same offset. The index is the one saved when
 *      the slot was installed, else made from the bundle's moves if the
 *      slot holds a release they describe, else made by a scan of the slot
 *      (chunk-index.h);
 *   3. the spare elsewhere, through the index saved when its old image was
 *      installed (chunks that moved towards its start);
 *   4. a patch (docs/bundle-format.md "Chunk patches") whose base region,
 *      read from the active slot, hashes to the SHA-256 the manifest names:
 *      then only the patch is fetched. The base is read and hashed again
 *      right before the patch is decoded, and the result must hash to the
 *      chunk's SHA-256; if either fails, the chunk is fetched after all.
 * The spare is written in image order, through the install's pipelined
 * writer (slot-io.h; its thread takes the resume checkpoints and feeds the
 * read-back behind them); a chunk found elsewhere in it is read (and
 * re-hashed) before it is written at its own place, and one whose old region
 * was already overwritten simply fails its hash and is fetched. The active
 * slot is never written. Missing chunks and patches are fetched in rounds of
 * at most DELTA_BATCH compressed bytes (the HTTP source merges neighbours and
 * uses multi-range), planned ahead of the cursor from the indexes (the chunks
 * they do not place on the device), so that the chunks found locally between
 * them go to the writer without waiting; fetched chunks are decompressed,
 * hashed, then written in their turn. A chunk that has patches is fetched
 * without them (its own frame).
 *
 * Costs, measured with bench/delta.sh (1 GiB ext4, 2 CPUs): a scan of the
 * active slot was a third of the install (0.4-0.5 s of 1.3 s; the moves take
 * it out), then hashing: the spare at each offset is compared with the
 * active's verified bytes where those match rather than hashed a second time.
 *
 * Power-fail: every write goes through the install pipeline (install.c),
 * which records the slot "installing" before the first byte and checkpoints
 * only what is durable, where every chunk below is in place (image order). */
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

/* What the look-ahead (plan_round) found for a chunk. */
enum chunk_plan {
	PLAN_LOCAL,    /* the indexes place it locally: the cursor looks for it */
	PLAN_ZERO,     /* all zero (its hash says so): nothing to read or fetch */
	PLAN_IN_PLACE, /* in the spare at its offset already (re-hashed) */
	PLAN_QUEUED,   /* in the fetch round */
};

/* One payload's fetch round, and the buffers chunks pass through. */
struct batch {
	const struct ota_delta *d;
	struct ota_install_target *t;
	const struct ota_manifest_payload *p;
	const struct ota_chunk_entry *table;
	struct ota_chunk_decoder *dec;
	uint8_t *ubuf, *sbuf, *cbuf;
	struct ota_bundle_range *ranges;
	uint64_t *chunk_of, *offset_of;
	const struct ota_chunk_patch **patch_of; /* NULL: the chunk itself is queued */
	size_t n;
	uint64_t bytes;
	int spare;         /* the spare's old content, read-only, or -1 */
	int active;        /* the active slot: local chunks and the bases, or -1 */
	const struct ota_chunk_index *ix, *moved; /* the active's chunks, the spare's old image's */
	bool ix_hints;     /* ix is made from the bundle's moves */
	bool ix_doubted;   /* ... and placed a chunk where it was not: read before trusting it */
	uint8_t *plan;     /* enum chunk_plan per chunk */
	uint8_t *bbuf;     /* a base region */
	uint8_t *fbuf;     /* a chunk fetched alone (its patch failed, or it was not where the index said) */
	uint64_t spare_misses;       /* chunks in a row not in place in the spare at their offset */
};

/* A spare that held nothing of the new image at the last SPARE_MISSES
 * offsets (unrelated data, an older image laid out otherwise) is looked at
 * only at every SPARE_PROBE-th chunk until it matches again: each look is a
 * read the full install does not make. A chunk not looked at is written
 * again, never wrong. */
#define SPARE_MISSES 64u
#define SPARE_PROBE 16u

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

/* Whether the size bytes of e at offset `at` of fd, read now into buf, are chunk e. */
static bool read_chunk(int fd, uint8_t *buf, const struct ota_chunk_entry *e, uint64_t at)
{
	return ota_pread_full(fd, buf, e->usize, at) == (ssize_t)e->usize && ota_chunk_verify(e, buf, e->usize) == 0;
}

/* The compressed bytes of chunk i alone: its own frame (without its patches). */
static uint64_t frame_size(const struct batch *b, uint64_t i)
{
	const struct ota_chunk_patch *pp;
	size_t np = ota_payload_chunk_patches(b->p, i, &pp);
	return np && ota_chunk_patch_usable(&pp[0], &b->table[i]) ? pp[0].frame_size : b->table[i].csize;
}

/* Chunk i fetched alone into b->fbuf and decoded, verified, into b->ubuf. */
static int fetch_alone(struct ota_install *x, struct batch *b, uint64_t i)
{
	const struct ota_chunk_entry *e = &b->table[i];
	uint64_t size = frame_size(b, i);
	struct ota_bundle_range one = { .offset = b->d->data_off + e->offset, .size = size, .buf = b->fbuf };
	int r = ota_bundle_http_fetch(b->d->web, &one, 1, x->err);
	if (r < 0)
		return r;
	return size < e->csize ? ota_chunk_decode_frame(b->dec, e, (uint32_t)size, b->fbuf, b->ubuf, x->err)
			       : ota_chunk_decode(b->dec, e, b->fbuf, b->ubuf, x->err);
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
	return fetch_alone(x, b, b->chunk_of[k]);
}

/* Whether the base region of pt, read from the active slot now, is the one it names. */
static bool base_in_place(struct batch *b, const struct ota_chunk_patch *pt)
{
	return b->active >= 0 && ota_pread_full(b->active, b->bbuf, pt->base_size, pt->base_offset) == (ssize_t)pt->base_size &&
	       ota_chunk_patch_base_ok(pt, b->bbuf);
}

/* Queues chunk i (at image offset off) for the next fetch: its smallest
 * patch whose base is in place, else the chunk (without its patches). */
static void queue_chunk(struct batch *b, uint64_t i, uint64_t off)
{
	const struct ota_chunk_entry *e = &b->table[i];
	const struct ota_chunk_patch *pp, *use = NULL;
	size_t np = b->active >= 0 ? ota_payload_chunk_patches(b->p, i, &pp) : 0;
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
						     .size = use ? use->size : frame_size(b, i), .buf = b->cbuf + b->bytes };
	b->patch_of[b->n] = use;
	b->chunk_of[b->n] = i;
	b->offset_of[b->n] = off;
	b->bytes += b->ranges[b->n].size;
	b->n++;
	b->plan[i] = PLAN_QUEUED;
}

static bool read_active(struct batch *b, const struct ota_chunk_entry *e, uint64_t off);
/* The places of one chunk read_active tries before its own offset. */
#define ACTIVE_PLACES OTA_BUNDLE_MAX_PATCH_BASES

/* Whether the indexes place chunk i (at image offset off) on the device:
 * then the cursor looks for it there (and fetches it alone if it is not).
 * Once the bundle's moves placed a chunk where it was not (the slot holds
 * another release whose probed runs happened to match, or was changed),
 * each chunk they place is read and checked here (the cursor reads it
 * again, from the page cache, right before use), so that what is missing
 * is fetched with the round, its patches included, not one request each. */
static bool placed_locally(struct batch *b, const struct ota_chunk_entry *e, uint64_t off)
{
	const struct ota_chunk_index_entry *lc;
	if (b->active >= 0 && ota_chunk_index_find(b->ix, e) && (!b->ix_doubted || read_active(b, e, off)))
		return true;
	return b->spare >= 0 && (lc = ota_chunk_index_find(b->moved, e)) && lc->offset != off;
}

/* The next fetch round, planned ahead of the cursor from chunk *next (at
 * image offset *next_off) on: each chunk the indexes do not place locally
 * is either in place in the spare (re-hashed now; the cursor, behind, never
 * writes at or above *next_off) or queued, up to DELTA_BATCH compressed
 * bytes; then the round is fetched in one go (the HTTP source merges
 * neighbours and uses multi-range). Advances *next past the round. */
static int plan_round(struct ota_install *x, struct batch *b, uint64_t *next, uint64_t *next_off)
{
	b->n = 0;
	b->bytes = 0;
	uint64_t i = *next, off = *next_off;
	for (; i < b->p->chunk_count; off += b->table[i].usize, i++) {
		const struct ota_chunk_entry *e = &b->table[i];
		if (b->plan[i] == PLAN_ZERO || placed_locally(b, e, off))
			continue;
		if (b->n == DELTA_BATCH_CHUNKS || (b->n > 0 && b->bytes + e->csize > DELTA_BATCH))
			break;
		if (b->spare >= 0 && read_chunk(b->spare, b->ubuf, e, off))
			b->plan[i] = PLAN_IN_PLACE;
		else
			queue_chunk(b, i, off);
	}
	*next = i;
	*next_off = off;
	if (b->n == 0)
		return 0;
	int r = ota_bundle_http_fetch(b->d->web, b->ranges, b->n, x->err);
	if (r < 0)
		ota_error_prefix(x->err, "bundle '%s': payload '%s': fetch %zu chunks: ", b->d->src->name, b->p->slot_class,
				 b->n);
	return r;
}

static void note_source(struct ota_install *x, const char *slot)
{
	if (strstr(x->reused_from, slot))
		return;
	size_t l = strlen(x->reused_from);
	(void)snprintf(x->reused_from + l, sizeof(x->reused_from) - l, "%s%s", l ? ", " : "", slot);
}

/* Whether chunk e (at image offset off) is in the active slot, read into
 * b->ubuf and verified: where the index places it first, then at off. In
 * bench/delta.sh's security update 1,298 of 1,477 reused chunks had moved
 * (ext4 placed the files anew): trying off first hashed each of them twice.
 * A stale index entry costs one read more, never a wrong chunk. */
static bool read_active(struct batch *b, const struct ota_chunk_entry *e, uint64_t off)
{
	if (b->active < 0)
		return false;
	/* A chunk held at several places (repeated content, or the moves of
	 * several earlier images) is looked for at a few of them. */
	const struct ota_chunk_index_entry *lc = ota_chunk_index_find(b->ix, e);
	for (unsigned k = 0; lc && k < ACTIVE_PLACES; k++, lc = ota_chunk_index_next(b->ix, lc))
		if (lc->offset != off && read_chunk(b->active, b->ubuf, e, lc->offset))
			return true;
	return read_chunk(b->active, b->ubuf, e, off);
}

/* Where chunk i (at image offset off), not queued, is: 1 in place in the
 * spare, 2 copied into b->ubuf from the active slot, 3 from elsewhere in the
 * spare, 4 zeros (put into b->ubuf: nothing to read), 0 nowhere. Every
 * candidate is read now and checked: the spare at off against the chunk's
 * bytes from the active slot when those hash to it (a comparison instead
 * of a second hash), else by its own hash. spare_first:
 * the previous chunk was in place (a resumed install), so the spare is
 * hashed before the active is read. A spare that matched nowhere lately
 * is looked at only now and then (SPARE_MISSES). */
static int find_local(struct batch *b, uint64_t i, uint64_t off, bool spare_first)
{
	const struct ota_chunk_entry *e = &b->table[i];
	if (b->plan[i] == PLAN_IN_PLACE || (spare_first && b->spare >= 0 && read_chunk(b->spare, b->sbuf, e, off)))
		return 1;
	if (b->plan[i] == PLAN_ZERO) {
		/* Its bytes are known: the writer zeroes the range (slot-io.h),
		 * cheaper than reading it anywhere first. */
		memset(b->ubuf, 0, e->usize);
		return 4;
	}
	bool active = read_active(b, e, off);
	bool look = b->spare_misses < SPARE_MISSES || i % SPARE_PROBE == 0;
	if (b->spare >= 0 && !spare_first && look) {
		bool in_place = active ? ota_pread_full(b->spare, b->sbuf, e->usize, off) == (ssize_t)e->usize &&
						 memcmp(b->sbuf, b->ubuf, e->usize) == 0
				       : read_chunk(b->spare, b->sbuf, e, off);
		if (in_place) {
			b->spare_misses = 0;
			return 1;
		}
		b->spare_misses++;
	}
	if (active)
		return 2;
	const struct ota_chunk_index_entry *lc;
	if (b->spare >= 0 && (lc = ota_chunk_index_find(b->moved, e)) && lc->offset != off &&
	    read_chunk(b->spare, b->ubuf, e, lc->offset))
		return 3;
	return 0;
}

/* Places every chunk of t in image order through the pipelined writer:
 * found locally (find_local), or decoded from the round fetched ahead. */
static int place_chunks(struct ota_install *x, struct batch *b, const char *active_name)
{
	struct ota_install_target *t = b->t;
	uint64_t next = 0, next_off = 0; /* the look-ahead: chunks below next are planned */
	size_t k = 0;                    /* the next queued item of the round */
	bool spare_first = false;
	uint64_t off = 0;
	int r;
	for (uint64_t i = 0; i < b->p->chunk_count; off += b->table[i].usize, i++) {
		const struct ota_chunk_entry *e = &b->table[i];
		if (i == next) {
			if ((r = plan_round(x, b, &next, &next_off)) < 0)
				return r;
			k = 0;
		}
		if (b->plan[i] == PLAN_QUEUED) {
			if ((r = decode_queued(x, b, k)) < 0) {
				ota_error_prefix(x->err, "bundle '%s': payload '%s': chunk %llu (image offset %llu): ",
						 b->d->src->name, b->p->slot_class, (unsigned long long)i,
						 (unsigned long long)off);
				return r;
			}
			k++;
			spare_first = false;
			if ((r = ota_install_put_chunk(x, t, i, off, e, b->ubuf)) < 0)
				return r;
			continue;
		}
		int where = find_local(b, i, off, spare_first);
		spare_first = where == 1;
		if (where == 1) {
			if ((r = ota_install_open_target(x, t)) < 0)
				return r;
			/* Below a checkpoint: left there by the interrupted attempt. */
			*(i < t->resume_chunks ? &x->resumed : &x->reused_spare) += e->usize;
			ota_install_skip_chunk(x, t, i, off, e);
			continue;
		}
		if (where == 2) {
			x->reused_active += e->usize;
			note_source(x, active_name);
		} else if (where == 3) {
			x->reused_spare += e->usize;
		} else if (where == 4) {
			x->zero_chunks += e->usize;
		} else {
			/* The indexes placed it locally, but it was not there (a stale index). */
			if (b->ix_hints && ota_chunk_index_find(b->ix, e))
				b->ix_doubted = true;
			if ((r = fetch_alone(x, b, i)) < 0) {
				ota_error_prefix(x->err, "bundle '%s': payload '%s': chunk %llu (image offset %llu): ",
						 b->d->src->name, b->p->slot_class, (unsigned long long)i,
						 (unsigned long long)off);
				return r;
			}
		}
		if ((r = ota_install_put_chunk(x, t, i, off, e, b->ubuf)) < 0)
			return r;
	}
	return 0;
}

/* Indexes the active slot as (open as fd `active`, or -1: no index) at
 * path: its saved index, else the bundle's moves if it holds a release they
 * describe (*ret_hints), else a scan; ubuf: a buffer of max bytes for the
 * probes. Reports which (stages index-loaded, index-moves, index). */
static int index_active(struct ota_install *x, const struct ota_slot_config *as, const char *path, int active,
			const struct ota_manifest_payload *p, const struct ota_chunk_entry *table, uint64_t max,
			uint8_t *ubuf, struct ota_chunk_index *ix, struct ota_install_target *t, bool *ret_hints)
{
	*ret_hints = false;
	if (active < 0)
		return 0;
	enum ota_update_stage stage = OTA_STAGE_INDEX_LOADED;
	uint64_t size = 0;
	int r = 0;
	if (ota_chunk_index_load(x->c->status_file, as->name, p, ix) == 0) {
		size = active_size(x, as, active, as->file != NULL);
		r = ota_chunk_index_from_moves(active, size, p, table, ubuf, ix);
		if (r < 0)
			return ota_error_errno(x->err, r, "slot %s: index from the bundle's moves", as->name);
		stage = r ? OTA_STAGE_INDEX_MOVES : OTA_STAGE_INDEX;
	}
	ota_install_report(x, stage, t, 0);
	if (stage == OTA_STAGE_INDEX) {
		_cleanup_close_ int direct = open(path, O_RDONLY | O_CLOEXEC | O_DIRECT | (as->file ? O_NOFOLLOW : 0));
		return ota_chunk_index_scan(active, direct, size, p, max, ix, as->name, x->err);
	}
	*ret_hints = stage == OTA_STAGE_INDEX_MOVES;
	return 0;
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
	_cleanup_free_ uint8_t *sbuf = malloc(max);
	_cleanup_free_ uint8_t *cbuf = malloc(DELTA_BATCH + cmax);
	_cleanup_free_ uint8_t *fbuf = malloc(cmax);
	_cleanup_free_ uint8_t *plan = calloc(p->chunk_count ? p->chunk_count : 1, 1);
	_cleanup_free_ struct ota_bundle_range *ranges = calloc(DELTA_BATCH_CHUNKS, sizeof(*ranges));
	_cleanup_free_ uint64_t *chunk_of = calloc(DELTA_BATCH_CHUNKS, sizeof(*chunk_of));
	_cleanup_free_ uint64_t *offset_of = calloc(DELTA_BATCH_CHUNKS, sizeof(*offset_of));
	_cleanup_free_ const struct ota_chunk_patch **patch_of = calloc(DELTA_BATCH_CHUNKS, sizeof(*patch_of));
	/* Bases only for a payload that has patches. */
	_cleanup_free_ uint8_t *bbuf = p->n_patches ? malloc(ota_bundle_patch_base_max(p)) : NULL;
	if (!ubuf || !sbuf || !cbuf || !fbuf || !plan || !ranges || !chunk_of || !offset_of || !patch_of ||
	    (p->n_patches && !bbuf))
		return ota_error_set(x->err, -ENOMEM, "payload '%s' into slot %s: out of memory for delta buffers",
				     p->slot_class, t->slot->name);
	/* The all-zero chunks, known from their hashes once: the planner and
	 * the cursor ask for every chunk. */
	if ((r = ota_chunk_table_zeros(table, p->chunk_count, plan, x->err)) < 0)
		return r;
	for (uint64_t i = 0; i < p->chunk_count; i++)
		plan[i] = plan[i] ? PLAN_ZERO : PLAN_LOCAL;

	/* The spare's old content (read-only fd; may not exist yet for a file slot). */
	_cleanup_close_ int spare = open(t->path, O_RDONLY | O_CLOEXEC | (t->is_file ? O_NOFOLLOW : 0));
	/* The active slot of the same class, indexed by content. */
	const struct ota_slot_config *as = ota_sysconf_slot(x->c, d->booted, p->slot_class);
	_cleanup_close_ int active = -1;
	_cleanup_(ota_chunk_index_done) struct ota_chunk_index ix = { 0 };
	bool ix_hints = false;
	char apath[PATH_MAX];
	if ((r = ota_install_begin_payload(x, t)) < 0)
		return r;
	if (as && ota_install_slot_path(as, apath, sizeof(apath), NULL) == 0) {
		active = open(apath, O_RDONLY | O_CLOEXEC | (as->file ? O_NOFOLLOW : 0));
		if ((r = index_active(x, as, apath, active, p, table, max, ubuf, &ix, t, &ix_hints)) < 0)
			return r;
	}

	/* The spare's old image, if its index was saved: chunks that moved
	 * towards its start are found (the spare is written from the start, so
	 * what moved towards its end is overwritten before it is needed). */
	_cleanup_(ota_chunk_index_done) struct ota_chunk_index moved = { 0 };
	if (spare >= 0)
		(void)ota_chunk_index_load_candidates(x->c->status_file, t->slot->name, p, &moved);
	struct batch b = { .d = d, .t = t, .p = p, .table = table, .dec = dec, .ubuf = ubuf, .sbuf = sbuf, .cbuf = cbuf,
			   .ranges = ranges, .chunk_of = chunk_of, .offset_of = offset_of, .patch_of = patch_of,
			   .spare = spare, .active = active, .ix = &ix, .ix_hints = ix_hints, .moved = &moved, .plan = plan, .bbuf = bbuf,
			   .fbuf = fbuf };
	ota_install_report(x, OTA_STAGE_WRITE, t, 0);
	if ((r = place_chunks(x, &b, as ? as->name : "")) < 0)
		return r;
	/* The writer finished, fsync, the read-back checks the whole-image SHA-256, record "installed". */
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

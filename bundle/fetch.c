/* SPDX-License-Identifier: Apache-2.0 */
/* Pieces of the reader for clients that fetch a bundle by range (adaptive
 * delta, docs/bundle-format.md "Fetching chunks by range"): the data area's
 * offset, a chunk table fetched at an offset and checked against the
 * verified manifest, and single-chunk decoding with its hash check. */
#include <errno.h>
#include <string.h>

#include "bundle/bundle-private.h"

struct ota_chunk_decoder {
	ZSTD_DCtx *dctx;
};

int ota_bundle_payload_bounds(const struct ota_manifest_payload *p, uint64_t *ret_min, uint64_t *ret_max,
			      uint64_t *ret_csize_max)
{
	uint64_t min, max;
	if (ota_chunker_bounds(p->chunker, p->chunk_avg, &min, &max) < 0)
		return -EINVAL;
	if (ret_min)
		*ret_min = min;
	if (ret_max)
		*ret_max = max;
	if (ret_csize_max)
		*ret_csize_max = ota_chunk_csize_bound(max);
	return 0;
}

int ota_bundle_fetch_table(const struct ota_bundle_source *src, uint64_t data_offset,
			   const struct ota_manifest_payload *p, uint64_t max_table, struct ota_chunk_entry **ret,
			   struct ota_error *err)
{
	if (!src->read_at)
		return ota_error_set(err, -EOPNOTSUPP, "bundle '%s': the source cannot read at an offset", src->name);
	uint64_t size = p->chunk_count * OTA_BUNDLE_CHUNK_ENTRY_SIZE; /* count <= 2^22: no overflow */
	if (max_table == 0)
		max_table = OTA_BUNDLE_DEFAULT_MAX_TABLE;
	if (size > max_table)
		return ota_error_set(err, -E2BIG, "bundle '%s': payload '%s': chunk table of %llu bytes exceeds the limit of %llu",
				     src->name, p->slot_class, (unsigned long long)size, (unsigned long long)max_table);
	uint64_t at;
	if (__builtin_add_overflow(data_offset, p->table_offset, &at))
		return ota_error_set(err, -EOVERFLOW, "bundle '%s': table offset overflows", src->name);
	_cleanup_free_ uint8_t *raw = malloc(size ? size : 1);
	if (!raw)
		return ota_error_set(err, -ENOMEM, "out of memory for a chunk table of %llu bytes", (unsigned long long)size);
	uint64_t got = 0;
	while (got < size) {
		ssize_t n = src->read_at(src->userdata, at + got, raw + got, (size_t)(size - got));
		if (n < 0) {
			const struct ota_error *se = src->last_error;
			if (se && se->code == (int)n && se->msg[0])
				return ota_error_set_because(err, se->reason, (int)n,
							     "bundle '%s': payload '%s': read the chunk table: %s",
							     src->name, p->slot_class, se->msg);
			return ota_error_errno(err, (int)n, "bundle '%s': payload '%s': read the chunk table", src->name,
					       p->slot_class);
		}
		if (n == 0)
			return ota_bundle_malformed(err, "bundle '%s': payload '%s': truncated in the chunk table",
						    src->name, p->slot_class);
		got += (uint64_t)n;
	}
	uint8_t sha[32];
	int r = ota_sha256(raw, size, sha);
	if (r < 0)
		return ota_error_set(err, r, "SHA-256 failed");
	if (memcmp(sha, p->table_sha256, 32) != 0)
		return ota_bundle_malformed(err, "bundle '%s': payload '%s': chunk table hash mismatch (table altered)",
					    src->name, p->slot_class);
	r = ota_chunk_table_parse(raw, size, p, ret, err);
	if (r < 0)
		ota_error_prefix(err, "bundle '%s': payload '%s': ", src->name, p->slot_class);
	return r;
}

int ota_chunk_decoder_new(struct ota_chunk_decoder **ret, struct ota_error *err)
{
	struct ota_chunk_decoder *d = calloc(1, sizeof(*d));
	if (d)
		d->dctx = ZSTD_createDCtx();
	if (!d || !d->dctx) {
		ota_chunk_decoder_free(d);
		return ota_error_set(err, -ENOMEM, "out of memory for a zstd context");
	}
	*ret = d;
	return 0;
}

struct ota_chunk_decoder *ota_chunk_decoder_free(struct ota_chunk_decoder *d)
{
	if (!d)
		return NULL;
	(void)ZSTD_freeDCtx(d->dctx);
	free(d);
	return NULL;
}

int ota_chunk_verify(const struct ota_chunk_entry *e, const void *data, size_t size)
{
	if (size != e->usize)
		return -EBADMSG;
	uint8_t sha[32];
	int r = ota_sha256(data, size, sha);
	if (r < 0)
		return r;
	return memcmp(sha, e->sha256, 32) == 0 ? 0 : -EBADMSG;
}

/* Decompresses size bytes of cdata (size-bounded, not yet verified) into
 * exactly e->usize bytes at out with d's parameters, then checks the hash. */
static int decode_checked(struct ota_chunk_decoder *d, const struct ota_chunk_entry *e, const void *cdata,
			  size_t size, void *out, const char *what, struct ota_error *err)
{
	size_t n = ZSTD_decompressDCtx(d->dctx, out, e->usize, cdata, size);
	/* A prefix is used once; clear it also when decoding failed early. */
	(void)ZSTD_DCtx_reset(d->dctx, ZSTD_reset_session_and_parameters);
	if (ZSTD_isError(n) || n != e->usize)
		return ota_bundle_malformed(err, "%s failed: %s", what,
					    ZSTD_isError(n) ? ZSTD_getErrorName(n) : "wrong size");
	int r = ota_chunk_verify(e, out, e->usize);
	if (r == -EBADMSG)
		return ota_bundle_malformed(err, "hash mismatch after %s (data altered)", what);
	if (r < 0)
		return ota_error_set(err, r, "SHA-256 failed");
	return 0;
}

int ota_chunk_decode(struct ota_chunk_decoder *d, const struct ota_chunk_entry *e, const void *cdata, void *out,
		     struct ota_error *err)
{
	return decode_checked(d, e, cdata, e->csize, out, "decompression", err);
}

/* ---- chunk patches (docs/bundle-format.md "Chunk patches") ------------------ */

size_t ota_payload_chunk_patches(const struct ota_manifest_payload *p, uint64_t chunk,
				 const struct ota_chunk_patch **ret)
{
	size_t lo = 0, hi = p->n_patches;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (p->patches[mid].chunk < chunk)
			lo = mid + 1;
		else
			hi = mid;
	}
	size_t n = 0;
	while (lo + n < p->n_patches && p->patches[lo + n].chunk == chunk)
		n++;
	*ret = n ? &p->patches[lo] : NULL;
	return n;
}

bool ota_chunk_patch_usable(const struct ota_chunk_patch *pt, const struct ota_chunk_entry *e)
{
	/* The frame is a prefix of the chunk's bytes, the patch lies behind it
	 * (after the skippable frame's head) and inside them. e->offset +
	 * e->csize does not overflow: the table parser checked it. */
	uint64_t after = e->offset + pt->frame_size + OTA_PATCH_FRAME_HEAD, end = e->offset + e->csize;
	return pt->frame_size <= e->csize && pt->offset >= after && pt->offset <= end && pt->size <= end - pt->offset;
}

int ota_chunk_decode_frame(struct ota_chunk_decoder *d, const struct ota_chunk_entry *e, uint32_t frame_size,
			   const void *cdata, void *out, struct ota_error *err)
{
	struct ota_chunk_entry frame = *e;
	frame.csize = frame_size;
	return ota_chunk_decode(d, &frame, cdata, out, err);
}

uint64_t ota_bundle_patch_base_max(const struct ota_manifest_payload *p)
{
	uint64_t max;
	return ota_bundle_payload_bounds(p, NULL, &max, NULL) < 0 ? 0 : ota_patch_base_max(max);
}

bool ota_chunk_patch_base_ok(const struct ota_chunk_patch *pt, const void *base)
{
	uint8_t sha[32];
	return ota_sha256(base, pt->base_size, sha) == 0 && memcmp(sha, pt->base_sha256, 32) == 0;
}

int ota_chunk_patch_decode(struct ota_chunk_decoder *d, const struct ota_chunk_entry *e,
			   const struct ota_chunk_patch *pt, const void *base, const void *pdata, void *out,
			   struct ota_error *err)
{
	if (!ota_chunk_patch_base_ok(pt, base))
		return ota_error_set(err, -EBADMSG, "the base region (%u bytes at %llu) does not match its SHA-256",
				     pt->base_size, (unsigned long long)pt->base_offset);
	size_t r = ZSTD_DCtx_refPrefix(d->dctx, base, pt->base_size);
	if (ZSTD_isError(r))
		return ota_error_set(err, -EIO, "zstd: %s", ZSTD_getErrorName(r));
	return decode_checked(d, e, pdata, pt->size, out, "patch decompression", err);
}

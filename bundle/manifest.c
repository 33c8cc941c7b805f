/* SPDX-License-Identifier: Apache-2.0 */
/* The manifest: a TLV encoding (docs/bundle-format.md) parsed from a buffer
 * with every length checked before use. Pure: no I/O. */
#include <errno.h>
#include <string.h>

#include "bundle/bundle-private.h"

struct ota_manifest *ota_manifest_new(void)
{
	return calloc(1, sizeof(struct ota_manifest));
}

static void payload_done(struct ota_manifest_payload *p)
{
	free(p->slot_class);
	free(p->name);
	free(p->patches);
	free(p->moves);
}

struct ota_manifest *ota_manifest_free(struct ota_manifest *m)
{
	if (!m)
		return NULL;
	free(m->compatible);
	free(m->version);
	free(m->build);
	free(m->description);
	for (size_t i = 0; i < m->n_payloads; i++)
		payload_done(&m->payloads[i]);
	free(m->payloads);
	free(m);
	return NULL;
}

const struct ota_manifest_payload *ota_manifest_find(const struct ota_manifest *m, const char *slot_class)
{
	for (size_t i = 0; i < m->n_payloads; i++)
		if (ota_streq(m->payloads[i].slot_class, slot_class))
			return &m->payloads[i];
	return NULL;
}

/* ---- validation ----------------------------------------------------------- */

static bool string_ok(const char *s, size_t max)
{
	if (!s || !*s || strlen(s) > max)
		return false;
	for (const char *p = s; *p; p++)
		if (*p < 0x20 || *p > 0x7e)
			return false;
	return true;
}

static bool slot_class_ok(const char *s)
{
	if (!string_ok(s, OTA_BUNDLE_MAX_SLOT_CLASS))
		return false;
	for (const char *p = s; *p; p++) {
		bool alnum = (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9');
		if (!alnum && (p == s || !strchr("._-", *p)))
			return false;
	}
	return true;
}

static int validate_counts(const struct ota_manifest_payload *p, struct ota_error *err)
{
	uint64_t min, max;
	if (ota_chunker_bounds(p->chunker, p->chunk_avg, &min, &max) < 0)
		return ota_bundle_malformed(err, "unsupported chunker %u with average size %u", p->chunker,
					    p->chunk_avg);
	if (p->compression != OTA_COMPRESSION_ZSTD)
		return ota_bundle_malformed(err, "unsupported compression %u", p->compression);
	if (p->chunk_count > OTA_BUNDLE_MAX_CHUNKS)
		return ota_error_set(err, -E2BIG, "%llu chunks, limit %u", (unsigned long long)p->chunk_count,
				     OTA_BUNDLE_MAX_CHUNKS);
	/* Every chunk but the last holds min..max bytes, so the count follows
	 * from the image size; this also bounds the table by the image. */
	uint64_t lo = p->image_size / max + (p->image_size % max != 0);
	uint64_t hi = p->image_size ? (p->image_size - 1) / min + 1 : 0;
	if (p->chunk_count < lo || p->chunk_count > hi)
		return ota_bundle_malformed(err, "%llu chunks cannot hold an image of %llu bytes",
					    (unsigned long long)p->chunk_count, (unsigned long long)p->image_size);
	uint64_t most;
	if (p->data_size < p->chunk_count ||
	    (!__builtin_mul_overflow(p->chunk_count, ota_chunk_csize_bound(max), &most) && p->data_size > most))
		return ota_bundle_malformed(err, "compressed size %llu impossible for %llu chunks",
					    (unsigned long long)p->data_size, (unsigned long long)p->chunk_count);
	return 0;
}

/* The patches as far as the manifest alone can tell (the chunk table, read
 * later, fixes where each chunk's bytes are: see ota_chunk_patch_usable). */
static int validate_patches(const struct ota_manifest_payload *p, struct ota_error *err)
{
	if (p->n_patches == 0)
		return 0;
	uint64_t min, max;
	if (ota_chunker_bounds(p->chunker, p->chunk_avg, &min, &max) < 0 || p->n_patches > OTA_BUNDLE_MAX_PATCHES)
		return ota_bundle_malformed(err, "%zu patches, limit %u", p->n_patches, OTA_BUNDLE_MAX_PATCHES);
	uint64_t csize_max = ota_chunk_csize_bound(max), base_max = ota_patch_base_max(max);
	unsigned same = 0;
	for (size_t i = 0; i < p->n_patches; i++) {
		const struct ota_chunk_patch *pt = &p->patches[i];
		if (pt->chunk >= p->chunk_count)
			return ota_bundle_malformed(err, "patch %zu: chunk %u of %llu", i, pt->chunk,
					     (unsigned long long)p->chunk_count);
		same = i > 0 && pt->chunk == p->patches[i - 1].chunk ? same + 1 : 1;
		if (i > 0 && pt->chunk < p->patches[i - 1].chunk)
			return ota_bundle_malformed(err, "patch %zu: not sorted by chunk", i);
		if (same > OTA_BUNDLE_MAX_PATCH_BASES)
			return ota_bundle_malformed(err, "patch %zu: more than %u patches for chunk %u", i,
					     OTA_BUNDLE_MAX_PATCH_BASES, pt->chunk);
		if (same > 1 && pt->frame_size != p->patches[i - 1].frame_size)
			return ota_bundle_malformed(err, "patch %zu: another frame size for chunk %u", i, pt->chunk);
		uint64_t end;
		if (pt->frame_size == 0 || pt->frame_size > csize_max || pt->size == 0 || pt->size > csize_max ||
		    pt->base_size == 0 || pt->base_size > base_max ||
		    __builtin_add_overflow(pt->base_offset, (uint64_t)pt->base_size, &end))
			return ota_bundle_malformed(err, "patch %zu (chunk %u): a size out of range", i, pt->chunk);
		/* Inside this payload's chunks (data_offset + data_size cannot
		 * overflow: validate_payload checked it first). */
		if (pt->offset < p->data_offset || pt->offset > p->data_offset + p->data_size ||
		    pt->size > p->data_offset + p->data_size - pt->offset)
			return ota_bundle_malformed(err, "patch %zu (chunk %u): outside the payload's chunks", i, pt->chunk);
	}
	return 0;
}

/* The moves as far as the manifest can tell: runs inside the chunk table,
 * sorted by (base, chunk), one base's runs disjoint. Where they point in
 * the earlier image is only a hint (each chunk is re-hashed there). */
static int validate_moves(const struct ota_manifest_payload *p, struct ota_error *err)
{
	if (p->n_moves > OTA_BUNDLE_MAX_MOVES)
		return ota_bundle_malformed(err, "%zu moves, limit %u", p->n_moves, OTA_BUNDLE_MAX_MOVES);
	for (size_t i = 0; i < p->n_moves; i++) {
		const struct ota_chunk_move *mv = &p->moves[i], *prev = i ? &p->moves[i - 1] : NULL;
		if (mv->base >= OTA_BUNDLE_MAX_PATCH_BASES)
			return ota_bundle_malformed(err, "move %zu: base %u, at most %u", i, mv->base,
						    OTA_BUNDLE_MAX_PATCH_BASES - 1);
		if (mv->count == 0 || mv->chunk >= p->chunk_count || mv->count > p->chunk_count - mv->chunk)
			return ota_bundle_malformed(err, "move %zu: chunks %u + %u of %llu", i, mv->chunk, mv->count,
						    (unsigned long long)p->chunk_count);
		if (prev && (mv->base < prev->base || (mv->base == prev->base && mv->chunk < prev->chunk + prev->count)))
			return ota_bundle_malformed(err, "move %zu: not sorted, or overlapping move %zu", i, i - 1);
	}
	return 0;
}

static int validate_payload(const struct ota_manifest_payload *p, uint64_t *pos, struct ota_error *err)
{
	if (!slot_class_ok(p->slot_class))
		return ota_bundle_malformed(err, "missing or invalid slot class");
	if (p->name && !string_ok(p->name, OTA_BUNDLE_MAX_STRING))
		return ota_bundle_malformed(err, "invalid name");
	int r = validate_counts(p, err);
	if (r < 0)
		return r;
	if (p->table_offset != *pos)
		return ota_bundle_malformed(err, "chunk table at offset %llu, expected %llu",
					    (unsigned long long)p->table_offset, (unsigned long long)*pos);
	uint64_t data_off, end;
	if (__builtin_add_overflow(p->table_offset, p->chunk_count * OTA_BUNDLE_CHUNK_ENTRY_SIZE, &data_off) ||
	    data_off != p->data_offset || __builtin_add_overflow(data_off, p->data_size, &end))
		return ota_error_set(err, -EOVERFLOW, "payload extends beyond 2^64 bytes");
	*pos = end;
	r = validate_patches(p, err);
	return r < 0 ? r : validate_moves(p, err);
}

int ota_manifest_validate(const struct ota_manifest *m, struct ota_error *err)
{
	if (!string_ok(m->compatible, OTA_BUNDLE_MAX_STRING))
		return ota_bundle_malformed(err, "manifest: missing or invalid 'compatible'");
	if (!string_ok(m->version, OTA_BUNDLE_MAX_STRING))
		return ota_bundle_malformed(err, "manifest: missing or invalid 'version'");
	if ((m->build && !string_ok(m->build, OTA_BUNDLE_MAX_STRING)) ||
	    (m->description && !string_ok(m->description, OTA_BUNDLE_MAX_STRING)))
		return ota_bundle_malformed(err, "manifest: invalid 'build' or 'description'");
	if (m->n_payloads == 0 || m->n_payloads > OTA_BUNDLE_MAX_PAYLOADS)
		return ota_bundle_malformed(err, "manifest: %zu payloads, expected 1..%u", m->n_payloads,
					    OTA_BUNDLE_MAX_PAYLOADS);
	uint64_t pos = 0;
	for (size_t i = 0; i < m->n_payloads; i++) {
		const struct ota_manifest_payload *p = &m->payloads[i];
		for (size_t j = 0; j < i; j++)
			if (ota_streq(m->payloads[j].slot_class, p->slot_class))
				return ota_bundle_malformed(err, "manifest: duplicate payload for slot class '%s'",
							    p->slot_class);
		int r = validate_payload(p, &pos, err);
		if (r < 0) {
			ota_error_prefix(err, "manifest: payload %zu: ", i);
			return r;
		}
	}
	if (pos != m->data_size)
		return ota_bundle_malformed(err, "manifest: payloads cover %llu bytes, data area is %llu",
					    (unsigned long long)pos, (unsigned long long)m->data_size);
	return 0;
}

/* ---- decoding ----------------------------------------------------------- */

struct cursor {
	const uint8_t *p;
	size_t left;
};

struct field {
	uint16_t tag;
	const uint8_t *val;
	uint32_t len;
};

/* Returns 1 with a field, 0 at the end, or an error for a truncated one. */
static int next_field(struct cursor *c, struct field *f, struct ota_error *err)
{
	if (c->left == 0)
		return 0;
	if (c->left < OTA_FIELD_HEAD)
		return ota_bundle_malformed(err, "truncated field header (%zu bytes left)", c->left);
	f->tag = ota_get_be16(c->p);
	f->len = ota_get_be32(c->p + 2);
	if (f->len > c->left - OTA_FIELD_HEAD)
		return ota_bundle_malformed(err, "field 0x%04x: length %u exceeds the %zu bytes left", f->tag,
					    f->len, c->left - OTA_FIELD_HEAD);
	f->val = c->p + OTA_FIELD_HEAD;
	c->p += OTA_FIELD_HEAD + f->len;
	c->left -= OTA_FIELD_HEAD + f->len;
	return 1;
}

static int get_string(const struct field *f, char **dst, struct ota_error *err)
{
	if (*dst)
		return ota_bundle_malformed(err, "field 0x%04x appears twice", f->tag);
	if (f->len == 0 || f->len > OTA_BUNDLE_MAX_STRING || memchr(f->val, 0, f->len))
		return ota_bundle_malformed(err, "field 0x%04x: bad string of %u bytes", f->tag, f->len);
	*dst = strndup((const char *)f->val, f->len);
	return *dst ? 0 : ota_error_set(err, -ENOMEM, "out of memory");
}

static int get_u64(const struct field *f, uint64_t *dst, uint32_t *seen, uint32_t bit, struct ota_error *err)
{
	if (*seen & bit)
		return ota_bundle_malformed(err, "field 0x%04x appears twice", f->tag);
	if (f->len != 8)
		return ota_bundle_malformed(err, "field 0x%04x: %u bytes, expected 8", f->tag, f->len);
	*seen |= bit;
	*dst = ota_get_be64(f->val);
	return 0;
}

static int get_u32(const struct field *f, uint32_t *dst, uint32_t *seen, uint32_t bit, struct ota_error *err)
{
	if (*seen & bit)
		return ota_bundle_malformed(err, "field 0x%04x appears twice", f->tag);
	if (f->len != 4)
		return ota_bundle_malformed(err, "field 0x%04x: %u bytes, expected 4", f->tag, f->len);
	*seen |= bit;
	*dst = ota_get_be32(f->val);
	return 0;
}

static int get_sha(const struct field *f, uint8_t dst[32], uint32_t *seen, uint32_t bit, struct ota_error *err)
{
	if (*seen & bit)
		return ota_bundle_malformed(err, "field 0x%04x appears twice", f->tag);
	if (f->len != 32)
		return ota_bundle_malformed(err, "field 0x%04x: %u bytes, expected 32", f->tag, f->len);
	*seen |= bit;
	memcpy(dst, f->val, 32);
	return 0;
}

static int get_patches(const struct field *f, struct ota_manifest_payload *p, struct ota_error *err)
{
	if (p->patches)
		return ota_bundle_malformed(err, "field 0x%04x appears twice", f->tag);
	size_t n = f->len / OTA_BUNDLE_PATCH_ENTRY_SIZE;
	if (f->len % OTA_BUNDLE_PATCH_ENTRY_SIZE || n == 0 || n > OTA_BUNDLE_MAX_PATCHES)
		return ota_bundle_malformed(err, "field 0x%04x: %u bytes, expected 1..%u entries of %u", f->tag, f->len,
				     OTA_BUNDLE_MAX_PATCHES, OTA_BUNDLE_PATCH_ENTRY_SIZE);
	p->patches = calloc(n, sizeof(*p->patches));
	if (!p->patches)
		return ota_error_set(err, -ENOMEM, "out of memory");
	for (size_t i = 0; i < n; i++)
		ota_chunk_patch_decode_entry(f->val + i * OTA_BUNDLE_PATCH_ENTRY_SIZE, &p->patches[i]);
	p->n_patches = n;
	return 0;
}

static int get_moves(const struct field *f, struct ota_manifest_payload *p, struct ota_error *err)
{
	if (p->moves)
		return ota_bundle_malformed(err, "field 0x%04x appears twice", f->tag);
	size_t n = f->len / OTA_BUNDLE_MOVE_ENTRY_SIZE;
	if (f->len % OTA_BUNDLE_MOVE_ENTRY_SIZE || n == 0 || n > OTA_BUNDLE_MAX_MOVES)
		return ota_bundle_malformed(err, "field 0x%04x: %u bytes, expected 1..%u entries of %u", f->tag, f->len,
					    OTA_BUNDLE_MAX_MOVES, OTA_BUNDLE_MOVE_ENTRY_SIZE);
	p->moves = calloc(n, sizeof(*p->moves));
	if (!p->moves)
		return ota_error_set(err, -ENOMEM, "out of memory");
	for (size_t i = 0; i < n; i++)
		ota_chunk_move_decode_entry(f->val + i * OTA_BUNDLE_MOVE_ENTRY_SIZE, &p->moves[i]);
	p->n_moves = n;
	return 0;
}

static int unknown_field(const struct field *f, struct ota_error *err)
{
	if (f->tag & OTA_TAG_CRITICAL)
		return ota_bundle_unsupported(err, "unknown critical field 0x%04x", f->tag);
	return 0; /* optional: skipped */
}

enum {
	P_IMAGE_SIZE = 1 << 0,
	P_IMAGE_SHA = 1 << 1,
	P_COUNT = 1 << 2,
	P_TABLE_SHA = 1 << 3,
	P_TABLE_OFF = 1 << 4,
	P_DATA_SIZE = 1 << 5,
	P_CHUNKER = 1 << 6,
	P_AVG = 1 << 7,
	P_COMPRESSION = 1 << 8,
	P_ALL = (1 << 9) - 1,
};

static int payload_field(struct ota_manifest_payload *p, const struct field *f, uint32_t *seen,
			 struct ota_error *err)
{
	uint32_t kind = 0;
	int r;
	switch (f->tag) {
	case OTA_TAG_P_SLOT_CLASS: return get_string(f, &p->slot_class, err);
	case OTA_TAG_P_NAME: return get_string(f, &p->name, err);
	case OTA_TAG_P_IMAGE_SIZE: return get_u64(f, &p->image_size, seen, P_IMAGE_SIZE, err);
	case OTA_TAG_P_IMAGE_SHA256: return get_sha(f, p->image_sha256, seen, P_IMAGE_SHA, err);
	case OTA_TAG_P_CHUNK_COUNT: return get_u64(f, &p->chunk_count, seen, P_COUNT, err);
	case OTA_TAG_P_TABLE_SHA256: return get_sha(f, p->table_sha256, seen, P_TABLE_SHA, err);
	case OTA_TAG_P_TABLE_OFFSET: return get_u64(f, &p->table_offset, seen, P_TABLE_OFF, err);
	case OTA_TAG_P_DATA_SIZE: return get_u64(f, &p->data_size, seen, P_DATA_SIZE, err);
	case OTA_TAG_P_CHUNK_AVG: return get_u32(f, &p->chunk_avg, seen, P_AVG, err);
	case OTA_TAG_P_COMPRESSION: return get_u32(f, &p->compression, seen, P_COMPRESSION, err);
	case OTA_TAG_P_PATCHES: return get_patches(f, p, err);
	case OTA_TAG_P_MOVES: return get_moves(f, p, err);
	case OTA_TAG_P_CHUNKER:
		r = get_u32(f, &kind, seen, P_CHUNKER, err);
		p->chunker = (enum ota_chunker_kind)kind; /* unknown kinds fail validation */
		return r;
	default: return unknown_field(f, err);
	}
}

static int parse_payload(struct ota_manifest *m, const struct field *pf, struct ota_error *err)
{
	if (m->n_payloads >= OTA_BUNDLE_MAX_PAYLOADS)
		return ota_error_set(err, -E2BIG, "more than %u payloads", OTA_BUNDLE_MAX_PAYLOADS);
	struct ota_manifest_payload *arr = realloc(m->payloads, (m->n_payloads + 1) * sizeof(*arr));
	if (!arr)
		return ota_error_set(err, -ENOMEM, "out of memory");
	m->payloads = arr;
	struct ota_manifest_payload *p = &arr[m->n_payloads++];
	*p = (struct ota_manifest_payload){ 0 };

	struct cursor c = { pf->val, pf->len };
	struct field f;
	uint32_t seen = 0;
	int r;
	while ((r = next_field(&c, &f, err)) > 0)
		if ((r = payload_field(p, &f, &seen, err)) < 0)
			break;
	if (r < 0)
		return r;
	if (seen != P_ALL || !p->slot_class)
		return ota_bundle_malformed(err, "a required field is missing");
	/* Derived, so a later layout check needs no multiplication that could overflow. */
	if (p->chunk_count > OTA_BUNDLE_MAX_CHUNKS)
		return ota_error_set(err, -E2BIG, "%llu chunks, limit %u", (unsigned long long)p->chunk_count,
				     OTA_BUNDLE_MAX_CHUNKS);
	if (__builtin_add_overflow(p->table_offset, p->chunk_count * OTA_BUNDLE_CHUNK_ENTRY_SIZE, &p->data_offset))
		return ota_error_set(err, -EOVERFLOW, "chunk table offset %llu overflows 64 bits",
				     (unsigned long long)p->table_offset);
	return 0;
}

enum {
	M_FORMAT = 1 << 0,
	M_CREATED = 1 << 1,
	M_DATA_SIZE = 1 << 2,
};

static int manifest_field(struct ota_manifest *m, const struct field *f, uint32_t *seen, struct ota_error *err)
{
	uint32_t format = 0;
	int r;
	switch (f->tag) {
	case OTA_TAG_FORMAT:
		r = get_u32(f, &format, seen, M_FORMAT, err);
		if (r == 0 && format != OTA_BUNDLE_FORMAT_VERSION)
			return ota_bundle_unsupported(err, "format version %u in the manifest, expected %u",
						      format, OTA_BUNDLE_FORMAT_VERSION);
		return r;
	case OTA_TAG_COMPATIBLE: return get_string(f, &m->compatible, err);
	case OTA_TAG_VERSION: return get_string(f, &m->version, err);
	case OTA_TAG_BUILD: return get_string(f, &m->build, err);
	case OTA_TAG_DESCRIPTION: return get_string(f, &m->description, err);
	case OTA_TAG_CREATED: return get_u64(f, &m->created, seen, M_CREATED, err);
	case OTA_TAG_DATA_SIZE: return get_u64(f, &m->data_size, seen, M_DATA_SIZE, err);
	case OTA_TAG_PAYLOAD:
		r = parse_payload(m, f, err);
		if (r < 0)
			ota_error_prefix(err, "payload %zu: ", m->n_payloads - 1);
		return r;
	default: return unknown_field(f, err);
	}
}

int ota_manifest_parse(const uint8_t *buf, size_t size, struct ota_manifest **ret, struct ota_error *err)
{
	if (size > OTA_BUNDLE_MAX_MANIFEST)
		return ota_error_set(err, -E2BIG, "manifest: %zu bytes, limit %u", size, OTA_BUNDLE_MAX_MANIFEST);
	_cleanup_(ota_manifest_freep) struct ota_manifest *m = ota_manifest_new();
	if (!m)
		return ota_error_set(err, -ENOMEM, "out of memory");
	struct cursor c = { buf, size };
	struct field f;
	uint32_t seen = 0;
	int r;
	while ((r = next_field(&c, &f, err)) > 0)
		if ((r = manifest_field(m, &f, &seen, err)) < 0)
			break;
	if (r < 0) {
		ota_error_prefix(err, "manifest: ");
		return r;
	}
	if (!(seen & M_FORMAT))
		return ota_bundle_malformed(err, "manifest: format version missing");
	if (!(seen & M_DATA_SIZE))
		return ota_bundle_malformed(err, "manifest: data size missing");
	r = ota_manifest_validate(m, err);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(m);
	return 0;
}

/* ---- encoding ----------------------------------------------------------- */

struct buf {
	uint8_t *p;
	size_t len, cap;
	int error;
};

static uint8_t *buf_grow(struct buf *b, size_t n)
{
	if (b->error)
		return NULL;
	if (n > OTA_BUNDLE_MAX_MANIFEST || b->len + n > OTA_BUNDLE_MAX_MANIFEST) {
		b->error = -E2BIG;
		return NULL;
	}
	if (b->len + n > b->cap) {
		size_t cap = (b->len + n) * 2;
		uint8_t *p = realloc(b->p, cap);
		if (!p) {
			b->error = -ENOMEM;
			return NULL;
		}
		b->p = p;
		b->cap = cap;
	}
	uint8_t *at = b->p + b->len;
	b->len += n;
	return at;
}

static void put_field(struct buf *b, uint16_t tag, const void *val, size_t len)
{
	uint8_t *at = buf_grow(b, OTA_FIELD_HEAD + len);
	if (!at)
		return;
	ota_put_be16(at, tag);
	ota_put_be32(at + 2, (uint32_t)len);
	if (len)
		memcpy(at + OTA_FIELD_HEAD, val, len);
}

static void put_str(struct buf *b, uint16_t tag, const char *s)
{
	if (s)
		put_field(b, tag, s, strlen(s));
}

static void put_u64(struct buf *b, uint16_t tag, uint64_t v)
{
	uint8_t x[8];
	ota_put_be64(x, v);
	put_field(b, tag, x, sizeof(x));
}

static void put_u32(struct buf *b, uint16_t tag, uint32_t v)
{
	uint8_t x[4];
	ota_put_be32(x, v);
	put_field(b, tag, x, sizeof(x));
}

static void put_payload(struct buf *b, const struct ota_manifest_payload *p)
{
	size_t head = b->len;
	put_field(b, OTA_TAG_PAYLOAD, NULL, 0);
	size_t start = b->len;
	put_str(b, OTA_TAG_P_SLOT_CLASS, p->slot_class);
	put_str(b, OTA_TAG_P_NAME, p->name);
	put_u64(b, OTA_TAG_P_IMAGE_SIZE, p->image_size);
	put_field(b, OTA_TAG_P_IMAGE_SHA256, p->image_sha256, 32);
	put_u64(b, OTA_TAG_P_CHUNK_COUNT, p->chunk_count);
	put_field(b, OTA_TAG_P_TABLE_SHA256, p->table_sha256, 32);
	put_u64(b, OTA_TAG_P_TABLE_OFFSET, p->table_offset);
	put_u64(b, OTA_TAG_P_DATA_SIZE, p->data_size);
	put_u32(b, OTA_TAG_P_CHUNKER, p->chunker);
	put_u32(b, OTA_TAG_P_CHUNK_AVG, p->chunk_avg);
	put_u32(b, OTA_TAG_P_COMPRESSION, p->compression);
	if (p->n_patches && p->n_patches <= OTA_BUNDLE_MAX_PATCHES) {
		uint8_t *at = buf_grow(b, OTA_FIELD_HEAD + p->n_patches * OTA_BUNDLE_PATCH_ENTRY_SIZE);
		if (at) {
			ota_put_be16(at, OTA_TAG_P_PATCHES);
			ota_put_be32(at + 2, (uint32_t)(p->n_patches * OTA_BUNDLE_PATCH_ENTRY_SIZE));
			for (size_t i = 0; i < p->n_patches; i++)
				ota_chunk_patch_write(&p->patches[i], at + OTA_FIELD_HEAD + i * OTA_BUNDLE_PATCH_ENTRY_SIZE);
		}
	}
	if (p->n_moves && p->n_moves <= OTA_BUNDLE_MAX_MOVES) {
		uint8_t *at = buf_grow(b, OTA_FIELD_HEAD + p->n_moves * OTA_BUNDLE_MOVE_ENTRY_SIZE);
		if (at) {
			ota_put_be16(at, OTA_TAG_P_MOVES);
			ota_put_be32(at + 2, (uint32_t)(p->n_moves * OTA_BUNDLE_MOVE_ENTRY_SIZE));
			for (size_t i = 0; i < p->n_moves; i++)
				ota_chunk_move_write(&p->moves[i], at + OTA_FIELD_HEAD + i * OTA_BUNDLE_MOVE_ENTRY_SIZE);
		}
	}
	if (!b->error)
		ota_put_be32(b->p + head + 2, (uint32_t)(b->len - start));
}

int ota_manifest_serialize(const struct ota_manifest *m, uint8_t **ret, size_t *ret_size, struct ota_error *err)
{
	int r = ota_manifest_validate(m, err);
	if (r < 0)
		return r;
	struct buf b = { 0 };
	put_u32(&b, OTA_TAG_FORMAT, OTA_BUNDLE_FORMAT_VERSION);
	put_str(&b, OTA_TAG_COMPATIBLE, m->compatible);
	put_str(&b, OTA_TAG_VERSION, m->version);
	put_str(&b, OTA_TAG_BUILD, m->build);
	put_str(&b, OTA_TAG_DESCRIPTION, m->description);
	if (m->created)
		put_u64(&b, OTA_TAG_CREATED, m->created);
	put_u64(&b, OTA_TAG_DATA_SIZE, m->data_size);
	for (size_t i = 0; i < m->n_payloads; i++)
		put_payload(&b, &m->payloads[i]);
	if (b.error) {
		free(b.p);
		return ota_error_set(err, b.error, "manifest: encoding failed (larger than %u bytes?)",
				     OTA_BUNDLE_MAX_MANIFEST);
	}
	*ret = b.p;
	*ret_size = b.len;
	return 0;
}

/* SPDX-License-Identifier: Apache-2.0 */
/* The fixed header and chunk tables: pure encoders and checked decoders. */
#include <errno.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/sha.h>

#include "bundle/bundle-private.h"

/* Slot images are mostly zeros (87 % of a Debian minbase root's 1 GiB ext4):
 * the SHA-256 of size zero bytes is remembered for the last few sizes asked,
 * so an all-zero buffer is hashed at memory speed, to the same value: every
 * check and every bundle is unchanged. Per thread: the installer, the index
 * scan and the creator's workers hash at once; zero runs come in few sizes
 * (the chunker's largest chunk, mostly). */
#define ZERO_SIZES 8u
#define ZERO_BLOCK 4096u

static _Thread_local struct {
	size_t size;
	uint8_t sha[32];
} zero_sha[ZERO_SIZES];
static _Thread_local unsigned zero_next;

static const uint8_t *zero_sha_cached(size_t size)
{
	for (unsigned i = 0; i < ZERO_SIZES; i++)
		if (zero_sha[i].size == size)
			return zero_sha[i].sha;
	return NULL;
}

static void zero_sha_remember(size_t size, const uint8_t sha[32])
{
	zero_sha[zero_next].size = size;
	memcpy(zero_sha[zero_next].sha, sha, 32);
	zero_next = (zero_next + 1) % ZERO_SIZES;
}

int ota_sha256(const void *data, size_t size, uint8_t out[32])
{
	bool zero = size > 0 && ota_all_zero(data, size);
	const uint8_t *known = zero ? zero_sha_cached(size) : NULL;
	if (known) {
		memcpy(out, known, 32);
		return 0;
	}
	if (!SHA256(data, size, out))
		return -EIO;
	if (zero)
		zero_sha_remember(size, out);
	return 0;
}

int ota_digest_zeros(struct evp_md_ctx_st *md, uint64_t n)
{
	static const uint8_t block[ZERO_BLOCK];
	while (n > 0) {
		size_t k = n < ZERO_BLOCK ? (size_t)n : ZERO_BLOCK;
		if (!EVP_DigestUpdate(md, block, k))
			return -EIO;
		n -= k;
	}
	return 0;
}

bool ota_chunk_is_zero(const struct ota_chunk_entry *e)
{
	if (e->usize == 0)
		return false;
	const uint8_t *known = zero_sha_cached(e->usize);
	uint8_t sha[32];
	if (!known) {
		EVP_MD_CTX *c = EVP_MD_CTX_new();
		bool ok = c && EVP_DigestInit_ex(c, EVP_sha256(), NULL) && ota_digest_zeros(c, e->usize) == 0 &&
			  EVP_DigestFinal_ex(c, sha, NULL);
		EVP_MD_CTX_free(c);
		if (!ok)
			return false;
		zero_sha_remember(e->usize, sha);
		known = sha;
	}
	return memcmp(known, e->sha256, 32) == 0;
}

struct sized {
	uint32_t size;
	uint64_t chunk;
};

static int sized_cmp(const void *a, const void *b)
{
	const struct sized *x = a, *y = b;
	return (x->size > y->size) - (x->size < y->size);
}

/* One SHA-256 context is fed zeros up to the largest size; at each size the
 * table has, a copy of it is finished: the hashes of zeros of every size for
 * the price of the largest, where asking chunk by chunk would hash zeros as
 * long as every data chunk (content-defined: each has its own size). */
int ota_chunk_table_zeros(const struct ota_chunk_entry *table, uint64_t count, uint8_t *ret_zero,
			  struct ota_error *err)
{
	_cleanup_free_ struct sized *v = calloc(count ? count : 1, sizeof(*v));
	EVP_MD_CTX *md = EVP_MD_CTX_new(), *at = EVP_MD_CTX_new();
	int r = v && md && at && EVP_DigestInit_ex(md, EVP_sha256(), NULL) ? 0 : -ENOMEM;
	for (uint64_t i = 0; r == 0 && i < count; i++)
		v[i] = (struct sized){ .size = table[i].usize, .chunk = i };
	if (r == 0)
		qsort(v, count, sizeof(*v), sized_cmp);
	uint64_t fed = 0;
	uint8_t sha[32];
	for (uint64_t k = 0; r == 0 && k < count; k++) {
		if (k == 0 || v[k].size != v[k - 1].size) {
			r = ota_digest_zeros(md, v[k].size - fed);
			fed = v[k].size;
			if (r == 0 && !(EVP_MD_CTX_copy_ex(at, md) && EVP_DigestFinal_ex(at, sha, NULL)))
				r = -EIO;
		}
		ret_zero[v[k].chunk] = r == 0 && v[k].size > 0 && memcmp(sha, table[v[k].chunk].sha256, 32) == 0;
	}
	EVP_MD_CTX_free(at);
	EVP_MD_CTX_free(md);
	return r < 0 ? ota_error_errno(err, r, "the hashes of zeros for a table of %llu chunks", (unsigned long long)count)
		     : 0;
}

void ota_bundle_hex(const uint8_t sha[32], char out[65])
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < 32; i++) {
		out[2 * i] = digits[sha[i] >> 4];
		out[2 * i + 1] = digits[sha[i] & 15];
	}
	out[64] = '\0';
}

int ota_bundle_header_parse(const uint8_t *buf, size_t size, struct ota_bundle_header *ret,
			    struct ota_error *err)
{
	if (size < OTA_BUNDLE_HEADER_SIZE)
		return ota_bundle_malformed(err, "header truncated: %zu of %u bytes", size,
					    OTA_BUNDLE_HEADER_SIZE);
	if (memcmp(buf, OTA_BUNDLE_MAGIC, OTA_BUNDLE_MAGIC_SIZE) != 0)
		return ota_bundle_malformed(err, "not an otaroot bundle (bad magic)");
	uint32_t version = ota_get_be32(buf + 8);
	if (version != OTA_BUNDLE_FORMAT_VERSION)
		return ota_bundle_unsupported(err, "unsupported bundle format version %u (this reader: %u)",
					      version, OTA_BUNDLE_FORMAT_VERSION);
	uint32_t hsize = ota_get_be32(buf + 12);
	if (hsize != OTA_BUNDLE_HEADER_SIZE)
		return ota_bundle_malformed(err, "header size %u, expected %u", hsize, OTA_BUNDLE_HEADER_SIZE);
	uint64_t msize = ota_get_be64(buf + 16), ssize = ota_get_be64(buf + 24);
	if (msize == 0 || msize > OTA_BUNDLE_MAX_MANIFEST)
		return ota_bundle_malformed(err, "manifest size %llu out of range (1..%u)",
					    (unsigned long long)msize, OTA_BUNDLE_MAX_MANIFEST);
	if (ssize > OTA_BUNDLE_MAX_SIGNATURE)
		return ota_bundle_malformed(err, "signature size %llu out of range (0..%u)",
					    (unsigned long long)ssize, OTA_BUNDLE_MAX_SIGNATURE);
	for (size_t i = 32; i < OTA_BUNDLE_HEADER_SIZE; i++)
		if (buf[i])
			return ota_bundle_malformed(err, "header reserved byte %zu is not zero", i);
	*ret = (struct ota_bundle_header){ .version = version, .manifest_size = msize, .signature_size = ssize };
	return 0;
}

void ota_bundle_header_write(const struct ota_bundle_header *h, uint8_t buf[OTA_BUNDLE_HEADER_SIZE])
{
	memset(buf, 0, OTA_BUNDLE_HEADER_SIZE);
	memcpy(buf, OTA_BUNDLE_MAGIC, OTA_BUNDLE_MAGIC_SIZE);
	ota_put_be32(buf + 8, h->version);
	ota_put_be32(buf + 12, OTA_BUNDLE_HEADER_SIZE);
	ota_put_be64(buf + 16, h->manifest_size);
	ota_put_be64(buf + 24, h->signature_size);
}

int ota_bundle_header_data_offset(const struct ota_bundle_header *h, uint64_t *ret)
{
	uint64_t off;
	if (__builtin_add_overflow((uint64_t)OTA_BUNDLE_HEADER_SIZE, h->manifest_size, &off) ||
	    __builtin_add_overflow(off, h->signature_size, &off))
		return -EOVERFLOW;
	*ret = off;
	return 0;
}

int ota_chunker_bounds(enum ota_chunker_kind kind, uint32_t avg, uint64_t *ret_min, uint64_t *ret_max)
{
	struct ota_chunker c;
	int r = ota_chunker_init(&c, kind, avg);
	if (r < 0)
		return r;
	*ret_min = c.min;
	*ret_max = c.max;
	return 0;
}

void ota_chunk_entry_write(const struct ota_chunk_entry *e, uint8_t buf[OTA_BUNDLE_CHUNK_ENTRY_SIZE])
{
	memcpy(buf, e->sha256, 32);
	ota_put_be64(buf + 32, e->offset);
	ota_put_be32(buf + 40, e->csize);
	ota_put_be32(buf + 44, e->usize);
}

static int check_entry(const struct ota_chunk_entry *e, uint64_t i, uint64_t n, uint64_t min, uint64_t max,
		       uint64_t expect_offset, struct ota_error *err)
{
	if (e->offset != expect_offset)
		return ota_bundle_malformed(err, "chunk %llu: offset %llu, expected %llu (chunks must be contiguous)",
					    (unsigned long long)i, (unsigned long long)e->offset,
					    (unsigned long long)expect_offset);
	if (e->usize == 0 || e->usize > max || (i + 1 < n && e->usize < min))
		return ota_bundle_malformed(err, "chunk %llu: uncompressed size %u outside the chunker's bounds %llu..%llu",
					    (unsigned long long)i, e->usize, (unsigned long long)min, (unsigned long long)max);
	if (e->csize == 0 || e->csize > ota_chunk_csize_bound(e->usize))
		return ota_bundle_malformed(err, "chunk %llu: compressed size %u out of range for %u bytes",
					    (unsigned long long)i, e->csize, e->usize);
	return 0;
}

int ota_chunk_table_parse(const uint8_t *buf, size_t size, const struct ota_manifest_payload *p,
			  struct ota_chunk_entry **ret, struct ota_error *err)
{
	uint64_t min, max;
	if (ota_chunker_bounds(p->chunker, p->chunk_avg, &min, &max) < 0)
		return ota_bundle_malformed(err, "bad chunker parameters");
	if (p->chunk_count > OTA_BUNDLE_MAX_CHUNKS || size != p->chunk_count * OTA_BUNDLE_CHUNK_ENTRY_SIZE)
		return ota_bundle_malformed(err, "chunk table is %zu bytes, expected %llu entries", size,
					    (unsigned long long)p->chunk_count);
	size_t n = (size_t)p->chunk_count;
	_cleanup_free_ struct ota_chunk_entry *t = calloc(n ? n : 1, sizeof(*t));
	if (!t)
		return ota_error_set(err, -ENOMEM, "out of memory for %zu chunk entries", n);
	uint64_t off = p->data_offset, usum = 0;
	for (size_t i = 0; i < n; i++) {
		const uint8_t *q = buf + i * OTA_BUNDLE_CHUNK_ENTRY_SIZE;
		struct ota_chunk_entry *e = &t[i];
		memcpy(e->sha256, q, 32);
		e->offset = ota_get_be64(q + 32);
		e->csize = ota_get_be32(q + 40);
		e->usize = ota_get_be32(q + 44);
		int r = check_entry(e, i, n, min, max, off, err);
		if (r < 0)
			return r;
		/* usum cannot overflow (n <= 2^22 entries below 2^32); off can,
		 * since data_offset comes from the manifest. */
		if (__builtin_add_overflow(off, (uint64_t)e->csize, &off))
			return ota_error_set(err, -EOVERFLOW, "chunk %zu: offset overflows 64 bits", i);
		usum += e->usize;
	}
	if (usum != p->image_size)
		return ota_bundle_malformed(err, "chunks add up to %llu bytes, image is %llu",
					    (unsigned long long)usum, (unsigned long long)p->image_size);
	if (off - p->data_offset != p->data_size)
		return ota_bundle_malformed(err, "compressed chunks add up to %llu bytes, manifest says %llu",
					    (unsigned long long)(off - p->data_offset), (unsigned long long)p->data_size);
	*ret = TAKE_PTR(t);
	return 0;
}


/* A patch entry (docs/bundle-format.md "Chunk patches"). */
void ota_chunk_patch_decode_entry(const uint8_t *q, struct ota_chunk_patch *pt)
{
	pt->chunk = ota_get_be32(q);
	pt->frame_size = ota_get_be32(q + 4);
	pt->base_offset = ota_get_be64(q + 8);
	pt->base_size = ota_get_be32(q + 16);
	memcpy(pt->base_sha256, q + 20, 32);
	pt->offset = ota_get_be64(q + 52);
	pt->size = ota_get_be32(q + 60);
}

void ota_chunk_patch_write(const struct ota_chunk_patch *pt, uint8_t q[OTA_BUNDLE_PATCH_ENTRY_SIZE])
{
	ota_put_be32(q, pt->chunk);
	ota_put_be32(q + 4, pt->frame_size);
	ota_put_be64(q + 8, pt->base_offset);
	ota_put_be32(q + 16, pt->base_size);
	memcpy(q + 20, pt->base_sha256, 32);
	ota_put_be64(q + 52, pt->offset);
	ota_put_be32(q + 60, pt->size);
}

/* A move entry (docs/bundle-format.md "Chunk moves"). */
void ota_chunk_move_decode_entry(const uint8_t *q, struct ota_chunk_move *mv)
{
	mv->chunk = ota_get_be32(q);
	mv->count = ota_get_be32(q + 4);
	mv->base = ota_get_be32(q + 8);
	mv->base_offset = ota_get_be64(q + 12);
}

void ota_chunk_move_write(const struct ota_chunk_move *mv, uint8_t q[OTA_BUNDLE_MOVE_ENTRY_SIZE])
{
	ota_put_be32(q, mv->chunk);
	ota_put_be32(q + 4, mv->count);
	ota_put_be32(q + 8, mv->base);
	ota_put_be64(q + 12, mv->base_offset);
}

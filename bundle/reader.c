/* SPDX-License-Identifier: Apache-2.0 */
/* The streaming reader: header -> manifest -> signature (verified before the
 * manifest is interpreted) -> per payload, chunk table (hash pinned by the
 * manifest) -> chunks (each hashed before a consumer sees it). Reads only
 * forward; memory is one manifest, one table and one chunk. */
#include <errno.h>
#include <string.h>

#include "bundle/bundle-private.h"

struct ota_bundle_reader {
	const struct ota_bundle_source *src;
	struct ota_bundle_header hdr;
	uint8_t *manifest_raw;
	uint8_t *sig;
	struct ota_manifest *m;
	bool is_signed;
	struct ota_bundle_signer_info signer;
	uint64_t max_table;
	uint64_t offset; /* bytes read from the source so far */
	bool ran;
	bool skip_image_hash; /* the consumer checks each image's SHA-256 itself */
	const struct ota_chunk_entry *table; /* the running payload's, during consumer calls */
	uint64_t table_count;
};

/* ---- sources ------------------------------------------------------------ */

static ssize_t fd_read(void *userdata, void *buf, size_t size)
{
	for (;;) {
		ssize_t n = read(*(int *)userdata, buf, size);
		if (n >= 0 || errno != EINTR)
			return n < 0 ? -errno : n;
	}
}

static ssize_t fd_read_at(void *userdata, uint64_t offset, void *buf, size_t size)
{
	if (offset > INT64_MAX)
		return -EOVERFLOW;
	ssize_t n = pread(*(int *)userdata, buf, size, (off_t)offset);
	return n < 0 ? -errno : n;
}

void ota_bundle_source_fd(struct ota_bundle_source *src, int *fd, const char *name)
{
	*src = (struct ota_bundle_source){ .name = name, .read = fd_read, .read_at = fd_read_at, .userdata = fd };
}

static ssize_t mem_read(void *userdata, void *buf, size_t size)
{
	struct ota_bundle_mem *m = userdata;
	size_t n = m->size - m->pos < size ? m->size - m->pos : size;
	memcpy(buf, m->data + m->pos, n);
	m->pos += n;
	return (ssize_t)n;
}

static ssize_t mem_read_at(void *userdata, uint64_t offset, void *buf, size_t size)
{
	struct ota_bundle_mem *m = userdata;
	if (offset >= m->size)
		return 0;
	size_t n = m->size - offset < size ? m->size - (size_t)offset : size;
	memcpy(buf, m->data + offset, n);
	return (ssize_t)n;
}

void ota_bundle_source_mem(struct ota_bundle_source *src, struct ota_bundle_mem *mem, const char *name)
{
	*src = (struct ota_bundle_source){ .name = name, .read = mem_read, .read_at = mem_read_at, .userdata = mem };
}

/* A failed read: the source's own message if it left one, else strerror. */
static int source_error(struct ota_bundle_reader *r, int code, const char *what, uint64_t offset,
			struct ota_error *err)
{
	const struct ota_error *se = r->src->last_error;
	if (se && se->code == code && se->msg[0])
		return ota_error_set_because(err, se->reason, code, "read %s at offset %llu: %s", what,
					     (unsigned long long)offset, se->msg);
	return ota_error_errno(err, code, "read %s at offset %llu", what, (unsigned long long)offset);
}

/* Reads exactly size bytes; a short stream is an error naming `what`. */
static int read_exact(struct ota_bundle_reader *r, void *buf, size_t size, const char *what, struct ota_error *err)
{
	uint8_t *p = buf;
	size_t got = 0;
	while (got < size) {
		size_t want = size - got > (1u << 30) ? (1u << 30) : size - got;
		ssize_t n = r->src->read(r->src->userdata, p + got, want);
		if (n < 0)
			return source_error(r, (int)n, what, r->offset + got, err);
		if (n == 0)
			return ota_bundle_malformed(err, "truncated in %s at offset %llu: %zu of %zu bytes", what,
						    (unsigned long long)(r->offset + got), got, size);
		got += (size_t)n;
	}
	r->offset += size;
	return 0;
}

/* ---- open: header, manifest, signature ------------------------------------ */

static int read_head(struct ota_bundle_reader *r, struct ota_error *err)
{
	uint8_t h[OTA_BUNDLE_HEADER_SIZE];
	int ret = read_exact(r, h, sizeof(h), "the header", err);
	if (ret < 0)
		return ret;
	if ((ret = ota_bundle_header_parse(h, sizeof(h), &r->hdr, err)) < 0)
		return ret;
	/* Both sizes are bounded by the header parser (1 MiB, 64 KiB). */
	r->manifest_raw = malloc(r->hdr.manifest_size);
	if (!r->manifest_raw)
		return ota_error_set(err, -ENOMEM, "out of memory");
	if ((ret = read_exact(r, r->manifest_raw, r->hdr.manifest_size, "the manifest", err)) < 0)
		return ret;
	if (r->hdr.signature_size == 0)
		return 0;
	r->sig = malloc(r->hdr.signature_size);
	if (!r->sig)
		return ota_error_set(err, -ENOMEM, "out of memory");
	return read_exact(r, r->sig, r->hdr.signature_size, "the signature", err);
}

static int check_signature(struct ota_bundle_reader *r, const struct ota_bundle_trust *trust, struct ota_error *err)
{
	if (!r->sig) {
		if (trust && trust->allow_unsigned)
			return 0;
		return ota_error_set_because(err, OTA_REASON_UNSIGNED, -ENOKEY,
					     "bundle is not signed (unsigned bundles are refused unless explicitly allowed)");
	}
	static const struct ota_bundle_trust none = { 0 };
	int ret = ota_bundle_verify_data(r->manifest_raw, r->hdr.manifest_size, r->sig, r->hdr.signature_size,
					 trust ? trust : &none, &r->signer, err);
	if (ret == 0)
		r->is_signed = true;
	return ret;
}

int ota_bundle_reader_open(const struct ota_bundle_source *src, const struct ota_bundle_trust *trust,
			   const struct ota_bundle_reader_limits *limits, struct ota_bundle_reader **ret,
			   struct ota_error *err)
{
	struct ota_bundle_reader *r = calloc(1, sizeof(*r));
	if (!r)
		return ota_error_set(err, -ENOMEM, "out of memory");
	r->src = src;
	r->max_table = limits && limits->max_table_bytes ? limits->max_table_bytes : OTA_BUNDLE_DEFAULT_MAX_TABLE;
	int rc = read_head(r, err);
	if (rc == 0)
		rc = check_signature(r, trust, err);
	/* Only now, with the bytes authenticated, is the manifest interpreted. */
	if (rc == 0)
		rc = ota_manifest_parse(r->manifest_raw, r->hdr.manifest_size, &r->m, err);
	if (rc < 0) {
		ota_error_prefix(err, "bundle '%s': ", src->name ? src->name : "?");
		ota_bundle_reader_free(r);
		return rc;
	}
	*ret = r;
	return 0;
}

struct ota_bundle_reader *ota_bundle_reader_free(struct ota_bundle_reader *r)
{
	if (!r)
		return NULL;
	free(r->manifest_raw);
	free(r->sig);
	ota_manifest_free(r->m);
	free(r);
	return NULL;
}

const struct ota_manifest *ota_bundle_reader_manifest(const struct ota_bundle_reader *r)
{
	return r->m;
}

uint64_t ota_bundle_reader_data_offset(const struct ota_bundle_reader *r)
{
	/* Bounded by the header parser: no overflow. */
	return OTA_BUNDLE_HEADER_SIZE + r->hdr.manifest_size + r->hdr.signature_size;
}

int ota_bundle_reader_manifest_sha256(const struct ota_bundle_reader *r, uint8_t ret[32])
{
	return ota_sha256(r->manifest_raw, r->hdr.manifest_size, ret);
}

const struct ota_chunk_entry *ota_bundle_reader_chunk_table(const struct ota_bundle_reader *r, uint64_t *ret_count)
{
	if (ret_count)
		*ret_count = r->table ? r->table_count : 0;
	return r->table;
}

void ota_bundle_reader_skip_image_hash(struct ota_bundle_reader *r)
{
	r->skip_image_hash = true;
}

bool ota_bundle_reader_signed(const struct ota_bundle_reader *r, struct ota_bundle_signer_info *ret_info)
{
	if (r->is_signed && ret_info)
		*ret_info = r->signer;
	return r->is_signed;
}

/* ---- payloads ------------------------------------------------------------- */

struct payload_run {
	const struct ota_manifest_payload *p;
	struct ota_chunk_entry *table;
	uint8_t *cbuf, *ubuf;
	ZSTD_DCtx *dctx;
	EVP_MD_CTX *image_md; /* NULL: the image hash is the consumer's */
};

static void payload_run_done(struct payload_run *x)
{
	free(x->table);
	free(x->cbuf);
	free(x->ubuf);
	(void)ZSTD_freeDCtx(x->dctx);
	EVP_MD_CTX_free(x->image_md);
}

static int read_table(struct ota_bundle_reader *r, struct payload_run *x, struct ota_error *err)
{
	const struct ota_manifest_payload *p = x->p;
	uint64_t size = p->chunk_count * OTA_BUNDLE_CHUNK_ENTRY_SIZE; /* count <= 2^22: no overflow */
	if (size > r->max_table)
		return ota_error_set(err, -E2BIG, "chunk table of %llu bytes exceeds this reader's limit of %llu",
				     (unsigned long long)size, (unsigned long long)r->max_table);
	_cleanup_free_ uint8_t *raw = malloc(size ? size : 1);
	if (!raw)
		return ota_error_set(err, -ENOMEM, "out of memory for a chunk table of %llu bytes", (unsigned long long)size);
	int ret = read_exact(r, raw, size, "the chunk table", err);
	if (ret < 0)
		return ret;
	uint8_t sha[32];
	if ((ret = ota_sha256(raw, size, sha)) < 0)
		return ota_error_set(err, ret, "SHA-256 failed");
	if (memcmp(sha, p->table_sha256, 32) != 0)
		return ota_bundle_malformed(err, "chunk table hash mismatch (table altered)");
	return ota_chunk_table_parse(raw, size, p, &x->table, err);
}

static int setup_run(struct payload_run *x, bool image_hash, struct ota_error *err)
{
	uint64_t min, max;
	if (ota_chunker_bounds(x->p->chunker, x->p->chunk_avg, &min, &max) < 0)
		return ota_bundle_malformed(err, "bad chunker parameters");
	x->cbuf = malloc(ota_chunk_csize_bound(max));
	x->ubuf = malloc(max);
	x->dctx = ZSTD_createDCtx();
	x->image_md = image_hash ? EVP_MD_CTX_new() : NULL;
	if (!x->cbuf || !x->ubuf || !x->dctx || (image_hash && (!x->image_md || !EVP_DigestInit_ex(x->image_md, EVP_sha256(), NULL))))
		return ota_error_set(err, -ENOMEM, "out of memory for chunk buffers");
	return 0;
}

static int read_chunk(struct ota_bundle_reader *r, struct payload_run *x, uint64_t i, struct ota_error *err)
{
	const struct ota_chunk_entry *e = &x->table[i];
	int ret = read_exact(r, x->cbuf, e->csize, "chunk data", err);
	if (ret < 0)
		return ret;
	/* zstd sees unverified (but size-bounded) bytes here: chunks are named by
	 * their uncompressed content. Decoding into a fixed buffer of exactly
	 * usize bytes cannot allocate or overrun. */
	size_t n = ZSTD_decompressDCtx(x->dctx, x->ubuf, e->usize, x->cbuf, e->csize);
	if (ZSTD_isError(n) || n != e->usize)
		return ota_bundle_malformed(err, "decompression failed: %s",
					    ZSTD_isError(n) ? ZSTD_getErrorName(n) : "wrong size");
	uint8_t sha[32];
	if ((ret = ota_sha256(x->ubuf, e->usize, sha)) < 0)
		return ota_error_set(err, ret, "SHA-256 failed");
	if (memcmp(sha, e->sha256, 32) != 0)
		return ota_bundle_malformed(err, "hash mismatch (chunk data altered)");
	if (x->image_md && !EVP_DigestUpdate(x->image_md, x->ubuf, e->usize))
		return ota_error_set(err, -EIO, "SHA-256 failed");
	return 0;
}

/* *ret_consumer: the error came from the consumer, whose message names its
 * own objects (a slot, a file): not the bundle's payload. */
static int run_payload(struct ota_bundle_reader *r, struct payload_run *x, const struct ota_bundle_consumer *c,
		       bool wanted, bool *ret_consumer, struct ota_error *err)
{
	int ret = read_table(r, x, err);
	if (ret == 0)
		ret = setup_run(x, !r->skip_image_hash, err);
	r->table = x->table;
	r->table_count = x->p->chunk_count;
	if (ret < 0)
		return ret;
	*ret_consumer = true;
	if (wanted && c && c->begin && (ret = c->begin(c->userdata, x->p)) < 0)
		return ret;
	*ret_consumer = false;
	uint64_t image_off = 0;
	for (uint64_t i = 0; i < x->p->chunk_count; i++) {
		ret = read_chunk(r, x, i, err);
		if (ret < 0) {
			ota_error_prefix(err, "chunk %llu (image offset %llu): ", (unsigned long long)i,
					 (unsigned long long)image_off);
			return ret;
		}
		*ret_consumer = true;
		if (wanted && c && c->chunk && (ret = c->chunk(c->userdata, x->p, &x->table[i], image_off, x->ubuf, x->table[i].usize)) < 0)
			return ret;
		*ret_consumer = false;
		image_off += x->table[i].usize;
	}
	uint8_t sha[32];
	if (x->image_md && !EVP_DigestFinal_ex(x->image_md, sha, NULL))
		return ota_error_set(err, -EIO, "SHA-256 failed");
	if (x->image_md && memcmp(sha, x->p->image_sha256, 32) != 0)
		return ota_bundle_malformed(err, "image hash mismatch");
	*ret_consumer = true;
	if (wanted && c && c->end)
		return c->end(c->userdata, x->p);
	return 0;
}

static int check_end(struct ota_bundle_reader *r, struct ota_error *err)
{
	uint8_t extra;
	ssize_t n;
	do
		n = r->src->read(r->src->userdata, &extra, 1);
	while (n == -EINTR);
	if (n < 0)
		return source_error(r, (int)n, "the end", r->offset, err);
	if (n > 0)
		return ota_bundle_malformed(err, "trailing data after the end of the bundle at offset %llu",
					    (unsigned long long)r->offset);
	return 0;
}

int ota_bundle_reader_run(struct ota_bundle_reader *r, const struct ota_bundle_consumer *c,
			  bool (*want)(void *userdata, const struct ota_manifest_payload *p), struct ota_error *err)
{
	if (r->ran)
		return ota_error_set(err, -EALREADY, "bundle '%s': already read", r->src->name);
	r->ran = true;
	for (size_t i = 0; i < r->m->n_payloads; i++) {
		struct payload_run x = { .p = &r->m->payloads[i] };
		bool wanted = !want || want(c ? c->userdata : NULL, x.p), consumer = false;
		int ret = run_payload(r, &x, c, wanted, &consumer, err);
		r->table = NULL; /* freed with the payload's run */
		payload_run_done(&x);
		if (ret < 0 && consumer)
			return ret;
		if (ret < 0) {
			ota_error_prefix(err, "bundle '%s': payload '%s': ", r->src->name, x.p->slot_class);
			return ret;
		}
	}
	int ret = check_end(r, err);
	if (ret < 0)
		ota_error_prefix(err, "bundle '%s': ", r->src->name);
	return ret;
}

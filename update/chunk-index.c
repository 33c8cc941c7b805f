/* SPDX-License-Identifier: Apache-2.0 */
/* The local chunk index and its OTAIDX1 file; see chunk-index.h. */
#include <errno.h>
#include <limits.h>
#include <openssl/evp.h>
#include <string.h>

#include "update/chunk-index.h"

/* A scan reads this much at a time, or two of the payload's largest chunks if more. */
#define SCAN_BUF (4u << 20)

void ota_chunk_index_done(struct ota_chunk_index *ix)
{
	free(ix->v);
}

static int entry_cmp(const void *a, const void *b)
{
	const struct ota_chunk_index_entry *x = a, *y = b;
	int c = memcmp(x->sha, y->sha, 32);
	return c ? c : (x->size > y->size) - (x->size < y->size);
}

static int index_add(struct ota_chunk_index *ix, const uint8_t *data, size_t size, uint64_t offset)
{
	if (ix->n >= OTA_BUNDLE_MAX_CHUNKS)
		return 0; /* a bounded index: the rest is simply not reusable by content */
	if (ix->n == ix->cap) {
		size_t cap = ix->cap ? ix->cap * 2 : 1024;
		struct ota_chunk_index_entry *v = realloc(ix->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		ix->v = v;
		ix->cap = cap;
	}
	struct ota_chunk_index_entry *c = &ix->v[ix->n];
	if (!EVP_Digest(data, size, c->sha, NULL, EVP_sha256(), NULL))
		return -EIO;
	c->offset = offset;
	c->size = (uint32_t)size;
	ix->n++;
	return 0;
}

int ota_chunk_index_scan(int fd, uint64_t size, const struct ota_manifest_payload *p, uint64_t max,
			 struct ota_chunk_index *ix, const char *slot, struct ota_error *err)
{
	struct ota_chunker ch;
	if (ota_chunker_init(&ch, p->chunker, p->chunk_avg) < 0)
		return ota_error_set(err, -EINVAL, "slot %s: bad chunker parameters", slot);
	size_t bufsize = SCAN_BUF < 2 * max ? (size_t)(2 * max) : SCAN_BUF;
	_cleanup_free_ uint8_t *buf = malloc(bufsize);
	if (!buf)
		return ota_error_set(err, -ENOMEM, "slot %s: out of memory for a %zu-byte scan buffer", slot, bufsize);
	size_t start = 0, pos = 0, end = 0; /* chunk start, scan position, data end in buf */
	uint64_t base = 0, rd = 0;           /* device offset of buf[0], of buf[end] */
	int r;
	for (;;) {
		if (pos == end) {
			if (rd >= size)
				break;
			if (start > 0) { /* an unfinished chunk is < max bytes: room for more */
				memmove(buf, buf + start, end - start);
				base += start;
				pos -= start;
				end -= start;
				start = 0;
			}
			size_t want = bufsize - end;
			if (want > size - rd)
				want = (size_t)(size - rd);
			ssize_t n = ota_pread_full(fd, buf + end, want, rd);
			if (n < 0)
				return ota_error_errno(err, (int)n, "slot %s: read at offset %llu", slot, (unsigned long long)rd);
			if (n == 0)
				break;
			end += (size_t)n;
			rd += (uint64_t)n;
		}
		size_t k = ota_chunker_scan(&ch, buf + pos, end - pos);
		if (k == SIZE_MAX) {
			pos = end;
			continue;
		}
		pos += k;
		if ((r = index_add(ix, buf + start, pos - start, base + start)) < 0)
			return ota_error_errno(err, r, "slot %s: index", slot);
		start = pos;
	}
	if (end > start && (r = index_add(ix, buf + start, end - start, base + start)) < 0)
		return ota_error_errno(err, r, "slot %s: index", slot);
	qsort(ix->v, ix->n, sizeof(*ix->v), entry_cmp);
	return 0;
}

const struct ota_chunk_index_entry *ota_chunk_index_find(const struct ota_chunk_index *ix,
							 const struct ota_chunk_entry *e)
{
	struct ota_chunk_index_entry key = { .size = e->usize };
	memcpy(key.sha, e->sha256, 32);
	return ix->n ? bsearch(&key, ix->v, ix->n, sizeof(*ix->v), entry_cmp) : NULL;
}

/* The OTAIDX1 layout (chunk-index.h): header, then fixed-size entries. */
#define INDEX_MAGIC "OTAIDX1\n"
#define INDEX_HEAD (8u + 32u + 4u + 4u + 8u)
#define INDEX_ENTRY 44u

int ota_chunk_index_path(const char *status_file, const char *slot, char *buf, size_t size)
{
	const char *slash = strrchr(status_file, '/');
	int dlen = slash ? (int)(slash - status_file) : 1;
	return ota_format(buf, size, "%.*s/index/%s.idx", dlen, slash ? status_file : ".", slot);
}

/* Best effort: an index that cannot be written only costs a scan next time. */
void ota_chunk_index_save(const char *status_file, const char *slot, const struct ota_manifest_payload *p,
			  const struct ota_chunk_entry *table)
{
	char path[PATH_MAX];
	if (ota_chunk_index_path(status_file, slot, path, sizeof(path)) < 0)
		return;
	size_t size = INDEX_HEAD + (size_t)p->chunk_count * INDEX_ENTRY;
	_cleanup_free_ uint8_t *buf = malloc(size);
	if (!buf)
		return;
	memcpy(buf, INDEX_MAGIC, 8);
	memcpy(buf + 8, p->image_sha256, 32);
	ota_put_be32(buf + 40, (uint32_t)p->chunker);
	ota_put_be32(buf + 44, p->chunk_avg);
	ota_put_be64(buf + 48, p->chunk_count);
	uint64_t off = 0;
	for (uint64_t i = 0; i < p->chunk_count; i++) {
		uint8_t *q = buf + INDEX_HEAD + i * INDEX_ENTRY;
		memcpy(q, table[i].sha256, 32);
		ota_put_be64(q + 32, off);
		ota_put_be32(q + 40, table[i].usize);
		off += table[i].usize;
	}
	if (ota_mkdir_parent(path, 0755) < 0)
		return;
	if (ota_write_file_atomic(path, buf, size, 0644, NULL) < 0)
		return; /* best effort, see above */
}

/* The slot's saved index if it describes image `sha` (hex; NULL: any). */
static int load_index(const char *status_file, const char *slot, const char *sha, const struct ota_manifest_payload *p,
		      struct ota_chunk_index *ix)
{
	char path[PATH_MAX];
	if (ota_chunk_index_path(status_file, slot, path, sizeof(path)) < 0)
		return 0;
	_cleanup_free_ char *raw = NULL;
	size_t size = 0;
	if (ota_read_file(path, INDEX_HEAD + (size_t)OTA_BUNDLE_MAX_CHUNKS * INDEX_ENTRY, &raw, &size, NULL) < 0 ||
	    size < INDEX_HEAD)
		return 0;
	const uint8_t *b = (const uint8_t *)raw;
	char hex[65];
	ota_bundle_hex(b + 8, hex);
	uint64_t count = ota_get_be64(b + 48);
	if (memcmp(b, INDEX_MAGIC, 8) != 0 || (sha && !ota_streq(hex, sha)) || ota_get_be32(b + 40) != (uint64_t)p->chunker ||
	    ota_get_be32(b + 44) != p->chunk_avg || count > OTA_BUNDLE_MAX_CHUNKS || size != INDEX_HEAD + count * INDEX_ENTRY)
		return 0;
	struct ota_chunk_index_entry *v = calloc(count ? count : 1, sizeof(*v));
	if (!v)
		return 0;
	for (uint64_t i = 0; i < count; i++) {
		const uint8_t *q = b + INDEX_HEAD + i * INDEX_ENTRY;
		memcpy(v[i].sha, q, 32);
		v[i].offset = ota_get_be64(q + 32);
		v[i].size = ota_get_be32(q + 40);
	}
	qsort(v, count, sizeof(*v), entry_cmp);
	free(ix->v);
	*ix = (struct ota_chunk_index){ .v = v, .n = count, .cap = count };
	return 1;
}

/* Only an index of the image recorded installed in the slot: see chunk-index.h. */
int ota_chunk_index_load(const char *status_file, const char *slot, const struct ota_manifest_payload *p,
			 struct ota_chunk_index *ix)
{
	struct ota_slot_record rec;
	if (ota_update_status_read(status_file, slot, &rec, NULL) < 0 || rec.state != OTA_SLOT_INSTALLED)
		return 0;
	return load_index(status_file, slot, rec.sha256, p, ix);
}

int ota_chunk_index_load_candidates(const char *status_file, const char *slot, const struct ota_manifest_payload *p,
				    struct ota_chunk_index *ix)
{
	return load_index(status_file, slot, NULL, p, ix);
}

/* SPDX-License-Identifier: Apache-2.0 */
/* The local chunk index and its OTAIDX1 file; see chunk-index.h. */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <string.h>

#include "update/chunk-index.h"

/* A scan reads this much at a time, or two of the payload's largest chunks if more. */
#define SCAN_BUF (8u << 20)
/* O_DIRECT granularity: any logical block size up to a page. Reads land at
 * this alignment in the buffer and on the device. */
#define SCAN_ALIGN 4096u

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

/* A new last entry for the chunk of size bytes at offset, its hash left to
 * the caller; NULL when the index is full (*r = 0: a bounded index, the
 * rest is simply not reusable by content) or memory is not (*r = -ENOMEM). */
static struct ota_chunk_index_entry *index_push(struct ota_chunk_index *ix, uint64_t offset, uint32_t size, int *r)
{
	*r = 0;
	if (ix->n >= OTA_BUNDLE_MAX_CHUNKS)
		return NULL;
	if (ix->n == ix->cap) {
		size_t cap = ix->cap ? ix->cap * 2 : 1024;
		struct ota_chunk_index_entry *v = realloc(ix->v, cap * sizeof(*v));
		if (!v) {
			*r = -ENOMEM;
			return NULL;
		}
		ix->v = v;
		ix->cap = cap;
	}
	struct ota_chunk_index_entry *c = &ix->v[ix->n++];
	c->offset = offset;
	c->size = size;
	return c;
}

static int index_add(struct ota_chunk_index *ix, const uint8_t *data, size_t size, uint64_t offset)
{
	int r;
	struct ota_chunk_index_entry *c = index_push(ix, offset, (uint32_t)size, &r);
	if (!c)
		return r;
	if ((r = ota_sha256(data, size, c->sha)) < 0)
		ix->n--;
	return r;
}

/* A scan is two threads: this one reads and cuts a buffer while a second
 * hashes the chunks cut in the other one (hashing and cutting cost about the
 * same; one thread did both: measured in bench/delta.sh's 1 GiB slot). The
 * hasher alone touches the index while the scan runs. */
struct hash_job {
	const uint8_t *buf;
	uint64_t base;      /* device offset of buf[0] */
	size_t n;
	size_t *at;         /* chunk k: buf[at[k], at[k+1]) */
};

struct hasher {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct hash_job job;
	bool pending, quit;
	int failed;
	struct ota_chunk_index *ix;
};

static void *hasher_main(void *arg)
{
	struct hasher *h = arg;
	pthread_mutex_lock(&h->lock);
	for (;;) {
		while (!h->pending && !h->quit)
			pthread_cond_wait(&h->cond, &h->lock);
		if (!h->pending)
			break;
		struct hash_job j = h->job;
		pthread_mutex_unlock(&h->lock);
		int r = 0;
		for (size_t k = 0; k < j.n && r == 0; k++)
			r = index_add(h->ix, j.buf + j.at[k], j.at[k + 1] - j.at[k], j.base + j.at[k]);
		pthread_mutex_lock(&h->lock);
		if (r < 0 && !h->failed)
			h->failed = r;
		h->pending = false;
		pthread_cond_broadcast(&h->cond);
	}
	pthread_mutex_unlock(&h->lock);
	return NULL;
}

/* Waits until the hasher is idle (its buffer free again); its error, if any. */
static int hasher_idle(struct hasher *h)
{
	pthread_mutex_lock(&h->lock);
	while (h->pending)
		pthread_cond_wait(&h->cond, &h->lock);
	int r = h->failed;
	pthread_mutex_unlock(&h->lock);
	return r;
}

static void hasher_submit(struct hasher *h, const struct hash_job *j)
{
	pthread_mutex_lock(&h->lock);
	while (h->pending)
		pthread_cond_wait(&h->cond, &h->lock);
	h->job = *j;
	h->pending = j->n > 0;
	pthread_cond_broadcast(&h->cond);
	pthread_mutex_unlock(&h->lock);
}

/* Reads want bytes at rd into p: through dfd (O_DIRECT, aligned p, rd and
 * want) while it takes them, else through fd. *dfd becomes -1 where the
 * direct read is refused (EINVAL: an alignment the medium does not take). */
static ssize_t scan_read(int fd, int *dfd, uint8_t *p, size_t want, uint64_t rd)
{
	if (*dfd >= 0) {
		ssize_t got = ota_pread_full(*dfd, p, want, rd);
		if (got != -EINVAL)
			return got;
		*dfd = -1;
	}
	return ota_pread_full(fd, p, want, rd);
}

/* The scan proper: fills and cuts buf[cur], hands its chunks to the hasher
 * and carries the unfinished chunk over into the other buffer, placed so
 * that it ends at a multiple of SCAN_ALIGN (the next read is aligned). */
static int scan_buffers(int fd, int dfd, uint64_t size, struct ota_chunker *ch, struct hasher *h, uint8_t *buf[2],
			size_t *at[2], size_t bufsize, const char *slot, struct ota_error *err)
{
	unsigned cur = 0;
	size_t start = 0, pos = 0, end = 0, n = 0; /* chunk start, scan position, data end in buf[cur]; chunks cut */
	uint64_t base = 0, rd = 0;                  /* device offset of buf[cur][0], of buf[cur][end] */
	at[cur][0] = 0;
	for (;;) {
		if (pos == end) {
			if (rd >= size || end == bufsize) {
				/* The buffer is cut: the rest goes over to the other one
				 * (< max bytes: room for more), this one to the hasher. */
				int r = hasher_idle(h);
				if (r < 0)
					return ota_error_errno(err, r, "slot %s: index", slot);
				bool last = rd >= size;
				if (last && end > start)
					at[cur][++n] = end; /* the rest is the last chunk */
				size_t carry = last ? 0 : end - start;
				size_t shift = (SCAN_ALIGN - carry % SCAN_ALIGN) % SCAN_ALIGN;
				memcpy(buf[!cur] + shift, buf[cur] + start, carry);
				hasher_submit(h, &(struct hash_job){ .buf = buf[cur], .base = base, .n = n, .at = at[cur] });
				if (last)
					break;
				base += start - shift;
				pos = pos - start + shift;
				end = end - start + shift;
				start = shift;
				n = 0;
				cur = !cur;
				at[cur][0] = shift;
			}
			size_t want = bufsize - end;
			if (want > size - rd)
				want = (size_t)(size - rd);
			ssize_t got = scan_read(fd, &dfd, buf[cur] + end, want, rd);
			if (got < 0)
				return ota_error_errno(err, (int)got, "slot %s: read at offset %llu", slot, (unsigned long long)rd);
			if (got == 0)
				size = rd; /* ends early: what was read is all */
			end += (size_t)got;
			rd += (uint64_t)got;
			continue;
		}
		size_t k = ota_chunker_scan(ch, buf[cur] + pos, end - pos);
		if (k == SIZE_MAX) {
			pos = end;
			continue;
		}
		pos += k;
		at[cur][++n] = pos;
		start = pos;
	}
	int r = hasher_idle(h);
	return r < 0 ? ota_error_errno(err, r, "slot %s: index", slot) : 0;
}

int ota_chunk_index_scan(int fd, int direct_fd, uint64_t size, const struct ota_manifest_payload *p, uint64_t max,
			 struct ota_chunk_index *ix, const char *slot, struct ota_error *err)
{
	struct ota_chunker ch;
	if (ota_chunker_init(&ch, p->chunker, p->chunk_avg) < 0)
		return ota_error_set(err, -EINVAL, "slot %s: bad chunker parameters", slot);
	/* A multiple of SCAN_ALIGN, and room for the carried chunk (< max)
	 * and its alignment shift besides a read. */
	size_t bufsize = (SCAN_BUF < 2 * max ? (size_t)(2 * max) : SCAN_BUF) + SCAN_ALIGN;
	bufsize = (bufsize + SCAN_ALIGN - 1) / SCAN_ALIGN * SCAN_ALIGN;
	size_t cap = bufsize / (ch.min ? ch.min : 1) + 2; /* chunks a buffer can hold, +1 boundary */
	void *m0 = NULL, *m1 = NULL;
	_cleanup_free_ uint8_t *b0 = posix_memalign(&m0, SCAN_ALIGN, bufsize) == 0 ? m0 : NULL;
	_cleanup_free_ uint8_t *b1 = posix_memalign(&m1, SCAN_ALIGN, bufsize) == 0 ? m1 : NULL;
	_cleanup_free_ size_t *a0 = calloc(cap, sizeof(size_t)), *a1 = calloc(cap, sizeof(size_t));
	if (!b0 || !b1 || !a0 || !a1)
		return ota_error_set(err, -ENOMEM, "slot %s: out of memory for two %zu-byte scan buffers", slot, bufsize);
	struct hasher h = { .ix = ix };
	pthread_mutex_init(&h.lock, NULL);
	pthread_cond_init(&h.cond, NULL);
	pthread_t th;
	int r = pthread_create(&th, NULL, hasher_main, &h);
	if (r != 0) {
		r = ota_error_errno(err, -r, "slot %s: start the hashing thread", slot);
	} else {
		r = scan_buffers(fd, direct_fd, size, &ch, &h, (uint8_t *[2]){ b0, b1 }, (size_t *[2]){ a0, a1 }, bufsize, slot, err);
		pthread_mutex_lock(&h.lock);
		h.quit = true;
		pthread_cond_broadcast(&h.cond);
		pthread_mutex_unlock(&h.lock);
		(void)pthread_join(th, NULL);
	}
	pthread_cond_destroy(&h.cond);
	pthread_mutex_destroy(&h.lock);
	if (r < 0)
		return r;
	qsort(ix->v, ix->n, sizeof(*ix->v), entry_cmp);
	return 0;
}

/* How many runs of an earlier image are read to tell whether the slot holds it. */
#define MOVES_PROBES 8u

/* The runs of base `base`: moves[*first, *end). */
static void base_runs(const struct ota_manifest_payload *p, uint32_t base, size_t *first, size_t *end)
{
	size_t i = 0;
	while (i < p->n_moves && p->moves[i].base < base)
		i++;
	*first = i;
	while (i < p->n_moves && p->moves[i].base == base)
		i++;
	*end = i;
}

/* Whether the slot holds chunk `chunk` of the table at base offset `at`. */
static bool holds(int fd, uint64_t size, const struct ota_chunk_entry *e, uint64_t at, uint8_t *buf)
{
	return at <= size && e->usize <= size - at && ota_pread_full(fd, buf, e->usize, at) == (ssize_t)e->usize &&
	       ota_chunk_verify(e, buf, e->usize) == 0;
}

/* Whether the slot holds the earlier image of runs [first, end): the first
 * chunk of up to MOVES_PROBES of them, spread evenly, is there. */
static bool base_matches(int fd, uint64_t size, const struct ota_manifest_payload *p, const struct ota_chunk_entry *table,
			 size_t first, size_t end, uint8_t *buf)
{
	size_t n = end - first, probes = n < MOVES_PROBES ? n : MOVES_PROBES;
	for (size_t k = 0; k < probes; k++) {
		const struct ota_chunk_move *mv = &p->moves[first + k * n / probes];
		if (!holds(fd, size, &table[mv->chunk], mv->base_offset, buf))
			return false;
	}
	return probes > 0;
}

/* The entries of runs [first, end) (sorted by chunk: one walk of the table). */
static int add_runs(struct ota_chunk_index *ix, const struct ota_manifest_payload *p,
		    const struct ota_chunk_entry *table, size_t first, size_t end)
{
	uint64_t i = 0, off = 0; /* chunk i starts at image offset off */
	for (size_t m = first; m < end; m++) {
		const struct ota_chunk_move *mv = &p->moves[m];
		for (; i < mv->chunk; i++)
			off += table[i].usize;
		uint64_t run_start = off;
		for (; i < (uint64_t)mv->chunk + mv->count; i++) {
			uint64_t at;
			int r;
			if (__builtin_add_overflow(mv->base_offset, off - run_start, &at))
				break; /* a hint past 2^64: nothing there */
			struct ota_chunk_index_entry *c = index_push(ix, at, table[i].usize, &r);
			if (!c)
				return r;
			memcpy(c->sha, table[i].sha256, 32);
			off += table[i].usize;
		}
	}
	return 0;
}

/* The runs of every earlier image whose probes match go in: a release
 * built with a stable layout matches the probes of its predecessors too,
 * and only its own runs hold what it added. */
int ota_chunk_index_from_moves(int fd, uint64_t size, const struct ota_manifest_payload *p,
			       const struct ota_chunk_entry *table, uint8_t *buf, struct ota_chunk_index *ix)
{
	struct ota_chunk_index made = { 0 };
	bool matched = false;
	for (uint32_t base = 0; base < OTA_BUNDLE_MAX_PATCH_BASES; base++) {
		size_t first, end;
		base_runs(p, base, &first, &end);
		if (!base_matches(fd, size, p, table, first, end, buf))
			continue;
		matched = true;
		if (add_runs(&made, p, table, first, end) < 0) {
			ota_chunk_index_done(&made);
			return -ENOMEM;
		}
	}
	if (!matched)
		return 0;
	qsort(made.v, made.n, sizeof(*made.v), entry_cmp);
	ota_chunk_index_done(ix);
	*ix = made;
	return 1;
}

const struct ota_chunk_index_entry *ota_chunk_index_find(const struct ota_chunk_index *ix,
							 const struct ota_chunk_entry *e)
{
	struct ota_chunk_index_entry key = { .size = e->usize };
	memcpy(key.sha, e->sha256, 32);
	size_t lo = 0, hi = ix->n; /* the first entry not below key */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (entry_cmp(&ix->v[mid], &key) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < ix->n && entry_cmp(&ix->v[lo], &key) == 0 ? &ix->v[lo] : NULL;
}

const struct ota_chunk_index_entry *ota_chunk_index_next(const struct ota_chunk_index *ix,
							 const struct ota_chunk_index_entry *c)
{
	return c + 1 < ix->v + ix->n && entry_cmp(c, c + 1) == 0 ? c + 1 : NULL;
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

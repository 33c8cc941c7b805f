/* SPDX-License-Identifier: Apache-2.0 */
/* Chunk patches for ota_bundle_create (docs/bundle-format.md "Chunk
 * patches"): the earlier images a bundle carries patches against, each cut
 * with the payload's chunker and indexed by chunk hash; for every chunk of
 * the new image that an earlier image lacks, the base regions worth trying,
 * and the patch kept when it is clearly smaller than the chunk.
 *
 * Base regions tried, per earlier image (measured on a Debian security
 * update, bench/delta.sh): the same offset, and where the nearest unchanged
 * chunk before and after it place the chunk (files that moved by a few
 * blocks); each widened by one chunk size on either side, so that content
 * that shifted within the region is found too. The smallest patch wins:
 * in bench/delta.sh's update, counted with an instrumented build, the same
 * offset for 201 of the 221 patches kept, the nearest chunk before for 19,
 * the one after for 1. No file-system-aware region (the same file by path)
 * is tried: the patches came to 1.06x the whole-image zstd --patch-from
 * floor, so no choice of base could save more than 6 % of the download.
 *
 * Also the moves (ota_patch_bases_moves): where each earlier image holds
 * the new image's chunks, so that a device running it needs no scan. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "bundle/bundle-private.h"

struct base_chunk {
	uint8_t sha[32];
	uint64_t offset;
};

struct base_image {
	const char *path;
	const uint8_t *map;
	uint64_t size;
	struct base_chunk *idx; /* sorted by sha */
	size_t n;
	/* Per chunk of the new image: its offset in this image if it has it
	 * (else UINT64_MAX), and the shifts the nearest chunks it has before
	 * and after it suggest (INT64_MAX: none). */
	uint64_t *have;
	int64_t *shift_prev, *shift_next;
};

struct ota_patch_bases {
	struct base_image b[OTA_BUNDLE_MAX_PATCH_BASES];
	size_t n;
	uint64_t max;         /* the chunker's largest chunk */
	const struct ota_cut *cuts;
	const uint8_t (*sha)[32];
	size_t n_cuts;
};

static int cmp_sha(const void *a, const void *b)
{
	return memcmp(a, b, 32);
}

/* ---- earlier images: mapped files, or a bundle's payload decoded ------------- */

static int map_fd(struct base_image *b, int fd, struct ota_error *err)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return ota_error_errno(err, -errno, "delta base '%s': stat", b->path);
	b->size = (uint64_t)st.st_size;
	if (b->size == 0)
		return ota_error_set(err, -EINVAL, "delta base '%s' is empty", b->path);
	void *p = mmap(NULL, b->size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (p == MAP_FAILED)
		return ota_error_errno(err, -errno, "delta base '%s': mmap", b->path);
	b->map = p;
	return 0;
}

/* The image of slot_class in bundle fd, decoded into a temporary file: every
 * chunk checked against its table, the table against the manifest; the
 * signature is not (the build host's own input, maybe signed elsewhere). */
static int bundle_image(struct base_image *b, int fd, const char *slot_class, int *ret_fd, struct ota_error *err)
{
	struct ota_bundle_header h;
	_cleanup_free_ uint8_t *man = NULL;
	_cleanup_(ota_manifest_freep) struct ota_manifest *m = NULL;
	uint64_t d;
	int r = ota_bundle_read_head(b->path, &h, &man, NULL, err);
	if (r == 0)
		r = ota_manifest_parse(man, h.manifest_size, &m, err);
	if (r == 0 && ota_bundle_header_data_offset(&h, &d) < 0)
		r = ota_error_set(err, -EOVERFLOW, "bad header");
	if (r < 0)
		return r;
	const struct ota_manifest_payload *p = ota_manifest_find(m, slot_class);
	if (!p)
		return ota_error_set(err, -ENOENT, "no payload of slot class '%s'", slot_class);
	uint64_t tsize = p->chunk_count * OTA_BUNDLE_CHUNK_ENTRY_SIZE, max, cmax;
	if (ota_bundle_payload_bounds(p, NULL, &max, &cmax) < 0)
		return ota_bundle_malformed(err, "bad chunker parameters");
	_cleanup_free_ uint8_t *raw = malloc(tsize ? tsize : 1), *cbuf = malloc(cmax), *ubuf = malloc(max);
	_cleanup_free_ struct ota_chunk_entry *t = NULL;
	_cleanup_(ota_chunk_decoder_freep) struct ota_chunk_decoder *dec = NULL;
	uint8_t sha[32];
	if (!raw || !cbuf || !ubuf)
		return ota_error_set(err, -ENOMEM, "out of memory");
	if (ota_pread_full(fd, raw, tsize, d + p->table_offset) != (ssize_t)tsize || ota_sha256(raw, tsize, sha) < 0 ||
	    memcmp(sha, p->table_sha256, 32) != 0)
		return ota_bundle_malformed(err, "chunk table of '%s' truncated or altered", slot_class);
	if ((r = ota_chunk_table_parse(raw, tsize, p, &t, err)) < 0 || (r = ota_chunk_decoder_new(&dec, err)) < 0)
		return r;
	_cleanup_close_ int out = -EBADF;
	if ((r = ota_bundle_tmpfile(&out, err)) < 0)
		return r;
	for (uint64_t i = 0; i < p->chunk_count; i++) {
		if (ota_pread_full(fd, cbuf, t[i].csize, d + t[i].offset) != (ssize_t)t[i].csize)
			return ota_bundle_malformed(err, "truncated in chunk %llu", (unsigned long long)i);
		if ((r = ota_chunk_decode(dec, &t[i], cbuf, ubuf, err)) < 0)
			return r;
		if ((r = ota_write_all(out, ubuf, t[i].usize)) < 0)
			return ota_error_errno(err, r, "write a temporary file");
	}
	*ret_fd = TAKE_FD(out);
	return 0;
}

static int open_base(struct base_image *b, const char *slot_class, struct ota_error *err)
{
	_cleanup_close_ int fd = open(b->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return ota_error_errno(err, -errno, "open delta base '%s'", b->path);
	uint8_t magic[OTA_BUNDLE_MAGIC_SIZE];
	if (ota_pread_full(fd, magic, sizeof(magic), 0) == (ssize_t)sizeof(magic) &&
	    memcmp(magic, OTA_BUNDLE_MAGIC, sizeof(magic)) == 0) {
		_cleanup_close_ int img = -1;
		int r = bundle_image(b, fd, slot_class, &img, err);
		if (r < 0) {
			ota_error_prefix(err, "delta base '%s' (a bundle): ", b->path);
			return r;
		}
		return map_fd(b, img, err);
	}
	return map_fd(b, fd, err);
}

struct hash_job {
	struct base_image *b;
	const struct ota_cut *cuts;
};

static void hash_base_chunk(void *ctx, size_t k, unsigned worker)
{
	(void)worker;
	struct hash_job *j = ctx;
	j->b->idx[k].offset = j->cuts[k].offset;
	(void)ota_sha256(j->b->map + j->cuts[k].offset, j->cuts[k].size, j->b->idx[k].sha);
}

static int index_base(struct base_image *b, enum ota_chunker_kind kind, uint32_t avg, unsigned threads,
		      struct ota_error *err)
{
	_cleanup_free_ struct ota_cut *cuts = NULL;
	size_t n = 0;
	int r = ota_find_cuts(b->map, b->size, kind, avg, threads, &cuts, &n, err);
	if (r < 0)
		return r;
	b->idx = calloc(n ? n : 1, sizeof(*b->idx));
	if (!b->idx)
		return ota_error_set(err, -ENOMEM, "out of memory");
	struct hash_job j = { b, cuts };
	ota_parallel_for(threads, n, hash_base_chunk, &j);
	b->n = n;
	qsort(b->idx, n, sizeof(*b->idx), cmp_sha);
	return 0;
}

int ota_patch_bases_open(const char *const *paths, size_t n, const char *slot_class, enum ota_chunker_kind kind,
			 uint32_t avg, unsigned threads, struct ota_patch_bases **ret, struct ota_error *err)
{
	if (n > OTA_BUNDLE_MAX_PATCH_BASES)
		return ota_error_set(err, -E2BIG, "%zu delta bases, at most %u", n, OTA_BUNDLE_MAX_PATCH_BASES);
	uint64_t min;
	_cleanup_(ota_patch_bases_freep) struct ota_patch_bases *pb = calloc(1, sizeof(*pb));
	if (!pb)
		return ota_error_set(err, -ENOMEM, "out of memory");
	if (ota_chunker_bounds(kind, avg, &min, &pb->max) < 0)
		return ota_error_set(err, -EINVAL, "invalid chunk size %u", avg);
	for (size_t i = 0; i < n; i++) {
		struct base_image *b = &pb->b[pb->n++];
		b->path = paths[i];
		int r = open_base(b, slot_class, err);
		if (r == 0)
			r = index_base(b, kind, avg, threads, err);
		if (r < 0)
			return r;
	}
	*ret = TAKE_PTR(pb);
	return 0;
}

struct ota_patch_bases *ota_patch_bases_free(struct ota_patch_bases *pb)
{
	if (!pb)
		return NULL;
	for (size_t i = 0; i < pb->n; i++) {
		struct base_image *b = &pb->b[i];
		if (b->map)
			(void)munmap((void *)b->map, b->size);
		free(b->idx);
		free(b->have);
		free(b->shift_prev);
		free(b->shift_next);
	}
	free(pb);
	return NULL;
}

/* ---- the new image: what each base lacks, and where to look ------------------ */

int ota_patch_bases_plan(struct ota_patch_bases *pb, const struct ota_cut *cuts, const uint8_t (*sha)[32], size_t n,
			 struct ota_error *err)
{
	pb->cuts = cuts;
	pb->sha = sha;
	pb->n_cuts = n;
	for (size_t bi = 0; bi < pb->n; bi++) {
		struct base_image *b = &pb->b[bi];
		free(b->have);
		free(b->shift_prev);
		free(b->shift_next);
		b->have = calloc(n ? n : 1, sizeof(*b->have));
		b->shift_prev = calloc(n ? n : 1, sizeof(*b->shift_prev));
		b->shift_next = calloc(n ? n : 1, sizeof(*b->shift_next));
		if (!b->have || !b->shift_prev || !b->shift_next)
			return ota_error_set(err, -ENOMEM, "out of memory");
		for (size_t i = 0; i < n; i++) {
			const struct base_chunk *hit = bsearch(sha[i], b->idx, b->n, sizeof(*b->idx), cmp_sha);
			b->have[i] = hit ? hit->offset : UINT64_MAX;
		}
		int64_t s = INT64_MAX;
		for (size_t i = 0; i < n; i++) {
			b->shift_prev[i] = s;
			if (b->have[i] != UINT64_MAX)
				s = (int64_t)(b->have[i] - cuts[i].offset);
		}
		s = INT64_MAX;
		for (size_t i = n; i-- > 0;) {
			b->shift_next[i] = s;
			if (b->have[i] != UINT64_MAX)
				s = (int64_t)(b->have[i] - cuts[i].offset);
		}
	}
	return 0;
}

/* Where b holds the chunk named sha: at `want` if one of its copies lies
 * there (a run goes on), else at the copy the plan found. */
static uint64_t copy_at(const struct base_image *b, const uint8_t *sha, uint64_t found, uint64_t want)
{
	if (found == want)
		return found;
	const struct base_chunk *hit = bsearch(sha, b->idx, b->n, sizeof(*b->idx), cmp_sha);
	if (!hit)
		return found;
	const struct base_chunk *lo = hit, *end = b->idx + b->n;
	while (lo > b->idx && memcmp(lo[-1].sha, sha, 32) == 0)
		lo--;
	for (; lo < end && memcmp(lo->sha, sha, 32) == 0; lo++)
		if (lo->offset == want)
			return want;
	return found;
}

static int add_move(struct ota_chunk_move **v, size_t *n, size_t *cap, struct ota_chunk_move mv, struct ota_error *err)
{
	if (*n == *cap) {
		size_t c = *cap ? *cap * 2 : 64;
		struct ota_chunk_move *nv = realloc(*v, c * sizeof(*nv));
		if (!nv)
			return ota_error_set(err, -ENOMEM, "out of memory");
		*v = nv;
		*cap = c;
	}
	(*v)[(*n)++] = mv;
	return 0;
}

int ota_patch_bases_moves(const struct ota_patch_bases *pb, const uint8_t *image, struct ota_chunk_move **ret,
			  size_t *ret_n, struct ota_error *err)
{
	_cleanup_free_ struct ota_chunk_move *v = NULL;
	size_t n = 0, cap = 0;
	for (size_t bi = 0; bi < pb->n; bi++) {
		const struct base_image *b = &pb->b[bi];
		bool open = false; /* v[n - 1] is a run that chunk i may continue */
		for (size_t i = 0; i < pb->n_cuts; i++) {
			const struct ota_cut *c = &pb->cuts[i];
			if (b->have[i] == UINT64_MAX || ota_all_zero(image + c->offset, c->size)) {
				open = false;
				continue;
			}
			struct ota_chunk_move *run = open ? &v[n - 1] : NULL;
			uint64_t end = run ? run->base_offset + (c->offset - pb->cuts[run->chunk].offset) : UINT64_MAX;
			uint64_t at = run ? copy_at(b, pb->sha[i], b->have[i], end) : b->have[i];
			if (run && at == end) {
				run->count++;
				continue;
			}
			int r = add_move(&v, &n, &cap,
					 (struct ota_chunk_move){ .chunk = (uint32_t)i, .count = 1, .base = (uint32_t)bi,
								  .base_offset = at },
					 err);
			if (r < 0)
				return r;
			open = true;
		}
	}
	*ret = TAKE_PTR(v);
	*ret_n = n;
	return 0;
}

/* The region [start - pad, start + size + pad) of b, clipped; false if empty. */
static bool region(const struct base_image *b, int64_t start, uint64_t size, uint64_t pad, uint64_t limit,
		   uint64_t *ret_off, uint32_t *ret_size)
{
	int64_t lo = start - (int64_t)pad, hi = start + (int64_t)(size + pad);
	if (lo < 0)
		lo = 0;
	if (hi > (int64_t)b->size)
		hi = (int64_t)b->size;
	if (hi <= lo)
		return false;
	if ((uint64_t)(hi - lo) > limit)
		hi = lo + (int64_t)limit;
	*ret_off = (uint64_t)lo;
	*ret_size = (uint32_t)(hi - lo);
	return true;
}

static size_t compress_with(ZSTD_CCtx *cctx, int level, const uint8_t *base, size_t base_size, const uint8_t *src,
			    size_t size, uint8_t *dst, size_t cap)
{
	(void)ZSTD_CCtx_reset(cctx, ZSTD_reset_session_and_parameters);
	if (ZSTD_isError(ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, level)) ||
	    ZSTD_isError(ZSTD_CCtx_refPrefix(cctx, base, base_size)))
		return 0;
	size_t n = ZSTD_compress2(cctx, dst, cap, src, size);
	(void)ZSTD_CCtx_reset(cctx, ZSTD_reset_session_and_parameters);
	return ZSTD_isError(n) ? 0 : n;
}

size_t ota_patch_make(const struct ota_patch_bases *pb, size_t i, const uint8_t *chunk, uint8_t *out,
		      size_t frame_size, size_t cap, struct ota_patch_scratch *s, struct ota_chunk_patch *ret)
{
	uint32_t usize = pb->cuts[i].size;
	uint64_t off = pb->cuts[i].offset, limit = ota_patch_base_max(pb->max);
	size_t used = frame_size + OTA_PATCH_FRAME_HEAD, n = 0;
	for (size_t bi = 0; bi < pb->n; bi++) {
		const struct base_image *b = &pb->b[bi];
		if (b->have[i] != UINT64_MAX)
			continue; /* the device has the chunk itself */
		int64_t starts[3] = { (int64_t)off, INT64_MAX, INT64_MAX };
		if (b->shift_prev[i] != INT64_MAX)
			starts[1] = (int64_t)off + b->shift_prev[i];
		if (b->shift_next[i] != INT64_MAX)
			starts[2] = (int64_t)off + b->shift_next[i];
		size_t best = 0;
		struct ota_chunk_patch pt = { .chunk = (uint32_t)i, .frame_size = (uint32_t)frame_size };
		for (size_t c = 0; c < 3; c++) {
			uint64_t boff;
			uint32_t bsize;
			if (starts[c] == INT64_MAX || (c == 2 && starts[2] == starts[1]) || (c > 0 && starts[c] == starts[0]) ||
			    !region(b, starts[c], usize, usize, limit, &boff, &bsize))
				continue;
			size_t k = compress_with(s->cctx, s->level, b->map + boff, bsize, chunk, usize, s->buf, s->cap);
			if (k == 0 || (best && k >= best))
				continue;
			best = k;
			pt.base_offset = boff;
			pt.base_size = bsize;
			memcpy(s->best, s->buf, k);
		}
		/* Clearly smaller: a quarter and 64 bytes less than the chunk's frame. */
		if (best == 0 || best > frame_size - frame_size / 4 || best + 64 > frame_size || used + best > cap)
			continue;
		(void)ota_sha256(b->map + pt.base_offset, pt.base_size, pt.base_sha256);
		pt.offset = used; /* relative to the chunk's first byte, for now */
		pt.size = (uint32_t)best;
		memcpy(out + used, s->best, best);
		used += best;
		ret[n++] = pt;
	}
	if (n == 0)
		return 0;
	/* The skippable frame around them: magic and content size, little-endian. */
	uint8_t *h = out + frame_size;
	uint32_t content = (uint32_t)(used - frame_size - OTA_PATCH_FRAME_HEAD);
	for (unsigned k = 0; k < 4; k++) {
		h[k] = (uint8_t)(OTA_PATCH_FRAME_MAGIC >> (8 * k));
		h[4 + k] = (uint8_t)(content >> (8 * k));
	}
	return n;
}

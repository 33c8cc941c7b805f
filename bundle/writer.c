/* SPDX-License-Identifier: Apache-2.0 */
/* Writing bundles on the build host: chunk each image (sequential, it is a
 * rolling hash), then hash and compress the chunks on every core in batches
 * (memory stays bounded by one batch), then lay out tables, manifest and
 * signature in front of the data. Also prepare/attach for two-step signing. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "bundle/bundle-private.h"

#define BATCH_PER_THREAD 16u
/* Patch and move entries a bundle may carry: the manifest must stay within
 * its limit, 64 KiB left for everything else. */
#define MOVE_BUDGET OTA_BUNDLE_MAX_MOVES
#define PATCH_BUDGET \
	((OTA_BUNDLE_MAX_MANIFEST - (64u << 10) - MOVE_BUDGET * OTA_BUNDLE_MOVE_ENTRY_SIZE) / OTA_BUNDLE_PATCH_ENTRY_SIZE)

struct image_job {
	const struct ota_bundle_image *img;
	const uint8_t *map;
	uint64_t size;
	struct ota_cut *cuts;
	size_t n_cuts;
	struct ota_chunk_entry *entries; /* offsets relative to the payload's data */
	uint64_t data_size;
	int data_fd;                     /* compressed chunks, in order */
	uint8_t image_sha[32];
	struct ota_patch_bases *bases;   /* NULL: no patches */
	uint8_t (*sha)[32];              /* with bases: every chunk's hash, made first */
	struct ota_chunk_patch *patches; /* offsets relative to the payload's data */
	size_t n_patches;
	struct ota_chunk_move *moves;
	size_t n_moves;
};

struct batch {
	struct image_job *job;
	size_t first, n;
	uint8_t **out;      /* per chunk in the batch: compressed bytes */
	size_t *out_size;
	struct ota_chunk_patch (*patches)[OTA_BUNDLE_MAX_PATCH_BASES];
	size_t *n_patches;
	size_t *patch_budget; /* patch entries the manifest still has room for */
	int level;
	ZSTD_CCtx **cctx;
	struct ota_patch_scratch *scratch;
	/* A chunk of max zero bytes, frequent in slot images, made once. */
	size_t zero_usize, zero_csize;
	uint8_t zero_sha[32];
	uint8_t *zero_frame;
	atomic_int error;
};

struct parallel {
	void (*fn)(void *ctx, size_t k, unsigned worker);
	void *ctx;
	size_t n;
	atomic_size_t next;
};

struct parallel_worker {
	struct parallel *p;
	unsigned idx;
};

static void *parallel_loop(void *arg)
{
	struct parallel_worker *w = arg;
	for (size_t k; (k = atomic_fetch_add(&w->p->next, 1)) < w->p->n;)
		w->p->fn(w->p->ctx, k, w->idx);
	return NULL;
}

void ota_parallel_for(unsigned threads, size_t n, void (*fn)(void *ctx, size_t k, unsigned worker), void *ctx)
{
	struct parallel p = { .fn = fn, .ctx = ctx, .n = n };
	struct parallel_worker w[256];
	pthread_t tid[256];
	unsigned started = 0;
	atomic_init(&p.next, 0);
	for (unsigned t = 0; t < threads && t < 256 && t < n; t++) {
		w[t] = (struct parallel_worker){ &p, t };
		if (pthread_create(&tid[t], NULL, parallel_loop, &w[t]) != 0)
			break;
		started++;
	}
	if (started == 0)
		parallel_loop(&(struct parallel_worker){ &p, 0 });
	for (unsigned t = 0; t < started; t++)
		(void)pthread_join(tid[t], NULL);
}

static void compress_chunk(void *ctx, size_t k, unsigned worker)
{
	struct batch *b = ctx;
	struct image_job *j = b->job;
	size_t i = b->first + k;
	const struct ota_cut *c = &j->cuts[i];
	const uint8_t *src = j->map + c->offset;
	struct ota_chunk_entry *e = &j->entries[i];
	size_t cap = ota_chunk_csize_bound(c->size), n;
	if (b->zero_frame && c->size == b->zero_usize && ota_all_zero(src, c->size)) {
		/* The same bytes as compressing them: zstd's output depends on
		 * the input and the level only. */
		memcpy(e->sha256, b->zero_sha, 32);
		memcpy(b->out[k], b->zero_frame, b->zero_csize);
		n = b->zero_csize;
	} else {
		if (j->sha)
			memcpy(e->sha256, j->sha[i], 32);
		else if (ota_sha256(src, c->size, e->sha256) < 0)
			atomic_store(&b->error, -EIO);
		n = ZSTD_compressCCtx(b->cctx[worker], b->out[k], cap, src, c->size, b->level);
	}
	if (ZSTD_isError(n)) {
		atomic_store(&b->error, -EIO);
		return;
	}
	b->n_patches[k] = j->bases ? ota_patch_make(j->bases, i, src, b->out[k], n, cap, &b->scratch[worker],
						     b->patches[k])
				   : 0;
	if (b->n_patches[k]) {
		const struct ota_chunk_patch *last = &b->patches[k][b->n_patches[k] - 1];
		n = (size_t)last->offset + last->size;
	}
	b->out_size[k] = n;
	e->usize = c->size;
	e->csize = (uint32_t)n;
}

static void *hash_image(void *arg)
{
	struct image_job *j = arg;
	(void)ota_sha256(j->map, j->size, j->image_sha);
	return NULL;
}

/* The batch's patch entries, with offsets in the payload's data; those past
 * the manifest's room are dropped with their bytes (the chunk ends after its
 * own frame then). */
static int keep_patches(struct batch *b, size_t k, struct ota_chunk_entry *e)
{
	struct image_job *j = b->job;
	size_t n = b->n_patches[k];
	if (n == 0)
		return 0;
	if (n > *b->patch_budget || j->n_patches + n > OTA_BUNDLE_MAX_PATCHES) {
		b->out_size[k] = b->patches[k][0].frame_size;
		e->csize = (uint32_t)b->out_size[k];
		return 0;
	}
	struct ota_chunk_patch *v = realloc(j->patches, (j->n_patches + n) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	j->patches = v;
	for (size_t q = 0; q < n; q++) {
		v[j->n_patches] = b->patches[k][q];
		v[j->n_patches++].offset += e->offset;
	}
	*b->patch_budget -= n;
	return 0;
}

static int run_batch(struct batch *b, unsigned threads, struct ota_error *err)
{
	ota_parallel_for(threads, b->n, compress_chunk, b);
	if (atomic_load(&b->error))
		return ota_error_set(err, atomic_load(&b->error), "compressing chunks failed");
	for (size_t k = 0; k < b->n; k++) {
		struct ota_chunk_entry *e = &b->job->entries[b->first + k];
		e->offset = b->job->data_size;
		if (keep_patches(b, k, e) < 0)
			return ota_error_set(err, -ENOMEM, "out of memory");
		b->job->data_size += b->out_size[k];
		int r = ota_write_all(b->job->data_fd, b->out[k], b->out_size[k]);
		if (r < 0)
			return ota_error_errno(err, r, "write temporary data");
	}
	return 0;
}

static void free_bufs(uint8_t **bufs, size_t n)
{
	for (size_t i = 0; bufs && i < n; i++)
		free(bufs[i]);
	free(bufs);
}

/* Per thread: the patch tools. */
static int scratch_new(struct ota_patch_scratch *s, unsigned threads, ZSTD_CCtx **cctx, int level, size_t cap)
{
	for (unsigned t = 0; t < threads; t++) {
		s[t] = (struct ota_patch_scratch){ .cctx = cctx[t], .level = level, .cap = cap,
						   .buf = malloc(cap), .best = malloc(cap) };
		if (!s[t].buf || !s[t].best)
			return -ENOMEM;
	}
	return 0;
}

static void scratch_free(struct ota_patch_scratch *s, unsigned threads)
{
	for (unsigned t = 0; s && t < threads; t++) {
		free(s[t].buf);
		free(s[t].best);
	}
	free(s);
}

static void hash_cut(void *ctx, size_t k, unsigned worker)
{
	(void)worker;
	struct image_job *j = ctx;
	(void)ota_sha256(j->map + j->cuts[k].offset, j->cuts[k].size, j->sha[k]);
}

static int compress_image(struct image_job *j, const struct ota_bundle_create_opts *o, unsigned threads,
			  ZSTD_CCtx **cctx, size_t *patch_budget, struct ota_error *err)
{
	uint64_t min, max;
	int r = ota_chunker_bounds(o->chunker, o->chunk_avg, &min, &max);
	if (r < 0)
		return ota_error_set(err, r, "invalid chunk size %u", o->chunk_avg);
	j->entries = calloc(j->n_cuts ? j->n_cuts : 1, sizeof(*j->entries));
	size_t per = (size_t)threads * BATCH_PER_THREAD;
	uint8_t **out = calloc(per, sizeof(*out));
	size_t *out_size = calloc(per, sizeof(*out_size)), *n_patches = calloc(per, sizeof(*n_patches));
	struct ota_chunk_patch(*patches)[OTA_BUNDLE_MAX_PATCH_BASES] = calloc(per, sizeof(*patches));
	struct ota_patch_scratch *scratch = calloc(threads, sizeof(*scratch));
	for (size_t k = 0; out && k < per; k++)
		if (!(out[k] = malloc(ota_chunk_csize_bound(max))))
			r = -ENOMEM;
	if (j->bases && (j->sha = calloc(j->n_cuts ? j->n_cuts : 1, sizeof(*j->sha))) == NULL)
		r = -ENOMEM;
	if (r == 0 && scratch && j->bases)
		r = scratch_new(scratch, threads, cctx, o->patch_level, ota_chunk_csize_bound(max));
	if (!j->entries || !out || !out_size || !n_patches || !patches || !scratch || r < 0)
		r = ota_error_set(err, -ENOMEM, "out of memory");
	if (r == 0 && j->bases) {
		/* Which chunks each earlier image has needs every chunk's hash first. */
		ota_parallel_for(threads, j->n_cuts, hash_cut, j);
		r = ota_patch_bases_plan(j->bases, j->cuts, (const uint8_t(*)[32])j->sha, j->n_cuts, err);
	}
	struct batch b = { .job = j, .out = out, .out_size = out_size, .patches = patches, .n_patches = n_patches,
			   .patch_budget = patch_budget, .level = o->zstd_level, .cctx = cctx, .scratch = scratch };
	_cleanup_free_ uint8_t *zeros = r == 0 ? calloc(1, max) : NULL;
	_cleanup_free_ uint8_t *zero_frame = zeros ? malloc(ota_chunk_csize_bound(max)) : NULL;
	if (zero_frame && ota_sha256(zeros, max, b.zero_sha) == 0) {
		size_t n = ZSTD_compressCCtx(cctx[0], zero_frame, ota_chunk_csize_bound(max), zeros, max, o->zstd_level);
		if (!ZSTD_isError(n)) { /* else every chunk is compressed as it comes */
			b.zero_usize = max;
			b.zero_csize = n;
			b.zero_frame = zero_frame;
		}
	}
	for (size_t first = 0; r == 0 && first < j->n_cuts; first += per) {
		b.first = first;
		b.n = j->n_cuts - first < per ? j->n_cuts - first : per;
		r = run_batch(&b, threads, err);
	}
	free_bufs(out, per);
	free(out_size);
	free(n_patches);
	free(patches);
	scratch_free(scratch, threads);
	return r;
}

int ota_bundle_tmpfile(int *ret_fd, struct ota_error *err)
{
	const char *dir = getenv("TMPDIR") ? getenv("TMPDIR") : "/var/tmp";
	int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd < 0)
		return ota_error_errno(err, -errno, "create a temporary file in '%s'", dir);
	*ret_fd = fd;
	return 0;
}

static int map_image(struct image_job *j, struct ota_error *err)
{
	_cleanup_close_ int fd = open(j->img->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return ota_error_errno(err, -errno, "open image '%s'", j->img->path);
	struct stat st;
	if (fstat(fd, &st) < 0)
		return ota_error_errno(err, -errno, "stat image '%s'", j->img->path);
	if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode))
		return ota_error_set(err, -EINVAL, "image '%s' is not a regular file", j->img->path);
	j->size = (uint64_t)st.st_size;
	if (j->size == 0)
		return ota_error_set(err, -EINVAL, "image '%s' is empty", j->img->path);
	void *p = mmap(NULL, j->size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (p == MAP_FAILED)
		return ota_error_errno(err, -errno, "mmap image '%s'", j->img->path);
	(void)madvise(p, j->size, MADV_SEQUENTIAL);
	j->map = p;
	return 0;
}

/* The image's moves, within what the bundle still has room for (payload
 * by payload, in bundle order): the runs of one earlier image go in whole
 * or not at all. A device indexes only what the runs name and does not
 * scan, so part of them would hide the rest of its slot; without them it
 * scans, as before moves. */
static int keep_moves(struct image_job *j, size_t *budget, struct ota_error *err)
{
	int r = ota_patch_bases_moves(j->bases, j->map, &j->moves, &j->n_moves, err);
	if (r < 0)
		return r;
	size_t kept = 0;
	for (size_t i = 0; i < j->n_moves;) {
		size_t end = i;
		while (end < j->n_moves && j->moves[end].base == j->moves[i].base)
			end++;
		if (end - i <= *budget) {
			memmove(&j->moves[kept], &j->moves[i], (end - i) * sizeof(*j->moves));
			kept += end - i;
			*budget -= end - i;
		}
		i = end;
	}
	j->n_moves = kept;
	return 0;
}

static int process_image(struct image_job *j, const struct ota_bundle_create_opts *o, unsigned threads,
			 ZSTD_CCtx **cctx, size_t *patch_budget, size_t *move_budget, struct ota_error *err)
{
	int r = map_image(j, err);
	if (r == 0 && o->n_delta_bases)
		r = ota_patch_bases_open(o->delta_bases, o->n_delta_bases, j->img->slot_class, o->chunker, o->chunk_avg,
					 threads, &j->bases, err);
	if (r < 0)
		return r;
	/* Compressed chunks wait on disk (not in memory) until the layout in
	 * front of them is known. */
	if ((r = ota_bundle_tmpfile(&j->data_fd, err)) < 0)
		return r;
	/* The whole-image hash runs beside chunking and compression. */
	pthread_t hasher;
	bool hashing = pthread_create(&hasher, NULL, hash_image, j) == 0;
	r = ota_find_cuts(j->map, j->size, o->chunker, o->chunk_avg, threads, &j->cuts, &j->n_cuts, err);
	if (r == 0)
		r = compress_image(j, o, threads, cctx, patch_budget, err);
	if (r == 0 && j->bases)
		r = keep_moves(j, move_budget, err);
	if (hashing)
		(void)pthread_join(hasher, NULL);
	else
		hash_image(j);
	if (r < 0)
		ota_error_prefix(err, "image '%s': ", j->img->path);
	return r;
}

static void image_job_done(struct image_job *j)
{
	if (j->map)
		(void)munmap((void *)j->map, j->size);
	free(j->cuts);
	free(j->entries);
	free(j->sha);
	free(j->patches);
	free(j->moves);
	ota_patch_bases_free(j->bases);
	if (j->data_fd >= 0)
		(void)close(j->data_fd);
}

/* ---- layout and output ----------------------------------------------------- */

static int build_table(struct image_job *j, struct ota_manifest_payload *p, uint8_t **ret, struct ota_error *err)
{
	size_t size = j->n_cuts * OTA_BUNDLE_CHUNK_ENTRY_SIZE;
	uint8_t *t = malloc(size ? size : 1);
	if (!t)
		return ota_error_set(err, -ENOMEM, "out of memory");
	for (size_t i = 0; i < j->n_cuts; i++) {
		struct ota_chunk_entry e = j->entries[i];
		e.offset += p->data_offset;
		ota_chunk_entry_write(&e, t + i * OTA_BUNDLE_CHUNK_ENTRY_SIZE);
	}
	(void)ota_sha256(t, size, p->table_sha256);
	*ret = t;
	return 0;
}

static int copy_fd(int in, uint64_t offset, uint64_t size, int out, struct ota_error *err)
{
	static const size_t bufsize = 1u << 20;
	_cleanup_free_ uint8_t *buf = malloc(bufsize);
	if (!buf)
		return ota_error_set(err, -ENOMEM, "out of memory");
	while (size > 0) {
		size_t want = size < bufsize ? (size_t)size : bufsize;
		ssize_t n = pread(in, buf, want, (off_t)offset);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return ota_error_errno(err, n < 0 ? -errno : -EIO, "read at offset %llu", (unsigned long long)offset);
		int r = ota_write_all(out, buf, (size_t)n);
		if (r < 0)
			return ota_error_errno(err, r, "write");
		offset += (uint64_t)n;
		size -= (uint64_t)n;
	}
	return 0;
}

static int write_head(int fd, const uint8_t *manifest, size_t msize, const uint8_t *sig, size_t ssize,
		      struct ota_error *err)
{
	struct ota_bundle_header h = { .version = OTA_BUNDLE_FORMAT_VERSION, .manifest_size = msize,
				       .signature_size = ssize };
	uint8_t buf[OTA_BUNDLE_HEADER_SIZE];
	ota_bundle_header_write(&h, buf);
	int r = ota_write_all(fd, buf, sizeof(buf));
	if (r == 0)
		r = ota_write_all(fd, manifest, msize);
	if (r == 0 && ssize)
		r = ota_write_all(fd, sig, ssize);
	return r < 0 ? ota_error_errno(err, r, "write") : 0;
}

static int fill_manifest(struct ota_manifest *m, const struct ota_bundle_create_opts *o, struct image_job *jobs,
			 uint8_t **tables, struct ota_error *err)
{
	m->compatible = (char *)o->compatible;
	m->version = (char *)o->version;
	m->build = (char *)o->build;
	m->description = (char *)o->description;
	m->created = o->created ? o->created : (uint64_t)time(NULL);
	m->n_payloads = o->n_images;
	uint64_t pos = 0;
	for (size_t i = 0; i < o->n_images; i++) {
		struct ota_manifest_payload *p = &m->payloads[i];
		struct image_job *j = &jobs[i];
		const char *base = strrchr(j->img->path, '/');
		*p = (struct ota_manifest_payload){
			.slot_class = (char *)j->img->slot_class, .name = (char *)(base ? base + 1 : j->img->path),
			.image_size = j->size, .chunk_count = j->n_cuts, .table_offset = pos,
			.data_size = j->data_size, .chunker = o->chunker, .chunk_avg = o->chunk_avg,
			.compression = OTA_COMPRESSION_ZSTD,
		};
		memcpy(p->image_sha256, j->image_sha, 32);
		p->data_offset = pos + j->n_cuts * OTA_BUNDLE_CHUNK_ENTRY_SIZE;
		for (size_t k = 0; k < j->n_patches; k++)
			j->patches[k].offset += p->data_offset;
		p->patches = j->patches;
		p->n_patches = j->n_patches;
		p->moves = j->moves;
		p->n_moves = j->n_moves;
		pos = p->data_offset + p->data_size;
		int r = build_table(j, p, &tables[i], err);
		if (r < 0)
			return r;
	}
	m->data_size = pos;
	return 0;
}

static int assemble(const struct ota_bundle_create_opts *o, struct image_job *jobs, const char *out_path,
		    struct ota_error *err)
{
	struct ota_manifest_payload payloads[OTA_BUNDLE_MAX_PAYLOADS];
	struct ota_manifest m = { .payloads = payloads };
	uint8_t *tables[OTA_BUNDLE_MAX_PAYLOADS] = { 0 };
	_cleanup_free_ uint8_t *raw = NULL, *sig = NULL;
	size_t raw_size = 0, sig_size = 0;
	struct ota_atomic_file f = { .fd = -1 };
	int r = fill_manifest(&m, o, jobs, tables, err);
	if (r == 0)
		r = ota_manifest_serialize(&m, &raw, &raw_size, err);
	if (r == 0 && o->key)
		r = ota_bundle_sign_data(raw, raw_size, o->cert, o->key, o->chain, &sig, &sig_size, err);
	if (r == 0)
		r = ota_atomic_file_open(&f, out_path, 0644, err);
	if (r == 0) {
		r = write_head(f.fd, raw, raw_size, sig, sig_size, err);
		for (size_t i = 0; r == 0 && i < o->n_images; i++) {
			r = ota_write_all(f.fd, tables[i], jobs[i].n_cuts * OTA_BUNDLE_CHUNK_ENTRY_SIZE);
			if (r < 0)
				r = ota_error_errno(err, r, "write '%s'", f.tmp);
			else
				r = copy_fd(jobs[i].data_fd, 0, jobs[i].data_size, f.fd, err);
		}
		if (r == 0)
			r = ota_atomic_file_commit(&f, out_path, err);
		else
			ota_atomic_file_abort(&f);
	}
	for (size_t i = 0; i < o->n_images; i++)
		free(tables[i]);
	return r;
}

static unsigned pick_threads(unsigned want)
{
	long n = want ? (long)want : sysconf(_SC_NPROCESSORS_ONLN);
	return n < 1 ? 1 : n > 256 ? 256 : (unsigned)n;
}

int ota_bundle_create(const struct ota_bundle_create_opts *opts, const char *out_path, struct ota_error *err)
{
	struct ota_bundle_create_opts o = *opts;
	if (!o.chunk_avg)
		o.chunk_avg = OTA_BUNDLE_DEFAULT_CHUNK_AVG;
	if (!o.chunker)
		o.chunker = OTA_CHUNKER_BUZHASH;
	if (!o.zstd_level)
		o.zstd_level = 3;
	if (!o.patch_level)
		o.patch_level = 19;
	if (o.n_images == 0 || o.n_images > OTA_BUNDLE_MAX_PAYLOADS)
		return ota_error_set(err, -EINVAL, "%zu images given, expected 1..%u", o.n_images, OTA_BUNDLE_MAX_PAYLOADS);
	if (o.key && !o.cert)
		return ota_error_set(err, -EINVAL, "a signing key needs its certificate");
	unsigned threads = pick_threads(o.threads);
	ZSTD_CCtx *cctx[256] = { 0 };
	struct image_job jobs[OTA_BUNDLE_MAX_PAYLOADS] = { 0 };
	int r = 0;
	size_t patch_budget = PATCH_BUDGET, move_budget = MOVE_BUDGET;
	for (unsigned t = 0; t < threads; t++)
		if (!(cctx[t] = ZSTD_createCCtx()))
			r = ota_error_set(err, -ENOMEM, "out of memory");
	for (size_t i = 0; r == 0 && i < o.n_images; i++) {
		jobs[i] = (struct image_job){ .img = &o.images[i], .data_fd = -1 };
		r = process_image(&jobs[i], &o, threads, cctx, &patch_budget, &move_budget, err);
	}
	for (unsigned t = 0; t < threads; t++)
		(void)ZSTD_freeCCtx(cctx[t]);
	if (r == 0)
		r = assemble(&o, jobs, out_path, err);
	for (size_t i = 0; i < o.n_images; i++)
		image_job_done(&jobs[i]);
	return r;
}

/* ---- existing bundles: head, prepare, attach ------------------------------- */

int ota_bundle_read_head(const char *path, struct ota_bundle_header *ret_header, uint8_t **ret_manifest,
			 uint8_t **ret_sig, struct ota_error *err)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return ota_error_errno(err, -errno, "open bundle '%s'", path);
	uint8_t h[OTA_BUNDLE_HEADER_SIZE];
	struct ota_bundle_header hdr;
	ssize_t n = ota_read_full(fd, h, sizeof(h));
	if (n < 0)
		return ota_error_errno(err, (int)n, "read bundle '%s'", path);
	int r = ota_bundle_header_parse(h, (size_t)n, &hdr, err);
	if (r < 0) {
		ota_error_prefix(err, "bundle '%s': ", path);
		return r;
	}
	_cleanup_free_ uint8_t *man = malloc(hdr.manifest_size);
	_cleanup_free_ uint8_t *sig = malloc(hdr.signature_size ? hdr.signature_size : 1);
	if (!man || !sig)
		return ota_error_set(err, -ENOMEM, "out of memory");
	if (ota_read_full(fd, man, hdr.manifest_size) != (ssize_t)hdr.manifest_size ||
	    ota_read_full(fd, sig, hdr.signature_size) != (ssize_t)hdr.signature_size)
		return ota_bundle_malformed(err, "bundle '%s': truncated in the manifest or signature", path);
	*ret_header = hdr;
	*ret_manifest = TAKE_PTR(man);
	if (ret_sig)
		*ret_sig = TAKE_PTR(sig);
	return 0;
}

int ota_bundle_prepare(const char *bundle_path, const char *out_path, struct ota_error *err)
{
	struct ota_bundle_header h;
	_cleanup_free_ uint8_t *man = NULL;
	int r = ota_bundle_read_head(bundle_path, &h, &man, NULL, err);
	if (r < 0)
		return r;
	/* Refuse to hand out bytes for signing that no reader would accept. */
	_cleanup_(ota_manifest_freep) struct ota_manifest *m = NULL;
	if ((r = ota_manifest_parse(man, h.manifest_size, &m, err)) < 0) {
		ota_error_prefix(err, "bundle '%s': ", bundle_path);
		return r;
	}
	return ota_write_file_atomic(out_path, man, h.manifest_size, 0644, err);
}

int ota_bundle_attach(const char *bundle_path, const uint8_t *sig, size_t sig_size, const char *out_path,
		      struct ota_error *err)
{
	struct ota_bundle_signer_info info;
	int r = ota_bundle_signature_describe(sig, sig_size, &info, err);
	if (r < 0)
		return r;
	struct ota_bundle_header h;
	_cleanup_free_ uint8_t *man = NULL;
	if ((r = ota_bundle_read_head(bundle_path, &h, &man, NULL, err)) < 0)
		return r;
	uint64_t data_off;
	if (ota_bundle_header_data_offset(&h, &data_off) < 0)
		return ota_error_set(err, -EOVERFLOW, "bad header");
	_cleanup_close_ int in = open(bundle_path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (in < 0 || fstat(in, &st) < 0)
		return ota_error_errno(err, -errno, "open bundle '%s'", bundle_path);
	if ((uint64_t)st.st_size < data_off)
		return ota_bundle_malformed(err, "bundle '%s' is truncated", bundle_path);
	struct ota_atomic_file f;
	if ((r = ota_atomic_file_open(&f, out_path, 0644, err)) < 0)
		return r;
	r = write_head(f.fd, man, h.manifest_size, sig, sig_size, err);
	if (r == 0)
		r = copy_fd(in, data_off, (uint64_t)st.st_size - data_off, f.fd, err);
	if (r < 0) {
		ota_atomic_file_abort(&f);
		return r;
	}
	return ota_atomic_file_commit(&f, out_path, err);
}

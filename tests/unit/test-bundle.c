/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for the bundle's pure cores: chunker invariants, header and
 * manifest encoding, limits, and the streaming reader over memory. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>

#include "bundle/bundle.h"
#include "test.h"

static uint8_t *random_buf(size_t n, uint32_t seed)
{
	uint8_t *p = malloc(n);
	uint32_t x = seed ? seed : 1;
	for (size_t i = 0; p && i < n; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		p[i] = (uint8_t)x;
	}
	return p;
}

/* Cuts a whole buffer, feeding it in pieces of `step` bytes. Returns the count. */
static size_t cut_all(const uint8_t *p, size_t n, size_t avg, size_t step, size_t *cuts, size_t max_cuts)
{
	struct ota_chunker c;
	if (ota_chunker_init(&c, OTA_CHUNKER_BUZHASH, avg) < 0)
		return 0;
	size_t pos = 0, fed = 0, count = 0;
	while (fed < n) {
		size_t len = n - fed < step ? n - fed : step;
		size_t k = ota_chunker_scan(&c, p + fed, len);
		if (k == SIZE_MAX) {
			fed += len;
			continue;
		}
		fed += k;
		if (count < max_cuts)
			cuts[count++] = fed - pos;
		pos = fed;
	}
	if (pos < n && count < max_cuts)
		cuts[count++] = n - pos;
	return count;
}

TEST(buzhash_rolling_equals_recomputation)
{
	_cleanup_free_ uint8_t *p = random_buf(4096, 7);
	uint32_t h = ota_buzhash(p, OTA_CHUNKER_WINDOW);
	for (size_t i = OTA_CHUNKER_WINDOW; i < 4096; i++) {
		h = ota_buzhash_roll(h, p[i - OTA_CHUNKER_WINDOW], p[i]);
		ASSERT_INT_EQ(h, ota_buzhash(p + i - OTA_CHUNKER_WINDOW + 1, OTA_CHUNKER_WINDOW));
	}
}

TEST(chunker_discriminator_matches_casync)
{
	ASSERT_INT_EQ(ota_chunker_discriminator(65536), 49535);
	ASSERT_INT_EQ(ota_chunker_discriminator(32768), 24680);
}

TEST(chunker_rejects_bad_sizes)
{
	struct ota_chunker c;
	ASSERT_INT_EQ(ota_chunker_init(&c, OTA_CHUNKER_BUZHASH, 1000), -ERANGE);
	ASSERT_INT_EQ(ota_chunker_init(&c, OTA_CHUNKER_BUZHASH, 128), -ERANGE);
	ASSERT_INT_EQ(ota_chunker_init(&c, OTA_CHUNKER_BUZHASH, 8u << 20), -ERANGE);
	ASSERT_INT_EQ(ota_chunker_init(&c, OTA_CHUNKER_FIXED, 16u << 20), 0);
	ASSERT_INT_EQ(ota_chunker_init(&c, (enum ota_chunker_kind)9, 65536), -EINVAL);
}

TEST(chunker_sizes_within_bounds_and_average)
{
	const size_t n = 16u << 20, avg = 16384;
	_cleanup_free_ uint8_t *p = random_buf(n, 42);
	_cleanup_free_ size_t *cuts = calloc(n / (avg / 4) + 2, sizeof(size_t));
	size_t count = cut_all(p, n, avg, n, cuts, n / (avg / 4) + 2), sum = 0;
	ASSERT_TRUE(count > 1);
	for (size_t i = 0; i < count; i++) {
		ASSERT_TRUE(cuts[i] <= 4 * avg);
		if (i + 1 < count)
			ASSERT_TRUE(cuts[i] >= avg / 4);
		sum += cuts[i];
	}
	ASSERT_INT_EQ(sum, n);
	/* casync's calibration: the mean lands near avg on random data. */
	size_t mean = n / count;
	ASSERT_TRUE(mean > avg * 8 / 10 && mean < avg * 12 / 10);
}

TEST(chunker_deterministic_across_feed_sizes)
{
	const size_t n = 2u << 20, avg = 4096, maxc = n / 1024 + 2;
	_cleanup_free_ uint8_t *p = random_buf(n, 3);
	_cleanup_free_ size_t *a = calloc(maxc, sizeof(size_t));
	_cleanup_free_ size_t *b = calloc(maxc, sizeof(size_t));
	size_t na = cut_all(p, n, avg, n, a, maxc);
	static const size_t steps[] = { 1, 7, 47, 48, 49, 4096, 100003 };
	for (size_t s = 0; s < OTA_ELEMENTSOF(steps); s++) {
		size_t nb = cut_all(p, n, avg, steps[s], b, maxc);
		ASSERT_INT_EQ(nb, na);
		ASSERT_TRUE(memcmp(a, b, na * sizeof(size_t)) == 0);
	}
}

/* The cut points as docs/bundle-format.md defines them, one byte at a time
 * with a division: what the chunker's shortcuts (no division, the window
 * read from the input) must reproduce exactly. */
static size_t cut_reference(const uint8_t *p, size_t n, size_t avg, size_t *cuts, size_t max_cuts)
{
	size_t min = avg / 4, max = avg * 4, d = ota_chunker_discriminator(avg), start = 0, count = 0;
	while (start < n && count < max_cuts) {
		size_t end = n;
		if (n - start > min) {
			uint32_t h = ota_buzhash(p + start + min - OTA_CHUNKER_WINDOW, OTA_CHUNKER_WINDOW);
			size_t i = start + min;
			while (h % d != d - 1 && i - start < max && i < n) {
				h = ota_buzhash_roll(h, p[i - OTA_CHUNKER_WINDOW], p[i]);
				i++;
			}
			end = i;
		}
		cuts[count++] = end - start;
		start = end;
	}
	return count;
}

TEST(chunker_matches_reference)
{
	const size_t n = 3u << 20, maxc = n / 256 + 2;
	_cleanup_free_ size_t *a = calloc(maxc, sizeof(size_t));
	_cleanup_free_ size_t *b = calloc(maxc, sizeof(size_t));
	static const size_t avgs[] = { 1024, 4096, 65536 };
	static const size_t steps[] = { 1, 48, 49, 5000, 3u << 20 };
	for (uint32_t seed = 5; seed < 8; seed++) {
		_cleanup_free_ uint8_t *p = random_buf(n, seed);
		/* A run of zeros and a run of one byte: cuts at max. */
		memset(p + n / 3, 0, 300000);
		memset(p + 2 * n / 3, 0x5a, 300000);
		for (size_t v = 0; v < OTA_ELEMENTSOF(avgs); v++) {
			size_t na = cut_reference(p, n, avgs[v], a, maxc);
			for (size_t s = 0; s < OTA_ELEMENTSOF(steps); s++) {
				size_t nb = cut_all(p, n, avgs[v], steps[s], b, maxc);
				ASSERT_INT_EQ(nb, na);
				ASSERT_TRUE(memcmp(a, b, na * sizeof(size_t)) == 0);
			}
		}
	}
}

TEST(chunker_boundaries_stable_under_insertion)
{
	const size_t n = 4u << 20, avg = 8192, maxc = n / 2048 + 4;
	_cleanup_free_ uint8_t *p = random_buf(n, 11);
	_cleanup_free_ uint8_t *q = malloc(n + 100);
	memcpy(q, p, n / 2);
	memset(q + n / 2, 0xab, 100); /* 100 bytes inserted in the middle */
	memcpy(q + n / 2 + 100, p + n / 2, n / 2);
	_cleanup_free_ size_t *a = calloc(maxc, sizeof(size_t));
	_cleanup_free_ size_t *b = calloc(maxc, sizeof(size_t));
	size_t na = cut_all(p, n, avg, n, a, maxc), nb = cut_all(q, n + 100, avg, n, b, maxc);
	/* All chunks before the insertion point are identical. */
	size_t pos = 0, k = 0;
	while (k < na && pos + a[k] <= n / 2 - 4 * avg) {
		ASSERT_INT_EQ(a[k], b[k]);
		pos += a[k++];
	}
	ASSERT_TRUE(k > 10);
	/* And most chunks after it reappear unchanged (content-defined). */
	size_t tail_a = 0, tail_same = 0, ta = n, tb = n + 100, i = na, j = nb;
	while (i > 0 && j > 0 && ta > n / 2 + 4 * avg) {
		if (ta == tb - 100) {
			tail_same += a[i - 1] == b[j - 1];
			ta -= a[--i];
			tb -= b[--j];
			tail_a++;
		} else if (ta > tb - 100) {
			ta -= a[--i];
			tail_a++;
		} else {
			tb -= b[--j];
		}
	}
	ASSERT_TRUE(tail_a > 10 && tail_same * 10 >= tail_a * 9);
}

TEST(chunker_fixed)
{
	struct ota_chunker c;
	ASSERT_INT_EQ(ota_chunker_init(&c, OTA_CHUNKER_FIXED, 4096), 0);
	uint8_t buf[10000] = { 0 };
	ASSERT_INT_EQ(ota_chunker_scan(&c, buf, 3000), SIZE_MAX);
	ASSERT_INT_EQ(ota_chunker_scan(&c, buf, 3000), 1096);
	ASSERT_INT_EQ(ota_chunker_scan(&c, buf, 10000), 4096);
}

TEST(chunker_zeros_cut_at_max)
{
	/* No content boundary in zeros: every chunk is max long. */
	_cleanup_free_ uint8_t *z = calloc(1, 1u << 20);
	size_t cuts[64];
	size_t n = cut_all(z, 1u << 20, 4096, 1u << 20, cuts, 64);
	for (size_t i = 0; i + 1 < n; i++)
		ASSERT_INT_EQ(cuts[i], 16384);
	ASSERT_INT_EQ(n, 64);
}

/* ---- header ---------------------------------------------------------------- */

TEST(header_round_trip_and_limits)
{
	uint8_t buf[OTA_BUNDLE_HEADER_SIZE];
	struct ota_bundle_header h = { .version = 1, .manifest_size = 100, .signature_size = 2000 }, g;
	struct ota_error err = { 0 };
	ota_bundle_header_write(&h, buf);
	ASSERT_INT_EQ(ota_bundle_header_parse(buf, sizeof(buf), &g, &err), 0);
	ASSERT_INT_EQ(g.manifest_size, 100);
	ASSERT_INT_EQ(g.signature_size, 2000);
	uint64_t off;
	ASSERT_INT_EQ(ota_bundle_header_data_offset(&g, &off), 0);
	ASSERT_INT_EQ(off, 2164);
	ASSERT_INT_EQ(ota_bundle_header_parse(buf, 63, &g, &err), -EBADMSG);
	ASSERT_CONTAINS(err.msg, "truncated");
	h.manifest_size = OTA_BUNDLE_MAX_MANIFEST + 1;
	ota_bundle_header_write(&h, buf);
	ASSERT_INT_EQ(ota_bundle_header_parse(buf, sizeof(buf), &g, &err), -EBADMSG);
	ASSERT_CONTAINS(err.msg, "manifest size");
	struct ota_bundle_header big = { .manifest_size = UINT64_MAX, .signature_size = 10 };
	ASSERT_INT_EQ(ota_bundle_header_data_offset(&big, &off), -EOVERFLOW);
}

/* ---- manifest ---------------------------------------------------------------- */

static void sample(struct ota_manifest *m, struct ota_manifest_payload *p)
{
	*p = (struct ota_manifest_payload){
		.slot_class = (char *)"rootfs", .name = (char *)"rootfs.img", .image_size = 100000,
		.chunk_count = 2, .table_offset = 0, .data_offset = 96, .data_size = 5000,
		.chunker = OTA_CHUNKER_BUZHASH, .chunk_avg = 65536, .compression = 1,
	};
	memset(p->image_sha256, 0x11, 32);
	memset(p->table_sha256, 0x22, 32);
	*m = (struct ota_manifest){ .compatible = (char *)"board", .version = (char *)"1.0", .build = (char *)"b1",
				    .created = 1700000000, .data_size = 5096, .n_payloads = 1, .payloads = p };
}

TEST(manifest_round_trip)
{
	struct ota_manifest m;
	struct ota_manifest_payload p;
	sample(&m, &p);
	struct ota_error err = { 0 };
	_cleanup_free_ uint8_t *raw = NULL;
	size_t size;
	ASSERT_INT_EQ(ota_manifest_serialize(&m, &raw, &size, &err), 0);
	struct ota_manifest *g = NULL;
	ASSERT_INT_EQ(ota_manifest_parse(raw, size, &g, &err), 0);
	ASSERT_STR_EQ(g->compatible, "board");
	ASSERT_STR_EQ(g->version, "1.0");
	ASSERT_STR_EQ(g->build, "b1");
	ASSERT_NULL(g->description);
	ASSERT_INT_EQ(g->created, 1700000000);
	ASSERT_INT_EQ(g->n_payloads, 1);
	ASSERT_STR_EQ(g->payloads[0].slot_class, "rootfs");
	ASSERT_INT_EQ(g->payloads[0].data_offset, 96);
	ASSERT_TRUE(memcmp(g->payloads[0].table_sha256, p.table_sha256, 32) == 0);
	ASSERT_TRUE(ota_manifest_find(g, "rootfs") == &g->payloads[0]);
	ASSERT_NULL(ota_manifest_find(g, "boot"));
	/* Re-encoding gives the same bytes. */
	_cleanup_free_ uint8_t *raw2 = NULL;
	size_t size2;
	ASSERT_INT_EQ(ota_manifest_serialize(g, &raw2, &size2, &err), 0);
	ASSERT_INT_EQ(size2, size);
	ASSERT_TRUE(memcmp(raw, raw2, size) == 0);
	ota_manifest_free(g);
}

static int parse_with_extra(const uint8_t *extra, size_t n, struct ota_error *err)
{
	struct ota_manifest m;
	struct ota_manifest_payload p;
	sample(&m, &p);
	_cleanup_free_ uint8_t *raw = NULL;
	size_t size;
	if (ota_manifest_serialize(&m, &raw, &size, err) < 0)
		return -999;
	_cleanup_free_ uint8_t *buf = malloc(size + n);
	memcpy(buf, raw, size);
	memcpy(buf + size, extra, n);
	struct ota_manifest *g = NULL;
	int r = ota_manifest_parse(buf, size + n, &g, err);
	ota_manifest_free(g);
	return r;
}

TEST(manifest_unknown_fields)
{
	struct ota_error err = { 0 };
	static const uint8_t optional[] = { 0x01, 0x23, 0, 0, 0, 2, 'h', 'i' };
	ASSERT_INT_EQ(parse_with_extra(optional, sizeof(optional), &err), 0);
	static const uint8_t critical[] = { 0x81, 0x23, 0, 0, 0, 0 };
	ASSERT_INT_EQ(parse_with_extra(critical, sizeof(critical), &err), -EPROTONOSUPPORT);
	ASSERT_CONTAINS(err.msg, "unknown critical field 0x8123");
	static const uint8_t truncated[] = { 0x01, 0x23, 0, 0 };
	ASSERT_INT_EQ(parse_with_extra(truncated, sizeof(truncated), &err), -EBADMSG);
	ASSERT_CONTAINS(err.msg, "truncated field header");
	static const uint8_t huge[] = { 0x01, 0x23, 0xff, 0xff, 0xff, 0xff, 1 };
	ASSERT_INT_EQ(parse_with_extra(huge, sizeof(huge), &err), -EBADMSG);
	ASSERT_CONTAINS(err.msg, "exceeds");
	static const uint8_t twice[] = { 0x80, 0x02, 0, 0, 0, 1, 'x' };
	ASSERT_INT_EQ(parse_with_extra(twice, sizeof(twice), &err), -EBADMSG);
	ASSERT_CONTAINS(err.msg, "appears twice");
}

TEST(manifest_validation_limits)
{
	struct ota_manifest m;
	struct ota_manifest_payload p[2];
	struct ota_error err = { 0 };
	sample(&m, &p[0]);
	p[0].chunk_count = (uint64_t)OTA_BUNDLE_MAX_CHUNKS + 1;
	ASSERT_INT_EQ(ota_manifest_validate(&m, &err), -E2BIG);
	sample(&m, &p[0]);
	p[0].image_size = UINT64_MAX;
	ASSERT_INT_EQ(ota_manifest_validate(&m, &err), -EBADMSG);
	ASSERT_CONTAINS(err.msg, "cannot hold");
	sample(&m, &p[0]);
	p[0].data_size = UINT64_MAX - 10;
	ASSERT_TRUE(ota_manifest_validate(&m, &err) < 0);
	sample(&m, &p[0]);
	p[0].slot_class = (char *)"Root";
	ASSERT_INT_EQ(ota_manifest_validate(&m, &err), -EBADMSG);
	sample(&m, &p[0]);
	m.compatible = (char *)"bad\nname";
	ASSERT_INT_EQ(ota_manifest_validate(&m, &err), -EBADMSG);
	ASSERT_CONTAINS(err.msg, "compatible");
	sample(&m, &p[0]);
	p[1] = p[0];
	p[1].table_offset = 5096;
	p[1].data_offset = 5096 + 96;
	m.n_payloads = 2;
	m.data_size = 2 * 5096;
	ASSERT_INT_EQ(ota_manifest_validate(&m, &err), -EBADMSG);
	ASSERT_CONTAINS(err.msg, "duplicate payload for slot class 'rootfs'");
	p[1].slot_class = (char *)"boot";
	ASSERT_INT_EQ(ota_manifest_validate(&m, &err), 0);
}

/* ---- writer + reader over memory ------------------------------------------------ */

struct collect {
	uint8_t *buf;
	size_t size;
	int chunks;
};

static int collect_chunk(void *userdata, const struct ota_manifest_payload *p, const struct ota_chunk_entry *e,
			 uint64_t offset, const void *data, size_t size)
{
	struct collect *c = userdata;
	if (offset != c->size || offset + size > p->image_size || size != e->usize)
		return -EINVAL;
	memcpy(c->buf + offset, data, size);
	c->size += size;
	c->chunks++;
	return 0;
}

static int read_file_all(const char *path, uint8_t **ret, size_t *ret_size)
{
	return ota_read_file(path, 64u << 20, (char **)ret, ret_size, NULL);
}

/* A bundle in memory (bytes, size) and a reader's source over it (src). */
struct mem_bundle {
	uint8_t *bytes;
	size_t size;
	struct ota_bundle_mem mem;
	struct ota_bundle_source src;
};

static void mem_bundle_done(struct mem_bundle *b)
{
	free(b->bytes);
}

/* An unsigned bundle of one image "rootfs" holding data, made by
 * ota_bundle_create in a scratch directory and read back into b; its
 * `created` is fixed, so the same input gives the same bytes. */
static int bundle_in_memory(const uint8_t *data, size_t n, uint32_t chunk_avg, unsigned threads, struct mem_bundle *b)
{
	char dir[TEST_DIR_MAX], img[PATH_MAX], out[PATH_MAX];
	struct ota_error err = { 0 };
	int r = test_mkdtemp(dir, sizeof(dir), "bundle");
	if (r < 0 || ota_format(img, sizeof(img), "%s/img", dir) < 0 || ota_format(out, sizeof(out), "%s/b.otab", dir) < 0)
		return r < 0 ? r : -ENAMETOOLONG;
	r = ota_write_file_atomic(img, data, n, 0644, &err);
	struct ota_bundle_image images[] = { { img, "rootfs" } };
	struct ota_bundle_create_opts o = { .compatible = "board", .version = "1", .chunk_avg = chunk_avg,
					    .created = 1700000000, .threads = threads, .images = images, .n_images = 1 };
	if (r == 0)
		r = ota_bundle_create(&o, out, &err);
	if (r == 0)
		r = read_file_all(out, &b->bytes, &b->size);
	else
		fprintf(stderr, "  bundle_in_memory: %s\n", err.msg);
	(void)unlink(img);
	(void)unlink(out);
	(void)rmdir(dir);
	b->mem = (struct ota_bundle_mem){ b->bytes, b->size, 0 };
	ota_bundle_source_mem(&b->src, &b->mem, "mem");
	return r;
}

TEST(reader_round_trip_and_refusals)
{
	const size_t n = 1000000;
	_cleanup_free_ uint8_t *data = random_buf(n, 5);
	memset(data + 300000, 0, 300000);
	_cleanup_(mem_bundle_done) struct mem_bundle b = { 0 };
	ASSERT_INT_EQ(bundle_in_memory(data, n, 8192, 2, &b), 0);
	uint8_t *bundle = b.bytes;
	size_t bsize = b.size;
	struct ota_error err = { 0 };

	struct ota_bundle_reader *r = NULL;
	struct ota_bundle_trust strict = { .keyring = "/nonexistent" };
	ASSERT_INT_EQ(ota_bundle_reader_open(&b.src, &strict, NULL, &r, &err), -ENOKEY);
	ASSERT_CONTAINS(err.msg, "not signed");
	ASSERT_INT_EQ(err.reason, OTA_REASON_UNSIGNED);

	b.mem.pos = 0;
	struct ota_bundle_trust lax = { .allow_unsigned = true };
	ASSERT_INT_EQ(ota_bundle_reader_open(&b.src, &lax, NULL, &r, &err), 0);
	ASSERT_TRUE(!ota_bundle_reader_signed(r, NULL));
	_cleanup_free_ uint8_t *got = malloc(n);
	struct collect c = { got, 0, 0 };
	struct ota_bundle_consumer cons = { .chunk = collect_chunk, .userdata = &c };
	ASSERT_INT_EQ(ota_bundle_reader_run(r, &cons, NULL, &err), 0);
	ASSERT_INT_EQ(c.size, n);
	ASSERT_TRUE(memcmp(got, data, n) == 0);
	ASSERT_INT_EQ(c.chunks, (int)ota_bundle_reader_manifest(r)->payloads[0].chunk_count);
	r = ota_bundle_reader_free(r);

	/* A table limit below the table's size is refused before allocating it. */
	b.mem.pos = 0;
	struct ota_bundle_reader_limits tiny = { .max_table_bytes = 48 };
	ASSERT_INT_EQ(ota_bundle_reader_open(&b.src, &lax, &tiny, &r, &err), 0);
	ASSERT_INT_EQ(ota_bundle_reader_run(r, &cons, NULL, &err), -E2BIG);
	ASSERT_CONTAINS(err.msg, "exceeds this reader's limit");
	r = ota_bundle_reader_free(r);

	/* The last byte flipped: no consumer sees the bad chunk. */
	bundle[bsize - 1] ^= 1;
	b.mem.pos = 0;
	c = (struct collect){ got, 0, 0 };
	ASSERT_INT_EQ(ota_bundle_reader_open(&b.src, &lax, NULL, &r, &err), 0);
	ASSERT_INT_EQ(ota_bundle_reader_run(r, &cons, NULL, &err), -EBADMSG);
	ASSERT_CONTAINS(err.msg, "chunk");
	ASSERT_INT_EQ(err.reason, OTA_REASON_BUNDLE_MALFORMED);
	ASSERT_TRUE(c.size < n);
	r = ota_bundle_reader_free(r);
}

/* ---- fetching by range (bundle/fetch.c) ------------------------------------------ */

TEST(fetch_table_and_chunks_by_offset)
{
	const size_t n = 300000;
	_cleanup_free_ uint8_t *data = random_buf(n, 9);
	_cleanup_(mem_bundle_done) struct mem_bundle b = { 0 };
	ASSERT_INT_EQ(bundle_in_memory(data, n, 4096, 1, &b), 0);
	uint8_t *bundle = b.bytes;
	size_t bsize = b.size;
	struct ota_error err = { 0 };

	struct ota_bundle_trust lax = { .allow_unsigned = true };
	struct ota_bundle_reader *r = NULL;
	ASSERT_INT_EQ(ota_bundle_reader_open(&b.src, &lax, NULL, &r, &err), 0);
	const struct ota_manifest *m = ota_bundle_reader_manifest(r);
	const struct ota_manifest_payload *p = &m->payloads[0];
	uint64_t d = ota_bundle_reader_data_offset(r);
	ASSERT_INT_EQ(d + m->data_size, bsize);
	uint64_t max = 0, cmax = 0;
	ASSERT_INT_EQ(ota_bundle_payload_bounds(p, NULL, &max, &cmax), 0);
	ASSERT_INT_EQ(max, 4 * 4096);
	ASSERT_TRUE(cmax >= max);

	/* Every chunk, fetched alone at its offset, decodes to the image's bytes. */
	struct ota_chunk_entry *t = NULL;
	ASSERT_INT_EQ(ota_bundle_fetch_table(&b.src, d, p, 0, &t, &err), 0);
	struct ota_chunk_decoder *dec = NULL;
	ASSERT_INT_EQ(ota_chunk_decoder_new(&dec, &err), 0);
	_cleanup_free_ uint8_t *ubuf = malloc(max);
	uint64_t off = 0;
	int bad = 0;
	for (uint64_t i = p->chunk_count; i-- > 0;) { /* any order */
		uint64_t o2 = 0;
		for (uint64_t j = 0; j < i; j++)
			o2 += t[j].usize;
		if (ota_chunk_decode(dec, &t[i], bundle + d + t[i].offset, ubuf, &err) < 0 ||
		    memcmp(ubuf, data + o2, t[i].usize) != 0 || ota_chunk_verify(&t[i], data + o2, t[i].usize) != 0)
			bad++;
		off += t[i].usize;
	}
	ASSERT_INT_EQ(bad, 0);
	ASSERT_INT_EQ(off, n);
	/* A local copy that differs in one byte is not the chunk. */
	data[0] ^= 1;
	ASSERT_INT_EQ(ota_chunk_verify(&t[0], data, t[0].usize), -EBADMSG);
	ASSERT_INT_EQ(ota_chunk_verify(&t[0], data, t[0].usize - 1), -EBADMSG);
	/* A chunk from the wrong place fails its hash after decompression. */
	ASSERT_INT_EQ(ota_chunk_decode(dec, &t[0], bundle + d + t[1].offset, ubuf, &err), -EBADMSG);
	free(t);
	t = NULL;

	/* A table byte flipped: refused before any entry is used. */
	bundle[d + p->table_offset + 40] ^= 1;
	ASSERT_INT_EQ(ota_bundle_fetch_table(&b.src, d, p, 0, &t, &err), -EBADMSG);
	ASSERT_CONTAINS(err.msg, "chunk table hash mismatch");
	ASSERT_TRUE(t == NULL);
	bundle[d + p->table_offset + 40] ^= 1;
	/* A limit below the table's size: refused before allocating. */
	ASSERT_INT_EQ(ota_bundle_fetch_table(&b.src, d, p, 48, &t, &err), -E2BIG);
	/* A source without read_at. */
	struct ota_bundle_source fwd = b.src;
	fwd.read_at = NULL;
	ASSERT_INT_EQ(ota_bundle_fetch_table(&fwd, d, p, 0, &t, &err), -EOPNOTSUPP);
	dec = ota_chunk_decoder_free(dec);
	r = ota_bundle_reader_free(r);
}

/* ---- the same cuts and bytes however the work is split ------------------- */

/* The chunker's definition, spelled out without its shortcuts: a cut after
 * the first len >= min bytes whose last 48 hash to a cut value, or at max. */
static size_t naive_cuts(const uint8_t *p, size_t n, size_t avg, size_t *cuts, size_t max_cuts)
{
	const size_t min = avg / 4, max = avg * 4, d = ota_chunker_discriminator(avg);
	size_t start = 0, count = 0;
	while (start < n && count < max_cuts) {
		size_t end = n;
		for (size_t len = min; start + len <= n; len++) {
			if (len >= max || ota_buzhash(p + start + len - OTA_CHUNKER_WINDOW, OTA_CHUNKER_WINDOW) % d == d - 1) {
				end = start + len;
				break;
			}
		}
		cuts[count++] = end - start;
		start = end;
	}
	return count;
}

/* Random bytes with runs of zeros (sparse images) and of 0xff, of lengths
 * around the window, min and max, some across the 1 MiB segments that
 * create cuts a 4 KiB-average image into on several threads. */
static uint8_t *mixed_buf(size_t n, uint32_t seed)
{
	uint8_t *p = random_buf(n, seed);
	static const struct { size_t at, len; int byte; } runs[] = {
		{ 0, 5000, 0 },           { 9000, 1, 0 },       { 20000, 47, 0 },    { 30000, 48, 0 },
		{ 40000, 49, 0 },         { 50000, 16383, 0 },  { 80000, 16385, 0 }, { 200000, 70000, 0 },
		{ 1000000, 2600000, 0 },  { 3700000, 300, 0xff }, { 4500000, 2300000, 0xff },
		{ 7340032, 16384 * 3, 0 },
	};
	for (size_t i = 0; p && i < OTA_ELEMENTSOF(runs); i++)
		if (runs[i].at + runs[i].len <= n)
			memset(p + runs[i].at, runs[i].byte, runs[i].len);
	/* A repeating pattern: the same cuts recur with its period. */
	for (size_t i = 8000000; p && i < 9000000 && i < n; i++)
		p[i] = (uint8_t)("otaroot chunker test pattern " [i % 29] + (i / 997) % 3);
	if (p && n > 100000)
		memset(p + n - 100000, 0, 100000); /* ends in zeros */
	return p;
}

TEST(chunker_skips_zero_runs_exactly)
{
	const size_t n = 1u << 20, avg = 4096, maxc = n / 1024 + 2;
	_cleanup_free_ uint8_t *p = mixed_buf(n, 21);
	_cleanup_free_ size_t *ref = calloc(maxc, sizeof(size_t));
	_cleanup_free_ size_t *got = calloc(maxc, sizeof(size_t));
	ASSERT_TRUE(p && ref && got);
	size_t nref = naive_cuts(p, n, avg, ref, maxc);
	static const size_t steps[] = { 1, 48, 4096, 65537, 1u << 20 };
	for (size_t s = 0; s < OTA_ELEMENTSOF(steps); s++) {
		size_t ngot = cut_all(p, n, avg, steps[s], got, maxc);
		ASSERT_INT_EQ(ngot, nref);
		ASSERT_TRUE(memcmp(got, ref, nref * sizeof(size_t)) == 0);
	}
}

TEST(create_same_bytes_on_any_thread_count)
{
	const size_t n = 12u << 20, maxc = n / 1024 + 2;
	_cleanup_free_ uint8_t *data = mixed_buf(n, 17);
	ASSERT_TRUE(data != NULL);
	_cleanup_(mem_bundle_done) struct mem_bundle one = { 0 };
	ASSERT_INT_EQ(bundle_in_memory(data, n, 4096, 1, &one), 0);
	static const unsigned threads[] = { 2, 3, 8 };
	for (size_t t = 0; t < OTA_ELEMENTSOF(threads); t++) {
		_cleanup_(mem_bundle_done) struct mem_bundle many = { 0 };
		ASSERT_INT_EQ(bundle_in_memory(data, n, 4096, threads[t], &many), 0);
		ASSERT_INT_EQ(many.size, one.size);
		ASSERT_TRUE(memcmp(many.bytes, one.bytes, one.size) == 0);
	}

	/* And the chunks are the chunker's, run once over the whole image. */
	struct ota_bundle_trust lax = { .allow_unsigned = true };
	struct ota_bundle_reader *r = NULL;
	struct ota_error err = { 0 };
	ASSERT_INT_EQ(ota_bundle_reader_open(&one.src, &lax, NULL, &r, &err), 0);
	const struct ota_manifest_payload *p = &ota_bundle_reader_manifest(r)->payloads[0];
	_cleanup_free_ size_t *ref = calloc(maxc, sizeof(size_t));
	ASSERT_TRUE(ref != NULL);
	size_t nref = cut_all(data, n, 4096, n, ref, maxc);
	ASSERT_INT_EQ(p->chunk_count, nref);
	_cleanup_free_ struct ota_chunk_entry *t = NULL;
	ASSERT_INT_EQ(ota_bundle_fetch_table(&one.src, ota_bundle_reader_data_offset(r), p, 0, &t, &err), 0);
	for (size_t i = 0; i < nref; i++)
		ASSERT_INT_EQ(t[i].usize, ref[i]);
	r = ota_bundle_reader_free(r);
}

/* ---- chunk patches ------------------------------------------------------------ */

/* Parses the sample manifest with field (size bytes, head included)
 * appended inside its payload container. */
static int parse_with_payload_field(const uint8_t *field, size_t size, struct ota_error *err)
{
	struct ota_manifest m;
	struct ota_manifest_payload p;
	sample(&m, &p);
	_cleanup_free_ uint8_t *raw = NULL;
	size_t n;
	int r = ota_manifest_serialize(&m, &raw, &n, err);
	_cleanup_free_ uint8_t *buf = r == 0 ? malloc(n + size) : NULL;
	if (!buf)
		return r < 0 ? r : -ENOMEM;
	memcpy(buf, raw, n);
	memcpy(buf + n, field, size);
	for (size_t i = 0; i + 6 <= n; i++)
		if (buf[i] == 0x80 && buf[i + 1] == 0x10) { /* the payload container, last in the manifest */
			ota_put_be32(buf + i + 2, ota_get_be32(buf + i + 2) + (uint32_t)size);
			break;
		}
	struct ota_manifest *g = NULL;
	r = ota_manifest_parse(buf, n + size, &g, err);
	ota_manifest_free(g);
	return r;
}

static void sample_patches(struct ota_manifest *m, struct ota_manifest_payload *p, struct ota_chunk_patch *pt)
{
	sample(m, p);
	for (unsigned i = 0; i < 3; i++) {
		pt[i] = (struct ota_chunk_patch){ .chunk = i ? 1 : 0, .frame_size = i ? 300 : 200, .base_offset = 4096 * i,
						  .base_size = 70000, .offset = 96 + 1000 * (i + 1), .size = 50 };
		memset(pt[i].base_sha256, 0x30 + (int)i, 32);
	}
	p->patches = pt;
	p->n_patches = 3;
}

TEST(manifest_patches_round_trip_and_limits)
{
	struct ota_manifest m;
	struct ota_manifest_payload p;
	struct ota_chunk_patch pt[5];
	struct ota_error err = { 0 };
	sample_patches(&m, &p, pt);
	_cleanup_free_ uint8_t *raw = NULL;
	size_t size;
	ASSERT_INT_EQ(ota_manifest_serialize(&m, &raw, &size, &err), 0);
	struct ota_manifest *g = NULL;
	ASSERT_INT_EQ(ota_manifest_parse(raw, size, &g, &err), 0);
	ASSERT_INT_EQ(g->payloads[0].n_patches, 3);
	ASSERT_TRUE(memcmp(g->payloads[0].patches, pt, 3 * sizeof(*pt)) == 0);
	const struct ota_chunk_patch *of = NULL;
	ASSERT_INT_EQ(ota_payload_chunk_patches(&g->payloads[0], 1, &of), 2);
	ASSERT_TRUE(of == &g->payloads[0].patches[1]);
	ASSERT_INT_EQ(ota_payload_chunk_patches(&g->payloads[0], 0, &of), 1);
	_cleanup_free_ uint8_t *raw2 = NULL;
	size_t size2;
	ASSERT_INT_EQ(ota_manifest_serialize(g, &raw2, &size2, &err), 0);
	ASSERT_TRUE(size2 == size && memcmp(raw, raw2, size) == 0);
	g = ota_manifest_free(g);

	/* A reader that does not know the field sees an optional one: skipped. */
	for (size_t i = 0; i + 6 <= size; i++)
		if (raw[i] == 0x00 && raw[i + 1] == 0x20 && ota_get_be32(raw + i + 2) == 3 * OTA_BUNDLE_PATCH_ENTRY_SIZE)
			raw[i + 1] = 0x7e;
	ASSERT_INT_EQ(ota_manifest_parse(raw, size, &g, &err), 0);
	ASSERT_INT_EQ(g->payloads[0].n_patches, 0);
	g = ota_manifest_free(g);

	/* Bounds: each of these is refused, naming the patch. */
	sample_patches(&m, &p, pt);
	pt[2].chunk = 2; /* the payload has 2 chunks */
	ASSERT_INT_EQ(ota_manifest_validate(&m, &err), -EBADMSG);
	ASSERT_CONTAINS(err.msg, "patch 2: chunk 2 of 2");
	sample_patches(&m, &p, pt);
	pt[0].chunk = 1, pt[1].chunk = 0;
	ASSERT_INT_EQ(ota_manifest_validate(&m, &err), -EBADMSG);
	ASSERT_CONTAINS(err.msg, "not sorted");
	sample_patches(&m, &p, pt);
	pt[2].frame_size = 301;
	ASSERT_INT_EQ(ota_manifest_validate(&m, &err), -EBADMSG);
	ASSERT_CONTAINS(err.msg, "another frame size");
	sample_patches(&m, &p, pt);
	pt[1].base_size = 4 * 4 * 65536 + 1; /* more than 4 largest chunks */
	ASSERT_INT_EQ(ota_manifest_validate(&m, &err), -EBADMSG);
	ASSERT_CONTAINS(err.msg, "out of range");
	sample_patches(&m, &p, pt);
	pt[0].base_offset = UINT64_MAX - 10;
	ASSERT_INT_EQ(ota_manifest_validate(&m, &err), -EBADMSG);
	sample_patches(&m, &p, pt);
	pt[1].offset = 96 + 5000 - 49; /* runs past the payload's chunks */
	ASSERT_INT_EQ(ota_manifest_validate(&m, &err), -EBADMSG);
	ASSERT_CONTAINS(err.msg, "outside the payload's chunks");
	sample_patches(&m, &p, pt);
	pt[0].offset = 95; /* in the chunk table */
	ASSERT_INT_EQ(ota_manifest_validate(&m, &err), -EBADMSG);
	sample_patches(&m, &p, pt);
	for (unsigned i = 0; i < 5; i++)
		pt[i] = pt[1];
	p.n_patches = 5; /* 5 for one chunk */
	ASSERT_INT_EQ(ota_manifest_validate(&m, &err), -EBADMSG);
	ASSERT_CONTAINS(err.msg, "more than 4 patches for chunk 1");
	/* A field whose length is not a whole number of entries. */
	static const uint8_t odd[] = { 0x00, 0x20, 0, 0, 0, 3, 1, 2, 3 };
	ASSERT_INT_EQ(parse_with_payload_field(odd, sizeof(odd), &err), -EBADMSG);
	ASSERT_CONTAINS(err.msg, "entries of 64");
}

/* ---- chunk moves --------------------------------------------------------------- */

static void sample_moves(struct ota_manifest *m, struct ota_manifest_payload *p, struct ota_chunk_move *mv)
{
	sample(m, p);
	mv[0] = (struct ota_chunk_move){ .chunk = 0, .count = 1, .base = 0, .base_offset = 1u << 20 };
	mv[1] = (struct ota_chunk_move){ .chunk = 1, .count = 1, .base = 0, .base_offset = 0 };
	mv[2] = (struct ota_chunk_move){ .chunk = 0, .count = 2, .base = 3, .base_offset = UINT64_MAX - 7 };
	p->moves = mv;
	p->n_moves = 3;
}

TEST(manifest_moves_round_trip_and_limits)
{
	struct ota_manifest m;
	struct ota_manifest_payload p;
	struct ota_chunk_move mv[3];
	struct ota_error err = { 0 };
	sample_moves(&m, &p, mv);
	_cleanup_free_ uint8_t *raw = NULL;
	size_t size;
	ASSERT_INT_EQ(ota_manifest_serialize(&m, &raw, &size, &err), 0);
	struct ota_manifest *g = NULL;
	ASSERT_INT_EQ(ota_manifest_parse(raw, size, &g, &err), 0);
	ASSERT_INT_EQ(g->payloads[0].n_moves, 3);
	for (unsigned i = 0; i < 3; i++) {
		const struct ota_chunk_move *q = &g->payloads[0].moves[i];
		ASSERT_TRUE(q->chunk == mv[i].chunk && q->count == mv[i].count && q->base == mv[i].base &&
			    q->base_offset == mv[i].base_offset);
	}
	_cleanup_free_ uint8_t *raw2 = NULL;
	size_t size2;
	ASSERT_INT_EQ(ota_manifest_serialize(g, &raw2, &size2, &err), 0);
	ASSERT_TRUE(size2 == size && memcmp(raw, raw2, size) == 0);
	g = ota_manifest_free(g);

	/* A reader that does not know the field sees an optional one: skipped. */
	for (size_t i = 0; i + 6 <= size; i++)
		if (raw[i] == 0x00 && raw[i + 1] == 0x21 && ota_get_be32(raw + i + 2) == 3 * OTA_BUNDLE_MOVE_ENTRY_SIZE)
			raw[i + 1] = 0x7d;
	ASSERT_INT_EQ(ota_manifest_parse(raw, size, &g, &err), 0);
	ASSERT_INT_EQ(g->payloads[0].n_moves, 0);
	g = ota_manifest_free(g);

	/* Bounds: each of these is refused, naming the move. */
	sample_moves(&m, &p, mv);
	mv[1].count = 2; /* chunks 1 and 2 of 2 */
	ASSERT_INT_EQ(ota_manifest_validate(&m, &err), -EBADMSG);
	ASSERT_CONTAINS(err.msg, "move 1: chunks 1 + 2 of 2");
	sample_moves(&m, &p, mv);
	mv[0].count = 0;
	ASSERT_INT_EQ(ota_manifest_validate(&m, &err), -EBADMSG);
	ASSERT_CONTAINS(err.msg, "move 0:");
	sample_moves(&m, &p, mv);
	mv[1].count = UINT32_MAX; /* chunk + count past 2^32: no wrap */
	ASSERT_INT_EQ(ota_manifest_validate(&m, &err), -EBADMSG);
	sample_moves(&m, &p, mv);
	mv[2].base = 4; /* at most 4 earlier images */
	ASSERT_INT_EQ(ota_manifest_validate(&m, &err), -EBADMSG);
	ASSERT_CONTAINS(err.msg, "move 2: base 4");
	sample_moves(&m, &p, mv);
	mv[0].count = 2; /* overlaps the next run of the same base */
	ASSERT_INT_EQ(ota_manifest_validate(&m, &err), -EBADMSG);
	ASSERT_CONTAINS(err.msg, "move 1: not sorted, or overlapping move 0");
	sample_moves(&m, &p, mv);
	mv[0].chunk = 1, mv[1].chunk = 0; /* one base's runs out of order */
	ASSERT_INT_EQ(ota_manifest_validate(&m, &err), -EBADMSG);
	ASSERT_CONTAINS(err.msg, "not sorted");
	sample_moves(&m, &p, mv);
	mv[0].base = 1; /* base 1 before base 0 */
	ASSERT_INT_EQ(ota_manifest_validate(&m, &err), -EBADMSG);
	ASSERT_CONTAINS(err.msg, "not sorted");
	/* A field whose length is not a whole number of entries. */
	static const uint8_t odd[] = { 0x00, 0x21, 0, 0, 0, 21, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0,
				       0, 0, 0, 0, 0, 0, 0, 0, 0 };
	ASSERT_INT_EQ(parse_with_payload_field(odd, sizeof(odd), &err), -EBADMSG);
	ASSERT_CONTAINS(err.msg, "entries of 20");
}

/* Text-like bytes (compressible, as binaries are) from a seed. */
static uint8_t *text_buf(size_t n, uint32_t seed)
{
	uint8_t *p = random_buf(n, seed);
	for (size_t i = 0; p && i < n; i++)
		p[i] = (uint8_t)('a' + p[i] % 16);
	return p;
}

static int write_bundle(const char *dir, const char *name, const char *img, const char *const *bases, size_t n_bases,
			char *out, size_t out_size)
{
	if (ota_format(out, out_size, "%s/%s", dir, name) < 0)
		return -ENAMETOOLONG;
	struct ota_bundle_image images[] = { { img, "rootfs" } };
	struct ota_bundle_create_opts o = { .compatible = "board", .version = "1", .chunk_avg = 4096, .created = 1,
					    .threads = 2, .images = images, .n_images = 1, .delta_bases = bases,
					    .n_delta_bases = n_bases };
	struct ota_error err = { 0 };
	return ota_bundle_create(&o, out, &err);
}

TEST(patches_made_against_an_earlier_image_and_decoded)
{
	char dir[TEST_DIR_MAX], v1[PATH_MAX], v2[PATH_MAX], b1[PATH_MAX], b2[PATH_MAX], b2b[PATH_MAX];
	ASSERT_INT_EQ(test_mkdtemp(dir, sizeof(dir), "patches"), 0);
	ASSERT_INT_EQ(ota_format(v1, sizeof(v1), "%s/v1", dir), 0);
	ASSERT_INT_EQ(ota_format(v2, sizeof(v2), "%s/v2", dir), 0);
	const size_t n = 400000;
	_cleanup_free_ uint8_t *old = text_buf(n, 21), *new = malloc(n + 7);
	/* v2: v1 with 20 short edits and a 7-byte insertion (the rest shifts). */
	memcpy(new, old, 200000);
	memcpy(new + 200000, "INSERT!", 7);
	memcpy(new + 200007, old + 200000, n - 200000);
	for (size_t k = 0; k < 20; k++)
		memcpy(new + 1000 + k * 19000, "edited", 6);
	ASSERT_INT_EQ(ota_write_file_atomic(v1, old, n, 0644, NULL), 0);
	ASSERT_INT_EQ(ota_write_file_atomic(v2, new, n + 7, 0644, NULL), 0);
	const char *base_img[] = { v1 }, *base_bundle[] = { b1 };
	ASSERT_INT_EQ(write_bundle(dir, "v1.otab", v1, NULL, 0, b1, sizeof(b1)), 0);
	ASSERT_INT_EQ(write_bundle(dir, "v2.otab", v2, base_img, 1, b2, sizeof(b2)), 0);
	/* An earlier bundle serves as the earlier image: the same bundle. */
	ASSERT_INT_EQ(write_bundle(dir, "v2b.otab", v2, base_bundle, 1, b2b, sizeof(b2b)), 0);
	_cleanup_free_ uint8_t *bundle = NULL, *bundle_b = NULL;
	size_t bsize, bsize_b;
	ASSERT_INT_EQ(read_file_all(b2, &bundle, &bsize), 0);
	ASSERT_INT_EQ(read_file_all(b2b, &bundle_b, &bsize_b), 0);
	ASSERT_TRUE(bsize == bsize_b && memcmp(bundle, bundle_b, bsize) == 0);

	struct ota_bundle_mem mem = { bundle, bsize, 0 };
	struct ota_bundle_source src;
	ota_bundle_source_mem(&src, &mem, "mem");
	struct ota_bundle_trust lax = { .allow_unsigned = true };
	struct ota_bundle_reader *r = NULL;
	struct ota_error err = { 0 };
	ASSERT_INT_EQ(ota_bundle_reader_open(&src, &lax, NULL, &r, &err), 0);
	const struct ota_manifest_payload *p = &ota_bundle_reader_manifest(r)->payloads[0];
	uint64_t d = ota_bundle_reader_data_offset(r), max;
	ASSERT_INT_EQ(ota_bundle_payload_bounds(p, NULL, &max, NULL), 0);
	/* Every changed chunk (about 21 of ~100) got a patch, none of the others. */
	ASSERT_TRUE(p->n_patches >= 15 && p->n_patches <= 30);
	struct ota_chunk_entry *t = NULL;
	ASSERT_INT_EQ(ota_bundle_fetch_table(&src, d, p, 0, &t, &err), 0);
	/* The moves: every chunk v1 holds, where it holds it (those after the
	 * insertion moved by 7 bytes), in runs; none of the changed ones. */
	ASSERT_TRUE(p->n_moves >= 1 && p->n_moves <= 30);
	uint64_t moved_chunks = 0, shifted = 0;
	for (size_t k = 0; k < p->n_moves; k++) {
		const struct ota_chunk_move *mv = &p->moves[k];
		ASSERT_INT_EQ(mv->base, 0);
		uint64_t at = 0, base_at = mv->base_offset;
		for (uint32_t j = 0; j < mv->chunk; j++)
			at += t[j].usize;
		for (uint32_t j = mv->chunk; j < mv->chunk + mv->count; j++) {
			ASSERT_TRUE(base_at + t[j].usize <= n);
			ASSERT_TRUE(memcmp(old + base_at, new + at, t[j].usize) == 0);
			shifted += base_at != at;
			moved_chunks++;
			at += t[j].usize;
			base_at += t[j].usize;
		}
	}
	ASSERT_TRUE(shifted > 10);
	ASSERT_TRUE(moved_chunks + p->n_patches >= p->chunk_count - 2);
	struct ota_chunk_decoder *dec = NULL;
	ASSERT_INT_EQ(ota_chunk_decoder_new(&dec, &err), 0);
	_cleanup_free_ uint8_t *ubuf = malloc(max), *base = malloc(ota_bundle_patch_base_max(p));
	uint64_t smaller = 0;
	for (size_t k = 0; k < p->n_patches; k++) {
		const struct ota_chunk_patch *pt = &p->patches[k];
		const struct ota_chunk_entry *e = &t[pt->chunk];
		uint64_t at = 0;
		for (uint32_t j = 0; j < pt->chunk; j++)
			at += t[j].usize;
		ASSERT_TRUE(ota_chunk_patch_usable(pt, e));
		ASSERT_TRUE(pt->base_offset + pt->base_size <= n);
		memcpy(base, old + pt->base_offset, pt->base_size);
		ASSERT_INT_EQ(ota_chunk_patch_decode(dec, e, pt, base, bundle + d + pt->offset, ubuf, &err), 0);
		ASSERT_TRUE(memcmp(ubuf, new + at, e->usize) == 0);
		smaller += pt->size * 4 <= pt->frame_size * 3;
		/* The chunk's own frame alone, and its whole bytes (as a reader
		 * that knows no patches decodes them), give the chunk too. */
		ASSERT_INT_EQ(ota_chunk_decode_frame(dec, e, pt->frame_size, bundle + d + e->offset, ubuf, &err), 0);
		ASSERT_INT_EQ(ota_chunk_decode(dec, e, bundle + d + e->offset, ubuf, &err), 0);
		/* A base that differs in one byte is refused before decoding. */
		base[pt->base_size / 2] ^= 1;
		ASSERT_INT_EQ(ota_chunk_patch_decode(dec, e, pt, base, bundle + d + pt->offset, ubuf, &err), -EBADMSG);
		ASSERT_CONTAINS(err.msg, "does not match its SHA-256");
		ASSERT_TRUE(!ota_chunk_patch_base_ok(pt, base));
		/* A patch used for another chunk fails that chunk's hash. */
		if (k > 0 && p->patches[k - 1].chunk != pt->chunk) {
			memcpy(base, old + pt->base_offset, pt->base_size);
			ASSERT_INT_EQ(ota_chunk_patch_decode(dec, &t[p->patches[k - 1].chunk], pt, base, bundle + d + pt->offset,
							     ubuf, &err), -EBADMSG);
		}
	}
	ASSERT_INT_EQ(smaller, p->n_patches);
	/* The streaming reader (which knows nothing of patches) reads it all. */
	struct collect c = { .buf = malloc(n + 7) };
	struct ota_bundle_consumer cons = { .chunk = collect_chunk, .userdata = &c };
	ASSERT_INT_EQ(ota_bundle_reader_run(r, &cons, NULL, &err), 0);
	ASSERT_TRUE(c.size == n + 7 && memcmp(c.buf, new, n + 7) == 0);
	free(c.buf);
	free(t);
	ota_chunk_decoder_free(dec);
	ota_bundle_reader_free(r);
}

/* Zero chunks are told by their hashes, whole tables at once or one by one,
 * at any size (sizes repeated, out of order, a data chunk of a zero chunk's
 * size, a zero chunk's hash under another size); the same answers both ways,
 * and zeros still hash as zeros. */
TEST(zero_chunks_told_by_hash_per_table_and_per_chunk)
{
	static const uint32_t sizes[] = { 70000, 5, 4096, 70000, 4096, 1, 6, 262144 };
	static const bool zero[] = { true, true, true, true, false, false, false, true };
	enum { N = sizeof(sizes) / sizeof(sizes[0]) };
	static uint8_t buf[262144];
	struct ota_chunk_entry t[N] = { 0 };
	for (unsigned i = 0; i < N; i++) {
		t[i].usize = sizes[i];
		memset(buf, zero[i] ? 0 : (int)(i + 1), sizes[i]);
		ASSERT_INT_EQ(ota_sha256(buf, sizes[i], t[i].sha256), 0);
		memset(buf, 0, sizes[i]);
	}
	t[6].usize = 6;
	ASSERT_INT_EQ(ota_sha256(buf, 5, t[6].sha256), 0); /* the hash of 5 zeros, named 6 bytes long */
	uint8_t got[N];
	memset(got, 0xee, sizeof(got));
	struct ota_error err = { 0 };
	ASSERT_INT_EQ(ota_chunk_table_zeros(t, N, got, &err), 0);
	for (unsigned i = 0; i < N; i++) {
		ASSERT_INT_EQ(got[i], zero[i]);
		ASSERT_INT_EQ(ota_chunk_is_zero(&t[i]), zero[i]);
	}
	uint8_t sha[32];
	ASSERT_INT_EQ(ota_sha256(buf, 4096, sha), 0); /* remembered by now */
	ASSERT_TRUE(memcmp(sha, t[2].sha256, 32) == 0);
	ASSERT_INT_EQ(ota_chunk_table_zeros(t, 0, got, &err), 0);
}

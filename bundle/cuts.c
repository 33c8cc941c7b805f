/* SPDX-License-Identifier: Apache-2.0 */
/* Cutting an image into chunks on several threads, with exactly the cuts one
 * thread makes (bundles are byte-identical whatever the thread count).
 *
 * Why that holds: a cut resets the chunker (chunker.c: cut()), so what it
 * does after a cut depends on the cut's offset alone. The image is split
 * into segments, and each is chunked on its own thread as if a cut stood at
 * its start. Then, in order, the chunking known to be right (the first
 * segment's) carries on from its last cut into the next segment until it
 * makes a cut that segment's own chunking also made; from that cut on the two
 * are the same, and the rest of the segment's cuts are taken as they are.
 * Content-defined cuts meet within a chunk or two. Where they do not meet
 * (a long run of one byte value other than zero cuts only at max, at other
 * offsets in each), the carried-on chunking runs through the segment itself:
 * the same result, at one thread's speed there. */
#include <errno.h>
#include <stdatomic.h>
#include <string.h>

#include "bundle/bundle-private.h"

/* A segment is at least this many maximal chunks: the carry-over into it
 * costs a chunk or two of rescanning, small against the segment. */
#define SEGMENT_MAX_CHUNKS 64u
/* Segments per thread: a thread slowed by other work on a shared build host
 * leaves its later segments to the others. */
#define SEGMENTS_PER_THREAD 4u

struct cut_ends {
	uint64_t *v; /* offsets just past each cut, ascending */
	size_t n, cap;
};

struct segments {
	const uint8_t *map;
	uint64_t size, len; /* the image; every segment but the last is len long */
	struct ota_chunker proto;
	struct cut_ends *ends;
	atomic_int error;
};

static int push_end(struct cut_ends *out, uint64_t end)
{
	if (out->n >= OTA_BUNDLE_MAX_CHUNKS)
		return -E2BIG;
	if (out->n == out->cap) {
		size_t cap = out->cap ? out->cap * 2 : 1024;
		uint64_t *v = realloc(out->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		out->v = v;
		out->cap = cap;
	}
	out->v[out->n++] = end;
	return 0;
}

/* The cuts of a chunking that starts (as after a cut) at `from`, up to `to`. */
static int scan_cuts(const uint8_t *map, uint64_t from, uint64_t to, const struct ota_chunker *proto,
		     struct cut_ends *e)
{
	struct ota_chunker ch = *proto;
	uint64_t pos = from;
	while (pos < to) {
		size_t k = ota_chunker_scan(&ch, map + pos, (size_t)(to - pos));
		if (k == SIZE_MAX)
			break;
		pos += k;
		int r = push_end(e, pos);
		if (r < 0)
			return r;
	}
	return 0;
}

static void scan_segment(void *ctx, size_t k, unsigned worker)
{
	(void)worker;
	struct segments *s = ctx;
	uint64_t from = k * s->len, to = from + s->len < s->size ? from + s->len : s->size;
	int r = scan_cuts(s->map, from, to, &s->proto, &s->ends[k]);
	if (r < 0)
		atomic_store(&s->error, r);
}

/* Carries the right chunking (its cuts so far in out) through segment
 * [from, to), whose own chunking made seg's cuts. */
static int join_segment(const struct segments *s, uint64_t to, const struct cut_ends *seg, struct cut_ends *out)
{
	struct ota_chunker ch = s->proto;
	uint64_t pos = out->n ? out->v[out->n - 1] : 0;
	size_t q = 0;
	int r = 0;
	while (r == 0 && pos < to) {
		size_t k = ota_chunker_scan(&ch, s->map + pos, (size_t)(to - pos));
		if (k == SIZE_MAX)
			break; /* the next segment carries on from the last cut */
		pos += k;
		while (q < seg->n && seg->v[q] < pos)
			q++;
		if (q < seg->n && seg->v[q] == pos) { /* met: the rest is seg's */
			for (; r == 0 && q < seg->n; q++)
				r = push_end(out, seg->v[q]);
			return r;
		}
		r = push_end(out, pos);
	}
	return r;
}

static int ends_to_cuts(const struct cut_ends *out, uint64_t size, struct ota_cut **ret, size_t *ret_n)
{
	size_t n = out->n + (out->n == 0 || out->v[out->n - 1] < size);
	if (n > OTA_BUNDLE_MAX_CHUNKS)
		return -E2BIG;
	struct ota_cut *cuts = calloc(n, sizeof(*cuts));
	if (!cuts)
		return -ENOMEM;
	uint64_t start = 0;
	for (size_t i = 0; i < n; i++) {
		uint64_t end = i < out->n ? out->v[i] : size;
		cuts[i] = (struct ota_cut){ .offset = start, .size = (uint32_t)(end - start) };
		start = end;
	}
	*ret = cuts;
	*ret_n = n;
	return 0;
}

int ota_find_cuts(const uint8_t *map, uint64_t size, enum ota_chunker_kind kind, uint32_t avg, unsigned threads,
		  struct ota_cut **ret, size_t *ret_n, struct ota_error *err)
{
	struct segments s = { .map = map, .size = size };
	if (ota_chunker_init(&s.proto, kind, avg) < 0)
		return ota_error_set(err, -EINVAL, "invalid chunk size %u", avg);
	uint64_t min_len = (uint64_t)SEGMENT_MAX_CHUNKS * s.proto.max;
	uint64_t n_seg = threads > 1 ? (uint64_t)threads * SEGMENTS_PER_THREAD : 1;
	if (size / min_len < n_seg)
		n_seg = size / min_len ? size / min_len : 1;
	s.len = (size + n_seg - 1) / n_seg;
	s.ends = calloc((size_t)n_seg, sizeof(*s.ends));
	if (!s.ends)
		return ota_error_set(err, -ENOMEM, "out of memory");
	atomic_init(&s.error, 0);
	ota_parallel_for(threads, (size_t)n_seg, scan_segment, &s);
	int r = atomic_load(&s.error);
	/* The first segment's chunking is the right one; carry it on. */
	struct cut_ends out = s.ends[0];
	s.ends[0] = (struct cut_ends){ 0 };
	for (uint64_t k = 1; r == 0 && k < n_seg; k++) {
		uint64_t to = (k + 1) * s.len < size ? (k + 1) * s.len : size;
		r = join_segment(&s, to, &s.ends[k], &out);
	}
	if (r == 0)
		r = ends_to_cuts(&out, size, ret, ret_n);
	for (uint64_t k = 0; k < n_seg; k++)
		free(s.ends[k].v);
	free(s.ends);
	free(out.v);
	if (r == -E2BIG)
		return ota_error_set(err, r, "more than %u chunks", OTA_BUNDLE_MAX_CHUNKS);
	return r < 0 ? ota_error_set(err, r, "out of memory") : 0;
}

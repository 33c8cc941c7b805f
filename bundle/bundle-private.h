/* SPDX-License-Identifier: Apache-2.0 */
/* Internals shared by the bundle sources: field tags, bounds, cleanup (byte
 * order: sysutil.h). */
#ifndef OTA_BUNDLE_PRIVATE_H
#define OTA_BUNDLE_PRIVATE_H

#include <openssl/cms.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <zstd.h>

#include "bundle/bundle.h"

/* A bundle that is not one: truncated, malformed, or altered after signing
 * (a chunk or table whose hash differs). */
#define ota_bundle_malformed(err, ...) \
	ota_error_set_because(err, OTA_REASON_BUNDLE_MALFORMED, -EBADMSG, __VA_ARGS__)
/* A bundle of a format (or with a critical field) this reader does not know. */
#define ota_bundle_unsupported(err, ...) \
	ota_error_set_because(err, OTA_REASON_BUNDLE_UNSUPPORTED, -EPROTONOSUPPORT, __VA_ARGS__)

#define OTA_BUNDLE_MAGIC "\x89OTA\r\n\x1a\n"
#define OTA_BUNDLE_MAGIC_SIZE 8

/* Manifest field tags; bit 15 marks a critical field (see the format doc). */
#define OTA_TAG_CRITICAL 0x8000u
enum {
	OTA_TAG_FORMAT = 0x8001,
	OTA_TAG_COMPATIBLE = 0x8002,
	OTA_TAG_VERSION = 0x8003,
	OTA_TAG_BUILD = 0x0004,
	OTA_TAG_DESCRIPTION = 0x0005,
	OTA_TAG_CREATED = 0x0006,
	OTA_TAG_DATA_SIZE = 0x8007,
	OTA_TAG_PAYLOAD = 0x8010,
	OTA_TAG_P_SLOT_CLASS = 0x8011,
	OTA_TAG_P_NAME = 0x0012,
	OTA_TAG_P_IMAGE_SIZE = 0x8013,
	OTA_TAG_P_IMAGE_SHA256 = 0x8014,
	OTA_TAG_P_CHUNK_COUNT = 0x8015,
	OTA_TAG_P_TABLE_SHA256 = 0x8016,
	OTA_TAG_P_TABLE_OFFSET = 0x8017,
	OTA_TAG_P_DATA_SIZE = 0x8018,
	OTA_TAG_P_CHUNKER = 0x8019,
	OTA_TAG_P_CHUNK_AVG = 0x801a,
	OTA_TAG_P_COMPRESSION = 0x801b,
	OTA_TAG_P_PATCHES = 0x0020, /* optional: old readers skip it */
	OTA_TAG_P_MOVES = 0x0021,   /* optional: old readers skip it */
};
#define OTA_FIELD_HEAD 6u /* u16 tag + u32 length */
#define OTA_COMPRESSION_ZSTD 1u

/* Largest compressed size accepted for a chunk of usize bytes. */
static inline uint64_t ota_chunk_csize_bound(uint64_t usize)
{
	return ZSTD_COMPRESSBOUND(usize);
}

/* The chunker's bounds for a payload: every chunk but the last is >= min. */
int ota_chunker_bounds(enum ota_chunker_kind kind, uint32_t avg, uint64_t *ret_min, uint64_t *ret_max);

/* The skippable zstd frame that holds a chunk's patches after its own frame
 * (decoders of the whole chunk skip it): magic, then the content size, both
 * little-endian u32. */
#define OTA_PATCH_FRAME_MAGIC 0x184D2A5Eu
#define OTA_PATCH_FRAME_HEAD 8u

/* The largest base region of a patch for a payload whose chunks are at most max bytes. */
static inline uint64_t ota_patch_base_max(uint64_t max)
{
	uint64_t b = OTA_BUNDLE_PATCH_BASE_CHUNKS * max;
	return b < OTA_BUNDLE_MAX_CHUNK ? b : OTA_BUNDLE_MAX_CHUNK;
}

/* ---- create (writer.c, patches.c) ---- */

/* An unnamed temporary file (O_TMPFILE) in $TMPDIR, else /var/tmp. */
int ota_bundle_tmpfile(int *ret_fd, struct ota_error *err) _must_check_;

/* A chunk of an image being cut. */
struct ota_cut {
	uint64_t offset;
	uint32_t size;
};
/* Cuts map[0..size) with the chunker on up to `threads` threads (cuts.c):
 * the same cuts as one chunker run over the whole; *ret is malloc'd. */
int ota_find_cuts(const uint8_t *map, uint64_t size, enum ota_chunker_kind kind, uint32_t avg, unsigned threads,
		  struct ota_cut **ret, size_t *ret_n, struct ota_error *err) _must_check_;
/* Calls fn(ctx, k, worker) for every k < n on up to `threads` threads
 * (worker < threads names the thread); on the caller's thread if none starts. */
void ota_parallel_for(unsigned threads, size_t n, void (*fn)(void *ctx, size_t k, unsigned worker), void *ctx);

/* The earlier images of one slot class that patches are made against. */
struct ota_patch_bases;
int ota_patch_bases_open(const char *const *paths, size_t n, const char *slot_class, enum ota_chunker_kind kind,
			 uint32_t avg, unsigned threads, struct ota_patch_bases **ret, struct ota_error *err) _must_check_;
struct ota_patch_bases *ota_patch_bases_free(struct ota_patch_bases *pb);
OTA_DEFINE_CLEANUP_FUNC(struct ota_patch_bases *, ota_patch_bases_free)
/* Which chunks (cuts, their SHA-256s) each earlier image lacks and where
 * its unchanged neighbours place them; cuts and sha must outlive pb's use. */
int ota_patch_bases_plan(struct ota_patch_bases *pb, const struct ota_cut *cuts, const uint8_t (*sha)[32], size_t n,
			 struct ota_error *err) _must_check_;
/* The runs of chunks of the new image (image: its bytes, planned above) that
 * an earlier image holds, back to back there: the moves field
 * (docs/bundle-format.md "Chunk moves"), sorted by (base, chunk). All-zero
 * chunks are left out: a device makes those without reading. *ret is
 * malloc'd (NULL when there are none). */
int ota_patch_bases_moves(const struct ota_patch_bases *pb, const uint8_t *image, struct ota_chunk_move **ret,
			  size_t *ret_n, struct ota_error *err) _must_check_;
/* One thread's tools: a compression context and two buffers of cap bytes. */
struct ota_patch_scratch {
	ZSTD_CCtx *cctx;
	int level;
	uint8_t *buf, *best;
	size_t cap;
};
/* For chunk i (bytes at chunk), whose frame fills out[0..frame_size): puts
 * the patches that pay, in a skippable frame, behind it within out[0..cap)
 * and describes them in ret[] (offsets relative to out). Returns how many
 * (0: out is left as it was). */
size_t ota_patch_make(const struct ota_patch_bases *pb, size_t i, const uint8_t *chunk, uint8_t *out,
		      size_t frame_size, size_t cap, struct ota_patch_scratch *s, struct ota_chunk_patch *ret);

void ota_chunk_patch_decode_entry(const uint8_t *q, struct ota_chunk_patch *pt);
void ota_chunk_patch_write(const struct ota_chunk_patch *pt, uint8_t q[OTA_BUNDLE_PATCH_ENTRY_SIZE]);
void ota_chunk_move_decode_entry(const uint8_t *q, struct ota_chunk_move *mv);
void ota_chunk_move_write(const struct ota_chunk_move *mv, uint8_t q[OTA_BUNDLE_MOVE_ENTRY_SIZE]);

#endif

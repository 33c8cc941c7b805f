/* SPDX-License-Identifier: Apache-2.0 */
/* chunk-index: a slot's content-defined chunks by SHA-256, private to update/.
 *
 * Job: let the delta planner (delta.c) find a chunk of a new image anywhere
 * in the active slot, not only at its own offset. An index is made by
 * cutting the slot with the payload's chunker and parameters (scan), or
 * loaded from the index file saved when that image was installed.
 *
 * The index file: <dir of status-file>/index/<slot>.idx, written from the
 * verified chunk table once the image passed its read-back check, so the
 * next delta install need not cut the whole slot again. Format OTAIDX1, all
 * integers big-endian:
 *   "OTAIDX1\n", image SHA-256 (32), chunker u32, chunk_avg u32, count u64,
 *   then count entries of SHA-256 (32), image offset u64, size u32 (44 bytes).
 *
 * Invariants:
 * - An index only proposes candidates: the caller re-hashes every chunk it
 *   reads from the device before using it, so a stale or forged index costs
 *   time, never correctness.
 * - A file is used only when its image hash equals the slot's record
 *   ("installed") and its chunker and average equal the payload's; anything
 *   else (missing, short, another image, more than OTA_BUNDLE_MAX_CHUNKS
 *   entries, a size that does not match the count) is not loaded.
 * - At most OTA_BUNDLE_MAX_CHUNKS chunks: the rest of a larger slot is simply
 *   not reusable by content.
 *
 * Power-fail: the file is replaced whole (ota_write_file_atomic: old or new,
 * never a mix); saving is best effort, as a missing index costs only a scan.
 */
#ifndef OTA_UPDATE_CHUNK_INDEX_H
#define OTA_UPDATE_CHUNK_INDEX_H

#include "update/update-private.h"

struct ota_chunk_index_entry {
	uint8_t sha[32];
	uint64_t offset;    /* in the slot */
	uint32_t size;
};

/* Sorted by (sha, size) once made or loaded. */
struct ota_chunk_index {
	struct ota_chunk_index_entry *v;
	size_t n, cap;
};

void ota_chunk_index_done(struct ota_chunk_index *ix);
/* Cuts bytes [0, size) of fd with p's chunker (chunks of at most max bytes)
 * and indexes every chunk by hash. direct_fd: the same slot opened with
 * O_DIRECT, or -1; reads go through it while the medium takes them (the
 * page cache is neither filled with a whole slot nor copied through; read
 * times were steadier: bench/README.md, delta.sh), else through fd. Errors
 * name the slot. */
int ota_chunk_index_scan(int fd, int direct_fd, uint64_t size, const struct ota_manifest_payload *p, uint64_t max,
			 struct ota_chunk_index *ix, const char *slot, struct ota_error *err) _must_check_;
/* An index of fd (the active slot, size bytes) from the payload's moves
 * (docs/bundle-format.md "Chunk moves"), without reading the slot: the
 * chunks of the runs of each earlier image the slot holds, where the runs
 * place them (a chunk may have several entries). Whether it holds one is
 * probed: the first chunk of up to MOVES_PROBES of its runs, spread over
 * them, read into buf (max bytes) and hashed, must all match. Returns 1 if
 * made (replacing *ix), 0 if no earlier image matched or p has no moves,
 * -ENOMEM. The entries are hints: the caller re-hashes each chunk it
 * takes, as always. */
int ota_chunk_index_from_moves(int fd, uint64_t size, const struct ota_manifest_payload *p,
			       const struct ota_chunk_entry *table, uint8_t *buf, struct ota_chunk_index *ix) _must_check_;
/* The first place of a chunk with e's hash and size, NULL if none. */
const struct ota_chunk_index_entry *ota_chunk_index_find(const struct ota_chunk_index *ix,
							 const struct ota_chunk_entry *e);
/* The next place of the same chunk as c (an entry of ix), NULL if none. */
const struct ota_chunk_index_entry *ota_chunk_index_next(const struct ota_chunk_index *ix,
							 const struct ota_chunk_index_entry *c);

/* The index file of slot beside status_file (<dir>/index/<slot>.idx).
 * Negative (-ENAMETOOLONG) when it does not fit in size. */
int ota_chunk_index_path(const char *status_file, const char *slot, char *buf, size_t size) _must_check_;
/* Saves the index of slot from p's verified chunk table (p->chunk_count
 * entries). Best effort: nothing is reported. */
void ota_chunk_index_save(const char *status_file, const char *slot, const struct ota_manifest_payload *p,
			  const struct ota_chunk_entry *table);
/* Loads the saved index of slot if it describes the image the status file
 * records installed there, cut with p's chunker. Returns 1 if loaded
 * (replacing *ix), 0 if there is none that can be used. */
int ota_chunk_index_load(const char *status_file, const char *slot, const struct ota_manifest_payload *p,
			 struct ota_chunk_index *ix);
/* Loads the saved index of slot whatever the status file says of the slot
 * (cut with p's chunker): the spare's, for chunks that moved within it,
 * also while an install into it is under way. Its entries may be stale (the
 * slot being written); the caller re-hashes, as always. Returns 1 or 0. */
int ota_chunk_index_load_candidates(const char *status_file, const char *slot, const struct ota_manifest_payload *p,
				    struct ota_chunk_index *ix);

#endif

/* SPDX-License-Identifier: Apache-2.0 */
/* A slot's bulk I/O (slot-io.c): the pipelined writer of a streamed install
 * and the read-back from the medium.
 *
 * Threads: both start one thread of their own and join it before they
 * return or are freed, on every path. otaupdate is not linked into ota-init
 * (sysutil.h: no threads there); these threads call no sysutil logging.
 *
 * The writer is handed only bytes the bundle reader has verified, in image
 * order; it copies them into a few large aligned segments (bounded memory:
 * OTA_SLOT_WRITER_MEMORY) that its thread writes while the caller decodes
 * the next chunks. Runs of zeros are zeroed by the device or file system
 * (BLKZEROOUT, FALLOC_FL_ZERO_RANGE) where it says it can. Durability: none
 * until the caller's fsync, except at checkpoints (below). */
#ifndef OTA_UPDATE_SLOT_IO_H
#define OTA_UPDATE_SLOT_IO_H

#include <stdbool.h>
#include <stdint.h>

#include "sysutil/sysutil.h"

#define OTA_SLOT_SEGMENT (4u << 20)  /* bytes per segment, aligned in the image */
#define OTA_SLOT_SEGMENTS 3u         /* in flight: filled, queued, being written */
#define OTA_SLOT_WRITER_MEMORY ((size_t)OTA_SLOT_SEGMENTS * (OTA_SLOT_SEGMENT + 4096u))

struct ota_slot_writer;

struct ota_slot_writer_opts {
	int fd;                 /* the slot, open read-write (kept by the caller) */
	const char *path;       /* for messages and the O_DIRECT descriptor */
	const char *slot;       /* the slot's name, for messages */
	bool is_blockdev;
	/* Called on the writer's thread once every chunk below `chunks` (bytes
	 * below `bytes`) is written and fdatasync'd, at most every
	 * checkpoint_every bytes (0: never). Must not touch what the caller's
	 * thread uses meanwhile. */
	void (*durable)(void *userdata, uint64_t chunks, uint64_t bytes);
	void *userdata;
	uint64_t checkpoint_every;
};

struct ota_slot_writer_stats {
	uint64_t written;       /* bytes written as data */
	uint64_t zeroed;        /* bytes zeroed by BLKZEROOUT / FALLOC_FL_ZERO_RANGE */
	bool direct;            /* aligned data went out with O_DIRECT */
	uint64_t chunks, bytes; /* complete once written: every chunk below `chunks` (bytes below `bytes`) */
};

int ota_slot_writer_new(const struct ota_slot_writer_opts *o, struct ota_slot_writer **ret,
			struct ota_error *err) _must_check_;
/* Queues a verified chunk's size bytes for image offset `offset`; after it
 * the first `chunks` chunks are complete. Blocks while every segment is in
 * flight. A failure of the writer's thread comes back here (its message). */
int ota_slot_writer_put(struct ota_slot_writer *w, uint64_t offset, const void *data, size_t size,
			uint64_t chunks, struct ota_error *err) _must_check_;
/* A chunk found in place (resume): nothing to write, but it is complete. */
void ota_slot_writer_skip(struct ota_slot_writer *w, uint64_t chunks, uint64_t bytes);
/* Writes what is queued (verified bytes: also after the caller's own error,
 * so that a resume loses nothing), joins the thread and frees w. The
 * caller's fsync makes it durable. */
int ota_slot_writer_finish(struct ota_slot_writer *w, struct ota_slot_writer_stats *ret_stats,
			   struct ota_error *err) _must_check_;
/* Stops without writing what is queued, joins, frees; NULL is fine. */
struct ota_slot_writer *ota_slot_writer_free(struct ota_slot_writer *w);
OTA_DEFINE_CLEANUP_FUNC(struct ota_slot_writer *, ota_slot_writer_free)

/* The read-back of a slot while it is written: a thread reads back with
 * O_DIRECT, in image order, what the writer made durable
 * (ota_slot_verifier_durable after each checkpoint's fdatasync: bytes that
 * are final and on the medium), and checks each chunk against its entry of
 * the verified table (chunks[k] for chunk k: its size and SHA-256; a chunk
 * that reads back all zero is compared, not hashed, when its hash is that
 * of zeros), so that after the last fsync only the rest is left to read.
 * The caller fills chunks[k] before the writer has chunk k, and keeps the
 * array until the verifier is freed. Memory: one 2 MiB buffer. -EOPNOTSUPP
 * where the file system takes no O_DIRECT (the caller reads back at the
 * end instead). */
struct ota_slot_verifier;
struct ota_chunk_entry;
int ota_slot_verifier_new(const char *slot, const char *path, bool nofollow, uint64_t size,
			  const struct ota_chunk_entry *chunks, uint64_t count, struct ota_slot_verifier **ret,
			  struct ota_error *err) _must_check_;
/* Bytes below `bytes` are fdatasync'd and will not be written again. */
void ota_slot_verifier_durable(struct ota_slot_verifier *v, uint64_t bytes);
/* After the caller's last fsync: reads back the rest and joins the thread.
 * 0 when every one of the count chunks read back as its entry says (and
 * they fill size bytes); else the error, reason "readback-mismatch" naming
 * the first chunk that differs. *ret_early: the bytes read back before
 * (while the slot was being written). */
int ota_slot_verifier_finish(struct ota_slot_verifier *v, uint64_t *ret_early, struct ota_error *err) _must_check_;
/* Stops the thread (joined) and frees; NULL is fine. */
struct ota_slot_verifier *ota_slot_verifier_free(struct ota_slot_verifier *v);
OTA_DEFINE_CLEANUP_FUNC(struct ota_slot_verifier *, ota_slot_verifier_free)

/* SHA-256 of bytes [0, size) of the slot at path as the medium holds them,
 * not the page cache: O_DIRECT reads (a second thread reads ahead while this
 * one hashes); where the file system refuses O_DIRECT, buffered reads after
 * the range's clean cached pages are dropped (POSIX_FADV_DONTNEED). Errors
 * name the slot and path. */
int ota_slot_read_back(const char *slot, const char *path, bool nofollow, uint64_t size, uint8_t ret[32],
		       struct ota_error *err) _must_check_;

#endif

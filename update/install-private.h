/* SPDX-License-Identifier: Apache-2.0 */
/* The install pipeline's state, shared by install.c (the pipeline: slots,
 * the streamed consumer, resume, arming) and delta.c (the planner that
 * places a payload's chunks from local slots or by HTTP range).
 *
 * Every byte either of them puts in a slot goes through the payload's
 * pipelined writer (ota_install_put_chunk(), ota_install_skip_chunk() for a
 * chunk found in place), in image order, and every payload ends in
 * ota_install_end_payload(): the power-fail order of update.h (intent
 * recorded before the first write, checkpoints only of what is durable, read
 * back before "installed") is kept in install.c alone. */
#ifndef OTA_UPDATE_INSTALL_PRIVATE_H
#define OTA_UPDATE_INSTALL_PRIVATE_H

#include <limits.h>
#include <sys/types.h>

#include "update/update-private.h"

/* One payload's slot in the spare group. */
struct ota_install_target {
	const struct ota_manifest_payload *p;
	const struct ota_slot_config *slot;
	char path[PATH_MAX];
	bool is_file;
	int fd;
	/* Resume: chunks [0, resume_chunks) (bytes [0, resume_bytes)) of the
	 * image were durably written by an interrupted install of this bundle;
	 * they are compared with the device, not trusted. */
	uint64_t resume_chunks, resume_bytes;
	uint64_t checkpoint_chunks; /* the last one recorded (a new one must pass it) */
	uint64_t chunk_i; /* streamed install: index of the next chunk */
	/* What the slot check saw at path (st_rdev of a device; st_dev and
	 * inode of an existing file): the slot opened for writing must be it. */
	bool checked_id;
	dev_t id_dev;
	ino_t id_ino;
	bool verified; /* written (or found in place) and read back with the image's hash */
	struct ota_slot_verifier *verifier; /* reads back behind the checkpoints */
	/* The verified entry of each chunk placed so far (written or found in
	 * place), by index: what the read-back checks the medium against. */
	struct ota_chunk_entry *placed;
};

/* One install. */
struct ota_install {
	const struct ota_update_config *c;
	const struct ota_update_install_opts *o;
	struct ota_bootflow *bf;
	const struct ota_manifest *m;
	const char *spare;
	struct ota_install_target targets[OTA_BUNDLE_MAX_PAYLOADS];
	size_t n_targets;
	struct ota_install_target *cur;
	unsigned index;
	bool marked_bad;    /* the spare group is marked bad */
	bool started;       /* ... and the records say installing */
	unsigned last_percent;
	uint64_t written;
	uint64_t done;          /* bytes of the current payload in place (written or reused) */
	uint64_t reused_spare;  /* delta: bytes found in place in the spare slot */
	uint64_t reused_active; /* delta: bytes copied from the active slots */
	uint64_t patched;       /* delta: bytes made from a fetched patch and a base in an active slot */
	uint64_t zero_chunks;   /* delta: bytes of all-zero chunks (nothing read: their bytes are known) */
	char reused_from[128];  /* delta: names of the active slots chunks came from */
	char bundle_hex[65];    /* SHA-256 of the signed manifest: names the bundle */
	uint64_t resumed;       /* bytes found in place below a checkpoint (not rewritten) */
	struct ota_bundle_reader *reader;
	struct ota_slot_writer *writer; /* streamed install: the current payload's, while it runs */
	uint64_t zeroed;        /* bytes zeroed by the device or file system instead of written */
	uint64_t readback_ms, readback_bytes; /* the read-backs: time waited after fsync, bytes */
	uint64_t readback_early;  /* ... of which read back while the slot was written */
	uint8_t *cmp;           /* streamed resume: a chunk read back from the slot */
	size_t cmp_size;
	struct ota_error *err;
};

/* ---- install.c ---------------------------------------------------------------- */

/* CLOCK_MONOTONIC in milliseconds, for the time shares reported. */
uint64_t ota_install_now_ms(void);
/* The path a slot's bytes are at: its file, or its device spec resolved. */
int ota_install_slot_path(const struct ota_slot_config *s, char *buf, size_t size, struct ota_error *err) _must_check_;
void ota_install_report(struct ota_install *x, enum ota_update_stage stage, const struct ota_install_target *t, uint64_t done);
/* Makes t the current payload (progress counts restart). */
int ota_install_begin_payload(struct ota_install *x, struct ota_install_target *t) _must_check_;
/* Opens t for writing; the first open anywhere marks the spare group bad and
 * records the targets "installing" first. */
int ota_install_open_target(struct ota_install *x, struct ota_install_target *t) _must_check_;
/* Queues verified chunk i of t (entry e of the verified table: e->usize
 * bytes at data, for image offset `offset`) on the payload's pipelined
 * writer (slot-io.h; started, and t opened, with the first) and counts it.
 * Chunks come in image order; the writer's thread takes the resume
 * checkpoints (fdatasync, then the record) and feeds the read-back behind
 * them, which checks each chunk on the medium against e. */
int ota_install_put_chunk(struct ota_install *x, struct ota_install_target *t, uint64_t i, uint64_t offset,
			  const struct ota_chunk_entry *e, const void *data) _must_check_;
/* Chunk i of t (entry e) is in place already (nothing written) and counts as done. */
void ota_install_skip_chunk(struct ota_install *x, struct ota_install_target *t, uint64_t i, uint64_t offset,
			    const struct ota_chunk_entry *e);
/* Writes what the writer has queued and stops it (no-op without one). */
int ota_install_finish_writer(struct ota_install *x) _must_check_;
/* The current payload is complete: the writer finished, fsync, read back
 * and check every chunk on the medium (or, where the slot takes no
 * O_DIRECT, the whole-image SHA-256), record it "installed". userdata: the ota_install
 * (a struct ota_bundle_consumer's end). */
int ota_install_end_payload(void *userdata, const struct ota_manifest_payload *p) _must_check_;

/* ---- delta.c ------------------------------------------------------------------ */

/* A bundle fetched by HTTP range. */
struct ota_delta {
	const struct ota_bundle_source *src;
	struct ota_bundle_http *web;
	uint64_t data_off;   /* the head's read cursor while it is opened; then where the data area starts */
	const char *booted;  /* the group whose slots chunks may be copied from */
};

/* A struct ota_bundle_source's read over d (userdata): the bundle's head
 * (header, manifest, signature) read in order by range from data_off on. */
ssize_t ota_delta_read_head(void *userdata, void *buf, size_t size);
/* Places every chunk of t's payload (see delta.c) and ends the payload. */
int ota_delta_payload(struct ota_install *x, const struct ota_delta *d, struct ota_install_target *t) _must_check_;

#endif

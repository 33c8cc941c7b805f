/* SPDX-License-Identifier: Apache-2.0 */
/* The install pipeline; see update.h for the order of steps and
 * install-private.h for what delta.c shares of it. Here: the slots of the
 * spare group and their checks, the streamed consumer, resume from a
 * checkpoint, and arming a group only when every slot of it is verified.
 * The local chunk index is chunk-index.c, the delta planner delta.c, commit
 * and rollback commit.c. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/fs.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>

#include "bundle/bundle.h"
#include "update/chunk-index.h"
#include "update/install-private.h"
#include "update/slot-io.h"

uint64_t ota_install_now_ms(void)
{
	struct timespec ts;
	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* ---- slots ------------------------------------------------------------------ */

int ota_install_slot_path(const struct ota_slot_config *s, char *buf, size_t size, struct ota_error *err)
{
	if (s->file)
		return ota_format(buf, size, "%s", s->file) < 0 ? ota_error_set(err, -ENAMETOOLONG, "slot %s: path too long", s->name) : 0;
	dev_t devno;
	int r = ota_blockdev_resolve(s->device, &devno, buf, size, err);
	if (r < 0)
		ota_error_prefix(err, "slot %s: ", s->name);
	return r;
}

/* Refuses a target whose bytes are also another slot's under another name:
 * two loop devices over one file, a loop device over a file slot's file,
 * PARTLABEL= and the /dev path of one partition, a partition and its disk,
 * overlapping loop offsets, a symlink. Writing it would write that slot too
 * (the booted one, at worst). Checked against every configured slot before
 * anything is written; slots that do not exist (yet) share nothing. */
static int check_shared_storage(const struct ota_update_config *c, const char *booted,
				const struct ota_install_target *t, struct ota_error *err)
{
	struct ota_storage_extent mine;
	int r = ota_storage_extent_of(t->path, &mine, err);
	if (r == -ENOENT && t->is_file)
		return 0;
	if (r < 0) {
		ota_error_prefix(err, "slot check: slot %s: ", t->slot->name);
		return r;
	}
	for (size_t i = 0; i < c->n_slots; i++) {
		const struct ota_slot_config *o = &c->slots[i];
		char other[PATH_MAX];
		struct ota_storage_extent theirs;
		if (o == t->slot || ota_install_slot_path(o, other, sizeof(other), NULL) < 0 ||
		    ota_storage_extent_of(other, &theirs, NULL) < 0 || !ota_storage_extents_overlap(&mine, &theirs))
			continue;
		/* Name each slot as configured and, for a tag, what it resolved to. */
		const char *ospec = o->device ? o->device : o->file, *tspec = t->slot->device ? t->slot->device : t->slot->file;
		bool oalias = !ota_streq(ospec, other), talias = !ota_streq(tspec, t->path);
		return ota_error_set(err, -EINVAL,
				     "slot check: slot %s ('%s'%s%s%s) shares storage with slot %s ('%s'%s%s%s) of %sgroup %s: %s; %s",
				     t->slot->name, tspec, talias ? " = '" : "", talias ? t->path : "", talias ? "'" : "",
				     o->name, ospec, oalias ? " = '" : "", oalias ? other : "", oalias ? "'" : "",
				     ota_streq(o->group, booted) ? "the booted " : "", o->group, mine.via, theirs.via);
	}
	return 0;
}

/* Resolves the target slot of a payload and checks that the image fits. */
static int prepare_target(const struct ota_update_config *c, const char *spare, const char *booted,
			  const struct ota_manifest_payload *p, struct ota_install_target *t, struct ota_error *err)
{
	*t = (struct ota_install_target){ .p = p, .fd = -1 };
	t->slot = ota_sysconf_slot(c, spare, p->slot_class);
	if (!t->slot)
		return ota_error_set(err, -ENOENT, "slot check: bundle payload of class '%s' has no slot in group %s",
				     p->slot_class, spare);
	t->is_file = t->slot->file != NULL;
	int r = ota_install_slot_path(t->slot, t->path, sizeof(t->path), err);
	if (r < 0)
		return r;
	/* Never the running system's slots (nor another one), whatever the config says. */
	r = check_shared_storage(c, booted, t, err);
	if (r < 0)
		return r;
	struct stat st;
	if (t->is_file) {
		if (stat(t->path, &st) == 0) {
			t->checked_id = true;
			t->id_dev = st.st_dev;
			t->id_ino = st.st_ino;
		}
		return 0;
	}
	_cleanup_close_ int fd = open(t->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return ota_error_errno(err, -errno, "slot %s: open '%s'", t->slot->name, t->path);
	if (fstat(fd, &st) < 0)
		return ota_error_errno(err, -errno, "slot %s: stat '%s'", t->slot->name, t->path);
	if (!S_ISBLK(st.st_mode))
		return ota_error_set(err, -ENOTBLK, "slot %s: '%s' is not a block device", t->slot->name, t->path);
	t->checked_id = true;
	t->id_dev = st.st_rdev;
	uint64_t size = 0;
	if (ioctl(fd, BLKGETSIZE64, &size) < 0)
		return ota_error_errno(err, -errno, "slot %s: size of '%s'", t->slot->name, t->path);
	if (p->image_size > size)
		return ota_error_set_because(err, OTA_REASON_NO_SPACE, -ENOSPC,
					     "slot check: image '%s' (%llu bytes) does not fit slot %s ('%s', %llu bytes)",
					     p->slot_class, (unsigned long long)p->image_size, t->slot->name, t->path,
					     (unsigned long long)size);
	return 0;
}

/* ---- the consumer ------------------------------------------------------------ */

static const char *const ota_update_stage_names[OTA_STAGE_MAX] = {
	[OTA_STAGE_WARNING] = "warning",
	[OTA_STAGE_FULL_DOWNLOAD] = "full-download",
	[OTA_STAGE_VERIFIED] = "verified",
	[OTA_STAGE_PRE_INSTALL] = "pre-install",
	[OTA_STAGE_INDEX] = "index",
	[OTA_STAGE_INDEX_LOADED] = "index-loaded",
	[OTA_STAGE_INDEX_MOVES] = "index-moves",
	[OTA_STAGE_RESUME] = "resume",
	[OTA_STAGE_WRITE] = "write",
	[OTA_STAGE_INSTALLED] = "installed",
	[OTA_STAGE_POST_INSTALL] = "post-install",
	[OTA_STAGE_ARMED] = "armed",
};

OTA_DEFINE_ENUM_TO_STRING(ota_update_stage, enum ota_update_stage, "invalid")
OTA_DEFINE_ENUM_FROM_STRING(ota_update_stage, enum ota_update_stage)

void ota_install_report(struct ota_install *x, enum ota_update_stage stage, const struct ota_install_target *t,
			uint64_t done)
{
	if (!x->o->progress)
		return;
	struct ota_update_progress p = {
		.stage = stage,
		.slot_class = t ? t->p->slot_class : NULL,
		.slot = t ? t->slot->name : NULL,
		.payload = x->index,
		.n_payloads = (unsigned)x->n_targets,
		.done = done,
		.total = t ? t->p->image_size : 0,
	};
	x->o->progress(x->o->userdata, &p);
}

static void report_note(const struct ota_update_install_opts *o, enum ota_update_stage stage)
{
	if (o->progress)
		o->progress(o->userdata, &(struct ota_update_progress){ .stage = stage });
}

static void fill_record(struct ota_slot_record *rec, const struct ota_install *x, const struct ota_install_target *t,
			enum ota_slot_state state)
{
	*rec = (struct ota_slot_record){ .size = t->p->image_size, .installed = (uint64_t)time(NULL) };
	(void)snprintf(rec->name, sizeof(rec->name), "%s", t->slot->name);
	rec->state = state;
	(void)snprintf(rec->version, sizeof(rec->version), "%s", x->m->version);
	(void)snprintf(rec->compatible, sizeof(rec->compatible), "%s", x->m->compatible);
	(void)snprintf(rec->bundle, sizeof(rec->bundle), "%s", x->bundle_hex);
	ota_bundle_hex(t->p->image_sha256, rec->sha256);
}

/* Before the first byte is written anywhere: mark the spare group bad, then
 * record the intent for every target slot (fsync'd). */
static int start_writing(struct ota_install *x)
{
	if (x->started)
		return 0;
	int r = ota_bootflow_mark_bad(x->bf, x->spare, x->err);
	if (r < 0) {
		ota_error_classify(x->err, OTA_REASON_BOOTFLOW);
		return r;
	}
	x->marked_bad = true;
	struct ota_slot_record recs[OTA_BUNDLE_MAX_PAYLOADS];
	for (size_t i = 0; i < x->n_targets; i++) {
		/* A checkpoint being resumed stays recorded until a later one
		 * replaces it: an interruption now must not lose it. */
		fill_record(&recs[i], x, &x->targets[i], OTA_SLOT_INSTALLING);
		recs[i].checkpoint_chunks = x->targets[i].resume_chunks;
		recs[i].checkpoint_bytes = x->targets[i].resume_bytes;
	}
	r = ota_update_status_write(x->c->status_file, recs, x->n_targets, x->err);
	if (r < 0)
		return r;
	x->started = true;
	return 0;
}

int ota_install_open_target(struct ota_install *x, struct ota_install_target *t)
{
	if (t->fd >= 0)
		return 0;
	int r = start_writing(x);
	if (r < 0)
		return r;
	/* O_EXCL on a block device: refused (EBUSY) while it is mounted. Read
	 * and write: a resumed install compares chunks already written. */
	int flags = t->is_file ? O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW : O_RDWR | O_CLOEXEC | O_EXCL;
	t->fd = open(t->path, flags, 0600);
	if (t->fd < 0)
		return ota_error_errno(x->err, -errno, "slot %s: open '%s' for writing", t->slot->name, t->path);
	/* The storage checked for aliases is the one opened (a device node or
	 * file replaced in between would not be). */
	struct stat st;
	if (fstat(t->fd, &st) < 0)
		return ota_error_errno(x->err, -errno, "slot %s: stat '%s'", t->slot->name, t->path);
	if (t->checked_id && (t->is_file ? st.st_dev != t->id_dev || st.st_ino != t->id_ino : st.st_rdev != t->id_dev))
		return ota_error_set(x->err, -ESTALE, "slot %s: '%s' changed between the slot check and opening it for writing",
				     t->slot->name, t->path);
	if (!t->is_file)
		return 0;
	if (ftruncate(t->fd, (off_t)t->p->image_size) < 0)
		return ota_error_errno(x->err, -errno, "slot %s: truncate '%s'", t->slot->name, t->path);
	/* Reserve the blocks now, so that a full file system fails here, naming
	 * the slot, rather than in the middle of the image. Keeps existing data. */
	int r2 = t->p->image_size ? posix_fallocate(t->fd, 0, (off_t)t->p->image_size) : 0;
	if (r2 != 0 && r2 != EOPNOTSUPP && r2 != EINVAL) {
		(void)ota_error_errno(x->err, -r2, "slot %s: reserve %llu bytes for '%s'", t->slot->name,
				      (unsigned long long)t->p->image_size, t->path);
		if (r2 == ENOSPC)
			ota_error_classify(x->err, OTA_REASON_NO_SPACE);
		return -r2;
	}
	return 0;
}

static struct ota_install_target *target_of(struct ota_install *x, const struct ota_manifest_payload *p)
{
	for (size_t i = 0; i < x->n_targets; i++)
		if (x->targets[i].p == p)
			return &x->targets[i];
	return NULL;
}

static bool want(void *userdata, const struct ota_manifest_payload *p)
{
	return target_of(userdata, p) != NULL;
}

int ota_install_begin_payload(struct ota_install *x, struct ota_install_target *t)
{
	free(t->placed);
	t->placed = calloc(t->p->chunk_count ? t->p->chunk_count : 1, sizeof(*t->placed));
	if (!t->placed)
		return ota_error_set(x->err, -ENOMEM, "slot %s: out of memory for the table of %llu chunks to read back",
				     t->slot->name, (unsigned long long)t->p->chunk_count);
	x->cur = t;
	x->index++;
	x->last_percent = 0;
	x->done = 0;
	if (t->resume_chunks > 0)
		ota_install_report(x, OTA_STAGE_RESUME, t, t->resume_bytes);
	return 0;
}

static int on_begin(void *userdata, const struct ota_manifest_payload *p)
{
	struct ota_install *x = userdata;
	int r = ota_install_begin_payload(x, target_of(x, p));
	if (r < 0)
		return r;
	ota_install_report(x, OTA_STAGE_WRITE, x->cur, 0);
	return 0;
}

/* ---- resume -------------------------------------------------------------------
 *
 * An install stopped by a network failure, a reboot or a power cut leaves its
 * target slots recorded "installing" with the digest of the bundle's signed
 * manifest (`bundle`) and a checkpoint: whenever CHECKPOINT_EVERY more bytes
 * were placed in image order, the slot is fdatasync'd and only then is its
 * record replaced (atomic: write new, fsync, rename, fsync dir) with the
 * number of chunks below which everything is on stable storage. The order
 * makes the checkpoint true after any crash: it never names data that was
 * not yet durable.
 *
 * The next install of the same bundle (same manifest digest and image hash)
 * compares each chunk below the checkpoint with the device and rewrites only
 * those that differ; chunks above it are written as usual (a delta install
 * re-hashes the spare at every offset anyway). Slots of that bundle already
 * recorded "installed" are treated as checkpointed to the end. A checkpoint
 * is a hint, never trusted: skipped chunks were compared, and the slot is
 * read back and hashed as a whole before it is recorded "installed". Any
 * other bundle replaces the records, which discards the checkpoints. */
#define CHECKPOINT_EVERY (32u << 20)

static bool record_of_bundle(const struct ota_install *x, const struct ota_install_target *t,
			     const struct ota_slot_record *rec)
{
	char sha[65];
	ota_bundle_hex(t->p->image_sha256, sha);
	return ota_streq(rec->bundle, x->bundle_hex) && ota_streq(rec->sha256, sha) && rec->size == t->p->image_size;
}

/* Sets each target's resume point if the spare holds an interrupted install
 * of this bundle (at least one slot still "installing" it). */
static void find_checkpoints(struct ota_install *x)
{
	struct ota_slot_record recs[OTA_BUNDLE_MAX_PAYLOADS];
	bool interrupted = false;
	for (size_t i = 0; i < x->n_targets; i++) {
		if (ota_update_status_read(x->c->status_file, x->targets[i].slot->name, &recs[i], NULL) < 0)
			return;
		if (recs[i].state == OTA_SLOT_INSTALLING && record_of_bundle(x, &x->targets[i], &recs[i]))
			interrupted = true;
	}
	/* Every slot "installed": a complete install, asked for again; rewrite it. */
	if (!interrupted)
		return;
	for (size_t i = 0; i < x->n_targets; i++) {
		struct ota_install_target *t = &x->targets[i];
		if (!record_of_bundle(x, t, &recs[i]))
			continue;
		if (recs[i].state == OTA_SLOT_INSTALLED) {
			t->resume_chunks = t->p->chunk_count;
			t->resume_bytes = t->p->image_size;
		} else if (recs[i].state == OTA_SLOT_INSTALLING && recs[i].checkpoint_chunks <= t->p->chunk_count &&
			   recs[i].checkpoint_bytes <= t->p->image_size) {
			t->resume_chunks = recs[i].checkpoint_chunks;
			t->resume_bytes = recs[i].checkpoint_bytes;
		}
		t->checkpoint_chunks = t->resume_chunks;
	}
}

/* The record of a checkpoint, once its bytes are durable. Best effort:
 * without it an interrupted install only re-checks less next time; it is
 * never less safe. */
static void record_checkpoint(struct ota_install *x, struct ota_install_target *t, uint64_t chunks, uint64_t bytes)
{
	if (chunks <= t->checkpoint_chunks)
		return;
	struct ota_slot_record rec;
	fill_record(&rec, x, t, OTA_SLOT_INSTALLING);
	rec.checkpoint_chunks = chunks;
	rec.checkpoint_bytes = bytes;
	if (ota_update_status_write(x->c->status_file, &rec, 1, NULL) == 0)
		t->checkpoint_chunks = chunks;
}

/* An install that failed with its writer running: what is queued is
 * written, fdatasync'd and only then checkpointed, so that the next attempt
 * (a network failure is the usual cause) resumes from where this one
 * stopped rather than from the last periodic checkpoint. Best effort: the
 * first error is the one reported. */
static void keep_for_resume(struct ota_install *x)
{
	struct ota_error ignored;
	struct ota_slot_writer_stats st = { 0 };
	if (ota_slot_writer_finish(TAKE_PTR(x->writer), &st, &ignored) < 0 || x->cur->fd < 0 || fdatasync(x->cur->fd) < 0)
		return;
	record_checkpoint(x, x->cur, st.chunks, st.bytes);
}

/* The writer's checkpoint, on its thread: the caller's thread meanwhile
 * only decodes, compares and queues chunks (no status file, no
 * checkpoint_chunks). */
static void on_durable(void *userdata, uint64_t chunks, uint64_t bytes)
{
	struct ota_install *x = userdata;
	record_checkpoint(x, x->cur, chunks, bytes);
	if (x->cur->verifier)
		ota_slot_verifier_durable(x->cur->verifier, bytes);
}

/* Streamed resume: 1 if the slot already holds data at offset, 0 if not. */
static int in_place(struct ota_install *x, struct ota_install_target *t, uint64_t offset, const void *data, size_t size)
{
	if (size > x->cmp_size) {
		uint8_t *b = realloc(x->cmp, size);
		if (!b)
			return ota_error_set(x->err, -ENOMEM, "slot %s: out of memory for a %zu-byte chunk to compare",
					     t->slot->name, size);
		x->cmp = b;
		x->cmp_size = size;
	}
	int r = ota_install_open_target(x, t);
	if (r < 0)
		return r;
	ssize_t n = ota_pread_full(t->fd, x->cmp, size, offset);
	if (n < 0)
		return ota_error_errno(x->err, (int)n, "slot %s: read '%s' at offset %llu", t->slot->name, t->path,
				       (unsigned long long)offset);
	return (size_t)n == size && memcmp(x->cmp, data, size) == 0;
}

/* Counts size more bytes of the current payload as in place; reports each new percent. */
static void ota_install_account(struct ota_install *x, struct ota_install_target *t, size_t size)
{
	x->done += size;
	unsigned percent = t->p->image_size ? (unsigned)(x->done * 100 / t->p->image_size) : 100;
	if (percent != x->last_percent) {
		x->last_percent = percent;
		ota_install_report(x, OTA_STAGE_WRITE, t, x->done);
	}
}

/* The payload's writer (slot-io.h), started with the first write. */
static int start_writer(struct ota_install *x, struct ota_install_target *t)
{
	if (x->writer)
		return 0;
	int r = ota_install_open_target(x, t);
	if (r < 0)
		return r;
	struct ota_slot_writer_opts wo = { .fd = t->fd, .path = t->path, .slot = t->slot->name,
					   .is_blockdev = !t->is_file, .durable = on_durable, .userdata = x,
					   .checkpoint_every = CHECKPOINT_EVERY };
	/* Without O_DIRECT reads the read-back waits for the end (slot-io.h). */
	if (!x->o->no_readback && !t->verifier &&
	    ota_slot_verifier_new(t->slot->name, t->path, t->is_file, t->p->image_size, t->placed, t->p->chunk_count,
				  &t->verifier, NULL) < 0)
		t->verifier = NULL;
	return ota_slot_writer_new(&wo, &x->writer, x->err);
}

int ota_install_finish_writer(struct ota_install *x)
{
	if (!x->writer)
		return 0;
	struct ota_slot_writer_stats st = { 0 };
	int r = ota_slot_writer_finish(TAKE_PTR(x->writer), &st, x->err);
	x->zeroed += st.zeroed;
	return r;
}

int ota_install_put_chunk(struct ota_install *x, struct ota_install_target *t, uint64_t i, uint64_t offset,
			  const struct ota_chunk_entry *e, const void *data)
{
	size_t size = e->usize;
	/* Before the writer has it: the read-back reads it behind the writer. */
	t->placed[i] = *e;
	int r = start_writer(x, t);
	if (r == 0)
		r = ota_slot_writer_put(x->writer, offset, data, size, i + 1, x->err);
	if (r < 0)
		return r;
	x->written += size;
	ota_install_account(x, t, size);
	return 0;
}

void ota_install_skip_chunk(struct ota_install *x, struct ota_install_target *t, uint64_t i, uint64_t offset,
			    const struct ota_chunk_entry *e)
{
	size_t size = e->usize;
	t->placed[i] = *e;
	if (x->writer)
		ota_slot_writer_skip(x->writer, i + 1, offset + size);
	ota_install_account(x, t, size);
}

static int on_chunk(void *userdata, const struct ota_manifest_payload *p, const struct ota_chunk_entry *e,
		    uint64_t offset, const void *data, size_t size)
{
	(void)p;
	struct ota_install *x = userdata;
	struct ota_install_target *t = x->cur;
	uint64_t i = t->chunk_i++;
	int r = i < t->resume_chunks ? in_place(x, t, offset, data, size) : 0;
	if (r < 0)
		return r;
	if (r > 0) {
		x->resumed += size;
		ota_install_skip_chunk(x, t, i, offset, e);
		return 0;
	}
	return ota_install_put_chunk(x, t, i, offset, e, data);
}

/* SHA-256 of bytes [0, size) of a slot as its medium holds them. */
static int hash_slot(const struct ota_slot_config *slot, const char *path, uint64_t size, uint8_t ret[32],
		     struct ota_error *err)
{
	return ota_slot_read_back(slot->name, path, slot->file != NULL, size, ret, err);
}

/* Reads the slot back from the medium: with the verifier, every chunk
 * against its entry of the verified table (slot-io.h); without (no
 * O_DIRECT there), the whole image's SHA-256 against the manifest. */
static int check_readback(struct ota_install *x, struct ota_install_target *t)
{
	uint8_t sha[32];
	uint64_t start = ota_install_now_ms(), early = 0;
	int r = t->verifier ? ota_slot_verifier_finish(t->verifier, &early, x->err)
			    : hash_slot(t->slot, t->path, t->p->image_size, sha, x->err);
	bool whole = !t->verifier;
	t->verifier = ota_slot_verifier_free(t->verifier);
	x->readback_ms += ota_install_now_ms() - start;
	x->readback_early += early;
	x->readback_bytes += t->p->image_size;
	if (r < 0)
		return r;
	if (whole && memcmp(sha, t->p->image_sha256, 32) != 0)
		return ota_error_set_because(x->err, OTA_REASON_READBACK_MISMATCH, -EIO,
					     "slot %s: image hash check after writing '%s' failed (read back differs)",
					     t->slot->name, t->path);
	return 0;
}

int ota_install_end_payload(void *userdata, const struct ota_manifest_payload *p)
{
	struct ota_install *x = userdata;
	struct ota_install_target *t = x->cur;
	int r = ota_install_finish_writer(x);
	if (r == 0)
		r = ota_install_open_target(x, t); /* an empty image has no chunks */
	if (r < 0)
		return r;
	if (fsync(t->fd) < 0)
		return ota_error_errno(x->err, -errno, "slot %s: fsync '%s'", t->slot->name, t->path);
	if (close(t->fd) < 0) {
		t->fd = -1;
		return ota_error_errno(x->err, -errno, "slot %s: close '%s'", t->slot->name, t->path);
	}
	t->fd = -1;
	r = x->o->no_readback ? 0 : check_readback(x, t);
	if (r < 0)
		return r;
	struct ota_slot_record rec;
	fill_record(&rec, x, t, OTA_SLOT_INSTALLED);
	r = ota_update_status_write(x->c->status_file, &rec, 1, x->err);
	if (r < 0)
		return r;
	t->verified = true;
	ota_install_report(x, OTA_STAGE_INSTALLED, t, p->image_size);
	return 0;
}

/* A streamed payload's end: as ota_install_end_payload, then its chunk
 * index is saved from the reader's verified table, so the next delta install
 * from it needs no scan. */
static int on_end_stream(void *userdata, const struct ota_manifest_payload *p)
{
	struct ota_install *x = userdata;
	int r = ota_install_end_payload(x, p);
	if (r < 0)
		return r;
	uint64_t n = 0;
	const struct ota_chunk_entry *table = ota_bundle_reader_chunk_table(x->reader, &n);
	if (table && n == p->chunk_count)
		ota_chunk_index_save(x->c->status_file, x->cur->slot->name, p, table);
	return 0;
}

/* ---- arming a whole group ----------------------------------------------------
 *
 * A trial of the spare group is armed only when every slot of the group holds
 * what it should (docs/update.md, "Status file"):
 *   - a slot this bundle carries: written (or found in place) and read back
 *     with the image's hash by this install;
 *   - any other slot: recorded "installed" and its bytes still hash to that
 *     record (re-read now), or recorded "good" (ran in a committed group and
 *     not written by ota-update since).
 * "installing" (torn by an install that did not finish), "unknown" (the
 * status file was rebuilt) and no record never count: a bundle that does not
 * carry such a slot is refused before anything is written. */

static const struct ota_install_target *target_of_slot(const struct ota_install *x, const struct ota_slot_config *s)
{
	for (size_t i = 0; i < x->n_targets; i++)
		if (x->targets[i].slot == s)
			return &x->targets[i];
	return NULL;
}

static const char *why_unverified(enum ota_slot_state state)
{
	if (state == OTA_SLOT_INSTALLING)
		return "torn: an install into it did not finish";
	if (state == OTA_SLOT_UNKNOWN)
		return "the status file was rebuilt, its content is not known";
	if (state == OTA_SLOT_NONE)
		return "never written by ota-update nor run in a committed group";
	return "not verified";
}

/* A state for messages: its text, or "no record". */
static const char *state_or_none(enum ota_slot_state state)
{
	return state != OTA_SLOT_NONE ? ota_slot_state_to_string(state) : "no record";
}

/* A slot of the spare group that this bundle does not carry. */
static int check_untouched_slot(const struct ota_install *x, const struct ota_slot_config *s, struct ota_error *err)
{
	struct ota_slot_record rec;
	int r = ota_update_status_read(x->c->status_file, s->name, &rec, err);
	if (r < 0)
		return r;
	if (rec.state == OTA_SLOT_GOOD)
		return 0;
	if (rec.state != OTA_SLOT_INSTALLED)
		return ota_error_set(err, -EUCLEAN,
				     "slot check: group %s cannot be armed: slot %s (class %s) is not in this bundle and is "
				     "recorded '%s' (%s); install a bundle that carries class '%s'",
				     x->spare, s->name, s->slot_class, state_or_none(rec.state),
				     why_unverified(rec.state), s->slot_class);
	char path[PATH_MAX], hex[65];
	uint8_t sha[32];
	r = ota_install_slot_path(s, path, sizeof(path), err);
	if (r == 0)
		r = hash_slot(s, path, rec.size, sha, err);
	if (r == 0) {
		ota_bundle_hex(sha, hex);
		if (!ota_streq(hex, rec.sha256))
			r = ota_error_set(err, -EUCLEAN, "slot %s ('%s'): its first %llu bytes no longer hash to the image "
					  "recorded installed (%.16s...)", s->name, path, (unsigned long long)rec.size,
					  rec.sha256);
	}
	if (r < 0)
		ota_error_prefix(err, "slot check: group %s cannot be armed: slot %s is not in this bundle: ", x->spare,
				 s->name);
	return r;
}

static int check_untouched_slots(const struct ota_install *x, struct ota_error *err)
{
	for (size_t i = 0; i < x->c->n_slots; i++) {
		const struct ota_slot_config *s = &x->c->slots[i];
		if (!ota_streq(s->group, x->spare) || target_of_slot(x, s))
			continue;
		int r = check_untouched_slot(x, s, err);
		if (r < 0)
			return r;
	}
	return 0;
}

/* The booted group runs committed (no trial), so each of its slots that has
 * no record, or an "unknown" one, is known good now: recorded "good", so that
 * a later bundle for this group (when it is the spare) need not carry it.
 * The status file is written even when nothing changed: a status file that
 * cannot be written (full, read-only) fails here, naming it, before anything
 * is marked or written. */
static int record_booted_good(const struct ota_install *x, const struct ota_bootflow_state *st, struct ota_error *err)
{
	struct ota_slot_record recs[OTA_UPDATE_MAX_SLOTS];
	size_t n = 0;
	bool committed = st->trial_state != OTA_TRIAL_RUNNING && ota_streq(st->booted, st->default_group);
	for (size_t i = 0; committed && i < x->c->n_slots && n < OTA_UPDATE_MAX_SLOTS; i++) {
		const struct ota_slot_config *s = &x->c->slots[i];
		struct ota_slot_record rec;
		int r = ota_update_status_read(x->c->status_file, s->name, &rec, err);
		if (r < 0)
			return r;
		if (!ota_streq(s->group, st->booted) || (rec.state != OTA_SLOT_NONE && rec.state != OTA_SLOT_UNKNOWN))
			continue;
		recs[n] = (struct ota_slot_record){ 0 };
		(void)snprintf(recs[n].name, sizeof(recs[n].name), "%s", s->name);
		recs[n].state = OTA_SLOT_GOOD;
		(void)snprintf(recs[n].version, sizeof(recs[n].version), "%s", x->c->version);
		(void)snprintf(recs[n].compatible, sizeof(recs[n].compatible), "%s", x->c->compatible);
		n++;
	}
	return ota_update_status_write(x->c->status_file, recs, n, err);
}

/* Right before arming: every slot of the spare group verified (see above). */
static int check_group_verified(const struct ota_install *x, struct ota_error *err)
{
	for (size_t i = 0; i < x->c->n_slots; i++) {
		const struct ota_slot_config *s = &x->c->slots[i];
		if (!ota_streq(s->group, x->spare))
			continue;
		const struct ota_install_target *t = target_of_slot(x, s);
		struct ota_slot_record rec;
		int r = ota_update_status_read(x->c->status_file, s->name, &rec, err);
		if (r < 0)
			return r;
		bool ok = t ? t->verified && rec.state == OTA_SLOT_INSTALLED && record_of_bundle(x, t, &rec)
			    : rec.state == OTA_SLOT_INSTALLED || rec.state == OTA_SLOT_GOOD;
		if (!ok)
			return ota_error_set(err, -EUCLEAN, "group %s not armed: slot %s is %s (recorded '%s')", x->spare,
					     s->name, t && !t->verified ? "not read back by this install" : "not verified",
					     state_or_none(rec.state));
	}
	return 0;
}

/* ---- install ---------------------------------------------------------------- */

static int hook_env_install(struct ota_hook_env *e, const struct ota_install *x, const char *source)
{
	int r = 0;
	if (!r)
		r = ota_hook_env_add(e, "OTA_BUNDLE", "%s", source);
	if (!r)
		r = ota_hook_env_add(e, "OTA_BUNDLE_VERSION", "%s", x->m->version);
	if (!r)
		r = ota_hook_env_add(e, "OTA_BUNDLE_COMPATIBLE", "%s", x->m->compatible);
	if (!r)
		r = ota_hook_env_add(e, "OTA_TARGET_GROUP", "%s", x->spare);
	for (size_t i = 0; !r && i < x->n_targets; i++) {
		char key[96] = "OTA_SLOT_";
		size_t k = strlen(key);
		for (const char *q = x->targets[i].p->slot_class; *q && k + 1 < sizeof(key); q++)
			key[k++] = *q == '-' ? '_' : (*q >= 'a' && *q <= 'z') ? (char)(*q - 'a' + 'A') : *q;
		key[k] = '\0';
		r = ota_hook_env_add(e, key, "%s", x->targets[i].path);
	}
	return r;
}

int ota_update_install(const struct ota_update_config *c, const struct ota_update_install_opts *o,
		       struct ota_update_result *ret, struct ota_error *err)
{
	uint64_t started_ms = ota_install_now_ms();
	_cleanup_update_op_ struct ota_update_op op = OTA_UPDATE_OP_INIT;
	int r = ota_update_op_begin(c, &op, err);
	if (r < 0)
		return r;
	if (op.st.trial_state == OTA_TRIAL_RUNNING)
		return ota_error_set(err, -EBUSY,
				     "the running system (group %s) is an uncommitted trial: commit or roll back first",
				     op.st.booted);
	const char *spare = ota_sysconf_other_group(c, op.st.booted);
	if (!spare)
		return ota_error_set(err, -EINVAL, "boot flow says group '%s' is booted, which is not configured",
				     op.st.booted);
	/* A status file that does not load would fail every install: kept
	 * aside and rebuilt (every slot "unknown", which counts for nothing). */
	struct ota_error warning = { 0 };
	r = ota_update_status_repair(c, &warning, err);
	if (r < 0)
		return r;
	if (r > 0 && o->progress)
		o->progress(o->userdata, &(struct ota_update_progress){ .stage = OTA_STAGE_WARNING, .message = warning.msg });

	/* The source. */
	bool is_stdin = ota_streq(o->source, "-"), is_url = ota_bundle_is_url(o->source);
	_cleanup_close_ int fd = -1;
	_cleanup_(ota_bundle_http_freep) struct ota_bundle_http *web = NULL;
	struct ota_bundle_source src, head_src;
	struct ota_delta d = { .src = &src, .booted = op.st.booted };
	bool delta = false;
	uint64_t bundle_bytes = 0;
	if (is_url) {
		/* One deadline for the whole install: the lock is never held longer
		 * than download-timeout for the network's sake. */
		struct ota_bundle_http_opts ho = { .ca_file = c->ca_file, .connect_timeout_s = c->http_connect_timeout_s,
						   .max_attempts = c->http_attempts, .low_speed_bytes = c->http_min_rate,
						   .low_speed_time_s = c->http_stall_time_s,
						   .timeout_s = c->download_timeout_s, .headers = o->http_headers,
						   .client_cert = o->client_cert, .client_key = o->client_key };
		r = ota_bundle_http_new(o->source, &ho, &web, err);
		if (r < 0)
			return r;
		ota_bundle_source_http(&src, web);
		/* Delta: header, manifest and signature by range, through the reader. */
		head_src = (struct ota_bundle_source){ .name = src.name, .read = ota_delta_read_head, .userdata = &d,
						       .last_error = src.last_error };
		d.web = web;
		delta = !o->no_delta;
	} else {
		fd = is_stdin ? fcntl(STDIN_FILENO, F_DUPFD_CLOEXEC, 3) : open(o->source, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return ota_error_errno(err, -errno, "open bundle '%s'", o->source);
		struct stat sst;
		if (!is_stdin && fstat(fd, &sst) == 0 && S_ISREG(sst.st_mode))
			bundle_bytes = (uint64_t)sst.st_size;
		ota_bundle_source_fd(&src, &fd, is_stdin ? "stdin" : o->source);
	}

	/* Signature (inside open), then compatible and version: before anything is written. */
	struct ota_bundle_trust trust;
	ota_update_trust(c, &trust);
	_cleanup_(ota_bundle_reader_freep) struct ota_bundle_reader *reader = NULL;
	r = ota_bundle_reader_open(delta ? &head_src : &src, &trust, NULL, &reader, err);
	if (r == -EOPNOTSUPP && delta) {
		/* The server ignores range requests: one full streamed download. */
		delta = false;
		report_note(o, OTA_STAGE_FULL_DOWNLOAD);
		r = ota_bundle_reader_open(&src, &trust, NULL, &reader, err);
	}
	if (r < 0)
		return r;
	const struct ota_manifest *m = ota_bundle_reader_manifest(reader);
	if (!ota_streq(m->compatible, c->compatible))
		return ota_error_set_because(err, OTA_REASON_INCOMPATIBLE, -EMEDIUMTYPE,
					     "compatible check: bundle '%s' is for '%s', this device is '%s'", src.name,
					     m->compatible, c->compatible);
	r = ota_update_check_version(c->downgrade, c->version, m->version, err);
	if (r < 0) {
		ota_error_prefix(err, "bundle '%s': ", src.name);
		return r;
	}

	_cleanup_free_ uint8_t *cmp = NULL; /* x.cmp, freed here */
	struct ota_install x = { .c = c, .o = o, .bf = op.bf, .m = m, .spare = spare, .err = err, .reader = reader };
	uint8_t digest[32];
	if ((r = ota_bundle_reader_manifest_sha256(reader, digest)) < 0)
		return ota_error_set(err, r, "bundle '%s': SHA-256 of the manifest failed", src.name);
	ota_bundle_hex(digest, x.bundle_hex);
	for (size_t i = 0; i < m->n_payloads; i++) {
		r = prepare_target(c, spare, op.st.booted, &m->payloads[i], &x.targets[x.n_targets], err);
		if (r < 0)
			return r;
		x.n_targets++;
	}
	r = check_untouched_slots(&x, err);
	if (r < 0)
		return r;
	r = record_booted_good(&x, &op.st, err);
	if (r < 0) {
		ota_error_prefix(err, "install aborted, nothing written: ");
		return r;
	}
	find_checkpoints(&x);
	ota_install_report(&x, OTA_STAGE_VERIFIED, NULL, 0);

	_cleanup_(ota_hook_env_donep) struct ota_hook_env env = { 0 };
	r = ota_hook_env_common(&env, c, &op.st);
	if (!r)
		r = hook_env_install(&env, &x, o->source);
	if (r < 0)
		return ota_error_errno(err, r, "pre-install hooks: environment");
	ota_install_report(&x, OTA_STAGE_PRE_INSTALL, NULL, 0);
	r = ota_hooks_run(c, "pre-install", &env, NULL, err);
	if (r < 0) {
		ota_error_prefix(err, "install aborted, nothing written: ");
		return r;
	}

	if (delta) {
		d.data_off = ota_bundle_reader_data_offset(reader);
		uint64_t total = 0;
		r = ota_bundle_http_size(web, &total, err);
		if (r == 0 && (__builtin_add_overflow(d.data_off, m->data_size, &bundle_bytes) || total != bundle_bytes))
			r = ota_error_set_because(err, OTA_REASON_BUNDLE_MALFORMED, -EBADMSG,
						  "bundle '%s': %llu bytes on the server, the manifest says %llu", src.name,
						  (unsigned long long)total, (unsigned long long)bundle_bytes);
		for (size_t i = 0; r == 0 && i < x.n_targets; i++)
			r = ota_delta_payload(&x, &d, &x.targets[i]);
	} else {
		struct ota_bundle_consumer consumer = { on_begin, on_chunk, on_end_stream, &x };
		/* The read-back hashes each image from the medium: the one proof
		 * of the whole image needed (each chunk is verified as it comes). */
		if (!o->no_readback)
			ota_bundle_reader_skip_image_hash(reader);
		r = ota_bundle_reader_run(reader, &consumer, want, err);
	}
	/* Stopped early (a bad chunk, a truncated stream, a failed fetch): what
	 * is queued was verified; written, it is there for a resume. */
	if (x.writer)
		keep_for_resume(&x);
	cmp = x.cmp;
	for (size_t i = 0; i < x.n_targets; i++) {
		x.targets[i].verifier = ota_slot_verifier_free(x.targets[i].verifier);
		free(x.targets[i].placed);
		if (x.targets[i].fd >= 0)
			(void)close(x.targets[i].fd);
	}
	if (r < 0) {
		if (x.marked_bad)
			ota_error_prefix(err, "install into group %s failed (group left marked bad): ", spare);
		return r;
	}

	ota_install_report(&x, OTA_STAGE_POST_INSTALL, NULL, 0);
	r = ota_hooks_run(c, "post-install", &env, NULL, err);
	if (r < 0) {
		ota_error_prefix(err, "install into group %s not armed: ", spare);
		return r;
	}
	r = check_group_verified(&x, err);
	if (r < 0)
		return r;
	if (o->before_arm && (r = o->before_arm(o->arm_userdata, err)) < 0) {
		ota_error_prefix(err, "install into group %s not armed: ", spare);
		return r;
	}
	r = ota_bootflow_arm(op.bf, spare, c->tries, err);
	if (r < 0) {
		ota_error_classify(err, OTA_REASON_BOOTFLOW);
		return r;
	}
	ota_install_report(&x, OTA_STAGE_ARMED, NULL, 0);

	struct ota_update_result res = { .image_bytes = x.written, .bundle_bytes = bundle_bytes, .delta = delta,
					 .reused_spare = x.reused_spare, .reused_active = x.reused_active, .patched = x.patched,
					 .zero_chunks = x.zero_chunks,
					 .resumed = x.resumed, .zeroed = x.zeroed, .read_back = !o->no_readback,
					 .readback_bytes = x.readback_bytes, .readback_ms = x.readback_ms,
					 .readback_early = x.readback_early,
					 .elapsed_ms = ota_install_now_ms() - started_ms };
	for (size_t i = 0; i < x.n_targets; i++)
		res.resumed_at += x.targets[i].resume_bytes;
	(void)snprintf(res.reused_from, sizeof(res.reused_from), "%s", x.reused_from);
	(void)snprintf(res.group, sizeof(res.group), "%s", spare);
	(void)snprintf(res.version, sizeof(res.version), "%s", m->version);
	if (web) {
		struct ota_bundle_http_stats hs;
		ota_bundle_http_get_stats(web, &hs);
		res.downloaded = hs.downloaded;
		res.bundle_bytes = hs.size;
	}
	if (ret)
		*ret = res;
	return 0;
}

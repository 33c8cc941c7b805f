/* SPDX-License-Identifier: Apache-2.0 */
/* A slot's bulk I/O; contract in slot-io.h.
 *
 * The bundle reader decompresses and verifies on the caller's thread; the
 * writer's thread writes; a third reads back what checkpoints made durable.
 * What was kept was measured with bench-style full installs into loop
 * devices over ext4 files (2 vCPUs shared with other builds and VMs, so
 * medians of 3 interleaved runs; `zstd -dc | dd conv=fsync` in the same runs):
 *
 *   1488 MiB ext4 of /usr               dd 11.5 s   before: 35.9 s
 *     aligned data with O_DIRECT        22.8 s   <- kept
 *     page cache, fsync at the end      23.4 s
 *     page cache, sync_file_range window of 16 MiB (start writeback per
 *       segment, wait for what is 16 MiB behind)   30.7 s
 *   1 GiB ext4, 75 % zero 4 KiB blocks  dd 5.4 s    before: 14.4 s
 *     zero runs by BLKZEROOUT           8.75 s   <- kept
 *     zero runs written as data         9.37 s
 *   ext4 file: 512 MiB zeroed by FALLOC_FL_ZERO_RANGE + fsync 0.18 s,
 *     written as zeros + fsync 1.69 s   <- ZERO_RANGE kept
 *
 * Then the read-back moved behind the checkpoints (ota_slot_verifier; it had
 * taken 3.7-5.6 s of the 22.8 s) and the stream's second image hash went:
 * 1488 MiB in 12.3 s (dd 10.0 s, before 21.0 s in the same runs), of which
 * 0.2-0.4 s is the read-back left after the last fsync. On a virtio disk
 * in the test VM (bench/virtio-write.py, TCG) 60 MiB took 80 ms with
 * O_DIRECT, 290 ms through the page cache with an fsync. BLKZEROOUT on a loop
 * device is the backing file's fallocate (punch or zero range), not an
 * emulation that writes zeros: write_zeroes_max_bytes says whether a device
 * has it; where the call fails the zeros are written. */
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

#include "bundle/bundle.h"
#include "update/slot-io.h"

#define ALIGN 4096u                 /* O_DIRECT granularity: any logical block size up to a page */
#define ZERO_BLOCK (64u << 10)      /* zero detection, aligned in the image */
#define ZERO_MIN_RUN (256u << 10)   /* shorter zero runs are written: a zeroing call costs more */

struct segment {
	uint8_t *mem;     /* OTA_SLOT_SEGMENT + ALIGN bytes, ALIGN-aligned */
	uint64_t off;     /* image offset of the first byte */
	size_t lead;      /* off % ALIGN: the first byte is at mem + lead */
	size_t len;
	uint64_t chunks, chunk_bytes; /* complete chunks once this segment is written */
};

struct ota_slot_writer {
	struct ota_slot_writer_opts o;
	int dfd;          /* O_DIRECT descriptor of the same slot, or -1 */
	bool zero_ok;     /* the zeroing call still works here */
	struct ota_slot_writer_stats stats;
	uint64_t last_checkpoint;
	/* the caller's side */
	bool filling;     /* ring[(head + queued) % N] is being filled */
	uint64_t done_chunks, done_bytes;
	/* shared, under lock */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct segment ring[OTA_SLOT_SEGMENTS];
	unsigned head, queued;
	bool closing, stopping;
	int failed;
	struct ota_error err;   /* the writer thread's, valid once failed */
	pthread_t thread;
	bool running;
};

static uint64_t align_down(uint64_t v, uint64_t a)
{
	return v - v % a;
}

/* A failed write or zeroing; a full medium is "no-space" (sysutil.h). */
static int write_failed(struct ota_slot_writer *w, int r, const char *what, uint64_t off, uint64_t len)
{
	(void)ota_error_errno(&w->err, r, "slot %s: %s '%s' at offset %llu (%llu bytes)", w->o.slot, what, w->o.path,
			      (unsigned long long)off, (unsigned long long)len);
	if (r == -ENOSPC)
		ota_error_classify(&w->err, OTA_REASON_NO_SPACE);
	return r;
}

/* Zeroes [off, off+len) (ALIGN-aligned) without sending zeros: 0, or
 * -EOPNOTSUPP when this slot cannot (the caller writes them instead). */
static int zero_range(struct ota_slot_writer *w, uint64_t off, uint64_t len)
{
	if (!w->zero_ok)
		return -EOPNOTSUPP;
	int r;
	if (w->o.is_blockdev) {
		uint64_t range[2] = { off, len };
		r = ioctl(w->o.fd, BLKZEROOUT, range) < 0 ? -errno : 0;
	} else {
		r = fallocate(w->o.fd, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, (off_t)off, (off_t)len) < 0 ? -errno : 0;
	}
	if (r == -EOPNOTSUPP || r == -EINVAL || r == -ENOTTY || r == -ENOSYS) {
		w->zero_ok = false;
		return -EOPNOTSUPP;
	}
	if (r < 0)
		return write_failed(w, r, "zero", off, len);
	w->stats.zeroed += len;
	return 0;
}

static int write_buffered(struct ota_slot_writer *w, const uint8_t *p, size_t len, uint64_t off)
{
	int r = len ? ota_pwrite_all(w->o.fd, p, len, off) : 0;
	return r < 0 ? write_failed(w, r, "write", off, len) : 0;
}

/* Data: whole aligned blocks with O_DIRECT (p is aligned as off is), the
 * partial blocks at either end through the page cache (the kernel keeps the
 * two coherent: a direct write writes back and drops the pages it covers). */
static int write_data(struct ota_slot_writer *w, const uint8_t *p, size_t len, uint64_t off)
{
	w->stats.written += len;
	if (w->dfd < 0)
		return write_buffered(w, p, len, off);
	size_t head = (size_t)((ALIGN - off % ALIGN) % ALIGN);
	if (head > len)
		head = len;
	size_t mid = (size_t)align_down(len - head, ALIGN);
	int r = write_buffered(w, p, head, off);
	if (r < 0 || mid == 0)
		return r < 0 ? r : write_buffered(w, p + head, len - head, off + head);
	r = ota_pwrite_all(w->dfd, p + head, mid, off + head);
	if (r == -EINVAL) {
		/* The file system takes no O_DIRECT at this alignment: page cache from now on. */
		(void)close(w->dfd);
		w->dfd = -1;
		w->stats.direct = false;
		return write_buffered(w, p + head, len - head, off + head);
	}
	if (r < 0)
		return write_failed(w, r, "write", off + head, mid);
	return write_buffered(w, p + head + mid, len - head - mid, off + head + mid);
}

/* A segment: data as data, zero runs of ZERO_MIN_RUN or more (whole blocks
 * of ZERO_BLOCK) by zero_range. */
static int write_segment(struct ota_slot_writer *w, const struct segment *s)
{
	const uint8_t *p = s->mem + s->lead;
	size_t i = 0;
	while (i < s->len) {
		/* [i, j): blocks of one kind, cut at ZERO_BLOCK boundaries of the image. */
		size_t j = i;
		bool zero = false;
		while (j < s->len) {
			size_t end = (size_t)(align_down(s->off + j, ZERO_BLOCK) + ZERO_BLOCK - s->off);
			if (end > s->len)
				end = s->len;
			bool z = end - j == ZERO_BLOCK && ota_all_zero(p + j, end - j);
			if (j > i && z != zero)
				break;
			zero = z;
			j = end;
		}
		int r = -EOPNOTSUPP;
		if (zero && j - i >= ZERO_MIN_RUN)
			r = zero_range(w, s->off + i, j - i);
		if (r == -EOPNOTSUPP)
			r = write_data(w, p + i, j - i, s->off + i);
		if (r < 0)
			return r;
		i = j;
	}
	if (w->o.checkpoint_every && s->chunk_bytes >= w->last_checkpoint + w->o.checkpoint_every) {
		if (fdatasync(w->o.fd) < 0)
			return ota_error_errno(&w->err, -errno, "slot %s: fdatasync '%s'", w->o.slot, w->o.path);
		w->last_checkpoint = s->chunk_bytes;
		if (w->o.durable)
			w->o.durable(w->o.userdata, s->chunks, s->chunk_bytes);
	}
	return 0;
}

static void *writer_main(void *arg)
{
	struct ota_slot_writer *w = arg;
	pthread_mutex_lock(&w->lock);
	for (;;) {
		while (w->queued == 0 && !w->closing && !w->stopping)
			pthread_cond_wait(&w->cond, &w->lock);
		if (w->stopping || w->queued == 0)
			break;
		struct segment *s = &w->ring[w->head];
		pthread_mutex_unlock(&w->lock);
		int r = write_segment(w, s);
		pthread_mutex_lock(&w->lock);
		w->head = (w->head + 1) % OTA_SLOT_SEGMENTS;
		w->queued--;
		if (r < 0)
			w->failed = r;
		pthread_cond_broadcast(&w->cond);
		if (r < 0)
			break;
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

struct ota_slot_writer *ota_slot_writer_free(struct ota_slot_writer *w)
{
	if (!w)
		return NULL;
	if (w->running) {
		pthread_mutex_lock(&w->lock);
		w->stopping = true;
		pthread_cond_broadcast(&w->cond);
		pthread_mutex_unlock(&w->lock);
		(void)pthread_join(w->thread, NULL);
	}
	for (unsigned i = 0; i < OTA_SLOT_SEGMENTS; i++)
		free(w->ring[i].mem);
	if (w->dfd >= 0)
		(void)close(w->dfd);
	pthread_cond_destroy(&w->cond);
	pthread_mutex_destroy(&w->lock);
	free(w);
	return NULL;
}

/* The same slot once more with O_DIRECT; -1 where it is not to be had (the
 * file system refuses it, or the path no longer names what fd is). */
static int open_direct(const struct ota_slot_writer_opts *o)
{
	int fd = open(o->path, O_WRONLY | O_DIRECT | O_CLOEXEC | (o->is_blockdev ? 0 : O_NOFOLLOW));
	if (fd < 0)
		return -1;
	struct stat a, b;
	if (fstat(fd, &a) < 0 || fstat(o->fd, &b) < 0 ||
	    (o->is_blockdev ? a.st_rdev != b.st_rdev : a.st_dev != b.st_dev || a.st_ino != b.st_ino)) {
		(void)close(fd);
		return -1;
	}
	return fd;
}

int ota_slot_writer_new(const struct ota_slot_writer_opts *o, struct ota_slot_writer **ret, struct ota_error *err)
{
	_cleanup_(ota_slot_writer_freep) struct ota_slot_writer *w = calloc(1, sizeof(*w));
	if (!w)
		return ota_error_set(err, -ENOMEM, "slot %s: out of memory for the writer", o->slot);
	w->o = *o;
	w->dfd = -1;
	w->zero_ok = true;
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->cond, NULL);
	for (unsigned i = 0; i < OTA_SLOT_SEGMENTS; i++) {
		void *m = NULL;
		if (posix_memalign(&m, ALIGN, OTA_SLOT_SEGMENT + ALIGN) != 0)
			return ota_error_set(err, -ENOMEM, "slot %s: out of memory for %u write buffers", o->slot,
					     OTA_SLOT_SEGMENTS);
		w->ring[i].mem = m;
	}
	w->dfd = open_direct(o);
	w->stats.direct = w->dfd >= 0;
	int r = pthread_create(&w->thread, NULL, writer_main, w);
	if (r != 0)
		return ota_error_errno(err, -r, "slot %s: start the writer thread", o->slot);
	w->running = true;
	*ret = TAKE_PTR(w);
	return 0;
}

/* Hands the segment being filled to the thread. */
static void submit(struct ota_slot_writer *w)
{
	if (!w->filling)
		return;
	struct segment *s = &w->ring[(w->head + w->queued) % OTA_SLOT_SEGMENTS];
	s->chunks = w->done_chunks;
	s->chunk_bytes = w->done_bytes;
	w->queued++;
	w->filling = false;
	pthread_cond_broadcast(&w->cond);
}

static int failure(struct ota_slot_writer *w, struct ota_error *err)
{
	if (err)
		*err = w->err;
	return w->failed;
}

int ota_slot_writer_put(struct ota_slot_writer *w, uint64_t offset, const void *data, size_t size, uint64_t chunks,
			struct ota_error *err)
{
	const uint8_t *p = data;
	pthread_mutex_lock(&w->lock);
	while (size > 0 && !w->failed) {
		if (!w->filling) {
			while (w->queued == OTA_SLOT_SEGMENTS && !w->failed)
				pthread_cond_wait(&w->cond, &w->lock);
			if (w->failed)
				break;
			struct segment *s = &w->ring[(w->head + w->queued) % OTA_SLOT_SEGMENTS];
			s->off = offset;
			s->lead = (size_t)(offset % ALIGN);
			s->len = 0;
			w->filling = true;
		}
		struct segment *s = &w->ring[(w->head + w->queued) % OTA_SLOT_SEGMENTS];
		if (s->off + s->len != offset) { /* a chunk was skipped: a new segment */
			submit(w);
			continue;
		}
		/* The caller's thread alone touches the segment being filled. */
		pthread_mutex_unlock(&w->lock);
		uint64_t boundary = align_down(s->off, OTA_SLOT_SEGMENT) + OTA_SLOT_SEGMENT;
		size_t n = boundary - offset < size ? (size_t)(boundary - offset) : size;
		memcpy(s->mem + s->lead + s->len, p, n);
		s->len += n;
		offset += n;
		p += n;
		size -= n;
		if (size == 0) {
			w->done_chunks = chunks;
			w->done_bytes = offset;
		}
		pthread_mutex_lock(&w->lock);
		if (offset == boundary)
			submit(w);
	}
	int r = w->failed ? failure(w, err) : 0;
	pthread_mutex_unlock(&w->lock);
	return r;
}

void ota_slot_writer_skip(struct ota_slot_writer *w, uint64_t chunks, uint64_t bytes)
{
	pthread_mutex_lock(&w->lock);
	submit(w);
	w->done_chunks = chunks;
	w->done_bytes = bytes;
	pthread_mutex_unlock(&w->lock);
}

int ota_slot_writer_finish(struct ota_slot_writer *w, struct ota_slot_writer_stats *ret_stats, struct ota_error *err)
{
	pthread_mutex_lock(&w->lock);
	submit(w);
	w->closing = true;
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->lock);
	(void)pthread_join(w->thread, NULL);
	w->running = false;
	int r = w->failed ? failure(w, err) : 0;
	if (r == 0 && ret_stats) {
		*ret_stats = w->stats;
		ret_stats->chunks = w->done_chunks;
		ret_stats->bytes = w->done_bytes;
	}
	ota_slot_writer_free(w);
	return r;
}

/* ---- read-back ---------------------------------------------------------------- */

#define READ_BLOCK (4u << 20)
#define VERIFY_BLOCK (2u << 20)

OTA_DEFINE_CLEANUP_FUNC(EVP_MD_CTX *, EVP_MD_CTX_free)

/* Reads [off, off+want) with O_DIRECT into buf (whole blocks: past the
 * image's end a block device is still the slot's, a file ends there). */
static ssize_t read_direct(int fd, uint8_t *buf, uint64_t off, uint64_t want)
{
	size_t n = (size_t)(want + (ALIGN - want % ALIGN) % ALIGN);
	ssize_t got = ota_pread_full(fd, buf, n, off);
	if (got >= 0 && (uint64_t)got < want)
		got = -ENODATA;
	return got < 0 ? got : (ssize_t)want;
}

/* The chunks read back, checked one by one in image order against the
 * verified table's entries: each is hashed on its own, and one that reads
 * back all zero is only compared (its hash is the remembered hash of that
 * many zeros, ota_chunk_is_zero). The table is verified against the signed
 * manifest, so this proves what the whole-image SHA-256 proved, and on a
 * mostly empty slot image at memory speed instead of SHA-256 speed. */
struct chunk_check {
	const struct ota_chunk_entry *chunks;
	uint64_t count;
	uint64_t k;        /* the chunk being read back */
	uint64_t offset;   /* its image offset */
	uint32_t in;       /* its bytes seen */
	bool zero;         /* all of them zero so far: not hashed yet */
	EVP_MD_CTX *md;
};

/* The bytes of chunk c->k seen so far were zero and these are not: hash
 * from the chunk's start. */
static int check_leave_zero(struct chunk_check *c)
{
	c->zero = false;
	if (!EVP_DigestInit_ex(c->md, EVP_sha256(), NULL))
		return -EIO;
	return ota_digest_zeros(c->md, c->in);
}

/* Chunk c->k is complete: 0 if it is what its entry says, -EBADMSG if not. */
static int check_end_chunk(struct chunk_check *c)
{
	const struct ota_chunk_entry *e = &c->chunks[c->k];
	uint8_t sha[32];
	bool ok;
	if (c->zero) {
		ok = ota_chunk_is_zero(e);
	} else {
		if (!EVP_DigestFinal_ex(c->md, sha, NULL))
			return -EIO;
		ok = memcmp(sha, e->sha256, 32) == 0;
	}
	if (!ok)
		return -EBADMSG;
	c->offset += e->usize;
	c->k++;
	c->in = 0;
	c->zero = true;
	return 0;
}

/* Feeds n bytes read back, in order. */
static int check_bytes(struct chunk_check *c, const uint8_t *p, size_t n)
{
	while (n > 0) {
		if (c->k >= c->count)
			return -EBADMSG; /* more image than chunks: not what was placed */
		const struct ota_chunk_entry *e = &c->chunks[c->k];
		size_t take = e->usize - c->in < n ? e->usize - c->in : n;
		int r = 0;
		if (c->zero && !ota_all_zero(p, take))
			r = check_leave_zero(c);
		if (r == 0 && !c->zero && !EVP_DigestUpdate(c->md, p, take))
			r = -EIO;
		if (r < 0)
			return r;
		c->in += (uint32_t)take;
		p += take;
		n -= take;
		if (c->in == e->usize && (r = check_end_chunk(c)) < 0)
			return r;
	}
	return 0;
}

struct ota_slot_verifier {
	const char *slot, *path;
	int fd;               /* O_DIRECT */
	uint64_t size;
	struct chunk_check check;
	uint8_t *buf;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	pthread_t thread;
	bool running;
	uint64_t durable;     /* bytes below are fdatasync'd and final */
	uint64_t hashed;      /* bytes below are read back and checked (the thread's) */
	bool final, stop;
	int failed;
	struct ota_error err;
};

static int verify_range(struct ota_slot_verifier *v, uint64_t off, uint64_t want)
{
	ssize_t got = read_direct(v->fd, v->buf, off, want);
	if (got < 0)
		return ota_error_errno(&v->err, got == -ENODATA ? -EIO : (int)got, "slot %s: read back '%s' at offset %llu%s",
				       v->slot, v->path, (unsigned long long)off, got == -ENODATA ? " (ends early)" : "");
	int r = check_bytes(&v->check, v->buf, (size_t)got);
	if (r == -EBADMSG)
		return ota_error_set_because(&v->err, OTA_REASON_READBACK_MISMATCH, -EIO,
					     "slot %s: chunk %llu (image offset %llu) read back from '%s' is not the chunk written",
					     v->slot, (unsigned long long)v->check.k, (unsigned long long)v->check.offset, v->path);
	if (r < 0)
		return ota_error_set(&v->err, -EIO, "slot %s: SHA-256 failed", v->slot);
	return 0;
}

static void *verifier_main(void *arg)
{
	struct ota_slot_verifier *v = arg;
	pthread_mutex_lock(&v->lock);
	while (!v->stop && !(v->final && v->hashed >= v->size)) {
		/* Before the end only whole blocks below the durable mark: O_DIRECT. */
		uint64_t limit = v->final ? v->size : align_down(v->durable, ALIGN);
		if (v->hashed >= limit) {
			pthread_cond_wait(&v->cond, &v->lock);
			continue;
		}
		uint64_t off = v->hashed, want = limit - off < VERIFY_BLOCK ? limit - off : VERIFY_BLOCK;
		pthread_mutex_unlock(&v->lock);
		int r = verify_range(v, off, want);
		pthread_mutex_lock(&v->lock);
		if (r < 0) {
			v->failed = r;
			break;
		}
		v->hashed = off + want;
	}
	pthread_mutex_unlock(&v->lock);
	return NULL;
}

struct ota_slot_verifier *ota_slot_verifier_free(struct ota_slot_verifier *v)
{
	if (!v)
		return NULL;
	if (v->running) {
		pthread_mutex_lock(&v->lock);
		v->stop = true;
		pthread_cond_broadcast(&v->cond);
		pthread_mutex_unlock(&v->lock);
		(void)pthread_join(v->thread, NULL);
	}
	if (v->fd >= 0)
		(void)close(v->fd);
	free(v->buf);
	EVP_MD_CTX_free(v->check.md);
	pthread_cond_destroy(&v->cond);
	pthread_mutex_destroy(&v->lock);
	free(v);
	return NULL;
}

int ota_slot_verifier_new(const char *slot, const char *path, bool nofollow, uint64_t size,
			  const struct ota_chunk_entry *chunks, uint64_t count, struct ota_slot_verifier **ret,
			  struct ota_error *err)
{
	_cleanup_(ota_slot_verifier_freep) struct ota_slot_verifier *v = calloc(1, sizeof(*v));
	if (!v)
		return ota_error_set(err, -ENOMEM, "slot %s: out of memory for the read-back", slot);
	*v = (struct ota_slot_verifier){ .slot = slot, .path = path, .size = size,
					 .check = { .chunks = chunks, .count = count, .zero = true } };
	pthread_mutex_init(&v->lock, NULL);
	pthread_cond_init(&v->cond, NULL);
	v->fd = open(path, O_RDONLY | O_CLOEXEC | O_DIRECT | (nofollow ? O_NOFOLLOW : 0));
	if (v->fd < 0)
		return ota_error_errno(err, errno == EINVAL ? -EOPNOTSUPP : -errno, "slot %s: open '%s' to verify", slot, path);
	v->check.md = EVP_MD_CTX_new();
	if (!v->check.md || posix_memalign((void **)&v->buf, ALIGN, VERIFY_BLOCK))
		return ota_error_set(err, -ENOMEM, "slot %s: out of memory for the read-back", slot);
	int r = pthread_create(&v->thread, NULL, verifier_main, v);
	if (r != 0)
		return ota_error_errno(err, -r, "slot %s: start the read-back thread", slot);
	v->running = true;
	*ret = TAKE_PTR(v);
	return 0;
}

void ota_slot_verifier_durable(struct ota_slot_verifier *v, uint64_t bytes)
{
	pthread_mutex_lock(&v->lock);
	if (bytes > v->durable)
		v->durable = bytes;
	pthread_cond_broadcast(&v->cond);
	pthread_mutex_unlock(&v->lock);
}

int ota_slot_verifier_finish(struct ota_slot_verifier *v, uint64_t *ret_early, struct ota_error *err)
{
	pthread_mutex_lock(&v->lock);
	uint64_t early = v->hashed;
	v->final = true;
	pthread_cond_broadcast(&v->cond);
	pthread_mutex_unlock(&v->lock);
	(void)pthread_join(v->thread, NULL);
	v->running = false;
	if (v->failed) {
		if (err)
			*err = v->err;
		return v->failed;
	}
	if (v->check.k != v->check.count || v->check.in != 0)
		return ota_error_set_because(err, OTA_REASON_READBACK_MISMATCH, -EIO,
					     "slot %s: read back %llu of %llu chunks from '%s': the image ends early",
					     v->slot, (unsigned long long)v->check.k, (unsigned long long)v->check.count, v->path);
	if (ret_early)
		*ret_early = early;
	return 0;
}

/* The whole read-back at once: two buffers, the thread reads into one
 * while the caller hashes the other. */

struct readback {
	int fd;
	uint64_t size;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	uint8_t *buf[2];
	ssize_t got[2];   /* bytes in buf[i] (>= 0), a -errno; valid while full[i] */
	bool full[2];
	bool stop;
};

static void *readback_main(void *arg)
{
	struct readback *rb = arg;
	unsigned k = 0;
	for (uint64_t off = 0; off < rb->size; off += READ_BLOCK, k ^= 1) {
		pthread_mutex_lock(&rb->lock);
		while (rb->full[k] && !rb->stop)
			pthread_cond_wait(&rb->cond, &rb->lock);
		bool stop = rb->stop;
		pthread_mutex_unlock(&rb->lock);
		if (stop)
			break;
		uint64_t want = rb->size - off < READ_BLOCK ? rb->size - off : READ_BLOCK;
		ssize_t got = read_direct(rb->fd, rb->buf[k], off, want);
		pthread_mutex_lock(&rb->lock);
		rb->got[k] = got;
		rb->full[k] = true;
		pthread_cond_broadcast(&rb->cond);
		pthread_mutex_unlock(&rb->lock);
		if (got < 0)
			break;
	}
	return NULL;
}

static int hash_with_thread(struct readback *rb, const char *slot, const char *path, EVP_MD_CTX *md,
			    struct ota_error *err)
{
	pthread_t th;
	int r = pthread_create(&th, NULL, readback_main, rb);
	if (r != 0)
		return ota_error_errno(err, -r, "slot %s: start the read-back thread", slot);
	unsigned k = 0;
	r = 0;
	for (uint64_t off = 0; off < rb->size; off += READ_BLOCK, k ^= 1) {
		pthread_mutex_lock(&rb->lock);
		while (!rb->full[k])
			pthread_cond_wait(&rb->cond, &rb->lock);
		ssize_t got = rb->got[k];
		pthread_mutex_unlock(&rb->lock);
		if (got < 0) {
			r = ota_error_errno(err, got == -ENODATA ? -EIO : (int)got, "slot %s: read back '%s' at offset %llu%s",
					    slot, path, (unsigned long long)off, got == -ENODATA ? " (ends early)" : "");
			break;
		}
		if (!EVP_DigestUpdate(md, rb->buf[k], (size_t)got)) {
			r = ota_error_set(err, -EIO, "slot %s: SHA-256 failed", slot);
			break;
		}
		pthread_mutex_lock(&rb->lock);
		rb->full[k] = false;
		pthread_cond_broadcast(&rb->cond);
		pthread_mutex_unlock(&rb->lock);
	}
	pthread_mutex_lock(&rb->lock);
	rb->stop = true;
	pthread_cond_broadcast(&rb->cond);
	pthread_mutex_unlock(&rb->lock);
	(void)pthread_join(th, NULL);
	return r;
}

int ota_slot_read_back(const char *slot, const char *path, bool nofollow, uint64_t size, uint8_t ret[32],
		       struct ota_error *err)
{
	int flags = O_RDONLY | O_CLOEXEC | (nofollow ? O_NOFOLLOW : 0);
	_cleanup_close_ int fd = open(path, flags | O_DIRECT);
	bool direct = fd >= 0;
	if (fd < 0 && errno == EINVAL)
		fd = open(path, flags);
	if (fd < 0)
		return ota_error_errno(err, -errno, "slot %s: open '%s' to verify", slot, path);
	if (!direct) {
		/* No O_DIRECT here (tmpfs, some FUSE): drop the clean cached pages
		 * (everything is clean after the caller's fsync) so that the reads
		 * below go to the medium where there is one. */
		(void)fdatasync(fd);
		(void)posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
	}
	_cleanup_(EVP_MD_CTX_freep) EVP_MD_CTX *md = EVP_MD_CTX_new();
	if (!md || !EVP_DigestInit_ex(md, EVP_sha256(), NULL))
		return ota_error_set(err, -ENOMEM, "slot %s: SHA-256 setup failed", slot);
	struct readback rb = { .fd = fd, .size = size };
	int r = 0;
	for (unsigned i = 0; i < 2 && r == 0; i++)
		if (posix_memalign((void **)&rb.buf[i], ALIGN, READ_BLOCK) != 0)
			r = ota_error_set(err, -ENOMEM, "slot %s: out of memory for the read-back", slot);
	if (r == 0) {
		pthread_mutex_init(&rb.lock, NULL);
		pthread_cond_init(&rb.cond, NULL);
		r = hash_with_thread(&rb, slot, path, md, err);
		pthread_cond_destroy(&rb.cond);
		pthread_mutex_destroy(&rb.lock);
	}
	free(rb.buf[0]);
	free(rb.buf[1]);
	if (r < 0)
		return r;
	if (!EVP_DigestFinal_ex(md, ret, NULL))
		return ota_error_set(err, -EIO, "slot %s: SHA-256 failed", slot);
	return 0;
}

/* SPDX-License-Identifier: Apache-2.0 */
/* update/chunk-index.c: the local chunk index, made by scanning a slot and
 * saved to and loaded from its OTAIDX1 file, used only for the image the
 * status file records installed in that slot. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/evp.h>
#include <sys/stat.h>

#include "test.h"
#include "update/chunk-index.h"

struct fixture {
	char dir[TEST_DIR_MAX], status[PATH_MAX], index[PATH_MAX];
	struct ota_manifest_payload p;
	struct ota_chunk_entry table[3];
};

/* A payload of three chunks (100, 7 and 4000 bytes) recorded installed in slot root-a. */
static bool setup(struct fixture *f)
{
	*f = (struct fixture){ .p = { .chunker = OTA_CHUNKER_BUZHASH, .chunk_avg = 65536, .chunk_count = 3 } };
	if (test_mkdtemp(f->dir, sizeof(f->dir), "chunk-index") < 0)
		return false;
	snprintf(f->status, sizeof(f->status), "%s/slots.json", f->dir);
	snprintf(f->index, sizeof(f->index), "%s/index/root-a.idx", f->dir);
	const uint32_t sizes[3] = { 100, 7, 4000 };
	for (unsigned i = 0; i < 3; i++) {
		memset(f->table[i].sha256, 0x10 + i, 32);
		f->table[i].usize = sizes[i];
		f->p.image_size += sizes[i];
	}
	memset(f->p.image_sha256, 0xab, 32);
	struct ota_slot_record rec = { .name = "root-a", .state = OTA_SLOT_INSTALLED, .size = f->p.image_size };
	ota_bundle_hex(f->p.image_sha256, rec.sha256);
	return ota_update_status_write(f->status, &rec, 1, NULL) == 0;
}

TEST(chunk_index_saved_loads_with_every_chunk_at_its_image_offset)
{
	struct fixture f;
	ASSERT_TRUE(setup(&f));
	ota_chunk_index_save(f.status, "root-a", &f.p, f.table);
	struct stat st;
	ASSERT_INT_EQ(stat(f.index, &st), 0);
	ASSERT_INT_EQ(st.st_size, 56 + 3 * 44);
	_cleanup_(ota_chunk_index_done) struct ota_chunk_index ix = { 0 };
	ASSERT_INT_EQ(ota_chunk_index_load(f.status, "root-a", &f.p, &ix), 1);
	ASSERT_INT_EQ(ix.n, 3);
	const uint64_t offsets[3] = { 0, 100, 107 };
	for (unsigned i = 0; i < 3; i++) {
		const struct ota_chunk_index_entry *e = ota_chunk_index_find(&ix, &f.table[i]);
		ASSERT_TRUE(e != NULL);
		ASSERT_INT_EQ(e->offset, offsets[i]);
		ASSERT_INT_EQ(e->size, f.table[i].usize);
	}
	struct ota_chunk_entry other = f.table[0];
	other.usize = 101; /* same hash, other size: not that chunk */
	ASSERT_NULL(ota_chunk_index_find(&ix, &other));
}

/* Each: an index that must not be used; load says 0 and leaves ix as it was. */
TEST(chunk_index_of_another_image_chunker_or_state_is_not_loaded)
{
	struct fixture f;
	ASSERT_TRUE(setup(&f));
	ota_chunk_index_save(f.status, "root-a", &f.p, f.table);
	struct ota_chunk_index ix = { 0 };
	struct ota_manifest_payload p = f.p;
	p.chunk_avg = 32768;
	ASSERT_INT_EQ(ota_chunk_index_load(f.status, "root-a", &p, &ix), 0);
	p = f.p;
	p.chunker = OTA_CHUNKER_FIXED;
	ASSERT_INT_EQ(ota_chunk_index_load(f.status, "root-a", &p, &ix), 0);
	ASSERT_INT_EQ(ota_chunk_index_load(f.status, "root-b", &f.p, &ix), 0); /* no record, no file */
	ASSERT_INT_EQ(ix.n, 0);

	/* The slot now holds another image, or one being written. */
	struct ota_slot_record rec = { .name = "root-a", .state = OTA_SLOT_INSTALLED };
	memset(rec.sha256, 'c', 64);
	ASSERT_INT_EQ(ota_update_status_write(f.status, &rec, 1, NULL), 0);
	ASSERT_INT_EQ(ota_chunk_index_load(f.status, "root-a", &f.p, &ix), 0);
	ota_bundle_hex(f.p.image_sha256, rec.sha256);
	rec.state = OTA_SLOT_INSTALLING;
	ASSERT_INT_EQ(ota_update_status_write(f.status, &rec, 1, NULL), 0);
	ASSERT_INT_EQ(ota_chunk_index_load(f.status, "root-a", &f.p, &ix), 0);
	rec.state = OTA_SLOT_INSTALLED;
	ASSERT_INT_EQ(ota_update_status_write(f.status, &rec, 1, NULL), 0);
	ASSERT_INT_EQ(ota_chunk_index_load(f.status, "root-a", &f.p, &ix), 1);
	ota_chunk_index_done(&ix);
}

TEST(chunk_index_file_cut_short_or_grown_is_not_loaded)
{
	struct fixture f;
	ASSERT_TRUE(setup(&f));
	ota_chunk_index_save(f.status, "root-a", &f.p, f.table);
	struct ota_chunk_index ix = { 0 };
	ASSERT_INT_EQ(truncate(f.index, 56 + 3 * 44 - 1), 0);
	ASSERT_INT_EQ(ota_chunk_index_load(f.status, "root-a", &f.p, &ix), 0);
	ASSERT_INT_EQ(truncate(f.index, 55), 0); /* not even a header */
	ASSERT_INT_EQ(ota_chunk_index_load(f.status, "root-a", &f.p, &ix), 0);
	ASSERT_INT_EQ(truncate(f.index, 56 + 4 * 44), 0);
	ASSERT_INT_EQ(ota_chunk_index_load(f.status, "root-a", &f.p, &ix), 0);
	ASSERT_INT_EQ(ix.n, 0);
}

/* size pseudo-random bytes from seed (an LCG: reproducible, no repeats). */
static uint8_t *lcg_bytes(size_t size, uint32_t seed)
{
	uint8_t *data = malloc(size);
	for (size_t i = 0; data && i < size; i++) {
		seed = seed * 1103515245u + 12345u;
		data[i] = (uint8_t)(seed >> 16);
	}
	return data;
}

/* A scan of a slot indexes the chunks the payload's chunker cuts: the whole
 * slot, each chunk findable by its hash at its offset. */
TEST(chunk_index_scan_covers_the_slot_in_chunks_found_by_hash)
{
	char dir[TEST_DIR_MAX], path[PATH_MAX];
	ASSERT_INT_EQ(test_mkdtemp(dir, sizeof(dir), "scan"), 0);
	snprintf(path, sizeof(path), "%s/slot.img", dir);
	const size_t size = 3u << 20;
	_cleanup_free_ uint8_t *data = lcg_bytes(size, 12345);
	ASSERT_TRUE(data != NULL);
	ASSERT_INT_EQ(ota_write_file_atomic(path, data, size, 0644, NULL), 0);
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	ASSERT_TRUE(fd >= 0);
	struct ota_manifest_payload p = { .chunker = OTA_CHUNKER_BUZHASH, .chunk_avg = 65536 };
	_cleanup_(ota_chunk_index_done) struct ota_chunk_index ix = { 0 };
	struct ota_error err = { 0 };
	ASSERT_INT_EQ(ota_chunk_index_scan(fd, -1, size, &p, 4u << 20, &ix, "root-a", &err), 0);
	ASSERT_TRUE(ix.n > 1);
	uint64_t total = 0;
	for (size_t i = 0; i < ix.n; i++) {
		const struct ota_chunk_index_entry *c = &ix.v[i];
		struct ota_chunk_entry e = { .usize = c->size };
		ASSERT_TRUE(EVP_Digest(data + c->offset, c->size, e.sha256, NULL, EVP_sha256(), NULL));
		const struct ota_chunk_index_entry *found = ota_chunk_index_find(&ix, &e);
		ASSERT_TRUE(found != NULL && found->offset == c->offset);
		total += c->size;
	}
	ASSERT_INT_EQ(total, size);
}

/* A slot larger than two of the scan's buffers (cut on one thread, hashed
 * on another, the unfinished chunk carried over, placed to keep the next
 * read aligned): the index holds exactly the chunks one pass of the chunker
 * over the whole slot cuts. direct: read with O_DIRECT too, its tail (not a
 * multiple of any block size) refused and read through the page cache.
 * *no_direct: O_DIRECT is not to be had in the test directory. */
static void scan_cuts_as_one_pass(bool direct, bool *no_direct)
{
	char dir[TEST_DIR_MAX], path[PATH_MAX];
	ASSERT_INT_EQ(test_mkdtemp(dir, sizeof(dir), "scan2"), 0);
	snprintf(path, sizeof(path), "%s/slot.img", dir);
	const size_t size = (19u << 20) + 12345u;
	_cleanup_free_ uint8_t *data = lcg_bytes(size, 777);
	ASSERT_TRUE(data != NULL);
	memset(data + (9u << 20), 0, 1u << 20); /* cuts at max across a buffer's end */
	ASSERT_INT_EQ(ota_write_file_atomic(path, data, size, 0644, NULL), 0);
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	ASSERT_TRUE(fd >= 0);
	_cleanup_close_ int dfd = direct ? open(path, O_RDONLY | O_CLOEXEC | O_DIRECT) : -1;
	*no_direct = direct && dfd < 0;
	if (*no_direct)
		return;
	struct ota_manifest_payload p = { .chunker = OTA_CHUNKER_BUZHASH, .chunk_avg = 16384 };
	_cleanup_(ota_chunk_index_done) struct ota_chunk_index ix = { 0 };
	struct ota_error err = { 0 };
	ASSERT_INT_EQ(ota_chunk_index_scan(fd, dfd, size, &p, 65536, &ix, "root-a", &err), 0);
	struct ota_chunker ch;
	ASSERT_INT_EQ(ota_chunker_init(&ch, OTA_CHUNKER_BUZHASH, 16384), 0);
	size_t pos = 0, n = 0;
	while (pos < size) {
		size_t k = ota_chunker_scan(&ch, data + pos, size - pos);
		size_t len = k == SIZE_MAX ? size - pos : k;
		struct ota_chunk_entry e = { .usize = (uint32_t)len };
		ASSERT_TRUE(EVP_Digest(data + pos, len, e.sha256, NULL, EVP_sha256(), NULL));
		bool found = false; /* the zero chunks are alike: look for this one's offset */
		for (size_t i = 0; i < ix.n && !found; i++)
			found = ix.v[i].offset == pos && ix.v[i].size == len && memcmp(ix.v[i].sha, e.sha256, 32) == 0;
		ASSERT_TRUE(found);
		pos += len;
		n++;
	}
	ASSERT_INT_EQ(ix.n, n);
}

TEST(chunk_index_scan_across_buffers_cuts_as_one_pass)
{
	bool no_direct;
	scan_cuts_as_one_pass(false, &no_direct);
}

TEST(chunk_index_scan_with_o_direct_cuts_as_one_pass)
{
	bool no_direct = false;
	scan_cuts_as_one_pass(true, &no_direct);
	if (no_direct)
		SKIP("O_DIRECT is not to be had in the test directory");
}

/* A slot whose bytes are 10 chunks of 1,000 bytes; the new image's table
 * names 6 of them, moved, in runs of the bundle's moves. */
struct moves_fixture {
	char dir[TEST_DIR_MAX], path[PATH_MAX];
	uint8_t *slot;
	struct ota_manifest_payload p;
	struct ota_chunk_entry table[6];
	struct ota_chunk_move moves[4];
};

static void sha_of(const uint8_t *data, size_t size, uint8_t out[32])
{
	ASSERT_TRUE(EVP_Digest(data, size, out, NULL, EVP_sha256(), NULL));
}

/* New image: chunks 0-1 = slot chunks 5-6, chunk 2 new, chunks 3-5 = slot
 * chunks 1-3. Moves of base 1 say so; base 0's runs are of another image;
 * base 2 (a release of the same layout) holds chunk 0 at 8000 too. */
static void moves_setup(struct moves_fixture *f)
{
	ASSERT_INT_EQ(test_mkdtemp(f->dir, sizeof(f->dir), "moves"), 0);
	snprintf(f->path, sizeof(f->path), "%s/slot.img", f->dir);
	f->slot = lcg_bytes(10000, 4242);
	ASSERT_TRUE(f->slot != NULL);
	memcpy(f->slot + 8000, f->slot + 5000, 1000);
	ASSERT_INT_EQ(ota_write_file_atomic(f->path, f->slot, 10000, 0644, NULL), 0);
	const int from[6] = { 5, 6, -1, 1, 2, 3 };
	_cleanup_free_ uint8_t *fresh = lcg_bytes(1000, 99);
	for (unsigned i = 0; i < 6; i++) {
		f->table[i].usize = 1000;
		sha_of(from[i] < 0 ? fresh : f->slot + from[i] * 1000, 1000, f->table[i].sha256);
	}
	f->moves[0] = (struct ota_chunk_move){ .chunk = 0, .count = 6, .base = 0, .base_offset = 123 };
	f->moves[1] = (struct ota_chunk_move){ .chunk = 0, .count = 2, .base = 1, .base_offset = 5000 };
	f->moves[2] = (struct ota_chunk_move){ .chunk = 3, .count = 3, .base = 1, .base_offset = 1000 };
	f->moves[3] = (struct ota_chunk_move){ .chunk = 0, .count = 1, .base = 2, .base_offset = 8000 };
	f->p = (struct ota_manifest_payload){ .chunker = OTA_CHUNKER_BUZHASH, .chunk_avg = 4096, .chunk_count = 6,
					      .image_size = 6000, .moves = f->moves, .n_moves = 4 };
}

/* The earlier images the slot holds are found by probing their runs (base
 * 0's are not there), and their runs become the index, without a scan; a
 * chunk two of them place is found at both places. */
TEST(chunk_index_from_moves_uses_the_earlier_image_the_slot_holds)
{
	struct moves_fixture f;
	moves_setup(&f);
	_cleanup_free_ uint8_t *slot = f.slot, *buf = malloc(4000);
	_cleanup_close_ int fd = open(f.path, O_RDONLY | O_CLOEXEC);
	ASSERT_TRUE(fd >= 0);
	_cleanup_(ota_chunk_index_done) struct ota_chunk_index ix = { 0 };
	ASSERT_INT_EQ(ota_chunk_index_from_moves(fd, 10000, &f.p, f.table, buf, &ix), 1);
	ASSERT_INT_EQ(ix.n, 6);
	const struct ota_chunk_index_entry *first = ota_chunk_index_find(&ix, &f.table[0]);
	const struct ota_chunk_index_entry *second = first ? ota_chunk_index_next(&ix, first) : NULL;
	ASSERT_TRUE(second != NULL && ota_chunk_index_next(&ix, second) == NULL);
	ASSERT_TRUE((first->offset == 5000 && second->offset == 8000) || (first->offset == 8000 && second->offset == 5000));
	const uint64_t at[6] = { 5000, 6000, 0, 1000, 2000, 3000 };
	for (unsigned i = 0; i < 6; i++) {
		const struct ota_chunk_index_entry *e = ota_chunk_index_find(&ix, &f.table[i]);
		if (i == 2) {
			ASSERT_NULL(e);
			continue;
		}
		ASSERT_TRUE(e != NULL);
		ASSERT_TRUE(e->offset == at[i] || (i == 0 && e->offset == 8000));
	}
	/* A slot that holds neither (one byte changed in each run's first
	 * chunk, where the probes look): no index, the caller scans. */
	slot[5000] ^= 1;
	slot[1000] ^= 1;
	slot[8000] ^= 1;
	ASSERT_INT_EQ(ota_write_file_atomic(f.path, slot, 10000, 0644, NULL), 0);
	_cleanup_close_ int fd2 = open(f.path, O_RDONLY | O_CLOEXEC);
	_cleanup_(ota_chunk_index_done) struct ota_chunk_index none = { 0 };
	ASSERT_INT_EQ(ota_chunk_index_from_moves(fd2, 10000, &f.p, f.table, buf, &none), 0);
	ASSERT_INT_EQ(none.n, 0);
	/* Runs that point past the slot's end, or past 2^64, probe as absent. */
	slot[5000] ^= 1;
	slot[1000] ^= 1;
	slot[8000] ^= 1;
	f.p.n_moves = 3; /* base 2 left out */
	ASSERT_INT_EQ(ota_write_file_atomic(f.path, slot, 10000, 0644, NULL), 0);
	_cleanup_close_ int fd3 = open(f.path, O_RDONLY | O_CLOEXEC);
	f.moves[2].base_offset = UINT64_MAX - 500;
	ASSERT_INT_EQ(ota_chunk_index_from_moves(fd3, 10000, &f.p, f.table, buf, &none), 0);
	f.moves[2].base_offset = 9500;
	ASSERT_INT_EQ(ota_chunk_index_from_moves(fd3, 10000, &f.p, f.table, buf, &none), 0);
	f.p.n_moves = 0;
	ASSERT_INT_EQ(ota_chunk_index_from_moves(fd3, 10000, &f.p, f.table, buf, &none), 0);
}

/* SPDX-License-Identifier: Apache-2.0 */
/* update/slot-io.c's read-back (ota_slot_verifier): every chunk read back
 * from the medium is checked against its table entry, all-zero ones by
 * comparison; the first chunk that differs is named, whether it should be
 * zeros or data, and a table that does not cover the image is refused. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>

#include "bundle/bundle.h"
#include "test.h"
#include "update/slot-io.h"

/* Chunk sizes: zeros, data, zeros, zeros but for the last byte, zeros of an odd size. */
#define CHUNKS 5
static const uint32_t sizes[CHUNKS] = { 256 << 10, 100000, 3 << 20, 65536, 4097 };

struct image {
	char dir[TEST_DIR_MAX], path[PATH_MAX];
	uint8_t *bytes;
	uint64_t size;
	struct ota_chunk_entry table[CHUNKS];
};

static void image_free(struct image *m)
{
	free(m->bytes);
}

static uint64_t chunk_offset(unsigned k)
{
	uint64_t off = 0;
	for (unsigned i = 0; i < k; i++)
		off += sizes[i];
	return off;
}

static bool write_image(const struct image *m)
{
	int fd = open(m->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	bool ok = fd >= 0 && ota_write_all(fd, m->bytes, m->size) == 0 && fsync(fd) == 0;
	if (fd >= 0)
		close(fd);
	return ok;
}

/* The image as written and its table, the file on the medium. */
static bool setup(struct image *m)
{
	*m = (struct image){ .size = chunk_offset(CHUNKS) };
	if (test_mkdtemp(m->dir, sizeof(m->dir), "slot-io") < 0)
		return false;
	snprintf(m->path, sizeof(m->path), "%s/slot.img", m->dir);
	m->bytes = calloc(1, m->size);
	if (!m->bytes)
		return false;
	uint8_t *data = m->bytes + chunk_offset(1);
	for (uint32_t i = 0; i < sizes[1]; i++)
		data[i] = (uint8_t)(i * 2654435761u >> 24);
	m->bytes[chunk_offset(4) - 1] = 0x5a;
	for (unsigned k = 0; k < CHUNKS; k++) {
		m->table[k].usize = sizes[k];
		if (ota_sha256(m->bytes + chunk_offset(k), sizes[k], m->table[k].sha256) < 0)
			return false;
	}
	return write_image(m);
}

/* Reads back with the verifier, half of it "while writing"; its result and message. */
static int read_back(const struct image *m, const struct ota_chunk_entry *table, uint64_t count, struct ota_error *err)
{
	struct ota_slot_verifier *v = NULL;
	int r = ota_slot_verifier_new("system-b", m->path, true, m->size, table, count, &v, err);
	if (r < 0)
		return r;
	ota_slot_verifier_durable(v, m->size / 2);
	uint64_t early = 0;
	r = ota_slot_verifier_finish(v, &early, err);
	ota_slot_verifier_free(v);
	return r;
}

/* tmpfs and some others refuse O_DIRECT: the verifier is not used there. */
#define SETUP_OR_SKIP(m)                                                                    \
	do {                                                                                \
		ASSERT_TRUE(setup(m));                                                      \
		struct ota_error e_ = { 0 };                                                \
		struct ota_slot_verifier *v_ = NULL;                                        \
		int r_ = ota_slot_verifier_new("x", (m)->path, true, 0, NULL, 0, &v_, &e_); \
		ota_slot_verifier_free(v_);                                                 \
		if (r_ == -EOPNOTSUPP) {                                                    \
			image_free(m);                                                      \
			SKIP("%s takes no O_DIRECT", (m)->dir);                             \
		}                                                                           \
	} while (0)

TEST(read_back_accepts_every_chunk_as_written)
{
	struct image m;
	SETUP_OR_SKIP(&m);
	struct ota_error err = { 0 };
	ASSERT_INT_EQ(read_back(&m, m.table, CHUNKS, &err), 0);
	image_free(&m);
}

/* Byte `at` changed on the medium to value (-1: inverted), in chunk k: the
 * read-back must name chunk k. NULL if it does, else what went wrong. */
static const char *mismatch_named(unsigned k, uint64_t at, int value, char *why, size_t size)
{
	struct image m;
	if (!setup(&m))
		return "setup failed";
	m.bytes[at] = value < 0 ? (uint8_t)~m.bytes[at] : (uint8_t)value;
	struct ota_error err = { 0 };
	int r = write_image(&m) ? read_back(&m, m.table, CHUNKS, &err) : -EIO;
	char want[64];
	snprintf(want, sizeof(want), "chunk %u (image offset %llu)", k, (unsigned long long)chunk_offset(k));
	image_free(&m);
	if (r == -EIO && err.reason == OTA_REASON_READBACK_MISMATCH && strstr(err.msg, want))
		return NULL;
	snprintf(why, size, "byte %llu changed: %d '%s', want a mismatch naming '%s'", (unsigned long long)at, r,
		 err.msg, want);
	return why;
}

TEST(read_back_names_the_chunk_that_differs_zeros_or_data)
{
	struct image m;
	SETUP_OR_SKIP(&m);
	image_free(&m);
	char why[700];
#define ASSERT_NAMED(...)                                    \
	do {                                                 \
		const char *w_ = mismatch_named(__VA_ARGS__); \
		if (w_)                                      \
			FAIL_AT("%s", w_);                   \
	} while (0)
	ASSERT_NAMED(0, 0, -1, why, sizeof(why));                   /* zeros: the first byte */
	ASSERT_NAMED(2, chunk_offset(3) - 1, -1, why, sizeof(why)); /* zeros: the last byte */
	ASSERT_NAMED(1, chunk_offset(1) + 5000, -1, why, sizeof(why)); /* data */
	ASSERT_NAMED(3, chunk_offset(3) + 10, -1, why, sizeof(why));   /* data after zeros */
	/* A chunk of zeros but its last byte, read back all zero. */
	ASSERT_NAMED(3, chunk_offset(4) - 1, 0, why, sizeof(why));
	ASSERT_NAMED(4, chunk_offset(4) + 4096, -1, why, sizeof(why)); /* the odd-sized last one */
}

TEST(read_back_refuses_a_table_that_does_not_cover_the_image)
{
	struct image m;
	SETUP_OR_SKIP(&m);
	struct ota_error err = { 0 };
	ASSERT_INT_EQ(read_back(&m, m.table, CHUNKS - 1, &err), -EIO); /* more image than chunks */
	ASSERT_INT_EQ(err.reason, OTA_REASON_READBACK_MISMATCH);
	struct ota_chunk_entry longer[CHUNKS + 1];
	memcpy(longer, m.table, sizeof(m.table));
	longer[CHUNKS] = m.table[0];
	err = (struct ota_error){ 0 };
	ASSERT_INT_EQ(read_back(&m, longer, CHUNKS + 1, &err), -EIO); /* the image ends early */
	ASSERT_CONTAINS(err.msg, "ends early");
	image_free(&m);
}

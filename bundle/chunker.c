/* SPDX-License-Identifier: Apache-2.0 */
/* Content-defined chunking: buzhash over a 48-byte window with casync's size
 * parameters, as a pure function over buffers (no allocation, no I/O). The
 * table is our own (splitmix64, see docs/bundle-format.md), so cut points are
 * reproducible from the spec alone. */
#include <errno.h>
#include <string.h>

#include "bundle/bundle.h"

static const uint32_t buzhash_table[256] = {
#include "bundle/buzhash-table.inc"
};

static inline uint32_t rol32(uint32_t x, unsigned n)
{
	n &= 31;
	return n ? (x << n) | (x >> (32 - n)) : x;
}

uint32_t ota_buzhash(const void *p, size_t n)
{
	const uint8_t *q = p;
	uint32_t h = 0;
	for (size_t i = 0; i < n; i++)
		h ^= rol32(buzhash_table[q[i]], (unsigned)(n - i - 1));
	return h;
}

uint32_t ota_buzhash_roll(uint32_t h, uint8_t out, uint8_t in)
{
	return rol32(h, 1) ^ rol32(buzhash_table[out], OTA_CHUNKER_WINDOW) ^ buzhash_table[in];
}

/* casync's calibration: with this discriminator the mean chunk size lands on
 * avg when min = avg/4 and max = 4*avg. */
size_t ota_chunker_discriminator(size_t avg)
{
	return (size_t)((double)avg / (-1.42888852e-7 * (double)avg + 1.33237515));
}

static inline bool is_cut_hash(const struct ota_chunker *c, uint32_t h)
{
	if (h == UINT32_MAX)
		return c->cut_at_all_ones;
	return (uint64_t)(h + 1u) * c->cut_mul <= c->cut_mul - 1;
}

static bool is_pow2(size_t x)
{
	return x && !(x & (x - 1));
}

int ota_chunker_init(struct ota_chunker *c, enum ota_chunker_kind kind, size_t avg)
{
	if (!is_pow2(avg) || avg < OTA_BUNDLE_MIN_CHUNK_AVG)
		return -ERANGE;
	memset(c, 0, sizeof(*c));
	c->avg = avg;
	switch (kind) {
	case OTA_CHUNKER_FIXED:
		if (avg > OTA_BUNDLE_MAX_CHUNK)
			return -ERANGE;
		c->min = c->max = avg;
		return 0;
	case OTA_CHUNKER_BUZHASH:
		if (avg > OTA_BUNDLE_MAX_CHUNK / 4)
			return -ERANGE;
		c->min = avg / 4;
		c->max = avg * 4;
		c->discriminator = ota_chunker_discriminator(avg);
		c->cut_mul = UINT64_MAX / c->discriminator + 1;
		c->cut_at_all_ones = UINT32_MAX % c->discriminator == c->discriminator - 1;
		c->zero_h = ota_buzhash(c->window, OTA_CHUNKER_WINDOW); /* still all zero */
		c->zero_skip = !is_cut_hash(c, c->zero_h);
		return 0;
	}
	return -EINVAL;
}

static size_t cut(struct ota_chunker *c, size_t at)
{
	c->h = 0;
	c->hashing = false;
	c->window_pos = 0;
	c->chunk_size = 0;
	return at;
}

static bool shall_cut(const struct ota_chunker *c)
{
	if (c->chunk_size >= c->max)
		return true;
	return is_cut_hash(c, c->h);
}

static const uint8_t zero_window[OTA_CHUNKER_WINDOW];

/* How many of p[0..n) are zero bytes, from the start. */
static size_t zero_run(const uint8_t *p, size_t n)
{
	size_t i = 0;
	while (i < n && ((uintptr_t)(p + i) & 7))
		if (p[i++])
			return i - 1;
	for (uint64_t w; i + 8 <= n; i += 8) {
		memcpy(&w, p + i, 8);
		if (w)
			break;
	}
	while (i < n && !p[i])
		i++;
	return i;
}

size_t ota_chunker_scan(struct ota_chunker *c, const void *p, size_t n)
{
	const uint8_t *q = p;
	size_t i = 0;

	if (c->discriminator == 0) { /* fixed size */
		size_t need = c->max - c->chunk_size;
		if (n < need) {
			c->chunk_size += n;
			return SIZE_MAX;
		}
		return cut(c, need);
	}

	if (!c->hashing) {
		/* Bytes before min - 48 never enter the window that decides the
		 * first possible cut at min, so they need no hashing. */
		size_t skip_to = c->min - OTA_CHUNKER_WINDOW;
		if (c->chunk_size < skip_to) {
			size_t k = skip_to - c->chunk_size < n ? skip_to - c->chunk_size : n;
			c->chunk_size += k;
			i += k;
		}
		size_t k = OTA_CHUNKER_WINDOW - c->window_pos;
		if (k > n - i)
			k = n - i;
		memcpy(c->window + c->window_pos, q + i, k);
		c->window_pos += k;
		c->chunk_size += k;
		i += k;
		if (c->window_pos < OTA_CHUNKER_WINDOW)
			return SIZE_MAX;
		c->hashing = true;
		c->window_pos = 0;
		c->h = ota_buzhash(c->window, OTA_CHUNKER_WINDOW);
		if (shall_cut(c))
			return cut(c, i);
	}

	uint32_t h = c->h;
	size_t pos = c->window_pos, size = c->chunk_size;
	const size_t max = c->max;
	while (i < n) {
		uint8_t in = q[i++];
		h = ota_buzhash_roll(h, c->window[pos], in);
		c->window[pos] = in;
		if (++pos == OTA_CHUNKER_WINDOW)
			pos = 0;
		size++;
		if (size >= max || is_cut_hash(c, h))
			return cut(c, i);
		if (h == c->zero_h && c->zero_skip && memcmp(c->window, zero_window, OTA_CHUNKER_WINDOW) == 0) {
			/* Each further zero byte would roll h onto itself: no cut
			 * until max. Sparse images are mostly such runs. */
			size_t k = zero_run(q + i, n - i < max - size ? n - i : max - size);
			i += k;
			size += k;
			pos = (pos + k) % OTA_CHUNKER_WINDOW;
			if (size >= max)
				return cut(c, i);
		}
	}
	c->h = h;
	c->window_pos = pos;
	c->chunk_size = size;
	return SIZE_MAX;
}

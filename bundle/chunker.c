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
	return c->h % c->discriminator == c->discriminator - 1;
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
	const size_t d = c->discriminator, max = c->max;
	while (i < n) {
		uint8_t in = q[i++];
		h = ota_buzhash_roll(h, c->window[pos], in);
		c->window[pos] = in;
		if (++pos == OTA_CHUNKER_WINDOW)
			pos = 0;
		size++;
		if (size >= max || h % d == d - 1)
			return cut(c, i);
	}
	c->h = h;
	c->window_pos = pos;
	c->chunk_size = size;
	return SIZE_MAX;
}

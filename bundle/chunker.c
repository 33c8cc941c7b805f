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

/* The cut test is h % d == d - 1 for every rolled byte; a division there
 * was most of a scan's time (a 1 GiB slot: 25 s of the device's index).
 * Hacker's Delight 10-17: for d = q * 2^k with q odd, n is a multiple of d
 * iff rotr32(n * q^-1 mod 2^32, k) <= (2^32 - 1) / d; n = h - (d - 1). Two
 * multiplications and a rotation, 32-bit (ARM has no cheap 64-bit division). */
static void set_divisor(struct ota_chunker *c)
{
	uint32_t d = (uint32_t)c->discriminator, q = d;
	unsigned k = 0;
	while (!(q & 1u)) {
		q >>= 1;
		k++;
	}
	uint32_t inv = q; /* Newton's iteration: 3, 6, 12, 24, 48 correct bits */
	for (int i = 0; i < 4; i++)
		inv *= 2u - q * inv;
	c->div_inverse = inv;
	c->div_shift = k;
	c->div_limit = UINT32_MAX / d;
}

static inline uint32_t ror32(uint32_t x, unsigned n)
{
	n &= 31;
	return n ? (x >> n) | (x << (32 - n)) : x;
}

/* h % discriminator == discriminator - 1 (see set_divisor). */
static inline bool at_cut_point(const struct ota_chunker *c, uint32_t h)
{
	uint32_t d1 = (uint32_t)c->discriminator - 1u;
	return h >= d1 && ror32((h - d1) * c->div_inverse, c->div_shift) <= c->div_limit;
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
		set_divisor(c);
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
	return at_cut_point(c, c->h);
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

	/* The outgoing byte is the ring's until 48 bytes of this call went
	 * through it (the ring then holds exactly q[i-48..i), oldest at pos),
	 * then q[i - 48] itself: the ring is only rebuilt when the call ends. */
	uint32_t h = c->h;
	size_t pos = c->window_pos, size = c->chunk_size;
	const size_t max = c->max;
	size_t ring_end = n - i > OTA_CHUNKER_WINDOW ? i + OTA_CHUNKER_WINDOW : n;
	while (i < ring_end) {
		uint8_t in = q[i++];
		h = ota_buzhash_roll(h, c->window[pos], in);
		c->window[pos] = in;
		if (++pos == OTA_CHUNKER_WINDOW)
			pos = 0;
		size++;
		if (size >= max || at_cut_point(c, h))
			return cut(c, i);
	}
	if (i < n) {
		/* No cut past max: stop there at the latest. */
		size_t stop = max - size < n - i ? i + (max - size) : n;
		while (i < stop) {
			h = ota_buzhash_roll(h, q[i - OTA_CHUNKER_WINDOW], q[i]);
			i++;
			if (at_cut_point(c, h))
				return cut(c, i);
		}
		size += stop - (size_t)(ring_end);
		if (size >= max)
			return cut(c, i);
		memcpy(c->window, q + n - OTA_CHUNKER_WINDOW, OTA_CHUNKER_WINDOW);
		pos = 0;
	}
	c->h = h;
	c->window_pos = pos;
	c->chunk_size = size;
	return SIZE_MAX;
}

/* SPDX-License-Identifier: Apache-2.0 */
/* Pure cores of the HTTP source (bundle/ranges.c): range planning and
 * delivery, Content-Range and multipart/byteranges parsing. No libcurl here,
 * so unit tests and fuzzers use them directly. */
#ifndef OTA_BUNDLE_HTTP_PRIVATE_H
#define OTA_BUNDLE_HTTP_PRIVATE_H

#include "bundle/bundle.h"

/* A run of bytes fetched with one range spec: [start, end), of which the
 * first `got` bytes have arrived. Requests [first, last) of the sorted order
 * lie inside it. */
struct ota_span {
	uint64_t start, end, got;
	size_t first, last;
};

/* Sorts the requests (by offset, into order[0..n)) and merges those that
 * overlap, touch or lie at most `gap` bytes apart into spans (at most n).
 * Empty requests are skipped. -EOVERFLOW if a request wraps 64 bits. */
int ota_ranges_plan(const struct ota_bundle_range *r, size_t n, uint64_t gap, size_t *order,
		    struct ota_span *spans, size_t *ret_nspans) _must_check_;
/* Copies the bytes data[0..len) found at offset `off` of the file into every
 * request they overlap, and advances the spans they continue. Bytes outside
 * all spans are ignored (a server may send more than asked). */
void ota_ranges_deliver(const struct ota_bundle_range *r, const size_t *order, struct ota_span *spans,
			size_t nspans, uint64_t off, const uint8_t *data, size_t len);
/* Formats "a-b,c-d,..." for up to max incomplete spans (from start+got);
 * returns how many it used, or -ENAMETOOLONG if buf is too small. */
int ota_ranges_format(const struct ota_span *spans, size_t nspans, size_t max, char *buf, size_t size) _must_check_;

/* Bytes still wanted from the first `max` incomplete spans: what the spec
 * ota_ranges_format() writes for the same arguments asks for. */
uint64_t ota_ranges_pending(const struct ota_span *spans, size_t nspans, size_t max);
/* The most body bytes a response to a request for `nranges` ranges of
 * `pending` bytes may carry: exactly those, or for a multipart/byteranges
 * body those plus OTA_MULTIPART_FRAMING(nranges) for part headers and
 * boundaries (a part's framing is about 100 bytes; the allowance matches
 * what the parser accepts between parts). A server that coalesces ranges
 * sends fewer parts, and the gaps it fills must be smaller than the framing
 * they save (RFC 9110 14.2), so it stays below too. */
#define OTA_MULTIPART_FRAMING(n) (4096u + 1024u * (uint64_t)(n))
uint64_t ota_ranges_body_limit(uint64_t pending, size_t nranges, bool multipart);

/* "bytes FIRST-LAST/TOTAL", or with an unknown total ("/ *"): total = UINT64_MAX. */
int ota_http_parse_content_range(const char *v, uint64_t *ret_first, uint64_t *ret_last,
				 uint64_t *ret_total) _must_check_;

/* Streaming multipart/byteranges parser (RFC 9110 14.6). Bounded: header
 * lines up to 511 bytes, at most 4 KiB of bytes between parts. */
struct ota_multipart {
	char boundary[80]; /* "--" + boundary */
	size_t blen;
	enum { OTA_MP_BETWEEN, OTA_MP_HEADERS, OTA_MP_DATA, OTA_MP_END } state;
	char line[512];
	size_t line_len;
	bool line_overflow;
	bool have_range;
	uint64_t pos, left, total;
	uint64_t junk;
	unsigned parts;
};
typedef int (*ota_multipart_emit)(void *userdata, uint64_t offset, const uint8_t *data, size_t size);
/* Takes the Content-Type value; -EPROTO unless multipart/byteranges with a boundary. */
int ota_multipart_init(struct ota_multipart *mp, const char *content_type) _must_check_;
/* Feeds body bytes; calls emit for part data. -EPROTO on a malformed body,
 * or emit's negative return. */
int ota_multipart_feed(struct ota_multipart *mp, const uint8_t *p, size_t n, ota_multipart_emit emit,
		       void *userdata) _must_check_;

#endif

/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for the pure cores of the HTTP source (bundle/ranges.c): range
 * planning and merging, routing of received bytes, the Range header, and the
 * Content-Range and multipart/byteranges parsers. */
#include <errno.h>

#include "bundle/http-private.h"
#include "test.h"

TEST(plan_sorts_merges_and_skips_empty)
{
	uint8_t b[8][16];
	struct ota_bundle_range r[] = {
		{ 1000, 10, b[0] }, { 0, 10, b[1] },   { 10, 5, b[2] },	  /* touches the previous */
		{ 20, 0, b[3] },    { 4000, 1, b[4] }, { 1005, 3, b[5] }, /* inside the first */
		{ 1100, 4, b[6] },  /* 90 bytes after 1010: within the gap */
	};
	size_t order[7];
	struct ota_span s[7];
	size_t ns;
	ASSERT_INT_EQ(ota_ranges_plan(r, 7, 100, order, s, &ns), 0);
	ASSERT_INT_EQ(ns, 3);
	ASSERT_INT_EQ(s[0].start, 0);
	ASSERT_INT_EQ(s[0].end, 15);
	ASSERT_INT_EQ(s[1].start, 1000);
	ASSERT_INT_EQ(s[1].end, 1104);
	ASSERT_INT_EQ(s[1].last - s[1].first, 3);
	ASSERT_INT_EQ(s[2].start, 4000);
	ASSERT_INT_EQ(s[2].end, 4001);
	ASSERT_INT_EQ(order[0], 1);
	ASSERT_INT_EQ(order[1], 2);
	/* gap 0: only overlapping or touching ranges merge */
	ASSERT_INT_EQ(ota_ranges_plan(r, 7, 0, order, s, &ns), 0);
	ASSERT_INT_EQ(ns, 4);
}

TEST(plan_rejects_wrapping_range)
{
	uint8_t b[4];
	struct ota_bundle_range r[] = { { UINT64_MAX - 1, 4, b } };
	size_t order[1];
	struct ota_span s[1];
	size_t ns;
	ASSERT_INT_EQ(ota_ranges_plan(r, 1, 0, order, s, &ns), -EOVERFLOW);
}

static uint8_t file_byte(uint64_t off)
{
	return (uint8_t)(off * 7 + 3);
}

/* ota_ranges_plan's outputs for up to 8 ranges r, which deliver() routes
 * received bytes into. */
struct plan {
	const struct ota_bundle_range *r;
	size_t order[8];
	struct ota_span s[8];
	size_t ns;
};

static int plan(struct plan *p, const struct ota_bundle_range *r, size_t n, uint64_t gap)
{
	p->r = r;
	return ota_ranges_plan(r, n, gap, p->order, p->s, &p->ns);
}

static void deliver(struct plan *p, uint64_t offset, const uint8_t *data, size_t size)
{
	ota_ranges_deliver(p->r, p->order, p->s, p->ns, offset, data, size);
}

TEST(deliver_routes_bytes_in_arbitrary_pieces)
{
	uint8_t a[100], b[50], c[10];
	struct ota_bundle_range r[] = { { 500, sizeof(a), a }, { 520, sizeof(b), b }, { 5000, sizeof(c), c } };
	struct plan p;
	ASSERT_INT_EQ(plan(&p, r, 3, 16), 0);
	ASSERT_INT_EQ(p.ns, 2);
	uint8_t file[6000];
	for (size_t i = 0; i < sizeof(file); i++)
		file[i] = file_byte(i);
	/* a server that sends a bit more than asked, in odd pieces */
	for (uint64_t off = 490; off < 610; off += 7)
		deliver(&p, off, file + off, 7);
	deliver(&p, 5000, file + 5000, 10);
	for (size_t i = 0; i < sizeof(a); i++)
		ASSERT_INT_EQ(a[i], file_byte(500 + i));
	for (size_t i = 0; i < sizeof(b); i++)
		ASSERT_INT_EQ(b[i], file_byte(520 + i));
	for (size_t i = 0; i < sizeof(c); i++)
		ASSERT_INT_EQ(c[i], file_byte(5000 + i));
	ASSERT_INT_EQ(p.s[0].got, p.s[0].end - p.s[0].start);
	ASSERT_INT_EQ(p.s[1].got, 10);
}

TEST(deliver_counts_only_contiguous_progress_and_format_resumes)
{
	uint8_t a[100], c[10];
	struct ota_bundle_range r[] = { { 0, sizeof(a), a }, { 1000, sizeof(c), c } };
	struct plan p;
	ASSERT_INT_EQ(plan(&p, r, 2, 0), 0);
	uint8_t file[100] = { 0 };
	deliver(&p, 50, file, 20); /* a hole before: no progress */
	ASSERT_INT_EQ(p.s[0].got, 0);
	deliver(&p, 0, file, 30);
	ASSERT_INT_EQ(p.s[0].got, 30);
	char buf[128];
	ASSERT_INT_EQ(ota_ranges_format(p.s, p.ns, 8, buf, sizeof(buf)), 2);
	ASSERT_STR_EQ(buf, "30-99,1000-1009");
	ASSERT_INT_EQ(ota_ranges_format(p.s, p.ns, 1, buf, sizeof(buf)), 1);
	ASSERT_STR_EQ(buf, "30-99");
	ASSERT_INT_EQ(ota_ranges_format(p.s, p.ns, 8, buf, 8), -ENAMETOOLONG);
	deliver(&p, 30, file, 70);
	ASSERT_INT_EQ(ota_ranges_format(p.s, p.ns, 8, buf, sizeof(buf)), 1);
	ASSERT_STR_EQ(buf, "1000-1009");
}

TEST(pending_counts_what_the_spec_asks_for)
{
	uint8_t a[100], b[40], c[10];
	struct ota_bundle_range r[] = { { 0, sizeof(a), a }, { 5000, sizeof(b), b }, { 90000, sizeof(c), c } };
	struct plan p;
	ASSERT_INT_EQ(plan(&p, r, 3, 0), 0);
	ASSERT_INT_EQ(ota_ranges_pending(p.s, p.ns, 8), 150);
	ASSERT_INT_EQ(ota_ranges_pending(p.s, p.ns, 2), 140);
	uint8_t file[100] = { 0 };
	deliver(&p, 0, file, 100); /* the first span is complete */
	deliver(&p, 5000, file, 15);
	char buf[128];
	/* the same spans as the spec names: 5015-5039 and 90000-90009 */
	ASSERT_INT_EQ(ota_ranges_format(p.s, p.ns, 1, buf, sizeof(buf)), 1);
	ASSERT_STR_EQ(buf, "5015-5039");
	ASSERT_INT_EQ(ota_ranges_pending(p.s, p.ns, 1), 25);
	ASSERT_INT_EQ(ota_ranges_pending(p.s, p.ns, 8), 35);
	ASSERT_INT_EQ(ota_ranges_pending(p.s, p.ns, 0), 0);
}

TEST(body_limit_single_exact_multipart_bounded_framing)
{
	/* A single part: not one byte more than asked for. */
	ASSERT_INT_EQ(ota_ranges_body_limit(64, 1, false), 64);
	/* multipart: the bytes plus 4 KiB and 1 KiB per range of framing */
	ASSERT_INT_EQ(ota_ranges_body_limit(200, 2, true), 200 + 4096 + 2048);
	ASSERT_INT_EQ(ota_ranges_body_limit(0, 32, true), 4096 + 32 * 1024);
	/* no wrap-around */
	ASSERT_TRUE(ota_ranges_body_limit(UINT64_MAX - 10, 3, true) == UINT64_MAX);
}

TEST(content_range)
{
	uint64_t f, l, t;
	ASSERT_INT_EQ(ota_http_parse_content_range(" bytes 0-99/1000", &f, &l, &t), 0);
	ASSERT_INT_EQ(f, 0);
	ASSERT_INT_EQ(l, 99);
	ASSERT_INT_EQ(t, 1000);
	ASSERT_INT_EQ(ota_http_parse_content_range("bytes 5-5/*", &f, &l, &t), 0);
	ASSERT_TRUE(t == UINT64_MAX);
	ASSERT_INT_EQ(ota_http_parse_content_range("bytes 10-9/100", &f, &l, &t), -EPROTO);
	ASSERT_INT_EQ(ota_http_parse_content_range("bytes 0-100/100", &f, &l, &t), -EPROTO);
	ASSERT_INT_EQ(ota_http_parse_content_range("bytes */100", &f, &l, &t), -EPROTO);
	ASSERT_INT_EQ(ota_http_parse_content_range("bytes 0-1/99999999999999999999", &f, &l, &t), -EPROTO);
	ASSERT_INT_EQ(ota_http_parse_content_range("items 0-1/2", &f, &l, &t), -EPROTO);
}

struct got {
	uint8_t buf[64];
	uint64_t offs[8];
	size_t n, len;
};

static int collect(void *userdata, uint64_t offset, const uint8_t *data, size_t size)
{
	struct got *g = userdata;
	if (g->n < 8)
		g->offs[g->n++] = offset;
	memcpy(g->buf + g->len, data, size);
	g->len += size;
	return 0;
}

static const char BODY[] = "\r\n--XyZ\r\nContent-Type: application/octet-stream\r\nContent-Range: bytes 0-3/100\r\n\r\n"
			   "abcd\r\n--XyZ\r\ncontent-range: bytes 50-51/100\r\n\r\n--\r\n--XyZ--\r\n";

TEST(multipart_parses_in_any_split)
{
	for (size_t step = 1; step <= sizeof(BODY); step++) {
		struct ota_multipart mp;
		ASSERT_INT_EQ(ota_multipart_init(&mp, "multipart/byteranges; boundary=XyZ"), 0);
		struct got g = { 0 };
		for (size_t i = 0; i < sizeof(BODY) - 1; i += step) {
			size_t k = sizeof(BODY) - 1 - i < step ? sizeof(BODY) - 1 - i : step;
			ASSERT_INT_EQ(ota_multipart_feed(&mp, (const uint8_t *)BODY + i, k, collect, &g), 0);
		}
		ASSERT_INT_EQ(mp.state, OTA_MP_END);
		ASSERT_INT_EQ(g.len, 6);
		ASSERT_TRUE(memcmp(g.buf, "abcd--", 6) == 0); /* data that looks like a boundary is data */
		ASSERT_INT_EQ(mp.total, 100);
	}
}

TEST(multipart_rejects_bad_input)
{
	struct ota_multipart mp;
	ASSERT_INT_EQ(ota_multipart_init(&mp, "text/html"), -EPROTO);
	ASSERT_INT_EQ(ota_multipart_init(&mp, "multipart/byteranges"), -EPROTO);
	ASSERT_INT_EQ(ota_multipart_init(&mp, "multipart/byteranges; boundary=\"q r\""), 0);
	ASSERT_STR_EQ(mp.boundary, "--q r");
	struct got g = { 0 };
	/* a part without Content-Range */
	static const char no_range[] = "--q r\r\nContent-Type: x\r\n\r\nabc";
	ASSERT_INT_EQ(ota_multipart_feed(&mp, (const uint8_t *)no_range, sizeof(no_range) - 1, collect, &g), -EPROTO);
	/* endless junk between parts is bounded */
	ASSERT_INT_EQ(ota_multipart_init(&mp, "multipart/byteranges; boundary=b"), 0);
	uint8_t junk[8192];
	memset(junk, 'x', sizeof(junk));
	ASSERT_INT_EQ(ota_multipart_feed(&mp, junk, sizeof(junk), collect, &g), -EPROTO);
	/* totals must agree across parts */
	static const char two[] = "--b\r\nContent-Range: bytes 0-0/10\r\n\r\na\r\n--b\r\nContent-Range: bytes 1-1/11\r\n\r\n";
	ASSERT_INT_EQ(ota_multipart_init(&mp, "multipart/byteranges; boundary=b"), 0);
	ASSERT_INT_EQ(ota_multipart_feed(&mp, (const uint8_t *)two, sizeof(two) - 1, collect, &g), -EPROTO);
}

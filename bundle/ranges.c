/* SPDX-License-Identifier: Apache-2.0 */
/* Pure cores of the HTTP source: which byte ranges to ask for, where the
 * bytes that come back belong, and how to parse what the server says about
 * them. No I/O, no libcurl (see bundle/http-private.h). */
#include <errno.h>
#include <string.h>
#include <strings.h>

#include "bundle/http-private.h"

/* ---- planning ---------------------------------------------------------------- */

/* Insertion sort of indices by offset: stable, no allocation, no qsort
 * context; the lists are short (one request's chunks). */
static void sort_order(const struct ota_bundle_range *r, size_t *order, size_t n)
{
	for (size_t i = 1; i < n; i++) {
		size_t v = order[i], j = i;
		while (j > 0 && r[order[j - 1]].offset > r[v].offset) {
			order[j] = order[j - 1];
			j--;
		}
		order[j] = v;
	}
}

int ota_ranges_plan(const struct ota_bundle_range *r, size_t n, uint64_t gap, size_t *order,
		    struct ota_span *spans, size_t *ret_nspans)
{
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		if (r[i].size == 0)
			continue;
		if (r[i].offset > UINT64_MAX - r[i].size)
			return -EOVERFLOW;
		order[k++] = i;
	}
	sort_order(r, order, k);
	size_t ns = 0;
	for (size_t i = 0; i < k; i++) {
		const struct ota_bundle_range *q = &r[order[i]];
		uint64_t end = q->offset + q->size;
		struct ota_span *s = ns ? &spans[ns - 1] : NULL;
		bool joins = s && (q->offset <= s->end || q->offset - s->end <= gap);
		if (joins) {
			if (end > s->end)
				s->end = end;
			s->last = i + 1;
		} else {
			spans[ns++] = (struct ota_span){ .start = q->offset, .end = end, .first = i, .last = i + 1 };
		}
	}
	*ret_nspans = ns;
	return 0;
}

void ota_ranges_deliver(const struct ota_bundle_range *r, const size_t *order, struct ota_span *spans,
			size_t nspans, uint64_t off, const uint8_t *data, size_t len)
{
	if (len == 0 || off > UINT64_MAX - len)
		return;
	uint64_t end = off + len;
	/* First span that ends after off (spans are sorted and disjoint). */
	size_t lo = 0, hi = nspans;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (spans[mid].end <= off)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (size_t si = lo; si < nspans && spans[si].start < end; si++) {
		struct ota_span *s = &spans[si];
		for (size_t i = s->first; i < s->last; i++) {
			const struct ota_bundle_range *q = &r[order[i]];
			uint64_t a = q->offset > off ? q->offset : off;
			uint64_t b = q->offset + q->size < end ? q->offset + q->size : end;
			if (a < b)
				memcpy((uint8_t *)q->buf + (a - q->offset), data + (a - off), (size_t)(b - a));
		}
		/* Only contiguous progress counts: a span resumes from start+got. */
		uint64_t have = s->start + s->got;
		if (off <= have && end > have)
			s->got = (end < s->end ? end : s->end) - s->start;
	}
}

int ota_ranges_format(const struct ota_span *spans, size_t nspans, size_t max, char *buf, size_t size)
{
	size_t used = 0, pos = 0;
	if (size == 0)
		return -ENAMETOOLONG;
	buf[0] = '\0';
	for (size_t i = 0; i < nspans && used < max; i++) {
		const struct ota_span *s = &spans[i];
		if (s->start + s->got >= s->end)
			continue;
		char one[48];
		int n = snprintf(one, sizeof(one), "%s%llu-%llu", used ? "," : "",
				 (unsigned long long)(s->start + s->got), (unsigned long long)(s->end - 1));
		if (n < 0 || (size_t)n >= size - pos)
			return -ENAMETOOLONG;
		memcpy(buf + pos, one, (size_t)n + 1);
		pos += (size_t)n;
		used++;
	}
	return (int)used;
}

uint64_t ota_ranges_pending(const struct ota_span *spans, size_t nspans, size_t max)
{
	uint64_t pending = 0;
	size_t used = 0;
	for (size_t i = 0; i < nspans && used < max; i++) {
		const struct ota_span *s = &spans[i];
		if (s->start + s->got >= s->end)
			continue;
		pending += s->end - (s->start + s->got); /* spans are disjoint in 64 bits: no overflow */
		used++;
	}
	return pending;
}

uint64_t ota_ranges_body_limit(uint64_t pending, size_t nranges, bool multipart)
{
	if (!multipart)
		return pending;
	uint64_t framing = OTA_MULTIPART_FRAMING(nranges);
	return pending > UINT64_MAX - framing ? UINT64_MAX : pending + framing;
}

/* ---- parsing --------------------------------------------------------------- */

static const char *parse_u64_prefix(const char *p, uint64_t *ret)
{
	uint64_t v = 0;
	const char *start = p;
	for (; *p >= '0' && *p <= '9'; p++) {
		unsigned d = (unsigned)(*p - '0');
		if (v > (UINT64_MAX - d) / 10)
			return NULL;
		v = v * 10 + d;
	}
	if (p == start)
		return NULL;
	*ret = v;
	return p;
}

int ota_http_parse_content_range(const char *v, uint64_t *ret_first, uint64_t *ret_last, uint64_t *ret_total)
{
	uint64_t first, last, total;
	while (*v == ' ' || *v == '\t')
		v++;
	if (strncasecmp(v, "bytes", 5) != 0)
		return -EPROTO;
	v += 5;
	while (*v == ' ')
		v++;
	if (!(v = parse_u64_prefix(v, &first)) || *v++ != '-' || !(v = parse_u64_prefix(v, &last)) || *v++ != '/')
		return -EPROTO;
	if (*v == '*') {
		total = UINT64_MAX;
		v++;
	} else if (!(v = parse_u64_prefix(v, &total))) {
		return -EPROTO;
	}
	while (*v == ' ' || *v == '\t' || *v == '\r' || *v == '\n')
		v++;
	if (*v || last < first || (total != UINT64_MAX && last >= total))
		return -EPROTO;
	*ret_first = first;
	*ret_last = last;
	*ret_total = total;
	return 0;
}

int ota_multipart_init(struct ota_multipart *mp, const char *ct)
{
	*mp = (struct ota_multipart){ .state = OTA_MP_BETWEEN };
	while (*ct == ' ')
		ct++;
	if (strncasecmp(ct, "multipart/byteranges", 20) != 0)
		return -EPROTO;
	const char *b = strcasestr(ct, "boundary=");
	if (!b)
		return -EPROTO;
	b += 9;
	bool quoted = *b == '"';
	if (quoted)
		b++;
	size_t n = 0;
	while (b[n] && (quoted ? b[n] != '"' : b[n] != ';' && b[n] != ' ' && b[n] != '\r' && b[n] != '\n'))
		n++;
	if (n == 0 || n > 70) /* RFC 2046: 1..70 characters */
		return -EPROTO;
	mp->boundary[0] = mp->boundary[1] = '-';
	memcpy(mp->boundary + 2, b, n);
	mp->blen = n + 2;
	mp->boundary[mp->blen] = '\0';
	return 0;
}

static int end_line(struct ota_multipart *mp)
{
	char *l = mp->line;
	size_t n = mp->line_len;
	if (n && l[n - 1] == '\r')
		n--;
	l[n] = '\0';
	mp->line_len = 0;
	bool overflow = mp->line_overflow;
	mp->line_overflow = false;
	if (mp->state == OTA_MP_BETWEEN) {
		if (!overflow && n >= mp->blen && memcmp(l, mp->boundary, mp->blen) == 0) {
			const char *rest = l + mp->blen;
			if (strcmp(rest, "--") == 0) {
				mp->state = OTA_MP_END;
				return 0;
			}
			while (*rest == ' ' || *rest == '\t')
				rest++;
			if (*rest == '\0') {
				mp->state = OTA_MP_HEADERS;
				mp->have_range = false;
				return 0;
			}
		}
		return 0; /* preamble or padding: counted as junk by the caller */
	}
	/* headers */
	if (overflow)
		return -EPROTO;
	if (n == 0) {
		if (!mp->have_range)
			return -EPROTO;
		mp->state = OTA_MP_DATA;
		return 0;
	}
	if (strncasecmp(l, "content-range:", 14) == 0) {
		uint64_t first, last, total;
		if (ota_http_parse_content_range(l + 14, &first, &last, &total) < 0)
			return -EPROTO;
		if (mp->parts > 0 && total != mp->total)
			return -EPROTO;
		mp->total = total;
		mp->pos = first;
		mp->left = last - first + 1;
		mp->have_range = true;
		mp->parts++;
	}
	return 0;
}

int ota_multipart_feed(struct ota_multipart *mp, const uint8_t *p, size_t n, ota_multipart_emit emit,
		       void *userdata)
{
	while (n > 0) {
		switch (mp->state) {
		case OTA_MP_END:
			return 0; /* epilogue: ignored */
		case OTA_MP_DATA: {
			size_t k = mp->left < n ? (size_t)mp->left : n;
			int r = emit(userdata, mp->pos, p, k);
			if (r < 0)
				return r;
			mp->pos += k;
			mp->left -= k;
			p += k;
			n -= k;
			if (mp->left == 0)
				mp->state = OTA_MP_BETWEEN;
			break;
		}
		case OTA_MP_BETWEEN:
		case OTA_MP_HEADERS: {
			uint8_t c = *p++;
			n--;
			if (mp->state == OTA_MP_BETWEEN && ++mp->junk > 4096 + (uint64_t)mp->parts * 1024)
				return -EPROTO;
			if (c == '\n') {
				int r = end_line(mp);
				if (r < 0)
					return r;
			} else if (mp->line_len < sizeof(mp->line) - 1) {
				mp->line[mp->line_len++] = (char)c;
			} else {
				mp->line_overflow = true;
			}
			break;
		}
		}
	}
	return 0;
}

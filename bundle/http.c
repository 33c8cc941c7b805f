/* SPDX-License-Identifier: Apache-2.0 */
/* The HTTP(S) source: libcurl under the bundle source abstraction.
 *
 * Streaming: one GET driven through a curl multi handle, pulled by read().
 * The write callback copies into the caller's buffer and keeps at most one
 * callback's worth of overflow (the "spill"); while that is undrained it
 * pauses the transfer, so memory stays bounded whatever the file size. A
 * failed transfer is resumed with "Range: bytes=N-" and If-Range.
 *
 * Ranges: one easy handle (keeps its connection alive between requests);
 * requests are planned and bytes routed by the pure code in ranges.c.
 *
 * Every response is checked against the file's identity (ETag or
 * Last-Modified, and size) fixed by the first one, see bundle.h.
 *
 * Bounds: libcurl enforces the minimum rate (LOW_SPEED_*) and, per transfer,
 * what is left of the object's deadline (TIMEOUT_MS); the write callbacks
 * refuse bytes past what was asked for, the header callback headers past
 * OTA_BUNDLE_HTTP_MAX_HEADERS. */
#include <curl/curl.h>
#include <errno.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "bundle/http-private.h"
#include "sysutil/curl.h"

/* What the server or the path to it did: a retry later may succeed. */
#define network_error(err, code, ...) ota_error_set_because(err, OTA_REASON_NETWORK, code, __VA_ARGS__)

#define SPILL_MAX (4u << 20)
#define BACKOFF_MAX_MS 30000u


struct resp {
	uint64_t header_bytes; /* of this response, status line included */
	bool headers_done, headers_too_big;
	long status;
	char reason[64];
	char etag[128];
	char last_modified[64];
	char content_type[160];
	bool has_crange, has_length;
	uint64_t cr_first, cr_last, cr_total, length;
};

struct ota_bundle_http {
	char *url;
	struct ota_bundle_http_opts o;
	/* identity, fixed by the first response */
	bool have_identity;
	char etag[128], last_modified[64];
	bool size_known;
	uint64_t size;
	struct ota_bundle_http_stats stats;
	struct ota_error err; /* the source's last_error */
	char curl_err[CURL_ERROR_SIZE];
	bool deadline_set;
	uint64_t deadline_ms; /* CLOCK_MONOTONIC, fixed by the first request */
	uint64_t min_progress; /* bytes an attempt must bring to count as progress */

	/* streaming */
	CURLM *multi;
	CURL *stream;
	bool s_active, s_paused, s_done, s_checked, s_eof, s_transient;
	CURLcode s_result;
	int s_code; /* set by the callbacks */
	struct resp s_resp;
	uint64_t pos;      /* next byte handed to read() */
	uint64_t recv_pos; /* next byte of the file to arrive */
	uint64_t skip;     /* bytes to drop: a resume answered with the whole file */
	uint64_t fail_pos; /* recv_pos when fails was last reset */
	unsigned fails;
	uint8_t *spill;
	size_t spill_cap, spill_len, spill_off;
	uint8_t *dst;
	size_t dst_len, dst_got;

	/* ranges */
	CURL *easy;
};

bool ota_bundle_is_url(const char *s)
{
	return s && (strncasecmp(s, "http://", 7) == 0 || strncasecmp(s, "https://", 8) == 0);
}

/* ---- responses ---------------------------------------------------------------- */

static void copy_trimmed(char *dst, size_t size, const char *v)
{
	while (*v == ' ' || *v == '\t')
		v++;
	size_t n = strlen(v);
	while (n && (v[n - 1] == ' ' || v[n - 1] == '\t'))
		n--;
	if (n >= size)
		n = size - 1;
	memcpy(dst, v, n);
	dst[n] = '\0';
}

static size_t header_cb(char *buf, size_t size, size_t nitems, void *userdata)
{
	struct resp *r = userdata;
	size_t n = size * nitems;
	if (n >= 5 && strncmp(buf, "HTTP/", 5) == 0)
		*r = (struct resp){ 0 }; /* a new response (after a redirect or a 100): forget the last one */
	r->header_bytes += n;
	if (r->header_bytes > OTA_BUNDLE_HTTP_MAX_HEADERS) {
		r->headers_too_big = true;
		return 0; /* aborts the transfer */
	}
	char line[512];
	size_t k = n < sizeof(line) - 1 ? n : sizeof(line) - 1;
	memcpy(line, buf, k);
	while (k && (line[k - 1] == '\r' || line[k - 1] == '\n'))
		k--;
	line[k] = '\0';
	if (k == 0) {
		r->headers_done = true;
	} else if (strncmp(line, "HTTP/", 5) == 0) {
		const char *p = strchr(line, ' ');
		long st = 0;
		for (int i = 1; p && i <= 3 && p[i] >= '0' && p[i] <= '9'; i++)
			st = st * 10 + (p[i] - '0');
		r->status = st;
		if (p && strlen(p) > 4)
			copy_trimmed(r->reason, sizeof(r->reason), p + 4);
	} else if (strncasecmp(line, "etag:", 5) == 0) {
		copy_trimmed(r->etag, sizeof(r->etag), line + 5);
	} else if (strncasecmp(line, "last-modified:", 14) == 0) {
		copy_trimmed(r->last_modified, sizeof(r->last_modified), line + 14);
	} else if (strncasecmp(line, "content-type:", 13) == 0) {
		copy_trimmed(r->content_type, sizeof(r->content_type), line + 13);
	} else if (strncasecmp(line, "content-range:", 14) == 0) {
		r->has_crange = ota_http_parse_content_range(line + 14, &r->cr_first, &r->cr_last, &r->cr_total) == 0;
	} else if (strncasecmp(line, "content-length:", 15) == 0) {
		char v[32];
		copy_trimmed(v, sizeof(v), line + 15);
		r->has_length = ota_parse_u64(v, &r->length) == 0;
	}
	return n;
}

static bool status_transient(long s)
{
	return s == 408 || s == 429 || (s >= 500 && s <= 599);
}

/* Errors for statuses that are not 200/206. */
static int status_error(struct ota_bundle_http *h, const struct resp *r, bool *ret_transient, struct ota_error *err)
{
	*ret_transient = status_transient(r->status);
	int code = r->status == 404 || r->status == 410  ? -ENOENT
		   : r->status == 401 || r->status == 403 ? -EACCES
		   : r->status == 416			  ? -ERANGE
							  : -EIO;
	return network_error(err, code, "'%s': HTTP %ld%s%s", h->url, r->status, r->reason[0] ? " " : "", r->reason);
}

/* Checks a response against the file's identity, or fixes it if this is the
 * first. total: the file size the response states, UINT64_MAX if none. */
static int check_identity(struct ota_bundle_http *h, const struct resp *r, uint64_t total, struct ota_error *err)
{
	if (!h->have_identity) {
		h->have_identity = true;
		copy_trimmed(h->etag, sizeof(h->etag), r->etag);
		copy_trimmed(h->last_modified, sizeof(h->last_modified), r->last_modified);
	} else if (h->etag[0] && strcmp(h->etag, r->etag) != 0) {
		return network_error(err, -ESTALE, "'%s' changed on the server between requests (ETag was %s, now %s)",
				     h->url, h->etag, r->etag[0] ? r->etag : "absent");
	} else if (!h->etag[0] && h->last_modified[0] && strcmp(h->last_modified, r->last_modified) != 0) {
		return network_error(err, -ESTALE,
				     "'%s' changed on the server between requests (Last-Modified was %s, now %s)", h->url,
				     h->last_modified, r->last_modified[0] ? r->last_modified : "absent");
	}
	if (total == UINT64_MAX)
		return 0;
	if (h->size_known && total != h->size)
		return network_error(err, -ESTALE,
				     "'%s' changed on the server between requests (size was %llu bytes, now %llu)", h->url,
				     (unsigned long long)h->size, (unsigned long long)total);
	h->size_known = true;
	h->size = total;
	h->stats.size = total;
	return 0;
}

/* ---- bounds -------------------------------------------------------------------- */

static uint64_t now_ms(void)
{
	struct timespec ts;
	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* What is left of the deadline, which the first call fixes. */
static uint64_t remaining_ms(struct ota_bundle_http *h)
{
	uint64_t now = now_ms();
	if (!h->deadline_set) {
		h->deadline_set = true;
		h->deadline_ms = now + (uint64_t)h->o.timeout_s * 1000u;
	}
	return h->deadline_ms > now ? h->deadline_ms - now : 0;
}

static int deadline_error(struct ota_bundle_http *h, struct ota_error *err)
{
	return network_error(err, -ETIMEDOUT, "'%s': download timeout of %u s expired (%llu bytes received)", h->url,
			     h->o.timeout_s, (unsigned long long)h->stats.downloaded);
}

/* libcurl's transfer timeout fired: ours if (nearly) nothing is left. */
static bool deadline_passed(struct ota_bundle_http *h)
{
	return remaining_ms(h) <= 10;
}

static int curl_error(struct ota_bundle_http *h, CURLcode cc, const struct resp *r, bool *ret_transient,
		      struct ota_error *err)
{
	int code;
	enum ota_error_reason reason = OTA_REASON_NETWORK;
	bool transient = false;
	*ret_transient = false;
	if (r->headers_too_big)
		return network_error(err, -EMSGSIZE, "'%s': response headers larger than %u bytes", h->url,
				     OTA_BUNDLE_HTTP_MAX_HEADERS);
	/* libcurl refuses a header line over CURL_MAX_HTTP_HEADER before the
	 * header callback sees it: as CURLE_TOO_LARGE since 8.6, before that
	 * as CURLE_OUT_OF_MEMORY without a message. */
#if LIBCURL_VERSION_NUM >= 0x080600
	if (!r->headers_done && cc == CURLE_TOO_LARGE)
		return network_error(err, -EMSGSIZE, "'%s': a response header line is longer than libcurl accepts (%d bytes)",
				     h->url, CURL_MAX_HTTP_HEADER);
#endif
	if (!r->headers_done && cc == CURLE_OUT_OF_MEMORY)
		return network_error(err, -EMSGSIZE,
				     "'%s': a response header line is longer than libcurl accepts (%d bytes), or libcurl ran out of memory",
				     h->url, CURL_MAX_HTTP_HEADER);
	if (cc == CURLE_OPERATION_TIMEDOUT && deadline_passed(h))
		return deadline_error(h, err);
	if (cc == CURLE_FILESIZE_EXCEEDED)
		return network_error(err, -EPROTO, "'%s': the server announced more than the %llu bytes of the file", h->url,
				     (unsigned long long)h->size);
	switch (cc) {
	case CURLE_COULDNT_CONNECT: code = -ECONNREFUSED; transient = true; break;
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY: code = -EHOSTUNREACH; transient = true; break;
	case CURLE_OPERATION_TIMEDOUT: code = -ETIMEDOUT; transient = true; break;
	case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR:
	case CURLE_PARTIAL_FILE:
	case CURLE_GOT_NOTHING:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM: code = -ECONNRESET; transient = true; break;
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_URL_MALFORMAT: code = -EINVAL; reason = OTA_REASON_FAILED; break;
	case CURLE_TOO_MANY_REDIRECTS: code = -ELOOP; break;
	case CURLE_OUT_OF_MEMORY: code = -ENOMEM; reason = OTA_REASON_FAILED; break;
	default:
		if (ota_curl_is_tls_error(cc)) {
			code = -ECONNABORTED;
			reason = OTA_REASON_TLS;
		} else {
			code = -EIO;
		}
		break;
	}
	*ret_transient = transient;
	return ota_error_set_because(err, reason, code, "'%s': %s", h->url,
				     h->curl_err[0] ? h->curl_err : curl_easy_strerror(cc));
}

/* Never past the deadline: the next attempt then fails with it. */
static void backoff(struct ota_bundle_http *h, unsigned fails)
{
	uint64_t ms = (uint64_t)h->o.retry_delay_ms << (fails > 16 ? 16 : fails - 1);
	if (ms > BACKOFF_MAX_MS)
		ms = BACKOFF_MAX_MS;
	uint64_t left = remaining_ms(h);
	if (ms > left)
		ms = left;
	struct timespec ts = { .tv_sec = (time_t)(ms / 1000), .tv_nsec = (long)(ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* After the last allowed attempt: keep the message, say how many were made. */
static int give_up(struct ota_error *err, unsigned attempts)
{
	char msg[sizeof(err->msg)];
	memcpy(msg, err->msg, sizeof(msg));
	return ota_error_set_because(err, err->reason, err->code, "%s (gave up after %u attempts)", msg, attempts);
}

/* budget_ms: what is left of the deadline (> 0). */
static int setup_easy(struct ota_bundle_http *h, CURL *c, struct resp *resp, uint64_t budget_ms)
{
	h->curl_err[0] = '\0';
	const struct ota_curl_opts o = {
		.url = h->url,
		.follow_redirects = true,
		.connect_timeout_s = h->o.connect_timeout_s,
		.timeout_ms = budget_ms,
		.low_speed_bytes = h->o.low_speed_bytes,
		.low_speed_time_s = h->o.low_speed_time_s,
		.ca_file = h->o.ca_file,
		.ca_path = h->o.ca_path,
		.client_cert = h->o.client_cert,
		.client_key = h->o.client_cert ? h->o.client_key : NULL,
		.user_agent = "otaroot-bundle/1",
		.errbuf = h->curl_err,
	};
	CURLcode cc = ota_curl_setup(c, &o);
	if (cc == CURLE_OK) /* ranges address the bytes as stored */
		cc = curl_easy_setopt(c, CURLOPT_HTTP_CONTENT_DECODING, 0L);
	if (cc == CURLE_OK)
		cc = curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, header_cb);
	if (cc == CURLE_OK)
		cc = curl_easy_setopt(c, CURLOPT_HEADERDATA, resp);
	return cc == CURLE_OK ? 0 : -EINVAL;
}

/* The headers of a request: the caller's (opts.headers), then with if_range
 * "If-Range: <validator>" for a request that must hit the same file. A weak
 * ETag cannot be used there (RFC 9110 13.1.5); Last-Modified then serves,
 * and every response's ETag is compared anyway. -ENOMEM. */
static int request_headers(const struct ota_bundle_http *h, bool if_range, struct curl_slist **list)
{
	if (ota_curl_append_headers(list, h->o.headers) < 0)
		return -ENOMEM;
	const char *v = h->etag[0] && strncmp(h->etag, "W/", 2) != 0 ? h->etag
			: h->last_modified[0]				  ? h->last_modified
									  : NULL;
	if (!if_range || !v)
		return 0;
	char line[256];
	if (ota_format(line, sizeof(line), "If-Range: %s", v) < 0)
		return 0; /* an absurd validator: checked on the response instead */
	struct curl_slist *l = curl_slist_append(*list, line);
	if (!l)
		return -ENOMEM;
	*list = l;
	return 0;
}

/* ---- object ------------------------------------------------------------------- */

int ota_bundle_http_new(const char *url, const struct ota_bundle_http_opts *opts, struct ota_bundle_http **ret,
			struct ota_error *err)
{
	if (!ota_bundle_is_url(url))
		return ota_error_set(err, -EINVAL, "'%s' is not an http:// or https:// URL", url);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return ota_error_set(err, -EIO, "'%s': libcurl initialisation failed", url);
	struct ota_bundle_http *h = calloc(1, sizeof(*h));
	if (!h || !(h->url = strdup(url))) {
		free(h);
		curl_global_cleanup();
		return ota_error_set(err, -ENOMEM, "'%s': out of memory", url);
	}
	h->o = opts ? *opts : (struct ota_bundle_http_opts){ 0 };
	if (!h->o.max_attempts)
		h->o.max_attempts = 5;
	if (!h->o.retry_delay_ms)
		h->o.retry_delay_ms = 500;
	if (!h->o.connect_timeout_s)
		h->o.connect_timeout_s = 30;
	if (!h->o.low_speed_time_s)
		h->o.low_speed_time_s = OTA_BUNDLE_HTTP_DEFAULT_STALL_S;
	if (!h->o.low_speed_bytes)
		h->o.low_speed_bytes = OTA_BUNDLE_HTTP_DEFAULT_MIN_RATE;
	if (!h->o.timeout_s)
		h->o.timeout_s = OTA_BUNDLE_HTTP_DEFAULT_TIMEOUT_S;
	/* An attempt that did not bring one stall window's worth at the
	 * minimum rate made no progress: a drip then uses up the attempts. */
	h->min_progress = (uint64_t)h->o.low_speed_bytes * h->o.low_speed_time_s;
	if (!h->o.merge_gap)
		h->o.merge_gap = 4096;
	if (!h->o.max_ranges)
		h->o.max_ranges = 32;
	if (h->o.max_ranges > 256)
		h->o.max_ranges = 256;
	h->stats.multirange = h->o.max_ranges > 1;
	*ret = h;
	return 0;
}

struct ota_bundle_http *ota_bundle_http_free(struct ota_bundle_http *h)
{
	if (!h)
		return NULL;
	if (h->stream) {
		if (h->s_active)
			(void)curl_multi_remove_handle(h->multi, h->stream);
		curl_easy_cleanup(h->stream);
	}
	if (h->multi)
		(void)curl_multi_cleanup(h->multi);
	if (h->easy)
		curl_easy_cleanup(h->easy);
	free(h->spill);
	free(h->url);
	free(h);
	curl_global_cleanup();
	return NULL;
}

void ota_bundle_http_get_stats(const struct ota_bundle_http *h, struct ota_bundle_http_stats *ret)
{
	*ret = h->stats;
}

/* ---- ranges ------------------------------------------------------------------- */

struct rx {
	struct ota_bundle_http *h;
	const struct ota_bundle_range *r;
	const size_t *order;
	struct ota_span *spans;
	size_t nspans;
	int nreq; /* ranges in this request */
	const char *spec;
	uint64_t pending; /* bytes this request asks for */
	uint64_t body, body_max; /* body bytes received, allowed (set by the check) */
	struct resp resp;
	bool checked, multipart, transient;
	struct ota_multipart mp;
	uint64_t cursor, end; /* single part: next offset, end */
	int code;
	struct ota_error *err;
};

static int too_much(const struct rx *x)
{
	return network_error(x->err, -EPROTO, "'%s': the server sent more than the %llu bytes asked for (Range: bytes=%s)",
			     x->h->url, (unsigned long long)x->body_max, x->spec);
}

#define FALLBACK_SINGLE 1 /* internal: retry with single ranges */

static int check_range_response(struct rx *x)
{
	struct ota_bundle_http *h = x->h;
	const struct resp *r = &x->resp;
	if (r->status == 200) {
		int ret = check_identity(h, r, r->has_length ? r->length : UINT64_MAX, x->err);
		if (ret < 0)
			return ret;
		if (x->nreq > 1)
			return FALLBACK_SINGLE;
		return network_error(x->err, -EOPNOTSUPP,
				     "'%s': the server ignores range requests (HTTP 200 to a range request)", h->url);
	}
	if (r->status != 206)
		return status_error(h, r, &x->transient, x->err);
	if (r->has_crange) {
		int ret = check_identity(h, r, r->cr_total, x->err);
		if (ret < 0)
			return ret;
		x->cursor = r->cr_first;
		x->end = r->cr_last + 1;
		/* No more than asked for (several ranges may come coalesced into
		 * one, within their framing), and no more than the part it says. */
		x->body_max = ota_ranges_body_limit(x->pending, (size_t)x->nreq, x->nreq > 1);
		if (x->end - x->cursor > x->body_max)
			return too_much(x);
		x->body_max = x->end - x->cursor;
		return 0;
	}
	if (ota_multipart_init(&x->mp, r->content_type) < 0)
		return network_error(x->err, -EPROTO, "'%s': HTTP 206 without Content-Range or multipart body (%s)",
				     h->url, r->content_type[0] ? r->content_type : "no Content-Type");
	x->multipart = true;
	x->body_max = ota_ranges_body_limit(x->pending, (size_t)x->nreq, true);
	return check_identity(h, r, UINT64_MAX, x->err);
}

static int mp_emit(void *userdata, uint64_t offset, const uint8_t *data, size_t size)
{
	struct rx *x = userdata;
	int ret = check_identity(x->h, &x->resp, x->mp.total, x->err);
	if (ret < 0)
		return ret;
	ota_ranges_deliver(x->r, x->order, x->spans, x->nspans, offset, data, size);
	return 0;
}

static size_t range_write_cb(char *p, size_t size, size_t nmemb, void *userdata)
{
	struct rx *x = userdata;
	size_t n = size * nmemb;
	x->h->stats.downloaded += n;
	if (!x->checked) {
		x->checked = true;
		int ret = check_range_response(x);
		if (ret != 0) {
			x->code = ret;
			return 0; /* aborts the transfer */
		}
	}
	if (n > x->body_max - x->body) {
		x->code = too_much(x);
		return 0;
	}
	x->body += n;
	if (x->multipart) {
		int ret = ota_multipart_feed(&x->mp, (const uint8_t *)p, n, mp_emit, x);
		if (ret < 0) {
			x->code = x->err->code == ret ? ret
						      : network_error(x->err, ret, "'%s': malformed multipart/byteranges response",
								      x->h->url);
			return 0;
		}
		return n;
	}
	ota_ranges_deliver(x->r, x->order, x->spans, x->nspans, x->cursor, (const uint8_t *)p, n);
	x->cursor += n; /* <= end: body_max is the part's length */
	return n;
}

static int range_request(struct rx *x, struct ota_error *err)
{
	struct ota_bundle_http *h = x->h;
	uint64_t budget = remaining_ms(h);
	if (budget == 0)
		return deadline_error(h, err);
	if (!h->easy && !(h->easy = curl_easy_init()))
		return ota_error_set(err, -ENOMEM, "'%s': cannot create a libcurl handle", h->url);
	_cleanup_(curl_slist_free_allp) struct curl_slist *hdrs = NULL;
	if (request_headers(h, true, &hdrs) < 0)
		return ota_error_set(err, -ENOMEM, "'%s': out of memory for the request headers", h->url);
	if (setup_easy(h, h->easy, &x->resp, budget) < 0 || curl_easy_setopt(h->easy, CURLOPT_RANGE, x->spec) != CURLE_OK ||
	    curl_easy_setopt(h->easy, CURLOPT_HTTPHEADER, hdrs) != CURLE_OK ||
	    curl_easy_setopt(h->easy, CURLOPT_WRITEFUNCTION, range_write_cb) != CURLE_OK ||
	    curl_easy_setopt(h->easy, CURLOPT_WRITEDATA, x) != CURLE_OK)
		return ota_error_set(err, -EINVAL, "'%s': libcurl refused an option", h->url);
	h->stats.requests++;
	CURLcode cc = curl_easy_perform(h->easy);
	(void)curl_easy_setopt(h->easy, CURLOPT_HTTPHEADER, NULL);
	if (x->code)
		return x->code;
	if (cc != CURLE_OK)
		return curl_error(h, cc, &x->resp, &x->transient, err);
	if (!x->checked) { /* no body at all */
		x->checked = true;
		return check_range_response(x);
	}
	if (x->multipart && x->mp.state == OTA_MP_DATA) {
		x->transient = true;
		return network_error(err, -ECONNRESET, "'%s': multipart response ended inside a part", h->url);
	}
	return 0;
}

static uint64_t spans_got(const struct ota_span *s, size_t n)
{
	uint64_t t = 0;
	for (size_t i = 0; i < n; i++)
		t += s[i].got;
	return t;
}

static int check_bounds(struct ota_bundle_http *h, const struct ota_span *s, size_t n, struct ota_error *err)
{
	if (h->size_known && n > 0 && s[n - 1].end > h->size)
		return ota_error_set(err, -ERANGE, "'%s': range up to byte %llu is beyond the end of the file (%llu bytes)",
				     h->url, (unsigned long long)s[n - 1].end, (unsigned long long)h->size);
	return 0;
}

int ota_bundle_http_fetch(struct ota_bundle_http *h, const struct ota_bundle_range *ranges, size_t n,
			  struct ota_error *err)
{
	if (n == 0)
		return 0;
	_cleanup_free_ size_t *order = calloc(n, sizeof(*order));
	_cleanup_free_ struct ota_span *spans = calloc(n, sizeof(*spans));
	if (!order || !spans)
		return ota_error_set(err, -ENOMEM, "'%s': out of memory for %zu ranges", h->url, n);
	size_t ns;
	if (ota_ranges_plan(ranges, n, h->o.merge_gap, order, spans, &ns) < 0)
		return ota_error_set(err, -EOVERFLOW, "'%s': a range wraps around 64 bits", h->url);
	int ret = check_bounds(h, spans, ns, err);
	if (ret < 0)
		return ret;
	uint64_t total = 0;
	for (size_t i = 0; i < ns; i++)
		total += spans[i].end - spans[i].start;
	size_t spec_size = 44 * (size_t)h->o.max_ranges + 1;
	_cleanup_free_ char *spec = malloc(spec_size);
	if (!spec)
		return ota_error_set(err, -ENOMEM, "'%s': out of memory for a range request", h->url);
	unsigned fails = 0;
	uint64_t progress_since_fail = 0;
	for (;;) {
		uint64_t before = spans_got(spans, ns);
		if (before == total)
			return 0;
		size_t max = h->stats.multirange ? h->o.max_ranges : 1;
		int k = ota_ranges_format(spans, ns, max, spec, spec_size);
		if (k <= 0)
			return ota_error_set(err, -EINVAL, "'%s': cannot format the range request", h->url);
		struct rx x = { .h = h, .r = ranges, .order = order, .spans = spans, .nspans = ns, .nreq = k, .err = err,
				.spec = spec, .pending = ota_ranges_pending(spans, ns, max) };
		ret = range_request(&x, err);
		uint64_t progress = spans_got(spans, ns) - before;
		if (ret == FALLBACK_SINGLE) {
			h->stats.multirange = false; /* the server sent the whole file instead */
			continue;
		}
		if (ret == 0 && (ret = check_bounds(h, spans, ns, err)) < 0)
			return ret;
		if (ret == 0 && progress == 0)
			return network_error(err, -EPROTO, "'%s': the server sent none of the requested bytes (%s)", h->url,
					     spec);
		if (ret == 0) {
			fails = 0;
			progress_since_fail = 0;
			continue;
		}
		if (!x.transient)
			return ret;
		progress_since_fail += progress;
		if (progress_since_fail >= h->min_progress) {
			fails = 0;
			progress_since_fail = 0;
		}
		if (++fails >= h->o.max_attempts)
			return give_up(err, fails);
		h->stats.retries++;
		backoff(h, fails);
	}
}

int ota_bundle_http_size(struct ota_bundle_http *h, uint64_t *ret, struct ota_error *err)
{
	if (!h->size_known) {
		uint8_t b;
		struct ota_bundle_range r = { .offset = 0, .size = 1, .buf = &b };
		int rc = ota_bundle_http_fetch(h, &r, 1, err);
		if (rc < 0)
			return rc;
		if (!h->size_known)
			return network_error(err, -EPROTO, "'%s': the server did not say the file's size", h->url);
	}
	*ret = h->size;
	return 0;
}

static ssize_t http_read_at(void *userdata, uint64_t offset, void *buf, size_t size)
{
	struct ota_bundle_http *h = userdata;
	uint64_t total = 0;
	int ret = ota_bundle_http_size(h, &total, &h->err);
	if (ret < 0)
		return ret;
	if (offset >= total || size == 0)
		return 0;
	if (size > total - offset)
		size = (size_t)(total - offset);
	if (size > SSIZE_MAX)
		size = SSIZE_MAX;
	struct ota_bundle_range r = { .offset = offset, .size = size, .buf = buf };
	ret = ota_bundle_http_fetch(h, &r, 1, &h->err);
	return ret < 0 ? ret : (ssize_t)size;
}

/* ---- streaming ---------------------------------------------------------------- */

static int check_stream_response(struct ota_bundle_http *h)
{
	const struct resp *r = &h->s_resp;
	if (r->status == 200) {
		int ret = check_identity(h, r, r->has_length ? r->length : UINT64_MAX, &h->err);
		h->skip = h->recv_pos; /* a resume answered with the whole (same) file */
		return ret;
	}
	if (r->status == 206 && h->recv_pos > 0) {
		if (!r->has_crange || r->cr_first != h->recv_pos)
			return network_error(&h->err, -EPROTO, "'%s': resumed at byte %llu but the server sent another range",
					     h->url, (unsigned long long)h->recv_pos);
		return check_identity(h, r, r->cr_total, &h->err);
	}
	if (r->status == 206)
		return network_error(&h->err, -EPROTO, "'%s': HTTP 206 to a request without a range", h->url);
	return status_error(h, r, &h->s_transient, &h->err);
}

static size_t stream_write_cb(char *p, size_t size, size_t nmemb, void *userdata)
{
	struct ota_bundle_http *h = userdata;
	size_t n = size * nmemb, all = n;
	if (h->spill_off < h->spill_len) {
		h->s_paused = true;
		return CURL_WRITEFUNC_PAUSE; /* libcurl keeps the bytes and offers them again */
	}
	h->stats.downloaded += n;
	if (!h->s_checked) {
		h->s_checked = true;
		int ret = check_stream_response(h);
		if (ret < 0) {
			h->s_code = ret;
			return 0;
		}
	}
	size_t k = h->skip < n ? (size_t)h->skip : n;
	h->skip -= k;
	p += k;
	n -= k;
	if (h->size_known && n > h->size - h->recv_pos) {
		h->s_code = network_error(&h->err, -EPROTO, "'%s': the server sent more than the %llu bytes of the file",
					  h->url, (unsigned long long)h->size);
		return 0;
	}
	h->recv_pos += n;
	size_t room = h->dst ? h->dst_len - h->dst_got : 0;
	size_t c = room < n ? room : n;
	if (c) {
		memcpy(h->dst + h->dst_got, p, c);
		h->dst_got += c;
	}
	size_t rest = n - c;
	if (rest) {
		if (rest > h->spill_cap) {
			if (rest > SPILL_MAX) {
				h->s_code = ota_error_set(&h->err, -E2BIG, "'%s': libcurl delivered %zu bytes at once", h->url, rest);
				return 0;
			}
			uint8_t *s = realloc(h->spill, rest);
			if (!s) {
				h->s_code = ota_error_set(&h->err, -ENOMEM, "'%s': out of memory for %zu bytes received", h->url,
							  rest);
				return 0;
			}
			h->spill = s;
			h->spill_cap = rest;
		}
		memcpy(h->spill, p + c, rest);
		h->spill_len = rest;
		h->spill_off = 0;
	}
	return all;
}

static int stream_start(struct ota_bundle_http *h)
{
	if (!h->multi && !(h->multi = curl_multi_init()))
		return ota_error_set(&h->err, -ENOMEM, "'%s': cannot create a libcurl handle", h->url);
	if (!h->stream && !(h->stream = curl_easy_init()))
		return ota_error_set(&h->err, -ENOMEM, "'%s': cannot create a libcurl handle", h->url);
	h->s_resp = (struct resp){ 0 };
	h->s_checked = h->s_done = h->s_paused = h->s_transient = false;
	h->s_code = 0;
	h->skip = 0;
	uint64_t budget = remaining_ms(h);
	if (budget == 0)
		return deadline_error(h, &h->err);
	char range[32];
	struct curl_slist *hdrs = NULL; /* kept until the transfer ends: see stream_end */
	if ((h->recv_pos > 0 && ota_format(range, sizeof(range), "%llu-", (unsigned long long)h->recv_pos) < 0) ||
	    request_headers(h, h->recv_pos > 0, &hdrs) < 0) {
		curl_slist_free_all(hdrs);
		return ota_error_set(&h->err, -ENOMEM, "'%s': out of memory for the request headers", h->url);
	}
	/* Once the size is known libcurl refuses a longer Content-Length at once
	 * (the write callback catches a body without one). */
	if (setup_easy(h, h->stream, &h->s_resp, budget) < 0 ||
	    curl_easy_setopt(h->stream, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)(h->size_known ? h->size : 0)) != CURLE_OK ||
	    curl_easy_setopt(h->stream, CURLOPT_RANGE, h->recv_pos > 0 ? range : NULL) != CURLE_OK ||
	    curl_easy_setopt(h->stream, CURLOPT_HTTPHEADER, hdrs) != CURLE_OK ||
	    curl_easy_setopt(h->stream, CURLOPT_PRIVATE, hdrs) != CURLE_OK ||
	    curl_easy_setopt(h->stream, CURLOPT_WRITEFUNCTION, stream_write_cb) != CURLE_OK ||
	    curl_easy_setopt(h->stream, CURLOPT_WRITEDATA, h) != CURLE_OK ||
	    curl_multi_add_handle(h->multi, h->stream) != CURLM_OK) {
		curl_slist_free_all(hdrs);
		return ota_error_set(&h->err, -EINVAL, "'%s': libcurl refused an option", h->url);
	}
	h->s_active = true;
	h->stats.requests++;
	return 0;
}

static void stream_end(struct ota_bundle_http *h)
{
	struct curl_slist *hdrs = NULL;
	(void)curl_easy_getinfo(h->stream, CURLINFO_PRIVATE, (char **)&hdrs);
	(void)curl_multi_remove_handle(h->multi, h->stream);
	(void)curl_easy_setopt(h->stream, CURLOPT_HTTPHEADER, NULL);
	(void)curl_easy_setopt(h->stream, CURLOPT_PRIVATE, NULL);
	curl_slist_free_all(hdrs);
	h->s_active = false;
}

/* Drives the transfer until bytes arrived for the caller or it ended. */
static int stream_pump(struct ota_bundle_http *h)
{
	for (;;) {
		if (h->s_paused) {
			h->s_paused = false;
			(void)curl_easy_pause(h->stream, CURLPAUSE_CONT); /* may call the write callback */
		}
		if (h->dst_got > 0 || h->s_code)
			return 0;
		int running;
		if (curl_multi_perform(h->multi, &running) != CURLM_OK)
			return ota_error_set(&h->err, -EIO, "'%s': libcurl multi interface failed", h->url);
		CURLMsg *m;
		int queued;
		while ((m = curl_multi_info_read(h->multi, &queued)))
			if (m->msg == CURLMSG_DONE) {
				h->s_done = true;
				h->s_result = m->data.result;
			}
		if (h->dst_got > 0 || h->s_done)
			return 0;
		if (!h->s_paused && curl_multi_poll(h->multi, NULL, 0, 1000, NULL) != CURLM_OK)
			return ota_error_set(&h->err, -EIO, "'%s': libcurl multi interface failed", h->url);
	}
}

/* The transfer ended (or a callback failed): end of file, a retry, or an error. */
static int stream_finish(struct ota_bundle_http *h)
{
	CURLcode cc = h->s_done ? h->s_result : CURLE_OK;
	int code = h->s_code;
	bool transient = h->s_transient;
	stream_end(h);
	if (code == 0 && cc != CURLE_OK)
		code = curl_error(h, cc, &h->s_resp, &transient, &h->err);
	if (code == 0 && !h->s_checked) {
		h->s_checked = true;
		code = check_stream_response(h);
		transient = h->s_transient;
	}
	if (code == 0) {
		if (!h->size_known || h->recv_pos == h->size) {
			h->s_eof = true;
			return 0;
		}
		transient = true;
		code = network_error(&h->err, -ECONNRESET, "'%s': connection closed at byte %llu of %llu", h->url,
				     (unsigned long long)h->recv_pos, (unsigned long long)h->size);
	}
	if (!transient)
		return code;
	if (h->recv_pos - h->fail_pos >= h->min_progress) {
		h->fails = 0;
		h->fail_pos = h->recv_pos;
	}
	if (++h->fails >= h->o.max_attempts)
		return give_up(&h->err, h->fails);
	h->stats.retries++;
	backoff(h, h->fails);
	return 0;
}

static ssize_t http_read(void *userdata, void *buf, size_t size)
{
	struct ota_bundle_http *h = userdata;
	if (size == 0)
		return 0;
	for (;;) {
		if (h->spill_off < h->spill_len) {
			size_t c = h->spill_len - h->spill_off < size ? h->spill_len - h->spill_off : size;
			memcpy(buf, h->spill + h->spill_off, c);
			h->spill_off += c;
			h->pos += c;
			return (ssize_t)c;
		}
		if (h->s_eof)
			return 0;
		int ret;
		if (!h->s_active && (ret = stream_start(h)) < 0)
			return ret;
		h->dst = buf;
		h->dst_len = size > SSIZE_MAX ? SSIZE_MAX : size;
		h->dst_got = 0;
		ret = stream_pump(h);
		size_t got = h->dst_got;
		h->dst = NULL;
		h->dst_got = 0;
		if (got > 0) {
			h->pos += got;
			return (ssize_t)got;
		}
		if (ret < 0)
			return ret;
		if ((ret = stream_finish(h)) < 0)
			return ret;
	}
}

void ota_bundle_source_http(struct ota_bundle_source *src, struct ota_bundle_http *h)
{
	*src = (struct ota_bundle_source){
		.name = h->url, .read = http_read, .read_at = http_read_at, .userdata = h, .last_error = &h->err,
	};
}

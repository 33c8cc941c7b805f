/* SPDX-License-Identifier: Apache-2.0 */
/* One small bounded HTTP request for the update channel and the fleet
 * servers (update-private.h): the body read is capped, the headers too, the
 * whole request has a deadline and a minimum rate, only http(s) is spoken
 * and certificates are always verified. Bundles have their own, resumable
 * client (bundle/http.c); these are documents of a few KiB. */
#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sysutil/curl.h"
#include "update/update-private.h"

/* However long download-timeout is, one small document never takes longer. */
#define HTTP_DOC_TIMEOUT_MAX_S 120u
/* A Retry-After longer than this is not waited for within one run. */
#define HTTP_RETRY_AFTER_MAX_S 86400u

struct body {
	char *buf;
	size_t len, max;
	bool too_big;
	uint64_t header_bytes; /* of the current response */
	bool headers_done, headers_too_big;
	long retry_after_s;
};

/* Retry-After in delta-seconds (RFC 9110 10.2.3); an HTTP date is taken as
 * "a while": 60 s. */
static long parse_retry_after(const char *v, size_t len)
{
	while (len && (*v == ' ' || *v == '\t'))
		v++, len--;
	while (len && (v[len - 1] == '\r' || v[len - 1] == '\n' || v[len - 1] == ' '))
		len--;
	if (!len)
		return -1;
	long n = 0;
	for (size_t i = 0; i < len; i++) {
		if (v[i] < '0' || v[i] > '9')
			return 60;
		if (n > (long)HTTP_RETRY_AFTER_MAX_S)
			return (long)HTTP_RETRY_AFTER_MAX_S;
		n = n * 10 + (v[i] - '0');
	}
	return n;
}

/* Bounds the response headers as the bundle HTTP source does, and notes
 * their end: libcurl reports a header line over its own limit as out of
 * memory (before 8.6), which before that point means just that. */
static size_t header_cb(char *p, size_t size, size_t n, void *userdata)
{
	struct body *b = userdata;
	size_t len = size * n;
	if (len >= 5 && strncmp(p, "HTTP/", 5) == 0) {
		b->header_bytes = 0;
		b->headers_done = false;
		b->retry_after_s = -1;
	}
	b->header_bytes += len;
	if (b->header_bytes > OTA_BUNDLE_HTTP_MAX_HEADERS) {
		b->headers_too_big = true;
		return 0;
	}
	if ((len == 2 && p[0] == '\r' && p[1] == '\n') || (len == 1 && p[0] == '\n'))
		b->headers_done = true;
	else if (len > 12 && strncasecmp(p, "Retry-After:", 12) == 0)
		b->retry_after_s = parse_retry_after(p + 12, len - 12);
	return len;
}

static size_t body_cb(char *p, size_t size, size_t n, void *userdata)
{
	struct body *b = userdata;
	size_t add = size * n;
	if (add > b->max - b->len) {
		b->too_big = true;
		return 0;
	}
	char *nb = realloc(b->buf, b->len + add + 1);
	if (!nb)
		return 0;
	memcpy(nb + b->len, p, add);
	b->buf = nb;
	b->len += add;
	b->buf[b->len] = '\0';
	return add;
}

static uint64_t now_ms(void)
{
	struct timespec ts;
	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* A failure of the server or the network to it (OTA_REASON_NETWORK), or of
 * TLS (OTA_REASON_TLS). */
#define network_error(err, code, ...) ota_error_set_because(err, OTA_REASON_NETWORK, code, __VA_ARGS__)
static int request_error(const struct ota_http_request *rq, CURLcode cc, const struct body *b, const char *curl_err,
			 unsigned timeout_s, uint64_t elapsed_ms, struct ota_error *err)
{
	const char *what = rq->what, *url = rq->url;
	if (b->too_big || cc == CURLE_FILESIZE_EXCEEDED)
		return network_error(err, -EFBIG, "%s '%s': larger than %zu bytes", what, url, b->max);
	if (b->headers_too_big)
		return network_error(err, -EMSGSIZE, "%s '%s': response headers larger than %u bytes", what, url,
				     OTA_BUNDLE_HTTP_MAX_HEADERS);
	if (!b->headers_done && cc == CURLE_OUT_OF_MEMORY)
		return network_error(err, -EMSGSIZE,
				     "%s '%s': a response header line is longer than libcurl accepts (%d bytes), or libcurl ran out of memory",
				     what, url, CURL_MAX_HTTP_HEADER);
#if LIBCURL_VERSION_NUM >= 0x080600
	if (!b->headers_done && cc == CURLE_TOO_LARGE)
		return network_error(err, -EMSGSIZE, "%s '%s': a response header line is longer than libcurl accepts (%d bytes)",
				     what, url, CURL_MAX_HTTP_HEADER);
#endif
	if (cc == CURLE_OPERATION_TIMEDOUT && elapsed_ms + 10 >= (uint64_t)timeout_s * 1000u)
		return network_error(err, -ETIMEDOUT, "%s '%s': download timeout of %u s expired", what, url, timeout_s);
	bool tls = ota_curl_is_tls_error(cc);
	int code = tls ? -ECONNABORTED : cc == CURLE_OPERATION_TIMEDOUT ? -ETIMEDOUT
				: cc == CURLE_COULDNT_CONNECT		? -ECONNREFUSED
									: -EIO;
	return ota_error_set_because(err, tls ? OTA_REASON_TLS : OTA_REASON_NETWORK, code, "%s '%s': %s", what, url,
				     curl_err[0] ? curl_err : curl_easy_strerror(cc));
}

void ota_http_response_done(struct ota_http_response *r)
{
	if (!r)
		return;
	free(r->body);
	free(r->effective_url);
	*r = (struct ota_http_response){ 0 };
}

int ota_http_request(const struct ota_update_config *c, const struct ota_http_request *rq,
		     struct ota_http_response *ret, struct ota_error *err)
{
	if (!ota_http_url_valid(rq->url))
		return ota_error_set(err, -EINVAL, "%s '%s' is not an http(s) URL", rq->what, rq->url);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return ota_error_set(err, -ENOMEM, "%s '%s': libcurl initialisation failed", rq->what, rq->url);
	_cleanup_(curl_slist_free_allp) struct curl_slist *headers = NULL;
	if (ota_curl_append_headers(&headers, rq->headers) < 0)
		return ota_error_set(err, -ENOMEM, "%s '%s': out of memory", rq->what, rq->url);
	CURL *h = curl_easy_init();
	if (!h)
		return ota_error_set(err, -ENOMEM, "%s '%s': cannot create a libcurl handle", rq->what, rq->url);
	char curl_err[CURL_ERROR_SIZE] = "";
	struct body b = { .max = rq->max_body, .retry_after_s = -1 };
	unsigned timeout_s = c->download_timeout_s ? c->download_timeout_s : OTA_BUNDLE_HTTP_DEFAULT_TIMEOUT_S;
	if (timeout_s > HTTP_DOC_TIMEOUT_MAX_S)
		timeout_s = HTTP_DOC_TIMEOUT_MAX_S;
	/* A document may move (CDN); a request with a body is not re-sent
	 * elsewhere. */
	const struct ota_curl_opts o = {
		.url = rq->url,
		.follow_redirects = !rq->body,
		.connect_timeout_s = c->http_connect_timeout_s ? c->http_connect_timeout_s : 30,
		.timeout_ms = (uint64_t)timeout_s * 1000u,
		.low_speed_bytes = c->http_min_rate ? c->http_min_rate : OTA_BUNDLE_HTTP_DEFAULT_MIN_RATE,
		.low_speed_time_s = c->http_stall_time_s ? c->http_stall_time_s : OTA_BUNDLE_HTTP_DEFAULT_STALL_S,
		.ca_file = c->ca_file,
		.client_cert = rq->client_cert,
		.client_key = rq->client_key,
		.user_agent = "otaroot-update/1",
		.errbuf = curl_err,
	};
	CURLcode cc = ota_curl_setup(h, &o);
#define SET(opt, val) \
	if (cc == CURLE_OK) \
		cc = curl_easy_setopt(h, opt, val)
	SET(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)rq->max_body); /* a longer Content-Length: refused at once */
	SET(CURLOPT_ACCEPT_ENCODING, ""); /* a CDN may compress JSON */
	SET(CURLOPT_FAILONERROR, rq->fail_on_error ? 1L : 0L);
	SET(CURLOPT_WRITEFUNCTION, body_cb);
	SET(CURLOPT_WRITEDATA, &b);
	SET(CURLOPT_HEADERFUNCTION, header_cb);
	SET(CURLOPT_HEADERDATA, &b);
	if (headers)
		SET(CURLOPT_HTTPHEADER, headers);
	if (rq->body) {
		SET(CURLOPT_POSTFIELDS, rq->body);
		SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(rq->body));
	}
	if (rq->method && strcmp(rq->method, "GET") != 0 && strcmp(rq->method, "POST") != 0)
		SET(CURLOPT_CUSTOMREQUEST, rq->method);
#undef SET
	int r = 0;
	uint64_t start = now_ms();
	if (cc != CURLE_OK)
		r = ota_error_set(err, -EINVAL, "%s '%s': libcurl: %s", rq->what, rq->url, curl_easy_strerror(cc));
	else if ((cc = curl_easy_perform(h)) != CURLE_OK)
		r = request_error(rq, cc, &b, curl_err, timeout_s, now_ms() - start, err);
	struct ota_http_response res = { .body = b.buf, .len = b.len,
					  .retry_after_s = b.retry_after_s < 0 ? 0 : (unsigned)b.retry_after_s };
	b.buf = NULL;
	char *effective = NULL;
	if (r == 0 && (curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &res.status) != CURLE_OK ||
		       curl_easy_getinfo(h, CURLINFO_EFFECTIVE_URL, &effective) != CURLE_OK))
		r = ota_error_set(err, -EIO, "%s '%s': no response status", rq->what, rq->url);
	if (r == 0 && !(res.effective_url = strdup(effective ? effective : rq->url)))
		r = ota_error_set(err, -ENOMEM, "%s '%s': out of memory", rq->what, rq->url);
	if (r == 0 && !res.body && !(res.body = calloc(1, 1)))
		r = ota_error_set(err, -ENOMEM, "%s '%s': out of memory", rq->what, rq->url);
	curl_easy_cleanup(h);
	if (r < 0) {
		ota_http_response_done(&res);
		return r;
	}
	*ret = res;
	return 0;
}

int ota_json_parse_doc(const char *text, size_t len, const char *what, struct json_object **ret,
		       struct ota_error *err)
{
	if (len > INT32_MAX)
		return ota_error_set(err, -EFBIG, "%s: document too large", what);
	struct json_tokener *tok = json_tokener_new_ex(16);
	if (!tok)
		return ota_error_set(err, -ENOMEM, "%s: out of memory", what);
	struct json_object *root = json_tokener_parse_ex(tok, text, (int)len);
	enum json_tokener_error jerr = json_tokener_get_error(tok);
	size_t used = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	if (!root || jerr != json_tokener_success) {
		json_object_put(root);
		return ota_error_set(err, -EBADMSG, "%s: not JSON: %s", what,
				     jerr == json_tokener_continue ? "document ends early" : json_tokener_error_desc(jerr));
	}
	for (; used < len; used++)
		if (!isspace((unsigned char)text[used])) {
			json_object_put(root);
			return ota_error_set(err, -EBADMSG, "%s: data after the JSON document", what);
		}
	*ret = root;
	return 0;
}

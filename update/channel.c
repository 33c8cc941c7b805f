/* SPDX-License-Identifier: Apache-2.0 */
/* The update channel: a small JSON document on any HTTP(S) server naming the
 * latest version and its bundle (docs/channel.md). Parsing is separate from
 * fetching so that the parser can be unit-tested and fuzzed. */
#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bundle/bundle.h"
#include "update/update.h"

/* The channel is one small document: however long download-timeout is,
 * reading it never takes longer than this. */
#define CHANNEL_TIMEOUT_MAX_S 120u

void ota_channel_done(struct ota_channel *ch)
{
	if (!ch)
		return;
	free(ch->version);
	free(ch->bundle);
	free(ch->compatible);
	*ch = (struct ota_channel){ 0 };
}

static bool printable(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s == 0x7f)
			return false;
	return true;
}

static int get_string(struct json_object *root, const char *key, bool required, size_t max, const char **ret,
		      struct ota_error *err)
{
	struct json_object *v;
	*ret = NULL;
	if (!json_object_object_get_ex(root, key, &v) || json_object_is_type(v, json_type_null)) {
		if (required)
			return ota_error_set(err, -EBADMSG, "channel: '%s' missing", key);
		return 0;
	}
	if (!json_object_is_type(v, json_type_string))
		return ota_error_set(err, -EBADMSG, "channel: '%s' is not a string", key);
	const char *s = json_object_get_string(v);
	size_t n = (size_t)json_object_get_string_len(v);
	if (n == 0 || n > max || strlen(s) != n || !printable(s))
		return ota_error_set(err, -EBADMSG, "channel: '%s' is empty, longer than %zu bytes or not printable",
				     key, max);
	*ret = s;
	return 0;
}

static bool is_http_url(const char *s)
{
	return (strncmp(s, "http://", 7) == 0 && s[7]) || (strncmp(s, "https://", 8) == 0 && s[8]);
}

/* Resolves a bundle reference against the channel URL: absolute http(s)
 * URLs as they are, "/path" against the origin, anything else against the
 * channel's directory. Query and fragment of the base are dropped. */
static int resolve(const char *base, const char *ref, char **ret, struct ota_error *err)
{
	if (strstr(ref, "://")) {
		if (!is_http_url(ref))
			return ota_error_set(err, -EBADMSG, "channel: bundle '%s' is not an http(s) URL", ref);
		*ret = strdup(ref);
		return *ret ? 0 : -ENOMEM;
	}
	if (!base || !is_http_url(base))
		return ota_error_set(err, -EBADMSG, "channel: bundle '%s' is relative and there is no http(s) base URL",
				     ref);
	if (ref[0] == '/' && ref[1] == '/')
		return ota_error_set(err, -EBADMSG, "channel: scheme-relative bundle URL '%s' not supported", ref);
	/* RFC 3986 reference resolution (dot segments, query, fragment) by
	 * libcurl's URL parser, as for an HTTP redirect. */
	CURLU *u = curl_url();
	if (!u)
		return -ENOMEM;
	char *out = NULL;
	CURLUcode uc = curl_url_set(u, CURLUPART_URL, base, 0);
	if (uc == CURLUE_OK)
		uc = curl_url_set(u, CURLUPART_URL, ref, 0);
	if (uc == CURLUE_OK)
		uc = curl_url_get(u, CURLUPART_URL, &out, 0);
	curl_url_cleanup(u);
	if (uc != CURLUE_OK) {
		if (uc == CURLUE_OUT_OF_MEMORY)
			return -ENOMEM;
		return ota_error_set(err, -EBADMSG, "channel: bundle '%s' does not resolve against '%s'", ref, base);
	}
	if (!is_http_url(out)) {
		curl_free(out);
		return ota_error_set(err, -EBADMSG, "channel: bundle '%s' is not an http(s) URL", ref);
	}
	*ret = strdup(out);
	curl_free(out);
	return *ret ? 0 : -ENOMEM;
}

int ota_channel_parse(struct ota_channel *ret, const char *text, size_t len, const char *base_url,
		      struct ota_error *err)
{
	if (len > OTA_CHANNEL_MAX)
		return ota_error_set(err, -EFBIG, "channel: document larger than %u bytes", OTA_CHANNEL_MAX);
	struct json_tokener *tok = json_tokener_new_ex(16);
	if (!tok)
		return ota_error_set(err, -ENOMEM, "channel: out of memory");
	struct json_object *root = json_tokener_parse_ex(tok, text, (int)len);
	enum json_tokener_error jerr = json_tokener_get_error(tok);
	size_t used = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	int r = 0;
	if (!root || jerr != json_tokener_success) {
		r = ota_error_set(err, -EBADMSG, "channel: not JSON: %s",
				  jerr == json_tokener_continue ? "document ends early" : json_tokener_error_desc(jerr));
		goto done;
	}
	for (; used < len; used++)
		if (!isspace((unsigned char)text[used])) {
			r = ota_error_set(err, -EBADMSG, "channel: data after the JSON document");
			goto done;
		}
	if (!json_object_is_type(root, json_type_object)) {
		r = ota_error_set(err, -EBADMSG, "channel: not a JSON object");
		goto done;
	}
	struct json_object *v;
	if (json_object_object_get_ex(root, "format", &v)) {
		if (!json_object_is_type(v, json_type_int) || json_object_get_int64(v) != 1) {
			r = ota_error_set(err, -EPROTONOSUPPORT, "channel: format %s not supported (this is format 1)",
					  json_object_to_json_string(v));
			goto done;
		}
	}
	const char *version, *bundle, *compatible, *sha256;
	if ((r = get_string(root, "version", true, 127, &version, err)) < 0 ||
	    (r = get_string(root, "bundle", true, OTA_CHANNEL_URL_MAX, &bundle, err)) < 0 ||
	    (r = get_string(root, "compatible", false, 127, &compatible, err)) < 0 ||
	    (r = get_string(root, "sha256", false, 64, &sha256, err)) < 0)
		goto done;
	struct ota_channel ch = { 0 };
	if (sha256) {
		if (strlen(sha256) != 64 || strspn(sha256, "0123456789abcdefABCDEF") != 64) {
			r = ota_error_set(err, -EBADMSG, "channel: sha256 is not 64 hex digits");
			goto done;
		}
		for (size_t i = 0; i < 64; i++)
			ch.sha256[i] = (char)tolower((unsigned char)sha256[i]);
	}
	if (json_object_object_get_ex(root, "size", &v) && !json_object_is_type(v, json_type_null)) {
		int64_t n = json_object_is_type(v, json_type_int) ? json_object_get_int64(v) : -1;
		if (n <= 0 || n == INT64_MAX) {
			r = ota_error_set(err, -EBADMSG, "channel: size is not a positive integer");
			goto done;
		}
		ch.size = (uint64_t)n;
	}
	ch.version = strdup(version);
	ch.compatible = compatible ? strdup(compatible) : NULL;
	r = ch.version && (!compatible || ch.compatible) ? resolve(base_url, bundle, &ch.bundle, err) : -ENOMEM;
	if (r == 0 && strlen(ch.bundle) > OTA_CHANNEL_URL_MAX)
		r = ota_error_set(err, -EBADMSG, "channel: bundle URL longer than %u bytes", OTA_CHANNEL_URL_MAX);
	if (r < 0) {
		if (r == -ENOMEM)
			(void)ota_error_set(err, r, "channel: out of memory");
		ota_channel_done(&ch);
		goto done;
	}
	*ret = ch;
done:
	json_object_put(root);
	if (r < 0 && r != -ENOMEM)
		ota_error_classify(err, OTA_REASON_CHANNEL);
	return r;
}

struct body {
	char *buf;
	size_t len;
	bool too_big;
	uint64_t header_bytes; /* of the current response */
	bool headers_done, headers_too_big;
};

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
	}
	b->header_bytes += len;
	if (b->header_bytes > OTA_BUNDLE_HTTP_MAX_HEADERS) {
		b->headers_too_big = true;
		return 0;
	}
	if ((len == 2 && p[0] == '\r' && p[1] == '\n') || (len == 1 && p[0] == '\n'))
		b->headers_done = true;
	return len;
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
static int fetch_error(const char *url, CURLcode cc, const struct body *b, const char *curl_err, unsigned timeout_s,
		       uint64_t elapsed_ms, struct ota_error *err)
{
	if (b->too_big || cc == CURLE_FILESIZE_EXCEEDED)
		return network_error(err, -EFBIG, "channel '%s': larger than %u bytes", url, OTA_CHANNEL_MAX);
	if (b->headers_too_big)
		return network_error(err, -EMSGSIZE, "channel '%s': response headers larger than %u bytes", url,
				     OTA_BUNDLE_HTTP_MAX_HEADERS);
	if (!b->headers_done && cc == CURLE_OUT_OF_MEMORY)
		return network_error(err, -EMSGSIZE,
				     "channel '%s': a response header line is longer than libcurl accepts (%d bytes), or libcurl ran out of memory",
				     url, CURL_MAX_HTTP_HEADER);
#if LIBCURL_VERSION_NUM >= 0x080600
	if (!b->headers_done && cc == CURLE_TOO_LARGE)
		return network_error(err, -EMSGSIZE, "channel '%s': a response header line is longer than libcurl accepts (%d bytes)",
				     url, CURL_MAX_HTTP_HEADER);
#endif
	if (cc == CURLE_OPERATION_TIMEDOUT && elapsed_ms + 10 >= (uint64_t)timeout_s * 1000u)
		return network_error(err, -ETIMEDOUT, "channel '%s': download timeout of %u s expired", url, timeout_s);
	bool tls = cc == CURLE_PEER_FAILED_VERIFICATION || cc == CURLE_SSL_CACERT_BADFILE ||
		   cc == CURLE_SSL_CERTPROBLEM || cc == CURLE_SSL_CONNECT_ERROR;
	return ota_error_set_because(err, tls ? OTA_REASON_TLS : OTA_REASON_NETWORK,
				     tls ? -ECONNABORTED : cc == CURLE_OPERATION_TIMEDOUT ? -ETIMEDOUT : -EIO,
				     "channel '%s': %s", url, curl_err[0] ? curl_err : curl_easy_strerror(cc));
}

static size_t body_cb(char *p, size_t size, size_t n, void *userdata)
{
	struct body *b = userdata;
	size_t add = size * n;
	if (add > OTA_CHANNEL_MAX - b->len) {
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

int ota_channel_fetch(const struct ota_update_config *c, const char *url, struct ota_channel *ret,
		      struct ota_error *err)
{
	if (!is_http_url(url))
		return ota_error_set(err, -EINVAL, "channel '%s' is not an http(s) URL", url);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return ota_error_set(err, -ENOMEM, "channel '%s': libcurl initialisation failed", url);
	CURL *h = curl_easy_init();
	if (!h)
		return ota_error_set(err, -ENOMEM, "channel '%s': cannot create a libcurl handle", url);
	char curl_err[CURL_ERROR_SIZE] = "";
	struct body b = { 0 };
	CURLcode cc = CURLE_OK;
	unsigned timeout_s = c->download_timeout_s ? c->download_timeout_s : OTA_BUNDLE_HTTP_DEFAULT_TIMEOUT_S;
	if (timeout_s > CHANNEL_TIMEOUT_MAX_S)
		timeout_s = CHANNEL_TIMEOUT_MAX_S;
#define SET(opt, val) \
	if (cc == CURLE_OK) \
		cc = curl_easy_setopt(h, opt, val)
	SET(CURLOPT_URL, url);
	SET(CURLOPT_PROTOCOLS_STR, "http,https");
	SET(CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	SET(CURLOPT_FOLLOWLOCATION, 1L);
	SET(CURLOPT_MAXREDIRS, 5L);
	SET(CURLOPT_NOSIGNAL, 1L);
	SET(CURLOPT_CONNECTTIMEOUT, (long)(c->http_connect_timeout_s ? c->http_connect_timeout_s : 30));
	SET(CURLOPT_TIMEOUT, (long)timeout_s);
	SET(CURLOPT_LOW_SPEED_LIMIT, (long)(c->http_min_rate ? c->http_min_rate : OTA_BUNDLE_HTTP_DEFAULT_MIN_RATE));
	SET(CURLOPT_LOW_SPEED_TIME,
	    (long)(c->http_stall_time_s ? c->http_stall_time_s : OTA_BUNDLE_HTTP_DEFAULT_STALL_S));
	SET(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)OTA_CHANNEL_MAX); /* a longer Content-Length: refused at once */
	SET(CURLOPT_SSL_VERIFYPEER, 1L);
	SET(CURLOPT_SSL_VERIFYHOST, 2L);
	if (c->ca_file)
		SET(CURLOPT_CAINFO, c->ca_file);
	SET(CURLOPT_ACCEPT_ENCODING, ""); /* a CDN may compress JSON */
	SET(CURLOPT_FAILONERROR, 1L);
	SET(CURLOPT_USERAGENT, "otaroot-update/1");
	SET(CURLOPT_ERRORBUFFER, curl_err);
	SET(CURLOPT_WRITEFUNCTION, body_cb);
	SET(CURLOPT_WRITEDATA, &b);
	SET(CURLOPT_HEADERFUNCTION, header_cb);
	SET(CURLOPT_HEADERDATA, &b);
#undef SET
	int r = 0;
	uint64_t start = now_ms();
	if (cc != CURLE_OK)
		r = ota_error_set(err, -EINVAL, "channel '%s': libcurl: %s", url, curl_easy_strerror(cc));
	else if ((cc = curl_easy_perform(h)) != CURLE_OK)
		r = fetch_error(url, cc, &b, curl_err, timeout_s, now_ms() - start, err);
	char *effective = NULL;
	if (r == 0 && curl_easy_getinfo(h, CURLINFO_EFFECTIVE_URL, &effective) != CURLE_OK)
		effective = NULL;
	if (r == 0) {
		/* Relative bundle references resolve against where the document
		 * came from after redirects, as a browser would. */
		r = ota_channel_parse(ret, b.buf ? b.buf : "", b.len, effective ? effective : url, err);
		if (r < 0)
			ota_error_prefix(err, "'%s': ", url);
	}
	curl_easy_cleanup(h);
	free(b.buf);
	return r;
}

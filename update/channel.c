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

#include "bundle/bundle.h"
#include "update/update-private.h"

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

/* Resolves a bundle reference against the channel URL: absolute http(s)
 * URLs as they are, "/path" against the origin, anything else against the
 * channel's directory. Query and fragment of the base are dropped. */
static int resolve(const char *base, const char *ref, char **ret, struct ota_error *err)
{
	if (strstr(ref, "://")) {
		if (!ota_http_url_valid(ref))
			return ota_error_set(err, -EBADMSG, "channel: bundle '%s' is not an http(s) URL", ref);
		*ret = strdup(ref);
		return *ret ? 0 : -ENOMEM;
	}
	if (!base || !ota_http_url_valid(base))
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
	if (!ota_http_url_valid(out)) {
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
		return ota_error_set_because(err, OTA_REASON_CHANNEL, -EFBIG, "channel: document larger than %u bytes",
					     OTA_CHANNEL_MAX);
	struct json_object *root = NULL;
	int r = ota_json_parse_doc(text, len, "channel", &root, err);
	if (r < 0) {
		if (r != -ENOMEM)
			ota_error_classify(err, OTA_REASON_CHANNEL);
		return r;
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

int ota_channel_fetch(const struct ota_update_config *c, const char *url, struct ota_channel *ret,
		      struct ota_error *err)
{
	struct ota_http_request rq = { .method = "GET", .url = url, .what = "channel", .max_body = OTA_CHANNEL_MAX,
				       .fail_on_error = true };
	struct ota_http_response res;
	int r = ota_http_request(c, &rq, &res, err);
	if (r < 0)
		return r;
	/* Relative bundle references resolve against where the document came
	 * from after redirects, as a browser would. */
	r = ota_channel_parse(ret, res.body, res.len, res.effective_url, err);
	if (r < 0)
		ota_error_prefix(err, "'%s': ", url);
	ota_http_response_done(&res);
	return r;
}

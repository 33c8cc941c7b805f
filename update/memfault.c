/* SPDX-License-Identifier: Apache-2.0 */
/* Memfault OTA (docs/fleet.md): GET <base>/api/v0/releases/latest/url with
 * hardware_version, software_type, current_version and device_serial and
 * the Memfault-Project-Key header. 200: the body is the bundle's URL (plain
 * text, or JSON data.url), a pre-signed CDN URL that expires (6 hours), so
 * a download that fails as gone or forbidden asks again for a fresh one.
 * 204: no update. 503: retry after Retry-After. 400/403: configuration. */
#include <curl/curl.h>
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "update/update-private.h"

/* Waits for 503 + Retry-After within one check: at most this in total;
 * past it the check fails and the timer's next run asks again. */
#define MEMFAULT_WAIT_MAX_S 300u
#define MEMFAULT_ATTEMPTS 4u
/* Fresh URLs asked for after an expired one, per check. */
#define MEMFAULT_REASKS 2u
#define MEMFAULT_KEY_MAX 256u

static int append_param(CURLU *u, const char *name, const char *value)
{
	char buf[1024];
	if (ota_format(buf, sizeof(buf), "%s=%s", name, value) < 0)
		return -ENAMETOOLONG;
	return curl_url_set(u, CURLUPART_QUERY, buf, CURLU_APPENDQUERY | CURLU_URLENCODE) == CURLUE_OK ? 0 : -EINVAL;
}

/* <base>/api/v0/releases/latest/url?... with every value URL-encoded. */
static int latest_url(const struct ota_update_config *c, const char *serial, char **ret, struct ota_error *err)
{
	const struct ota_memfault_config *m = &c->memfault;
	const char *base = m->base_url ? m->base_url : OTA_MEMFAULT_DEFAULT_BASE;
	if (!ota_http_url_valid(base))
		return ota_error_set(err, -EINVAL, "[memfault] base-url '%s' is not an http(s) URL", base);
	if (!m->hardware_version || !m->software_type)
		return ota_error_set(err, -EINVAL, "[memfault] %s is not set",
				     !m->hardware_version ? "hardware-version" : "software-type");
	char url[OTA_CHANNEL_URL_MAX];
	size_t n = strlen(base);
	while (n && base[n - 1] == '/')
		n--;
	if (ota_format(url, sizeof(url), "%.*s/api/v0/releases/latest/url", (int)n, base) < 0)
		return ota_error_set(err, -ENAMETOOLONG, "[memfault] base-url '%s' too long", base);
	CURLU *u = curl_url();
	if (!u)
		return ota_error_set(err, -ENOMEM, "memfault: out of memory");
	char *out = NULL;
	int r = curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK ? 0 : -EINVAL;
	if (r == 0)
		r = append_param(u, "hardware_version", m->hardware_version);
	if (r == 0)
		r = append_param(u, "software_type", m->software_type);
	if (r == 0)
		r = append_param(u, "current_version", m->current_version ? m->current_version : c->version);
	if (r == 0)
		r = append_param(u, "device_serial", serial);
	if (r == 0 && curl_url_get(u, CURLUPART_URL, &out, 0) != CURLUE_OK)
		r = -EINVAL;
	curl_url_cleanup(u);
	if (r < 0)
		return ota_error_set(err, r, "memfault: cannot build the request URL from [memfault] base-url '%s'", base);
	r = ota_strdup_to(ret, out);
	curl_free(out);
	return r < 0 ? ota_error_set(err, r, "memfault: out of memory") : 0;
}

/* The bundle URL of a 200: the body as plain text, or JSON {"data":{"url":...}}. */
static int parse_release_url(const char *body, size_t len, char *ret, size_t size, struct ota_error *err)
{
	while (len && (body[len - 1] == '\n' || body[len - 1] == '\r' || body[len - 1] == ' '))
		len--;
	while (len && (*body == ' ' || *body == '\n' || *body == '\r'))
		body++, len--;
	char url[OTA_CHANNEL_URL_MAX + 1];
	if (len && body[0] == '{') {
		struct json_object *root = NULL, *data, *v;
		int r = ota_json_parse_doc(body, len, "memfault: release", &root, err);
		if (r < 0)
			return r;
		if (!json_object_object_get_ex(root, "data", &data) || !json_object_is_type(data, json_type_object) ||
		    !json_object_object_get_ex(data, "url", &v) || !json_object_is_type(v, json_type_string)) {
			json_object_put(root);
			return ota_error_set(err, -EBADMSG, "memfault: release: 'data.url' missing or not a string");
		}
		r = ota_format(url, sizeof(url), "%s", json_object_get_string(v));
		len = strlen(url);
		bool whole = len == (size_t)json_object_get_string_len(v);
		json_object_put(root);
		if (r < 0 || !whole)
			return ota_error_set(err, -EBADMSG, "memfault: release URL longer than %u bytes", OTA_CHANNEL_URL_MAX);
	} else {
		if (len > OTA_CHANNEL_URL_MAX)
			return ota_error_set(err, -EBADMSG, "memfault: release URL longer than %u bytes", OTA_CHANNEL_URL_MAX);
		memcpy(url, body, len);
		url[len] = '\0';
	}
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)url[i] <= 0x20 || (unsigned char)url[i] >= 0x7f)
			return ota_error_set(err, -EBADMSG, "memfault: release URL is not one line of printable characters");
	if (strlen(url) != len || !ota_http_url_valid(url))
		return ota_error_set(err, -EBADMSG, "memfault: release URL '%.200s' is not an http(s) URL", url);
	return ota_format(ret, size, "%s", url) < 0 ? ota_error_set(err, -EBADMSG, "memfault: release URL too long") : 0;
}

/* Asks for the latest release: 0 none, 1 and its URL in r->bundle. */
static int ask(const struct ota_update_config *c, struct ota_fleet_check_result *r, struct ota_error *err)
{
	const struct ota_memfault_config *m = &c->memfault;
	char key[MEMFAULT_KEY_MAX], serial[256], header[MEMFAULT_KEY_MAX + 32];
	int rc = ota_fleet_read_secret(m->project_key_file, "[memfault] project-key-file", key, sizeof(key), err);
	if (rc < 0)
		return rc;
	if ((rc = ota_fleet_device_id(m->device_serial, serial, sizeof(serial), err)) < 0) {
		ota_error_prefix(err, "memfault: device serial ([memfault] device-serial): ");
		return rc;
	}
	_cleanup_free_ char *url = NULL;
	if ((rc = latest_url(c, serial, &url, err)) < 0)
		return rc;
	(void)snprintf(header, sizeof(header), "Memfault-Project-Key: %s", key);
	const char *headers[] = { header, "Accept: text/plain", NULL };
	struct ota_http_request rq = { .method = "GET", .url = url, .headers = headers, .what = "memfault",
				       .max_body = OTA_FLEET_DOC_MAX };
	unsigned waited = 0;
	for (unsigned attempt = 1;; attempt++) {
		_cleanup_(ota_http_response_done) struct ota_http_response res = { 0 };
		if ((rc = ota_http_request(c, &rq, &res, err)) < 0)
			return rc;
		switch (res.status) {
		case 200: return parse_release_url(res.body, res.len, r->bundle, sizeof(r->bundle), err) < 0 ? -EBADMSG : 1;
		case 204: return 0;
		case 400:
			return ota_error_set(err, -EINVAL,
					     "memfault: 400 Bad Request: the server knows no hardware_version '%s' or software_type '%s' ([memfault] hardware-version, software-type), or device_serial '%s' is missing",
					     m->hardware_version, m->software_type, serial);
		case 401:
		case 403:
			return ota_error_set(err, -EACCES, "memfault: %ld: the project key in '%s' ([memfault] project-key-file) is missing or invalid",
					     res.status, m->project_key_file);
		case 503: {
			unsigned after = res.retry_after_s ? res.retry_after_s : 60;
			if (attempt >= MEMFAULT_ATTEMPTS || waited + after > MEMFAULT_WAIT_MAX_S)
				return ota_error_set(err, -EAGAIN, "memfault: 503 Service Unavailable: retry after %u s (asked %u times)",
						     after, attempt);
			ota_fleet_sleep(after);
			waited += after;
			continue;
		}
		default:
			return ota_error_set(err, -EPROTO, "memfault '%s': unexpected HTTP status %ld", url, res.status);
		}
	}
}

int ota_memfault_check(const struct ota_update_config *c, const struct ota_fleet_check_opts *o,
		       struct ota_fleet_check_result *ret, struct ota_error *err)
{
	struct ota_fleet_record rec;
	int r = ota_fleet_record_load(c, &rec, err);
	if (r < 0)
		return r;
	/* Until the reboot the device still runs the old version, and Memfault
	 * offers the release again: it is already armed. */
	if (r == 0 && rec.backend == OTA_FLEET_MEMFAULT && ota_fleet_group_armed(c, rec.group)) {
		ret->result = OTA_FLEET_ARMED;
		return 0;
	}
	if ((r = ask(c, ret, err)) <= 0) {
		ret->result = OTA_FLEET_UP_TO_DATE;
		return r;
	}
	if (!o->install) {
		ret->result = OTA_FLEET_AVAILABLE;
		return 0;
	}
	for (;;) {
		/* pre-signed: the URL is the credential, no header of ours goes with it */
		r = ota_fleet_install(c, o, &(struct ota_update_install_opts){ .source = ret->bundle }, ret, err);
		/* Pre-signed URLs expire: forbidden or gone means ask again. */
		if ((r == -EACCES || r == -ENOENT) && ret->reasked < MEMFAULT_REASKS) {
			ret->reasked++;
			struct ota_error e2 = { 0 };
			int a = ask(c, ret, &e2);
			if (a == 1)
				continue;
			if (a == 0)
				ota_error_prefix(err, "and asked again, the server offers no release: ");
			else
				ota_error_prefix(err, "%s; before that: ", e2.msg);
		}
		break;
	}
	if (r < 0)
		return r;
	ret->result = OTA_FLEET_INSTALLED;
	r = ota_fleet_record_install(c, OTA_FLEET_MEMFAULT, "", &ret->install, err);
	if (r < 0)
		ota_error_prefix(err, "version %s installed and armed, but its record for the outcome report: ",
				 ret->install.version);
	return r;
}

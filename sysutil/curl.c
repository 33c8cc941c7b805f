/* SPDX-License-Identifier: Apache-2.0 */
/* The libcurl settings every HTTP client of otaroot shares (sysutil/curl.h). */
#include <errno.h>
#include <limits.h>

#include "sysutil/curl.h"

CURLcode ota_curl_setup(CURL *c, const struct ota_curl_opts *o)
{
	CURLcode cc = CURLE_OK;
#define SET(opt, val) \
	if (cc == CURLE_OK) \
		cc = curl_easy_setopt(c, opt, val)
	SET(CURLOPT_URL, o->url);
	SET(CURLOPT_PROTOCOLS_STR, "http,https");
	SET(CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	SET(CURLOPT_FOLLOWLOCATION, o->follow_redirects ? 1L : 0L);
	SET(CURLOPT_MAXREDIRS, 5L);
	SET(CURLOPT_NOSIGNAL, 1L);
	SET(CURLOPT_CONNECTTIMEOUT, (long)o->connect_timeout_s);
	SET(CURLOPT_TIMEOUT_MS, (long)(o->timeout_ms < LONG_MAX ? o->timeout_ms : LONG_MAX));
	SET(CURLOPT_LOW_SPEED_LIMIT, (long)o->low_speed_bytes);
	SET(CURLOPT_LOW_SPEED_TIME, (long)o->low_speed_time_s);
	SET(CURLOPT_SSL_VERIFYPEER, 1L);
	SET(CURLOPT_SSL_VERIFYHOST, 2L);
	if (o->ca_file)
		SET(CURLOPT_CAINFO, o->ca_file);
	if (o->ca_path)
		SET(CURLOPT_CAPATH, o->ca_path);
	if (o->client_cert)
		SET(CURLOPT_SSLCERT, o->client_cert);
	if (o->client_key)
		SET(CURLOPT_SSLKEY, o->client_key);
	SET(CURLOPT_USERAGENT, o->user_agent);
	SET(CURLOPT_ERRORBUFFER, o->errbuf);
#undef SET
	return cc;
}

int ota_curl_append_headers(struct curl_slist **list, const char *const *lines)
{
	for (const char *const *line = lines; line && *line; line++) {
		struct curl_slist *l = curl_slist_append(*list, *line);
		if (!l)
			return -ENOMEM;
		*list = l;
	}
	return 0;
}

bool ota_curl_is_tls_error(CURLcode cc)
{
	return cc == CURLE_PEER_FAILED_VERIFICATION || cc == CURLE_SSL_CACERT_BADFILE || cc == CURLE_SSL_CERTPROBLEM ||
	       cc == CURLE_SSL_CONNECT_ERROR;
}

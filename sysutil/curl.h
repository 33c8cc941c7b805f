/* SPDX-License-Identifier: Apache-2.0 */
/* sysutil/curl.h: what every libcurl client of otaroot sets the same way
 * (the bundle HTTP source, bundle/http.c; ota-update's documents, update/http.c).
 *
 * Library otasysutil-curl, apart from otasysutil so that ota-init, which links
 * otasysutil statically, never links libcurl. Nothing here prints or logs.
 *
 * The policy it sets on an easy handle: only http:// and https://, redirects
 * too (at most 5, followed only where asked); TLS certificates and host
 * names always verified (ca_file / ca_path, else libcurl's system default);
 * no signals (CURLOPT_NOSIGNAL: libcurl runs in threads and under PID-1-free
 * tools only); a connect timeout, a whole-transfer timeout and a minimum
 * rate, so that no transfer waits without a bound. */
#ifndef OTA_SYSUTIL_CURL_H
#define OTA_SYSUTIL_CURL_H

#include <curl/curl.h>
#include <stdbool.h>
#include <stdint.h>

#include "sysutil/sysutil.h"

struct ota_curl_opts {
	const char *url;
	bool follow_redirects;
	unsigned connect_timeout_s;
	uint64_t timeout_ms;            /* the whole transfer; clamped to LONG_MAX */
	unsigned low_speed_bytes;       /* abort below low_speed_bytes/s ... */
	unsigned low_speed_time_s;      /*   ... for this long */
	const char *ca_file, *ca_path;  /* NULL: libcurl's default */
	const char *client_cert, *client_key; /* TLS client certificate and key (PEM), or NULL */
	const char *user_agent;
	char *errbuf;                   /* CURL_ERROR_SIZE bytes: libcurl's message of a failure */
};

/* Sets the options above on c. The first option libcurl refuses ends it:
 * its CURLcode is returned (CURLE_OK when all were set). */
CURLcode ota_curl_setup(CURL *c, const struct ota_curl_opts *o) _must_check_;

/* Appends the NULL-terminated "Name: value" lines (lines may be NULL) to
 * *list. -ENOMEM; *list keeps what was appended (curl_slist_free_all). */
int ota_curl_append_headers(struct curl_slist **list, const char *const *lines) _must_check_;

/* A failed transfer's code says TLS failed: the handshake, the server's
 * certificate or our CA file or client certificate (OTA_REASON_TLS). */
bool ota_curl_is_tls_error(CURLcode cc);

/* _cleanup_(curl_slist_free_allp) struct curl_slist *l = NULL; */
OTA_DEFINE_CLEANUP_FUNC(struct curl_slist *, curl_slist_free_all)

#endif

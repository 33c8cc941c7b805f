/* SPDX-License-Identifier: Apache-2.0 */
/* Eclipse hawkBit Direct Device Integration (DDI) API v1 (docs/fleet.md):
 * the controller's base resource <server>/<tenant>/controller/v1/<id>, its
 * links configData, deploymentBase and cancelAction, and feedback
 * {"status":{"execution":..,"result":{"finished":..},"details":[..]}} to
 * deploymentBase/<action>/feedback and cancelAction/<stopId>/feedback.
 * Every answer is checked for the types it must have; hrefs must be
 * http(s). 409 and 429 are retried with backoff (Retry-After if given). */
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "update/update-private.h"

#define HAWKBIT_ATTEMPTS 4u
#define HAWKBIT_BACKOFF_MAX_S 60u
#define HAWKBIT_TOKEN_MAX 512u
#define HAWKBIT_ID_MAX 20u
#define BUNDLE_SUFFIX ".otab"

struct ddi {
	const struct ota_update_config *c;
	char base[OTA_CHANNEL_URL_MAX];
	char auth[HAWKBIT_TOKEN_MAX + 64];  /* "Authorization: ..." or "" (TLS client certificate) */
	const char *auth_file;              /* named in 401/403 messages */
};

/* Tenant and controller id are path segments: no separators, no escapes. */
static bool segment_valid(const char *s)
{
	if (!s || !*s || strlen(s) > 255)
		return false;
	for (; *s; s++)
		if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f || strchr("/?#%\\", *s))
			return false;
	return true;
}

static int ddi_init(struct ddi *d, const struct ota_update_config *c, struct ota_error *err)
{
	const struct ota_hawkbit_config *h = &c->hawkbit;
	*d = (struct ddi){ .c = c };
	if (!ota_http_url_valid(h->server))
		return ota_error_set(err, -EINVAL, "[hawkbit] server '%s' is not an http(s) URL", h->server ? h->server : "");
	const char *tenant = h->tenant ? h->tenant : OTA_HAWKBIT_DEFAULT_TENANT;
	if (!segment_valid(tenant))
		return ota_error_set(err, -EINVAL, "[hawkbit] tenant '%s' is not a plain path segment", tenant);
	char id[256];
	int r = ota_fleet_device_id(h->controller_id, id, sizeof(id), err);
	if (r < 0) {
		ota_error_prefix(err, "hawkbit: controller id ([hawkbit] controller-id): ");
		return r;
	}
	if (!segment_valid(id))
		return ota_error_set(err, -EINVAL, "hawkbit: controller id '%s' is not a plain path segment", id);
	size_t n = strlen(h->server);
	while (n && h->server[n - 1] == '/')
		n--;
	if (ota_format(d->base, sizeof(d->base), "%.*s/%s/controller/v1/%s", (int)n, h->server, tenant, id) < 0)
		return ota_error_set(err, -ENAMETOOLONG, "[hawkbit] server '%s' too long", h->server);
	const char *scheme = h->target_token_file ? "TargetToken" : "GatewayToken";
	d->auth_file = h->target_token_file ? h->target_token_file : h->gateway_token_file;
	if (d->auth_file) {
		char token[HAWKBIT_TOKEN_MAX];
		r = ota_fleet_read_secret(d->auth_file, h->target_token_file ? "[hawkbit] target-token-file" : "[hawkbit] gateway-token-file",
					  token, sizeof(token), err);
		if (r < 0)
			return r;
		(void)snprintf(d->auth, sizeof(d->auth), "Authorization: %s %s", scheme, token);
	} else if (!h->client_cert) {
		return ota_error_set(err, -EINVAL,
				     "[hawkbit] needs target-token-file, gateway-token-file or client-cert to authenticate");
	}
	return 0;
}

/* One DDI request; 409 (conflict) and 429 (too many requests) are retried
 * after Retry-After or 1, 2, 4 s. Any other status comes back to the caller,
 * but 401/403 are errors naming the credentials. */
static int ddi_request(const struct ddi *d, const char *method, const char *url, const char *body,
		       struct ota_http_response *ret, struct ota_error *err)
{
	const struct ota_hawkbit_config *h = &d->c->hawkbit;
	const char *headers[4] = { "Accept: application/hal+json", NULL, NULL, NULL };
	size_t n = 1;
	if (d->auth[0])
		headers[n++] = d->auth;
	if (body)
		headers[n++] = "Content-Type: application/json";
	struct ota_http_request rq = { .method = method, .url = url, .headers = headers, .body = body,
				       .what = "hawkbit", .max_body = OTA_FLEET_DOC_MAX,
				       .client_cert = h->client_cert, .client_key = h->client_key };
	unsigned delay = 1;
	for (unsigned attempt = 1;; attempt++) {
		int r = ota_http_request(d->c, &rq, ret, err);
		if (r < 0)
			return r;
		if ((ret->status == 409 || ret->status == 429) && attempt < HAWKBIT_ATTEMPTS) {
			unsigned wait = ret->retry_after_s ? ret->retry_after_s : delay;
			ota_http_response_done(ret);
			ota_fleet_sleep(wait < HAWKBIT_BACKOFF_MAX_S ? wait : HAWKBIT_BACKOFF_MAX_S);
			delay *= 2;
			continue;
		}
		if (ret->status == 401 || ret->status == 403) {
			long status = ret->status;
			ota_http_response_done(ret);
			if (d->auth_file)
				return ota_error_set(err, -EACCES, "hawkbit %s '%s': %ld: the server refused the token in '%s'",
						     method, url, status, d->auth_file);
			return ota_error_set(err, -EACCES, "hawkbit %s '%s': %ld: the server refused the client certificate '%s'",
					     method, url, status, h->client_cert);
		}
		return 0;
	}
}

static int status_error(const char *method, const char *url, const struct ota_http_response *res,
			struct ota_error *err)
{
	return ota_error_set(err, res->status == 404 || res->status == 410 ? -ENOENT : -EPROTO,
			     "hawkbit %s '%s': unexpected HTTP status %ld", method, url, res->status);
}

/* GETs url and parses the answer as a JSON object. */
static int ddi_get_json(const struct ddi *d, const char *url, struct json_object **ret, struct ota_error *err)
{
	_cleanup_(ota_http_response_done) struct ota_http_response res = { 0 };
	int r = ddi_request(d, "GET", url, NULL, &res, err);
	if (r < 0)
		return r;
	if (res.status != 200)
		return status_error("GET", url, &res, err);
	char what[OTA_CHANNEL_URL_MAX + 16];
	(void)snprintf(what, sizeof(what), "hawkbit '%s'", url);
	struct json_object *root = NULL;
	if ((r = ota_json_parse_doc(res.body, res.len, what, &root, err)) < 0)
		return r;
	if (!json_object_is_type(root, json_type_object)) {
		json_object_put(root);
		return ota_error_set(err, -EBADMSG, "%s: not a JSON object", what);
	}
	*ret = root;
	return 0;
}

/* Sends a JSON body and expects 200 (or 204); other statuses are errors. */
static int ddi_send(const struct ddi *d, const char *method, const char *url, struct json_object *body,
		    long *ret_status, struct ota_error *err)
{
	_cleanup_(ota_http_response_done) struct ota_http_response res = { 0 };
	int r = ddi_request(d, method, url, json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE),
			    &res, err);
	if (r < 0)
		return r;
	if (ret_status)
		*ret_status = res.status;
	if (res.status != 200 && res.status != 204)
		return status_error(method, url, &res, err);
	return 0;
}

/* The object at a path of keys, of the type wanted; NULL if absent.
 * -EBADMSG (naming the path) if present with another type. */
static int member(struct json_object *o, const char *what, const char *const *path, enum json_type type,
		  struct json_object **ret, struct ota_error *err)
{
	char name[128] = "";
	size_t used = 0;
	*ret = NULL;
	for (size_t i = 0; path[i]; i++) {
		used += (size_t)snprintf(name + used, sizeof(name) - used, "%s%s", i ? "." : "", path[i]);
		if (used >= sizeof(name))
			used = sizeof(name) - 1;
		if (!json_object_is_type(o, json_type_object))
			return ota_error_set(err, -EBADMSG, "%s: '%s' is not an object", what, name);
		if (!json_object_object_get_ex(o, path[i], &o) || json_object_is_type(o, json_type_null))
			return 0;
	}
	if (!json_object_is_type(o, type))
		return ota_error_set(err, -EBADMSG, "%s: '%s' is not a %s", what, name, json_type_to_name(type));
	*ret = o;
	return 0;
}

/* A link's href: an http(s) URL of at most OTA_CHANNEL_URL_MAX bytes. */
static int href(struct json_object *root, const char *what, const char *rel, char *buf, size_t size,
		struct ota_error *err)
{
	const char *path[] = { "_links", rel, "href", NULL };
	struct json_object *v;
	int r = member(root, what, path, json_type_string, &v, err);
	if (r < 0 || !v) {
		buf[0] = '\0';
		return r;
	}
	const char *s = json_object_get_string(v);
	if ((size_t)json_object_get_string_len(v) != strlen(s) || ota_format(buf, size, "%s", s) < 0 ||
	    !ota_http_url_valid(buf) || strpbrk(buf, " \t\r\n"))
		return ota_error_set(err, -EBADMSG, "%s: _links.%s.href '%.200s' is not an http(s) URL", what, rel, s);
	return 1;
}

/* "HH:MM:SS" */
static int parse_sleep(const char *s, unsigned *ret)
{
	unsigned h, m, sec;
	char end;
	if (sscanf(s, "%2u:%2u:%2u%c", &h, &m, &sec, &end) != 3 || strlen(s) != 8 || m > 59 || sec > 59)
		return -EINVAL;
	*ret = h * 3600u + m * 60u + sec;
	return 0;
}

/* config.polling.sleep holds between two polls of the base resource, also
 * across ota-update runs: the time the next poll is due is kept in
 * hawkbit-poll beside [update] lock-file (/run/ota, a tmpfs: a reboot polls
 * at once) as "<boot id> <due> <sleep>", due in CLOCK_BOOTTIME seconds, so
 * a step of the wall clock (no RTC, NTP) neither stops nor hastens polling.
 * Advisory: a lost or unreadable file means a poll now. */
#define POLL_FILE "hawkbit-poll"

static int poll_path(const struct ota_update_config *c, char *buf, size_t size)
{
	const char *slash = strrchr(c->lock_file, '/');
	int n = slash ? (int)(slash - c->lock_file) : 1;
	return ota_format(buf, size, "%.*s/" POLL_FILE, n, slash ? c->lock_file : ".");
}

static uint64_t boottime_s(void)
{
	struct timespec ts;
	return clock_gettime(CLOCK_BOOTTIME, &ts) == 0 ? (uint64_t)ts.tv_sec : 0;
}

static void boot_id(char *buf, size_t size)
{
	_cleanup_free_ char *text = NULL;
	struct ota_error e = { 0 };
	buf[0] = '\0';
	if (ota_read_text_file("/proc/sys/kernel/random/boot_id", 64, &text, &e) == 0)
		(void)snprintf(buf, size, "%.*s", (int)strcspn(text, " \n"), text);
}

/* Seconds until the next poll is due (0: now); *ret_sleep: the sleep it was set with. */
static unsigned poll_wait(const struct ota_update_config *c, unsigned *ret_sleep)
{
	char path[4096], id[64], saved[64];
	_cleanup_free_ char *text = NULL;
	struct ota_error e = { 0 };
	unsigned long long due, sleep_s;
	if (poll_path(c, path, sizeof(path)) < 0 || ota_read_text_file(path, 256, &text, &e) < 0 ||
	    sscanf(text, "%63s %llu %llu", saved, &due, &sleep_s) != 3)
		return 0;
	boot_id(id, sizeof(id));
	uint64_t now = boottime_s();
	/* Another boot, or a due time further off than the sleep: not ours to trust. */
	if (!id[0] || strcmp(id, saved) != 0 || due <= now || due - now > sleep_s)
		return 0;
	*ret_sleep = (unsigned)sleep_s;
	return (unsigned)(due - now);
}

static int poll_save(const struct ota_update_config *c, unsigned sleep_s, struct ota_error *err)
{
	char path[4096], id[64], line[160];
	if (poll_path(c, path, sizeof(path)) < 0)
		return ota_error_set(err, -ENAMETOOLONG, "lock file path '%s' too long", c->lock_file);
	boot_id(id, sizeof(id));
	if (!id[0] || !sleep_s) {
		if (unlink(path) < 0 && errno != ENOENT)
			return ota_error_errno(err, -errno, "remove '%s'", path);
		return 0;
	}
	int n = snprintf(line, sizeof(line), "%s %llu %u\n", id, (unsigned long long)(boottime_s() + sleep_s), sleep_s);
	/* Atomic (write-new-then-rename) so that a reader sees the old or the
	 * new time; no fsync needed for a tmpfs file, but the helper's is cheap. */
	return ota_write_file_atomic(path, line, (size_t)n, 0644, err);
}

/* An action id: decimal digits, as a JSON string (DDI) or number. */
static int action_id(struct json_object *v, char *buf, size_t size)
{
	if (json_object_is_type(v, json_type_int) && json_object_get_int64(v) >= 0)
		return ota_format(buf, size, "%lld", (long long)json_object_get_int64(v));
	if (!json_object_is_type(v, json_type_string))
		return -EBADMSG;
	const char *s = json_object_get_string(v);
	size_t n = strlen(s);
	if (n == 0 || n > HAWKBIT_ID_MAX || strspn(s, "0123456789") != n)
		return -EBADMSG;
	return ota_format(buf, size, "%s", s);
}

static struct json_object *feedback_body(const char *execution, const char *finished, const char *detail)
{
	struct json_object *o = json_object_new_object(), *st = json_object_new_object(),
			   *res = json_object_new_object(), *details = json_object_new_array();
	json_object_object_add(res, "finished", json_object_new_string(finished));
	json_object_object_add(st, "execution", json_object_new_string(execution));
	json_object_object_add(st, "result", res);
	json_object_array_add(details, json_object_new_string(detail));
	json_object_object_add(st, "details", details);
	json_object_object_add(o, "status", st);
	return o;
}

/* POSTs feedback to <base>/<resource>/<id>/feedback. */
static int feedback(const struct ddi *d, const char *resource, const char *id, const char *execution,
		    const char *finished, const char *detail, long *ret_status, struct ota_error *err)
{
	char url[OTA_CHANNEL_URL_MAX + 64];
	if (ota_format(url, sizeof(url), "%s/%s/%s/feedback", d->base, resource, id) < 0)
		return ota_error_set(err, -ENAMETOOLONG, "hawkbit: feedback URL too long");
	struct json_object *body = feedback_body(execution, finished, detail);
	int r = ddi_send(d, "POST", url, body, ret_status, err);
	json_object_put(body);
	return r;
}

static void warn(const struct ota_fleet_check_opts *o, const struct ota_error *e)
{
	if (!o->progress)
		return;
	struct ota_update_progress p = { .stage = OTA_STAGE_WARNING, .message = e->msg };
	o->progress(o->userdata, &p);
}

static int put_config_data(const struct ddi *d, const char *url, struct ota_error *err)
{
	const struct ota_update_config *c = d->c;
	struct json_object *o = json_object_new_object(), *data = json_object_new_object();
	json_object_object_add(data, "compatible", json_object_new_string(c->compatible));
	json_object_object_add(data, "version", json_object_new_string(c->version));
	json_object_object_add(data, "otaroot", json_object_new_string(ota_cli_version()));
	json_object_object_add(o, "mode", json_object_new_string("merge"));
	json_object_object_add(o, "data", data);
	int r = ddi_send(d, "PUT", url, o, NULL, err);
	json_object_put(o);
	return r;
}

/* cancelAction: confirmed (closed, success) when nothing of the action was
 * written, or its trial is only armed (disarmed first); rejected once the
 * trial runs, as its outcome is reported after it. */
/* GETs a cancelAction resource: the action id it stops. */
static int get_stop_id(const struct ddi *d, const char *url, char *stop, size_t size, struct ota_error *err)
{
	struct json_object *root = NULL, *v;
	int r = ddi_get_json(d, url, &root, err);
	if (r < 0)
		return r;
	const char *path[] = { "cancelAction", "stopId", NULL };
	r = member(root, "hawkbit: cancelAction", path, json_type_string, &v, err);
	if (r == 0 && (!v || action_id(v, stop, size) < 0))
		r = ota_error_set(err, -EBADMSG, "hawkbit: cancelAction: 'cancelAction.stopId' missing or not an action id");
	json_object_put(root);
	return r;
}

/* cancelAction: confirmed (closed, success) when nothing of the action was
 * written, or its trial is only armed (disarmed first); rejected once the
 * trial runs, as its outcome is reported after it. */
static int handle_cancel(const struct ddi *d, const char *url, struct ota_fleet_check_result *ret,
			 struct ota_error *err)
{
	char stop[32];
	int r = get_stop_id(d, url, stop, sizeof(stop), err);
	if (r < 0)
		return r;
	struct ota_fleet_record rec;
	if ((r = ota_fleet_record_load(d->c, &rec, err)) < 0)
		return r;
	bool ours = r == 0 && rec.backend == OTA_FLEET_HAWKBIT && ota_streq(rec.action, stop);
	if (ours && !ota_fleet_group_armed(d->c, rec.group))
		return feedback(d, "cancelAction", stop, "rejected", "none",
				"the update already runs as a trial boot; its outcome is reported when the trial ends", NULL, err);
	if (ours) {
		char group[OTA_BOOTFLOW_NAME_MAX];
		if ((r = ota_update_rollback(d->c, group, err)) < 0 || (r = ota_fleet_record_remove(d->c, err)) < 0)
			return r;
	}
	ret->result = OTA_FLEET_CANCELED;
	(void)snprintf(ret->action, sizeof(ret->action), "%s", stop);
	return feedback(d, "cancelAction", stop, "closed", "success",
			ours ? "canceled: the armed trial was disarmed" : "canceled before anything was written", NULL, err);
}

/* Before the arm (ota_update_install_opts.before_arm): the base resource
 * polled once more, so that a cancel that came during the download is
 * honoured while nothing is armed. The server unreachable or answering
 * nonsense here does not stop the install: its deployment stands. */
struct cancel_probe {
	const struct ddi *d;
	const struct ota_fleet_check_opts *o;
	const char *action;
	bool canceled;
};

static int probe_cancel(void *userdata, struct ota_error *err)
{
	struct cancel_probe *p = userdata;
	struct ota_error e2 = { 0 };
	struct json_object *root = NULL;
	char url[OTA_CHANNEL_URL_MAX + 1], stop[32];
	int r = ddi_get_json(p->d, p->d->base, &root, &e2);
	if (r == 0) {
		r = href(root, "hawkbit: base resource", "cancelAction", url, sizeof(url), &e2);
		json_object_put(root);
	}
	bool cancel = r > 0;
	if (cancel)
		r = get_stop_id(p->d, url, stop, sizeof(stop), &e2);
	if (r < 0) {
		ota_error_prefix(&e2, "before the arm, asking for a cancel: ");
		warn(p->o, &e2);
		return 0;
	}
	if (!cancel || !ota_streq(stop, p->action))
		return 0; /* no cancel, or of another action: the next check's */
	p->canceled = true;
	return ota_error_set(err, -ECANCELED, "hawkbit canceled action %s during the install", p->action);
}

struct deployment {
	char id[32];
	bool install_now;
	char filename[256];
	char url[OTA_CHANNEL_URL_MAX + 1];
};

/* The one artifact whose name ends in .otab among all chunks. */
static int pick_artifact(struct json_object *chunks, bool https, struct deployment *dep, struct ota_error *err)
{
	const char *what = "hawkbit: deploymentBase";
	size_t found = 0;
	for (size_t i = 0; i < json_object_array_length(chunks); i++) {
		struct json_object *chunk = json_object_array_get_idx(chunks, i), *arts, *name;
		const char *ap[] = { "artifacts", NULL }, *np[] = { "filename", NULL };
		int r = member(chunk, what, ap, json_type_array, &arts, err);
		if (r < 0)
			return r;
		for (size_t j = 0; arts && j < json_object_array_length(arts); j++) {
			struct json_object *art = json_object_array_get_idx(arts, j);
			if ((r = member(art, what, np, json_type_string, &name, err)) < 0)
				return r;
			if (!name)
				return ota_error_set(err, -EBADMSG, "%s: an artifact has no filename", what);
			const char *fn = json_object_get_string(name);
			size_t n = strlen(fn);
			if (n < sizeof(BUNDLE_SUFFIX) || strcmp(fn + n - strlen(BUNDLE_SUFFIX), BUNDLE_SUFFIX) != 0)
				continue;
			if (++found > 1)
				return ota_error_set(err, -EBADMSG, "%s: more than one otaroot bundle (*" BUNDLE_SUFFIX "): '%s' and '%s'",
						     what, dep->filename, fn);
			if (n >= sizeof(dep->filename))
				return ota_error_set(err, -EBADMSG, "%s: an artifact's filename is longer than %zu bytes",
						     what, sizeof(dep->filename) - 1);
			memcpy(dep->filename, fn, n + 1);
			/* The transport the server is configured with: https links for
			 * an https server, else download-http. */
			r = href(art, what, https ? "download" : "download-http", dep->url, sizeof(dep->url), err);
			if (r == 0)
				r = href(art, what, https ? "download-http" : "download", dep->url, sizeof(dep->url), err);
			if (r < 0)
				return r;
			if (r == 0)
				return ota_error_set(err, -EBADMSG, "%s: artifact '%s' has no download link", what, fn);
		}
	}
	if (!found)
		return ota_error_set(err, -ENOENT, "%s: no otaroot bundle (*" BUNDLE_SUFFIX ") among the artifacts", what);
	return 0;
}

static int get_deployment(const struct ddi *d, const char *url, struct deployment *dep, struct ota_error *err)
{
	const char *what = "hawkbit: deploymentBase";
	struct json_object *root = NULL, *v, *chunks;
	int r = ddi_get_json(d, url, &root, err);
	if (r < 0)
		return r;
	*dep = (struct deployment){ .install_now = true };
	const char *cp[] = { "deployment", "chunks", NULL },
		   *up[] = { "deployment", "update", NULL }, *mp[] = { "deployment", "maintenanceWindow", NULL };
	if (!json_object_object_get_ex(root, "id", &v) || action_id(v, dep->id, sizeof(dep->id)) < 0)
		r = ota_error_set(err, -EBADMSG, "%s: 'id' missing or not an action id", what);
	else if ((r = member(root, what, cp, json_type_array, &chunks, err)) < 0)
		;
	else if (!chunks)
		r = ota_error_set(err, -EBADMSG, "%s: 'deployment.chunks' missing", what);
	else if ((r = member(root, what, up, json_type_string, &v, err)) == 0 && v) {
		const char *u = json_object_get_string(v);
		if (!ota_streq(u, "skip") && !ota_streq(u, "attempt") && !ota_streq(u, "forced"))
			r = ota_error_set(err, -EBADMSG, "%s: 'deployment.update' is '%.40s', not skip, attempt or forced", what, u);
		dep->install_now = !ota_streq(u, "skip");
	}
	if (r == 0 && (r = member(root, what, mp, json_type_string, &v, err)) == 0 && v) {
		const char *m = json_object_get_string(v);
		if (!ota_streq(m, "available") && !ota_streq(m, "unavailable"))
			r = ota_error_set(err, -EBADMSG, "%s: 'deployment.maintenanceWindow' is '%.40s'", what, m);
		if (ota_streq(m, "unavailable"))
			dep->install_now = false;
	}
	if (r == 0)
		r = pick_artifact(chunks, ota_startswith(d->c->hawkbit.server, "https://"), dep, err);
	json_object_put(root);
	return r;
}

static int install_action(const struct ddi *d, const struct ota_fleet_check_opts *o, const struct deployment *dep,
			  struct ota_fleet_check_result *ret, struct ota_error *err)
{
	char detail[512];
	struct ota_error e2 = { 0 };
	(void)snprintf(detail, sizeof(detail), "installing %s into the spare boot group (adaptive delta)", dep->filename);
	int r = feedback(d, "deploymentBase", dep->id, "proceeding", "none", detail, NULL, err);
	if (r < 0)
		return r;
	/* The artifact takes the DDI credentials too: hawkBit refuses an
	 * unauthenticated download unless anonymous download is enabled. */
	const char *headers[] = { d->auth[0] ? d->auth : NULL, NULL };
	struct cancel_probe probe = { .d = d, .o = o, .action = dep->id };
	struct ota_update_install_opts dl = { .source = dep->url, .http_headers = headers,
					      .client_cert = d->c->hawkbit.client_cert,
					      .client_key = d->c->hawkbit.client_key,
					      .before_arm = probe_cancel, .arm_userdata = &probe };
	r = ota_fleet_install(d->c, o, &dl, ret, err);
	if (r < 0 && probe.canceled) {
		ret->result = OTA_FLEET_CANCELED;
		*err = (struct ota_error){ 0 };
		return feedback(d, "cancelAction", dep->id, "closed", "success",
				"canceled during the install: the spare group was written but not armed", NULL, err);
	}
	if (r < 0) {
		/* The install failed before anything was armed: the action is
		 * over. Its feedback is best effort; the error is the install's. */
		if (feedback(d, "deploymentBase", dep->id, "closed", "failure", err->msg, NULL, &e2) < 0) {
			ota_error_prefix(&e2, "failure feedback not delivered: ");
			warn(o, &e2);
		}
		return r;
	}
	ret->result = OTA_FLEET_INSTALLED;
	r = ota_fleet_record_install(d->c, OTA_FLEET_HAWKBIT, dep->id, &ret->install, err);
	if (r < 0) {
		ota_error_prefix(err, "action %s installed and armed, but its record for the outcome report: ", dep->id);
		return r;
	}
	(void)snprintf(detail, sizeof(detail),
		       "installed version %s into group %s and armed a trial boot; the outcome follows after the reboot",
		       ret->install.version, ret->install.group);
	if (feedback(d, "deploymentBase", dep->id, "downloaded", "none", detail, NULL, &e2) < 0)
		warn(o, &e2);
	return 0;
}

int ota_hawkbit_check(const struct ota_update_config *c, const struct ota_fleet_check_opts *o,
		      struct ota_fleet_check_result *ret, struct ota_error *err)
{
	if (!o->now && (ret->poll_due_s = poll_wait(c, &ret->poll_s)) > 0) {
		ret->result = OTA_FLEET_NOT_DUE;
		return 0;
	}
	struct ddi d;
	int r = ddi_init(&d, c, err);
	if (r < 0)
		return r;
	struct json_object *root = NULL, *v;
	if ((r = ddi_get_json(&d, d.base, &root, err)) < 0)
		return r;
	char cancel[OTA_CHANNEL_URL_MAX + 1], config[OTA_CHANNEL_URL_MAX + 1], deploy[OTA_CHANNEL_URL_MAX + 1];
	const char *sp[] = { "config", "polling", "sleep", NULL };
	const char *what = "hawkbit: base resource";
	if ((r = member(root, what, sp, json_type_string, &v, err)) == 0 && v &&
	    parse_sleep(json_object_get_string(v), &ret->poll_s) < 0)
		r = ota_error_set(err, -EBADMSG, "%s: config.polling.sleep '%.40s' is not HH:MM:SS", what,
				  json_object_get_string(v));
	if (r >= 0)
		r = href(root, what, "cancelAction", cancel, sizeof(cancel), err);
	if (r >= 0)
		r = href(root, what, "configData", config, sizeof(config), err);
	if (r >= 0)
		r = href(root, what, "deploymentBase", deploy, sizeof(deploy), err);
	json_object_put(root);
	if (r < 0)
		return r;
	struct ota_error e2 = { 0 };
	if (poll_save(c, ret->poll_s, &e2) < 0) {
		ota_error_prefix(&e2, "the polling sleep is not kept, the next check polls at once: ");
		warn(o, &e2);
	}
	ret->result = OTA_FLEET_UP_TO_DATE;
	if (cancel[0])
		return handle_cancel(&d, cancel, ret, err);
	if (config[0] && (r = put_config_data(&d, config, err)) < 0)
		return r;
	if (!deploy[0])
		return 0;
	struct deployment dep;
	if ((r = get_deployment(&d, deploy, &dep, err)) < 0)
		return r;
	(void)snprintf(ret->action, sizeof(ret->action), "%s", dep.id);
	(void)snprintf(ret->bundle, sizeof(ret->bundle), "%s", dep.url);
	struct ota_fleet_record rec;
	if ((r = ota_fleet_record_load(c, &rec, err)) < 0)
		return r;
	if (r == 0 && ota_streq(rec.action, dep.id)) {
		ret->result = OTA_FLEET_ARMED;
		return 0;
	}
	ret->result = dep.install_now ? OTA_FLEET_AVAILABLE : OTA_FLEET_DEFERRED;
	if (!o->install || !dep.install_now)
		return 0;
	if (r == 0) {
		/* A new action while the last one is still undecided: that one
		 * is over, and the server hears so first. */
		char reason[128];
		struct ota_fleet_report rep;
		(void)snprintf(reason, sizeof(reason), "superseded by action %s before its trial ended", dep.id);
		if ((r = ota_fleet_decide(c, OTA_FLEET_FAILURE, reason, err)) < 0 || (r = ota_fleet_report(c, &rep, err)) < 0)
			return r;
	}
	return install_action(&d, o, &dep, ret, err);
}

int ota_hawkbit_report(const struct ota_update_config *c, const struct ota_fleet_record *rec, struct ota_error *err)
{
	struct ddi d;
	int r = ddi_init(&d, c, err);
	if (r < 0)
		return r;
	long status = 0;
	r = feedback(&d, "deploymentBase", rec->action, "closed",
		     rec->outcome == OTA_FLEET_SUCCESS ? "success" : "failure", rec->reason, &status, err);
	/* Gone: the server closed or deleted the action (an operator, or our
	 * own earlier delivery whose answer was lost); nothing to repeat. */
	if (r == -ENOENT && (status == 404 || status == 410))
		return 0;
	return r;
}

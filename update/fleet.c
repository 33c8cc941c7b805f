/* SPDX-License-Identifier: Apache-2.0 */
/* Fleet servers (docs/fleet.md): which backend `ota-update check` asks, the
 * record an installed fleet update keeps on the data partition until its
 * outcome is delivered, and deciding and delivering that outcome. The
 * protocols themselves are in memfault.c and hawkbit.c. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "update/update-private.h"

#define RECORD_NAME "fleet.json"
#define RECORD_MAX (16u << 10)

static const char *const ota_fleet_backend_names[] = {
	[OTA_FLEET_CHANNEL] = "channel",
	[OTA_FLEET_MEMFAULT] = "memfault",
	[OTA_FLEET_HAWKBIT] = "hawkbit",
};
OTA_DEFINE_ENUM_TO_STRING(ota_fleet_backend, enum ota_fleet_backend, "invalid")
OTA_DEFINE_ENUM_FROM_STRING(ota_fleet_backend, enum ota_fleet_backend)

static const char *const ota_fleet_result_names[] = {
	[OTA_FLEET_UP_TO_DATE] = "up-to-date", [OTA_FLEET_AVAILABLE] = "available",
	[OTA_FLEET_ARMED] = "armed",           [OTA_FLEET_INSTALLED] = "installed",
	[OTA_FLEET_CANCELED] = "canceled",     [OTA_FLEET_DEFERRED] = "deferred",
	[OTA_FLEET_NOT_DUE] = "not-due",
};
OTA_DEFINE_ENUM_TO_STRING(ota_fleet_result, enum ota_fleet_result, "invalid")

static const char *const ota_fleet_outcome_names[] = {
	[OTA_FLEET_PENDING] = "pending",
	[OTA_FLEET_SUCCESS] = "success",
	[OTA_FLEET_FAILURE] = "failure",
};
OTA_DEFINE_ENUM_TO_STRING(ota_fleet_outcome, enum ota_fleet_outcome, "invalid")
OTA_DEFINE_ENUM_FROM_STRING(ota_fleet_outcome, enum ota_fleet_outcome)

enum ota_fleet_backend ota_fleet_backend_of(const char *channel)
{
	if (ota_streq(channel, "memfault"))
		return OTA_FLEET_MEMFAULT;
	if (ota_streq(channel, "hawkbit"))
		return OTA_FLEET_HAWKBIT;
	return OTA_FLEET_CHANNEL;
}

/* The record lives beside the slot status file: on the data partition,
 * which survives the reboot into the trial and a rollback. */
static int record_path(const struct ota_update_config *c, char *buf, size_t size, struct ota_error *err)
{
	char dir[PATH_MAX];
	if (ota_format(dir, sizeof(dir), "%s", c->status_file) < 0 ||
	    ota_format(buf, size, "%s/" RECORD_NAME, dirname(dir)) < 0)
		return ota_error_set(err, -ENAMETOOLONG, "status file path '%s' too long", c->status_file);
	return 0;
}

static int copy_field(struct json_object *o, const char *key, char *buf, size_t size, const char *path,
		      struct ota_error *err)
{
	struct json_object *v;
	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return ota_error_set(err, -EBADMSG, "%s: '%s' missing or not a string", path, key);
	if ((size_t)json_object_get_string_len(v) >= size)
		return ota_error_set(err, -EBADMSG, "%s: '%s' longer than %zu bytes", path, key, size - 1);
	memcpy(buf, json_object_get_string(v), (size_t)json_object_get_string_len(v) + 1);
	return 0;
}

static int get_u64(struct json_object *o, const char *key, uint64_t max, uint64_t *ret, const char *path,
		   struct ota_error *err)
{
	struct json_object *v;
	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_int) ||
	    json_object_get_int64(v) < 0 || (uint64_t)json_object_get_int64(v) > max)
		return ota_error_set(err, -EBADMSG, "%s: '%s' missing or not an integer in 0..%" PRIu64, path, key, max);
	*ret = (uint64_t)json_object_get_int64(v);
	return 0;
}

int ota_fleet_record_load(const struct ota_update_config *c, struct ota_fleet_record *ret, struct ota_error *err)
{
	char path[PATH_MAX];
	int r = record_path(c, path, sizeof(path), err);
	if (r < 0)
		return r;
	*ret = (struct ota_fleet_record){ 0 };
	_cleanup_free_ char *text = NULL;
	struct ota_error e2 = { 0 };
	r = ota_read_text_file(path, RECORD_MAX, &text, &e2);
	if (r == -ENOENT)
		return 1;
	if (r < 0) {
		*err = e2;
		return r;
	}
	struct json_object *root = NULL;
	r = ota_json_parse_doc(text, strlen(text), path, &root, err);
	if (r < 0)
		return r;
	char backend[16], outcome[16];
	uint64_t tries = 0, installed = 0;
	struct ota_fleet_record rec = { 0 };
	if (!json_object_is_type(root, json_type_object))
		r = ota_error_set(err, -EBADMSG, "%s: not a JSON object", path);
	if (r == 0 && (r = copy_field(root, "backend", backend, sizeof(backend), path, err)) == 0 &&
	    (r = copy_field(root, "action", rec.action, sizeof(rec.action), path, err)) == 0 &&
	    (r = copy_field(root, "group", rec.group, sizeof(rec.group), path, err)) == 0 &&
	    (r = copy_field(root, "version", rec.version, sizeof(rec.version), path, err)) == 0 &&
	    (r = copy_field(root, "from_version", rec.from_version, sizeof(rec.from_version), path, err)) == 0 &&
	    (r = copy_field(root, "outcome", outcome, sizeof(outcome), path, err)) == 0 &&
	    (r = copy_field(root, "reason", rec.reason, sizeof(rec.reason), path, err)) == 0 &&
	    (r = get_u64(root, "tries", OTA_BOOTFLOW_MAX_TRIES, &tries, path, err)) == 0)
		r = get_u64(root, "installed", INT64_MAX, &installed, path, err);
	json_object_put(root);
	if (r < 0)
		return r;
	rec.backend = ota_fleet_backend_from_string(backend);
	rec.outcome = ota_fleet_outcome_from_string(outcome);
	if (rec.backend != OTA_FLEET_MEMFAULT && rec.backend != OTA_FLEET_HAWKBIT)
		return ota_error_set(err, -EBADMSG, "%s: unknown backend '%s'", path, backend);
	if (rec.outcome == OTA_FLEET_OUTCOME_INVALID)
		return ota_error_set(err, -EBADMSG, "%s: unknown outcome '%s'", path, outcome);
	rec.tries = (unsigned)tries;
	rec.installed = installed;
	*ret = rec;
	return 0;
}

int ota_fleet_record_save(const struct ota_update_config *c, const struct ota_fleet_record *rec,
			  struct ota_error *err)
{
	char path[PATH_MAX];
	int r = record_path(c, path, sizeof(path), err);
	if (r < 0)
		return r;
	struct json_object *o = json_object_new_object();
	if (!o)
		return ota_error_set(err, -ENOMEM, "%s: out of memory", path);
	json_object_object_add(o, "backend", json_object_new_string(ota_fleet_backend_to_string(rec->backend)));
	json_object_object_add(o, "action", json_object_new_string(rec->action));
	json_object_object_add(o, "group", json_object_new_string(rec->group));
	json_object_object_add(o, "version", json_object_new_string(rec->version));
	json_object_object_add(o, "from_version", json_object_new_string(rec->from_version));
	json_object_object_add(o, "tries", json_object_new_int64(rec->tries));
	json_object_object_add(o, "installed", json_object_new_int64((int64_t)rec->installed));
	json_object_object_add(o, "outcome", json_object_new_string(ota_fleet_outcome_to_string(rec->outcome)));
	json_object_object_add(o, "reason", json_object_new_string(rec->reason));
	const char *text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE);
	r = ota_mkdir_parent(path, 0755);
	if (r < 0)
		r = ota_error_errno(err, r, "create the directory of '%s'", path);
	/* Power-fail safe: written to a new file, fsync'd, renamed over the
	 * record and the directory fsync'd, so after a cut the record is the
	 * old one or the new one, never a torn mix that would lose the action
	 * id the server waits to hear about. */
	else
		r = ota_write_file_atomic(path, text, strlen(text), 0644, err);
	json_object_put(o);
	return r;
}

int ota_fleet_record_remove(const struct ota_update_config *c, struct ota_error *err)
{
	char path[PATH_MAX], dir[PATH_MAX];
	int r = record_path(c, path, sizeof(path), err);
	if (r < 0)
		return r;
	if (unlink(path) < 0 && errno != ENOENT)
		return ota_error_errno(err, -errno, "remove '%s'", path);
	/* The removal must reach the disk: a record that comes back after a
	 * power cut would report the outcome a second time. */
	(void)snprintf(dir, sizeof(dir), "%s", path);
	r = ota_fsync_dir(dirname(dir));
	if (r < 0)
		return ota_error_errno(err, r, "fsync the directory of '%s'", path);
	return 0;
}

int ota_fleet_record_install(const struct ota_update_config *c, enum ota_fleet_backend backend, const char *action,
			     const struct ota_update_result *res, struct ota_error *err)
{
	struct ota_fleet_record rec = { .backend = backend, .tries = c->tries, .installed = (uint64_t)time(NULL),
					.outcome = OTA_FLEET_PENDING };
	(void)snprintf(rec.action, sizeof(rec.action), "%s", action ? action : "");
	(void)snprintf(rec.group, sizeof(rec.group), "%s", res->group);
	(void)snprintf(rec.version, sizeof(rec.version), "%s", res->version);
	(void)snprintf(rec.from_version, sizeof(rec.from_version), "%s", c->version);
	return ota_fleet_record_save(c, &rec, err);
}

static int boot_state(const struct ota_update_config *c, struct ota_bootflow_state *ret, struct ota_error *err)
{
	_cleanup_(ota_bootflow_freep) struct ota_bootflow *bf = NULL;
	int r = ota_bootflow_new(&c->bootflow, &bf, err);
	if (r < 0)
		return r;
	return ota_bootflow_get_state(bf, ret, err);
}

bool ota_fleet_group_armed(const struct ota_update_config *c, const char *group)
{
	struct ota_bootflow_state st;
	struct ota_error err = { 0 };
	return boot_state(c, &st, &err) == 0 && st.trial_state == OTA_TRIAL_ARMED && ota_streq(st.trial, group);
}

int ota_fleet_install(const struct ota_update_config *c, const struct ota_fleet_check_opts *o,
		      const struct ota_update_install_opts *dl, struct ota_fleet_check_result *r,
		      struct ota_error *err)
{
	struct ota_update_install_opts io = *dl;
	io.no_delta = o->no_delta;
	io.progress = o->progress;
	io.userdata = o->userdata;
	return ota_update_install(c, &io, &r->install, err);
}

/* Ids, versions and keys go into URLs and headers: printable ASCII only. */
static bool printable_token(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f)
			return false;
	return true;
}

int ota_fleet_read_secret(const char *path, const char *what, char *buf, size_t size, struct ota_error *err)
{
	if (!path)
		return ota_error_set(err, -EINVAL, "no %s configured", what);
	_cleanup_free_ char *text = NULL;
	int r = ota_read_text_file(path, 4096, &text, err);
	if (r < 0) {
		ota_error_prefix(err, "%s: ", what);
		return r;
	}
	size_t n = strcspn(text, "\r\n");
	text[n] = '\0';
	if (n == 0 || n >= size || !printable_token(text))
		return ota_error_set(err, -EINVAL, "%s '%s': not one line of 1..%zu printable characters", what, path,
				     size - 1);
	memcpy(buf, text, n + 1);
	return 0;
}

int ota_fleet_device_id(const char *value, char *buf, size_t size, struct ota_error *err)
{
	if (value) {
		if (ota_format(buf, size, "%s", value) < 0 || !printable_token(buf))
			return ota_error_set(err, -EINVAL, "device id '%s' is empty, too long or not printable", value);
		return 0;
	}
	return ota_fleet_read_secret(OTA_FLEET_MACHINE_ID, "machine id", buf, size, err);
}

void ota_fleet_sleep(unsigned s)
{
	struct timespec ts = { .tv_sec = (time_t)s };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* The outcome the boot state shows for rec, or PENDING while the trial of
 * its group is armed or running uncommitted. */
static enum ota_fleet_outcome outcome_of(const struct ota_fleet_record *rec, const struct ota_bootflow_state *st,
					 char *reason, size_t size)
{
	const char *g = rec->group;
	if (ota_streq(st->trial, g) && (st->trial_state == OTA_TRIAL_ARMED || st->trial_state == OTA_TRIAL_RUNNING))
		return OTA_FLEET_PENDING;
	if (ota_streq(st->booted, g) && ota_streq(st->default_group, g)) {
		(void)snprintf(reason, size, "version %.100s committed in group %s", rec->version, g);
		return OTA_FLEET_SUCCESS;
	}
	if (st->trial_state == OTA_TRIAL_FAILED && ota_streq(st->trial, g))
		(void)snprintf(reason, size,
			       "the boot loader fell back to group %s after %u tries of group %s (version %.100s) without a commit: the health checks failed or the system did not come up",
			       st->booted, rec->tries, g, rec->version);
	else if (ota_streq(st->booted, g))
		(void)snprintf(reason, size, "the trial of group %s (version %.100s) was rolled back", g, rec->version);
	else
		(void)snprintf(reason, size,
			       "group %s (version %.100s) is no longer armed and group %s runs: the trial fell back or was disarmed",
			       g, rec->version, st->booted);
	return OTA_FLEET_FAILURE;
}

int ota_fleet_decide(const struct ota_update_config *c, enum ota_fleet_outcome outcome, const char *reason,
		     struct ota_error *err)
{
	struct ota_fleet_record rec;
	int r = ota_fleet_record_load(c, &rec, err);
	if (r != 0 || rec.outcome != OTA_FLEET_PENDING)
		return r < 0 ? r : 0;
	rec.outcome = outcome;
	(void)snprintf(rec.reason, sizeof(rec.reason), "%s", reason);
	return ota_fleet_record_save(c, &rec, err);
}

/* For agents on the device (memfaultd, a telemetry script): key='value'
 * lines like /run/ota/status. Replaced whole (write-new-then-rename): a
 * reader never sees half of it. Values are ours except the reason, whose
 * quotes are dropped. */
static int write_outcome_file(const struct ota_update_config *c, const struct ota_fleet_record *rec,
			      struct ota_error *err)
{
	const char *path = c->outcome_file ? c->outcome_file : OTA_FLEET_OUTCOME_FILE;
	char reason[sizeof(rec->reason)];
	size_t n = 0;
	for (const char *p = rec->reason; *p && n + 1 < sizeof(reason); p++)
		if (*p != '\'' && *p != '\n')
			reason[n++] = *p;
	reason[n] = '\0';
	char text[1024];
	if (ota_format(text, sizeof(text),
		       "backend='%s'\naction='%s'\noutcome='%s'\nversion='%s'\nfrom_version='%s'\ngroup='%s'\nreason='%s'\n",
		       ota_fleet_backend_to_string(rec->backend), rec->action, ota_fleet_outcome_to_string(rec->outcome),
		       rec->version, rec->from_version, rec->group, reason) < 0)
		return ota_error_set(err, -ENAMETOOLONG, "%s: outcome too long", path);
	int r = ota_mkdir_parent(path, 0755);
	if (r < 0)
		return ota_error_errno(err, r, "create the directory of '%s'", path);
	return ota_write_file_atomic(path, text, strlen(text), 0644, err);
}

int ota_fleet_report(const struct ota_update_config *c, struct ota_fleet_report *ret, struct ota_error *err)
{
	struct ota_fleet_record rec;
	int r = ota_fleet_record_load(c, &rec, err);
	if (r != 0)
		return r < 0 ? r : 0;
	if (rec.outcome == OTA_FLEET_PENDING) {
		struct ota_bootflow_state st;
		if ((r = boot_state(c, &st, err)) < 0)
			return r;
		rec.outcome = outcome_of(&rec, &st, rec.reason, sizeof(rec.reason));
		if (rec.outcome == OTA_FLEET_PENDING)
			return 1;
		/* Decided once: a later boot state (another install) must not
		 * change what this action's outcome was. */
		if ((r = ota_fleet_record_save(c, &rec, err)) < 0)
			return r;
	}
	if ((r = write_outcome_file(c, &rec, err)) < 0)
		return r;
	if (rec.backend == OTA_FLEET_HAWKBIT && (r = ota_hawkbit_report(c, &rec, err)) < 0)
		return r;
	if ((r = ota_fleet_record_remove(c, err)) < 0)
		return r;
	*ret = (struct ota_fleet_report){ .backend = rec.backend, .outcome = rec.outcome };
	(void)snprintf(ret->action, sizeof(ret->action), "%s", rec.action);
	(void)snprintf(ret->version, sizeof(ret->version), "%s", rec.version);
	(void)snprintf(ret->reason, sizeof(ret->reason), "%s", rec.reason);
	return 2;
}

int ota_fleet_check(const struct ota_update_config *c, const struct ota_fleet_check_opts *o,
		    struct ota_fleet_check_result *ret, struct ota_error *err)
{
	*ret = (struct ota_fleet_check_result){ 0 };
	/* The last update's outcome goes out before anything new is asked
	 * for: hawkBit offers the same action until it is closed. */
	struct ota_fleet_report rep;
	int r = ota_fleet_report(c, &rep, err);
	if (r < 0) {
		ota_error_prefix(err, "outcome of the last update not delivered: ");
		return r;
	}
	switch (ota_fleet_backend_of(c->channel)) {
	case OTA_FLEET_MEMFAULT: return ota_memfault_check(c, o, ret, err);
	case OTA_FLEET_HAWKBIT: return ota_hawkbit_check(c, o, ret, err);
	default: return ota_error_set(err, -EINVAL, "channel '%s' is not a fleet server", c->channel ? c->channel : "");
	}
}

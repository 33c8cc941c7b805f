/* SPDX-License-Identifier: Apache-2.0 */
/* Internals shared by the files of update/. */
#ifndef OTA_UPDATE_PRIVATE_H
#define OTA_UPDATE_PRIVATE_H

#include <json-c/json.h>

#include "update/update.h"

#define OTA_HOOK_MAX_ENV 64u
#define OTA_HOOK_MAX_FILES 256u

/* Environment handed to hooks: "KEY=value" strings owned by the struct. */
struct ota_hook_env {
	char *vars[OTA_HOOK_MAX_ENV];
	size_t n;
};

int ota_hook_env_add(struct ota_hook_env *e, const char *key, const char *fmt, ...) _printf_(3, 4) _must_check_;
void ota_hook_env_done(struct ota_hook_env *e);
OTA_DEFINE_DONE_CLEANUP_FUNC(struct ota_hook_env, ota_hook_env_done)
/* Runs every executable regular file in <hooks_dir>/<stage>.d/ in strcmp
 * order (names starting with '.' or ending in '~' are skipped) with argv
 * [path, stage] and the environment plus OTA_HOOK_STAGE, each for at most
 * c->hook_timeout_s (ota_spawn(): its process group is killed then). The
 * first failing hook stops the run; its name and status are in err. A missing directory
 * is no hooks. *ret_count: hooks run (may be NULL). */
int ota_hooks_run(const struct ota_update_config *c, const char *stage, const struct ota_hook_env *env,
		  unsigned *ret_count, struct ota_error *err) _must_check_;
/* The variables every hook gets: compatible, system version, booted and
 * default group, status file (docs/update.md, "Hooks"). */
int ota_hook_env_common(struct ota_hook_env *e, const struct ota_update_config *c,
			const struct ota_bootflow_state *st) _must_check_;

/* An operation that changes the boot flow (install, commit, rollback; lock.c). */
struct ota_update_op {
	int lock;                       /* the lock file, held (flock) */
	struct ota_bootflow *bf;
	struct ota_bootflow_state st;   /* as the operation began */
};
#define OTA_UPDATE_OP_INIT { .lock = -1 }

/* Every operation starts the same way: one at a time (an exclusive lock on
 * c->lock_file, -EBUSY naming it if another ota-update holds it), then the
 * boot flow's view of which group runs, which is default, and any trial.
 * op starts as OTA_UPDATE_OP_INIT and is released by ota_update_op_end(),
 * also after a failed begin. */
int ota_update_op_begin(const struct ota_update_config *c, struct ota_update_op *op, struct ota_error *err) _must_check_;
void ota_update_op_end(struct ota_update_op *op);
#define _cleanup_update_op_ _cleanup_(ota_update_op_end)

/* ---- small bounded HTTP requests (http.c) --------------------------------- */

/* One request of the channel or a fleet client. Responses of every status
 * come back (fail_on_error: an HTTP status >= 400 is an error naming it, as
 * libcurl words it); transport failures, a body over max_body (-EFBIG),
 * headers over OTA_BUNDLE_HTTP_MAX_HEADERS (-EMSGSIZE) and the deadline
 * ([update] download-timeout, at most 120 s) are errors naming `what` and
 * the URL. [update] ca-file, http-connect-timeout, http-min-rate and
 * http-stall-time apply. Only http(s), redirects only for requests without
 * a body. */
struct ota_http_request {
	const char *method;             /* GET, PUT or POST */
	const char *url;
	const char *const *headers;     /* NULL-terminated "Name: value" lines, or NULL */
	const char *body;               /* sent as is (JSON), or NULL */
	const char *what;               /* names the request in messages */
	size_t max_body;                /* response bytes read at most */
	const char *client_cert, *client_key;  /* TLS client certificate (PEM), or NULL */
	bool fail_on_error;
};

struct ota_http_response {
	long status;
	char *body;                     /* NUL-terminated, len bytes (may hold NULs) */
	size_t len;
	unsigned retry_after_s;         /* Retry-After in seconds, 0 if none */
	char *effective_url;            /* after redirects */
};

int ota_http_request(const struct ota_update_config *c, const struct ota_http_request *rq,
		     struct ota_http_response *ret, struct ota_error *err) _must_check_;
void ota_http_response_done(struct ota_http_response *r);
OTA_DEFINE_DONE_CLEANUP_FUNC(struct ota_http_response, ota_http_response_done)
/* Parses a JSON document of len bytes that must be exactly one JSON value
 * (whitespace around it); errors are "<what>: not JSON: ..." and the like. */
int ota_json_parse_doc(const char *text, size_t len, const char *what, struct json_object **ret,
		       struct ota_error *err) _must_check_;

/* ---- fleet servers (fleet.c, memfault.c, hawkbit.c) ------------------------- */

/* What an installed fleet update left on the data partition until its
 * outcome is delivered (fleet.c: <dir of status-file>/fleet.json). */
struct ota_fleet_record {
	enum ota_fleet_backend backend;
	char action[32];        /* hawkBit action id; Memfault: "" */
	char group[OTA_BOOTFLOW_NAME_MAX];  /* the group installed and armed */
	char version[128];      /* installed */
	char from_version[128]; /* running when it was installed */
	unsigned tries;         /* of the trial as armed */
	uint64_t installed;     /* seconds since the epoch */
	enum ota_fleet_outcome outcome;
	char reason[512];
};

/* 0 and the record, 1 when there is none (ret zeroed), or an error naming the file. */
int ota_fleet_record_load(const struct ota_update_config *c, struct ota_fleet_record *ret,
			  struct ota_error *err) _must_check_;
int ota_fleet_record_save(const struct ota_update_config *c, const struct ota_fleet_record *rec,
			  struct ota_error *err) _must_check_;
int ota_fleet_record_remove(const struct ota_update_config *c, struct ota_error *err) _must_check_;
/* Records a successful install of the check in *res as pending an outcome. */
int ota_fleet_record_install(const struct ota_update_config *c, enum ota_fleet_backend backend, const char *action,
			     const struct ota_update_result *res, struct ota_error *err) _must_check_;
/* Whether group `group` is armed for the next boot (an earlier check
 * installed it and there was no reboot since). */
bool ota_fleet_group_armed(const struct ota_update_config *c, const char *group);
/* Installs dl->source (with dl's HTTP headers and client certificate) as
 * ota-update install does, with o's delta and progress; fills r->install. */
int ota_fleet_install(const struct ota_update_config *c, const struct ota_fleet_check_opts *o,
		      const struct ota_update_install_opts *dl, struct ota_fleet_check_result *r,
		      struct ota_error *err) _must_check_;
/* The device's id: value if set, else /etc/machine-id. */
int ota_fleet_device_id(const char *value, char *buf, size_t size, struct ota_error *err) _must_check_;
/* Reads a secret (project key, token) from a file: one line, trimmed. */
int ota_fleet_read_secret(const char *path, const char *what, char *buf, size_t size,
			  struct ota_error *err) _must_check_;
/* Sleeps s seconds (a bounded wait: callers cap s). */
void ota_fleet_sleep(unsigned s);

int ota_memfault_check(const struct ota_update_config *c, const struct ota_fleet_check_opts *o,
		       struct ota_fleet_check_result *ret, struct ota_error *err) _must_check_;
int ota_hawkbit_check(const struct ota_update_config *c, const struct ota_fleet_check_opts *o,
		      struct ota_fleet_check_result *ret, struct ota_error *err) _must_check_;
/* Sends the final feedback (closed, success or failure with the reason) of
 * the record's action: 0 delivered (also when the server no longer knows
 * the action: 404/410), or an error. */
int ota_hawkbit_report(const struct ota_update_config *c, const struct ota_fleet_record *rec,
		       struct ota_error *err) _must_check_;

#endif

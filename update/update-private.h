/* SPDX-License-Identifier: Apache-2.0 */
/* Internals shared by the files of update/. */
#ifndef OTA_UPDATE_PRIVATE_H
#define OTA_UPDATE_PRIVATE_H

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

#endif

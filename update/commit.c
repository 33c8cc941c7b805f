/* SPDX-License-Identifier: Apache-2.0 */
/* Commit, rollback, reboot; see update.h. Each is one boot-flow operation
 * (commit, mark bad, reboot), whose power-fail property is the boot flow's
 * own (docs/boot-flows.md): ota-update writes nothing else here. A commit
 * also stops the trial boot's watchdog. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>

#include "update/update-private.h"

/* ota-init left the watchdog running on a trial boot (init/trial.c): the
 * magic close ('V', then close) stops it now that the trial is committed.
 * Busy means a watchdog daemon owns it, which is fine; no device, nothing
 * to do. Best effort: the commit itself already happened. */
static void stop_trial_watchdog(void)
{
	int fd = open("/dev/watchdog", O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	if (write(fd, "V", 1) != 1)
		log_warning("/dev/watchdog: magic close failed: %m; the watchdog may reset the machine");
	close(fd);
}

int ota_update_commit(const struct ota_update_config *c, struct ota_error *err)
{
	_cleanup_update_op_ struct ota_update_op op = OTA_UPDATE_OP_INIT;
	int r = ota_update_op_begin(c, &op, err);
	if (r < 0)
		return r;
	if (op.st.trial_state != OTA_TRIAL_RUNNING && ota_streq(op.st.booted, op.st.default_group))
		return 1;
	_cleanup_(ota_hook_env_donep) struct ota_hook_env env = { 0 };
	r = ota_hook_env_common(&env, c, &op.st);
	if (r < 0)
		return ota_error_errno(err, r, "pre-commit hooks: environment");
	r = ota_hooks_run(c, "pre-commit", &env, NULL, err);
	if (r < 0) {
		ota_error_prefix(err, "group %s not committed: ", op.st.booted);
		return r;
	}
	r = ota_bootflow_commit(op.bf, op.st.booted, err);
	if (r < 0) {
		ota_error_classify(err, OTA_REASON_BOOTFLOW);
		return r;
	}
	if (op.st.trial_state == OTA_TRIAL_RUNNING)
		stop_trial_watchdog();
	r = ota_hooks_run(c, "post-commit", &env, NULL, err);
	if (r < 0)
		ota_error_prefix(err, "group %s committed, but: ", op.st.booted);
	return r;
}

int ota_update_rollback(const struct ota_update_config *c, char *ret_group, struct ota_error *err)
{
	_cleanup_update_op_ struct ota_update_op op = OTA_UPDATE_OP_INIT;
	int r = ota_update_op_begin(c, &op, err);
	if (r < 0)
		return r;
	const char *group;
	if (op.st.trial_state == OTA_TRIAL_RUNNING)
		group = op.st.booted;
	else if (op.st.trial_state == OTA_TRIAL_ARMED || op.st.trial_state == OTA_TRIAL_FAILED)
		group = op.st.trial;
	else
		return ota_error_set_because(err, OTA_REASON_NOTHING_TO_DO, -EALREADY,
					     "nothing to roll back: group %s is committed and no trial is armed",
					     op.st.booted);
	r = ota_bootflow_mark_bad(op.bf, group, err);
	if (r < 0) {
		ota_error_classify(err, OTA_REASON_BOOTFLOW);
		return r;
	}
	if (ret_group)
		(void)snprintf(ret_group, OTA_BOOTFLOW_NAME_MAX, "%s", group);
	return 0;
}

int ota_update_reboot(const struct ota_update_config *c, struct ota_error *err)
{
	_cleanup_(ota_bootflow_freep) struct ota_bootflow *bf = NULL;
	int r = ota_bootflow_new(&c->bootflow, &bf, err);
	if (r == 0)
		r = ota_bootflow_reboot(bf, err);
	if (r < 0)
		ota_error_classify(err, OTA_REASON_BOOTFLOW);
	return r;
}

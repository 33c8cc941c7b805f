/* SPDX-License-Identifier: Apache-2.0 */
/* One ota-update operation at a time (install, commit, rollback): an
 * exclusive flock on [update] lock-file, taken without waiting. The kernel
 * drops it when the process ends, however it ends, so a crash or power cut
 * never leaves it held (the default lives in /run, which a reboot empties). */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>

#include "update/update-private.h"

static int take_lock(const struct ota_update_config *c, int *ret_fd, struct ota_error *err)
{
	int r = ota_mkdir_parent(c->lock_file, 0755);
	if (r < 0)
		return ota_error_errno(err, r, "create the directory of lock file '%s'", c->lock_file);
	int fd = open(c->lock_file, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return ota_error_errno(err, -errno, "open lock file '%s'", c->lock_file);
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		r = -errno;
		(void)close(fd);
		if (r == -EWOULDBLOCK)
			return ota_error_set_because(err, OTA_REASON_LOCKED, -EBUSY,
						     "another ota-update is running (lock '%s' is held)", c->lock_file);
		return ota_error_errno(err, r, "lock '%s'", c->lock_file);
	}
	*ret_fd = fd;
	return 0;
}

int ota_update_op_begin(const struct ota_update_config *c, struct ota_update_op *op, struct ota_error *err)
{
	int r = take_lock(c, &op->lock, err);
	if (r < 0)
		return r;
	r = ota_bootflow_new(&c->bootflow, &op->bf, err);
	if (r == 0)
		r = ota_bootflow_get_state(op->bf, &op->st, err);
	if (r < 0)
		ota_error_classify(err, OTA_REASON_BOOTFLOW);
	return r;
}

void ota_update_op_end(struct ota_update_op *op)
{
	op->bf = ota_bootflow_free(op->bf);
	ota_closep(&op->lock);
	op->lock = -1;
}

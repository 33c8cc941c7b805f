/* SPDX-License-Identifier: Apache-2.0 */
/* The GRUB boot flow: state in three 1024-byte GRUB environment files on the
 * ESP (bootflow/grubenv.c has their format and the decision GRUB makes from
 * them; bootflow/grub/flow.cfg is GRUB's side; docs/boot-flows.md the rules).
 *
 * Writes are in place (open without O_TRUNC, pwrite the whole block, fsync):
 * FAT has no atomic rename, and GRUB's save_env can only rewrite blocks that
 * already exist. Power-cut safety comes from the two state copies instead:
 * env2 always holds the state in force while env1 is written, env1 holds the
 * new state while env2 is written, and a torn copy is invalid by its
 * begin/end sequence numbers, so GRUB and we read either the old or the new
 * state at every instant. A missing file is created once by write-new +
 * rename (fresh images; GRUB falls back to the first group meanwhile).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bootflow/bootflow-private.h"

#define ESP_MOUNT_TEMPLATE "/run/ota/grub-esp.XXXXXX"

struct grub_env {
	char dir[PATH_MAX];
	char mnt[sizeof(ESP_MOUNT_TEMPLATE)];
	char *data[3]; /* env1, env2, tries */
	size_t len[3];
	struct ota_grub_decision d;
};

static const char *const file_names[3] = { "env1", "env2", "tries" };

static int grub_init(struct ota_bootflow *bf, struct ota_error *err)
{
	for (int i = 0; i < 2; i++)
		if (!ota_bootflow_group_name_valid(bf->groups[i]))
			return ota_error_set(err, -EINVAL, "two boot groups are needed");
	if (!bf->device && (!bf->directory || bf->directory[0] != '/'))
		return ota_error_set(err, -EINVAL, "directory must be an absolute path when no device is given");
	return 0;
}

static void env_close(struct grub_env *e)
{
	for (int i = 0; i < 3; i++)
		free(e->data[i]);
	ota_bootflow_umount(e->mnt);
	memset(e, 0, sizeof(*e));
}

static int mount_esp(struct ota_bootflow *bf, struct grub_env *e, struct ota_error *err)
{
	strcpy(e->mnt, ESP_MOUNT_TEMPLATE);
	int r = ota_bootflow_mount_vfat(bf->device, e->mnt, "ESP", err);
	if (r < 0)
		return r;
	const char *sub = bf->directory ? bf->directory : "otaroot";
	if (ota_format(e->dir, sizeof(e->dir), "%s/%s", e->mnt, sub) < 0)
		return ota_error_set(err, -ENAMETOOLONG, "ESP directory name too long");
	return 0;
}

static int read_one(struct grub_env *e, int i, struct ota_error *err)
{
	char path[PATH_MAX];
	if (ota_format(path, sizeof(path), "%s/%s", e->dir, file_names[i]) < 0)
		return ota_error_set(err, -ENAMETOOLONG, "path too long");
	int r = ota_read_file(path, OTA_GRUBENV_FILE_MAX, &e->data[i], &e->len[i], err);
	if (r == -ENOENT || r == -EFBIG) { /* GRUB cannot load it either */
		ota_error_clear(err);
		e->data[i] = NULL;
		e->len[i] = 0;
		return 0;
	}
	return r;
}

/* Opens (mounting the ESP if configured), reads the three files and decides
 * as GRUB would. */
static int env_open(struct ota_bootflow *bf, struct grub_env *e, struct ota_error *err)
{
	memset(e, 0, sizeof(*e));
	int r = bf->device ? mount_esp(bf, e, err) : ota_format(e->dir, sizeof(e->dir), "%s", bf->directory);
	if (r < 0)
		return r == -ENAMETOOLONG ? ota_error_set(err, r, "directory name too long") : r;
	for (int i = 0; i < 3 && r >= 0; i++)
		r = read_one(e, i, err);
	if (r < 0)
		return r;
	struct ota_grub_files f = { e->data[0], e->data[1], e->data[2], e->len[0], e->len[1], e->len[2] };
	const char *groups[2] = { bf->groups[0], bf->groups[1] };
	r = ota_grub_decide(&f, groups, &e->d);
	return r < 0 ? ota_error_errno(err, r, "reading the GRUB environment in %s", e->dir) : 0;
}

/* ---- writing ---------------------------------------------------------------- */

/* Fault injection for the power-cut tests (tests/vm/test_grub.py): with
 * OTA_TEST_POWER_CUT_AFTER_WRITES=N in the environment, the machine powers
 * off, without syncing anything else, right after this process's N-th
 * durable block write. Unset, this does nothing. */
static void test_power_cut_point(void)
{
	static unsigned writes;
	const char *at = getenv("OTA_TEST_POWER_CUT_AFTER_WRITES");
	if (at && strtoul(at, NULL, 10) == ++writes)
		(void)reboot(RB_POWER_OFF);
}

/* Rewrites one file in place and makes it durable (see the top comment for
 * why in place). Creates a missing file by write-new + rename instead. */
static int write_block(struct grub_env *e, int i, const char *block, struct ota_error *err)
{
	char path[PATH_MAX];
	if (ota_format(path, sizeof(path), "%s/%s", e->dir, file_names[i]) < 0)
		return ota_error_set(err, -ENAMETOOLONG, "path too long");
	_cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 && errno == ENOENT) {
		int r = ota_mkdir_p(e->dir, 0755);
		if (r < 0)
			return ota_error_errno(err, r, "creating %s", e->dir);
		r = ota_write_file_atomic(path, block, OTA_GRUBENV_SIZE, 0644, err);
		if (r >= 0)
			test_power_cut_point();
		return r;
	}
	if (fd < 0)
		return ota_error_errno(err, -errno, "opening %s", path);
	ssize_t n = pwrite(fd, block, OTA_GRUBENV_SIZE, 0);
	if (n != (ssize_t)OTA_GRUBENV_SIZE)
		return ota_error_errno(err, n < 0 ? -errno : -EIO, "writing %s", path);
	if (ftruncate(fd, OTA_GRUBENV_SIZE) < 0 || fsync(fd) < 0)
		return ota_error_errno(err, -errno, "syncing %s", path);
	test_power_cut_point();
	return 0;
}

static uint64_t seq_of(const char *v)
{
	char *end;
	errno = 0;
	unsigned long long n = v ? strtoull(v, &end, 10) : 0;
	return (!v || errno || *end) ? 0 : n;
}

/* The highest sequence number in either copy, valid or torn: a new write
 * must differ from every begin/end already on the medium, or a tear of it
 * over an older torn write could pair up as valid. */
static uint64_t max_seq(const struct grub_env *e)
{
	static const char *const names[2] = { "ota_seq_begin", "ota_seq_end" };
	uint64_t max = 0;
	for (int i = 0; i < 2; i++) {
		char *v[2] = { 0 };
		if (e->data[i])
			(void)ota_grubenv_load(e->data[i], e->len[i], names, v, 2);
		for (int k = 0; k < 2; k++) {
			uint64_t s = seq_of(v[k]);
			max = s > max ? s : max;
			free(v[k]);
		}
	}
	return max;
}

static int write_state(struct grub_env *e, struct ota_grub_state *s, struct ota_error *err)
{
	char block[OTA_GRUBENV_SIZE];
	/* env2 must hold the state in force before env1 is touched. */
	if (e->d.copy == 1 && (e->len[1] != e->len[0] || memcmp(e->data[0], e->data[1], e->len[0]) != 0)) {
		if (e->len[0] != OTA_GRUBENV_SIZE)
			return ota_error_set(err, -EINVAL, "%s/env1 is %zu bytes, not %u", e->dir, e->len[0],
					     OTA_GRUBENV_SIZE);
		int r = write_block(e, 1, e->data[0], err);
		if (r < 0)
			return r;
	}
	int r = ota_grubenv_format_state(block, s);
	if (r < 0)
		return ota_error_errno(err, r, "formatting the GRUB environment");
	r = write_block(e, 0, block, err);
	return r < 0 ? r : write_block(e, 1, block, err);
}

/* ---- operations ------------------------------------------------------------- */

static int booted_group(struct ota_bootflow *bf, char *ret, struct ota_error *err)
{
	const char *path = bf->cmdline ? bf->cmdline : "/proc/cmdline";
	_cleanup_free_ char *text = NULL;
	int r = ota_read_text_file(path, 65536, &text, err);
	if (r < 0)
		return r;
	const char *found = NULL;
	for (char *tok = strtok(text, " \t\n"); tok; tok = strtok(NULL, " \t\n"))
		if (strncmp(tok, "ota.slot=", 9) == 0)
			found = tok + 9; /* the last one wins, as for the kernel */
	if (!found)
		return ota_error_set(err, -ENOENT, "no ota.slot= on the kernel command line (%s): not booted by "
				     "otaroot's grub.cfg?", path);
	if (strcmp(found, bf->groups[0]) != 0 && strcmp(found, bf->groups[1]) != 0)
		return ota_error_set(err, -EINVAL, "ota.slot=%.64s on the kernel command line is not a boot group",
				     found);
	strcpy(ret, found);
	return 0;
}

static void fill_state(const struct grub_env *e, struct ota_bootflow_state *ret)
{
	const struct ota_grub_state *s = &e->d.state;
	strcpy(ret->default_group, s->default_group);
	/* A trial GRUB would not consider is no trial (flow.cfg's conditions). */
	bool trial = s->trial[0] && strcmp(s->trial, s->default_group) != 0 && s->trial_id[0];
	strcpy(ret->trial, trial ? s->trial : "");
	ret->tries_left = trial ? e->d.tries : 0;
}

static int grub_get_state(struct ota_bootflow *bf, struct ota_bootflow_state *ret, struct ota_error *err)
{
	struct grub_env e;
	int r = env_open(bf, &e, err);
	if (r >= 0)
		r = booted_group(bf, ret->booted, err);
	if (r >= 0)
		fill_state(&e, ret);
	env_close(&e);
	return r;
}

static int grub_arm(struct ota_bootflow *bf, const char *group, unsigned tries, struct ota_error *err)
{
	struct grub_env e;
	int r = env_open(bf, &e, err);
	if (r < 0)
		goto out;
	struct ota_grub_state s = e.d.state;
	if (strcmp(group, s.default_group) == 0) {
		r = ota_error_set(err, -EINVAL, "group %s is the default already", group);
		goto out;
	}
	s.seq = max_seq(&e) + 1;
	strcpy(s.trial, group);
	(void)!ota_format(s.trial_id, sizeof(s.trial_id), "%" PRIu64, s.seq);
	/* Tries first, under the new id: until the state names that id, GRUB
	 * ignores them, so a cut in between boots the default. */
	char block[OTA_GRUBENV_SIZE];
	r = ota_grubenv_format_tries(block, s.trial_id, tries);
	if (r < 0) {
		r = ota_error_errno(err, r, "formatting the tries file");
		goto out;
	}
	r = write_block(&e, 2, block, err);
	if (r >= 0)
		r = write_state(&e, &s, err);
out:
	env_close(&e);
	return r;
}

static int grub_commit(struct ota_bootflow *bf, const char *group, struct ota_error *err)
{
	struct grub_env e;
	int r = env_open(bf, &e, err);
	if (r < 0)
		goto out;
	struct ota_grub_state s = e.d.state;
	if (e.d.copy != 0 && strcmp(s.default_group, group) == 0 && !s.trial[0])
		goto out; /* nothing to change */
	s.seq = max_seq(&e) + 1;
	strcpy(s.default_group, group);
	s.trial[0] = s.trial_id[0] = '\0';
	r = write_state(&e, &s, err);
out:
	env_close(&e);
	return r;
}

static int grub_mark_bad(struct ota_bootflow *bf, const char *group, struct ota_error *err)
{
	struct grub_env e;
	char booted[OTA_BOOTFLOW_NAME_MAX];
	int r = env_open(bf, &e, err);
	if (r >= 0)
		r = booted_group(bf, booted, err);
	if (r < 0)
		goto out;
	struct ota_grub_state s = e.d.state;
	bool change = false;
	if (strcmp(s.trial, group) == 0) {
		s.trial[0] = s.trial_id[0] = '\0';
		change = true;
	}
	if (strcmp(s.default_group, group) == 0) {
		/* A default that is not running (committed but not yet booted):
		 * the running group is the one known to work. */
		if (strcmp(booted, group) == 0) {
			r = ota_error_set(err, -EBUSY, "group %s is running as the default", group);
			goto out;
		}
		strcpy(s.default_group, booted);
		change = true;
	}
	if (change) {
		s.seq = max_seq(&e) + 1;
		r = write_state(&e, &s, err);
	}
out:
	env_close(&e);
	return r;
}

static int grub_reboot(struct ota_bootflow *bf, struct ota_error *err)
{
	(void)bf;
	/* Through init, so services stop cleanly; reboot(2) if that fails. */
	static const char *const argv[] = { "/sbin/reboot", NULL };
	struct ota_spawn_opts o = { .timeout_ms = 60000 };
	int r = ota_spawn(argv, &o, err);
	if (r == 0)
		return 0;
	ota_error_clear(err);
	sync();
	if (reboot(RB_AUTOBOOT) < 0)
		return ota_error_errno(err, -errno, "reboot");
	return 0;
}

const struct ota_bootflow_ops ota_bootflow_grub_ops = {
	.name = "grub",
	.init = grub_init,
	.get_state = grub_get_state,
	.arm = grub_arm,
	.commit = grub_commit,
	.mark_bad = grub_mark_bad,
	.reboot = grub_reboot,
};

static int write_env_file(const char *dir, const char *name, const char *block, struct ota_error *err)
{
	char path[PATH_MAX];
	if (ota_format(path, sizeof(path), "%s/%s", dir, name) < 0)
		return ota_error_set(err, -ENAMETOOLONG, "%s/%s: path too long", dir, name);
	return ota_write_file_atomic(path, block, OTA_GRUBENV_SIZE, 0644, err);
}

int ota_bootflow_grub_write_initial(const char *dir, const char *const groups[2], const char *default_group,
				    struct ota_error *err)
{
	struct ota_grub_state s = { .seq = 1 };
	char block[OTA_GRUBENV_SIZE];
	if (strcmp(default_group, groups[0]) != 0 && strcmp(default_group, groups[1]) != 0)
		return ota_error_set(err, -EINVAL, "default group '%s' is not one of the groups %s, %s",
				     default_group, groups[0], groups[1]);
	if (strlen(default_group) >= sizeof(s.default_group))
		return ota_error_set(err, -EINVAL, "group name '%s' is too long", default_group);
	strcpy(s.default_group, default_group);
	int r = ota_mkdir_p(dir, 0755);
	if (r < 0)
		return ota_error_errno(err, r, "creating %s", dir);
	if (ota_grubenv_format_state(block, &s) < 0)
		return ota_error_set(err, -EINVAL, "group name '%s' cannot be written for GRUB", default_group);
	if ((r = write_env_file(dir, "env1", block, err)) < 0 || (r = write_env_file(dir, "env2", block, err)) < 0)
		return r;
	if (ota_grubenv_format_tries(block, "", 0) < 0)
		return ota_error_set(err, -EINVAL, "formatting the tries file");
	return write_env_file(dir, "tries", block, err);
}

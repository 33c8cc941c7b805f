/* SPDX-License-Identifier: Apache-2.0 */
/* The rpi-tryboot boot flow: Raspberry Pi firmware A/B with autoboot.txt and
 * the one-shot tryboot flag (docs/boot-flows.md has the state diagram).
 *
 * - default: boot_partition of [all] in autoboot.txt (first FAT partition);
 * - trial: `reboot(RESTART2, "0 tryboot")` makes the firmware boot the
 *   [tryboot] partition once; the flag is cleared before the firmware runs,
 *   so any later reset boots the default again;
 * - booted: /proc/device-tree/chosen/bootloader/partition (big-endian u32);
 *   .../tryboot (u32, 1 in a tryboot) marks a trial boot;
 * - groups map to partition numbers by `partition.<group> = N`.
 *
 * The firmware keeps no trial state, so we keep our own small state file
 * ("trial=<group>", "used=0|1"): arm writes it, reboot marks the one try
 * used just before the tryboot reboot, and get_state derives armed (not
 * used), running (booted == trial) and failed (used, back on the default).
 *
 * Tests point `proc` at a fake device tree and replace reboot_fn: that is
 * all of the firmware there is to fake. */
#include <errno.h>
#include <libgen.h>
#include <linux/reboot.h>
#include <string.h>

#include "bootflow/bootflow-private.h"

#define AUTOBOOT_MAX 512u   /* the firmware reads at most 512 bytes */
#define STATE_MAX 256u

struct tryboot {
	char *autoboot;
	char *state_file;
	char *proc;
	struct {
		char group[OTA_BOOTFLOW_NAME_MAX];
		unsigned number;
	} part[2];
	ota_bootflow_reboot_fn reboot_fn;
};

/* Our state file. */
struct trial {
	char group[OTA_BOOTFLOW_NAME_MAX];  /* "" if none */
	bool used;                          /* its one tryboot was spent */
};

static void tryboot_free(void *data)
{
	struct tryboot *t = data;
	if (!t)
		return;
	free(t->autoboot);
	free(t->state_file);
	free(t->proc);
	free(t);
}

/* ---- autoboot.txt ---------------------------------------------------------------- */

static int parse_partition(const char *value, unsigned line, unsigned *ret, struct ota_error *err)
{
	uint64_t n;
	if (ota_parse_u64(value, &n) < 0 || n > 255)
		return ota_error_set(err, -EINVAL, "line %u: boot_partition '%.16s' is not a number in 0..255", line,
				     value);
	*ret = (unsigned)n;
	return 0;
}

int ota_autoboot_parse(const char *text, unsigned *ret_default, unsigned *ret_tryboot, struct ota_error *err)
{
	enum { ALL, TRYBOOT, OTHER } section = ALL;
	unsigned def = 0, try = 0, line = 0;
	bool seen_def = false;
	if (strlen(text) > AUTOBOOT_MAX)
		return ota_error_set(err, -EFBIG, "longer than %u bytes (the firmware ignores the rest)", AUTOBOOT_MAX);
	for (const char *p = text; *p;) {
		char buf[AUTOBOOT_MAX + 1];
		size_t len = strcspn(p, "\n");
		memcpy(buf, p, len); /* len <= AUTOBOOT_MAX: checked above */
		buf[len] = '\0';
		p += len + (p[len] ? 1 : 0);
		line++;
		while (len && (buf[len - 1] == '\r' || buf[len - 1] == ' ' || buf[len - 1] == '\t'))
			buf[--len] = '\0';
		if (!buf[0] || buf[0] == '#')
			continue;
		if (buf[0] == '[') {
			section = strcmp(buf, "[all]") == 0 ? ALL : strcmp(buf, "[tryboot]") == 0 ? TRYBOOT : OTHER;
			continue;
		}
		if (!ota_startswith(buf, "boot_partition=") || section == OTHER)
			continue;
		int r = parse_partition(buf + 15, line, section == ALL ? &def : &try, err);
		if (r < 0)
			return r;
		if (section == ALL)
			seen_def = true;
	}
	if (!seen_def)
		return ota_error_set(err, -EINVAL, "no boot_partition= in [all]");
	*ret_default = def;
	*ret_tryboot = try;
	return 0;
}

int ota_autoboot_format(unsigned default_part, unsigned tryboot_part, char *buf, size_t size)
{
	return ota_format(buf, size, "[all]\ntryboot_a_b=1\nboot_partition=%u\n[tryboot]\nboot_partition=%u\n",
			  default_part, tryboot_part);
}

static const char *group_of(const struct tryboot *t, unsigned number)
{
	for (int i = 0; i < 2; i++)
		if (t->part[i].number == number)
			return t->part[i].group;
	return NULL;
}

static unsigned number_of(const struct tryboot *t, const char *group)
{
	for (int i = 0; i < 2; i++)
		if (strcmp(t->part[i].group, group) == 0)
			return t->part[i].number;
	return 0;
}

static int read_autoboot(const struct tryboot *t, unsigned *ret_default, unsigned *ret_tryboot,
			 struct ota_error *err)
{
	_cleanup_free_ char *text = NULL;
	int r = ota_read_text_file(t->autoboot, AUTOBOOT_MAX, &text, err);
	if (r == 0)
		r = ota_autoboot_parse(text, ret_default, ret_tryboot, err);
	if (r < 0 && text)
		ota_error_prefix(err, "%s: ", t->autoboot);
	return r;
}

/* Power-fail property: after a cut the firmware finds autoboot.txt with the
 * old or the new text. It must find the file at all: without it, the
 * firmware boots the first FAT partition itself, which on our boards holds
 * nothing else (a device that no longer boots). A rename on FAT is not
 * atomic (vfat rewrites the directory entry in place; a cut can leave the
 * name missing), so autoboot.txt is overwritten in place whenever the new
 * text has the old one's length, which is always once we wrote it (the
 * partition numbers swap, their digits stay): the file is under one sector
 * and starts a cluster, so that is one sector write, whole or not at all
 * on a medium that keeps its sector writes atomic (docs/reliability.md).
 * Only a first write of another length takes write-new, fsync, rename,
 * fsync-dir, with the rename's window. */
static int write_autoboot(const struct tryboot *t, unsigned def, unsigned try, struct ota_error *err)
{
	char buf[AUTOBOOT_MAX];
	if (ota_autoboot_format(def, try, buf, sizeof(buf)) < 0)
		return ota_error_set(err, -EINVAL, "autoboot.txt does not fit");
	int r = ota_overwrite_same_size(t->autoboot, buf, strlen(buf), err);
	if (r <= 0)
		return r;
	return ota_write_file_atomic(t->autoboot, buf, strlen(buf), 0644, err);
}

/* ---- our state file ----------------------------------------------------------------- */

static int read_trial(const struct tryboot *t, struct trial *ret, struct ota_error *err)
{
	_cleanup_free_ char *text = NULL;
	struct trial tr = { 0 };
	int r = ota_read_text_file(t->state_file, STATE_MAX, &text, err);
	if (r == -ENOENT) {
		*ret = tr;
		return 0;
	}
	if (r < 0)
		return r;
	char *save = NULL;
	for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		if (ota_startswith(l, "trial=") && (!l[6] || ota_bootflow_group_name_valid(l + 6)))
			strcpy(tr.group, l + 6);
		else if (strcmp(l, "used=1") == 0)
			tr.used = true;
		else if (strcmp(l, "used=0") != 0)
			return ota_error_set(err, -EINVAL, "%s: unexpected line '%.64s'", t->state_file, l);
	}
	*ret = tr;
	return 0;
}

/* Power-fail property: write-new, fsync, rename, fsync-dir: the file holds
 * the old or the new state. */
static int write_trial(const struct tryboot *t, const struct trial *tr, struct ota_error *err)
{
	char buf[STATE_MAX];
	if (ota_format(buf, sizeof(buf), "trial=%s\nused=%d\n", tr->group, tr->used ? 1 : 0) < 0)
		return ota_error_set(err, -EINVAL, "state does not fit");
	return ota_write_file_atomic(t->state_file, buf, strlen(buf), 0644, err);
}

/* ---- the device tree ------------------------------------------------------------------ */

/* A big-endian u32 cell of /proc/device-tree/chosen/bootloader/<name>. */
static int read_dt_u32(const struct tryboot *t, const char *name, uint32_t *ret, struct ota_error *err)
{
	char rel[128], path[4096];
	if (ota_format(rel, sizeof(rel), "device-tree/chosen/bootloader/%s", name) < 0)
		return ota_error_set(err, -EINVAL, "device-tree name");
	int r = ota_bootflow_proc_path(t->proc, rel, path, sizeof(path), err);
	if (r < 0)
		return r;
	_cleanup_free_ char *data = NULL;
	size_t size;
	r = ota_read_file(path, 16, &data, &size, err);
	if (r < 0)
		return r;
	if (size != 4)
		return ota_error_set(err, -EINVAL, "%s: %zu bytes, expected a 4-byte cell", path, size);
	const uint8_t *b = (const uint8_t *)data;
	*ret = ota_get_be32(b);
	return 0;
}

/* ---- operations ------------------------------------------------------------------------ */

static int tryboot_get_state(struct ota_bootflow *bf, struct ota_bootflow_state *ret, struct ota_error *err)
{
	const struct tryboot *t = bf->data;
	struct ota_bootflow_state s = { 0 };
	uint32_t part, flag = 0;
	unsigned def, try;
	struct trial tr;
	int r = read_dt_u32(t, "partition", &part, err);
	if (r == 0 && read_dt_u32(t, "tryboot", &flag, NULL) < 0)
		flag = 0; /* older firmware: the partition comparison alone decides */
	if (r == 0)
		r = read_autoboot(t, &def, &try, err);
	if (r == 0)
		r = read_trial(t, &tr, err);
	if (r < 0) {
		ota_error_prefix(err, "boot flow rpi-tryboot: get-state: ");
		return r;
	}
	const char *booted = group_of(t, part), *default_group = group_of(t, def);
	if (!booted || !default_group)
		return ota_error_set(err, -EINVAL,
				     "boot flow rpi-tryboot: get-state: %s partition %u is no group's (partition.<group>)",
				     booted ? "default" : "booted", booted ? def : part);
	strcpy(s.booted, booted);
	strcpy(s.default_group, default_group);
	if (tr.group[0] && strcmp(tr.group, default_group) != 0) {
		strcpy(s.trial, tr.group);
		s.tries_left = tr.used ? 0 : 1;
	} else if (flag == 1 && strcmp(booted, default_group) != 0) {
		/* A tryboot we did not arm (a manual `reboot "0 tryboot"`) is
		 * still a trial: the next reset boots the default. */
		strcpy(s.trial, booted);
	}
	*ret = s;
	return 0;
}

static int group_partition(const struct tryboot *t, const char *group, unsigned *ret, struct ota_error *err)
{
	*ret = number_of(t, group);
	if (!*ret)
		return ota_error_set(err, -EINVAL, "no partition.%s", group);
	return 0;
}

/* What commit and mark-bad start from: the partition of group, what
 * autoboot.txt says (default and tryboot partitions) and the trial record. */
static int read_group_state(const struct tryboot *t, const char *group, unsigned *part, unsigned *def, unsigned *try,
			    struct trial *tr, struct ota_error *err)
{
	int r = group_partition(t, group, part, err);
	if (r == 0)
		r = read_autoboot(t, def, try, err);
	if (r == 0)
		r = read_trial(t, tr, err);
	return r;
}

static int tryboot_arm(struct ota_bootflow *bf, const char *group, unsigned tries, struct ota_error *err)
{
	const struct tryboot *t = bf->data;
	unsigned part, def, try;
	(void)tries; /* tryboot is one-shot: one try, whatever was asked */
	int r = group_partition(t, group, &part, err);
	if (r == 0)
		r = read_autoboot(t, &def, &try, err);
	if (r == 0 && def == part)
		r = ota_error_set(err, -EINVAL, "it is the default (boot_partition=%u)", def);
	/* autoboot.txt first: if we stop before the state file, [tryboot]
	 * points at the group but no trial is recorded, and none happens. */
	if (r == 0 && try != part)
		r = write_autoboot(t, def, part, err);
	if (r == 0) {
		struct trial tr = { .used = false };
		strcpy(tr.group, group);
		r = write_trial(t, &tr, err);
	}
	if (r < 0)
		ota_error_prefix(err, "boot flow rpi-tryboot: arm group %s: ", group);
	return r;
}

static int tryboot_commit(struct ota_bootflow *bf, const char *group, struct ota_error *err)
{
	const struct tryboot *t = bf->data;
	unsigned part, def, try;
	struct trial tr;
	int r = read_group_state(t, group, &part, &def, &try, &tr, err);
	unsigned other = t->part[0].number == part ? t->part[1].number : t->part[0].number;
	/* autoboot.txt is the commit; the state file is cleared after it (a
	 * trial equal to the default counts as none in between). */
	if (r == 0 && (def != part || try != other))
		r = write_autoboot(t, part, other, err);
	if (r == 0 && tr.group[0]) {
		struct trial none = { .used = false };
		r = write_trial(t, &none, err);
	}
	if (r < 0)
		ota_error_prefix(err, "boot flow rpi-tryboot: commit group %s: ", group);
	return r;
}

static int tryboot_mark_bad(struct ota_bootflow *bf, const char *group, struct ota_error *err)
{
	const struct tryboot *t = bf->data;
	unsigned part, def, try;
	struct trial tr;
	int r = read_group_state(t, group, &part, &def, &try, &tr, err);
	if (r == 0 && strcmp(tr.group, group) == 0) {
		struct trial none = { .used = false };
		r = write_trial(t, &none, err);
	} else if (r == 0 && def == part) {
		r = ota_error_set(err, -EBUSY, "it is the default (boot_partition=%u): commit another first", def);
	}
	/* Otherwise nothing boots it: only our reboot issues a tryboot, and
	 * only for an armed trial. */
	if (r < 0)
		ota_error_prefix(err, "boot flow rpi-tryboot: mark-bad group %s: ", group);
	return r;
}

static int tryboot_reboot(struct ota_bootflow *bf, struct ota_error *err)
{
	const struct tryboot *t = bf->data;
	struct trial tr;
	int r = read_trial(t, &tr, err);
	if (r < 0) {
		ota_error_prefix(err, "boot flow rpi-tryboot: reboot: ");
		return r;
	}
	if (!tr.group[0] || tr.used) {
		r = t->reboot_fn(LINUX_REBOOT_CMD_RESTART, NULL);
		return r < 0 ? ota_error_errno(err, r, "boot flow rpi-tryboot: reboot") : 0;
	}
	/* The try is spent once the firmware sees the flag, so record that
	 * first: coming back on the default then reads as failed. The leading
	 * space of " tryboot" is what the firmware driver matches. */
	tr.used = true;
	r = write_trial(t, &tr, err);
	if (r < 0) {
		ota_error_prefix(err, "boot flow rpi-tryboot: reboot: ");
		return r;
	}
	r = t->reboot_fn(LINUX_REBOOT_CMD_RESTART2, "0 tryboot");
	if (r < 0) {
		tr.used = false; /* best effort: we did not reboot, the try is still there */
		(void)write_trial(t, &tr, NULL);
		return ota_error_errno(err, r, "boot flow rpi-tryboot: reboot(RESTART2, \"0 tryboot\")");
	}
	return 0;
}

/* ---- configuration --------------------------------------------------------------------- */

static int set_paths(struct tryboot *t, const struct ota_bootflow_config *c, struct ota_error *err)
{
	if (!c->autoboot || c->autoboot[0] != '/')
		return ota_error_set(err, -EINVAL, "autoboot '%s' is not an absolute path", c->autoboot ? c->autoboot : "");
	if (c->state_file && c->state_file[0] != '/')
		return ota_error_set(err, -EINVAL, "state-file '%s' is not an absolute path", c->state_file);
	if (ota_strdup_to(&t->autoboot, c->autoboot) < 0 || (c->proc && ota_strdup_to(&t->proc, c->proc) < 0))
		return ota_error_set(err, -ENOMEM, "out of memory");
	if (c->state_file)
		return ota_strdup_to(&t->state_file, c->state_file) < 0 ? ota_error_set(err, -ENOMEM, "out of memory") : 0;
	/* Default: beside autoboot.txt, on the FAT partition that survives
	 * every reboot and that the firmware never writes. */
	_cleanup_free_ char *copy = strdup(c->autoboot);
	char path[4096];
	if (!copy)
		return ota_error_set(err, -ENOMEM, "out of memory");
	if (ota_format(path, sizeof(path), "%s/ota-tryboot.state", dirname(copy)) < 0)
		return ota_error_set(err, -ENAMETOOLONG, "autoboot '%s': path too long", c->autoboot);
	return ota_strdup_to(&t->state_file, path) < 0 ? ota_error_set(err, -ENOMEM, "out of memory") : 0;
}

static int tryboot_init(struct ota_bootflow *bf, struct ota_error *err)
{
	const struct ota_bootflow_config *c = bf->cfg;
	struct tryboot *t = calloc(1, sizeof(*t));
	if (!t)
		return ota_error_set(err, -ENOMEM, "out of memory");
	bf->data = t;
	bf->free_data = tryboot_free;
	t->reboot_fn = c->reboot_fn ? c->reboot_fn : ota_bootflow_sys_reboot;
	for (int i = 0; i < 2; i++) {
		const struct ota_bootflow_partition *p = &c->partitions[i];
		if (!p->group || !ota_bootflow_group_name_valid(p->group) || p->number < 1 || p->number > 255)
			return ota_error_set(err, -EINVAL, "two partitions are required (partition.<group> = 1..255)");
		strcpy(t->part[i].group, p->group);
		t->part[i].number = p->number;
	}
	if (t->part[0].number == t->part[1].number || strcmp(t->part[0].group, t->part[1].group) == 0)
		return ota_error_set(err, -EINVAL, "partition.%s and partition.%s must differ", t->part[0].group,
				     t->part[1].group);
	return set_paths(t, c, err);
}

const struct ota_bootflow_ops ota_bootflow_rpi_tryboot_ops = {
	.name = "rpi-tryboot",
	.init = tryboot_init,
	.get_state = tryboot_get_state,
	.arm = tryboot_arm,
	.commit = tryboot_commit,
	.mark_bad = tryboot_mark_bad,
	.reboot = tryboot_reboot,
};

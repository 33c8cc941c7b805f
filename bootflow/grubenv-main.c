/* SPDX-License-Identifier: Apache-2.0 */
/* ota-grubenv: the GRUB boot flow's environment files, for image builders
 * and for debugging (docs/boot-flows.md).
 *
 *   ota-grubenv init DIR --groups A,B [--default G]
 *       writes DIR/env1, env2 and tries for a fresh image (default: A).
 *   ota-grubenv show DIR --groups A,B
 *       prints what GRUB decides from those files (ota_grub_decide).
 *   ota-grubenv arm DIR --groups A,B GROUP TRIES | commit DIR --groups A,B GROUP
 *       the grub backend's own operations on a mounted directory (the
 *       power-cut stress test, bench/grub-power-cut.py; ota-update does
 *       this in normal use).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "bootflow/bootflow-private.h"

static char *arg_groups;
static const char *arg_default;

#define OPT_GROUPS 'g'
#define OPT_DEFAULT 'd'

static const struct option options[] = {
	{ "groups", required_argument, NULL, OPT_GROUPS },
	{ "default", required_argument, NULL, OPT_DEFAULT },
	OTA_CLI_STANDARD_OPTIONS,
	{ 0 },
};

#define GROUPS_HELP "  --groups A,B     the two boot groups ([group.NAME] of system.conf)\n"

static const struct ota_cli_command self = {
	.usage = "Usage: ota-grubenv init DIR --groups A,B [--default GROUP]\n"
		 "       ota-grubenv show DIR --groups A,B\n"
		 "       ota-grubenv arm DIR --groups A,B GROUP TRIES\n"
		 "       ota-grubenv commit DIR --groups A,B GROUP\n"
		 "\n"
		 "The GRUB boot flow's environment files in DIR (env1, env2, tries; docs/boot-flows.md).\n"
		 "\n" GROUPS_HELP
		 "  -h, --help       this help; COMMAND --help: the command's\n"
		 "  -V, --version    the version of otaroot\n"
		 "\n"
		 "Exit status: 0 done, 1 failed, 2 usage error.\n",
};

enum { CMD_INIT, CMD_SHOW, CMD_ARM, CMD_COMMIT };

static const struct ota_cli_command commands[] = {
	[CMD_INIT] = { "init", "gd", 1, 1,
		       "Usage: ota-grubenv init DIR --groups A,B [--default GROUP]\n"
		       "\n"
		       "Writes DIR/env1, env2 and tries for a fresh image.\n"
		       "\n" GROUPS_HELP "  --default GROUP  the group that boots (default: A)\n" },
	[CMD_SHOW] = { "show", "g", 1, 1,
		       "Usage: ota-grubenv show DIR --groups A,B\n"
		       "\n"
		       "Prints what GRUB decides from the files in DIR, as key=value lines.\n"
		       "\n" GROUPS_HELP },
	[CMD_ARM] = { "arm", "g", 3, 3,
		      "Usage: ota-grubenv arm DIR --groups A,B GROUP TRIES\n"
		      "\n"
		      "Arms a trial boot of GROUP with TRIES tries, as ota-update does.\n"
		      "\n" GROUPS_HELP },
	[CMD_COMMIT] = { "commit", "g", 2, 2,
			 "Usage: ota-grubenv commit DIR --groups A,B GROUP\n"
			 "\n"
			 "Makes GROUP the default, as ota-update commit does.\n"
			 "\n" GROUPS_HELP },
};

static int set_option(int opt, const char *arg)
{
	if (opt == OPT_GROUPS)
		arg_groups = (char *)arg; /* split in place: it is argv's */
	else
		arg_default = arg;
	return 0;
}

static const struct ota_cli cli = {
	.tool = "ota-grubenv",
	.options = options,
	.self = &self,
	.commands = commands,
	.n_commands = OTA_ELEMENTSOF(commands),
	.set = set_option,
};

static int split_groups(char *arg, const char *groups[2])
{
	char *comma = arg ? strchr(arg, ',') : NULL;
	if (!comma)
		return -EINVAL;
	*comma = '\0';
	groups[0] = arg;
	groups[1] = comma + 1;
	if (!ota_bootflow_group_name_valid(groups[0]) || !ota_bootflow_group_name_valid(groups[1]) ||
	    strcmp(groups[0], groups[1]) == 0)
		return -EINVAL;
	return 0;
}

static int cmd_init(const char *dir, const char *const groups[2], const char *def)
{
	struct ota_error err = { 0 };
	if (strcmp(def, groups[0]) != 0 && strcmp(def, groups[1]) != 0) {
		log_error("--default %s is not one of the groups", def);
		return 2;
	}
	if (ota_bootflow_grub_write_initial(dir, groups, def, &err) < 0) {
		log_error("%s", err.msg);
		return 1;
	}
	return 0;
}

static int cmd_show(const char *dir, const char *const groups[2])
{
	static const char *const names[3] = { "env1", "env2", "tries" };
	char *data[3] = { 0 };
	size_t len[3] = { 0 };
	for (int i = 0; i < 3; i++) {
		char path[4096];
		struct ota_error err = { 0 };
		if (ota_format(path, sizeof(path), "%s/%s", dir, names[i]) < 0)
			return 1;
		int r = ota_read_file(path, OTA_GRUBENV_FILE_MAX, &data[i], &len[i], &err);
		if (r < 0 && r != -ENOENT && r != -EFBIG) {
			log_error("%s", err.msg);
			return 1;
		}
	}
	struct ota_grub_files f = { data[0], data[1], data[2], len[0], len[1], len[2] };
	struct ota_grub_decision d;
	int r = ota_grub_decide(&f, groups, &d);
	for (int i = 0; i < 3; i++)
		free(data[i]);
	if (r < 0) {
		log_error("deciding: %s", strerror(-r));
		return 1;
	}
	printf("copy=%d\nseq=%" PRIu64 "\ndefault=%s\ntrial=%s\ntrial_id=%s\ntries=%u\nboot=%s\nboot_trial=%d\n", d.copy,
	       d.state.seq, d.state.default_group, d.state.trial, d.state.trial_id, d.tries, d.boot, d.boot_trial);
	return 0;
}

static int cmd_op(const char *op, const char *dir, const char *const groups[2], const char *group,
		  const char *tries)
{
	struct ota_bootflow_config c = { .type = "grub", .groups = { groups[0], groups[1] }, .directory = dir };
	struct ota_bootflow *bf = NULL;
	struct ota_error err = { 0 };
	uint64_t n = 0;
	int r = ota_bootflow_new(&c, &bf, &err);
	if (r >= 0 && strcmp(op, "arm") == 0)
		r = ota_parse_u64(tries, &n) < 0 || n > OTA_BOOTFLOW_MAX_TRIES
			    ? ota_error_set(&err, -EINVAL, "tries '%s' is not a number 1..%u", tries,
					    OTA_BOOTFLOW_MAX_TRIES)
			    : ota_bootflow_arm(bf, group, (unsigned)n, &err);
	else if (r >= 0)
		r = ota_bootflow_commit(bf, group, &err);
	ota_bootflow_free(bf);
	if (r < 0)
		log_error("%s %s: %s", op, group, err.msg);
	return r < 0 ? 1 : 0;
}

int main(int argc, char **argv)
{
	struct ota_cli_args a;
	int rc = ota_cli_start(&cli, argc, argv, &a);
	if (rc != OTA_CLI_CONTINUE)
		return rc;
	const char *groups[2];
	if (split_groups(arg_groups, groups) < 0)
		return ota_cli_usage_error(&cli, a.cmd, "--groups takes two different group names, A,B");
	switch (a.cmd - commands) {
	case CMD_INIT: return cmd_init(a.args[0], groups, arg_default ? arg_default : groups[0]);
	case CMD_SHOW: return cmd_show(a.args[0], groups);
	case CMD_ARM: return cmd_op("arm", a.args[0], groups, a.args[1], a.args[2]);
	default: return cmd_op("commit", a.args[0], groups, a.args[1], NULL);
	}
}

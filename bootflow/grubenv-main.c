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
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "bootflow/bootflow.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: ota-grubenv init DIR --groups A,B [--default GROUP]\n"
		   "       ota-grubenv show DIR --groups A,B\n"
		   "       ota-grubenv arm DIR --groups A,B GROUP TRIES\n"
		   "       ota-grubenv commit DIR --groups A,B GROUP\n");
}

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

static int write_new(const char *dir, const char *name, const char *block)
{
	char path[4096];
	struct ota_error err = { 0 };
	int r = ota_format(path, sizeof(path), "%s/%s", dir, name);
	if (r >= 0)
		r = ota_write_file_atomic(path, block, OTA_GRUBENV_SIZE, 0644, &err);
	if (r < 0)
		log_error("writing %s/%s: %s", dir, name, err.msg[0] ? err.msg : strerror(-r));
	return r;
}

static int cmd_init(const char *dir, const char *const groups[2], const char *def)
{
	struct ota_grub_state s = { .seq = 1 };
	char block[OTA_GRUBENV_SIZE];
	if (strcmp(def, groups[0]) != 0 && strcmp(def, groups[1]) != 0) {
		log_error("--default %s is not one of the groups", def);
		return 2;
	}
	strcpy(s.default_group, def);
	int r = ota_mkdir_p(dir, 0755);
	if (r < 0) {
		log_error("creating %s: %s", dir, strerror(-r));
		return 1;
	}
	if (ota_grubenv_format_state(block, &s) < 0)
		return 1;
	if (write_new(dir, "env1", block) < 0 || write_new(dir, "env2", block) < 0)
		return 1;
	if (ota_grubenv_format_tries(block, "", 0) < 0 || write_new(dir, "tries", block) < 0)
		return 1;
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
	static const struct option options[] = {
		{ "groups", required_argument, NULL, 'g' },
		{ "default", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	char *groups_arg = NULL;
	const char *def = NULL;
	int c;
	while ((c = getopt_long(argc, argv, "h", options, NULL)) != -1) {
		switch (c) {
		case 'g':
			groups_arg = optarg;
			break;
		case 'd':
			def = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	const char *groups[2];
	int nargs = argc - optind;
	const char *cmd = nargs > 0 ? argv[optind] : "";
	int want = strcmp(cmd, "arm") == 0 ? 4 : strcmp(cmd, "commit") == 0 ? 3 : 2;
	if (nargs != want || split_groups(groups_arg, groups) < 0) {
		usage(stderr);
		return 2;
	}
	const char *dir = argv[optind + 1];
	if (want > 2)
		return cmd_op(cmd, dir, groups, argv[optind + 2], want == 4 ? argv[optind + 3] : NULL);
	if (strcmp(cmd, "init") == 0)
		return cmd_init(dir, groups, def ? def : groups[0]);
	if (strcmp(cmd, "show") == 0)
		return cmd_show(dir, groups);
	usage(stderr);
	return 2;
}

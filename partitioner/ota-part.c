/* SPDX-License-Identifier: Apache-2.0 */
/* ota-part: show, plan and apply a disk layout. A thin main over the
 * partitioner library. */
#include <errno.h>
#include <json-c/json.h>
#include <string.h>

#include "partitioner/partitioner.h"

static const char *arg_layout = OTA_LAYOUT_CONF;
static bool arg_json;

#define OPT_LAYOUT 'l'
#define OPT_JSON 'j'

static const struct option options[] = {
	{ "layout", required_argument, NULL, OPT_LAYOUT },
	{ "json", no_argument, NULL, OPT_JSON },
	OTA_CLI_STANDARD_OPTIONS,
	{ 0 },
};

#define OPTIONS_HELP                                                      \
	"  -l, --layout FILE  the layout (default " OTA_LAYOUT_CONF ")\n" \
	"  -j, --json         machine-readable output (docs/provisioning.md)\n"

/* Before the command as the synopsis has always shown them. */
static const struct ota_cli_command self = {
	.accepts = "lj",
	.usage = "Usage: ota-part [--layout FILE] [--json] COMMAND DISK\n"
		 "\n"
		 "  show DISK    the partitions of DISK (block device or image file); needs no layout\n"
		 "  plan DISK    what provisioning DISK to the layout would do; changes nothing\n"
		 "  apply DISK   do it: grow, create, format\n"
		 "\n" OPTIONS_HELP
		 "  -h, --help         this help; COMMAND --help: the command's\n"
		 "  -V, --version      the version of otaroot\n"
		 "\n"
		 "Exit status: 0 done (also: nothing to do), 1 failed, 2 usage error.\n",
};

enum { CMD_SHOW, CMD_PLAN, CMD_APPLY };

static const struct ota_cli_command commands[] = {
	[CMD_SHOW] = { "show", "j", 1, 1,
		       "Usage: ota-part show [--json] DISK\n"
		       "\n"
		       "The partitions of DISK (a block device or an image file); needs no layout.\n"
		       "\n"
		       "  -j, --json         machine-readable output (docs/provisioning.md)\n" },
	[CMD_PLAN] = { "plan", "lj", 1, 1,
		       "Usage: ota-part plan [--layout FILE] [--json] DISK\n"
		       "\n"
		       "What provisioning DISK to the layout would do; changes nothing.\n"
		       "\n" OPTIONS_HELP },
	[CMD_APPLY] = { "apply", "lj", 1, 1,
			"Usage: ota-part apply [--layout FILE] [--json] DISK\n"
			"\n"
			"Provisions DISK to the layout: grow, create, format (docs/provisioning.md).\n"
			"\n" OPTIONS_HELP },
};

static int set_option(int opt, const char *arg)
{
	if (opt == OPT_LAYOUT)
		arg_layout = arg;
	else
		arg_json = true;
	return 0;
}

static const struct ota_cli cli = {
	.tool = "ota-part",
	.options = options,
	.shortopts = "l:j",
	.self = &self,
	.commands = commands,
	.n_commands = OTA_ELEMENTSOF(commands),
	.set = set_option,
};

static const char *kind_name(enum ota_part_action_kind k)
{
	static const char *const names[] = { "keep", "grow", "create", "finish" };
	return names[k];
}

static void print_plan(const struct ota_layout *l, const struct ota_part_plan *p, bool applied)
{
	if (arg_json) {
		json_object *o = json_object_new_object(), *arr = json_object_new_array();
		json_object_object_add(o, "table", json_object_new_string(p->table == OTA_TABLE_GPT ? "gpt" : "mbr"));
		json_object_object_add(o, "disk_bytes", json_object_new_uint64(p->disk_size));
		json_object_object_add(o, "unreachable_bytes", json_object_new_uint64(p->unreachable));
		json_object_object_add(o, "sector_size", json_object_new_int((int)p->sector_size));
		json_object_object_add(o, "table_changes", json_object_new_boolean(p->table_changes));
		json_object_object_add(o, "relocate_backup_header", json_object_new_boolean(p->relocate_backup));
		json_object_object_add(o, "applied", json_object_new_boolean(applied));
		for (size_t i = 0; i < p->n_actions; i++) {
			const struct ota_part_action *a = &p->actions[i];
			json_object *e = json_object_new_object();
			json_object_object_add(e, "partno", json_object_new_int((int)a->partno));
			json_object_object_add(e, "name", json_object_new_string(l->parts[a->index].name));
			json_object_object_add(e, "action", json_object_new_string(kind_name(a->kind)));
			json_object_object_add(e, "start", json_object_new_uint64(a->start));
			json_object_object_add(e, "old_size", json_object_new_uint64(a->old_size));
			json_object_object_add(e, "size", json_object_new_uint64(a->new_size));
			json_object_object_add(e, "format", json_object_new_boolean(a->format));
			json_object_object_add(e, "grow_fs", json_object_new_boolean(a->grow_fs));
			json_object_array_add(arr, e);
		}
		json_object_object_add(o, "partitions", arr);
		printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY));
		json_object_put(o);
		return;
	}
	printf("%s disk, %llu MiB, %u-byte sectors%s\n", p->table == OTA_TABLE_GPT ? "GPT" : "MBR",
	       (unsigned long long)(p->disk_size >> 20), p->sector_size,
	       p->relocate_backup ? "; backup GPT header moves to the end of the disk" : "");
	if (p->unreachable)
		printf("MBR reaches only the first %llu MiB: the last %llu MiB of the disk stay unused (GPT reaches all)\n",
		       (unsigned long long)((p->disk_size - p->unreachable) >> 20),
		       (unsigned long long)(p->unreachable >> 20));
	printf("%-4s %-16s %-7s %12s %12s %12s  %s\n", "NR", "NAME", "ACTION", "START(MiB)", "OLD(MiB)", "SIZE(MiB)",
	       "FILESYSTEM");
	for (size_t i = 0; i < p->n_actions; i++) {
		const struct ota_part_action *a = &p->actions[i];
		printf("%-4u %-16s %-7s %12.1f %12.1f %12.1f  %s\n", a->partno, l->parts[a->index].name,
		       kind_name(a->kind), a->start / 1048576.0, a->old_size / 1048576.0, a->new_size / 1048576.0,
		       a->format ? "make" : a->grow_fs ? "grow at boot" : "-");
	}
	if (!ota_part_plan_has_work(p))
		printf("nothing to do: the disk matches the layout\n");
	else if (applied)
		printf("done\n");
}

static int cmd_show(const char *disk)
{
	struct ota_error err = { 0 };
	static struct ota_part_table t;
	if (ota_part_read_table(disk, &t, &err) < 0) {
		log_error("%s", err.msg);
		return 1;
	}
	if (arg_json) {
		json_object *o = json_object_new_object(), *arr = json_object_new_array();
		json_object_object_add(o, "table", json_object_new_string(t.table == OTA_TABLE_GPT ? "gpt" : "mbr"));
		json_object_object_add(o, "disk_bytes", json_object_new_uint64(t.disk_size));
		json_object_object_add(o, "sector_size", json_object_new_int((int)t.sector_size));
		for (size_t i = 0; i < t.n_entries; i++) {
			const struct ota_part_entry *e = &t.entries[i];
			json_object *p = json_object_new_object();
			json_object_object_add(p, "partno", json_object_new_int((int)e->partno));
			json_object_object_add(p, "start", json_object_new_uint64(e->start));
			json_object_object_add(p, "size", json_object_new_uint64(e->size));
			json_object_object_add(p, "type", json_object_new_string(e->type));
			json_object_object_add(p, "name", json_object_new_string(e->name));
			json_object_object_add(p, "extended", json_object_new_boolean(e->container));
			json_object_object_add(p, "pending", json_object_new_boolean(e->pending));
			json_object_array_add(arr, p);
		}
		json_object_object_add(o, "partitions", arr);
		printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY));
		json_object_put(o);
		return 0;
	}
	printf("%s disk, %llu MiB, %u-byte sectors\n", t.table == OTA_TABLE_GPT ? "GPT" : "MBR",
	       (unsigned long long)(t.disk_size >> 20), t.sector_size);
	printf("%-4s %12s %12s  %-38s %s\n", "NR", "START(MiB)", "SIZE(MiB)", "TYPE", "NAME");
	for (size_t i = 0; i < t.n_entries; i++) {
		const struct ota_part_entry *e = &t.entries[i];
		printf("%-4u %12.1f %12.1f  %-38s %s%s%s\n", e->partno, e->start / 1048576.0, e->size / 1048576.0,
		       e->type, e->name, e->container ? "(extended)" : "",
		       e->pending ? " (pending: provisioning not finished)" : "");
	}
	return 0;
}

static int cmd_plan(const char *disk, bool apply)
{
	struct ota_error err = { 0 };
	struct ota_layout l;
	struct ota_part_plan p;
	if (ota_layout_load(&l, arg_layout, &err) < 0 || ota_part_provision(disk, &l, apply, &p, &err) < 0) {
		log_error("%s", err.msg);
		return 1;
	}
	print_plan(&l, &p, apply);
	return 0;
}

int main(int argc, char **argv)
{
	struct ota_cli_args a;
	int rc = ota_cli_start(&cli, argc, argv, &a);
	if (rc != OTA_CLI_CONTINUE)
		return rc;
	if (a.cmd == &commands[CMD_SHOW])
		return cmd_show(a.args[0]);
	return cmd_plan(a.args[0], a.cmd == &commands[CMD_APPLY]);
}

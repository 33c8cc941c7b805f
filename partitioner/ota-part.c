/* SPDX-License-Identifier: Apache-2.0 */
/* ota-part: show, plan and apply a disk layout. A thin main over the
 * partitioner library. */
#include <errno.h>
#include <getopt.h>
#include <json-c/json.h>
#include <string.h>

#include "partitioner/partitioner.h"

static const char *arg_layout = OTA_LAYOUT_CONF;
static bool arg_json;

static void usage(FILE *f)
{
	fprintf(f, "Usage: ota-part [--layout FILE] [--json] COMMAND DISK\n"
		   "\n"
		   "  show DISK    the partitions of DISK (block device or image file); needs no layout\n"
		   "  plan DISK    what provisioning DISK to the layout would do; changes nothing\n"
		   "  apply DISK   do it: grow, create, format\n"
		   "\n"
		   "  --layout FILE  the layout (default " OTA_LAYOUT_CONF ")\n"
		   "  --json         machine-readable output\n");
}

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
	static const struct option options[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "layout", required_argument, NULL, 'l' },
		{ "json", no_argument, NULL, 'j' },
		{ 0 },
	};
	ota_log_init("ota-part", OTA_LOG_INFO);
	int opt;
	while ((opt = getopt_long(argc, argv, "hl:j", options, NULL)) != -1) {
		switch (opt) {
		case 'h':
			usage(stdout);
			return 0;
		case 'l':
			arg_layout = optarg;
			break;
		case 'j':
			arg_json = true;
			break;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (argc - optind != 2) {
		usage(stderr);
		return 2;
	}
	const char *cmd = argv[optind], *disk = argv[optind + 1];
	if (strcmp(cmd, "show") == 0)
		return cmd_show(disk);
	if (strcmp(cmd, "plan") == 0)
		return cmd_plan(disk, false);
	if (strcmp(cmd, "apply") == 0)
		return cmd_plan(disk, true);
	log_error("unknown command '%s'", cmd);
	usage(stderr);
	return 2;
}

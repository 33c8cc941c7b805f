/* SPDX-License-Identifier: Apache-2.0 */
/* ota-state: manage persisted state at runtime. A thin main over stateman. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <json-c/json.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include "stateman/stateman.h"

static const char *arg_data_dir = OTA_DATA_DIR;
static const char *arg_root = "";
static const char *arg_status_file = OTA_STATUS_FILE;
static bool arg_json;
static bool arg_keep_on_reset;
static bool arg_drop;
static const char *arg_backup;

#define OPT_DATA_DIR 'd'
#define OPT_ROOT 'r'
#define OPT_STATUS_FILE 's'
#define OPT_KEEP 'k'
#define OPT_DROP 'x'
#define OPT_BACKUP 'b'
#define OPT_JSON 'j'
/* Every command takes these (they say where the store and configuration are). */
#define GLOBAL_OPTS "drs"

static const struct option options[] = {
	{ "data-dir", required_argument, NULL, OPT_DATA_DIR },
	{ "root", required_argument, NULL, OPT_ROOT },
	{ "status-file", required_argument, NULL, OPT_STATUS_FILE },
	{ "keep-on-reset", no_argument, NULL, OPT_KEEP },
	{ "drop", no_argument, NULL, OPT_DROP },
	{ "backup", required_argument, NULL, OPT_BACKUP },
	{ "json", no_argument, NULL, OPT_JSON },
	OTA_CLI_STANDARD_OPTIONS,
	{ 0 },
};

#define GLOBAL_HELP                                                                           \
	"Options (for recovery and tests):\n"                                                  \
	"  --data-dir DIR     the mounted data partition (default " OTA_DATA_DIR ")\n"        \
	"  --root DIR         read the configuration below DIR (default /)\n"                  \
	"  --status-file FILE ota-init's status (default " OTA_STATUS_FILE ")\n"

static const struct ota_cli_command self = {
	.accepts = GLOBAL_OPTS,
	.usage = "Usage: ota-state [OPTIONS] COMMAND [ARGS]\n"
		 "\n"
		 "Commands:\n"
		 "  persist [--keep-on-reset] PATH...  keep PATH across reboots and updates, from now on\n"
		 "  unpersist [--drop] PATH...         stop persisting PATH (its copy is set aside, or dropped)\n"
		 "  list [--json]                      every persisted path and where it is declared\n"
		 "  status [--json]                    overlay mode, data partition, space, degraded state\n"
		 "  reset [--backup NAME]              factory reset at the next boot\n"
		 "\n" GLOBAL_HELP
		 "  -h, --help         this help; COMMAND --help: the command's\n"
		 "  -V, --version      the version of otaroot\n"
		 "\n"
		 "Exit status: 0 done (also: persisted already), 1 failed, 2 usage error.\n",
};

enum { CMD_PERSIST, CMD_UNPERSIST, CMD_LIST, CMD_STATUS, CMD_RESET };

static const struct ota_cli_command commands[] = {
	[CMD_PERSIST] = { "persist", GLOBAL_OPTS "k", 1, UINT_MAX,
			  "Usage: ota-state persist [--keep-on-reset] PATH...\n"
			  "\n"
			  "Keeps each PATH across reboots and updates, from now on (state.md).\n"
			  "\n"
			  "  --keep-on-reset    survive a factory reset too\n" GLOBAL_HELP },
	[CMD_UNPERSIST] = { "unpersist", GLOBAL_OPTS "x", 1, UINT_MAX,
			    "Usage: ota-state unpersist [--drop] PATH...\n"
			    "\n"
			    "Stops persisting each PATH; its copy is set aside in the store.\n"
			    "\n"
			    "  --drop             delete the copy instead\n" GLOBAL_HELP },
	[CMD_LIST] = { "list", GLOBAL_OPTS "j", 0, 0,
		       "Usage: ota-state list [--json]\n"
		       "\n"
		       "Every persisted path and where it is declared.\n"
		       "\n"
		       "  --json             a JSON array (docs/state.md)\n" GLOBAL_HELP },
	[CMD_STATUS] = { "status", GLOBAL_OPTS "j", 0, 0,
			 "Usage: ota-state status [--json]\n"
			 "\n"
			 "Overlay mode, data partition and its space, degraded state, configuration errors.\n"
			 "\n"
			 "  --json             a JSON object (docs/state.md)\n" GLOBAL_HELP },
	[CMD_RESET] = { "reset", GLOBAL_OPTS "b", 0, 0,
			"Usage: ota-state reset [--backup NAME]\n"
			"\n"
			"Requests a factory reset at the next boot.\n"
			"\n"
			"  --backup NAME      keep the old state as backup NAME\n" GLOBAL_HELP },
};

static int set_option(int opt, const char *arg)
{
	switch (opt) {
	case OPT_DATA_DIR: arg_data_dir = arg; break;
	case OPT_ROOT: arg_root = arg; break;
	case OPT_STATUS_FILE: arg_status_file = arg; break;
	case OPT_KEEP: arg_keep_on_reset = true; break;
	case OPT_DROP: arg_drop = true; break;
	case OPT_BACKUP: arg_backup = arg; break;
	case OPT_JSON: arg_json = true; break;
	}
	return 0;
}

static const struct ota_cli cli = {
	.tool = "ota-state",
	.options = options,
	.self = &self,
	.commands = commands,
	.n_commands = OTA_ELEMENTSOF(commands),
	.set = set_option,
};

static int fail(const struct ota_error *err, int code)
{
	log_error("%s", err->msg);
	return code;
}

/* Runtime changes need the data partition: without it (a degraded boot),
 * state would silently evaporate at the next boot. */
static int check_data_dir(struct ota_error *err)
{
	struct stat st;
	if (stat(arg_data_dir, &st) < 0 || !S_ISDIR(st.st_mode))
		return ota_error_set(err, -ENODEV, "no data partition at '%s' (see ota-state status)", arg_data_dir);
	if (strcmp(arg_data_dir, OTA_DATA_DIR) == 0 && ota_is_mount_point(arg_data_dir) != 1)
		return ota_error_set(err, -ENODEV, "the data partition is not mounted at '%s' (see ota-state status)",
				     arg_data_dir);
	return 0;
}

/* One change at a time: two ota-state processes must not both rewrite
 * runtime.conf from the same old copy. */
static int lock_store(struct ota_error *err)
{
	char path[PATH_MAX];
	if (ota_format(path, sizeof(path), "%s/ota/state", arg_data_dir) < 0)
		return ota_error_set(err, -ENAMETOOLONG, "path too long");
	int r = ota_mkdir_p(path, 0755);
	if (r < 0)
		return ota_error_errno(err, r, "create '%s'", path);
	(void)!ota_format(path, sizeof(path), "%s/ota/.lock", arg_data_dir);
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return ota_error_errno(err, -errno, "open '%s'", path);
	if (flock(fd, LOCK_EX) < 0)
		return ota_error_errno(err, -errno, "lock '%s'", path);
	return fd; /* held until exit */
}

/* A runtime.conf that does not parse fails this (-EINVAL, file and line in
 * err) with c still holding everything else, for list and status. */
static int load_config(struct ota_state_config *c, bool with_runtime, struct ota_error *err)
{
	int r = ota_state_config_load(c, arg_root, err);
	if (r == 0 && with_runtime && check_data_dir(NULL) == 0)
		r = ota_state_config_load_runtime(c, arg_data_dir, err);
	return r;
}

/* For the commands that show the configuration: c is initialised and loaded
 * as far as it can be read. 1 when part of it
 * could not be (a broken runtime.conf is shown with what could be read, and
 * fails the command after), -1 when there is nothing to show (out of
 * memory); err says why. */
static int load_config_to_show(struct ota_state_config *c, struct ota_error *err)
{
	ota_state_config_init(c);
	if (load_config(c, true, err) == 0)
		return 0;
	return err->code == -ENOMEM ? -1 : 1;
}

static int cmd_persist(int argc, char **argv, bool persist)
{
	struct ota_error err = { 0 };
	int failed = 0;
	/* Bad paths are refused before anything else is looked at; persist
	 * checks where a path leads, unpersist also takes an entry's path as
	 * recorded, which may no longer resolve to itself. */
	for (int i = 0; i < argc; i++) {
		char norm[PATH_MAX];
		if ((persist ? ota_state_resolve_path("/", argv[i], norm, sizeof(norm), &err)
			     : ota_state_normalize_path(argv[i], norm, sizeof(norm), &err)) < 0)
			return fail(&err, 1);
	}
	if (check_data_dir(&err) < 0 || lock_store(&err) < 0)
		return fail(&err, 1);
	/* We hold the lock: whatever is in staging/ is from a run that died. */
	if (persist && ota_state_clean_staging(arg_data_dir, "staging", &err) < 0)
		return fail(&err, 1);
	for (int i = 0; i < argc; i++) {
		char resolved[PATH_MAX];
		const char *shown = argv[i];
		if (persist && ota_state_resolve_path("/", argv[i], resolved, sizeof(resolved), NULL) == 0)
			shown = resolved;
		struct ota_state_config c;
		ota_state_config_init(&c);
		int r = load_config(&c, true, &err);
		if (r == 0)
			r = persist ? ota_state_persist(arg_data_dir, &c, argv[i], arg_keep_on_reset, &err)
				    : ota_state_unpersist(arg_data_dir, &c, argv[i], arg_drop, &err);
		ota_state_config_done(&c);
		if (r < 0) {
			log_error("%s", err.msg);
			failed = 1;
		} else if (r == 1) {
			printf("%s is persisted already\n", shown);
		} else {
			printf("%s %s\n", shown, persist ? "persisted" : "no longer persisted");
		}
	}
	return failed;
}

static int cmd_list(void)
{
	struct ota_error err = { 0 };
	struct ota_state_config c;
	int failed = load_config_to_show(&c, &err);
	if (failed < 0)
		return fail(&err, 1);
	json_object *arr = json_object_new_array();
	if (!arg_json)
		printf("%-40s %-10s %-6s %-6s %s\n", "PATH", "TYPE", "ACTIVE", "KEEP", "SOURCE");
	for (size_t i = 0; i < c.n_entries; i++) {
		const struct ota_persist_entry *e = &c.entries[i];
		char at[PATH_MAX]; /* bound where the path leads (state.md) */
		if (ota_path_resolve_in_root("/", e->path, at, sizeof(at), NULL) < 0)
			(void)!ota_format(at, sizeof(at), "%s", e->path);
		bool active = ota_is_mount_point(at) == 1;
		if (arg_json) {
			json_object *o = json_object_new_object();
			json_object_object_add(o, "path", json_object_new_string(e->path));
			json_object_object_add(o, "type", json_object_new_string(ota_persist_type_to_string(e->type)));
			json_object_object_add(o, "source", json_object_new_string(e->source));
			json_object_object_add(o, "keep_on_reset", json_object_new_boolean(e->keep_on_reset));
			json_object_object_add(o, "active", json_object_new_boolean(active));
			json_object_array_add(arr, o);
		} else {
			printf("%-40s %-10s %-6s %-6s %s\n", e->path, ota_persist_type_to_string(e->type), active ? "yes" : "no",
			       e->keep_on_reset ? "yes" : "no", e->source);
		}
	}
	if (arg_json)
		printf("%s\n", json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PRETTY));
	json_object_put(arr);
	ota_state_config_done(&c);
	return failed ? fail(&err, 1) : 0;
}

/* ota-init's status file: key='value' lines. */
static json_object *read_boot_status(void)
{
	json_object *o = json_object_new_object();
	_cleanup_fclose_ FILE *f = fopen(arg_status_file, "re");
	char line[2048];
	while (f && fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		char *eq = strchr(line, '=');
		if (!eq)
			continue;
		*eq = '\0';
		char *v = eq + 1;
		size_t n = strlen(v);
		if (n >= 2 && v[0] == '\'' && v[n - 1] == '\'') {
			v[n - 1] = '\0';
			v++;
		}
		json_object_object_add(o, line, json_object_new_string(v));
	}
	return o;
}

static const char *get_str(json_object *o, const char *key, const char *def)
{
	json_object *v;
	return json_object_object_get_ex(o, key, &v) ? json_object_get_string(v) : def;
}

static int cmd_status(void)
{
	struct ota_error err = { 0 };
	struct ota_state_config c;
	int failed = load_config_to_show(&c, &err);
	if (failed < 0)
		return fail(&err, 1);
	json_object *boot = read_boot_status();
	json_object *out = json_object_new_object();
	bool data_ok = check_data_dir(NULL) == 0;
	struct statvfs sv;
	bool have_space = data_ok && statvfs(arg_data_dir, &sv) == 0;
	uint64_t total = have_space ? (uint64_t)sv.f_blocks * sv.f_frsize : 0;
	uint64_t avail = have_space ? (uint64_t)sv.f_bavail * sv.f_frsize : 0;
	uint64_t used = have_space ? total - (uint64_t)sv.f_bfree * sv.f_frsize : 0;
	json_object *errors = json_object_new_array();
	for (size_t i = 0; i < c.n_errors; i++)
		json_object_array_add(errors, json_object_new_string(c.errors[i]));

	json_object_object_add(out, "overlay", json_object_new_string(get_str(boot, "overlay", "unknown")));
	json_object_object_add(out, "overlay_configured",
			       json_object_new_string(ota_overlay_mode_to_string(c.overlay)));
	json_object_object_add(out, "slot", json_object_new_string(get_str(boot, "slot", "unknown")));
	json_object_object_add(out, "data_device", json_object_new_string(get_str(boot, "data_device", "")));
	json_object_object_add(out, "data_mounted", json_object_new_boolean(data_ok));
	json_object_object_add(out, "data_bytes_total", json_object_new_uint64(total));
	json_object_object_add(out, "data_bytes_used", json_object_new_uint64(used));
	json_object_object_add(out, "data_bytes_available", json_object_new_uint64(avail));
	json_object_object_add(out, "persisted_paths", json_object_new_uint64(c.n_entries));
	json_object_object_add(out, "degraded", json_object_new_boolean(strcmp(get_str(boot, "degraded", "no"), "yes") == 0));
	json_object_object_add(out, "degraded_reason", json_object_new_string(get_str(boot, "degraded_reason", "")));
	json_object_object_add(out, "config_errors", errors);

	if (arg_json) {
		printf("%s\n", json_object_to_json_string_ext(out, JSON_C_TO_STRING_PRETTY));
	} else {
		printf("slot:             %s\n", get_str(out, "slot", ""));
		printf("overlay:          %s (configured: %s)\n", get_str(out, "overlay", ""),
		       ota_overlay_mode_to_string(c.overlay));
		printf("data partition:   %s\n", data_ok ? get_str(boot, "data_device", arg_data_dir) : "not mounted");
		if (have_space)
			printf("data space:       %llu MiB used, %llu MiB available of %llu MiB\n",
			       (unsigned long long)(used >> 20), (unsigned long long)(avail >> 20),
			       (unsigned long long)(total >> 20));
		printf("persisted paths:  %zu\n", c.n_entries);
		printf("degraded:         %s\n", get_str(boot, "degraded", "no"));
		if (*get_str(boot, "degraded_reason", ""))
			printf("  why:            %s\n", get_str(boot, "degraded_reason", ""));
		for (size_t i = 0; i < c.n_errors; i++)
			printf("config error:     %s\n", c.errors[i]);
	}
	json_object_put(out);
	json_object_put(boot);
	ota_state_config_done(&c);
	return failed ? fail(&err, 1) : 0;
}

static int cmd_reset(void)
{
	struct ota_error err = { 0 };
	struct ota_state_config c;
	ota_state_config_init(&c);
	if (check_data_dir(&err) < 0 || lock_store(&err) < 0)
		return fail(&err, 1);
	/* ota-init refuses a reset while runtime.conf does not parse (its
	 * entries kept on reset would be lost): say so now. */
	int r = ota_state_config_load_runtime(&c, arg_data_dir, &err);
	ota_state_config_done(&c);
	if (r < 0 || ota_state_request_reset(arg_data_dir, arg_backup, &err) < 0)
		return fail(&err, 1);
	printf("factory reset at the next boot%s%s%s\n", arg_backup ? " (old state kept as backup '" : "",
	       arg_backup ? arg_backup : "", arg_backup ? "')" : "");
	return 0;
}

int main(int argc, char **argv)
{
	struct ota_cli_args a;
	int rc = ota_cli_start(&cli, argc, argv, &a);
	if (rc != OTA_CLI_CONTINUE)
		return rc;
	switch (a.cmd - commands) {
	case CMD_PERSIST: return cmd_persist(a.n, a.args, true);
	case CMD_UNPERSIST: return cmd_persist(a.n, a.args, false);
	case CMD_LIST: return cmd_list();
	case CMD_STATUS: return cmd_status();
	default: return cmd_reset();
	}
}

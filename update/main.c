/* SPDX-License-Identifier: Apache-2.0 */
/* ota-update: install bundles into the spare boot group, commit, roll back,
 * show status. A thin main over otaupdate (update/update.h); docs/update.md. */
#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <string.h>
#include <time.h>

#include "update/update.h"

static const char *arg_config = OTA_SYSCONF_PATH;
static bool arg_json;
static bool arg_reboot;
static bool arg_tty;
static bool arg_no_delta;
static bool arg_no_readback;
static bool arg_install;
static const char *arg_channel;
static bool arg_now;

/* Option values: each command's table lists the ones it takes. */
#define OPT_CONFIG 'c'
#define OPT_JSON 'j'
#define OPT_REBOOT 'r'
#define OPT_NO_DELTA 'D'
#define OPT_NO_READBACK 'B'
#define OPT_INSTALL 'i'
#define OPT_CHANNEL 'C'
#define OPT_NOW 'N'

static const struct option options[] = {
	{ "config", required_argument, NULL, OPT_CONFIG },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "reboot", no_argument, NULL, OPT_REBOOT },
	{ "no-delta", no_argument, NULL, OPT_NO_DELTA },
	{ "no-read-back", no_argument, NULL, OPT_NO_READBACK },
	{ "install", no_argument, NULL, OPT_INSTALL },
	{ "channel", required_argument, NULL, OPT_CHANNEL },
	{ "now", no_argument, NULL, OPT_NOW },
	OTA_CLI_STANDARD_OPTIONS,
	{ 0 },
};

#define CONFIG_HELP "  -c, --config FILE  the system configuration (default " OTA_SYSCONF_PATH ")\n"

static const struct ota_cli_command self = {
	.accepts = "c",
	.usage = "Usage: ota-update [--config FILE] COMMAND [OPTIONS] [ARGS]\n"
		 "\n"
		 "Commands:\n"
		 "  install [--json] [--reboot] [--no-delta] [--no-read-back] BUNDLE|URL|-\n"
		 "                     install a bundle into the spare boot group and arm a trial boot\n"
		 "  commit             make the booted group the default (ends a trial boot)\n"
		 "  rollback [--reboot]\n"
		 "                     mark the trial (or spare) group bad\n"
		 "  status [--json]    boot state and every slot\n"
		 "  check [--channel URL] [--now] [--install [--reboot] [--no-delta]] [--json]\n"
		 "                     ask the update channel or fleet server for a newer version\n"
		 "  report [--json]    send the outcome of the last fleet update once its trial is over\n"
		 "\n"
		 "Options:\n" CONFIG_HELP
		 "  -h, --help         this help; COMMAND --help: the command's\n"
		 "  -V, --version      the version of otaroot\n"
		 "\n"
		 "Exit status: 0 done (also: nothing to commit, up to date), 1 failed, 2 usage error,\n"
		 "3 bundle not authentic, 4 bundle not for this system, 5 download failed, 6 locked.\n",
};

enum { CMD_INSTALL, CMD_COMMIT, CMD_ROLLBACK, CMD_STATUS, CMD_CHECK, CMD_REPORT };

static const struct ota_cli_command commands[] = {
	[CMD_INSTALL] = { "install", "cjrDB", 1, 1,
			  "Usage: ota-update install [--json] [--reboot] [--no-delta] [--no-read-back] BUNDLE|URL|-\n"
			  "\n"
			  "Installs a signed bundle (a file, an http(s) URL, or - for stdin) into the spare\n"
			  "boot group and arms a trial boot of it.\n"
			  "\n"
			  "  -j, --json     progress and result as JSON lines on stdout (docs/update.md)\n"
			  "  -r, --reboot   reboot into the trial when done\n"
			  "      --no-delta download the whole bundle (no reuse of the active slot's chunks)\n"
			  "      --no-read-back\n"
			  "                 do not read the written slots back from the medium to check\n"
			  "                 the image hash (each chunk is still verified before writing)\n" CONFIG_HELP },
	[CMD_COMMIT] = { "commit", "c", 0, 0,
			 "Usage: ota-update commit\n"
			 "\n"
			 "Makes the booted group the default: ends a trial boot. Nothing to commit is a\n"
			 "success (exit 0).\n"
			 "\n" CONFIG_HELP },
	[CMD_ROLLBACK] = { "rollback", "cr", 0, 0,
			   "Usage: ota-update rollback [--reboot]\n"
			   "\n"
			   "Marks the trial group (else the spare group) bad, so the default group boots.\n"
			   "\n"
			   "  -r, --reboot   reboot when done\n" CONFIG_HELP },
	[CMD_STATUS] = { "status", "cj", 0, 0,
			 "Usage: ota-update status [--json]\n"
			 "\n"
			 "The boot state (booted, default and trial group) and every slot's status.\n"
			 "\n"
			 "  -j, --json     one JSON object (docs/update.md)\n" CONFIG_HELP },
	[CMD_CHECK] = { "check", "cjriCDN", 0, 0,
			"Usage: ota-update check [--channel URL] [--now] [--install [--reboot] [--no-delta]] [--json]\n"
			"\n"
			"Asks the update channel (docs/channel.md) or the fleet server (memfault,\n"
			"hawkbit: docs/fleet.md) for a newer version; with --install installs it. Up\n"
			"to date and update available both exit 0: scripts read the \"result\" of --json.\n"
			"\n"
			"      --channel URL  the channel URL, memfault or hawkbit (default: [update] channel)\n"
			"      --now          hawkbit: poll before the server's polling sleep has passed\n"
			"      --install      install a newer version\n"
			"  -r, --reboot       with --install: reboot into it\n"
			"      --no-delta     with --install: download the whole bundle\n"
			"  -j, --json         JSON lines on stdout (docs/channel.md)\n" CONFIG_HELP },
	[CMD_REPORT] = { "report", "cj", 0, 0,
			 "Usage: ota-update report [--json]\n"
			 "\n"
			 "Sends the outcome (committed, or rolled back and why) of the last update\n"
			 "installed from a fleet server once its trial boot is over: hawkBit feedback,\n"
			 "and [update] outcome-file (docs/fleet.md). An outcome not delivered is kept\n"
			 "and sent by the next report or check. Nothing to report, or a trial not over\n"
			 "yet, exit 0.\n"
			 "\n"
			 "  -j, --json     one \"report\" event on stdout\n" CONFIG_HELP },
};

static int set_option(int opt, const char *arg)
{
	switch (opt) {
	case OPT_CONFIG: arg_config = arg; break;
	case OPT_JSON: arg_json = true; break;
	case OPT_REBOOT: arg_reboot = true; break;
	case OPT_NO_DELTA: arg_no_delta = true; break;
	case OPT_NO_READBACK: arg_no_readback = true; break;
	case OPT_INSTALL: arg_install = true; break;
	case OPT_CHANNEL: arg_channel = arg; break;
	case OPT_NOW: arg_now = true; break;
	}
	return 0;
}

static const struct ota_cli cli = {
	.tool = "ota-update",
	.options = options,
	.shortopts = "c:jr",
	.self = &self,
	.commands = commands,
	.n_commands = OTA_ELEMENTSOF(commands),
	.set = set_option,
};

/* One --json event: a line of JSON on stdout, flushed so that a reader
 * sees progress as it happens. Takes o. */
static void emit(json_object *o)
{
	printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	fflush(stdout);
	json_object_put(o);
}

/* A new event object {"event": name}. */
static json_object *event(const char *name)
{
	json_object *o = json_object_new_object();
	json_object_object_add(o, "event", json_object_new_string(name));
	return o;
}

static void add_str(json_object *o, const char *key, const char *v)
{
	json_object_object_add(o, key, json_object_new_string(v ? v : ""));
}

static void add_u64(json_object *o, const char *key, uint64_t v)
{
	json_object_object_add(o, key, json_object_new_uint64(v));
}

/* Prints err once; its reason picks the exit status (docs/cli.md). */
static int fail(const struct ota_error *err)
{
	(void)ota_cli_fail(err);
	if (arg_json) {
		json_object *o = event("error");
		json_object_object_add(o, "code", json_object_new_int(err->code));
		add_str(o, "reason", ota_error_reason_to_string(err->reason));
		add_str(o, "message", err->msg);
		emit(o);
	}
	return ota_error_exit_status(err);
}

static void progress(void *userdata, const struct ota_update_progress *p)
{
	unsigned percent = p->total ? (unsigned)(p->done * 100 / p->total) : 100;
	if (p->message) {
		log_warning("%s", p->message);
		if (arg_json) {
			json_object *o = event("warning");
			add_str(o, "message", p->message);
			emit(o);
		}
		return;
	}
	if (arg_json) {
		json_object *o = event("progress");
		add_str(o, "stage", ota_update_stage_to_string(p->stage));
		if (p->slot) {
			add_u64(o, "payload", p->payload);
			add_u64(o, "payloads", p->n_payloads);
			add_str(o, "class", p->slot_class);
			add_str(o, "slot", p->slot);
			add_u64(o, "done", p->done);
			add_u64(o, "total", p->total);
			add_u64(o, "percent", percent);
		}
		emit(o);
		return;
	}
	if (!p->slot) {
		fprintf(stderr, "%s\n", ota_update_stage_to_string(p->stage));
		return;
	}
	if (p->stage == OTA_STAGE_INDEX || p->stage == OTA_STAGE_INDEX_LOADED || p->stage == OTA_STAGE_INDEX_MOVES) {
		fprintf(stderr, "%s: %s\n", p->slot_class,
			p->stage == OTA_STAGE_INDEX_LOADED  ? "using the active slot's saved chunk index"
			: p->stage == OTA_STAGE_INDEX_MOVES ? "the active slot holds a release the bundle knows: using its moves"
							    : "indexing the active slot for reusable chunks");
		return;
	}
	if (p->stage == OTA_STAGE_RESUME) {
		fprintf(stderr, "[%u/%u] %s -> %s: resuming an interrupted install of this bundle at %" PRIu64
			" of %" PRIu64 " bytes (written chunks are compared, not trusted)\n",
			p->payload, p->n_payloads, p->slot_class, p->slot, p->done, p->total);
		return;
	}
	if (p->stage == OTA_STAGE_WRITE && arg_tty) {
		char bar[41];
		unsigned filled = percent * 40 / 100;
		for (unsigned i = 0; i < 40; i++)
			bar[i] = i < filled ? '#' : '.';
		bar[40] = '\0';
		fprintf(stderr, "\r[%u/%u] %s -> %s [%s] %3u%%", p->payload, p->n_payloads, p->slot_class, p->slot,
			bar, percent);
		return;
	}
	if (p->stage == OTA_STAGE_WRITE) {
		if (p->done == 0)
			fprintf(stderr, "[%u/%u] writing %s -> %s (%" PRIu64 " bytes)\n", p->payload, p->n_payloads,
				p->slot_class, p->slot, p->total);
		return;
	}
	fprintf(stderr, "%s[%u/%u] %s -> %s: %s, image hash checked\n", arg_tty ? "\n" : "", p->payload,
		p->n_payloads, p->slot_class, p->slot, ota_update_stage_to_string(p->stage));
}

static int cmd_install(const struct ota_update_config *c, const char *source)
{
	struct ota_error err = { 0 };
	struct ota_update_install_opts o = { .source = source, .progress = progress, .no_delta = arg_no_delta,
					     .no_readback = arg_no_readback };
	struct ota_update_result res;
	if (ota_update_install(c, &o, &res, &err) < 0)
		return fail(&err);
	if (arg_json) {
		json_object *ev = event("done");
		add_str(ev, "group", res.group);
		add_str(ev, "version", res.version);
		add_u64(ev, "image_bytes", res.image_bytes);
		add_u64(ev, "bundle_bytes", res.bundle_bytes);
		add_u64(ev, "downloaded", res.downloaded);
		json_object_object_add(ev, "delta", json_object_new_boolean(res.delta));
		add_u64(ev, "reused_spare", res.reused_spare);
		add_u64(ev, "reused_active", res.reused_active);
		add_u64(ev, "patched", res.patched);
		add_u64(ev, "zero_chunks", res.zero_chunks);
		add_str(ev, "reused_from", res.reused_from);
		add_u64(ev, "resumed_at", res.resumed_at);
		add_u64(ev, "resumed", res.resumed);
		add_u64(ev, "zeroed", res.zeroed);
		json_object_object_add(ev, "read_back", json_object_new_boolean(res.read_back));
		add_u64(ev, "readback_bytes", res.readback_bytes);
		add_u64(ev, "readback_early", res.readback_early);
		add_u64(ev, "readback_ms", res.readback_ms);
		add_u64(ev, "elapsed_ms", res.elapsed_ms);
		emit(ev);
	} else {
		printf("installed %s into group %s and armed a trial boot (%" PRIu64 " image bytes written%s)\n",
		       res.version, res.group, res.image_bytes, res.downloaded ? ", see downloaded" : "");
	}
	if (!arg_json && res.read_back && res.readback_bytes)
		printf("read back %" PRIu64 " bytes from the medium (%" PRIu64 " while writing), then %.2f s after the last "
		       "fsync (%u%% of the install's %.2f s)\n",
		       res.readback_bytes, res.readback_early, (double)res.readback_ms / 1000.0,
		       res.elapsed_ms ? (unsigned)(res.readback_ms * 100 / res.elapsed_ms) : 0, (double)res.elapsed_ms / 1000.0);
	else if (!arg_json && !res.read_back)
		printf("not read back (--no-read-back): each chunk was verified before it was written\n");
	if (res.resumed_at && !arg_json)
		printf("resumed an interrupted install: %" PRIu64 " of %" PRIu64 " checkpointed bytes were already in place\n",
		       res.resumed, res.resumed_at);
	if (res.downloaded && !arg_json) {
		double mib = 1024.0 * 1024.0;
		unsigned pct = res.bundle_bytes ? (unsigned)(res.downloaded * 100 / res.bundle_bytes) : 100;
		printf("downloaded %.1f MiB of %.1f MiB (%u%%)", (double)res.downloaded / mib,
		       (double)res.bundle_bytes / mib, pct);
		if (!res.delta)
			printf(", full download");
		if (res.reused_spare)
			printf(", %.1f MiB already in place in the spare", (double)res.reused_spare / mib);
		if (res.reused_active)
			printf(", reused %.1f MiB from slot %s", (double)res.reused_active / mib, res.reused_from);
		if (res.patched)
			printf(", %.1f MiB made from patches", (double)res.patched / mib);
		if (res.zero_chunks)
			printf(", %.1f MiB of zeros", (double)res.zero_chunks / mib);
		printf(" [%" PRIu64 " of %" PRIu64 " bundle bytes]\n", res.downloaded, res.bundle_bytes);
	}
	fflush(stdout);
	if (arg_reboot && ota_update_reboot(c, &err) < 0)
		return fail(&err);
	return 0;
}

static void print_report(int r, const struct ota_fleet_report *rep)
{
	if (arg_json) {
		json_object *o = event("report");
		add_str(o, "result", r == 2 ? "delivered" : r == 1 ? "pending" : "none");
		if (r == 2) {
			add_str(o, "backend", ota_fleet_backend_to_string(rep->backend));
			add_str(o, "outcome", ota_fleet_outcome_to_string(rep->outcome));
			add_str(o, "action", rep->action);
			add_str(o, "version", rep->version);
			add_str(o, "reason", rep->reason);
		}
		emit(o);
	} else if (r == 2) {
		/* Under systemd this line is the journal's record of the outcome
		 * (Memfault has no feedback endpoint; docs/fleet.md). */
		log_notice("update outcome: %s%s%s, version %s: %s (delivered to %s)",
			   ota_fleet_outcome_to_string(rep->outcome), rep->action[0] ? ", action " : "", rep->action,
			   rep->version, rep->reason, ota_fleet_backend_to_string(rep->backend));
	} else if (r == 1) {
		printf("the trial of the last fleet update is not over yet: nothing to report\n");
	} else {
		printf("no fleet update outcome to report\n");
	}
	fflush(stdout);
}

/* After a commit or rollback the outcome goes out at once if it can;
 * otherwise ota-update-report.timer or the next check delivers it. */
static void report_after(const struct ota_update_config *c)
{
	struct ota_error err = { 0 };
	struct ota_fleet_report rep;
	int r = ota_fleet_report(c, &rep, &err);
	if (r < 0)
		log_warning("%s; kept, and sent by the next 'ota-update report' or check", err.msg);
	else if (r == 2)
		print_report(r, &rep);
}

static int cmd_report(const struct ota_update_config *c)
{
	struct ota_error err = { 0 };
	struct ota_fleet_report rep;
	int r = ota_fleet_report(c, &rep, &err);
	if (r < 0) {
		ota_error_prefix(&err, "outcome not delivered (kept for the next try): ");
		return fail(&err);
	}
	print_report(r, &rep);
	return 0;
}

static int cmd_commit(const struct ota_update_config *c)
{
	struct ota_error err = { 0 };
	int r = ota_update_commit(c, &err);
	if (r < 0)
		return fail(&err);
	printf(r == 1 ? "nothing to commit: the booted group is already the default\n" : "committed\n");
	fflush(stdout);
	report_after(c);
	return 0;
}

static int cmd_rollback(const struct ota_update_config *c)
{
	struct ota_error err = { 0 };
	char group[OTA_BOOTFLOW_NAME_MAX];
	if (ota_update_rollback(c, group, &err) < 0)
		return fail(&err);
	printf("group %s marked bad\n", group);
	fflush(stdout);
	char reason[160];
	(void)snprintf(reason, sizeof(reason), "group %s was rolled back with 'ota-update rollback' (marked bad)", group);
	if (ota_fleet_decide(c, OTA_FLEET_FAILURE, reason, &err) < 0)
		log_warning("%s", err.msg);
	else
		report_after(c);
	if (arg_reboot && ota_update_reboot(c, &err) < 0)
		return fail(&err);
	return 0;
}

static int cmd_status(const struct ota_update_config *c)
{
	struct ota_error err = { 0 };
	struct ota_update_status s;
	if (ota_update_status_get(c, &s, &err) < 0)
		return fail(&err);
	if (s.warning.code)
		log_warning("%s", s.warning.msg);
	if (arg_json) {
		char *text = NULL;
		int r = ota_update_status_to_json(c, &s, &text);
		ota_update_status_done(&s);
		if (r < 0) {
			log_error("status: out of memory");
			return 1;
		}
		printf("%s\n", text);
		free(text);
		return 0;
	}
	printf("booted:  %s\ndefault: %s\ntrial:   %s", s.boot.booted, s.boot.default_group,
	       ota_trial_state_to_string(s.boot.trial_state));
	if (s.boot.trial[0])
		printf(" (group %s, %u tries left)", s.boot.trial, s.boot.tries_left);
	printf("\n\n%-16s %-10s %-6s %-11s %-12s %-19s %s\n", "SLOT", "CLASS", "GROUP", "STATE", "VERSION",
	       "INSTALLED", "SHA256");
	for (size_t i = 0; i < s.n_slots; i++) {
		const struct ota_update_slot_status *ss = &s.slots[i];
		char when[32] = "-";
		if (ss->rec.installed) {
			time_t t = (time_t)ss->rec.installed;
			struct tm tm;
			if (gmtime_r(&t, &tm))
				(void)strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
		}
		printf("%-16s %-10s %-6s %-11s %-12s %-19s %.16s%s\n", ss->slot->name, ss->slot->slot_class,
		       ss->slot->group, ss->rec.state != OTA_SLOT_NONE ? ota_slot_state_to_string(ss->rec.state) : "-",
		       ss->rec.version[0] ? ss->rec.version : "-", when, ss->rec.sha256[0] ? ss->rec.sha256 : "-",
		       ss->booted ? "  (booted)" : "");
	}
	ota_update_status_done(&s);
	return 0;
}

/* The spare group already holds `version`, installed and armed for the next
 * boot (an earlier check installed it and no reboot happened since). */
static bool already_armed(const struct ota_update_config *c, const char *version)
{
	struct ota_error err = { 0 };
	struct ota_update_status s;
	if (ota_update_status_get(c, &s, &err) < 0)
		return false;
	bool armed = s.boot.trial_state == OTA_TRIAL_ARMED && s.boot.trial[0];
	size_t n = 0;
	for (size_t i = 0; armed && i < s.n_slots; i++) {
		const struct ota_update_slot_status *ss = &s.slots[i];
		if (!ota_streq(ss->slot->group, s.boot.trial))
			continue;
		n++;
		if (ss->rec.state != OTA_SLOT_INSTALLED || strcmp(ss->rec.version, version) != 0)
			armed = false;
	}
	ota_update_status_done(&s);
	return armed && n > 0;
}

static void print_check(const char *result, const struct ota_update_config *c, const struct ota_channel *ch)
{
	if (arg_json) {
		json_object *o = event("check");
		add_str(o, "result", result);
		add_str(o, "running", c->version);
		add_str(o, "latest", ch->version);
		add_str(o, "bundle", ch->bundle);
		emit(o);
	} else if (strcmp(result, "up-to-date") == 0)
		printf("up to date: running %s, the channel offers %s\n", c->version, ch->version);
	else if (strcmp(result, "available") == 0)
		printf("update available: %s -> %s (%s)\n", c->version, ch->version, ch->bundle);
	else
		printf("%s is already installed and armed: it runs after the next reboot\n", ch->version);
	fflush(stdout);
}

static int cmd_check_fleet(const struct ota_update_config *c)
{
	struct ota_error err = { 0 };
	struct ota_fleet_check_opts o = { .install = arg_install, .no_delta = arg_no_delta, .now = arg_now,
					  .progress = progress };
	struct ota_fleet_check_result res;
	if (ota_fleet_check(c, &o, &res, &err) < 0)
		return fail(&err);
	const char *result = ota_fleet_result_to_string(res.result);
	if (arg_json) {
		json_object *ev = event("check");
		add_str(ev, "result", result);
		add_str(ev, "server", c->channel);
		add_str(ev, "running", c->version);
		add_str(ev, "bundle", res.bundle);
		add_str(ev, "action", res.action);
		add_u64(ev, "poll", res.poll_s);
		if (res.result == OTA_FLEET_NOT_DUE)
			add_u64(ev, "due", res.poll_due_s);
		if (res.result == OTA_FLEET_INSTALLED) {
			add_str(ev, "group", res.install.group);
			add_str(ev, "version", res.install.version);
			add_u64(ev, "downloaded", res.install.downloaded);
			add_u64(ev, "reasked", res.reasked);
		}
		emit(ev);
	} else {
		switch (res.result) {
		case OTA_FLEET_UP_TO_DATE: printf("up to date: %s offers nothing newer than %s\n", c->channel, c->version); break;
		case OTA_FLEET_AVAILABLE: printf("update available from %s: %s\n", c->channel, res.bundle); break;
		case OTA_FLEET_ARMED: printf("the offered update is already installed and armed: it runs after the next reboot\n"); break;
		case OTA_FLEET_CANCELED: printf("%s canceled action %s\n", c->channel, res.action); break;
		case OTA_FLEET_DEFERRED: printf("action %s: %s says not to install it now\n", res.action, c->channel); break;
		case OTA_FLEET_NOT_DUE:
			printf("not polling %s yet: the next poll is due in %u s (--now polls at once)\n", c->channel,
			       res.poll_due_s);
			break;
		default:
			printf("installed %s into group %s and armed a trial boot (%" PRIu64 " bytes downloaded)\n",
			       res.install.version, res.install.group, res.install.downloaded);
		}
		if (res.poll_s)
			printf("the server asks to be polled every %u s\n", res.poll_s);
	}
	fflush(stdout);
	if (arg_reboot && (res.result == OTA_FLEET_INSTALLED || res.result == OTA_FLEET_ARMED) && arg_install &&
	    ota_update_reboot(c, &err) < 0)
		return fail(&err);
	return 0;
}

static int cmd_check(const struct ota_update_config *c)
{
	struct ota_error err = { 0 };
	if (ota_fleet_backend_of(c->channel) != OTA_FLEET_CHANNEL)
		return cmd_check_fleet(c);
	const char *url = c->channel;
	if (!url) {
		(void)ota_error_set_because(&err, OTA_REASON_CONFIG, -EINVAL,
					    "no channel: set [update] channel in %s or pass --channel URL", arg_config);
		return fail(&err);
	}
	struct ota_channel ch = { 0 };
	if (ota_channel_fetch(c, url, &ch, &err) < 0)
		return fail(&err);
	int rc = 0;
	if (ch.compatible && strcmp(ch.compatible, c->compatible) != 0) {
		(void)ota_error_set_because(&err, OTA_REASON_INCOMPATIBLE, -EMEDIUMTYPE,
					    "channel '%s' is for '%s', this system is '%s'", url, ch.compatible,
					    c->compatible);
		rc = fail(&err);
	} else if (ota_version_compare(ch.version, c->version) <= 0) {
		/* Equal or older: never installed from a channel, whatever the
		 * downgrade policy says about bundles installed by hand. */
		print_check("up-to-date", c, &ch);
	} else if (!arg_install) {
		print_check("available", c, &ch);
	} else if (already_armed(c, ch.version)) {
		print_check("armed", c, &ch);
		if (arg_reboot && ota_update_reboot(c, &err) < 0)
			rc = fail(&err);
	} else {
		print_check("available", c, &ch);
		struct ota_update_install_opts o = { .source = ch.bundle, .progress = progress, .no_delta = arg_no_delta };
		struct ota_update_result res;
		if (ota_update_install(c, &o, &res, &err) < 0)
			rc = fail(&err);
		else if (strcmp(res.version, ch.version) != 0 || (ch.size && res.bundle_bytes && res.bundle_bytes != ch.size)) {
			/* The signed bundle is not what the channel announced: disarm it. */
			char group[OTA_BOOTFLOW_NAME_MAX];
			struct ota_error e2 = { 0 };
			(void)ota_error_set_because(&err, OTA_REASON_CHANNEL, -EBADMSG,
						    "bundle '%s' is version %s (%" PRIu64 " bytes), the channel announced %s (%" PRIu64
						    " bytes): trial disarmed",
						    ch.bundle, res.version, res.bundle_bytes, ch.version, ch.size);
			if (ota_update_rollback(c, group, &e2) < 0)
				ota_error_prefix(&err, "%s; and disarming failed: ", e2.msg);
			rc = fail(&err);
		} else {
			if (arg_json) {
				json_object *ev = event("done");
				add_str(ev, "group", res.group);
				add_str(ev, "version", res.version);
				add_u64(ev, "downloaded", res.downloaded);
				emit(ev);
			} else {
				printf("installed %s into group %s and armed a trial boot\n", res.version, res.group);
			}
			fflush(stdout);
			if (arg_reboot && ota_update_reboot(c, &err) < 0)
				rc = fail(&err);
		}
	}
	ota_channel_done(&ch);
	return rc;
}

int main(int argc, char **argv)
{
	struct ota_cli_args a;
	int rc = ota_cli_start(&cli, argc, argv, &a);
	if (rc != OTA_CLI_CONTINUE)
		return rc;
	arg_tty = isatty(STDERR_FILENO);

	struct ota_sysconf conf;
	ota_sysconf_init(&conf);
	struct ota_error err = { 0 };
	if (ota_sysconf_load(&conf, OTA_SYSCONF_UPDATE, arg_config, &err) < 0) {
		ota_error_classify(&err, OTA_REASON_CONFIG);
		return fail(&err);
	}
	struct ota_update_config *c = &conf.update;
	if (arg_channel) {
		/* --channel: the string is the config's to free, as the file's value would be */
		char *channel = strdup(arg_channel);
		if (!channel) {
			ota_sysconf_done(&conf);
			return OTA_EXIT_FAILURE;
		}
		free((char *)c->channel);
		c->channel = channel;
	}

	switch (a.cmd - commands) {
	case CMD_INSTALL: rc = cmd_install(c, a.args[0]); break;
	case CMD_COMMIT: rc = cmd_commit(c); break;
	case CMD_ROLLBACK: rc = cmd_rollback(c); break;
	case CMD_STATUS: rc = cmd_status(c); break;
	case CMD_REPORT: rc = cmd_report(c); break;
	default: rc = cmd_check(c); break;
	}
	ota_sysconf_done(&conf);
	return rc;
}

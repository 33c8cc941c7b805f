/* SPDX-License-Identifier: Apache-2.0 */
/* ota-update: install bundles into the spare boot group, commit, roll back,
 * show status. A thin main over otaupdate (update/update.h); docs/update.md. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <string.h>
#include <time.h>

#include "update/update.h"

static const char *arg_config = OTA_UPDATE_CONF;
static bool arg_json;
static bool arg_reboot;
static bool arg_tty;
static bool arg_no_delta;
static bool arg_install;
static const char *arg_channel;

static void usage(FILE *f)
{
	fprintf(f, "usage: ota-update [--config FILE] install [--json] [--reboot] [--no-delta] BUNDLE|URL|-\n"
		   "       ota-update [--config FILE] commit\n"
		   "       ota-update [--config FILE] rollback [--reboot]\n"
		   "       ota-update [--config FILE] status [--json]\n"
		   "       ota-update [--config FILE] check [--channel URL] [--install [--reboot]] [--json]\n");
}

/* A message of ours as a JSON string: quote what JSON needs quoted. */
static void print_json_string(const char *s)
{
	putchar('"');
	for (const char *p = s; *p; p++) {
		if (*p == '"' || *p == '\\')
			printf("\\%c", *p);
		else if ((unsigned char)*p < 0x20)
			printf("\\u%04x", *p);
		else
			putchar(*p);
	}
	putchar('"');
}

static int fail(const struct ota_error *err)
{
	log_error("%s", err->msg[0] ? err->msg : "failed");
	if (arg_json) {
		printf("{\"event\":\"error\",\"code\":%d,\"message\":", err->code);
		print_json_string(err->msg);
		printf("}\n");
		fflush(stdout);
	}
	return 1;
}

static void progress(void *userdata, const struct ota_update_progress *p)
{
	unsigned percent = p->total ? (unsigned)(p->done * 100 / p->total) : 100;
	if (p->message) {
		log_warning("%s", p->message);
		if (arg_json) {
			printf("{\"event\":\"warning\",\"message\":");
			print_json_string(p->message);
			printf("}\n");
			fflush(stdout);
		}
		return;
	}
	if (arg_json) {
		printf("{\"event\":\"progress\",\"stage\":\"%s\"", p->stage);
		if (p->slot)
			printf(",\"payload\":%u,\"payloads\":%u,\"class\":\"%s\",\"slot\":\"%s\",\"done\":%" PRIu64
			       ",\"total\":%" PRIu64 ",\"percent\":%u",
			       p->payload, p->n_payloads, p->slot_class, p->slot, p->done, p->total, percent);
		printf("}\n");
		fflush(stdout);
		return;
	}
	if (!p->slot) {
		fprintf(stderr, "%s\n", p->stage);
		return;
	}
	if (strcmp(p->stage, "index") == 0 || strcmp(p->stage, "index-loaded") == 0) {
		fprintf(stderr, "%s: %s\n", p->slot_class,
			p->stage[5] ? "using the active slot's saved chunk index" : "indexing the active slot for reusable chunks");
		return;
	}
	if (strcmp(p->stage, "resume") == 0) {
		fprintf(stderr, "[%u/%u] %s -> %s: resuming an interrupted install of this bundle at %" PRIu64
			" of %" PRIu64 " bytes (written chunks are compared, not trusted)\n",
			p->payload, p->n_payloads, p->slot_class, p->slot, p->done, p->total);
		return;
	}
	if (strcmp(p->stage, "write") == 0 && arg_tty) {
		char bar[41];
		unsigned filled = percent * 40 / 100;
		for (unsigned i = 0; i < 40; i++)
			bar[i] = i < filled ? '#' : '.';
		bar[40] = '\0';
		fprintf(stderr, "\r[%u/%u] %s -> %s [%s] %3u%%", p->payload, p->n_payloads, p->slot_class, p->slot,
			bar, percent);
		return;
	}
	if (strcmp(p->stage, "write") == 0) {
		if (p->done == 0)
			fprintf(stderr, "[%u/%u] writing %s -> %s (%" PRIu64 " bytes)\n", p->payload, p->n_payloads,
				p->slot_class, p->slot, p->total);
		return;
	}
	fprintf(stderr, "%s[%u/%u] %s -> %s: %s, image hash checked\n", arg_tty ? "\n" : "", p->payload,
		p->n_payloads, p->slot_class, p->slot, p->stage);
}

static int cmd_install(const struct ota_update_config *c, const char *source)
{
	struct ota_error err = { 0 };
	struct ota_update_install_opts o = { .source = source, .progress = progress, .no_delta = arg_no_delta };
	struct ota_update_result res;
	if (ota_update_install(c, &o, &res, &err) < 0)
		return fail(&err);
	if (arg_json)
		printf("{\"event\":\"done\",\"group\":\"%s\",\"version\":\"%s\",\"image_bytes\":%" PRIu64
		       ",\"bundle_bytes\":%" PRIu64 ",\"downloaded\":%" PRIu64 ",\"delta\":%s,\"reused_spare\":%" PRIu64
		       ",\"reused_active\":%" PRIu64 ",\"reused_from\":\"%s\",\"resumed_at\":%" PRIu64
		       ",\"resumed\":%" PRIu64 "}\n",
		       res.group, res.version, res.image_bytes, res.bundle_bytes, res.downloaded,
		       res.delta ? "true" : "false", res.reused_spare, res.reused_active, res.reused_from,
		       res.resumed_at, res.resumed);
	else
		printf("installed %s into group %s and armed a trial boot (%" PRIu64 " image bytes written%s)\n",
		       res.version, res.group, res.image_bytes, res.downloaded ? ", see downloaded" : "");
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
		printf(" [%" PRIu64 " of %" PRIu64 " bundle bytes]\n", res.downloaded, res.bundle_bytes);
	}
	fflush(stdout);
	if (arg_reboot && ota_update_reboot(c, &err) < 0)
		return fail(&err);
	return 0;
}

static int cmd_commit(const struct ota_update_config *c)
{
	struct ota_error err = { 0 };
	int r = ota_update_commit(c, &err);
	if (r < 0)
		return fail(&err);
	printf(r == 1 ? "nothing to commit: the booted group is already the default\n" : "committed\n");
	return 0;
}

static int cmd_rollback(const struct ota_update_config *c)
{
	struct ota_error err = { 0 };
	char group[OTA_BOOTFLOW_NAME_MAX];
	if (ota_update_rollback(c, group, &err) < 0)
		return fail(&err);
	printf("group %s marked bad\n", group);
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
		       ss->slot->group, ss->rec.state[0] ? ss->rec.state : "-",
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
		if (strcmp(ss->rec.state, "installed") != 0 || strcmp(ss->rec.version, version) != 0)
			armed = false;
	}
	ota_update_status_done(&s);
	return armed && n > 0;
}

static void print_check(const char *result, const struct ota_update_config *c, const struct ota_channel *ch)
{
	if (arg_json)
		printf("{\"event\":\"check\",\"result\":\"%s\",\"running\":\"%s\",\"latest\":\"%s\",\"bundle\":\"%s\"}\n",
		       result, c->version, ch->version, ch->bundle);
	else if (strcmp(result, "up-to-date") == 0)
		printf("up to date: running %s, the channel offers %s\n", c->version, ch->version);
	else if (strcmp(result, "available") == 0)
		printf("update available: %s -> %s (%s)\n", c->version, ch->version, ch->bundle);
	else
		printf("%s is already installed and armed: it runs after the next reboot\n", ch->version);
	fflush(stdout);
}

static int cmd_check(const struct ota_update_config *c)
{
	struct ota_error err = { 0 };
	const char *url = arg_channel ? arg_channel : c->channel;
	if (!url) {
		(void)ota_error_set(&err, -EINVAL, "no channel: set [update] channel in %s or pass --channel URL",
				    arg_config);
		return fail(&err);
	}
	struct ota_channel ch = { 0 };
	if (ota_channel_fetch(c, url, &ch, &err) < 0)
		return fail(&err);
	int rc = 0;
	if (ch.compatible && strcmp(ch.compatible, c->compatible) != 0) {
		(void)ota_error_set(&err, -EPERM, "channel '%s' is for '%s', this system is '%s'", url, ch.compatible,
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
			(void)ota_error_set(&err, -EBADMSG,
					    "bundle '%s' is version %s (%" PRIu64 " bytes), the channel announced %s (%" PRIu64
					    " bytes): trial disarmed",
					    ch.bundle, res.version, res.bundle_bytes, ch.version, ch.size);
			if (ota_update_rollback(c, group, &e2) < 0)
				ota_error_prefix(&err, "%s; and disarming failed: ", e2.msg);
			rc = fail(&err);
		} else {
			if (arg_json)
				printf("{\"event\":\"done\",\"group\":\"%s\",\"version\":\"%s\",\"downloaded\":%" PRIu64
				       "}\n", res.group, res.version, res.downloaded);
			else
				printf("installed %s into group %s and armed a trial boot\n", res.version, res.group);
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
	enum { ARG_CONFIG = 0x100 };
	static const struct option options[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "json", no_argument, NULL, 'j' },
		{ "reboot", no_argument, NULL, 'r' },
		{ "no-delta", no_argument, NULL, 'D' },
		{ "install", no_argument, NULL, 'i' },
		{ "channel", required_argument, NULL, 'C' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	ota_log_init("ota-update", OTA_LOG_INFO);
	int ch;
	while ((ch = getopt_long(argc, argv, "+c:jrh", options, NULL)) >= 0) {
		switch (ch) {
		case 'c':
			arg_config = optarg;
			break;
		case 'j':
			arg_json = true;
			break;
		case 'r':
			arg_reboot = true;
			break;
		case 'D':
			arg_no_delta = true;
			break;
		case 'i':
			arg_install = true;
			break;
		case 'C':
			arg_channel = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	const char *cmd = argv[optind++];
	/* Options may also follow the command. */
	while ((ch = getopt_long(argc, argv, "+c:jrh", options, NULL)) >= 0) {
		if (ch == 'c')
			arg_config = optarg;
		else if (ch == 'j')
			arg_json = true;
		else if (ch == 'r')
			arg_reboot = true;
		else if (ch == 'D')
			arg_no_delta = true;
		else if (ch == 'i')
			arg_install = true;
		else if (ch == 'C')
			arg_channel = optarg;
		else {
			usage(ch == 'h' ? stdout : stderr);
			return ch == 'h' ? 0 : 2;
		}
	}
	arg_tty = isatty(STDERR_FILENO);

	struct ota_update_config c;
	ota_update_config_init(&c);
	struct ota_error err = { 0 };
	if (ota_update_config_load(&c, arg_config, &err) < 0)
		return fail(&err);

	int rc;
	if (strcmp(cmd, "install") == 0 && optind + 1 == argc)
		rc = cmd_install(&c, argv[optind]);
	else if (strcmp(cmd, "commit") == 0 && optind == argc)
		rc = cmd_commit(&c);
	else if (strcmp(cmd, "rollback") == 0 && optind == argc)
		rc = cmd_rollback(&c);
	else if (strcmp(cmd, "status") == 0 && optind == argc)
		rc = cmd_status(&c);
	else if (strcmp(cmd, "check") == 0 && optind == argc)
		rc = cmd_check(&c);
	else {
		usage(stderr);
		rc = 2;
	}
	ota_update_config_done(&c);
	return rc;
}

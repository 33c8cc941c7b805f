/* SPDX-License-Identifier: Apache-2.0 */
/* The boot-flow interface: backend lookup, argument checks, state parsing.
 * See bootflow.h. */
#include <errno.h>
#include <string.h>

#include "bootflow/bootflow-private.h"

static const struct ota_bootflow_ops *const backends[] = {
	&ota_bootflow_custom_ops,
	&ota_bootflow_grub_ops,
	&ota_bootflow_uboot_ops,
	&ota_bootflow_rpi_tryboot_ops,
};

static const char *const ota_trial_state_names[] = {
	[OTA_TRIAL_NONE] = "none",
	[OTA_TRIAL_ARMED] = "armed",
	[OTA_TRIAL_RUNNING] = "running",
	[OTA_TRIAL_FAILED] = "failed",
};

OTA_DEFINE_ENUM_TO_STRING(ota_trial_state, enum ota_trial_state, "unknown")

bool ota_bootflow_group_name_valid(const char *name)
{
	return ota_sysconf_name_valid(name);
}

int ota_bootflow_new(const struct ota_bootflow_config *cfg, struct ota_bootflow **ret, struct ota_error *err)
{
	const struct ota_bootflow_ops *ops = NULL;
	for (size_t i = 0; i < OTA_ELEMENTSOF(backends); i++)
		if (cfg->type && strcmp(cfg->type, backends[i]->name) == 0)
			ops = backends[i];
	if (!ops)
		return ota_error_set(err, -EOPNOTSUPP, "unknown boot flow '%s' (known: custom, grub, uboot, rpi-tryboot)",
				     cfg->type ? cfg->type : "");
	struct ota_bootflow *bf = calloc(1, sizeof(*bf));
	if (!bf)
		return ota_error_set(err, -ENOMEM, "out of memory");
	bf->ops = ops;
	bf->timeout_ms = cfg->timeout_ms ? cfg->timeout_ms : OTA_BOOTFLOW_DEFAULT_TIMEOUT_MS;
	int r = ota_strdup_to(&bf->executable, cfg->executable);
	for (int i = 0; i < 2 && r >= 0; i++)
		r = ota_strdup_to(&bf->groups[i], cfg->groups[i]);
	if (r >= 0)
		r = ota_strdup_to(&bf->device, cfg->device);
	if (r >= 0)
		r = ota_strdup_to(&bf->directory, cfg->directory);
	if (r >= 0)
		r = ota_strdup_to(&bf->cmdline, cfg->cmdline);
	if (r < 0) {
		ota_bootflow_free(bf);
		return ota_error_set(err, r, "out of memory");
	}
	if (ops->init) {
		bf->cfg = cfg;
		r = ops->init(bf, err);
		bf->cfg = NULL;
		if (r < 0) {
			ota_error_prefix(err, "boot flow %s: ", ops->name);
			ota_bootflow_free(bf);
			return r;
		}
	}
	*ret = bf;
	return 0;
}

struct ota_bootflow *ota_bootflow_free(struct ota_bootflow *bf)
{
	if (!bf)
		return NULL;
	free(bf->executable);
	free(bf->groups[0]);
	free(bf->groups[1]);
	free(bf->device);
	free(bf->directory);
	free(bf->cmdline);
	if (bf->free_data)
		bf->free_data(bf->data);
	free(bf);
	return NULL;
}

const char *ota_bootflow_name(const struct ota_bootflow *bf)
{
	return bf->ops->name;
}

static int check_group(const struct ota_bootflow *bf, const char *op, const char *group, struct ota_error *err)
{
	if (!ota_bootflow_group_name_valid(group))
		return ota_error_set(err, -EINVAL, "boot flow %s: %s: invalid group name '%s'", bf->ops->name, op,
				     group ? group : "");
	return 0;
}

int ota_bootflow_get_state(struct ota_bootflow *bf, struct ota_bootflow_state *ret, struct ota_error *err)
{
	struct ota_bootflow_state s = { 0 };
	int r = bf->ops->get_state(bf, &s, err);
	if (r < 0)
		return r;
	s.trial_state = ota_bootflow_trial_state(&s);
	*ret = s;
	return 0;
}

int ota_bootflow_arm(struct ota_bootflow *bf, const char *group, unsigned tries, struct ota_error *err)
{
	int r = check_group(bf, "arm", group, err);
	if (r < 0)
		return r;
	if (tries < 1 || tries > OTA_BOOTFLOW_MAX_TRIES)
		return ota_error_set(err, -ERANGE, "boot flow %s: arm %s: tries %u not in 1..%u", bf->ops->name,
				     group, tries, OTA_BOOTFLOW_MAX_TRIES);
	return bf->ops->arm(bf, group, tries, err);
}

int ota_bootflow_commit(struct ota_bootflow *bf, const char *group, struct ota_error *err)
{
	int r = check_group(bf, "commit", group, err);
	return r < 0 ? r : bf->ops->commit(bf, group, err);
}

int ota_bootflow_mark_bad(struct ota_bootflow *bf, const char *group, struct ota_error *err)
{
	int r = check_group(bf, "mark-bad", group, err);
	return r < 0 ? r : bf->ops->mark_bad(bf, group, err);
}

int ota_bootflow_reboot(struct ota_bootflow *bf, struct ota_error *err)
{
	return bf->ops->reboot(bf, err);
}

enum ota_trial_state ota_bootflow_trial_state(const struct ota_bootflow_state *s)
{
	if (!s->trial[0])
		return OTA_TRIAL_NONE;
	if (strcmp(s->trial, s->booted) == 0)
		return strcmp(s->booted, s->default_group) == 0 ? OTA_TRIAL_NONE : OTA_TRIAL_RUNNING;
	/* A trial that is not running and has no tries left will never run:
	 * the bootloader used them up and fell back to the default. */
	return s->tries_left == 0 ? OTA_TRIAL_FAILED : OTA_TRIAL_ARMED;
}

/* ---- get-state output ---------------------------------------------------- */

#define STATE_MAX_LINES 64u

static int set_name(char *dst, bool *seen, const char *key, const char *value, bool may_be_empty,
		    unsigned line, struct ota_error *err)
{
	if (*seen)
		return ota_error_set(err, -EINVAL, "line %u: '%s' given twice", line, key);
	*seen = true;
	if (!value[0] && may_be_empty) {
		dst[0] = '\0';
		return 0;
	}
	if (!ota_bootflow_group_name_valid(value))
		return ota_error_set(err, -EINVAL, "line %u: %s: invalid group name '%.64s'", line, key, value);
	strcpy(dst, value); /* length checked by the validation */
	return 0;
}

int ota_bootflow_parse_state(const char *text, struct ota_bootflow_state *ret, struct ota_error *err)
{
	struct ota_bootflow_state s = { 0 };
	bool seen_booted = false, seen_default = false, seen_trial = false, seen_tries = false;
	unsigned line = 0;
	const char *p = text;
	while (*p) {
		line++;
		if (line > STATE_MAX_LINES)
			return ota_error_set(err, -E2BIG, "more than %u lines", STATE_MAX_LINES);
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		char buf[256];
		if (len >= sizeof(buf))
			return ota_error_set(err, -EINVAL, "line %u is too long", line);
		memcpy(buf, p, len);
		buf[len] = '\0';
		p += len + (nl ? 1 : 0);
		if (len && buf[len - 1] == '\r')
			buf[--len] = '\0';
		if (!buf[0] || buf[0] == '#')
			continue;
		char *eq = strchr(buf, '=');
		if (!eq)
			return ota_error_set(err, -EINVAL, "line %u: expected key=value, got '%s'", line, buf);
		*eq = '\0';
		const char *key = buf, *value = eq + 1;
		int r = 0;
		if (strcmp(key, "booted") == 0)
			r = set_name(s.booted, &seen_booted, key, value, false, line, err);
		else if (strcmp(key, "default") == 0)
			r = set_name(s.default_group, &seen_default, key, value, false, line, err);
		else if (strcmp(key, "trial") == 0)
			r = set_name(s.trial, &seen_trial, key, value, true, line, err);
		else if (strcmp(key, "tries") == 0) {
			uint64_t n;
			if (seen_tries)
				return ota_error_set(err, -EINVAL, "line %u: 'tries' given twice", line);
			seen_tries = true;
			if (ota_parse_u64(value, &n) < 0 || n > OTA_BOOTFLOW_MAX_TRIES)
				return ota_error_set(err, -EINVAL, "line %u: tries: '%.32s' is not a number in 0..%u",
						     line, value, OTA_BOOTFLOW_MAX_TRIES);
			s.tries_left = (unsigned)n;
		}
		/* other keys: ignored, for later protocol versions */
		if (r < 0)
			return r;
	}
	if (!seen_booted)
		return ota_error_set(err, -EINVAL, "no 'booted=' line");
	if (!seen_default)
		return ota_error_set(err, -EINVAL, "no 'default=' line");
	if (s.trial[0] && !seen_tries)
		return ota_error_set(err, -EINVAL, "'trial=%s' without 'tries='", s.trial);
	if (!s.trial[0])
		s.tries_left = 0;
	s.trial_state = ota_bootflow_trial_state(&s);
	*ret = s;
	return 0;
}

/* SPDX-License-Identifier: Apache-2.0 */
/* /etc/ota/system.conf. See docs/configuration.md.
 *
 * Unknown sections and keys are errors: a typo in a key would otherwise be a
 * setting silently not applied. The sections of ota-update ([system],
 * [update], [bootflow], [slot.*], [group.*]; update/config.c checks them)
 * are skipped here. A config error never stops a boot; ota-init
 * records it and boots with the defaults. */
#include <errno.h>
#include <string.h>

#include "init/init.h"

struct parse_state {
	struct ota_system_config *c;
	struct ota_error *err;
	int r;
	int error_line;     /* line of the handler's first error */
};

static int set_device_spec(char **field, const char *value, struct parse_state *s)
{
	if (strcmp(value, "auto") == 0)
		return ota_strdup_to(field, NULL);
	if (!ota_startswith(value, "/dev/") && !strchr(value, '='))
		return ota_error_set(s->err, -EINVAL,
				     "[data] device: '%s' is not auto, /dev/..., PARTUUID=, PARTLABEL=, "
				     "UUID= or LABEL=", value);
	return ota_strdup_to(field, value);
}

static int handle_data(struct parse_state *s, const char *key, const char *value)
{
	struct ota_system_config *c = s->c;
	if (strcmp(key, "device") == 0)
		return set_device_spec(&c->data_device, value, s);
	if (strcmp(key, "fstype") == 0)
		return ota_strdup_to(&c->data_fstype, strcmp(value, "auto") == 0 ? NULL : value);
	if (strcmp(key, "options") == 0)
		return ota_strdup_to(&c->data_options, value);
	return ota_error_set(s->err, -EINVAL, "unknown key '%s' in section [data]", key);
}

static int handle_init(struct parse_state *s, const char *key, const char *value)
{
	if (strcmp(key, "trial-watchdog") == 0) {
		uint64_t v;
		if (ota_parse_u64(value, &v) < 0 || v > 3600)
			return ota_error_set(s->err, -EINVAL, "[init] trial-watchdog: '%s' is not 0..3600 seconds",
					     value);
		s->c->trial_watchdog_s = (unsigned)v;
		return 0;
	}
	if (strcmp(key, "path") != 0)
		return ota_error_set(s->err, -EINVAL, "unknown key '%s' in section [init]",
				     key);
	if (value[0] != '/')
		return ota_error_set(s->err, -EINVAL, "[init] path: '%s' is not an absolute path", value);
	return ota_strdup_to(&s->c->init, value);
}

static bool is_update_section(const char *section)
{
	return strcmp(section, "system") == 0 || strcmp(section, "update") == 0 || strcmp(section, "bootflow") == 0 ||
	       (ota_startswith(section, "slot.") && section[5]) || (ota_startswith(section, "group.") && section[6]);
}

static int on_entry(void *user, const char *section, const char *key, const char *value, int line)
{
	struct parse_state *s = user;
	int r;
	if (s->r < 0)
		return 0;
	if (strcmp(section, "data") == 0)
		r = handle_data(s, key, value);
	else if (strcmp(section, "init") == 0)
		r = handle_init(s, key, value);
	else if (is_update_section(section))
		r = 0;
	else if (!section[0])
		r = ota_error_set(s->err, -EINVAL, "key '%s' outside of any section", key);
	else
		r = ota_error_set(s->err, -EINVAL, "unknown section [%s]", section);
	if (r == -ENOMEM)
		ota_error_set(s->err, r, "out of memory");
	if (r < 0) {
		s->r = r;
		s->error_line = line;
		return 1;
	}
	return 0;
}

void ota_system_config_init(struct ota_system_config *c)
{
	*c = (struct ota_system_config){ .trial_watchdog_s = OTA_TRIAL_WATCHDOG_DEFAULT_S };
}

void ota_system_config_done(struct ota_system_config *c)
{
	free(c->data_device);
	free(c->data_fstype);
	free(c->data_options);
	free(c->init);
	ota_system_config_init(c);
}

int ota_system_config_parse(struct ota_system_config *c, const char *text, const char *name,
			    struct ota_error *err)
{
	struct ota_system_config parsed;
	ota_system_config_init(&parsed);
	struct parse_state s = { .c = &parsed, .err = err };

	int line = ota_ini_parse_text(text, on_entry, NULL, &s, err);
	if (line > 0 && (s.r == 0 || line < s.error_line)) {
		s.r = -EINVAL; /* err holds the reason */
		s.error_line = line;
	}
	if (s.r < 0)
		ota_error_prefix(err, "%s:%d: ", name, s.error_line);
	if (s.r < 0) {
		ota_system_config_done(&parsed);
		return s.r;
	}
	ota_system_config_done(c);
	*c = parsed;
	return 0;
}

int ota_system_config_load(struct ota_system_config *c, const char *path, struct ota_error *err)
{
	_cleanup_free_ char *text = NULL;
	int r = ota_read_config_file(path, &text, err);
	if (r < 0)
		return r;
	return ota_system_config_parse(c, text, path, err);
}

/* /etc/ota/system.conf, read with inih. See docs/configuration.md.
 *
 * Unknown sections and keys are errors: a typo in a key would otherwise be a
 * setting silently not applied. A config error never stops a boot; ota-init
 * records it and boots with the defaults. */
#include <errno.h>
#include <ini.h>
#include <string.h>

#include "init/init.h"

struct parse_state {
	struct ota_system_config *c;
	struct ota_error *err;
	int r;
	const char *next;   /* unread text */
	int line;           /* line the handler is called for */
	int error_line;     /* line of the handler's first error */
};

/* An fgets() over the text, so the handler knows its line number (Debian's
 * inih is built without INI_HANDLER_LINENO). */
static char *read_line(char *str, int num, void *stream)
{
	struct parse_state *s = stream;
	if (!*s->next || num < 2)
		return NULL;
	size_t n = strcspn(s->next, "\n");
	if (s->next[n] == '\n')
		n++;
	size_t room = (size_t)num - 1;
	size_t take = n < room ? n : room;
	memcpy(str, s->next, take);
	str[take] = '\0';
	s->next += take;
	if (take && str[take - 1] == '\n')
		s->line++;
	else if (!*s->next)
		s->line++;
	return str;
}

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

static int handle_overlay(struct parse_state *s, const char *key, const char *value)
{
	if (strcmp(key, "mode") != 0)
		return ota_error_set(s->err, -EINVAL, "unknown key '%s' in section [overlay]", key);
	enum ota_overlay_mode m = ota_overlay_mode_from_string(value);
	if (m == OTA_OVERLAY_MODE_INVALID)
		return ota_error_set(s->err, -EINVAL,
				     "[overlay] mode: '%s' is not one of discard, in-memory, persist, disabled",
				     value);
	s->c->overlay = m;
	return 0;
}

static int handle_init(struct parse_state *s, const char *key, const char *value)
{
	if (strcmp(key, "path") != 0)
		return ota_error_set(s->err, -EINVAL, "unknown key '%s' in section [init]",
				     key);
	if (value[0] != '/')
		return ota_error_set(s->err, -EINVAL, "[init] path: '%s' is not an absolute path", value);
	return ota_strdup_to(&s->c->init, value);
}

static int on_entry(void *user, const char *section, const char *key, const char *value)
{
	struct parse_state *s = user;
	int r;
	if (s->r < 0)
		return 0;
	if (!key) /* a new section (INI_CALL_HANDLER_ON_NEW_SECTION builds) */
		return 1;
	if (strcmp(section, "data") == 0)
		r = handle_data(s, key, value);
	else if (strcmp(section, "overlay") == 0)
		r = handle_overlay(s, key, value);
	else if (strcmp(section, "init") == 0)
		r = handle_init(s, key, value);
	else if (!section[0])
		r = ota_error_set(s->err, -EINVAL, "key '%s' outside of any section", key);
	else
		r = ota_error_set(s->err, -EINVAL, "unknown section [%s]", section);
	if (r == -ENOMEM)
		ota_error_set(s->err, r, "out of memory");
	if (r < 0) {
		s->r = r;
		s->error_line = s->line;
		return 0;
	}
	return 1;
}

void ota_system_config_init(struct ota_system_config *c)
{
	*c = (struct ota_system_config){ .overlay = OTA_OVERLAY_DISCARD };
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
	struct parse_state s = { .c = &parsed, .err = err, .next = text };

	/* inih returns the line of the first error, the handler's or its own. */
	int line = ini_parse_stream(read_line, &s, on_entry, &s);
	if (line > 0 && (s.r == 0 || line < s.error_line)) {
		s.r = ota_error_set(err, -EINVAL, "syntax error (expected [section] or key = value)");
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
	size_t size = 0;
	int r = ota_read_file(path, OTA_SYSTEM_CONF_MAX, &text, &size, err);
	if (r < 0)
		return r;
	if (strlen(text) != size)
		return ota_error_set(err, -EINVAL, "%s: not a text file", path);
	return ota_system_config_parse(c, text, path, err);
}

/* SPDX-License-Identifier: Apache-2.0 */
/* Kernel command line parsing. The quoting rules follow the kernel's own
 * next_arg() (lib/cmdline.c): whitespace separates parameters, double quotes
 * group and are dropped, and "--" hands the rest to init. */
#include <errno.h>
#include <string.h>

#include "init/init.h"

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Copies the next parameter (quotes removed) into buf; returns the position
 * after it, or NULL at the end of the line. */
static const char *next_param(const char *p, char *buf, size_t size)
{
	while (*p && is_space(*p))
		p++;
	if (!*p)
		return NULL;
	bool quoted = false;
	size_t n = 0;
	for (; *p && (quoted || !is_space(*p)); p++) {
		if (*p == '"') {
			quoted = !quoted;
			continue;
		}
		if (n + 1 < size)
			buf[n++] = *p;
	}
	buf[n] = '\0';
	return p;
}

struct param_field {
	const char *key;
	size_t offset;
};

static const struct param_field string_params[] = {
	{ "root", offsetof(struct ota_cmdline, root) },
	{ "ota.init", offsetof(struct ota_cmdline, init) },
	{ "ota.slot", offsetof(struct ota_cmdline, slot) },
	{ "ota.overlay", offsetof(struct ota_cmdline, overlay) },
	{ "ota.data", offsetof(struct ota_cmdline, data) },
};

static int apply_param(struct ota_cmdline *c, const char *key, const char *value)
{
	for (size_t i = 0; i < OTA_ELEMENTSOF(string_params); i++) {
		if (strcmp(key, string_params[i].key) != 0)
			continue;
		char **field = (char **)((char *)c + string_params[i].offset);
		return ota_strdup_to(field, value ? value : "");
	}
	if (strcmp(key, "ota.debug") == 0) {
		bool on = true;
		if (value && ota_parse_bool(value, &on) < 0)
			return 0; /* unknown value: ignore, as the kernel ignores bad params */
		c->debug = on;
	}
	if (strcmp(key, "ota.trial") == 0) {
		bool on = true;
		if (value && ota_parse_bool(value, &on) < 0)
			return 0;
		c->trial = on;
	}
	return 0;
}

int ota_cmdline_parse(const char *text, struct ota_cmdline *ret, struct ota_error *err)
{
	struct ota_cmdline c = { 0 };
	char param[OTA_CMDLINE_MAX];

	if (strlen(text) >= OTA_CMDLINE_MAX)
		return ota_error_set(err, -E2BIG, "kernel command line longer than %d bytes", OTA_CMDLINE_MAX);
	for (const char *p = text; (p = next_param(p, param, sizeof(param)));) {
		if (strcmp(param, "--") == 0)
			break;
		char *eq = strchr(param, '=');
		if (eq)
			*eq = '\0';
		int r = apply_param(&c, param, eq ? eq + 1 : NULL);
		if (r < 0) {
			ota_cmdline_done(&c);
			return ota_error_set(err, r, "out of memory parsing the kernel command line");
		}
	}
	*ret = c;
	return 0;
}

void ota_cmdline_done(struct ota_cmdline *c)
{
	free(c->root);
	free(c->init);
	free(c->slot);
	free(c->overlay);
	free(c->data);
	*c = (struct ota_cmdline){ 0 };
}

/* SPDX-License-Identifier: Apache-2.0 */
/* The schema of /etc/ota/system.conf and its parser; see sysconf.h and
 * docs/configuration.md.
 *
 * To add a key: a field in its part (sysconf.h) and a row in `schema`
 * below; parsing, the default, freeing and the unknown-key check follow from
 * the row. To add a section: its rows (a new reader also gets a bit in
 * enum ota_sysconf_part). Only keys that no row type describes get a
 * setter of their own (set_*). */
#include <errno.h>
#include <string.h>

#include "sysconf/sysconf-private.h"

const char *const ota_downgrade_policy_names[] = {
	[OTA_DOWNGRADE_REFUSE] = "refuse",
	[OTA_DOWNGRADE_STRICT] = "strict",
	[OTA_DOWNGRADE_ALLOW] = "allow",
};
static const char *const check_time_names[] = {
	[OTA_CHECK_TIME_AUTO] = "auto",
	[OTA_CHECK_TIME_YES] = "yes",
	[OTA_CHECK_TIME_NO] = "no",
};
static const char *const env_mode_names[] = { "native", "file" };

enum kind {
	KIND_STRING,  /* const char *; ABSOLUTE, MAY_BE_EMPTY, AUTO_IS_NULL; choices: one of them */
	KIND_UINT,    /* unsigned, decimal, in min..max */
	KIND_U64,     /* uint64_t byte offset or size: decimal or 0x hex, in min..max */
	KIND_ENUM,    /* an enum (int-sized): the index of the value in choices */
	KIND_OTHER,   /* set stores it, ota_sysconf_free_slots frees it (partition.<group>) */
	KIND_SECTION, /* key NULL: every key of a [prefix<name>] section goes to set */
};

enum {
	ABSOLUTE = 1u << 0,      /* an absolute path */
	MAY_BE_EMPTY = 1u << 1,  /* "key =" is a value */
	AUTO_IS_NULL = 1u << 2,  /* "auto" means unset */
};

struct row {
	const char *section;  /* ending in '.': a prefix, [slot.<name>] */
	const char *key;      /* ending in '.': a prefix, partition.<group> */
	unsigned part;        /* OTA_SYSCONF_*: who reads the section */
	enum kind kind;
	size_t offset;        /* of the field in struct ota_sysconf */
	unsigned flags;
	uint64_t min, max;    /* KIND_UINT, KIND_U64 */
	unsigned scale;       /* KIND_UINT: stored times this (0: 1); seconds in the file, ms in the field */
	uint64_t def;         /* KIND_UINT, KIND_ENUM: the default */
	const char *def_str;  /* KIND_STRING: the default, set after a parse */
	const char *const *choices;
	size_t n_choices;
	/* Instead of the kind's store: keys that are more than a value. */
	int (*set)(struct sysconf_parser *p, const struct row *r, const char *section, const char *key,
		   const char *value, int line);
};

#define AT(field) offsetof(struct ota_sysconf, field)
#define STR(sec, k, who, field, flg) \
	{ .section = sec, .key = k, .part = who, .kind = KIND_STRING, .offset = AT(field), .flags = flg }
#define STR_DEF(sec, k, who, field, flg, dflt) \
	{ .section = sec, .key = k, .part = who, .kind = KIND_STRING, .offset = AT(field), .flags = flg, .def_str = dflt }
#define UINT(sec, k, who, field, lo, hi, dflt) \
	{ .section = sec, .key = k, .part = who, .kind = KIND_UINT, .offset = AT(field), .min = lo, .max = hi, .def = dflt }
/* Below 2^62, so that offset + size never overflows an off_t. */
#define U64(sec, k, who, field) \
	{ .section = sec, .key = k, .part = who, .kind = KIND_U64, .offset = AT(field), .max = UINT64_C(1) << 62 }
#define ENUM(sec, k, who, field, names) \
	{ .section = sec, .key = k, .part = who, .kind = KIND_ENUM, .offset = AT(field), .choices = names, \
	  .n_choices = OTA_ELEMENTSOF(names) }
/* A kind with a setter of its own: the setter checks more, or stores more. */
#define SET(sec, k, who, knd, field, setter) \
	{ .section = sec, .key = k, .part = who, .kind = knd, .offset = AT(field), .set = setter }
#define OTHER(sec, k, who, setter) { .section = sec, .key = k, .part = who, .kind = KIND_OTHER, .set = setter }
#define SECTION(prefix, who, setter) { .section = prefix, .part = who, .kind = KIND_SECTION, .set = setter }

enum { INIT = OTA_SYSCONF_INIT, UPDATE = OTA_SYSCONF_UPDATE };

static int set_data_device(struct sysconf_parser *p, const struct row *r, const char *section, const char *key,
			   const char *value, int line);
static int set_env_redundant_offset(struct sysconf_parser *p, const struct row *r, const char *section,
				    const char *key, const char *value, int line);
static int set_http_url(struct sysconf_parser *p, const struct row *r, const char *section, const char *key,
			const char *value, int line);
static int set_once(struct sysconf_parser *p, const struct row *r, const char *section, const char *key,
		    const char *value, int line);

/* Every section and key of system.conf. */
static const struct row schema[] = {
	/* ota-init */
	SET("data", "device", INIT, KIND_STRING, init.data_device, set_data_device),
	STR("data", "fstype", INIT, init.data_fstype, MAY_BE_EMPTY | AUTO_IS_NULL),
	STR("data", "options", INIT, init.data_options, MAY_BE_EMPTY),
	STR("init", "path", INIT, init.init, ABSOLUTE),
	UINT("init", "trial-watchdog", INIT, init.trial_watchdog_s, 0, 3600, OTA_TRIAL_WATCHDOG_DEFAULT_S),
	/* ota-update */
	STR("system", "compatible", UPDATE, update.compatible, 0),
	STR("system", "version", UPDATE, update.version, 0),
	STR("update", "keyring", UPDATE, update.keyring, ABSOLUTE),
	ENUM("update", "downgrade", UPDATE, update.downgrade, ota_downgrade_policy_names),
	STR_DEF("update", "status-file", UPDATE, update.status_file, ABSOLUTE, OTA_UPDATE_STATUS_FILE),
	STR_DEF("update", "hooks-dir", UPDATE, update.hooks_dir, ABSOLUTE, OTA_UPDATE_HOOKS_DIR),
	STR_DEF("update", "lock-file", UPDATE, update.lock_file, ABSOLUTE, OTA_UPDATE_LOCK_FILE),
	STR("update", "ca-file", UPDATE, update.ca_file, ABSOLUTE),
	STR("update", "channel", UPDATE, update.channel, 0),
	STR("update", "outcome-file", UPDATE, update.outcome_file, ABSOLUTE),
	UINT("update", "hook-timeout", UPDATE, update.hook_timeout_s, 1, 86400, OTA_UPDATE_DEFAULT_HOOK_TIMEOUT_S),
	UINT("update", "http-connect-timeout", UPDATE, update.http_connect_timeout_s, 1, 3600, 0),
	UINT("update", "http-attempts", UPDATE, update.http_attempts, 1, 100, 0),
	UINT("update", "http-min-rate", UPDATE, update.http_min_rate, 1, 1u << 30, OTA_BUNDLE_HTTP_DEFAULT_MIN_RATE),
	UINT("update", "http-stall-time", UPDATE, update.http_stall_time_s, 1, 3600, OTA_BUNDLE_HTTP_DEFAULT_STALL_S),
	UINT("update", "download-timeout", UPDATE, update.download_timeout_s, 1, 7 * 86400,
	     OTA_BUNDLE_HTTP_DEFAULT_TIMEOUT_S),
	ENUM("update", "check-time", UPDATE, update.check_time, check_time_names),
	/* The algorithm floor can only be raised (bundle.h); the upper bounds
	 * are the largest that exist. 0 stands for the floor. */
	UINT("update", "min-rsa-bits", UPDATE, update.algorithms.min_rsa_bits, OTA_BUNDLE_MIN_RSA_BITS, 16384, 0),
	UINT("update", "min-ec-bits", UPDATE, update.algorithms.min_ec_bits, OTA_BUNDLE_MIN_EC_BITS, 521, 0),
	UINT("update", "min-digest-bits", UPDATE, update.algorithms.min_digest_bits, OTA_BUNDLE_MIN_DIGEST_BITS, 512, 0),
	/* the boot flow (docs/boot-flows.md) */
	STR("bootflow", "type", UPDATE, update.bootflow.type, 0),
	STR("bootflow", "executable", UPDATE, update.bootflow.executable, ABSOLUTE),
	{ .section = "bootflow", .key = "timeout", .part = UPDATE, .kind = KIND_UINT,
	  .offset = AT(update.bootflow.timeout_ms), .min = 1, .max = 3600, .scale = 1000 },
	UINT("bootflow", "tries", UPDATE, update.tries, 1, OTA_BOOTFLOW_MAX_TRIES, OTA_UPDATE_DEFAULT_TRIES),
	STR("bootflow", "device", UPDATE, update.bootflow.device, 0),
	STR("bootflow", "directory", UPDATE, update.bootflow.directory, 0),
	STR("bootflow", "kernel-cmdline", UPDATE, update.bootflow.cmdline, ABSOLUTE),
	{ .section = "bootflow", .key = "env-mode", .part = UPDATE, .kind = KIND_STRING,
	  .offset = AT(update.bootflow.env_mode), .choices = env_mode_names, .n_choices = OTA_ELEMENTSOF(env_mode_names) },
	STR("bootflow", "env", UPDATE, update.bootflow.env, ABSOLUTE),
	STR("bootflow", "env-redundant", UPDATE, update.bootflow.env_redundant, ABSOLUTE),
	U64("bootflow", "env-offset", UPDATE, update.bootflow.env_offset),
	U64("bootflow", "env-size", UPDATE, update.bootflow.env_size),
	{ .section = "bootflow", .key = "env-redundant-offset", .part = UPDATE, .kind = KIND_U64,
	  .offset = AT(update.bootflow.env_redundant_offset), .max = UINT64_C(1) << 62, .set = set_env_redundant_offset },
	STR("bootflow", "autoboot", UPDATE, update.bootflow.autoboot, ABSOLUTE),
	STR("bootflow", "state-file", UPDATE, update.bootflow.state_file, ABSOLUTE),
	STR("bootflow", "proc", UPDATE, update.bootflow.proc, ABSOLUTE), /* tests: a fake /proc */
	OTHER("bootflow", "partition.", UPDATE, ota_sysconf_set_partition),
	/* fleet servers (docs/fleet.md); what channel = memfault | hawkbit needs: update-part.c */
	SET("memfault", "base-url", UPDATE, KIND_STRING, update.memfault.base_url, set_http_url),
	STR("memfault", "project-key-file", UPDATE, update.memfault.project_key_file, ABSOLUTE),
	STR("memfault", "hardware-version", UPDATE, update.memfault.hardware_version, 0),
	STR("memfault", "software-type", UPDATE, update.memfault.software_type, 0),
	SET("memfault", "current-version", UPDATE, KIND_STRING, update.memfault.current_version, set_once),
	/* its other name: memfaultd.conf's spelling, seen in the wild */
	SET("memfault", "software-version", UPDATE, KIND_STRING, update.memfault.current_version, set_once),
	STR("memfault", "device-serial", UPDATE, update.memfault.device_serial, 0),
	SET("hawkbit", "server", UPDATE, KIND_STRING, update.hawkbit.server, set_http_url),
	STR("hawkbit", "tenant", UPDATE, update.hawkbit.tenant, 0),
	STR("hawkbit", "controller-id", UPDATE, update.hawkbit.controller_id, 0),
	STR("hawkbit", "target-token-file", UPDATE, update.hawkbit.target_token_file, ABSOLUTE),
	STR("hawkbit", "gateway-token-file", UPDATE, update.hawkbit.gateway_token_file, ABSOLUTE),
	STR("hawkbit", "client-cert", UPDATE, update.hawkbit.client_cert, ABSOLUTE),
	STR("hawkbit", "client-key", UPDATE, update.hawkbit.client_key, ABSOLUTE),
	SECTION("slot.", UPDATE, ota_sysconf_set_slot),
	SECTION("group.", UPDATE, ota_sysconf_set_group),
};

static void *field_of(struct ota_sysconf *c, const struct row *r)
{
	return (char *)c + r->offset;
}

/* Enums are int-sized here (C11 6.7.2.2: compatible with some integer type;
 * every value of ours fits an int, and GCC and Clang make them int or
 * unsigned int). */
_Static_assert(sizeof(enum ota_downgrade_policy) == sizeof(int) && sizeof(enum ota_check_time) == sizeof(int),
	       "enums stored as int");

bool ota_sysconf_name_valid(const char *name)
{
	size_t n = name ? strlen(name) : 0;
	if (n == 0 || n >= OTA_BOOTFLOW_NAME_MAX)
		return false;
	for (const char *p = name; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '_' ||
		      *p == '-'))
			return false;
	return true;
}

int ota_sysconf_store_string(const char **field, const char *value)
{
	char *copy = NULL;
	if (value && !(copy = strdup(value)))
		return -ENOMEM;
	free((char *)*field);
	*field = copy;
	return 0;
}

/* "a, b or c" */
static void format_choices(const struct row *r, char *buf, size_t size)
{
	buf[0] = '\0';
	for (size_t i = 0; i < r->n_choices && r->choices[i]; i++) {
		bool last = i + 1 == r->n_choices || !r->choices[i + 1];
		size_t len = strlen(buf);
		(void)snprintf(buf + len, size - len, "%s%s", i == 0 ? "" : last ? " or " : ", ", r->choices[i]);
	}
}

static int choice_index(const struct row *r, const char *value, struct ota_error *err, const char *section)
{
	for (size_t i = 0; i < r->n_choices && r->choices[i]; i++)
		if (strcmp(value, r->choices[i]) == 0)
			return (int)i;
	char list[128];
	format_choices(r, list, sizeof(list));
	return ota_error_set(err, -EINVAL, "[%s] %s: '%s' is not %s", section, r->key, value, list);
}

int ota_sysconf_check_string(const char *section, const char *key, const char *value, bool absolute,
			     struct ota_error *err)
{
	if (!value[0])
		return ota_error_set(err, -EINVAL, "[%s] %s: empty value", section, key);
	if (absolute && value[0] != '/')
		return ota_error_set(err, -EINVAL, "[%s] %s: '%s' is not an absolute path", section, key, value);
	return 0;
}

int ota_sysconf_parse_uint(const char *section, const char *key, const char *value, uint64_t min, uint64_t max,
			   unsigned *ret, struct ota_error *err)
{
	uint64_t n;
	if (ota_parse_u64(value, &n) < 0 || n < min || n > max)
		return ota_error_set(err, -EINVAL, "[%s] %s: '%s' is not a number in %llu..%llu", section, key, value,
				     (unsigned long long)min, (unsigned long long)max);
	*ret = (unsigned)n;
	return 0;
}

static int store(struct sysconf_parser *p, const struct row *r, const char *section, const char *value)
{
	void *field = field_of(p->c, r);
	switch (r->kind) {
	case KIND_STRING:
		if (r->flags & AUTO_IS_NULL && strcmp(value, "auto") == 0)
			return ota_sysconf_store_string(field, NULL);
		if (r->choices && choice_index(r, value, p->err, section) < 0)
			return -EINVAL;
		if (!(r->flags & MAY_BE_EMPTY) || value[0]) {
			int e = ota_sysconf_check_string(section, r->key, value, r->flags & ABSOLUTE, p->err);
			if (e < 0)
				return e;
		}
		return ota_sysconf_store_string(field, value);
	case KIND_UINT: {
		unsigned n = 0;
		int e = ota_sysconf_parse_uint(section, r->key, value, r->min, r->max, &n, p->err);
		if (e == 0)
			*(unsigned *)field = n * (r->scale ? r->scale : 1);
		return e;
	}
	case KIND_U64: {
		uint64_t n;
		if (ota_parse_u64_or_hex(value, &n) < 0 || n < r->min || n > r->max)
			return ota_error_set(p->err, -EINVAL,
					     "[%s] %s: '%s' is not a number in 0..2^62 (decimal or 0x hex)", section,
					     r->key, value);
		memcpy(field, &n, sizeof(n));
		return 0;
	}
	case KIND_ENUM: {
		int i = choice_index(r, value, p->err, section);
		if (i >= 0)
			memcpy(field, &i, sizeof(i));
		return i < 0 ? i : 0;
	}
	case KIND_OTHER:
	case KIND_SECTION:
		break;
	}
	return -EINVAL;
}

static bool name_matches(const char *pattern, const char *name)
{
	size_t n = strlen(pattern);
	if (n && pattern[n - 1] == '.')
		return strncmp(name, pattern, n) == 0 && name[n];
	return strcmp(name, pattern) == 0;
}

/* The rows of a section (its first), NULL for a section in no part. */
static const struct row *section_rows(const char *section)
{
	for (size_t i = 0; i < OTA_ELEMENTSOF(schema); i++)
		if (name_matches(schema[i].section, section))
			return &schema[i];
	return NULL;
}

static int set_entry(struct sysconf_parser *p, const char *section, const char *key, const char *value, int line)
{
	const struct row *first = section_rows(section);
	if (!first) {
		if (!section[0])
			return ota_error_set(p->err, -EINVAL, "key '%s' outside of any section", key);
		return ota_error_set(p->err, -EINVAL, "unknown section [%s]", section);
	}
	if (!(first->part & p->parts))
		return 0; /* another program's section */
	for (const struct row *r = first; r < schema + OTA_ELEMENTSOF(schema); r++) {
		if (strcmp(r->section, first->section) != 0)
			continue;
		if (r->kind == KIND_SECTION)
			return r->set(p, r, section + strlen(r->section), key, value, line);
		if (name_matches(r->key, key))
			return r->set ? r->set(p, r, section, key, value, line) : store(p, r, section, value);
	}
	return ota_error_set(p->err, -EINVAL, "unknown key '%s' in section [%s]", key, section);
}

static int on_entry(void *user, const char *section, const char *key, const char *value, int line)
{
	struct sysconf_parser *p = user;
	if (p->r < 0)
		return 0;
	int r = set_entry(p, section, key, value, line);
	if (r == -ENOMEM)
		ota_error_set(p->err, r, "out of memory");
	if (r < 0) {
		p->r = r;
		p->error_line = line;
		return 1;
	}
	return 0;
}

/* ---- the keys that are more than a value ------------------------------------ */

static int set_data_device(struct sysconf_parser *p, const struct row *r, const char *section, const char *key,
			   const char *value, int line)
{
	const char **field = field_of(p->c, r);
	if (strcmp(value, "auto") == 0)
		return ota_sysconf_store_string(field, NULL);
	if (!ota_startswith(value, "/dev/") && !strchr(value, '='))
		return ota_error_set(p->err, -EINVAL,
				     "[data] device: '%s' is not auto, /dev/..., PARTUUID=, PARTLABEL=, "
				     "UUID= or LABEL=", value);
	return ota_sysconf_store_string(field, value);
}

static int set_env_redundant_offset(struct sysconf_parser *p, const struct row *r, const char *section,
				    const char *key, const char *value, int line)
{
	p->c->update.bootflow.env_has_redundant = true;
	return store(p, r, section, value);
}

static int set_http_url(struct sysconf_parser *p, const struct row *r, const char *section, const char *key,
			const char *value, int line)
{
	if (!ota_http_url_valid(value))
		return ota_error_set(p->err, -EINVAL, "[%s] %s: '%s' is not an http(s) URL", section, key, value);
	return store(p, r, section, value);
}

/* A key with two names (rows with the same field): one of them, once. A
 * key given twice under one name is the ini reader's error already. */
static int set_once(struct sysconf_parser *p, const struct row *r, const char *section, const char *key,
		    const char *value, int line)
{
	if (*(const char **)field_of(p->c, r)) {
		const char *other = "";
		for (size_t i = 0; i < OTA_ELEMENTSOF(schema); i++)
			if (schema[i].offset == r->offset && &schema[i] != r)
				other = schema[i].key;
		return ota_error_set(p->err, -EINVAL, "[%s] %s: the same setting as %s, given already", section, key,
				     other);
	}
	return store(p, r, section, value);
}

/* ---- the whole file ---------------------------------------------------------- */

void ota_sysconf_init(struct ota_sysconf *c)
{
	*c = (struct ota_sysconf){ 0 };
	for (size_t i = 0; i < OTA_ELEMENTSOF(schema); i++) {
		const struct row *r = &schema[i];
		if (r->kind == KIND_UINT) {
			unsigned v = (unsigned)r->def;
			memcpy(field_of(c, r), &v, sizeof(v));
		} else if (r->kind == KIND_ENUM) {
			int v = (int)r->def;
			memcpy(field_of(c, r), &v, sizeof(v));
		}
	}
}

void ota_sysconf_done(struct ota_sysconf *c)
{
	for (size_t i = 0; i < OTA_ELEMENTSOF(schema); i++)
		if (schema[i].kind == KIND_STRING) {
			/* NULL after: a field with two names has two rows */
			const char **field = field_of(c, &schema[i]);
			free((char *)*field);
			*field = NULL;
		}
	ota_sysconf_free_slots(&c->update);
	ota_sysconf_init(c);
}

/* The defaults that are strings: allocated, so set once the file is read. */
static int set_default_strings(struct sysconf_parser *p)
{
	for (size_t i = 0; i < OTA_ELEMENTSOF(schema); i++) {
		const struct row *r = &schema[i];
		const char **field = r->def_str && (r->part & p->parts) ? field_of(p->c, r) : NULL;
		if (field && !*field && ota_sysconf_store_string(field, r->def_str) < 0)
			return ota_error_set(p->err, -ENOMEM, "out of memory");
	}
	return 0;
}

int ota_sysconf_parse(struct ota_sysconf *c, unsigned parts, const char *text, const char *name,
		      struct ota_error *err)
{
	struct ota_sysconf parsed;
	ota_sysconf_init(&parsed);
	struct sysconf_parser p = { .c = &parsed, .parts = parts, .err = err };

	(void)ota_ini_first_error(ota_ini_parse_text(text, on_entry, NULL, &p, err), &p.r, &p.error_line);
	if (p.r == 0 && (parts & OTA_SYSCONF_UPDATE))
		p.r = ota_sysconf_check_update(&p);
	if (p.r == 0)
		p.r = set_default_strings(&p);
	ota_sysconf_parser_done(&p);
	if (p.r < 0) {
		ota_ini_error_at(err, name, p.error_line);
		ota_sysconf_done(&parsed);
		return p.r;
	}
	ota_sysconf_done(c);
	*c = parsed;
	return 0;
}

int ota_sysconf_load(struct ota_sysconf *c, unsigned parts, const char *path, struct ota_error *err)
{
	_cleanup_free_ char *text = NULL;
	int r = ota_read_config_file(path, &text, err);
	if (r < 0)
		return r;
	return ota_sysconf_parse(c, parts, text, path, err);
}

const char *ota_sysconf_key_name(size_t i, char *buf, size_t size)
{
	if (i >= OTA_ELEMENTSOF(schema))
		return NULL;
	const struct row *r = &schema[i];
	const char *key = r->key ? r->key : "";
	bool named_section = r->section[strlen(r->section) - 1] == '.';
	bool named_key = key[0] && key[strlen(key) - 1] == '.';
	if (ota_format(buf, size, "[%s%s]%s%s%s", r->section, named_section ? "<name>" : "", key[0] ? " " : "", key,
		       named_key ? "<group>" : "") < 0)
		return NULL;
	return buf;
}

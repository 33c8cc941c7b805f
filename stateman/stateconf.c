/* SPDX-License-Identifier: Apache-2.0 */
/* State configuration: /etc/ota/state.conf, the state.d drop-ins and the
 * runtime entries on the data partition. See docs/state.md for the format
 * and merge rules. */
#include <errno.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>

#include "stateman/stateman.h"

static const char *const api_dirs[] = { "/proc", "/sys", "/dev", "/run" };

bool ota_path_is_inside(const char *a, const char *b)
{
	size_t n = strlen(b);
	if (strcmp(b, "/") == 0)
		return true;
	return strncmp(a, b, n) == 0 && (a[n] == '\0' || a[n] == '/');
}

/* The syntax every state file can carry: absolute, canonical, no control
 * character (a newline ends a line; the rest has no business in a path and
 * would garble the console, the kernel log and /run/ota/status), no ']'
 * (it ends a [persist PATH] section), and a length that leaves
 * room for the store's prefix under PATH_MAX. */
/* Messages show at most 200 bytes of a path, so the rule they name is never
 * cut off by the fixed message buffer. */
static const char *cut(const char *path)
{
	return strlen(path) > 200 ? "..." : "";
}

static int check_syntax(const char *path, char *out, size_t size, struct ota_error *err)
{
	size_t used = 0;
	if (!path || !*path)
		return ota_error_set(err, -EINVAL, "empty path: persisted paths must be absolute");
	if (path[0] != '/')
		return ota_error_set(err, -EINVAL, "'%.200s%s' is relative: persisted paths must be absolute", path, cut(path));
	for (const char *c = path; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			return ota_error_set(err, -EINVAL,
					     "'%.*s...' contains control character 0x%02x, which persisted paths cannot hold",
					     (int)(c - path > 200 ? 200 : c - path), path, (unsigned)(unsigned char)*c);
		else if (*c == ']')
			return ota_error_set(err, -EINVAL, "'%.200s%s' contains ']', which the state files cannot hold", path,
					     cut(path));
	for (const char *p = path; *p;) {
		while (*p == '/')
			p++;
		size_t len = strcspn(p, "/");
		if (len == 0)
			break;
		if ((len == 1 && p[0] == '.') || (len == 2 && p[0] == '.' && p[1] == '.'))
			return ota_error_set(err, -EINVAL, "'%.200s%s' contains '.' or '..': persisted paths must be canonical",
					     path, cut(path));
		if (used + len + 1 > OTA_PERSIST_PATH_MAX || used + len + 2 > size)
			return ota_error_set(err, -ENAMETOOLONG, "'%.200s...' is longer than %d bytes, the limit for "
					     "persisted paths", path, OTA_PERSIST_PATH_MAX);
		out[used++] = '/';
		memcpy(out + used, p, len);
		used += len;
		out[used] = '\0';
		p += len;
	}
	if (!used)
		return ota_error_set(err, -EINVAL, "'/' itself cannot be persisted; use overlay mode persist");
	return 0;
}

/* The areas never persisted, checked on a canonical path. */
static int check_policy(const char *norm, struct ota_error *err)
{
	if (ota_path_is_inside(norm, OTA_DATA_DIR))
		return ota_error_set(err, -EINVAL, "'%.200s%s' is inside the state store (%s)", norm, cut(norm),
				     OTA_DATA_DIR);
	for (size_t i = 0; i < OTA_ELEMENTSOF(api_dirs); i++)
		if (ota_path_is_inside(norm, api_dirs[i]))
			return ota_error_set(err, -EINVAL,
					     "'%.200s%s' is under %s: /proc, /sys, /dev and /run are never persisted",
					     norm, cut(norm), api_dirs[i]);
	return 0;
}

int ota_state_normalize_path(const char *path, char *buf, size_t size, struct ota_error *err)
{
	char out[PATH_MAX] = "";
	int r = check_syntax(path, out, sizeof(out), err);
	if (r == 0)
		r = check_policy(out, err);
	if (r == 0 && ota_format(buf, size, "%s", out) < 0)
		r = ota_error_set(err, -ENAMETOOLONG, "'%s' is too long", path);
	return r;
}

int ota_state_resolve_path(const char *root, const char *path, char *buf, size_t size, struct ota_error *err)
{
	char norm[PATH_MAX], resolved[PATH_MAX];
	int r = ota_state_normalize_path(path, norm, sizeof(norm), err);
	if (r == 0)
		r = ota_path_resolve_in_root(root, norm, resolved, sizeof(resolved), err);
	if (r < 0 || strcmp(norm, resolved) == 0)
		return r < 0 ? r : ota_format(buf, size, "%s", norm) < 0 ? -ENAMETOOLONG : 0;
	/* The rules apply to where the path leads, not to how it is spelt. */
	r = ota_state_normalize_path(resolved, buf, size, err);
	if (r < 0)
		ota_error_prefix(err, "'%.200s%s' resolves through a symlink: ", norm, cut(norm));
	return r;
}
/* ---- entries and errors ------------------------------------------------- */

static void entry_done(struct ota_persist_entry *e)
{
	free(e->path);
	free(e->default_content);
	free(e->source);
	*e = (struct ota_persist_entry){ 0 };
}

void ota_state_config_init(struct ota_state_config *c)
{
	*c = (struct ota_state_config){ .overlay = OTA_OVERLAY_DISCARD };
}

void ota_state_config_done(struct ota_state_config *c)
{
	for (size_t i = 0; i < c->n_entries; i++)
		entry_done(&c->entries[i]);
	free(c->entries);
	for (size_t i = 0; i < c->n_errors; i++)
		free(c->errors[i]);
	ota_state_config_init(c);
}

static void add_error(struct ota_state_config *c, const char *msg)
{
	if (c->n_errors < OTA_STATE_ERRORS_MAX) {
		char *copy = strdup(msg);
		if (copy)
			c->errors[c->n_errors++] = copy;
	}
}

const struct ota_persist_entry *ota_state_config_find(const struct ota_state_config *c, const char *path)
{
	for (size_t i = 0; i < c->n_entries; i++)
		if (strcmp(c->entries[i].path, path) == 0)
			return &c->entries[i];
	return NULL;
}

/* Takes ownership of e; an entry for the same path is replaced. */
static int put_entry(struct ota_state_config *c, struct ota_persist_entry *e)
{
	for (size_t i = 0; i < c->n_entries; i++)
		if (strcmp(c->entries[i].path, e->path) == 0) {
			entry_done(&c->entries[i]);
			c->entries[i] = *e;
			*e = (struct ota_persist_entry){ 0 };
			return 0;
		}
	if (c->n_entries >= OTA_STATE_ENTRIES_MAX)
		return -E2BIG;
	struct ota_persist_entry *n = reallocarray(c->entries, c->n_entries + 1, sizeof(*n));
	if (!n)
		return -ENOMEM;
	c->entries = n;
	c->entries[c->n_entries++] = *e;
	*e = (struct ota_persist_entry){ 0 };
	return 0;
}

/* ---- parsing one file ------------------------------------------------- */

struct parse_state {
	struct ota_state_config *c;   /* this file's settings alone */
	const char *source;
	struct ota_error *err;
	int r;
	int error_line;
};

/* C-style escapes in a default content: \n, \t, \\. */
static int unescape(const char *in, char **ret)
{
	char *out = malloc(strlen(in) + 1), *o = out;
	if (!out)
		return -ENOMEM;
	for (const char *p = in; *p; p++) {
		if (*p != '\\' || !p[1]) {
			*o++ = *p;
			continue;
		}
		p++;
		*o++ = *p == 'n' ? '\n' : *p == 't' ? '\t' : *p;
	}
	*o = '\0';
	*ret = out;
	return 0;
}

static const char *const ota_persist_type_names[OTA_PERSIST_TYPE_MAX] = {
	[OTA_PERSIST_AUTO] = "auto",
	[OTA_PERSIST_DIRECTORY] = "directory",
	[OTA_PERSIST_FILE] = "file",
};
OTA_DEFINE_ENUM_TO_STRING(ota_persist_type, enum ota_persist_type, "auto")
OTA_DEFINE_ENUM_FROM_STRING(ota_persist_type, enum ota_persist_type)

static int handle_persist_key(struct parse_state *s, struct ota_persist_entry *e, const char *key, const char *value)
{
	if (strcmp(key, "type") == 0) {
		enum ota_persist_type type = ota_persist_type_from_string(value);
		if (type == OTA_PERSIST_TYPE_INVALID)
			return ota_error_set(s->err, -EINVAL, "type: '%s' is not directory, file or auto", value);
		e->type = type;
		return 0;
	}
	if (strcmp(key, "default") == 0) {
		free(e->default_content);
		e->default_content = NULL;
		e->has_default = true;
		return unescape(value, &e->default_content);
	}
	if (strcmp(key, "keep-on-reset") == 0) {
		if (ota_parse_bool(value, &e->keep_on_reset) < 0)
			return ota_error_set(s->err, -EINVAL, "keep-on-reset: '%s' is not yes or no", value);
		return 0;
	}
	if (strcmp(key, "mode") == 0) {
		uint64_t m;
		if (ota_parse_octal(value, &m) < 0 || m > 07777)
			return ota_error_set(s->err, -EINVAL, "mode: '%s' is not an octal mode like 0755", value);
		e->mode = (mode_t)m;
		return 0;
	}
	return ota_error_set(s->err, -EINVAL, "unknown key '%s' in a [persist ...] section", key);
}

static struct ota_persist_entry *entry_for_section(struct parse_state *s, const char *path, int *r)
{
	char norm[PATH_MAX];
	*r = ota_state_normalize_path(path, norm, sizeof(norm), s->err);
	if (*r < 0)
		return NULL;
	for (size_t i = 0; i < s->c->n_entries; i++)
		if (strcmp(s->c->entries[i].path, norm) == 0)
			return &s->c->entries[i];
	struct ota_persist_entry e = { .mode = 0 };
	e.path = strdup(norm);
	e.source = strdup(s->source);
	if (!e.path || !e.source || (*r = put_entry(s->c, &e)) < 0) {
		entry_done(&e);
		*r = *r < 0 ? *r : -ENOMEM;
		if (*r == -E2BIG)
			ota_error_set(s->err, *r, "more than %d persisted paths", OTA_STATE_ENTRIES_MAX);
		return NULL;
	}
	return &s->c->entries[s->c->n_entries - 1];
}

static int on_entry(void *user, const char *section, const char *key, const char *value, int line)
{
	struct parse_state *s = user;
	int r = 0;
	if (s->r < 0)
		return 0;
	if (strcmp(section, "overlay") == 0) {
		enum ota_overlay_mode m = ota_overlay_mode_from_string(value);
		if (strcmp(key, "mode") != 0)
			r = ota_error_set(s->err, -EINVAL, "unknown key '%s' in section [overlay]", key);
		else if (m == OTA_OVERLAY_MODE_INVALID)
			r = ota_error_set(s->err, -EINVAL,
					  "[overlay] mode: '%s' is not one of discard, in-memory, persist, disabled", value);
		else {
			s->c->overlay = m;
			s->c->overlay_set = true;
		}
	} else if (ota_startswith(section, "persist ")) {
		struct ota_persist_entry *e = entry_for_section(s, section + strlen("persist "), &r);
		if (e)
			r = handle_persist_key(s, e, key, value);
		if (r < 0)
			ota_error_prefix(s->err, "[%s] ", section);
	} else if (!section[0]) {
		r = ota_error_set(s->err, -EINVAL, "key '%s' outside of any section", key);
	} else {
		r = ota_error_set(s->err, -EINVAL, "unknown section [%s] (expected [overlay] or [persist /path])",
				  section);
	}
	if (r == -ENOMEM)
		ota_error_set(s->err, r, "out of memory");
	if (r < 0) {
		s->r = r;
		s->error_line = line;
		return 1;
	}
	return 0;
}

/* A section without keys: "[persist /x]" alone means "persist /x with the
 * defaults". */
static int on_section(void *user, const char *section, int line)
{
	struct parse_state *s = user;
	if (s->r < 0 || !ota_startswith(section, "persist "))
		return 0;
	int r;
	if (!entry_for_section(s, section + strlen("persist "), &r)) {
		ota_error_prefix(s->err, "[%s] ", section);
		s->r = r;
		s->error_line = line;
		return 1;
	}
	return 0;
}

static int check_entries(struct parse_state *s)
{
	for (size_t i = 0; i < s->c->n_entries; i++) {
		struct ota_persist_entry *e = &s->c->entries[i];
		if (e->has_default && e->type == OTA_PERSIST_DIRECTORY)
			return ota_error_set(s->err, -EINVAL, "[persist %s] a default content needs type = file",
					     e->path);
		if (e->has_default)
			e->type = OTA_PERSIST_FILE;
	}
	return 0;
}

static void merge(struct ota_state_config *c, struct ota_state_config *file)
{
	if (file->overlay_set) {
		c->overlay = file->overlay;
		c->overlay_set = true;
	}
	for (size_t i = 0; i < file->n_entries; i++)
		if (put_entry(c, &file->entries[i]) < 0)
			add_error(c, "too many persisted paths; the rest are skipped");
}

int ota_state_config_merge_text(struct ota_state_config *c, const char *text, const char *source,
				struct ota_error *err)
{
	struct ota_state_config file;
	ota_state_config_init(&file);
	struct parse_state s = { .c = &file, .source = source, .err = err };

	if (ota_ini_first_error(ota_ini_parse_text(text, on_entry, on_section, &s, err), &s.r, &s.error_line) == 0)
		s.r = check_entries(&s);
	if (s.r < 0) {
		ota_ini_error_at(err, source, s.error_line);
		ota_state_config_done(&file);
		return s.r;
	}
	merge(c, &file);
	ota_state_config_done(&file);
	return 0;
}

/* ---- loading ------------------------------------------------------------ */

static int merge_file(struct ota_state_config *c, const char *path, const char *source)
{
	struct ota_error err = { 0 };
	_cleanup_free_ char *text = NULL;
	int r = ota_read_config_file(path, &text, &err);
	if (r == -ENOENT)
		return 0;
	if (r == 0)
		r = ota_state_config_merge_text(c, text, source, &err);
	if (r == -ENOMEM)
		return r;
	if (r < 0) {
		char msg[sizeof(err.msg) + 32];
		(void)snprintf(msg, sizeof(msg), "%s; file skipped", err.msg);
		add_error(c, msg);
	}
	return 0;
}

struct dropin {
	char name[256];
	char path[PATH_MAX];
};

static int by_name(const void *a, const void *b)
{
	return strcmp(((const struct dropin *)a)->name, ((const struct dropin *)b)->name);
}

/* Adds dir's *.conf files to the list; a name already listed is replaced
 * (the admin directory is read after the vendor one). */
static int collect_dropins(const char *dir, struct dropin **list, size_t *n)
{
	_cleanup_closedir_ DIR *d = opendir(dir);
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	struct dirent *de;
	while ((de = readdir(d))) {
		size_t len = strlen(de->d_name);
		if (de->d_name[0] == '.' || len < 6 || strcmp(de->d_name + len - 5, ".conf") != 0 ||
		    len >= sizeof((*list)->name))
			continue;
		size_t i = 0;
		while (i < *n && strcmp((*list)[i].name, de->d_name) != 0)
			i++;
		if (i == *n) {
			if (*n >= OTA_STATE_ENTRIES_MAX)
				return -E2BIG;
			struct dropin *nl = reallocarray(*list, *n + 1, sizeof(**list));
			if (!nl)
				return -ENOMEM;
			*list = nl;
			(*n)++;
		}
		memcpy((*list)[i].name, de->d_name, len + 1);
		if (ota_format((*list)[i].path, sizeof((*list)[i].path), "%s/%s", dir, de->d_name) < 0)
			return -ENAMETOOLONG;
	}
	return 0;
}

int ota_state_config_load(struct ota_state_config *c, const char *root, struct ota_error *err)
{
	char path[PATH_MAX], dir[PATH_MAX];
	_cleanup_free_ struct dropin *list = NULL;
	size_t n = 0;

	if (ota_format(path, sizeof(path), "%s%s", root, OTA_STATE_CONF) < 0)
		return ota_error_set(err, -ENAMETOOLONG, "root path too long: '%s'", root);
	int r = merge_file(c, path, OTA_STATE_CONF);
	if (r < 0)
		return ota_error_set(err, r, "out of memory reading the state configuration");
	const char *dirs[] = { OTA_STATE_VENDOR_DIR, OTA_STATE_ADMIN_DIR };
	for (size_t i = 0; i < OTA_ELEMENTSOF(dirs); i++) {
		if (ota_format(dir, sizeof(dir), "%s%s", root, dirs[i]) < 0)
			return ota_error_set(err, -ENAMETOOLONG, "root path too long: '%s'", root);
		r = collect_dropins(dir, &list, &n);
		if (r < 0) {
			char msg[PATH_MAX + 64];
			(void)snprintf(msg, sizeof(msg), "%s: %s; directory skipped", dirs[i], strerror(-r));
			add_error(c, msg);
		}
	}
	if (n)
		qsort(list, n, sizeof(*list), by_name);
	for (size_t i = 0; i < n; i++) {
		/* Messages name the file as the device sees it, without root. */
		r = merge_file(c, list[i].path, list[i].path + strlen(root));
		if (r < 0)
			return ota_error_set(err, r, "out of memory reading the state configuration");
	}
	ota_state_config_drop_nested(c);
	return 0;
}

/* ---- runtime.conf --------------------------------------------------------
 * Written and read by otaroot alone, so it has a reader of its own instead of
 * the INI one (sysutil/ini.c), which trims blanks and ends a value at " ;":
 * every path check_syntax() accepts is written verbatim between "[persist "
 * and the line's closing ']' (it holds no newline and no ']'), with no
 * trimming, so ';', '#' and blanks round-trip. The shape is the INI of older
 * versions, which therefore still parse. */

static void append(char **buf, size_t *len, size_t *cap, const char *s)
{
	size_t n = strlen(s);
	if (!*buf && *cap)
		return; /* an earlier allocation failed */
	if (*len + n + 1 > *cap) {
		size_t ncap = (*len + n + 1) * 2;
		char *nb = realloc(*buf, ncap);
		if (!nb) {
			free(*buf);
			*buf = NULL;
			*cap = 1;
			return;
		}
		*buf = nb;
		*cap = ncap;
	}
	memcpy(*buf + *len, s, n + 1);
	*len += n;
}

int ota_state_runtime_format(const struct ota_state_config *rt, const struct ota_persist_entry *add, const char *skip,
			     bool only_kept, char **ret_text, size_t *ret_size, struct ota_error *err)
{
	_cleanup_free_ char *buf = NULL;
	size_t len = 0, cap = 0, count = 0;
	char norm[PATH_MAX];
	append(&buf, &len, &cap, "# Written by ota-state; edit with ota-state persist/unpersist.\n");
	for (size_t i = 0; i <= rt->n_entries; i++) {
		const struct ota_persist_entry *e = i < rt->n_entries ? &rt->entries[i] : add;
		if (!e || strcmp(e->source, "runtime") != 0 || (skip && strcmp(e->path, skip) == 0) ||
		    (only_kept && !e->keep_on_reset))
			continue;
		/* Only what the reader takes back is written. */
		if (check_syntax(e->path, norm, sizeof(norm), err) < 0 || strcmp(norm, e->path) != 0)
			return ota_error_set(err, -EINVAL, "'%s' cannot be recorded: not a canonical persisted path",
					     e->path);
		if (++count > OTA_STATE_ENTRIES_MAX)
			return ota_error_set(err, -E2BIG, "at most %d paths can be persisted", OTA_STATE_ENTRIES_MAX);
		append(&buf, &len, &cap, "\n[persist ");
		append(&buf, &len, &cap, e->path);
		append(&buf, &len, &cap, e->type == OTA_PERSIST_FILE ? "]\ntype = file\n" : "]\ntype = directory\n");
		if (e->keep_on_reset)
			append(&buf, &len, &cap, "keep-on-reset = yes\n");
	}
	if (!buf)
		return ota_error_set(err, -ENOMEM, "out of memory writing the runtime entries");
	*ret_size = len;
	*ret_text = TAKE_PTR(buf);
	return 0;
}

static char *trim(char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	size_t n = strlen(s);
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		s[--n] = '\0';
	return s;
}

static int runtime_line(struct parse_state *s, char *line, struct ota_persist_entry **e)
{
	size_t len = strlen(line);
	char *t = line + strspn(line, " \t");
	int r = 0;
	if (!*t || *t == '#' || *t == ';')
		return 0;
	if (ota_startswith(line, "[persist ") && len > strlen("[persist ]") && line[len - 1] == ']') {
		line[len - 1] = '\0';
		*e = entry_for_section(s, line + strlen("[persist "), &r);
		return r;
	}
	char *eq = strchr(line, '=');
	if (!eq)
		return ota_error_set(s->err, -EINVAL, "expected [persist PATH] or key = value");
	if (!*e)
		return ota_error_set(s->err, -EINVAL, "key outside of a [persist PATH] section");
	*eq = '\0';
	r = handle_persist_key(s, *e, trim(line), trim(eq + 1));
	if (r == 0 && strcmp(trim(line), "type") != 0 && strcmp(trim(line), "keep-on-reset") != 0)
		r = ota_error_set(s->err, -EINVAL, "key '%s' is not one ota-state writes", trim(line));
	return r;
}

int ota_state_runtime_parse(struct ota_state_config *c, const char *text, const char *where, struct ota_error *err)
{
	struct parse_state s = { .c = c, .source = "runtime", .err = err };
	struct ota_persist_entry *e = NULL;
	int line = 0, r = 0;
	for (const char *p = text; *p && r == 0;) {
		size_t len = strcspn(p, "\n");
		char *copy = strndup(p, len);
		line++;
		r = copy ? runtime_line(&s, copy, &e) : ota_error_set(err, -ENOMEM, "out of memory");
		free(copy);
		p += len + (p[len] == '\n');
	}
	if (r == 0)
		r = check_entries(&s);
	else
		ota_error_prefix(err, "%s:%d: ", where, line);
	return r;
}

int ota_state_runtime_read(const char *path, struct ota_state_config *c, struct ota_error *err)
{
	_cleanup_free_ char *text = NULL;
	int r = ota_read_text_file(path, OTA_STATE_RUNTIME_MAX, &text, err);
	if (r == -ENOENT)
		return 0;
	if (r == 0)
		r = ota_state_runtime_parse(c, text, path, err);
	if (r < 0 && r != -ENOMEM)
		ota_error_prefix(err, "a file of ota-state does not parse; fix or remove it: ");
	return r;
}

int ota_state_config_load_runtime(struct ota_state_config *c, const char *data_dir, struct ota_error *err)
{
	struct ota_error local = { 0 };
	char path[PATH_MAX];
	if (!err)
		err = &local;
	if (ota_format(path, sizeof(path), "%s/ota/state/runtime.conf", data_dir) < 0)
		return ota_error_set(err, -ENAMETOOLONG, "path too long under '%s'", data_dir);
	struct ota_state_config runtime;
	ota_state_config_init(&runtime);
	int r = ota_state_runtime_read(path, &runtime, err);
	if (r < 0) {
		ota_state_config_done(&runtime);
		if (r != -ENOMEM)
			add_error(c, err->msg);
		return r;
	}
	for (size_t i = 0; i < runtime.n_entries; i++) {
		if (ota_state_config_find(c, runtime.entries[i].path))
			continue; /* the configuration declares it: that wins */
		if (put_entry(c, &runtime.entries[i]) < 0) {
			r = ota_error_set(err, -E2BIG, "more than %d persisted paths; runtime entries skipped",
					  OTA_STATE_ENTRIES_MAX);
			add_error(c, err->msg);
			break;
		}
	}
	ota_state_config_done(&runtime);
	ota_state_config_drop_nested(c);
	return r;
}

void ota_state_config_drop_nested(struct ota_state_config *c)
{
	for (size_t i = 0; i < c->n_entries;) {
		size_t parent = c->n_entries;
		for (size_t j = 0; j < c->n_entries && parent == c->n_entries; j++)
			if (j != i && ota_path_is_inside(c->entries[i].path, c->entries[j].path))
				parent = j;
		if (parent == c->n_entries) {
			i++;
			continue;
		}
		char msg[2 * PATH_MAX + 128];
		(void)snprintf(msg, sizeof(msg), "%s (from %s) is inside persisted %s (from %s); skipped",
			       c->entries[i].path, c->entries[i].source, c->entries[parent].path,
			       c->entries[parent].source);
		add_error(c, msg);
		entry_done(&c->entries[i]);
		memmove(&c->entries[i], &c->entries[i + 1], (c->n_entries - i - 1) * sizeof(c->entries[0]));
		c->n_entries--;
	}
}

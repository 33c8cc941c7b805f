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

int ota_state_normalize_path(const char *path, char *buf, size_t size, struct ota_error *err)
{
	char out[PATH_MAX] = "";
	size_t used = 0;

	if (!path || !*path)
		return ota_error_set(err, -EINVAL, "empty path: persisted paths must be absolute");
	if (path[0] != '/')
		return ota_error_set(err, -EINVAL, "'%s' is relative: persisted paths must be absolute", path);
	for (const char *p = path; *p;) {
		while (*p == '/')
			p++;
		size_t len = strcspn(p, "/");
		if (len == 0)
			break;
		if (memchr(p, '\n', len) || memchr(p, ']', len))
			return ota_error_set(err, -EINVAL, "'%s' contains a newline or ']', which the state files cannot hold",
					     path);
		if ((len == 1 && p[0] == '.') || (len == 2 && p[0] == '.' && p[1] == '.'))
			return ota_error_set(err, -EINVAL, "'%s' contains '.' or '..': persisted paths must be canonical",
					     path);
		if (used + len + 2 > sizeof(out))
			return ota_error_set(err, -ENAMETOOLONG, "'%s' is too long", path);
		out[used++] = '/';
		memcpy(out + used, p, len);
		used += len;
		out[used] = '\0';
		p += len;
	}
	if (!used)
		return ota_error_set(err, -EINVAL, "'/' itself cannot be persisted; use overlay mode persist");
	if (ota_path_is_inside(out, OTA_DATA_DIR))
		return ota_error_set(err, -EINVAL, "'%s' is inside the state store (%s)", path, OTA_DATA_DIR);
	for (size_t i = 0; i < OTA_ELEMENTSOF(api_dirs); i++)
		if (ota_path_is_inside(out, api_dirs[i]))
			return ota_error_set(err, -EINVAL,
					     "'%s' is under %s: /proc, /sys, /dev and /run are never persisted", path,
					     api_dirs[i]);
	if (ota_format(buf, size, "%s", out) < 0)
		return ota_error_set(err, -ENAMETOOLONG, "'%s' is too long", path);
	return 0;
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

static int handle_persist_key(struct parse_state *s, struct ota_persist_entry *e, const char *key, const char *value)
{
	if (strcmp(key, "type") == 0) {
		if (strcmp(value, "directory") == 0)
			e->type = OTA_PERSIST_DIRECTORY;
		else if (strcmp(value, "file") == 0)
			e->type = OTA_PERSIST_FILE;
		else if (strcmp(value, "auto") == 0)
			e->type = OTA_PERSIST_AUTO;
		else
			return ota_error_set(s->err, -EINVAL, "type: '%s' is not directory, file or auto", value);
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
		char octal[32];
		if (ota_format(octal, sizeof(octal), "0%s", value) < 0 || ota_parse_u64(octal, &m) < 0 || m > 07777)
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

/* Sections without keys never reach the handler: "[persist /x]" alone is
 * legal INI and means "persist /x with the defaults". */
static int add_bare_sections(struct parse_state *s, const char *text)
{
	int line = 0;
	for (const char *p = text; *p; p += strcspn(p, "\n"), p += *p == '\n') {
		line++;
		while (*p == ' ' || *p == '\t')
			p++;
		if (!ota_startswith(p, "[persist "))
			continue;
		size_t len = strcspn(p, "]\n");
		if (p[len] != ']')
			continue; /* inih reports the syntax error */
		char section[PATH_MAX + 16];
		if (len - 1 >= sizeof(section))
			continue;
		memcpy(section, p + 1, len - 1);
		section[len - 1] = '\0';
		int r;
		if (!entry_for_section(s, section + strlen("persist "), &r)) {
			ota_error_prefix(s->err, "[%s] ", section);
			s->error_line = line;
			return r;
		}
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

	int line = ota_ini_parse_text(text, on_entry, &s);
	if (line > 0 && (s.r == 0 || line < s.error_line)) {
		s.r = ota_error_set(err, -EINVAL, "syntax error (expected [section] or key = value)");
		s.error_line = line;
	}
	if (s.r == 0)
		s.r = add_bare_sections(&s, text);
	if (s.r == 0)
		s.r = check_entries(&s);
	if (s.r < 0) {
		if (s.error_line > 0)
			ota_error_prefix(err, "%s:%d: ", source, s.error_line);
		else
			ota_error_prefix(err, "%s: ", source);
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
	int r = ota_read_text_file(path, OTA_STATE_FILE_MAX, &text, &err);
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

int ota_state_config_load_runtime(struct ota_state_config *c, const char *data_dir, struct ota_error *err)
{
	char path[PATH_MAX];
	if (ota_format(path, sizeof(path), "%s/ota/state/runtime.conf", data_dir) < 0)
		return ota_error_set(err, -ENAMETOOLONG, "path too long under '%s'", data_dir);
	struct ota_state_config runtime;
	ota_state_config_init(&runtime);
	int r = merge_file(&runtime, path, "runtime");
	if (r < 0) {
		ota_state_config_done(&runtime);
		return ota_error_set(err, r, "out of memory reading '%s'", path);
	}
	for (size_t i = 0; i < runtime.n_errors; i++)
		add_error(c, runtime.errors[i]);
	for (size_t i = 0; i < runtime.n_entries; i++) {
		if (ota_state_config_find(c, runtime.entries[i].path))
			continue; /* the configuration declares it: that wins */
		if (put_entry(c, &runtime.entries[i]) < 0)
			add_error(c, "too many persisted paths; runtime entries skipped");
	}
	ota_state_config_done(&runtime);
	ota_state_config_drop_nested(c);
	return 0;
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

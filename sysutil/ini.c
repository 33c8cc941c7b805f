/* SPDX-License-Identifier: Apache-2.0 */
/* otaroot's INI dialect (docs/configuration.md, "Configuration file syntax"),
 * the one syntax of every configuration file the project reads.
 *
 * This was a wrapper over inih. inih as distributions build it (Debian; the
 * upstream defaults Buildroot uses) splits lines over 200 bytes into two
 * lines, cuts section names at 49 characters (a [persist PATH] with keys
 * then persisted a shorter path), joins indented lines to the value above
 * and accepts "key: value" and text after "]"; none of that can be turned
 * off from outside the library. Checking every line before inih saw it left
 * inih nothing to parse that had not been parsed here, so the dialect is
 * parsed here, in two passes: lex and check the whole text, then hand the
 * entries up to the first error to the handlers. */
#include <errno.h>
#include <string.h>

#include "sysutil/sysutil.h"

static const char bom[] = "\xEF\xBB\xBF";

struct ini_entry {
	const char *section;
	const char *key;    /* NULL for a section header */
	const char *value;
	int line;
};

struct ini_doc {
	char *text;         /* the lexed copy the entries point into */
	struct ini_entry *entries;
	size_t n, cap;
	int error_line;     /* first line the dialect refuses, 0 if none */
	struct ota_error error;
};

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

static char *strip(char *s, char *end)
{
	while (s < end && is_blank(*s))
		s++;
	while (end > s && is_blank(end[-1]))
		end--;
	*end = '\0';
	return s;
}

/* A ';' after white space starts a comment; returns where the text ends. */
static char *comment_start(char *s)
{
	for (char *p = s; *p; p++)
		if (*p == ';' && p > s && is_blank(p[-1]))
			return p;
	return s + strlen(s);
}

/* Records the first line the dialect refuses, and why. */
#define refuse(d, at, ...) ((d)->error_line = (at), ota_error_set(&(d)->error, -EINVAL, __VA_ARGS__))

static int add(struct ini_doc *d, const char *section, const char *key, const char *value, int line)
{
	if (d->n == d->cap) {
		size_t ncap = d->cap ? d->cap * 2 : 32;
		struct ini_entry *n = reallocarray(d->entries, ncap, sizeof(*n));
		if (!n) {
			d->error_line = line;
			return ota_error_set(&d->error, -ENOMEM, "out of memory");
		}
		d->entries = n;
		d->cap = ncap;
	}
	d->entries[d->n++] = (struct ini_entry){ section, key, value, line };
	return 0;
}

/* One line, NUL-terminated and without its line break; *section is the
 * current section name. */
static int lex_line(struct ini_doc *d, char *s, int line, const char **section)
{
	if (strlen(s) > OTA_INI_MAX_LINE)
		return refuse(d, line, "line longer than %d bytes", OTA_INI_MAX_LINE);
	char *start = s;
	while (is_blank(*start))
		start++;
	if (!*start || *start == '#' || *start == ';')
		return 0;
	if (start != s)
		return refuse(d, line, "indented line: continuation lines are not supported "
					     "(join the value into one line, or remove the indentation)");
	if (*s == '[') {
		char *close = strchr(s, ']');
		if (!close)
			return refuse(d, line, "section header without ']'");
		const char *rest = close + 1 + strspn(close + 1, " \t\r\v\f");
		if (*rest && *rest != ';')
			return refuse(d, line, "text after the section header's ']': '%.40s'", rest);
		*close = '\0';
		if (!s[1])
			return refuse(d, line, "empty section name '[]'");
		*section = s + 1;
		return add(d, *section, NULL, NULL, line);
	}
	char *eq = strchr(s, '=');
	if (!eq)
		return refuse(d, line, "'%.40s' is neither [section] nor key = value", s);
	char *value = eq + 1;
	const char *key = strip(s, eq);
	if (!*key)
		return refuse(d, line, "no key before '='");
	value = strip(value, comment_start(value));
	return add(d, *section, key, value, line);
}

static int lex(struct ini_doc *d)
{
	char *p = d->text;
	const char *section = "";
	if (strncmp(p, bom, 3) == 0)
		p += 3;
	for (int line = 1; *p; line++) {
		char *eol = strchr(p, '\n');
		if (eol)
			*eol = '\0';
		int r = lex_line(d, p, line, &section);
		if (r < 0)
			return r;
		if (!eol)
			break;
		p = eol + 1;
	}
	return 0;
}

/* Orders keys by section, key and line, so repeats are neighbours. */
static int by_name(const void *a, const void *b)
{
	const struct ini_entry *x = *(const struct ini_entry *const *)a, *y = *(const struct ini_entry *const *)b;
	int c = strcmp(x->section, y->section);
	if (!c)
		c = strcmp(x->key, y->key);
	return c ? c : (x->line > y->line) - (x->line < y->line);
}

/* A key given twice in one section (a section may be given more than once,
 * its keys add up) is refused at its second line: which one should win is a
 * guess either way. */
static int check_repeats(struct ini_doc *d)
{
	_cleanup_free_ struct ini_entry **keys = reallocarray(NULL, d->n + 1, sizeof(*keys));
	if (!keys) {
		d->error_line = d->n ? d->entries[0].line : 1;
		return ota_error_set(&d->error, -ENOMEM, "out of memory");
	}
	size_t n = 0;
	for (size_t i = 0; i < d->n; i++)
		if (d->entries[i].key)
			keys[n++] = &d->entries[i];
	qsort(keys, n, sizeof(*keys), by_name);
	const struct ini_entry *first = NULL, *repeat = NULL;
	for (size_t i = 1; i < n; i++)
		if (!strcmp(keys[i - 1]->section, keys[i]->section) && !strcmp(keys[i - 1]->key, keys[i]->key) &&
		    (!repeat || keys[i]->line < repeat->line)) {
			first = keys[i - 1];
			repeat = keys[i];
		}
	if (!repeat || (d->error_line && d->error_line < repeat->line))
		return 0;
	return refuse(d, repeat->line, "key '%s' given again in [%s] (first on line %d)", repeat->key,
		      repeat->section, first->line);
}

int ota_ini_parse_text(const char *text, ota_ini_handler handler, ota_ini_section_handler section_handler,
		       void *user, struct ota_error *err)
{
	struct ini_doc d = { .text = strdup(text) };
	int r = 0;
	if (!d.text) {
		ota_error_set(err, -ENOMEM, "out of memory");
		return 1;
	}
	(void)lex(&d);
	(void)check_repeats(&d);
	for (size_t i = 0; i < d.n && !r && (!d.error_line || d.entries[i].line < d.error_line); i++) {
		const struct ini_entry *e = &d.entries[i];
		if (e->key)
			r = handler(user, e->section, e->key, e->value, e->line) ? e->line : 0;
		else if (section_handler)
			r = section_handler(user, e->section, e->line) ? e->line : 0;
	}
	if (!r && d.error_line) {
		r = d.error_line;
		if (err)
			*err = d.error;
	}
	free(d.entries);
	free(d.text);
	return r;
}

int ota_ini_first_error(int line, int *r, int *error_line)
{
	if (line > 0 && (*r == 0 || line < *error_line)) {
		*r = -EINVAL; /* err holds the reason */
		*error_line = line;
	}
	return *r;
}

void ota_ini_error_at(struct ota_error *err, const char *source, int line)
{
	if (line > 0)
		ota_error_prefix(err, "%s:%d: ", source, line);
	else
		ota_error_prefix(err, "%s: ", source);
}

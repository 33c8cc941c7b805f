/* SPDX-License-Identifier: Apache-2.0 */
/* The device's configuration files ota-image writes into the root: each is
 * parsed back by the file's owner before it is handed out, so an image never
 * ships a file its device would refuse. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image/image-private.h"
#include "partitioner/partitioner.h"
#include "sysconf/sysconf.h"

/* open_memstream's text, or -ENOMEM. */
static int close_text(FILE *f, char **text, char **ret, struct ota_error *err)
{
	bool bad = ferror(f);
	if (fclose(f) != 0 || bad) {
		free(*text);
		*text = NULL;
		return ota_error_set(err, -ENOMEM, "out of memory");
	}
	*ret = *text;
	*text = NULL;
	return 0;
}

/* One key of a system.conf text, in file order. */
struct conf_entry {
	char *section, *key, *value;
	int line;
};

struct conf_entries {
	struct conf_entry *v;
	size_t n, cap;
	struct ota_error *err;
};

static void conf_entries_done(struct conf_entries *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].section);
		free(l->v[i].key);
		free(l->v[i].value);
	}
	free(l->v);
}

static int collect_entry(void *user, const char *section, const char *key, const char *value, int line)
{
	struct conf_entries *l = user;
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 32;
		struct conf_entry *v = reallocarray(l->v, cap, sizeof(*v));
		if (!v)
			goto oom;
		l->v = v;
		l->cap = cap;
	}
	struct conf_entry *e = &l->v[l->n];
	*e = (struct conf_entry){ strdup(section), strdup(key), strdup(value), line };
	l->n++;
	if (e->section && e->key && e->value)
		return 0;
oom:
	ota_error_set(l->err, -ENOMEM, "out of memory");
	return 1;
}

static int collect_entries(const char *text, const char *source, struct conf_entries *l, struct ota_error *err)
{
	l->err = err;
	int line = ota_ini_parse_text(text, collect_entry, NULL, l, err);
	if (line) {
		ota_ini_error_at(err, source, line);
		return err->code ? err->code : -EINVAL;
	}
	return 0;
}

static const struct conf_entry *find_entry(const struct conf_entries *l, const char *section, const char *key)
{
	for (size_t i = 0; i < l->n; i++)
		if (!strcmp(l->v[i].section, section) && !strcmp(l->v[i].key, key))
			return &l->v[i];
	return NULL;
}

/* Whether section comes first at index i of extra's keys to add. */
static bool first_of_section(const struct conf_entries *extra, const bool *add, size_t i)
{
	for (size_t j = 0; j < i; j++)
		if (add[j] && !strcmp(extra->v[j].section, extra->v[i].section))
			return false;
	return true;
}

int ota_image_system_conf_merge(const char *generated, const char *extra, const char *extra_source, char **ret,
				struct ota_error *err)
{
	_cleanup_(conf_entries_done) struct conf_entries gen = { 0 }, add_from = { 0 };
	int r;
	if ((r = collect_entries(generated, "system.conf", &gen, err)) < 0 ||
	    (r = collect_entries(extra, extra_source, &add_from, err)) < 0)
		return r;
	_cleanup_free_ bool *add = calloc(add_from.n + 1, sizeof(*add));
	if (!add)
		return ota_error_set(err, -ENOMEM, "out of memory");
	for (size_t i = 0; i < add_from.n; i++) {
		const struct conf_entry *e = &add_from.v[i], *g = find_entry(&gen, e->section, e->key);
		if (g && strcmp(g->value, e->value))
			return ota_error_set(err, -EINVAL,
					     "%s:%d: [%s] %s = %s, but the image description makes it %s "
					     "(the description owns this key: set it there)",
					     extra_source, e->line, e->section, e->key, e->value, g->value);
		add[i] = !g;
	}
	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	if (!f)
		return ota_error_set(err, -ENOMEM, "out of memory");
	fputs(generated, f);
	fprintf(f, "\n# Added from %s ([image] system-conf).\n", extra_source);
	/* Each section's keys together, sections in the order extra names them. */
	for (size_t i = 0; i < add_from.n; i++) {
		if (!add[i] || !first_of_section(&add_from, add, i))
			continue;
		fprintf(f, "[%s]\n", add_from.v[i].section);
		for (size_t j = i; j < add_from.n; j++)
			if (add[j] && !strcmp(add_from.v[j].section, add_from.v[i].section))
				fprintf(f, "%s = %s\n", add_from.v[j].key, add_from.v[j].value);
	}
	return close_text(f, &text, ret, err);
}

int ota_image_system_conf(const struct ota_image_desc *d, const char *version, char **ret, struct ota_error *err)
{
	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	if (!f)
		return ota_error_set(err, -ENOMEM, "out of memory");
	fprintf(f,
		"# /etc/ota/system.conf (docs/configuration.md), written by ota-image from\n"
		"# its image description (docs/ota-image.md).\n"
		"[data]\n"
		"device = auto\n"
		"\n"
		"[init]\n"
		"path = /sbin/init\n"
		"trial-watchdog = %u\n"
		"\n"
		"[system]\n"
		"compatible = %s\n"
		"version = %s\n"
		"\n"
		"[update]\n"
		"keyring = %s\n"
		"downgrade = %s\n",
		d->trial_watchdog_s, d->compatible, version ? version : d->version, OTA_IMAGE_KEYRING,
		d->downgrade ? d->downgrade : ota_downgrade_policy_names[OTA_DOWNGRADE_REFUSE]);
	if (d->channel)
		fprintf(f, "channel = %s\n", d->channel);
	fputc('\n', f);
	ota_image_target_ops_of(d->target)->system_conf(d, f);
	_cleanup_free_ char *out = NULL;
	int r = close_text(f, &text, &out, err);
	if (r < 0)
		return r;
	if (d->system_conf) {
		_cleanup_free_ char *extra = NULL, *merged = NULL;
		if ((r = ota_read_config_file(d->system_conf, &extra, err)) < 0) {
			ota_error_prefix(err, "%s: [image] system-conf: ", d->source);
			return r;
		}
		if ((r = ota_image_system_conf_merge(out, extra, d->system_conf, &merged, err)) < 0)
			return r;
		free(out);
		out = TAKE_PTR(merged);
	}
	/* Parsed back as ota-init and ota-update will. */
	struct ota_sysconf c;
	ota_sysconf_init(&c);
	r = ota_sysconf_parse(&c, OTA_SYSCONF_INIT | OTA_SYSCONF_UPDATE, out, "system.conf", err);
	ota_sysconf_done(&c);
	if (r < 0) {
		ota_error_prefix(err, "%s: the system.conf it makes does not parse: ", d->source);
		return r;
	}
	*ret = TAKE_PTR(out);
	return 0;
}

const char *ota_image_root_type(enum ota_image_arch arch)
{
	return arch == OTA_IMAGE_ARCH_ARM64 ? "root-arm64" : "root-x86-64";
}

void ota_image_gpt_slots_conf(FILE *f)
{
	fputs("[slot.system-a]\n"
	      "class = system\n"
	      "device = PARTLABEL=system-a\n"
	      "[slot.system-b]\n"
	      "class = system\n"
	      "device = PARTLABEL=system-b\n"
	      "\n"
	      "[group.a]\n"
	      "system = system-a\n"
	      "[group.b]\n"
	      "system = system-b\n",
	      f);
}

void ota_image_gpt_slots_layout(const struct ota_image_desc *d, uint64_t slot_size, FILE *f)
{
	const char *type = ota_image_root_type(d->arch);
	unsigned long long slot_mib = slot_size >> 20;
	fprintf(f,
		"[partition system-a]\n"
		"size = %lluM\n"
		"type = %s\n"
		"\n"
		"[partition system-b]\n"
		"size = %lluM\n"
		"type = %s\n"
		"\n",
		slot_mib, type, slot_mib, type);
	ota_image_data_layout(f);
}

void ota_image_data_layout(FILE *f)
{
	fputs("[partition data]\n"
	      "size = rest\n"
	      "type = linux\n"
	      "filesystem = ext4\n"
	      "label = data\n"
	      "mkfs-options = -m 1\n"
	      "grow = yes\n",
	      f);
}

const struct ota_image_target_ops *ota_image_target_ops_of(enum ota_image_target t)
{
	switch (t) {
	case OTA_IMAGE_TARGET_RPI_TRYBOOT: return &ota_image_target_rpi;
	case OTA_IMAGE_TARGET_UBOOT: return &ota_image_target_uboot;
	case OTA_IMAGE_TARGET_EFI: break;
	}
	return &ota_image_target_efi;
}

int ota_image_layout_conf(const struct ota_image_desc *d, uint64_t slot_size, char **ret, struct ota_error *err)
{
	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	if (!f)
		return ota_error_set(err, -ENOMEM, "out of memory");
	ota_image_target_ops_of(d->target)->layout_conf(d, slot_size, f);
	_cleanup_free_ char *out = NULL;
	int r = close_text(f, &text, &out, err);
	if (r < 0)
		return r;
	struct ota_layout l;
	r = ota_layout_parse(&l, out, "layout.conf", err);
	if (r < 0) {
		ota_error_prefix(err, "%s: the layout.conf it makes does not parse: ", d->source);
		return r;
	}
	*ret = TAKE_PTR(out);
	return 0;
}

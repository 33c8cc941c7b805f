/* SPDX-License-Identifier: Apache-2.0 */
/* The image description: its one schema (the table below) and parser. */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stddef.h>
#include <string.h>

#include "image/image.h"
#include "sysconf/sysconf.h"

enum kind { K_STRING, K_PATH, K_SIZE, K_UINT, K_ENUM, K_BOOL };

static const char *const target_names[] = { "efi", "rpi-tryboot", "uboot" };
static const char *const arch_names[] = { "amd64", "arm64" };
static const char *const fs_names[] = { "ext4", "erofs" };
static const char *const bmap_names[] = { "auto", "yes", "no" };

struct key {
	const char *section, *name;
	enum kind kind;
	size_t offset;
	bool required;
	uint64_t min, max;            /* K_UINT, K_SIZE (0 max: none) */
	const char *const *names;     /* K_ENUM */
	size_t n_names;
};

#define F(field) offsetof(struct ota_image_desc, field)
#define ENUM(n) .names = n, .n_names = OTA_ELEMENTSOF(n)

static const struct key keys[] = {
	{ "image", "target", K_ENUM, F(target), false, 0, 0, ENUM(target_names) },
	{ "image", "arch", K_ENUM, F(arch), false, 0, 0, ENUM(arch_names) },
	{ "image", "filesystem", K_ENUM, F(filesystem), false, 0, 0, ENUM(fs_names) },
	{ "image", "slot-size", K_SIZE, F(slot_size), false, 16ull << 20, 0, NULL, 0 },
	{ "image", "esp-size", K_SIZE, F(esp_size), false, 16ull << 20, 4ull << 30, NULL, 0 },
	{ "image", "kernel-cmdline", K_STRING, F(kernel_cmdline), false, 0, 0, NULL, 0 },
	{ "image", "grub-serial", K_BOOL, F(grub_serial), false, 0, 0, NULL, 0 },
	{ "image", "bmap", K_ENUM, F(bmap), false, 0, 0, ENUM(bmap_names) },
	{ "image", "overlay", K_PATH, F(overlay), false, 0, 0, NULL, 0 },
	{ "image", "system-conf", K_PATH, F(system_conf), false, 0, 0, NULL, 0 },
	{ "system", "compatible", K_STRING, F(compatible), true, 0, 0, NULL, 0 },
	{ "system", "version", K_STRING, F(version), true, 0, 0, NULL, 0 },
	{ "update", "keyring", K_PATH, F(keyring), true, 0, 0, NULL, 0 },
	{ "update", "channel", K_STRING, F(channel), false, 0, 0, NULL, 0 },
	{ "update", "downgrade", K_ENUM, F(downgrade), false, 0, 0, ENUM(ota_downgrade_policy_names) },
	{ "bootflow", "tries", K_UINT, F(tries), false, 1, OTA_BOOTFLOW_MAX_TRIES, NULL, 0 },
	{ "init", "trial-watchdog", K_UINT, F(trial_watchdog_s), false, 0, 86400, NULL, 0 },
	{ "rpi", "firmware", K_STRING, F(rpi_firmware), false, 0, 0, NULL, 0 },
	{ "rpi", "kernel", K_STRING, F(rpi_kernel), false, 0, 0, NULL, 0 },
	{ "rpi", "boot-size", K_SIZE, F(rpi_boot_size), false, 64ull << 20, 4ull << 30, NULL, 0 },
	{ "rpi", "config", K_PATH, F(rpi_config), false, 0, 0, NULL, 0 },
	{ "uboot", "device", K_STRING, F(uboot_device), false, 0, 0, NULL, 0 },
	{ "uboot", "fdt", K_STRING, F(uboot_fdt), false, 0, 0, NULL, 0 },
	{ "sign", "key", K_PATH, F(key), false, 0, 0, NULL, 0 },
	{ "sign", "cert", K_PATH, F(cert), false, 0, 0, NULL, 0 },
	{ "sign", "chain", K_PATH, F(chain), false, 0, 0, NULL, 0 },
};

void ota_image_desc_init(struct ota_image_desc *d)
{
	*d = (struct ota_image_desc){ .esp_size = OTA_IMAGE_DEFAULT_ESP_SIZE,
				      .rpi_boot_size = OTA_IMAGE_DEFAULT_RPI_BOOT_SIZE,
				      .tries = OTA_UPDATE_DEFAULT_TRIES,
				      .trial_watchdog_s = OTA_TRIAL_WATCHDOG_DEFAULT_S };
}

static char **string_field(struct ota_image_desc *d, const struct key *k)
{
	return (char **)((char *)d + k->offset);
}

void ota_image_desc_done(struct ota_image_desc *d)
{
	free(d->source);
	for (size_t i = 0; i < OTA_ELEMENTSOF(keys); i++)
		if (keys[i].kind == K_STRING || keys[i].kind == K_PATH ||
		    (keys[i].kind == K_ENUM && keys[i].names == ota_downgrade_policy_names))
			free(*string_field(d, &keys[i]));
	ota_image_desc_init(d);
}

struct parse {
	struct ota_image_desc *d;
	const char *source;
	char base[PATH_MAX];          /* the description's directory */
	bool seen[OTA_ELEMENTSOF(keys)];
	struct ota_error *err;
};

static const struct key *find_key(const char *section, const char *name)
{
	for (size_t i = 0; i < OTA_ELEMENTSOF(keys); i++)
		if (ota_streq(keys[i].section, section) && ota_streq(keys[i].name, name))
			return &keys[i];
	return NULL;
}

static bool section_known(const char *section)
{
	for (size_t i = 0; i < OTA_ELEMENTSOF(keys); i++)
		if (ota_streq(keys[i].section, section))
			return true;
	return false;
}

/* Text a device file or the GRUB script takes as it is: printable ASCII. */
static bool printable(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
			return false;
	return true;
}

static int set_value(struct parse *p, const struct key *k, const char *value)
{
	void *field = (char *)p->d + k->offset;
	uint64_t n;
	bool b;
	int r;
	switch (k->kind) {
	case K_STRING:
		if (!value[0] || !printable(value))
			return ota_error_set(p->err, -EINVAL, "'%s' is empty or not printable ASCII", value);
		return ota_strdup_to((char **)field, value);
	case K_PATH: {
		char path[PATH_MAX];
		if (!value[0])
			return ota_error_set(p->err, -EINVAL, "empty path");
		if (ota_format(path, sizeof(path), "%s%s%s", value[0] == '/' ? "" : p->base,
			       value[0] == '/' ? "" : "/", value) < 0)
			return ota_error_set(p->err, -ENAMETOOLONG, "path '%s' is too long", value);
		return ota_strdup_to((char **)field, path);
	}
	case K_SIZE:
		r = ota_parse_size(value, &n);
		if (r < 0 || n % OTA_IMAGE_ALIGN || n < k->min || (k->max && n > k->max))
			return ota_error_set(p->err, -EINVAL,
					     "'%s' is not a size in whole MiB (like 64M or 2G) from %llu MiB%s", value,
					     (unsigned long long)(k->min >> 20), k->max ? " to 4 GiB" : "");
		*(uint64_t *)field = n;
		return 0;
	case K_UINT:
		if (ota_parse_u64(value, &n) < 0 || n < k->min || n > k->max)
			return ota_error_set(p->err, -EINVAL, "'%s' is not a number in %llu..%llu", value,
					     (unsigned long long)k->min, (unsigned long long)k->max);
		*(unsigned *)field = (unsigned)n;
		return 0;
	case K_BOOL:
		if (ota_parse_bool(value, &b) < 0)
			return ota_error_set(p->err, -EINVAL, "'%s' is not yes or no", value);
		*(bool *)field = b;
		return 0;
	case K_ENUM:
		r = ota_enum_from_string(k->names, k->n_names, value);
		if (r < 0) {
			char list[256] = "";
			size_t used = 0;
			for (size_t i = 0; i < k->n_names; i++)
				used += (size_t)snprintf(list + used, sizeof(list) - used, "%s%s", i ? ", " : "",
							 k->names[i]);
			return ota_error_set(p->err, -EINVAL, "'%s' is not one of %s", value, list);
		}
		/* downgrade is handed on as text (system.conf's own value) */
		if (k->names == ota_downgrade_policy_names)
			return ota_strdup_to((char **)field, value);
		*(int *)field = r;
		return 0;
	}
	return -EINVAL;
}

static int on_key(void *user, const char *section, const char *name, const char *value, int line)
{
	struct parse *p = user;
	const struct key *k = find_key(section, name);
	int r;
	if (!k)
		r = ota_error_set(p->err, -EINVAL, "unknown key (docs/ota-image.md lists them)");
	else {
		p->seen[k - keys] = true;
		r = set_value(p, k, value);
	}
	if (r < 0) {
		ota_error_prefix(p->err, "%s:%d: [%s] %s: ", p->source, line, section, name);
		return 1;
	}
	return 0;
}

static int on_section(void *user, const char *section, int line)
{
	struct parse *p = user;
	if (section_known(section))
		return 0;
	ota_error_set(p->err, -EINVAL, "%s:%d: unknown section [%s] (image, system, update, bootflow, init, rpi, uboot, sign)",
		      p->source, line, section);
	return 1;
}

static bool uboot_device_valid(const char *s)
{
	size_t word = strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_");
	if (word == 0 || s[word] != ' ')
		return false;
	s += word + 1;
	return s[0] && strspn(s, "0123456789") == strlen(s);
}

/* Values the device files and file names take as they are. */
static int check(const struct parse *p)
{
	const struct ota_image_desc *d = p->d;
	for (size_t i = 0; i < OTA_ELEMENTSOF(keys); i++)
		if (keys[i].required && !p->seen[i])
			return ota_error_set(p->err, -EINVAL, "%s: [%s] %s is required", p->source, keys[i].section,
					     keys[i].name);
	if (strpbrk(d->version, " /\\\"'"))
		return ota_error_set(p->err, -EINVAL, "%s: [system] version '%s' has a space, quote or slash",
				     p->source, d->version);
	const char *in_root[] = { d->rpi_firmware, d->rpi_kernel, d->uboot_fdt };
	const char *in_root_key[] = { "[rpi] firmware", "[rpi] kernel", "[uboot] fdt" };
	for (size_t i = 0; i < OTA_ELEMENTSOF(in_root); i++)
		if (in_root[i] && (in_root[i][0] != '/' || strpbrk(in_root[i], " \"'")))
			return ota_error_set(p->err, -EINVAL, "%s: %s '%s' is not an absolute path inside the root "
					     "without spaces or quotes", p->source, in_root_key[i], in_root[i]);
	/* U-Boot's "interface device": a word and a number */
	if (d->uboot_device && !uboot_device_valid(d->uboot_device))
		return ota_error_set(p->err, -EINVAL, "%s: [uboot] device '%s' is not U-Boot's interface and "
				     "device number (like mmc 0 or virtio 0)", p->source, d->uboot_device);
	if (d->uboot_fdt && d->arch != OTA_IMAGE_ARCH_ARM64)
		return ota_error_set(p->err, -EINVAL, "%s: [uboot] fdt is for arch = arm64 (an x86 kernel takes no "
				     "device tree)", p->source);
	if (d->target == OTA_IMAGE_TARGET_RPI_TRYBOOT && d->arch != OTA_IMAGE_ARCH_ARM64)
		return ota_error_set(p->err, -EINVAL, "%s: [image] target rpi-tryboot needs arch = arm64 (the "
				     "Raspberry Pi 4 and 5 boot a 64-bit kernel)", p->source);
	if (!d->key != !d->cert)
		return ota_error_set(p->err, -EINVAL, "%s: [sign] key and cert go together", p->source);
	if (d->chain && !d->key)
		return ota_error_set(p->err, -EINVAL, "%s: [sign] chain needs key and cert", p->source);
	return 0;
}

int ota_image_desc_parse(struct ota_image_desc *d, const char *text, const char *source, struct ota_error *err)
{
	_cleanup_(ota_image_desc_donep) struct ota_image_desc n;
	ota_image_desc_init(&n);
	struct parse p = { .d = &n, .source = source, .err = err };
	char copy[PATH_MAX];
	if (ota_format(copy, sizeof(copy), "%s", source) < 0 || ota_format(p.base, sizeof(p.base), "%s", dirname(copy)) < 0)
		return ota_error_set(err, -ENAMETOOLONG, "%s: path too long", source);
	int line = ota_ini_parse_text(text, on_key, on_section, &p, err);
	if (line != 0) {
		if (!ota_startswith(err ? err->msg : "", source))
			ota_error_prefix(err, "%s:%d: ", source, line);
		return err && err->code ? err->code : -EINVAL;
	}
	int r = check(&p);
	if (r < 0)
		return r;
	r = ota_strdup_to(&n.source, source);
	if (r < 0)
		return r;
	ota_image_desc_done(d);
	*d = n;
	ota_image_desc_init(&n);
	return 0;
}

int ota_image_desc_load(struct ota_image_desc *d, const char *path, struct ota_error *err)
{
	_cleanup_free_ char *text = NULL;
	int r = ota_read_config_file(path, &text, err);
	if (r < 0)
		return r;
	return ota_image_desc_parse(d, text, path, err);
}

const char *ota_image_desc_key_name(size_t i, char *buf, size_t size)
{
	if (i >= OTA_ELEMENTSOF(keys) || ota_format(buf, size, "[%s] %s", keys[i].section, keys[i].name) < 0)
		return NULL;
	return buf;
}

/* SPDX-License-Identifier: Apache-2.0 */
/* /etc/ota/layout.conf: the declared disk layout. See docs/provisioning.md. */
#include <ctype.h>
#include <errno.h>
#include <string.h>
#include <strings.h>

#include "partitioner/partitioner.h"

struct type_alias {
	const char *name;
	const char *gpt;  /* NULL: no GPT meaning */
	unsigned mbr;     /* 0: no MBR meaning */
};

/* GPT GUIDs from the Discoverable Partitions Specification and UEFI. */
static const struct type_alias aliases[] = {
	{ "esp", "c12a7328-f81f-11d2-ba4b-00a0c93ec93b", 0xef },
	{ "linux", "0fc63daf-8483-4772-8e79-3d69d8477de4", 0x83 },
	{ "root-x86-64", "4f68bce3-e8cd-4db1-96e7-fbcaf984b709", 0x83 },
	{ "root-arm64", "b921b045-1df0-41c3-af44-4c6f280d3fae", 0x83 },
	{ "root-arm", "69dad710-2ce4-4e3c-b16c-21a1d49abed3", 0x83 },
	{ "xbootldr", "bc13c2ff-59e6-4262-a352-b275fd6f7172", 0xea },
	{ "swap", "0657fd6d-a4ab-43c4-84e5-0933c84b4f4f", 0x82 },
	{ "home", "933ac7e1-2eb4-4f13-b844-0e14e2aef915", 0x83 },
	{ "srv", "3b8f8425-20e0-4f3b-907f-1a25a76f98e8", 0x83 },
	{ "var", "4d21b016-b534-45c2-a9fb-5c16e091fd2d", 0x83 },
	{ "fat32", "ebd0a0a2-b9e5-4433-87c0-68b6b72699c7", 0x0c },
};

enum part_key { KEY_SIZE, KEY_TYPE, KEY_FILESYSTEM, KEY_LABEL, KEY_MKFS_OPTIONS, KEY_GROW };
static const char *const part_keys[] = { "size", "type", "filesystem", "label", "mkfs-options", "grow" };

struct raw_part {
	char type[64];
	unsigned seen; /* bit per enum part_key */
};

struct parse_state {
	struct ota_layout *l;
	struct raw_part raw[OTA_LAYOUT_MAX_PARTS];
	bool has_table;
	struct ota_error *err;
	int r;
	int error_line;
};

/* ---- text: what a name or a label may hold ------------------------------------ */

/* Decodes one UTF-8 sequence at s strictly (no overlong forms, no
 * surrogates, nothing above U+10FFFF); returns its length, or 0. */
static size_t utf8_decode(const unsigned char *s, uint32_t *ret)
{
	static const uint32_t min[] = { 0, 0, 0x80, 0x800, 0x10000 };
	size_t n = s[0] < 0x80 ? 1 : (s[0] & 0xe0) == 0xc0 ? 2 : (s[0] & 0xf0) == 0xe0 ? 3 : (s[0] & 0xf8) == 0xf0 ? 4 : 0;
	if (!n)
		return 0;
	uint32_t c = n == 1 ? s[0] : s[0] & (0x7fu >> n);
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (s[i] & 0x3fu);
	}
	if (c < min[n] || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*ret = c;
	return n;
}

/* Checks that text is UTF-8 without control characters and, with bmp_only,
 * without characters above U+FFFF; counts its UTF-16 code units. */
static int check_text(const char *what, const char *text, bool bmp_only, size_t *ret_units, struct ota_error *err)
{
	size_t units = 0;
	for (const unsigned char *c = (const unsigned char *)text; *c;) {
		uint32_t cp;
		size_t n = utf8_decode(c, &cp);
		if (!n)
			return ota_error_set(err, -EINVAL, "%s: '%s' is not valid UTF-8 (byte %zu)", what, text,
					     (size_t)(c - (const unsigned char *)text) + 1);
		if (cp < 0x20 || (cp >= 0x7f && cp < 0xa0))
			return ota_error_set(err, -EINVAL, "%s: '%s' has a control character (U+%04X)", what, text,
					     (unsigned)cp);
		if (bmp_only && cp > 0xffff)
			return ota_error_set(err, -EINVAL,
					     "%s: '%s' has U+%04X, outside U+0000..U+FFFF, which libfdisk cannot write "
					     "(it would store an empty name)", what, text, (unsigned)cp);
		units += cp > 0xffff ? 2 : 1;
		c += n;
	}
	*ret_units = units;
	return 0;
}

/* The first OTA_GPT_NAME_UNITS code units of name: what ota-part before
 * this check wrote, libfdisk cutting the name there without a word. */
static void gpt_truncation(const char *name, char *buf, size_t size)
{
	const unsigned char *c = (const unsigned char *)name;
	size_t units = 0;
	uint32_t cp;
	size_t n;
	while (*c && (n = utf8_decode(c, &cp)) && units + (cp > 0xffff ? 2 : 1) <= OTA_GPT_NAME_UNITS) {
		units += cp > 0xffff ? 2 : 1;
		c += n;
	}
	(void)!ota_format(buf, size, "%.*s", (int)(c - (const unsigned char *)name), name);
}

static int check_name(const char *name, struct ota_error *err)
{
	size_t units;
	if (!*name)
		return ota_error_set(err, -EINVAL, "partition name is empty");
	int r = check_text("partition name", name, true, &units, err);
	if (r < 0)
		return r;
	if (units > OTA_GPT_NAME_UNITS) {
		char kept[OTA_PART_NAME_SIZE];
		gpt_truncation(name, kept, sizeof(kept));
		return ota_error_set(err, -ENAMETOOLONG,
				     "partition name '%s' has %zu UTF-16 code units, a GPT entry holds %d; shorten it "
				     "(a disk provisioned by an older ota-part has it cut to '%s': use that name to keep "
				     "such disks matching)", name, units, OTA_GPT_NAME_UNITS, kept);
	}
	return 0;
}

/* mkfs.vfat refuses these, and converts the rest to the DOS code page from
 * the locale of its clean environment (ASCII). */
#define VFAT_LABEL_FORBIDDEN "*?.,;:/\\|+=<>[]\""

static int check_label(const struct ota_layout_part *p, struct ota_error *err)
{
	size_t units;
	if (!p->label[0])
		return 0;
	if (p->fs == OTA_FS_NONE)
		return ota_error_set(err, -EINVAL, "label: '%s' needs a filesystem (filesystem = none makes none to label)",
				     p->label);
	if (p->fs == OTA_FS_EXT4) {
		int r = check_text("label", p->label, false, &units, err);
		if (r < 0)
			return r;
		if (strlen(p->label) > OTA_EXT4_LABEL_MAX)
			return ota_error_set(err, -ENAMETOOLONG,
					     "label: '%s' has %zu bytes, an ext4 label holds %d (mkfs.ext4 would cut it)",
					     p->label, strlen(p->label), OTA_EXT4_LABEL_MAX);
		return 0;
	}
	for (const char *c = p->label; *c; c++)
		if ((unsigned char)*c < 0x20 || (unsigned char)*c > 0x7e || strchr(VFAT_LABEL_FORBIDDEN, *c))
			return ota_error_set(err, -EINVAL,
					     "label: '%s' has a character other than printable ASCII without %s, which is "
					     "what a vfat label holds", p->label, VFAT_LABEL_FORBIDDEN);
	if (strlen(p->label) > OTA_VFAT_LABEL_MAX)
		return ota_error_set(err, -ENAMETOOLONG, "label: '%s' has %zu characters, a vfat label holds %d",
				     p->label, strlen(p->label), OTA_VFAT_LABEL_MAX);
	return 0;
}

static int check_mkfs_options(const struct ota_layout_part *p, struct ota_error *err)
{
	size_t words = 0;
	if (!p->mkfs_options[0])
		return 0;
	if (p->fs == OTA_FS_NONE)
		return ota_error_set(err, -EINVAL, "mkfs-options: '%s' needs a filesystem (filesystem = none runs no mkfs)",
				     p->mkfs_options);
	for (const char *c = p->mkfs_options; *c; c++)
		words += !strchr(" \t", *c) && (c == p->mkfs_options || strchr(" \t", c[-1]));
	if (words > OTA_MKFS_MAX_OPTIONS)
		return ota_error_set(err, -E2BIG, "mkfs-options: %zu words, at most %d", words, OTA_MKFS_MAX_OPTIONS);
	return 0;
}

/* ---- sizes ---------------------------------------------------------------------- */

uint64_t ota_layout_min_size(const struct ota_layout_part *p, const char **why)
{
	if (p->fs == OTA_FS_EXT4) {
		*why = "ext4 (mkfs.ext4 makes no journal below 2048 blocks)";
		return OTA_EXT4_MIN_SIZE;
	}
	*why = "a partition (partitions start on 1 MiB boundaries)";
	return OTA_PART_MIN_SIZE;
}

static int handle_size(struct ota_layout_part *p, const char *value, struct ota_error *err)
{
	p->rest = strcmp(value, "rest") == 0;
	if (p->rest)
		return 0;
	int r = ota_parse_size(value, &p->size);
	if (r == -ERANGE)
		return ota_error_set(err, -ERANGE, "size: '%s' is more than 2^64 - 1 bytes (16 EiB)", value);
	if (r < 0)
		return ota_error_set(err, -EINVAL,
				     "size: '%s' is not a size like 64M, 2G or rest (a number of bytes, or K, M, G, T: "
				     "powers of 1024)", value);
	if (p->size < OTA_PART_MIN_SIZE)
		return ota_error_set(err, -EINVAL, "size: '%s' is below the minimum of 1 MiB (partitions start on 1 MiB "
				     "boundaries)", value);
	if (p->size % 512)
		return ota_error_set(err, -EINVAL, "size: '%s' is not a whole number of 512-byte sectors", value);
	return 0;
}

static bool is_guid(const char *s)
{
	static const char pattern[] = "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx";
	if (strlen(s) != sizeof(pattern) - 1)
		return false;
	for (size_t i = 0; s[i]; i++)
		if (pattern[i] == '-' ? s[i] != '-' : !isxdigit((unsigned char)s[i]))
			return false;
	return true;
}

/* The partition a [partition NAME] section declares; its place on the
 * disk is where the section first appears. */
static struct ota_layout_part *part_for(struct parse_state *s, const char *name, size_t *ret_index)
{
	struct ota_layout *l = s->l;
	for (size_t i = 0; i < l->n_parts; i++)
		if (strcmp(l->parts[i].name, name) == 0) {
			*ret_index = i;
			return &l->parts[i];
		}
	if (l->n_parts >= OTA_LAYOUT_MAX_PARTS) {
		ota_error_set(s->err, -E2BIG, "more than %d partitions (ota-part's limit)", OTA_LAYOUT_MAX_PARTS);
		return NULL;
	}
	struct ota_layout_part *p = &l->parts[l->n_parts];
	if (check_name(name, s->err) < 0)
		return NULL;
	(void)!ota_format(p->name, sizeof(p->name), "%s", name); /* fits: check_name bounds it */
	*ret_index = l->n_parts++;
	return p;
}

static int handle_part(struct parse_state *s, const char *name, const char *key, const char *value)
{
	size_t i;
	struct ota_layout_part *p = part_for(s, name, &i);
	if (!p)
		return s->err ? s->err->code : -EINVAL;
	size_t k = 0;
	while (k < OTA_ELEMENTSOF(part_keys) && strcmp(key, part_keys[k]) != 0)
		k++;
	if (k == OTA_ELEMENTSOF(part_keys))
		return ota_error_set(s->err, -EINVAL, "unknown key '%s' in [partition %s]", key, name);
	s->raw[i].seen |= 1u << k;
	switch ((enum part_key)k) {
	case KEY_SIZE:
		return handle_size(p, value, s->err);
	case KEY_TYPE:
		return ota_format(s->raw[i].type, sizeof(s->raw[i].type), "%s", value) < 0
			       ? ota_error_set(s->err, -EINVAL, "type: '%s' is not a GPT type GUID, an MBR type byte or "
					       "an alias", value)
			       : 0;
	case KEY_FILESYSTEM:
		if (strcmp(value, "ext4") == 0)
			p->fs = OTA_FS_EXT4;
		else if (strcmp(value, "vfat") == 0)
			p->fs = OTA_FS_VFAT;
		else if (strcmp(value, "none") == 0)
			p->fs = OTA_FS_NONE;
		else
			return ota_error_set(s->err, -EINVAL, "filesystem: '%s' is not ext4, vfat or none", value);
		return 0;
	case KEY_LABEL:
		return ota_format(p->label, sizeof(p->label), "%s", value) < 0
			       ? ota_error_set(s->err, -ENAMETOOLONG, "label: '%s' is longer than any filesystem's label",
					       value)
			       : 0;
	case KEY_MKFS_OPTIONS:
		return ota_format(p->mkfs_options, sizeof(p->mkfs_options), "%s", value) < 0
			       ? ota_error_set(s->err, -E2BIG, "mkfs-options: %zu bytes, at most %zu", strlen(value),
					       sizeof(p->mkfs_options) - 1)
			       : 0;
	case KEY_GROW:
		return ota_parse_bool(value, &p->grow) < 0
			       ? ota_error_set(s->err, -EINVAL, "grow: '%s' is not yes or no", value)
			       : 0;
	}
	return -EINVAL;
}

static int on_entry(void *user, const char *section, const char *key, const char *value, int line)
{
	struct parse_state *s = user;
	int r;
	if (s->r < 0)
		return 0;
	if (strcmp(section, "table") == 0) {
		s->has_table = true;
		if (strcmp(key, "type") != 0)
			r = ota_error_set(s->err, -EINVAL, "unknown key '%s' in [table]", key);
		else if (strcmp(value, "gpt") == 0)
			r = (s->l->table = OTA_TABLE_GPT, 0);
		else if (strcmp(value, "mbr") == 0 || strcmp(value, "dos") == 0)
			r = (s->l->table = OTA_TABLE_MBR, 0);
		else
			r = ota_error_set(s->err, -EINVAL, "[table] type: '%s' is not gpt or mbr", value);
	} else if (ota_startswith(section, "partition ")) {
		r = handle_part(s, section + strlen("partition "), key, value);
		if (r < 0)
			ota_error_prefix(s->err, "[%s] ", section);
	} else {
		r = ota_error_set(s->err, -EINVAL, "unknown section [%s] (expected [table] or [partition NAME])",
				  section);
	}
	if (r < 0) {
		s->r = r;
		s->error_line = line;
		return 1;
	}
	return 0;
}

/* A partition declared with the pending type would be formatted again at
 * every boot. */
static int pending_type(const struct ota_layout_part *p, const char *raw, bool pending, struct ota_error *err)
{
	return pending ? ota_error_set(err, -EINVAL,
				       "[partition %s] type: '%s' is ota-part's own mark for a partition not yet formatted",
				       p->name, raw)
		       : 0;
}

static int resolve_type(struct ota_layout *l, struct ota_layout_part *p, const char *raw, struct ota_error *err)
{
	for (size_t i = 0; i < OTA_ELEMENTSOF(aliases); i++) {
		if (strcmp(raw, aliases[i].name) != 0)
			continue;
		if (l->table == OTA_TABLE_GPT)
			return ota_format(p->gpt_type, sizeof(p->gpt_type), "%s", aliases[i].gpt);
		p->mbr_type = aliases[i].mbr;
		return 0;
	}
	if (l->table == OTA_TABLE_GPT) {
		if (!is_guid(raw))
			return ota_error_set(err, -EINVAL, "[partition %s] type: '%s' is not a GPT type GUID or an alias",
					     p->name, raw);
		(void)!ota_format(p->gpt_type, sizeof(p->gpt_type), "%s", raw);
		for (char *c = p->gpt_type; *c; c++)
			*c = (char)tolower((unsigned char)*c);
		if (strcmp(p->gpt_type, "00000000-0000-0000-0000-000000000000") == 0)
			return ota_error_set(err, -EINVAL, "[partition %s] type: '%s' marks an unused GPT entry", p->name,
					     raw);
		return pending_type(p, raw, strcmp(p->gpt_type, OTA_PART_PENDING_GUID) == 0, err);
	}
	uint64_t v;
	char hex[16];
	if (ota_format(hex, sizeof(hex), "%s%s", ota_startswith(raw, "0x") ? "" : "0x", raw) < 0 ||
	    ota_parse_u64_or_hex(hex, &v) < 0 || v == 0 || v > 0xff || v == 0x05 || v == 0x0f || v == 0x85)
		return ota_error_set(err, -EINVAL,
				     "[partition %s] type: '%s' is not an MBR type byte (hex, not extended) or an alias",
				     p->name, raw);
	if (v == 0xee)
		return ota_error_set(err, -EINVAL, "[partition %s] type: '%s' is the GPT protective type; use [table] "
				     "type = gpt", p->name, raw);
	p->mbr_type = (unsigned)v;
	return pending_type(p, raw, v == OTA_PART_PENDING_MBR, err);
}

static int check_part(struct parse_state *s, size_t i)
{
	struct ota_layout *l = s->l;
	struct ota_layout_part *p = &l->parts[i];
	const char *why;
	if (!(s->raw[i].seen & (1u << KEY_SIZE)))
		return ota_error_set(s->err, -EINVAL, "has no size");
	if (!(s->raw[i].seen & (1u << KEY_TYPE)))
		return ota_error_set(s->err, -EINVAL, "has no type");
	if (p->rest && i + 1 != l->n_parts)
		return ota_error_set(s->err, -EINVAL, "size = rest is only allowed for the last partition");
	if (p->grow && p->fs != OTA_FS_EXT4)
		return ota_error_set(s->err, -EINVAL, "grow = yes needs filesystem = ext4");
	uint64_t min = ota_layout_min_size(p, &why);
	if (!p->rest && p->size < min)
		return ota_error_set(s->err, -EINVAL, "size: %llu KiB is below the %llu MiB that %s needs",
				     (unsigned long long)(p->size >> 10), (unsigned long long)(min >> 20), why);
	/* The sector size is the disk's; with the largest one (4096) this is
	 * as far as MBR's 32-bit sizes can reach at all. */
	if (l->table == OTA_TABLE_MBR && p->size / 4096 > OTA_MBR_MAX_SECTORS)
		return ota_error_set(s->err, -EFBIG,
				     "size: %llu GiB is more than an MBR partition can hold (2^32 - 1 sectors: 2 TiB "
				     "with 512-byte sectors, 16 TiB with 4096-byte ones); use [table] type = gpt",
				     (unsigned long long)(p->size >> 30));
	int r = check_label(p, s->err);
	return r < 0 ? r : check_mkfs_options(p, s->err);
}

static int validate(struct parse_state *s)
{
	struct ota_layout *l = s->l;
	uint64_t total = 0;
	if (l->n_parts == 0)
		return ota_error_set(s->err, -EINVAL, "no [partition NAME] section");
	for (size_t i = 0; i < l->n_parts; i++) {
		int r = check_part(s, i);
		if (r < 0) {
			ota_error_prefix(s->err, "[partition %s] ", l->parts[i].name);
			return r;
		}
		r = resolve_type(l, &l->parts[i], s->raw[i].type, s->err);
		if (r < 0)
			return r;
		if (total > UINT64_MAX - l->parts[i].size)
			return ota_error_set(s->err, -ERANGE, "the sizes add up to more than 2^64 - 1 bytes (16 EiB)");
		total += l->parts[i].size;
	}
	return 0;
}

int ota_layout_parse(struct ota_layout *l, const char *text, const char *source, struct ota_error *err)
{
	struct parse_state s = { .err = err };
	struct ota_layout parsed = { .table = OTA_TABLE_GPT };
	s.l = &parsed;
	if (ota_ini_first_error(ota_ini_parse_text(text, on_entry, NULL, &s, err), &s.r, &s.error_line) == 0)
		s.r = validate(&s); /* about the whole file: no line */
	if (s.r < 0) {
		ota_ini_error_at(err, source, s.error_line);
		return s.r;
	}
	*l = parsed;
	return 0;
}

int ota_layout_load(struct ota_layout *l, const char *path, struct ota_error *err)
{
	_cleanup_free_ char *text = NULL;
	int r = ota_read_config_file(path, &text, err);
	if (r < 0)
		return r;
	return ota_layout_parse(l, text, path, err);
}

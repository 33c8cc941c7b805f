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

struct raw_part {
	char type[64];
	bool has_size, has_type;
};

struct parse_state {
	struct ota_layout *l;
	struct raw_part raw[OTA_LAYOUT_MAX_PARTS];
	bool has_table;
	struct ota_error *err;
	int r;
	int error_line;
};

static int parse_size(const char *s, uint64_t *ret)
{
	char *end = NULL;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || end == s || *s == '-')
		return -EINVAL;
	unsigned shift = 0;
	if (*end) {
		const char *units = "KMGT";
		const char *u = strchr(units, toupper((unsigned char)*end));
		if (!u || (end[1] && strcasecmp(end + 1, "iB") != 0 && strcasecmp(end + 1, "B") != 0))
			return -EINVAL;
		shift = 10u * (unsigned)(u - units + 1);
	}
	if (shift && v > (UINT64_MAX >> shift))
		return -ERANGE;
	*ret = (uint64_t)v << shift;
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

static struct ota_layout_part *part_for(struct parse_state *s, const char *name, size_t *ret_index)
{
	struct ota_layout *l = s->l;
	for (size_t i = 0; i < l->n_parts; i++)
		if (strcmp(l->parts[i].name, name) == 0) {
			*ret_index = i;
			return &l->parts[i];
		}
	if (l->n_parts >= OTA_LAYOUT_MAX_PARTS) {
		ota_error_set(s->err, -E2BIG, "more than %d partitions", OTA_LAYOUT_MAX_PARTS);
		return NULL;
	}
	struct ota_layout_part *p = &l->parts[l->n_parts];
	if (!*name || ota_format(p->name, sizeof(p->name), "%s", name) < 0) {
		ota_error_set(s->err, -EINVAL, "partition name '%s' is empty or too long", name);
		return NULL;
	}
	*ret_index = l->n_parts++;
	return p;
}

static int handle_part(struct parse_state *s, const char *name, const char *key, const char *value)
{
	size_t i;
	struct ota_layout_part *p = part_for(s, name, &i);
	if (!p)
		return s->err ? s->err->code : -EINVAL;
	if (strcmp(key, "size") == 0) {
		s->raw[i].has_size = true;
		p->rest = strcmp(value, "rest") == 0;
		if (!p->rest && (parse_size(value, &p->size) < 0 || p->size == 0))
			return ota_error_set(s->err, -EINVAL, "size: '%s' is not a size like 64M, 2G or rest", value);
		return 0;
	}
	if (strcmp(key, "type") == 0) {
		s->raw[i].has_type = true;
		return ota_format(s->raw[i].type, sizeof(s->raw[i].type), "%s", value) < 0
			       ? ota_error_set(s->err, -EINVAL, "type: '%s' is too long", value)
			       : 0;
	}
	if (strcmp(key, "filesystem") == 0) {
		if (strcmp(value, "ext4") == 0)
			p->fs = OTA_FS_EXT4;
		else if (strcmp(value, "vfat") == 0)
			p->fs = OTA_FS_VFAT;
		else if (strcmp(value, "none") == 0)
			p->fs = OTA_FS_NONE;
		else
			return ota_error_set(s->err, -EINVAL, "filesystem: '%s' is not ext4, vfat or none", value);
		return 0;
	}
	if (strcmp(key, "label") == 0)
		return ota_format(p->label, sizeof(p->label), "%s", value) < 0
			       ? ota_error_set(s->err, -EINVAL, "label: '%s' is too long", value)
			       : 0;
	if (strcmp(key, "mkfs-options") == 0)
		return ota_format(p->mkfs_options, sizeof(p->mkfs_options), "%s", value) < 0
			       ? ota_error_set(s->err, -EINVAL, "mkfs-options too long")
			       : 0;
	if (strcmp(key, "grow") == 0)
		return ota_parse_bool(value, &p->grow) < 0
			       ? ota_error_set(s->err, -EINVAL, "grow: '%s' is not yes or no", value)
			       : 0;
	return ota_error_set(s->err, -EINVAL, "unknown key '%s' in [partition %s]", key, name);
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
		return 0;
	}
	uint64_t v;
	char hex[16];
	if (ota_format(hex, sizeof(hex), "%s%s", ota_startswith(raw, "0x") ? "" : "0x", raw) < 0 ||
	    ota_parse_u64_or_hex(hex, &v) < 0 || v == 0 || v > 0xff || v == 0x05 || v == 0x0f || v == 0x85)
		return ota_error_set(err, -EINVAL,
				     "[partition %s] type: '%s' is not an MBR type byte (hex, not extended) or an alias",
				     p->name, raw);
	p->mbr_type = (unsigned)v;
	return 0;
}

static int validate(struct parse_state *s)
{
	struct ota_layout *l = s->l;
	if (l->n_parts == 0)
		return ota_error_set(s->err, -EINVAL, "no [partition NAME] section");
	for (size_t i = 0; i < l->n_parts; i++) {
		struct ota_layout_part *p = &l->parts[i];
		if (!s->raw[i].has_size)
			return ota_error_set(s->err, -EINVAL, "[partition %s] has no size", p->name);
		if (!s->raw[i].has_type)
			return ota_error_set(s->err, -EINVAL, "[partition %s] has no type", p->name);
		if (p->rest && i + 1 != l->n_parts)
			return ota_error_set(s->err, -EINVAL, "[partition %s] size = rest is only allowed for the last partition",
					     p->name);
		if (p->grow && p->fs != OTA_FS_EXT4)
			return ota_error_set(s->err, -EINVAL, "[partition %s] grow = yes needs filesystem = ext4", p->name);
		int r = resolve_type(l, p, s->raw[i].type, s->err);
		if (r < 0)
			return r;
	}
	if (l->table == OTA_TABLE_MBR && l->n_parts > 4 + 59)
		return ota_error_set(s->err, -E2BIG, "too many partitions for MBR");
	return 0;
}

int ota_layout_parse(struct ota_layout *l, const char *text, const char *source, struct ota_error *err)
{
	struct parse_state s = { .err = err };
	struct ota_layout parsed = { .table = OTA_TABLE_GPT };
	s.l = &parsed;
	int line = ota_ini_parse_text(text, on_entry, NULL, &s, err);
	if (line > 0 && (s.r == 0 || line < s.error_line)) {
		s.r = -EINVAL; /* err holds the reason */
		s.error_line = line;
	}
	if (s.r < 0) {
		ota_error_prefix(err, "%s:%d: ", source, s.error_line);
		return s.r;
	}
	s.r = validate(&s);
	if (s.r < 0) {
		ota_error_prefix(err, "%s: ", source);
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

/* SPDX-License-Identifier: Apache-2.0 */
/* ota-update's part of /etc/ota/system.conf; see update.h and docs/update.md.
 *
 *   [system]   compatible, version
 *   [update]   keyring, downgrade, status-file, hooks-dir, lock-file, ca-file, channel, hook-timeout,
 *              http-connect-timeout, http-attempts, http-min-rate, http-stall-time,
 *              download-timeout, check-time, min-rsa-bits,
 *              min-ec-bits, min-digest-bits
 *   [bootflow] type, executable, timeout, tries (all types); device,
 *              directory, kernel-cmdline (grub);
 *              env-mode, env, env-offset, env-size, env-redundant,
 *              env-redundant-offset (uboot); autoboot, state-file,
 *              partition.<group> (rpi-tryboot); proc (tests: a fake /proc)
 *   [slot.<name>]  class, device | file
 *   [group.<name>] <class> = <slot name>
 *
 * [data] and [init] belong to ota-init and are skipped here. */
#include <errno.h>
#include <string.h>

#include "update/update.h"

struct parse_state {
	struct ota_update_config *c;
	struct ota_error *err;
	int r;
	int error_line;
	/* group membership as read, resolved after the whole file */
	struct member {
		char *group, *slot_class, *slot;
		int line;
	} *members;
	size_t n_members;
	size_t n_groups;
};

static bool name_ok(const char *s)
{
	return ota_bootflow_group_name_valid(s);
}

static struct ota_slot_config *find_slot(struct ota_update_config *c, const char *name)
{
	for (size_t i = 0; i < c->n_slots; i++)
		if (strcmp(c->slots[i].name, name) == 0)
			return &c->slots[i];
	return NULL;
}

static int set_str(char **field, const char *section, const char *key, const char *value, bool absolute,
		   struct ota_error *err)
{
	if (!value[0])
		return ota_error_set(err, -EINVAL, "[%s] %s: empty value", section, key);
	if (absolute && value[0] != '/')
		return ota_error_set(err, -EINVAL, "[%s] %s: '%s' is not an absolute path", section, key, value);
	return ota_strdup_to(field, value);
}

static int set_uint(unsigned *field, const char *section, const char *key, const char *value, uint64_t min,
		    uint64_t max, struct ota_error *err)
{
	uint64_t n;
	if (ota_parse_u64(value, &n) < 0 || n < min || n > max)
		return ota_error_set(err, -EINVAL, "[%s] %s: '%s' is not a number in %llu..%llu", section, key, value,
				     (unsigned long long)min, (unsigned long long)max);
	*field = (unsigned)n;
	return 0;
}

static int handle_system(struct parse_state *s, const char *key, const char *value)
{
	if (strcmp(key, "compatible") == 0)
		return set_str(&s->c->compatible, "system", key, value, false, s->err);
	if (strcmp(key, "version") == 0)
		return set_str(&s->c->version, "system", key, value, false, s->err);
	return ota_error_set(s->err, -EINVAL, "unknown key '%s' in section [system]", key);
}

static int handle_update(struct parse_state *s, const char *key, const char *value)
{
	struct ota_update_config *c = s->c;
	if (strcmp(key, "keyring") == 0)
		return set_str(&c->keyring, "update", key, value, true, s->err);
	if (strcmp(key, "status-file") == 0)
		return set_str(&c->status_file, "update", key, value, true, s->err);
	if (strcmp(key, "hooks-dir") == 0)
		return set_str(&c->hooks_dir, "update", key, value, true, s->err);
	if (strcmp(key, "lock-file") == 0)
		return set_str(&c->lock_file, "update", key, value, true, s->err);
	if (strcmp(key, "ca-file") == 0)
		return set_str(&c->ca_file, "update", key, value, true, s->err);
	if (strcmp(key, "channel") == 0)
		return set_str(&c->channel, "update", key, value, false, s->err);
	if (strcmp(key, "hook-timeout") == 0)
		return set_uint(&c->hook_timeout_s, "update", key, value, 1, 86400, s->err);
	if (strcmp(key, "http-connect-timeout") == 0)
		return set_uint(&c->http_connect_timeout_s, "update", key, value, 1, 3600, s->err);
	if (strcmp(key, "http-attempts") == 0)
		return set_uint(&c->http_attempts, "update", key, value, 1, 100, s->err);
	if (strcmp(key, "http-min-rate") == 0)
		return set_uint(&c->http_min_rate, "update", key, value, 1, 1u << 30, s->err);
	if (strcmp(key, "http-stall-time") == 0)
		return set_uint(&c->http_stall_time_s, "update", key, value, 1, 3600, s->err);
	if (strcmp(key, "download-timeout") == 0)
		return set_uint(&c->download_timeout_s, "update", key, value, 1, 7 * 86400, s->err);
	/* The algorithm floor can only be raised (bundle.h); the upper bounds
	 * are the largest that exist. */
	if (strcmp(key, "min-rsa-bits") == 0)
		return set_uint(&c->algorithms.min_rsa_bits, "update", key, value, OTA_BUNDLE_MIN_RSA_BITS, 16384, s->err);
	if (strcmp(key, "min-ec-bits") == 0)
		return set_uint(&c->algorithms.min_ec_bits, "update", key, value, OTA_BUNDLE_MIN_EC_BITS, 521, s->err);
	if (strcmp(key, "min-digest-bits") == 0)
		return set_uint(&c->algorithms.min_digest_bits, "update", key, value, OTA_BUNDLE_MIN_DIGEST_BITS, 512,
				s->err);
	if (strcmp(key, "check-time") == 0) {
		if (strcmp(value, "auto") == 0)
			c->check_time = OTA_CHECK_TIME_AUTO;
		else if (strcmp(value, "yes") == 0)
			c->check_time = OTA_CHECK_TIME_YES;
		else if (strcmp(value, "no") == 0)
			c->check_time = OTA_CHECK_TIME_NO;
		else
			return ota_error_set(s->err, -EINVAL, "[update] check-time: '%s' is not auto, yes or no", value);
		return 0;
	}
	if (strcmp(key, "downgrade") == 0) {
		if (strcmp(value, "refuse") == 0)
			c->downgrade = OTA_DOWNGRADE_REFUSE;
		else if (strcmp(value, "strict") == 0)
			c->downgrade = OTA_DOWNGRADE_STRICT;
		else if (strcmp(value, "allow") == 0)
			c->downgrade = OTA_DOWNGRADE_ALLOW;
		else
			return ota_error_set(s->err, -EINVAL, "[update] downgrade: '%s' is not refuse, strict or allow",
					     value);
		return 0;
	}
	return ota_error_set(s->err, -EINVAL, "unknown key '%s' in section [update]", key);
}

/* A byte offset or size: decimal or 0x hex, below 2^62 so that offset +
 * size never overflows an off_t. */
static int set_u64(uint64_t *field, const char *key, const char *value, struct ota_error *err)
{
	uint64_t n;
	if (ota_parse_u64_or_hex(value, &n) < 0 || n > (UINT64_C(1) << 62))
		return ota_error_set(err, -EINVAL, "[bootflow] %s: '%s' is not a number in 0..2^62 (decimal or 0x hex)",
				     key, value);
	*field = n;
	return 0;
}

static int set_partition(struct parse_state *s, const char *group, const char *value)
{
	struct ota_update_config *c = s->c;
	if (!name_ok(group))
		return ota_error_set(s->err, -EINVAL, "[bootflow] partition.%s: invalid group name", group);
	size_t i = 0;
	while (i < 2 && c->bootflow_partition_group[i] && strcmp(c->bootflow_partition_group[i], group) != 0)
		i++;
	if (i == 2)
		return ota_error_set(s->err, -EINVAL, "[bootflow] partition.%s: more than two groups", group);
	if (!c->bootflow_partition_group[i] && ota_strdup_to(&c->bootflow_partition_group[i], group) < 0)
		return -ENOMEM;
	return set_uint(&c->bootflow_partition[i], "bootflow", "partition", value, 1, 255, s->err);
}

/* The uboot and rpi-tryboot keys. */
static int handle_bootflow_firmware(struct parse_state *s, const char *key, const char *value)
{
	struct ota_update_config *c = s->c;
	if (strcmp(key, "env-mode") == 0) {
		if (strcmp(value, "native") != 0 && strcmp(value, "file") != 0)
			return ota_error_set(s->err, -EINVAL, "[bootflow] env-mode: '%s' is not native or file", value);
		return set_str(&c->bootflow_env_mode, "bootflow", key, value, false, s->err);
	}
	if (strcmp(key, "env") == 0)
		return set_str(&c->bootflow_env, "bootflow", key, value, true, s->err);
	if (strcmp(key, "env-redundant") == 0)
		return set_str(&c->bootflow_env_redundant, "bootflow", key, value, true, s->err);
	if (strcmp(key, "env-offset") == 0)
		return set_u64(&c->bootflow_env_offset, key, value, s->err);
	if (strcmp(key, "env-size") == 0)
		return set_u64(&c->bootflow_env_size, key, value, s->err);
	if (strcmp(key, "env-redundant-offset") == 0) {
		c->bootflow_env_has_redundant = true;
		return set_u64(&c->bootflow_env_redundant_offset, key, value, s->err);
	}
	if (strcmp(key, "autoboot") == 0)
		return set_str(&c->bootflow_autoboot, "bootflow", key, value, true, s->err);
	if (strcmp(key, "state-file") == 0)
		return set_str(&c->bootflow_state_file, "bootflow", key, value, true, s->err);
	if (strcmp(key, "proc") == 0)
		return set_str(&c->bootflow_proc, "bootflow", key, value, true, s->err);
	if (ota_startswith(key, "partition."))
		return set_partition(s, key + 10, value);
	return ota_error_set(s->err, -EINVAL, "unknown key '%s' in section [bootflow]", key);
}

static int handle_bootflow(struct parse_state *s, const char *key, const char *value)
{
	struct ota_update_config *c = s->c;
	if (strcmp(key, "type") == 0)
		return set_str(&c->bootflow_type, "bootflow", key, value, false, s->err);
	if (strcmp(key, "executable") == 0)
		return set_str(&c->bootflow_executable, "bootflow", key, value, true, s->err);
	if (strcmp(key, "timeout") == 0)
		return set_uint(&c->bootflow_timeout_s, "bootflow", key, value, 1, 3600, s->err);
	if (strcmp(key, "tries") == 0)
		return set_uint(&c->tries, "bootflow", key, value, 1, OTA_BOOTFLOW_MAX_TRIES, s->err);
	if (strcmp(key, "device") == 0)
		return set_str(&c->bootflow_device, "bootflow", key, value, false, s->err);
	if (strcmp(key, "directory") == 0)
		return set_str(&c->bootflow_directory, "bootflow", key, value, false, s->err);
	if (strcmp(key, "kernel-cmdline") == 0)
		return set_str(&c->bootflow_cmdline, "bootflow", key, value, true, s->err);
	return handle_bootflow_firmware(s, key, value);
}

static int handle_slot(struct parse_state *s, const char *name, const char *key, const char *value)
{
	struct ota_update_config *c = s->c;
	if (!name_ok(name))
		return ota_error_set(s->err, -EINVAL, "[slot.%s]: invalid slot name (1-63 of A-Z a-z 0-9 _ -)", name);
	struct ota_slot_config *slot = find_slot(c, name);
	if (!slot) {
		if (c->n_slots >= OTA_UPDATE_MAX_SLOTS)
			return ota_error_set(s->err, -E2BIG, "more than %u slots", OTA_UPDATE_MAX_SLOTS);
		struct ota_slot_config *n = realloc(c->slots, (c->n_slots + 1) * sizeof(*n));
		if (!n)
			return -ENOMEM;
		c->slots = n;
		slot = &c->slots[c->n_slots];
		*slot = (struct ota_slot_config){ 0 };
		if (ota_strdup_to(&slot->name, name) < 0)
			return -ENOMEM;
		c->n_slots++;
	}
	char section[80];
	(void)snprintf(section, sizeof(section), "slot.%s", name);
	if (strcmp(key, "class") == 0) {
		if (!name_ok(value))
			return ota_error_set(s->err, -EINVAL, "[%s] class: invalid class name '%s'", section, value);
		return ota_strdup_to(&slot->slot_class, value);
	}
	if (strcmp(key, "device") == 0) {
		if (!ota_startswith(value, "/dev/") && !ota_startswith(value, "PARTLABEL=") &&
		    !ota_startswith(value, "PARTUUID="))
			return ota_error_set(s->err, -EINVAL,
					     "[%s] device: '%s' is not /dev/..., PARTLABEL= or PARTUUID=", section, value);
		return ota_strdup_to(&slot->device, value);
	}
	if (strcmp(key, "file") == 0)
		return set_str(&slot->file, section, key, value, true, s->err);
	return ota_error_set(s->err, -EINVAL, "unknown key '%s' in section [%s]", key, section);
}

static int handle_group(struct parse_state *s, const char *group, const char *key, const char *value, int line)
{
	if (!name_ok(group))
		return ota_error_set(s->err, -EINVAL, "[group.%s]: invalid group name (1-63 of A-Z a-z 0-9 _ -)", group);
	if (!name_ok(key) || !name_ok(value))
		return ota_error_set(s->err, -EINVAL, "[group.%s] %s = %s: expected <class> = <slot name>", group, key,
				     value);
	struct ota_update_config *c = s->c;
	bool known = false;
	for (size_t i = 0; i < 2; i++)
		if (c->groups[i] && strcmp(c->groups[i], group) == 0)
			known = true;
	if (!known) {
		if (s->n_groups >= 2)
			return ota_error_set(s->err, -EINVAL, "[group.%s]: more than two boot groups", group);
		if (ota_strdup_to(&c->groups[s->n_groups++], group) < 0)
			return -ENOMEM;
	}
	struct member *m = realloc(s->members, (s->n_members + 1) * sizeof(*m));
	if (!m)
		return -ENOMEM;
	s->members = m;
	m = &s->members[s->n_members];
	*m = (struct member){ .line = line };
	if (ota_strdup_to(&m->group, group) < 0 || ota_strdup_to(&m->slot_class, key) < 0 ||
	    ota_strdup_to(&m->slot, value) < 0) {
		free(m->group);
		free(m->slot_class);
		free(m->slot);
		return -ENOMEM;
	}
	s->n_members++;
	return 0;
}

static int on_entry(void *user, const char *section, const char *key, const char *value, int line)
{
	struct parse_state *s = user;
	int r;
	if (s->r < 0)
		return 0;
	if (strcmp(section, "data") == 0 || strcmp(section, "init") == 0)
		r = 0; /* ota-init's */
	else if (strcmp(section, "system") == 0)
		r = handle_system(s, key, value);
	else if (strcmp(section, "update") == 0)
		r = handle_update(s, key, value);
	else if (strcmp(section, "bootflow") == 0)
		r = handle_bootflow(s, key, value);
	else if (ota_startswith(section, "slot."))
		r = handle_slot(s, section + 5, key, value);
	else if (ota_startswith(section, "group."))
		r = handle_group(s, section + 6, key, value, line);
	else if (!section[0])
		r = ota_error_set(s->err, -EINVAL, "key '%s' outside of any section", key);
	else
		r = ota_error_set(s->err, -EINVAL, "unknown section [%s]", section);
	if (r == -ENOMEM)
		ota_error_set(s->err, r, "out of memory");
	if (r < 0) {
		s->r = r;
		s->error_line = line;
		return 1;
	}
	return 0;
}

static int resolve_groups(struct parse_state *s)
{
	struct ota_update_config *c = s->c;
	for (size_t i = 0; i < s->n_members; i++) {
		struct member *m = &s->members[i];
		s->error_line = m->line;
		struct ota_slot_config *slot = find_slot(c, m->slot);
		if (!slot)
			return ota_error_set(s->err, -EINVAL, "[group.%s] %s: no section [slot.%s]", m->group,
					     m->slot_class, m->slot);
		if (!slot->slot_class || strcmp(slot->slot_class, m->slot_class) != 0)
			return ota_error_set(s->err, -EINVAL, "[group.%s] %s = %s: slot %s is of class '%s'", m->group,
					     m->slot_class, m->slot, m->slot, slot->slot_class ? slot->slot_class : "");
		if (slot->group)
			return ota_error_set(s->err, -EINVAL, "[group.%s]: slot %s is already in group %s", m->group,
					     m->slot, slot->group);
		for (size_t j = 0; j < i; j++)
			if (strcmp(s->members[j].group, m->group) == 0 &&
			    strcmp(s->members[j].slot_class, m->slot_class) == 0)
				return ota_error_set(s->err, -EINVAL, "[group.%s]: class '%s' given twice", m->group,
						     m->slot_class);
		if (ota_strdup_to(&slot->group, m->group) < 0)
			return ota_error_set(s->err, -ENOMEM, "out of memory");
	}
	s->error_line = 0;
	return 0;
}

/* What the uboot and rpi-tryboot backends need, said in config terms (the
 * backends check again, in their own terms). */
static int validate_bootflow_firmware(struct parse_state *s)
{
	struct ota_update_config *c = s->c;
	if (strcmp(c->bootflow_type, "uboot") == 0) {
		bool file = c->bootflow_env_mode && strcmp(c->bootflow_env_mode, "file") == 0;
		if (!c->bootflow_env)
			return ota_error_set(s->err, -EINVAL, "[bootflow] env is required for type uboot");
		if (!file && !c->bootflow_env_size)
			return ota_error_set(s->err, -EINVAL,
					     "[bootflow] env-size (U-Boot's CONFIG_ENV_SIZE) is required for env-mode native");
		if (file && (c->bootflow_env_size || c->bootflow_env_offset || c->bootflow_env_has_redundant))
			return ota_error_set(s->err, -EINVAL,
					     "[bootflow] env-mode file takes no env-size, env-offset or env-redundant-offset");
	}
	if (strcmp(c->bootflow_type, "rpi-tryboot") == 0) {
		if (!c->bootflow_autoboot)
			return ota_error_set(s->err, -EINVAL, "[bootflow] autoboot is required for type rpi-tryboot");
		for (size_t i = 0; i < 2; i++) {
			bool found = false;
			for (size_t j = 0; j < 2; j++)
				if (c->bootflow_partition_group[j] && strcmp(c->bootflow_partition_group[j], c->groups[i]) == 0)
					found = true;
			if (!found)
				return ota_error_set(s->err, -EINVAL,
						     "[bootflow] partition.%s (its boot partition number) is required for type rpi-tryboot",
						     c->groups[i]);
		}
	}
	return 0;
}

static int validate(struct parse_state *s)
{
	struct ota_update_config *c = s->c;
	if (!c->compatible)
		return ota_error_set(s->err, -EINVAL, "[system] compatible is required");
	if (!c->version)
		return ota_error_set(s->err, -EINVAL, "[system] version is required");
	if (!c->keyring)
		return ota_error_set(s->err, -EINVAL, "[update] keyring is required");
	if (!c->bootflow_type)
		return ota_error_set(s->err, -EINVAL, "[bootflow] type is required");
	if (strcmp(c->bootflow_type, "custom") == 0 && !c->bootflow_executable)
		return ota_error_set(s->err, -EINVAL, "[bootflow] executable is required for type custom");
	if (strcmp(c->bootflow_type, "grub") == 0 && !c->bootflow_device &&
	    (!c->bootflow_directory || c->bootflow_directory[0] != '/'))
		return ota_error_set(s->err, -EINVAL,
				     "[bootflow] type grub needs device (the ESP) or an absolute directory");
	if (!c->groups[0] || !c->groups[1])
		return ota_error_set(s->err, -EINVAL, "two boot groups are required ([group.a], [group.b])");
	int r = validate_bootflow_firmware(s);
	if (r < 0)
		return r;
	for (size_t i = 0; i < c->n_slots; i++) {
		struct ota_slot_config *slot = &c->slots[i];
		if (!slot->slot_class)
			return ota_error_set(s->err, -EINVAL, "[slot.%s]: class is required", slot->name);
		if (!!slot->device == !!slot->file)
			return ota_error_set(s->err, -EINVAL, "[slot.%s]: exactly one of device and file is required",
					     slot->name);
		if (!slot->group)
			return ota_error_set(s->err, -EINVAL, "[slot.%s]: not in any group", slot->name);
		for (size_t j = 0; j < i; j++) {
			const char *a = slot->device ? slot->device : slot->file;
			const char *b = c->slots[j].device ? c->slots[j].device : c->slots[j].file;
			if (strcmp(a, b) == 0)
				return ota_error_set(s->err, -EINVAL, "[slot.%s] and [slot.%s] name the same '%s'",
						     c->slots[j].name, slot->name, a);
		}
	}
	/* Both groups hold the same classes. */
	for (size_t i = 0; i < c->n_slots; i++) {
		const char *other = ota_update_config_other_group(c, c->slots[i].group);
		if (!ota_update_config_slot(c, other, c->slots[i].slot_class))
			return ota_error_set(s->err, -EINVAL, "group %s has a slot of class '%s' (%s), group %s has none",
					     c->slots[i].group, c->slots[i].slot_class, c->slots[i].name, other);
	}
	if (c->n_slots == 0)
		return ota_error_set(s->err, -EINVAL, "no slots ([slot.<name>])");
	return 0;
}

static int set_defaults(struct ota_update_config *c)
{
	if (!c->status_file && ota_strdup_to(&c->status_file, OTA_UPDATE_STATUS_FILE) < 0)
		return -ENOMEM;
	if (!c->hooks_dir && ota_strdup_to(&c->hooks_dir, OTA_UPDATE_HOOKS_DIR) < 0)
		return -ENOMEM;
	if (!c->lock_file && ota_strdup_to(&c->lock_file, OTA_UPDATE_LOCK_FILE) < 0)
		return -ENOMEM;
	if (!c->tries)
		c->tries = OTA_UPDATE_DEFAULT_TRIES;
	if (!c->hook_timeout_s)
		c->hook_timeout_s = OTA_UPDATE_DEFAULT_HOOK_TIMEOUT_S;
	if (!c->http_min_rate)
		c->http_min_rate = OTA_BUNDLE_HTTP_DEFAULT_MIN_RATE;
	if (!c->http_stall_time_s)
		c->http_stall_time_s = OTA_BUNDLE_HTTP_DEFAULT_STALL_S;
	if (!c->download_timeout_s)
		c->download_timeout_s = OTA_BUNDLE_HTTP_DEFAULT_TIMEOUT_S;
	return 0;
}

void ota_update_config_init(struct ota_update_config *c)
{
	*c = (struct ota_update_config){ 0 };
}

void ota_update_config_done(struct ota_update_config *c)
{
	free(c->compatible);
	free(c->version);
	free(c->keyring);
	free(c->status_file);
	free(c->hooks_dir);
	free(c->lock_file);
	free(c->ca_file);
	free(c->channel);
	free(c->bootflow_type);
	free(c->bootflow_executable);
	free(c->bootflow_device);
	free(c->bootflow_directory);
	free(c->bootflow_cmdline);
	free(c->bootflow_env_mode);
	free(c->bootflow_env);
	free(c->bootflow_env_redundant);
	free(c->bootflow_autoboot);
	free(c->bootflow_state_file);
	free(c->bootflow_proc);
	free(c->bootflow_partition_group[0]);
	free(c->bootflow_partition_group[1]);
	free(c->groups[0]);
	free(c->groups[1]);
	for (size_t i = 0; i < c->n_slots; i++) {
		free(c->slots[i].name);
		free(c->slots[i].slot_class);
		free(c->slots[i].device);
		free(c->slots[i].file);
		free(c->slots[i].group);
	}
	free(c->slots);
	ota_update_config_init(c);
}

int ota_update_config_parse(struct ota_update_config *c, const char *text, const char *name, struct ota_error *err)
{
	struct ota_update_config parsed;
	ota_update_config_init(&parsed);
	struct parse_state s = { .c = &parsed, .err = err };

	int line = ota_ini_parse_text(text, on_entry, NULL, &s, err);
	if (line > 0 && (s.r == 0 || line < s.error_line)) {
		s.r = -EINVAL; /* err holds the reason */
		s.error_line = line;
	}
	if (s.r == 0)
		s.r = resolve_groups(&s);
	if (s.r == 0)
		s.r = validate(&s);
	if (s.r == 0 && set_defaults(&parsed) < 0)
		s.r = ota_error_set(err, -ENOMEM, "out of memory");
	for (size_t i = 0; i < s.n_members; i++) {
		free(s.members[i].group);
		free(s.members[i].slot_class);
		free(s.members[i].slot);
	}
	free(s.members);
	if (s.r < 0) {
		if (s.error_line > 0)
			ota_error_prefix(err, "%s:%d: ", name, s.error_line);
		else
			ota_error_prefix(err, "%s: ", name);
		ota_update_config_done(&parsed);
		return s.r;
	}
	ota_update_config_done(c);
	*c = parsed;
	return 0;
}

int ota_update_config_load(struct ota_update_config *c, const char *path, struct ota_error *err)
{
	_cleanup_free_ char *text = NULL;
	int r = ota_read_config_file(path, &text, err);
	if (r < 0)
		return r;
	return ota_update_config_parse(c, text, path, err);
}

const struct ota_slot_config *ota_update_config_slot(const struct ota_update_config *c, const char *group,
						     const char *slot_class)
{
	for (size_t i = 0; group && i < c->n_slots; i++)
		if (c->slots[i].group && strcmp(c->slots[i].group, group) == 0 &&
		    strcmp(c->slots[i].slot_class, slot_class) == 0)
			return &c->slots[i];
	return NULL;
}

const char *ota_update_config_other_group(const struct ota_update_config *c, const char *group)
{
	if (!group || !c->groups[0] || !c->groups[1])
		return NULL;
	if (strcmp(group, c->groups[0]) == 0)
		return c->groups[1];
	if (strcmp(group, c->groups[1]) == 0)
		return c->groups[0];
	return NULL;
}

int ota_update_config_bootflow(const struct ota_update_config *c, struct ota_bootflow **ret, struct ota_error *err)
{
	struct ota_bootflow_config bc = {
		.type = c->bootflow_type,
		.executable = c->bootflow_executable,
		.timeout_ms = c->bootflow_timeout_s * 1000u,
		.groups = { c->groups[0], c->groups[1] },
		.device = c->bootflow_device,
		.directory = c->bootflow_directory,
		.cmdline = c->bootflow_cmdline,
		.proc = c->bootflow_proc,
		.env_mode = c->bootflow_env_mode,
		.env = c->bootflow_env,
		.env_redundant = c->bootflow_env_redundant,
		.env_offset = c->bootflow_env_offset,
		.env_redundant_offset = c->bootflow_env_redundant_offset,
		.env_has_redundant = c->bootflow_env_has_redundant,
		.env_size = c->bootflow_env_size,
		.autoboot = c->bootflow_autoboot,
		.state_file = c->bootflow_state_file,
		.partitions = {
			{ c->bootflow_partition_group[0], c->bootflow_partition[0] },
			{ c->bootflow_partition_group[1], c->bootflow_partition[1] },
		},
	};
	return ota_bootflow_new(&bc, ret, err);
}

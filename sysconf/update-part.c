/* SPDX-License-Identifier: Apache-2.0 */
/* ota-update's part of system.conf beyond single values: slots, boot groups,
 * the boot partition of each group, and the checks across keys that
 * ota-update needs before it runs (sysconf.h). */
#include <errno.h>
#include <string.h>

#include "sysconf/sysconf-private.h"

static struct ota_slot_config *find_slot(struct ota_update_config *c, const char *name)
{
	for (size_t i = 0; i < c->n_slots; i++)
		if (strcmp(c->slots[i].name, name) == 0)
			return &c->slots[i];
	return NULL;
}

int ota_sysconf_set_partition(struct sysconf_parser *p, const struct row *r, const char *section, const char *key,
			      const char *value, int line)
{
	struct ota_bootflow_partition *parts = p->c->update.bootflow.partitions;
	const char *group = key + strlen("partition.");
	if (!ota_sysconf_name_valid(group))
		return ota_error_set(p->err, -EINVAL, "[bootflow] partition.%s: invalid group name", group);
	size_t i = 0;
	while (i < 2 && parts[i].group && strcmp(parts[i].group, group) != 0)
		i++;
	if (i == 2)
		return ota_error_set(p->err, -EINVAL, "[bootflow] partition.%s: more than two groups", group);
	if (!parts[i].group && ota_sysconf_store_string(&parts[i].group, group) < 0)
		return -ENOMEM;
	return ota_sysconf_parse_uint("bootflow", "partition", value, 1, 255, &parts[i].number, p->err);
}

int ota_sysconf_set_slot(struct sysconf_parser *p, const struct row *r, const char *name, const char *key,
			 const char *value, int line)
{
	struct ota_update_config *c = &p->c->update;
	if (!ota_sysconf_name_valid(name))
		return ota_error_set(p->err, -EINVAL, "[slot.%s]: invalid slot name (1-63 of A-Z a-z 0-9 _ -)", name);
	struct ota_slot_config *slot = find_slot(c, name);
	if (!slot) {
		if (c->n_slots >= OTA_UPDATE_MAX_SLOTS)
			return ota_error_set(p->err, -E2BIG, "more than %u slots", OTA_UPDATE_MAX_SLOTS);
		struct ota_slot_config *n = reallocarray(c->slots, c->n_slots + 1, sizeof(*n));
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
		if (!ota_sysconf_name_valid(value))
			return ota_error_set(p->err, -EINVAL, "[%s] class: invalid class name '%s'", section, value);
		return ota_strdup_to(&slot->slot_class, value);
	}
	if (strcmp(key, "device") == 0) {
		if (!ota_startswith(value, "/dev/") && !ota_startswith(value, "PARTLABEL=") &&
		    !ota_startswith(value, "PARTUUID="))
			return ota_error_set(p->err, -EINVAL,
					     "[%s] device: '%s' is not /dev/..., PARTLABEL= or PARTUUID=", section, value);
		return ota_strdup_to(&slot->device, value);
	}
	if (strcmp(key, "file") == 0) {
		int e = ota_sysconf_check_string(section, key, value, true, p->err);
		return e < 0 ? e : ota_strdup_to(&slot->file, value);
	}
	return ota_error_set(p->err, -EINVAL, "unknown key '%s' in section [%s]", key, section);
}

int ota_sysconf_set_group(struct sysconf_parser *p, const struct row *r, const char *group, const char *key,
			  const char *value, int line)
{
	if (!ota_sysconf_name_valid(group))
		return ota_error_set(p->err, -EINVAL, "[group.%s]: invalid group name (1-63 of A-Z a-z 0-9 _ -)", group);
	if (!ota_sysconf_name_valid(key) || !ota_sysconf_name_valid(value))
		return ota_error_set(p->err, -EINVAL, "[group.%s] %s = %s: expected <class> = <slot name>", group, key,
				     value);
	const char **groups = p->c->update.bootflow.groups;
	size_t i = 0;
	while (i < 2 && groups[i] && strcmp(groups[i], group) != 0)
		i++;
	if (i == 2)
		return ota_error_set(p->err, -EINVAL, "[group.%s]: more than two boot groups", group);
	if (!groups[i] && ota_sysconf_store_string(&groups[i], group) < 0)
		return -ENOMEM;
	struct member *m = reallocarray(p->members, p->n_members + 1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	p->members = m;
	m = &p->members[p->n_members];
	*m = (struct member){ .line = line };
	if (ota_strdup_to(&m->group, group) < 0 || ota_strdup_to(&m->slot_class, key) < 0 ||
	    ota_strdup_to(&m->slot, value) < 0) {
		free(m->group);
		free(m->slot_class);
		free(m->slot);
		return -ENOMEM;
	}
	p->n_members++;
	return 0;
}

void ota_sysconf_parser_done(struct sysconf_parser *p)
{
	for (size_t i = 0; i < p->n_members; i++) {
		free(p->members[i].group);
		free(p->members[i].slot_class);
		free(p->members[i].slot);
	}
	free(p->members);
	p->members = NULL;
	p->n_members = 0;
}

static int resolve_groups(struct sysconf_parser *p)
{
	struct ota_update_config *c = &p->c->update;
	for (size_t i = 0; i < p->n_members; i++) {
		struct member *m = &p->members[i];
		p->error_line = m->line;
		struct ota_slot_config *slot = find_slot(c, m->slot);
		if (!slot)
			return ota_error_set(p->err, -EINVAL, "[group.%s] %s: no section [slot.%s]", m->group,
					     m->slot_class, m->slot);
		if (!slot->slot_class || strcmp(slot->slot_class, m->slot_class) != 0)
			return ota_error_set(p->err, -EINVAL, "[group.%s] %s = %s: slot %s is of class '%s'", m->group,
					     m->slot_class, m->slot, m->slot, slot->slot_class ? slot->slot_class : "");
		if (slot->group)
			return ota_error_set(p->err, -EINVAL, "[group.%s]: slot %s is already in group %s", m->group,
					     m->slot, slot->group);
		for (size_t j = 0; j < i; j++)
			if (strcmp(p->members[j].group, m->group) == 0 &&
			    strcmp(p->members[j].slot_class, m->slot_class) == 0)
				return ota_error_set(p->err, -EINVAL, "[group.%s]: class '%s' given twice", m->group,
						     m->slot_class);
		if (ota_strdup_to(&slot->group, m->group) < 0)
			return ota_error_set(p->err, -ENOMEM, "out of memory");
	}
	p->error_line = 0;
	return 0;
}

/* What the uboot and rpi-tryboot backends need, said in config terms (the
 * backends check again, in their own terms). */
static int check_bootflow_firmware(const struct ota_bootflow_config *b, struct ota_error *err)
{
	if (strcmp(b->type, "uboot") == 0) {
		bool file = b->env_mode && strcmp(b->env_mode, "file") == 0;
		if (!b->env)
			return ota_error_set(err, -EINVAL, "[bootflow] env is required for type uboot");
		if (!file && !b->env_size)
			return ota_error_set(err, -EINVAL,
					     "[bootflow] env-size (U-Boot's CONFIG_ENV_SIZE) is required for env-mode native");
		if (file && (b->env_size || b->env_offset || b->env_has_redundant))
			return ota_error_set(err, -EINVAL,
					     "[bootflow] env-mode file takes no env-size, env-offset or env-redundant-offset");
	}
	if (strcmp(b->type, "rpi-tryboot") == 0) {
		if (!b->autoboot)
			return ota_error_set(err, -EINVAL, "[bootflow] autoboot is required for type rpi-tryboot");
		for (size_t i = 0; i < 2; i++) {
			bool found = false;
			for (size_t j = 0; j < 2; j++)
				if (b->partitions[j].group && strcmp(b->partitions[j].group, b->groups[i]) == 0)
					found = true;
			if (!found)
				return ota_error_set(err, -EINVAL,
						     "[bootflow] partition.%s (its boot partition number) is required for type rpi-tryboot",
						     b->groups[i]);
		}
	}
	return 0;
}

static int check_bootflow(const struct ota_bootflow_config *b, struct ota_error *err)
{
	if (!b->type)
		return ota_error_set(err, -EINVAL, "[bootflow] type is required");
	if (strcmp(b->type, "custom") == 0 && !b->executable)
		return ota_error_set(err, -EINVAL, "[bootflow] executable is required for type custom");
	if (strcmp(b->type, "grub") == 0 && !b->device && (!b->directory || b->directory[0] != '/'))
		return ota_error_set(err, -EINVAL, "[bootflow] type grub needs device (the ESP) or an absolute directory");
	if (!b->groups[0] || !b->groups[1])
		return ota_error_set(err, -EINVAL, "two boot groups are required ([group.a], [group.b])");
	return check_bootflow_firmware(b, err);
}

static int check_slots(const struct ota_update_config *c, struct ota_error *err)
{
	for (size_t i = 0; i < c->n_slots; i++) {
		const struct ota_slot_config *slot = &c->slots[i];
		if (!slot->slot_class)
			return ota_error_set(err, -EINVAL, "[slot.%s]: class is required", slot->name);
		if (!!slot->device == !!slot->file)
			return ota_error_set(err, -EINVAL, "[slot.%s]: exactly one of device and file is required",
					     slot->name);
		if (!slot->group)
			return ota_error_set(err, -EINVAL, "[slot.%s]: not in any group", slot->name);
		for (size_t j = 0; j < i; j++) {
			const char *a = slot->device ? slot->device : slot->file;
			const char *b = c->slots[j].device ? c->slots[j].device : c->slots[j].file;
			if (strcmp(a, b) == 0)
				return ota_error_set(err, -EINVAL, "[slot.%s] and [slot.%s] name the same '%s'",
						     c->slots[j].name, slot->name, a);
		}
	}
	/* Both groups hold the same classes. */
	for (size_t i = 0; i < c->n_slots; i++) {
		const char *other = ota_sysconf_other_group(c, c->slots[i].group);
		if (!ota_sysconf_slot(c, other, c->slots[i].slot_class))
			return ota_error_set(err, -EINVAL, "group %s has a slot of class '%s' (%s), group %s has none",
					     c->slots[i].group, c->slots[i].slot_class, c->slots[i].name, other);
	}
	if (c->n_slots == 0)
		return ota_error_set(err, -EINVAL, "no slots ([slot.<name>])");
	return 0;
}

/* What [update] channel = memfault | hawkbit needs, named before ota-update
 * makes any request (docs/fleet.md). */
static int check_fleet(const struct ota_update_config *c, struct ota_error *err)
{
	const struct ota_memfault_config *m = &c->memfault;
	const struct ota_hawkbit_config *h = &c->hawkbit;
	if (h->target_token_file && h->gateway_token_file)
		return ota_error_set(err, -EINVAL, "[hawkbit] target-token-file and gateway-token-file exclude each other");
	if (!!h->client_cert != !!h->client_key)
		return ota_error_set(err, -EINVAL, "[hawkbit] client-cert and client-key go together");
	if (ota_streq(c->channel, "memfault")) {
		const char *missing = !m->project_key_file ? "project-key-file" :
				      !m->hardware_version ? "hardware-version" :
				      !m->software_type ? "software-type" : NULL;
		if (missing)
			return ota_error_set(err, -EINVAL, "[update] channel = memfault needs [memfault] %s", missing);
	}
	if (ota_streq(c->channel, "hawkbit")) {
		if (!h->server)
			return ota_error_set(err, -EINVAL, "[update] channel = hawkbit needs [hawkbit] server");
		if (!h->target_token_file && !h->gateway_token_file && !h->client_cert)
			return ota_error_set(err, -EINVAL,
					     "[update] channel = hawkbit needs [hawkbit] target-token-file, gateway-token-file or client-cert");
	}
	return 0;
}

int ota_sysconf_check_update(struct sysconf_parser *p)
{
	const struct ota_update_config *c = &p->c->update;
	int r = resolve_groups(p);
	if (r < 0)
		return r;
	if (!c->compatible)
		return ota_error_set(p->err, -EINVAL, "[system] compatible is required");
	if (!c->version)
		return ota_error_set(p->err, -EINVAL, "[system] version is required");
	if (!c->keyring)
		return ota_error_set(p->err, -EINVAL, "[update] keyring is required");
	r = check_bootflow(&c->bootflow, p->err);
	if (r == 0)
		r = check_slots(c, p->err);
	return r < 0 ? r : check_fleet(c, p->err);
}

void ota_sysconf_free_slots(struct ota_update_config *c)
{
	struct ota_bootflow_config *b = &c->bootflow;
	for (size_t i = 0; i < 2; i++) {
		free((char *)b->partitions[i].group);
		free((char *)b->groups[i]);
	}
	for (size_t i = 0; i < c->n_slots; i++) {
		free(c->slots[i].name);
		free(c->slots[i].slot_class);
		free(c->slots[i].device);
		free(c->slots[i].file);
		free(c->slots[i].group);
	}
	free(c->slots);
}

const struct ota_slot_config *ota_sysconf_slot(const struct ota_update_config *c, const char *group,
					       const char *slot_class)
{
	for (size_t i = 0; group && i < c->n_slots; i++)
		if (c->slots[i].group && strcmp(c->slots[i].group, group) == 0 &&
		    strcmp(c->slots[i].slot_class, slot_class) == 0)
			return &c->slots[i];
	return NULL;
}

const char *ota_sysconf_other_group(const struct ota_update_config *c, const char *group)
{
	const char *const *g = c->bootflow.groups;
	if (!group || !g[0] || !g[1])
		return NULL;
	if (strcmp(group, g[0]) == 0)
		return g[1];
	if (strcmp(group, g[1]) == 0)
		return g[0];
	return NULL;
}

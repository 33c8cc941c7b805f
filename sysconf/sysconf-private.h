/* SPDX-License-Identifier: Apache-2.0 */
/* What sysconf.c (the schema table, the parser) and update-part.c (the
 * sections with names: [slot.<name>], [group.<name>], partition.<group>,
 * and ota-update's checks across keys) share. Not part of the contract. */
#ifndef OTA_SYSCONF_PRIVATE_H
#define OTA_SYSCONF_PRIVATE_H

#include "sysconf/sysconf.h"

struct row;

struct sysconf_parser {
	struct ota_sysconf *c;
	unsigned parts;
	struct ota_error *err;
	int r;
	int error_line;     /* line of the first error; 0: none, or no line (a check across keys) */
	/* group membership as read, resolved after the whole file */
	struct member {
		char *group, *slot_class, *slot;
		int line;
	} *members;
	size_t n_members;
};

/* Replaces *field by a copy of value (NULL: unset); -ENOMEM. */
int ota_sysconf_store_string(const char **field, const char *value) _must_check_;
/* Refuses an empty value, and with absolute one not starting with '/'. */
int ota_sysconf_check_string(const char *section, const char *key, const char *value, bool absolute,
			     struct ota_error *err) _must_check_;
int ota_sysconf_parse_uint(const char *section, const char *key, const char *value, uint64_t min, uint64_t max,
			   unsigned *ret, struct ota_error *err) _must_check_;

/* Setters of the schema's rows for the names in section or key. */
int ota_sysconf_set_partition(struct sysconf_parser *p, const struct row *r, const char *section, const char *key,
			      const char *value, int line);
int ota_sysconf_set_slot(struct sysconf_parser *p, const struct row *r, const char *name, const char *key,
			 const char *value, int line);
int ota_sysconf_set_group(struct sysconf_parser *p, const struct row *r, const char *name, const char *key,
			  const char *value, int line);
/* After the whole file: groups resolved, then what ota-update needs. */
int ota_sysconf_check_update(struct sysconf_parser *p) _must_check_;
void ota_sysconf_parser_done(struct sysconf_parser *p);
/* Frees the slots, the group names and partition.<group>'s names. */
void ota_sysconf_free_slots(struct ota_update_config *c);

#endif

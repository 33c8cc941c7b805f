/* SPDX-License-Identifier: Apache-2.0 */
/* The slot status file (JSON, replaced atomically) and `status`; see
 * update.h and docs/update.md. A file that does not load (unreadable, not
 * JSON, wrong types, unknown states or fields) is never rewritten:
 * ota_update_status_repair() moves it aside and starts over with every slot
 * "unknown".
 *
 *   {"format":1,"slots":{"system-b":{"state":"installed","version":"2.0.1",
 *     "compatible":"test-board","sha256":"…","size":4000000,"installed":1700000000}}} */
#include <errno.h>
#include <json-c/json.h>
#include <limits.h>
#include <string.h>
#include <time.h>

#include "update/update-private.h"

OTA_DEFINE_CLEANUP_FUNC(json_object *, json_object_put)
#define _cleanup_json_ _cleanup_(json_object_putp)

/* What a record may hold: each field's JSON type and, for strings, the room
 * struct ota_slot_record has for it. A file with anything else is not one
 * we wrote; accepting it would mean a later rewrite keeps less of it. */
struct field {
	const char *key;
	size_t max_len; /* strings: longest accepted; 0: an integer >= 0 */
};
static const struct field record_fields[] = {
	{ "state", 15 }, /* format 1's limit; the text must also name a state (ota_slot_state_from_string) */
	{ "version", sizeof(((struct ota_slot_record *)0)->version) - 1 },
	{ "compatible", sizeof(((struct ota_slot_record *)0)->compatible) - 1 },
	{ "sha256", sizeof(((struct ota_slot_record *)0)->sha256) - 1 },
	{ "bundle", sizeof(((struct ota_slot_record *)0)->bundle) - 1 },
	{ "size", 0 },
	{ "installed", 0 },
	{ "checkpoint_chunks", 0 },
	{ "checkpoint_bytes", 0 },
};

static const char *const ota_slot_state_names[OTA_SLOT_STATE_MAX] = {
	[OTA_SLOT_NONE] = "",
	[OTA_SLOT_INSTALLING] = "installing",
	[OTA_SLOT_INSTALLED] = "installed",
	[OTA_SLOT_GOOD] = "good",
	[OTA_SLOT_UNKNOWN] = "unknown",
};

OTA_DEFINE_ENUM_TO_STRING(ota_slot_state, enum ota_slot_state, "invalid")
OTA_DEFINE_ENUM_FROM_STRING(ota_slot_state, enum ota_slot_state)

static int check_field(json_object *v, const char *slot, const char *key, const char *path, struct ota_error *err)
{
	for (size_t i = 0; i < OTA_ELEMENTSOF(record_fields); i++) {
		const struct field *f = &record_fields[i];
		if (!ota_streq(f->key, key))
			continue;
		if (f->max_len == 0 && (!json_object_is_type(v, json_type_int) || json_object_get_int64(v) < 0))
			return ota_error_set(err, -EBADMSG, "status file '%s': slots.%s.%s is not an integer >= 0", path,
					     slot, key);
		if (f->max_len > 0 && (!json_object_is_type(v, json_type_string) ||
				       (size_t)json_object_get_string_len(v) > f->max_len))
			return ota_error_set(err, -EBADMSG, "status file '%s': slots.%s.%s is not a string of at most %zu bytes",
					     path, slot, key, f->max_len);
		if (ota_streq(key, "state") &&
		    ota_slot_state_from_string(json_object_get_string(v)) == OTA_SLOT_STATE_INVALID)
			return ota_error_set(err, -EBADMSG, "status file '%s': slots.%s.state '%s' is not a known state", path,
					     slot, json_object_get_string(v));
		return 0;
	}
	return ota_error_set(err, -EBADMSG, "status file '%s': slots.%s has an unknown field '%s'", path, slot, key);
}

/* Whether root is a status file we could have written (format 1). */
static int validate(json_object *root, const char *path, struct ota_error *err)
{
	if (!json_object_is_type(root, json_type_object))
		return ota_error_set(err, -EBADMSG, "status file '%s' is not a JSON object", path);
	json_object_object_foreach(root, key, val) {
		if (ota_streq(key, "format")) {
			if (!json_object_is_type(val, json_type_int) || json_object_get_int64(val) != 1)
				return ota_error_set(err, -EBADMSG, "status file '%s': format is not 1", path);
		} else if (ota_streq(key, "slots")) {
			if (!json_object_is_type(val, json_type_object))
				return ota_error_set(err, -EBADMSG, "status file '%s': slots is not an object", path);
		} else {
			return ota_error_set(err, -EBADMSG, "status file '%s': unknown field '%s'", path, key);
		}
	}
	json_object *slots;
	if (!json_object_object_get_ex(root, "slots", &slots))
		return 0;
	json_object_object_foreach(slots, slot, rec) {
		if (!json_object_is_type(rec, json_type_object))
			return ota_error_set(err, -EBADMSG, "status file '%s': slots.%s is not an object", path, slot);
		if (strlen(slot) >= sizeof(((struct ota_slot_record *)0)->name))
			return ota_error_set(err, -EBADMSG, "status file '%s': slot name '%.64s...' is too long", path, slot);
		json_object_object_foreach(rec, field, v) {
			int r = check_field(v, slot, field, path, err);
			if (r < 0)
				return r;
		}
	}
	return 0;
}

/* The parsed status file; a missing one is an empty object. A file that
 * cannot be read, or is not one we could have written, is an error naming
 * it (-EBADMSG: corrupt); see ota_update_status_repair(). */
static int load(const char *path, json_object **ret, struct ota_error *err)
{
	_cleanup_free_ char *text = NULL;
	size_t size = 0;
	int r = ota_read_file(path, OTA_UPDATE_STATUS_MAX, &text, &size, err);
	if (r == -ENOENT) {
		json_object *o = json_object_new_object();
		if (!o)
			return ota_error_set(err, -ENOMEM, "status file '%s': out of memory", path);
		ota_error_clear(err);
		*ret = o;
		return 0;
	}
	if (r < 0) {
		ota_error_prefix(err, "status file: ");
		return r;
	}
	if (strlen(text) != size)
		return ota_error_set(err, -EBADMSG, "status file '%s' contains a NUL byte", path);
	json_tokener *tok = json_tokener_new();
	if (!tok)
		return ota_error_set(err, -ENOMEM, "status file '%s': out of memory", path);
	json_object *o = json_tokener_parse_ex(tok, text, (int)size);
	enum json_tokener_error jerr = json_tokener_get_error(tok);
	/* Whatever follows the object (but blanks) is corruption too. */
	size_t end = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	if (!o || jerr != json_tokener_success) {
		if (o)
			(void)json_object_put(o);
		return ota_error_set(err, -EBADMSG, "status file '%s' is not valid JSON (%s)", path,
				     jerr == json_tokener_continue ? "truncated" : json_tokener_error_desc(jerr));
	}
	if (text[end + strspn(text + end, " \t\r\n")] != '\0') {
		(void)json_object_put(o);
		return ota_error_set(err, -EBADMSG, "status file '%s' has data after the JSON object", path);
	}
	r = validate(o, path, err);
	if (r < 0) {
		(void)json_object_put(o);
		return r;
	}
	*ret = o;
	return 0;
}

static void copy_str(char *dst, size_t size, json_object *o, const char *key)
{
	json_object *v;
	if (json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string))
		(void)snprintf(dst, size, "%s", json_object_get_string(v));
}

static uint64_t get_u64(json_object *o, const char *key)
{
	json_object *v;
	if (json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_int))
		return (uint64_t)json_object_get_int64(v);
	return 0;
}

/* o was validated: its state, if any, is a known one. */
static void record_from_json(json_object *o, const char *slot, struct ota_slot_record *rec)
{
	*rec = (struct ota_slot_record){ 0 };
	(void)snprintf(rec->name, sizeof(rec->name), "%s", slot);
	if (!o || !json_object_is_type(o, json_type_object))
		return;
	json_object *v;
	if (json_object_object_get_ex(o, "state", &v) && json_object_is_type(v, json_type_string)) {
		enum ota_slot_state state = ota_slot_state_from_string(json_object_get_string(v));
		rec->state = state == OTA_SLOT_STATE_INVALID ? OTA_SLOT_NONE : state;
	}
	copy_str(rec->version, sizeof(rec->version), o, "version");
	copy_str(rec->compatible, sizeof(rec->compatible), o, "compatible");
	copy_str(rec->sha256, sizeof(rec->sha256), o, "sha256");
	rec->size = get_u64(o, "size");
	rec->installed = get_u64(o, "installed");
	copy_str(rec->bundle, sizeof(rec->bundle), o, "bundle");
	rec->checkpoint_chunks = get_u64(o, "checkpoint_chunks");
	rec->checkpoint_bytes = get_u64(o, "checkpoint_bytes");
}

static json_object *slots_of(json_object *root)
{
	json_object *slots;
	if (json_object_object_get_ex(root, "slots", &slots) && json_object_is_type(slots, json_type_object))
		return slots;
	return NULL;
}

int ota_update_status_read(const char *status_file, const char *slot, struct ota_slot_record *ret,
			   struct ota_error *err)
{
	_cleanup_json_ json_object *root = NULL;
	int r = load(status_file, &root, err);
	if (r < 0)
		return r;
	json_object *slots = slots_of(root), *o = NULL;
	if (slots)
		(void)json_object_object_get_ex(slots, slot, &o);
	record_from_json(o, slot, ret);
	return 0;
}

static int add_str(json_object *o, const char *key, const char *value)
{
	json_object *v = json_object_new_string(value);
	return v && json_object_object_add(o, key, v) == 0 ? 0 : -ENOMEM;
}

static int add_u64(json_object *o, const char *key, uint64_t value)
{
	json_object *v = json_object_new_int64((int64_t)value);
	return v && json_object_object_add(o, key, v) == 0 ? 0 : -ENOMEM;
}

static json_object *record_to_json(const struct ota_slot_record *rec)
{
	json_object *o = json_object_new_object();
	if (!o)
		return NULL;
	if (add_str(o, "state", ota_slot_state_to_string(rec->state)) < 0 || add_str(o, "version", rec->version) < 0 ||
	    add_str(o, "compatible", rec->compatible) < 0 || add_str(o, "sha256", rec->sha256) < 0 ||
	    add_u64(o, "size", rec->size) < 0 || add_u64(o, "installed", rec->installed) < 0 ||
	    (rec->bundle[0] && add_str(o, "bundle", rec->bundle) < 0) ||
	    (rec->checkpoint_chunks && (add_u64(o, "checkpoint_chunks", rec->checkpoint_chunks) < 0 ||
					add_u64(o, "checkpoint_bytes", rec->checkpoint_bytes) < 0))) {
		(void)json_object_put(o);
		return NULL;
	}
	return o;
}

/* Sets recs in root and replaces the file with it. Power-fail safe: written
 * to <file>.tmp, fsync'd, renamed over the file, directory fsync'd; after a
 * crash the file holds the old or the new records, never a mix. */
static int store(const char *status_file, json_object *root, const struct ota_slot_record *recs, size_t n,
		 struct ota_error *err)
{
	json_object *slots = slots_of(root);
	if (!slots) {
		slots = json_object_new_object();
		if (!slots || json_object_object_add(root, "slots", slots) < 0)
			return ota_error_set(err, -ENOMEM, "status file '%s': out of memory", status_file);
	}
	if (add_u64(root, "format", 1) < 0)
		return ota_error_set(err, -ENOMEM, "status file '%s': out of memory", status_file);
	for (size_t i = 0; i < n; i++) {
		json_object *o = record_to_json(&recs[i]);
		if (!o || json_object_object_add(slots, recs[i].name, o) < 0)
			return ota_error_set(err, -ENOMEM, "status file '%s': out of memory", status_file);
	}
	const char *text = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE);
	if (!text)
		return ota_error_set(err, -ENOMEM, "status file '%s': out of memory", status_file);

	int r = ota_mkdir_parent(status_file, 0755);
	if (r < 0)
		return ota_error_errno(err, r, "status file '%s': create its directory", status_file);
	size_t len = strlen(text);
	_cleanup_free_ char *buf = malloc(len + 2);
	if (!buf)
		return ota_error_set(err, -ENOMEM, "status file '%s': out of memory", status_file);
	memcpy(buf, text, len);
	buf[len] = '\n';
	r = ota_write_file_atomic(status_file, buf, len + 1, 0644, err);
	if (r < 0)
		ota_error_prefix(err, "status file '%s': ", status_file);
	return r;
}

int ota_update_status_write(const char *status_file, const struct ota_slot_record *recs, size_t n,
			    struct ota_error *err)
{
	/* A file that does not load is never rewritten (with less): repair it. */
	_cleanup_json_ json_object *root = NULL;
	int r = load(status_file, &root, err);
	if (r < 0)
		return r;
	return store(status_file, root, recs, n, err);
}

/* Moves an unusable status file to <file>.corrupt-<seconds since the epoch>
 * (-<n> if that exists), kept for inspection. */
static int move_aside(const char *path, char *aside, size_t size, struct ota_error *err)
{
	long long now = (long long)time(NULL);
	for (unsigned n = 0; n < 100; n++) {
		int r = n ? ota_format(aside, size, "%s.corrupt-%lld-%u", path, now, n)
			  : ota_format(aside, size, "%s.corrupt-%lld", path, now);
		if (r < 0)
			return ota_error_set(err, r, "status file '%s': name too long to move it aside", path);
		r = ota_rename_noreplace(path, aside, err);
		if (r != -EEXIST)
			return r;
	}
	return ota_error_set(err, -EEXIST, "status file '%s': 100 files named '%s.corrupt-%lld*' exist already", path,
			     path, now);
}

int ota_update_status_repair(const struct ota_update_config *c, struct ota_error *ret_warning,
			     struct ota_error *err)
{
	_cleanup_json_ json_object *root = NULL;
	struct ota_error why = { 0 };
	int r = load(c->status_file, &root, &why);
	if (r == 0)
		return 0;
	if (r == -ENOMEM)
		return ota_error_set(err, r, "%s", why.msg);
	char aside[PATH_MAX];
	r = move_aside(c->status_file, aside, sizeof(aside), err);
	if (r < 0) {
		ota_error_prefix(err, "%s; moving it aside failed: ", why.msg);
		return r;
	}
	/* Nothing of the old file is trusted: every slot "unknown", which no
	 * check takes for verified. A crash between the move and this write
	 * leaves no file, whose slots have no record: not verified either. */
	_cleanup_free_ struct ota_slot_record *recs = calloc(c->n_slots ? c->n_slots : 1, sizeof(*recs));
	root = json_object_new_object();
	if (!recs || !root)
		return ota_error_set(err, -ENOMEM, "out of memory");
	for (size_t i = 0; i < c->n_slots; i++) {
		(void)snprintf(recs[i].name, sizeof(recs[i].name), "%s", c->slots[i].name);
		recs[i].state = OTA_SLOT_UNKNOWN;
	}
	r = store(c->status_file, root, recs, c->n_slots, err);
	if (r < 0) {
		ota_error_prefix(err, "%s; moved to '%s', but rebuilding it failed: ", why.msg, aside);
		return r;
	}
	ota_error_set(ret_warning, why.code, "%s; moved to '%s' and rebuilt with every slot '%s'", why.msg, aside,
		      ota_slot_state_to_string(OTA_SLOT_UNKNOWN));
	return 1;
}

/* ---- status ------------------------------------------------------------------ */

int ota_update_status_get(const struct ota_update_config *c, struct ota_update_status *ret, struct ota_error *err)
{
	struct ota_bootflow *bf = NULL;
	int r = ota_bootflow_new(&c->bootflow, &bf, err);
	struct ota_update_status s = { 0 };
	if (r == 0)
		r = ota_bootflow_get_state(bf, &s.boot, err);
	bf = ota_bootflow_free(bf);
	if (r < 0) {
		ota_error_classify(err, OTA_REASON_BOOTFLOW);
		return r;
	}
	_cleanup_json_ json_object *root = NULL;
	struct ota_error why = { 0 };
	r = load(c->status_file, &root, &why);
	if (r == -ENOMEM)
		return ota_error_set(err, r, "%s", why.msg);
	if (r < 0) /* reported, not repaired: status only reads (install repairs) */
		(void)ota_error_set(&s.warning, r, "%s; every slot shown '%s'", why.msg,
				    ota_slot_state_to_string(OTA_SLOT_UNKNOWN));
	s.slots = calloc(c->n_slots ? c->n_slots : 1, sizeof(*s.slots));
	if (!s.slots)
		return ota_error_set(err, -ENOMEM, "out of memory");
	json_object *slots = root ? slots_of(root) : NULL;
	for (size_t i = 0; i < c->n_slots; i++) {
		json_object *o = NULL;
		if (slots)
			(void)json_object_object_get_ex(slots, c->slots[i].name, &o);
		s.slots[i].slot = &c->slots[i];
		record_from_json(o, c->slots[i].name, &s.slots[i].rec);
		if (!root)
			s.slots[i].rec.state = OTA_SLOT_UNKNOWN;
		s.slots[i].booted = strcmp(c->slots[i].group, s.boot.booted) == 0;
	}
	s.n_slots = c->n_slots;
	*ret = s;
	return 0;
}

void ota_update_status_done(struct ota_update_status *s)
{
	free(s->slots);
	*s = (struct ota_update_status){ 0 };
}

int ota_update_status_to_json(const struct ota_update_config *c, const struct ota_update_status *s, char **ret)
{
	_cleanup_json_ json_object *root = json_object_new_object();
	if (!root)
		return -ENOMEM;
	int r = 0;
	r |= add_str(root, "booted", s->boot.booted);
	r |= add_str(root, "default", s->boot.default_group);
	r |= add_str(root, "trial", s->boot.trial);
	r |= add_str(root, "trial_state", ota_trial_state_to_string(s->boot.trial_state));
	r |= add_u64(root, "tries_left", s->boot.tries_left);
	r |= add_str(root, "compatible", c->compatible);
	r |= add_str(root, "running_version", c->version);
	json_object *arr = json_object_new_array();
	if (r < 0 || !arr || json_object_object_add(root, "slots", arr) < 0)
		return -ENOMEM;
	for (size_t i = 0; i < s->n_slots; i++) {
		const struct ota_update_slot_status *ss = &s->slots[i];
		json_object *o = record_to_json(&ss->rec);
		if (!o || json_object_array_add(arr, o) < 0)
			return -ENOMEM;
		r |= add_str(o, "name", ss->slot->name);
		r |= add_str(o, "class", ss->slot->slot_class);
		r |= add_str(o, "group", ss->slot->group);
		r |= add_str(o, "device", ss->slot->device ? ss->slot->device : ss->slot->file);
		json_object *b = json_object_new_boolean(ss->booted);
		if (r < 0 || !b || json_object_object_add(o, "booted", b) < 0)
			return -ENOMEM;
	}
	const char *text = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	char *copy = text ? strdup(text) : NULL;
	if (!copy)
		return -ENOMEM;
	*ret = copy;
	return 0;
}

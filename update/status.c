/* The slot status file (JSON, replaced atomically) and `status`; see
 * update.h and docs/update.md.
 *
 *   {"format":1,"slots":{"system-b":{"state":"installed","version":"2.0.1",
 *     "compatible":"test-board","sha256":"…","size":4000000,"installed":1700000000}}} */
#include <errno.h>
#include <json-c/json.h>
#include <string.h>

#include "update/update-private.h"

static void json_putp(json_object **o)
{
	if (*o)
		(void)json_object_put(*o);
}
#define _cleanup_json_ _cleanup_(json_putp)

static int load(const char *path, json_object **ret, struct ota_error *err)
{
	_cleanup_free_ char *text = NULL;
	size_t size = 0;
	int r = ota_read_file(path, OTA_UPDATE_STATUS_MAX, &text, &size, err);
	if (r == -ENOENT) {
		json_object *o = json_object_new_object();
		if (!o)
			return ota_error_set(err, -ENOMEM, "out of memory");
		ota_error_clear(err);
		*ret = o;
		return 0;
	}
	if (r < 0)
		return r;
	json_object *o = json_tokener_parse(text);
	if (!o || !json_object_is_type(o, json_type_object)) {
		if (o)
			(void)json_object_put(o);
		return ota_error_set(err, -EBADMSG, "status file '%s' is not a JSON object", path);
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

static void record_from_json(json_object *o, const char *slot, struct ota_slot_record *rec)
{
	*rec = (struct ota_slot_record){ 0 };
	(void)snprintf(rec->name, sizeof(rec->name), "%s", slot);
	if (!o || !json_object_is_type(o, json_type_object))
		return;
	copy_str(rec->state, sizeof(rec->state), o, "state");
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
	if (add_str(o, "state", rec->state) < 0 || add_str(o, "version", rec->version) < 0 ||
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

int ota_update_status_write(const char *status_file, const struct ota_slot_record *recs, size_t n,
			    struct ota_error *err)
{
	_cleanup_json_ json_object *root = NULL;
	int r = load(status_file, &root, err);
	if (r < 0)
		return r;
	json_object *slots = slots_of(root);
	if (!slots) {
		slots = json_object_new_object();
		if (!slots || json_object_object_add(root, "slots", slots) < 0)
			return ota_error_set(err, -ENOMEM, "out of memory");
	}
	if (add_u64(root, "format", 1) < 0)
		return ota_error_set(err, -ENOMEM, "out of memory");
	for (size_t i = 0; i < n; i++) {
		json_object *o = record_to_json(&recs[i]);
		if (!o || json_object_object_add(slots, recs[i].name, o) < 0)
			return ota_error_set(err, -ENOMEM, "out of memory");
	}
	const char *text = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE);
	if (!text)
		return ota_error_set(err, -ENOMEM, "out of memory");

	_cleanup_free_ char *dir = strdup(status_file);
	if (!dir)
		return ota_error_set(err, -ENOMEM, "out of memory");
	char *slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		r = ota_mkdir_p(dir, 0755);
		if (r < 0)
			return ota_error_errno(err, r, "create directory '%s'", dir);
	}
	size_t len = strlen(text);
	_cleanup_free_ char *buf = malloc(len + 2);
	if (!buf)
		return ota_error_set(err, -ENOMEM, "out of memory");
	memcpy(buf, text, len);
	buf[len] = '\n';
	return ota_write_file_atomic(status_file, buf, len + 1, 0644, err);
}

/* ---- status ------------------------------------------------------------------ */

int ota_update_status_get(const struct ota_update_config *c, struct ota_update_status *ret, struct ota_error *err)
{
	struct ota_bootflow *bf = NULL;
	int r = ota_update_config_bootflow(c, &bf, err);
	if (r < 0)
		return r;
	struct ota_update_status s = { 0 };
	r = ota_bootflow_get_state(bf, &s.boot, err);
	bf = ota_bootflow_free(bf);
	if (r < 0)
		return r;
	_cleanup_json_ json_object *root = NULL;
	r = load(c->status_file, &root, err);
	if (r < 0)
		return r;
	s.slots = calloc(c->n_slots ? c->n_slots : 1, sizeof(*s.slots));
	if (!s.slots)
		return ota_error_set(err, -ENOMEM, "out of memory");
	json_object *slots = slots_of(root);
	for (size_t i = 0; i < c->n_slots; i++) {
		json_object *o = NULL;
		if (slots)
			(void)json_object_object_get_ex(slots, c->slots[i].name, &o);
		s.slots[i].slot = &c->slots[i];
		record_from_json(o, c->slots[i].name, &s.slots[i].rec);
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

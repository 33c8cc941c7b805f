/* SPDX-License-Identifier: Apache-2.0 */
/* The U-Boot environment codec; see uboot-env.h. */
#include <errno.h>
#include <string.h>

#include "bootflow/uboot-env.h"

/* CRC-32 (IEEE 802.3, reflected, as zlib's crc32()): a 1 KiB table built on
 * first use instead of linking zlib for one function. */
uint32_t ota_uenv_crc32(uint32_t crc, const void *buf, size_t size)
{
	static uint32_t table[256];
	static bool ready;
	if (!ready) {
		for (uint32_t i = 0; i < 256; i++) {
			uint32_t c = i;
			for (int k = 0; k < 8; k++)
				c = (c & 1) ? 0xedb88320u ^ (c >> 1) : c >> 1;
			table[i] = c;
		}
		ready = true;
	}
	const uint8_t *p = buf;
	crc = ~crc;
	for (size_t i = 0; i < size; i++)
		crc = table[(crc ^ p[i]) & 0xff] ^ (crc >> 8);
	return ~crc;
}

void ota_uenv_done(struct ota_uenv *env)
{
	for (size_t i = 0; i < env->n; i++) {
		free(env->vars[i].name);
		free(env->vars[i].value);
	}
	free(env->vars);
	*env = (struct ota_uenv){ 0 };
}

static ssize_t find(const struct ota_uenv *env, const char *name)
{
	for (size_t i = 0; i < env->n; i++)
		if (strcmp(env->vars[i].name, name) == 0)
			return (ssize_t)i;
	return -1;
}

const char *ota_uenv_get(const struct ota_uenv *env, const char *name)
{
	ssize_t i = find(env, name);
	return i < 0 ? NULL : env->vars[i].value;
}

static int append(struct ota_uenv *env, const char *name, size_t name_len, const char *value, size_t value_len)
{
	if (env->n >= OTA_UENV_VARS_MAX)
		return -E2BIG;
	struct ota_uenv_var *v = realloc(env->vars, (env->n + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	env->vars = v;
	char *n = strndup(name, name_len), *val = strndup(value, value_len);
	if (!n || !val) {
		free(n);
		free(val);
		return -ENOMEM;
	}
	env->vars[env->n++] = (struct ota_uenv_var){ .name = n, .value = val };
	return 0;
}

int ota_uenv_set(struct ota_uenv *env, const char *name, const char *value)
{
	if (!name[0] || strchr(name, '=') || strchr(name, '\n'))
		return -EINVAL;
	if (value && strchr(value, '\n'))
		return -EINVAL;
	ssize_t i = find(env, name);
	if (i >= 0 && !value) {
		free(env->vars[i].name);
		free(env->vars[i].value);
		memmove(&env->vars[i], &env->vars[i + 1], (env->n - (size_t)i - 1) * sizeof(env->vars[0]));
		env->n--;
		return 0;
	}
	if (!value)
		return 0;
	if (i < 0)
		return append(env, name, strlen(name), value, strlen(value));
	char *v = strdup(value);
	if (!v)
		return -ENOMEM;
	free(env->vars[i].value);
	env->vars[i].value = v;
	return 0;
}

/* One entry [p, p + len): "name=value" with a non-empty name, unique. */
static int parse_entry(struct ota_uenv *env, const char *p, size_t len, size_t index, struct ota_error *err)
{
	const char *eq = memchr(p, '=', len);
	if (!eq)
		return ota_error_set(err, -EBADMSG, "entry %zu ('%.*s') has no '='", index, (int)(len > 40 ? 40 : len), p);
	size_t name_len = (size_t)(eq - p);
	if (name_len == 0)
		return ota_error_set(err, -EBADMSG, "entry %zu has an empty name", index);
	for (size_t i = 0; i < env->n; i++)
		if (strlen(env->vars[i].name) == name_len && memcmp(env->vars[i].name, p, name_len) == 0)
			return ota_error_set(err, -EBADMSG, "variable '%.*s' given twice", (int)name_len, p);
	int r = append(env, p, name_len, eq + 1, len - name_len - 1);
	if (r == -E2BIG)
		return ota_error_set(err, r, "more than %u variables", OTA_UENV_VARS_MAX);
	if (r < 0)
		return ota_error_set(err, r, "out of memory");
	return 0;
}

int ota_uenv_parse_data(const void *data, size_t size, char sep, struct ota_uenv *ret, struct ota_error *err)
{
	struct ota_uenv env = { 0 };
	const char *p = data, *end = p + size;
	size_t index = 0;
	int r = 0;
	while (p < end && r == 0) {
		const char *stop = memchr(p, sep, (size_t)(end - p));
		if (sep != '\0') { /* text: a NUL ends the environment */
			const char *nul = memchr(p, '\0', (size_t)((stop ? stop : end) - p));
			if (nul)
				stop = end = nul;
		}
		if (!stop && sep == '\0') {
			r = ota_error_set(err, -EBADMSG, "entry %zu is not NUL-terminated", index);
			break;
		}
		if (!stop)
			stop = end;
		size_t len = (size_t)(stop - p);
		if (len == 0 && sep == '\0')
			break; /* the double NUL */
		if (len && sep == '\n' && p[len - 1] == '\r')
			len--;
		if (len)
			r = parse_entry(&env, p, len, index++, err);
		p = stop < end ? stop + 1 : end;
	}
	if (r < 0) {
		ota_uenv_done(&env);
		return r;
	}
	*ret = env;
	return 0;
}

int ota_uenv_format_data(const struct ota_uenv *env, char sep, void *data, size_t size, struct ota_error *err)
{
	char *out = data;
	size_t used = 0;
	for (size_t i = 0; i < env->n; i++) {
		size_t nl = strlen(env->vars[i].name), vl = strlen(env->vars[i].value);
		/* name '=' value sep, plus the final terminator; no overflow:
		 * each is a C string in memory. */
		if (size - used < 1 || nl + vl + 2 > size - used - 1)
			return ota_error_set(err, -ENOSPC, "the variables do not fit into %zu bytes", size);
		memcpy(out + used, env->vars[i].name, nl);
		out[used + nl] = '=';
		memcpy(out + used + nl + 1, env->vars[i].value, vl);
		out[used + nl + 1 + vl] = sep;
		used += nl + vl + 2;
	}
	if (used >= size)
		return ota_error_set(err, -ENOSPC, "the variables do not fit into %zu bytes", size);
	memset(out + used, 0, size - used);
	return 0;
}

int ota_uenv_format_text(const struct ota_uenv *env, char **ret_text, size_t *ret_size, struct ota_error *err)
{
	size_t total = 1;
	for (size_t i = 0; i < env->n; i++)
		total += strlen(env->vars[i].name) + strlen(env->vars[i].value) + 2;
	if (total > OTA_UENV_SIZE_MAX)
		return ota_error_set(err, -E2BIG, "environment text larger than %u bytes", OTA_UENV_SIZE_MAX);
	char *text = malloc(total);
	if (!text)
		return ota_error_set(err, -ENOMEM, "out of memory");
	int r = ota_uenv_format_data(env, '\n', text, total, err);
	if (r < 0) {
		free(text);
		return r;
	}
	*ret_text = text;
	*ret_size = total - 1;
	return 0;
}

static size_t header_size(bool redundant)
{
	return redundant ? 5 : 4;
}

static uint32_t get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

int ota_uenv_image_check(const void *img, size_t size, bool redundant, uint8_t *ret_flag)
{
	const uint8_t *p = img;
	size_t h = header_size(redundant);
	if (size < OTA_UENV_SIZE_MIN || size > OTA_UENV_SIZE_MAX)
		return -EINVAL;
	if (ota_uenv_crc32(0, p + h, size - h) != get_le32(p))
		return -EBADMSG;
	*ret_flag = redundant ? p[4] : 0;
	return 0;
}

int ota_uenv_image_decode(const void *img, size_t size, bool redundant, struct ota_uenv *ret, uint8_t *ret_flag,
			  struct ota_error *err)
{
	uint8_t flag;
	if (size < OTA_UENV_SIZE_MIN || size > OTA_UENV_SIZE_MAX)
		return ota_error_set(err, -EINVAL, "size %zu not in %u..%u", size, OTA_UENV_SIZE_MIN,
				     OTA_UENV_SIZE_MAX);
	if (ota_uenv_image_check(img, size, redundant, &flag) < 0)
		return ota_error_set(err, -EBADMSG, "CRC mismatch");
	size_t h = header_size(redundant);
	int r = ota_uenv_parse_data((const uint8_t *)img + h, size - h, '\0', ret, err);
	if (r < 0)
		return r;
	*ret_flag = flag;
	return 0;
}

int ota_uenv_image_encode(const struct ota_uenv *env, bool redundant, uint8_t flag, void *img, size_t size,
			  struct ota_error *err)
{
	uint8_t *p = img;
	size_t h = header_size(redundant);
	if (size < OTA_UENV_SIZE_MIN || size > OTA_UENV_SIZE_MAX)
		return ota_error_set(err, -EINVAL, "size %zu not in %u..%u", size, OTA_UENV_SIZE_MIN,
				     OTA_UENV_SIZE_MAX);
	int r = ota_uenv_format_data(env, '\0', p + h, size - h, err);
	if (r < 0)
		return r;
	uint32_t crc = ota_uenv_crc32(0, p + h, size - h);
	p[0] = (uint8_t)crc;
	p[1] = (uint8_t)(crc >> 8);
	p[2] = (uint8_t)(crc >> 16);
	p[3] = (uint8_t)(crc >> 24);
	if (redundant)
		p[4] = flag;
	return 0;
}

int ota_uenv_pick(bool ok0, uint8_t flag0, bool ok1, uint8_t flag1)
{
	if (!ok0 && !ok1)
		return -ENODATA;
	if (!ok1)
		return 0;
	if (!ok0)
		return 1;
	if (flag0 == 255 && flag1 == 0)
		return 1;
	if (flag1 == 255 && flag0 == 0)
		return 0;
	return flag1 > flag0 ? 1 : 0;
}

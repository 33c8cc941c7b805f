/* SPDX-License-Identifier: Apache-2.0 */
/* Checked string and number handling. */
#include <ctype.h>
#include <errno.h>
#include <string.h>
#include <strings.h>

#include "sysutil/sysutil.h"

int ota_format(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -EINVAL;
	if ((size_t)n >= size)
		return -ENAMETOOLONG;
	return 0;
}

/* Digits of base only: no sign, white space or prefix, which strtoull
 * would take (and base 0 would read "010" as octal 8). */
static int parse_digits(const char *s, int base, uint64_t *ret)
{
	static const char digits[] = "0123456789abcdefABCDEF";
	size_t n_digits = base == 16 ? sizeof(digits) - 1 : (size_t)base;
	if (!s || !*s)
		return -EINVAL;
	for (const char *p = s; *p; p++)
		if (!memchr(digits, *p, n_digits))
			return -EINVAL;
	errno = 0;
	unsigned long long v = strtoull(s, NULL, base);
	if (errno)
		return -errno;
	*ret = (uint64_t)v;
	return 0;
}

int ota_parse_u64(const char *s, uint64_t *ret)
{
	return parse_digits(s, 10, ret);
}

int ota_parse_unsigned(const char *s, unsigned min, unsigned max, unsigned *ret)
{
	uint64_t v;
	int r = ota_parse_u64(s, &v);
	if (r < 0)
		return r;
	if (v < min || v > max)
		return -ERANGE;
	*ret = (unsigned)v;
	return 0;
}

int ota_parse_u64_or_hex(const char *s, uint64_t *ret)
{
	if (ota_startswith(s, "0x") || ota_startswith(s, "0X"))
		return parse_digits(s + 2, 16, ret);
	return parse_digits(s, 10, ret);
}

int ota_parse_octal(const char *s, uint64_t *ret)
{
	return parse_digits(s, 8, ret);
}

int ota_parse_bool(const char *s, bool *ret)
{
	static const char *const yes[] = { "1", "yes", "true", "on" };
	static const char *const no[] = { "0", "no", "false", "off" };
	if (!s)
		return -EINVAL;
	for (size_t i = 0; i < OTA_ELEMENTSOF(yes); i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*ret = true;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*ret = false;
			return 0;
		}
	}
	return -EINVAL;
}

int ota_strdup_to(char **dst, const char *src)
{
	char *copy = NULL;
	if (src) {
		copy = strdup(src);
		if (!copy)
			return -ENOMEM;
	}
	free(*dst);
	*dst = copy;
	return 0;
}

bool ota_http_url_valid(const char *s)
{
	return s && ((strncmp(s, "http://", 7) == 0 && s[7]) || (strncmp(s, "https://", 8) == 0 && s[8]));
}

bool ota_streq(const char *a, const char *b)
{
	if (!a || !b)
		return a == b;
	return strcmp(a, b) == 0;
}

bool ota_startswith(const char *s, const char *prefix)
{
	return s && strncmp(s, prefix, strlen(prefix)) == 0;
}

const char *ota_enum_to_string(const char *const *names, size_t n, int value)
{
	return value >= 0 && (size_t)value < n ? names[value] : NULL;
}

int ota_enum_from_string(const char *const *names, size_t n, const char *s)
{
	for (size_t i = 0; s && i < n; i++)
		if (names[i] && strcmp(s, names[i]) == 0)
			return (int)i;
	return -1;
}

int ota_parse_size(const char *s, uint64_t *ret)
{
	static const char units[] = "KMGT";
	uint64_t v = 0;
	const char *c = s;
	for (; *c >= '0' && *c <= '9'; c++) {
		if (v > (UINT64_MAX - (uint64_t)(*c - '0')) / 10)
			return -ERANGE;
		v = v * 10 + (uint64_t)(*c - '0');
	}
	if (c == s)
		return -EINVAL;
	unsigned shift = 0;
	if (*c) {
		const char *u = strchr(units, toupper((unsigned char)*c));
		if (!u || (c[1] && strcasecmp(c + 1, "iB") != 0 && strcasecmp(c + 1, "B") != 0))
			return -EINVAL;
		shift = 10u * (unsigned)(u - units + 1);
	}
	if (v > (UINT64_MAX >> shift))
		return -ERANGE;
	*ret = v << shift;
	return 0;
}

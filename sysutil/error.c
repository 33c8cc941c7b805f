/* SPDX-License-Identifier: Apache-2.0 */
/* Error records with context; see sysutil.h. */
#include <errno.h>
#include <string.h>

#include "sysutil/sysutil.h"

int ota_error_set(struct ota_error *err, int code, const char *fmt, ...)
{
	if (!err)
		return code;
	va_list ap;
	va_start(ap, fmt);
	(void)vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	err->code = code;
	return code;
}

int ota_error_errno(struct ota_error *err, int code, const char *fmt, ...)
{
	if (!err)
		return code;
	va_list ap;
	va_start(ap, fmt);
	(void)vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	size_t used = strlen(err->msg);
	(void)snprintf(err->msg + used, sizeof(err->msg) - used, ": %s", strerror(code < 0 ? -code : code));
	err->code = code;
	return code;
}

void ota_error_prefix(struct ota_error *err, const char *fmt, ...)
{
	if (!err)
		return;
	char prefix[sizeof(err->msg)];
	va_list ap;
	va_start(ap, fmt);
	(void)vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	size_t plen = strlen(prefix);
	if (plen >= sizeof(err->msg) - 1)
		return;
	/* Truncation of the tail is acceptable; the prefix says where it failed. */
	memmove(err->msg + plen, err->msg, sizeof(err->msg) - plen - 1);
	err->msg[sizeof(err->msg) - 1] = '\0';
	memcpy(err->msg, prefix, plen);
}

void ota_error_clear(struct ota_error *err)
{
	if (!err)
		return;
	err->code = 0;
	err->msg[0] = '\0';
}

/* SPDX-License-Identifier: Apache-2.0 */
/* Error records with context; see sysutil.h. */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "sysutil/sysutil.h"

static const char *const ota_error_reason_names[_OTA_REASON_MAX] = {
	[OTA_REASON_FAILED] = "failed",
	[OTA_REASON_CONFIG] = "config",
	[OTA_REASON_SIGNATURE_INVALID] = "signature-invalid",
	[OTA_REASON_SIGNER_UNTRUSTED] = "signer-untrusted",
	[OTA_REASON_ALGORITHM_REJECTED] = "algorithm-rejected",
	[OTA_REASON_UNSIGNED] = "unsigned",
	[OTA_REASON_BUNDLE_MALFORMED] = "bundle-malformed",
	[OTA_REASON_BUNDLE_UNSUPPORTED] = "bundle-unsupported",
	[OTA_REASON_INCOMPATIBLE] = "incompatible",
	[OTA_REASON_DOWNGRADE] = "downgrade",
	[OTA_REASON_TLS] = "tls",
	[OTA_REASON_NETWORK] = "network",
	[OTA_REASON_CHANNEL] = "channel-invalid",
	[OTA_REASON_NO_SPACE] = "no-space",
	[OTA_REASON_READBACK_MISMATCH] = "readback-mismatch",
	[OTA_REASON_LOCKED] = "locked",
	[OTA_REASON_BOOTFLOW] = "bootflow",
	[OTA_REASON_HOOK] = "hook",
	[OTA_REASON_NOTHING_TO_DO] = "nothing-to-do",
};
OTA_DEFINE_ENUM_TO_STRING(ota_error_reason, enum ota_error_reason, "failed")
OTA_DEFINE_ENUM_FROM_STRING(ota_error_reason, enum ota_error_reason)

/* Fills err (if any) from fmt and its arguments, with strerror(code) after
 * a colon when with_errno; returns code. */
static int error_setv(struct ota_error *err, enum ota_error_reason reason, int code, bool with_errno, const char *fmt,
		      va_list ap)
{
	if (!err)
		return code;
	(void)vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	err->code = code;
	err->reason = reason;
	if (with_errno) {
		size_t used = strlen(err->msg);
		(void)snprintf(err->msg + used, sizeof(err->msg) - used, ": %s", strerror(code < 0 ? -code : code));
	}
	return code;
}

/* The body of each variadic setter below: error_setv over its arguments. */
#define ERROR_SET_FROM_ARGS(reason, with_errno)                               \
	do {                                                                  \
		va_list ap;                                                   \
		va_start(ap, fmt);                                            \
		(void)error_setv(err, (reason), code, (with_errno), fmt, ap); \
		va_end(ap);                                                   \
	} while (0)

int ota_error_set(struct ota_error *err, int code, const char *fmt, ...)
{
	ERROR_SET_FROM_ARGS(OTA_REASON_FAILED, false);
	return code;
}

int ota_error_set_because(struct ota_error *err, enum ota_error_reason reason, int code, const char *fmt, ...)
{
	ERROR_SET_FROM_ARGS(reason, false);
	return code;
}

int ota_error_errno(struct ota_error *err, int code, const char *fmt, ...)
{
	ERROR_SET_FROM_ARGS(OTA_REASON_FAILED, true);
	return code;
}

void ota_error_classify(struct ota_error *err, enum ota_error_reason reason)
{
	if (err && err->reason == OTA_REASON_FAILED)
		err->reason = reason;
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
	err->reason = OTA_REASON_FAILED;
	err->msg[0] = '\0';
}

int ota_error_exit_status(const struct ota_error *err)
{
	switch (err ? err->reason : OTA_REASON_FAILED) {
	case OTA_REASON_SIGNATURE_INVALID:
	case OTA_REASON_SIGNER_UNTRUSTED:
	case OTA_REASON_ALGORITHM_REJECTED:
	case OTA_REASON_UNSIGNED:
	case OTA_REASON_BUNDLE_MALFORMED: return OTA_EXIT_NOT_AUTHENTIC;
	case OTA_REASON_INCOMPATIBLE:
	case OTA_REASON_DOWNGRADE:
	case OTA_REASON_BUNDLE_UNSUPPORTED:
	case OTA_REASON_NO_SPACE: return OTA_EXIT_NOT_APPLICABLE;
	case OTA_REASON_TLS:
	case OTA_REASON_NETWORK:
	case OTA_REASON_CHANNEL: return OTA_EXIT_DOWNLOAD;
	case OTA_REASON_LOCKED: return OTA_EXIT_LOCKED;
	default: return OTA_EXIT_FAILURE;
	}
}

/* SPDX-License-Identifier: Apache-2.0 */
/* Versions: dpkg's ordering of version strings, and the downgrade policy
 * that decides whether a bundle may replace the running version; see
 * update.h. Used by install (version check) and check (the channel's latest
 * against the running version). */
#include <errno.h>

#include "update/update.h"

static int order(char ch)
{
	if (ch >= '0' && ch <= '9')
		return 0;
	if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z'))
		return (unsigned char)ch;
	if (ch == '~')
		return -1;
	if (ch)
		return (unsigned char)ch + 256;
	return 0;
}

/* dpkg's verrevcmp. */
int ota_version_compare(const char *a, const char *b)
{
	while (*a || *b) {
		int first_diff = 0;
		while ((*a && !(*a >= '0' && *a <= '9')) || (*b && !(*b >= '0' && *b <= '9'))) {
			int ac = order(*a), bc = order(*b);
			if (ac != bc)
				return ac - bc;
			a++;
			b++;
		}
		while (*a == '0')
			a++;
		while (*b == '0')
			b++;
		while (*a >= '0' && *a <= '9' && *b >= '0' && *b <= '9') {
			if (!first_diff)
				first_diff = *a - *b;
			a++;
			b++;
		}
		if (*a >= '0' && *a <= '9')
			return 1;
		if (*b >= '0' && *b <= '9')
			return -1;
		if (first_diff)
			return first_diff;
	}
	return 0;
}

/* ota_downgrade_policy_names: the values of [update] downgrade (sysconf). */
OTA_DEFINE_ENUM_TO_STRING(ota_downgrade_policy, enum ota_downgrade_policy, "unknown")

int ota_update_check_version(enum ota_downgrade_policy p, const char *running, const char *bundle,
			     struct ota_error *err)
{
	int cmp = ota_version_compare(bundle, running);
	if (p == OTA_DOWNGRADE_ALLOW || cmp > 0 || (cmp == 0 && p == OTA_DOWNGRADE_REFUSE))
		return 0;
	if (cmp == 0)
		return ota_error_set_because(err, OTA_REASON_DOWNGRADE, -EPERM,
					     "version check: bundle version %s is the running version (downgrade policy %s)",
					     bundle, ota_downgrade_policy_to_string(p));
	return ota_error_set_because(err, OTA_REASON_DOWNGRADE, -EPERM,
				     "version check: bundle version %s is older than the running version %s (downgrade policy %s)",
				     bundle, running, ota_downgrade_policy_to_string(p));
}

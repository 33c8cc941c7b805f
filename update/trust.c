/* SPDX-License-Identifier: Apache-2.0 */
/* How ota-update trusts a bundle: the keyring, the algorithm policy and
 * whether the clock is good enough to check certificate validity periods. */
#include <string.h>
#include <sys/timex.h>

#include "update/update.h"

bool ota_clock_synchronized(void)
{
	/* Read-only query (modes 0). TIME_ERROR means STA_UNSYNC or
	 * STA_CLOCKERR: nobody has set the clock from a reliable source since
	 * boot, so it may be the RTC's guess or 1970. */
	struct timex tx;
	memset(&tx, 0, sizeof(tx));
	int state = adjtimex(&tx);
	return state >= 0 && state != TIME_ERROR;
}

bool ota_check_time_wanted(enum ota_check_time setting, bool clock_synchronized)
{
	switch (setting) {
	case OTA_CHECK_TIME_YES:
		return true;
	case OTA_CHECK_TIME_NO:
		return false;
	case OTA_CHECK_TIME_AUTO:
	default:
		return clock_synchronized;
	}
}

void ota_update_trust(const struct ota_update_config *c, struct ota_bundle_trust *ret)
{
	memset(ret, 0, sizeof(*ret));
	ret->keyring = c->keyring;
	ret->algorithms = c->algorithms;
	ret->check_time = ota_check_time_wanted(c->check_time,
						c->check_time == OTA_CHECK_TIME_AUTO && ota_clock_synchronized());
}

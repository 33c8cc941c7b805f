/* SPDX-License-Identifier: Apache-2.0 */
/* Trial boots (ota.trial on the command line, set by the boot flow): make
 * sure a trial that cannot work ends in the bootloader's fallback instead of
 * a device limping on in degraded mode or hanging forever. */
#include <errno.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/reboot.h>
#include <unistd.h>
#include <linux/watchdog.h>

#include "init/init.h"

#define WATCHDOG_DEV "/dev/watchdog"

/* Starts the watchdog and closes it without the magic 'V': the timer keeps
 * running with nobody feeding it, so the machine resets unless someone
 * (ota-update commit, or a watchdog daemon taking over) deals with it. */
static void arm_watchdog(unsigned timeout_s)
{
	int fd = open(WATCHDOG_DEV, O_WRONLY | O_CLOEXEC);
	if (fd < 0) {
		log_info("trial boot: no watchdog (%s: %m); a hang will not fall back by itself", WATCHDOG_DEV);
		return;
	}
	int t = (int)timeout_s;
	if (ioctl(fd, WDIOC_SETTIMEOUT, &t) < 0)
		log_warning("trial boot: %s: cannot set a %u s timeout: %m", WATCHDOG_DEV, timeout_s);
	(void)ioctl(fd, WDIOC_GETTIMEOUT, &t);
	(void)ioctl(fd, WDIOC_KEEPALIVE, 0);
	close(fd);
	log_info("trial boot: watchdog armed for %d s; 'ota-update commit' stops it", t);
}

void ota_boot_guard_trial(struct ota_boot *b)
{
	if (!b->cmdline.trial)
		return;
	if (b->degraded[0]) {
		log_error("trial boot degraded (%s): rebooting so that the boot flow falls back", b->degraded);
		sync();
		(void)reboot(RB_AUTOBOOT);
		log_error("reboot failed: %m; going on degraded");
		return;
	}
	if (b->config.init.trial_watchdog_s)
		arm_watchdog(b->config.init.trial_watchdog_s);
}

/* SPDX-License-Identifier: Apache-2.0 */
/* ota-init: the PID-1 shim. main is the list of steps; see init.h. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/reboot.h>
#include <time.h>

#include "init/init.h"

/* If the kernel found no console, fds 0-2 are closed; give them one. */
static void ensure_stdio(void)
{
	if (fcntl(STDERR_FILENO, F_GETFD) >= 0)
		return;
	int fd = open("/dev/console", O_RDWR | O_NOCTTY);
	if (fd < 0)
		fd = open("/dev/null", O_RDWR);
	for (int i = 0; fd >= 0 && i < 3; i++)
		if (fd != i)
			(void)dup2(fd, i);
	if (fd > 2)
		(void)close(fd);
}

static void read_cmdline(char *buf, size_t size)
{
	buf[0] = '\0';
	if (ota_read_line("/proc/cmdline", buf, size) < 0)
		log_warning("cannot read /proc/cmdline; using defaults");
}

/* Nothing could be exec'd. Exiting would panic the kernel and hang a board
 * without panic=; a reboot at least gives the boot flow its fallback. */
static void no_init_left(void)
{
	log_error("no init could be started; rebooting in 30 seconds");
	sync();
	sleep(30);
	(void)reboot(RB_AUTOBOOT);
	for (;;)
		pause();
}

/* Run by hand (not PID 1), ota-init answers --help and --version and
 * refuses everything else; as PID 1 its arguments are the real init's. */
static const struct option options[] = {
	OTA_CLI_STANDARD_OPTIONS,
	{ 0 },
};

static const struct ota_cli_command self = {
	.max_args = UINT_MAX,
	.usage = "Usage: ota-init (as PID 1, started by the kernel with init=/sbin/ota-init)\n"
		 "       ota-init --help | --version\n"
		 "\n"
		 "The PID-1 shim of otaroot: mounts the A/B system slot read-only with an overlay\n"
		 "and the persisted state, then execs the real init (docs/architecture.md).\n"
		 "Configured by the kernel command line (ota.*), /etc/ota/system.conf,\n"
		 "/etc/ota/state.conf and /etc/ota/layout.conf; writes /run/ota/status.\n"
		 "\n"
		 "  -h, --help     this help\n"
		 "  -V, --version  the version of otaroot\n"
		 "\n"
		 "Exit status (not PID 1 only; as PID 1 it never exits): 0 help or version,\n"
		 "2 anything else (usage, or not PID 1).\n",
};

static int no_option(int opt, const char *arg)
{
	return -EINVAL;
}

static const struct ota_cli cli = {
	.tool = "ota-init",
	.options = options,
	.self = &self,
	.set = no_option,
};

static uint64_t monotonic_usec(void)
{
	struct timespec ts;
	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

int main(int argc, char **argv, char **envp)
{
	uint64_t start_usec = monotonic_usec();
	struct ota_boot boot;
	struct ota_error err = { 0 };
	char cmdline[OTA_CMDLINE_MAX];

	ota_log_init("ota-init", OTA_LOG_INFO);
	/* Everything below rearranges the mount tree of the whole system; run
	 * from a shell it would pull the root out from under a running system. */
	if (getpid() != 1) {
		struct ota_cli_args a;
		int rc = ota_cli_parse(&cli, argc, argv, &a);
		if (rc != OTA_CLI_CONTINUE)
			return rc;
		log_error("must run as PID 1, started by the kernel with init=%s", argv[0]);
		return 2;
	}
	ota_boot_init(&boot);

	int api_r = ota_boot_mount_api_filesystems(&boot, &err);
	ensure_stdio();
	(void)ota_log_open_kmsg();
	if (api_r < 0)
		log_error("%s", ota_boot_degrade(&boot, "%s", err.msg));

	read_cmdline(cmdline, sizeof(cmdline));
	ota_boot_load_settings(&boot, cmdline, OTA_SYSCONF_PATH, "");

	if (ota_boot_find_system(&boot, &err) < 0)
		log_error("%s", ota_boot_degrade(&boot, "booted system not identified: %s", err.msg));
	else
		log_info("booted slot %s from %s", boot.slot, boot.system_dev);

	ota_boot_provision(&boot, OTA_LAYOUT_CONF);
	if (ota_boot_mount_data(&boot, &err) < 0)
		log_error("%s", ota_boot_degrade(&boot, "data partition unavailable: %s", err.msg));
	else
		log_info("data partition %s mounted on %s", boot.data_dev, OTA_DATA_DIR);
	ota_boot_grow_data(&boot);

	ota_boot_prepare_state(&boot);
	ota_boot_build_root(&boot);
	ota_boot_bind_state(&boot);
	if (ota_boot_switch_root(&boot, &err) < 0)
		log_error("%s", ota_boot_degrade(&boot, "%s", err.msg));
	log_info("root: overlay %s%s", ota_overlay_mode_to_string(boot.overlay),
		 boot.degraded[0] ? " (degraded)" : "");

	boot.init_usec = monotonic_usec() - start_usec;
	if (ota_boot_write_status(&boot, &err) < 0)
		log_error("%s", err.msg);
	ota_boot_guard_trial(&boot);
	ota_boot_start_trash_cleaner(&boot);
	ota_boot_exec_init(&boot, argv, envp);
	no_init_left();
	return 0;
}

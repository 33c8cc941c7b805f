/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>

#include "init/init.h"
#include "test.h"

TEST(slot_from_partname)
{
	char buf[64];
	ASSERT_INT_EQ(ota_boot_slot_from_partname("system-a", buf, sizeof(buf)), 0);
	ASSERT_STR_EQ(buf, "a");
	ASSERT_INT_EQ(ota_boot_slot_from_partname("rootfs_b", buf, sizeof(buf)), 0);
	ASSERT_STR_EQ(buf, "b");
	ASSERT_INT_EQ(ota_boot_slot_from_partname("my-root_x", buf, sizeof(buf)), 0);
	ASSERT_STR_EQ(buf, "x");
	ASSERT_INT_EQ(ota_boot_slot_from_partname("rootfs", buf, sizeof(buf)), 0);
	ASSERT_STR_EQ(buf, "rootfs");
	ASSERT_INT_EQ(ota_boot_slot_from_partname("system-", buf, sizeof(buf)), 0);
	ASSERT_STR_EQ(buf, "system-");
	ASSERT_INT_EQ(ota_boot_slot_from_partname("", buf, sizeof(buf)), -EINVAL);
	ASSERT_INT_EQ(ota_boot_slot_from_partname("system-abcdef", buf, 4), -ENAMETOOLONG);
}

TEST(init_candidates_follow_kernel_order)
{
	const char *list[5];
	size_t n = ota_boot_init_candidates("/opt/myinit", list, 5);
	ASSERT_INT_EQ(n, 5);
	ASSERT_STR_EQ(list[0], "/opt/myinit");
	ASSERT_STR_EQ(list[1], "/sbin/init");
	ASSERT_STR_EQ(list[2], "/etc/init");
	ASSERT_STR_EQ(list[3], "/bin/init");
	ASSERT_STR_EQ(list[4], "/bin/sh");
	n = ota_boot_init_candidates("/sbin/init", list, 5);
	ASSERT_INT_EQ(n, 4);
	ASSERT_STR_EQ(list[0], "/sbin/init");
	ASSERT_STR_EQ(list[1], "/etc/init");
}

TEST(overlay_modes_round_trip)
{
	for (int m = 0; m < OTA_OVERLAY_MODE_MAX; m++)
		ASSERT_INT_EQ(ota_overlay_mode_from_string(ota_overlay_mode_to_string(m)), m);
	ASSERT_INT_EQ(ota_overlay_mode_from_string("Discard"), OTA_OVERLAY_MODE_INVALID);
	ASSERT_INT_EQ(ota_overlay_mode_from_string(NULL), OTA_OVERLAY_MODE_INVALID);
	ASSERT_TRUE(ota_overlay_mode_needs_data(OTA_OVERLAY_PERSIST));
	ASSERT_TRUE(!ota_overlay_mode_needs_data(OTA_OVERLAY_IN_MEMORY));
}

TEST(degrade_reasons_accumulate)
{
	struct ota_boot b;
	ota_boot_init(&b);
	ASSERT_STR_EQ(ota_boot_degrade(&b, "first %d", 1), "first 1");
	ASSERT_STR_EQ(ota_boot_degrade(&b, "second"), "second");
	ASSERT_STR_EQ(b.degraded, "first 1; second");
	ota_boot_done(&b);
}

static void write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

TEST(settings_cmdline_overrides_config)
{
	char root[TEST_DIR_MAX], sysconf[PATH_MAX + 32], stateconf[PATH_MAX + 32], dir[PATH_MAX];
	ASSERT_INT_EQ(test_mkdtemp(root, sizeof(root), "root"), 0);
	snprintf(dir, sizeof(dir), "%s/etc/ota", root);
	ASSERT_INT_EQ(ota_mkdir_p(dir, 0755), 0);
	snprintf(sysconf, sizeof(sysconf), "%s/system.conf", dir);
	snprintf(stateconf, sizeof(stateconf), "%s/state.conf", dir);
	write_text(sysconf, "[init]\npath = /sbin/realinit\n");
	write_text(stateconf, "[overlay]\nmode = persist\n");

	struct ota_boot b;
	ota_boot_init(&b);
	ota_boot_load_settings(&b, "root=/dev/vda1", sysconf, root);
	ASSERT_INT_EQ(b.overlay_requested, OTA_OVERLAY_PERSIST);
	ASSERT_STR_EQ(b.config.init.init, "/sbin/realinit");
	ASSERT_STR_EQ(b.config_error, "");
	ASSERT_STR_EQ(b.state_errors, "");
	ota_boot_done(&b);

	ota_boot_init(&b);
	ota_boot_load_settings(&b, "root=/dev/vda1 ota.overlay=in-memory", sysconf, root);
	ASSERT_INT_EQ(b.overlay_requested, OTA_OVERLAY_IN_MEMORY);
	ota_boot_done(&b);

	/* A bad ota.overlay= is ignored; broken files are recorded, not fatal. */
	write_text(sysconf, "[init]\npath = relative\n");
	write_text(stateconf, "[overlay]\nmode = nope\n");
	ota_boot_init(&b);
	ota_boot_load_settings(&b, "ota.overlay=bogus", sysconf, root);
	ASSERT_INT_EQ(b.overlay_requested, OTA_OVERLAY_DISCARD);
	ASSERT_CONTAINS(b.config_error, "'relative' is not an absolute path");
	ASSERT_CONTAINS(b.state_errors, "/etc/ota/state.conf:2: [overlay] mode: 'nope' is not one of");
	ota_boot_done(&b);

	/* The dialect's errors and a FIFO take the same path: defaults, recorded
	 * (issue 15, class 9). */
	write_text(sysconf, "[init]\npath = /sbin/realinit\npath = /sbin/other\n");
	unlink(stateconf);
	ASSERT_INT_EQ(mkfifo(stateconf, 0644), 0);
	ota_boot_init(&b);
	ota_boot_load_settings(&b, "", sysconf, root);
	ASSERT_NULL(b.config.init.init);
	ASSERT_INT_EQ(b.overlay_requested, OTA_OVERLAY_DISCARD);
	ASSERT_CONTAINS(b.config_error, "system.conf:3: key 'path' given again in [init] (first on line 2)");
	ASSERT_CONTAINS(b.state_errors, "state.conf' is a FIFO, not a regular file; file skipped");
	ota_boot_done(&b);
	unlink(sysconf);
	unlink(stateconf);
	rmdir(dir);
	snprintf(dir, sizeof(dir), "%s/etc", root);
	rmdir(dir);
	rmdir(root);
}

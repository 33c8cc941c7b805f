/* SPDX-License-Identifier: Apache-2.0 */
#include "init/init.h"
#include "test.h"

TEST(cmdline_root_and_ota_options)
{
	struct ota_cmdline c;
	ASSERT_INT_EQ(ota_cmdline_parse("console=ttyS0 root=PARTUUID=1234-abcd ro ota.init=/bin/myinit "
					"ota.slot=b ota.overlay=persist ota.data=LABEL=data ota.debug\n",
					&c, NULL), 0);
	ASSERT_STR_EQ(c.root, "PARTUUID=1234-abcd");
	ASSERT_STR_EQ(c.init, "/bin/myinit");
	ASSERT_STR_EQ(c.slot, "b");
	ASSERT_STR_EQ(c.overlay, "persist");
	ASSERT_STR_EQ(c.data, "LABEL=data");
	ASSERT_TRUE(c.debug);
	ota_cmdline_done(&c);
}

TEST(cmdline_partlabel_and_dev_path)
{
	struct ota_cmdline c;
	ASSERT_INT_EQ(ota_cmdline_parse("root=PARTLABEL=system-a", &c, NULL), 0);
	ASSERT_STR_EQ(c.root, "PARTLABEL=system-a");
	ota_cmdline_done(&c);
	ASSERT_INT_EQ(ota_cmdline_parse("root=/dev/mmcblk0p5 rootwait", &c, NULL), 0);
	ASSERT_STR_EQ(c.root, "/dev/mmcblk0p5");
	ota_cmdline_done(&c);
}

TEST(cmdline_defaults_when_absent)
{
	struct ota_cmdline c;
	ASSERT_INT_EQ(ota_cmdline_parse("", &c, NULL), 0);
	ASSERT_NULL(c.root);
	ASSERT_NULL(c.init);
	ASSERT_NULL(c.overlay);
	ASSERT_TRUE(!c.debug);
	ota_cmdline_done(&c);
}

TEST(cmdline_last_one_wins)
{
	struct ota_cmdline c;
	ASSERT_INT_EQ(ota_cmdline_parse("root=/dev/sda1 ota.init=/a root=/dev/sda2 ota.init=/b", &c, NULL), 0);
	ASSERT_STR_EQ(c.root, "/dev/sda2");
	ASSERT_STR_EQ(c.init, "/b");
	ota_cmdline_done(&c);
}

TEST(cmdline_quotes_group_and_are_removed)
{
	struct ota_cmdline c;
	ASSERT_INT_EQ(ota_cmdline_parse("foo=\"a b c\" ota.init=\"/sbin/my init\"  \"ota.slot=x y\"", &c, NULL), 0);
	ASSERT_STR_EQ(c.init, "/sbin/my init");
	ASSERT_STR_EQ(c.slot, "x y");
	ota_cmdline_done(&c);
}

TEST(cmdline_double_dash_ends_kernel_part)
{
	struct ota_cmdline c;
	ASSERT_INT_EQ(ota_cmdline_parse("root=/dev/vda1 -- ota.init=/evil single", &c, NULL), 0);
	ASSERT_STR_EQ(c.root, "/dev/vda1");
	ASSERT_NULL(c.init);
	ota_cmdline_done(&c);
}

TEST(cmdline_unknown_and_prefix_lookalikes_ignored)
{
	struct ota_cmdline c;
	ASSERT_INT_EQ(ota_cmdline_parse("ota.initx=/x rootfstype=ext4 ota.unknown=1 ota.debug=maybe xroot=/dev/x", &c,
					NULL), 0);
	ASSERT_NULL(c.init);
	ASSERT_NULL(c.root);
	ASSERT_TRUE(!c.debug);
	ota_cmdline_done(&c);
}

TEST(cmdline_debug_values)
{
	struct ota_cmdline c;
	ASSERT_INT_EQ(ota_cmdline_parse("ota.debug=0", &c, NULL), 0);
	ASSERT_TRUE(!c.debug);
	ota_cmdline_done(&c);
	ASSERT_INT_EQ(ota_cmdline_parse("ota.debug=yes", &c, NULL), 0);
	ASSERT_TRUE(c.debug);
	ota_cmdline_done(&c);
}

TEST(cmdline_too_long_is_an_error)
{
	struct ota_cmdline c;
	struct ota_error err = { 0 };
	char *big = malloc(OTA_CMDLINE_MAX + 10);
	memset(big, 'a', OTA_CMDLINE_MAX + 9);
	big[OTA_CMDLINE_MAX + 9] = '\0';
	int r = ota_cmdline_parse(big, &c, &err);
	free(big);
	ASSERT_TRUE(r < 0);
	ASSERT_CONTAINS(err.msg, "longer than");
}

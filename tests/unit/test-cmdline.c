/* SPDX-License-Identifier: Apache-2.0 */
#include "init/init.h"
#include "test.h"

/* Whether text parses to want, field by field (a NULL field: the parameter
 * absent); says which field differs. */
static bool parses_to(const char *text, struct ota_cmdline want)
{
	struct ota_cmdline c;
	if (ota_cmdline_parse(text, &c, NULL) != 0) {
		fprintf(stderr, "  '%s' does not parse\n", text);
		return false;
	}
	const char *names[] = { "root", "init", "slot", "overlay", "data" };
	const char *got[] = { c.root, c.init, c.slot, c.overlay, c.data };
	const char *wanted[] = { want.root, want.init, want.slot, want.overlay, want.data };
	bool same = c.debug == want.debug && c.trial == want.trial;
	if (!same)
		fprintf(stderr, "  '%s': debug %d trial %d\n", text, c.debug, c.trial);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (got[i] == wanted[i] || (got[i] && wanted[i] && strcmp(got[i], wanted[i]) == 0))
			continue;
		fprintf(stderr, "  '%s': %s is '%s', not '%s'\n", text, names[i], got[i] ? got[i] : "(absent)",
			wanted[i] ? wanted[i] : "(absent)");
		same = false;
	}
	ota_cmdline_done(&c);
	return same;
}

TEST(cmdline_root_and_ota_options)
{
	ASSERT_TRUE(parses_to("console=ttyS0 root=PARTUUID=1234-abcd ro ota.init=/bin/myinit "
			      "ota.slot=b ota.overlay=persist ota.data=LABEL=data ota.debug\n",
			      (struct ota_cmdline){ .root = "PARTUUID=1234-abcd", .init = "/bin/myinit", .slot = "b",
						    .overlay = "persist", .data = "LABEL=data", .debug = true }));
}

TEST(cmdline_partlabel_and_dev_path)
{
	ASSERT_TRUE(parses_to("root=PARTLABEL=system-a", (struct ota_cmdline){ .root = "PARTLABEL=system-a" }));
	ASSERT_TRUE(parses_to("root=/dev/mmcblk0p5 rootwait", (struct ota_cmdline){ .root = "/dev/mmcblk0p5" }));
}

TEST(cmdline_defaults_when_absent)
{
	ASSERT_TRUE(parses_to("", (struct ota_cmdline){ 0 }));
}

TEST(cmdline_last_one_wins)
{
	ASSERT_TRUE(parses_to("root=/dev/sda1 ota.init=/a root=/dev/sda2 ota.init=/b",
			      (struct ota_cmdline){ .root = "/dev/sda2", .init = "/b" }));
}

TEST(cmdline_quotes_group_and_are_removed)
{
	ASSERT_TRUE(parses_to("foo=\"a b c\" ota.init=\"/sbin/my init\"  \"ota.slot=x y\"",
			      (struct ota_cmdline){ .init = "/sbin/my init", .slot = "x y" }));
}

TEST(cmdline_double_dash_ends_kernel_part)
{
	ASSERT_TRUE(parses_to("root=/dev/vda1 -- ota.init=/evil single", (struct ota_cmdline){ .root = "/dev/vda1" }));
}

TEST(cmdline_unknown_and_prefix_lookalikes_ignored)
{
	ASSERT_TRUE(parses_to("ota.initx=/x rootfstype=ext4 ota.unknown=1 ota.debug=maybe xroot=/dev/x",
			      (struct ota_cmdline){ 0 }));
}

TEST(cmdline_debug_values)
{
	ASSERT_TRUE(parses_to("ota.debug=0", (struct ota_cmdline){ 0 }));
	ASSERT_TRUE(parses_to("ota.debug=yes", (struct ota_cmdline){ .debug = true }));
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

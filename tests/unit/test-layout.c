#include <errno.h>

#include "partitioner/partitioner.h"
#include "test.h"

static const char *gpt_text = "[table]\ntype = gpt\n"
			      "[partition boot]\nsize = 256M\ntype = esp\nfilesystem = vfat\nlabel = BOOT\n"
			      "[partition system-a]\nsize = 1G\ntype = 4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709\n"
			      "[partition data]\nsize = rest\ntype = linux\nfilesystem = ext4\ngrow = yes\n"
			      "mkfs-options = -m 1\n";

TEST(layout_gpt)
{
	struct ota_layout l;
	ASSERT_INT_EQ(ota_layout_parse(&l, gpt_text, "l.conf", NULL), 0);
	ASSERT_INT_EQ(l.table, OTA_TABLE_GPT);
	ASSERT_INT_EQ(l.n_parts, 3);
	ASSERT_STR_EQ(l.parts[0].name, "boot");
	ASSERT_TRUE(l.parts[0].size == 256ull << 20);
	ASSERT_STR_EQ(l.parts[0].gpt_type, "c12a7328-f81f-11d2-ba4b-00a0c93ec93b");
	ASSERT_INT_EQ(l.parts[0].fs, OTA_FS_VFAT);
	ASSERT_STR_EQ(l.parts[1].gpt_type, "4f68bce3-e8cd-4db1-96e7-fbcaf984b709");
	ASSERT_TRUE(l.parts[1].size == 1ull << 30);
	ASSERT_TRUE(l.parts[2].rest && l.parts[2].grow);
	ASSERT_STR_EQ(l.parts[2].mkfs_options, "-m 1");
}

TEST(layout_mbr_types)
{
	struct ota_layout l;
	ASSERT_INT_EQ(ota_layout_parse(&l, "[table]\ntype = mbr\n[partition a]\nsize=32M\ntype=fat32\n"
					   "[partition b]\nsize=1024\ntype=83\n[partition c]\nsize=1K\ntype=0xda\n",
				       "l.conf", NULL), 0);
	ASSERT_INT_EQ(l.parts[0].mbr_type, 0x0c);
	ASSERT_INT_EQ(l.parts[1].mbr_type, 0x83);
	ASSERT_INT_EQ(l.parts[1].size, 1024);
	ASSERT_INT_EQ(l.parts[2].mbr_type, 0xda);
}

static void expect_error(const char *text, const char *fragment)
{
	struct ota_layout l;
	struct ota_error err = { 0 };
	int r = ota_layout_parse(&l, text, "l.conf", &err);
	ASSERT_TRUE(r < 0);
	ASSERT_CONTAINS(err.msg, fragment);
}

TEST(layout_errors)
{
	expect_error("[table]\ntype = apm\n", "l.conf:2: [table] type: 'apm' is not gpt or mbr");
	expect_error("[table]\ntype = gpt\n", "no [partition NAME] section");
	expect_error("[partition a]\nsize = 10X\ntype = linux\n", "l.conf:2: [partition a] size: '10X'");
	expect_error("[partition a]\nsize = 99999999999T\ntype = linux\n", "size: '99999999999T'");
	expect_error("[partition a]\ntype = linux\n", "[partition a] has no size");
	expect_error("[partition a]\nsize = 1M\n", "[partition a] has no type");
	expect_error("[partition a]\nsize = rest\ntype = linux\n[partition b]\nsize = 1M\ntype = linux\n",
		     "size = rest is only allowed for the last partition");
	expect_error("[partition a]\nsize = 1M\ntype = nonsense\n", "'nonsense' is not a GPT type GUID or an alias");
	expect_error("[table]\ntype = mbr\n[partition a]\nsize = 1M\ntype = 5\n", "not an MBR type byte");
	expect_error("[partition a]\nsize = 1M\ntype = linux\ngrow = yes\n", "grow = yes needs filesystem = ext4");
	expect_error("[partition a]\nsize = 1M\ntype = linux\nfilesystem = xfs\n", "'xfs' is not ext4, vfat or none");
	expect_error("[partition a]\nsize = 1M\ntype = linux\ncolour = red\n", "unknown key 'colour'");
	expect_error("[disk]\nx = 1\n", "unknown section [disk]");
}

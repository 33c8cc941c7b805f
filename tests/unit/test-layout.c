/* SPDX-License-Identifier: Apache-2.0 */
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
					   "[partition b]\nsize=1048576\ntype=83\n[partition c]\nsize=1M\ntype=0x8e\n",
				       "l.conf", NULL), 0);
	ASSERT_INT_EQ(l.parts[0].mbr_type, 0x0c);
	ASSERT_INT_EQ(l.parts[1].mbr_type, 0x83);
	ASSERT_INT_EQ(l.parts[1].size, 1048576);
	ASSERT_INT_EQ(l.parts[2].mbr_type, 0x8e);
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

/* A layout of one GPT partition with name, then extra keys. */
static int parse_one(const char *table, const char *name, const char *keys, struct ota_layout *l,
		     struct ota_error *err)
{
	char text[1024];
	snprintf(text, sizeof(text), "[table]\ntype = %s\n[partition %s]\n%s\n", table, name, keys);
	return ota_layout_parse(l, text, "l.conf", err);
}

static void expect_one_error(const char *table, const char *name, const char *keys, const char *fragment)
{
	struct ota_layout l;
	struct ota_error err = { 0 };
	int r = parse_one(table, name, keys, &l, &err);
	if (r >= 0)
		fprintf(stderr, "  accepted: [partition %s] %s\n", name, keys);
	ASSERT_TRUE(r < 0);
	ASSERT_CONTAINS(err.msg, fragment);
}

static void expect_one_ok(const char *table, const char *name, const char *keys)
{
	struct ota_layout l;
	struct ota_error err = { 0 };
	int r = parse_one(table, name, keys, &l, &err);
	if (r < 0)
		fprintf(stderr, "  refused: %s\n", err.msg);
	ASSERT_INT_EQ(r, 0);
	ASSERT_STR_EQ(l.parts[0].name, name);
}

static void repeat(char *buf, size_t size, const char *unit, int n)
{
	buf[0] = '\0';
	for (int i = 0; i < n; i++)
		strncat(buf, unit, size - strlen(buf) - 1);
}

/* GPT names hold 36 UTF-16 code units; libfdisk cut longer ones without a
 * word, after which the disk never matched the layout again. */
TEST(layout_name_utf16_units)
{
	char name[256];
	repeat(name, sizeof(name), "x", 36);
	expect_one_ok("gpt", name, "size = 1M\ntype = linux");
	repeat(name, sizeof(name), "x", 37);
	expect_one_error("gpt", name, "size = 1M\ntype = linux", "37 UTF-16 code units, a GPT entry holds 36");
	/* The message names what an older ota-part wrote: the first 36. */
	repeat(name, sizeof(name), "x", 36);
	ASSERT_TRUE(strlen(name) == 36);
	char want[128];
	snprintf(want, sizeof(want), "cut to '%s'", name);
	strcat(name, "yz");
	expect_one_error("gpt", name, "size = 1M\ntype = linux", want);
	/* Multi-byte characters count one unit each (within U+FFFF). */
	repeat(name, sizeof(name), "\xe2\x82\xac", 12); /* U+20AC, 36 bytes */
	expect_one_ok("gpt", name, "size = 1M\ntype = linux");
	/* MBR stores no name; the same rule keeps one layout valid for both. */
	repeat(name, sizeof(name), "m", 38);
	expect_one_error("mbr", name, "size = 1M\ntype = 83", "38 UTF-16 code units");
	/* Units count, not bytes: 36 three-byte characters fit (108 bytes in
	 * the section name, which the INI reader keeps whole), 37 do not. */
	repeat(name, sizeof(name), "\xe2\x82\xac", 36);
	expect_one_ok("gpt", name, "size = 1M\ntype = linux");
	repeat(name, sizeof(name), "\xe2\x82\xac", 37);
	expect_one_error("gpt", name, "size = 1M\ntype = linux", "37 UTF-16 code units, a GPT entry holds 36");
}

TEST(layout_name_encoding)
{
	char name[256];
	/* Outside the BMP: GPT would need surrogate pairs; libfdisk writes an
	 * empty name instead, so even a short such name is refused. */
	repeat(name, sizeof(name), "\xf0\x9f\x9a\x80", 2); /* U+1F680 */
	expect_one_error("gpt", name, "size = 1M\ntype = linux", "has U+1F680, outside U+0000..U+FFFF");
	expect_one_error("gpt", "ab\xc3", "size = 1M\ntype = linux", "is not valid UTF-8 (byte 3)");
	expect_one_error("gpt", "over\xc0\xaflong", "size = 1M\ntype = linux", "is not valid UTF-8");
	expect_one_error("gpt", "surr\xed\xa0\x80", "size = 1M\ntype = linux", "is not valid UTF-8");
	expect_one_error("gpt", "bell\x07", "size = 1M\ntype = linux", "control character (U+0007)");
	expect_one_ok("gpt", "d\xc3\xa4ta", "size = 1M\ntype = linux");
}

TEST(layout_size_limits)
{
	expect_one_error("gpt", "a", "size = 512\ntype = linux", "size: '512' is below the minimum of 1 MiB");
	expect_one_error("gpt", "a", "size = 0\ntype = linux", "size: '0' is below the minimum of 1 MiB");
	expect_one_error("gpt", "a", "size = 1023K\ntype = linux", "below the minimum of 1 MiB");
	expect_one_error("gpt", "a", "size = 18446744073709551615\ntype = linux",
			 "'18446744073709551615' is not a whole number of 512-byte sectors");
	expect_one_error("gpt", "a", "size = 18446744073709551616\ntype = linux", "more than 2^64 - 1 bytes");
	expect_one_error("gpt", "a", "size = 16777216T\ntype = linux", "'16777216T' is more than 2^64 - 1 bytes");
	expect_one_error("gpt", "a", "size = 1048577\ntype = linux", "not a whole number of 512-byte sectors");
	expect_one_error("gpt", "a", "size = +2M\ntype = linux", "is not a size like");
	expect_one_error("gpt", "a", "size = 2 M\ntype = linux", "is not a size like");
	expect_one_error("gpt", "a", "size = 7M\ntype = linux\nfilesystem = ext4",
			 "size: 7168 KiB is below the 8 MiB that ext4");
	expect_one_ok("gpt", "a", "size = 8M\ntype = linux\nfilesystem = ext4");
	expect_one_ok("gpt", "a", "size = 1536K\ntype = linux\nfilesystem = vfat");
	expect_one_ok("gpt", "a", "size = 16777215T\ntype = linux");
	expect_one_error("mbr", "a", "size = 17T\ntype = 83", "more than an MBR partition can hold");
	expect_one_ok("mbr", "a", "size = 15T\ntype = 83");
	expect_error("[partition a]\nsize = 16000000T\ntype = linux\n[partition b]\nsize = 1000000T\ntype = linux\n",
		     "the sizes add up to more than 2^64 - 1 bytes");
}

TEST(layout_types_the_table_cannot_mean)
{
	expect_one_error("gpt", "a", "size = 1M\ntype = 00000000-0000-0000-0000-000000000000", "marks an unused GPT entry");
	expect_one_error("gpt", "a", "size = 1M\ntype = 4F544150-454E-4449-4E47-0000000A4F4B",
			 "ota-part's own mark for a partition not yet formatted");
	expect_one_error("mbr", "a", "size = 1M\ntype = da", "ota-part's own mark");
	expect_one_error("mbr", "a", "size = 1M\ntype = 0x85", "not an MBR type byte (hex, not extended)");
	expect_one_error("mbr", "a", "size = 1M\ntype = ee", "GPT protective type");
	expect_one_error("mbr", "a", "size = 1M\ntype = 100", "not an MBR type byte");
	expect_one_error("gpt", "a", "size = 1M\ntype = 0fc63daf-8483-4772-8e79-3d69d8477de", "not a GPT type GUID");
	expect_one_ok("mbr", "a", "size = 1M\ntype = 0x8e");
}

TEST(layout_labels_and_mkfs_options)
{
	expect_one_ok("gpt", "a", "size = 8M\ntype = linux\nfilesystem = ext4\nlabel = 0123456789abcdef");
	expect_one_error("gpt", "a", "size = 8M\ntype = linux\nfilesystem = ext4\nlabel = 0123456789abcdefg",
			 "17 bytes, an ext4 label holds 16");
	expect_one_ok("gpt", "a", "size = 1M\ntype = esp\nfilesystem = vfat\nlabel = EFI SYSTEM");
	expect_one_error("gpt", "a", "size = 1M\ntype = esp\nfilesystem = vfat\nlabel = FIRMWARE-A-1",
			 "12 characters, a vfat label holds 11");
	expect_one_error("gpt", "a", "size = 1M\ntype = esp\nfilesystem = vfat\nlabel = BOOT.A", "printable ASCII");
	expect_one_error("gpt", "a", "size = 1M\ntype = esp\nfilesystem = vfat\nlabel = B\xc3\x96OT", "printable ASCII");
	expect_one_error("gpt", "a", "size = 1M\ntype = linux\nlabel = stuff", "needs a filesystem");
	expect_one_error("gpt", "a", "size = 1M\ntype = linux\nmkfs-options = -m 1", "needs a filesystem");
	char keys[512];
	snprintf(keys, sizeof(keys), "size = 8M\ntype = linux\nfilesystem = ext4\nmkfs-options =");
	for (int i = 0; i < 33; i++)
		strcat(keys, " -q");
	expect_one_error("gpt", "a", keys, "mkfs-options: 33 words, at most 32");
}

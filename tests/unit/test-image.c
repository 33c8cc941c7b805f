/* SPDX-License-Identifier: Apache-2.0 */
/* image: the description's schema and parser, and the device files ota-image
 * writes from it, each read back by its owner (sysconf/, partitioner/). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "image/image.h"
#include "partitioner/partitioner.h"
#include "sysconf/sysconf.h"
#include "test.h"

/* Every key of the schema, none at its default. */
static const char every_key[] =
	"[image]\n"
	"target = efi\n"
	"arch = arm64\n"
	"filesystem = erofs\n"
	"slot-size = 3G\n"
	"esp-size = 48M\n"
	"kernel-cmdline = console=ttyAMA0 quiet\n"
	"grub-serial = yes\n"
	"bmap = no\n"
	"overlay = files\n"
	"system-conf = product-system.conf\n"
	"[system]\n"
	"compatible = acme-router-r2\n"
	"version = 2025.03.1\n"
	"[update]\n"
	"keyring = /srv/pki/ca.pem\n"
	"channel = https://updates.example.net/r2/beta.json\n"
	"downgrade = strict\n"
	"[bootflow]\n"
	"tries = 7\n"
	"[init]\n"
	"trial-watchdog = 600\n"
	"[rpi]\n"
	"firmware = /usr/lib/raspi-firmware\n"
	"kernel = /boot/Image-6.6\n"
	"boot-size = 256M\n"
	"config = rpi/config-extra.txt\n"
	"[uboot]\n"
	"device = virtio 1\n"
	"fdt = /boot/dtbs/rockchip/rk3399-rockpro64.dtb\n"
	"[sign]\n"
	"key = keys/signer.key\n"
	"cert = keys/signer.pem\n"
	"chain = keys/intermediate.pem\n";

TEST(image_desc_every_key_in_the_test)
{
	ASSERT_TRUE(test_schema_keys_set(ota_image_desc_key_name, (const char *const[]){ every_key, NULL }) >= 25);
}

TEST(image_desc_round_trip_every_key)
{
	struct ota_image_desc d;
	struct ota_error err = { 0 };
	ota_image_desc_init(&d);
	int r = ota_image_desc_parse(&d, every_key, "/work/products/r2/image.conf", &err);
	if (r < 0)
		fprintf(stderr, "  %s\n", err.msg);
	ASSERT_INT_EQ(r, 0);
	ASSERT_INT_EQ(d.target, OTA_IMAGE_TARGET_EFI);
	ASSERT_INT_EQ(d.arch, OTA_IMAGE_ARCH_ARM64);
	ASSERT_INT_EQ(d.filesystem, OTA_IMAGE_FS_EROFS);
	ASSERT_TRUE(d.slot_size == 3ull << 30);
	ASSERT_TRUE(d.esp_size == 48ull << 20);
	ASSERT_STR_EQ(d.kernel_cmdline, "console=ttyAMA0 quiet");
	ASSERT_TRUE(d.grub_serial);
	ASSERT_INT_EQ(d.bmap, OTA_IMAGE_BMAP_NO);
	ASSERT_STR_EQ(d.overlay, "/work/products/r2/files");
	ASSERT_STR_EQ(d.system_conf, "/work/products/r2/product-system.conf");
	ASSERT_STR_EQ(d.compatible, "acme-router-r2");
	ASSERT_STR_EQ(d.version, "2025.03.1");
	ASSERT_STR_EQ(d.keyring, "/srv/pki/ca.pem");
	ASSERT_STR_EQ(d.channel, "https://updates.example.net/r2/beta.json");
	ASSERT_STR_EQ(d.downgrade, "strict");
	ASSERT_INT_EQ(d.tries, 7);
	ASSERT_INT_EQ(d.trial_watchdog_s, 600);
	ASSERT_STR_EQ(d.rpi_firmware, "/usr/lib/raspi-firmware");
	ASSERT_STR_EQ(d.rpi_kernel, "/boot/Image-6.6");
	ASSERT_TRUE(d.rpi_boot_size == 256ull << 20);
	ASSERT_STR_EQ(d.rpi_config, "/work/products/r2/rpi/config-extra.txt");
	ASSERT_STR_EQ(d.uboot_device, "virtio 1");
	ASSERT_STR_EQ(d.uboot_fdt, "/boot/dtbs/rockchip/rk3399-rockpro64.dtb");
	ASSERT_STR_EQ(d.key, "/work/products/r2/keys/signer.key");
	ASSERT_STR_EQ(d.cert, "/work/products/r2/keys/signer.pem");
	ASSERT_STR_EQ(d.chain, "/work/products/r2/keys/intermediate.pem");
	ota_image_desc_done(&d);
}

/* The smallest description: the defaults. */
static const char minimal[] = "[system]\ncompatible = lab-board\nversion = 7\n[update]\nkeyring = ca.pem\n";

TEST(image_desc_defaults)
{
	struct ota_image_desc d;
	struct ota_error err = { 0 };
	ota_image_desc_init(&d);
	ASSERT_INT_EQ(ota_image_desc_parse(&d, minimal, "rel/desc.ini", &err), 0);
	ASSERT_INT_EQ(d.arch, OTA_IMAGE_ARCH_AMD64);
	ASSERT_INT_EQ(d.filesystem, OTA_IMAGE_FS_EXT4);
	ASSERT_TRUE(d.slot_size == 0);
	ASSERT_TRUE(d.esp_size == OTA_IMAGE_DEFAULT_ESP_SIZE);
	ASSERT_INT_EQ(d.bmap, OTA_IMAGE_BMAP_AUTO);
	ASSERT_STR_EQ(d.keyring, "rel/ca.pem");
	ASSERT_NULL(d.key);
	ASSERT_INT_EQ(d.tries, OTA_UPDATE_DEFAULT_TRIES);
	ASSERT_INT_EQ(d.trial_watchdog_s, OTA_TRIAL_WATCHDOG_DEFAULT_S);
	ota_image_desc_done(&d);
}

/* Each bad description fails naming where and why, and leaves d as it was. */
TEST(image_desc_errors_name_line_and_key)
{
	static const struct {
		const char *text, *want;
	} cases[] = {
		{ "[system]\ncompatible = x\nversion = 1\n[update]\nkeyring = k\nkeyrings = k2\n",
		  "d.conf:6: [update] keyrings: unknown key" },
		{ "[image]\narch = riscv64\n", "d.conf:2: [image] arch: 'riscv64' is not one of amd64, arm64" },
		{ "[image]\nslot-size = 100000K\n", "d.conf:2: [image] slot-size: '100000K' is not a size in whole MiB" },
		{ "[image]\nesp-size = 8M\n", "[image] esp-size: '8M'" },
		{ "[bootflow]\ntries = 0\n", "d.conf:2: [bootflow] tries: '0' is not a number in 1..100" },
		{ "[partition data]\nsize = rest\n", "d.conf:1: unknown section [partition data]" },
		{ "[system]\ncompatible = x\n[update]\nkeyring = k\n", "d.conf: [system] version is required" },
		{ "[system]\ncompatible = x\nversion = 1 beta\n[update]\nkeyring = k\n", "version '1 beta' has a space" },
		{ "[system]\ncompatible = x\nversion = 1\n[update]\nkeyring = k\n[sign]\nkey = s.key\n",
		  "[sign] key and cert go together" },
		{ "[image]\ngrub-serial = maybe\n", "d.conf:2: [image] grub-serial: 'maybe' is not yes or no" },
		{ "[image]\nbmap = auto\nbmap = no\n", "d.conf" },
		{ "[image]\ntarget = coreboot\n", "'coreboot' is not one of efi, rpi-tryboot, uboot" },
		{ "[image]\ntarget = rpi-tryboot\n[system]\ncompatible = x\nversion = 1\n[update]\nkeyring = k\n",
		  "d.conf: [image] target rpi-tryboot needs arch = arm64" },
		{ "[uboot]\ndevice = mmc\n[system]\ncompatible = x\nversion = 1\n[update]\nkeyring = k\n",
		  "[uboot] device 'mmc' is not U-Boot's interface and device number" },
		{ "[uboot]\ndevice = mmc 0:1\n[system]\ncompatible = x\nversion = 1\n[update]\nkeyring = k\n",
		  "[uboot] device 'mmc 0:1'" },
		{ "[image]\narch = arm64\n[rpi]\nfirmware = boot/firmware\n[system]\ncompatible = x\nversion = 1\n"
		  "[update]\nkeyring = k\n",
		  "[rpi] firmware 'boot/firmware' is not an absolute path inside the root" },
		{ "[uboot]\nfdt = /b.dtb\n[system]\ncompatible = x\nversion = 1\n[update]\nkeyring = k\n",
		  "[uboot] fdt is for arch = arm64" },
		{ "[rpi]\nboot-size = 32M\n", "d.conf:2: [rpi] boot-size: '32M' is not a size in whole MiB" },
	};
	for (size_t i = 0; i < OTA_ELEMENTSOF(cases); i++) {
		struct ota_image_desc d;
		struct ota_error err = { 0 };
		ota_image_desc_init(&d);
		ASSERT_TRUE(ota_image_desc_parse(&d, cases[i].text, "d.conf", &err) < 0);
		ASSERT_CONTAINS(err.msg, cases[i].want);
		ASSERT_NULL(d.compatible);
	}
}

/* What ota-image writes as system.conf is what ota-init and ota-update
 * read: parsed by sysconf, the values are the description's. */
TEST(image_system_conf_parses_back)
{
	struct ota_image_desc d;
	struct ota_error err = { 0 };
	ota_image_desc_init(&d);
	ASSERT_INT_EQ(ota_image_desc_parse(&d, every_key, "/p/image.conf", &err), 0);
	free(d.system_conf); /* image_system_conf_adds_a_products_settings reads one */
	d.system_conf = NULL;
	char *text = NULL;
	ASSERT_INT_EQ(ota_image_system_conf(&d, "2025.04", &text, &err), 0);
	struct ota_sysconf c;
	ota_sysconf_init(&c);
	int r = ota_sysconf_parse(&c, OTA_SYSCONF_INIT | OTA_SYSCONF_UPDATE, text, "system.conf", &err);
	if (r < 0)
		fprintf(stderr, "  %s\n%s", err.msg, text);
	ASSERT_INT_EQ(r, 0);
	ASSERT_STR_EQ(c.update.compatible, "acme-router-r2");
	ASSERT_STR_EQ(c.update.version, "2025.04");
	ASSERT_STR_EQ(c.update.keyring, "/etc/ota/keyring.pem");
	ASSERT_STR_EQ(c.update.channel, "https://updates.example.net/r2/beta.json");
	ASSERT_INT_EQ(c.update.downgrade, OTA_DOWNGRADE_STRICT);
	ASSERT_INT_EQ(c.update.tries, 7);
	ASSERT_STR_EQ(c.update.bootflow.type, "grub");
	ASSERT_STR_EQ(c.update.bootflow.device, "PARTLABEL=esp");
	ASSERT_STR_EQ(c.update.bootflow.groups[0], "a");
	ASSERT_STR_EQ(c.update.bootflow.groups[1], "b");
	ASSERT_STR_EQ(ota_sysconf_slot(&c.update, "a", "system")->device, "PARTLABEL=system-a");
	ASSERT_STR_EQ(ota_sysconf_slot(&c.update, "b", "system")->device, "PARTLABEL=system-b");
	ASSERT_INT_EQ(c.init.trial_watchdog_s, 600);
	ASSERT_STR_EQ(c.init.init, "/sbin/init");
	ASSERT_NULL(c.init.data_device);
	ota_sysconf_done(&c);
	free(text);
	/* No override: the description's version; no channel: none. */
	ota_image_desc_done(&d);
	ASSERT_INT_EQ(ota_image_desc_parse(&d, minimal, "m.conf", &err), 0);
	ASSERT_INT_EQ(ota_image_system_conf(&d, NULL, &text, &err), 0);
	ota_sysconf_init(&c);
	ASSERT_INT_EQ(ota_sysconf_parse(&c, OTA_SYSCONF_UPDATE, text, "system.conf", &err), 0);
	ASSERT_STR_EQ(c.update.version, "7");
	ASSERT_NULL(c.update.channel);
	ASSERT_INT_EQ(c.update.downgrade, OTA_DOWNGRADE_REFUSE);
	ota_sysconf_done(&c);
	free(text);
	ota_image_desc_done(&d);
}

/* [image] system-conf: a product's own settings reach the image's
 * system.conf, the description's keys stay the description's. */
TEST(image_system_conf_adds_a_products_settings)
{
	char dir[TEST_DIR_MAX], desc[TEST_DIR_MAX + 64];
	ASSERT_INT_EQ(test_mkdtemp(dir, sizeof(dir), "sysconf-extra"), 0);
	ASSERT_INT_EQ(test_put(dir, "board.conf",
			       "[hawkbit]\nserver = https://fleet.example.org:8443/ddi\n"
			       "target-token-file = /etc/ota/fleet-token\n"
			       "[update]\ndowngrade = strict\nchannel = hawkbit\n"
			       "[data]\noptions = noatime,commit=30\ndevice = auto\n"
			       "[system]\ncompatible = gw-7\n"),
		       0);
	ASSERT_INT_EQ(test_put(dir, "image.conf",
			       "[image]\nsystem-conf = board.conf\n[system]\ncompatible = gw-7\nversion = 3\n"
			       "[update]\nkeyring = ca.pem\ndowngrade = strict\n"),
		       0);
	snprintf(desc, sizeof(desc), "%s/image.conf", dir);
	_cleanup_free_ char *desc_text = NULL, *text = NULL;
	struct ota_error err = { 0 };
	ASSERT_INT_EQ(ota_read_config_file(desc, &desc_text, &err), 0);
	struct ota_image_desc d;
	ota_image_desc_init(&d);
	ASSERT_INT_EQ(ota_image_desc_parse(&d, desc_text, desc, &err), 0);
	int r = ota_image_system_conf(&d, NULL, &text, &err);
	if (r < 0)
		fprintf(stderr, "  %s\n", err.msg);
	ASSERT_INT_EQ(r, 0);
	struct ota_sysconf c;
	ota_sysconf_init(&c);
	r = ota_sysconf_parse(&c, OTA_SYSCONF_INIT | OTA_SYSCONF_UPDATE, text, "system.conf", &err);
	if (r < 0)
		fprintf(stderr, "  %s\n%s", err.msg, text);
	ASSERT_INT_EQ(r, 0);
	ASSERT_STR_EQ(c.init.data_options, "noatime,commit=30");
	ASSERT_STR_EQ(c.update.channel, "hawkbit");
	ASSERT_STR_EQ(c.update.hawkbit.server, "https://fleet.example.org:8443/ddi");
	ASSERT_STR_EQ(c.update.hawkbit.target_token_file, "/etc/ota/fleet-token");
	ASSERT_INT_EQ(c.update.downgrade, OTA_DOWNGRADE_STRICT);
	ASSERT_STR_EQ(c.update.compatible, "gw-7");
	ASSERT_STR_EQ(c.update.bootflow.type, "grub");
	ota_sysconf_done(&c);
	ota_image_desc_done(&d);
}

TEST(image_system_conf_refuses_what_contradicts_the_description)
{
	static const char generated[] = "[system]\ncompatible = gw-7\nversion = 3\n[bootflow]\ntries = 5\n";
	static const struct {
		const char *extra, *want;
	} cases[] = {
		{ "[init]\npath = /bin/sh\n[bootflow]\ntries = 4\n",
		  "board.conf:4: [bootflow] tries = 4, but the image description makes it 5" },
		{ "[system]\nversion = 2\n", "board.conf:2: [system] version = 2, but the image description makes it 3" },
		{ "[data\noptions = ro\n", "board.conf:1: " },
		{ "[data]\noptions = a\noptions = b\n", "board.conf:3: key 'options' given again" },
	};
	for (size_t i = 0; i < OTA_ELEMENTSOF(cases); i++) {
		struct ota_error err = { 0 };
		char *out = NULL;
		ASSERT_TRUE(ota_image_system_conf_merge(generated, cases[i].extra, "board.conf", &out, &err) < 0);
		ASSERT_NULL(out);
		ASSERT_CONTAINS(err.msg, cases[i].want);
	}
	/* The same values, and keys of its own, are fine: added in their
	 * sections, in the order the file names them. */
	struct ota_error err = { 0 };
	_cleanup_free_ char *out = NULL;
	ASSERT_INT_EQ(ota_image_system_conf_merge(generated,
						  "[bootflow]\ntries = 5\n[x.b]\nk = 1\n[system]\nversion = 3\n"
						  "[x.a]\nk = 2\n[x.b]\nj = v w ; comment\n",
						  "board.conf", &out, &err),
		      0);
	ASSERT_CONTAINS(out, "[x.b]\nk = 1\nj = v w\n[x.a]\nk = 2\n");
	ASSERT_TRUE(strncmp(out, generated, strlen(generated)) == 0);
	ASSERT_NULL(strstr(out + strlen(generated), "tries")); /* given by both: once */
	ASSERT_NULL(strstr(out + strlen(generated), "version"));
}

/* layout.conf: the image's two partitions first, then system-b and data,
 * the slots of the size given, the root type of the architecture. */
TEST(image_layout_conf_parses_back)
{
	struct ota_image_desc d;
	struct ota_error err = { 0 };
	ota_image_desc_init(&d);
	ASSERT_INT_EQ(ota_image_desc_parse(&d, every_key, "/p/image.conf", &err), 0);
	char *text = NULL;
	ASSERT_INT_EQ(ota_image_layout_conf(&d, 3ull << 30, &text, &err), 0);
	struct ota_layout l;
	ASSERT_INT_EQ(ota_layout_parse(&l, text, "layout.conf", &err), 0);
	ASSERT_INT_EQ(l.n_parts, 4);
	ASSERT_STR_EQ(l.parts[0].name, "esp");
	ASSERT_TRUE(l.parts[0].size == 48ull << 20);
	ASSERT_STR_EQ(l.parts[1].name, "system-a");
	ASSERT_STR_EQ(l.parts[2].name, "system-b");
	ASSERT_TRUE(l.parts[1].size == 3ull << 30 && l.parts[2].size == 3ull << 30);
	ASSERT_STR_EQ(l.parts[1].gpt_type, "b921b045-1df0-41c3-af44-4c6f280d3fae");
	ASSERT_STR_EQ(l.parts[3].name, "data");
	ASSERT_TRUE(l.parts[3].rest && l.parts[3].grow && l.parts[3].fs == OTA_FS_EXT4);
	ASSERT_STR_EQ(l.parts[3].label, "data");
	free(text);
	ota_image_desc_done(&d);
}

static char *conf_of(const char *desc, bool layout, struct ota_error *err)
{
	struct ota_image_desc d;
	ota_image_desc_init(&d);
	char *text = NULL;
	if (ota_image_desc_parse(&d, desc, "/p/image.conf", err) < 0 ||
	    (layout ? ota_image_layout_conf(&d, 1ull << 30, &text, err) : ota_image_system_conf(&d, NULL, &text, err)) < 0)
		text = NULL;
	ota_image_desc_done(&d);
	return text;
}

static const char rpi_desc[] = "[image]\ntarget = rpi-tryboot\narch = arm64\n[system]\ncompatible = pi-kiosk\n"
			       "version = 3\n[update]\nkeyring = ca.pem\n";
static const char uboot_desc[] = "[image]\ntarget = uboot\nesp-size = 24M\n[system]\ncompatible = rk-gw\n"
				 "version = 3\n[update]\nkeyring = ca.pem\n[bootflow]\ntries = 5\n";

/* rpi-tryboot: the tryboot flow on partitions 2 and 3, the slots by the
 * PARTUUID of the MBR signature derived from the compatible. */
TEST(image_system_conf_rpi_tryboot)
{
	struct ota_error err = { 0 };
	char *text = conf_of(rpi_desc, false, &err);
	if (!text)
		fprintf(stderr, "  %s\n", err.msg);
	ASSERT_TRUE(text != NULL);
	struct ota_sysconf c;
	ota_sysconf_init(&c);
	ASSERT_INT_EQ(ota_sysconf_parse(&c, OTA_SYSCONF_INIT | OTA_SYSCONF_UPDATE, text, "system.conf", &err), 0);
	ASSERT_STR_EQ(c.update.bootflow.type, "rpi-tryboot");
	ASSERT_STR_EQ(c.update.bootflow.autoboot, "/boot/firmware/autoboot.txt");
	ASSERT_INT_EQ(c.update.bootflow.partitions[0].number + c.update.bootflow.partitions[1].number, 5);
	char want[64];
	snprintf(want, sizeof(want), "PARTUUID=%08x-05", (unsigned)ota_image_mbr_id("pi-kiosk"));
	ASSERT_STR_EQ(ota_sysconf_slot(&c.update, "a", "system")->device, want);
	snprintf(want, sizeof(want), "PARTUUID=%08x-03", (unsigned)ota_image_mbr_id("pi-kiosk"));
	ASSERT_STR_EQ(ota_sysconf_slot(&c.update, "b", "boot")->device, want);
	ASSERT_TRUE(ota_image_mbr_id("pi-kiosk") != ota_image_mbr_id("pi-kiosk2"));
	ota_sysconf_done(&c);
	free(text);
}

TEST(image_system_conf_uboot)
{
	struct ota_error err = { 0 };
	char *text = conf_of(uboot_desc, false, &err);
	ASSERT_TRUE(text != NULL);
	struct ota_sysconf c;
	ota_sysconf_init(&c);
	ASSERT_INT_EQ(ota_sysconf_parse(&c, OTA_SYSCONF_INIT | OTA_SYSCONF_UPDATE, text, "system.conf", &err), 0);
	ASSERT_STR_EQ(c.update.bootflow.type, "uboot");
	ASSERT_STR_EQ(c.update.bootflow.env_mode, "file");
	ASSERT_STR_EQ(c.update.bootflow.env, "/ota.env");
	ASSERT_STR_EQ(c.update.bootflow.device, "PARTLABEL=boot");
	ASSERT_INT_EQ(c.update.tries, 5);
	ASSERT_STR_EQ(ota_sysconf_slot(&c.update, "b", "system")->device, "PARTLABEL=system-b");
	ota_sysconf_done(&c);
	free(text);
}

/* rpi-tryboot's layout is an MBR of more than four partitions: system-a
 * is the fourth entry (p5 behind the extended p4), data the last. */
TEST(image_layout_conf_rpi_and_uboot)
{
	struct ota_error err = { 0 };
	struct ota_layout l;
	char *text = conf_of(rpi_desc, true, &err);
	ASSERT_TRUE(text != NULL);
	ASSERT_INT_EQ(ota_layout_parse(&l, text, "layout.conf", &err), 0);
	ASSERT_INT_EQ(l.table, OTA_TABLE_MBR);
	ASSERT_INT_EQ(l.n_parts, 6);
	ASSERT_STR_EQ(l.parts[1].name, "boot-a");
	ASSERT_TRUE(l.parts[1].size == OTA_IMAGE_DEFAULT_RPI_BOOT_SIZE && l.parts[1].mbr_type == 0x0c);
	ASSERT_STR_EQ(l.parts[3].name, "system-a");
	ASSERT_TRUE(l.parts[3].size == 1ull << 30 && l.parts[3].mbr_type == 0x83);
	ASSERT_TRUE(l.parts[5].rest);
	free(text);
	text = conf_of(uboot_desc, true, &err);
	ASSERT_TRUE(text != NULL);
	ASSERT_INT_EQ(ota_layout_parse(&l, text, "layout.conf", &err), 0);
	ASSERT_INT_EQ(l.table, OTA_TABLE_GPT);
	ASSERT_STR_EQ(l.parts[0].name, "boot");
	ASSERT_TRUE(l.parts[0].size == 24ull << 20);
	ASSERT_STR_EQ(l.parts[0].gpt_type, "ebd0a0a2-b9e5-4433-87c0-68b6b72699c7");
	ASSERT_STR_EQ(l.parts[1].gpt_type, "4f68bce3-e8cd-4db1-96e7-fbcaf984b709");
	free(text);
}

/* SPDX-License-Identifier: Apache-2.0 */
/* The device's configuration files ota-image writes into the root: each is
 * parsed back by the file's owner before it is handed out, so an image never
 * ships a file its device would refuse. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "image/image-private.h"
#include "partitioner/partitioner.h"
#include "sysconf/sysconf.h"

/* open_memstream's text, or -ENOMEM. */
static int close_text(FILE *f, char **text, char **ret, struct ota_error *err)
{
	bool bad = ferror(f);
	if (fclose(f) != 0 || bad) {
		free(*text);
		*text = NULL;
		return ota_error_set(err, -ENOMEM, "out of memory");
	}
	*ret = *text;
	*text = NULL;
	return 0;
}

int ota_image_system_conf(const struct ota_image_desc *d, const char *version, char **ret, struct ota_error *err)
{
	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	if (!f)
		return ota_error_set(err, -ENOMEM, "out of memory");
	fprintf(f,
		"# /etc/ota/system.conf (docs/configuration.md), written by ota-image from\n"
		"# its image description (docs/ota-image.md).\n"
		"[data]\n"
		"device = auto\n"
		"\n"
		"[init]\n"
		"path = /sbin/init\n"
		"trial-watchdog = %u\n"
		"\n"
		"[system]\n"
		"compatible = %s\n"
		"version = %s\n"
		"\n"
		"[update]\n"
		"keyring = %s\n"
		"downgrade = %s\n",
		d->trial_watchdog_s, d->compatible, version ? version : d->version, OTA_IMAGE_KEYRING,
		d->downgrade ? d->downgrade : ota_downgrade_policy_names[OTA_DOWNGRADE_REFUSE]);
	if (d->channel)
		fprintf(f, "channel = %s\n", d->channel);
	fputc('\n', f);
	ota_image_target_ops_of(d->target)->system_conf(d, f);
	_cleanup_free_ char *out = NULL;
	int r = close_text(f, &text, &out, err);
	if (r < 0)
		return r;
	/* Parsed back as ota-init and ota-update will. */
	struct ota_sysconf c;
	ota_sysconf_init(&c);
	r = ota_sysconf_parse(&c, OTA_SYSCONF_INIT | OTA_SYSCONF_UPDATE, out, "system.conf", err);
	ota_sysconf_done(&c);
	if (r < 0) {
		ota_error_prefix(err, "%s: the system.conf it makes does not parse: ", d->source);
		return r;
	}
	*ret = TAKE_PTR(out);
	return 0;
}

const char *ota_image_root_type(enum ota_image_arch arch)
{
	return arch == OTA_IMAGE_ARCH_ARM64 ? "root-arm64" : "root-x86-64";
}

void ota_image_gpt_slots_conf(FILE *f)
{
	fputs("[slot.system-a]\n"
	      "class = system\n"
	      "device = PARTLABEL=system-a\n"
	      "[slot.system-b]\n"
	      "class = system\n"
	      "device = PARTLABEL=system-b\n"
	      "\n"
	      "[group.a]\n"
	      "system = system-a\n"
	      "[group.b]\n"
	      "system = system-b\n",
	      f);
}

void ota_image_gpt_slots_layout(const struct ota_image_desc *d, uint64_t slot_size, FILE *f)
{
	const char *type = ota_image_root_type(d->arch);
	unsigned long long slot_mib = slot_size >> 20;
	fprintf(f,
		"[partition system-a]\n"
		"size = %lluM\n"
		"type = %s\n"
		"\n"
		"[partition system-b]\n"
		"size = %lluM\n"
		"type = %s\n"
		"\n",
		slot_mib, type, slot_mib, type);
	ota_image_data_layout(f);
}

void ota_image_data_layout(FILE *f)
{
	fputs("[partition data]\n"
	      "size = rest\n"
	      "type = linux\n"
	      "filesystem = ext4\n"
	      "label = data\n"
	      "mkfs-options = -m 1\n"
	      "grow = yes\n",
	      f);
}

const struct ota_image_target_ops *ota_image_target_ops_of(enum ota_image_target t)
{
	switch (t) {
	case OTA_IMAGE_TARGET_RPI_TRYBOOT: return &ota_image_target_rpi;
	case OTA_IMAGE_TARGET_UBOOT: return &ota_image_target_uboot;
	case OTA_IMAGE_TARGET_EFI: break;
	}
	return &ota_image_target_efi;
}

int ota_image_layout_conf(const struct ota_image_desc *d, uint64_t slot_size, char **ret, struct ota_error *err)
{
	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	if (!f)
		return ota_error_set(err, -ENOMEM, "out of memory");
	ota_image_target_ops_of(d->target)->layout_conf(d, slot_size, f);
	_cleanup_free_ char *out = NULL;
	int r = close_text(f, &text, &out, err);
	if (r < 0)
		return r;
	struct ota_layout l;
	r = ota_layout_parse(&l, out, "layout.conf", err);
	if (r < 0) {
		ota_error_prefix(err, "%s: the layout.conf it makes does not parse: ", d->source);
		return r;
	}
	*ret = TAKE_PTR(out);
	return 0;
}

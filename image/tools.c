/* SPDX-License-Identifier: Apache-2.0 */
/* Host tools, ids and progress of one build. */
#include <errno.h>
#include <inttypes.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "image/image-private.h"

/* Which Debian package has which tool we run (tools/deps.list lists them). */
static const struct {
	const char *tool, *package;
} packages[] = {
	{ "mke2fs", "e2fsprogs" },	  { "debugfs", "e2fsprogs" },		{ "mkfs.erofs", "erofs-utils" },
	{ "mkfs.fat", "dosfstools" },	  { "mmd", "mtools" },			{ "mcopy", "mtools" },
	{ "grub-mkimage", "grub-common" }, { "bmaptool", "bmap-tools" },	{ "cp", "coreutils" },
	{ "tar", "tar" },		  { "qemu-system-x86_64", "qemu-system-x86" },
	{ "qemu-system-aarch64", "qemu-system-arm" }, { "mkimage", "u-boot-tools" },
};

static const char *package_of(const char *tool)
{
	for (size_t i = 0; i < OTA_ELEMENTSOF(packages); i++)
		if (ota_streq(packages[i].tool, tool))
			return packages[i].package;
	return NULL;
}

static int find_tool(const char *name, char *path, size_t size, struct ota_error *err)
{
	int r = ota_find_system_program(name, path, size, err);
	if (r == -ENOENT && package_of(name))
		return ota_error_set(err, r, "%s not found in /sbin, /usr/sbin, /bin, /usr/bin: install the Debian "
				     "package %s", name, package_of(name));
	return r;
}

int ota_image_have_tool(const char *name, struct ota_error *err)
{
	char path[256];
	return find_tool(name, path, sizeof(path), err);
}

#ifndef OTA_IMAGE_DATA_DIR
#define OTA_IMAGE_DATA_DIR "/usr/share/otaroot"
#endif

const char *ota_image_data_dir(const struct ota_image_ctx *c)
{
	return c->opts->data_dir ? c->opts->data_dir : OTA_IMAGE_DATA_DIR;
}

void ota_image_progress(const struct ota_image_ctx *c, const char *fmt, ...)
{
	if (c->opts->quiet)
		return;
	va_list ap;
	va_start(ap, fmt);
	fputs("ota-image: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

/* The first line of a tool's stderr that says something, for our message. */
static const char *first_line(char *text)
{
	char *s = text + strspn(text, " \t\n");
	s[strcspn(s, "\n")] = '\0';
	return s;
}

int ota_image_run(const struct ota_image_ctx *c, const char **argv, struct ota_error *err)
{
	char errbuf[1024] = "";
	return ota_image_run_capture(c, argv, errbuf, sizeof(errbuf), err);
}

int ota_image_run_capture(const struct ota_image_ctx *c, const char **argv, char *errbuf, size_t size,
			  struct ota_error *err)
{
	char path[256], sde[64], fake[64];
	int r = find_tool(argv[0], path, sizeof(path), err);
	if (r < 0)
		return r;
	if (ota_format(sde, sizeof(sde), "SOURCE_DATE_EPOCH=%" PRIu64, c->epoch) < 0 ||
	    ota_format(fake, sizeof(fake), "E2FSPROGS_FAKE_TIME=%" PRIu64, c->epoch) < 0)
		return -EINVAL;
	const char *env[] = { "PATH=/sbin:/usr/sbin:/bin:/usr/bin", "LC_ALL=C", "TZ=UTC", sde, fake,
			      "MTOOLS_SKIP_CHECK=1" };
	errbuf[0] = '\0';
	struct ota_spawn_opts o = { .env = env, .n_env = OTA_ELEMENTSOF(env), .clean_env = true,
				    .discard_stdout = true, .errbuf = errbuf, .errbuf_size = size,
				    .timeout_ms = OTA_IMAGE_TOOL_TIMEOUT_MS };
	const char *name = argv[0];
	argv[0] = path;
	r = ota_spawn(argv, &o, err);
	argv[0] = name;
	if (r < 0)
		return r;
	if (r > 0)
		return ota_error_set(err, -EIO, "%s exited with status %d: %s", name, r, first_line(errbuf));
	return 0;
}

void ota_image_uuid(const char *compatible, const char *purpose, char out[37])
{
	uint8_t md[EVP_MAX_MD_SIZE];
	unsigned n = 0;
	EVP_MD_CTX *m = EVP_MD_CTX_new();
	static const char tag[] = "otaroot ota-image uuid";
	if (!m || !EVP_DigestInit_ex(m, EVP_sha256(), NULL) || !EVP_DigestUpdate(m, tag, sizeof(tag)) ||
	    !EVP_DigestUpdate(m, compatible, strlen(compatible) + 1) ||
	    !EVP_DigestUpdate(m, purpose, strlen(purpose)) || !EVP_DigestFinal_ex(m, md, &n))
		memset(md, 0x5a, 16); /* libcrypto out of memory: still an id, still the same */
	EVP_MD_CTX_free(m);
	md[6] = (uint8_t)((md[6] & 0x0f) | 0x40); /* RFC 4122 version 4 and variant bits: tools accept it */
	md[8] = (uint8_t)((md[8] & 0x3f) | 0x80);
	snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", md[0], md[1],
		 md[2], md[3], md[4], md[5], md[6], md[7], md[8], md[9], md[10], md[11], md[12], md[13], md[14],
		 md[15]);
}

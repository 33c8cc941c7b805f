/* SPDX-License-Identifier: Apache-2.0 */
/* uboot-env: the U-Boot environment as bytes, a pure codec (no I/O).
 *
 * Job: parse and build the two forms the uboot boot flow uses:
 * - the native image U-Boot keeps on its env storage (env/common.c,
 *   tools/env/fw_env.c): u32 CRC-32 (little-endian) over the whole data area,
 *   then, for a redundant copy, one flag byte, then the data area:
 *   "name=value\0...name=value\0\0" padded to the end;
 * - the text of `env export -t`: "name=value\n" lines, ended by a NUL or the
 *   end of the buffer.
 * The redundant copy to use is chosen exactly as U-Boot and fw_printenv do
 * (ota_uenv_pick).
 *
 * Invariants: every length is checked against the buffer in 64-bit-safe
 * size_t arithmetic before it is used; names are non-empty and contain no
 * '=' or separator; at most OTA_UENV_VARS_MAX variables. Variables keep their
 * order, so a rewrite changes only what was set.
 *
 * Ownership: struct ota_uenv owns its strings; ota_uenv_done() frees them.
 * Errors: negative errno plus struct ota_error (messages name the entry). */
#ifndef OTA_UBOOT_ENV_H
#define OTA_UBOOT_ENV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sysutil/sysutil.h"

#define OTA_UENV_SIZE_MIN 16u              /* header plus a little data */
#define OTA_UENV_SIZE_MAX (16u * 1024 * 1024) /* CONFIG_ENV_SIZE is KiBs in practice */
#define OTA_UENV_VARS_MAX 4096u

struct ota_uenv_var {
	char *name;
	char *value;
};

struct ota_uenv {
	struct ota_uenv_var *vars;
	size_t n;
};

void ota_uenv_done(struct ota_uenv *env);
/* NULL if unset. */
const char *ota_uenv_get(const struct ota_uenv *env, const char *name);
/* Sets (value) or deletes (value NULL) a variable; a new one goes last. */
int ota_uenv_set(struct ota_uenv *env, const char *name, const char *value) _must_check_;

/* zlib-compatible CRC-32 (crc = 0 to start). */
uint32_t ota_uenv_crc32(uint32_t crc, const void *buf, size_t size);

/* Parses a data area: sep '\0' for the native form (ends at an empty entry,
 * i.e. the double NUL), '\n' for `env export -t` text (ends at a NUL or the
 * end; empty lines are skipped). */
int ota_uenv_parse_data(const void *data, size_t size, char sep, struct ota_uenv *ret,
			struct ota_error *err) _must_check_;
/* Writes the data area of exactly size bytes (sep '\0': NUL padding). */
int ota_uenv_format_data(const struct ota_uenv *env, char sep, void *data, size_t size,
			 struct ota_error *err) _must_check_;
/* Text form for a file: "name=value\n" lines; *ret_size excludes the final NUL. */
int ota_uenv_format_text(const struct ota_uenv *env, char **ret_text, size_t *ret_size,
			 struct ota_error *err) _must_check_;

/* Native image of size bytes (CONFIG_ENV_SIZE): 0 if the CRC matches,
 * -EBADMSG if not; *ret_flag is the flag byte (redundant) or 0. */
int ota_uenv_image_check(const void *img, size_t size, bool redundant, uint8_t *ret_flag) _must_check_;
int ota_uenv_image_decode(const void *img, size_t size, bool redundant, struct ota_uenv *ret, uint8_t *ret_flag,
			  struct ota_error *err) _must_check_;
int ota_uenv_image_encode(const struct ota_uenv *env, bool redundant, uint8_t flag, void *img, size_t size,
			  struct ota_error *err) _must_check_;

/* U-Boot's env_import_redund() choice between copy 0 and copy 1: the only
 * valid one; with both valid the higher flag, except that 0 beats 255 (the
 * counter wrapped); equal flags: copy 0. Returns 0, 1, or -ENODATA. */
int ota_uenv_pick(bool ok0, uint8_t flag0, bool ok1, uint8_t flag1);

#endif

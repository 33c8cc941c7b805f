/* SPDX-License-Identifier: Apache-2.0 */
/* Internals shared by the bundle sources: field tags, bounds, cleanup (byte
 * order: sysutil.h). */
#ifndef OTA_BUNDLE_PRIVATE_H
#define OTA_BUNDLE_PRIVATE_H

#include <openssl/cms.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <zstd.h>

#include "bundle/bundle.h"

/* A bundle that is not one: truncated, malformed, or altered after signing
 * (a chunk or table whose hash differs). */
#define ota_bundle_malformed(err, ...) \
	ota_error_set_because(err, OTA_REASON_BUNDLE_MALFORMED, -EBADMSG, __VA_ARGS__)
/* A bundle of a format (or with a critical field) this reader does not know. */
#define ota_bundle_unsupported(err, ...) \
	ota_error_set_because(err, OTA_REASON_BUNDLE_UNSUPPORTED, -EPROTONOSUPPORT, __VA_ARGS__)

#define OTA_BUNDLE_MAGIC "\x89OTA\r\n\x1a\n"
#define OTA_BUNDLE_MAGIC_SIZE 8

/* Manifest field tags; bit 15 marks a critical field (see the format doc). */
#define OTA_TAG_CRITICAL 0x8000u
enum {
	OTA_TAG_FORMAT = 0x8001,
	OTA_TAG_COMPATIBLE = 0x8002,
	OTA_TAG_VERSION = 0x8003,
	OTA_TAG_BUILD = 0x0004,
	OTA_TAG_DESCRIPTION = 0x0005,
	OTA_TAG_CREATED = 0x0006,
	OTA_TAG_DATA_SIZE = 0x8007,
	OTA_TAG_PAYLOAD = 0x8010,
	OTA_TAG_P_SLOT_CLASS = 0x8011,
	OTA_TAG_P_NAME = 0x0012,
	OTA_TAG_P_IMAGE_SIZE = 0x8013,
	OTA_TAG_P_IMAGE_SHA256 = 0x8014,
	OTA_TAG_P_CHUNK_COUNT = 0x8015,
	OTA_TAG_P_TABLE_SHA256 = 0x8016,
	OTA_TAG_P_TABLE_OFFSET = 0x8017,
	OTA_TAG_P_DATA_SIZE = 0x8018,
	OTA_TAG_P_CHUNKER = 0x8019,
	OTA_TAG_P_CHUNK_AVG = 0x801a,
	OTA_TAG_P_COMPRESSION = 0x801b,
};
#define OTA_FIELD_HEAD 6u /* u16 tag + u32 length */
#define OTA_COMPRESSION_ZSTD 1u

/* Largest compressed size accepted for a chunk of usize bytes. */
static inline uint64_t ota_chunk_csize_bound(uint64_t usize)
{
	return ZSTD_COMPRESSBOUND(usize);
}

/* The chunker's bounds for a payload: every chunk but the last is >= min. */
int ota_chunker_bounds(enum ota_chunker_kind kind, uint32_t avg, uint64_t *ret_min, uint64_t *ret_max);

int ota_sha256(const void *data, size_t size, uint8_t out[32]);

#endif

/* SPDX-License-Identifier: Apache-2.0 */
/* bundle: signed update bundles (format: docs/bundle-format.md).
 *
 * Job: cut images into content-defined chunks, describe them in a manifest,
 * sign the manifest with CMS, write bundles (build host), and read them back
 * as a stream that proves every byte authentic before handing it on (device),
 * from a file, a pipe or an http(s) URL (streamed, or fetched by range).
 *
 * Invariants:
 * - One signature over the manifest covers every byte: the manifest pins the
 *   hash of each payload's chunk table, the table pins the hash of each chunk,
 *   and the manifest also fixes the total size of the data area.
 * - The reader verifies the signature before it interprets anything but the
 *   fixed header, and calls a consumer only with bytes whose SHA-256 matched
 *   the verified chunk table. A stream that is too short or too long fails.
 * - Every length read from a bundle is checked against a limit before it
 *   sizes an allocation; size and offset arithmetic is 64-bit and checked.
 * - Reader memory is bounded by the limits below (manifest, signature, one
 *   chunk table, one chunk), never by the image size.
 *
 * Errors: 0 (or a documented positive value) or a negative errno; a struct
 * ota_error, always last, receives a message naming the file, payload or
 * chunk and what failed. Out-parameters (ret_*) are written only on success.
 *
 * Ownership: _new/_open return objects the caller frees with the matching
 * _free (NULL is fine, returns NULL). Manifest strings belong to the manifest.
 *
 * PID 1: not linked into ota-init. Still, nothing here exits, aborts or
 * prints; the writer (ota_bundle_create) uses threads, the reader does not.
 * The HTTP source uses libcurl, whose resolver may run a thread per lookup.
 */
#ifndef OTA_BUNDLE_H
#define OTA_BUNDLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "sysutil/sysutil.h"

/* ---- limits (also in docs/bundle-format.md) ------------------------------ */

#define OTA_BUNDLE_HEADER_SIZE 64u
#define OTA_BUNDLE_FORMAT_VERSION 1u
#define OTA_BUNDLE_MAX_MANIFEST (1u << 20)      /* 1 MiB */
#define OTA_BUNDLE_MAX_SIGNATURE (64u << 10)    /* 64 KiB of DER CMS */
#define OTA_BUNDLE_MAX_PAYLOADS 32u
#define OTA_BUNDLE_MAX_STRING 1024u             /* any manifest string */
#define OTA_BUNDLE_MAX_SLOT_CLASS 64u
#define OTA_BUNDLE_CHUNK_ENTRY_SIZE 48u
#define OTA_BUNDLE_MIN_CHUNK_AVG 256u           /* smallest avg (min = 64 B) */
#define OTA_BUNDLE_MAX_CHUNK (16u << 20)        /* largest uncompressed chunk */
#define OTA_BUNDLE_DEFAULT_CHUNK_AVG (64u << 10)
#define OTA_BUNDLE_MAX_CHUNKS (1u << 22)        /* per payload: table <= 192 MiB */
#define OTA_BUNDLE_DEFAULT_MAX_TABLE (32u << 20) /* reader default: 32 MiB */
#define OTA_BUNDLE_PATCH_ENTRY_SIZE 64u
#define OTA_BUNDLE_MAX_PATCHES (1u << 14)       /* per payload (the manifest's 1 MiB bounds them too) */
#define OTA_BUNDLE_MAX_PATCH_BASES 4u           /* patches of one chunk */
#define OTA_BUNDLE_PATCH_BASE_CHUNKS 4u         /* a base region holds at most 4 * max chunk bytes */
#define OTA_BUNDLE_MOVE_ENTRY_SIZE 20u
#define OTA_BUNDLE_MAX_MOVES 4096u              /* per bundle: 80 KiB of the manifest */

/* ---- chunker: a pure function over buffers --------------------------------
 *
 * Buzhash over a 48-byte window with casync's parameters (min = avg/4,
 * max = 4*avg, casync's discriminator) but our own table, specified in
 * docs/bundle-format.md. The state lives with the caller; nothing allocates. */

#define OTA_CHUNKER_WINDOW 48u

enum ota_chunker_kind {
	OTA_CHUNKER_BUZHASH = 1,
	OTA_CHUNKER_FIXED = 2,
};

struct ota_chunker {
	uint32_t h;
	bool hashing;       /* window full, h valid */
	size_t window_pos;  /* fill level, then index of the oldest byte */
	size_t chunk_size;
	size_t min, avg, max;
	size_t discriminator;
	/* h % discriminator == discriminator - 1 without a division per byte:
	 * (h + 1) is a multiple of it iff (h + 1) * cut_mul <= cut_mul - 1
	 * (mod 2^64; Lemire, Kaser, Kurz 2019), for h + 1 < 2^32. */
	uint64_t cut_mul;
	bool cut_at_all_ones; /* the one h the test above cannot take */
	/* The hash of an all-zero window; zero_skip: it is no cut, so a run of
	 * zeros after a zero window leaves h as it is and is skipped at once. */
	uint32_t zero_h;
	bool zero_skip;
	uint8_t window[OTA_CHUNKER_WINDOW];
};

/* avg must be a power of two in [OTA_BUNDLE_MIN_CHUNK_AVG, OTA_BUNDLE_MAX_CHUNK/4]
 * (fixed: in [OTA_BUNDLE_MIN_CHUNK_AVG, OTA_BUNDLE_MAX_CHUNK]); -ERANGE otherwise. */
int ota_chunker_init(struct ota_chunker *c, enum ota_chunker_kind kind, size_t avg) _must_check_;
/* Scans p[0..n) and returns the offset just past the next cut within it, or
 * SIZE_MAX if none (feed more; at the end of input the rest is the last
 * chunk). After a cut the state is reset for the next chunk; rescan from the
 * returned offset. */
size_t ota_chunker_scan(struct ota_chunker *c, const void *p, size_t n);
/* Exported for tests: the hash of a whole window, and one rolling step. */
uint32_t ota_buzhash(const void *p, size_t n);
uint32_t ota_buzhash_roll(uint32_t h, uint8_t out, uint8_t in);
size_t ota_chunker_discriminator(size_t avg);

/* ---- fixed header and chunk tables (pure) -------------------------------- */

struct ota_bundle_header {
	uint32_t version;
	uint64_t manifest_size;
	uint64_t signature_size;
};

/* Parses exactly OTA_BUNDLE_HEADER_SIZE bytes. */
int ota_bundle_header_parse(const uint8_t *buf, size_t size, struct ota_bundle_header *ret,
			    struct ota_error *err) _must_check_;
void ota_bundle_header_write(const struct ota_bundle_header *h, uint8_t buf[OTA_BUNDLE_HEADER_SIZE]);
/* Offset of the data area: header + manifest + signature, checked. */
int ota_bundle_header_data_offset(const struct ota_bundle_header *h, uint64_t *ret) _must_check_;

struct ota_chunk_entry {
	uint8_t sha256[32]; /* of the uncompressed bytes */
	uint64_t offset;    /* of the compressed bytes, from the start of the data area */
	uint32_t csize;     /* compressed */
	uint32_t usize;     /* uncompressed */
};

struct ota_manifest_payload;

/* Decodes and checks a whole chunk table against its (verified) payload
 * description: sizes within the chunker's bounds, chunks contiguous and in
 * order, uncompressed sizes summing to the image size. *ret is malloc'd. */
int ota_chunk_table_parse(const uint8_t *buf, size_t size, const struct ota_manifest_payload *p,
			  struct ota_chunk_entry **ret, struct ota_error *err) _must_check_;
void ota_chunk_entry_write(const struct ota_chunk_entry *e, uint8_t buf[OTA_BUNDLE_CHUNK_ENTRY_SIZE]);

/* ---- manifest (pure) ------------------------------------------------------ */

/* A patch (optional extension, docs/bundle-format.md "Chunk patches"): chunk
 * `chunk` as a zstd frame compressed with the base region as its prefix.
 * The base is base_size bytes at base_offset of an earlier image of the same
 * slot class, named by its SHA-256; the patch lies at offset (data area) in
 * the chunk's compressed bytes, after the chunk's own frame of frame_size
 * bytes. */
struct ota_chunk_patch {
	uint32_t chunk;          /* index in the payload's chunk table */
	uint32_t frame_size;     /* the chunk's own zstd frame: the first bytes of its compressed bytes */
	uint64_t base_offset;    /* in the earlier image */
	uint32_t base_size;
	uint8_t base_sha256[32];
	uint64_t offset;         /* of the patch, from the start of the data area */
	uint32_t size;           /* of the patch */
};

/* A run of moved chunks (optional extension, docs/bundle-format.md "Chunk
 * moves"): chunks [chunk, chunk + count) of the new image lie back to back
 * from base_offset in earlier image `base` (0 .. OTA_BUNDLE_MAX_PATCH_BASES
 * - 1, the order of --delta-base) of the same slot class. A hint only: a
 * device re-hashes every chunk it takes from there. */
struct ota_chunk_move {
	uint32_t chunk;
	uint32_t count;
	uint32_t base;
	uint64_t base_offset;
};

struct ota_manifest_payload {
	char *slot_class;        /* required: which slot class it installs into */
	char *name;              /* optional: file name it was made from */
	uint64_t image_size;
	uint8_t image_sha256[32];
	uint64_t chunk_count;
	uint8_t table_sha256[32];
	uint64_t table_offset;   /* from the start of the data area */
	uint64_t data_offset;    /* first chunk, = table_offset + table size */
	uint64_t data_size;      /* sum of compressed chunk sizes */
	enum ota_chunker_kind chunker;
	uint32_t chunk_avg;
	uint32_t compression;    /* 1 = zstd, the only one */
	/* Optional: sorted by chunk, at most OTA_BUNDLE_MAX_PATCH_BASES per chunk. */
	struct ota_chunk_patch *patches;
	size_t n_patches;
	/* Optional: sorted by (base, chunk), the runs of one base disjoint. */
	struct ota_chunk_move *moves;
	size_t n_moves;
};

struct ota_manifest {
	char *compatible;        /* required */
	char *version;           /* required */
	char *build;             /* optional */
	char *description;       /* optional */
	uint64_t created;        /* optional, seconds since the epoch; 0 = absent */
	uint64_t data_size;      /* required: size of the data area, exact */
	size_t n_payloads;
	struct ota_manifest_payload *payloads;
};

struct ota_manifest *ota_manifest_new(void);
struct ota_manifest *ota_manifest_free(struct ota_manifest *m);
OTA_DEFINE_CLEANUP_FUNC(struct ota_manifest *, ota_manifest_free)
/* Parses and validates (layout of the data area included). */
int ota_manifest_parse(const uint8_t *buf, size_t size, struct ota_manifest **ret,
		       struct ota_error *err) _must_check_;
/* Encodes a complete manifest; *ret is malloc'd. Validates first. */
int ota_manifest_serialize(const struct ota_manifest *m, uint8_t **ret, size_t *ret_size,
			   struct ota_error *err) _must_check_;
/* Checks required fields, strings, duplicates and the layout of the data area. */
int ota_manifest_validate(const struct ota_manifest *m, struct ota_error *err) _must_check_;
const struct ota_manifest_payload *ota_manifest_find(const struct ota_manifest *m, const char *slot_class);

/* ---- signatures (CMS, X.509) ------------------------------------------------
 *
 * Policy, see docs/bundle-format.md "Trust": the signer chain must end in a
 * certificate of the keyring (a PEM file of CA certificates); intermediates
 * may travel in the CMS. The signer needs digitalSignature if it has a key
 * usage extension and codeSigning if it has an extended key usage. Validity
 * periods are checked only when the caller says the clock can be trusted
 * (check_time), because many devices boot in 1970.
 *
 * Algorithm policy (docs/bundle-format.md "Algorithms"): the signature's
 * digest, the digest of every certificate signature in the chain and every
 * key of the chain, the keyring anchor's included, must be at least as
 * strong as the floor below; a caller may raise it, never lower it (a value
 * below the floor, 0 included, means the floor). Ed25519 and Ed448 keys pass;
 * other key types (DSA, ...) are refused. */

#define OTA_BUNDLE_MIN_RSA_BITS 2048u    /* RSA modulus */
#define OTA_BUNDLE_MIN_EC_BITS 256u      /* EC group order: P-256 and up */
#define OTA_BUNDLE_MIN_DIGEST_BITS 256u  /* SHA-256 and up */

struct ota_bundle_algorithms {
	unsigned min_rsa_bits;
	unsigned min_ec_bits;
	unsigned min_digest_bits;
};

struct ota_bundle_trust {
	const char *keyring;     /* PEM file of trusted CA certificates */
	bool allow_unsigned;     /* accept bundles without a signature */
	/* The clock is trustworthy: check validity now. libcrypto reads the
	 * clock itself: a time_t handed to it would cross its ABI, which on
	 * 32-bit targets may have another time_t than ours (Debian 12 armhf:
	 * 32 bits, we build with 64). */
	bool check_time;
	struct ota_bundle_algorithms algorithms;
};

struct ota_bundle_signer_info {
	char subject[256];
	char issuer[256];
};

/* Signs data with a key and certificate (PEM files); chain (may be NULL) adds
 * intermediates to the CMS. *ret is DER, malloc'd. Refuses a key below the
 * default algorithm policy: no device would accept what it signs. */
int ota_bundle_sign_data(const uint8_t *data, size_t size, const char *cert, const char *key,
			 const char *chain, uint8_t **ret, size_t *ret_size, struct ota_error *err) _must_check_;
/* Verifies a detached DER CMS over data. ret_info may be NULL. Fails with
 * the reason (sysutil.h) OTA_REASON_SIGNATURE_INVALID (-EBADMSG: not a CMS
 * signature of data), OTA_REASON_SIGNER_UNTRUSTED (-EKEYREJECTED: no chain
 * to the keyring, no code-signing usage) or OTA_REASON_ALGORITHM_REJECTED
 * (-EKEYREJECTED: a key or digest below trust->algorithms). */
int ota_bundle_verify_data(const uint8_t *data, size_t size, const uint8_t *sig, size_t sig_size,
			   const struct ota_bundle_trust *trust, struct ota_bundle_signer_info *ret_info,
			   struct ota_error *err) _must_check_;
/* Reads the signer from a CMS without verifying it (for inspect). */
int ota_bundle_signature_describe(const uint8_t *sig, size_t sig_size, struct ota_bundle_signer_info *ret,
				  struct ota_error *err) _must_check_;

/* ---- sources: where the reader's bytes come from ---------------------------
 *
 * The reader only reads forward. A source that can also read at an offset
 * (read_at, e.g. HTTP range requests) enables fetching single chunks later;
 * it may be NULL. read and read_at are independent: read_at neither uses nor
 * moves the position of read. */

struct ota_bundle_source {
	const char *name; /* for messages: a path, "stdin", a URL */
	/* Reads up to size bytes; returns the count, 0 at the end, or -errno. */
	ssize_t (*read)(void *userdata, void *buf, size_t size);
	ssize_t (*read_at)(void *userdata, uint64_t offset, void *buf, size_t size);
	void *userdata;
	/* May be NULL. If set, a failing read/read_at leaves its message here
	 * (with the same code), and the reader quotes it instead of strerror. */
	const struct ota_error *last_error;
};

/* A source over an fd (file, pipe, stdin). *fd is caller storage that must
 * outlive the source; the fd stays the caller's. */
void ota_bundle_source_fd(struct ota_bundle_source *src, int *fd, const char *name);
/* A source over a memory buffer (tests, fuzzing); cursor is caller storage. */
struct ota_bundle_mem {
	const uint8_t *data;
	size_t size;
	size_t pos;
};
void ota_bundle_source_mem(struct ota_bundle_source *src, struct ota_bundle_mem *mem, const char *name);

/* ---- HTTP(S) source (bundle/http.c, libcurl) --------------------------------
 *
 * One object per URL. Its source's read() streams the whole file with one GET
 * through a bounded buffer (no temporary file); read_at() and
 * ota_bundle_http_fetch() use range requests. The two never share a transfer.
 *
 * - Consistency: the first response fixes the file's identity (ETag, else
 *   Last-Modified, and its size). Every later request (a resumed stream, a
 *   range) carries If-Range, and every response is checked against it; a
 *   file that changed on the server fails with -ESTALE ("changed on the
 *   server") instead of mixing two versions. A server that sends neither
 *   validator is checked by size alone.
 * - Retries: connection failures, resets, timeouts, stalls, HTTP
 *   408/429/5xx and truncated bodies are retried with exponential backoff,
 *   resuming where the data stopped. `max_attempts` bounds the attempts in a
 *   row that make no progress; failed attempts count as progress only once
 *   they brought one stall window's worth at the minimum rate together
 *   (low_speed_bytes * low_speed_time_s), so a drip cannot keep retrying
 *   forever. Then the last
 *   error is returned, naming the URL and the attempt count. HTTP 4xx, TLS
 *   and certificate errors fail at once (404/410: -ENOENT, 401/403: -EACCES,
 *   connection refused after the retries: -ECONNREFUSED, timeout or stall:
 *   -ETIMEDOUT, TLS: -ECONNABORTED). Every error of the server or the way to
 *   it has the reason OTA_REASON_NETWORK, a TLS or certificate failure
 *   OTA_REASON_TLS (sysutil.h).
 * - Bounds: every transfer is aborted below low_speed_bytes/s for
 *   low_speed_time_s (a stall). All requests of one object share one
 *   deadline, timeout_s from its first request: each transfer gets only what
 *   is left of it, no retry starts after it, and its expiry is -ETIMEDOUT
 *   ("download timeout of N s expired"), never retried. No response is read
 *   past what was asked for: a range response past the requested bytes
 *   (plus, for multipart/byteranges, a bounded allowance for part headers
 *   and boundaries), a whole-file response past the file's size (-EPROTO,
 *   naming the URL and the range), or response headers past
 *   OTA_BUNDLE_HTTP_MAX_HEADERS bytes (-EMSGSIZE) fail.
 * - Ranges: requests are sorted and those at most merge_gap apart are fetched
 *   as one; up to max_ranges go in one multi-range request
 *   (multipart/byteranges). A server that answers a multi-range request with
 *   the whole file is remembered and asked for single ranges from then on;
 *   one that ignores single ranges too fails with -EOPNOTSUPP.
 * - TLS: certificates and host names are always verified, against ca_file /
 *   ca_path or libcurl's system default. There is no switch to turn that off.
 * - Only http:// and https:// (redirects too, at most 5) are allowed.
 * - No signal handlers, no threads of our own; not for PID 1. */

struct ota_bundle_http;

/* Defaults of the bounds above, shared with ota-update's configuration
 * (docs/configuration.md says why these values). */
#define OTA_BUNDLE_HTTP_DEFAULT_TIMEOUT_S 3600u
#define OTA_BUNDLE_HTTP_DEFAULT_MIN_RATE 1024u
#define OTA_BUNDLE_HTTP_DEFAULT_STALL_S 60u
/* Response headers (all lines of one response) beyond this are refused;
 * libcurl's own limit is 100 KiB per line. */
#define OTA_BUNDLE_HTTP_MAX_HEADERS (64u << 10)

struct ota_bundle_http_opts {
	const char *ca_file;            /* PEM file of CAs for https; NULL: system default */
	const char *ca_path;            /* directory of hashed CA files; NULL: system default */
	unsigned max_attempts;          /* per request, in a row without progress; 0: 5 */
	unsigned retry_delay_ms;        /* first backoff, doubled per retry up to 30 s; 0: 500 */
	unsigned connect_timeout_s;     /* 0: 30 */
	unsigned low_speed_time_s;      /* abort a transfer slower than low_speed_bytes/s */
	unsigned low_speed_bytes;       /*   for this long; 0: OTA_BUNDLE_HTTP_DEFAULT_STALL_S, _MIN_RATE */
	unsigned timeout_s;             /* all requests, from the first; 0: OTA_BUNDLE_HTTP_DEFAULT_TIMEOUT_S */
	uint64_t merge_gap;             /* 0: 4096 bytes (UINT64_MAX: everything in one span) */
	unsigned max_ranges;            /* per request; 0: 32; 1: never multi-range */
	/* Sent with every request: NULL-terminated "Name: value" lines (a fleet
	 * server's Authorization), or NULL. The caller's; they must outlive h.
	 * libcurl drops a custom Authorization on a redirect to another host. */
	const char *const *headers;
	const char *client_cert, *client_key;  /* TLS client certificate and key (PEM), or NULL */
};

struct ota_bundle_http_stats {
	uint64_t downloaded;   /* body bytes received, all requests, retries included */
	uint64_t size;         /* size of the file; 0 until a response told it */
	unsigned requests;     /* HTTP requests made */
	unsigned retries;      /* of which retries after a transient failure */
	bool multirange;       /* false once the server refused multi-range */
};

/* A byte range of the remote file to be fetched into buf (caller storage). */
struct ota_bundle_range {
	uint64_t offset;
	size_t size;
	void *buf;
};

/* True for "http://..." and "https://..." (case-insensitive scheme). */
bool ota_bundle_is_url(const char *s);
/* Makes no request yet. opts may be NULL (all defaults). */
int ota_bundle_http_new(const char *url, const struct ota_bundle_http_opts *opts, struct ota_bundle_http **ret,
			struct ota_error *err) _must_check_;
struct ota_bundle_http *ota_bundle_http_free(struct ota_bundle_http *h);
OTA_DEFINE_CLEANUP_FUNC(struct ota_bundle_http *, ota_bundle_http_free)
/* A source whose name is the URL and whose last_error is h's. h must outlive it. */
void ota_bundle_source_http(struct ota_bundle_source *src, struct ota_bundle_http *h);
/* Fetches all ranges (any order, may overlap) completely, or fails: a range
 * beyond the end of the file is -ERANGE. */
int ota_bundle_http_fetch(struct ota_bundle_http *h, const struct ota_bundle_range *ranges, size_t n,
			  struct ota_error *err) _must_check_;
/* Size of the file (one 1-byte range request if no response told it yet). */
int ota_bundle_http_size(struct ota_bundle_http *h, uint64_t *ret, struct ota_error *err) _must_check_;
void ota_bundle_http_get_stats(const struct ota_bundle_http *h, struct ota_bundle_http_stats *ret);

/* ---- streaming reader --------------------------------------------------- */

struct ota_bundle_reader;

struct ota_bundle_reader_limits {
	uint64_t max_table_bytes; /* 0 = OTA_BUNDLE_DEFAULT_MAX_TABLE */
};

/* Reads the header, manifest and signature from src and verifies the
 * signature (or refuses an unsigned bundle unless trust->allow_unsigned:
 * -ENOKEY, OTA_REASON_UNSIGNED). Only then is the manifest parsed. src must
 * outlive the reader. A bundle that is not one fails with
 * OTA_REASON_BUNDLE_MALFORMED (-EBADMSG), one of an unknown format with
 * OTA_REASON_BUNDLE_UNSUPPORTED (-EPROTONOSUPPORT). */
int ota_bundle_reader_open(const struct ota_bundle_source *src, const struct ota_bundle_trust *trust,
			   const struct ota_bundle_reader_limits *limits, struct ota_bundle_reader **ret,
			   struct ota_error *err) _must_check_;
struct ota_bundle_reader *ota_bundle_reader_free(struct ota_bundle_reader *r);
OTA_DEFINE_CLEANUP_FUNC(struct ota_bundle_reader *, ota_bundle_reader_free)
const struct ota_manifest *ota_bundle_reader_manifest(const struct ota_bundle_reader *r);
/* SHA-256 of the signed manifest bytes: names one bundle (same signed
 * content, same digest), e.g. to resume an interrupted install of it. */
int ota_bundle_reader_manifest_sha256(const struct ota_bundle_reader *r, uint8_t ret[32]) _must_check_;
/* During a consumer's begin/chunk/end calls: the running payload's verified
 * chunk table (*ret_count entries); NULL outside them. Owned by the reader. */
const struct ota_chunk_entry *ota_bundle_reader_chunk_table(const struct ota_bundle_reader *r, uint64_t *ret_count);
/* Before ota_bundle_reader_run: the consumer checks each payload's
 * whole-image SHA-256 itself (ota-update reads the written slot back and
 * hashes it), so the stream does not hash every byte a second time. Each
 * chunk is still verified against its table before a consumer sees it. */
void ota_bundle_reader_skip_image_hash(struct ota_bundle_reader *r);
/* Whether the bundle was signed and verified (false: allowed unsigned). */
bool ota_bundle_reader_signed(const struct ota_bundle_reader *r, struct ota_bundle_signer_info *ret_info);

/* Called with each verified chunk of a payload, in order: e is its entry of
 * the verified chunk table (size == e->usize), offset its place in the
 * image. Returning a negative errno stops the read; that error
 * is passed on as the consumer set it (its message names the consumer's own
 * object, e.g. the slot written; the bundle and payload are not blamed). */
struct ota_bundle_consumer {
	int (*begin)(void *userdata, const struct ota_manifest_payload *p);
	int (*chunk)(void *userdata, const struct ota_manifest_payload *p, const struct ota_chunk_entry *e,
		     uint64_t offset, const void *data, size_t size);
	/* After the last chunk and the whole-image hash matched (unless the
	 * consumer took that check, ota_bundle_reader_skip_image_hash). */
	int (*end)(void *userdata, const struct ota_manifest_payload *p);
	void *userdata;
};

/* Reads every payload in bundle order, verifying each chunk table and chunk;
 * payloads for which want() returns false are verified but not handed on
 * (want may be NULL: all). Checks the stream ends exactly at the end of the
 * data area. */
int ota_bundle_reader_run(struct ota_bundle_reader *r, const struct ota_bundle_consumer *c,
			  bool (*want)(void *userdata, const struct ota_manifest_payload *p),
			  struct ota_error *err) _must_check_;

/* ---- fetching by range (bundle/fetch.c; adaptive delta) ---------------------
 *
 * For a client that reads header, manifest and signature through a reader
 * (signature verified), then fetches chunk tables and single chunks by range
 * (docs/bundle-format.md "Fetching chunks by range"). The same checks as the
 * streaming reader: table hash against the manifest, chunk hash after
 * decompression into exactly usize bytes. */

/* Offset D of the data area (header + manifest + signature) of an open reader. */
uint64_t ota_bundle_reader_data_offset(const struct ota_bundle_reader *r);
/* The chunker's min/max chunk size and the largest compressed chunk for a
 * (validated) payload; any out-parameter may be NULL. -EINVAL if invalid. */
int ota_bundle_payload_bounds(const struct ota_manifest_payload *p, uint64_t *ret_min, uint64_t *ret_max,
			      uint64_t *ret_csize_max) _must_check_;
/* Reads a payload's chunk table through src->read_at at data_offset +
 * table_offset, checks its SHA-256 against the manifest, decodes it. max_table
 * 0: OTA_BUNDLE_DEFAULT_MAX_TABLE. *ret is malloc'd. */
int ota_bundle_fetch_table(const struct ota_bundle_source *src, uint64_t data_offset,
			   const struct ota_manifest_payload *p, uint64_t max_table, struct ota_chunk_entry **ret,
			   struct ota_error *err) _must_check_;

struct ota_chunk_decoder;
int ota_chunk_decoder_new(struct ota_chunk_decoder **ret, struct ota_error *err) _must_check_;
struct ota_chunk_decoder *ota_chunk_decoder_free(struct ota_chunk_decoder *d);
OTA_DEFINE_CLEANUP_FUNC(struct ota_chunk_decoder *, ota_chunk_decoder_free)
/* Decompresses e->csize bytes of cdata into out (e->usize bytes) and checks
 * the SHA-256 against e; -EBADMSG on any mismatch. */
int ota_chunk_decode(struct ota_chunk_decoder *d, const struct ota_chunk_entry *e, const void *cdata, void *out,
		     struct ota_error *err) _must_check_;
/* SHA-256 of size bytes at data; an all-zero buffer costs a comparison
 * (its hash is remembered per size), the value is the same. */
int ota_sha256(const void *data, size_t size, uint8_t out[32]);
/* Whether chunk e is e->usize zero bytes (its SHA-256 is theirs): such a
 * chunk needs no bytes from anywhere. The hash of zeros of each size is
 * remembered for a few sizes: for a whole table, ota_chunk_table_zeros. */
bool ota_chunk_is_zero(const struct ota_chunk_entry *e);
/* ret_zero[i] = 1 where chunk i of table (count entries) is all zero, else
 * 0: one pass over zeros as long as the largest chunk. */
int ota_chunk_table_zeros(const struct ota_chunk_entry *table, uint64_t count, uint8_t *ret_zero,
			  struct ota_error *err) _must_check_;
/* Feeds n zero bytes into a SHA-256 context (OpenSSL's EVP_MD_CTX). */
struct evp_md_ctx_st;
int ota_digest_zeros(struct evp_md_ctx_st *md, uint64_t n) _must_check_;
/* 0 if data (size bytes) is the chunk e names, -EBADMSG if not. */
int ota_chunk_verify(const struct ota_chunk_entry *e, const void *data, size_t size) _must_check_;

/* Chunk patches (optional, docs/bundle-format.md "Chunk patches"): *ret and
 * the count of the patches of chunk `chunk` (0: none; they are adjacent). */
size_t ota_payload_chunk_patches(const struct ota_manifest_payload *p, uint64_t chunk,
				 const struct ota_chunk_patch **ret);
/* Whether pt fits its chunk's verified table entry e: the chunk's own frame
 * within its compressed bytes and the patch behind it. Use no patch that
 * does not (fetch the whole chunk instead). */
bool ota_chunk_patch_usable(const struct ota_chunk_patch *pt, const struct ota_chunk_entry *e);
/* The largest base region a (validated) payload's patches may name: the
 * buffer a caller reads bases into. */
uint64_t ota_bundle_patch_base_max(const struct ota_manifest_payload *p);
/* Whether base (pt->base_size bytes) hashes to pt->base_sha256. */
bool ota_chunk_patch_base_ok(const struct ota_chunk_patch *pt, const void *base);
/* As ota_chunk_decode, for the chunk's own frame alone (its first
 * frame_size compressed bytes), fetched without the patches behind it. */
int ota_chunk_decode_frame(struct ota_chunk_decoder *d, const struct ota_chunk_entry *e, uint32_t frame_size,
			   const void *cdata, void *out, struct ota_error *err) _must_check_;
/* Makes chunk e from a patch: checks that base (pt->base_size bytes, read by
 * the caller right before) hashes to pt->base_sha256, decompresses the patch
 * (pt->size bytes at pdata) with it as the zstd prefix into out (e->usize
 * bytes) and checks the chunk's SHA-256. Only then is out the chunk;
 * -EBADMSG if the base or the result does not match. */
int ota_chunk_patch_decode(struct ota_chunk_decoder *d, const struct ota_chunk_entry *e,
			   const struct ota_chunk_patch *pt, const void *base, const void *pdata, void *out,
			   struct ota_error *err) _must_check_;

/* ---- writer (build host) ------------------------------------------------- */

struct ota_bundle_image {
	const char *path;        /* image file */
	const char *slot_class;
};

struct ota_bundle_create_opts {
	const char *compatible;
	const char *version;
	const char *build;       /* may be NULL */
	const char *description; /* may be NULL */
	uint64_t created;        /* 0: now */
	enum ota_chunker_kind chunker;
	uint32_t chunk_avg;      /* 0: OTA_BUNDLE_DEFAULT_CHUNK_AVG */
	int zstd_level;          /* 0: 3 */
	unsigned threads;        /* 0: one per online CPU */
	const struct ota_bundle_image *images;
	size_t n_images;
	/* Signing: all NULL for an unsigned bundle (sign it later). */
	const char *cert, *key, *chain;
	/* Chunk patches against earlier releases: each an image, or a bundle
	 * (its payload of the same slot class is the image; not verified: the
	 * build host's own input). A patch is kept only when clearly smaller
	 * than the chunk. At most OTA_BUNDLE_MAX_PATCH_BASES. */
	const char *const *delta_bases;
	size_t n_delta_bases;
	int patch_level;         /* zstd level of patches; 0: 19 */
};

/* Writes a complete bundle to out_path (via a temporary file and rename). */
int ota_bundle_create(const struct ota_bundle_create_opts *o, const char *out_path,
		      struct ota_error *err) _must_check_;
/* Writes the exact bytes a signature covers (the manifest) to out_path. */
int ota_bundle_prepare(const char *bundle_path, const char *out_path, struct ota_error *err) _must_check_;
/* Replaces the signature of a bundle by sig (DER CMS); out_path may equal
 * bundle_path. The signature is checked to be parseable CMS, not trusted. */
int ota_bundle_attach(const char *bundle_path, const uint8_t *sig, size_t sig_size, const char *out_path,
		      struct ota_error *err) _must_check_;
/* Reads the header, manifest and signature of a bundle file without
 * verifying anything (inspect). ret_sig may be NULL. */
int ota_bundle_read_head(const char *bundle_path, struct ota_bundle_header *ret_header,
			 uint8_t **ret_manifest, uint8_t **ret_sig, struct ota_error *err) _must_check_;

/* Lowercase hex of a SHA-256 (65 bytes with the NUL). */
void ota_bundle_hex(const uint8_t sha[32], char out[65]);

#endif

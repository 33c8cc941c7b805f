/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: a whole bundle through the streaming reader (header,
 * manifest, chunk tables, zstd, hashes), unsigned bundles allowed so the
 * fuzzer gets past the signature. The consumer checks that chunks arrive in
 * order and inside the image. */
#include "bundle/bundle.h"
#include "fuzz.h"

static int check_chunk(void *userdata, const struct ota_manifest_payload *p, const struct ota_chunk_entry *e,
		       uint64_t offset, const void *buf, size_t n)
{
	uint64_t *next = userdata;
	FUZZ_ASSERT(offset == *next && offset + n <= p->image_size && n == e->usize);
	*next = offset + n;
	return 0;
}

static int begin(void *userdata, const struct ota_manifest_payload *p)
{
	*(uint64_t *)userdata = 0;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ota_bundle_mem mem = { data, size, 0 };
	struct ota_bundle_source src;
	ota_bundle_source_mem(&src, &mem, "fuzz");
	struct ota_bundle_trust trust = { .allow_unsigned = true, .keyring = "/nonexistent" };
	struct ota_bundle_reader *r = NULL;
	struct ota_error err = { 0 };
	uint64_t next = 0;
	struct ota_bundle_consumer c = { .begin = begin, .chunk = check_chunk, .userdata = &next };
	int ret = ota_bundle_reader_open(&src, &trust, NULL, &r, &err);
	if (ret == 0)
		ret = ota_bundle_reader_run(r, &c, NULL, &err);
	fuzz_says_why(ret, &err);
	ota_bundle_reader_free(r);
	return 0;
}

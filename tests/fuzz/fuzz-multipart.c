/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: the HTTP Content-Range and multipart/byteranges parsers
 * (server responses are untrusted input). The first line of the input is
 * the Content-Type header; the rest is fed as the body in two pieces split
 * at a position taken from the input, so split handling is exercised too. */
#include "bundle/http-private.h"
#include "fuzz.h"

static int sink(void *userdata, uint64_t offset, const uint8_t *p, size_t n)
{
	uint64_t *total = userdata;
	FUZZ_ASSERT(!n || p);
	(void)offset;
	*total += n;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nl = memchr(data, '\n', size);
	if (!nl || nl - data > 512)
		return 0;
	char header[520];
	memcpy(header, data, (size_t)(nl - data));
	header[nl - data] = '\0';

	uint64_t first, last, total;
	/* An accepted range must be consistent. */
	if (ota_http_parse_content_range(header, &first, &last, &total) == 0)
		FUZZ_ASSERT(first <= last && last < total);

	struct ota_multipart mp;
	if (ota_multipart_init(&mp, header) < 0)
		return 0;
	const uint8_t *body = nl + 1;
	size_t blen = size - (size_t)(body - data);
	size_t split = blen ? body[0] % (blen + 1) : 0;
	uint64_t delivered = 0;
	if (ota_multipart_feed(&mp, body, split, sink, &delivered) == 0)
		(void)!ota_multipart_feed(&mp, body + split, blen - split, sink, &delivered);
	FUZZ_ASSERT(delivered <= blen); /* never more data out than came in */
	return 0;
}

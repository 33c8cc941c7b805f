/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: the HTTP Content-Range and multipart/byteranges parsers
 * (server responses are untrusted input). The first line of the input is
 * the Content-Type header; the rest is fed as the body in two pieces split
 * at a position taken from the input, so split handling is exercised too. */
#include <stdint.h>
#include <string.h>

#include "bundle/http-private.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int sink(void *userdata, uint64_t offset, const uint8_t *p, size_t n)
{
	uint64_t *total = userdata;
	if (n && !p)
		__builtin_trap();
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
	if (ota_http_parse_content_range(header, &first, &last, &total) == 0 && (first > last || last >= total))
		__builtin_trap(); /* an accepted range must be consistent */

	struct ota_multipart mp;
	if (ota_multipart_init(&mp, header) < 0)
		return 0;
	const uint8_t *body = nl + 1;
	size_t blen = size - (size_t)(body - data);
	size_t split = blen ? body[0] % (blen + 1) : 0;
	uint64_t delivered = 0;
	if (ota_multipart_feed(&mp, body, split, sink, &delivered) == 0)
		(void)!ota_multipart_feed(&mp, body + split, blen - split, sink, &delivered);
	if (delivered > blen)
		__builtin_trap(); /* never more data out than came in */
	return 0;
}

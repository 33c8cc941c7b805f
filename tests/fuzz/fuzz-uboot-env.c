/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: the U-Boot env codec (native single and redundant
 * images, `env export -t` text) and the autoboot.txt parser of the
 * rpi-tryboot boot flow. The first byte picks the parser. Properties: every
 * failure says why; whatever parses re-encodes and parses back to the same
 * variables. */
#include "bootflow/bootflow-private.h"
#include "bootflow/uboot-env.h"
#include "fuzz.h"

static void same(const struct ota_uenv *a, const struct ota_uenv *b)
{
	FUZZ_ASSERT(a->n == b->n);
	for (size_t i = 0; i < a->n; i++)
		FUZZ_ASSERT(strcmp(a->vars[i].name, b->vars[i].name) == 0 && strcmp(a->vars[i].value, b->vars[i].value) == 0);
}

static void image(const uint8_t *data, size_t size, bool redundant)
{
	struct ota_uenv env = { 0 }, back = { 0 };
	struct ota_error err = { 0 };
	uint8_t flag, flag2;
	/* Most inputs fail the CRC; also parse the data area directly so the
	 * fuzzer reaches the entry parser. */
	if (fuzz_says_why(ota_uenv_image_decode(data, size, redundant, &env, &flag, &err), &err) < 0) {
		size_t h = redundant ? 5 : 4;
		if (size < OTA_UENV_SIZE_MIN || size > OTA_UENV_SIZE_MAX)
			return;
		err.msg[0] = '\0';
		if (fuzz_says_why(ota_uenv_parse_data(data + h, size - h, '\0', &env, &err), &err) < 0)
			return;
		flag = 0;
	}
	uint8_t *img = malloc(size);
	if (img && ota_uenv_image_encode(&env, redundant, flag, img, size, &err) == 0) {
		FUZZ_ASSERT(ota_uenv_image_decode(img, size, redundant, &back, &flag2, &err) >= 0 &&
			    flag2 == (redundant ? flag : 0));
		same(&env, &back);
		ota_uenv_done(&back);
	}
	free(img);
	ota_uenv_done(&env);
}

static void text(const uint8_t *data, size_t size)
{
	struct ota_uenv env = { 0 }, back = { 0 };
	struct ota_error err = { 0 };
	if (fuzz_says_why(ota_uenv_parse_data(data, size, '\n', &env, &err), &err) < 0)
		return;
	char *t = NULL;
	size_t n;
	/* Values with '\r' at the end of a line do not survive (stripped, as
	 * U-Boot's -r import does); everything else must. */
	bool has_cr = memchr(data, '\r', size) != NULL;
	if (ota_uenv_format_text(&env, &t, &n, &err) == 0 && !has_cr) {
		FUZZ_ASSERT(ota_uenv_parse_data(t, n, '\n', &back, &err) >= 0);
		same(&env, &back);
		ota_uenv_done(&back);
	}
	free(t);
	ota_uenv_done(&env);
}

static void autoboot(const uint8_t *data, size_t size)
{
	_cleanup_free_ char *t = fuzz_text(data, size);
	unsigned def, try;
	struct ota_error err = { 0 };
	if (t)
		fuzz_says_why(ota_autoboot_parse(t, &def, &try, &err), &err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	switch (data[0] & 3) {
	case 0:
		image(data + 1, size - 1, false);
		break;
	case 1:
		image(data + 1, size - 1, true);
		break;
	case 2:
		text(data + 1, size - 1);
		break;
	default:
		autoboot(data + 1, size - 1);
	}
	return 0;
}

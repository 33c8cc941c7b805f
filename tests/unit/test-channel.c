/* SPDX-License-Identifier: Apache-2.0 */
/* update/channel.c: the update channel document (docs/channel.md). */
#include <errno.h>
#include <string.h>

#include "test.h"
#include "update/update.h"

#define BASE_URL "https://cdn.example.com/fleet/stable/channel.json?x=1"

static int parse(const char *text, struct ota_channel *ch, struct ota_error *err)
{
	*ch = (struct ota_channel){ 0 };
	return ota_channel_parse(ch, text, strlen(text), BASE_URL, err);
}

TEST(channel_full)
{
	struct ota_channel ch;
	struct ota_error err = { 0 };
	ASSERT_INT_EQ(parse("{\"format\": 1, \"compatible\": \"board-x\", \"version\": \"1.3.0\",\n"
			    " \"bundle\": \"https://dl.example.com/x-1.3.0.bundle\",\n"
			    " \"sha256\": \"ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef0123456789\",\n"
			    " \"size\": 123456789012, \"notes\": {\"ignored\": true}}\n",
			    &ch, &err),
		      0);
	ASSERT_STR_EQ(ch.version, "1.3.0");
	ASSERT_STR_EQ(ch.bundle, "https://dl.example.com/x-1.3.0.bundle");
	ASSERT_STR_EQ(ch.compatible, "board-x");
	ASSERT_STR_EQ(ch.sha256, "abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789");
	ASSERT_INT_EQ(ch.size, 123456789012LL);
	ota_channel_done(&ch);
	ASSERT_NULL(ch.version);
}

TEST(channel_minimal_and_relative)
{
	struct ota_channel ch;
	struct ota_error err = { 0 };
	ASSERT_INT_EQ(parse("{\"version\":\"2.0\",\"bundle\":\"b/x-2.0.bundle\"}", &ch, &err), 0);
	ASSERT_STR_EQ(ch.bundle, "https://cdn.example.com/fleet/stable/b/x-2.0.bundle");
	ota_channel_done(&ch);
	ASSERT_INT_EQ(parse("{\"version\":\"2.0\",\"bundle\":\"../b/./x.bundle?v=2\"}", &ch, &err), 0);
	ASSERT_STR_EQ(ch.bundle, "https://cdn.example.com/fleet/b/x.bundle?v=2");
	ASSERT_NULL(ch.compatible);
	ASSERT_STR_EQ(ch.sha256, "");
	ASSERT_INT_EQ(ch.size, 0);
	ota_channel_done(&ch);
	ASSERT_INT_EQ(parse("{\"version\":\"2.0\",\"bundle\":\"/x.bundle\"}", &ch, &err), 0);
	ASSERT_STR_EQ(ch.bundle, "https://cdn.example.com/x.bundle");
	ota_channel_done(&ch);
	static const char rel[] = "{\"version\":\"2\",\"bundle\":\"x.b\"}";
	ASSERT_INT_EQ(ota_channel_parse(&ch, rel, strlen(rel), "http://h:8080", &err), 0);
	ASSERT_STR_EQ(ch.bundle, "http://h:8080/x.b");
	ota_channel_done(&ch);
	/* no base URL: relative references cannot resolve */
	ASSERT_INT_EQ(ota_channel_parse(&ch, rel, strlen(rel), NULL, &err), -EBADMSG);
	ASSERT_CONTAINS(err.msg, "relative");
}

TEST(channel_errors)
{
	static const struct {
		const char *text;
		int code;
		const char *msg;
	} cases[] = {
		{ "", -EBADMSG, "not JSON" },
		{ "{\"version\":\"1\"", -EBADMSG, "ends early" },
		{ "[1,2]", -EBADMSG, "not a JSON object" },
		{ "{\"bundle\":\"x\"}", -EBADMSG, "'version' missing" },
		{ "{\"version\":\"1\"}", -EBADMSG, "'bundle' missing" },
		{ "{\"version\":1,\"bundle\":\"x\"}", -EBADMSG, "'version' is not a string" },
		{ "{\"version\":\"\",\"bundle\":\"x\"}", -EBADMSG, "empty" },
		{ "{\"version\":\"1\\n2\",\"bundle\":\"x\"}", -EBADMSG, "printable" },
		{ "{\"version\":\"1\\u00002\",\"bundle\":\"x\"}", -EBADMSG, "printable" },
		{ "{\"version\":\"1\",\"bundle\":\"ftp://h/x\"}", -EBADMSG, "not an http(s) URL" },
		{ "{\"version\":\"1\",\"bundle\":\"//h/x\"}", -EBADMSG, "scheme-relative" },
		{ "{\"format\":2,\"version\":\"1\",\"bundle\":\"x\"}", -EPROTONOSUPPORT, "format 2" },
		{ "{\"version\":\"1\",\"bundle\":\"x\",\"sha256\":\"abc\"}", -EBADMSG, "64 hex" },
		{ "{\"version\":\"1\",\"bundle\":\"x\",\"size\":-1}", -EBADMSG, "size" },
		{ "{\"version\":\"1\",\"bundle\":\"x\",\"size\":\"12\"}", -EBADMSG, "size" },
		{ "{\"version\":\"1\",\"bundle\":\"x\"} {}", -EBADMSG, "after the JSON" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct ota_channel ch;
		struct ota_error err = { 0 };
		int r = parse(cases[i].text, &ch, &err);
		if (r != cases[i].code)
			FAIL_AT("case %zu '%s': %d (%s)", i, cases[i].text, r, err.msg);
		ASSERT_CONTAINS(err.msg, cases[i].msg);
	}
}

TEST(channel_limits)
{
	struct ota_channel ch;
	struct ota_error err = { 0 };
	ASSERT_INT_EQ(ota_channel_parse(&ch, "{}", OTA_CHANNEL_MAX + 1, BASE_URL, &err), -EFBIG);
	/* deep nesting is refused by the tokenizer, not the stack */
	char deep[4096];
	memset(deep, '[', sizeof(deep) - 1);
	deep[sizeof(deep) - 1] = '\0';
	ASSERT_INT_EQ(parse(deep, &ch, &err), -EBADMSG);
}

TEST(channel_version_order)
{
	/* What `ota-update check` installs: strictly newer only. */
	ASSERT_TRUE(ota_version_compare("1.10.0", "1.9.9") > 0);
	ASSERT_TRUE(ota_version_compare("1.0", "1.0~rc1") > 0);
	ASSERT_TRUE(ota_version_compare("1.0", "1.0") == 0);
}

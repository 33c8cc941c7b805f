/* SPDX-License-Identifier: Apache-2.0 */
/* test-http-fetch [--ca-file F] [--max-ranges N] [--gap N] [--attempts N] URL OFFSET:LENGTH...|run:CMD...
 * Fetches the ranges with ota_bundle_http_fetch, writes their bytes to stdout
 * in argument order and prints the counters to stderr. Ranges between two
 * run:CMD arguments go in one call (so they are merged and batched); CMD runs
 * (system()) between the calls, e.g. to replace the file on the server. A
 * helper for bundle-http.sh. */
#include <errno.h>
#include <getopt.h>
#include <string.h>

#include "bundle/bundle.h"

int main(int argc, char **argv)
{
	struct ota_bundle_http_opts o = { .retry_delay_ms = 50 };
	static const struct option opts[] = {
		{ "ca-file", required_argument, NULL, 'c' }, { "max-ranges", required_argument, NULL, 'm' },
		{ "gap", required_argument, NULL, 'g' },     { "attempts", required_argument, NULL, 'a' },
		{},
	};
	int c;
	uint64_t v;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) >= 0) {
		if (c != 'c' && (ota_parse_u64(optarg, &v) < 0 || v > UINT32_MAX))
			return 2;
		switch (c) {
		case 'c': o.ca_file = optarg; break;
		case 'm': o.max_ranges = (unsigned)v; break;
		case 'g': o.merge_gap = v; break;
		case 'a': o.max_attempts = (unsigned)v; break;
		default: return 2;
		}
	}
	if (argc - optind < 2)
		return 2;
	size_t n = (size_t)(argc - optind - 1);
	struct ota_bundle_range *r = calloc(n, sizeof(*r));
	if (!r)
		return 1;
	for (size_t i = 0; i < n; i++) {
		char *arg = argv[optind + 1 + i], *colon = strchr(arg, ':');
		uint64_t len;
		if (strncmp(arg, "run:", 4) == 0)
			continue; /* size 0: a batch separator */
		if (!colon)
			return 2;
		*colon = '\0';
		if (ota_parse_u64(arg, &r[i].offset) < 0 || ota_parse_u64(colon + 1, &len) < 0 || len > (64u << 20))
			return 2;
		r[i].size = (size_t)len;
		if (!(r[i].buf = malloc(len ? len : 1)))
			return 1;
	}
	struct ota_error err = { 0 };
	struct ota_bundle_http *h = NULL;
	int ret = ota_bundle_http_new(argv[optind], &o, &h, &err);
	for (size_t i = 0, start = 0; ret == 0 && i <= n; i++) {
		const char *arg = i < n ? argv[optind + 1 + i] : NULL;
		if (arg && strncmp(arg, "run:", 4) != 0)
			continue;
		ret = ota_bundle_http_fetch(h, r + start, i - start, &err);
		if (ret == 0 && arg && system(arg + 4) != 0) {
			fprintf(stderr, "test-http-fetch: '%s' failed\n", arg + 4);
			return 1;
		}
		start = i + 1;
	}
	if (ret == 0) {
		for (size_t i = 0; i < n; i++)
			if (fwrite(r[i].buf, 1, r[i].size, stdout) != r[i].size)
				ret = -EIO;
		struct ota_bundle_http_stats st;
		ota_bundle_http_get_stats(h, &st);
		fprintf(stderr, "downloaded %llu of %llu bytes in %u requests (%u retries), multirange %s\n",
			(unsigned long long)st.downloaded, (unsigned long long)st.size, st.requests, st.retries,
			st.multirange ? "yes" : "no");
	} else {
		fprintf(stderr, "test-http-fetch: %s\n", err.msg);
	}
	h = ota_bundle_http_free(h);
	for (size_t i = 0; i < n; i++)
		free(r[i].buf);
	free(r);
	return ret < 0 ? 1 : 0;
}

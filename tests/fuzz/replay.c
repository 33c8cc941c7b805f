/* SPDX-License-Identifier: Apache-2.0 */
/* The fuzz smoke run where libFuzzer is not available: the cross builds,
 * whose targets run under qemu-user (docs/building.md).
 *
 *   fuzz-replay-TARGET CORPUS_DIR MAX_LEN RUNS
 *
 * Feeds LLVMFuzzerTestOneInput every input of the corpus, then RUNS inputs
 * made from them by a fixed sequence of mutations (bit flips, interesting
 * 8-, 16-, 32- and 64-bit values such as 2^31 and 2^32 that wrap 32-bit
 * size arithmetic, truncations, insertions, deletions, splices), at most
 * MAX_LEN bytes each. The sequence is deterministic, so a failure repeats;
 * the failing input is written to ./crash-replay-TARGET in the working
 * directory before the target is called.
 *
 * Built with -fsanitize=undefined -fsanitize-undefined-trap-on-error
 * (no sanitizer runtime needed): integer overflow, out-of-bounds
 * indexing of known arrays and misaligned accesses trap, as does an abort()
 * in the target. */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct input {
	uint8_t *data;
	size_t size;
};

static uint64_t rng_state = 0x9e3779b97f4a7c15u;

static uint64_t rng(void)
{
	/* xorshift64*: enough spread for picking mutations, and reproducible. */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 2685821657736338717u;
}

static size_t below(size_t n)
{
	return n ? (size_t)(rng() % n) : 0;
}

static int read_input(const char *path, size_t max_len, struct input *in)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		fprintf(stderr, "replay: cannot open '%s': %s\n", path, strerror(errno));
		return -1;
	}
	in->data = malloc(max_len ? max_len : 1);
	if (!in->data) {
		fclose(f);
		fprintf(stderr, "replay: out of memory for '%s'\n", path);
		return -1;
	}
	in->size = fread(in->data, 1, max_len, f);
	int bad = ferror(f);
	fclose(f);
	if (bad) {
		fprintf(stderr, "replay: cannot read '%s'\n", path);
		return -1;
	}
	return 0;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The corpus in name order, so that the mutation sequence is the same on
 * every machine. */
static int read_corpus(const char *dir, size_t max_len, struct input **ret, size_t *ret_n)
{
	DIR *d = opendir(dir);
	if (!d) {
		fprintf(stderr, "replay: cannot open corpus '%s': %s\n", dir, strerror(errno));
		return -1;
	}
	char **names = NULL;
	size_t n = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		char **grown = realloc(names, (n + 1) * sizeof(*names));
		if (!grown || !(grown[n] = strdup(e->d_name))) {
			fprintf(stderr, "replay: out of memory listing '%s'\n", dir);
			closedir(d);
			return -1;
		}
		names = grown;
		n++;
	}
	closedir(d);
	if (n == 0) {
		fprintf(stderr, "replay: corpus '%s' is empty\n", dir);
		return -1;
	}
	qsort(names, n, sizeof(*names), by_name);
	struct input *inputs = calloc(n, sizeof(*inputs));
	if (!inputs) {
		fprintf(stderr, "replay: out of memory\n");
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		char path[4096];
		if (snprintf(path, sizeof(path), "%s/%s", dir, names[i]) >= (int)sizeof(path)) {
			fprintf(stderr, "replay: path too long: %s/%s\n", dir, names[i]);
			return -1;
		}
		if (read_input(path, max_len, &inputs[i]) < 0)
			return -1;
		free(names[i]);
	}
	free(names);
	*ret = inputs;
	*ret_n = n;
	return 0;
}

static const uint64_t interesting[] = {
	0, 1, 0x7f, 0x80, 0xff, 0x7fff, 0x8000, 0xffff, 0x7fffffff, 0x80000000u, 0xffffffffu,
	0x100000000u, 0x7fffffffffffffffu, 0x8000000000000000u, 0xffffffffffffffffu,
};

/* One mutation of buf (size *size, room for max_len bytes). */
static void mutate_once(uint8_t *buf, size_t *size, size_t max_len, const struct input *other)
{
	size_t n = *size;
	switch (below(7)) {
	case 0: /* flip a bit */
		if (n)
			buf[below(n)] ^= (uint8_t)(1u << below(8));
		break;
	case 1: /* an interesting value, 1, 2, 4 or 8 bytes wide, either endianness */
		if (n) {
			size_t width = (size_t)1 << below(4);
			size_t at = below(n);
			uint64_t v = interesting[below(sizeof(interesting) / sizeof(interesting[0]))];
			int big = (int)below(2);
			for (size_t i = 0; i < width && at + i < n; i++)
				buf[at + i] = (uint8_t)(v >> (8 * (big ? width - 1 - i : i)));
		}
		break;
	case 2: /* truncate */
		*size = below(n + 1);
		break;
	case 3: /* delete a range */
		if (n) {
			size_t at = below(n), len = below(n - at) + 1;
			memmove(buf + at, buf + at + len, n - at - len);
			*size = n - len;
		}
		break;
	case 4: /* insert random bytes */
		if (n < max_len) {
			size_t at = below(n + 1), len = below(max_len - n < 16 ? max_len - n : 16) + 1;
			memmove(buf + at + len, buf + at, n - at);
			for (size_t i = 0; i < len; i++)
				buf[at + i] = (uint8_t)rng();
			*size = n + len;
		}
		break;
	case 5: /* a random byte */
		if (n)
			buf[below(n)] = (uint8_t)rng();
		break;
	default: /* splice: the tail of another input */
		if (other->size) {
			size_t at = below(n + 1), from = below(other->size);
			size_t len = other->size - from;
			if (len > max_len - at)
				len = max_len - at;
			memcpy(buf + at, other->data + from, len);
			*size = at + len;
		}
		break;
	}
}

static void keep_for_reproduction(const char *target, const uint8_t *data, size_t size)
{
	char path[256];
	snprintf(path, sizeof(path), "crash-replay-%s", target);
	FILE *f = fopen(path, "wb");
	if (f) {
		fwrite(data, 1, size, f);
		fclose(f);
	}
}

int main(int argc, char **argv)
{
	if (argc != 5) {
		fprintf(stderr, "usage: %s CORPUS_DIR MAX_LEN RUNS TARGET_NAME\n", argv[0]);
		return 2;
	}
	char *end;
	unsigned long long max_len = strtoull(argv[2], &end, 10);
	if (*end || max_len == 0 || max_len > 1u << 24) {
		fprintf(stderr, "replay: MAX_LEN '%s' is not a number in 1..16777216\n", argv[2]);
		return 2;
	}
	unsigned long long runs = strtoull(argv[3], &end, 10);
	if (*end) {
		fprintf(stderr, "replay: RUNS '%s' is not a number\n", argv[3]);
		return 2;
	}
	const char *target = argv[4];
	struct input *corpus;
	size_t n;
	if (read_corpus(argv[1], (size_t)max_len, &corpus, &n) < 0)
		return 1;
	for (size_t i = 0; i < n; i++) {
		keep_for_reproduction(target, corpus[i].data, corpus[i].size);
		LLVMFuzzerTestOneInput(corpus[i].data, corpus[i].size);
	}
	uint8_t *buf = malloc((size_t)max_len);
	if (!buf) {
		fprintf(stderr, "replay: out of memory\n");
		return 1;
	}
	for (unsigned long long r = 0; r < runs; r++) {
		const struct input *base = &corpus[below(n)];
		size_t size = base->size;
		memcpy(buf, base->data, size);
		for (size_t m = below(4) + 1; m; m--)
			mutate_once(buf, &size, (size_t)max_len, &corpus[below(n)]);
		keep_for_reproduction(target, buf, size);
		/* An exact-size copy, so that reading past the end is not hidden by
		 * the rest of buf. */
		uint8_t *exact = malloc(size ? size : 1);
		if (!exact) {
			fprintf(stderr, "replay: out of memory\n");
			return 1;
		}
		memcpy(exact, buf, size);
		LLVMFuzzerTestOneInput(exact, size);
		free(exact);
	}
	char path[256];
	snprintf(path, sizeof(path), "crash-replay-%s", target);
	remove(path);
	printf("fuzz-replay-%s: %zu corpus inputs and %llu mutated inputs, no failure\n", target, n, runs);
	for (size_t i = 0; i < n; i++)
		free(corpus[i].data);
	free(corpus);
	free(buf);
	return 0;
}

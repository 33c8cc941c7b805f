/* SPDX-License-Identifier: Apache-2.0 */
/* What every fuzz target shares, so that each fuzz-TARGET.c holds only its
 * own logic: the entry point's prototype, the way a broken property is
 * reported, the check that a failure says why, and the NUL-terminated copy
 * the text parsers take.
 *
 * A broken property traps (__builtin_trap): libFuzzer (build.sh) reports it
 * as a crash and keeps the input, and so does replay.c, which has no
 * sanitizer runtime to report anything else (the cross builds'
 * unit.fuzz-replay-*). Header only: build.sh and CMakeLists.txt compile
 * fuzz-TARGET.c alone (with replay.c in the replay), nothing more to link. */
#ifndef OTA_TESTS_FUZZ_H
#define OTA_TESTS_FUZZ_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sysutil/sysutil.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The target's property: traps when it does not hold. */
#define FUZZ_ASSERT(cond)                \
	do {                             \
		if (!(cond))             \
			__builtin_trap(); \
	} while (0)

/* Every failure must say why: traps on r < 0 with no message in err.
 * Returns r, so that `int r = fuzz_says_why(parse(..., &err), &err);`. */
static inline int fuzz_says_why(int r, const struct ota_error *err)
{
	FUZZ_ASSERT(r >= 0 || err->msg[0]);
	return r;
}

/* The input as a C string for the text parsers (they read files as text,
 * one C string each): a malloc'd copy with a NUL after it, NULL when out of
 * memory (the target then has nothing to test and returns). A NUL inside
 * the input ends the text there, as it ends the parser's view of it. */
static inline char *fuzz_text(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	if (text) {
		memcpy(text, data, size);
		text[size] = '\0';
	}
	return text;
}

#endif

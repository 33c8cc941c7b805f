/* SPDX-License-Identifier: Apache-2.0 */
/* A tiny test harness: TEST(name) registers a case, ASSERT_* fail it with
 * file, line and the values compared. Each test program prints one result
 * line per case and exits non-zero if any failed.
 *
 * Scratch files: each test program run makes one private directory,
 * $TMPDIR/ota-unit-<program>-XXXXXX (/tmp if TMPDIR is unset or relative),
 * before its first case and sets TMPDIR to it, so that what the cases spawn
 * writes there too. Every file a case makes goes there (test_tmpdir(),
 * test_mkdtemp()). When the program ends, by returning from main or by
 * exit() (not when a signal kills it), the harness removes the directory
 * with all it holds, so a case need not clean up, also not when a failed
 * ASSERT returns early: it first detaches mounts left inside and gives the
 * owner back rwx on directories a case closed (chmod 000); it follows no
 * symlink and crosses into no mount. What it cannot remove fails the
 * program, naming the directory. */
#ifndef OTA_TEST_H
#define OTA_TEST_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct test_case {
	const char *name;
	void (*fn)(void);
};

/* Room for a directory test_mkdtemp() makes; below it, paths fit in PATH_MAX. */
#define TEST_DIR_MAX 1024

/* The scratch directory: an absolute path shorter than TEST_DIR_MAX / 2. */
const char *test_tmpdir(void);
/* Makes a new directory "<scratch>/<name>-XXXXXX" and puts its path in buf:
 * 0, or -ENAMETOOLONG if it does not fit in size bytes, or mkdtemp's -errno. */
int test_mkdtemp(char *buf, size_t size, const char *name);

/* Writes text to the file rel below dir, making the directories on the way:
 * 0 or a negative errno. */
int test_put(const char *dir, const char *rel, const char *text);

/* Whether INI text (a test's every-key text) sets key in section; a section
 * or key ending in '.' is a prefix ("slot." for [slot.a]). For the tests
 * that every key of a schema table appears in the test's text. */
bool test_ini_sets(const char *text, const char *section, const char *key);

/* For the same tests, over a whole schema table: key_name(i, ...) for i = 0,
 * 1, ... until it returns NULL, each a name "[section] key" (a "<...>" after
 * the section or the key stands for a name the table does not fix, as
 * ota_sysconf_key_name writes them). Returns how many names there are, or -1
 * after naming on stderr each that none of texts (NULL-ended) sets. */
long test_schema_keys_set(const char *(*key_name)(size_t i, char *buf, size_t size), const char *const *texts);

#define TEST_MAX 256
extern struct test_case test_cases[TEST_MAX];
extern int test_count;
extern int test_failed_now;
extern int test_skipped_now;

/* A program with skipped cases and no failed one exits with this status;
 * ctest reports it as skipped (SKIP_RETURN_CODE), with the reasons in the
 * output ("skip CASE: reason"). */
#define TEST_SKIP_STATUS 77

#define TEST(name)                                                                   \
	static void test_##name(void);                                                   \
	__attribute__((constructor)) static void register_##name(void)                    \
	{                                                                                \
		if (test_count < TEST_MAX)                                                 \
			test_cases[test_count] = (struct test_case){ #name, test_##name };   \
		test_count++; /* counted past TEST_MAX too: main() refuses to run then */ \
	}                                                                                \
	static void test_##name(void)

#define FAIL_AT(...)                                                   \
	do {                                                           \
		fprintf(stderr, "  %s:%d: ", __FILE__, __LINE__);      \
		fprintf(stderr, __VA_ARGS__);                          \
		fprintf(stderr, "\n");                                 \
		test_failed_now = 1;                                   \
		return;                                                \
	} while (0)

/* Ends the case as skipped: what it needs is missing here (e.g. a syscall
 * qemu-user does not emulate); the reason is printed. */
#define SKIP(...)                                                      \
	do {                                                           \
		fprintf(stderr, "  skipped: ");                        \
		fprintf(stderr, __VA_ARGS__);                          \
		fprintf(stderr, "\n");                                 \
		test_skipped_now = 1;                                  \
		return;                                                \
	} while (0)

#define ASSERT_TRUE(c)                                         \
	do {                                                   \
		if (!(c))                                      \
			FAIL_AT("expected true: %s", #c);      \
	} while (0)
#define ASSERT_INT_EQ(a, b)                                                                   \
	do {                                                                                  \
		long long a_ = (long long)(a), b_ = (long long)(b);                           \
		if (a_ != b_)                                                                 \
			FAIL_AT("%s == %s: %lld != %lld", #a, #b, a_, b_);                    \
	} while (0)
#define ASSERT_STR_EQ(a, b)                                                                    \
	do {                                                                                   \
		const char *a_ = (a), *b_ = (b);                                               \
		if (!a_ || !b_ || strcmp(a_, b_) != 0)                                         \
			FAIL_AT("%s == %s: \"%s\" != \"%s\"", #a, #b, a_ ? a_ : "(null)",       \
				b_ ? b_ : "(null)");                                           \
	} while (0)
#define ASSERT_NULL(p)                                                              \
	do {                                                                        \
		if ((p) != NULL)                                                    \
			FAIL_AT("expected NULL: %s", #p);                           \
	} while (0)
#define ASSERT_CONTAINS(hay, needle)                                                         \
	do {                                                                                 \
		const char *h_ = (hay), *n_ = (needle);                                      \
		if (!h_ || !strstr(h_, n_))                                                  \
			FAIL_AT("\"%s\" does not contain \"%s\"", h_ ? h_ : "(null)", n_);   \
	} while (0)

#endif

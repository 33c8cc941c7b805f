/* Runner for the TEST() cases linked into one test program. An optional
 * argument runs only the cases whose name contains it. */
#include "test.h"

struct test_case test_cases[TEST_MAX];
int test_count;
int test_failed_now;

int main(int argc, char **argv)
{
	int passed = 0, failed = 0;
	for (int i = 0; i < test_count; i++) {
		if (argc > 1 && !strstr(test_cases[i].name, argv[1]))
			continue;
		test_failed_now = 0;
		test_cases[i].fn();
		printf("%s %s\n", test_failed_now ? "FAIL" : "ok  ", test_cases[i].name);
		if (test_failed_now)
			failed++;
		else
			passed++;
	}
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : (passed ? 0 : 1);
}

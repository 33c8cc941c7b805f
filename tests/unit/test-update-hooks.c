/* SPDX-License-Identifier: Apache-2.0 */
/* update: hooks run in order with their environment, and hook-timeout holds
 * for a hook whose output is not captured. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <sys/stat.h>
#include <time.h>

#include "update/update-private.h"
#include "test.h"

/* The hooks directory is the program's scratch directory: hooks write what
 * they saw next to their <stage>.d. */
static void write_hook(const char *stage, const char *name, const char *body)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/%s.d", test_tmpdir(), stage);
	(void)mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/%s.d/%s", test_tmpdir(), stage, name);
	FILE *f = fopen(path, "w");
	if (!f)
		return;
	fprintf(f, "#!/bin/sh\n%s\n", body);
	fclose(f);
	chmod(path, 0755);
}

static char *read_back(const char *name)
{
	char path[PATH_MAX], *text = NULL;
	size_t size;
	snprintf(path, sizeof(path), "%s/%s", test_tmpdir(), name);
	return ota_read_file(path, 4096, &text, &size, NULL) == 0 ? text : NULL;
}

TEST(hooks_run_in_order_with_their_environment)
{
	struct ota_update_config c = { .hooks_dir = (char *)test_tmpdir(), .hook_timeout_s = 5 };
	write_hook("post-commit", "20-second", "echo \"$(basename \"$0\") $1 $OTA_HOOK_STAGE $OTA_X\" >>\"${0%/*}/../log\"");
	write_hook("post-commit", "10-first", "echo \"$(basename \"$0\") $1 $OTA_HOOK_STAGE $OTA_X\" >>\"${0%/*}/../log\"");
	struct ota_hook_env env = { 0 };
	ASSERT_INT_EQ(ota_hook_env_add(&env, "OTA_X", "%d", 7), 0);
	unsigned ran = 0;
	struct ota_error err = { 0 };
	ASSERT_INT_EQ(ota_hooks_run(&c, "post-commit", &env, &ran, &err), 0);
	ota_hook_env_done(&env);
	ASSERT_INT_EQ(ran, 2);
	char *log = read_back("log");
	ASSERT_STR_EQ(log, "10-first post-commit post-commit 7\n20-second post-commit post-commit 7\n");
	free(log);
}

TEST(hook_timeout_holds_for_an_uncaptured_hook)
{
	/* A hook's stdout is not captured: only the clock can stop this one,
	 * and its background job must go with it. */
	struct ota_update_config c = { .hooks_dir = (char *)test_tmpdir(), .hook_timeout_s = 1 };
	write_hook("pre-install", "50-hang",
		   "sleep 6 & echo $! >\"${0%/*}/../background\"; exec >&-; sleep 6");
	write_hook("pre-install", "60-never", "touch \"${0%/*}/../ran-after-timeout\"");
	struct ota_error err = { 0 };
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ASSERT_INT_EQ(ota_hooks_run(&c, "pre-install", NULL, NULL, &err), -ETIMEDOUT);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	long ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	ASSERT_TRUE(ms >= 1000 && ms < 1000 + 1500);
	ASSERT_CONTAINS(err.msg, "pre-install hook: ");
	ASSERT_CONTAINS(err.msg, "pre-install.d/50-hang' did not finish within 1000 ms");
	char *bg = read_back("background");
	ASSERT_TRUE(bg != NULL);
	pid_t pid = (pid_t)strtol(bg, NULL, 10);
	free(bg);
	/* SIGKILLed with the group; an orphan may still be a zombie for a moment */
	int alive = 1;
	for (int i = 0; i < 100 && alive; i++) {
		char stat_path[64], *st = NULL;
		size_t size;
		snprintf(stat_path, sizeof(stat_path), "/proc/%d/stat", (int)pid);
		alive = ota_read_file(stat_path, 4096, &st, &size, NULL) == 0 && !strstr(st, ") Z ");
		free(st);
		if (alive)
			nanosleep(&(struct timespec){ 0, 10 * 1000 * 1000 }, NULL);
	}
	ASSERT_TRUE(!alive);
	char *after = read_back("ran-after-timeout");
	ASSERT_NULL(after);
	free(after);
}

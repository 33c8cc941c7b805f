/* SPDX-License-Identifier: Apache-2.0 */
/* The harness itself (test.h, test-main.c): the scratch directory is private
 * and exported, and nothing a test program made is left once it ends,
 * whether its cases pass, fail an ASSERT or call exit(). The cases run this
 * program again with child_litters_then_ends only, which acts when
 * OTA_TEST_HARNESS_CHILD says how it is to end and passes at once otherwise. */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sysutil/sysutil.h"
#include "test.h"

static int count_entries(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *de;
	int n = 0;
	if (!d)
		return -errno;
	while ((de = readdir(d)))
		n += strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0;
	closedir(d);
	return n;
}

TEST(scratch_is_private_and_exported)
{
	const char *s = test_tmpdir();
	struct stat st;
	ASSERT_TRUE(s[0] == '/');
	ASSERT_CONTAINS(s, "/ota-unit-test-harness-");
	ASSERT_INT_EQ(lstat(s, &st), 0);
	ASSERT_TRUE(S_ISDIR(st.st_mode));
	ASSERT_INT_EQ(st.st_mode & 07777, 0700);
	ASSERT_INT_EQ(st.st_uid, geteuid());
	ASSERT_STR_EQ(getenv("TMPDIR"), s);
}

TEST(mkdtemp_makes_new_directories_inside)
{
	char a[TEST_DIR_MAX], b[TEST_DIR_MAX], prefix[TEST_DIR_MAX], small[16];
	struct stat st;
	snprintf(prefix, sizeof(prefix), "%s/two.words-", test_tmpdir());
	ASSERT_INT_EQ(test_mkdtemp(a, sizeof(a), "two.words"), 0);
	ASSERT_INT_EQ(test_mkdtemp(b, sizeof(b), "two.words"), 0);
	ASSERT_TRUE(strcmp(a, b) != 0);
	ASSERT_TRUE(strncmp(a, prefix, strlen(prefix)) == 0 && strlen(a) == strlen(prefix) + 6);
	ASSERT_INT_EQ(stat(b, &st), 0);
	ASSERT_TRUE(S_ISDIR(st.st_mode));

	int before = count_entries(test_tmpdir());
	ASSERT_INT_EQ(test_mkdtemp(small, sizeof(small), "x"), -ENAMETOOLONG);
	ASSERT_INT_EQ(count_entries(test_tmpdir()), before);
}

TEST(exit_in_a_forked_child_keeps_the_scratch)
{
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0)
		exit(0); /* runs the atexit handlers in the copy */
	ASSERT_TRUE(pid > 0);
	int status;
	ASSERT_INT_EQ(waitpid(pid, &status, 0), pid);
	ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	ASSERT_INT_EQ(access(test_tmpdir(), F_OK), 0);
}

/* What a test may leave: a tree with directories closed by chmod 000, a
 * FIFO, a symlink to a file outside the scratch directory (which must
 * survive), a plain file, and as root a mount. */
static void litter(const char *outside)
{
	char d[TEST_DIR_MAX], p[PATH_MAX];
	ASSERT_INT_EQ(test_mkdtemp(d, sizeof(d), "litter"), 0);
	ASSERT_INT_EQ(test_put(d, "a/b/c/file", "x"), 0);
	snprintf(p, sizeof(p), "%s/a/b/c", d);
	ASSERT_INT_EQ(chmod(p, 0), 0);
	snprintf(p, sizeof(p), "%s/a/b", d);
	ASSERT_INT_EQ(chmod(p, 0), 0);
	if (geteuid() == 0) {
		snprintf(p, sizeof(p), "%s/mnt", d);
		ASSERT_INT_EQ(mkdir(p, 0755), 0);
		ASSERT_INT_EQ(mount("tmpfs", p, "tmpfs", MS_NOSUID | MS_NODEV, "size=64k"), 0);
		snprintf(p, sizeof(p), "%s/mnt/on-the-mount", d);
		ASSERT_INT_EQ(ota_write_file_atomic(p, "m", 1, 0644, NULL), 0);
	}
	snprintf(p, sizeof(p), "%s/fifo", d);
	ASSERT_INT_EQ(mkfifo(p, 0600), 0);
	snprintf(p, sizeof(p), "%s/a/link", d);
	ASSERT_INT_EQ(symlink(outside, p), 0);
	snprintf(p, sizeof(p), "%s/plain", test_tmpdir());
	ASSERT_INT_EQ(ota_write_file_atomic(p, "y", 1, 0644, NULL), 0);
}

TEST(child_litters_then_ends)
{
	const char *how = getenv("OTA_TEST_HARNESS_CHILD"), *outside = getenv("OTA_TEST_HARNESS_OUTSIDE");
	if (!how || !outside)
		return;
	litter(outside);
	if (strcmp(how, "exit") == 0)
		exit(3);
	ASSERT_TRUE(strcmp(how, "fail") != 0); /* fails on purpose */
}

/* Runs child_litters_then_ends ending as how, with TMPDIR a new directory
 * that holds one file: afterwards it holds that file and nothing else. */
static void run_child(const char *how, int want_status)
{
	char parent[TEST_DIR_MAX], outside[PATH_MAX], self[PATH_MAX], out[4096] = "", errbuf[4096] = "";
	char env_tmp[PATH_MAX + 16], env_how[64], env_outside[PATH_MAX + 32];
	ASSERT_INT_EQ(test_mkdtemp(parent, sizeof(parent), how), 0);
	snprintf(outside, sizeof(outside), "%s/outside", parent);
	ASSERT_INT_EQ(ota_write_file_atomic(outside, "z", 1, 0644, NULL), 0);
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	ASSERT_TRUE(n > 0);
	self[n] = '\0';
	snprintf(env_tmp, sizeof(env_tmp), "TMPDIR=%s", parent);
	snprintf(env_how, sizeof(env_how), "OTA_TEST_HARNESS_CHILD=%s", how);
	snprintf(env_outside, sizeof(env_outside), "OTA_TEST_HARNESS_OUTSIDE=%s", outside);
	const char *env[] = { env_tmp, env_how, env_outside };
	/* In a cross build the program runs under qemu-user, which the kernel
	 * does not know to start for it: the child runs under the emulator
	 * that OTA_TEST_EMULATOR names (tests/CMakeLists.txt), if any. */
	char emulator[PATH_MAX] = "";
	const char *argv[12];
	size_t argc = 0;
	if (getenv("OTA_TEST_EMULATOR"))
		snprintf(emulator, sizeof(emulator), "%s", getenv("OTA_TEST_EMULATOR"));
	for (char *save, *w = strtok_r(emulator, " ", &save); w && argc < 9; w = strtok_r(NULL, " ", &save))
		argv[argc++] = w;
	argv[argc++] = self;
	argv[argc++] = "child_";
	argv[argc] = NULL;
	struct ota_spawn_opts o = { .env = env, .n_env = 3, .out = out, .out_size = sizeof(out), .errbuf = errbuf,
				    .errbuf_size = sizeof(errbuf), .timeout_ms = 30000 };
	struct ota_error err = { 0 };
	int r = ota_spawn(argv, &o, &err);
	if (r != want_status)
		fprintf(stderr, "  child (%s): %s%s%s\n", how, err.msg, out, errbuf);
	ASSERT_INT_EQ(r, want_status);
	ASSERT_TRUE(strstr(errbuf, "not removed") == NULL);
	ASSERT_INT_EQ(strstr(errbuf, "left mounted by the tests") != NULL, geteuid() == 0);
	ASSERT_INT_EQ(count_entries(parent), 1);
	ASSERT_INT_EQ(access(outside, F_OK), 0);
}

TEST(nothing_left_when_the_cases_pass)
{
	run_child("pass", 0);
}

TEST(nothing_left_after_a_failed_assert)
{
	run_child("fail", 1);
}

TEST(nothing_left_after_exit)
{
	run_child("exit", 3);
}

/* SPDX-License-Identifier: Apache-2.0 */
/* bootflow: the custom protocol's get-state parser, trial states, and the
 * custom backend against a shell-script controller; sysutil's ota_spawn. */
#include <errno.h>
#include <limits.h>
#include <sys/stat.h>
#include <time.h>

#include "bootflow/bootflow.h"
#include "test-bootflow.h"
#include "test.h"

TEST(parse_state_committed)
{
	struct ota_bootflow_state s;
	struct ota_error err = { 0 };
	ASSERT_INT_EQ(ota_bootflow_parse_state("booted=a\ndefault=a\ntrial=\n", &s, &err), 0);
	ASSERT_STR_EQ(s.booted, "a");
	ASSERT_STR_EQ(s.default_group, "a");
	ASSERT_STR_EQ(s.trial, "");
	ASSERT_INT_EQ(s.trial_state, OTA_TRIAL_NONE);
	ASSERT_INT_EQ(s.tries_left, 0);
}

TEST(parse_state_armed_and_running)
{
	struct ota_bootflow_state s;
	struct ota_error err = { 0 };
	ASSERT_INT_EQ(ota_bootflow_parse_state("# comment\r\nbooted=a\r\ndefault=a\ntrial=b\ntries=3\nfuture=x", &s,
					       &err),
		      0);
	ASSERT_INT_EQ(s.trial_state, OTA_TRIAL_ARMED);
	ASSERT_INT_EQ(s.tries_left, 3);
	ASSERT_STR_EQ(ota_trial_state_to_string(s.trial_state), "armed");
	ASSERT_INT_EQ(ota_bootflow_parse_state("booted=b\ndefault=a\ntrial=b\ntries=2\n", &s, &err), 0);
	ASSERT_INT_EQ(s.trial_state, OTA_TRIAL_RUNNING);
	/* A trial of the default group is no trial. */
	ASSERT_INT_EQ(ota_bootflow_parse_state("booted=a\ndefault=a\ntrial=a\ntries=2\n", &s, &err), 0);
	ASSERT_INT_EQ(s.trial_state, OTA_TRIAL_NONE);
	/* Tries used up while another group runs: the bootloader fell back. */
	ASSERT_INT_EQ(ota_bootflow_parse_state("booted=a\ndefault=a\ntrial=b\ntries=0\n", &s, &err), 0);
	ASSERT_INT_EQ(s.trial_state, OTA_TRIAL_FAILED);
	ASSERT_STR_EQ(ota_trial_state_to_string(s.trial_state), "failed");
	/* ... but a running trial on its last try is still running. */
	ASSERT_INT_EQ(ota_bootflow_parse_state("booted=b\ndefault=a\ntrial=b\ntries=0\n", &s, &err), 0);
	ASSERT_INT_EQ(s.trial_state, OTA_TRIAL_RUNNING);
}

static void expect_parse_error(const char *text, const char *msg)
{
	struct ota_bootflow_state s;
	struct ota_error err = { 0 };
	ASSERT_TRUE(ota_bootflow_parse_state(text, &s, &err) < 0);
	ASSERT_CONTAINS(err.msg, msg);
}

TEST(parse_state_errors)
{
	expect_parse_error("default=a\n", "no 'booted=' line");
	expect_parse_error("booted=a\n", "no 'default=' line");
	expect_parse_error("booted=a\ndefault=a\ntrial=b\n", "'trial=b' without 'tries='");
	expect_parse_error("booted=a\nbooted=b\ndefault=a\n", "line 2: 'booted' given twice");
	expect_parse_error("booted=a b\ndefault=a\n", "line 1: booted: invalid group name 'a b'");
	expect_parse_error("booted=\ndefault=a\n", "booted: invalid group name ''");
	expect_parse_error("booted=../x\ndefault=a\n", "invalid group name");
	expect_parse_error("booted=a\ndefault=a\ntrial=b\ntries=-1\n", "tries: '-1' is not a number");
	expect_parse_error("booted=a\ndefault=a\ntrial=b\ntries=101\n", "is not a number in 0..100");
	expect_parse_error("booted=a\ngarbage\n", "line 2: expected key=value");
	char big[600];
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	expect_parse_error(big, "line 1 is too long");
	char many[1024] = "";
	for (int i = 0; i < 70; i++)
		strcat(many, "#\n");
	expect_parse_error(many, "more than 64 lines");
}

TEST(group_names)
{
	ASSERT_TRUE(ota_bootflow_group_name_valid("a"));
	ASSERT_TRUE(ota_bootflow_group_name_valid("Group_B-2"));
	ASSERT_TRUE(!ota_bootflow_group_name_valid(""));
	ASSERT_TRUE(!ota_bootflow_group_name_valid("-"  "x y"));
	ASSERT_TRUE(!ota_bootflow_group_name_valid("a/b"));
	char longname[80];
	memset(longname, 'a', 64);
	longname[64] = '\0';
	ASSERT_TRUE(!ota_bootflow_group_name_valid(longname));
	longname[63] = '\0';
	ASSERT_TRUE(ota_bootflow_group_name_valid(longname));
}

/* ---- against a controller script ---------------------------------------- */

/* Scripts (and what they record) go to the program's scratch directory. */
static const char *write_script(const char *name, const char *body)
{
	static char path[PATH_MAX];
	(void)snprintf(path, sizeof(path), "%s/%s", test_tmpdir(), name);
	FILE *f = fopen(path, "w");
	if (!f)
		return NULL;
	fprintf(f, "#!/bin/sh\n%s\n", body);
	fclose(f);
	chmod(path, 0755);
	return path;
}

static struct ota_bootflow *custom(const char *exe, unsigned timeout_ms)
{
	struct ota_bootflow_config cfg = { .type = "custom", .executable = exe, .timeout_ms = timeout_ms };
	return test_bootflow_new(&cfg);
}

TEST(custom_backend_calls)
{
	const char *exe = write_script("ok.sh",
				       "echo \"$* proto=$OTA_BOOTFLOW_PROTOCOL\" >>\"$(dirname \"$0\")/calls\"\n"
				       "case $1 in get-state) printf 'booted=a\\ndefault=a\\ntrial=b\\ntries=3\\n';; esac");
	ASSERT_TRUE(exe != NULL);
	struct ota_bootflow *bf = custom(exe, 0);
	ASSERT_TRUE(bf != NULL);
	ASSERT_STR_EQ(ota_bootflow_name(bf), "custom");
	struct ota_bootflow_state s;
	struct ota_error err = { 0 };
	ASSERT_INT_EQ(ota_bootflow_get_state(bf, &s, &err), 0);
	ASSERT_INT_EQ(s.trial_state, OTA_TRIAL_ARMED);
	ASSERT_INT_EQ(ota_bootflow_arm(bf, "b", 3, &err), 0);
	ASSERT_INT_EQ(ota_bootflow_commit(bf, "b", &err), 0);
	ASSERT_INT_EQ(ota_bootflow_mark_bad(bf, "a", &err), 0);
	ASSERT_INT_EQ(ota_bootflow_arm(bf, "b", 0, &err), -ERANGE);
	ASSERT_INT_EQ(ota_bootflow_arm(bf, "b;reboot", 1, &err), -EINVAL);
	ASSERT_CONTAINS(err.msg, "invalid group name 'b;reboot'");
	bf = ota_bootflow_free(bf);
	char calls[PATH_MAX], *text = NULL;
	(void)snprintf(calls, sizeof(calls), "%s/calls", test_tmpdir());
	size_t size;
	ASSERT_INT_EQ(ota_read_file(calls, 4096, &text, &size, NULL), 0);
	ASSERT_STR_EQ(text, "get-state proto=1\narm b 3 proto=1\ncommit b proto=1\nmark-bad a proto=1\n");
	free(text);
}

TEST(custom_backend_failures)
{
	struct ota_error err = { 0 };
	struct ota_bootflow_state s;
	const char *exe = write_script("fail.sh", "echo 'no env partition' >&2; echo 'partial'; exit 3");
	struct ota_bootflow *bf = custom(exe, 0);
	ASSERT_TRUE(bf != NULL);
	ASSERT_INT_EQ(ota_bootflow_mark_bad(bf, "b", &err), -EIO);
	ASSERT_CONTAINS(err.msg, "boot flow custom: mark-bad group b: ");
	ASSERT_CONTAINS(err.msg, "fail.sh mark-bad' exited with status 3: no env partition");
	bf = ota_bootflow_free(bf);

	exe = write_script("garbage.sh", "echo 'hello world'");
	bf = custom(exe, 0);
	ASSERT_INT_EQ(ota_bootflow_get_state(bf, &s, &err), -EINVAL);
	ASSERT_CONTAINS(err.msg, "get-state' output: line 1: expected key=value");
	bf = ota_bootflow_free(bf);

	exe = write_script("slow.sh", "exec sleep 10");
	bf = custom(exe, 200);
	ASSERT_INT_EQ(ota_bootflow_get_state(bf, &s, &err), -ETIMEDOUT);
	ASSERT_CONTAINS(err.msg, "did not finish within 200 ms");
	bf = ota_bootflow_free(bf);

	/* stdout closed at once: the end of the output is not the end of the call */
	exe = write_script("mute.sh", "exec >&- 2>&-; sleep 4; echo booted=a");
	bf = custom(exe, 300);
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ASSERT_INT_EQ(ota_bootflow_mark_bad(bf, "a", &err), -ETIMEDOUT);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ASSERT_CONTAINS(err.msg, "boot flow custom: mark-bad group a: ");
	ASSERT_CONTAINS(err.msg, "mute.sh' did not finish within 300 ms");
	ASSERT_TRUE((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000 < 300 + 1500);
	bf = ota_bootflow_free(bf);

	exe = write_script("chatty.sh", "yes booted=a");
	bf = custom(exe, 30000); /* the output limit, not the clock, must end it */
	ASSERT_INT_EQ(ota_bootflow_get_state(bf, &s, &err), -EMSGSIZE);
	ASSERT_CONTAINS(err.msg, "printed more than 4096 bytes");
	bf = ota_bootflow_free(bf);

	struct ota_bootflow_config cfg = { .type = "custom", .executable = "/nonexistent/bf" };
	ASSERT_INT_EQ(ota_bootflow_new(&cfg, &bf, &err), -ENOENT);
	ASSERT_CONTAINS(err.msg, "boot flow custom: executable '/nonexistent/bf'");
	cfg.type = "grub2";
	ASSERT_INT_EQ(ota_bootflow_new(&cfg, &bf, &err), -EOPNOTSUPP);
	ASSERT_CONTAINS(err.msg, "unknown boot flow 'grub2'");
}

TEST(spawn_basics)
{
	struct ota_error err = { 0 };
	char out[64];
	const char *env[] = { "OTA_X=42" };
	const char *argv[] = { "/bin/sh", "-c", "echo $OTA_X; read x && echo got-stdin; exit 7", NULL };
	struct ota_spawn_opts o = { .env = env, .n_env = 1, .out = out, .out_size = sizeof(out), .timeout_ms = 5000 };
	ASSERT_INT_EQ(ota_spawn(argv, &o, &err), 7);
	ASSERT_STR_EQ(out, "42\n");
	struct ota_spawn_opts bounded = { .timeout_ms = 5000 };
	const char *rel[] = { "sh", NULL };
	ASSERT_INT_EQ(ota_spawn(rel, &bounded, &err), -EINVAL);
	const char *missing[] = { "/nonexistent/x", NULL };
	ASSERT_INT_EQ(ota_spawn(missing, &bounded, &err), 127);
	const char *killed[] = { "/bin/sh", "-c", "kill -9 $$", NULL };
	ASSERT_INT_EQ(ota_spawn(killed, &bounded, &err), -EINTR);
	ASSERT_CONTAINS(err.msg, "killed by signal 9");
}

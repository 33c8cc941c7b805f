/* SPDX-License-Identifier: Apache-2.0 */
/* The GRUB boot flow's environment files: GRUB's load_env parsing rules, the
 * state copies' torn-write detection (every prefix and suffix tear of a
 * write, at byte granularity, decides the old or the new state, never a
 * third), the tries countdown, and the grub backend's operations on a
 * directory. The real GRUB reading the same bytes: tests/vm/test_grub.py. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bootflow/bootflow-private.h"
#include "test-bootflow.h"
#include "test.h"

static const char *const groups[2] = { "a", "b" };

static void state(struct ota_grub_state *s, uint64_t seq, const char *def, const char *trial, const char *id)
{
	memset(s, 0, sizeof(*s));
	s->seq = seq;
	strcpy(s->default_group, def);
	strcpy(s->trial, trial);
	strcpy(s->trial_id, id);
}

static int decide(const char *e1, const char *e2, const char *tries, struct ota_grub_decision *d)
{
	struct ota_grub_files f = { e1, e2, tries, e1 ? OTA_GRUBENV_SIZE : 0, e2 ? OTA_GRUBENV_SIZE : 0,
				    tries ? OTA_GRUBENV_SIZE : 0 };
	return ota_grub_decide(&f, groups, d);
}

TEST(grubenv_load_follows_grub)
{
	static const char *const names[3] = { "x", "y", "z" };
	char *v[3] = { 0 };
	const char *text = "# GRUB Environment Block\n# comment x=1\nx=1\ny=a\\\nb\nx=2\nnot a var\nz=3\n####";
	ASSERT_INT_EQ(ota_grubenv_load(text, strlen(text), names, v, 3), 0);
	ASSERT_STR_EQ(v[0], "2");      /* the last occurrence wins */
	ASSERT_STR_EQ(v[1], "a\nb");   /* an escaped newline is part of the value */
	ASSERT_NULL(v[2]);             /* "not a var\nz" is one name, as in GRUB */
	for (int i = 0; i < 3; i++)
		free(v[i]);
	/* A block broken inside a value keeps what came before. */
	const char *broken = "# GRUB Environment Block\nx=1\ny=unterminated";
	char *w[3] = { 0 };
	ASSERT_INT_EQ(ota_grubenv_load(broken, strlen(broken), names, w, 3), 0);
	ASSERT_STR_EQ(w[0], "1");
	ASSERT_NULL(w[1]);
	free(w[0]);
	ASSERT_INT_EQ(ota_grubenv_load("# GRUB Environment Blok\nx=1\n", 27, names, w, 3), -EBADMSG);
}

TEST(grubenv_state_layout)
{
	struct ota_grub_state s;
	char block[OTA_GRUBENV_SIZE];
	state(&s, 42, "a", "b", "42");
	ASSERT_INT_EQ(ota_grubenv_format_state(block, &s), 0);
	ASSERT_TRUE(memcmp(block, "# GRUB Environment Block\nota_seq_begin=42\n", 42) == 0);
	ASSERT_TRUE(memcmp(block + OTA_GRUBENV_SIZE - 16, "\nota_seq_end=42\n", 16) == 0);
	state(&s, 1, "a", "b\nc", "");
	ASSERT_INT_EQ(ota_grubenv_format_state(block, &s), -EINVAL);
	ASSERT_INT_EQ(ota_grubenv_format_tries(block, "7", 3), 0);
	ASSERT_TRUE(memcmp(block, "# GRUB Environment Block\nota_tries_id=7\nota_tries=3\n#", 51) == 0);
	ASSERT_TRUE(block[OTA_GRUBENV_SIZE - 1] == '#'); /* save_env needs padding last */
}

TEST(grubenv_decide_copies)
{
	char old[OTA_GRUBENV_SIZE], new[OTA_GRUBENV_SIZE], tries[OTA_GRUBENV_SIZE];
	struct ota_grub_state s;
	struct ota_grub_decision d;
	state(&s, 5, "a", "", "");
	ASSERT_INT_EQ(ota_grubenv_format_state(old, &s), 0);
	state(&s, 6, "a", "b", "6");
	ASSERT_INT_EQ(ota_grubenv_format_state(new, &s), 0);
	ASSERT_INT_EQ(ota_grubenv_format_tries(tries, "6", 3), 0);

	ASSERT_INT_EQ(decide(new, old, tries, &d), 0);
	ASSERT_INT_EQ(d.copy, 1);
	ASSERT_TRUE(d.boot_trial);
	ASSERT_STR_EQ(d.boot, "b");
	ASSERT_INT_EQ(d.tries, 3);
	/* env1 missing: env2 rules. Both missing: the first group. */
	ASSERT_INT_EQ(decide(NULL, old, tries, &d), 0);
	ASSERT_INT_EQ(d.copy, 2);
	ASSERT_STR_EQ(d.boot, "a");
	ASSERT_INT_EQ(decide(NULL, NULL, tries, &d), 0);
	ASSERT_INT_EQ(d.copy, 0);
	ASSERT_STR_EQ(d.boot, "a");
	ASSERT_TRUE(!d.boot_trial);
	/* A default that is no group makes the copy invalid. */
	state(&s, 7, "c", "", "");
	char bad[OTA_GRUBENV_SIZE];
	ASSERT_INT_EQ(ota_grubenv_format_state(bad, &s), 0);
	ASSERT_INT_EQ(decide(bad, old, tries, &d), 0);
	ASSERT_INT_EQ(d.copy, 2);
}

TEST(grubenv_tries_countdown)
{
	char env[OTA_GRUBENV_SIZE], tries[OTA_GRUBENV_SIZE];
	struct ota_grub_state s;
	struct ota_grub_decision d;
	state(&s, 9, "a", "b", "9");
	ASSERT_INT_EQ(ota_grubenv_format_state(env, &s), 0);
	static const struct {
		const char *id;
		const char *tries;
		unsigned want;
	} cases[] = {
		{ "9", "1", 1 },   { "9", "100", 100 }, { "9", "0", 0 },  { "9", "007", 0 },
		{ "9", "101", 0 }, { "9", "-1", 0 },    { "9", " 3", 0 }, { "8", "3", 0 },
		{ "", "3", 0 },
	};
	for (size_t i = 0; i < OTA_ELEMENTSOF(cases); i++) {
		char text[OTA_GRUBENV_SIZE];
		memset(text, '#', sizeof(text));
		int n = snprintf(text, sizeof(text), "# GRUB Environment Block\nota_tries_id=%s\nota_tries=%s\n",
				 cases[i].id, cases[i].tries);
		text[n] = '#';
		memcpy(tries, text, sizeof(tries));
		ASSERT_INT_EQ(decide(env, env, tries, &d), 0);
		ASSERT_INT_EQ(d.tries, cases[i].want);
		ASSERT_TRUE(d.boot_trial == (cases[i].want > 0));
		ASSERT_STR_EQ(d.boot, cases[i].want ? "b" : "a");
	}
	/* No tries file at all: no trial. */
	ASSERT_INT_EQ(decide(env, env, NULL, &d), 0);
	ASSERT_TRUE(!d.boot_trial);
}

static bool same_state(const struct ota_grub_decision *d, const struct ota_grub_state *s)
{
	return strcmp(d->state.default_group, s->default_group) == 0 && strcmp(d->state.trial, s->trial) == 0 &&
	       strcmp(d->state.trial_id, s->trial_id) == 0;
}

/* The writer's order: env2 holds the old state while env1 is written, then
 * env1 the new one while env2 is. Tear each write at every byte, from the
 * front (prefix new) and from the back (suffix new). */
TEST(grubenv_torn_writes_decide_old_or_new)
{
	char old[OTA_GRUBENV_SIZE], new[OTA_GRUBENV_SIZE], torn[OTA_GRUBENV_SIZE];
	struct ota_grub_state so, sn;
	struct ota_grub_decision d;
	state(&so, 41, "a", "", "");
	state(&sn, 42, "b", "a", "42");
	ASSERT_INT_EQ(ota_grubenv_format_state(old, &so), 0);
	ASSERT_INT_EQ(ota_grubenv_format_state(new, &sn), 0);
	unsigned saw_old = 0, saw_new = 0;
	for (int step = 0; step < 2; step++)
		for (int from_back = 0; from_back < 2; from_back++)
			for (size_t p = 0; p <= OTA_GRUBENV_SIZE; p++) {
				const char *first = from_back ? old : new, *second = from_back ? new : old;
				memcpy(torn, first, p);
				memcpy(torn + p, second + p, OTA_GRUBENV_SIZE - p);
				int r = step == 0 ? decide(torn, old, NULL, &d) : decide(new, torn, NULL, &d);
				ASSERT_INT_EQ(r, 0);
				ASSERT_TRUE(d.copy != 0);
				bool is_old = same_state(&d, &so), is_new = same_state(&d, &sn);
				ASSERT_TRUE(is_old || is_new);
				saw_old += is_old;
				saw_new += is_new;
			}
	ASSERT_TRUE(saw_old > 0 && saw_new > 0);
}

/* ---- the backend on a directory ---------------------------------------------- */

/* The grub directory and the faked /proc/cmdline are in the program's
 * scratch directory. */
static void set_booted(const char *group)
{
	char path[PATH_MAX];
	(void)snprintf(path, sizeof(path), "%s/cmdline", test_tmpdir());
	FILE *f = fopen(path, "w");
	if (f) {
		fprintf(f, "root=PARTLABEL=system-%s ro ota.slot=%s quiet\n", group, group);
		fclose(f);
	}
}

static struct ota_bootflow *grub_flow(void)
{
	char path[PATH_MAX], env[PATH_MAX];
	(void)snprintf(path, sizeof(path), "%s/cmdline", test_tmpdir());
	(void)snprintf(env, sizeof(env), "%s/otaroot", test_tmpdir());
	struct ota_bootflow_config c = {
		.type = "grub", .groups = { "a", "b" }, .directory = env, .cmdline = path,
	};
	return test_bootflow_new(&c);
}

static bool copies_equal_and_sized(void)
{
	char p1[PATH_MAX], p2[PATH_MAX], b1[OTA_GRUBENV_SIZE + 1], b2[OTA_GRUBENV_SIZE + 1];
	(void)snprintf(p1, sizeof(p1), "%s/otaroot/env1", test_tmpdir());
	(void)snprintf(p2, sizeof(p2), "%s/otaroot/env2", test_tmpdir());
	FILE *f1 = fopen(p1, "r"), *f2 = fopen(p2, "r");
	size_t n1 = f1 ? fread(b1, 1, sizeof(b1), f1) : 0, n2 = f2 ? fread(b2, 1, sizeof(b2), f2) : 0;
	if (f1)
		fclose(f1);
	if (f2)
		fclose(f2);
	return n1 == OTA_GRUBENV_SIZE && n2 == OTA_GRUBENV_SIZE && memcmp(b1, b2, n1) == 0;
}

TEST(grub_backend_cycle)
{
	set_booted("a");
	struct ota_bootflow *bf = grub_flow();
	ASSERT_TRUE(bf != NULL);
	struct ota_bootflow_state s;
	struct ota_error err = { 0 };
	/* No files yet: GRUB boots the first group; so do we. */
	ASSERT_INT_EQ(ota_bootflow_get_state(bf, &s, &err), 0);
	ASSERT_STR_EQ(s.default_group, "a");
	ASSERT_INT_EQ(s.trial_state, OTA_TRIAL_NONE);

	ASSERT_INT_EQ(ota_bootflow_arm(bf, "b", 2, &err), 0);
	ASSERT_TRUE(copies_equal_and_sized());
	ASSERT_INT_EQ(ota_bootflow_get_state(bf, &s, &err), 0);
	ASSERT_INT_EQ(s.trial_state, OTA_TRIAL_ARMED);
	ASSERT_INT_EQ(s.tries_left, 2);
	ASSERT_INT_EQ(ota_bootflow_arm(bf, "a", 2, &err), -EINVAL); /* the default */

	/* GRUB's side: boots b and counts a try (as save_env would write). */
	char tries[OTA_GRUBENV_SIZE], path[PATH_MAX];
	(void)snprintf(path, sizeof(path), "%s/otaroot/tries", test_tmpdir());
	set_booted("b");
	ASSERT_INT_EQ(ota_bootflow_get_state(bf, &s, &err), 0);
	ASSERT_INT_EQ(s.trial_state, OTA_TRIAL_RUNNING);
	ASSERT_INT_EQ(ota_bootflow_commit(bf, "b", &err), 0);
	ASSERT_TRUE(copies_equal_and_sized());
	ASSERT_INT_EQ(ota_bootflow_get_state(bf, &s, &err), 0);
	ASSERT_STR_EQ(s.default_group, "b");
	ASSERT_INT_EQ(s.trial_state, OTA_TRIAL_NONE);

	/* A trial that used up its tries: failed, after GRUB fell back. */
	ASSERT_INT_EQ(ota_bootflow_arm(bf, "a", 1, &err), 0);
	FILE *f = fopen(path, "r+");
	ASSERT_TRUE(f != NULL);
	ASSERT_INT_EQ((int)fread(tries, 1, sizeof(tries), f), (int)OTA_GRUBENV_SIZE);
	char *t = strstr(tries, "ota_tries=1\n");
	ASSERT_TRUE(t != NULL);
	t[10] = '0';
	rewind(f);
	ASSERT_INT_EQ((int)fwrite(tries, 1, sizeof(tries), f), (int)OTA_GRUBENV_SIZE);
	fclose(f);
	ASSERT_INT_EQ(ota_bootflow_get_state(bf, &s, &err), 0);
	ASSERT_INT_EQ(s.trial_state, OTA_TRIAL_FAILED);
	ASSERT_INT_EQ(ota_bootflow_mark_bad(bf, "a", &err), 0);
	ASSERT_INT_EQ(ota_bootflow_get_state(bf, &s, &err), 0);
	ASSERT_INT_EQ(s.trial_state, OTA_TRIAL_NONE);
	ASSERT_INT_EQ(ota_bootflow_mark_bad(bf, "b", &err), -EBUSY); /* the running default */

	/* Committed but not yet booted, then marked bad: the running group
	 * becomes the default again (ota-update is about to overwrite it). */
	ASSERT_INT_EQ(ota_bootflow_commit(bf, "a", &err), 0);
	ASSERT_INT_EQ(ota_bootflow_mark_bad(bf, "a", &err), 0);
	ASSERT_INT_EQ(ota_bootflow_get_state(bf, &s, &err), 0);
	ASSERT_STR_EQ(s.default_group, "b");

	/* A torn env1 (as a power cut leaves it): env2 rules, and the next
	 * write repairs both. */
	(void)snprintf(path, sizeof(path), "%s/otaroot/env1", test_tmpdir());
	int fd = open(path, O_WRONLY);
	ASSERT_TRUE(fd >= 0);
	ASSERT_INT_EQ((int)pwrite(fd, "ota_seq_end=9999\n", 17, OTA_GRUBENV_SIZE - 17), 17);
	close(fd);
	ASSERT_INT_EQ(ota_bootflow_get_state(bf, &s, &err), 0);
	ASSERT_STR_EQ(s.default_group, "b");
	ASSERT_INT_EQ(ota_bootflow_arm(bf, "a", 3, &err), 0);
	ASSERT_TRUE(copies_equal_and_sized());
	ASSERT_INT_EQ(ota_bootflow_get_state(bf, &s, &err), 0);
	ASSERT_INT_EQ(s.trial_state, OTA_TRIAL_ARMED);

	/* Not booted by our grub.cfg: a clear error. */
	(void)snprintf(path, sizeof(path), "%s/cmdline", test_tmpdir());
	f = fopen(path, "w");
	fputs("root=/dev/vda2 ro\n", f);
	fclose(f);
	ASSERT_INT_EQ(ota_bootflow_get_state(bf, &s, &err), -ENOENT);
	ASSERT_CONTAINS(err.msg, "no ota.slot=");
	ota_bootflow_free(bf);
}

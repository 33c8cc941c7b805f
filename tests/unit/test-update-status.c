/* SPDX-License-Identifier: Apache-2.0 */
/* update/status.c: the slot status file, its validation and repair; the
 * text of slot states and progress stages, which files, --json output and
 * docs/cli.md depend on byte for byte. */
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <limits.h>

#include "test.h"
#include "update/update.h"

struct fixture {
	char dir[TEST_DIR_MAX], path[PATH_MAX];
	struct ota_sysconf c;
};

static bool setup(struct fixture *f)
{
	if (test_mkdtemp(f->dir, sizeof(f->dir), "status") < 0)
		return false;
	snprintf(f->path, sizeof(f->path), "%s/slots.json", f->dir);
	char conf[PATH_MAX + 512];
	snprintf(conf, sizeof(conf),
		 "[system]\ncompatible = b\nversion = 1\n[update]\nkeyring = /k.pem\nstatus-file = %s\n"
		 "[bootflow]\ntype = custom\nexecutable = /bf\n"
		 "[slot.root-a]\nclass = root\nfile = /ra\n[slot.root-b]\nclass = root\nfile = /rb\n"
		 "[group.a]\nroot = root-a\n[group.b]\nroot = root-b\n",
		 f->path);
	ota_sysconf_init(&f->c);
	return ota_sysconf_parse(&f->c, OTA_SYSCONF_UPDATE, conf, "t.conf", NULL) == 0;
}

static void teardown(struct fixture *f)
{
	glob_t g;
	char pattern[PATH_MAX + 32];
	snprintf(pattern, sizeof(pattern), "%s/*", f->dir);
	if (glob(pattern, 0, NULL, &g) == 0) {
		for (size_t i = 0; i < g.gl_pathc; i++)
			unlink(g.gl_pathv[i]);
		globfree(&g);
	}
	rmdir(f->dir);
	ota_sysconf_done(&f->c);
}

static void put(const char *path, const char *text, size_t len)
{
	FILE *fp = fopen(path, "we");
	if (fp) {
		fwrite(text, 1, len, fp);
		fclose(fp);
	}
}

/* The moved-aside copy: exactly one, with the original bytes. */
static bool kept_aside(const struct fixture *f, const char *text, size_t len)
{
	glob_t g;
	char pattern[PATH_MAX + 32], *data = NULL;
	size_t size = 0;
	snprintf(pattern, sizeof(pattern), "%s.corrupt-*", f->path);
	if (glob(pattern, 0, NULL, &g) != 0)
		return false;
	bool ok = g.gl_pathc == 1 && ota_read_file(g.gl_pathv[0], 1 << 20, &data, &size, NULL) == 0 && size == len &&
		  memcmp(data, text, len) == 0;
	free(data);
	globfree(&g);
	return ok;
}

TEST(status_round_trip)
{
	struct fixture f;
	ASSERT_TRUE(setup(&f));
	struct ota_slot_record rec = { .name = "root-b", .state = OTA_SLOT_INSTALLED, .version = "2 \"quoted\"",
				       .size = 1ull << 40, .installed = 1700000000, .checkpoint_chunks = 0 };
	memset(rec.sha256, 'a', 64);
	struct ota_error err = { 0 }, warn = { 0 };
	ASSERT_INT_EQ(ota_update_status_write(f.path, &rec, 1, &err), 0);
	struct ota_slot_record back;
	ASSERT_INT_EQ(ota_update_status_read(f.path, "root-b", &back, &err), 0);
	ASSERT_INT_EQ(back.state, OTA_SLOT_INSTALLED);
	ASSERT_STR_EQ(back.version, rec.version);
	ASSERT_STR_EQ(back.sha256, rec.sha256);
	ASSERT_INT_EQ(back.size, 1ull << 40);
	ASSERT_INT_EQ(ota_update_status_repair(&f.c.update, &warn, &err), 0); /* a file we wrote is fine */
	teardown(&f);
}

/* Every slot state and progress stage, in enum order, as the status file,
 * `status` and --json progress events spell them. */
static const char *const state_texts[] = { "", "installing", "installed", "good", "unknown" };
static const char *const stage_texts[] = { "warning", "full-download", "verified", "pre-install",
					   "index", "index-loaded", "index-moves", "resume", "write",
					   "installed", "post-install", "armed" };

TEST(slot_states_and_progress_stages_round_trip_through_their_text)
{
	ASSERT_INT_EQ(OTA_SLOT_STATE_MAX, OTA_ELEMENTSOF(state_texts));
	for (int i = 0; i < OTA_SLOT_STATE_MAX; i++) {
		ASSERT_STR_EQ(ota_slot_state_to_string((enum ota_slot_state)i), state_texts[i]);
		ASSERT_INT_EQ(ota_slot_state_from_string(state_texts[i]), i);
	}
	ASSERT_INT_EQ(OTA_STAGE_MAX, OTA_ELEMENTSOF(stage_texts));
	for (int i = 0; i < OTA_STAGE_MAX; i++) {
		ASSERT_STR_EQ(ota_update_stage_to_string((enum ota_update_stage)i), stage_texts[i]);
		ASSERT_INT_EQ(ota_update_stage_from_string(stage_texts[i]), i);
	}
	/* Neither a state nor a stage ("" is a state: no record). */
	const char *const unknown[] = { "Installed", "installed ", "install", "Write", "index_loaded",
					"indexloaded", "none", "done", "invalid", NULL };
	for (size_t i = 0; i < OTA_ELEMENTSOF(unknown); i++) {
		ASSERT_INT_EQ(ota_slot_state_from_string(unknown[i]), OTA_SLOT_STATE_INVALID);
		ASSERT_INT_EQ(ota_update_stage_from_string(unknown[i]), OTA_STAGE_INVALID);
	}
	ASSERT_INT_EQ(ota_update_stage_from_string(""), OTA_STAGE_INVALID);
	ASSERT_STR_EQ(ota_slot_state_to_string(OTA_SLOT_STATE_MAX), "invalid");
	ASSERT_STR_EQ(ota_slot_state_to_string(OTA_SLOT_STATE_INVALID), "invalid");
	ASSERT_STR_EQ(ota_update_stage_to_string(OTA_STAGE_MAX), "invalid");
	ASSERT_STR_EQ(ota_update_stage_to_string(OTA_STAGE_INVALID), "invalid");
}

/* Every state is written as its text and read back as the same state. */
TEST(slot_state_every_value_round_trips_through_the_status_file)
{
	for (int i = 0; i < OTA_SLOT_STATE_MAX; i++) {
		struct fixture f;
		ASSERT_TRUE(setup(&f));
		struct ota_slot_record rec = { .name = "root-a", .state = (enum ota_slot_state)i }, back;
		struct ota_error err = { 0 };
		ASSERT_INT_EQ(ota_update_status_write(f.path, &rec, 1, &err), 0);
		_cleanup_free_ char *text = NULL;
		size_t size = 0;
		char quoted[32];
		snprintf(quoted, sizeof(quoted), "\"state\":\"%s\"", state_texts[i]);
		ASSERT_INT_EQ(ota_read_file(f.path, 1 << 20, &text, &size, NULL), 0);
		ASSERT_CONTAINS(text, quoted);
		ASSERT_INT_EQ(ota_update_status_read(f.path, "root-a", &back, &err), 0);
		ASSERT_INT_EQ(back.state, i);
		teardown(&f);
	}
}

/* Each: what the tool never writes; repaired, kept, every slot unknown. */
static const char *const corrupt[] = {
	"{\"format\":1,\"slots\":{\"root-b\":{\"state\":\"installed\",\"size\":",          /* truncated */
	"{\"format\":1,\"slots\":{\"root-b\":{\"state\":\"installed\",\"installed\":-5}}}",  /* negative */
	"{\"format\":1,\"slots\":{\"root-b\":{\"state\":\"good\",\"sha256\":7}}}",           /* wrong type */
	"{\"format\":1,\"slots\":{\"root-b\":{\"state\":\"verified\"}}}",                   /* no such state */
	"{\"format\":1,\"slots\":{\"root-b\":{\"state\":\"good\",\"color\":\"red\"}}}",     /* unknown field */
	"{\"format\":1,\"slots\":[]}",                                                     /* slots not an object */
	"{\"format\":\"1\",\"slots\":{}}",                                                 /* format a string */
	"{\"slots\":{},\"extra\":true}",                                                   /* unknown field */
	"\"installed\"",                                                                   /* not an object */
	"{} {}",                                                                           /* two objects */
	"   \n",                                                                           /* blank */
};

TEST(status_corrupt_files_are_moved_aside_and_rebuilt_unknown)
{
	for (size_t i = 0; i < OTA_ELEMENTSOF(corrupt); i++) {
		struct fixture f;
		ASSERT_TRUE(setup(&f));
		put(f.path, corrupt[i], strlen(corrupt[i]));
		struct ota_error err = { 0 }, warn = { 0 };
		struct ota_slot_record rec;
		/* Read and write refuse it, naming the file; nothing rewritten. */
		ASSERT_INT_EQ(ota_update_status_read(f.path, "root-b", &rec, &err), -EBADMSG);
		ASSERT_TRUE(strstr(err.msg, f.path) != NULL);
		ASSERT_INT_EQ(ota_update_status_write(f.path, &rec, 0, &err), -EBADMSG);
		int r = ota_update_status_repair(&f.c.update, &warn, &err);
		if (r != 1)
			fprintf(stderr, "  case %zu: %s\n", i, err.msg);
		ASSERT_INT_EQ(r, 1);
		ASSERT_TRUE(strstr(warn.msg, f.path) != NULL && strstr(warn.msg, ".corrupt-") != NULL);
		ASSERT_TRUE(kept_aside(&f, corrupt[i], strlen(corrupt[i])));
		ASSERT_INT_EQ(ota_update_status_read(f.path, "root-a", &rec, &err), 0);
		ASSERT_INT_EQ(rec.state, OTA_SLOT_UNKNOWN);
		ASSERT_INT_EQ(ota_update_status_read(f.path, "root-b", &rec, &err), 0);
		ASSERT_INT_EQ(rec.state, OTA_SLOT_UNKNOWN);
		ASSERT_INT_EQ(ota_update_status_repair(&f.c.update, &warn, &err), 0);
		teardown(&f);
	}
}

TEST(status_a_second_corrupt_file_does_not_replace_the_first_kept_one)
{
	struct fixture f;
	ASSERT_TRUE(setup(&f));
	struct ota_error err = { 0 }, warn = { 0 };
	put(f.path, "first", 5);
	ASSERT_INT_EQ(ota_update_status_repair(&f.c.update, &warn, &err), 1);
	put(f.path, "second", 6);
	ASSERT_INT_EQ(ota_update_status_repair(&f.c.update, &warn, &err), 1);
	glob_t g;
	char pattern[PATH_MAX + 32];
	snprintf(pattern, sizeof(pattern), "%s.corrupt-*", f.path);
	ASSERT_INT_EQ(glob(pattern, 0, NULL, &g), 0);
	ASSERT_INT_EQ(g.gl_pathc, 2);
	globfree(&g);
	teardown(&f);
}

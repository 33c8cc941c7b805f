/* SPDX-License-Identifier: Apache-2.0 */
/* The state configuration and the parts of the state store that need no
 * mounts: path rules, merge rules, seeding, factory reset and its recovery
 * from every intermediate state a power cut can leave. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>

#include "stateman/stateman.h"
#include "test.h"

static void put(const char *dir, const char *rel, const char *text)
{
	int r = test_put(dir, rel, text);
	if (r < 0)
		fprintf(stderr, "  put %s/%s: %s\n", dir, rel, strerror(-r));
}

static bool exists(const char *dir, const char *rel)
{
	char path[PATH_MAX * 2];
	struct stat st;
	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	return lstat(path, &st) == 0;
}

static char *slurp(const char *dir, const char *rel)
{
	static char buf[4096];
	char path[PATH_MAX * 2];
	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	buf[0] = '\0';
	FILE *f = fopen(path, "r");
	if (f) {
		size_t n = fread(buf, 1, sizeof(buf) - 1, f);
		buf[n] = '\0';
		fclose(f);
	}
	return buf;
}

static void rm_rf(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY);
	if (fd >= 0) {
		(void)!ota_remove_contents_at(fd);
		close(fd);
	}
	rmdir(dir);
}

TEST(path_rules)
{
	char buf[PATH_MAX];
	struct ota_error err = { 0 };
	ASSERT_INT_EQ(ota_state_normalize_path("//etc///ssh/", buf, sizeof(buf), NULL), 0);
	ASSERT_STR_EQ(buf, "/etc/ssh");
	ASSERT_INT_EQ(ota_state_normalize_path("/var/..data", buf, sizeof(buf), NULL), 0); /* a name, not '..' */
	ASSERT_INT_EQ(ota_state_normalize_path("etc", buf, sizeof(buf), &err), -EINVAL);
	ASSERT_CONTAINS(err.msg, "is relative");
	ASSERT_INT_EQ(ota_state_normalize_path("/etc/./x", buf, sizeof(buf), &err), -EINVAL);
	ASSERT_CONTAINS(err.msg, "'.' or '..'");
	ASSERT_INT_EQ(ota_state_normalize_path("/", buf, sizeof(buf), &err), -EINVAL);
	ASSERT_INT_EQ(ota_state_normalize_path("/sys", buf, sizeof(buf), &err), -EINVAL);
	ASSERT_CONTAINS(err.msg, "is under /sys");
	ASSERT_INT_EQ(ota_state_normalize_path("/device", buf, sizeof(buf), NULL), 0); /* not /dev */
	ASSERT_INT_EQ(ota_state_normalize_path("/run/ota/data/x", buf, sizeof(buf), &err), -EINVAL);
	ASSERT_CONTAINS(err.msg, "inside the state store");
	ASSERT_INT_EQ(ota_state_normalize_path("/etc/a]b", buf, sizeof(buf), &err), -EINVAL);
	ASSERT_TRUE(ota_path_is_inside("/etc/ssh", "/etc"));
	ASSERT_TRUE(!ota_path_is_inside("/etcetera", "/etc"));
}

TEST(merge_rules_later_files_win)
{
	struct ota_state_config c;
	ota_state_config_init(&c);
	ASSERT_INT_EQ(ota_state_config_merge_text(&c, "[overlay]\nmode = persist\n[persist /etc/a]\nkeep-on-reset = yes\n"
						      "[persist /var/log]\n",
						  "one.conf", NULL), 0);
	ASSERT_INT_EQ(ota_state_config_merge_text(&c, "[overlay]\nmode = in-memory\n[persist /etc/a]\ntype = file\n"
						      "default = x\\ny\n",
						  "two.conf", NULL), 0);
	ASSERT_INT_EQ(c.overlay, OTA_OVERLAY_IN_MEMORY);
	ASSERT_INT_EQ(c.n_entries, 2);
	const struct ota_persist_entry *e = ota_state_config_find(&c, "/etc/a");
	ASSERT_TRUE(e != NULL);
	ASSERT_STR_EQ(e->source, "two.conf");
	ASSERT_TRUE(!e->keep_on_reset); /* replaced whole, not merged key by key */
	ASSERT_INT_EQ(e->type, OTA_PERSIST_FILE);
	ASSERT_STR_EQ(e->default_content, "x\ny");
	ASSERT_TRUE(ota_state_config_find(&c, "/var/log") != NULL); /* bare section */
	ota_state_config_done(&c);
}

TEST(malformed_files_change_nothing)
{
	struct ota_state_config c;
	struct ota_error err = { 0 };
	ota_state_config_init(&c);
	ASSERT_INT_EQ(ota_state_config_merge_text(&c, "[persist /ok]\n[persist /bad]\ntype = weird\n", "f.conf", &err),
		      -EINVAL);
	ASSERT_CONTAINS(err.msg, "f.conf:3: [persist /bad] type: 'weird'");
	ASSERT_INT_EQ(c.n_entries, 0);
	ASSERT_INT_EQ(ota_state_config_merge_text(&c, "[persist relative]\n", "g.conf", &err), -EINVAL);
	ASSERT_CONTAINS(err.msg, "g.conf:1: [persist relative] 'relative' is relative");
	ASSERT_INT_EQ(ota_state_config_merge_text(&c, "[persist /d]\ntype = directory\ndefault = x\n", "h.conf", &err),
		      -EINVAL);
	ASSERT_CONTAINS(err.msg, "a default content needs type = file");
	ASSERT_INT_EQ(ota_state_config_merge_text(&c, "[persist /m]\nmode = 99\n", "i.conf", &err), -EINVAL);
	ASSERT_CONTAINS(err.msg, "not an octal mode");
	ASSERT_INT_EQ(c.n_entries, 0);
	ota_state_config_done(&c);
}

TEST(load_order_vendor_admin_and_nesting)
{
	char root[TEST_DIR_MAX];
	ASSERT_INT_EQ(test_mkdtemp(root, sizeof(root), "state"), 0);
	put(root, "etc/ota/state.conf", "[overlay]\nmode = persist\n");
	put(root, "usr/lib/ota/state.d/10-vendor.conf", "[persist /opt/vendor]\n[persist /etc/ssh]\n");
	put(root, "usr/lib/ota/state.d/20-same.conf", "[persist /vendor-only]\n");
	put(root, "etc/ota/state.d/20-same.conf", "[persist /admin-only]\n");
	put(root, "etc/ota/state.d/30-nested.conf", "[persist /etc/ssh/keys]\n");
	put(root, "etc/ota/state.d/40-broken.conf", "[persist /x\n");
	put(root, "etc/ota/state.d/README", "[persist /not-a-conf-file]\n");
	struct ota_state_config c;
	ota_state_config_init(&c);
	ASSERT_INT_EQ(ota_state_config_load(&c, root, NULL), 0);
	ASSERT_INT_EQ(c.overlay, OTA_OVERLAY_PERSIST);
	ASSERT_TRUE(ota_state_config_find(&c, "/opt/vendor") != NULL);
	ASSERT_TRUE(ota_state_config_find(&c, "/admin-only") != NULL);
	ASSERT_TRUE(ota_state_config_find(&c, "/vendor-only") == NULL); /* same name: admin wins */
	ASSERT_TRUE(ota_state_config_find(&c, "/etc/ssh/keys") == NULL); /* inside /etc/ssh */
	ASSERT_TRUE(ota_state_config_find(&c, "/not-a-conf-file") == NULL);
	ASSERT_INT_EQ(c.n_entries, 3);
	ASSERT_INT_EQ(c.n_errors, 2);
	ASSERT_CONTAINS(c.errors[0], "/etc/ota/state.d/40-broken.conf:1: section header without ']'");
	ASSERT_CONTAINS(c.errors[1], "/etc/ssh/keys (from /etc/ota/state.d/30-nested.conf) is inside persisted /etc/ssh");
	ota_state_config_done(&c);
	rm_rf(root);
}

TEST(seed_copies_once_or_makes_defaults)
{
	char image[TEST_DIR_MAX], data[TEST_DIR_MAX];
	ASSERT_INT_EQ(test_mkdtemp(image, sizeof(image), "image"), 0);
	ASSERT_INT_EQ(test_mkdtemp(data, sizeof(data), "data"), 0);
	put(image, "etc/app/conf", "from image\n");
	struct ota_persist_entry dir = { .path = (char *)"/etc/app", .source = (char *)"t" };
	struct ota_persist_entry file = { .path = (char *)"/etc/new.conf", .type = OTA_PERSIST_FILE,
					  .default_content = (char *)"k=v\n", .has_default = true, .mode = 0600,
					  .source = (char *)"t" };
	put(image, "etc/solo", "a file\n");
	struct ota_persist_entry wrong = { .path = (char *)"/etc/solo", .type = OTA_PERSIST_DIRECTORY,
					   .source = (char *)"t" };
	ASSERT_INT_EQ(ota_state_seed(data, image, &dir, NULL), 0);
	ASSERT_STR_EQ(slurp(data, "ota/state/persist/etc/app/conf"), "from image\n");
	put(image, "etc/app/conf", "image changed\n");
	ASSERT_INT_EQ(ota_state_seed(data, image, &dir, NULL), 0); /* seeded once */
	ASSERT_STR_EQ(slurp(data, "ota/state/persist/etc/app/conf"), "from image\n");

	ASSERT_INT_EQ(ota_state_seed(data, image, &file, NULL), 0);
	ASSERT_STR_EQ(slurp(data, "ota/state/persist/etc/new.conf"), "k=v\n");
	char p[PATH_MAX];
	struct stat st;
	snprintf(p, sizeof(p), "%s/ota/state/persist/etc/new.conf", data);
	ASSERT_INT_EQ(stat(p, &st), 0);
	ASSERT_INT_EQ(st.st_mode & 0777, 0600);

	struct ota_error err = { 0 };
	ASSERT_INT_EQ(ota_state_seed(data, image, &wrong, &err), -EINVAL);
	ASSERT_CONTAINS(err.msg, "is a file in the image but declared as a directory");
	ASSERT_TRUE(!exists(data, "ota/state/persist/etc/solo"));
	/* A failed seed leaves no staging copy behind. */
	snprintf(p, sizeof(p), "%s/ota/state/staging", data);
	ASSERT_INT_EQ(rmdir(p), 0);
	rm_rf(image);
	rm_rf(data);
}

static void make_store(const char *data)
{
	put(data, "ota/state/persist/etc/keep/k", "keep me\n");
	put(data, "ota/state/persist/etc/wipe/w", "wipe me\n");
	put(data, "ota/state/persist/srv/rt/r", "runtime keep\n");
	put(data, "ota/state/persist/srv/rt2/r", "runtime wipe\n");
	put(data, "ota/state/runtime.conf", "[persist /srv/rt]\nkeep-on-reset = yes\n[persist /srv/rt2]\n");
	put(data, "ota/state/machine-id", "0123456789abcdef0123456789abcdef\n");
	put(data, "ota/overlay/discard/upper/etc/x", "upper\n");
}

static void load_for_reset(struct ota_state_config *c, const char *data)
{
	ota_state_config_init(c);
	(void)!ota_state_config_merge_text(c, "[persist /etc/keep]\nkeep-on-reset = yes\n[persist /etc/wipe]\n", "s.conf",
					   NULL);
	(void)!ota_state_config_load_runtime(c, data, NULL);
}

static void expect_reset_result(const char *data, const char *old)
{
	ASSERT_STR_EQ(slurp(data, "ota/state/persist/etc/keep/k"), "keep me\n");
	ASSERT_STR_EQ(slurp(data, "ota/state/persist/srv/rt/r"), "runtime keep\n");
	ASSERT_TRUE(!exists(data, "ota/state/persist/etc/wipe"));
	ASSERT_TRUE(!exists(data, "ota/state/persist/srv/rt2"));
	ASSERT_TRUE(!exists(data, "ota/state/machine-id"));
	ASSERT_TRUE(!exists(data, "ota/overlay"));
	ASSERT_TRUE(!exists(data, "ota/reset-request"));
	ASSERT_CONTAINS(slurp(data, "ota/state/runtime.conf"), "[persist /srv/rt]");
	ASSERT_TRUE(!strstr(slurp(data, "ota/state/runtime.conf"), "/srv/rt2"));
	if (old) {
		char rel[256];
		snprintf(rel, sizeof(rel), "%s/state/persist/etc/wipe/w", old);
		ASSERT_STR_EQ(slurp(data, rel), "wipe me\n");
		snprintf(rel, sizeof(rel), "%s/overlay/discard/upper/etc/x", old);
		ASSERT_STR_EQ(slurp(data, rel), "upper\n");
	}
}

TEST(factory_reset_with_backup)
{
	char data[TEST_DIR_MAX];
	struct ota_state_config c;
	struct ota_error err = { 0 };
	ASSERT_INT_EQ(test_mkdtemp(data, sizeof(data), "data"), 0);
	make_store(data);
	ASSERT_INT_EQ(ota_state_request_reset(data, "../evil", &err), -EINVAL);
	ASSERT_INT_EQ(ota_state_request_reset(data, "b1", NULL), 0);
	load_for_reset(&c, data);
	ASSERT_INT_EQ(ota_state_apply_reset(data, &c, "boot1", NULL), 1);
	ota_state_config_done(&c);
	expect_reset_result(data, "ota/backup/b1");
	load_for_reset(&c, data);
	ASSERT_INT_EQ(ota_state_apply_reset(data, &c, "boot2", NULL), 0); /* nothing requested */
	ota_state_config_done(&c);
	ASSERT_INT_EQ(ota_state_request_reset(data, "b1", &err), -EEXIST);
	rm_rf(data);
}

TEST(factory_reset_converges_after_power_cuts)
{
	/* The states a power cut can leave between the renames of a reset:
	 * 1: survivors partly moved; 2: state moved away; 3: all moved but the
	 * request still there. Each must converge to the same result. */
	for (int cut = 1; cut <= 3; cut++) {
		char data[TEST_DIR_MAX];
		struct ota_state_config c;
		ASSERT_INT_EQ(test_mkdtemp(data, sizeof(data), "data"), 0);
		make_store(data);
		ASSERT_INT_EQ(ota_state_request_reset(data, NULL, NULL), 0);
		char a[PATH_MAX * 2], b[PATH_MAX * 2];
		snprintf(a, sizeof(a), "%s/ota/state/persist/etc/keep", data);
		snprintf(b, sizeof(b), "%s/ota/state.new/persist/etc", data);
		ASSERT_INT_EQ(ota_mkdir_p(b, 0755), 0);
		strcat(b, "/keep");
		ASSERT_INT_EQ(rename(a, b), 0);
		if (cut >= 2) {
			snprintf(a, sizeof(a), "%s/ota/state/persist/srv/rt", data);
			snprintf(b, sizeof(b), "%s/ota/state.new/persist/srv", data);
			ASSERT_INT_EQ(ota_mkdir_p(b, 0755), 0);
			strcat(b, "/rt");
			ASSERT_INT_EQ(rename(a, b), 0);
			put(data, "ota/state.new/runtime.conf", "[persist /srv/rt]\nkeep-on-reset = yes\n");
			snprintf(a, sizeof(a), "%s/ota/state", data);
			snprintf(b, sizeof(b), "%s/ota/trash/reset-earlier", data);
			ASSERT_INT_EQ(ota_mkdir_p(b, 0755), 0);
			strcat(b, "/state");
			ASSERT_INT_EQ(rename(a, b), 0);
		}
		if (cut >= 3) {
			snprintf(a, sizeof(a), "%s/ota/overlay", data);
			snprintf(b, sizeof(b), "%s/ota/trash/reset-earlier/overlay", data);
			ASSERT_INT_EQ(rename(a, b), 0);
		}
		/* The next boot loads the configuration (runtime entries come
		 * from whatever state/ still holds) and resumes. */
		load_for_reset(&c, data);
		int r = ota_state_apply_reset(data, &c, "boot2", NULL);
		ota_state_config_done(&c);
		ASSERT_INT_EQ(r, 1);
		expect_reset_result(data, NULL);
		rm_rf(data);
	}
}

/* ---- issue #15: round trip, resolution, depth -------------------------- */

static unsigned rnd_state = 12345;
static unsigned rnd(void)
{
	rnd_state = rnd_state * 1103515245u + 12345u;
	return (rnd_state >> 8) & 0xffffff;
}

/* A random absolute path of up to max bytes from an alphabet with what INI
 * treats specially (";", "#", "=", "[", blanks at either end of a name),
 * quotes, backslashes and bytes above 0x7f. */
static void random_path(char *buf, size_t max)
{
	static const char alphabet[] = "ab/;#= [\\\"'.\x80\xc3\xa9-_~x$";
	size_t len = 1 + rnd() % (max - 1);
	buf[0] = '/';
	for (size_t i = 1; i < len; i++)
		buf[i] = alphabet[rnd() % (sizeof(alphabet) - 1)];
	buf[len] = '\0';
}

TEST(runtime_file_round_trips_every_accepted_path)
{
	static char path[OTA_PERSIST_PATH_MAX + 64];
	int accepted = 0;
	for (int round = 0; round < 200; round++) {
		struct ota_state_config rt, back;
		ota_state_config_init(&rt);
		ota_state_config_init(&back);
		int n = 1 + (int)(rnd() % 8);
		for (int i = 0; i < n; i++) {
			char norm[PATH_MAX];
			/* Now and then one at the length limit and past it. */
			size_t max = rnd() % 10 == 0 ? OTA_PERSIST_PATH_MAX + 40 : 120;
			random_path(path, max);
			struct ota_error err = { 0 };
			int r = ota_state_normalize_path(path, norm, sizeof(norm), &err);
			if (r < 0) {
				/* Refusals are the documented ones, by name. */
				if (!strstr(err.msg, "'.' or '..'") && !strstr(err.msg, "longer than") &&
				    !strstr(err.msg, "'/' itself"))
					FAIL_AT("unexpected refusal (%d, %zu bytes): %.300s", err.code, strlen(path), err.msg);
				continue;
			}
			struct ota_persist_entry e = { .path = strdup(norm), .source = strdup("runtime"),
						       .type = rnd() % 2 ? OTA_PERSIST_FILE : OTA_PERSIST_DIRECTORY,
						       .keep_on_reset = rnd() % 2 };
			if (ota_state_config_find(&rt, norm)) {
				free(e.path);
				free(e.source);
				continue;
			}
			rt.entries = reallocarray(rt.entries, rt.n_entries + 1, sizeof(e));
			rt.entries[rt.n_entries++] = e;
			accepted++;
		}
		char *text = NULL;
		size_t len = 0;
		struct ota_error err = { 0 };
		ASSERT_INT_EQ(ota_state_runtime_format(&rt, NULL, NULL, false, &text, &len, &err), 0);
		int r = ota_state_runtime_parse(&back, text, "runtime.conf", &err);
		if (r < 0)
			FAIL_AT("%s\n%s", err.msg, text);
		ASSERT_INT_EQ(back.n_entries, rt.n_entries);
		for (size_t i = 0; i < rt.n_entries; i++) {
			const struct ota_persist_entry *b = ota_state_config_find(&back, rt.entries[i].path);
			if (!b)
				FAIL_AT("'%s' did not come back", rt.entries[i].path);
			ASSERT_INT_EQ(b->type, rt.entries[i].type);
			ASSERT_INT_EQ(b->keep_on_reset, rt.entries[i].keep_on_reset);
			ASSERT_STR_EQ(b->source, "runtime");
		}
		free(text);
		ota_state_config_done(&rt);
		ota_state_config_done(&back);
	}
	ASSERT_TRUE(accepted > 300);
}

TEST(runtime_file_refuses_what_it_cannot_carry)
{
	char norm[PATH_MAX], long_path[OTA_PERSIST_PATH_MAX + 2];
	struct ota_error err = { 0 };
	ASSERT_TRUE(ota_state_normalize_path("/srv/a\rb", norm, sizeof(norm), &err) < 0);
	ASSERT_TRUE(strstr(err.msg, "control character 0x0d") != NULL);
	ASSERT_TRUE(ota_state_normalize_path("/srv/\x1b[31m", norm, sizeof(norm), &err) < 0);
	ASSERT_TRUE(strstr(err.msg, "control character 0x1b") != NULL);
	memset(long_path, 'q', sizeof(long_path) - 1);
	long_path[0] = '/';
	long_path[sizeof(long_path) - 1] = '\0';
	ASSERT_TRUE(ota_state_normalize_path(long_path, norm, sizeof(norm), &err) < 0);
	ASSERT_TRUE(strstr(err.msg, "longer than 3840 bytes") != NULL);
	long_path[OTA_PERSIST_PATH_MAX] = '\0';
	ASSERT_INT_EQ(ota_state_normalize_path(long_path, norm, sizeof(norm), &err), 0);

	/* A broken file names its line; the parse adds nothing. */
	struct ota_state_config c;
	ota_state_config_init(&c);
	ASSERT_TRUE(ota_state_runtime_parse(&c, "# x\n\n[persist /ok]\ntype = file\n[persist /b\n", "rt", &err) < 0);
	ASSERT_TRUE(strstr(err.msg, "rt:5: ") == err.msg);
	ota_state_config_done(&c);
	/* What older versions wrote still parses. */
	ASSERT_INT_EQ(ota_state_runtime_parse(&c, "# Written by ota-state\n\n[persist /var/lib/x y]\ntype = directory\n"
						  "keep-on-reset = yes\n", "rt", &err), 0);
	ASSERT_INT_EQ(c.n_entries, 1);
	ASSERT_STR_EQ(c.entries[0].path, "/var/lib/x y");
	ASSERT_TRUE(c.entries[0].keep_on_reset);
	ota_state_config_done(&c);
}

TEST(broken_runtime_file_is_kept_and_refused)
{
	char dir[TEST_DIR_MAX];
	ASSERT_INT_EQ(test_mkdtemp(dir, sizeof(dir), "rt"), 0);
	const char *broken = "[persist /srv/a]\ntype = directory\nthis line is not INI\n";
	put(dir, "ota/state/runtime.conf", broken);
	struct ota_state_config c;
	struct ota_error err = { 0 };
	ota_state_config_init(&c);
	ASSERT_INT_EQ(ota_state_config_load_runtime(&c, dir, &err), -EINVAL);
	ASSERT_TRUE(strstr(err.msg, "runtime.conf:3: ") != NULL);
	ASSERT_INT_EQ(c.n_errors, 1);
	/* A mutating call fails before it copies or writes anything. */
	ASSERT_TRUE(ota_state_persist(dir, &c, "/etc", false, &err) < 0);
	ASSERT_TRUE(strstr(err.msg, "runtime.conf:3: ") != NULL);
	ASSERT_STR_EQ(slurp(dir, "ota/state/runtime.conf"), broken);
	ASSERT_TRUE(!exists(dir, "ota/state/persist/etc"));
	ota_state_config_done(&c);
	rm_rf(dir);
}

static void symlink_at(const char *dir, const char *rel, const char *target)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	if (symlink(target, path) < 0)
		perror(path);
}

TEST(paths_resolve_inside_the_root)
{
	char root[TEST_DIR_MAX], out[PATH_MAX];
	struct ota_error err = { 0 };
	ASSERT_INT_EQ(test_mkdtemp(root, sizeof(root), "root"), 0);
	put(root, "etc/app/conf", "x");
	put(root, "srv/data/keep", "x");
	symlink_at(root, "etc/proc-link", "/proc");
	symlink_at(root, "etc/dev-rel", "../../../../dev");
	symlink_at(root, "etc/escape", "../../../../../srv");
	symlink_at(root, "etc/mid", "/srv/data");
	symlink_at(root, "etc/loop-a", "loop-b");
	symlink_at(root, "etc/loop-b", "loop-a");
	symlink_at(root, "etc/store", "/run/ota/data/ota");

	/* Absolute and relative targets and ".." never leave the root. */
	ASSERT_INT_EQ(ota_path_resolve_in_root(root, "/etc/escape/data", out, sizeof(out), &err), 0);
	ASSERT_STR_EQ(out, "/srv/data");
	ASSERT_INT_EQ(ota_path_resolve_in_root(root, "/etc/mid/keep", out, sizeof(out), &err), 0);
	ASSERT_STR_EQ(out, "/srv/data/keep");
	ASSERT_INT_EQ(ota_path_resolve_in_root(root, "/etc/mid/new/deeper", out, sizeof(out), &err), 0);
	ASSERT_STR_EQ(out, "/srv/data/new/deeper");
	ASSERT_INT_EQ(ota_path_resolve_in_root(root, "/etc/app/conf/x", out, sizeof(out), &err), -ENOTDIR);

	/* Each refused area, reached through a symlink, is refused by name. */
	ASSERT_TRUE(ota_state_resolve_path(root, "/etc/proc-link/sys", out, sizeof(out), &err) < 0);
	ASSERT_TRUE(strstr(err.msg, "is under /proc") != NULL);
	ASSERT_TRUE(ota_state_resolve_path(root, "/etc/dev-rel/shm", out, sizeof(out), &err) < 0);
	ASSERT_TRUE(strstr(err.msg, "is under /dev") != NULL);
	ASSERT_TRUE(ota_state_resolve_path(root, "/etc/store/state", out, sizeof(out), &err) < 0);
	ASSERT_TRUE(strstr(err.msg, "inside the state store") != NULL);
	ASSERT_TRUE(ota_state_resolve_path(root, "/etc/loop-a/x", out, sizeof(out), &err) < 0);
	ASSERT_INT_EQ(err.code, -ELOOP);
	ASSERT_TRUE(strstr(err.msg, "symlinks") != NULL);
	ASSERT_INT_EQ(ota_state_resolve_path(root, "/etc/mid", out, sizeof(out), &err), 0);
	ASSERT_STR_EQ(out, "/srv/data");
	rm_rf(root);
}

/* Builds depth nested directories "d" below dir, by fd (the whole path
 * would pass PATH_MAX). */
static void make_deep(const char *dir, int depth)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY);
	for (int i = 0; fd >= 0 && i < depth; i++) {
		if (mkdirat(fd, "d", 0755) < 0)
			break;
		int sub = openat(fd, "d", O_RDONLY | O_DIRECTORY);
		if (i % 7 == 0)
			(void)close(openat(fd, "f", O_WRONLY | O_CREAT, 0644));
		close(fd);
		fd = sub;
	}
	if (fd >= 0)
		close(fd);
}

TEST(deep_trees_copy_or_fail_cleanly_and_are_removed)
{
	char dir[TEST_DIR_MAX], src[PATH_MAX], dst[PATH_MAX];
	struct ota_error err = { 0 };
	ASSERT_INT_EQ(test_mkdtemp(dir, sizeof(dir), "deep"), 0);
	snprintf(src, sizeof(src), "%s/src", dir);
	snprintf(dst, sizeof(dst), "%s/dst", dir);
	mkdir(src, 0755);
	/* Deeper than the recursive copy's stack took (about 12 KiB a level),
	 * within PATH_MAX. */
	make_deep(src, 1000);
	ASSERT_INT_EQ(ota_copy_tree(src, dst, &err), 0);
	char probe[PATH_MAX] = "";
	size_t used = (size_t)snprintf(probe, sizeof(probe), "%s", dst);
	for (int i = 0; i < 1000; i++)
		used += (size_t)snprintf(probe + used, sizeof(probe) - used, "/d");
	struct stat st;
	ASSERT_INT_EQ(lstat(probe, &st), 0);

	/* Past PATH_MAX: a clear error naming the depth. */
	char deeper[PATH_MAX];
	snprintf(deeper, sizeof(deeper), "%s/deeper", dir);
	mkdir(deeper, 0755);
	make_deep(deeper, 2100);
	snprintf(dst, sizeof(dst), "%s/dst2", dir);
	ASSERT_INT_EQ(ota_copy_tree(deeper, dst, &err), -ENAMETOOLONG);
	ASSERT_TRUE(strstr(err.msg, "too deep to copy") != NULL);

	/* Removal of any depth, with one directory open at a time. */
	int fd = open(dir, O_RDONLY | O_DIRECTORY);
	ASSERT_INT_EQ(ota_remove_contents_at(fd), 0);
	close(fd);
	ASSERT_INT_EQ(rmdir(dir), 0);
}

/* A declared path longer than inih's 49-byte section names is kept whole. */
TEST(long_declared_paths_keep_their_keys)
{
	struct ota_state_config c;
	struct ota_error err = { 0 };
	ota_state_config_init(&c);
	ASSERT_INT_EQ(ota_state_config_merge_text(&c, "[persist /opt/vendor-application/configuration-store/keys]\n"
						      "keep-on-reset = yes\n# comment\ntype = directory\n",
						  "x.conf", &err), 0);
	ASSERT_INT_EQ(c.n_entries, 1);
	ASSERT_STR_EQ(c.entries[0].path, "/opt/vendor-application/configuration-store/keys");
	ASSERT_TRUE(c.entries[0].keep_on_reset);
	ASSERT_INT_EQ(c.entries[0].type, OTA_PERSIST_DIRECTORY);
	ota_state_config_done(&c);
}

/* Issue 15, class 9: state files in the one INI dialect (docs/configuration.md,
 * "Configuration file syntax"). Instances other than the issue's. */
TEST(state_dialect)
{
	struct ota_state_config c;
	struct ota_error err = { 0 };
	ota_state_config_init(&c);
	/* A BOM before a section without keys. */
	ASSERT_INT_EQ(ota_state_config_merge_text(&c, "\xEF\xBB\xBF[persist /var/lib/app]\n", "bom.conf", &err), 0);
	ASSERT_TRUE(ota_state_config_find(&c, "/var/lib/app") != NULL);
	/* A path longer than 49 characters, with keys: persisted whole. */
	const char *long_path = "/var/lib/an-application-with-a-long-name/and/a/deep/state/dir";
	char text[256];
	snprintf(text, sizeof(text), "[persist %s]\ntype = directory\nmode = 0750\n", long_path);
	ASSERT_INT_EQ(ota_state_config_merge_text(&c, text, "long.conf", &err), 0);
	const struct ota_persist_entry *e = ota_state_config_find(&c, long_path);
	ASSERT_TRUE(e != NULL);
	ASSERT_INT_EQ(e->mode, 0750);
	ASSERT_INT_EQ(c.n_entries, 2);
	/* An indented section is neither a value nor a section. */
	ASSERT_INT_EQ(ota_state_config_merge_text(&c, "[persist /etc/app]\ndefault = hello\n  [persist /root/.ssh]\n",
						  "indent.conf", &err),
		      -EINVAL);
	ASSERT_CONTAINS(err.msg, "indent.conf:3: indented line: continuation lines are not supported");
	ASSERT_INT_EQ(ota_state_config_merge_text(&c, "[persist /srv/x]\nkeep-on-reset = yes\nkeep-on-reset = no\n",
						  "twice.conf", &err),
		      -EINVAL);
	ASSERT_CONTAINS(err.msg, "twice.conf:3: key 'keep-on-reset' given again in [persist /srv/x] (first on line 2)");
	ASSERT_INT_EQ(ota_state_config_merge_text(&c, "[persist /srv/y]\nmode = 0x1ff\n", "hex.conf", &err), -EINVAL);
	ASSERT_CONTAINS(err.msg, "not an octal mode");
	ASSERT_INT_EQ(c.n_entries, 2);
	ASSERT_TRUE(ota_state_config_find(&c, "/root/.ssh") == NULL);
	ota_state_config_done(&c);
}

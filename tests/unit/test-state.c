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
	char path[PATH_MAX * 2];
	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	char parent[PATH_MAX * 2];
	snprintf(parent, sizeof(parent), "%s", path);
	*strrchr(parent, '/') = '\0';
	if (ota_mkdir_p(parent, 0755) == 0) {
		FILE *f = fopen(path, "w");
		if (f) {
			fputs(text, f);
			fclose(f);
		}
	}
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
	char root[] = "/tmp/ota-test-state-XXXXXX";
	ASSERT_TRUE(mkdtemp(root) != NULL);
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
	ASSERT_CONTAINS(c.errors[0], "/etc/ota/state.d/40-broken.conf:1: syntax error");
	ASSERT_CONTAINS(c.errors[1], "/etc/ssh/keys (from /etc/ota/state.d/30-nested.conf) is inside persisted /etc/ssh");
	ota_state_config_done(&c);
	rm_rf(root);
}

TEST(seed_copies_once_or_makes_defaults)
{
	char image[] = "/tmp/ota-test-image-XXXXXX", data[] = "/tmp/ota-test-data-XXXXXX";
	ASSERT_TRUE(mkdtemp(image) && mkdtemp(data));
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
	char data[] = "/tmp/ota-test-data-XXXXXX";
	struct ota_state_config c;
	struct ota_error err = { 0 };
	ASSERT_TRUE(mkdtemp(data) != NULL);
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
		char data[] = "/tmp/ota-test-data-XXXXXX";
		struct ota_state_config c;
		ASSERT_TRUE(mkdtemp(data) != NULL);
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

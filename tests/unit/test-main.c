/* SPDX-License-Identifier: Apache-2.0 */
/* Runner for the TEST() cases linked into one test program. An optional
 * argument runs only the cases whose name contains it. Owns the program's
 * scratch directory (test.h). */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sysutil/sysutil.h"
#include "test.h"

struct test_case test_cases[TEST_MAX];
int test_count;
int test_failed_now;
int test_skipped_now;

static char scratch[TEST_DIR_MAX / 2];
/* Forked children that exit() must not remove their parent's directory. */
static pid_t scratch_owner;

/* Whether text sets key in section (names ending in '.' are prefixes). */
bool test_ini_sets(const char *text, const char *section, const char *key)
{
	char current[128] = "";
	for (const char *line = text; *line;) {
		size_t len = strcspn(line, "\n");
		if (line[0] == '[' && len < sizeof(current)) {
			(void)snprintf(current, sizeof(current), "%.*s", (int)(len - 2), line + 1);
		} else {
			size_t sl = strlen(section), kl = strlen(key);
			bool in_section = section[sl - 1] == '.' ? strncmp(current, section, sl) == 0 && current[sl]
								 : strcmp(current, section) == 0;
			bool is_key = !kl || (key[kl - 1] == '.' ? strncmp(line, key, kl) == 0
								 : strncmp(line, key, kl) == 0 && line[kl] == ' ');
			if (in_section && is_key)
				return true;
		}
		line += len + (line[len] == '\n');
	}
	return false;
}

long test_schema_keys_set(const char *(*key_name)(size_t i, char *buf, size_t size), const char *const *texts)
{
	char name[160];
	long n = 0;
	bool all = true;
	for (size_t i = 0; key_name(i, name, sizeof(name)); i++, n++) {
		/* "[section<name>] key<group>" into section and key */
		char section[64] = "", key[64] = "";
		bool set = sscanf(name, "[%63[^]<]", section) == 1;
		const char *k = strstr(name, "] ");
		if (k)
			(void)snprintf(key, sizeof(key), "%.*s", (int)strcspn(k + 2, "<"), k + 2);
		bool in_a_text = false;
		for (size_t t = 0; set && texts[t] && !in_a_text; t++)
			in_a_text = test_ini_sets(texts[t], section, key);
		if (!in_a_text) {
			fprintf(stderr, "  not in the test's text: %s\n", name);
			all = false;
		}
	}
	return all ? n : -1;
}

int test_put(const char *dir, const char *rel, const char *text)
{
	char path[PATH_MAX];
	if (ota_format(path, sizeof(path), "%s/%s", dir, rel) < 0)
		return -ENAMETOOLONG;
	*strrchr(path, '/') = '\0';
	int r = ota_mkdir_p(path, 0755);
	path[strlen(path)] = '/';
	return r < 0 ? r : ota_write_file_atomic(path, text, strlen(text), 0644, NULL);
}

const char *test_tmpdir(void)
{
	return scratch;
}

int test_mkdtemp(char *buf, size_t size, const char *name)
{
	int r = ota_format(buf, size, "%s/%s-XXXXXX", scratch, name);
	if (r < 0)
		return r;
	return mkdtemp(buf) ? 0 : -errno;
}

static int make_scratch(const char *program)
{
	const char *base = strrchr(program, '/'), *parent = getenv("TMPDIR");
	if (ota_format(scratch, sizeof(scratch), "%s/ota-unit-%s-XXXXXX", parent && parent[0] == '/' ? parent : "/tmp",
		       base ? base + 1 : program) < 0)
		return -ENAMETOOLONG;
	if (!mkdtemp(scratch))
		return -errno;
	scratch_owner = getpid();
	/* Whatever the cases spawn (scripts, mktemp) writes here too. */
	if (setenv("TMPDIR", scratch, 1) < 0) {
		int r = -errno;
		(void)rmdir(scratch);
		return r;
	}
	return 0;
}

/* A failed ASSERT returns before the case's own cleanup, so the case may
 * have left a mount or a directory it took permissions from. */
static void detach_mounts(void)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char line[8192], point[4096];
	size_t len = strlen(scratch);
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "%*s %*s %*s %*s %4095s", point) == 1 && strncmp(point, scratch, len) == 0 &&
		    point[len] == '/' && umount2(point, MNT_DETACH) == 0)
			fprintf(stderr, "detached %s, left mounted by the tests\n", point);
	if (f)
		(void)fclose(f);
}

static bool opened_one;

static int give_owner_rwx(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)ftw;
	if ((type == FTW_D || type == FTW_DNR) && (st->st_mode & S_IRWXU) != S_IRWXU &&
	    chmod(path, (st->st_mode & 07777) | S_IRWXU) == 0)
		opened_one |= type == FTW_DNR;
	return 0;
}

/* nftw does not enter a directory it cannot read: one pass per level. */
static void give_back_permissions(void)
{
	do {
		opened_one = false;
		(void)nftw(scratch, give_owner_rwx, 16, FTW_PHYS | FTW_MOUNT);
	} while (opened_one);
}

/* Removal never follows symlinks nor crosses into a mount that could not
 * be detached (it fails on it instead). */
static int remove_scratch(void)
{
	if (!scratch[0] || getpid() != scratch_owner)
		return 0;
	detach_mounts();
	give_back_permissions();
	int fd = open(scratch, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	int r = fd < 0 ? -errno : ota_remove_contents_at(fd);
	if (fd >= 0)
		(void)close(fd);
	if (r == 0 && rmdir(scratch) < 0)
		r = -errno;
	if (r < 0)
		fprintf(stderr, "scratch directory %s not removed: %s\n", scratch, strerror(-r));
	scratch[0] = '\0';
	return r;
}

static void remove_scratch_at_exit(void)
{
	(void)remove_scratch();
}

int main(int argc, char **argv)
{
	int passed = 0, failed = 0, skipped = 0;
	if (test_count > TEST_MAX) {
		fprintf(stderr, "%s: %d cases registered, room for %d: raise TEST_MAX in tests/unit/test.h\n", argv[0],
			test_count, TEST_MAX);
		return 1;
	}
	int r = make_scratch(argv[0]);
	if (r < 0) {
		fprintf(stderr, "cannot make a scratch directory '%s': %s\n", scratch, strerror(-r));
		return 1;
	}
	atexit(remove_scratch_at_exit);
	for (int i = 0; i < test_count; i++) {
		if (argc > 1 && !strstr(test_cases[i].name, argv[1]))
			continue;
		test_failed_now = 0;
		test_skipped_now = 0;
		test_cases[i].fn();
		printf("%s %s\n", test_failed_now ? "FAIL" : test_skipped_now ? "skip" : "ok  ", test_cases[i].name);
		if (test_failed_now)
			failed++;
		else if (test_skipped_now)
			skipped++;
		else
			passed++;
	}
	printf("%d passed, %d failed, %d skipped\n", passed, failed, skipped);
	if (remove_scratch() < 0)
		return 1;
	if (failed)
		return 1;
	return skipped ? TEST_SKIP_STATUS : (passed ? 0 : 1);
}

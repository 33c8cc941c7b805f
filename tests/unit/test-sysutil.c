/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <malloc.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include "stateman/stateman.h"
#include "sysutil/sysutil.h"
#include "test.h"

TEST(parse_u64)
{
	uint64_t v = 7;
	ASSERT_INT_EQ(ota_parse_u64("0", &v), 0);
	ASSERT_INT_EQ(v, 0);
	ASSERT_INT_EQ(ota_parse_u64("18446744073709551615", &v), 0);
	ASSERT_TRUE(v == UINT64_MAX);
	ASSERT_INT_EQ(ota_parse_u64("18446744073709551616", &v), -ERANGE);
	ASSERT_INT_EQ(ota_parse_u64("-1", &v), -EINVAL);
	ASSERT_INT_EQ(ota_parse_u64("12a", &v), -EINVAL);
	ASSERT_INT_EQ(ota_parse_u64("", &v), -EINVAL);
	ASSERT_INT_EQ(ota_parse_u64(" 1", &v), -EINVAL);
	ASSERT_INT_EQ(ota_parse_u64("+1", &v), -EINVAL);
}

/* An option's number: ota_parse_u64 within a range, bounds included. */
TEST(parse_unsigned_in_range)
{
	unsigned v = 7;
	ASSERT_INT_EQ(ota_parse_unsigned("1", 1, 100, &v), 0);
	ASSERT_INT_EQ(v, 1);
	ASSERT_INT_EQ(ota_parse_unsigned("100", 1, 100, &v), 0);
	ASSERT_INT_EQ(v, 100);
	ASSERT_INT_EQ(ota_parse_unsigned("0", 1, 100, &v), -ERANGE);
	ASSERT_INT_EQ(ota_parse_unsigned("101", 1, 100, &v), -ERANGE);
	ASSERT_INT_EQ(ota_parse_unsigned("4294967296", 0, 4294967295u, &v), -ERANGE);
	ASSERT_INT_EQ(ota_parse_unsigned("-1", 0, 100, &v), -EINVAL);
	ASSERT_INT_EQ(v, 100);
}

/* Decimal unless said otherwise: a leading zero is not octal, 0x only where
 * a key takes hex, octal only for modes (issue 15, class 9). */
TEST(parse_numbers_have_one_base)
{
	uint64_t v = 7;
	ASSERT_INT_EQ(ota_parse_u64("0017", &v), 0);
	ASSERT_INT_EQ(v, 17);
	ASSERT_INT_EQ(ota_parse_u64("09", &v), 0);
	ASSERT_INT_EQ(v, 9);
	ASSERT_INT_EQ(ota_parse_u64("0x1f", &v), -EINVAL);
	ASSERT_INT_EQ(ota_parse_u64_or_hex("0x1f", &v), 0);
	ASSERT_INT_EQ(v, 31);
	ASSERT_INT_EQ(ota_parse_u64_or_hex("0X3F8000", &v), 0);
	ASSERT_INT_EQ(v, 0x3f8000);
	ASSERT_INT_EQ(ota_parse_u64_or_hex("0021", &v), 0);
	ASSERT_INT_EQ(v, 21);
	ASSERT_INT_EQ(ota_parse_u64_or_hex("0x", &v), -EINVAL);
	ASSERT_INT_EQ(ota_parse_u64_or_hex("0x-1", &v), -EINVAL);
	ASSERT_INT_EQ(ota_parse_u64_or_hex("1f", &v), -EINVAL);
	ASSERT_INT_EQ(ota_parse_octal("0640", &v), 0);
	ASSERT_INT_EQ(v, 0640);
	ASSERT_INT_EQ(ota_parse_octal("751", &v), 0);
	ASSERT_INT_EQ(v, 0751);
	ASSERT_INT_EQ(ota_parse_octal("0698", &v), -EINVAL);
	ASSERT_INT_EQ(ota_parse_octal("0x1ff", &v), -EINVAL);
}

/* ---- the INI dialect ------------------------------------------------------ */

struct ini_record {
	char out[16384];
	int fail_line; /* the handler refuses this line */
};

static int record_key(void *user, const char *section, const char *key, const char *value, int line)
{
	struct ini_record *r = user;
	size_t n = strlen(r->out);
	snprintf(r->out + n, sizeof(r->out) - n, "%d [%s] %s=%s\n", line, section, key, value);
	return line == r->fail_line;
}

static int record_section(void *user, const char *section, int line)
{
	struct ini_record *r = user;
	size_t n = strlen(r->out);
	snprintf(r->out + n, sizeof(r->out) - n, "%d [%s]\n", line, section);
	return 0;
}

/* Returns the line the parser stops at; rec->out has what reached the
 * handlers, err the dialect's reason. */
static int parse(const char *text, struct ini_record *rec, struct ota_error *err)
{
	rec->out[0] = '\0';
	ota_error_clear(err);
	return ota_ini_parse_text(text, record_key, record_section, rec, err);
}

TEST(ini_dialect_accepts)
{
	struct ini_record rec = { .fail_line = -1 };
	struct ota_error err = { 0 };
	ASSERT_INT_EQ(parse("\xEF\xBB\xBF[data]\r\n"
			    "# comment\n"
			    "  ; indented comment\n"
			    "\n"
			    "options = noatime ; a comment\n"
			    "url=http://x/a;b#c\n"
			    "empty =\n"
			    "[persist /a b ;c]   ; after the header\n"
			    "[data]\n"
			    "device = auto\n",
			    &rec, &err),
		      0);
	ASSERT_STR_EQ(rec.out, "1 [data]\n5 [data] options=noatime\n6 [data] url=http://x/a;b#c\n7 [data] empty=\n"
			       "8 [persist /a b ;c]\n9 [data]\n10 [data] device=auto\n");
}

static void expect_refused(const char *text, int line, const char *reason)
{
	struct ini_record rec = { .fail_line = -1 };
	struct ota_error err = { 0 };
	ASSERT_INT_EQ(parse(text, &rec, &err), line);
	ASSERT_INT_EQ(err.code, -EINVAL);
	ASSERT_CONTAINS(err.msg, reason);
}

TEST(ini_dialect_refuses)
{
	expect_refused("[update]\ntimeout = 5\nchannel = /c\ntimeout = 7\n", 4,
		       "key 'timeout' given again in [update] (first on line 2)");
	expect_refused("[slot.x]\nclass = a\n[slot.y]\nclass = b\n[slot.x]\nclass = c\n", 6,
		       "key 'class' given again in [slot.x] (first on line 2)");
	expect_refused("[init]\ntrial-watchdog = 5\n  path = /x\n", 3,
		       "indented line: continuation lines are not supported");
	expect_refused("[a]\nk = v\n\t[persist /root/.ssh]\n", 3, "indented line");
	expect_refused("[a]\nk: v\n", 2, "'k: v' is neither [section] nor key = value");
	expect_refused("[a] k = v\n", 1, "text after the section header's ']'");
	expect_refused("[a\n", 1, "section header without ']'");
	expect_refused("[]\n", 1, "empty section name");
	expect_refused("[a]\n= v\n", 2, "no key before '='");
}

TEST(ini_dialect_long_lines)
{
	struct ini_record rec = { .fail_line = -1 };
	struct ota_error err = { 0 };
	static char text[3 * OTA_INI_MAX_LINE];
	/* 300 and 5000 bytes: held whole (inih split them at 200). */
	int n = snprintf(text, sizeof(text), "[data]\noptions = %0290d\n", 7);
	ASSERT_INT_EQ(parse(text, &rec, &err), 0);
	ASSERT_INT_EQ(strlen(rec.out), strlen("1 [data]\n2 [data] options=\n") + 290);
	snprintf(text + n, sizeof(text) - (size_t)n, "[persist /%04990d]\ntype = file\n", 1);
	ASSERT_INT_EQ(parse(text, &rec, &err), 0);
	ASSERT_CONTAINS(rec.out, "4 [persist /0000");
	ASSERT_TRUE(strstr(rec.out, "01] type=file\n") != NULL);
	/* One byte over the limit: refused by line, nothing after it read. */
	snprintf(text, sizeof(text), "[data]\nfstype = ext4\noptions = %0*d\ndevice = auto\n",
		 OTA_INI_MAX_LINE - 9, 1);
	ASSERT_INT_EQ(parse(text, &rec, &err), 3);
	ASSERT_CONTAINS(err.msg, "line longer than 8192 bytes");
	ASSERT_STR_EQ(rec.out, "1 [data]\n2 [data] fstype=ext4\n");
	snprintf(text, sizeof(text), "[data]\noptions = %0*d\n", OTA_INI_MAX_LINE - 10, 1);
	ASSERT_INT_EQ(parse(text, &rec, &err), 0);
}

/* The first error stops the parse, whoever finds it; the dialect's reason
 * is kept only when it is first. */
TEST(ini_first_error_wins)
{
	struct ini_record rec = { .fail_line = 2 };
	struct ota_error err = { 0 };
	ASSERT_INT_EQ(parse("[a]\nk = 1\nk = 2\n", &rec, &err), 2);
	ASSERT_INT_EQ(err.code, 0);
	rec.fail_line = 4;
	ASSERT_INT_EQ(parse("[a]\nk = 1\n  x\nj = 2\n", &rec, &err), 3);
	ASSERT_CONTAINS(err.msg, "indented line");
	ASSERT_STR_EQ(rec.out, "1 [a]\n2 [a] k=1\n");
}

TEST(parse_bool)
{
	bool b = false;
	ASSERT_INT_EQ(ota_parse_bool("YES", &b), 0);
	ASSERT_TRUE(b);
	ASSERT_INT_EQ(ota_parse_bool("off", &b), 0);
	ASSERT_TRUE(!b);
	ASSERT_INT_EQ(ota_parse_bool("2", &b), -EINVAL);
}

TEST(format_reports_truncation)
{
	char buf[8];
	ASSERT_INT_EQ(ota_format(buf, sizeof(buf), "%s", "1234567"), 0);
	ASSERT_INT_EQ(ota_format(buf, sizeof(buf), "%s", "12345678"), -ENAMETOOLONG);
}

TEST(error_set_and_prefix)
{
	struct ota_error err = { 0 };
	ASSERT_INT_EQ(ota_error_errno(&err, -ENOENT, "open '%s'", "/x"), -ENOENT);
	ASSERT_STR_EQ(err.msg, "open '/x': No such file or directory");
	ota_error_prefix(&err, "slot %s: ", "a");
	ASSERT_STR_EQ(err.msg, "slot a: open '/x': No such file or directory");
	ASSERT_INT_EQ(err.code, -ENOENT);
	ASSERT_INT_EQ(ota_error_set(NULL, -EIO, "ignored"), -EIO);
}

/* Every reason has one name that reads back as itself; the names are the
 * stable "reason" of --json, so a few are pinned here by their text. */
TEST(error_reason_names_round_trip)
{
	for (int i = 0; i < _OTA_REASON_MAX; i++) {
		const char *name = ota_error_reason_to_string((enum ota_error_reason)i);
		ASSERT_TRUE(name != NULL && name[0] != '\0');
		ASSERT_INT_EQ(ota_error_reason_from_string(name), i);
		for (int j = 0; j < i; j++)
			ASSERT_TRUE(strcmp(name, ota_error_reason_to_string((enum ota_error_reason)j)) != 0);
	}
	ASSERT_STR_EQ(ota_error_reason_to_string(OTA_REASON_FAILED), "failed");
	ASSERT_STR_EQ(ota_error_reason_to_string(OTA_REASON_SIGNER_UNTRUSTED), "signer-untrusted");
	ASSERT_STR_EQ(ota_error_reason_to_string(OTA_REASON_TLS), "tls");
	ASSERT_STR_EQ(ota_error_reason_to_string(OTA_REASON_NOTHING_TO_DO), "nothing-to-do");
	ASSERT_STR_EQ(ota_error_reason_to_string(_OTA_REASON_MAX), "failed");
	ASSERT_STR_EQ(ota_error_reason_to_string(OTA_REASON_INVALID), "failed");
	ASSERT_INT_EQ(ota_error_reason_from_string("Signer-Untrusted"), OTA_REASON_INVALID);
	ASSERT_INT_EQ(ota_error_reason_from_string("tls "), OTA_REASON_INVALID);
	ASSERT_INT_EQ(ota_error_reason_from_string(NULL), OTA_REASON_INVALID);
}

/* A new error starts without a reason; classify fills in only a missing
 * one; prefixing keeps it; the reason picks the exit status. */
TEST(error_reason_set_classify_and_exit_status)
{
	struct ota_error err = { 0 };
	ASSERT_INT_EQ(ota_error_set_because(&err, OTA_REASON_SIGNER_UNTRUSTED, -EKEYREJECTED, "signer '%s'", "x"),
		      -EKEYREJECTED);
	ASSERT_STR_EQ(err.msg, "signer 'x'");
	ota_error_classify(&err, OTA_REASON_BOOTFLOW);
	ota_error_prefix(&err, "bundle: ");
	ASSERT_INT_EQ(err.reason, OTA_REASON_SIGNER_UNTRUSTED);
	ASSERT_INT_EQ(ota_error_exit_status(&err), OTA_EXIT_NOT_AUTHENTIC);
	ASSERT_INT_EQ(ota_error_errno(&err, -EIO, "write"), -EIO);
	ASSERT_INT_EQ(err.reason, OTA_REASON_FAILED);
	ASSERT_INT_EQ(ota_error_exit_status(&err), OTA_EXIT_FAILURE);
	ota_error_classify(&err, OTA_REASON_LOCKED);
	ASSERT_INT_EQ(ota_error_exit_status(&err), OTA_EXIT_LOCKED);
	ASSERT_INT_EQ(ota_error_set_because(&err, OTA_REASON_TLS, -ECONNABORTED, "tls"), -ECONNABORTED);
	ASSERT_INT_EQ(ota_error_exit_status(&err), OTA_EXIT_DOWNLOAD);
	ASSERT_INT_EQ(ota_error_set_because(&err, OTA_REASON_INCOMPATIBLE, -EMEDIUMTYPE, "c"), -EMEDIUMTYPE);
	ASSERT_INT_EQ(ota_error_exit_status(&err), OTA_EXIT_NOT_APPLICABLE);
	ota_error_clear(&err);
	ASSERT_INT_EQ(err.reason, OTA_REASON_FAILED);
	ASSERT_INT_EQ(ota_error_exit_status(NULL), OTA_EXIT_FAILURE);
	ota_error_classify(NULL, OTA_REASON_HOOK);
	ASSERT_INT_EQ(ota_error_set_because(NULL, OTA_REASON_HOOK, -ECANCELED, "ignored"), -ECANCELED);
}

TEST(write_file_atomic_replaces_whole_file)
{
	char dir[TEST_DIR_MAX], path[PATH_MAX], *data = NULL;
	size_t size = 0;
	ASSERT_INT_EQ(test_mkdtemp(dir, sizeof(dir), "atomic"), 0);
	snprintf(path, sizeof(path), "%s/f", dir);
	ASSERT_INT_EQ(ota_write_file_atomic(path, "first version\n", 14, 0600, NULL), 0);
	ASSERT_INT_EQ(ota_write_file_atomic(path, "v2\n", 3, 0600, NULL), 0);
	ASSERT_INT_EQ(ota_read_file(path, 1024, &data, &size, NULL), 0);
	ASSERT_STR_EQ(data, "v2\n");
	ASSERT_INT_EQ(size, 3);
	free(data);
	struct stat st;
	char tmp[PATH_MAX + 32];
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	ASSERT_INT_EQ(stat(tmp, &st), -1); /* no leftover temporary */
	ASSERT_INT_EQ(stat(path, &st), 0);
	ASSERT_INT_EQ(st.st_mode & 0777, 0600);
	unlink(path);
	rmdir(dir);
}

/* The directory a file is about to be made in, any depth; a bare name or a
 * file in / needs none; a file in the way is named as such. */
TEST(mkdir_parent_and_fsync_dir)
{
	char dir[TEST_DIR_MAX], file[PATH_MAX], plain[PATH_MAX], in_plain[PATH_MAX], missing[PATH_MAX];
	struct stat st;
	ASSERT_INT_EQ(test_mkdtemp(dir, sizeof(dir), "parent"), 0);
	snprintf(file, sizeof(file), "%s/a/b/file", dir);
	snprintf(plain, sizeof(plain), "%s/plain", dir);
	snprintf(in_plain, sizeof(in_plain), "%s/plain/file", dir);
	snprintf(missing, sizeof(missing), "%s/missing", dir);
	ASSERT_INT_EQ(ota_mkdir_parent(file, 0700), 0);
	ASSERT_INT_EQ(stat(file, &st), -1); /* the parent only */
	*strrchr(file, '/') = '\0';
	ASSERT_INT_EQ(stat(file, &st), 0);
	ASSERT_TRUE(S_ISDIR(st.st_mode) && (st.st_mode & 0777) == 0700);
	ASSERT_INT_EQ(ota_fsync_dir(file), 0);
	ASSERT_INT_EQ(ota_mkdir_parent("no-slash-in-it", 0755), 0);
	ASSERT_INT_EQ(ota_mkdir_parent("/in-the-root", 0755), 0);
	ASSERT_INT_EQ(ota_write_file_atomic(plain, "x", 1, 0644, NULL), 0);
	ASSERT_INT_EQ(ota_fsync_dir(plain), -ENOTDIR);
	ASSERT_INT_EQ(ota_mkdir_parent(in_plain, 0755), -ENOTDIR);
	ASSERT_INT_EQ(ota_fsync_dir(missing), -ENOENT);
	unlink(plain);
	rmdir(file);
	*strrchr(file, '/') = '\0';
	rmdir(file);
	rmdir(dir);
}

/* Positioned I/O at offsets, across a hole, up to the end of the file,
 * and refused where offset + size would pass off_t. */
TEST(pwrite_all_and_pread_full)
{
	char dir[TEST_DIR_MAX], path[PATH_MAX], buf[64];
	ASSERT_INT_EQ(test_mkdtemp(dir, sizeof(dir), "prw"), 0);
	snprintf(path, sizeof(path), "%s/f", dir);
	int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	ASSERT_TRUE(fd >= 0);
	ASSERT_INT_EQ(ota_pwrite_all(fd, "tail", 4, 9000), 0);
	ASSERT_INT_EQ(ota_pwrite_all(fd, "head", 4, 3), 0);
	ASSERT_INT_EQ(ota_pread_full(fd, buf, 4, 3), 4);
	ASSERT_TRUE(memcmp(buf, "head", 4) == 0);
	ASSERT_INT_EQ(ota_pread_full(fd, buf, 6, 8998), 6); /* hole, then data */
	ASSERT_TRUE(memcmp(buf, "\0\0tail", 6) == 0);
	ASSERT_INT_EQ(ota_pread_full(fd, buf, sizeof(buf), 9002), 2); /* end of file */
	ASSERT_INT_EQ(ota_pread_full(fd, buf, sizeof(buf), 20000), 0);
	ASSERT_INT_EQ(ota_pwrite_all(fd, "x", 1, UINT64_MAX), -EOVERFLOW);
	ASSERT_INT_EQ(ota_pread_full(fd, buf, 2, (uint64_t)INT64_MAX), -EOVERFLOW);
	ASSERT_INT_EQ(ota_pwrite_all(-1, "x", 1, 0), -EBADF);
	close(fd);
	unlink(path);
	rmdir(dir);
}

TEST(read_file_enforces_limit)
{
	char *data = NULL;
	struct ota_error err = { 0 };
	ASSERT_INT_EQ(ota_read_file("/proc/self/status", 16, &data, NULL, &err), -EFBIG);
	ASSERT_CONTAINS(err.msg, "larger than 16 bytes");
	ASSERT_INT_EQ(ota_read_file("/nonexistent", 16, &data, NULL, &err), -ENOENT);
	ASSERT_CONTAINS(err.msg, "open '/nonexistent'");
}

/* Configuration files: regular files only (following symlinks), never
 * waiting on a FIFO, at most 1 MiB, NUL bytes named by line. */
TEST(read_config_file_only_regular_and_bounded)
{
	char dir[TEST_DIR_MAX], path[PATH_MAX], link[PATH_MAX], *text = NULL;
	struct ota_error err = { 0 };
	ASSERT_INT_EQ(test_mkdtemp(dir, sizeof(dir), "config"), 0);
	snprintf(path, sizeof(path), "%s/fifo.conf", dir);
	ASSERT_INT_EQ(mkfifo(path, 0644), 0);
	ASSERT_INT_EQ(ota_read_config_file(path, &text, &err), -EINVAL);
	ASSERT_CONTAINS(err.msg, "fifo.conf' is a FIFO, not a regular file");
	unlink(path);
	ASSERT_INT_EQ(ota_read_config_file(dir, &text, &err), -EINVAL);
	ASSERT_CONTAINS(err.msg, "is a directory, not a regular file");
	ASSERT_INT_EQ(ota_read_config_file("/dev/null", &text, &err), -EINVAL);
	ASSERT_CONTAINS(err.msg, "'/dev/null' is a device");

	snprintf(path, sizeof(path), "%s/big.conf", dir);
	static char big[OTA_CONFIG_FILE_MAX + 1];
	memset(big, '#', sizeof(big));
	for (size_t i = 63; i < sizeof(big); i += 64)
		big[i] = '\n';
	ASSERT_INT_EQ(ota_write_file_atomic(path, big, OTA_CONFIG_FILE_MAX, 0644, NULL), 0);
	ASSERT_INT_EQ(ota_read_config_file(path, &text, &err), 0);
	ASSERT_INT_EQ(strlen(text), OTA_CONFIG_FILE_MAX);
	free(text);
	ASSERT_INT_EQ(ota_write_file_atomic(path, big, sizeof(big), 0644, NULL), 0);
	ASSERT_INT_EQ(ota_read_config_file(path, &text, &err), -EFBIG);
	ASSERT_CONTAINS(err.msg, "big.conf' is larger than 1048576 bytes");

	ASSERT_INT_EQ(ota_write_file_atomic(path, "[a]\nk = 1\n\0\n", 13, 0644, NULL), 0);
	ASSERT_INT_EQ(ota_read_config_file(path, &text, &err), -EINVAL);
	ASSERT_CONTAINS(err.msg, "big.conf': line 3: NUL byte");

	ASSERT_INT_EQ(ota_write_file_atomic(path, "[a]\n", 4, 0644, NULL), 0);
	snprintf(link, sizeof(link), "%s/link.conf", dir);
	ASSERT_INT_EQ(symlink("big.conf", link), 0);
	ASSERT_INT_EQ(ota_read_config_file(link, &text, &err), 0);
	ASSERT_STR_EQ(text, "[a]\n");
	free(text);
	unlink(link);
	unlink(path);
	rmdir(dir);
}

TEST(remove_contents_keeps_dir_and_skips_symlink_targets)
{
	char dir[TEST_DIR_MAX], outside[TEST_DIR_MAX], p[PATH_MAX];
	ASSERT_INT_EQ(test_mkdtemp(dir, sizeof(dir), "remove"), 0);
	ASSERT_INT_EQ(test_mkdtemp(outside, sizeof(outside), "outside"), 0);
	ASSERT_INT_EQ(test_put(dir, "a/b/c/file", "x"), 0);
	ASSERT_INT_EQ(test_put(outside, "keep", "x"), 0);
	snprintf(p, sizeof(p), "%s/link", dir);
	ASSERT_INT_EQ(symlink(outside, p), 0);

	int fd = open(dir, O_RDONLY | O_DIRECTORY);
	ASSERT_INT_EQ(ota_remove_contents_at(fd), 0);
	close(fd);
	struct stat st;
	ASSERT_INT_EQ(stat(dir, &st), 0);
	ASSERT_INT_EQ(rmdir(dir), 0); /* empty now */
	snprintf(p, sizeof(p), "%s/keep", outside);
	ASSERT_INT_EQ(stat(p, &st), 0); /* the symlink's target survived */
	unlink(p);
	rmdir(outside);
}

/* This program's reallocarray grows in place whenever the block is large
 * enough, and otherwise moves to a block twice the size asked for: both
 * are what realloc may do, and glibc's often grows in place, which ASan's
 * never does. A caller that forgets the capacity it asked for when the
 * pointer comes back unchanged writes past the block, and ASan sees it.
 * (ota_remove_contents_at did: the Debian VM's image build crashed with
 * "realloc(): invalid next size" removing a root.) */
void *reallocarray(void *p, size_t n, size_t size)
{
	if (size && n > SIZE_MAX / 2 / size) {
		errno = ENOMEM;
		return NULL;
	}
	size_t want = n * size, have = p ? malloc_usable_size(p) : 0;
	if (p && want <= have)
		return p;
	void *q = malloc(want ? want * 2 : 1);
	if (q && p)
		memcpy(q, p, have);
	if (q)
		free(p);
	return q;
}

/* Wide and deep: directories with hundreds of subdirectories (the list of
 * a level grows many times, in place by the reallocarray above) and a
 * chain deeper than the first allocation of levels. */
TEST(remove_contents_wide_and_deep)
{
	char dir[TEST_DIR_MAX], p[PATH_MAX];
	ASSERT_INT_EQ(test_mkdtemp(dir, sizeof(dir), "remove-wide"), 0);
	for (int i = 0; i < 300; i++) {
		snprintf(p, sizeof(p), "%s/wide/d%03d/e%d", dir, i, i % 7);
		ASSERT_INT_EQ(ota_mkdir_p(p, 0755), 0);
	}
	size_t len = (size_t)snprintf(p, sizeof(p), "%s/deep", dir);
	for (int i = 0; i < 40 && len + 3 < sizeof(p); i++)
		len += (size_t)snprintf(p + len, sizeof(p) - len, "/%c", 'a' + i % 26);
	ASSERT_INT_EQ(ota_mkdir_p(p, 0755), 0);
	snprintf(p + len, sizeof(p) - len, "/file");
	ASSERT_INT_EQ(ota_write_file_atomic(p, "x", 1, 0644, NULL), 0);

	int fd = open(dir, O_RDONLY | O_DIRECTORY);
	ASSERT_INT_EQ(ota_remove_contents_at(fd), 0);
	close(fd);
	ASSERT_INT_EQ(rmdir(dir), 0); /* empty now */
}

TEST(mount_point_detection)
{
	ASSERT_INT_EQ(ota_is_mount_point("/proc"), 1);
	ASSERT_INT_EQ(ota_is_mount_point("/proc/self"), 0);
	ASSERT_INT_EQ(ota_is_mount_point("/"), 1);
}

TEST(discard_moves_previous_upper_to_trash)
{
	char dir[TEST_DIR_MAX], p[PATH_MAX + 64];
	struct ota_overlay_dirs dirs;
	struct stat st;
	ASSERT_INT_EQ(test_mkdtemp(dir, sizeof(dir), "overlay"), 0);
	ASSERT_INT_EQ(ota_state_prepare_overlay(OTA_OVERLAY_DISCARD, dir, "a", "boot1", &dirs, NULL), 0);
	snprintf(p, sizeof(p), "%s/ota/overlay/discard/upper", dir);
	ASSERT_STR_EQ(dirs.upper, p);
	snprintf(p, sizeof(p), "%s/written-last-boot", dirs.upper);
	ASSERT_INT_EQ(ota_write_file_atomic(p, "x", 1, 0644, NULL), 0);

	ASSERT_INT_EQ(ota_state_prepare_overlay(OTA_OVERLAY_DISCARD, dir, "a", "boot2", &dirs, NULL), 0);
	ASSERT_INT_EQ(stat(p, &st), -1); /* gone from the new upper */
	snprintf(p, sizeof(p), "%s/ota/trash/discard-boot2/upper/written-last-boot", dir);
	ASSERT_INT_EQ(stat(p, &st), 0); /* moved, not yet deleted */
	ASSERT_INT_EQ(ota_state_empty_trash(dir, NULL), 0);
	ASSERT_INT_EQ(stat(p, &st), -1);

	ASSERT_INT_EQ(ota_state_prepare_overlay(OTA_OVERLAY_PERSIST, dir, "b", "boot3", &dirs, NULL), 0);
	snprintf(p, sizeof(p), "%s/ota/overlay/slot-b/upper", dir);
	ASSERT_STR_EQ(dirs.upper, p);
	struct ota_error err = { 0 };
	ASSERT_INT_EQ(ota_state_prepare_overlay(OTA_OVERLAY_PERSIST, NULL, "b", "boot3", &dirs, &err), -ENODEV);
	ASSERT_CONTAINS(err.msg, "needs the data partition");
	int fd = open(dir, O_RDONLY | O_DIRECTORY);
	ASSERT_INT_EQ(ota_remove_contents_at(fd), 0);
	close(fd);
	rmdir(dir);
}

/* ---- ota_spawn: the deadline holds for the whole process group ------------ */

static uint64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static int count_fds(void)
{
	int n = 0;
	DIR *d = opendir("/proc/self/fd");
	while (d && readdir(d))
		n++;
	if (d)
		closedir(d);
	return n;
}

struct spawn_run {
	int r;
	uint64_t ms;      /* how long ota_spawn() took */
	char out[64];     /* the child's stdout, when captured */
	char dir[TEST_DIR_MAX]; /* $1 of the script: where it writes its pids */
	struct ota_error err;
};

/* Runs `sh -c body sh DIR` through ota_spawn(). The test process becomes a
 * subreaper, so what the killed group leaves behind is reparented to us and
 * gone() can tell a reaped process from a live one. */
/* These cases reparent what a killed group leaves to the test process
 * (spawn_sh). qemu-user 7.2 (the cross builds' tests) refuses the prctl with
 * EINVAL; elsewhere it must work. */
#define SKIP_WITHOUT_SUBREAPER()                                                                    \
	do {                                                                                        \
		if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0 && errno == EINVAL)             \
			SKIP("prctl(PR_SET_CHILD_SUBREAPER) fails with EINVAL (qemu-user lacks it)"); \
	} while (0)

static void spawn_sh(const char *body, unsigned timeout_ms, unsigned grace_ms, bool capture, struct spawn_run *run)
{
	*run = (struct spawn_run){ .r = 1 };
	ASSERT_INT_EQ(test_mkdtemp(run->dir, sizeof(run->dir), "spawn"), 0);
	ASSERT_INT_EQ(prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0), 0);
	const char *argv[] = { "/bin/sh", "-c", body, "sh", run->dir, NULL };
	char errbuf[64];
	struct ota_spawn_opts o = { .timeout_ms = timeout_ms, .kill_grace_ms = grace_ms };
	if (capture) {
		o.out = run->out;
		o.out_size = sizeof(run->out);
		o.errbuf = errbuf;
		o.errbuf_size = sizeof(errbuf);
	}
	int fds = count_fds();
	uint64_t t0 = mono_ms();
	run->r = ota_spawn(argv, &o, &run->err);
	run->ms = mono_ms() - t0;
	ASSERT_INT_EQ(count_fds(), fds); /* no pipe end left open */
}

/* A pid the script wrote to DIR/name, 0 if none. */
static pid_t script_pid(const struct spawn_run *run, const char *name)
{
	char path[PATH_MAX], *text = NULL;
	size_t size = 0;
	uint64_t v = 0;
	snprintf(path, sizeof(path), "%s/%s", run->dir, name);
	if (ota_read_file(path, 64, &text, &size, NULL) < 0)
		return 0;
	text[strcspn(text, "\n")] = '\0';
	int r = ota_parse_u64(text, &v);
	free(text);
	return r < 0 || v < 2 || v > INT32_MAX ? 0 : (pid_t)v;
}

/* True once kill(target, 0) finds nothing (target < 0: a process group).
 * Killed orphans are reaped first, for up to 1 s, since a zombie still
 * answers kill(). */
static bool gone(pid_t target)
{
	for (int i = 0; i < 100; i++) {
		while (waitpid(-1, NULL, WNOHANG) > 0)
			;
		if (kill(target, 0) < 0 && errno == ESRCH)
			return true;
		nanosleep(&(struct timespec){ 0, 10 * 1000 * 1000 }, NULL);
	}
	return false;
}

static void cleanup_run(struct spawn_run *run)
{
	int fd = open(run->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		(void)!ota_remove_contents_at(fd);
		close(fd);
	}
	rmdir(run->dir);
}

/* The script's leader, the grandchild it recorded (if it was to fork one)
 * and the leader's whole process group are gone. */
static void expect_nothing_left(struct spawn_run *run, bool forked)
{
	pid_t leader = script_pid(run, "leader"), grandchild = script_pid(run, "grandchild");
	cleanup_run(run);
	ASSERT_TRUE(leader > 0);
	ASSERT_TRUE(forked == (grandchild > 0));
	ASSERT_TRUE(!forked || gone(grandchild));
	ASSERT_TRUE(gone(-leader));
}

TEST(spawn_deadline_holds_when_the_child_closes_its_fds)
{
	SKIP_WITHOUT_SUBREAPER();
	/* Pipes see EOF at once; only the clock can end this child. */
	const char *body = "echo $$ >\"$1/leader\"; exec 0<&- 1>&- 2>&-; sleep 4; exit 9";
	for (int capture = 0; capture < 2; capture++) {
		struct spawn_run run;
		spawn_sh(body, 400, 300, capture, &run);
		ASSERT_INT_EQ(run.r, -ETIMEDOUT);
		ASSERT_CONTAINS(run.err.msg, "'/bin/sh' did not finish within 400 ms");
		ASSERT_TRUE(run.ms >= 400 && run.ms < 400 + 300 + 1500);
		expect_nothing_left(&run, false); /* the sleep too */
	}
}

TEST(spawn_deadline_kills_a_group_that_ignores_sigterm)
{
	SKIP_WITHOUT_SUBREAPER();
	const char *body = "trap '' TERM; echo $$ >\"$1/leader\"; sleep 4 & echo $! >\"$1/grandchild\"; wait; sleep 4";
	struct spawn_run run;
	spawn_sh(body, 300, 500, false, &run);
	ASSERT_INT_EQ(run.r, -ETIMEDOUT);
	ASSERT_CONTAINS(run.err.msg, "did not finish within 300 ms");
	/* SIGKILL only after the grace */
	ASSERT_TRUE(run.ms >= 300 + 500 && run.ms < 300 + 500 + 1500);
	expect_nothing_left(&run, true);
}

TEST(spawn_deadline_kills_a_grandchild_holding_the_pipe)
{
	SKIP_WITHOUT_SUBREAPER();
	/* The grandchild keeps stdout open and shrugs off SIGTERM; the leader
	 * dies of SIGTERM at once, so the group is SIGKILLed right after it. */
	const char *body = "echo $$ >\"$1/leader\"; (trap '' TERM; exec sleep 4) & echo $! >\"$1/grandchild\"; "
			   "echo started; exec sleep 4";
	struct spawn_run run;
	spawn_sh(body, 500, 2000, true, &run);
	ASSERT_INT_EQ(run.r, -ETIMEDOUT);
	ASSERT_TRUE(run.ms >= 500 && run.ms < 500 + 1500);
	ASSERT_STR_EQ(run.out, "started\n");
	expect_nothing_left(&run, true);
}

TEST(spawn_exit_ends_what_the_child_left_running)
{
	SKIP_WITHOUT_SUBREAPER();
	/* The child is done when it exits, even with a background job still
	 * holding its stdout: its status counts and the job is killed. */
	const char *body = "echo $$ >\"$1/leader\"; sleep 4 & echo $! >\"$1/grandchild\"; echo done; exit 3";
	struct spawn_run run;
	spawn_sh(body, 3000, 0, true, &run);
	ASSERT_INT_EQ(run.r, 3);
	ASSERT_STR_EQ(run.out, "done\n");
	ASSERT_TRUE(run.ms < 1500);
	expect_nothing_left(&run, true);
}

TEST(spawn_reports_signal_overflow_and_missing_timeout)
{
	struct ota_error err = { 0 };
	char out[16];
	const char *killed[] = { "/bin/sh", "-c", "kill -USR1 $$", NULL };
	struct ota_spawn_opts o = { .timeout_ms = 5000 };
	ASSERT_INT_EQ(ota_spawn(killed, &o, &err), -EINTR);
	ASSERT_CONTAINS(err.msg, "'/bin/sh' was killed by signal 10");
	const char *chatty[] = { "/bin/sh", "-c", "while :; do echo 0123456789; done", NULL };
	o.out = out;
	o.out_size = sizeof(out);
	ASSERT_INT_EQ(ota_spawn(chatty, &o, &err), -EMSGSIZE);
	ASSERT_CONTAINS(err.msg, "'/bin/sh' printed more than 15 bytes");
	const char *env[] = { "PATH=/nowhere" };
	const char *printenv[] = { "/bin/sh", "-c", "echo \"$PATH:$HOME\"", NULL };
	struct ota_spawn_opts clean = { .env = env, .n_env = 1, .clean_env = true, .out = out,
					.out_size = sizeof(out), .timeout_ms = 5000 };
	ASSERT_INT_EQ(ota_spawn(printenv, &clean, &err), 0);
	ASSERT_STR_EQ(out, "/nowhere:\n");
	struct ota_spawn_opts unbounded = { 0 };
	ASSERT_INT_EQ(ota_spawn(printenv, &unbounded, &err), -EINVAL);
	ASSERT_CONTAINS(err.msg, "no timeout for '/bin/sh'");
	ASSERT_INT_EQ(ota_spawn(printenv, NULL, &err), -EINVAL);
}

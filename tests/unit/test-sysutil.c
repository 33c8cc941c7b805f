#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>

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
	ASSERT_INT_EQ(ota_parse_u64("0x10", &v), 0);
	ASSERT_INT_EQ(v, 16);
	ASSERT_INT_EQ(ota_parse_u64("18446744073709551616", &v), -ERANGE);
	ASSERT_INT_EQ(ota_parse_u64("-1", &v), -EINVAL);
	ASSERT_INT_EQ(ota_parse_u64("12a", &v), -EINVAL);
	ASSERT_INT_EQ(ota_parse_u64("", &v), -EINVAL);
	ASSERT_INT_EQ(ota_parse_u64(" 1", &v), -EINVAL);
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

static int make_tmpdir(char *tmpl)
{
	return mkdtemp(tmpl) ? 0 : -errno;
}

TEST(write_file_atomic_replaces_whole_file)
{
	char dir[] = "/tmp/ota-test-XXXXXX", path[128], *data = NULL;
	size_t size = 0;
	ASSERT_INT_EQ(make_tmpdir(dir), 0);
	snprintf(path, sizeof(path), "%s/f", dir);
	ASSERT_INT_EQ(ota_write_file_atomic(path, "first version\n", 14, 0600, NULL), 0);
	ASSERT_INT_EQ(ota_write_file_atomic(path, "v2\n", 3, 0600, NULL), 0);
	ASSERT_INT_EQ(ota_read_file(path, 1024, &data, &size, NULL), 0);
	ASSERT_STR_EQ(data, "v2\n");
	ASSERT_INT_EQ(size, 3);
	free(data);
	struct stat st;
	char tmp[160];
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	ASSERT_INT_EQ(stat(tmp, &st), -1); /* no leftover temporary */
	ASSERT_INT_EQ(stat(path, &st), 0);
	ASSERT_INT_EQ(st.st_mode & 0777, 0600);
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

TEST(remove_contents_keeps_dir_and_skips_symlink_targets)
{
	char dir[] = "/tmp/ota-test-XXXXXX", outside[] = "/tmp/ota-test-out-XXXXXX", p[256];
	ASSERT_INT_EQ(make_tmpdir(dir), 0);
	ASSERT_INT_EQ(make_tmpdir(outside), 0);
	snprintf(p, sizeof(p), "%s/a/b/c", dir);
	ASSERT_INT_EQ(ota_mkdir_p(p, 0755), 0);
	snprintf(p, sizeof(p), "%s/a/b/c/file", dir);
	ASSERT_INT_EQ(ota_write_file_atomic(p, "x", 1, 0644, NULL), 0);
	snprintf(p, sizeof(p), "%s/keep", outside);
	ASSERT_INT_EQ(ota_write_file_atomic(p, "x", 1, 0644, NULL), 0);
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

TEST(mount_point_detection)
{
	ASSERT_INT_EQ(ota_is_mount_point("/proc"), 1);
	ASSERT_INT_EQ(ota_is_mount_point("/proc/self"), 0);
	ASSERT_INT_EQ(ota_is_mount_point("/"), 1);
}

TEST(discard_moves_previous_upper_to_trash)
{
	char dir[] = "/tmp/ota-test-XXXXXX", p[PATH_MAX + 64];
	struct ota_overlay_dirs dirs;
	struct stat st;
	ASSERT_INT_EQ(make_tmpdir(dir), 0);
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

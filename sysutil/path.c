/* SPDX-License-Identifier: Apache-2.0 */
/* Path resolution confined to a root directory. */
#include <errno.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>

#include "sysutil/sysutil.h"

#define SYMLINKS_MAX 40 /* as the kernel's MAXSYMLINKS */

/* Replaces *todo by target + "/" + rest, the path still to walk. */
static int splice_link(char **todo, const char *target, const char *rest)
{
	size_t tlen = strlen(target), rlen = strlen(rest);
	if (tlen + rlen + 2 > 2 * PATH_MAX)
		return -ENAMETOOLONG;
	char *n = malloc(tlen + rlen + 2);
	if (!n)
		return -ENOMEM;
	memcpy(n, target, tlen);
	n[tlen] = '/';
	memcpy(n + tlen + 1, rest, rlen + 1);
	free(*todo);
	*todo = n;
	return 0;
}

/* A manual walk rather than openat2(RESOLVE_IN_ROOT): that needs Linux 5.6
 * and gives an fd, while callers need the path (to check it, to record it,
 * to mount on it). Nothing may change the tree while it runs: it resolves
 * for policy and placement, it is no defence against a racing attacker. */
int ota_path_resolve_in_root(const char *root, const char *path, char *buf, size_t size, struct ota_error *err)
{
	char out[PATH_MAX] = "", full[PATH_MAX], target[PATH_MAX];
	size_t used = 0;
	unsigned links = 0;
	bool missing = false; /* below a component that does not exist: lexical */
	_cleanup_free_ char *todo = strdup(path);
	if (!todo)
		return ota_error_set(err, -ENOMEM, "out of memory resolving '%s'", path);
	if (strcmp(root, "/") == 0)
		root = "";
	const char *p = todo;
	for (;;) {
		while (*p == '/')
			p++;
		if (!*p)
			break;
		size_t len = strcspn(p, "/");
		const char *comp = p;
		p += len;
		if (len == 1 && comp[0] == '.')
			continue;
		if (len == 2 && comp[0] == '.' && comp[1] == '.') {
			while (used && out[used - 1] != '/')
				used--;
			used -= used ? 1 : 0; /* never above the root */
			out[used] = '\0';
			missing = false;
			continue;
		}
		if (used + 1 + len >= sizeof(out))
			return ota_error_set(err, -ENAMETOOLONG, "'%s' resolves to a path longer than %d bytes", path,
					     PATH_MAX - 1);
		out[used] = '/';
		memcpy(out + used + 1, comp, len);
		out[used + 1 + len] = '\0';
		if (missing) {
			used += 1 + len;
			continue;
		}
		if (ota_format(full, sizeof(full), "%s%s", root, out) < 0)
			return ota_error_set(err, -ENAMETOOLONG, "'%s' below '%s' is too long", out, root);
		struct stat st;
		if (lstat(full, &st) < 0) {
			if (errno != ENOENT)
				return ota_error_errno(err, -errno, "resolve '%s': '%s'", path, out);
			missing = true;
			used += 1 + len;
			continue;
		}
		if (S_ISLNK(st.st_mode)) {
			if (++links > SYMLINKS_MAX)
				return ota_error_set(err, -ELOOP, "resolve '%s': more than %d symlinks (a loop?) at '%s'",
						     path, SYMLINKS_MAX, out);
			ssize_t n = readlink(full, target, sizeof(target) - 1);
			if (n < 0)
				return ota_error_errno(err, -errno, "read symlink '%s'", full);
			target[n] = '\0';
			out[used] = '\0'; /* the link itself is replaced by its target */
			if (target[0] == '/') /* absolute: from the root, not from / */
				out[used = 0] = '\0';
			int r = splice_link(&todo, target, p);
			if (r < 0)
				return ota_error_errno(err, r, "resolve '%s'", path);
			p = todo;
			continue;
		}
		used += 1 + len;
		while (*p == '/')
			p++;
		if (*p && !S_ISDIR(st.st_mode))
			return ota_error_set(err, -ENOTDIR, "resolve '%s': '%s' is not a directory", path, out);
	}
	if (ota_format(buf, size, "%s", used ? out : "/") < 0)
		return ota_error_set(err, -ENAMETOOLONG, "'%s' resolves to a path too long for its buffer", path);
	return 0;
}

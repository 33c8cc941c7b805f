/* SPDX-License-Identifier: Apache-2.0 */
/* Hooks: executables in <hooks-dir>/<stage>.d/, run in order. */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>

#include "update/update-private.h"

int ota_hook_env_add(struct ota_hook_env *e, const char *key, const char *fmt, ...)
{
	if (e->n >= OTA_HOOK_MAX_ENV)
		return -E2BIG;
	_cleanup_free_ char *value = NULL;
	va_list ap;
	va_start(ap, fmt);
	int n = vasprintf(&value, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -ENOMEM;
	char *var = NULL;
	if (asprintf(&var, "%s=%s", key, value) < 0)
		return -ENOMEM;
	e->vars[e->n++] = var;
	return 0;
}

void ota_hook_env_done(struct ota_hook_env *e)
{
	for (size_t i = 0; i < e->n; i++)
		free(e->vars[i]);
	e->n = 0;
}

int ota_hook_env_common(struct ota_hook_env *e, const struct ota_update_config *c, const struct ota_bootflow_state *st)
{
	int r = 0;
	if (!r)
		r = ota_hook_env_add(e, "OTA_COMPATIBLE", "%s", c->compatible);
	if (!r)
		r = ota_hook_env_add(e, "OTA_SYSTEM_VERSION", "%s", c->version);
	if (!r)
		r = ota_hook_env_add(e, "OTA_BOOTED_GROUP", "%s", st->booted);
	if (!r)
		r = ota_hook_env_add(e, "OTA_DEFAULT_GROUP", "%s", st->default_group);
	if (!r)
		r = ota_hook_env_add(e, "OTA_STATUS_FILE", "%s", c->status_file);
	return r;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void free_names(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

int ota_hooks_run(const struct ota_update_config *c, const char *stage, const struct ota_hook_env *env,
		  unsigned *ret_count, struct ota_error *err)
{
	char dir[4096];
	if (ota_format(dir, sizeof(dir), "%s/%s.d", c->hooks_dir, stage) < 0)
		return ota_error_set(err, -ENAMETOOLONG, "hooks directory name too long");
	_cleanup_closedir_ DIR *d = opendir(dir);
	if (!d) {
		if (errno == ENOENT) {
			if (ret_count)
				*ret_count = 0;
			return 0;
		}
		return ota_error_errno(err, -errno, "%s hooks: open '%s'", stage, dir);
	}
	char **names = NULL;
	size_t n = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		size_t len = strlen(de->d_name);
		if (de->d_name[0] == '.' || de->d_name[len - 1] == '~')
			continue;
		if (n >= OTA_HOOK_MAX_FILES) {
			free_names(names, n);
			return ota_error_set(err, -E2BIG, "%s hooks: more than %u entries in '%s'", stage,
					     OTA_HOOK_MAX_FILES, dir);
		}
		char **nn = realloc(names, (n + 1) * sizeof(*nn));
		if (!nn || !(nn[n] = strdup(de->d_name))) {
			free_names(nn ? nn : names, n);
			return ota_error_set(err, -ENOMEM, "out of memory");
		}
		names = nn;
		n++;
	}
	if (n)
		qsort(names, n, sizeof(*names), cmp_names);

	const char *vars[OTA_HOOK_MAX_ENV + 1];
	char stage_var[64];
	if (ota_format(stage_var, sizeof(stage_var), "OTA_HOOK_STAGE=%s", stage) < 0) {
		free_names(names, n);
		return ota_error_set(err, -EINVAL, "stage name too long");
	}
	size_t nv = 0;
	for (size_t i = 0; env && i < env->n; i++)
		vars[nv++] = env->vars[i];
	vars[nv++] = stage_var;

	unsigned ran = 0;
	int r = 0;
	for (size_t i = 0; i < n && r == 0; i++) {
		char path[4096 + 256];
		if (ota_format(path, sizeof(path), "%s/%s", dir, names[i]) < 0) {
			r = ota_error_set(err, -ENAMETOOLONG, "%s hook: name too long", stage);
			break;
		}
		struct stat st;
		if (stat(path, &st) < 0) {
			r = ota_error_errno(err, -errno, "%s hook '%s'", stage, path);
			break;
		}
		if (!S_ISREG(st.st_mode) || !(st.st_mode & 0111))
			continue; /* like run-parts: only executable files */
		const char *argv[] = { path, stage, NULL };
		struct ota_spawn_opts o = { .env = vars, .n_env = nv, .timeout_ms = c->hook_timeout_s * 1000u };
		int status = ota_spawn(argv, &o, err);
		ran++;
		if (status < 0) {
			ota_error_prefix(err, "%s hook: ", stage);
			ota_error_classify(err, OTA_REASON_HOOK);
			r = status;
		} else if (status != 0) {
			r = ota_error_set_because(err, OTA_REASON_HOOK, -ECANCELED, "%s hook '%s' failed with exit status %d",
						  stage, path, status);
		}
	}
	free_names(names, n);
	if (r == 0 && ret_count)
		*ret_count = ran;
	return r;
}

/* SPDX-License-Identifier: Apache-2.0 */
/* The custom boot flow: an executable speaking the protocol of
 * docs/boot-flows.md. Each operation is one run of
 *   <executable> get-state | arm <group> <tries> | commit <group> |
 *                mark-bad <group> | reboot
 * with no shell, stdin from /dev/null, OTA_BOOTFLOW_PROTOCOL=1 in the
 * environment, a timeout, and stdout bounded to OTA_BOOTFLOW_OUTPUT_MAX.
 * Exit status 0 is success; anything else fails the operation. */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "bootflow/bootflow-private.h"

static const char *const protocol_env[] = { "OTA_BOOTFLOW_PROTOCOL=1" };

/* First line of the child's stderr, for messages. */
static void first_line(char *s)
{
	char *nl = strchr(s, '\n');
	if (nl)
		*nl = '\0';
}

static int run(struct ota_bootflow *bf, const char *const *argv, char *out, size_t out_size, struct ota_error *err)
{
	char errbuf[256] = "";
	struct ota_spawn_opts o = {
		.env = protocol_env,
		.n_env = OTA_ELEMENTSOF(protocol_env),
		.out = out,
		.out_size = out_size,
		.errbuf = errbuf,
		.errbuf_size = sizeof(errbuf),
		.timeout_ms = bf->timeout_ms,
	};
	int r = ota_spawn(argv, &o, err);
	if (r < 0)
		return r;
	if (r != 0) {
		first_line(errbuf);
		return ota_error_set(err, -EIO, "'%s %s' exited with status %d%s%s", bf->executable, argv[1], r,
				     errbuf[0] ? ": " : "", errbuf);
	}
	return 0;
}

static int custom_init(struct ota_bootflow *bf, struct ota_error *err)
{
	struct stat st;
	if (!bf->executable || bf->executable[0] != '/')
		return ota_error_set(err, -EINVAL, "executable '%s' is not an absolute path",
				     bf->executable ? bf->executable : "");
	if (stat(bf->executable, &st) < 0)
		return ota_error_errno(err, -errno, "executable '%s'", bf->executable);
	if (!S_ISREG(st.st_mode) || access(bf->executable, X_OK) < 0)
		return ota_error_set(err, -EACCES, "'%s' is not an executable file", bf->executable);
	return 0;
}

static int custom_get_state(struct ota_bootflow *bf, struct ota_bootflow_state *ret, struct ota_error *err)
{
	char out[OTA_BOOTFLOW_OUTPUT_MAX + 1];
	const char *argv[] = { bf->executable, "get-state", NULL };
	int r = run(bf, argv, out, sizeof(out), err);
	if (r < 0) {
		ota_error_prefix(err, "boot flow custom: get-state: ");
		return r;
	}
	if (strlen(out) != strnlen(out, sizeof(out)))
		return ota_error_set(err, -EINVAL, "boot flow custom: get-state: output contains NUL bytes");
	r = ota_bootflow_parse_state(out, ret, err);
	if (r < 0)
		ota_error_prefix(err, "boot flow custom: '%s get-state' output: ", bf->executable);
	return r;
}

static int simple(struct ota_bootflow *bf, const char *op, const char *group, const char *arg, struct ota_error *err)
{
	char out[OTA_BOOTFLOW_OUTPUT_MAX + 1];
	const char *argv[] = { bf->executable, op, group, arg, NULL };
	int r = run(bf, argv, out, sizeof(out), err);
	if (r < 0) {
		if (group)
			ota_error_prefix(err, "boot flow custom: %s group %s: ", op, group);
		else
			ota_error_prefix(err, "boot flow custom: %s: ", op);
	}
	return r;
}

static int custom_arm(struct ota_bootflow *bf, const char *group, unsigned tries, struct ota_error *err)
{
	char n[16];
	if (ota_format(n, sizeof(n), "%u", tries) < 0)
		return ota_error_set(err, -EINVAL, "tries");
	return simple(bf, "arm", group, n, err);
}

static int custom_commit(struct ota_bootflow *bf, const char *group, struct ota_error *err)
{
	return simple(bf, "commit", group, NULL, err);
}

static int custom_mark_bad(struct ota_bootflow *bf, const char *group, struct ota_error *err)
{
	return simple(bf, "mark-bad", group, NULL, err);
}

static int custom_reboot(struct ota_bootflow *bf, struct ota_error *err)
{
	return simple(bf, "reboot", NULL, NULL, err);
}

const struct ota_bootflow_ops ota_bootflow_custom_ops = {
	.name = "custom",
	.init = custom_init,
	.get_state = custom_get_state,
	.arm = custom_arm,
	.commit = custom_commit,
	.mark_bad = custom_mark_bad,
	.reboot = custom_reboot,
};

/* SPDX-License-Identifier: Apache-2.0 */
/* GRUB environment blocks as otaroot's GRUB boot flow uses them: a parser
 * that reads a block exactly as GRUB's `load_env --file F NAME...` does, the
 * writers of our three files, and the boot decision of bootflow/grub/flow.cfg
 * restated in C. The point of restating it: userspace must reach the same
 * answer as GRUB from the same bytes, torn writes included. The VM test
 * grub-decisions boots the real GRUB over a corpus of such files and compares.
 *
 * Files (each exactly OTA_GRUBENV_SIZE bytes, rewritten in place):
 *   env1, env2  the state, written only by userspace, env1 first. A copy is
 *               valid when its first variable ota_seq_begin and its last line
 *               ota_seq_end (the final bytes of the file) are equal and not
 *               empty, and ota_default names a group. A write torn anywhere
 *               leaves begin and end from different writes, because they lie
 *               in the first and the last sector of the block.
 *   tries       ota_tries_id + ota_tries: the trial's remaining boots. GRUB
 *               rewrites it (save_env) before it boots a trial, so it keeps
 *               GRUB's layout: variables, then '#' padding to the end.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bootflow/bootflow-private.h"

#define SIGNATURE "# GRUB Environment Block\n"

static const char *find_next_line(const char *p, const char *end)
{
	while (p < end && *p != '\n')
		p++;
	return p < end ? p + 1 : end;
}

/* GRUB's value unescaping: a backslash takes the next byte literally. */
static char *unescape(const char *p, const char *end)
{
	char *v = malloc((size_t)(end - p) + 1), *q = v;
	if (!v)
		return NULL;
	while (p < end) {
		if (*p == '\\' && p + 1 < end)
			p++;
		*q++ = *p++;
	}
	*q = '\0';
	return v;
}

static int set_value(char **slot, const char *p, const char *end)
{
	char *v = unescape(p, end);
	if (!v)
		return -ENOMEM;
	free(*slot);
	*slot = v;
	return 0;
}

/* Mirrors grub_envblk_iterate(): '#' starts a comment to the end of the line;
 * otherwise the name runs to the next '=' (newlines included, as in GRUB),
 * the value to the next unescaped newline; a block that ends inside a name or
 * a value stops the walk, keeping what was set before (GRUB does the same). */
int ota_grubenv_load(const char *buf, size_t len, const char *const *names, char **values, size_t n)
{
	const size_t sig = sizeof(SIGNATURE) - 1;
	if (len < sig || memcmp(buf, SIGNATURE, sig) != 0)
		return -EBADMSG;
	const char *p = buf + sig, *end = buf + len;
	while (p < end) {
		if (*p == '#') {
			p = find_next_line(p, end);
			continue;
		}
		const char *name = p;
		while (p < end && *p != '=')
			p++;
		if (p == end)
			return 0;
		size_t name_len = (size_t)(p - name);
		const char *value = ++p;
		while (p < end && *p != '\n')
			p += *p == '\\' ? 2 : 1;
		if (p >= end)
			return 0;
		for (size_t i = 0; i < n; i++)
			if (strlen(names[i]) == name_len && memcmp(names[i], name, name_len) == 0) {
				int r = set_value(&values[i], value, p);
				if (r < 0)
					return r;
			}
		p = find_next_line(p, end);
	}
	return 0;
}

static void free_values(char **values, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(values[i]);
		values[i] = NULL;
	}
}

static bool is_group(const char *s, const char *const groups[2])
{
	return s && s[0] && (strcmp(s, groups[0]) == 0 || strcmp(s, groups[1]) == 0);
}

static bool copy_name(char *dst, const char *src)
{
	if (!src)
		src = "";
	if (strlen(src) >= OTA_BOOTFLOW_NAME_MAX)
		return false;
	strcpy(dst, src);
	return true;
}

/* flow.cfg's ota_load_copy. */
static int load_copy(const char *buf, size_t len, const char *const groups[2], struct ota_grub_state *ret)
{
	enum { BEGIN, END, DEFAULT, TRIAL, TRIAL_ID, N };
	static const char *const names[N] = { "ota_seq_begin", "ota_seq_end", "ota_default", "ota_trial",
					      "ota_trial_id" };
	char *v[N] = { 0 };
	int valid = 0;
	if (buf) {
		int r = ota_grubenv_load(buf, len, names, v, N);
		if (r == -ENOMEM)
			return r;
	}
	if (v[BEGIN] && v[BEGIN][0] && v[END] && strcmp(v[BEGIN], v[END]) == 0 && is_group(v[DEFAULT], groups)) {
		struct ota_grub_state s = { 0 };
		char *e;
		errno = 0;
		s.seq = strtoull(v[BEGIN], &e, 10);
		/* The group names fit (they equal a configured one); a trial or
		 * trial id too long for us is never one we wrote: drop it, which
		 * is what GRUB's later checks do with it too. */
		(void)copy_name(s.default_group, v[DEFAULT]);
		if (!copy_name(s.trial, v[TRIAL]) || !copy_name(s.trial_id, v[TRIAL_ID]))
			s.trial[0] = s.trial_id[0] = '\0';
		if (errno || *e)
			s.seq = 0; /* valid for GRUB (it only compares); not ours: lowest */
		*ret = s;
		valid = 1;
	}
	free_values(v, N);
	return valid;
}

/* Canonical decimal 1..OTA_BOOTFLOW_MAX_TRIES as flow.cfg's lookup list
 * spells it: no sign, no leading zero, no spaces. Returns 0 otherwise. */
static unsigned parse_tries(const char *s)
{
	if (!s || !s[0] || s[0] == '0' || strlen(s) > 3)
		return 0;
	unsigned n = 0;
	for (const char *p = s; *p; p++) {
		if (*p < '0' || *p > '9')
			return 0;
		n = n * 10 + (unsigned)(*p - '0');
	}
	return n <= OTA_BOOTFLOW_MAX_TRIES ? n : 0;
}

static int load_tries(const char *buf, size_t len, const char *trial_id, unsigned *ret)
{
	static const char *const names[2] = { "ota_tries_id", "ota_tries" };
	char *v[2] = { 0 };
	*ret = 0;
	if (buf && ota_grubenv_load(buf, len, names, v, 2) == -ENOMEM)
		return -ENOMEM;
	if (v[0] && strcmp(v[0], trial_id) == 0)
		*ret = parse_tries(v[1]);
	free_values(v, 2);
	return 0;
}

int ota_grub_decide(const struct ota_grub_files *f, const char *const groups[2], struct ota_grub_decision *ret)
{
	struct ota_grub_decision d = { 0 };
	int r = load_copy(f->env1, f->env1_len, groups, &d.state);
	if (r < 0)
		return r;
	if (r > 0)
		d.copy = 1;
	else {
		r = load_copy(f->env2, f->env2_len, groups, &d.state);
		if (r < 0)
			return r;
		d.copy = r > 0 ? 2 : 0;
	}
	if (d.copy == 0) /* neither copy valid: the first group, nothing on trial */
		(void)copy_name(d.state.default_group, groups[0]);
	(void)copy_name(d.boot, d.state.default_group);
	const struct ota_grub_state *s = &d.state;
	if (is_group(s->trial, groups) && strcmp(s->trial, s->default_group) != 0 && s->trial_id[0]) {
		r = load_tries(f->tries, f->tries_len, s->trial_id, &d.tries);
		if (r < 0)
			return r;
		if (d.tries > 0) {
			(void)copy_name(d.boot, s->trial);
			d.boot_trial = true;
		}
	}
	*ret = d;
	return 0;
}

/* ---- writers --------------------------------------------------------------- */

static bool plain_value(const char *s)
{
	for (; *s; s++)
		if (*s == '\\' || *s == '\n' || *s == '\r' || *s == '#' || (unsigned char)*s < 0x20)
			return false;
	return true;
}

int ota_grubenv_format_state(char out[OTA_GRUBENV_SIZE], const struct ota_grub_state *s)
{
	char head[512], tail[64];
	if (!plain_value(s->default_group) || !plain_value(s->trial) || !plain_value(s->trial_id))
		return -EINVAL;
	int h = snprintf(head, sizeof(head), SIGNATURE "ota_seq_begin=%" PRIu64 "\nota_default=%s\nota_trial=%s\n"
				   "ota_trial_id=%s\n",
			 s->seq, s->default_group, s->trial, s->trial_id);
	int t = snprintf(tail, sizeof(tail), "\nota_seq_end=%" PRIu64 "\n", s->seq);
	if (h < 0 || t < 0 || (size_t)h + (size_t)t > OTA_GRUBENV_SIZE - 1)
		return -E2BIG;
	/* head, '#' padding (GRUB reads it as one comment line ended by the
	 * tail's leading newline), tail in the last bytes of the block. */
	memcpy(out, head, (size_t)h);
	memset(out + h, '#', OTA_GRUBENV_SIZE - (size_t)h - (size_t)t);
	memcpy(out + OTA_GRUBENV_SIZE - t, tail, (size_t)t);
	return 0;
}

int ota_grubenv_format_tries(char out[OTA_GRUBENV_SIZE], const char *trial_id, unsigned tries)
{
	char head[256];
	if (!plain_value(trial_id) || tries > OTA_BOOTFLOW_MAX_TRIES)
		return -EINVAL;
	/* GRUB's own layout: save_env needs the '#' padding at the end. */
	int h = snprintf(head, sizeof(head), SIGNATURE "ota_tries_id=%s\nota_tries=%u\n", trial_id, tries);
	if (h < 0 || (size_t)h > OTA_GRUBENV_SIZE - 1)
		return -E2BIG;
	memcpy(out, head, (size_t)h);
	memset(out + h, '#', OTA_GRUBENV_SIZE - (size_t)h);
	return 0;
}

/* SPDX-License-Identifier: Apache-2.0 */
/* ota-test-state-recover DATA_DIR IMAGE_ROOT: runs on a mounted data file
 * system the recovery ota-init runs at boot (init/boot.c:
 * ota_boot_prepare_state, then the seeding of ota_boot_bind_state) -- the
 * same library calls in the same order -- and prints what the next boot
 * would bind, one line per persisted path:
 *
 *     entry<TAB>PATH<TAB>SOURCE<TAB>STORED-PATH
 *
 * preceded by "reset<TAB>yes|no" and one "error<TAB>TEXT" line per state
 * configuration error. IMAGE_ROOT is the system image's root tree (the state
 * configuration and the content declared entries are seeded from). Used by
 * the crash-state checker (tests/crash/crashstates.py): each replayed crash
 * state of the data partition goes through exactly this before the
 * invariants are checked. Exit 0, or 1 with a message if recovery failed. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "stateman/stateman.h"

static int load(struct ota_state_config *c, const char *data_dir, const char *image_root, struct ota_error *err)
{
	ota_state_config_done(c);
	ota_state_config_init(c);
	int r = ota_state_config_load(c, image_root, err);
	if (r < 0)
		return r;
	r = ota_state_config_load_runtime(c, data_dir, err);
	return r == -ENOMEM ? r : 0;
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: %s DATA_DIR IMAGE_ROOT\n", argv[0]);
		return 2;
	}
	const char *data = argv[1], *image_root = argv[2];
	struct ota_error err = { 0 };
	struct ota_state_config c;
	ota_state_config_init(&c);
	if (load(&c, data, image_root, &err) < 0) {
		fprintf(stderr, "state-recover: %s\n", err.msg);
		return 1;
	}
	int r = ota_state_apply_reset(data, &c, "crash-check", &err);
	if (r < 0) {
		fprintf(stderr, "state-recover: factory reset not completed: %s\n", err.msg);
		return 1;
	}
	printf("reset\t%s\n", r > 0 ? "yes" : "no");
	if (r > 0 && load(&c, data, image_root, &err) < 0) {
		fprintf(stderr, "state-recover: %s\n", err.msg);
		return 1;
	}
	if (ota_state_clean_staging(data, "staging", &err) < 0)
		fprintf(stderr, "state-recover: warning: %s\n", err.msg);
	for (size_t i = 0; i < c.n_errors; i++)
		printf("error\t%s\n", c.errors[i]);
	int failed = 0;
	for (size_t i = 0; i < c.n_entries; i++) {
		const struct ota_persist_entry *e = &c.entries[i];
		if (ota_state_seed(data, image_root, e, &err) < 0) {
			fprintf(stderr, "state-recover: %s not persisted: %s\n", e->path, err.msg);
			failed = 1;
			continue;
		}
		printf("entry\t%s\t%s\t%s/ota/state/persist%s\n", e->path, e->source, data, e->path);
	}
	ota_state_config_done(&c);
	return failed;
}

/* SPDX-License-Identifier: Apache-2.0 */
/* sysconf-dump FILE: parses a system.conf as ota-init and ota-update do
 * (sysconf/, both parts) and prints what they take from it as key=value
 * lines; exit 1 with sysconf's message when it does not parse. For the
 * tests of files other programs write (ota-image). */
#include <stdio.h>

#include "sysconf/sysconf.h"

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: sysconf-dump FILE\n");
		return 2;
	}
	struct ota_sysconf c;
	struct ota_error err = { 0 };
	ota_sysconf_init(&c);
	if (ota_sysconf_load(&c, OTA_SYSCONF_INIT | OTA_SYSCONF_UPDATE, argv[1], &err) < 0) {
		fprintf(stderr, "sysconf-dump: %s\n", err.msg);
		return 1;
	}
	const struct ota_update_config *u = &c.update;
	printf("compatible=%s\nversion=%s\nkeyring=%s\nchannel=%s\ndowngrade=%s\ntries=%u\n", u->compatible,
	       u->version, u->keyring, u->channel ? u->channel : "", ota_downgrade_policy_names[u->downgrade], u->tries);
	printf("bootflow=%s\nbootflow_device=%s\ngroups=%s,%s\n", u->bootflow.type,
	       u->bootflow.device ? u->bootflow.device : "", u->bootflow.groups[0], u->bootflow.groups[1]);
	const struct ota_bootflow_config *b = &u->bootflow;
	printf("env_mode=%s\nenv=%s\nautoboot=%s\n", b->env_mode ? b->env_mode : "", b->env ? b->env : "",
	       b->autoboot ? b->autoboot : "");
	for (size_t i = 0; i < 2; i++)
		if (b->partitions[i].group)
			printf("partition=%s:%u\n", b->partitions[i].group, b->partitions[i].number);
	for (size_t i = 0; i < u->n_slots; i++)
		printf("slot=%s:%s:%s:%s\n", u->slots[i].name, u->slots[i].slot_class, u->slots[i].group,
		       u->slots[i].device ? u->slots[i].device : "");
	printf("init=%s\ntrial_watchdog=%u\ndata_device=%s\n", c.init.init, c.init.trial_watchdog_s,
	       c.init.data_device ? c.init.data_device : "auto");
	ota_sysconf_done(&c);
	return 0;
}

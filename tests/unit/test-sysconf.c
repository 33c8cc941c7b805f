/* SPDX-License-Identifier: Apache-2.0 */
/* sysconf: the schema of /etc/ota/system.conf and its one parser, for both
 * readers (ota-init's part, ota-update's part with the boot-flow part). */
#include <errno.h>
#include <string.h>

#include "sysconf/sysconf.h"
#include "test.h"

/* Every key of the schema, none at its default. */
static const char every_key[] =
	"[data]\n"
	"device = LABEL=state\n"
	"fstype = btrfs\n"
	"options = noatime,compress=zstd\n"
	"[init]\n"
	"path = /usr/lib/systemd/systemd\n"
	"trial-watchdog = 45\n"
	"[system]\n"
	"compatible = acme-gateway-rev3\n"
	"version = 2024.11.2\n"
	"[update]\n"
	"keyring = /usr/share/ota/ca.pem\n"
	"downgrade = allow\n"
	"status-file = /var/lib/ota/slots.json\n"
	"hooks-dir = /usr/lib/ota/hooks\n"
	"lock-file = /run/lock/ota.lock\n"
	"ca-file = /etc/ssl/acme-ca.pem\n"
	"channel = https://updates.example.org/gw/stable.json\n"
	"outcome-file = /run/fleet/outcome\n"
	"hook-timeout = 86400\n"
	"http-connect-timeout = 12\n"
	"http-attempts = 100\n"
	"http-min-rate = 4096\n"
	"http-stall-time = 3600\n"
	"download-timeout = 7200\n"
	"check-time = yes\n"
	"min-rsa-bits = 4096\n"
	"min-ec-bits = 521\n"
	"min-digest-bits = 384\n"
	"[bootflow]\n"
	"type = rpi-tryboot\n"
	"executable = /usr/libexec/ota-bf\n"
	"timeout = 3600\n"
	"tries = 100\n"
	"device = PARTLABEL=esp\n"
	"directory = ota-env\n"
	"kernel-cmdline = /run/test/cmdline\n"
	"env-mode = file\n"
	"env = /boot/uboot.env\n"
	"env-redundant = /boot/uboot-redund.env\n"
	"env-offset = 0x10000\n"
	"env-size = 16384\n"
	"env-redundant-offset = 0\n"
	"autoboot = /boot/firmware/autoboot.txt\n"
	"state-file = /boot/firmware/ota.state\n"
	"proc = /run/test/proc\n"
	"partition.left = 5\n"
	"partition.right = 6\n"
	"[memfault]\n"
	"base-url = http://10.1.2.3:8080/mf/\n"
	"project-key-file = /etc/ota/memfault.key\n"
	"hardware-version = gw-rev3\n"
	"software-type = gw-os\n"
	"current-version = 2024.11.2+fleet\n"
	"device-serial = GW00421\n"
	"[hawkbit]\n"
	"server = https://hawkbit.example.org:8443\n"
	"tenant = acme\n"
	"controller-id = gw-00421\n"
	"target-token-file = /etc/ota/hawkbit.token\n"
	"client-cert = /etc/ota/client.pem\n"
	"client-key = /etc/ota/client.key\n"
	"[slot.root-l]\nclass = rootfs\ndevice = /dev/mmcblk0p5\n"
	"[slot.root-r]\nclass = rootfs\nfile = /images/root-r.img\n"
	"[group.left]\nrootfs = root-l\n"
	"[group.right]\nrootfs = root-r\n";

/* The keys every_key cannot hold beside another: a second name of a key in
 * it, a key that excludes one in it. */
static const char other_keys[] =
	"[memfault]\n"
	"software-version = 7.1-rc2\n"
	"[hawkbit]\n"
	"gateway-token-file = /etc/ota/gateway.token\n";

/* A key added to the schema is added to every_key, or this fails. */
TEST(sysconf_every_key_is_in_the_round_trip)
{
	ASSERT_TRUE(test_schema_keys_set(ota_sysconf_key_name, (const char *const[]){ every_key, other_keys, NULL }) >= 40);
}

TEST(sysconf_round_trip_every_key)
{
	struct ota_sysconf c;
	struct ota_error err = { 0 };
	ota_sysconf_init(&c);
	int r = ota_sysconf_parse(&c, OTA_SYSCONF_INIT | OTA_SYSCONF_UPDATE, every_key, "every.conf", &err);
	if (r < 0)
		fprintf(stderr, "  %s\n", err.msg);
	ASSERT_INT_EQ(r, 0);
	const struct ota_init_config *i = &c.init;
	ASSERT_STR_EQ(i->data_device, "LABEL=state");
	ASSERT_STR_EQ(i->data_fstype, "btrfs");
	ASSERT_STR_EQ(i->data_options, "noatime,compress=zstd");
	ASSERT_STR_EQ(i->init, "/usr/lib/systemd/systemd");
	ASSERT_INT_EQ(i->trial_watchdog_s, 45);
	const struct ota_update_config *u = &c.update;
	ASSERT_STR_EQ(u->compatible, "acme-gateway-rev3");
	ASSERT_STR_EQ(u->version, "2024.11.2");
	ASSERT_STR_EQ(u->keyring, "/usr/share/ota/ca.pem");
	ASSERT_INT_EQ(u->downgrade, OTA_DOWNGRADE_ALLOW);
	ASSERT_STR_EQ(u->status_file, "/var/lib/ota/slots.json");
	ASSERT_STR_EQ(u->hooks_dir, "/usr/lib/ota/hooks");
	ASSERT_STR_EQ(u->lock_file, "/run/lock/ota.lock");
	ASSERT_STR_EQ(u->ca_file, "/etc/ssl/acme-ca.pem");
	ASSERT_STR_EQ(u->channel, "https://updates.example.org/gw/stable.json");
	ASSERT_INT_EQ(u->hook_timeout_s, 86400);
	ASSERT_INT_EQ(u->http_connect_timeout_s, 12);
	ASSERT_INT_EQ(u->http_attempts, 100);
	ASSERT_INT_EQ(u->http_min_rate, 4096);
	ASSERT_INT_EQ(u->http_stall_time_s, 3600);
	ASSERT_INT_EQ(u->download_timeout_s, 7200);
	ASSERT_INT_EQ(u->check_time, OTA_CHECK_TIME_YES);
	ASSERT_INT_EQ(u->algorithms.min_rsa_bits, 4096);
	ASSERT_INT_EQ(u->algorithms.min_ec_bits, 521);
	ASSERT_INT_EQ(u->algorithms.min_digest_bits, 384);
	ASSERT_STR_EQ(u->outcome_file, "/run/fleet/outcome");
	ASSERT_STR_EQ(u->memfault.base_url, "http://10.1.2.3:8080/mf/");
	ASSERT_STR_EQ(u->memfault.project_key_file, "/etc/ota/memfault.key");
	ASSERT_STR_EQ(u->memfault.hardware_version, "gw-rev3");
	ASSERT_STR_EQ(u->memfault.software_type, "gw-os");
	ASSERT_STR_EQ(u->memfault.current_version, "2024.11.2+fleet");
	ASSERT_STR_EQ(u->memfault.device_serial, "GW00421");
	ASSERT_STR_EQ(u->hawkbit.server, "https://hawkbit.example.org:8443");
	ASSERT_STR_EQ(u->hawkbit.tenant, "acme");
	ASSERT_STR_EQ(u->hawkbit.controller_id, "gw-00421");
	ASSERT_STR_EQ(u->hawkbit.target_token_file, "/etc/ota/hawkbit.token");
	ASSERT_NULL(u->hawkbit.gateway_token_file);
	ASSERT_STR_EQ(u->hawkbit.client_cert, "/etc/ota/client.pem");
	ASSERT_STR_EQ(u->hawkbit.client_key, "/etc/ota/client.key");
	ASSERT_INT_EQ(u->tries, 100);
	/* the boot-flow part, as ota_bootflow_new takes it */
	const struct ota_bootflow_config *b = &u->bootflow;
	ASSERT_STR_EQ(b->type, "rpi-tryboot");
	ASSERT_STR_EQ(b->executable, "/usr/libexec/ota-bf");
	ASSERT_INT_EQ(b->timeout_ms, 3600000);
	ASSERT_STR_EQ(b->groups[0], "left");
	ASSERT_STR_EQ(b->groups[1], "right");
	ASSERT_STR_EQ(b->device, "PARTLABEL=esp");
	ASSERT_STR_EQ(b->directory, "ota-env");
	ASSERT_STR_EQ(b->cmdline, "/run/test/cmdline");
	ASSERT_STR_EQ(b->env_mode, "file");
	ASSERT_STR_EQ(b->env, "/boot/uboot.env");
	ASSERT_STR_EQ(b->env_redundant, "/boot/uboot-redund.env");
	ASSERT_TRUE(b->env_offset == 0x10000);
	ASSERT_TRUE(b->env_size == 16384);
	ASSERT_TRUE(b->env_redundant_offset == 0);
	ASSERT_TRUE(b->env_has_redundant); /* given, even as 0 */
	ASSERT_STR_EQ(b->autoboot, "/boot/firmware/autoboot.txt");
	ASSERT_STR_EQ(b->state_file, "/boot/firmware/ota.state");
	ASSERT_STR_EQ(b->proc, "/run/test/proc");
	ASSERT_STR_EQ(b->partitions[0].group, "left");
	ASSERT_INT_EQ(b->partitions[0].number, 5);
	ASSERT_STR_EQ(b->partitions[1].group, "right");
	ASSERT_INT_EQ(b->partitions[1].number, 6);
	ASSERT_NULL(b->reboot_fn);
	ASSERT_INT_EQ(u->n_slots, 2);
	const struct ota_slot_config *s = ota_sysconf_slot(u, "right", "rootfs");
	ASSERT_TRUE(s != NULL);
	ASSERT_STR_EQ(s->name, "root-r");
	ASSERT_STR_EQ(s->file, "/images/root-r.img");
	ASSERT_NULL(s->device);
	s = ota_sysconf_slot(u, "left", "rootfs");
	ASSERT_TRUE(s != NULL);
	ASSERT_STR_EQ(s->device, "/dev/mmcblk0p5");
	ASSERT_STR_EQ(ota_sysconf_other_group(u, "left"), "right");
	ota_sysconf_done(&c);
	/* done leaves the defaults, ready for another parse */
	ASSERT_NULL(c.init.init);
	ASSERT_INT_EQ(c.init.trial_watchdog_s, OTA_TRIAL_WATCHDOG_DEFAULT_S);
}

TEST(sysconf_defaults_per_part)
{
	struct ota_sysconf c;
	ota_sysconf_init(&c);
	ASSERT_INT_EQ(c.init.trial_watchdog_s, OTA_TRIAL_WATCHDOG_DEFAULT_S);
	ASSERT_INT_EQ(c.update.tries, OTA_UPDATE_DEFAULT_TRIES);
	ASSERT_INT_EQ(c.update.hook_timeout_s, OTA_UPDATE_DEFAULT_HOOK_TIMEOUT_S);
	ASSERT_INT_EQ(c.update.downgrade, OTA_DOWNGRADE_REFUSE);
	ASSERT_INT_EQ(c.update.check_time, OTA_CHECK_TIME_AUTO);
	ASSERT_INT_EQ(c.update.bootflow.timeout_ms, 0);
	/* String defaults are set by a parse of their part only. */
	ASSERT_INT_EQ(ota_sysconf_parse(&c, OTA_SYSCONF_INIT, "[init]\npath = /bin/busybox\n", "t.conf", NULL), 0);
	ASSERT_NULL(c.update.status_file);
	ASSERT_NULL(c.init.data_options);
	ASSERT_INT_EQ(ota_sysconf_parse(&c, OTA_SYSCONF_UPDATE, every_key, "t.conf", NULL), 0);
	ASSERT_NULL(c.init.init); /* not asked for: not read */
	ota_sysconf_done(&c);
}

/* Each reader's mistakes are its own: ota-init boots with its settings when
 * ota-update's sections are wrong, and the other way round. */
TEST(sysconf_parts_are_independent)
{
	struct ota_sysconf c;
	struct ota_error err = { 0 };
	ota_sysconf_init(&c);
	const char *bad_update = "[data]\nfstype = f2fs\n[update]\nhook-timeout = 0\n[bootflow]\nsurprise = 1\n";
	ASSERT_INT_EQ(ota_sysconf_parse(&c, OTA_SYSCONF_INIT, bad_update, "t.conf", &err), 0);
	ASSERT_STR_EQ(c.init.data_fstype, "f2fs");
	ASSERT_INT_EQ(ota_sysconf_parse(&c, OTA_SYSCONF_UPDATE, bad_update, "t.conf", &err), -EINVAL);
	ASSERT_CONTAINS(err.msg, "t.conf:4: [update] hook-timeout: '0' is not a number in 1..86400");
	ASSERT_STR_EQ(c.init.data_fstype, "f2fs"); /* a failed parse changes nothing */

	char text[sizeof(every_key) + 64];
	(void)snprintf(text, sizeof(text), "[init]\nwatchdog = 9\n%s", every_key);
	ASSERT_INT_EQ(ota_sysconf_parse(&c, OTA_SYSCONF_UPDATE, text, "t.conf", &err), 0);
	ASSERT_STR_EQ(c.update.keyring, "/usr/share/ota/ca.pem");
	ASSERT_INT_EQ(ota_sysconf_parse(&c, OTA_SYSCONF_INIT | OTA_SYSCONF_UPDATE, text, "t.conf", &err), -EINVAL);
	ASSERT_CONTAINS(err.msg, "t.conf:2: unknown key 'watchdog' in section [init]");
	ota_sysconf_done(&c);
}

static void expect_error(unsigned parts, const char *text, int code, const char *msg)
{
	struct ota_sysconf c;
	struct ota_error err = { 0 };
	ota_sysconf_init(&c);
	int r = ota_sysconf_parse(&c, parts, text, "/etc/ota/system.conf", &err);
	if (r != code || !strstr(err.msg, msg))
		fprintf(stderr, "  want '%s', got %d '%s'\n", msg, r, err.msg);
	ASSERT_INT_EQ(r, code);
	ASSERT_CONTAINS(err.msg, msg);
	ASSERT_NULL(c.init.init);
	ASSERT_INT_EQ(c.update.n_slots, 0);
	ota_sysconf_done(&c);
}

/* A section or key of no part is an error for every reader, at its line. */
TEST(sysconf_unknown_sections_and_keys)
{
	const unsigned both[] = { OTA_SYSCONF_INIT, OTA_SYSCONF_UPDATE, OTA_SYSCONF_INIT | OTA_SYSCONF_UPDATE };
	for (size_t i = 0; i < OTA_ELEMENTSOF(both); i++) {
		expect_error(both[i], "[init]\npath = /sbin/init\n\n[mender]\nserver-url = x\n", -EINVAL,
			     "/etc/ota/system.conf:5: unknown section [mender]");
		expect_error(both[i], "# top\nkeyring = /k.pem\n", -EINVAL,
			     "/etc/ota/system.conf:2: key 'keyring' outside of any section");
		expect_error(both[i], "[group.]\nrootfs = x\n", -EINVAL, ":2: unknown section [group.]");
		expect_error(both[i], "[Data]\nfstype = ext4\n", -EINVAL, ":2: unknown section [Data]");
	}
	expect_error(OTA_SYSCONF_INIT, "[data]\nfstype = ext4\nmount-options = ro\n", -EINVAL,
		     "/etc/ota/system.conf:3: unknown key 'mount-options' in section [data]");
	expect_error(OTA_SYSCONF_UPDATE, "[bootflow]\ntype = grub\npartitions = 2\n", -EINVAL,
		     "/etc/ota/system.conf:3: unknown key 'partitions' in section [bootflow]");
	expect_error(OTA_SYSCONF_UPDATE, "[slot.rootfs-0]\nclass = rootfs\nsize = 1G\n", -EINVAL,
		     "/etc/ota/system.conf:3: unknown key 'size' in section [slot.rootfs-0]");
}

/* Repeats are refused in every section, read or skipped. */
TEST(sysconf_duplicate_key)
{
	expect_error(OTA_SYSCONF_INIT, "[bootflow]\ntries = 2\ntype = custom\ntries = 4\n[init]\npath = /sbin/init\n",
		     -EINVAL, "/etc/ota/system.conf:4: key 'tries' given again in [bootflow] (first on line 2)");
	expect_error(OTA_SYSCONF_UPDATE, "[init]\ntrial-watchdog = 10\n[data]\nfstype = xfs\n[init]\ntrial-watchdog = 20\n",
		     -EINVAL, "/etc/ota/system.conf:6: key 'trial-watchdog' given again in [init] (first on line 2)");
	expect_error(OTA_SYSCONF_UPDATE, "[group.one]\nkernel = k1\nkernel = k2\n", -EINVAL,
		     ":3: key 'kernel' given again in [group.one] (first on line 2)");
}

/* A bad value names the file, its line, the section and the key, for each
 * type of value. */
TEST(sysconf_bad_value_names_line_and_key)
{
	unsigned I = OTA_SYSCONF_INIT, U = OTA_SYSCONF_UPDATE;
	expect_error(I, "[init]\n\n\ntrial-watchdog = 3601\n", -EINVAL,
		     "/etc/ota/system.conf:4: [init] trial-watchdog: '3601' is not a number in 0..3600");
	expect_error(I, "[init]\npath = init\n", -EINVAL, ":2: [init] path: 'init' is not an absolute path");
	expect_error(I, "[data]\ndevice = mmcblk0p3\n", -EINVAL, ":2: [data] device: 'mmcblk0p3' is not auto");
	expect_error(U, "[update]\nchannel =\n", -EINVAL, ":2: [update] channel: empty value");
	expect_error(U, "# x\n[update]\ncheck-time = maybe\n", -EINVAL,
		     ":3: [update] check-time: 'maybe' is not auto, yes or no");
	expect_error(U, "[bootflow]\nenv-mode = raw\n", -EINVAL, ":2: [bootflow] env-mode: 'raw' is not native or file");
	expect_error(U, "[bootflow]\ntimeout = 0\n", -EINVAL, ":2: [bootflow] timeout: '0' is not a number in 1..3600");
	expect_error(U, "[bootflow]\nenv-size = 0x\n", -EINVAL, ":2: [bootflow] env-size: '0x' is not a number");
	expect_error(U, "[bootflow]\nenv-redundant-offset = 0x4000000000000001\n", -EINVAL,
		     ":2: [bootflow] env-redundant-offset: '0x4000000000000001' is not a number in 0..2^62");
	expect_error(U, "[bootflow]\npartition.x/y = 2\n", -EINVAL, ":2: [bootflow] partition.x/y: invalid group name");
	expect_error(U, "[update]\nmin-ec-bits = 255\n", -EINVAL,
		     ":2: [update] min-ec-bits: '255' is not a number in 256..521");
	expect_error(U, "[slot.a]\nclass = root fs\n", -EINVAL, ":2: [slot.a] class: invalid class name 'root fs'");
	/* checks across keys name the file and the section */
	expect_error(U, "[system]\nversion = 1\n", -EINVAL, "/etc/ota/system.conf: [system] compatible is required");
}

/* The least ota-update takes, with the channel given. */
static void minimal_with(char *buf, size_t size, const char *channel, const char *more)
{
	(void)snprintf(buf, size,
		       "[system]\ncompatible = c\nversion = 1\n[update]\nkeyring = /k.pem\nchannel = %s\n"
		       "[bootflow]\ntype = custom\nexecutable = /bf\n[slot.x]\nclass = r\nfile = /x\n"
		       "[slot.y]\nclass = r\nfile = /y\n[group.a]\nr = x\n[group.b]\nr = y\n%s",
		       channel, more);
}

static int parse_minimal(struct ota_sysconf *c, const char *channel, const char *more, struct ota_error *err)
{
	char text[2048];
	minimal_with(text, sizeof(text), channel, more);
	ota_sysconf_init(c);
	int r = ota_sysconf_parse(c, OTA_SYSCONF_UPDATE, text, "s.conf", err);
	if (r < 0)
		fprintf(stderr, "  %s\n", err->msg);
	return r;
}

static void minimal_error(const char *channel, const char *more, const char *msg)
{
	char text[2048];
	minimal_with(text, sizeof(text), channel, more);
	expect_error(OTA_SYSCONF_UPDATE, text, -EINVAL, msg);
}

/* other_keys round-trip, and each excludes its partner in every_key. */
TEST(sysconf_other_keys)
{
	struct ota_sysconf c;
	struct ota_error err = { 0 };
	ASSERT_INT_EQ(parse_minimal(&c, "https://u.example.net/c.json", other_keys, &err), 0);
	ASSERT_STR_EQ(c.update.memfault.current_version, "7.1-rc2");
	ASSERT_STR_EQ(c.update.hawkbit.gateway_token_file, "/etc/ota/gateway.token");
	ASSERT_NULL(c.update.hawkbit.target_token_file);
	ota_sysconf_done(&c);
	ASSERT_NULL(c.update.memfault.current_version);

	minimal_error("x", "[memfault]\ncurrent-version = 3\nsoftware-version = 3\n",
		      "system.conf:22: [memfault] software-version: the same setting as current-version, given already");
	minimal_error("x", "[memfault]\nsoftware-version = 3\ncurrent-version = 4\n",
		      "system.conf:22: [memfault] current-version: the same setting as software-version, given already");
	minimal_error("x", "[hawkbit]\ngateway-token-file = /g\ntarget-token-file = /t\n",
		      "system.conf: [hawkbit] target-token-file and gateway-token-file exclude each other");
	minimal_error("x", "[hawkbit]\nclient-key = /k.pem\n", "system.conf: [hawkbit] client-cert and client-key go together");
}

/* What channel = memfault | hawkbit needs; values only a URL may be. */
TEST(sysconf_fleet_checks)
{
	unsigned U = OTA_SYSCONF_UPDATE;
	expect_error(U, "[hawkbit]\nserver = ftp://hawkbit.local/\n", -EINVAL,
		     ":2: [hawkbit] server: 'ftp://hawkbit.local/' is not an http(s) URL");
	expect_error(U, "[memfault]\n\nbase-url = device.memfault.com\n", -EINVAL,
		     ":3: [memfault] base-url: 'device.memfault.com' is not an http(s) URL");
	expect_error(U, "[update]\noutcome-file = outcome\n", -EINVAL,
		     ":2: [update] outcome-file: 'outcome' is not an absolute path");

	minimal_error("memfault", "", "system.conf: [update] channel = memfault needs [memfault] project-key-file");
	minimal_error("memfault", "[memfault]\nproject-key-file = /k\nsoftware-type = t\n",
		      "system.conf: [update] channel = memfault needs [memfault] hardware-version");
	minimal_error("memfault", "[memfault]\nproject-key-file = /k\nhardware-version = h\n",
		      "system.conf: [update] channel = memfault needs [memfault] software-type");
	minimal_error("hawkbit", "[hawkbit]\ntarget-token-file = /t\n",
		      "system.conf: [update] channel = hawkbit needs [hawkbit] server");
	minimal_error("hawkbit", "[hawkbit]\nserver = http://h:8080\ntenant = t\n",
		      "system.conf: [update] channel = hawkbit needs [hawkbit] target-token-file, gateway-token-file or client-cert");

	struct ota_sysconf c;
	struct ota_error err = { 0 };
	ASSERT_INT_EQ(parse_minimal(&c, "hawkbit", "[hawkbit]\nserver = http://h:8080\nclient-cert = /c.pem\n"
				    "client-key = /c.key\n", &err), 0);
	ASSERT_STR_EQ(c.update.channel, "hawkbit");
	ASSERT_NULL(c.update.hawkbit.tenant);
	ota_sysconf_done(&c);
	ASSERT_INT_EQ(parse_minimal(&c, "memfault", "[memfault]\nproject-key-file = /k\nhardware-version = h\n"
				    "software-type = t\n", &err), 0);
	ASSERT_NULL(c.update.memfault.base_url);
	ASSERT_NULL(c.update.memfault.current_version);
	ASSERT_NULL(c.update.outcome_file);
	ota_sysconf_done(&c);
	/* the sections are ota-update's: ota-init skips them unread */
	expect_error(OTA_SYSCONF_INIT, "[hawkbit]\nserver = nonsense\n[init]\npath = init\n", -EINVAL,
		     ":4: [init] path: 'init' is not an absolute path");
}

TEST(sysconf_name_valid)
{
	ASSERT_TRUE(ota_sysconf_name_valid("rootfs_B-2"));
	ASSERT_TRUE(!ota_sysconf_name_valid(""));
	ASSERT_TRUE(!ota_sysconf_name_valid(NULL));
	ASSERT_TRUE(!ota_sysconf_name_valid("a.b"));
	char name[OTA_BOOTFLOW_NAME_MAX + 1];
	memset(name, 'n', sizeof(name) - 1);
	name[OTA_BOOTFLOW_NAME_MAX] = '\0';
	ASSERT_TRUE(!ota_sysconf_name_valid(name));
	name[OTA_BOOTFLOW_NAME_MAX - 1] = '\0';
	ASSERT_TRUE(ota_sysconf_name_valid(name));
}

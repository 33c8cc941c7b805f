/* SPDX-License-Identifier: Apache-2.0 */
/* The boot steps of ota-init; see init.h for the sequence and invariants. */
#include <errno.h>
#include <fcntl.h>
#include <libmount.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <linux/magic.h>

#include "init/init.h"

void ota_boot_init(struct ota_boot *b)
{
	memset(b, 0, sizeof(*b));
	ota_sysconf_init(&b->config);
	ota_state_config_init(&b->state);
	b->state_root = "";
	b->overlay_requested = OTA_OVERLAY_DISCARD;
	b->overlay = OTA_OVERLAY_DISABLED;
	(void)!ota_format(b->slot, sizeof(b->slot), "unknown");
	(void)!ota_format(b->boot_id, sizeof(b->boot_id), "unknown");
}

void ota_boot_done(struct ota_boot *b)
{
	ota_cmdline_done(&b->cmdline);
	ota_sysconf_done(&b->config);
	ota_state_config_done(&b->state);
}

const char *ota_boot_degrade(struct ota_boot *b, const char *fmt, ...)
{
	char reason[512];
	va_list ap;
	va_start(ap, fmt);
	(void)vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	size_t used = strlen(b->degraded);
	(void)snprintf(b->degraded + used, sizeof(b->degraded) - used, "%s%s", used ? "; " : "", reason);
	return b->degraded + used + (used ? 2 : 0);
}

/* ---- step 1: API filesystems ------------------------------------------- */

struct api_mount {
	const char *source, *target, *fstype, *options;
	unsigned long flags;
	mode_t mode;
};

static const struct api_mount api_mounts[] = {
	{ "proc", "/proc", "proc", NULL, MS_NOSUID | MS_NODEV | MS_NOEXEC, 0555 },
	{ "sysfs", "/sys", "sysfs", NULL, MS_NOSUID | MS_NODEV | MS_NOEXEC, 0555 },
	{ "devtmpfs", "/dev", "devtmpfs", "mode=0755", MS_NOSUID | MS_NOEXEC, 0755 },
	{ "tmpfs", "/run", "tmpfs", "mode=0755", MS_NOSUID | MS_NODEV, 0755 },
};

/* /proc is checked by its magic because mountinfo lives in it; the others by
 * mountinfo, which, unlike comparing st_dev with the parent, also sees a
 * mount of the same filesystem (a bind). */
static int api_mounted(const struct api_mount *m)
{
	if (strcmp(m->target, "/proc") == 0) {
		struct statfs sfs;
		return statfs("/proc", &sfs) == 0 && sfs.f_type == PROC_SUPER_MAGIC;
	}
	return ota_is_mount_point(m->target);
}

int ota_boot_mount_api_filesystems(struct ota_boot *b, struct ota_error *err)
{
	for (size_t i = 0; i < OTA_ELEMENTSOF(api_mounts); i++) {
		const struct api_mount *m = &api_mounts[i];
		int r = api_mounted(m);
		if (r < 0)
			return ota_error_errno(err, r, "check whether '%s' is mounted", m->target);
		if (r > 0)
			continue;
		/* The root is read-only, so the directory has to be in the image;
		 * mkdir is only a help for writable roots. */
		(void)mkdir(m->target, m->mode);
		if (mount(m->source, m->target, m->fstype, m->flags, m->options) < 0)
			return ota_error_errno(err, -errno, "mount %s on '%s'", m->fstype, m->target);
		size_t used = strlen(b->api_mounted);
		(void)snprintf(b->api_mounted + used, sizeof(b->api_mounted) - used, "%s%s", used ? " " : "",
			       m->target);
	}
	return 0;
}

/* ---- step 2: settings ---------------------------------------------------- */

/* State configuration errors never stop a boot; they are logged and listed
 * in the status file, and the rest of the configuration applies. */
static void record_state_errors(struct ota_boot *b)
{
	b->state_errors[0] = '\0';
	for (size_t i = 0; i < b->state.n_errors; i++) {
		size_t used = strlen(b->state_errors);
		log_error("state configuration: %s", b->state.errors[i]);
		(void)snprintf(b->state_errors + used, sizeof(b->state_errors) - used, "%s%s", used ? " | " : "",
			       b->state.errors[i]);
	}
}

static void load_state_config(struct ota_boot *b)
{
	struct ota_error err = { 0 };
	ota_state_config_done(&b->state);
	if (ota_state_config_load(&b->state, b->state_root, &err) < 0)
		log_error("%s; no paths are persisted", err.msg);
	/* A runtime.conf that does not parse is in state_errors (logged below)
	 * and kept as it is; the boot goes on without its entries. */
	if (b->data_mounted && ota_state_config_load_runtime(&b->state, OTA_DATA_DIR, &err) == -ENOMEM)
		log_error("%s; runtime entries are not applied", err.msg);
	record_state_errors(b);
}

void ota_boot_load_settings(struct ota_boot *b, const char *cmdline_text, const char *config_path,
			    const char *state_root)
{
	struct ota_error err = { 0 };

	if (ota_cmdline_parse(cmdline_text, &b->cmdline, &err) < 0)
		log_error("%s; ignoring the kernel command line", err.msg);
	if (b->cmdline.debug)
		ota_log_set_max_level(OTA_LOG_DEBUG);

	int r = ota_sysconf_load(&b->config, OTA_SYSCONF_INIT, config_path, &err);
	if (r < 0 && r != -ENOENT) {
		(void)!ota_format(b->config_error, sizeof(b->config_error), "%s", err.msg);
		log_error("%s; using the default configuration", err.msg);
	}

	b->state_root = state_root;
	load_state_config(b);
	b->overlay_requested = b->state.overlay;
	if (b->cmdline.overlay) {
		enum ota_overlay_mode m = ota_overlay_mode_from_string(b->cmdline.overlay);
		if (m == OTA_OVERLAY_MODE_INVALID)
			log_error("ota.overlay=%s is not one of discard, in-memory, persist, disabled; ignoring it",
				  b->cmdline.overlay);
		else
			b->overlay_requested = m;
	}
	if (ota_read_line("/proc/sys/kernel/random/boot_id", b->boot_id, sizeof(b->boot_id)) < 0)
		log_warning("cannot read the boot id; discarded overlays share one trash name");
}

/* ---- step 3: the booted system ------------------------------------------- */

int ota_boot_slot_from_partname(const char *partname, char *buf, size_t size)
{
	if (!partname || !*partname)
		return -EINVAL;
	const char *sep = strrchr(partname, '-');
	const char *usep = strrchr(partname, '_');
	if (!sep || (usep && usep > sep))
		sep = usep;
	const char *slot = (sep && sep[1]) ? sep + 1 : partname;
	return ota_format(buf, size, "%s", slot);
}

static void cross_check_root(struct ota_boot *b)
{
	struct ota_error err = { 0 };
	dev_t devno;
	if (!b->cmdline.root) {
		(void)!ota_format(b->root_check, sizeof(b->root_check), "no root= on the command line");
		return;
	}
	if (ota_blockdev_resolve(b->cmdline.root, &devno, NULL, 0, &err) < 0) {
		(void)!ota_format(b->root_check, sizeof(b->root_check), "root=%s not resolved: %s", b->cmdline.root,
				 err.msg);
		log_warning("%s", b->root_check);
		return;
	}
	if (devno != b->system_devno) {
		(void)!ota_format(b->root_check, sizeof(b->root_check),
				 "root=%s is %u:%u but / is mounted from %s (%u:%u)", b->cmdline.root,
				 major(devno), minor(devno), b->system_dev, major(b->system_devno),
				 minor(b->system_devno));
		log_warning("%s; trusting the mounted root", b->root_check);
		return;
	}
	(void)!ota_format(b->root_check, sizeof(b->root_check), "ok");
}

/* Slot name: ota.slot= (set by the boot flow) wins; else the GPT name of the
 * booted partition ("system-a" -> "a"); else the partition's device name. */
static void find_slot(struct ota_boot *b)
{
	_cleanup_free_ struct ota_partition *parts = NULL;
	size_t n = 0;

	if (b->cmdline.slot && b->cmdline.slot[0]) {
		(void)!ota_format(b->slot, sizeof(b->slot), "%s", b->cmdline.slot);
		return;
	}
	if (b->disk_dev[0] && ota_blockdev_list_partitions(b->disk_devno, &parts, &n, NULL) == 0) {
		for (size_t i = 0; i < n; i++)
			if (parts[i].devno == b->system_devno &&
			    ota_boot_slot_from_partname(parts[i].name, b->slot, sizeof(b->slot)) == 0)
				return;
	}
	const char *base = strrchr(b->system_dev, '/');
	(void)!ota_format(b->slot, sizeof(b->slot), "%s", base ? base + 1 : "unknown");
}

int ota_boot_find_system(struct ota_boot *b, struct ota_error *err)
{
	struct stat st;
	if (stat("/", &st) < 0)
		return ota_error_errno(err, -errno, "stat '/'");
	if (major(st.st_dev) == 0)
		return ota_error_set(err, -ENOTBLK, "/ is not on a block device (device %u:%u)",
				     major(st.st_dev), minor(st.st_dev));
	b->system_devno = st.st_dev;
	int r = ota_blockdev_devpath(st.st_dev, b->system_dev, sizeof(b->system_dev), err);
	if (r < 0)
		return r;
	if (ota_blockdev_whole_disk(b->system_devno, &b->disk_devno, b->disk_dev, sizeof(b->disk_dev), err) < 0) {
		log_warning("%s", err->msg);
		b->disk_dev[0] = '\0';
	}
	cross_check_root(b);
	find_slot(b);
	return 0;
}

/* ---- step 3b: provisioning ------------------------------------------------ */

static void summarize_plan(struct ota_boot *b)
{
	unsigned created = 0, grown = 0, formatted = 0;
	for (size_t i = 0; i < b->plan.n_actions; i++) {
		const struct ota_part_action *a = &b->plan.actions[i];
		created += a->kind == OTA_PART_CREATE;
		grown += a->kind == OTA_PART_GROW;
		formatted += a->format;
	}
	if (!ota_part_plan_has_work(&b->plan))
		(void)!ota_format(b->provision, sizeof(b->provision), "provisioned");
	else
		(void)!ota_format(b->provision, sizeof(b->provision), "done: %u created, %u grown, %u formatted%s", created,
				  grown, formatted, b->plan.relocate_backup ? ", GPT backup header moved" : "");
}

void ota_boot_provision(struct ota_boot *b, const char *layout_path)
{
	struct ota_error err = { 0 };
	int r = ota_layout_load(&b->layout, layout_path, &err);
	if (r == -ENOENT) {
		(void)!ota_format(b->provision, sizeof(b->provision), "no layout");
		return;
	}
	if (r < 0) {
		(void)!ota_format(b->provision, sizeof(b->provision), "error: %s", err.msg);
		log_error("%s", ota_boot_degrade(b, "layout not applied: %s", err.msg));
		return;
	}
	b->have_layout = true;
	if (!b->disk_dev[0]) {
		(void)!ota_format(b->provision, sizeof(b->provision), "error: boot disk unknown");
		log_error("%s", ota_boot_degrade(b, "layout not applied: the boot disk is unknown"));
		return;
	}
	if (ota_part_provision(b->disk_dev, &b->layout, true, &b->plan, &err) < 0) {
		(void)!ota_format(b->provision, sizeof(b->provision), "error: %s", err.msg);
		log_error("%s", ota_boot_degrade(b, "provisioning %s: %s", b->disk_dev, err.msg));
		return;
	}
	summarize_plan(b);
	if (b->plan.unreachable)
		log_warning("%s: MBR reaches only the first %llu MiB; the last %llu MiB stay unused (a GPT layout uses them)",
			    b->disk_dev, (unsigned long long)((b->plan.disk_size - b->plan.unreachable) >> 20),
			    (unsigned long long)(b->plan.unreachable >> 20));
	if (strcmp(b->provision, "provisioned") != 0)
		log_notice("provisioned %s: %s", b->disk_dev, b->provision);
}

void ota_boot_grow_data(struct ota_boot *b)
{
	char path[PATH_MAX], line[32];
	struct ota_error err = { 0 };
	uint64_t partno;
	const char *name = strrchr(b->data_dev, '/');
	if (!b->have_layout || !b->data_mounted || !name)
		return;
	if (ota_format(path, sizeof(path), "/sys/class/block/%s/partition", name + 1) < 0 ||
	    ota_read_line(path, line, sizeof(line)) < 0 || ota_parse_u64(line, &partno) < 0)
		return;
	for (size_t i = 0; i < b->plan.n_actions; i++) {
		const struct ota_part_action *a = &b->plan.actions[i];
		if (a->partno != partno || !b->layout.parts[a->index].grow)
			continue;
		int r = ota_part_grow_mounted_fs(OTA_DATA_DIR, b->data_dev, &err);
		if (r < 0)
			log_error("%s", err.msg);
		else if (r > 0) {
			b->data_grown = true;
			log_notice("grew the data filesystem on %s", b->data_dev);
		}
	}
}

/* ---- step 4: the data partition -------------------------------------------- */

static int find_data_on_disk(struct ota_boot *b, struct ota_error *err)
{
	_cleanup_free_ struct ota_partition *parts = NULL;
	size_t n = 0;
	int r = ota_blockdev_list_partitions(b->disk_devno, &parts, &n, err);
	if (r < 0)
		return r;
	/* The GPT name is the stronger statement of intent; a filesystem label
	 * is the fallback for MBR disks. */
	for (int by_label = 0; by_label < 2; by_label++) {
		for (size_t i = 0; i < n; i++) {
			const char *v = by_label ? parts[i].label : parts[i].name;
			if (parts[i].devno == b->system_devno || strcmp(v, "data") != 0)
				continue;
			return ota_format(b->data_dev, sizeof(b->data_dev), "%s", parts[i].devpath);
		}
	}
	return ota_error_set(err, -ENOENT, "no partition named or labelled 'data' on %s", b->disk_dev);
}

int ota_boot_find_data(struct ota_boot *b, struct ota_error *err)
{
	const char *spec = b->cmdline.data ? b->cmdline.data : b->config.init.data_device;
	dev_t devno;
	if (spec)
		return ota_blockdev_resolve(spec, &devno, b->data_dev, sizeof(b->data_dev), err);
	if (b->disk_dev[0])
		return find_data_on_disk(b, err);
	/* Boot disk unknown: any partition called data will do. */
	int r = ota_blockdev_resolve("PARTLABEL=data", &devno, b->data_dev, sizeof(b->data_dev), err);
	if (r < 0)
		r = ota_blockdev_resolve("LABEL=data", &devno, b->data_dev, sizeof(b->data_dev), err);
	return r;
}

/* Splits "noatime,commit=30" into MS_* flags and the filesystem's own data
 * with libmount's option map, the same one mount(8) uses. */
static int parse_mount_options(const char *options, unsigned long *ret_flags, char **ret_fs_data,
			       struct ota_error *err)
{
	_cleanup_free_ char *vfs = NULL, *fs = NULL;
	unsigned long flags = 0;
	if (!options || !*options) {
		*ret_flags = 0;
		*ret_fs_data = NULL;
		return 0;
	}
	if (mnt_split_optstr(options, NULL, &vfs, &fs, 0, 0) != 0)
		return ota_error_set(err, -EINVAL, "cannot parse mount options '%s'", options);
	if (vfs && mnt_optstr_get_flags(vfs, &flags, mnt_get_builtin_optmap(MNT_LINUX_MAP)) != 0)
		return ota_error_set(err, -EINVAL, "cannot parse mount options '%s'", options);
	*ret_flags = flags;
	*ret_fs_data = TAKE_PTR(fs);
	return 0;
}

static bool is_ext_fs(const char *fstype)
{
	return strcmp(fstype, "ext4") == 0 || strcmp(fstype, "ext3") == 0 || strcmp(fstype, "ext2") == 0;
}

/* A power cut can tear a write that ext4 does not journal -- its superblock
 * (1 KiB over two 512-byte sectors) -- and the kernel then refuses the file
 * system (bad checksum) although its backups and journal are intact
 * (tests/crash found this). e2fsck in preen mode repairs only what is safe
 * without a question: first from the primary superblock, then from the
 * first backup superblock (its place depends on the block size, so each is
 * tried; a wrong guess fails at once). Never -y: a file system preen cannot
 * fix is left as it is for a human, and the boot degrades. Bounded like
 * mkfs: a stuck check must not hang the boot. */
#define FSCK_TIMEOUT_MS (10u * 60u * 1000u)

static int repair_ext_fs(const char *dev)
{
	static const char *const backups[][2] = { { "1024", "8193" }, { "2048", "16384" }, { "4096", "32768" } };
	struct ota_error err = { 0 };
	log_warning("data partition %s does not mount: checking it with e2fsck -p", dev);
	const char *preen[] = { "e2fsck", "-p", dev, NULL };
	int r = ota_run_system_program(preen, FSCK_TIMEOUT_MS, &err);
	for (size_t i = 0; i < OTA_ELEMENTSOF(backups) && r >= 4; i++) {
		const char *with_backup[] = { "e2fsck", "-p", "-B", backups[i][0], "-b", backups[i][1], dev, NULL };
		r = ota_run_system_program(with_backup, FSCK_TIMEOUT_MS, &err);
	}
	if (r < 0 || r >= 4) {
		log_error("e2fsck -p %s: %s", dev, r < 0 ? err.msg : "not repairable without a human");
		return r < 0 ? r : -EUCLEAN;
	}
	log_notice("e2fsck repaired data partition %s (status %d)", dev, r);
	return 0;
}

int ota_boot_mount_data(struct ota_boot *b, struct ota_error *err)
{
	int r = ota_boot_find_data(b, err);
	if (r < 0)
		return r;

	const char *fstype = b->config.init.data_fstype;
	if (!fstype) {
		r = ota_blockdev_probe_fs(b->data_dev, b->data_fstype, sizeof(b->data_fstype), NULL, 0, err);
		if (r < 0)
			return r;
		if (!b->data_fstype[0])
			return ota_error_set(err, -EUCLEAN, "no filesystem found on data partition %s", b->data_dev);
		fstype = b->data_fstype;
	} else {
		(void)!ota_format(b->data_fstype, sizeof(b->data_fstype), "%s", fstype);
	}

	unsigned long flags = 0;
	_cleanup_free_ char *fs_data = NULL;
	r = parse_mount_options(b->config.init.data_options ? b->config.init.data_options : "noatime", &flags, &fs_data,
				err);
	if (r < 0)
		return r;
	r = ota_mkdir_p(OTA_DATA_DIR, 0755);
	if (r < 0)
		return ota_error_errno(err, r, "create '%s'", OTA_DATA_DIR);
	if (mount(b->data_dev, OTA_DATA_DIR, fstype, flags, fs_data) < 0) {
		r = -errno;
		if (!is_ext_fs(fstype) || repair_ext_fs(b->data_dev) < 0 ||
		    mount(b->data_dev, OTA_DATA_DIR, fstype, flags, fs_data) < 0)
			return ota_error_errno(err, r, "mount data partition %s (%s) on '%s'", b->data_dev, fstype,
					       OTA_DATA_DIR);
		b->data_repaired = true;
	}
	b->data_mounted = true;
	return 0;
}

/* ---- step 4c: the state store ------------------------------------------ */

void ota_boot_prepare_state(struct ota_boot *b)
{
	struct ota_error err = { 0 };
	if (!b->data_mounted)
		return;
	load_state_config(b); /* now with the runtime entries */
	int r = ota_state_apply_reset(OTA_DATA_DIR, &b->state, b->boot_id, &err);
	if (r < 0)
		log_error("%s", ota_boot_degrade(b, "factory reset not completed: %s", err.msg));
	if (r > 0) {
		log_notice("factory reset done");
		b->reset_done = true;
		load_state_config(b);
	}
	/* Copies interrupted by a power cut: never committed, so never used. */
	if (ota_state_clean_staging(OTA_DATA_DIR, "staging", &err) < 0)
		log_warning("%s", err.msg);
}

/* ---- step 5: the new root ------------------------------------------------ */

/* The slot must stay bit-identical to what was installed (delta updates
 * reuse its blocks), so the filesystem is made read-only even if the kernel
 * was told rw; then a read-only bind of it becomes the overlay's lower. */
static int bind_system_readonly(struct ota_error *err)
{
	struct statfs sfs;
	if (statfs("/", &sfs) == 0 && !(sfs.f_flags & ST_RDONLY) &&
	    mount(NULL, "/", NULL, MS_REMOUNT | MS_RDONLY, NULL) < 0)
		log_warning("cannot remount / read-only: %s", strerror(errno));
	int r = ota_mkdir_p(OTA_SYSTEM_DIR, 0755);
	if (r < 0)
		return ota_error_errno(err, r, "create '%s'", OTA_SYSTEM_DIR);
	if (mount("/", OTA_SYSTEM_DIR, NULL, MS_BIND, NULL) < 0)
		return ota_error_errno(err, -errno, "bind / on '%s'", OTA_SYSTEM_DIR);
	if (mount(NULL, OTA_SYSTEM_DIR, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL) < 0)
		return ota_error_errno(err, -errno, "make '%s' read-only", OTA_SYSTEM_DIR);
	return 0;
}

static int try_overlay(struct ota_boot *b, enum ota_overlay_mode mode, struct ota_error *err)
{
	struct ota_overlay_dirs dirs;
	int r = ota_state_prepare_overlay(mode, b->data_mounted ? OTA_DATA_DIR : NULL, b->slot, b->boot_id,
					  &dirs, err);
	if (r < 0)
		return r;
	return ota_state_mount_overlay(OTA_SYSTEM_DIR, &dirs, OTA_ROOT_DIR, err);
}

void ota_boot_build_root(struct ota_boot *b)
{
	struct ota_error err = { 0 };
	enum ota_overlay_mode mode = b->overlay_requested;

	if (mode == OTA_OVERLAY_DISABLED) {
		b->overlay = OTA_OVERLAY_DISABLED;
		return;
	}
	if (bind_system_readonly(&err) < 0) {
		log_error("%s", ota_boot_degrade(b, "%s; root stays read-only without overlay", err.msg));
		b->overlay = OTA_OVERLAY_DISABLED;
		return;
	}
	if (ota_overlay_mode_needs_data(mode) && !b->data_mounted) {
		log_warning("overlay mode '%s' needs the data partition; using in-memory",
			    ota_overlay_mode_to_string(mode));
		mode = OTA_OVERLAY_IN_MEMORY;
	}
	if (try_overlay(b, mode, &err) == 0) {
		b->overlay = mode;
		return;
	}
	log_error("%s", ota_boot_degrade(b, "overlay '%s': %s", ota_overlay_mode_to_string(mode), err.msg));
	if (mode != OTA_OVERLAY_IN_MEMORY && try_overlay(b, OTA_OVERLAY_IN_MEMORY, &err) == 0) {
		b->overlay = OTA_OVERLAY_IN_MEMORY;
		return;
	}
	if (mode != OTA_OVERLAY_IN_MEMORY)
		log_error("%s", ota_boot_degrade(b, "overlay 'in-memory': %s", err.msg));
	log_error("booting on the read-only root without overlay");
	b->overlay = OTA_OVERLAY_DISABLED;
}

/* ---- step 5b: persisted paths ------------------------------------------- */

void ota_boot_bind_state(struct ota_boot *b)
{
	struct ota_error err = { 0 };
	const char *new_root = b->overlay == OTA_OVERLAY_DISABLED ? "" : OTA_ROOT_DIR;
	const char *data = b->data_mounted ? OTA_DATA_DIR : NULL;

	/* The running root is still the system slot: "" is the image. */
	for (size_t i = 0; data && i < b->state.n_entries; i++) {
		const struct ota_persist_entry *e = &b->state.entries[i];
		if (ota_state_seed(data, "", e, &err) < 0 || ota_state_bind(data, new_root, e, &err) < 0) {
			log_error("%s", ota_boot_degrade(b, "%s not persisted: %s", e->path, err.msg));
			continue;
		}
		b->persisted++;
	}
	if (b->state.n_entries && !data)
		log_warning("no data partition: %zu persisted paths are not available", b->state.n_entries);
	if (ota_state_setup_machine_id(data, new_root, &err) < 0)
		log_error("machine id: %s", err.msg);
}

/* ---- step 6: switch root --------------------------------------------------- */

static int move_mount_to(const char *from, const char *to, struct ota_error *err)
{
	int r = ota_mkdir_p(to, 0755);
	if (r < 0)
		return ota_error_errno(err, r, "create '%s'", to);
	if (mount(from, to, NULL, MS_MOVE, NULL) < 0)
		return ota_error_errno(err, -errno, "move mount '%s' to '%s'", from, to);
	return 0;
}

/* The new root gets a fresh /run: the old /run holds the new root itself, and
 * a mount cannot be moved beneath itself. What ota-init mounted under
 * /run/ota (system, data, in-memory upper) moves along. */
static int populate_new_run(const struct ota_boot *b, struct ota_error *err)
{
	static const char *const subs[] = { OTA_SYSTEM_DIR, OTA_DATA_DIR, OTA_TMPFS_OVERLAY_DIR };
	char target[PATH_MAX];
	int r = ota_mkdir_p(OTA_ROOT_DIR "/run", 0755);
	if (r < 0)
		return ota_error_errno(err, r, "create '%s/run'", OTA_ROOT_DIR);
	if (mount("tmpfs", OTA_ROOT_DIR "/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755") < 0)
		return ota_error_errno(err, -errno, "mount tmpfs on '%s/run'", OTA_ROOT_DIR);
	for (size_t i = 0; i < OTA_ELEMENTSOF(subs); i++) {
		r = ota_is_mount_point(subs[i]);
		if (r <= 0)
			continue;
		if (ota_format(target, sizeof(target), "%s%s", OTA_ROOT_DIR, subs[i]) < 0)
			return ota_error_set(err, -ENAMETOOLONG, "path too long");
		r = move_mount_to(subs[i], target, err);
		if (r < 0)
			return r;
	}
	return 0;
}

/* Past the point of no return: /dev, /proc and /sys already live in the new
 * root, so entering it with chroot is the only way left to a working system. */
static int enter_new_root_anyway(struct ota_boot *b, int r, const char *what, struct ota_error *err)
{
	if (chdir(OTA_ROOT_DIR) == 0 && chroot(".") == 0 && chdir("/") == 0)
		b->root_switched = true;
	return ota_error_errno(err, r, "%s%s", what,
			       b->root_switched ? " (entered the new root with chroot instead)" : "");
}

int ota_boot_switch_root(struct ota_boot *b, struct ota_error *err)
{
	static const char *const api[] = { "/dev", "/proc", "/sys" };
	char target[PATH_MAX];
	int r;

	if (b->overlay == OTA_OVERLAY_DISABLED)
		return 0;
	/* Everything that can fail without harm comes first; on failure the
	 * system boots on the read-only root it has. pivot_root refuses shared
	 * mounts (EINVAL), and propagation back to the old tree is not wanted. */
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		r = ota_error_errno(err, -errno, "make / private");
	else
		r = populate_new_run(b, err);
	for (size_t i = 0; r == 0 && i < OTA_ELEMENTSOF(api); i++) {
		if (ota_format(target, sizeof(target), "%s%s", OTA_ROOT_DIR, api[i]) < 0)
			r = ota_error_set(err, -ENAMETOOLONG, "path too long");
		else if ((r = ota_mkdir_p(target, 0755)) < 0)
			r = ota_error_errno(err, r, "create '%s'", target);
	}
	if (r < 0) {
		b->overlay = OTA_OVERLAY_DISABLED;
		return r;
	}

	for (size_t i = 0; i < OTA_ELEMENTSOF(api); i++) {
		(void)!ota_format(target, sizeof(target), "%s%s", OTA_ROOT_DIR, api[i]);
		if (mount(api[i], target, NULL, MS_MOVE, NULL) < 0) {
			char what[PATH_MAX + 64];
			(void)snprintf(what, sizeof(what), "move mount '%s' to '%s'", api[i], target);
			return enter_new_root_anyway(b, -errno, what, err);
		}
	}
	if (chdir(OTA_ROOT_DIR) < 0)
		return enter_new_root_anyway(b, -errno, "chdir to the new root", err);
	/* pivot_root rather than switch_root's MS_MOVE + chroot: we were not
	 * started from an initramfs, so the old root is a real mount that can
	 * be pivoted away and detached. That leaves the system slot reachable
	 * only through the read-only bind in /run/ota/system, and gives every
	 * process a real root (a chroot'ed root breaks container runtimes). */
	if (syscall(SYS_pivot_root, ".", ".") < 0)
		return enter_new_root_anyway(b, -errno, "pivot_root to '" OTA_ROOT_DIR "'", err);
	/* The old root is now stacked on top of "."; detach it. */
	if (umount2(".", MNT_DETACH) < 0)
		log_warning("cannot detach the old root: %s", strerror(errno));
	if (chdir("/") < 0)
		log_warning("cannot chdir to the new root: %s", strerror(errno));
	b->root_switched = true;
	return 0;
}

/* ---- step 7: status, trash, exec ----------------------------------------- */

/* Values are single-quoted for sh; a quote inside becomes '\''. */
static void append_kv(char *buf, size_t size, const char *key, const char *value)
{
	size_t used = strlen(buf);
	if (used + 1 >= size)
		return;
	char *p = buf + used, *end = buf + size - 1;
	int n = snprintf(p, (size_t)(end - p) + 1, "%s='", key);
	if (n < 0 || p + n >= end)
		return;
	p += n;
	for (const char *v = value ? value : ""; *v && p + 5 < end; v++) {
		if (*v == '\'') {
			memcpy(p, "'\\''", 4);
			p += 4;
		} else if (*v != '\n') {
			*p++ = *v;
		}
	}
	if (p + 2 <= end) {
		*p++ = '\'';
		*p++ = '\n';
	}
	*p = '\0';
}

int ota_boot_write_status(const struct ota_boot *b, struct ota_error *err)
{
	char buf[4096] = "";
	append_kv(buf, sizeof(buf), "slot", b->slot);
	append_kv(buf, sizeof(buf), "system_device", b->system_dev);
	append_kv(buf, sizeof(buf), "disk", b->disk_dev);
	append_kv(buf, sizeof(buf), "root_check", b->root_check);
	append_kv(buf, sizeof(buf), "data_device", b->data_dev);
	append_kv(buf, sizeof(buf), "data_fstype", b->data_fstype);
	append_kv(buf, sizeof(buf), "data_mounted", b->data_mounted ? "yes" : "no");
	append_kv(buf, sizeof(buf), "data_repaired", b->data_repaired ? "yes" : "no");
	append_kv(buf, sizeof(buf), "overlay_requested", ota_overlay_mode_to_string(b->overlay_requested));
	append_kv(buf, sizeof(buf), "overlay", ota_overlay_mode_to_string(b->overlay));
	append_kv(buf, sizeof(buf), "api_mounted", b->api_mounted);
	append_kv(buf, sizeof(buf), "provision", b->provision);
	append_kv(buf, sizeof(buf), "data_grown", b->data_grown ? "yes" : "no");
	append_kv(buf, sizeof(buf), "config_error", b->config_error);
	append_kv(buf, sizeof(buf), "state_errors", b->state_errors);
	char num[32];
	(void)snprintf(num, sizeof(num), "%u", b->persisted);
	append_kv(buf, sizeof(buf), "persisted", num);
	append_kv(buf, sizeof(buf), "reset_done", b->reset_done ? "yes" : "no");
	(void)snprintf(num, sizeof(num), "%llu", (unsigned long long)b->init_usec);
	append_kv(buf, sizeof(buf), "init_usec", num);
	append_kv(buf, sizeof(buf), "degraded", b->degraded[0] ? "yes" : "no");
	append_kv(buf, sizeof(buf), "degraded_reason", b->degraded);
	append_kv(buf, sizeof(buf), "boot_id", b->boot_id);
	int r = ota_mkdir_p(OTA_RUN_DIR, 0755);
	if (r < 0)
		return ota_error_errno(err, r, "create '%s'", OTA_RUN_DIR);
	return ota_write_file_atomic(OTA_STATUS_FILE, buf, strlen(buf), 0644, err);
}

void ota_boot_start_trash_cleaner(const struct ota_boot *b)
{
	if (!b->data_mounted || !b->root_switched)
		return;
	pid_t pid = fork();
	if (pid < 0) {
		log_warning("cannot start the trash cleaner: %s; discarded overlays stay until the next boot",
			    strerror(errno));
		return;
	}
	if (pid > 0)
		return;
	/* Child: lowest CPU and I/O priority, so it never competes with the
	 * boot it runs beside. IOPRIO_CLASS_IDLE is 3, shifted by 13. */
	(void)!nice(19);
	(void)syscall(SYS_ioprio_set, 1 /* IOPRIO_WHO_PROCESS */, 0, 3 << 13);
	struct ota_error err = { 0 };
	if (ota_state_empty_trash(OTA_DATA_DIR, &err) < 0)
		log_warning("%s", err.msg);
	_exit(0);
}

size_t ota_boot_init_candidates(const char *requested, const char **list, size_t size)
{
	/* The kernel's own fallback order after init= (init/main.c). */
	const char *all[] = { requested, OTA_DEFAULT_INIT, "/etc/init", "/bin/init", "/bin/sh" };
	size_t n = 0;
	for (size_t i = 0; i < OTA_ELEMENTSOF(all) && n < size; i++) {
		bool dup = !all[i] || !*all[i];
		for (size_t j = 0; j < n && !dup; j++)
			dup = strcmp(list[j], all[i]) == 0;
		if (!dup)
			list[n++] = all[i];
	}
	return n;
}

void ota_boot_exec_init(const struct ota_boot *b, char **argv, char **envp)
{
	const char *requested = b->cmdline.init ? b->cmdline.init : b->config.init.init;
	const char *candidates[5];
	size_t n = ota_boot_init_candidates(requested ? requested : OTA_DEFAULT_INIT, candidates,
					    OTA_ELEMENTSOF(candidates));
	int argc = 0;
	while (argv[argc])
		argc++;
	char **args = calloc((size_t)argc + 1, sizeof(char *));
	if (!args) {
		log_error("out of memory building init's arguments");
		return;
	}
	for (int i = 1; i < argc; i++)
		args[i] = argv[i];
	for (size_t i = 0; i < n; i++) {
		args[0] = (char *)candidates[i];
		log_info("starting %s", candidates[i]);
		execve(candidates[i], args, envp);
		log_error("cannot execute %s: %s%s", candidates[i], strerror(errno),
			  i + 1 < n ? "; trying the next init" : "");
	}
	free(args);
}

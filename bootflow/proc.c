/* SPDX-License-Identifier: Apache-2.0 */
/* What the backends share: paths under the kernel's /proc (relocatable for
 * tests that fake the firmware), reboot(2), and a private mount of the FAT
 * boot partition (grub: the ESP; uboot file mode: the boot partition). */
#include <errno.h>
#include <linux/reboot.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "bootflow/bootflow-private.h"

int ota_bootflow_proc_path(const char *proc, const char *rel, char *buf, size_t size, struct ota_error *err)
{
	if (ota_format(buf, size, "%s/%s", proc ? proc : "/proc", rel) < 0)
		return ota_error_set(err, -ENAMETOOLONG, "path '%s/%s' is too long", proc ? proc : "/proc", rel);
	return 0;
}

int ota_bootflow_sys_reboot(unsigned cmd, const char *arg)
{
	/* The bootloader reads what we wrote through the block layer; sync
	 * so nothing is still in the page cache when the board resets. */
	sync();
	/* glibc's reboot() cannot pass RESTART2's argument, so the raw call. */
	if (syscall(SYS_reboot, LINUX_REBOOT_MAGIC1, LINUX_REBOOT_MAGIC2, cmd, arg) < 0)
		return -errno;
	return 0;
}

int ota_bootflow_mount_vfat(const char *device, char *mnt, const char *what, struct ota_error *err)
{
	char dev[4096];
	dev_t devno;
	int r = ota_blockdev_resolve(device, &devno, dev, sizeof(dev), err);
	if (r < 0)
		return r;
	r = ota_mkdir_p("/run/ota", 0755);
	if (r < 0)
		return ota_error_errno(err, r, "creating /run/ota");
	if (!mkdtemp(mnt)) {
		r = -errno;
		mnt[0] = '\0';
		return ota_error_errno(err, r, "creating a mount point for the %s", what);
	}
	if (mount(dev, mnt, "vfat", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0) {
		r = -errno;
		(void)rmdir(mnt);
		mnt[0] = '\0';
		return ota_error_errno(err, r, "mounting the %s %s (%s)", what, device, dev);
	}
	return 0;
}

void ota_bootflow_umount(char *mnt)
{
	if (!mnt[0])
		return;
	/* Everything written was fsynced; a failed unmount only leaves a
	 * mount behind, which the next boot does not have. */
	(void)umount2(mnt, 0);
	(void)rmdir(mnt);
	mnt[0] = '\0';
}

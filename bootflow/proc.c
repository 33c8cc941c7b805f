/* What the uboot and rpi-tryboot boot flows share: paths under the kernel's
 * /proc (relocatable for tests that fake the firmware) and reboot(2). */
#include <errno.h>
#include <linux/reboot.h>
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

/* SPDX-License-Identifier: Apache-2.0 */
/* probe-blkpg: does BLKPG_RESIZE_PARTITION reach the kernel from here?
 * Under qemu-user (the cross builds' tests) the answer can be no: qemu 7.2
 * passes BLKPG's add and delete on and refuses resize with EINVAL before
 * the kernel sees it. Asked of /dev/null, the kernel answers ENOTTY (not a
 * block device); anything else means the request was stopped on the way.
 * Exit 0 and nothing printed: it reaches the kernel; exit 1 with the reason
 * otherwise. */
#include <errno.h>
#include <fcntl.h>
#include <linux/blkpg.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

int main(void)
{
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		printf("cannot open /dev/null: %s\n", strerror(errno));
		return 1;
	}
	struct blkpg_partition part = { .pno = 1 };
	struct blkpg_ioctl_arg arg = { .op = BLKPG_RESIZE_PARTITION, .datalen = sizeof(part), .data = &part };
	int r = ioctl(fd, BLKPG, &arg);
	int e = errno;
	close(fd);
	if (r < 0 && e == ENOTTY)
		return 0;
	printf("ioctl(BLKPG, BLKPG_RESIZE_PARTITION) on /dev/null: %s, not the kernel's ENOTTY: "
	       "the emulator does not pass it on\n", r < 0 ? strerror(e) : "succeeded");
	return 1;
}

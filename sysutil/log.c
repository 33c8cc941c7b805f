/* SPDX-License-Identifier: Apache-2.0 */
/* Logging to stderr (the console, for ota-init) and /dev/kmsg.
 *
 * Each kmsg record is one writev() so lines from different processes never
 * interleave (systemd's src/basic/log.c does the same). */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/uio.h>

#include "sysutil/sysutil.h"

/* Past this many records ota-init stops writing to kmsg: a retry loop must
 * not flood the kernel ring buffer and push out the lines that explain it. */
#define KMSG_RECORD_LIMIT 500

static const char *log_ident = "ota";
static enum ota_log_level log_max_level = OTA_LOG_INFO;
static int kmsg_fd = -1;
static unsigned kmsg_records;

void ota_log_init(const char *ident, enum ota_log_level max_level)
{
	log_ident = ident;
	log_max_level = max_level;
}

void ota_log_set_max_level(enum ota_log_level max_level)
{
	log_max_level = max_level;
}

int ota_log_open_kmsg(void)
{
	if (kmsg_fd >= 0)
		return 0;
	int fd = open("/dev/kmsg", O_WRONLY | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	kmsg_fd = fd;
	return 0;
}

static const char *level_tag(enum ota_log_level level)
{
	switch (level) {
	case OTA_LOG_ERR:
		return "error: ";
	case OTA_LOG_WARNING:
		return "warning: ";
	default:
		return "";
	}
}

void ota_logv(enum ota_log_level level, const char *fmt, va_list ap)
{
	if (level > log_max_level)
		return;
	int saved_errno = errno;
	char msg[1024];
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);

	char line[1200];
	int n = snprintf(line, sizeof(line), "%s: %s%s\n", log_ident, level_tag(level), msg);
	if (n > 0)
		(void)!write(STDERR_FILENO, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);

	if (kmsg_fd >= 0 && kmsg_records < KMSG_RECORD_LIMIT) {
		char head[64];
		int hn = snprintf(head, sizeof(head), "<%d>%s[%d]: ", (int)level, log_ident, (int)getpid());
		struct iovec iov[3] = {
			{ head, hn > 0 ? (size_t)hn : 0 },
			{ msg, strlen(msg) },
			{ "\n", 1 },
		};
		(void)!writev(kmsg_fd, iov, 3);
		kmsg_records++;
	}
	errno = saved_errno;
}

void ota_log(enum ota_log_level level, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	ota_logv(level, fmt, ap);
	va_end(ap);
}

/* SPDX-License-Identifier: Apache-2.0 */
/* ota-image run: the QEMU command line that boots a disk image with UEFI
 * firmware, as the VM harness does (tests/vm/vm.py): serial console on the
 * terminal, user networking with the guest's SSH on a host port. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "image/image-private.h"

/* Debian's firmware: ovmf (amd64), qemu-efi-aarch64 (arm64). */
#define OVMF_CODE "/usr/share/OVMF/OVMF_CODE_4M.fd"
#define OVMF_VARS "/usr/share/OVMF/OVMF_VARS_4M.fd"
#define AAVMF_CODE "/usr/share/AAVMF/AAVMF_CODE.fd"
#define AAVMF_VARS "/usr/share/AAVMF/AAVMF_VARS.fd"

/* Formats a word into buf after the ones before it; NULL when buf is full. */
_printf_(4, 5) static const char *keep(char *buf, size_t size, size_t *used, const char *fmt, ...)
{
	char *p = buf + *used;
	va_list ap;
	va_start(ap, fmt);
	int len = vsnprintf(p, size - *used, fmt, ap);
	va_end(ap);
	if (len < 0 || (size_t)len >= size - *used)
		return NULL;
	*used += (size_t)len + 1;
	return p;
}

/* The image's own variable store (IMAGE.efivars), made once from the
 * firmware's template: boot entries survive between runs, as on a machine. */
static int make_vars(const char *template, const char *vars, struct ota_error *err)
{
	struct stat st;
	if (stat(vars, &st) == 0)
		return 0;
	_cleanup_free_ char *data = NULL;
	size_t size = 0;
	int r = ota_read_file(template, 64u << 20, &data, &size, err);
	if (r < 0) {
		ota_error_prefix(err, "UEFI variable template (Debian's ovmf or qemu-efi-aarch64): ");
		return r;
	}
	return ota_write_file_atomic(vars, data, size, 0644, err);
}

int ota_image_run_argv(const char *image, const struct ota_image_run_opts *o, const char **argv, size_t n,
		       char *buf, size_t buf_size, struct ota_error *err)
{
	bool arm64 = o->arch == OTA_IMAGE_ARCH_ARM64;
	const char *code = o->firmware_code ? o->firmware_code : arm64 ? AAVMF_CODE : OVMF_CODE;
	const char *tool = arm64 ? "qemu-system-aarch64" : "qemu-system-x86_64";
	char qemu[256], vars[PATH_MAX];
	struct stat st;
	if (stat(image, &st) < 0 || !S_ISREG(st.st_mode))
		return ota_error_errno(err, -ENOENT, "disk image %s", image);
	int r = ota_image_have_tool(tool, err);
	if (r < 0 || (r = ota_find_system_program(tool, qemu, sizeof(qemu), err)) < 0)
		return r;
	if (access(code, R_OK) < 0)
		return ota_error_errno(err, -errno, "UEFI firmware %s (install %s)", code,
				       arm64 ? "qemu-efi-aarch64" : "ovmf");
	if (o->firmware_vars)
		r = ota_format(vars, sizeof(vars), "%s", o->firmware_vars);
	else
		r = ota_format(vars, sizeof(vars), "%s.efivars", image);
	if (r < 0)
		return ota_error_set(err, -ENAMETOOLONG, "%s: path too long", image);
	if ((r = make_vars(arm64 ? AAVMF_VARS : OVMF_VARS, vars, err)) < 0)
		return r;
	size_t used = 0, i = 0;
	const char *words[32];
	words[i++] = keep(buf, buf_size, &used, "%s", qemu);
	if (arm64) {
		words[i++] = "-machine";
		words[i++] = o->kvm ? "virt,accel=kvm" : "virt";
		words[i++] = "-cpu";
		words[i++] = o->kvm ? "host" : "cortex-a57";
	} else {
		words[i++] = "-machine";
		words[i++] = o->kvm ? "q35,accel=kvm" : "q35";
	}
	words[i++] = "-m";
	words[i++] = keep(buf, buf_size, &used, "%u", o->memory_mib);
	words[i++] = "-smp";
	words[i++] = keep(buf, buf_size, &used, "%u", o->cpus);
	words[i++] = "-nographic";
	words[i++] = "-drive";
	words[i++] = keep(buf, buf_size, &used, "if=pflash,format=raw,unit=0,readonly=on,file=%s", code);
	words[i++] = "-drive";
	words[i++] = keep(buf, buf_size, &used, "if=pflash,format=raw,unit=1,file=%s", vars);
	words[i++] = "-drive";
	words[i++] = keep(buf, buf_size, &used, "if=virtio,format=raw,file=%s", image);
	words[i++] = "-netdev";
	words[i++] = keep(buf, buf_size, &used, "user,id=net0,hostfwd=tcp:127.0.0.1:%u-:22", o->ssh_port);
	words[i++] = "-device";
	words[i++] = "virtio-net-pci,netdev=net0";
	words[i++] = "-device";
	words[i++] = "virtio-rng-pci";
	words[i++] = NULL;
	for (size_t k = 0; k + 1 < i; k++)
		if (!words[k])
			return ota_error_set(err, -ENAMETOOLONG, "the QEMU command line is too long");
	if (i > n)
		return ota_error_set(err, -E2BIG, "the QEMU command line has too many words");
	memcpy(argv, words, i * sizeof(*argv));
	return 0;
}

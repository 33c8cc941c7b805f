/* SPDX-License-Identifier: Apache-2.0 */
/* ota-image: a flashable A/B disk image and update bundles from a root file
 * system, and a VM to run the image in (docs/ota-image.md). A thin main over
 * otaimage; every failure is printed once, here. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "image/image.h"

static struct ota_image_opts arg_opts;
static const char *arg_output;
static struct ota_image_run_opts arg_run = { .ssh_port = 2222, .memory_mib = 1024, .cpus = 2 };
static bool arg_print;

static const struct option options[] = {
	{ "rootfs", required_argument, NULL, 'r' },
	{ "output", required_argument, NULL, 'o' },
	{ "system-version", required_argument, NULL, 's' },
	{ "key", required_argument, NULL, 'k' },
	{ "cert", required_argument, NULL, 'c' },
	{ "chain", required_argument, NULL, 'C' },
	{ "threads", required_argument, NULL, 'T' },
	{ "data-dir", required_argument, NULL, 'd' },
	{ "grub-modules", required_argument, NULL, 'g' },
	{ "quiet", no_argument, NULL, 'q' },
	{ "arch", required_argument, NULL, 'a' },
	{ "ssh-port", required_argument, NULL, 'p' },
	{ "memory", required_argument, NULL, 'm' },
	{ "cpus", required_argument, NULL, 'n' },
	{ "kvm", no_argument, NULL, 'K' },
	{ "firmware", required_argument, NULL, 'f' },
	{ "print", no_argument, NULL, 'P' },
	OTA_CLI_STANDARD_OPTIONS,
	{ 0 },
};

#define ROOT_HELP                                                                                     \
	"  --rootfs DIR|TARBALL   the root file system, with otaroot installed (never written)\n"      \
	"  --system-version V     the version to build instead of the description's [system] version\n" \
	"  --key K --cert C       sign the bundle (instead of the description's [sign])\n"              \
	"  --chain P              intermediate certificates to embed\n"                                  \
	"  --threads N            bundle compression threads (default: one per CPU)\n"                 \
	"  -q, --quiet            no progress lines\n"
#define ROOT_OPTS "rskcCTq"

static const struct ota_cli_command self = {
	.usage = "Usage: ota-image build DESC --rootfs DIR|TARBALL -o OUT/ [OPTIONS]\n"
		 "       ota-image bundle DESC --rootfs DIR|TARBALL -o BUNDLE [OPTIONS]\n"
		 "       ota-image run [--arch A] [--ssh-port N] [--memory MIB] [--cpus N] [--kvm] IMAGE\n"
		 "\n"
		 "A flashable A/B disk image and update bundles from a root file system, as the image\n"
		 "description DESC says (docs/ota-image.md), and a VM to run the image in.\n"
		 "\n"
		 "  -h, --help     this help; COMMAND --help: the command's\n"
		 "  -V, --version  the version of otaroot\n"
		 "\n"
		 "Exit status: 0 done, 1 failed (a bad description or root: no output is written), 2 usage error.\n",
};

enum { CMD_BUILD, CMD_BUNDLE, CMD_RUN };

static const struct ota_cli_command commands[] = {
	[CMD_BUILD] = { "build", ROOT_OPTS "odg", 1, 1,
			"Usage: ota-image build DESC --rootfs DIR|TARBALL -o OUT/ [OPTIONS]\n"
			"\n"
			"Writes OUT/disk.img (the target's boot partitions and system-a; the first boot adds\n"
			"system-b and data), OUT/disk.img.bmap when bmaptool is installed, and OUT/update.otab\n"
			"(a bundle of the same system). Targets ([image] target): efi, rpi-tryboot, uboot.\n"
			"Nothing is written when anything fails.\n"
			"\n" ROOT_HELP
			"  -o, --output OUT       the output directory (created; its files of those names replaced)\n"
			"  --data-dir DIR         otaroot's boot-flow files (DIR/grub/*.cfg, DIR/uboot/boot.cmd)\n"
			"  --grub-modules DIR     GRUB's EFI modules (default /usr/lib/grub/x86_64-efi or arm64-efi)\n" },
	[CMD_BUNDLE] = { "bundle", ROOT_OPTS "o", 1, 1,
			 "Usage: ota-image bundle DESC --rootfs DIR|TARBALL -o BUNDLE [OPTIONS]\n"
			 "\n"
			 "Writes the update bundle of the root alone (the next version), to BUNDLE.\n"
			 "\n" ROOT_HELP
			 "  -o, --output BUNDLE    the bundle file\n" },
	[CMD_RUN] = { "run", "apmnKfP", 1, 1,
		      "Usage: ota-image run [OPTIONS] IMAGE\n"
		      "\n"
		      "Boots IMAGE in QEMU with UEFI firmware (OVMF, AAVMF), the serial console on this\n"
		      "terminal (Ctrl-A X quits), the guest's SSH on 127.0.0.1:PORT. The firmware's variables\n"
		      "are kept in IMAGE.efivars.\n"
		      "\n"
		      "  --arch A         amd64 (default) or arm64\n"
		      "  --ssh-port N     the host port forwarded to the guest's port 22 (default 2222)\n"
		      "  --memory MIB     guest memory (default 1024)\n"
		      "  --cpus N         guest CPUs (default 2)\n"
		      "  --kvm            use KVM (the host's architecture only)\n"
		      "  --firmware F     the UEFI firmware's code (default Debian's OVMF or AAVMF)\n"
		      "  --print          print the QEMU command line instead of running it\n" },
};

static int set_option(int c, const char *arg)
{
	switch (c) {
	case 'r': arg_opts.rootfs = arg; return 0;
	case 'o': arg_output = arg; return 0;
	case 's': arg_opts.version = arg; return 0;
	case 'k': arg_opts.key = arg; return 0;
	case 'c': arg_opts.cert = arg; return 0;
	case 'C': arg_opts.chain = arg; return 0;
	case 'T': return ota_parse_unsigned(arg, 1, 256, &arg_opts.threads);
	case 'd': arg_opts.data_dir = arg; return 0;
	case 'g': arg_opts.grub_modules = arg; return 0;
	case 'q': arg_opts.quiet = true; return 0;
	case 'a':
		if (ota_streq(arg, "amd64"))
			arg_run.arch = OTA_IMAGE_ARCH_AMD64;
		else if (ota_streq(arg, "arm64"))
			arg_run.arch = OTA_IMAGE_ARCH_ARM64;
		else
			return -EINVAL;
		return 0;
	case 'p': return ota_parse_unsigned(arg, 1, 65535, &arg_run.ssh_port);
	case 'm': return ota_parse_unsigned(arg, 64, 1u << 20, &arg_run.memory_mib);
	case 'n': return ota_parse_unsigned(arg, 1, 64, &arg_run.cpus);
	case 'K': arg_run.kvm = true; return 0;
	case 'f': arg_run.firmware_code = arg; return 0;
	case 'P': arg_print = true; return 0;
	}
	return -EINVAL;
}

static const struct ota_cli cli = {
	.tool = "ota-image",
	.options = options,
	.shortopts = "o:q",
	.self = &self,
	.commands = commands,
	.n_commands = OTA_ELEMENTSOF(commands),
	.set = set_option,
};

static int make(const struct ota_cli_args *a)
{
	if (!arg_opts.rootfs)
		return ota_cli_usage_error(&cli, a->cmd, "--rootfs DIR|TARBALL is required");
	if (!arg_output)
		return ota_cli_usage_error(&cli, a->cmd, "-o %s is required", a->cmd == &commands[CMD_BUILD] ? "OUT/" : "BUNDLE");
	if (!arg_opts.key != !arg_opts.cert)
		return ota_cli_usage_error(&cli, a->cmd, "--key and --cert go together");
	struct ota_error err = { 0 };
	_cleanup_(ota_image_desc_donep) struct ota_image_desc d;
	ota_image_desc_init(&d);
	if (ota_image_desc_load(&d, a->args[0], &err) < 0)
		return ota_cli_fail(&err);
	int r = a->cmd == &commands[CMD_BUILD] ? ota_image_build(&d, &arg_opts, arg_output, &err)
						: ota_image_bundle(&d, &arg_opts, arg_output, &err);
	return r < 0 ? ota_cli_fail(&err) : OTA_EXIT_OK;
}

static int run(const char *image)
{
	struct ota_error err = { 0 };
	const char *argv[40];
	char buf[8192];
	if (ota_image_run_argv(image, &arg_run, argv, OTA_ELEMENTSOF(argv), buf, sizeof(buf), &err) < 0)
		return ota_cli_fail(&err);
	if (arg_print) {
		for (size_t i = 0; argv[i]; i++)
			printf("%s%s", i ? " " : "", argv[i]);
		printf("\n");
		return fflush(stdout) == 0 ? OTA_EXIT_OK : OTA_EXIT_FAILURE;
	}
	/* The VM is the session: QEMU takes over this process and terminal,
	 * and ends when the guest powers off or Ctrl-A X is typed. */
	execv(argv[0], (char *const *)argv);
	ota_error_errno(&err, -errno, "running %s", argv[0]);
	return ota_cli_fail(&err);
}

int main(int argc, char **argv)
{
	struct ota_cli_args a;
	int rc = ota_cli_start(&cli, argc, argv, &a);
	if (rc != OTA_CLI_CONTINUE)
		return rc;
	if (a.cmd == &commands[CMD_RUN])
		return run(a.args[0]);
	return make(&a);
}

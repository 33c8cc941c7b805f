/* SPDX-License-Identifier: Apache-2.0 */
/* The command-line conventions of every tool (docs/cli.md): one getopt
 * loop for all of them, so --help, --version, the exit statuses and the
 * messages for bad options cannot drift apart. */
#include <stdarg.h>
#include <string.h>

#include "sysutil/sysutil.h"

const char *ota_cli_version(void)
{
	return OTA_VERSION;
}

int ota_cli_fail(const struct ota_error *err)
{
	log_error("%s", err->msg[0] ? err->msg : "failed");
	return OTA_EXIT_FAILURE;
}

static const char *command_label(const struct ota_cli_command *cmd)
{
	return cmd && cmd->name ? cmd->name : "";
}

int ota_cli_usage_error(const struct ota_cli *cli, const struct ota_cli_command *cmd, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "%s: ", cli->tool);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry '%s%s%s --help'.\n", cli->tool, cmd && cmd->name ? " " : "", command_label(cmd));
	return OTA_EXIT_USAGE;
}

static const char *long_name(const struct ota_cli *cli, int val)
{
	for (const struct option *o = cli->options; o->name; o++)
		if (o->val == val)
			return o->name;
	return "?";
}

/* The option getopt stopped at, as the user wrote it: getopt has moved
 * optind past a long option, while optopt holds a short one. */
static void bad_option_name(char **argv, char *buf, size_t size)
{
	const char *token = optind > 0 ? argv[optind - 1] : "";
	if (ota_startswith(token, "--"))
		(void)!ota_format(buf, size, "%.*s", (int)strcspn(token, "="), token);
	else
		(void)!ota_format(buf, size, "-%c", optopt ? optopt : '?');
}

/* One getopt scan of argv[1..argc) for cmd; on OTA_CLI_CONTINUE the
 * arguments start at *ret_next. */
static int parse_options(const struct ota_cli *cli, const struct ota_cli_command *cmd, int argc, char **argv,
			 int *ret_next)
{
	/* '+' before a command: its name ends the tool's options. ':' makes a
	 * missing argument distinguishable; opterr 0: the messages are ours. */
	char shortopts[64];
	if (ota_format(shortopts, sizeof(shortopts), "%s:hV%s", cmd == cli->self && cli->n_commands ? "+" : "",
		       cli->shortopts ? cli->shortopts : "") < 0)
		return ota_cli_usage_error(cli, cmd, "internal error: option string too long");
	opterr = 0;
	optind = 0; /* a fresh scan: the ordering mode is read at the first call */
	int opt;
	while ((opt = getopt_long(argc, argv, shortopts, cli->options, NULL)) != -1) {
		char name[64];
		switch (opt) {
		case 'h':
			fputs(cmd->usage, stdout);
			return fflush(stdout) == 0 ? OTA_EXIT_OK : OTA_EXIT_FAILURE;
		case 'V':
			printf("%s %s\n", cli->tool, ota_cli_version());
			return fflush(stdout) == 0 ? OTA_EXIT_OK : OTA_EXIT_FAILURE;
		case ':':
			bad_option_name(argv, name, sizeof(name));
			return ota_cli_usage_error(cli, cmd, "option '%s' needs an argument", name);
		case '?':
			bad_option_name(argv, name, sizeof(name));
			if (ota_startswith(argv[optind - 1], "--") && optopt)
				return ota_cli_usage_error(cli, cmd, "option '%s' takes no argument", name);
			return ota_cli_usage_error(cli, cmd, "unknown option '%s'", name);
		default:
			if (!cmd->accepts || !strchr(cmd->accepts, opt))
				return cmd->name ? ota_cli_usage_error(cli, cmd, "option '--%s' does not apply to '%s'",
								      long_name(cli, opt), cmd->name)
						 : ota_cli_usage_error(cli, cmd, "option '--%s' goes after the command",
								      long_name(cli, opt));
			if (cli->set(opt, optarg) < 0)
				return ota_cli_usage_error(cli, cmd, "bad value '%s' for '--%s'", optarg,
							   long_name(cli, opt));
		}
	}
	unsigned n = (unsigned)(argc - optind);
	if (cmd != cli->self || !cli->n_commands) {
		if (n < cmd->min_args)
			return ota_cli_usage_error(cli, cmd, "%s%smissing argument", command_label(cmd),
						   cmd->name ? ": " : "");
		if (n > cmd->max_args)
			return ota_cli_usage_error(cli, cmd, "%s%sunexpected argument '%s'", command_label(cmd),
						   cmd->name ? ": " : "", argv[optind + (int)cmd->max_args]);
	} else if (n == 0) {
		/* A tool run bare shows what it can do, as it always did. */
		fputs(cmd->usage, stderr);
		return ota_cli_usage_error(cli, cmd, "no command given");
	}
	*ret_next = optind;
	return OTA_CLI_CONTINUE;
}

static const struct ota_cli_command *find_command(const struct ota_cli *cli, const char *name)
{
	for (size_t i = 0; i < cli->n_commands; i++)
		if (ota_streq(cli->commands[i].name, name))
			return &cli->commands[i];
	return NULL;
}

int ota_cli_parse(const struct ota_cli *cli, int argc, char **argv, struct ota_cli_args *ret)
{
	int next;
	int rc = parse_options(cli, cli->self, argc, argv, &next);
	const struct ota_cli_command *cmd = cli->self;
	if (rc == OTA_CLI_CONTINUE && cli->n_commands) {
		/* The command's own scan starts at its name, as at an argv[0]. */
		argc -= next;
		argv += next;
		cmd = find_command(cli, argv[0]);
		rc = cmd ? parse_options(cli, cmd, argc, argv, &next)
			 : ota_cli_usage_error(cli, NULL, "unknown command '%s'", argv[0]);
	}
	if (rc != OTA_CLI_CONTINUE)
		return rc;
	*ret = (struct ota_cli_args){ .cmd = cmd, .args = argv + next, .n = argc - next };
	return OTA_CLI_CONTINUE;
}

int ota_cli_start(const struct ota_cli *cli, int argc, char **argv, struct ota_cli_args *ret)
{
	ota_log_init(cli->tool, OTA_LOG_INFO);
	return ota_cli_parse(cli, argc, argv, ret);
}

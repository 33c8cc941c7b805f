/* SPDX-License-Identifier: Apache-2.0 */
/* sysutil: the small library every otaroot component stands on.
 *
 * It holds error reporting with context, scope-bound cleanup, logging to the
 * console and the kernel log, checked number and string handling, crash-safe
 * file writes, block-device discovery (libblkid, sysfs), and the command-line
 * conventions of every tool (ota_cli_*, docs/cli.md).
 *
 * Contract:
 * - Fallible functions return 0 (or a documented non-negative value) on
 *   success and a negative errno on failure. Where a struct ota_error is
 *   passed (always last, as `err`), it is filled with the code and a message
 *   naming the path or device involved; it may be NULL.
 * - Out-parameters are `ret_*` and are written only on success.
 * - Nothing here exits, aborts, spawns threads or uses NSS: it is linked into
 *   ota-init, which runs as PID 1, where exiting panics the kernel.
 * - Nothing here prints but ota_log() and ota_cli_*. Errors go back in
 *   struct ota_error; a caller prints them. Logging beyond that is named in
 *   each component's header (ota-init's boot steps, init.h; the one warning
 *   of otaupdate's commit, update.h). ota_cli_* is called from a program's
 *   main only: it prints the usage, the version and usage errors, and
 *   returns exit statuses (OTA_EXIT_*), not errnos.
 */
#ifndef OTA_SYSUTIL_H
#define OTA_SYSUTIL_H

#include <dirent.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#define _must_check_ __attribute__((warn_unused_result))
#define _printf_(a, b) __attribute__((format(printf, a, b)))
#define OTA_ELEMENTSOF(x) (sizeof(x) / sizeof((x)[0]))

/* ---- errors -------------------------------------------------------------- */

/* What a failure means to whoever acts on it (a script reading ota-update's
 * --json "reason" or exit status; docs/cli.md has the table), as RAUC's
 * install error codes. The errno in `code` says what a call returned and
 * can mean different things in different places (a rejected TLS
 * certificate and an untrusted signer were both -EKEYREJECTED); the reason
 * says which. It is set where the meaning is known, mostly where the check
 * fails; every other failure is OTA_REASON_FAILED. The names are stable. */
enum ota_error_reason {
	OTA_REASON_FAILED = 0,		/* "failed": no more specific class */
	OTA_REASON_CONFIG,		/* "config": a configuration file is wrong */
	OTA_REASON_SIGNATURE_INVALID,	/* "signature-invalid": not a CMS signature of this manifest */
	OTA_REASON_SIGNER_UNTRUSTED,	/* "signer-untrusted": valid, but its signer is not trusted */
	OTA_REASON_ALGORITHM_REJECTED,	/* "algorithm-rejected": key or digest below the policy */
	OTA_REASON_UNSIGNED,		/* "unsigned": no signature, and none is not allowed */
	OTA_REASON_BUNDLE_MALFORMED,	/* "bundle-malformed": not a bundle, truncated or altered */
	OTA_REASON_BUNDLE_UNSUPPORTED,	/* "bundle-unsupported": a format this reader does not know */
	OTA_REASON_INCOMPATIBLE,	/* "incompatible": for another compatible */
	OTA_REASON_DOWNGRADE,		/* "downgrade": the version policy refuses it */
	OTA_REASON_TLS,			/* "tls": TLS handshake or the server's certificate failed */
	OTA_REASON_NETWORK,		/* "network": connect, resolve, HTTP error, timeout, a changed file */
	OTA_REASON_CHANNEL,		/* "channel-invalid": the update channel's document is unusable */
	OTA_REASON_NO_SPACE,		/* "no-space": an image larger than its slot, a full device */
	OTA_REASON_READBACK_MISMATCH,	/* "readback-mismatch": a written slot does not hash to its image */
	OTA_REASON_LOCKED,		/* "locked": another ota-update holds the lock */
	OTA_REASON_BOOTFLOW,		/* "bootflow": the boot flow failed to read or change its state */
	OTA_REASON_HOOK,		/* "hook": a hook failed */
	OTA_REASON_NOTHING_TO_DO,	/* "nothing-to-do": e.g. nothing to roll back */
	_OTA_REASON_MAX,
	OTA_REASON_INVALID = -1,
};
const char *ota_error_reason_to_string(enum ota_error_reason reason);
enum ota_error_reason ota_error_reason_from_string(const char *s);

struct ota_error {
	int code;       /* negative errno, 0 if no error was recorded */
	enum ota_error_reason reason; /* OTA_REASON_FAILED unless set */
	char msg[512];  /* fixed so that failure paths never allocate */
};

/* Records code (a negative errno) and a message; "%m"-style suffixes are the
 * caller's job. Returns code, so callers can `return ota_error_set(...)`.
 * err may be NULL. A new error: the reason is OTA_REASON_FAILED. */
int ota_error_set(struct ota_error *err, int code, const char *fmt, ...) _printf_(3, 4);
/* Like ota_error_set() and appends ": <strerror(-code)>". */
int ota_error_errno(struct ota_error *err, int code, const char *fmt, ...) _printf_(3, 4);
/* Like ota_error_set() with a reason: where a failure's meaning originates. */
int ota_error_set_because(struct ota_error *err, enum ota_error_reason reason, int code, const char *fmt, ...)
	_printf_(4, 5);
/* Gives a recorded error a reason if it has none yet: for a caller that
 * knows what a failure of its callee means (any failure of a boot-flow call
 * is a boot-flow failure), while a more specific reason set below stays. */
void ota_error_classify(struct ota_error *err, enum ota_error_reason reason);
/* Prepends context to an already recorded message ("slot a: " + msg). */
void ota_error_prefix(struct ota_error *err, const char *fmt, ...) _printf_(2, 3);
void ota_error_clear(struct ota_error *err);
/* The exit status a tool ends with after err (OTA_EXIT_FAILURE, or one of
 * the OTA_EXIT_* from 3 that its reason belongs to; docs/cli.md). */
int ota_error_exit_status(const struct ota_error *err);

/* ---- cleanup ------------------------------------------------------------- */

static inline void ota_freep(void *p)
{
	free(*(void **)p);
}
static inline void ota_closep(int *fd)
{
	if (*fd >= 0)
		(void)close(*fd);
}
static inline void ota_fclosep(FILE **f)
{
	if (*f)
		(void)fclose(*f);
}
static inline void ota_closedirp(DIR **d)
{
	if (*d)
		(void)closedir(*d);
}
#define _cleanup_(f) __attribute__((cleanup(f)))

/* Defines funcp(), the cleanup of a `type` variable for _cleanup_(funcp):
 * it calls func on the variable's value unless that is NULL (any value func
 * returns is dropped). Written once beside the type's destructor, in the
 * header that declares it (as RAUC's G_DEFINE_AUTOPTR_CLEANUP_FUNC); for a
 * library's type (BIO, struct fdisk_context), in the one file using it, or
 * the component's private header once more files do:
 *
 *   struct ota_manifest *ota_manifest_free(struct ota_manifest *m);
 *   OTA_DEFINE_CLEANUP_FUNC(struct ota_manifest *, ota_manifest_free)
 *   ...
 *   _cleanup_(ota_manifest_freep) struct ota_manifest *m = NULL;
 */
#define OTA_DEFINE_CLEANUP_FUNC(type, func) \
	static inline void func##p(type *p)  \
	{                                     \
		if (*p)                       \
			(void)func(*p);       \
	}
/* The same for a struct kept by value and emptied by func(&var), which
 * takes what was never filled (a `_done` or `_clear`). */
#define OTA_DEFINE_DONE_CLEANUP_FUNC(type, func) \
	static inline void func##p(type *p)       \
	{                                          \
		func(p);                           \
	}
#define _cleanup_free_ _cleanup_(ota_freep)
#define _cleanup_close_ _cleanup_(ota_closep)
#define _cleanup_fclose_ _cleanup_(ota_fclosep)
#define _cleanup_closedir_ _cleanup_(ota_closedirp)

/* Hand ownership out of a _cleanup_ variable. */
#define TAKE_PTR(p) ({ __typeof__(p) _ptr_ = (p); (p) = NULL; _ptr_; })
#define TAKE_FD(fd) ({ int _fd_ = (fd); (fd) = -1; _fd_; })

/* ---- logging ------------------------------------------------------------- */

enum ota_log_level {
	OTA_LOG_ERR = 3,
	OTA_LOG_WARNING = 4,
	OTA_LOG_NOTICE = 5,
	OTA_LOG_INFO = 6,
	OTA_LOG_DEBUG = 7,
};

/* ident prefixes every line. Messages go to stderr; after
 * ota_log_open_kmsg() also to /dev/kmsg as "<prio>ident[pid]: msg". */
void ota_log_init(const char *ident, enum ota_log_level max_level);
void ota_log_set_max_level(enum ota_log_level max_level);
/* Opens /dev/kmsg for writing; returns 0 or -errno (the log keeps working on
 * stderr alone). Our own kmsg records are capped per process so a loop cannot
 * flood the kernel log. */
int ota_log_open_kmsg(void);
void ota_log(enum ota_log_level level, const char *fmt, ...) _printf_(2, 3);
void ota_logv(enum ota_log_level level, const char *fmt, va_list ap) _printf_(2, 0);

#define log_error(...) ota_log(OTA_LOG_ERR, __VA_ARGS__)
#define log_warning(...) ota_log(OTA_LOG_WARNING, __VA_ARGS__)
#define log_notice(...) ota_log(OTA_LOG_NOTICE, __VA_ARGS__)
#define log_info(...) ota_log(OTA_LOG_INFO, __VA_ARGS__)
#define log_debug(...) ota_log(OTA_LOG_DEBUG, __VA_ARGS__)

/* ---- strings and numbers ------------------------------------------------- */

/* snprintf that reports truncation as -ENAMETOOLONG instead of hiding it. */
int ota_format(char *buf, size_t size, const char *fmt, ...) _must_check_ _printf_(3, 4);
/* Unsigned 64-bit numbers, whole string, digits only (no sign or white
 * space); -EINVAL or -ERANGE. Decimal unless the name says otherwise: a
 * leading zero does not make a number octal ("010" is ten). */
int ota_parse_u64(const char *s, uint64_t *ret) _must_check_;
/* ota_parse_u64 within [min, max] (an option's range): -ERANGE outside it;
 * *ret untouched on failure. */
int ota_parse_unsigned(const char *s, unsigned min, unsigned max, unsigned *ret) _must_check_;
/* Decimal, or hex with a 0x prefix: for offsets and sizes documented so. */
int ota_parse_u64_or_hex(const char *s, uint64_t *ret) _must_check_;
/* Octal digits, with or without a leading 0: for file modes. */
int ota_parse_octal(const char *s, uint64_t *ret) _must_check_;
/* A size: digits, then an optional K, M, G or T (powers of 1024,
 * optionally followed by B or iB), as layout.conf writes them ("64M").
 * -EINVAL for anything else, -ERANGE past 2^64 - 1. */
int ota_parse_size(const char *s, uint64_t *ret) _must_check_;
/* yes/no, true/false, on/off, 1/0 (case-insensitive). */
int ota_parse_bool(const char *s, bool *ret) _must_check_;
/* Replaces *dst by a copy of src (NULL allowed). */
int ota_strdup_to(char **dst, const char *src) _must_check_;
bool ota_streq(const char *a, const char *b);
bool ota_startswith(const char *s, const char *prefix);
/* An http:// or https:// URL with something after the scheme (libcurl
 * judges the rest); the one test of system.conf, the channel and the fleet
 * clients. */
bool ota_http_url_valid(const char *s);
/* The one table of an enum's names: names[v] is the text of value v, for
 * the values 0..n-1. to_string gives NULL for a value out of range;
 * from_string the value whose text s is exactly, -1 for any other (NULL too). */
const char *ota_enum_to_string(const char *const *names, size_t n, int value);
int ota_enum_from_string(const char *const *names, size_t n, const char *s);
/* Define <name>_to_string (fallback for a value out of range) and
 * <name>_from_string (-1, the enum's INVALID, for an unknown text) over the
 * table <name>_names, as systemd's string tables do. */
#define OTA_DEFINE_ENUM_TO_STRING(name, type, fallback)                                        \
	const char *name##_to_string(type v)                                                    \
	{                                                                                       \
		const char *s_ = ota_enum_to_string(name##_names, OTA_ELEMENTSOF(name##_names), (int)v); \
		return s_ ? s_ : (fallback);                                                    \
	}
#define OTA_DEFINE_ENUM_FROM_STRING(name, type)                                                \
	type name##_from_string(const char *s)                                                  \
	{                                                                                       \
		return (type)ota_enum_from_string(name##_names, OTA_ELEMENTSOF(name##_names), s); \
	}

/* ---- byte order ------------------------------------------------------------ */

/* Big-endian fields of our on-disk formats (the bundle's header, manifest
 * and chunk tables, ota-update's chunk index, device-tree cells). */
static inline uint16_t ota_get_be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}
static inline uint32_t ota_get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static inline uint64_t ota_get_be64(const uint8_t *p)
{
	return (uint64_t)ota_get_be32(p) << 32 | ota_get_be32(p + 4);
}
/* Whether the n bytes at p are all zero (memcmp against themselves shifted
 * by one: memory speed, and a non-zero byte early ends it early). */
static inline bool ota_all_zero(const void *p, size_t n)
{
	const uint8_t *b = p;
	return n == 0 || (b[0] == 0 && memcmp(b, b + 1, n - 1) == 0);
}
static inline void ota_put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}
static inline void ota_put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}
static inline void ota_put_be64(uint8_t *p, uint64_t v)
{
	ota_put_be32(p, (uint32_t)(v >> 32));
	ota_put_be32(p + 4, (uint32_t)v);
}

/* ---- command line ------------------------------------------------------------ */

/* The exit statuses every tool shares (docs/cli.md). From 3 up, a failure
 * whose reason a script acts on differently (ota_error_exit_status): give up
 * on this bundle, or try again later. */
enum {
	OTA_EXIT_OK = 0,
	OTA_EXIT_FAILURE = 1,
	OTA_EXIT_USAGE = 2,
	OTA_EXIT_NOT_AUTHENTIC = 3, /* signature, signer, algorithm, unsigned, malformed */
	OTA_EXIT_NOT_APPLICABLE = 4, /* incompatible, downgrade, unsupported format, no space */
	OTA_EXIT_DOWNLOAD = 5,	     /* network, TLS, channel */
	OTA_EXIT_LOCKED = 6,	     /* another ota-update is running */
};

/* ota_cli_parse's "go on": not an exit status. */
#define OTA_CLI_CONTINUE (-1)

/* Every tool's options table holds these two; ota_cli_parse answers them. */
#define OTA_CLI_STANDARD_OPTIONS \
	{ "help", no_argument, NULL, 'h' }, { "version", no_argument, NULL, 'V' }

/* One command of a tool ("install"), or the tool itself (name NULL). */
struct ota_cli_command {
	const char *name;
	const char *accepts;	/* the `val`s of the options it takes (h and V always) */
	unsigned min_args, max_args; /* its arguments after the options */
	const char *usage;	/* what --help prints, from "Usage:" on */
};

/* A tool: one options table for all its commands (each option's `val` a
 * character, so that a command's `accepts` can list it), one setter. */
struct ota_cli {
	const char *tool;
	const struct option *options; /* ends with { 0 }; has OTA_CLI_STANDARD_OPTIONS */
	const char *shortopts;	/* getopt letters beyond h and V, e.g. "c:j" */
	const struct ota_cli_command *self; /* the options before a command */
	const struct ota_cli_command *commands;
	size_t n_commands;
	/* Stores one option; < 0 refuses its value (set prints why). */
	int (*set)(int opt, const char *arg);
};

/* What ota_cli_parse found: the command (cli->self for a tool without
 * commands) and its arguments, their number checked. */
struct ota_cli_args {
	const struct ota_cli_command *cmd;
	char **args;
	int n;
};

/* Parses a command line: the tool's options (cli->self) and, for a tool
 * with commands, the command's name, then that command's options (which may
 * follow its arguments). Returns OTA_CLI_CONTINUE with *ret filled in, or
 * the exit status to end with: OTA_EXIT_OK after --help (the command's
 * usage on stdout) or --version ("<tool> <version>" on stdout);
 * OTA_EXIT_USAGE after an unknown option or command, a missing option
 * argument, an option of another command, a value set() refused or a wrong
 * number of arguments, each named on stderr. */
int ota_cli_parse(const struct ota_cli *cli, int argc, char **argv, struct ota_cli_args *ret) _must_check_;
/* A tool's first step: logging as cli->tool (ota_log_init at OTA_LOG_INFO),
 * then ota_cli_parse. */
int ota_cli_start(const struct ota_cli *cli, int argc, char **argv, struct ota_cli_args *ret) _must_check_;
/* Names a usage error of cmd (NULL: of the tool) on stderr with a pointer
 * to --help; returns OTA_EXIT_USAGE. */
int ota_cli_usage_error(const struct ota_cli *cli, const struct ota_cli_command *cmd, const char *fmt, ...)
	_printf_(3, 4);
/* A command that failed: logs err's message (else "failed") as an error,
 * once; returns OTA_EXIT_FAILURE. */
int ota_cli_fail(const struct ota_error *err);
/* "<tool> <version>": the project version of CMakeLists.txt. */
const char *ota_cli_version(void);

/* ---- INI ---------------------------------------------------------------- */

/* The one syntax of every configuration file otaroot reads, documented in
 * docs/configuration.md ("Configuration file syntax"): [section] and
 * key = value lines, '#' and ';' comment lines, a ';' after white space
 * starts a comment, white space around keys and values is dropped. Refused,
 * with the line and the reason: a line longer than OTA_INI_MAX_LINE bytes,
 * an indented line that is not a comment (no continuation lines), a line
 * that is neither a section nor key = value, text after a section's ']' and
 * a key given twice in one section (a section given again adds keys). A
 * UTF-8 BOM at the start is skipped. */
#define OTA_INI_MAX_LINE 8192 /* bytes, without the line break: holds "[persist " + PATH_MAX */

/* Called per key; returns 0 to go on, non-zero to flag an error on line. */
typedef int (*ota_ini_handler)(void *user, const char *section, const char *key, const char *value, int line);
/* Called per section header (a section may have no keys). */
typedef int (*ota_ini_section_handler)(void *user, const char *section, int line);
/* Parses INI text, calling section_handler (may be NULL) and handler in file
 * order. Returns 0, or the line of the first error, after which no handler
 * is called: a handler's (which records its own message) or the dialect's,
 * whose reason is then in err. */
int ota_ini_parse_text(const char *text, ota_ini_handler handler, ota_ini_section_handler section_handler,
		       void *user, struct ota_error *err) _must_check_;
/* For a parser whose handlers record their error in *r and its line in
 * *error_line: merges in what ota_ini_parse_text returned (line), so that
 * *r and *error_line are the first error, a handler's or the dialect's
 * (-EINVAL; err holds its reason). Returns *r. */
int ota_ini_first_error(int line, int *r, int *error_line);
/* Says where in a file an error is: prefixes err with "SOURCE:LINE: ", or
 * "SOURCE: " for line 0 (the file as a whole). */
void ota_ini_error_at(struct ota_error *err, const char *source, int line);

/* ---- files ----------------------------------------------------------------- */

/* Reads a whole file of at most max_size bytes into a NUL-terminated buffer. */
int ota_read_file(const char *path, size_t max_size, char **ret_data, size_t *ret_size,
		  struct ota_error *err) _must_check_;
/* ota_read_file() for text: follows symlinks, but reads only a regular file
 * (a FIFO, directory or device is refused without being opened or waited
 * on) and refuses a NUL byte (naming its line), so parsers see all of it as
 * one C string. */
int ota_read_text_file(const char *path, size_t max_size, char **ret_text, struct ota_error *err) _must_check_;
/* ota_read_text_file() for a configuration file (docs/configuration.md),
 * with the one size limit of them all. */
#define OTA_CONFIG_FILE_MAX (1024 * 1024)
int ota_read_config_file(const char *path, char **ret_text, struct ota_error *err) _must_check_;
/* Reads the first line of a small file (sysfs attributes), newline stripped. */
int ota_read_line(const char *path, char *buf, size_t size) _must_check_;
/* Power-fail safe replace: writes <path>.tmp, fsyncs it, renames it over
 * path and fsyncs the directory. After a crash, path holds either the old or
 * the new content, never a mix. */
int ota_write_file_atomic(const char *path, const void *data, size_t size, mode_t mode,
			  struct ota_error *err) _must_check_;
/* Power-fail property where a rename is not atomic (FAT: vfat rewrites the
 * directory entry in place, and a cut can leave the name missing): rewrites
 * path in place, without O_TRUNC, if it is a regular file of exactly size
 * bytes, and fsyncs it. The name, the directory entry's size and the
 * allocation stay; only the data blocks are written, so a file that fits in
 * one sector holds the old or the new content after a cut on a medium that
 * writes a sector whole. Returns 0, 1 when path is absent or not a regular
 * file of that size (nothing written: use ota_write_file_atomic), or
 * -errno. */
int ota_overwrite_same_size(const char *path, const void *data, size_t size, struct ota_error *err) _must_check_;
/* Writes all of data, retrying short writes and EINTR: 0, -errno, or
 * -ENOSPC when the file or device takes no more. */
int ota_write_all(int fd, const void *data, size_t size) _must_check_;
/* Reads size bytes, retrying short reads and EINTR; only the end of the
 * file stops it early. Returns the bytes read or -errno. */
ssize_t ota_read_full(int fd, void *buf, size_t size) _must_check_;
/* Writes all of data at offset, retrying short writes and EINTR: 0, -errno,
 * -ENOSPC when the file or device takes no more, -EOVERFLOW past off_t. */
int ota_pwrite_all(int fd, const void *data, size_t size, uint64_t offset) _must_check_;
/* Reads size bytes at offset, retrying short reads and EINTR; only the end
 * of the file stops it early. Returns the bytes read, -errno, or
 * -EOVERFLOW past off_t. */
ssize_t ota_pread_full(int fd, void *buf, size_t size, uint64_t offset) _must_check_;

/* A file written in pieces and published whole, for outputs a user names
 * (ota-bundle create and extract): open creates a new temporary file beside
 * path under a unique name (never an existing file); commit fsyncs it,
 * renames it over path and fsyncs the directory, so path holds either what
 * was there before or the complete new file; abort closes and removes the
 * temporary. path itself is not touched before commit. */
struct ota_atomic_file {
	int fd;
	char tmp[4096];
};
int ota_atomic_file_open(struct ota_atomic_file *f, const char *path, mode_t mode,
			 struct ota_error *err) _must_check_;
int ota_atomic_file_commit(struct ota_atomic_file *f, const char *path, struct ota_error *err) _must_check_;
void ota_atomic_file_abort(struct ota_atomic_file *f);

/* Renames from to to (same file system), failing with -EEXIST instead of
 * replacing an existing to, then fsyncs to's directory: after a crash the
 * file has one of the two names. */
int ota_rename_noreplace(const char *from, const char *to, struct ota_error *err) _must_check_;
/* mkdir -p; existing directories are fine. */
int ota_mkdir_p(const char *path, mode_t mode) _must_check_;
/* mkdir -p of the directory path is in (nothing for a bare name or a file
 * in "/"), before path is created. 0 or -errno. */
int ota_mkdir_parent(const char *path, mode_t mode) _must_check_;
/* fsyncs the directory dir, so that the names made, renamed or removed in
 * it survive a power cut. 0 or -errno. */
int ota_fsync_dir(const char *dir) _must_check_;
/* Removes everything inside the directory dirfd refers to, without following
 * symlinks or crossing into other mounts. Any depth: iterative, one
 * directory open at a time. Keeps going after errors and returns the first
 * one. */
int ota_remove_contents_at(int dirfd) _must_check_;
/* cp -a: copies src (file, directory tree, symlink, node) to dst, which must
 * not exist, keeping owner, mode, timestamps and xattrs. Not atomic: copy to
 * a staging name and rename; on failure dst is left half made for the caller
 * to remove. Hard links become separate files. Iterative: the depth of the
 * tree is bounded only by PATH_MAX for src and dst paths (-ENAMETOOLONG with
 * a message naming the depth). */
int ota_copy_tree(const char *src, const char *dst, struct ota_error *err) _must_check_;
/* Resolves path (absolute) as if root were "/": symlinks are followed, and
 * absolute targets and ".." stay inside root (openat2's RESOLVE_IN_ROOT);
 * root "" or "/" is the real root. Components that do not exist are kept as
 * written. buf gets the canonical result, absolute and relative to root.
 * -ELOOP after 40 symlinks, -ENOTDIR, -ENAMETOOLONG, or lstat's error. */
int ota_path_resolve_in_root(const char *root, const char *path, char *buf, size_t size,
			     struct ota_error *err) _must_check_;
/* True if path is a mount point according to /proc/self/mountinfo. Returns
 * 1, 0 or -errno. */
int ota_is_mount_point(const char *path) _must_check_;

/* ---- block devices --------------------------------------------------------- */

struct ota_partition {
	char devpath[64];   /* /dev node, e.g. /dev/vda3 */
	dev_t devno;
	unsigned partno;    /* 1-based, as the kernel numbers it */
	uint64_t start;     /* bytes from the disk's start, the kernel's view (sysfs) */
	uint64_t size;      /* bytes, the kernel's view (an MBR extended container: 1 or 2 sectors) */
	char name[128];     /* GPT partition name (PARTLABEL), "" on MBR: 36 UTF-16 units are at most 108 bytes of UTF-8 */
	char partuuid[40];  /* as in root=PARTUUID= */
	char fstype[32];    /* "" if no filesystem was recognised */
	char label[80];     /* filesystem label, "" if none */
};

/* Finds the /dev node of a block device number via /sys/dev/block. */
int ota_blockdev_devpath(dev_t devno, char *buf, size_t size, struct ota_error *err) _must_check_;
/* Resolves a device spec: /dev/<node>, PARTUUID=, PARTLABEL=, UUID=, LABEL= or
 * MAJ:MIN, as the kernel's root= (plus the filesystem tags). */
int ota_blockdev_resolve(const char *spec, dev_t *ret_devno, char *ret_path, size_t path_size,
			 struct ota_error *err) _must_check_;
/* The whole disk a partition belongs to. */
int ota_blockdev_whole_disk(dev_t part, dev_t *ret_disk, char *ret_path, size_t path_size,
			    struct ota_error *err) _must_check_;
/* Lists the partitions of a whole disk (sysfs for the kernel's view, libblkid
 * for names, PARTUUIDs and filesystems). *ret is malloc'd; free() it. */
int ota_blockdev_list_partitions(dev_t disk, struct ota_partition **ret, size_t *ret_count,
				 struct ota_error *err) _must_check_;
/* Probes the filesystem type and label of a device ("" when none). */
int ota_blockdev_probe_fs(const char *devpath, char *fstype, size_t fstype_size, char *label,
			  size_t label_size, struct ota_error *err) _must_check_;

/* Where a slot's bytes live, so that two names for one storage can be told
 * apart from two storages: a loop device is followed to its backing file and
 * offset, a partition to its whole disk and start, so that
 *   - two loop devices over one file,
 *   - a loop device and the plain file it is over,
 *   - a partition found by PARTLABEL= and by its /dev path,
 *   - a partition and its whole disk (or a loop device with an offset into
 *     a region another one covers)
 * all give extents of the same object whose byte ranges overlap. Device
 * mapper and md stacks are not followed (compared by device number only). */
struct ota_storage_extent {
	dev_t dev;        /* a file: st_dev of the file system; a disk: the whole disk's device number */
	ino_t ino;        /* a file: its inode; 0: a disk */
	uint64_t start;   /* first byte in that file or disk */
	uint64_t size;    /* bytes; UINT64_MAX: to the end of a file (files grow) */
	char via[160];    /* how it was found, for messages: "loop device /dev/loop3 over '/x.img' at 1048576" */
};

/* Resolves a regular file or block device (following symlinks) to its
 * extent. -ENOENT if it does not exist; -EINVAL if it is neither. */
int ota_storage_extent_of(const char *path, struct ota_storage_extent *ret, struct ota_error *err) _must_check_;
/* True if a and b are bytes of the same file or disk and their ranges meet. */
bool ota_storage_extents_overlap(const struct ota_storage_extent *a, const struct ota_storage_extent *b);

/* ---- processes -------------------------------------------------------------- */

/* Grace between SIGTERM and SIGKILL when a child's time is up. */
#define OTA_SPAWN_KILL_GRACE_MS 2000u

/* What ota_spawn() gives a child and collects from it. */
struct ota_spawn_opts {
	/* Extra "KEY=value" entries added to (and overriding) the environment. */
	const char *const *env;
	size_t n_env;
	/* The child's environment is env alone, not ours plus env. */
	bool clean_env;
	/* Capture stdout into out (at most out_size - 1 bytes, NUL-terminated);
	 * NULL: the child's stdout goes to our stderr (keeps our stdout clean),
	 * or to /dev/null with discard_stdout. */
	char *out;
	size_t out_size;
	bool discard_stdout;
	/* Capture the first errbuf_size - 1 bytes of stderr for messages (the
	 * rest is read and dropped); NULL: the child inherits our stderr. */
	char *errbuf;
	size_t errbuf_size;
	/* Required, > 0: how long the child may run. */
	unsigned timeout_ms;
	/* SIGTERM to SIGKILL; 0: OTA_SPAWN_KILL_GRACE_MS. */
	unsigned kill_grace_ms;
};

/* Runs argv[0] (an absolute path, executed directly: no shell, no PATH
 * search) with argv, stdin from /dev/null, default signal handling and an
 * empty signal mask, in a process group of its own, and waits for it.
 *
 * The deadline holds whether or not output is captured and whatever the
 * child does with its file descriptors: when timeout_ms has passed, the whole
 * process group gets SIGTERM, and SIGKILL once the child has exited or
 * kill_grace_ms has passed. When the child exits in time, whatever it left
 * running in its group is killed (SIGKILL): a program run here is done when
 * it exits. A process that moved to another group or session escapes.
 *
 * Returns the exit status (0..255) as a non-negative value, or a negative
 * errno with err naming argv[0]: -ETIMEDOUT (the deadline passed, or the
 * child did not exit even after SIGKILL: it is then left unreaped), -EMSGSIZE
 * (stdout longer than out_size - 1; the group is killed as on a timeout),
 * -EINTR (the child was killed by a signal), -EINVAL (no timeout, relative
 * path), and fork/pipe/wait failures. A child that cannot exec exits 127 (not
 * found) or 126.
 *
 * No signal handler is installed and nothing but the child is waited for,
 * so this is safe in PID 1 (ota-init). Orphans of the group are reparented
 * to PID 1 or a subreaper, which reaps them. SIGCHLD must not be ignored
 * (SIG_IGN makes the kernel reap the child before its status is read). */
int ota_spawn(const char *const *argv, const struct ota_spawn_opts *opts, struct ota_error *err) _must_check_;

/* Runs a system program (mkfs, e2fsck) by name: argv[0] is looked up in
 * /sbin, /usr/sbin, /bin, /usr/bin (in that order) and executed through
 * ota_spawn() with only PATH in the environment, stdout discarded, stderr
 * inherited (the console under ota-init), under timeout_ms. argv[0] is left
 * as it was. Returns the exit status (>= 0) or a negative errno (-ENOENT:
 * not found in those directories). */
int ota_run_system_program(const char **argv, unsigned timeout_ms, struct ota_error *err) _must_check_;
/* The absolute path of the system program name in those directories, for a
 * caller that runs it with ota_spawn() and options of its own; -ENOENT
 * (err names the directories searched) when none has it. */
int ota_find_system_program(const char *name, char *buf, size_t size, struct ota_error *err) _must_check_;

#endif

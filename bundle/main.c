/* SPDX-License-Identifier: Apache-2.0 */
/* ota-bundle: create, sign, inspect, verify and extract update bundles. A
 * thin main over otabundle; every failure is printed once, here. */
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <libgen.h>
#include <string.h>
#include <sys/stat.h>

#include "bundle/bundle.h"

static const char *arg_key, *arg_cert, *arg_chain, *arg_keyring, *arg_compatible;
static bool arg_json, arg_allow_unsigned, arg_check_time;
static struct ota_bundle_http_opts arg_http;
static struct ota_bundle_algorithms arg_algorithms;
static unsigned arg_threads;
static int arg_level;
static const char *arg_delta_bases[OTA_BUNDLE_MAX_PATCH_BASES];
static size_t arg_n_delta_bases;

/* Option values; each command's table lists the ones it takes. */
#define URL_OPTS "APaDOWM" "S"	 /* reading a bundle over http(s) */
#define POLICY_OPTS "KptuREG"	 /* what a verified bundle must meet */

static const struct option options[] = {
	{ "key", required_argument, NULL, 'k' },	{ "cert", required_argument, NULL, 'c' },
	{ "chain", required_argument, NULL, 'C' },	{ "keyring", required_argument, NULL, 'K' },
	{ "compatible", required_argument, NULL, 'p' }, { "json", no_argument, NULL, 'j' },
	{ "allow-unsigned", no_argument, NULL, 'u' },	{ "check-time", no_argument, NULL, 't' },
	{ "threads", required_argument, NULL, 'T' },	{ "level", required_argument, NULL, 'L' },
	{ "ca-file", required_argument, NULL, 'A' },	{ "ca-path", required_argument, NULL, 'P' },
	{ "attempts", required_argument, NULL, 'a' },	{ "retry-delay", required_argument, NULL, 'D' },
	{ "connect-timeout", required_argument, NULL, 'O' }, { "timeout", required_argument, NULL, 'W' },
	{ "min-rate", required_argument, NULL, 'M' },	{ "stall-time", required_argument, NULL, 'S' },
	{ "min-rsa-bits", required_argument, NULL, 'R' }, { "min-ec-bits", required_argument, NULL, 'E' },
	{ "min-digest-bits", required_argument, NULL, 'G' },
	{ "delta-base", required_argument, NULL, 'B' },
	OTA_CLI_STANDARD_OPTIONS,
	{ 0 },
};

#define URL_HELP                                                                                 \
	"URL options: --ca-file PEM  --ca-path DIR  --attempts N  --retry-delay MS  --connect-timeout S\n" \
	"             --timeout S  --min-rate BYTES  --stall-time S\n"
#define POLICY_HELP                                                                               \
	"  --keyring CA.pem    trusted signers (or --allow-unsigned: accept a bundle without signature)\n" \
	"  --check-time        check the certificates' validity period against the clock\n"          \
	"  --compatible C      refuse a bundle for another compatible\n"                             \
	"  --min-rsa-bits N (>= 2048)  --min-ec-bits N (>= 256)  --min-digest-bits N (>= 256)\n"

static const struct ota_cli_command self = {
	.usage = "Usage: ota-bundle create [--key K --cert C [--chain P]] [--threads N] [--level L] [--delta-base OLD]... MANIFEST.ini OUT\n"
		 "       ota-bundle sign --key K --cert C [--chain P] BUNDLE [OUT]\n"
		 "       ota-bundle prepare BUNDLE OUT          (write the bytes to sign)\n"
		 "       ota-bundle attach BUNDLE SIG.der [OUT] (add a detached DER CMS)\n"
		 "       ota-bundle inspect [--json] BUNDLE|URL\n"
		 "       ota-bundle verify --keyring CA.pem [--check-time] [--allow-unsigned] [--compatible C] BUNDLE|URL|-\n"
		 "       ota-bundle extract --keyring CA.pem [...verify options] BUNDLE|URL|- SLOT-CLASS OUT\n"
		 "verify options: --min-rsa-bits N (>= 2048)  --min-ec-bits N (>= 256)  --min-digest-bits N (>= 256)\n" URL_HELP
		 "\n"
		 "  -h, --help     this help; COMMAND --help: the command's\n"
		 "  -V, --version  the version of otaroot\n"
		 "\n"
		 "Exit status: 0 done, 1 failed, 2 usage error, 3 bundle not authentic, 4 bundle not for\n"
		 "this system (--compatible, format), 5 download failed.\n",
};

enum { CMD_CREATE, CMD_SIGN, CMD_PREPARE, CMD_ATTACH, CMD_INSPECT, CMD_VERIFY, CMD_EXTRACT };

static const struct ota_cli_command commands[] = {
	[CMD_CREATE] = { "create", "kcCTLB", 2, 2,
			 "Usage: ota-bundle create [--key K --cert C [--chain P]] [--threads N] [--level L] [--delta-base OLD]... MANIFEST.ini OUT\n"
			 "\n"
			 "Builds a bundle from MANIFEST.ini (docs/bundle-format.md), signed with --key and --cert.\n"
			 "\n"
			 "  --key K, --cert C   the signer's private key and certificate (PEM)\n"
			 "  --chain P           intermediate certificates to embed (PEM)\n"
			 "  --threads N         chunking and compression threads (default: one per CPU)\n"
			 "  --level L           zstd level 1..19\n"
			 "  --delta-base OLD    also carry patches of changed chunks against OLD, an earlier\n"
			 "                      image or bundle, and where OLD holds the others (moves; up to 4;\n"
			 "                      devices on another release ignore them)\n" },
	[CMD_SIGN] = { "sign", "kcC", 1, 2,
		       "Usage: ota-bundle sign --key K --cert C [--chain P] BUNDLE [OUT]\n"
		       "\n"
		       "Signs BUNDLE (replacing a signature) into OUT, else in place.\n" },
	[CMD_PREPARE] = { "prepare", "", 2, 2,
			  "Usage: ota-bundle prepare BUNDLE OUT\n"
			  "\n"
			  "Writes the bytes to sign (the manifest) to OUT, for a signer elsewhere (an HSM).\n" },
	[CMD_ATTACH] = { "attach", "", 2, 3,
			 "Usage: ota-bundle attach BUNDLE SIG.der [OUT]\n"
			 "\n"
			 "Adds a detached DER CMS signature made over prepare's output.\n" },
	[CMD_INSPECT] = { "inspect", "j" URL_OPTS, 1, 1,
			  "Usage: ota-bundle inspect [--json] BUNDLE|URL\n"
			  "\n"
			  "Prints the header and manifest; verifies nothing.\n"
			  "\n"
			  "  --json   one JSON object (docs/bundle-format.md)\n" URL_HELP },
	[CMD_VERIFY] = { "verify", POLICY_OPTS URL_OPTS, 1, 1,
			 "Usage: ota-bundle verify --keyring CA.pem [OPTIONS] BUNDLE|URL|-\n"
			 "\n"
			 "Checks the signature and every chunk of every payload.\n"
			 "\n" POLICY_HELP URL_HELP },
	[CMD_EXTRACT] = { "extract", POLICY_OPTS URL_OPTS, 3, 3,
			  "Usage: ota-bundle extract --keyring CA.pem [OPTIONS] BUNDLE|URL|- SLOT-CLASS OUT\n"
			  "\n"
			  "Verifies the bundle and writes the image of SLOT-CLASS to OUT.\n"
			  "\n" POLICY_HELP URL_HELP },
};

static int set_option(int opt, const char *arg);

static const struct ota_cli cli = {
	.tool = "ota-bundle",
	.options = options,
	.self = &self,
	.commands = commands,
	.n_commands = OTA_ELEMENTSOF(commands),
	.set = set_option,
};

/* A bundle read (inspect, verify, extract) that failed: its reason picks
 * the exit status (docs/cli.md, "Failure reasons"). */
static int fail_reading(const struct ota_error *err)
{
	(void)ota_cli_fail(err);
	return ota_error_exit_status(err);
}

/* ---- create: manifest input file ------------------------------------------ */

#define MAX_IMAGES OTA_BUNDLE_MAX_PAYLOADS

struct input {
	const char *path;
	char dir[4096];
	char *compatible, *version, *build, *description;
	enum ota_chunker_kind chunker;
	uint64_t chunk_size;
	struct ota_bundle_image images[MAX_IMAGES];
	char *paths[MAX_IMAGES], *classes[MAX_IMAGES];
	size_t n_images;
	char error[512];
};

static void input_done(struct input *in)
{
	free(in->compatible);
	free(in->version);
	free(in->build);
	free(in->description);
	for (size_t i = 0; i < in->n_images; i++) {
		free(in->paths[i]);
		free(in->classes[i]);
	}
}

/* Returns 1, which makes the parser stop and report the line. */
static int set_error(struct input *in, const char *what, const char *value)
{
	if (!in->error[0])
		(void)snprintf(in->error, sizeof(in->error), "%s '%s'", what, value);
	return 1;
}

static int input_image(struct input *in, const char *class, const char *name, const char *value)
{
	size_t i;
	for (i = 0; i < in->n_images; i++)
		if (ota_streq(in->classes[i], class))
			break;
	if (i == in->n_images) {
		if (i == MAX_IMAGES)
			return set_error(in, "too many images at", class);
		if (!(in->classes[i] = strdup(class)))
			return set_error(in, "out of memory at", class);
		in->n_images++;
	}
	if (!ota_streq(name, "file"))
		return set_error(in, "unknown key", name);
	char buf[8192];
	int r = value[0] == '/' ? ota_format(buf, sizeof(buf), "%s", value)
				: ota_format(buf, sizeof(buf), "%s/%s", in->dir, value);
	if (r < 0 || ota_strdup_to(&in->paths[i], buf) < 0)
		return set_error(in, "bad path", value);
	return 0;
}

static int input_bundle(struct input *in, const char *name, const char *value)
{
	char **dst = ota_streq(name, "compatible") ? &in->compatible
		     : ota_streq(name, "version") ? &in->version
		     : ota_streq(name, "build") ? &in->build
		     : ota_streq(name, "description") ? &in->description : NULL;
	if (dst)
		return ota_strdup_to(dst, value) < 0 ? set_error(in, "out of memory at", name) : 0;
	if (ota_streq(name, "chunker")) {
		in->chunker = ota_streq(value, "buzhash") ? OTA_CHUNKER_BUZHASH
			      : ota_streq(value, "fixed") ? OTA_CHUNKER_FIXED : 0;
		return in->chunker ? 0 : set_error(in, "chunker must be buzhash or fixed, not", value);
	}
	if (ota_streq(name, "chunk-size"))
		return ota_parse_u64(value, &in->chunk_size) < 0 || in->chunk_size > UINT32_MAX
			       ? set_error(in, "bad chunk-size", value) : 0;
	return set_error(in, "unknown key", name);
}

static int input_handler(void *user, const char *section, const char *name, const char *value, int line)
{
	(void)line;
	struct input *in = user;
	if (ota_streq(section, "bundle"))
		return input_bundle(in, name, value);
	if (ota_startswith(section, "image."))
		return input_image(in, section + 6, name, value);
	return set_error(in, "unknown section", section);
}

static int read_input(struct input *in, const char *path)
{
	in->path = path;
	char tmp[4096];
	if (ota_format(tmp, sizeof(tmp), "%s", path) < 0 || ota_format(in->dir, sizeof(in->dir), "%s", dirname(tmp)) < 0) {
		log_error("manifest input '%s': path too long", path);
		return -ENAMETOOLONG;
	}
	struct ota_error err = { 0 };
	_cleanup_free_ char *text = NULL;
	int r = ota_read_config_file(path, &text, &err);
	if (r < 0) {
		log_error("manifest input: %s", err.msg);
		return r;
	}
	r = ota_ini_parse_text(text, input_handler, NULL, in, &err);
	if (r > 0) {
		log_error("manifest input '%s', line %d: %s", path, r, in->error[0] ? in->error : err.msg);
		return -EINVAL;
	}
	for (size_t i = 0; i < in->n_images; i++) {
		if (!in->paths[i]) {
			log_error("manifest input '%s': [image.%s] has no 'file'", path, in->classes[i]);
			return -EINVAL;
		}
		in->images[i] = (struct ota_bundle_image){ .path = in->paths[i], .slot_class = in->classes[i] };
	}
	if (!in->compatible || !in->version || in->n_images == 0) {
		log_error("manifest input '%s': needs [bundle] compatible, version and at least one [image.<class>] file", path);
		return -EINVAL;
	}
	return 0;
}

static int cmd_create(int argc, char **argv)
{
	struct input in = { 0 };
	int ret = 1;
	if (read_input(&in, argv[0]) == 0) {
		struct ota_bundle_create_opts o = {
			.compatible = in.compatible, .version = in.version, .build = in.build,
			.description = in.description, .chunker = in.chunker, .chunk_avg = (uint32_t)in.chunk_size,
			.zstd_level = arg_level, .threads = arg_threads, .images = in.images, .n_images = in.n_images,
			.cert = arg_cert, .key = arg_key, .chain = arg_chain,
			.delta_bases = arg_delta_bases, .n_delta_bases = arg_n_delta_bases,
		};
		struct ota_error err = { 0 };
		ret = ota_bundle_create(&o, argv[1], &err) < 0 ? ota_cli_fail(&err) : 0;
	}
	input_done(&in);
	return ret;
}

/* ---- signing ---------------------------------------------------------------- */

static int cmd_sign(int argc, char **argv)
{
	if (!arg_key || !arg_cert)
		return ota_cli_usage_error(&cli, &commands[CMD_SIGN], "sign needs --key and --cert");
	struct ota_error err = { 0 };
	struct ota_bundle_header h;
	_cleanup_free_ uint8_t *man = NULL, *sig = NULL;
	size_t sig_size;
	if (ota_bundle_read_head(argv[0], &h, &man, NULL, &err) < 0 ||
	    ota_bundle_sign_data(man, h.manifest_size, arg_cert, arg_key, arg_chain, &sig, &sig_size, &err) < 0 ||
	    ota_bundle_attach(argv[0], sig, sig_size, argc == 2 ? argv[1] : argv[0], &err) < 0)
		return ota_cli_fail(&err);
	return 0;
}

static int cmd_prepare(int argc, char **argv)
{
	struct ota_error err = { 0 };
	return ota_bundle_prepare(argv[0], argv[1], &err) < 0 ? ota_cli_fail(&err) : 0;
}

static int cmd_attach(int argc, char **argv)
{
	struct ota_error err = { 0 };
	_cleanup_free_ char *sig = NULL;
	size_t size;
	if (ota_read_file(argv[1], OTA_BUNDLE_MAX_SIGNATURE, &sig, &size, &err) < 0 ||
	    ota_bundle_attach(argv[0], (uint8_t *)sig, size, argc == 3 ? argv[2] : argv[0], &err) < 0)
		return ota_cli_fail(&err);
	return 0;
}

/* ---- inspect ---------------------------------------------------------------- */

static void add_str(json_object *o, const char *key, const char *v)
{
	json_object_object_add(o, key, v ? json_object_new_string(v) : NULL);
}

static void add_u64(json_object *o, const char *key, uint64_t v)
{
	json_object_object_add(o, key, json_object_new_uint64(v));
}

static void print_json(const struct ota_manifest *m, const struct ota_bundle_header *h, const char *signer)
{
	char hex[65];
	json_object *o = json_object_new_object(), *payloads = json_object_new_array();
	add_u64(o, "format", h->version);
	add_u64(o, "manifest_size", h->manifest_size);
	add_u64(o, "signature_size", h->signature_size);
	add_str(o, "signer", signer);
	add_str(o, "compatible", m->compatible);
	add_str(o, "version", m->version);
	add_str(o, "build", m->build);
	add_str(o, "description", m->description);
	add_u64(o, "created", m->created);
	add_u64(o, "data_size", m->data_size);
	for (size_t i = 0; i < m->n_payloads; i++) {
		const struct ota_manifest_payload *p = &m->payloads[i];
		json_object *e = json_object_new_object();
		add_str(e, "slot_class", p->slot_class);
		add_str(e, "name", p->name);
		add_u64(e, "image_size", p->image_size);
		ota_bundle_hex(p->image_sha256, hex);
		add_str(e, "image_sha256", hex);
		add_u64(e, "chunk_count", p->chunk_count);
		ota_bundle_hex(p->table_sha256, hex);
		add_str(e, "chunk_table_sha256", hex);
		add_u64(e, "table_offset", p->table_offset);
		add_u64(e, "data_offset", p->data_offset);
		add_u64(e, "data_size", p->data_size);
		add_str(e, "chunker", p->chunker == OTA_CHUNKER_FIXED ? "fixed" : "buzhash");
		add_u64(e, "chunk_avg", p->chunk_avg);
		add_str(e, "compression", "zstd");
		add_u64(e, "patches", p->n_patches);
		add_u64(e, "moves", p->n_moves);
		json_object_array_add(payloads, e);
	}
	json_object_object_add(o, "payloads", payloads);
	printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
}

static void print_human(const struct ota_manifest *m, const struct ota_bundle_header *h, const char *signer)
{
	char hex[65];
	printf("format:      %u\n", h->version);
	printf("signature:   %s\n", signer ? signer : "none (unsigned)");
	printf("compatible:  %s\nversion:     %s\n", m->compatible, m->version);
	if (m->build)
		printf("build:       %s\n", m->build);
	if (m->description)
		printf("description: %s\n", m->description);
	if (m->created)
		printf("created:     %llu\n", (unsigned long long)m->created);
	for (size_t i = 0; i < m->n_payloads; i++) {
		const struct ota_manifest_payload *p = &m->payloads[i];
		ota_bundle_hex(p->image_sha256, hex);
		printf("payload %s (%s): %llu bytes in %llu chunks (%s, avg %u), %llu compressed\n  sha256 %s\n",
		       p->slot_class, p->name ? p->name : "-", (unsigned long long)p->image_size,
		       (unsigned long long)p->chunk_count, p->chunker == OTA_CHUNKER_FIXED ? "fixed" : "buzhash",
		       p->chunk_avg, (unsigned long long)p->data_size, hex);
		if (p->n_patches)
			printf("  %zu chunk patches against earlier releases\n", p->n_patches);
		if (p->n_moves)
			printf("  %zu runs of chunks that earlier releases hold elsewhere (moves)\n", p->n_moves);
	}
}

static void http_report(const struct ota_bundle_http *web)
{
	struct ota_bundle_http_stats st;
	ota_bundle_http_get_stats(web, &st);
	if (st.size)
		log_info("downloaded %llu of %llu bytes in %u requests (%u retries)", (unsigned long long)st.downloaded,
			 (unsigned long long)st.size, st.requests, st.retries);
	else
		log_info("downloaded %llu bytes (size unknown) in %u requests (%u retries)",
			 (unsigned long long)st.downloaded, st.requests, st.retries);
}

/* inspect over HTTP: the header, then manifest and signature, by range. */
static int read_head_url(const char *url, struct ota_bundle_header *ret_h, uint8_t **ret_man, uint8_t **ret_sig,
			 struct ota_error *err)
{
	struct ota_bundle_http *web = NULL;
	int r = ota_bundle_http_new(url, &arg_http, &web, err);
	if (r < 0)
		return r;
	uint8_t hb[OTA_BUNDLE_HEADER_SIZE];
	struct ota_bundle_range rh = { 0, sizeof(hb), hb };
	_cleanup_free_ uint8_t *man = NULL, *sig = NULL;
	struct ota_bundle_header h;
	if ((r = ota_bundle_http_fetch(web, &rh, 1, err)) == 0 && (r = ota_bundle_header_parse(hb, sizeof(hb), &h, err)) == 0) {
		man = malloc(h.manifest_size);
		sig = malloc(h.signature_size ? h.signature_size : 1);
		struct ota_bundle_range rs[2] = {
			{ OTA_BUNDLE_HEADER_SIZE, h.manifest_size, man },
			{ OTA_BUNDLE_HEADER_SIZE + h.manifest_size, h.signature_size, sig },
		};
		r = !man || !sig ? ota_error_set(err, -ENOMEM, "out of memory") : ota_bundle_http_fetch(web, rs, 2, err);
	}
	if (r == 0) {
		http_report(web);
		*ret_h = h;
		*ret_man = TAKE_PTR(man);
		*ret_sig = TAKE_PTR(sig);
	} else {
		ota_error_prefix(err, "bundle '%s': ", url);
	}
	web = ota_bundle_http_free(web);
	return r;
}

static int cmd_inspect(int argc, char **argv)
{
	struct ota_error err = { 0 };
	struct ota_bundle_header h;
	_cleanup_free_ uint8_t *man = NULL, *sig = NULL;
	struct ota_manifest *m = NULL;
	if ((ota_bundle_is_url(argv[0]) ? read_head_url(argv[0], &h, &man, &sig, &err)
					: ota_bundle_read_head(argv[0], &h, &man, &sig, &err)) < 0 ||
	    ota_manifest_parse(man, h.manifest_size, &m, &err) < 0)
		return fail_reading(&err);
	struct ota_bundle_signer_info info;
	char signer[600];
	bool have = h.signature_size && ota_bundle_signature_describe(sig, h.signature_size, &info, &err) == 0;
	if (ota_format(signer, sizeof(signer), "%s (issuer %s; not verified)", have ? info.subject : "?",
			 have ? info.issuer : "?") < 0)
		log_debug("signer name truncated"); /* the buffer keeps its prefix */
	if (arg_json)
		print_json(m, &h, h.signature_size ? signer : NULL);
	else
		print_human(m, &h, h.signature_size ? signer : NULL);
	ota_manifest_free(m);
	return 0;
}

/* ---- verify and extract ----------------------------------------------------- */

/* extract writes a file output through a temporary that is renamed over it
 * only when the whole bundle verified; a device (or a pipe) given as the
 * output is written in place and never removed. */
struct extract {
	const char *slot_class;
	const char *out_path;
	int fd;
	bool in_place;               /* out_path is a device or a FIFO */
	struct ota_atomic_file file; /* otherwise */
	bool found;
	char resolved[PATH_MAX];
	struct ota_error *err;
};

static bool extract_want(void *userdata, const struct ota_manifest_payload *p)
{
	struct extract *x = userdata;
	return x->slot_class && ota_streq(p->slot_class, x->slot_class);
}

static int extract_begin(void *userdata, const struct ota_manifest_payload *p)
{
	struct extract *x = userdata;
	x->found = true;
	/* A symlink names where the user wants the data: publish it there, not
	 * by replacing the link with a file. */
	if (realpath(x->out_path, x->resolved))
		x->out_path = x->resolved;
	struct stat st;
	if (stat(x->out_path, &st) == 0 && S_ISDIR(st.st_mode))
		return ota_error_set(x->err, -EISDIR, "output '%s' is a directory", x->out_path);
	x->in_place = stat(x->out_path, &st) == 0 && !S_ISREG(st.st_mode);
	if (!x->in_place) {
		int r = ota_atomic_file_open(&x->file, x->out_path, 0644, x->err);
		x->fd = x->file.fd;
		return r;
	}
	x->fd = open(x->out_path, O_WRONLY | O_CLOEXEC);
	return x->fd < 0 ? ota_error_errno(x->err, -errno, "open '%s'", x->out_path) : 0;
}

static int extract_chunk(void *userdata, const struct ota_manifest_payload *p, const struct ota_chunk_entry *e,
			 uint64_t offset, const void *data, size_t size)
{
	struct extract *x = userdata;
	int r = ota_write_all(x->fd, data, size);
	return r < 0 ? ota_error_errno(x->err, r, "write '%s'", x->in_place ? x->out_path : x->file.tmp) : 0;
}

/* The payload is complete; the output is published in finish_output()
 * once the rest of the bundle has verified too. */
static int extract_end(void *userdata, const struct ota_manifest_payload *p)
{
	return 0;
}

static int finish_output(struct extract *x, int r, struct ota_error *err)
{
	if (x->fd < 0)
		return r;
	if (!x->in_place) {
		x->fd = -1;
		if (r == 0)
			return ota_atomic_file_commit(&x->file, x->out_path, err);
		ota_atomic_file_abort(&x->file);
		return r;
	}
	if (r == 0 && fsync(x->fd) < 0 && errno != EINVAL && errno != EROFS)
		r = ota_error_errno(err, -errno, "fsync '%s'", x->out_path);
	if (close(x->fd) < 0 && r == 0)
		r = ota_error_errno(err, -errno, "close '%s'", x->out_path);
	x->fd = -1;
	if (r < 0)
		ota_error_prefix(err, "'%s' was written in place and holds partial data: ", x->out_path);
	return r;
}

static int open_and_check(const struct ota_bundle_source *src, struct ota_bundle_reader **ret, struct ota_error *err)
{
	struct ota_bundle_trust trust = { .keyring = arg_keyring, .allow_unsigned = arg_allow_unsigned,
					  .check_time = arg_check_time, .algorithms = arg_algorithms };
	int r = ota_bundle_reader_open(src, &trust, NULL, ret, err);
	if (r < 0)
		return r;
	const struct ota_manifest *m = ota_bundle_reader_manifest(*ret);
	if (arg_compatible && !ota_streq(m->compatible, arg_compatible)) {
		r = ota_error_set_because(err, OTA_REASON_INCOMPATIBLE, -EMEDIUMTYPE,
					  "bundle '%s' is for '%s', not compatible with '%s'", src->name, m->compatible,
					  arg_compatible);
		*ret = ota_bundle_reader_free(*ret);
		return r;
	}
	return 0;
}

static int read_bundle(const char *path, struct extract *x)
{
	struct ota_error err = { 0 };
	bool is_stdin = ota_streq(path, "-"), is_url = ota_bundle_is_url(path);
	_cleanup_close_ int fd = is_stdin ? dup(STDIN_FILENO) : is_url ? -EBADF : open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 && !is_url) {
		log_error("open bundle '%s': %m", path);
		return 1;
	}
	struct ota_bundle_source src;
	struct ota_bundle_http *web = NULL;
	if (is_url) {
		if (ota_bundle_http_new(path, &arg_http, &web, &err) < 0)
			return fail_reading(&err);
		ota_bundle_source_http(&src, web);
	} else {
		ota_bundle_source_fd(&src, &fd, is_stdin ? "stdin" : path);
	}
	struct ota_bundle_reader *r = NULL;
	x->err = &err;
	struct ota_bundle_consumer c = { extract_begin, extract_chunk, extract_end, x };
	int ret = open_and_check(&src, &r, &err);
	if (ret == 0)
		ret = ota_bundle_reader_run(r, &c, extract_want, &err);
	ret = finish_output(x, ret, &err);
	struct ota_bundle_signer_info info;
	bool is_signed = r && ota_bundle_reader_signed(r, &info);
	r = ota_bundle_reader_free(r);
	if (web) {
		http_report(web);
		web = ota_bundle_http_free(web);
	}
	if (ret < 0)
		return fail_reading(&err);
	if (x->slot_class && !x->found) {
		log_error("bundle '%s' has no payload for slot class '%s'", path, x->slot_class);
		return 1;
	}
	if (!x->slot_class)
		printf("%s: OK (%s)\n", path, is_signed ? info.subject : "unsigned, allowed");
	return 0;
}

static int cmd_verify(int argc, char **argv)
{
	if (!arg_keyring && !arg_allow_unsigned)
		return ota_cli_usage_error(&cli, &commands[CMD_VERIFY], "verify needs --keyring (or --allow-unsigned)");
	struct extract x = { .fd = -1 };
	return read_bundle(argv[0], &x);
}

static int cmd_extract(int argc, char **argv)
{
	if (!arg_keyring && !arg_allow_unsigned)
		return ota_cli_usage_error(&cli, &commands[CMD_EXTRACT], "extract needs --keyring (or --allow-unsigned)");
	struct extract x = { .slot_class = argv[1], .out_path = argv[2], .fd = -1 };
	return read_bundle(argv[0], &x);
}

/* ---- main ------------------------------------------------------------------- */

/* An algorithm policy option: it can raise the floor, never lower it. */
static int parse_floor(const char *value, const char *option, unsigned floor, unsigned max, unsigned *ret)
{
	uint64_t v;
	if (ota_parse_u64(value, &v) < 0 || v < floor || v > max) {
		log_error("%s: '%s' is not a number in %u..%u (the policy can be raised, not lowered)", option, value,
			  floor, max);
		return -EINVAL;
	}
	*ret = (unsigned)v;
	return 0;
}

static int set_option(int c, const char *arg)
{
	uint64_t v;
	switch (c) {
	case 'k': arg_key = arg; break;
	case 'c': arg_cert = arg; break;
	case 'C': arg_chain = arg; break;
	case 'K': arg_keyring = arg; break;
	case 'p': arg_compatible = arg; break;
	case 'j': arg_json = true; break;
	case 'u': arg_allow_unsigned = true; break;
	case 't': arg_check_time = true; break;
	case 'T': return ota_parse_unsigned(arg, 0, 256, &arg_threads);
	case 'L':
		if (ota_parse_u64(arg, &v) < 0 || v < 1 || v > 19)
			return -EINVAL;
		arg_level = (int)v;
		break;
	case 'B':
		if (arg_n_delta_bases == OTA_BUNDLE_MAX_PATCH_BASES) {
			log_error("--delta-base: at most %u", OTA_BUNDLE_MAX_PATCH_BASES);
			return -EINVAL;
		}
		arg_delta_bases[arg_n_delta_bases++] = arg;
		break;
	case 'A': arg_http.ca_file = arg; break;
	case 'P': arg_http.ca_path = arg; break;
	case 'a': return ota_parse_unsigned(arg, 1, 100, &arg_http.max_attempts);
	case 'D': return ota_parse_unsigned(arg, 1, 600000, &arg_http.retry_delay_ms);
	case 'O': return ota_parse_unsigned(arg, 1, 3600, &arg_http.connect_timeout_s);
	case 'R':
		if (parse_floor(arg, "--min-rsa-bits", OTA_BUNDLE_MIN_RSA_BITS, 16384,
				&arg_algorithms.min_rsa_bits) < 0)
			return -EINVAL;
		break;
	case 'E':
		if (parse_floor(arg, "--min-ec-bits", OTA_BUNDLE_MIN_EC_BITS, 521, &arg_algorithms.min_ec_bits) < 0)
			return -EINVAL;
		break;
	case 'G':
		if (parse_floor(arg, "--min-digest-bits", OTA_BUNDLE_MIN_DIGEST_BITS, 512,
				&arg_algorithms.min_digest_bits) < 0)
			return -EINVAL;
		break;
	case 'W': /* the same range as [update] download-timeout */
		return ota_parse_unsigned(arg, 1, 7 * 86400, &arg_http.timeout_s);
	case 'M': return ota_parse_unsigned(arg, 1, 1u << 30, &arg_http.low_speed_bytes);
	case 'S': return ota_parse_unsigned(arg, 1, 3600, &arg_http.low_speed_time_s);
	}
	return 0;
}

int main(int argc, char **argv)
{
	static int (*const run[])(int, char **) = {
		[CMD_CREATE] = cmd_create,   [CMD_SIGN] = cmd_sign,	  [CMD_PREPARE] = cmd_prepare,
		[CMD_ATTACH] = cmd_attach,   [CMD_INSPECT] = cmd_inspect, [CMD_VERIFY] = cmd_verify,
		[CMD_EXTRACT] = cmd_extract,
	};
	struct ota_cli_args a;
	int rc = ota_cli_start(&cli, argc, argv, &a);
	if (rc != OTA_CLI_CONTINUE)
		return rc;
	return run[a.cmd - commands](a.n, a.args);
}

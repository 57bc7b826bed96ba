/* `vessel img amend`: change an existing qcow2 image in place, with
 * qemu-img amend's options: compat=0.10|1.1, lazy_refcounts=on|off, and
 * the key slots of LUKS-encrypted images (encrypt.state=active|inactive,
 * encrypt.new-secret, encrypt.old-secret, encrypt.keyslot,
 * encrypt.iter-time). Every option is checked before the image is opened:
 * a refused option leaves the file as it was. */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "block/qcow2/qcow2_amend.h"
#include "cli/cli.h"
#include "cli/img.h"
#include "cli/img_opts.h"

static const char amend_usage[] =
    "usage: vessel img amend [--object secret,...] [--image-opts] [-p] [-q] [-f fmt] [--force] -o OPTIONS "
    "FILE\n"
    "\n"
    "options (-o, comma-separated; -o may repeat):\n"
    "  compat=0.10|1.1          downgrade (zero clusters expanded) or upgrade the qcow2 version\n"
    "  lazy_refcounts=on|off    (off: refcounts written back and the dirty bit cleared first)\n"
    "  encrypt.state=active     with encrypt.new-secret=ID: add that passphrase in a free key slot\n"
    "                           (or encrypt.keyslot=N), encrypt.iter-time=MS; the image is unlocked\n"
    "                           with its current passphrase (--image-opts ...,encrypt.key-secret=ID,\n"
    "                           --key-file or VESSEL_IMG_PASSPHRASE)\n"
    "  encrypt.state=inactive   with encrypt.old-secret=ID: erase the key slots holding that\n"
    "                           passphrase, or encrypt.keyslot=N: erase slot N\n"
    "  --force                  overwrite an active slot, erase the last one (the data is lost)\n";

/* Options that only image creation takes (qemu-img's "Invalid parameter"). */
static const char *const create_only[] = {
	"cluster_size",	       "preallocation",	    "extended_l2",
	"compression_type",    "encrypt.format",    "encrypt.cipher-alg",
	"encrypt.cipher-mode", "encrypt.ivgen-alg", "encrypt.ivgen-hash-alg",
	"encrypt.hash-alg",    "encryption",	    "encrypt.key-secret",
	"data_file",	       "data_file_raw",	    "nocow",
};

static int bad(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int bad(const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "vessel: amend: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return -1;
}

static int parse_uint(const char *v, unsigned long long max, unsigned long long *out)
{
	char *end;
	if (!*v || *v == '-' || *v == '+')
		return -1;
	errno = 0;
	*out = strtoull(v, &end, 10);
	return errno || *end || *out > max ? -1 : 0;
}

static int parse_one(char *kv, struct vs_qcow2_amend *a)
{
	char *v = strchr(kv, '=');
	if (!v)
		return bad("-o `%s`: expected key=value", kv);
	*v++ = '\0';
	unsigned long long n;
	for (size_t i = 0; i < sizeof(create_only) / sizeof(create_only[0]); i++)
		if (strcmp(kv, create_only[i]) == 0)
			return bad("Invalid parameter '%s': this option is only supported for image creation",
				   kv);
	if (strcmp(kv, "compat") == 0) {
		if (strcmp(v, "0.10") == 0 || strcmp(v, "v2") == 0)
			a->compat = 2;
		else if (strcmp(v, "1.1") == 0 || strcmp(v, "v3") == 0)
			a->compat = 3;
		else
			return bad("-o %s=%s: Unknown compatibility level (0.10 or 1.1)", kv, v);
	} else if (strcmp(kv, "lazy_refcounts") == 0) {
		if (strcmp(v, "on") == 0 || strcmp(v, "true") == 0)
			a->lazy_refcounts = 1;
		else if (strcmp(v, "off") == 0 || strcmp(v, "false") == 0)
			a->lazy_refcounts = 0;
		else
			return bad("-o %s=%s: use on or off", kv, v);
	} else if (strcmp(kv, "encrypt.state") == 0) {
		if (strcmp(v, "active") == 0)
			a->luks.state = VS_LUKS_STATE_ACTIVE;
		else if (strcmp(v, "inactive") == 0)
			a->luks.state = VS_LUKS_STATE_INACTIVE;
		else
			return bad("-o %s=%s: use active or inactive", kv, v);
	} else if (strcmp(kv, "encrypt.keyslot") == 0) {
		if (parse_uint(v, VS_LUKS_SLOTS - 1, &n) < 0)
			return bad("-o %s=%s: Invalid keyslot, must be between 0 and 7", kv, v);
		a->luks.keyslot = (int)n;
	} else if (strcmp(kv, "encrypt.iter-time") == 0) {
		if (parse_uint(v, 3600000, &n) < 0 || n == 0)
			return bad("-o %s=%s: milliseconds, 1 to 3600000", kv, v);
		a->luks.iter_time_ms = n;
	} else if (strcmp(kv, "encrypt.new-secret") == 0) {
		if (vs_img_secret(v, &a->luks.new_secret, &a->luks.new_len) < 0)
			return -1;
	} else if (strcmp(kv, "encrypt.old-secret") == 0) {
		if (vs_img_secret(v, &a->luks.old_secret, &a->luks.old_len) < 0)
			return -1;
	} else if (strcmp(kv, "size") == 0) {
		return bad("-o %s=%s: amend does not resize: use `vessel img resize FILE SIZE`", kv, v);
	} else if (strcmp(kv, "backing_file") == 0 || strcmp(kv, "backing_fmt") == 0) {
		return bad(
		    "-o %s=%s: Cannot amend the backing file: use `vessel img rebase -u -b FILE -F FMT`", kv,
		    v);
	} else if (strcmp(kv, "refcount_bits") == 0) {
		return bad("-o %s=%s: changing the refcount width is not supported: copy the image with "
			   "`vessel img convert -O qcow2 -o refcount_bits=N`",
			   kv, v);
	} else {
		return bad("Invalid parameter '%s'", kv);
	}
	return 0;
}

/* The passphrase the image is opened with (what vs_img_open_arg uses):
 * its encrypt.key-secret with --image-opts, else the default one. */
static int image_key(const char *arg, const void **key, size_t *len)
{
	vs_img_default_key(key, len);
	if (!vs_img_image_opts())
		return 0;
	char *spec = strdup(arg), *save = NULL;
	int r = spec ? 0 : -1;
	for (char *kv = spec ? strtok_r(spec, ",", &save) : NULL; kv; kv = strtok_r(NULL, ",", &save))
		if (strncmp(kv, "encrypt.key-secret=", 19) == 0)
			r = vs_img_secret(kv + 19, key, len);
	free(spec);
	return r;
}

int vs_img_amend(int argc, char **argv)
{
	static const struct option lopts[] = { { "force", no_argument, NULL, 'F' },
					       { "help", no_argument, NULL, 'h' },
					       { NULL, 0, NULL, 0 } };
	struct vs_img_opts opts = { .cmd = "amend", .usage = amend_usage, .ignore = "pt", .help_hint = true };
	struct vs_qcow2_amend a = { .lazy_refcounts = -1, .luks = { .keyslot = -1 } };
	char *all = NULL;
	int opt, status = VS_IMG_ERROR;
	bool force = false;
	while ((opt = vs_img_getopt(&opts, argc, argv, ":f:o:t:pqh", lopts)) > 0) {
		if (opt == 'F') {
			force = true;
		} else if (opt == 'o') {
			size_t n = all ? strlen(all) : 0;
			char *m = realloc(all, n + strlen(optarg) + 2);
			if (!m) {
				free(all);
				return VS_IMG_ERROR;
			}
			all = m;
			snprintf(all + n, strlen(optarg) + 2, "%s%s", n ? "," : "", optarg);
		}
	}
	if (opt == VS_IMG_OPT_EXIT || vs_img_opts_finish(&opts, argc, 1, "one file name") < 0) {
		free(all);
		return opts.status;
	}
	if (!all) {
		vs_cli_error("amend: Must specify options (-o): see `vessel img amend --help`");
		return VS_IMG_ERROR;
	}
	if (strcmp(all, "help") == 0) {
		fputs(amend_usage, stdout);
		free(all);
		return VS_IMG_OK;
	}
	char *save = NULL;
	for (char *kv = strtok_r(all, ",", &save); kv; kv = strtok_r(NULL, ",", &save))
		if (parse_one(kv, &a) < 0)
			goto out;
	a.luks.force = force;
	struct vs_error err = { 0 };
	if (vs_luks_amend_check(&a.luks, &err) < 0) {
		vs_cli_error("amend: %s", err.msg);
		goto out;
	}
	if (a.compat == 2 && a.lazy_refcounts == 1) {
		vs_cli_error(
		    "amend: Lazy refcounts only supported with compatibility level 1.1 and above (use "
		    "compat=1.1 or greater)");
		goto out;
	}
	const char *file = argv[optind];
	if (image_key(file, &a.key, &a.key_len) < 0)
		goto out;
	struct vs_block *bs = vs_img_open_arg(file, opts.fmt, VS_BLOCK_RDWR | VS_BLOCK_NO_BACKING);
	if (!bs)
		goto out;
	if (vs_qcow2_amend(bs, &a, &err) < 0)
		vs_cli_error("%s", err.msg);
	else
		status = VS_IMG_OK;
	vs_block_close(bs);
out:
	free(all);
	return status;
}

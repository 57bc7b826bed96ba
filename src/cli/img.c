/* `vessel img` dispatch, `create`, `info` and `resize`. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/img_opts.h"
#include "cli/img.h"
#include "util/json.h"
#include "util/parse.h"

static const char usage[] =
    "usage: vessel img COMMAND [OPTIONS]\n"
    "\n"
    "commands (options as qemu-img spells them):\n"
    "  create [-f fmt] [-b backing] [-F backing_fmt] [-o opts] FILE [SIZE]\n"
    "  info [-f fmt] [--output human|json] [--backing-chain] FILE\n"
    "  check [-f fmt] [-r leaks|all] [--output human|json] FILE\n"
    "  convert [-f fmt] [-O fmt] [-o opts] [-B backing [-F fmt]] [-n] [-c] [-p] SRC DST\n"
    "  compare [-f fmt] [-F fmt] [-s] FILE1 FILE2\n"
    "  map [-f fmt] [--output human|json] FILE\n"
    "  resize [-f fmt] [--shrink] FILE [+|-]SIZE\n"
    "  snapshot [-f fmt] -c NAME | -l | -a NAME | -d NAME FILE\n"
    "  rebase [-f fmt] [-u] -b BACKING [-F backing_fmt] FILE   (-b \"\": no backing file)\n"
    "  commit [-f fmt] [-d] FILE\n"
    "  amend [-f fmt] [--force] -o compat=0.10|1.1,lazy_refcounts=on|off,encrypt.state=... FILE\n"
    "  serve [-f fmt] [-r] [-x name] (--socket PATH | --port N [--bind ADDR]) FILE\n"
    "  bench [-c count] [-d depth] [-s size] [-S step] [-w] [-i io_uring|threads] FILE\n"
    "\n"
    "create options (-o): size, cluster_size, backing_file, backing_fmt,\n"
    "preallocation (off, metadata, falloc, full), compat (0.10, 1.1),\n"
    "lazy_refcounts, refcount_bits, extended_l2 (on/off), compression_type (zlib, zstd),\n"
    "encrypt.format=luks with encrypt.key-secret, encrypt.cipher-alg (aes-128, aes-192,\n"
    "aes-256), encrypt.cipher-mode (xts, cbc, ecb), encrypt.ivgen-alg (plain, plain64, essiv),\n"
    "encrypt.ivgen-hash-alg, encrypt.hash-alg, encrypt.iter-time (ms; default: 100000 iterations)\n"
    "\n"
    "passphrases of encrypted images (every command):\n"
    "  --object secret,id=ID,file=FILE|data=TEXT[,format=raw|base64]  named by\n"
    "      -o encrypt.key-secret=ID or --image-opts driver=qcow2,file.filename=F,encrypt.key-secret=ID\n"
    "  --key-file FILE, or the environment variable VESSEL_IMG_PASSPHRASE\n";

int vs_cli_img(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(int, char **);
	} cmds[] = {
		{ "create", vs_img_create }, { "info", vs_img_info },	      { "check", vs_img_check },
		{ "map", vs_img_map },	     { "convert", vs_img_convert },   { "compare", vs_img_compare },
		{ "resize", vs_img_resize }, { "snapshot", vs_img_snapshot }, { "rebase", vs_img_rebase },
		{ "commit", vs_img_commit }, { "bench", vs_img_bench },	      { "serve", vs_img_serve },
		{ "amend", vs_img_amend },
	};
	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		fputs(usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? VS_IMG_ERROR : VS_IMG_OK;
	}
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (strcmp(argv[1], cmds[i].name) == 0) {
			int r = vs_img_take_key_args(&argc, argv) < 0 ? VS_IMG_ERROR
								      : cmds[i].fn(argc - 1, argv + 1);
			vs_img_forget_keys();
			return r;
		}
	vs_cli_error("unknown img command `%s`: see `vessel img --help`", argv[1]);
	return VS_IMG_ERROR;
}

struct vs_block *vs_img_open_key(const char *path, const char *format, unsigned flags, const void *key,
				 size_t key_len)
{
	struct vs_block *bs;
	struct vs_error err = { 0 };
	struct vs_block_open_opts o = { .format = format, .flags = flags, .key = key, .key_len = key_len };
	if (vs_block_open(path, &o, &bs, &err) < 0) {
		if (err.code == ENOKEY)
			vs_img_key_hint(err.msg);
		else
			vs_cli_error("%s", err.msg);
		return NULL;
	}
	return bs;
}

struct vs_block *vs_img_open(const char *path, const char *format, unsigned flags)
{
	const void *key;
	size_t len;
	vs_img_default_key(&key, &len);
	return vs_img_open_key(path, format, flags, key, len);
}

struct vs_block *vs_img_open_arg(const char *arg, const char *format, unsigned flags)
{
	if (!vs_img_image_opts())
		return vs_img_open(arg, format, flags);
	char *spec = strdup(arg), *save = NULL;
	const char *file = NULL, *secret = NULL, *backing_secret = NULL;
	const void *key = NULL;
	size_t len = 0;
	struct vs_block *bs = NULL;
	if (!spec)
		return NULL;
	for (char *kv = strtok_r(spec, ",", &save); kv; kv = strtok_r(NULL, ",", &save)) {
		char *v = strchr(kv, '=');
		if (v)
			*v++ = '\0';
		if (v && strcmp(kv, "driver") == 0)
			format = v;
		else if (v && strcmp(kv, "file.filename") == 0)
			file = v;
		else if (v && strcmp(kv, "encrypt.key-secret") == 0)
			secret = v;
		else if (v && strcmp(kv, "backing.encrypt.key-secret") == 0)
			backing_secret = v;
		else if (!v || strcmp(kv, "file.driver") != 0 || strcmp(v, "file") != 0) {
			vs_cli_error("--image-opts `%s`: unsupported option `%s` (driver, file.filename, "
				     "encrypt.key-secret, backing.encrypt.key-secret)",
				     arg, kv);
			goto out;
		}
	}
	if (!file) {
		vs_cli_error("--image-opts `%s`: file.filename= is missing", arg);
		goto out;
	}
	/* One passphrase serves the whole chain (vs_block_open_opts.key). */
	if (backing_secret && (!secret || strcmp(backing_secret, secret) != 0)) {
		vs_cli_error("--image-opts `%s`: backing.encrypt.key-secret must name the same secret as "
			     "encrypt.key-secret (vessel opens a chain with one passphrase)",
			     arg);
		goto out;
	}
	if (secret ? vs_img_secret(secret, &key, &len) < 0 : (vs_img_default_key(&key, &len), false))
		goto out;
	bs = vs_img_open_key(file, format, flags, key, len);
out:
	free(spec);
	return bs;
}

void vs_img_io_error(struct vs_block *bs, const char *what, int r)
{
	if (bs->last_error[0])
		vs_cli_error("%s `%s`: %s", what, bs->filename, bs->last_error);
	else
		vs_cli_error("%s `%s`: %s", what, bs->filename, strerror(-r));
}

void vs_img_size_str(uint64_t v, char *buf, size_t len)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };
	double d = (double)v;
	unsigned u = 0;
	while (d >= 1024 && u + 1 < sizeof(units) / sizeof(units[0])) {
		d /= 1024;
		u++;
	}
	snprintf(buf, len, "%0.3g %s", d, units[u]);
}

bool vs_img_is_zero(const void *buf, size_t len)
{
	const unsigned char *p = buf;
	if (!len)
		return true;
	/* First byte zero and the buffer equal to itself shifted by one. */
	return p[0] == 0 && memcmp(p, p + 1, len - 1) == 0;
}

static int parse_bool(const char *key, const char *v, bool *out)
{
	if (strcmp(v, "on") == 0 || strcmp(v, "true") == 0) {
		*out = true;
		return 0;
	}
	if (strcmp(v, "off") == 0 || strcmp(v, "false") == 0) {
		*out = false;
		return 0;
	}
	vs_cli_error("-o %s=%s: use on or off", key, v);
	return -1;
}

static int parse_encrypt_opt(const char *kv, const char *v, struct vs_block_create_opts *o)
{
	struct vs_luks_create_opts *e = &o->encrypt;
	if (strcmp(kv, "encryption") == 0) {
		vs_cli_error(
		    "-o encryption: legacy AES encryption is not supported: use -o encrypt.format=luks");
		return -1;
	}
	kv += 8;
	if (strcmp(kv, "format") == 0)
		o->encrypt_format = v;
	else if (strcmp(kv, "key-secret") == 0)
		return vs_img_secret(v, &o->key, &o->key_len);
	else if (strcmp(kv, "cipher-alg") == 0)
		e->cipher_alg = v;
	else if (strcmp(kv, "cipher-mode") == 0)
		e->cipher_mode = v;
	else if (strcmp(kv, "ivgen-alg") == 0)
		e->ivgen_alg = v;
	else if (strcmp(kv, "ivgen-hash-alg") == 0)
		e->ivgen_hash_alg = v;
	else if (strcmp(kv, "hash-alg") == 0)
		e->hash_alg = v;
	else if (strcmp(kv, "iter-time") == 0) {
		char *end;
		unsigned long long n = strtoull(v, &end, 10);
		if (*v < '0' || *v > '9' || *end || n == 0 || n > 60000) {
			vs_cli_error("-o encrypt.iter-time=%s: milliseconds from 1 to 60000", v);
			return -1;
		}
		e->iter_time_ms = n;
	} else {
		vs_cli_error("-o encrypt.%s: unknown option (format, key-secret, cipher-alg, cipher-mode, "
			     "ivgen-alg, ivgen-hash-alg, hash-alg, iter-time)",
			     kv);
		return -1;
	}
	return 0;
}

int vs_img_parse_create_opts(char *opts, struct vs_block_create_opts *o, const char **backing_file,
			     const char **backing_fmt)
{
	char *save = NULL;
	for (char *kv = strtok_r(opts, ",", &save); kv; kv = strtok_r(NULL, ",", &save)) {
		char *v = strchr(kv, '=');
		uint64_t n;
		if (!v) {
			vs_cli_error("-o %s: expected key=value", kv);
			return -1;
		}
		*v++ = '\0';
		if (strcmp(kv, "size") == 0) {
			if (vs_parse_size(v, &o->size) < 0)
				goto bad_size;
		} else if (strcmp(kv, "cluster_size") == 0) {
			if (vs_parse_size(v, &n) < 0 || n > UINT32_MAX)
				goto bad_size;
			o->cluster_size = (uint32_t)n;
		} else if (strcmp(kv, "backing_file") == 0) {
			*backing_file = v;
		} else if (strcmp(kv, "backing_fmt") == 0) {
			*backing_fmt = v;
		} else if (strcmp(kv, "preallocation") == 0) {
			if (strcmp(v, "off") == 0)
				o->prealloc = VS_PREALLOC_OFF;
			else if (strcmp(v, "metadata") == 0)
				o->prealloc = VS_PREALLOC_METADATA;
			else if (strcmp(v, "falloc") == 0)
				o->prealloc = VS_PREALLOC_FALLOC;
			else if (strcmp(v, "full") == 0)
				o->prealloc = VS_PREALLOC_FULL;
			else {
				vs_cli_error("-o preallocation=%s: use off, metadata, falloc or full", v);
				return -1;
			}
		} else if (strcmp(kv, "compression_type") == 0) {
			o->compression_type = v;
		} else if (strcmp(kv, "compat") == 0) {
			if (strcmp(v, "0.10") == 0 || strcmp(v, "v2") == 0)
				o->compat = 2;
			else if (strcmp(v, "1.1") == 0 || strcmp(v, "v3") == 0)
				o->compat = 3;
			else {
				vs_cli_error("-o compat=%s: use 0.10 or 1.1", v);
				return -1;
			}
		} else if (strcmp(kv, "lazy_refcounts") == 0) {
			if (parse_bool(kv, v, &o->lazy_refcounts) < 0)
				return -1;
		} else if (strcmp(kv, "extended_l2") == 0) {
			if (parse_bool(kv, v, &o->extended_l2) < 0)
				return -1;
		} else if (strncmp(kv, "encrypt.", 8) == 0 || strcmp(kv, "encryption") == 0) {
			if (parse_encrypt_opt(kv, v, o) < 0)
				return -1;
		} else if (strcmp(kv, "refcount_bits") == 0) {
			if (vs_parse_size(v, &n) < 0 || n > 64 || n == 0) {
				vs_cli_error("-o refcount_bits=%s: use 1, 2, 4, 8, 16, 32 or 64", v);
				return -1;
			}
			o->refcount_bits = (unsigned)n;
		} else {
			vs_cli_error("-o %s: unknown option", kv);
			return -1;
		}
		continue;
	bad_size:
		vs_cli_error("-o %s=%s: not a size", kv, v);
		return -1;
	}
	return 0;
}

void vs_img_backing_path(const char *image, const char *backing, char *out, size_t len)
{
	const char *slash = strrchr(image, '/');
	if (backing[0] == '/' || !slash)
		snprintf(out, len, "%s", backing);
	else
		snprintf(out, len, "%.*s/%s", (int)(slash - image), image, backing);
}

int vs_img_create(int argc, char **argv)
{
	static const struct option lopts[] = { { "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 } };
	struct vs_img_opts opts = {
		.cmd = "create",
		.usage = "usage: vessel img create [-f fmt] [-b backing] [-F backing_fmt] [-o opts] FILE "
			 "[SIZE]\n",
		.fmt = "raw",
		.ignore = "u", /* the backing file is only opened when the size is missing */
	};
	struct vs_block_create_opts o = { 0 };
	const char *backing = NULL, *backing_fmt = NULL;
	int opt;
	while ((opt = vs_img_getopt(&opts, argc, argv, ":f:b:F:o:quh", lopts)) > 0) {
		if (opt == 'b')
			backing = optarg;
		else if (opt == 'F')
			backing_fmt = optarg;
		else if (opt == 'o' && vs_img_parse_create_opts(optarg, &o, &backing, &backing_fmt) < 0)
			return VS_IMG_ERROR;
	}
	if (opt == VS_IMG_OPT_EXIT)
		return opts.status;
	const char *fmt = opts.fmt;
	if (optind >= argc) {
		vs_cli_error("create: expected a file name");
		return VS_IMG_ERROR;
	}
	const char *path = argv[optind];
	if (optind + 1 < argc && vs_parse_size(argv[optind + 1], &o.size) < 0) {
		vs_cli_error("create: size `%s` is not a size (e.g. 10G, 512M)", argv[optind + 1]);
		return VS_IMG_ERROR;
	}
	if (optind + 2 < argc) {
		vs_cli_error("create: unexpected argument `%s`", argv[optind + 2]);
		return VS_IMG_ERROR;
	}
	if (!vs_block_driver(fmt)) {
		vs_cli_error("create: unknown format `%s` (raw, qcow2)", fmt);
		return VS_IMG_ERROR;
	}
	if (vs_img_create_key(&o, fmt) < 0)
		return VS_IMG_ERROR;
	if (backing) {
		/* The backing file gives the size and format when not given,
		 * and must exist (a chain with a missing link is useless). */
		char bpath[PATH_MAX];
		vs_img_backing_path(path, backing, bpath, sizeof(bpath));
		struct vs_block *b = vs_img_open(bpath, backing_fmt, VS_BLOCK_NO_BACKING | VS_BLOCK_NO_IO);
		if (!b)
			return VS_IMG_ERROR;
		if (!o.size && optind + 1 >= argc)
			o.size = b->size;
		if (!backing_fmt)
			backing_fmt = b->drv->name;
		vs_block_close(b);
		o.backing_file = backing;
		o.backing_fmt = backing_fmt;
	} else if (optind + 1 >= argc && !o.size) {
		vs_cli_error("create: expected a size (or a backing file to take it from)");
		return VS_IMG_ERROR;
	}
	struct vs_error err = { 0 };
	if (vs_block_create(path, fmt, &o, &err) < 0) {
		vs_cli_error("%s", err.msg);
		return VS_IMG_ERROR;
	}
	if (!opts.quiet)
		printf("Formatting '%s', fmt=%s size=%llu\n", path, fmt, (unsigned long long)o.size);
	return VS_IMG_OK;
}

static void info_human(struct vs_block *bs, const struct vs_block_info *i)
{
	char vs[32], ds[32];
	vs_img_size_str(i->virtual_size, vs, sizeof(vs));
	vs_img_size_str(i->actual_size, ds, sizeof(ds));
	printf("image: %s\nfile format: %s\nvirtual size: %s (%llu bytes)\ndisk size: %s\n", bs->filename,
	       i->format, vs, (unsigned long long)i->virtual_size, ds);
	if (i->encrypt)
		printf("encrypted: yes\n");
	if (i->cluster_size)
		printf("cluster_size: %u\n", i->cluster_size);
	if (i->backing_file[0]) {
		printf("backing file: %s\n", i->backing_file);
		if (i->backing_fmt[0])
			printf("backing file format: %s\n", i->backing_fmt);
	}
	if (i->dirty)
		printf("cleanly shut down: no\n");
	struct vs_block_snapshot *snaps = NULL;
	unsigned nsnaps = 0;
	struct vs_error err = { 0 };
	if (i->nb_snapshots && vs_block_snapshot_list(bs, &snaps, &nsnaps, &err) == 0 && nsnaps)
		vs_img_snapshot_table(snaps, nsnaps);
	free(snaps);
	if (strcmp(i->format, "qcow2") == 0) {
		printf("Format specific information:\n    compat: %s\n",
		       i->qcow2_version == 3 ? "1.1" : "0.10");
		if (i->qcow2_version == 3)
			printf("    compression type: %s\n    lazy refcounts: %s\n", i->compression_type,
			       i->lazy_refcounts ? "true" : "false");
		printf("    refcount bits: %u\n", i->refcount_bits);
		if (i->encrypt)
			vs_img_luks_human(i->encrypt);
		printf("    corrupt: %s\n", i->corrupt ? "true" : "false");
		if (i->qcow2_version == 3)
			printf("    extended l2: %s\n", i->extended_l2 ? "true" : "false");
	}
}

static int info_json(struct vs_block *bs, const struct vs_block_info *i)
{
	struct vs_json_writer w;
	struct vs_error err = { 0 };
	char *out;
	size_t len;
	vs_jw_init(&w, 4);
	vs_jw_object_begin(&w);
	if (i->backing_file[0] && i->backing_fmt[0])
		vs_jw_kv_string(&w, "backing-filename-format", i->backing_fmt);
	vs_jw_kv_uint(&w, "virtual-size", i->virtual_size);
	vs_jw_kv_string(&w, "filename", bs->filename);
	if (i->cluster_size)
		vs_jw_kv_uint(&w, "cluster-size", i->cluster_size);
	struct vs_block_snapshot *snaps = NULL;
	unsigned nsnaps = 0;
	if (i->nb_snapshots && vs_block_snapshot_list(bs, &snaps, &nsnaps, &err) == 0 && nsnaps) {
		vs_jw_key(&w, "snapshots");
		vs_jw_array_begin(&w);
		for (unsigned k = 0; k < nsnaps; k++) {
			const struct vs_block_snapshot *sn = &snaps[k];
			vs_jw_object_begin(&w);
			vs_jw_kv_uint(&w, "icount", 0);
			vs_jw_kv_uint(&w, "vm-clock-nsec", sn->vm_clock_nsec % 1000000000ull);
			vs_jw_kv_string(&w, "name", sn->name);
			vs_jw_kv_uint(&w, "date-sec", sn->date_sec);
			vs_jw_kv_uint(&w, "date-nsec", sn->date_nsec);
			vs_jw_kv_uint(&w, "vm-clock-sec", sn->vm_clock_nsec / 1000000000ull);
			vs_jw_kv_string(&w, "id", sn->id);
			vs_jw_kv_uint(&w, "vm-state-size", sn->vm_state_size);
			vs_jw_object_end(&w);
		}
		vs_jw_array_end(&w);
	}
	free(snaps);
	vs_jw_kv_string(&w, "format", i->format);
	vs_jw_kv_uint(&w, "actual-size", i->actual_size);
	if (strcmp(i->format, "qcow2") == 0) {
		vs_jw_key(&w, "format-specific");
		vs_jw_object_begin(&w);
		vs_jw_kv_string(&w, "type", "qcow2");
		vs_jw_key(&w, "data");
		vs_jw_object_begin(&w);
		vs_jw_kv_string(&w, "compat", i->qcow2_version == 3 ? "1.1" : "0.10");
		vs_jw_kv_string(&w, "compression-type", i->compression_type);
		if (i->qcow2_version == 3)
			vs_jw_kv_bool(&w, "lazy-refcounts", i->lazy_refcounts);
		vs_jw_kv_uint(&w, "refcount-bits", i->refcount_bits);
		if (i->encrypt)
			vs_img_luks_json(&w, i->encrypt);
		if (i->qcow2_version == 3) {
			vs_jw_kv_bool(&w, "corrupt", i->corrupt);
			vs_jw_kv_bool(&w, "extended-l2", i->extended_l2);
		}
		vs_jw_object_end(&w);
		vs_jw_object_end(&w);
	}
	if (i->backing_file[0]) {
		char full[PATH_MAX];
		vs_img_backing_path(bs->filename, i->backing_file, full, sizeof(full));
		vs_jw_kv_string(&w, "full-backing-filename", full);
		vs_jw_kv_string(&w, "backing-filename", i->backing_file);
	}
	if (i->encrypt)
		vs_jw_kv_bool(&w, "encrypted", true);
	vs_jw_kv_bool(&w, "dirty-flag", i->dirty);
	vs_jw_object_end(&w);
	if (vs_jw_finish(&w, &out, &len, &err) < 0) {
		vs_cli_error("info: %s", err.msg);
		return VS_IMG_ERROR;
	}
	fwrite(out, 1, len, stdout);
	fputc('\n', stdout);
	free(out);
	return VS_IMG_OK;
}

int vs_img_info(int argc, char **argv)
{
	static const struct option lopts[] = { { "output", required_argument, NULL, VS_IMG_OPT_OUTPUT },
					       { "backing-chain", no_argument, NULL, 'B' },
					       { "help", no_argument, NULL, 'h' },
					       { NULL, 0, NULL, 0 } };
	struct vs_img_opts opts = {
		.cmd = "info",
		.usage = "usage: vessel img info [-f fmt] [--output human|json] [--backing-chain] FILE\n",
		.output = "human",
		.ignore = "U",
	};
	bool chain = false;
	int opt;
	while ((opt = vs_img_getopt(&opts, argc, argv, ":f:hU", lopts)) > 0)
		chain = chain || opt == 'B';
	if (opt == VS_IMG_OPT_EXIT || vs_img_opts_finish(&opts, argc, 1, "one file name") < 0)
		return opts.status;
	const char *fmt = opts.fmt;
	bool json = opts.json;
	char path[PATH_MAX], next[PATH_MAX], next_fmt[32];
	snprintf(path, sizeof(path), "%s", argv[optind]);
	int ret = VS_IMG_OK;
	/* --backing-chain: every image down the chain, as qemu-img lists
	 * them (a JSON array; human blocks separated by a blank line). */
	if (chain && json)
		fputs("[\n", stdout);
	for (unsigned depth = 0; ret == VS_IMG_OK; depth++) {
		if (depth >= VS_BLOCK_MAX_CHAIN) {
			vs_cli_error("info: `%s`: backing chain deeper than %u", argv[optind],
				     VS_BLOCK_MAX_CHAIN);
			return VS_IMG_ERROR;
		}
		/* The first may be --image-opts; no passphrase is needed to
		 * describe an encrypted image. */
		struct vs_block *bs = depth == 0
					  ? vs_img_open_arg(path, fmt, VS_BLOCK_NO_BACKING | VS_BLOCK_NO_IO)
					  : vs_img_open(path, fmt, VS_BLOCK_NO_BACKING | VS_BLOCK_NO_IO);
		if (!bs)
			return VS_IMG_ERROR;
		struct vs_block_info info;
		vs_block_get_info(bs, &info);
		if (depth && chain)
			fputs(json ? ",\n" : "\n", stdout);
		if (json)
			ret = info_json(bs, &info);
		else
			info_human(bs, &info);
		bool more = chain && info.backing_file[0];
		if (more) {
			vs_img_backing_path(bs->filename, info.backing_file, next, sizeof(next));
			snprintf(next_fmt, sizeof(next_fmt), "%s", info.backing_fmt);
		}
		vs_block_close(bs);
		if (!more)
			break;
		memcpy(path, next, sizeof(path));
		fmt = next_fmt[0] ? next_fmt : NULL;
	}
	if (chain && json && ret == VS_IMG_OK)
		fputs("]\n", stdout);
	return ret;
}

int vs_img_resize(int argc, char **argv)
{
	static const struct option lopts[] = { { "shrink", no_argument, NULL, 'S' },
					       { "help", no_argument, NULL, 'h' },
					       { NULL, 0, NULL, 0 } };
	struct vs_img_opts opts = { .cmd = "resize",
				    .usage =
					"usage: vessel img resize [-f fmt] [--shrink] FILE [+|-]SIZE\n" };
	bool shrink = false;
	int opt;
	/* "-1G" is a size, not an option: stop at the first non-option. */
	while ((opt = vs_img_getopt(&opts, argc, argv, "+:f:qh", lopts)) > 0)
		shrink = shrink || opt == 'S';
	if (opt == VS_IMG_OPT_EXIT || vs_img_opts_finish(&opts, argc, 2, "a file name and a size") < 0)
		return opts.status;
	const char *fmt = opts.fmt;
	const char *sz = argv[optind + 1];
	int sign = sz[0] == '+' ? 1 : sz[0] == '-' ? -1 : 0;
	uint64_t n;
	if (vs_parse_size(sz + (sign != 0), &n) < 0) {
		vs_cli_error("resize: `%s` is not a size", sz);
		return VS_IMG_ERROR;
	}
	/* With its backing file: a growing image zeroes its old tail. */
	struct vs_block *bs = vs_img_open_arg(argv[optind], fmt, VS_BLOCK_RDWR);
	if (!bs)
		return VS_IMG_ERROR;
	uint64_t target = sign > 0 ? bs->size + n : sign < 0 ? bs->size - n : n;
	int ret = VS_IMG_OK;
	struct vs_error err = { 0 };
	if ((sign < 0 && n > bs->size) || (sign > 0 && target < bs->size)) {
		vs_cli_error("resize: the new size is out of range");
		ret = VS_IMG_ERROR;
	} else if (target < bs->size && !shrink) {
		vs_cli_error(
		    "resize: shrinking would drop the data past %llu bytes: pass --shrink to do it anyway",
		    (unsigned long long)target);
		ret = VS_IMG_ERROR;
	} else if (vs_block_resize(bs, target, &err) < 0) {
		vs_cli_error("resize `%s`: %s", argv[optind], err.msg);
		ret = VS_IMG_ERROR;
	} else {
		printf("Image resized.\n");
	}
	vs_block_close(bs);
	return ret;
}

/* `vessel img convert` (sparse-aware copy between formats) and
 * `vessel img compare`. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/img.h"

#define CHUNK (2u << 20)
#define ZERO_GRAIN 4096 /* runs of zeros this large are left unwritten */

static void progress(bool on, uint64_t done, uint64_t total)
{
	if (on)
		printf("    (%.2f/100%%)\r", total ? (double)done * 100.0 / (double)total : 100.0);
	if (on)
		fflush(stdout);
}

/* Write the non-zero grains of buf; the destination is fresh (zeros). */
static int write_sparse(struct vs_block *dst, uint64_t off, const uint8_t *buf, size_t len)
{
	size_t i = 0;
	while (i < len) {
		size_t g = len - i < ZERO_GRAIN ? len - i : ZERO_GRAIN;
		if (vs_img_is_zero(buf + i, g)) {
			i += g;
			continue;
		}
		size_t j = i + g;
		while (j < len) {
			size_t h = len - j < ZERO_GRAIN ? len - j : ZERO_GRAIN;
			if (vs_img_is_zero(buf + j, h))
				break;
			j += h;
		}
		int r = vs_block_pwrite(dst, off + i, buf + i, j - i);
		if (r < 0)
			return r;
		i = j;
	}
	return 0;
}

/* Compressed output: whole clusters, all-zero ones left unallocated. */
static int write_compressed(struct vs_block *dst, uint64_t off, const uint8_t *buf, size_t len, uint64_t cs)
{
	for (size_t i = 0; i < len;) {
		size_t n = len - i < cs ? len - i : (size_t)cs;
		if (!vs_img_is_zero(buf + i, n)) {
			int r = vs_block_pwrite_compressed(dst, off + i, buf + i, n);
			if (r < 0)
				return r;
		}
		i += n;
	}
	return 0;
}

static int copy_image(struct vs_block *src, struct vs_block *dst, bool show, bool compress, bool flush)
{
	struct vs_block_info di;
	vs_block_get_info(dst, &di);
	uint64_t cs = di.cluster_size ? di.cluster_size : 65536;
	int ret = VS_IMG_OK;
	if (!compress) {
		ret = vs_img_copy(src, dst, show);
		goto flush;
	}
	uint8_t *buf = malloc(CHUNK);
	if (!buf) {
		vs_cli_error("convert: out of memory");
		return VS_IMG_ERROR;
	}
	progress(show, 0, src->size);
	for (uint64_t off = 0; off < src->size;) {
		struct vs_block_status st;
		uint64_t n;
		int r = vs_block_status(src, off, src->size - off < CHUNK ? src->size - off : CHUNK, &n, &st);
		if (r < 0) {
			vs_img_io_error(src, "convert: read", r);
			ret = VS_IMG_ERROR;
			break;
		}
		/* Compression works on whole clusters (CHUNK is a multiple). */
		if (compress) {
			n = src->size - off < CHUNK ? src->size - off : CHUNK;
			st.flags = VS_BLOCK_DATA;
		}
		/* Ranges known to read as zeros are skipped without reading. */
		if (!(st.flags & VS_BLOCK_ZERO) || (st.flags & VS_BLOCK_DATA)) {
			r = vs_block_pread(src, off, buf, n);
			if (r < 0) {
				vs_img_io_error(src, "convert: read", r);
				ret = VS_IMG_ERROR;
				break;
			}
			r = compress ? write_compressed(dst, off, buf, n, cs)
				     : write_sparse(dst, off, buf, n);
			if (r < 0) {
				vs_img_io_error(dst, "convert: write", r);
				ret = VS_IMG_ERROR;
				break;
			}
		}
		off += n;
		progress(show, off, src->size);
	}
	if (show)
		printf("\n");
	free(buf);
flush:
	if (ret == VS_IMG_OK && flush) {
		int r = vs_block_flush(dst);
		if (r < 0) {
			vs_img_io_error(dst, "convert: flush", r);
			ret = VS_IMG_ERROR;
		}
	}
	return ret;
}

int vs_img_convert(int argc, char **argv)
{
	static const struct option lopts[] = { { "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 } };
	struct vs_block_create_opts o = { 0 };
	const char *fmt = NULL, *out_fmt = "raw", *backing = NULL, *backing_fmt = NULL;
	bool show = false, compress = false, flush = false, no_create = false, out_fmt_set = false;
	bool src_direct = false, dst_direct = false;
	int opt;
	optind = 1;
	while ((opt = getopt_long(argc, argv, ":f:O:o:t:T:B:F:npcqUh", lopts, NULL)) != -1) {
		switch (opt) {
		case 'f':
			fmt = optarg;
			break;
		case 'O':
			out_fmt = optarg;
			out_fmt_set = true;
			break;
		case 'B':
			backing = optarg;
			break;
		case 'F':
			backing_fmt = optarg;
			break;
		case 'n':
			no_create = true;
			break;
		case 'o':
			if (vs_img_parse_create_opts(optarg, &o, &backing, &backing_fmt) < 0)
				return VS_IMG_ERROR;
			break;
		case 'p':
			show = true;
			break;
		case 'c':
			compress = true;
			break;
		case 't':
			/* As qemu-img: the output is not flushed unless a cache
			 * mode other than "unsafe" (the default) asks for it. */
			if (strcmp(optarg, "unsafe") != 0 && strcmp(optarg, "writeback") != 0 &&
			    strcmp(optarg, "none") != 0 && strcmp(optarg, "writethrough") != 0 &&
			    strcmp(optarg, "directsync") != 0) {
				vs_cli_error(
				    "convert: -t %s: use unsafe, writeback, writethrough, none or directsync",
				    optarg);
				return VS_IMG_ERROR;
			}
			flush = strcmp(optarg, "unsafe") != 0;
			dst_direct = !strcmp(optarg, "none") || !strcmp(optarg, "directsync");
			break;
		case 'T':
			/* The source's cache mode: none bypasses the page cache. */
			src_direct = !strcmp(optarg, "none") || !strcmp(optarg, "directsync");
			break;
		case 'q':
		case 'U':
			break;
		case 'h':
			fputs("usage: vessel img convert [-f fmt] [-O fmt] [-o opts] [-B backing [-F fmt]] "
			      "[-n] [-c] "
			      "[-p] [-t cache] [-T src_cache] SRC DST\n"
			      "  -t/-T none  the output/source bypasses the host page cache (O_DIRECT)\n"
			      "  -B  the output gets BACKING as its backing file; only what differs is "
			      "written\n"
			      "  -n  DST exists (not created; its format is probed unless -O gives it)\n",
			      stdout);
			return VS_IMG_OK;
		default:
			vs_cli_error("convert: bad option `%s`", argv[optind - 1]);
			return VS_IMG_ERROR;
		}
	}
	if (optind + 2 != argc) {
		vs_cli_error("convert: expected a source and a destination");
		return VS_IMG_ERROR;
	}
	if (compress && strcmp(out_fmt, "qcow2") != 0) {
		vs_cli_error("convert: -c needs -O qcow2");
		return VS_IMG_ERROR;
	}
	if ((backing || no_create) && compress) {
		vs_cli_error("convert: -c cannot be combined with -B or -n");
		return VS_IMG_ERROR;
	}
	if (backing && no_create) {
		vs_cli_error(
		    "convert: -B cannot be combined with -n (an existing target keeps its own backing file)");
		return VS_IMG_ERROR;
	}
	if (backing && strcmp(out_fmt, "qcow2") != 0) {
		vs_cli_error("convert: -B needs -O qcow2 (%s images have no backing file)", out_fmt);
		return VS_IMG_ERROR;
	}
	if (!vs_block_driver(out_fmt)) {
		vs_cli_error("convert: unknown output format `%s` (raw, qcow2)", out_fmt);
		return VS_IMG_ERROR;
	}
	const char *dst_path = argv[optind + 1];
	if (vs_img_create_key(&o, out_fmt) < 0)
		return VS_IMG_ERROR;
	if (compress && o.encrypt_format) {
		vs_cli_error("convert: -c cannot be combined with encryption (qemu-img refuses it too)");
		return VS_IMG_ERROR;
	}
	struct vs_block *src = vs_img_open_arg(argv[optind], fmt, src_direct ? VS_BLOCK_DIRECT : 0),
			*base = NULL, *dst = NULL;
	int ret = VS_IMG_ERROR;
	if (!src)
		return VS_IMG_ERROR;
	show = show && isatty(STDOUT_FILENO);
	o.size = src->size;
	struct vs_error err = { 0 };
	if (backing) {
		/* Resolved against the output, as the output will resolve it. */
		char bpath[PATH_MAX];
		vs_img_backing_path(dst_path, backing, bpath, sizeof(bpath));
		base = vs_img_open(bpath, backing_fmt, 0);
		if (!base)
			goto out;
		o.backing_file = backing;
		o.backing_fmt = backing_fmt ? backing_fmt : base->drv->name;
	}
	if (!no_create && vs_block_create(dst_path, out_fmt, &o, &err) < 0) {
		vs_cli_error("%s", err.msg);
		goto out;
	}
	/* Unless -t asks for a flush, the output is not synced (qemu-img's
	 * default cache=unsafe): a crash mid-convert loses the output anyway.
	 * A new image's passphrase is the one it was made with. */
	const char *dst_fmt = no_create && !out_fmt_set ? NULL : out_fmt;
	unsigned dst_flags =
	    VS_BLOCK_RDWR | (flush ? 0 : VS_BLOCK_UNSAFE) | (dst_direct ? VS_BLOCK_DIRECT : 0);
	dst = o.key ? vs_img_open_key(dst_path, dst_fmt, dst_flags, o.key, o.key_len)
		    : vs_img_open(dst_path, dst_fmt, dst_flags);
	if (dst && dst->size < src->size)
		vs_cli_error("convert: the target `%s` (%llu bytes) is smaller than the source (%llu bytes)",
			     dst_path, (unsigned long long)dst->size, (unsigned long long)src->size);
	else if (dst && (backing || no_create))
		ret = vs_img_copy_onto(src, dst, base, show);
	else if (dst)
		ret = copy_image(src, dst, show, compress, flush);
	if (ret == VS_IMG_OK && (backing || no_create) && flush) {
		int r = vs_block_flush(dst);
		if (r < 0) {
			vs_img_io_error(dst, "convert: flush", r);
			ret = VS_IMG_ERROR;
		}
	}
out:
	vs_block_close(dst);
	vs_block_close(base);
	vs_block_close(src);
	/* No half-written image is left behind (an existing target stays). */
	if (ret != VS_IMG_OK && !no_create)
		unlink(dst_path);
	return ret;
}

int vs_img_compare(int argc, char **argv)
{
	static const struct option lopts[] = { { "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 } };
	const char *fmt1 = NULL, *fmt2 = NULL;
	bool strict = false, quiet = false;
	int opt;
	optind = 1;
	while ((opt = getopt_long(argc, argv, ":f:F:sqpUh", lopts, NULL)) != -1) {
		switch (opt) {
		case 'f':
			fmt1 = optarg;
			break;
		case 'F':
			fmt2 = optarg;
			break;
		case 's':
			strict = true;
			break;
		case 'q':
			quiet = true;
			break;
		case 'p':
		case 'U':
			break;
		case 'h':
			fputs("usage: vessel img compare [-f fmt] [-F fmt] [-s] FILE1 FILE2\n", stdout);
			return VS_IMG_OK;
		default:
			vs_cli_error("compare: bad option `%s`", argv[optind - 1]);
			return VS_IMG_COMPARE_ERROR;
		}
	}
	if (optind + 2 != argc) {
		vs_cli_error("compare: expected two file names");
		return VS_IMG_COMPARE_ERROR;
	}
	struct vs_block *a = vs_img_open_arg(argv[optind], fmt1, 0);
	struct vs_block *b = a ? vs_img_open_arg(argv[optind + 1], fmt2 ? fmt2 : fmt1, 0) : NULL;
	uint8_t *ba = malloc(CHUNK), *bb = malloc(CHUNK);
	int ret = VS_IMG_OK;
	if (!a || !b || !ba || !bb) {
		ret = VS_IMG_COMPARE_ERROR;
		goto out;
	}
	if (a->size != b->size) {
		if (strict) {
			if (!quiet)
				printf("Strict mode: Image size mismatch!\n");
			ret = VS_IMG_COMPARE_DIFFERENT;
			goto out;
		}
		if (!quiet)
			printf("Warning: Image size mismatch!\n");
	}
	uint64_t size = a->size > b->size ? a->size : b->size;
	/* Past the end of the smaller image, the larger must read zeros. */
	for (uint64_t off = 0; off < size;) {
		size_t n = size - off < CHUNK ? (size_t)(size - off) : CHUNK;
		int r = vs_block_pread(a, off, ba, n);
		if (r < 0) {
			vs_img_io_error(a, "compare: read", r);
			ret = VS_IMG_COMPARE_ERROR;
			goto out;
		}
		r = vs_block_pread(b, off, bb, n);
		if (r < 0) {
			vs_img_io_error(b, "compare: read", r);
			ret = VS_IMG_COMPARE_ERROR;
			goto out;
		}
		if (memcmp(ba, bb, n) != 0) {
			size_t i = 0;
			while (ba[i] == bb[i])
				i++;
			/* qemu-img reports the first differing sector. */
			if (!quiet)
				printf("Content mismatch at offset %llu!\n",
				       (unsigned long long)((off + i) & ~(uint64_t)511));
			ret = VS_IMG_COMPARE_DIFFERENT;
			goto out;
		}
		off += n;
	}
	if (!quiet)
		printf("Images are identical.\n");
out:
	free(ba);
	free(bb);
	vs_block_close(a);
	vs_block_close(b);
	return ret;
}

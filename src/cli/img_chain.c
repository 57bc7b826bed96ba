/* `vessel img rebase` and `vessel img commit`: moving data along a backing
 * chain, as qemu-img does. */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/img_opts.h"
#include "cli/img.h"

#define CHUNK (1u << 20)

/* Safe rebase: wherever the image does not decide its own content, copy
 * into it what the old chain shows if the new backing file shows
 * something else; then record the new backing file. */
static int copy_differences(struct vs_block *bs, struct vs_block *nb)
{
	uint8_t *a = malloc(CHUNK), *b = malloc(CHUNK);
	int ret = VS_IMG_OK;
	if (!a || !b) {
		vs_cli_error("rebase: out of memory");
		ret = VS_IMG_ERROR;
	}
	for (uint64_t off = 0; ret == VS_IMG_OK && off < bs->size;) {
		struct vs_block_status st;
		uint64_t n;
		int r = vs_block_status(bs, off, bs->size - off < CHUNK ? bs->size - off : CHUNK, &n, &st);
		if (r < 0) {
			vs_img_io_error(bs, "rebase: map", r);
			ret = VS_IMG_ERROR;
			break;
		}
		if (!((st.flags & VS_BLOCK_ALLOCATED) && st.depth == 0)) {
			if ((r = vs_block_pread(bs, off, a, n)) < 0) {
				vs_img_io_error(bs, "rebase: read", r);
				ret = VS_IMG_ERROR;
			} else if (nb && (r = vs_block_pread(nb, off, b, n)) < 0) {
				vs_img_io_error(nb, "rebase: read", r);
				ret = VS_IMG_ERROR;
			} else if (nb ? memcmp(a, b, n) != 0 : !vs_img_is_zero(a, n)) {
				if ((r = vs_block_pwrite(bs, off, a, n)) < 0) {
					vs_img_io_error(bs, "rebase: write", r);
					ret = VS_IMG_ERROR;
				}
			}
		}
		off += n;
	}
	free(a);
	free(b);
	return ret;
}

int vs_img_rebase(int argc, char **argv)
{
	static const struct option lopts[] = { { "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 } };
	struct vs_img_opts opts = {
		.cmd = "rebase",
		.usage = "usage: vessel img rebase [-f fmt] [-u] -b BACKING [-F backing_fmt] FILE\n",
		.ignore = "pU",
	};
	const char *backing = NULL, *backing_fmt = NULL;
	bool unsafe = false;
	int opt;
	while ((opt = vs_img_getopt(&opts, argc, argv, ":f:b:F:uqpUh", lopts)) > 0) {
		if (opt == 'b')
			backing = optarg;
		else if (opt == 'F')
			backing_fmt = optarg;
		else
			unsafe = true; /* -u */
	}
	const char *want = "-b BACKING and one file name";
	if (opt == VS_IMG_OPT_EXIT)
		return opts.status;
	if (!backing) {
		vs_img_opt_error(&opts, "expected %s", want);
		return opts.status;
	}
	if (vs_img_opts_finish(&opts, argc, 1, want) < 0)
		return opts.status;
	const char *fmt = opts.fmt;
	/* The image first: a relative backing name is relative to its file
	 * (argv may be an --image-opts spec). */
	struct vs_block *bs =
	    vs_img_open_arg(argv[optind], fmt, VS_BLOCK_RDWR | (unsafe ? VS_BLOCK_NO_BACKING : 0));
	if (!bs)
		return VS_IMG_ERROR;
	const char *path = bs->filename;
	struct vs_block *nb = NULL;
	if (backing[0]) {
		char bpath[PATH_MAX];
		vs_img_backing_path(path, backing, bpath, sizeof(bpath));
		/* The new backing file must open (in unsafe mode too: a typo
		 * would otherwise make an image that cannot be opened). */
		nb = vs_img_open(bpath, backing_fmt, 0);
		if (!nb) {
			vs_block_close(bs);
			return VS_IMG_ERROR;
		}
		if (!backing_fmt)
			backing_fmt = nb->drv->name;
	} else {
		backing_fmt = NULL;
	}
	int ret = unsafe ? VS_IMG_OK : copy_differences(bs, nb);
	if (ret == VS_IMG_OK && vs_block_flush(bs) < 0) {
		vs_cli_error("rebase: flush `%s` failed", path);
		ret = VS_IMG_ERROR;
	}
	struct vs_error err = { 0 };
	if (ret == VS_IMG_OK &&
	    vs_block_set_backing(bs, backing[0] ? backing : NULL, backing_fmt, &err) < 0) {
		vs_cli_error("rebase: %s", err.msg);
		ret = VS_IMG_ERROR;
	}
	vs_block_close(bs);
	vs_block_close(nb);
	return ret;
}

int vs_img_commit(int argc, char **argv)
{
	static const struct option lopts[] = { { "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 } };
	struct vs_img_opts opts = { .cmd = "commit",
				    .usage = "usage: vessel img commit [-f fmt] [-d] FILE\n",
				    .ignore = "p" };
	bool keep = false;
	int opt;
	while ((opt = vs_img_getopt(&opts, argc, argv, ":f:dqph", lopts)) > 0)
		keep = true; /* -d */
	if (opt == VS_IMG_OPT_EXIT || vs_img_opts_finish(&opts, argc, 1, "one file name") < 0)
		return opts.status;
	const char *fmt = opts.fmt;
	struct vs_block *top = vs_img_open_arg(argv[optind], fmt, VS_BLOCK_RDWR);
	if (!top)
		return VS_IMG_ERROR;
	struct vs_block_info info;
	vs_block_get_info(top, &info);
	if (!top->backing) {
		vs_cli_error("commit: `%s` has no backing file", top->filename);
		vs_block_close(top);
		return VS_IMG_ERROR;
	}
	/* The backing file, opened a second time for writing. */
	char bpath[PATH_MAX];
	vs_img_backing_path(top->filename, info.backing_file, bpath, sizeof(bpath));
	struct vs_block *base =
	    vs_img_open(bpath, info.backing_fmt[0] ? info.backing_fmt : NULL, VS_BLOCK_RDWR);
	uint8_t *buf = malloc(CHUNK);
	int ret = base && buf ? VS_IMG_OK : VS_IMG_ERROR;
	for (uint64_t off = 0; ret == VS_IMG_OK && off < top->size;) {
		struct vs_block_status st;
		uint64_t n;
		int r = vs_block_status(top, off, top->size - off < CHUNK ? top->size - off : CHUNK, &n, &st);
		if (r < 0) {
			vs_img_io_error(top, "commit: map", r);
			ret = VS_IMG_ERROR;
			break;
		}
		if ((st.flags & VS_BLOCK_ALLOCATED) && st.depth == 0 && off < base->size) {
			uint64_t m = base->size - off < n ? base->size - off : n;
			if (!(st.flags & VS_BLOCK_DATA))
				r = vs_block_write_zeroes(base, off, m);
			else if ((r = vs_block_pread(top, off, buf, m)) == 0)
				r = vs_block_pwrite(base, off, buf, m);
			if (r < 0) {
				vs_img_io_error(base, "commit: write", r);
				ret = VS_IMG_ERROR;
			}
		}
		off += n;
	}
	if (ret == VS_IMG_OK && vs_block_flush(base) < 0) {
		vs_cli_error("commit: flush `%s` failed", bpath);
		ret = VS_IMG_ERROR;
	}
	/* The data now lives below: the top may let it show through. */
	if (ret == VS_IMG_OK && !keep && top->drv->make_empty) {
		int r = vs_block_make_empty(top);
		if (r < 0) {
			vs_img_io_error(top, "commit: empty", r);
			ret = VS_IMG_ERROR;
		}
	}
	if (ret == VS_IMG_OK)
		printf("Image committed.\n");
	free(buf);
	vs_block_close(base);
	vs_block_close(top);
	return ret;
}

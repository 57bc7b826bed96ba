/* `vessel img check` and `vessel img map`. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/img_opts.h"
#include "cli/img.h"
#include "util/json.h"

static void report_line(void *ctx, const char *line)
{
	(void)ctx;
	fprintf(stderr, "%s\n", line);
}

static void check_human(const struct vs_block_check *r, unsigned fix)
{
	if (fix && (r->leaks_fixed || r->corruptions_fixed)) {
		printf("The following inconsistencies were found and repaired:\n\n"
		       "    %llu leaked clusters\n    %llu corruptions\n\nDouble checking the fixed image "
		       "now...\n",
		       (unsigned long long)r->leaks_fixed, (unsigned long long)r->corruptions_fixed);
	}
	if (!r->corruptions && !r->leaks && !r->check_errors)
		printf("No errors were found on the image.\n");
	if (r->corruptions)
		printf("\n%llu errors were found on the image.\n"
		       "Data may be corrupted, or further writes to the image may corrupt it.\n",
		       (unsigned long long)r->corruptions);
	if (r->leaks)
		printf("\n%llu leaked clusters were found on the image.\n"
		       "This means waste of disk space, but no harm to data.\n",
		       (unsigned long long)r->leaks);
	if (r->total_clusters) {
		double t = (double)r->total_clusters, a = (double)r->allocated_clusters;
		printf("%llu/%llu = %0.2f%% allocated, %0.2f%% fragmented, %0.2f%% compressed clusters\n",
		       (unsigned long long)r->allocated_clusters, (unsigned long long)r->total_clusters,
		       a * 100.0 / t, a ? (double)r->fragmented_clusters * 100.0 / a : 0.0,
		       a ? (double)r->compressed_clusters * 100.0 / a : 0.0);
	}
	if (r->image_end_offset)
		printf("Image end offset: %llu\n", (unsigned long long)r->image_end_offset);
}

static void check_json(struct vs_block *bs, const struct vs_block_check *r)
{
	struct vs_json_writer w;
	struct vs_error err = { 0 };
	char *out;
	size_t len;
	vs_jw_init(&w, 4);
	vs_jw_object_begin(&w);
	vs_jw_kv_uint(&w, "image-end-offset", r->image_end_offset);
	vs_jw_kv_uint(&w, "total-clusters", r->total_clusters);
	vs_jw_kv_uint(&w, "check-errors", r->check_errors ? 1 : 0);
	if (r->leaks)
		vs_jw_kv_uint(&w, "leaks", r->leaks);
	if (r->corruptions)
		vs_jw_kv_uint(&w, "corruptions", r->corruptions);
	if (r->leaks_fixed)
		vs_jw_kv_uint(&w, "leaks-fixed", r->leaks_fixed);
	if (r->corruptions_fixed)
		vs_jw_kv_uint(&w, "corruptions-fixed", r->corruptions_fixed);
	vs_jw_kv_uint(&w, "allocated-clusters", r->allocated_clusters);
	vs_jw_kv_string(&w, "filename", bs->filename);
	vs_jw_kv_string(&w, "format", bs->drv->name);
	vs_jw_object_end(&w);
	if (vs_jw_finish(&w, &out, &len, &err) == 0) {
		fwrite(out, 1, len, stdout);
		fputc('\n', stdout);
		free(out);
	}
}

int vs_img_check(int argc, char **argv)
{
	static const struct option lopts[] = { { "output", required_argument, NULL, VS_IMG_OPT_OUTPUT },
					       { "help", no_argument, NULL, 'h' },
					       { NULL, 0, NULL, 0 } };
	struct vs_img_opts opts = {
		.cmd = "check",
		.usage = "usage: vessel img check [-f fmt] [-r leaks|all] [--output human|json] FILE\n",
		.output = "human",
		.ignore = "U",
	};
	unsigned fix = 0;
	int opt;
	while ((opt = vs_img_getopt(&opts, argc, argv, ":f:r:qhU", lopts)) > 0) { /* -r */
		if (strcmp(optarg, "leaks") == 0)
			fix = VS_CHECK_FIX_LEAKS;
		else if (strcmp(optarg, "all") == 0)
			fix = VS_CHECK_FIX_LEAKS | VS_CHECK_FIX_ERRORS;
		else
			opt = vs_img_opt_error(&opts, "-r %s: use leaks or all", optarg);
		if (opt == VS_IMG_OPT_EXIT)
			break;
	}
	if (opt == VS_IMG_OPT_EXIT || vs_img_opts_finish(&opts, argc, 1, "one file name") < 0)
		return opts.status;
	const char *fmt = opts.fmt, *output = opts.output;
	bool quiet = opts.quiet;
	unsigned flags = VS_BLOCK_CHECK | VS_BLOCK_NO_BACKING | (fix ? VS_BLOCK_RDWR : 0);
	struct vs_block *bs = vs_img_open_arg(argv[optind], fmt, flags);
	if (!bs)
		return VS_IMG_ERROR;
	if (!bs->drv->check) {
		vs_cli_error("check: %s images have no consistency check", bs->drv->name);
		vs_block_close(bs);
		return VS_IMG_CHECK_UNSUPPORTED;
	}
	struct vs_block_check r;
	struct vs_error err = { 0 };
	int ret = vs_block_check(bs, fix, &r, quiet ? NULL : report_line, NULL, &err);
	if (ret < 0) {
		vs_cli_error("%s", err.msg);
		vs_block_close(bs);
		return VS_IMG_ERROR;
	}
	if (strcmp(output, "json") == 0)
		check_json(bs, &r);
	else if (!quiet)
		check_human(&r, fix);
	vs_block_close(bs);
	if (r.check_errors)
		return VS_IMG_ERROR;
	if (r.corruptions)
		return VS_IMG_CHECK_CORRUPT;
	if (r.leaks)
		return VS_IMG_CHECK_LEAKS;
	return VS_IMG_OK;
}

struct hexbuf {
	char s[24];
};

static struct hexbuf hex(uint64_t v)
{
	struct hexbuf h;
	snprintf(h.s, sizeof(h.s), "%#llx", (unsigned long long)v);
	if (v == 0)
		snprintf(h.s, sizeof(h.s), "0");
	return h;
}

struct extent {
	uint64_t start, length, offset;
	unsigned flags, depth;
};

static bool mergeable(const struct extent *a, const struct vs_block_status *st, uint64_t start)
{
	if (a->flags != st->flags || a->depth != st->depth || a->start + a->length != start)
		return false;
	return !(st->flags & VS_BLOCK_OFFSET_VALID) || a->offset + a->length == st->host_offset;
}

static const char *layer_name(struct vs_block *bs, unsigned depth)
{
	while (depth-- && bs->backing)
		bs = bs->backing;
	return bs->filename;
}

/* false: the human format cannot show this extent (printed why). */
static bool print_extent(struct vs_block *bs, const struct extent *e, bool json, bool first)
{
	if (!json) {
		/* As qemu-img: only data with a known location, hex; data
		 * without one (encrypted, compressed) is an error there. */
		if (e->flags & VS_BLOCK_DATA && !(e->flags & VS_BLOCK_OFFSET_VALID)) {
			vs_cli_error("map: `%s` has encrypted or compressed clusters, whose host offsets "
				     "mean nothing: use --output json",
				     layer_name(bs, e->depth));
			return false;
		}
		if (e->flags & VS_BLOCK_DATA)
			printf("%-16s%-16s%-16s%s\n", hex(e->start).s, hex(e->length).s, hex(e->offset).s,
			       layer_name(bs, e->depth));
		return true;
	}
	printf("%s{ \"start\": %llu, \"length\": %llu, \"depth\": %u, \"present\": %s, \"zero\": %s, "
	       "\"data\": %s",
	       first ? "[" : ",\n", (unsigned long long)e->start, (unsigned long long)e->length, e->depth,
	       e->flags & VS_BLOCK_ALLOCATED ? "true" : "false", e->flags & VS_BLOCK_ZERO ? "true" : "false",
	       e->flags & VS_BLOCK_DATA ? "true" : "false");
	if (e->flags & VS_BLOCK_OFFSET_VALID)
		printf(", \"offset\": %llu", (unsigned long long)e->offset);
	printf("}");
	return true;
}

int vs_img_map(int argc, char **argv)
{
	static const struct option lopts[] = { { "output", required_argument, NULL, VS_IMG_OPT_OUTPUT },
					       { "help", no_argument, NULL, 'h' },
					       { NULL, 0, NULL, 0 } };
	struct vs_img_opts opts = {
		.cmd = "map",
		.usage = "usage: vessel img map [-f fmt] [--output human|json] FILE\n",
		.output = "human",
		.ignore = "U",
	};
	int opt = vs_img_getopt(&opts, argc, argv, ":f:hU", lopts); /* none of its own */
	if (opt == VS_IMG_OPT_EXIT || vs_img_opts_finish(&opts, argc, 1, "one file name") < 0)
		return opts.status;
	const char *fmt = opts.fmt;
	bool json = opts.json;
	struct vs_block *bs = vs_img_open_arg(argv[optind], fmt, 0);
	if (!bs)
		return VS_IMG_ERROR;
	if (!json)
		printf("%-16s%-16s%-16s%s\n", "Offset", "Length", "Mapped to", "File");
	struct extent cur = { 0 };
	bool have = false, first = true;
	int ret = VS_IMG_OK;
	for (uint64_t off = 0; off < bs->size;) {
		struct vs_block_status st;
		uint64_t n;
		int r = vs_block_status(bs, off, bs->size - off, &n, &st);
		if (r < 0 || n == 0) {
			vs_img_io_error(bs, "map", r < 0 ? r : -5);
			ret = VS_IMG_ERROR;
			break;
		}
		if (have && mergeable(&cur, &st, off)) {
			cur.length += n;
		} else {
			if (have && !print_extent(bs, &cur, json, first)) {
				ret = VS_IMG_ERROR;
				have = false;
				break;
			}
			first = first && !have;
			cur = (struct extent){ off, n, st.host_offset, st.flags, st.depth };
			have = true;
		}
		off += n;
	}
	if (have && ret == VS_IMG_OK) {
		if (!print_extent(bs, &cur, json, first))
			ret = VS_IMG_ERROR;
		first = false;
	}
	if (json)
		printf("%s]\n", first ? "[" : "");
	vs_block_close(bs);
	return ret;
}

/* `vessel img snapshot -c|-l|-a|-d`: internal snapshots, as qemu-img. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "cli/img_opts.h"
#include "cli/img.h"

void vs_img_snapshot_table(const struct vs_block_snapshot *l, unsigned n)
{
	printf("Snapshot list:\n%-10s%-17s%8s%20s%13s%11s\n", "ID", "TAG", "VM SIZE", "DATE", "VM CLOCK",
	       "ICOUNT");
	for (unsigned i = 0; i < n; i++) {
		char size[32], date[32];
		time_t t = (time_t)l[i].date_sec;
		struct tm tm;
		localtime_r(&t, &tm);
		strftime(date, sizeof(date), "%Y-%m-%d %H:%M:%S", &tm);
		vs_img_size_str(l[i].vm_state_size, size, sizeof(size));
		uint64_t ms = l[i].vm_clock_nsec / 1000000;
		/* No instruction count is recorded: the column stays blank. */
		printf("%-9s %-17s%8s%20s %02llu:%02llu:%02llu.%03llu%11s\n", l[i].id, l[i].name, size, date,
		       (unsigned long long)(ms / 3600000), (unsigned long long)(ms / 60000 % 60),
		       (unsigned long long)(ms / 1000 % 60), (unsigned long long)(ms % 1000), "");
	}
}

int vs_img_snapshot(int argc, char **argv)
{
	static const struct option lopts[] = { { "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 } };
	struct vs_img_opts opts = {
		.cmd = "snapshot",
		.usage = "usage: vessel img snapshot [-f fmt] -c NAME | -l | -a NAME | -d NAME FILE\n",
		.ignore = "U",
	};
	const char *name = NULL;
	int action = 0, opt;
	while ((opt = vs_img_getopt(&opts, argc, argv, ":f:c:a:d:lqUh", lopts)) > 0) {
		/* -c, -a, -d NAME or -l */
		if (action) {
			opt = vs_img_opt_error(&opts, "use one of -c, -l, -a, -d");
			break;
		}
		action = opt;
		name = opt == 'l' ? NULL : optarg;
	}
	if (opt == VS_IMG_OPT_EXIT || vs_img_opts_finish(&opts, argc, 1, "one file name") < 0)
		return opts.status;
	const char *fmt = opts.fmt;
	if (!action)
		action = 'l';
	unsigned flags = VS_BLOCK_NO_BACKING | (action == 'l' ? 0 : VS_BLOCK_RDWR);
	struct vs_block *bs = vs_img_open_arg(argv[optind], fmt, flags);
	if (!bs)
		return VS_IMG_ERROR;
	struct vs_error err = { 0 };
	int r;
	if (action == 'l') {
		struct vs_block_snapshot *l;
		unsigned n;
		r = vs_block_snapshot_list(bs, &l, &n, &err);
		if (r == 0) {
			if (n)
				vs_img_snapshot_table(l, n);
			free(l);
		}
	} else if (action == 'c') {
		r = vs_block_snapshot_create(bs, name, &err);
	} else if (action == 'a') {
		r = vs_block_snapshot_apply(bs, name, &err);
	} else {
		r = vs_block_snapshot_delete(bs, name, &err);
	}
	if (r < 0)
		vs_cli_error("snapshot: %s", err.msg);
	if (r == 0 && action != 'l' && (r = vs_block_flush(bs)) < 0)
		vs_img_io_error(bs, "snapshot: flush", r);
	vs_block_close(bs);
	return r < 0 ? VS_IMG_ERROR : VS_IMG_OK;
}

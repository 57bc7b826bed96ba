#include "cli/img_opts.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/img.h"

int vs_img_getopt(struct vs_img_opts *o, int argc, char **argv, const char *shortopts,
		  const struct option *lopts)
{
	int opt;
	if (!o->started)
		optind = 1; /* a command parses its argv from the start */
	o->started = true;
	for (;;) {
		opt = getopt_long(argc, argv, shortopts, lopts, NULL);
		if (opt > 0 && opt < 0x100 && o->ignore && strchr(o->ignore, opt))
			continue;
		switch (opt) {
		case 'f':
			o->fmt = optarg;
			continue;
		case VS_IMG_OPT_OUTPUT:
			o->output = optarg;
			continue;
		case 'q':
			o->quiet = true;
			continue;
		case 'h':
			fputs(o->usage, stdout);
			o->status = VS_IMG_OK;
			return VS_IMG_OPT_EXIT;
		case ':':
			if (o->help_hint) {
				vs_cli_error("%s: option `%s` needs a value", o->cmd, argv[optind - 1]);
				o->status = VS_IMG_ERROR;
				return VS_IMG_OPT_EXIT;
			}
			/* fall through */
		case '?':
			vs_cli_error(o->help_hint ? "%s: bad option `%s`: see `vessel img %s --help`"
						  : "%s: bad option `%s`",
				     o->cmd, argv[optind - 1], o->cmd);
			o->status = VS_IMG_ERROR;
			return VS_IMG_OPT_EXIT;
		default:
			return opt;
		}
	}
}

int vs_img_opt_error(struct vs_img_opts *o, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "vessel: %s: ", o->cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	o->status = VS_IMG_ERROR;
	return VS_IMG_OPT_EXIT;
}

int vs_img_opts_finish(struct vs_img_opts *o, int argc, int operands, const char *what)
{
	o->status = VS_IMG_ERROR;
	if (optind + operands != argc) {
		vs_cli_error("%s: expected %s", o->cmd, what);
		return -1;
	}
	if (o->output && strcmp(o->output, "human") != 0 && strcmp(o->output, "json") != 0) {
		vs_cli_error("%s: --output %s: use human or json", o->cmd, o->output);
		return -1;
	}
	o->json = o->output && strcmp(o->output, "json") == 0;
	o->status = VS_IMG_OK;
	return 0;
}

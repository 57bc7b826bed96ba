/* The option handling `vessel img` commands share: getopt_long over the
 * command's own letters with the common ones done here, as qemu-img
 * spells them: -f FMT, -q, -h/--help, --output human|json (a long option
 * the command lists with the value VS_IMG_OPT_OUTPUT), the letters it
 * accepts for qemu-img's sake and ignores (-U force share, -p progress,
 * ...), and one message for an unknown option or a missing value. A command lists in `shortopts` only the
 *letters it takes; what is not listed stays an error. (--object, --image-opts and
 * --key-file were taken out of argv before, by vs_img_take_key_args.)
 *
 *	struct vs_img_opts o = { .cmd = "check", .usage = "usage: ...\n", .ignore = "U" };
 *	while ((opt = vs_img_getopt(&o, argc, argv, ":f:r:qhU", lopts)) > 0)
 *		... the command's own letters ...
 *	if (opt == VS_IMG_OPT_EXIT || vs_img_opts_finish(&o, argc, 1, "one file name") < 0)
 *		return o.status;
 */
#ifndef VESSEL_CLI_IMG_OPTS_H
#define VESSEL_CLI_IMG_OPTS_H

#include <getopt.h>
#include <stdbool.h>

/* vs_img_getopt: the command is over, with exit status o->status (after
 * -h, or an error already printed). */
#define VS_IMG_OPT_EXIT (-2)
/* The value of --output in a command's long options. */
#define VS_IMG_OPT_OUTPUT 0x100

struct vs_img_opts {
	/* Set by the command. */
	const char *cmd;    /* "check": messages start with it */
	const char *usage;  /* -h / --help prints it on stdout */
	const char *ignore; /* letters accepted and ignored, e.g. "pU" */
	bool help_hint;	    /* errors say `see vessel img CMD --help`, a missing
			       value is told apart from an unknown option */
	const char *fmt;    /* -f; the default, NULL: probed */
	const char *output; /* --output; the default ("human" for commands
			       that take it), NULL: no --output */
	/* Filled in. */
	bool quiet; /* -q */
	bool json;  /* --output json (vs_img_opts_finish) */
	int status; /* the exit status, with VS_IMG_OPT_EXIT or a failed finish */
	bool started;
};

/* getopt_long(argc, argv, shortopts, lopts), from the first argument on
 * at the first call: the next option the command handles itself, -1 at
 * the end of the options (optind at the first operand), or
 * VS_IMG_OPT_EXIT. */
int vs_img_getopt(struct vs_img_opts *o, int argc, char **argv, const char *shortopts,
		  const struct option *lopts);
/* Bad option value for the command's own options: prints "CMD: MSG" and
 * returns VS_IMG_OPT_EXIT with the error status. */
int vs_img_opt_error(struct vs_img_opts *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* After the options: exactly `operands` arguments left ("CMD: expected
 * WHAT" otherwise), and --output human or json. 0, or -1 with the error
 * printed and o->status set. */
int vs_img_opts_finish(struct vs_img_opts *o, int argc, int operands, const char *what);

#endif

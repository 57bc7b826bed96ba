#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli/cli.h"

void vs_cli_error(const char *fmt, ...)
{
	va_list ap;
	fputs("vessel: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void vs_cli_note(const char *fmt, ...)
{
	va_list ap;
	fputs("vessel: note: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int vs_cli_parse_int(const char *opt, const char *value, long min, long max, long *out)
{
	char *end;
	long v;
	errno = 0;
	v = strtol(value, &end, 10);
	if (errno || end == value || *end) {
		vs_cli_error("%s `%s` is not a number", opt, value);
		return -1;
	}
	if (v < min || v > max) {
		vs_cli_error("%s %ld is out of range: use %ld to %ld", opt, v, min, max);
		return -1;
	}
	*out = v;
	return 0;
}

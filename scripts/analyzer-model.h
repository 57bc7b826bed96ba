/* Force-included (-include) by scripts/check-analyze.sh into every file the
 * static analyzer reads, except util/error.c itself.
 *
 * The analyzer sees one translation unit at a time, so it does not know
 * that the error setters always return -1 and follows impossible paths
 * through `return vs_error_set(...);` (a "failure" that returns 0). Saying
 * so here keeps the sources free of analyzer-only code. */
#ifndef VESSEL_ANALYZER_MODEL_H
#define VESSEL_ANALYZER_MODEL_H

#include "util/error.h"

#define vs_error_set(...) (vs_error_set(__VA_ARGS__), -1)
#define vs_error_msg(...) (vs_error_msg(__VA_ARGS__), -1)
#define vs_error_prefix(...) (vs_error_prefix(__VA_ARGS__), -1)

/* Nor does it know that getopt_long writes optarg (NULL for an option
 * whose optional argument is absent): a branch on optarg being NULL in one
 * turn of a parsing loop would carry into the next option's turn. */
#include <getopt.h>
char *vs_analyzer_any_string(void);
static inline int vs_analyzer_getopt_long(int argc, char *const argv[], const char *shortopts,
					  const struct option *longopts, int *index)
{
	int opt = getopt_long(argc, argv, shortopts, longopts, index);
	optarg = vs_analyzer_any_string();
	return opt;
}
#define getopt_long vs_analyzer_getopt_long

#endif

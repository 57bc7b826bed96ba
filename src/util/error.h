/* Error object carried through library calls.
 *
 * Library functions return a negative value (or NULL) and describe the
 * failure in a struct vs_error; callers may add their own context with
 * vs_error_prefix(). Only the CLI turns an error into a message and an exit
 * status.
 */
#ifndef VESSEL_UTIL_ERROR_H
#define VESSEL_UTIL_ERROR_H

#include <stdarg.h>

#define VS_ERROR_MSG_MAX 512

struct vs_error {
	int code; /* errno-style value, 0 when no error is recorded */
	char msg[VS_ERROR_MSG_MAX];
};

/* Record an error; `code` is an errno value (or 0 when none applies) and is
 * appended as strerror when non-zero. Always returns -1 so callers can write
 * `return vs_error_set(err, errno, "open `%s`", path);`. */
int vs_error_set(struct vs_error *err, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Same, but without appending strerror (for errors about input content). */
int vs_error_msg(struct vs_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Same as vs_error_msg (no strerror appended: the message says it all), but
 * records `code` so callers can still test for it, e.g. EFBIG for a file
 * over its size limit or ENOENT behind a friendlier message. Returns -1. */
int vs_error_msg_code(struct vs_error *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prepend caller context: "loading kernel: <previous message>". Returns -1. */
int vs_error_prefix(struct vs_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

void vs_error_clear(struct vs_error *err);

#endif

#include "util/error.h"

#include <stdio.h>
#include <string.h>

__attribute__((format(printf, 3, 0))) static void vformat(struct vs_error *err, int code, const char *fmt,
							  va_list ap)
{
	int n = vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	if (n < 0)
		n = 0;
	if (code != 0 && (size_t)n < sizeof(err->msg))
		snprintf(err->msg + n, sizeof(err->msg) - (size_t)n, ": %s", strerror(code));
	err->code = code;
}

int vs_error_set(struct vs_error *err, int code, const char *fmt, ...)
{
	va_list ap;
	if (!err)
		return -1;
	va_start(ap, fmt);
	vformat(err, code, fmt, ap);
	va_end(ap);
	return -1;
}

int vs_error_msg(struct vs_error *err, const char *fmt, ...)
{
	va_list ap;
	if (!err)
		return -1;
	va_start(ap, fmt);
	vformat(err, 0, fmt, ap);
	va_end(ap);
	err->code = err->code ? err->code : -1;
	return -1;
}

int vs_error_msg_code(struct vs_error *err, int code, const char *fmt, ...)
{
	va_list ap;
	if (!err)
		return -1;
	va_start(ap, fmt);
	vformat(err, 0, fmt, ap);
	va_end(ap);
	err->code = code ? code : -1;
	return -1;
}

int vs_error_prefix(struct vs_error *err, const char *fmt, ...)
{
	char prefix[VS_ERROR_MSG_MAX];
	char old[VS_ERROR_MSG_MAX];
	va_list ap;
	if (!err)
		return -1;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	size_t plen = strlen(prefix);
	memcpy(old, err->msg, sizeof(old));
	old[sizeof(old) - 1] = '\0';
	/* Truncation is acceptable: the message is for humans. */
	if (plen >= sizeof(err->msg))
		plen = sizeof(err->msg) - 1;
	memcpy(err->msg, prefix, plen);
	size_t room = sizeof(err->msg) - 1 - plen;
	size_t olen = strnlen(old, room);
	memcpy(err->msg + plen, old, olen);
	err->msg[plen + olen] = '\0';
	return -1;
}

void vs_error_clear(struct vs_error *err)
{
	if (!err)
		return;
	err->code = 0;
	err->msg[0] = '\0';
}

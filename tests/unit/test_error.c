#include <errno.h>
#include <string.h>

#include "tap.h"
#include "util/error.h"

TEST(set_appends_strerror)
{
	struct vs_error err = { 0 };
	CHECK(vs_error_set(&err, ENOENT, "open `%s`", "x") == -1);
	CHECK_EQ_U64(err.code, ENOENT);
	CHECK_STREQ(err.msg, "open `x`: No such file or directory");
}

TEST(prefix_wraps_context)
{
	struct vs_error err = { 0 };
	vs_error_msg(&err, "bad magic");
	vs_error_prefix(&err, "kernel `%s`: ", "k");
	CHECK_STREQ(err.msg, "kernel `k`: bad magic");
	CHECK(err.code != 0);
}

TEST(msg_code_keeps_code_without_strerror)
{
	struct vs_error err = { 0 };
	CHECK(vs_error_msg_code(&err, EFBIG, "file `%s` is too big", "f") == -1);
	CHECK_EQ_U64(err.code, EFBIG);
	CHECK(strcmp(err.msg, "file `f` is too big") == 0);
	/* A zero code still marks the error as set. */
	vs_error_msg_code(&err, 0, "x");
	CHECK(err.code != 0);
	CHECK(vs_error_msg_code(NULL, EIO, "x") == -1);
}

TEST(long_messages_truncate_safely)
{
	struct vs_error err = { 0 };
	char big[2000];
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	vs_error_msg(&err, "%s", big);
	vs_error_prefix(&err, "%s", big);
	CHECK(strlen(err.msg) == VS_ERROR_MSG_MAX - 1);
	CHECK(vs_error_set(NULL, 1, "x") == -1);
}

VS_TAP_MAIN(TAP_CASE(set_appends_strerror), TAP_CASE(prefix_wraps_context),
	    TAP_CASE(msg_code_keeps_code_without_strerror), TAP_CASE(long_messages_truncate_safely))

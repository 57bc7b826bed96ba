#include <stdint.h>

#include "tap.h"
#include "util/parse.h"

#define VS_MiB (1024ull * 1024)
#define VS_GiB (1024ull * VS_MiB)

TEST(parse_size)
{
	uint64_t v = 0;
	CHECK(vs_parse_size("256M", &v) == 0 && v == 256 * VS_MiB);
	CHECK(vs_parse_size("2G", &v) == 0 && v == 2 * VS_GiB);
	CHECK(vs_parse_size("512k", &v) == 0 && v == 512 * 1024);
	CHECK(vs_parse_size("1MiB", &v) == 0 && v == VS_MiB);
	CHECK(vs_parse_size("4096", &v) == 0 && v == 4096);
	CHECK(vs_parse_size("abc", &v) < 0);
	CHECK(vs_parse_size("", &v) < 0);
	CHECK(vs_parse_size("-1G", &v) < 0);
	CHECK(vs_parse_size("12Q", &v) < 0);
	CHECK(vs_parse_size("1Mx", &v) < 0);
	CHECK(vs_parse_size("99999999999999999999", &v) < 0);
	CHECK(vs_parse_size("99999999999T", &v) < 0);
}

VS_TAP_MAIN(TAP_CASE(parse_size))

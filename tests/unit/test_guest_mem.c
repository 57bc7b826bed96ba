#include <stdint.h>
#include <string.h>

#include "machine/console.h"
#include "hw/guest_mem.h"
#include "tap.h"

TEST(layout_256m)
{
	struct vs_guest_mem mem;
	struct vs_error err = { 0 };
	struct vs_e820_entry e[VS_E820_MAX];
	int n;
	CHECK(vs_guest_mem_create(&mem, 256 * VS_MiB, &err) == 0);
	CHECK_EQ_U64(mem.nregions, 1);
	n = vs_guest_mem_e820(&mem, e, VS_E820_MAX);
	CHECK_EQ_U64(n, 4);
	CHECK_EQ_U64(e[0].addr, 0);
	CHECK_EQ_U64(e[0].size, 0x9fc00);
	CHECK_EQ_U64(e[0].type, VS_E820_RAM);
	CHECK_EQ_U64(e[3].addr, 0x100000);
	CHECK_EQ_U64(e[3].addr + e[3].size, 256 * VS_MiB);
	CHECK(vs_gpa_ptr(&mem, 256 * VS_MiB - 1, 1) != NULL);
	CHECK(vs_gpa_ptr(&mem, 256 * VS_MiB - 1, 2) == NULL);
	CHECK(vs_gpa_ptr(&mem, UINT64_MAX, 2) == NULL);
	vs_guest_mem_release(&mem);
}

TEST(layout_above_4g)
{
	struct vs_guest_mem mem;
	struct vs_error err = { 0 };
	struct vs_e820_entry e[VS_E820_MAX];
	int n;
	CHECK(vs_guest_mem_create(&mem, 5 * VS_GiB, &err) == 0);
	CHECK_EQ_U64(mem.nregions, 2);
	CHECK_EQ_U64(vs_guest_mem_low_end(&mem), 0xc0000000);
	n = vs_guest_mem_e820(&mem, e, VS_E820_MAX);
	CHECK_EQ_U64(n, 5);
	CHECK_EQ_U64(e[4].addr, 4 * VS_GiB);
	CHECK_EQ_U64(e[4].size, 2 * VS_GiB);
	/* the hole is not RAM */
	CHECK(vs_gpa_ptr(&mem, 0xd0000000, 1) == NULL);
	/* a range may not straddle the hole */
	CHECK(vs_gpa_ptr(&mem, 0xc0000000 - 4, 8) == NULL);
	CHECK(vs_gpa_write(&mem, 4 * VS_GiB + 8, "abc", 3) == 0);
	CHECK(memcmp(mem.base + 0xc0000000 + 8, "abc", 3) == 0);
	vs_guest_mem_release(&mem);
}

TEST(too_small_refused)
{
	struct vs_guest_mem mem;
	struct vs_error err = { 0 };
	CHECK(vs_guest_mem_create(&mem, 1 * VS_MiB, &err) < 0);
	CHECK(strstr(err.msg, "too small") != NULL);
}

TEST(console_escape)
{
	struct vs_console con;
	uint8_t out[16];
	bool quit;
	size_t n;
	memset(&con, 0, sizeof(con));
	n = vs_console_filter(&con,
			      (const uint8_t *)"ab\x01\x01"
					       "c",
			      5, out, &quit);
	CHECK(!quit);
	CHECK_EQ_U64(n, 4);
	CHECK(memcmp(out,
		     "ab\x01"
		     "c",
		     4) == 0);
	n = vs_console_filter(&con, (const uint8_t *)"z\x01", 2, out, &quit);
	CHECK(!quit && n == 1 && out[0] == 'z');
	/* escape split across reads */
	n = vs_console_filter(&con, (const uint8_t *)"x", 1, out, &quit);
	CHECK(quit);
	CHECK_EQ_U64(n, 0);
}

VS_TAP_MAIN(TAP_CASE(layout_256m), TAP_CASE(layout_above_4g), TAP_CASE(too_small_refused),
	    TAP_CASE(console_escape))

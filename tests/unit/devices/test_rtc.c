#include "devices/legacy/rtc.h"

#include "../tap.h"
#include "hw/pc_layout.h"

#define MIB (1024ull * 1024)
#define GIB (1024ull * MIB)

/* 2024-02-29 13:05:09 UTC, a Thursday. */
#define LEAP_DAY_AFTERNOON 1709211909
#define LEAP_DAY_0030 1709166600
#define LEAP_DAY_NOON 1709208000

struct rig {
	struct vs_bus bus;
	struct vs_rtc *rtc;
	time_t now;
};

static time_t fake_now(void *opaque)
{
	return ((struct rig *)opaque)->now;
}

static int rig_init(struct rig *r, uint64_t mem, time_t now)
{
	struct vs_error err;
	memset(r, 0, sizeof(*r));
	r->now = now;
	vs_bus_init(&r->bus, "pio");
	r->rtc = vs_rtc_create(mem, fake_now, r);
	if (!r->rtc)
		return -1;
	return vs_bus_register(&r->bus, VS_PORT_RTC, 2, &vs_rtc_bus_ops, r->rtc, "rtc", &err);
}

static void rig_fini(struct rig *r)
{
	vs_rtc_destroy(r->rtc);
	vs_bus_release(&r->bus);
}

static uint8_t cmos_read(struct rig *r, uint8_t index)
{
	uint8_t v = 0;
	vs_bus_write(&r->bus, VS_PORT_RTC, &index, 1);
	vs_bus_read(&r->bus, VS_PORT_RTC + 1, &v, 1);
	return v;
}

static void cmos_write(struct rig *r, uint8_t index, uint8_t v)
{
	vs_bus_write(&r->bus, VS_PORT_RTC, &index, 1);
	vs_bus_write(&r->bus, VS_PORT_RTC + 1, &v, 1);
}

TEST(bcd_24h_default)
{
	struct rig r;
	CHECK(rig_init(&r, 256 * MIB, LEAP_DAY_AFTERNOON) == 0);
	CHECK_EQ_U64(cmos_read(&r, 0x0b), 0x02);
	CHECK_EQ_U64(cmos_read(&r, 0x00), 0x09);
	CHECK_EQ_U64(cmos_read(&r, 0x02), 0x05);
	CHECK_EQ_U64(cmos_read(&r, 0x04), 0x13);
	CHECK_EQ_U64(cmos_read(&r, 0x06), 5); /* Thursday, Sunday = 1 */
	CHECK_EQ_U64(cmos_read(&r, 0x07), 0x29);
	CHECK_EQ_U64(cmos_read(&r, 0x08), 0x02);
	CHECK_EQ_U64(cmos_read(&r, 0x09), 0x24);
	CHECK_EQ_U64(cmos_read(&r, 0x32), 0x20);
	r.now += 50; /* the clock follows the source */
	CHECK_EQ_U64(cmos_read(&r, 0x00), 0x59);
	CHECK_EQ_U64(cmos_read(&r, 0x02), 0x05);
	rig_fini(&r);
}

TEST(binary_and_12h)
{
	struct rig r;
	CHECK(rig_init(&r, 256 * MIB, LEAP_DAY_AFTERNOON) == 0);
	cmos_write(&r, 0x0b, 0x06); /* binary, 24h */
	CHECK_EQ_U64(cmos_read(&r, 0x04), 13);
	CHECK_EQ_U64(cmos_read(&r, 0x07), 29);
	CHECK_EQ_U64(cmos_read(&r, 0x09), 24);
	CHECK_EQ_U64(cmos_read(&r, 0x32), 20);
	cmos_write(&r, 0x0b, 0x04); /* binary, 12h */
	CHECK_EQ_U64(cmos_read(&r, 0x04), 0x81);
	cmos_write(&r, 0x0b, 0x00); /* BCD, 12h */
	CHECK_EQ_U64(cmos_read(&r, 0x04), 0x81);
	r.now = LEAP_DAY_0030;
	CHECK_EQ_U64(cmos_read(&r, 0x04), 0x12); /* 12 AM */
	CHECK_EQ_U64(cmos_read(&r, 0x02), 0x30);
	r.now = LEAP_DAY_NOON;
	CHECK_EQ_U64(cmos_read(&r, 0x04), 0x92); /* 12 PM */
	r.now = LEAP_DAY_NOON - 3600;
	CHECK_EQ_U64(cmos_read(&r, 0x04), 0x11);
	cmos_write(&r, 0x0b, 0x04);
	r.now = LEAP_DAY_NOON + 11 * 3600; /* 23:00 */
	CHECK_EQ_U64(cmos_read(&r, 0x04), 0x80 | 11);
	rig_fini(&r);
}

TEST(status_registers_and_index)
{
	struct rig r;
	CHECK(rig_init(&r, 256 * MIB, LEAP_DAY_AFTERNOON) == 0);
	CHECK_EQ_U64(cmos_read(&r, 0x0a), 0x26);
	CHECK_EQ_U64(cmos_read(&r, 0x0c), 0x00);
	CHECK_EQ_U64(cmos_read(&r, 0x0d), 0x80);
	cmos_write(&r, 0x0d, 0x00); /* read-only */
	CHECK_EQ_U64(cmos_read(&r, 0x0d), 0x80);
	cmos_write(&r, 0x0a, 0xa6); /* UIP is read-only */
	CHECK_EQ_U64(cmos_read(&r, 0x0a), 0x26);
	/* Bit 7 of the index disables NMIs and is not part of the address. */
	CHECK_EQ_U64(cmos_read(&r, 0x80 | 0x0d), 0x80);
	CHECK_EQ_U64(cmos_read(&r, 0x80 | 0x32), 0x20);
	cmos_write(&r, 0x40, 0x5a);
	cmos_write(&r, 0x7f, 0xa5);
	CHECK_EQ_U64(cmos_read(&r, 0x40), 0x5a);
	CHECK_EQ_U64(cmos_read(&r, 0xc0), 0x5a);
	CHECK_EQ_U64(cmos_read(&r, 0x7f), 0xa5);
	rig_fini(&r);
}

TEST(guest_set_time_persists)
{
	struct rig r;
	CHECK(rig_init(&r, 256 * MIB, LEAP_DAY_AFTERNOON) == 0);
	/* The way Linux sets it: SET, fields, then clear SET. Writing the day
	 * before the month must not be normalised against February. */
	cmos_write(&r, 0x0b, 0x82);
	cmos_write(&r, 0x09, 0x25);
	cmos_write(&r, 0x07, 0x31);
	cmos_write(&r, 0x08, 0x12);
	cmos_write(&r, 0x04, 0x23);
	cmos_write(&r, 0x02, 0x59);
	cmos_write(&r, 0x00, 0x50);
	r.now += 100; /* frozen while SET */
	CHECK_EQ_U64(cmos_read(&r, 0x00), 0x50);
	cmos_write(&r, 0x0b, 0x02);
	CHECK_EQ_U64(cmos_read(&r, 0x07), 0x31);
	CHECK_EQ_U64(cmos_read(&r, 0x08), 0x12);
	CHECK_EQ_U64(cmos_read(&r, 0x09), 0x25);
	CHECK_EQ_U64(cmos_read(&r, 0x06), 4); /* 2025-12-31 is a Wednesday */
	/* ...and it keeps running from there. */
	r.now += 15;
	CHECK_EQ_U64(cmos_read(&r, 0x00), 0x05);
	CHECK_EQ_U64(cmos_read(&r, 0x02), 0x00);
	CHECK_EQ_U64(cmos_read(&r, 0x04), 0x00);
	CHECK_EQ_U64(cmos_read(&r, 0x07), 0x01);
	CHECK_EQ_U64(cmos_read(&r, 0x08), 0x01);
	CHECK_EQ_U64(cmos_read(&r, 0x09), 0x26);
	CHECK_EQ_U64(cmos_read(&r, 0x32), 0x20);
	/* Without SET a write takes effect at once, here in binary 12h mode. */
	cmos_write(&r, 0x0b, 0x04);
	cmos_write(&r, 0x04, 0x80 | 3); /* 3 PM */
	cmos_write(&r, 0x0b, 0x06);
	CHECK_EQ_U64(cmos_read(&r, 0x04), 15);
	cmos_write(&r, 0x32, 21);
	CHECK_EQ_U64(cmos_read(&r, 0x32), 21);
	CHECK_EQ_U64(cmos_read(&r, 0x09), 26);
	rig_fini(&r);
}

TEST(memory_size_256m)
{
	struct rig r;
	CHECK(rig_init(&r, 256 * MIB, LEAP_DAY_AFTERNOON) == 0);
	CHECK_EQ_U64(cmos_read(&r, 0x15), 0x80); /* 640 KiB */
	CHECK_EQ_U64(cmos_read(&r, 0x16), 0x02);
	CHECK_EQ_U64(cmos_read(&r, 0x17), 0xff); /* 255 MiB in KiB, capped */
	CHECK_EQ_U64(cmos_read(&r, 0x18), 0xff);
	CHECK_EQ_U64(cmos_read(&r, 0x30), 0xff);
	CHECK_EQ_U64(cmos_read(&r, 0x31), 0xff);
	CHECK_EQ_U64(cmos_read(&r, 0x34), 0x00); /* 240 MiB / 64 KiB = 0x0f00 */
	CHECK_EQ_U64(cmos_read(&r, 0x35), 0x0f);
	CHECK_EQ_U64(cmos_read(&r, 0x5b), 0x00);
	CHECK_EQ_U64(cmos_read(&r, 0x5c), 0x00);
	CHECK_EQ_U64(cmos_read(&r, 0x5d), 0x00);
	rig_fini(&r);
}

TEST(memory_size_small_and_6g)
{
	struct rig r;
	unsigned int sum = 0;
	CHECK(rig_init(&r, 32 * MIB, LEAP_DAY_AFTERNOON) == 0);
	CHECK_EQ_U64(cmos_read(&r, 0x17), 0x00); /* 31 MiB = 0x7c00 KiB */
	CHECK_EQ_U64(cmos_read(&r, 0x18), 0x7c);
	CHECK_EQ_U64(cmos_read(&r, 0x34), 0x00); /* 16 MiB / 64 KiB = 0x100 */
	CHECK_EQ_U64(cmos_read(&r, 0x35), 0x01);
	rig_fini(&r);

	CHECK(rig_init(&r, 6 * GIB, LEAP_DAY_AFTERNOON) == 0);
	CHECK_EQ_U64(cmos_read(&r, 0x17), 0xff);
	CHECK_EQ_U64(cmos_read(&r, 0x18), 0xff);
	CHECK_EQ_U64(cmos_read(&r, 0x34), 0x00); /* (3 GiB - 16 MiB) / 64 KiB = 0xbf00 */
	CHECK_EQ_U64(cmos_read(&r, 0x35), 0xbf);
	CHECK_EQ_U64(cmos_read(&r, 0x5b), 0x00); /* 3 GiB / 64 KiB = 0xc000 */
	CHECK_EQ_U64(cmos_read(&r, 0x5c), 0xc0);
	CHECK_EQ_U64(cmos_read(&r, 0x5d), 0x00);
	for (uint8_t i = 0x10; i < 0x2e; i++)
		sum += cmos_read(&r, i);
	CHECK_EQ_U64(cmos_read(&r, 0x2e), (sum >> 8) & 0xff);
	CHECK_EQ_U64(cmos_read(&r, 0x2f), sum & 0xff);
	CHECK(sum != 0);
	rig_fini(&r);
}

TEST(wide_and_host_clock)
{
	struct rig r;
	struct vs_rtc *host;
	uint8_t d[2] = { 0x0d, 0x00 };
	CHECK(rig_init(&r, 256 * MIB, LEAP_DAY_AFTERNOON) == 0);
	vs_bus_write(&r.bus, VS_PORT_RTC, d, 2); /* index 0x0d, write ignored */
	d[0] = d[1] = 0;
	vs_bus_read(&r.bus, VS_PORT_RTC, d, 2);
	CHECK_EQ_U64(d[0], 0xff); /* index port is write-only */
	CHECK_EQ_U64(d[1], 0x80);
	rig_fini(&r);

	/* With no callback the host clock is used: the century is sane. */
	host = vs_rtc_create(256 * MIB, NULL, NULL);
	CHECK(host != NULL);
	if (host) {
		uint8_t idx = 0x32, v = 0;
		vs_rtc_bus_ops.write(host, 0, &idx, 1);
		vs_rtc_bus_ops.read(host, 1, &v, 1);
		CHECK_EQ_U64(v, 0x20);
		vs_rtc_destroy(host);
	}
}

VS_TAP_MAIN(TAP_CASE(bcd_24h_default), TAP_CASE(binary_and_12h), TAP_CASE(status_registers_and_index),
	    TAP_CASE(guest_set_time_persists), TAP_CASE(memory_size_256m), TAP_CASE(memory_size_small_and_6g),
	    TAP_CASE(wide_and_host_clock))

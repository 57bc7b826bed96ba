#include <stdint.h>
#include <string.h>

#include "hw/bus.h"
#include "tap.h"

struct fake_dev {
	uint64_t last_offset;
	uint8_t last_data[8];
	uint32_t last_size;
	int writes;
};

static void fake_read(void *opaque, uint64_t offset, uint8_t *data, uint32_t size)
{
	struct fake_dev *d = opaque;
	d->last_offset = offset;
	memset(data, (int)(0x10 + offset), size);
}

static void fake_write(void *opaque, uint64_t offset, const uint8_t *data, uint32_t size)
{
	struct fake_dev *d = opaque;
	d->last_offset = offset;
	d->last_size = size;
	memcpy(d->last_data, data, size);
	d->writes++;
}

static const struct vs_bus_ops fake_ops = { fake_read, fake_write };

TEST(devices_see_offsets)
{
	struct vs_bus bus;
	struct fake_dev a = { 0 }, b = { 0 };
	struct vs_error err = { 0 };
	uint8_t v = 0x42, r[4];
	vs_bus_init(&bus, "pio");
	CHECK(vs_bus_register(&bus, 0x3f8, 8, &fake_ops, &a, "a", &err) == 0);
	CHECK(vs_bus_register(&bus, 0x60, 1, &fake_ops, &b, "b", &err) == 0);
	CHECK(vs_bus_write(&bus, 0x3fb, &v, 1));
	CHECK_EQ_U64(a.last_offset, 3);
	CHECK_EQ_U64(a.last_data[0], 0x42);
	CHECK_EQ_U64(b.writes, 0);
	CHECK(vs_bus_read(&bus, 0x3fd, r, 2));
	CHECK_EQ_U64(r[0], 0x15);
	CHECK(vs_bus_write(&bus, 0x60, &v, 1));
	CHECK_EQ_U64(b.writes, 1);
	CHECK_EQ_U64(b.last_offset, 0);
	vs_bus_release(&bus);
}

TEST(unclaimed_reads_all_ones)
{
	struct vs_bus bus;
	uint8_t r[4] = { 0 }, v = 1;
	vs_bus_init(&bus, "pio");
	CHECK(!vs_bus_read(&bus, 0x1234, r, 4));
	CHECK_EQ_U64(r[0] & r[1] & r[2] & r[3], 0xff);
	CHECK(!vs_bus_write(&bus, 0x1234, &v, 1));
	vs_bus_release(&bus);
}

TEST(overlap_rejected_with_names)
{
	struct vs_bus bus;
	struct fake_dev a = { 0 };
	struct vs_error err = { 0 };
	vs_bus_init(&bus, "pio");
	CHECK(vs_bus_register(&bus, 0x100, 0x10, &fake_ops, &a, "first", &err) == 0);
	CHECK(vs_bus_register(&bus, 0x10f, 2, &fake_ops, &a, "second", &err) < 0);
	CHECK(strstr(err.msg, "first") && strstr(err.msg, "second"));
	CHECK(vs_bus_register(&bus, 0xff, 1, &fake_ops, &a, "below", &err) == 0);
	CHECK(vs_bus_register(&bus, 0x110, 1, &fake_ops, &a, "above", &err) == 0);
	CHECK(vs_bus_register(&bus, 0x200, 0, &fake_ops, &a, "empty", &err) < 0);
	CHECK(vs_bus_register(&bus, UINT64_MAX, 2, &fake_ops, &a, "wrap", &err) < 0);
	vs_bus_release(&bus);
}

TEST(many_ranges_sorted_lookup)
{
	struct vs_bus bus;
	struct fake_dev devs[100];
	struct vs_error err = { 0 };
	vs_bus_init(&bus, "mmio");
	memset(devs, 0, sizeof(devs));
	/* register in a scrambled order */
	for (int i = 0; i < 100; i++) {
		int k = (i * 37) % 100;
		CHECK(vs_bus_register(&bus, 0x1000u * (unsigned)k, 0x800, &fake_ops, &devs[k], "d", &err) ==
		      0);
	}
	for (int k = 0; k < 100; k++) {
		const struct vs_bus_range *r = vs_bus_find(&bus, 0x1000u * (unsigned)k + 0x7ff);
		CHECK(r && r->opaque == &devs[k]);
		CHECK(vs_bus_find(&bus, 0x1000u * (unsigned)k + 0x800) == NULL);
	}
	vs_bus_release(&bus);
}

VS_TAP_MAIN(TAP_CASE(devices_see_offsets), TAP_CASE(unclaimed_reads_all_ones),
	    TAP_CASE(overlap_rejected_with_names), TAP_CASE(many_ranges_sorted_lookup))

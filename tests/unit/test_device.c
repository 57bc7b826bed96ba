/* The board's device records: ownership, reset, ACPI description and
 * release order. */
#include <string.h>

#include "hw/aml.h"
#include "hw/device.h"
#include "tap.h"

struct fake {
	char id;
	int resets;
	char *log; /* destroy order, appended */
};

static void fake_reset(void *opaque)
{
	((struct fake *)opaque)->resets++;
}

static void fake_destroy(void *opaque)
{
	struct fake *f = opaque;
	size_t n = strlen(f->log);
	f->log[n] = f->id;
	f->log[n + 1] = '\0';
}

static void fake_aml(void *opaque, struct vs_aml *a)
{
	struct fake *f = opaque;
	char seg[5] = { 'D', 'E', 'V', f->id, 0 };
	vs_aml_device_open(a, seg);
	vs_aml_close(a);
}

TEST(reset_aml_and_release_newest_first)
{
	char log[16] = "";
	struct fake a = { 'A', 0, log }, b = { 'B', 0, log }, c = { 'C', 0, log };
	struct vs_devices list = { 0 };
	struct vs_error err = { 0 };
	uint8_t buf[64];
	struct vs_aml aml = { .buf = buf, .cap = sizeof(buf) };
	const struct vs_device da = { "a", &a, fake_reset, fake_destroy, fake_aml };
	const struct vs_device db = { "b", &b, NULL, fake_destroy, NULL };
	const struct vs_device dc = { "c", &c, fake_reset, fake_destroy, fake_aml };
	CHECK(vs_devices_add(&list, &da, &err) == 0);
	CHECK(vs_devices_add(&list, &db, &err) == 0);
	CHECK(vs_devices_add(&list, &dc, &err) == 0);
	vs_devices_reset(&list);
	CHECK_EQ_U64(a.resets, 1);
	CHECK_EQ_U64(c.resets, 1);
	vs_devices_aml(&list, &aml);
	CHECK(!aml.overflow);
	/* Two Device() objects, in creation order: ExtOp, DeviceOp, PkgLength, name. */
	CHECK_EQ_U64(aml.len, 2 * 7);
	CHECK(memcmp(buf + 3, "DEVA", 4) == 0);
	CHECK(memcmp(buf + 7 + 3, "DEVC", 4) == 0);
	vs_devices_release(&list);
	CHECK(strcmp(log, "CBA") == 0);
	CHECK_EQ_U64(list.count, 0);
	CHECK(list.items == NULL);
}

TEST(many_devices_grow_the_list)
{
	char log[64] = "";
	struct fake f[40];
	struct vs_devices list = { 0 };
	struct vs_error err = { 0 };
	for (int i = 0; i < 40; i++) {
		f[i] = (struct fake){ (char)('0' + i % 10), 0, log };
		CHECK(vs_devices_add(&list, &(struct vs_device){ "f", &f[i], NULL, fake_destroy, NULL },
				     &err) == 0);
	}
	CHECK_EQ_U64(list.count, 40);
	vs_devices_release(&list);
	CHECK_EQ_U64(strlen(log), 40);
	CHECK(log[0] == '9' && log[39] == '0');
}

VS_TAP_MAIN(TAP_CASE(reset_aml_and_release_newest_first), TAP_CASE(many_devices_grow_the_list))

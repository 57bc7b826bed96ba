/* libFuzzer target: the CMOS RTC under any sequence of guest port accesses
 * while the host clock moves. The first bytes choose the guest's RAM size
 * (the CMOS memory-size bytes) and the host time. */
#include <stdlib.h>

#include "devices/legacy/rtc.h"
#include "hw/guest_mem.h"
#include "fuzz_dev.h"
#include "hw/pc_layout.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static time_t fake_now(void *opaque)
{
	return *(const time_t *)opaque;
}

/* Host event: time passes, from a second to about 24 days. */
static void clock_ticks(void *ctx, uint8_t op, struct fuzz_input *in)
{
	time_t *now = ctx;
	*now += (time_t)1 << (op & 7) * 3;
	*now += fuzz_byte(in);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_input in = { data, size };
	uint64_t mem_mib = 0;
	time_t now = 0;
	struct vs_rtc *rtc;

	fuzz_dev_quiet();
	for (int i = 0; i < 3; i++) /* up to 16 TiB, past every CMOS field */
		mem_mib = mem_mib << 8 | fuzz_byte(&in);
	for (int i = 0; i < 4; i++) /* 1970 to about 2106 */
		now = now << 8 | fuzz_byte(&in);
	rtc = vs_rtc_create(mem_mib * VS_MiB, fake_now, &now);
	if (!rtc)
		abort();
	const struct fuzz_range ranges[] = {
		{ VS_PORT_RTC, 2, &vs_rtc_bus_ops, rtc, "cmos-rtc" },
	};
	fuzz_dev_run(&in, ranges, 1, clock_ticks, &now);
	vs_rtc_destroy(rtc);
	return 0;
}

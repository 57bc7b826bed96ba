/* MC146818 CMOS RTC at ports 0x70/0x71 reporting host time (UTC), plus the
 * CMOS bytes a PC guest reads (memory size, century, status registers). */
#ifndef VESSEL_DEVICES_RTC_H
#define VESSEL_DEVICES_RTC_H

#include <stdint.h>
#include <time.h>

#include "hw/bus.h"
#include "hw/device.h"

struct vs_rtc;

/* `mem_size` fills the CMOS memory-size bytes (0x15-0x18, 0x30-0x31,
 * 0x34-0x35, 0x5b-0x5d). `now` returns the time to report; NULL means
 * the host clock (time()); tests pass their own. */
struct vs_rtc *vs_rtc_create(uint64_t mem_size, time_t (*now)(void *opaque), void *now_opaque);
void vs_rtc_destroy(struct vs_rtc *rtc);

extern const struct vs_bus_ops vs_rtc_bus_ops; /* 2 ports: index, data */

/* The device as the board owns it. */
struct vs_device vs_rtc_device(struct vs_rtc *rtc);

#endif

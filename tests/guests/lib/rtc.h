/* MC146818 CMOS real-time clock, and coarse timeouts counted in RTC
 * seconds: the one clock every PC VMM provides with no calibration. */
#ifndef GUEST_RTC_H
#define GUEST_RTC_H

#include <stdbool.h>
#include <stdint.h>

struct rtc_time {
	unsigned year, month, day, hour, min, sec;
};

uint8_t cmos_read(uint8_t reg);

/* Read a consistent date and time, decoding BCD and 12-hour formats as
 * status register B says. False if the clock never settles. */
bool rtc_read(struct rtc_time *t);

struct deadline {
	uint8_t last_sec;
	unsigned seconds_left;
	unsigned long polls;
};

/* At least `seconds` and at most `seconds`+1 of wall time. */
void deadline_start(struct deadline *d, unsigned seconds);
bool deadline_passed(struct deadline *d);

#endif

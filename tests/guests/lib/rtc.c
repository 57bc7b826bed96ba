#include "rtc.h"
#include "acpi.h"
#include "io.h"

#define RTC_INDEX 0x70
#define RTC_DATA 0x71
#define RTC_SEC 0x00
#define RTC_MIN 0x02
#define RTC_HOUR 0x04
#define RTC_DAY 0x07
#define RTC_MONTH 0x08
#define RTC_YEAR 0x09
#define RTC_STATUS_A 0x0a
#define RTC_STATUS_B 0x0b
#define RTC_A_UIP 0x80 /* an update is in progress: fields may be torn */
#define RTC_B_24H 0x02
#define RTC_B_BINARY 0x04
#define RTC_CENTURY_DEFAULT 0x32

uint8_t cmos_read(uint8_t reg)
{
	outb(RTC_INDEX, reg);
	return inb(RTC_DATA);
}

static unsigned from_bcd(uint8_t v)
{
	return (v >> 4) * 10u + (v & 15u);
}

struct raw_time {
	uint8_t sec, min, hour, day, month, year, century;
};

static void read_raw(struct raw_time *r, uint8_t century_reg)
{
	r->sec = cmos_read(RTC_SEC);
	r->min = cmos_read(RTC_MIN);
	r->hour = cmos_read(RTC_HOUR);
	r->day = cmos_read(RTC_DAY);
	r->month = cmos_read(RTC_MONTH);
	r->year = cmos_read(RTC_YEAR);
	r->century = century_reg ? cmos_read(century_reg) : 0;
}

static bool wait_not_updating(void)
{
	for (int i = 0; i < 10000; i++) {
		if (!(cmos_read(RTC_STATUS_A) & RTC_A_UIP))
			return true;
	}
	return false;
}

bool rtc_read(struct rtc_time *t)
{
	uint8_t century_reg = acpi_century_reg();
	struct raw_time a, b;
	int tries = 0;

	if (!century_reg)
		century_reg = RTC_CENTURY_DEFAULT;
	/* Read until two passes agree, so a second boundary cannot tear the
	 * value (the classic approach when the update interrupt is unused). */
	do {
		if (!wait_not_updating() || ++tries > 10)
			return false;
		read_raw(&a, century_reg);
		wait_not_updating();
		read_raw(&b, century_reg);
	} while (a.sec != b.sec || a.min != b.min || a.hour != b.hour || a.day != b.day ||
		 a.month != b.month || a.year != b.year || a.century != b.century);

	uint8_t status_b = cmos_read(RTC_STATUS_B);
	bool bcd = !(status_b & RTC_B_BINARY);
	bool pm = false;
	uint8_t hour = a.hour;

	if (!(status_b & RTC_B_24H)) {
		pm = hour & 0x80; /* 12-hour mode keeps AM/PM in bit 7 */
		hour &= 0x7f;
	}
	t->sec = bcd ? from_bcd(a.sec) : a.sec;
	t->min = bcd ? from_bcd(a.min) : a.min;
	t->hour = bcd ? from_bcd(hour) : hour;
	t->day = bcd ? from_bcd(a.day) : a.day;
	t->month = bcd ? from_bcd(a.month) : a.month;
	t->year = bcd ? from_bcd(a.year) : a.year;
	if (!(status_b & RTC_B_24H))
		t->hour = t->hour % 12 + (pm ? 12 : 0);

	unsigned century = bcd ? from_bcd(a.century) : a.century;
	if (century < 19 || century > 21)
		century = 20; /* no usable century byte */
	t->year += century * 100;
	return true;
}

void deadline_start(struct deadline *d, unsigned seconds)
{
	d->last_sec = cmos_read(RTC_SEC);
	d->seconds_left = seconds + 1;
	d->polls = 0;
}

bool deadline_passed(struct deadline *d)
{
	uint8_t s = cmos_read(RTC_SEC);

	if (s != d->last_sec) {
		d->last_sec = s;
		if (d->seconds_left)
			d->seconds_left--;
	}
	/* Backstop in case the clock does not tick at all: every poll costs
	 * at least one trap to the VMM, so this is minutes of real time. */
	if (++d->polls > 50000000ul)
		return true;
	return d->seconds_left == 0;
}

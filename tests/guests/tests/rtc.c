/* test=rtc: read the CMOS clock, print "rtc: YYYY-MM-DD HH:MM:SS". */
#include "libc.h"
#include "rtc.h"
#include "system.h"
#include "tests.h"

void test_rtc(const char *arg)
{
	struct rtc_time t;

	(void)arg;
	if (!rtc_read(&t))
		fail("rtc: the clock never left update-in-progress");
	printf("rtc: status-b 0x%02x\n", cmos_read(0x0b));
	printf("rtc: %04u-%02u-%02u %02u:%02u:%02u\n", t.year, t.month, t.day, t.hour, t.min, t.sec);
	debug_exit(0);
}

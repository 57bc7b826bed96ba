/* MC146818 CMOS RTC.
 *
 * The clock is not a ticking register file: every read of a time register
 * converts "host time + offset" on the spot, so the update cycle never shows
 * (UIP reads 0) and the registers are always consistent with each other. A
 * guest that sets the clock only changes the offset.
 *
 * Periodic, alarm and update-ended interrupts (IRQ 8) are not implemented:
 * status C never reports a flag and the alarm registers are plain storage.
 * Linux reads the clock once at boot and keeps time with its own clocks.
 */
#include "devices/legacy/rtc.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

enum {
	RTC_SEC = 0x00,
	RTC_SEC_ALARM = 0x01,
	RTC_MIN = 0x02,
	RTC_MIN_ALARM = 0x03,
	RTC_HOUR = 0x04,
	RTC_HOUR_ALARM = 0x05,
	RTC_WDAY = 0x06,
	RTC_MDAY = 0x07,
	RTC_MONTH = 0x08,
	RTC_YEAR = 0x09,
	RTC_REG_A = 0x0a,
	RTC_REG_B = 0x0b,
	RTC_REG_C = 0x0c,
	RTC_REG_D = 0x0d,
	CMOS_BASE_MEM = 0x15, /* 0x15-0x16: KiB below 1 MiB */
	CMOS_EXT_MEM = 0x17,  /* 0x17-0x18: KiB above 1 MiB */
	CMOS_CHECKSUM = 0x2e, /* 0x2e-0x2f: sum of 0x10-0x2d, big-endian */
	CMOS_EXT_MEM2 = 0x30, /* 0x30-0x31: copy of 0x17-0x18 (POST result) */
	RTC_CENTURY = 0x32,
	CMOS_MEM_16M = 0x34, /* 0x34-0x35: 64 KiB units above 16 MiB */
	CMOS_MEM_4G = 0x5b,  /* 0x5b-0x5d: 64 KiB units above 4 GiB */
};

#define REG_A_UIP 0x80
#define REG_A_DEFAULT 0x26 /* 32.768 kHz time base, 1024 Hz periodic rate */
#define REG_B_SET 0x80
#define REG_B_UIE 0x10
#define REG_B_DM_BINARY 0x04
#define REG_B_24H 0x02
#define REG_B_DEFAULT REG_B_24H
#define REG_D_VRT 0x80 /* RAM and time valid (battery good) */
#define HOUR_PM 0x80

#define CMOS_SIZE 128
#define INDEX_NMI_DISABLE 0x80

#define KIB 1024ull
#define MIB (1024ull * KIB)
#define GIB (1024ull * MIB)
#define PCI_HOLE_START (3 * GIB)

struct vs_rtc {
	pthread_mutex_t lock;
	time_t (*now)(void *opaque);
	void *now_opaque;
	int64_t offset; /* guest clock minus host clock, in seconds */
	uint8_t index;
	uint8_t cmos[CMOS_SIZE];
	/* While status B.SET is set the clock is frozen and writes only build
	 * up the new time; it is committed when SET is cleared. Committing field
	 * by field would let timegm() normalise half-written dates (setting
	 * "March 31" while February is still current gives March 2/3). */
	bool setting;
	struct tm staged;
};

static time_t host_now(const struct vs_rtc *rtc)
{
	return rtc->now ? rtc->now(rtc->now_opaque) : time(NULL);
}

static void current_tm(const struct vs_rtc *rtc, struct tm *tm)
{
	time_t t;
	if (rtc->setting) {
		*tm = rtc->staged;
		return;
	}
	t = (time_t)((int64_t)host_now(rtc) + rtc->offset);
	if (!gmtime_r(&t, tm)) {
		t = 0;
		gmtime_r(&t, tm);
	}
}

static void commit_tm(struct vs_rtc *rtc, struct tm *tm)
{
	time_t t;
	tm->tm_isdst = 0;
	t = timegm(tm);
	if (t == (time_t)-1)
		return; /* out of range: keep the old clock */
	rtc->offset = (int64_t)t - (int64_t)host_now(rtc);
}

static bool binary_mode(const struct vs_rtc *rtc)
{
	return rtc->cmos[RTC_REG_B] & REG_B_DM_BINARY;
}

static uint8_t to_reg(const struct vs_rtc *rtc, int v)
{
	unsigned int u = (unsigned int)v % 100;
	if (binary_mode(rtc))
		return (uint8_t)u;
	return (uint8_t)(((u / 10) << 4) | (u % 10));
}

/* A guest writing invalid BCD gets some number; timegm() normalises it. */
static int from_reg(const struct vs_rtc *rtc, uint8_t v)
{
	if (binary_mode(rtc))
		return v;
	return (v >> 4) * 10 + (v & 0x0f);
}

static uint8_t hour_to_reg(const struct vs_rtc *rtc, int hour)
{
	int h12;
	if (rtc->cmos[RTC_REG_B] & REG_B_24H)
		return to_reg(rtc, hour);
	h12 = hour % 12 ? hour % 12 : 12;
	return (uint8_t)(to_reg(rtc, h12) | (hour >= 12 ? HOUR_PM : 0));
}

static int hour_from_reg(const struct vs_rtc *rtc, uint8_t v)
{
	if (rtc->cmos[RTC_REG_B] & REG_B_24H)
		return from_reg(rtc, v);
	return from_reg(rtc, v & ~HOUR_PM) % 12 + ((v & HOUR_PM) ? 12 : 0);
}

static bool is_time_reg(uint8_t reg)
{
	switch (reg) {
	case RTC_SEC:
	case RTC_MIN:
	case RTC_HOUR:
	case RTC_WDAY:
	case RTC_MDAY:
	case RTC_MONTH:
	case RTC_YEAR:
	case RTC_CENTURY:
		return true;
	}
	return false;
}

static uint8_t read_time_reg(const struct vs_rtc *rtc, uint8_t reg)
{
	struct tm tm;
	int year;

	current_tm(rtc, &tm);
	year = tm.tm_year + 1900;
	switch (reg) {
	case RTC_SEC:
		return to_reg(rtc, tm.tm_sec);
	case RTC_MIN:
		return to_reg(rtc, tm.tm_min);
	case RTC_HOUR:
		return hour_to_reg(rtc, tm.tm_hour);
	case RTC_WDAY:
		return to_reg(rtc, tm.tm_wday + 1); /* 1 = Sunday */
	case RTC_MDAY:
		return to_reg(rtc, tm.tm_mday);
	case RTC_MONTH:
		return to_reg(rtc, tm.tm_mon + 1);
	case RTC_YEAR:
		return to_reg(rtc, year % 100);
	case RTC_CENTURY:
		return to_reg(rtc, year / 100);
	}
	return 0xff;
}

static void write_time_reg(struct vs_rtc *rtc, uint8_t reg, uint8_t v)
{
	struct tm tm;
	int year;

	current_tm(rtc, &tm);
	year = tm.tm_year + 1900;
	switch (reg) {
	case RTC_SEC:
		tm.tm_sec = from_reg(rtc, v);
		break;
	case RTC_MIN:
		tm.tm_min = from_reg(rtc, v);
		break;
	case RTC_HOUR:
		tm.tm_hour = hour_from_reg(rtc, v);
		break;
	case RTC_WDAY:
		return; /* derived from the date */
	case RTC_MDAY:
		tm.tm_mday = from_reg(rtc, v);
		break;
	case RTC_MONTH:
		tm.tm_mon = from_reg(rtc, v) - 1;
		break;
	case RTC_YEAR:
		tm.tm_year = year / 100 * 100 + from_reg(rtc, v) - 1900;
		break;
	case RTC_CENTURY:
		tm.tm_year = from_reg(rtc, v) * 100 + year % 100 - 1900;
		break;
	}
	if (rtc->setting)
		rtc->staged = tm;
	else
		commit_tm(rtc, &tm);
}

static void write_reg_b(struct vs_rtc *rtc, uint8_t v)
{
	bool set = v & REG_B_SET;
	if (set && !rtc->setting) {
		current_tm(rtc, &rtc->staged);
		rtc->setting = true;
		v &= ~REG_B_UIE; /* the datasheet ties SET to clearing UIE */
	} else if (!set && rtc->setting) {
		rtc->setting = false;
		commit_tm(rtc, &rtc->staged);
	}
	rtc->cmos[RTC_REG_B] = v;
}

static uint8_t data_read(struct vs_rtc *rtc)
{
	uint8_t reg = rtc->index;
	if (is_time_reg(reg))
		return read_time_reg(rtc, reg);
	switch (reg) {
	case RTC_REG_A:
		return rtc->cmos[reg] & ~REG_A_UIP;
	case RTC_REG_C:
		return 0; /* no interrupt sources are modelled */
	case RTC_REG_D:
		return REG_D_VRT;
	}
	return rtc->cmos[reg];
}

static void data_write(struct vs_rtc *rtc, uint8_t v)
{
	uint8_t reg = rtc->index;
	if (is_time_reg(reg)) {
		write_time_reg(rtc, reg, v);
		return;
	}
	switch (reg) {
	case RTC_REG_A:
		rtc->cmos[reg] = v & ~REG_A_UIP;
		break;
	case RTC_REG_B:
		write_reg_b(rtc, v);
		break;
	case RTC_REG_C:
	case RTC_REG_D:
		break; /* read-only */
	default:
		rtc->cmos[reg] = v;
		break;
	}
}

/* A 16-bit access spans both ports, as the ISA bus would split it. */
static void rtc_read(void *opaque, uint64_t offset, uint8_t *data, uint32_t size)
{
	struct vs_rtc *rtc = opaque;
	pthread_mutex_lock(&rtc->lock);
	for (uint32_t i = 0; i < size; i++) {
		/* The index port is write-only on a PC. */
		data[i] = offset + i == 1 ? data_read(rtc) : 0xff;
	}
	pthread_mutex_unlock(&rtc->lock);
}

static void rtc_write(void *opaque, uint64_t offset, const uint8_t *data, uint32_t size)
{
	struct vs_rtc *rtc = opaque;
	pthread_mutex_lock(&rtc->lock);
	for (uint32_t i = 0; i < size; i++) {
		if (offset + i == 0)
			rtc->index = data[i] & ~INDEX_NMI_DISABLE; /* no NMIs to mask */
		else if (offset + i == 1)
			data_write(rtc, data[i]);
	}
	pthread_mutex_unlock(&rtc->lock);
}

const struct vs_bus_ops vs_rtc_bus_ops = { .read = rtc_read, .write = rtc_write };

static void put_le(uint8_t *p, uint64_t v, unsigned int bytes)
{
	for (unsigned int i = 0; i < bytes; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t cap(uint64_t v, uint64_t max)
{
	return v < max ? v : max;
}

/* The memory-size bytes firmware and old kernels read. RAM that does not
 * fit below the PCI hole is placed above 4 GiB. */
static void fill_memory_size(uint8_t *cmos, uint64_t mem_size)
{
	uint64_t low = cap(mem_size, PCI_HOLE_START);
	uint64_t high = mem_size - low;
	uint64_t ext_kib = low > MIB ? cap((low - MIB) / KIB, 0xffff) : 0;
	uint64_t above_16m = low > 16 * MIB ? cap((low - 16 * MIB) / (64 * KIB), 0xffff) : 0;
	uint16_t sum = 0;

	put_le(&cmos[CMOS_BASE_MEM], 640, 2);
	put_le(&cmos[CMOS_EXT_MEM], ext_kib, 2);
	put_le(&cmos[CMOS_EXT_MEM2], ext_kib, 2);
	put_le(&cmos[CMOS_MEM_16M], above_16m, 2);
	put_le(&cmos[CMOS_MEM_4G], cap(high / (64 * KIB), 0xffffff), 3);

	for (unsigned int i = 0x10; i < CMOS_CHECKSUM; i++)
		sum = (uint16_t)(sum + cmos[i]);
	cmos[CMOS_CHECKSUM] = (uint8_t)(sum >> 8);
	cmos[CMOS_CHECKSUM + 1] = (uint8_t)sum;
}

struct vs_rtc *vs_rtc_create(uint64_t mem_size, time_t (*now)(void *opaque), void *now_opaque)
{
	struct vs_rtc *rtc = calloc(1, sizeof(*rtc));
	if (!rtc)
		return NULL;
	if (pthread_mutex_init(&rtc->lock, NULL) != 0) {
		free(rtc);
		return NULL;
	}
	rtc->now = now;
	rtc->now_opaque = now_opaque;
	rtc->cmos[RTC_REG_A] = REG_A_DEFAULT;
	rtc->cmos[RTC_REG_B] = REG_B_DEFAULT;
	rtc->cmos[RTC_REG_D] = REG_D_VRT;
	fill_memory_size(rtc->cmos, mem_size);
	return rtc;
}

void vs_rtc_destroy(struct vs_rtc *rtc)
{
	if (!rtc)
		return;
	pthread_mutex_destroy(&rtc->lock);
	free(rtc);
}

static void rtc_device_destroy(void *opaque)
{
	vs_rtc_destroy(opaque);
}

struct vs_device vs_rtc_device(struct vs_rtc *rtc)
{
	return (struct vs_device){ .name = "rtc", .opaque = rtc, .destroy = rtc_device_destroy };
}

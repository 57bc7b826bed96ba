/* The guest's notion of time for backends that model time in software
 * (the emulator and the userspace interrupt controllers): a TSC running at
 * a fixed advertised frequency, derived from the host's CLOCK_MONOTONIC so
 * that the TSC, the LAPIC timer and the PIT can never drift apart. */
#ifndef VESSEL_HW_TIMEBASE_H
#define VESSEL_HW_TIMEBASE_H

#include <stdint.h>

#include "util/log.h" /* vs_now_ns: host CLOCK_MONOTONIC */

/* Advertised in CPUID 0x15/0x16 so Linux needs no calibration loop. */
#define VS_TSC_HZ 2000000000ull	     /* 2 GHz */
#define VS_APIC_BUS_HZ 1000000000ull /* LAPIC timer input before the divider: 1 ns per tick */

struct vs_timebase {
	uint64_t origin_ns; /* host CLOCK_MONOTONIC at which the guest TSC read 0 */
	uint64_t tsc_hz;
};

static inline void vs_timebase_init(struct vs_timebase *tb)
{
	tb->origin_ns = vs_now_ns();
	tb->tsc_hz = VS_TSC_HZ;
}

/* Host ns <-> guest TSC ticks, without 64-bit overflow for ~290 years. */
static inline uint64_t vs_timebase_ns_to_tsc(const struct vs_timebase *tb, uint64_t host_ns)
{
	uint64_t d = host_ns > tb->origin_ns ? host_ns - tb->origin_ns : 0;
	return (uint64_t)((unsigned __int128)d * tb->tsc_hz / 1000000000ull);
}

static inline uint64_t vs_timebase_tsc_to_ns(const struct vs_timebase *tb, uint64_t tsc)
{
	return tb->origin_ns + (uint64_t)((unsigned __int128)tsc * 1000000000ull / tb->tsc_hz);
}

static inline uint64_t vs_timebase_tsc(const struct vs_timebase *tb)
{
	return vs_timebase_ns_to_tsc(tb, vs_now_ns());
}

#endif

/* Local APIC in xAPIC mode: the register page, interrupt acceptance and
 * priorities, the LVTs, the timer (one-shot, periodic, TSC-deadline) and
 * the INIT/SIPI state of its CPU. Message routing between LAPICs lives in
 * apic_bus.c.
 *
 * Version 0x14 with six LVTs (timer, thermal, performance, LINT0, LINT1,
 * error; no CMCI) and no EOI-broadcast suppression. The APIC ID is
 * read-only (it is the vCPU index the board relies on). Software-disabled
 * LAPICs (SVR bit 8 clear) drop fixed interrupts as KVM's do, but still
 * take NMI, INIT and SIPI. A hardware-disabled LAPIC (APIC base bit 11
 * clear) reads as zeros, ignores writes and messages; enabling it again
 * starts from the INIT state.
 *
 * Reset quirk kept from KVM: vCPU 0's LINT0 starts unmasked in ExtINT mode
 * (virtual wire), so a guest that never touches the LAPIC gets the PIC's
 * interrupts.
 */
#include "devices/irqchip/irqchip_internal.h"

#include <string.h>

enum {
	REG_ID = 0x20,
	REG_VERSION = 0x30,
	REG_TPR = 0x80,
	REG_APR = 0x90,
	REG_PPR = 0xa0,
	REG_EOI = 0xb0,
	REG_RRD = 0xc0,
	REG_LDR = 0xd0,
	REG_DFR = 0xe0,
	REG_SVR = 0xf0,
	REG_ISR = 0x100,
	REG_TMR = 0x180,
	REG_IRR = 0x200,
	REG_ESR = 0x280,
	REG_ICR_LO = 0x300,
	REG_ICR_HI = 0x310,
	REG_LVT0 = 0x320, /* timer; the others follow every 0x10 */
	REG_TIMER_INIT = 0x380,
	REG_TIMER_CUR = 0x390,
	REG_TIMER_DCR = 0x3e0,
};

#define VERSION_VALUE (0x14u | ((uint32_t)(LVT_COUNT - 1) << 16))

#define APIC_BASE_BSP (1ull << 8)
#define APIC_BASE_X2APIC (1ull << 10)
#define APIC_BASE_ENABLE (1ull << 11)
#define APIC_BASE_ADDR_MASK 0x000ffffffffff000ull /* up to 52 physical address bits */
#define APIC_DEFAULT_BASE 0xfee00000ull

#define SVR_ENABLE (1u << 8)
#define SVR_WRITABLE 0x3ffu /* vector, enable, focus-check disable */

#define LVT_MASKED (1u << 16)
#define LVT_LEVEL (1u << 15)
#define LVT_TIMER_MODE_SHIFT 17
#define TIMER_ONESHOT 0
#define TIMER_PERIODIC 1
#define TIMER_TSC_DEADLINE 2

#define ESR_SEND_ILLEGAL (1u << 5)
#define ESR_RECV_ILLEGAL (1u << 6)

#define ICR_LO_WRITABLE 0xcdfffu /* vector, mode, dest mode, level, trigger, shorthand */

static const uint32_t lvt_writable[LVT_COUNT] = {
	[LVT_TIMER] = 0x700ffu,				  /* vector, mask, timer mode */
	[LVT_THERMAL] = 0x107ffu,			  /* vector, delivery mode, mask */
	[LVT_PERF] = 0x107ffu,	  [LVT_LINT0] = 0x1a7ffu, /* vector, mode, polarity, trigger, mask */
	[LVT_LINT1] = 0x1a7ffu,	  [LVT_ERROR] = 0x100ffu,
};

static bool test_bit(const uint32_t *v, unsigned int n)
{
	return v[n >> 5] & (1u << (n & 31));
}

static void set_bit(uint32_t *v, unsigned int n)
{
	v[n >> 5] |= 1u << (n & 31);
}

static void clear_bit(uint32_t *v, unsigned int n)
{
	v[n >> 5] &= ~(1u << (n & 31));
}

/* The highest set vector, or -1. */
static int highest(const uint32_t *v)
{
	for (int i = 7; i >= 0; i--)
		if (v[i])
			return i * 32 + 31 - __builtin_clz(v[i]);
	return -1;
}

bool vs_lapic_hw_enabled(const struct vs_lapic *a)
{
	return a->base_msr & APIC_BASE_ENABLE;
}

bool vs_lapic_sw_enabled(const struct vs_lapic *a)
{
	return vs_lapic_hw_enabled(a) && (a->svr & SVR_ENABLE);
}

uint32_t vs_lapic_ppr(const struct vs_lapic *a)
{
	int isrv = highest(a->isr);
	uint32_t isr_class = isrv < 0 ? 0 : (uint32_t)isrv & 0xf0;
	return (a->tpr & 0xf0) >= isr_class ? a->tpr & 0xff : isr_class;
}

static uint32_t apr(const struct vs_lapic *a)
{
	int irrv = highest(a->irr), isrv = highest(a->isr);
	uint32_t irr_class = irrv < 0 ? 0 : (uint32_t)irrv & 0xf0;
	uint32_t isr_class = isrv < 0 ? 0 : (uint32_t)isrv & 0xf0;
	uint32_t tpr_class = a->tpr & 0xf0;
	if (tpr_class >= irr_class && tpr_class >= isr_class)
		return a->tpr & 0xff;
	return irr_class > isr_class ? irr_class : isr_class;
}

/* ---- timer ---- */

static unsigned int timer_mode(const struct vs_lapic *a)
{
	return (a->lvt[LVT_TIMER] >> LVT_TIMER_MODE_SHIFT) & 3;
}

static uint64_t divider(const struct vs_lapic *a)
{
	unsigned int v = (a->dcr & 3) | ((a->dcr >> 1) & 4);
	return v == 7 ? 1 : 2ull << v;
}

/* Host ns for `count` timer ticks, and back. */
static uint64_t count_to_ns(const struct vs_lapic *a, uint64_t count)
{
	return (uint64_t)((unsigned __int128)count * divider(a) * 1000000000ull / VS_APIC_BUS_HZ);
}

static uint64_t ns_to_count(const struct vs_lapic *a, uint64_t ns)
{
	return (uint64_t)((unsigned __int128)ns * VS_APIC_BUS_HZ / (1000000000ull * divider(a)));
}

static uint64_t timer_period_ns(const struct vs_lapic *a)
{
	uint64_t p = count_to_ns(a, a->timer_init);
	if (timer_mode(a) == TIMER_PERIODIC && p < VS_IRQCHIP_MIN_PERIOD_NS)
		p = VS_IRQCHIP_MIN_PERIOD_NS;
	return p ? p : 1;
}

static void timer_arm(struct vs_lapic *a, uint64_t deadline)
{
	a->timer_next_ns = deadline ? deadline : 1;
	vs_irqchip_timer_armed(a->chip, a->timer_next_ns);
}

static uint32_t timer_current(const struct vs_lapic *a, uint64_t now)
{
	uint64_t ticks;
	if (!a->timer_init || timer_mode(a) == TIMER_TSC_DEADLINE)
		return 0;
	ticks = now > a->timer_start_ns ? ns_to_count(a, now - a->timer_start_ns) : 0;
	if (timer_mode(a) == TIMER_PERIODIC)
		return (uint32_t)(a->timer_init - ticks % a->timer_init);
	if (!a->timer_next_ns || ticks >= a->timer_init)
		return 0;
	return (uint32_t)(a->timer_init - ticks);
}

static void timer_start(struct vs_lapic *a, uint64_t now)
{
	a->timer_start_ns = now;
	if (!a->timer_init) {
		a->timer_next_ns = 0;
		return;
	}
	timer_arm(a, now + timer_period_ns(a));
}

/* ---- errors and local interrupts ---- */

static void record_error(struct vs_lapic *a, uint32_t bits)
{
	uint32_t lvt = a->lvt[LVT_ERROR];
	a->esr_pending |= bits;
	if ((lvt & LVT_MASKED) || a->in_error)
		return;
	a->in_error = true;
	vs_lapic_accept(a, (uint8_t)lvt, false);
	a->in_error = false;
}

/* An LVT fires: deliver by its delivery mode. */
static void local_deliver(struct vs_lapic *a, int lvt_idx)
{
	uint32_t lvt = a->lvt[lvt_idx];
	unsigned int mode = lvt_idx == LVT_TIMER || lvt_idx == LVT_ERROR ? APIC_DM_FIXED : (lvt >> 8) & 7;
	if (lvt & LVT_MASKED)
		return;
	switch (mode) {
	case APIC_DM_FIXED:
		vs_lapic_accept(a, (uint8_t)lvt,
				lvt_idx >= LVT_LINT0 && lvt_idx <= LVT_LINT1 && (lvt & LVT_LEVEL));
		break;
	case APIC_DM_NMI:
		vs_lapic_nmi(a);
		break;
	default: /* ExtINT is polled through vs_lapic_accepts_pic; SMI/INIT ignored */
		break;
	}
}

bool vs_lapic_accept(struct vs_lapic *a, uint8_t vector, bool level)
{
	if (!vs_lapic_sw_enabled(a))
		return false;
	if (vector < 16) {
		record_error(a, ESR_RECV_ILLEGAL);
		return false;
	}
	set_bit(a->irr, vector);
	if (level)
		set_bit(a->tmr, vector);
	else
		clear_bit(a->tmr, vector);
	vs_irqchip_kick_locked(a->chip, a->cpu);
	return true;
}

void vs_lapic_nmi(struct vs_lapic *a)
{
	a->nmi_pending = true;
	vs_irqchip_kick_locked(a->chip, a->cpu);
}

bool vs_lapic_accepts_pic(const struct vs_lapic *a)
{
	uint32_t lvt = a->lvt[LVT_LINT0];
	if (!vs_lapic_hw_enabled(a))
		return true;
	return !(lvt & LVT_MASKED) && ((lvt >> 8) & 7) == APIC_DM_EXTINT;
}

void vs_lapic_lint0(struct vs_lapic *a, bool level)
{
	bool rising = level && !a->lint0_level;
	a->lint0_level = level;
	if (vs_lapic_accepts_pic(a)) {
		if (level)
			vs_irqchip_kick_locked(a->chip, a->cpu);
		return;
	}
	if (rising && vs_lapic_hw_enabled(a))
		local_deliver(a, LVT_LINT0);
}

/* ---- reset, INIT, SIPI ---- */

/* The INIT state: everything but the APIC ID and the base MSR. */
static void reset_registers(struct vs_lapic *a)
{
	a->tpr = 0;
	a->ldr = 0;
	a->dfr = 0xffffffffu;
	a->svr = 0xff;
	a->esr = a->esr_pending = 0;
	a->icr_lo = a->icr_hi = 0;
	for (int i = 0; i < LVT_COUNT; i++)
		a->lvt[i] = LVT_MASKED;
	if (a->cpu == 0)
		a->lvt[LVT_LINT0] = APIC_DM_EXTINT << 8;
	a->timer_init = 0;
	a->dcr = 0;
	memset(a->irr, 0, sizeof(a->irr));
	memset(a->isr, 0, sizeof(a->isr));
	memset(a->tmr, 0, sizeof(a->tmr));
	a->timer_start_ns = 0;
	a->timer_next_ns = 0;
	a->tsc_deadline = 0;
	a->nmi_pending = false;
	a->in_error = false;
}

void vs_lapic_init(struct vs_lapic *a, struct vs_irqchip *chip, int cpu)
{
	memset(a, 0, sizeof(*a));
	a->chip = chip;
	a->cpu = cpu;
	a->id = (uint32_t)cpu;
	a->base_msr = APIC_DEFAULT_BASE | APIC_BASE_ENABLE | (cpu == 0 ? APIC_BASE_BSP : 0);
	reset_registers(a);
	a->wait_sipi = cpu != 0; /* APs wait for their first SIPI */
}

static void push_event(struct vs_lapic *a, enum vs_irqchip_event ev, uint8_t vector)
{
	unsigned int slot;
	if (a->nevents == VS_LAPIC_EVENTS) { /* drop the oldest */
		a->event_head = (uint8_t)((a->event_head + 1) % VS_LAPIC_EVENTS);
		a->nevents--;
	}
	slot = (a->event_head + a->nevents) % VS_LAPIC_EVENTS;
	a->events[slot] = (uint8_t)ev;
	a->sipi_vectors[slot] = vector;
	a->nevents++;
	vs_irqchip_kick_locked(a->chip, a->cpu);
}

void vs_lapic_init_ipi(struct vs_lapic *a)
{
	reset_registers(a);
	/* Whatever the CPU had not taken yet is moot after a reset. */
	a->nevents = 0;
	a->event_head = 0;
	a->wait_sipi = !(a->base_msr & APIC_BASE_BSP);
	push_event(a, VS_IRQCHIP_INIT, 0);
}

void vs_lapic_sipi(struct vs_lapic *a, uint8_t vector)
{
	if (!a->wait_sipi)
		return;
	a->wait_sipi = false;
	push_event(a, VS_IRQCHIP_SIPI, vector);
}

bool vs_lapic_take_event(struct vs_lapic *a, enum vs_irqchip_event *ev, uint8_t *vector)
{
	if (!a->nevents)
		return false;
	*ev = (enum vs_irqchip_event)a->events[a->event_head];
	*vector = a->sipi_vectors[a->event_head];
	a->event_head = (uint8_t)((a->event_head + 1) % VS_LAPIC_EVENTS);
	a->nevents--;
	return true;
}

/* ---- taking interrupts ---- */

int vs_lapic_pending(const struct vs_lapic *a)
{
	int v;
	if (!vs_lapic_sw_enabled(a))
		return -1;
	v = highest(a->irr);
	if (v < 0 || ((uint32_t)v & 0xf0) <= (vs_lapic_ppr(a) & 0xf0))
		return -1;
	return v;
}

int vs_lapic_ack(struct vs_lapic *a)
{
	int v = vs_lapic_pending(a);
	if (v < 0)
		return -1;
	clear_bit(a->irr, (unsigned int)v);
	set_bit(a->isr, (unsigned int)v);
	return v;
}

static void eoi(struct vs_lapic *a)
{
	int v = highest(a->isr);
	if (v < 0)
		return;
	clear_bit(a->isr, (unsigned int)v);
	if (test_bit(a->tmr, (unsigned int)v)) {
		clear_bit(a->tmr, (unsigned int)v);
		vs_ioapic_eoi(&a->chip->ioapic, (uint8_t)v);
	}
}

/* ---- registers ---- */

uint32_t vs_lapic_read_reg(struct vs_lapic *a, uint32_t offset)
{
	uint32_t reg = offset & 0xff0;
	if (!vs_lapic_hw_enabled(a) || (offset & 0xf))
		return 0;
	if (reg >= REG_ISR && reg < REG_ISR + 0x80)
		return a->isr[(reg - REG_ISR) >> 4];
	if (reg >= REG_TMR && reg < REG_TMR + 0x80)
		return a->tmr[(reg - REG_TMR) >> 4];
	if (reg >= REG_IRR && reg < REG_IRR + 0x80)
		return a->irr[(reg - REG_IRR) >> 4];
	if (reg >= REG_LVT0 && reg < REG_LVT0 + 0x10 * LVT_COUNT)
		return a->lvt[(reg - REG_LVT0) >> 4];
	switch (reg) {
	case REG_ID:
		return a->id << 24;
	case REG_VERSION:
		return VERSION_VALUE;
	case REG_TPR:
		return a->tpr;
	case REG_APR:
		return apr(a);
	case REG_PPR:
		return vs_lapic_ppr(a);
	case REG_LDR:
		return a->ldr;
	case REG_DFR:
		return a->dfr;
	case REG_SVR:
		return a->svr;
	case REG_ESR:
		return a->esr;
	case REG_ICR_LO:
		return a->icr_lo; /* delivery status: always idle */
	case REG_ICR_HI:
		return a->icr_hi;
	case REG_TIMER_INIT:
		return a->timer_init;
	case REG_TIMER_CUR:
		return timer_current(a, vs_now_ns());
	case REG_TIMER_DCR:
		return a->dcr;
	default:
		return 0;
	}
}

static void send_ipi(struct vs_lapic *a)
{
	struct vs_apic_msg m = {
		.vector = (uint8_t)a->icr_lo,
		.mode = (uint8_t)((a->icr_lo >> 8) & 7),
		.logical = a->icr_lo & (1u << 11),
		.assert = a->icr_lo & (1u << 14),
		.level = a->icr_lo & (1u << 15),
		.shorthand = (uint8_t)((a->icr_lo >> 18) & 3),
		.dest = (uint8_t)(a->icr_hi >> 24),
		.src = a->cpu,
	};
	if ((m.mode == APIC_DM_FIXED || m.mode == APIC_DM_LOWEST) && m.vector < 16) {
		record_error(a, ESR_SEND_ILLEGAL);
		return;
	}
	if (m.mode == APIC_DM_INIT && m.level && !m.assert)
		return; /* INIT level de-assert: only resynchronises arbitration IDs */
	vs_apic_deliver(a->chip, &m);
}

static void write_lvt(struct vs_lapic *a, int idx, uint32_t v)
{
	unsigned int old_mode = timer_mode(a);
	v &= lvt_writable[idx];
	if (!(a->svr & SVR_ENABLE))
		v |= LVT_MASKED;
	a->lvt[idx] = (a->lvt[idx] & ~lvt_writable[idx]) | v;
	if (idx == LVT_TIMER && old_mode != timer_mode(a) &&
	    (old_mode == TIMER_TSC_DEADLINE || timer_mode(a) == TIMER_TSC_DEADLINE)) {
		/* Switching to or from TSC-deadline mode disarms the timer. */
		a->timer_init = 0;
		a->tsc_deadline = 0;
		a->timer_next_ns = 0;
	}
	if (idx == LVT_LINT0 && a->cpu == 0 && a->lint0_level && vs_lapic_accepts_pic(a))
		vs_irqchip_kick_locked(a->chip, a->cpu);
}

static void write_dcr(struct vs_lapic *a, uint32_t v)
{
	uint64_t now = vs_now_ns();
	uint32_t cur = timer_current(a, now);
	bool running = a->timer_next_ns && timer_mode(a) != TIMER_TSC_DEADLINE;
	a->dcr = v & 0xb;
	if (!running)
		return;
	/* Keep the current count, run the rest at the new rate. */
	a->timer_start_ns = now - count_to_ns(a, a->timer_init - cur);
	timer_arm(a, a->timer_start_ns + timer_period_ns(a));
}

void vs_lapic_write_reg(struct vs_lapic *a, uint32_t offset, uint32_t v)
{
	uint32_t reg = offset & 0xff0;
	if (!vs_lapic_hw_enabled(a) || (offset & 0xf))
		return;
	if (reg >= REG_LVT0 && reg < REG_LVT0 + 0x10 * LVT_COUNT) {
		write_lvt(a, (int)((reg - REG_LVT0) >> 4), v);
		return;
	}
	switch (reg) {
	case REG_TPR:
		a->tpr = v & 0xff;
		break;
	case REG_EOI:
		eoi(a);
		break;
	case REG_LDR:
		a->ldr = v & 0xff000000u;
		break;
	case REG_DFR:
		a->dfr = (v & 0xf0000000u) | 0x0fffffffu;
		break;
	case REG_SVR:
		a->svr = v & SVR_WRITABLE;
		if (!(a->svr & SVR_ENABLE))
			for (int i = 0; i < LVT_COUNT; i++)
				a->lvt[i] |= LVT_MASKED;
		break;
	case REG_ESR:
		/* A write makes the errors seen since the last one readable. */
		a->esr = a->esr_pending;
		a->esr_pending = 0;
		break;
	case REG_ICR_LO:
		a->icr_lo = v & ICR_LO_WRITABLE;
		send_ipi(a);
		break;
	case REG_ICR_HI:
		a->icr_hi = v & 0xff000000u;
		break;
	case REG_TIMER_INIT:
		if (timer_mode(a) == TIMER_TSC_DEADLINE)
			break;
		a->timer_init = v;
		timer_start(a, vs_now_ns());
		break;
	case REG_TIMER_DCR:
		write_dcr(a, v);
		break;
	default: /* read-only or reserved */
		break;
	}
}

/* ---- MSRs and the timer thread ---- */

int vs_lapic_set_base(struct vs_lapic *a, uint64_t value)
{
	bool was = vs_lapic_hw_enabled(a);
	if (value & ~(APIC_BASE_ADDR_MASK | APIC_BASE_BSP | APIC_BASE_ENABLE))
		return -1; /* reserved bits, or x2APIC mode (not offered) */
	a->base_msr = value;
	if (was && !(value & APIC_BASE_ENABLE)) {
		/* Hardware disable: the LAPIC forgets its state. */
		reset_registers(a);
	}
	return 0;
}

void vs_lapic_set_tsc_deadline(struct vs_lapic *a, uint64_t tsc)
{
	if (!vs_lapic_hw_enabled(a) || timer_mode(a) != TIMER_TSC_DEADLINE)
		return; /* ignored outside TSC-deadline mode */
	a->tsc_deadline = tsc;
	if (!tsc) {
		a->timer_next_ns = 0;
		return;
	}
	/* +1 ns: the conversion rounds down, and the timer must not fire
	 * while the TSC still reads below the deadline. */
	timer_arm(a, vs_timebase_tsc_to_ns(a->chip->cfg.timebase, tsc) + 1);
}

uint64_t vs_lapic_tsc_deadline(const struct vs_lapic *a)
{
	return timer_mode(a) == TIMER_TSC_DEADLINE ? a->tsc_deadline : 0;
}

uint64_t vs_lapic_timer_poll(struct vs_lapic *a, uint64_t now)
{
	uint64_t period;
	if (!a->timer_next_ns)
		return UINT64_MAX;
	if (now < a->timer_next_ns)
		return a->timer_next_ns;
	switch (timer_mode(a)) {
	case TIMER_PERIODIC:
		period = timer_period_ns(a);
		a->timer_next_ns += period;
		if (a->timer_next_ns <= now) /* fell behind: skip, don't burst */
			a->timer_next_ns = now + period;
		break;
	case TIMER_TSC_DEADLINE:
		a->tsc_deadline = 0;
		a->timer_next_ns = 0;
		break;
	default:
		a->timer_next_ns = 0;
		break;
	}
	local_deliver(a, LVT_TIMER);
	return a->timer_next_ns ? a->timer_next_ns : UINT64_MAX;
}

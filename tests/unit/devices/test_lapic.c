/* Local APICs as Linux's apic.c and smpboot.c program them: reset state,
 * priorities, IPIs with every shorthand and destination mode, INIT/SIPI,
 * errors, and the timer in its three modes (awaited, never timed). */
#include <pthread.h>

#include "../tap.h"
#include "irqchip_rig.h"

#define EOI 0xb0
#define ICR_LO 0x300
#define ICR_HI 0x310
#define LVT_TIMER 0x320
#define LVT_ERROR 0x370
#define TIMER_INIT 0x380
#define TIMER_CUR 0x390
#define TIMER_DCR 0x3e0

#define SH_SELF (1u << 18)
#define SH_ALL (2u << 18)
#define SH_OTHERS (3u << 18)
#define DM_LOGICAL (1u << 11)

static void ipi(struct rig *r, int from, uint8_t dest, uint32_t lo)
{
	lapic_write(r, from, ICR_HI, (uint32_t)dest << 24);
	lapic_write(r, from, ICR_LO, lo);
}

static int setup(struct rig *r, int ncpus)
{
	if (rig_init(r, ncpus) < 0)
		return -1;
	for (int i = 0; i < ncpus; i++)
		lapic_enable(r, i);
	return 0;
}

TEST(reset_state)
{
	struct rig r;
	CHECK(rig_init(&r, 2) == 0);
	CHECK_EQ_U64(vs_irqchip_apic_base(r.chip, 0), 0xfee00900);
	CHECK_EQ_U64(vs_irqchip_apic_base(r.chip, 1), 0xfee00800);
	CHECK_EQ_U64(lapic_read(&r, 1, 0x20), 1u << 24);
	CHECK_EQ_U64(lapic_read(&r, 0, 0x30), 0x50014);
	CHECK_EQ_U64(lapic_read(&r, 0, 0xf0), 0xff);
	CHECK_EQ_U64(lapic_read(&r, 0, 0xe0), 0xffffffff);
	CHECK_EQ_U64(lapic_read(&r, 0, LVT_TIMER), 0x10000);
	CHECK_EQ_U64(lapic_read(&r, 1, 0x350), 0x10000);
	CHECK_EQ_U64(lapic_read(&r, 0, 0x350), 0x700);
	/* Read-only ID; odd sizes and offsets are nothing. */
	lapic_write(&r, 1, 0x20, 0x05000000);
	CHECK_EQ_U64(lapic_read(&r, 1, 0x20), 1u << 24);
	{
		uint8_t b[2] = { 0xaa, 0xbb };
		vs_irqchip_lapic_read(r.chip, 0, 0x30, b, 2);
		CHECK(b[0] == 0 && b[1] == 0);
		vs_irqchip_lapic_write(r.chip, 0, 0x80, b, 2);
		vs_irqchip_lapic_write(r.chip, 0, 0x82, b, 2);
		CHECK_EQ_U64(lapic_read(&r, 0, 0x80), 0);
		CHECK_EQ_U64(lapic_read(&r, 0, 0x84), 0);
		CHECK_EQ_U64(lapic_read(&r, 9, 0x30), 0); /* no such CPU */
	}
	/* No x2APIC, no reserved bits. */
	CHECK(vs_irqchip_set_apic_base(r.chip, 0, 0xfee00d00) == -1);
	CHECK(vs_irqchip_set_apic_base(r.chip, 0, 0xfee00901) == -1);
	CHECK_EQ_U64(vs_irqchip_apic_base(r.chip, 0), 0xfee00900);
	rig_fini(&r);
}

TEST(tpr_ppr_and_cr8)
{
	struct rig r;
	CHECK(setup(&r, 1) == 0);
	ipi(&r, 0, 0, SH_SELF | 0x50);
	CHECK_EQ_U64(vs_irqchip_pending(r.chip, 0), 0x50);
	lapic_write(&r, 0, 0x80, 0x50); /* same class: blocked */
	CHECK(vs_irqchip_pending(r.chip, 0) == -1);
	CHECK_EQ_U64(lapic_read(&r, 0, 0xa0), 0x50);
	CHECK_EQ_U64(vs_irqchip_cr8(r.chip, 0), 5);
	vs_irqchip_set_cr8(r.chip, 0, 4);
	CHECK_EQ_U64(lapic_read(&r, 0, 0x80), 0x40);
	CHECK_EQ_U64(vs_irqchip_pending(r.chip, 0), 0x50);
	CHECK_EQ_U64(vs_irqchip_ack(r.chip, 0), 0x50);
	/* In service: PPR is the ISR class. */
	CHECK_EQ_U64(lapic_read(&r, 0, 0xa0), 0x50);
	lapic_write(&r, 0, EOI, 0);
	CHECK_EQ_U64(lapic_read(&r, 0, 0xa0), 0x40);
	rig_fini(&r);
}

TEST(isr_nesting)
{
	struct rig r;
	CHECK(setup(&r, 1) == 0);
	ipi(&r, 0, 0, SH_SELF | 0x40);
	ipi(&r, 0, 0, SH_SELF | 0x80);
	CHECK_EQ_U64(lapic_read(&r, 0, 0x200 + 0x20), 1u);
	CHECK_EQ_U64(lapic_read(&r, 0, 0x200 + 0x40), 1u);
	CHECK_EQ_U64(vs_irqchip_ack(r.chip, 0), 0x80);
	CHECK(vs_irqchip_pending(r.chip, 0) == -1);
	ipi(&r, 0, 0, SH_SELF | 0x90);
	CHECK_EQ_U64(vs_irqchip_ack(r.chip, 0), 0x90);
	CHECK_EQ_U64(lapic_read(&r, 0, 0x100 + 0x40), 1u | 1u << 16);
	lapic_write(&r, 0, EOI, 0); /* ends 0x90 */
	CHECK_EQ_U64(lapic_read(&r, 0, 0x100 + 0x40), 1u);
	CHECK(vs_irqchip_pending(r.chip, 0) == -1);
	lapic_write(&r, 0, EOI, 0); /* ends 0x80 */
	CHECK_EQ_U64(vs_irqchip_ack(r.chip, 0), 0x40);
	lapic_write(&r, 0, EOI, 0);
	lapic_write(&r, 0, EOI, 0); /* a stray EOI is harmless */
	CHECK(vs_irqchip_ack(r.chip, 0) == -1);
	rig_fini(&r);
}

TEST(illegal_vectors_and_esr)
{
	struct rig r;
	CHECK(setup(&r, 2) == 0);
	lapic_write(&r, 0, LVT_ERROR, 0xfe);
	lapic_write(&r, 0, 0x280, 0);
	CHECK_EQ_U64(lapic_read(&r, 0, 0x280), 0);
	ipi(&r, 0, 1, 0x05); /* fixed vector 5: not sent */
	CHECK(vs_irqchip_pending(r.chip, 1) == -1);
	CHECK_EQ_U64(vs_irqchip_pending(r.chip, 0), 0xfe); /* the error LVT */
	CHECK_EQ_U64(lapic_read(&r, 0, 0x280), 0);	   /* not before a write */
	lapic_write(&r, 0, 0x280, 0);
	CHECK_EQ_U64(lapic_read(&r, 0, 0x280), 0x20);
	lapic_write(&r, 0, 0x280, 0);
	CHECK_EQ_U64(lapic_read(&r, 0, 0x280), 0);
	/* A timer LVT with vector 3: "receive illegal vector" when it fires,
	 * and an error LVT with an illegal vector does not loop. */
	lapic_write(&r, 0, LVT_ERROR, 0x02);
	lapic_write(&r, 0, TIMER_DCR, 0xb);
	lapic_write(&r, 0, LVT_TIMER, 0x03);
	lapic_write(&r, 0, TIMER_INIT, 1000);
	{
		uint64_t end = vs_now_ns() + RIG_WAIT_NS;
		uint32_t esr = 0;
		while (vs_now_ns() < end) {
			lapic_write(&r, 0, 0x280, 0);
			esr |= lapic_read(&r, 0, 0x280);
			if (esr & 0x40)
				break;
			rig_sleep_us(100);
		}
		CHECK(esr & 0x40);
	}
	rig_fini(&r);
}

TEST(ipi_shorthands_and_physical)
{
	struct rig r;
	int before[4];
	CHECK(setup(&r, 4) == 0);
	for (int i = 0; i < 4; i++)
		before[i] = rig_kicks(&r, i);
	ipi(&r, 1, 0, SH_ALL | 0x61);
	for (int i = 0; i < 4; i++) {
		CHECK_EQ_U64(vs_irqchip_ack(r.chip, i), 0x61);
		CHECK(rig_kicks(&r, i) > before[i]);
		lapic_write(&r, i, EOI, 0);
	}
	ipi(&r, 1, 0, SH_OTHERS | 0x62);
	CHECK(vs_irqchip_pending(r.chip, 1) == -1);
	CHECK_EQ_U64(vs_irqchip_ack(r.chip, 0), 0x62);
	CHECK_EQ_U64(vs_irqchip_ack(r.chip, 2), 0x62);
	CHECK_EQ_U64(vs_irqchip_ack(r.chip, 3), 0x62);
	for (int i = 0; i < 4; i++)
		lapic_write(&r, i, EOI, 0);
	ipi(&r, 2, 0, SH_SELF | 0x63);
	CHECK_EQ_U64(vs_irqchip_ack(r.chip, 2), 0x63);
	CHECK(vs_irqchip_pending(r.chip, 0) == -1);
	lapic_write(&r, 2, EOI, 0);
	ipi(&r, 0, 3, 0x64); /* physical destination 3 */
	CHECK_EQ_U64(vs_irqchip_ack(r.chip, 3), 0x64);
	for (int i = 0; i < 3; i++)
		CHECK(vs_irqchip_pending(r.chip, i) == -1);
	lapic_write(&r, 3, EOI, 0);
	ipi(&r, 0, 0xff, 0x65); /* physical broadcast */
	for (int i = 0; i < 4; i++)
		CHECK_EQ_U64(vs_irqchip_ack(r.chip, i), 0x65);
	CHECK_EQ_U64(lapic_read(&r, 0, ICR_LO), 0x65); /* delivery status idle */
	CHECK_EQ_U64(lapic_read(&r, 0, ICR_HI), 0xff000000);
	rig_fini(&r);
}

TEST(ipi_logical_flat_and_cluster)
{
	struct rig r;
	CHECK(setup(&r, 4) == 0);
	for (int i = 0; i < 4; i++)
		lapic_write(&r, i, 0xd0, (1u << i) << 24);
	CHECK_EQ_U64(lapic_read(&r, 2, 0xd0), 0x04000000);
	ipi(&r, 0, 0x0a, DM_LOGICAL | 0x71); /* CPUs 1 and 3 */
	CHECK(vs_irqchip_pending(r.chip, 0) == -1);
	CHECK_EQ_U64(vs_irqchip_ack(r.chip, 1), 0x71);
	CHECK(vs_irqchip_pending(r.chip, 2) == -1);
	CHECK_EQ_U64(vs_irqchip_ack(r.chip, 3), 0x71);
	lapic_write(&r, 1, EOI, 0);
	lapic_write(&r, 3, EOI, 0);

	/* Cluster model: clusters 1 (CPUs 0, 1) and 2 (CPUs 2, 3). */
	for (int i = 0; i < 4; i++) {
		lapic_write(&r, i, 0xe0, 0x0fffffff);
		lapic_write(&r, i, 0xd0, (uint32_t)(((1 + i / 2) << 4) | (1 << (i % 2))) << 24);
	}
	CHECK_EQ_U64(lapic_read(&r, 0, 0xe0), 0x0fffffff);
	ipi(&r, 0, 0x22, DM_LOGICAL | 0x72); /* cluster 2, member bit 1: CPU 3 */
	CHECK_EQ_U64(vs_irqchip_ack(r.chip, 3), 0x72);
	for (int i = 0; i < 3; i++)
		CHECK(vs_irqchip_pending(r.chip, i) == -1);
	lapic_write(&r, 3, EOI, 0);
	ipi(&r, 0, 0xf1, DM_LOGICAL | 0x73); /* every cluster, member bit 0 */
	CHECK_EQ_U64(vs_irqchip_ack(r.chip, 0), 0x73);
	CHECK_EQ_U64(vs_irqchip_ack(r.chip, 2), 0x73);
	CHECK(vs_irqchip_pending(r.chip, 1) == -1);
	CHECK(vs_irqchip_pending(r.chip, 3) == -1);
	rig_fini(&r);
}

TEST(lowest_priority_ipi)
{
	struct rig r;
	CHECK(setup(&r, 3) == 0);
	for (int i = 0; i < 3; i++)
		lapic_write(&r, i, 0xd0, (1u << i) << 24);
	lapic_write(&r, 0, 0x80, 0x30);
	lapic_write(&r, 1, 0x80, 0x10);
	lapic_write(&r, 2, 0x80, 0x20);
	ipi(&r, 0, 0x07, DM_LOGICAL | (1u << 8) | 0x74);
	CHECK_EQ_U64(vs_irqchip_pending(r.chip, 1), 0x74);
	CHECK(vs_irqchip_pending(r.chip, 0) == -1 && vs_irqchip_pending(r.chip, 2) == -1);
	rig_fini(&r);
}

TEST(init_and_sipi)
{
	struct rig r;
	uint8_t vec = 0;
	int kicks;
	CHECK(setup(&r, 2) == 0);
	CHECK(vs_irqchip_take_event(r.chip, 1, &vec) == VS_IRQCHIP_NONE);
	/* sync_Arb_IDs: an INIT level de-assert to all resets nobody. */
	ipi(&r, 0, 0, SH_ALL | 0x8500);
	CHECK(vs_irqchip_take_event(r.chip, 0, &vec) == VS_IRQCHIP_NONE);
	CHECK(vs_irqchip_take_event(r.chip, 1, &vec) == VS_IRQCHIP_NONE);
	CHECK_EQ_U64(lapic_read(&r, 1, 0xf0), 0x1ff);
	/* smpboot: ESR clear, INIT assert, INIT de-assert, two SIPIs. */
	lapic_write(&r, 0, 0x280, 0);
	kicks = rig_kicks(&r, 1);
	ipi(&r, 0, 1, 0xc500);
	CHECK(rig_kicks(&r, 1) > kicks);
	ipi(&r, 0, 1, 0x8500);
	ipi(&r, 0, 1, 0x0600 | 0x9a);
	ipi(&r, 0, 1, 0x0600 | 0x9b);
	lapic_write(&r, 0, 0x280, 0);
	CHECK_EQ_U64(lapic_read(&r, 0, 0x280) & 0xef, 0);
	CHECK(vs_irqchip_take_event(r.chip, 1, &vec) == VS_IRQCHIP_INIT);
	CHECK(vs_irqchip_take_event(r.chip, 1, &vec) == VS_IRQCHIP_SIPI);
	CHECK_EQ_U64(vec, 0x9a);
	CHECK(vs_irqchip_take_event(r.chip, 1, &vec) == VS_IRQCHIP_NONE); /* 2nd SIPI dropped */
	CHECK(vs_irqchip_take_event(r.chip, 0, &vec) == VS_IRQCHIP_NONE);
	/* INIT reset the AP's LAPIC: software-disabled again. */
	CHECK_EQ_U64(lapic_read(&r, 1, 0xf0), 0xff);
	/* A running CPU ignores SIPIs. */
	ipi(&r, 0, 1, 0x0600 | 0x10);
	CHECK(vs_irqchip_take_event(r.chip, 1, &vec) == VS_IRQCHIP_NONE);
	/* The BSP does not wait for a SIPI after INIT. */
	ipi(&r, 1, 0, 0xc500); /* from an AP: its LAPIC is disabled, but INIT still goes */
	CHECK(vs_irqchip_take_event(r.chip, 0, &vec) == VS_IRQCHIP_INIT);
	ipi(&r, 1, 0, 0x0608);
	CHECK(vs_irqchip_take_event(r.chip, 0, &vec) == VS_IRQCHIP_NONE);
	rig_fini(&r);
}

TEST(first_sipi_to_a_fresh_ap)
{
	struct rig r;
	uint8_t vec = 0;
	CHECK(setup(&r, 3) == 0);
	ipi(&r, 0, 0, SH_OTHERS | 0x0600 | 0x9f);
	CHECK(vs_irqchip_take_event(r.chip, 1, &vec) == VS_IRQCHIP_SIPI && vec == 0x9f);
	CHECK(vs_irqchip_take_event(r.chip, 2, &vec) == VS_IRQCHIP_SIPI && vec == 0x9f);
	CHECK(vs_irqchip_take_event(r.chip, 0, &vec) == VS_IRQCHIP_NONE);
	rig_fini(&r);
}

TEST(nmi_ipi)
{
	struct rig r;
	int kicks;
	CHECK(setup(&r, 2) == 0);
	kicks = rig_kicks(&r, 1);
	ipi(&r, 0, 1, 0x400);
	CHECK(rig_kicks(&r, 1) > kicks);
	CHECK(!vs_irqchip_take_nmi(r.chip, 0));
	CHECK(vs_irqchip_take_nmi(r.chip, 1));
	CHECK(!vs_irqchip_take_nmi(r.chip, 1));
	rig_fini(&r);
}

TEST(software_and_hardware_disable)
{
	struct rig r;
	CHECK(setup(&r, 2) == 0);
	lapic_write(&r, 1, 0xf0, 0xff); /* software-disable CPU 1 */
	ipi(&r, 0, 1, 0x50);
	CHECK(vs_irqchip_pending(r.chip, 1) == -1);
	lapic_write(&r, 1, LVT_TIMER, 0xef); /* cannot unmask while disabled */
	CHECK_EQ_U64(lapic_read(&r, 1, LVT_TIMER), 0x100ef);
	/* Disabling masks every LVT. */
	lapic_write(&r, 0, 0x360, 0x400);
	lapic_write(&r, 0, 0xf0, 0xff);
	CHECK_EQ_U64(lapic_read(&r, 0, 0x360), 0x10400);
	/* Hardware disable: registers vanish, re-enable starts from reset. */
	lapic_enable(&r, 1);
	lapic_write(&r, 1, 0x80, 0x20);
	CHECK(vs_irqchip_set_apic_base(r.chip, 1, 0xfee00000) == 0);
	CHECK_EQ_U64(lapic_read(&r, 1, 0x30), 0);
	ipi(&r, 0, 1, 0x0400);
	CHECK(!vs_irqchip_take_nmi(r.chip, 1));
	CHECK(vs_irqchip_set_apic_base(r.chip, 1, 0xfee00800) == 0);
	CHECK_EQ_U64(lapic_read(&r, 1, 0x80), 0);
	CHECK_EQ_U64(lapic_read(&r, 1, 0xf0), 0xff);
	rig_fini(&r);
}

TEST(timer_oneshot)
{
	struct rig r;
	int kicks;
	CHECK(setup(&r, 2) == 0);
	lapic_write(&r, 1, TIMER_DCR, 0xffffffff);
	CHECK_EQ_U64(lapic_read(&r, 1, TIMER_DCR), 0xb); /* divide by 1 */
	lapic_write(&r, 1, LVT_TIMER, 0xec);
	kicks = rig_kicks(&r, 1);
	lapic_write(&r, 1, TIMER_INIT, 1000000); /* 1 ms */
	CHECK_EQ_U64(lapic_read(&r, 1, TIMER_INIT), 1000000);
	CHECK(lapic_read(&r, 1, TIMER_CUR) <= 1000000);
	CHECK_EQ_U64(rig_wait_pending(&r, 1), 0xec);
	CHECK(rig_kicks(&r, 1) > kicks);
	CHECK_EQ_U64(lapic_read(&r, 1, TIMER_CUR), 0);
	CHECK_EQ_U64(vs_irqchip_ack(r.chip, 1), 0xec);
	lapic_write(&r, 1, EOI, 0);
	CHECK(vs_irqchip_pending(r.chip, 0) == -1);
	/* Masked: counts down, delivers nothing. */
	lapic_write(&r, 1, LVT_TIMER, 0x100ec);
	lapic_write(&r, 1, TIMER_INIT, 1000);
	{
		uint64_t end = vs_now_ns() + RIG_WAIT_NS;
		while (lapic_read(&r, 1, TIMER_CUR) != 0 && vs_now_ns() < end)
			rig_sleep_us(100);
	}
	CHECK_EQ_U64(lapic_read(&r, 1, TIMER_CUR), 0);
	rig_sleep_us(1000);
	CHECK(vs_irqchip_pending(r.chip, 1) == -1);
	rig_fini(&r);
}

TEST(timer_periodic)
{
	struct rig r;
	CHECK(setup(&r, 1) == 0);
	lapic_write(&r, 0, TIMER_DCR, 0x3); /* divide by 16, as Linux */
	lapic_write(&r, 0, LVT_TIMER, (1u << 17) | 0xec);
	lapic_write(&r, 0, TIMER_INIT, 12500); /* 200 us */
	for (int i = 0; i < 3; i++) {
		CHECK_EQ_U64(rig_wait_pending(&r, 0), 0xec);
		CHECK_EQ_U64(vs_irqchip_ack(r.chip, 0), 0xec);
		lapic_write(&r, 0, EOI, 0);
	}
	CHECK(lapic_read(&r, 0, TIMER_CUR) <= 12500);
	CHECK(lapic_read(&r, 0, TIMER_CUR) > 0);
	lapic_write(&r, 0, TIMER_INIT, 0); /* stop */
	CHECK_EQ_U64(lapic_read(&r, 0, TIMER_CUR), 0);
	rig_fini(&r);
}

TEST(timer_tsc_deadline)
{
	struct rig r;
	uint64_t tsc;
	CHECK(setup(&r, 1) == 0);
	/* Outside TSC-deadline mode the MSR is ignored. */
	vs_irqchip_set_tsc_deadline(r.chip, 0, 12345);
	CHECK_EQ_U64(vs_irqchip_tsc_deadline(r.chip, 0), 0);
	lapic_write(&r, 0, LVT_TIMER, (2u << 17) | 0xed);
	lapic_write(&r, 0, TIMER_INIT, 1000); /* ignored in this mode */
	CHECK_EQ_U64(lapic_read(&r, 0, TIMER_INIT), 0);
	tsc = vs_timebase_tsc(&r.tb) + VS_TSC_HZ / 1000; /* 1 ms ahead */
	vs_irqchip_set_tsc_deadline(r.chip, 0, tsc);
	CHECK(vs_irqchip_tsc_deadline(r.chip, 0) == tsc || vs_irqchip_pending(r.chip, 0) == 0xed);
	CHECK_EQ_U64(rig_wait_pending(&r, 0), 0xed);
	CHECK_EQ_U64(vs_irqchip_tsc_deadline(r.chip, 0), 0);
	CHECK(vs_timebase_tsc(&r.tb) >= tsc);
	CHECK_EQ_U64(vs_irqchip_ack(r.chip, 0), 0xed);
	lapic_write(&r, 0, EOI, 0);
	/* A deadline in the past fires at once. */
	vs_irqchip_set_tsc_deadline(r.chip, 0, 1);
	CHECK_EQ_U64(vs_irqchip_pending(r.chip, 0), 0xed);
	/* Leaving the mode disarms. */
	vs_irqchip_ack(r.chip, 0);
	lapic_write(&r, 0, EOI, 0);
	vs_irqchip_set_tsc_deadline(r.chip, 0, vs_timebase_tsc(&r.tb) + VS_TSC_HZ);
	lapic_write(&r, 0, LVT_TIMER, 0xed);
	CHECK_EQ_U64(vs_irqchip_tsc_deadline(r.chip, 0), 0);
	rig_fini(&r);
}

TEST(level_ipi_eoi_reaches_ioapic)
{
	struct rig r;
	CHECK(setup(&r, 1) == 0);
	ioapic_route(&r, 10, (1u << 15) | 0x51, 0);
	vs_irqchip_set_irq(r.chip, 10, 1);
	CHECK_EQ_U64(vs_irqchip_ack(r.chip, 0), 0x51);
	/* A higher, edge IPI nests; its EOI must not end the level one. */
	ipi(&r, 0, 0, SH_SELF | 0x91);
	CHECK_EQ_U64(vs_irqchip_ack(r.chip, 0), 0x91);
	lapic_write(&r, 0, EOI, 0);
	CHECK(ioapic_read(&r, 0x10 + 20) & (1u << 14));
	vs_irqchip_set_irq(r.chip, 10, 0);
	lapic_write(&r, 0, EOI, 0);
	CHECK(!(ioapic_read(&r, 0x10 + 20) & (1u << 14)));
	rig_fini(&r);
}

struct pinger {
	struct rig *r;
	int cpu;
	int sent, received;
};

/* One vCPU thread: IPI the other CPU, take what arrived, EOI it. */
static void *pinger_main(void *arg)
{
	struct pinger *p = arg;
	int v;
	for (int i = 0; i < 20000; i++) {
		ipi(p->r, p->cpu, (uint8_t)(1 - p->cpu), 0x80);
		p->sent++;
		while ((v = vs_irqchip_ack(p->r->chip, p->cpu)) >= 0) {
			if (v == 0x80)
				p->received++;
			lapic_write(p->r, p->cpu, EOI, 0);
		}
	}
	return NULL;
}

TEST(concurrent_ipis_and_timers)
{
	struct rig r;
	struct pinger p[2];
	pthread_t t[2];
	int v;
	CHECK(setup(&r, 2) == 0);
	for (int i = 0; i < 2; i++) {
		/* Both timers periodic at the fastest rate the chip allows. */
		lapic_write(&r, i, TIMER_DCR, 0xb);
		lapic_write(&r, i, LVT_TIMER, (1u << 17) | 0xe0);
		lapic_write(&r, i, TIMER_INIT, 1000);
		p[i] = (struct pinger){ .r = &r, .cpu = i };
		CHECK(pthread_create(&t[i], NULL, pinger_main, &p[i]) == 0);
	}
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	for (int i = 0; i < 2; i++) {
		lapic_write(&r, i, TIMER_INIT, 0);
		while ((v = vs_irqchip_ack(r.chip, i)) >= 0) {
			if (v == 0x80)
				p[i].received++;
			lapic_write(&r, i, EOI, 0);
		}
	}
	/* IPIs of one vector merge in IRR: at least one got through, never
	 * more than were sent. */
	for (int i = 0; i < 2; i++) {
		CHECK(p[1 - i].received > 0);
		CHECK(p[1 - i].received <= p[i].sent);
	}
	rig_fini(&r);
}

VS_TAP_MAIN(TAP_CASE(reset_state), TAP_CASE(tpr_ppr_and_cr8), TAP_CASE(isr_nesting),
	    TAP_CASE(illegal_vectors_and_esr), TAP_CASE(ipi_shorthands_and_physical),
	    TAP_CASE(ipi_logical_flat_and_cluster), TAP_CASE(lowest_priority_ipi), TAP_CASE(init_and_sipi),
	    TAP_CASE(first_sipi_to_a_fresh_ap), TAP_CASE(nmi_ipi), TAP_CASE(software_and_hardware_disable),
	    TAP_CASE(timer_oneshot), TAP_CASE(timer_periodic), TAP_CASE(timer_tsc_deadline),
	    TAP_CASE(level_ipi_eoi_reaches_ioapic), TAP_CASE(concurrent_ipis_and_timers))

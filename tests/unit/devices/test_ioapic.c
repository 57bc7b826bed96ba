/* The I/O APIC as Linux's io_apic.c programs it: redirection entries,
 * edge and level pins, remote IRR and the LAPIC EOI broadcast, masking,
 * destinations and delivery modes. */
#include "../tap.h"
#include "irqchip_rig.h"

#define RTE_LEVEL (1u << 15)
#define RTE_MASKED (1u << 16)
#define RTE_REMOTE_IRR (1u << 14)
#define RTE_LOGICAL (1u << 11)
#define RTE_LOWEST (1u << 8)
#define RTE_NMI (4u << 8)

static int setup(struct rig *r, int ncpus)
{
	if (rig_init(r, ncpus) < 0)
		return -1;
	for (int i = 0; i < ncpus; i++)
		lapic_enable(r, i);
	return 0;
}

TEST(identification_and_reset_state)
{
	struct rig r;
	CHECK(setup(&r, 2) == 0);
	CHECK_EQ_U64(ioapic_read(&r, 0x01), 0x170011);
	CHECK_EQ_U64(ioapic_read(&r, 0x00), 2u << 24); /* after the CPUs' IDs */
	ioapic_write(&r, 0x00, 0x05000000);
	CHECK_EQ_U64(ioapic_read(&r, 0x00), 5u << 24);
	CHECK_EQ_U64(ioapic_read(&r, 0x02), 5u << 24);
	ioapic_write(&r, 0x01, 0);
	CHECK_EQ_U64(ioapic_read(&r, 0x01), 0x170011); /* read-only */
	for (unsigned int pin = 0; pin < 24; pin++)
		CHECK_EQ_U64(ioapic_read(&r, 0x10 + 2 * pin), RTE_MASKED);
	CHECK_EQ_U64(ioapic_read(&r, 0x40), 0); /* past the table */
	mmio_write32(&r, VS_IOAPIC_ADDR, 0x13);
	CHECK_EQ_U64(mmio_read32(&r, VS_IOAPIC_ADDR), 0x13);
	/* Read-only bits of an entry stay clear; reserved high bits too. */
	ioapic_write(&r, 0x12, 0xffffffff);
	ioapic_write(&r, 0x13, 0xffffffff);
	CHECK_EQ_U64(ioapic_read(&r, 0x12), 0x1afff);
	CHECK_EQ_U64(ioapic_read(&r, 0x13), 0xff000000);
	rig_fini(&r);
}

TEST(edge_pin_to_physical_destination)
{
	struct rig r;
	int kicks0, kicks1;
	CHECK(setup(&r, 2) == 0);
	ioapic_route(&r, 4, 0x41, 1);
	kicks0 = rig_kicks(&r, 0);
	kicks1 = rig_kicks(&r, 1);
	vs_irqchip_set_irq(r.chip, 4, 1);
	CHECK(rig_kicks(&r, 1) > kicks1);
	CHECK(rig_kicks(&r, 0) == kicks0);
	CHECK(vs_irqchip_pending(r.chip, 0) == -1);
	CHECK_EQ_U64(vs_irqchip_ack(r.chip, 1), 0x41);
	CHECK_EQ_U64(lapic_read(&r, 1, 0x100 + 0x20), 1u << 1); /* ISR bit 0x41 */
	CHECK_EQ_U64(lapic_read(&r, 1, 0x180 + 0x20), 0);	/* TMR: edge */
	lapic_write(&r, 1, 0xb0, 0);
	/* Held high: no new edge. */
	vs_irqchip_set_irq(r.chip, 4, 1);
	CHECK(vs_irqchip_pending(r.chip, 1) == -1);
	vs_irqchip_set_irq(r.chip, 4, 0);
	vs_irqchip_set_irq(r.chip, 4, 1);
	CHECK_EQ_U64(vs_irqchip_pending(r.chip, 1), 0x41);
	rig_fini(&r);
}

TEST(level_pin_remote_irr_and_eoi)
{
	struct rig r;
	CHECK(setup(&r, 2) == 0);
	ioapic_route(&r, 10, RTE_LEVEL | 0x51, 0);
	vs_irqchip_set_irq(r.chip, 10, 1);
	CHECK(ioapic_read(&r, 0x10 + 20) & RTE_REMOTE_IRR);
	CHECK_EQ_U64(vs_irqchip_ack(r.chip, 0), 0x51);
	CHECK_EQ_U64(lapic_read(&r, 0, 0x180 + 0x20), 1u << 0x11); /* TMR bit 0x51 */
	/* Waiting for the EOI: a new edge of the line does nothing. */
	vs_irqchip_set_irq(r.chip, 10, 0);
	vs_irqchip_set_irq(r.chip, 10, 1);
	CHECK(vs_irqchip_pending(r.chip, 0) == -1);
	/* EOI while still asserted: delivered again. */
	lapic_write(&r, 0, 0xb0, 0);
	CHECK_EQ_U64(vs_irqchip_pending(r.chip, 0), 0x51);
	CHECK(ioapic_read(&r, 0x10 + 20) & RTE_REMOTE_IRR);
	CHECK_EQ_U64(vs_irqchip_ack(r.chip, 0), 0x51);
	vs_irqchip_set_irq(r.chip, 10, 0);
	lapic_write(&r, 0, 0xb0, 0);
	CHECK(!(ioapic_read(&r, 0x10 + 20) & RTE_REMOTE_IRR));
	CHECK(vs_irqchip_pending(r.chip, 0) == -1);
	rig_fini(&r);
}

TEST(edge_mode_switch_clears_remote_irr)
{
	struct rig r;
	CHECK(setup(&r, 1) == 0);
	ioapic_route(&r, 9, RTE_LEVEL | 0x61, 0);
	vs_irqchip_set_irq(r.chip, 9, 1);
	CHECK(ioapic_read(&r, 0x10 + 18) & RTE_REMOTE_IRR);
	/* Linux's EOI for I/O APICs without an EOI register: flip to edge
	 * and back. */
	ioapic_write(&r, 0x10 + 18, RTE_MASKED | 0x61);
	CHECK(!(ioapic_read(&r, 0x10 + 18) & RTE_REMOTE_IRR));
	CHECK_EQ_U64(vs_irqchip_ack(r.chip, 0), 0x61);
	/* Back to level and unmasked while asserted: delivered. */
	ioapic_write(&r, 0x10 + 18, RTE_LEVEL | 0x61);
	CHECK(ioapic_read(&r, 0x10 + 18) & RTE_REMOTE_IRR);
	rig_fini(&r);
}

TEST(masking)
{
	struct rig r;
	CHECK(setup(&r, 1) == 0);
	ioapic_route(&r, 5, RTE_MASKED | 0x45, 0);
	vs_irqchip_set_irq(r.chip, 5, 1);
	vs_irqchip_set_irq(r.chip, 5, 0);
	ioapic_route(&r, 5, 0x45, 0);
	CHECK(vs_irqchip_pending(r.chip, 0) == -1); /* a masked edge is lost */
	ioapic_route(&r, 6, RTE_MASKED | RTE_LEVEL | 0x46, 0);
	vs_irqchip_set_irq(r.chip, 6, 1);
	CHECK(vs_irqchip_pending(r.chip, 0) == -1);
	ioapic_route(&r, 6, RTE_LEVEL | 0x46, 0); /* a held level is not */
	CHECK_EQ_U64(vs_irqchip_pending(r.chip, 0), 0x46);
	/* GSIs beyond the 24 pins are ignored. */
	vs_irqchip_set_irq(r.chip, 24, 1);
	vs_irqchip_set_irq(r.chip, 0xffffffff, 1);
	rig_fini(&r);
}

TEST(logical_flat_and_lowest_priority)
{
	struct rig r;
	CHECK(setup(&r, 2) == 0);
	for (int i = 0; i < 2; i++) {
		lapic_write(&r, i, 0xe0, 0xffffffff);	   /* flat */
		lapic_write(&r, i, 0xd0, (1u << i) << 24); /* Linux's flat LDR */
	}
	ioapic_route(&r, 3, RTE_LOGICAL | 0x43, 0x02);
	vs_irqchip_set_irq(r.chip, 3, 1);
	CHECK(vs_irqchip_pending(r.chip, 0) == -1);
	CHECK_EQ_U64(vs_irqchip_ack(r.chip, 1), 0x43);
	lapic_write(&r, 1, 0xb0, 0);

	ioapic_route(&r, 7, RTE_LOGICAL | 0x47, 0x03);
	vs_irqchip_set_irq(r.chip, 7, 1);
	CHECK_EQ_U64(vs_irqchip_pending(r.chip, 0), 0x47);
	CHECK_EQ_U64(vs_irqchip_pending(r.chip, 1), 0x47);

	/* Lowest priority: the CPU with the lower TPR takes it, alone. */
	vs_irqchip_set_cr8(r.chip, 0, 2);
	ioapic_route(&r, 8, RTE_LOGICAL | RTE_LOWEST | 0x58, 0x03);
	vs_irqchip_set_irq(r.chip, 8, 1);
	CHECK_EQ_U64(vs_irqchip_ack(r.chip, 1), 0x58);
	CHECK((lapic_read(&r, 0, 0x200 + 0x20) & (1u << (0x58 - 0x40))) == 0); /* not in CPU 0's IRR */
	rig_fini(&r);
}

TEST(nmi_delivery_mode)
{
	struct rig r;
	CHECK(setup(&r, 2) == 0);
	ioapic_route(&r, 11, RTE_NMI, 1);
	vs_irqchip_set_irq(r.chip, 11, 1);
	CHECK(!vs_irqchip_take_nmi(r.chip, 0));
	CHECK(vs_irqchip_take_nmi(r.chip, 1));
	CHECK(!vs_irqchip_take_nmi(r.chip, 1));
	rig_fini(&r);
}

TEST(disabled_lapic_does_not_accept)
{
	struct rig r;
	CHECK(rig_init(&r, 1) == 0); /* LAPIC still software-disabled */
	ioapic_route(&r, 10, RTE_LEVEL | 0x51, 0);
	vs_irqchip_set_irq(r.chip, 10, 1);
	CHECK(vs_irqchip_pending(r.chip, 0) == -1);
	CHECK(!(ioapic_read(&r, 0x10 + 20) & RTE_REMOTE_IRR));
	rig_fini(&r);
}

VS_TAP_MAIN(TAP_CASE(identification_and_reset_state), TAP_CASE(edge_pin_to_physical_destination),
	    TAP_CASE(level_pin_remote_irr_and_eoi), TAP_CASE(edge_mode_switch_clears_remote_irr),
	    TAP_CASE(masking), TAP_CASE(logical_flat_and_lowest_priority), TAP_CASE(nmi_delivery_mode),
	    TAP_CASE(disabled_lapic_does_not_accept))

/* vs_irqchip_send_msi: PCI MSI/MSI-X messages decoded as the LAPIC bus
 * sees them (physical and logical destinations, the redirection hint,
 * delivery modes, addresses outside the interrupt range). */
#include "../tap.h"
#include "irqchip_rig.h"

#define EOI 0xb0
#define TPR 0x80
#define LDR 0xd0

static uint64_t msi_addr(uint8_t dest, bool logical, bool rh)
{
	return 0xfee00000ull | (uint64_t)dest << 12 | (logical ? 4 : 0) | (rh ? 8 : 0);
}

static int setup(struct rig *r, int ncpus)
{
	if (rig_init(r, ncpus) < 0)
		return -1;
	for (int i = 0; i < ncpus; i++) {
		lapic_enable(r, i);
		lapic_write(r, i, LDR, (1u << i) << 24); /* flat model, one bit each */
	}
	return 0;
}

TEST(physical_fixed)
{
	struct rig r;
	int kicks;
	CHECK(setup(&r, 4) == 0);
	kicks = rig_kicks(&r, 2);
	CHECK_EQ(vs_irqchip_send_msi(r.chip, msi_addr(2, false, false), 0x41), 1);
	CHECK(rig_kicks(&r, 2) > kicks);
	CHECK_EQ(vs_irqchip_pending(r.chip, 2), 0x41);
	for (int i = 0; i < 4; i++)
		if (i != 2)
			CHECK_EQ(vs_irqchip_pending(r.chip, i), -1);
	CHECK_EQ(vs_irqchip_ack(r.chip, 2), 0x41);
	lapic_write(&r, 2, EOI, 0);
	/* 0xff is a physical broadcast. */
	CHECK_EQ(vs_irqchip_send_msi(r.chip, msi_addr(0xff, false, false), 0x42), 4);
	for (int i = 0; i < 4; i++)
		CHECK_EQ(vs_irqchip_ack(r.chip, i), 0x42);
	/* No such APIC ID. */
	CHECK_EQ(vs_irqchip_send_msi(r.chip, msi_addr(9, false, false), 0x43), 0);
	rig_fini(&r);
}

TEST(logical_and_redirection_hint)
{
	struct rig r;
	CHECK(setup(&r, 3) == 0);
	/* Logical 0b110: CPUs 1 and 2 both take it. */
	CHECK_EQ(vs_irqchip_send_msi(r.chip, msi_addr(0x06, true, false), 0x51), 2);
	CHECK_EQ(vs_irqchip_pending(r.chip, 0), -1);
	CHECK_EQ(vs_irqchip_ack(r.chip, 1), 0x51);
	CHECK_EQ(vs_irqchip_ack(r.chip, 2), 0x51);
	lapic_write(&r, 1, EOI, 0);
	lapic_write(&r, 2, EOI, 0);
	/* With the hint, only the lowest-priority one of them does. */
	lapic_write(&r, 1, TPR, 0x30);
	lapic_write(&r, 2, TPR, 0x10);
	CHECK_EQ(vs_irqchip_send_msi(r.chip, msi_addr(0x06, true, true), 0x52), 1);
	CHECK_EQ(vs_irqchip_pending(r.chip, 2), 0x52);
	CHECK_EQ(vs_irqchip_pending(r.chip, 1), -1);
	/* Delivery mode 1 in the data is lowest priority too. */
	CHECK_EQ(vs_irqchip_send_msi(r.chip, msi_addr(0x03, true, false), (1u << 8) | 0x53), 1);
	CHECK_EQ(vs_irqchip_pending(r.chip, 0), 0x53); /* TPR 0 beats CPU 1's 0x30 */
	rig_fini(&r);
}

TEST(modes_and_bad_addresses)
{
	struct rig r;
	CHECK(setup(&r, 2) == 0);
	/* NMI */
	CHECK_EQ(vs_irqchip_send_msi(r.chip, msi_addr(1, false, false), 4u << 8), 1);
	CHECK(vs_irqchip_take_nmi(r.chip, 1));
	CHECK(!vs_irqchip_take_nmi(r.chip, 0));
	/* SMI, INIT, SIPI, ExtINT and reserved modes are not for devices. */
	for (uint32_t mode = 2; mode < 8; mode++)
		if (mode != 4)
			CHECK_EQ(vs_irqchip_send_msi(r.chip, msi_addr(0, false, false), mode << 8 | 0x60), 0);
	CHECK_EQ(vs_irqchip_pending(r.chip, 0), -1);
	CHECK_EQ(vs_irqchip_take_event(r.chip, 0, &(uint8_t){ 0 }), VS_IRQCHIP_NONE);
	/* Outside 0xfee00000-0xfeefffff: a DMA write, not an interrupt. */
	CHECK_EQ(vs_irqchip_send_msi(r.chip, 0xfed00000ull, 0x61), 0);
	CHECK_EQ(vs_irqchip_send_msi(r.chip, 0x1fee00000ull, 0x61), 0);
	CHECK_EQ(vs_irqchip_pending(r.chip, 0), -1);
	rig_fini(&r);
}

VS_TAP_MAIN(TAP_CASE(physical_fixed), TAP_CASE(logical_and_redirection_hint),
	    TAP_CASE(modes_and_bad_addresses))

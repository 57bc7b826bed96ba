/* The 8259A pair as Linux's i8259.c programs it, seen from the CPU side
 * through vs_irqchip_pending/ack. */
#include "../tap.h"
#include "irqchip_rig.h"

#define MASTER_CMD 0x20
#define MASTER_IMR 0x21
#define SLAVE_CMD 0xa0
#define SLAVE_IMR 0xa1

static uint8_t read_isr(struct rig *r, uint16_t cmd)
{
	uint8_t v;
	outb(r, cmd, 0x0b);
	v = inb(r, cmd);
	outb(r, cmd, 0x0a);
	return v;
}

TEST(edge_irq_ack_and_specific_eoi)
{
	struct rig r;
	int kicks;
	CHECK(rig_init(&r, 1) == 0);
	pic_init_linux(&r, false);
	CHECK(inb(&r, MASTER_IMR) == 0xfb);
	outb(&r, MASTER_IMR, 0xf9); /* unmask IRQ 1 */
	CHECK(vs_irqchip_pending(r.chip, 0) == -1);

	kicks = rig_kicks(&r, 0);
	vs_irqchip_set_irq(r.chip, 1, 1);
	CHECK(rig_kicks(&r, 0) > kicks);
	CHECK(inb(&r, MASTER_CMD) == 0x02); /* OCW3 default: IRR */
	CHECK_EQ_U64(vs_irqchip_pending(r.chip, 0), 0x31);
	CHECK_EQ_U64(vs_irqchip_ack(r.chip, 0), 0x31);
	CHECK(vs_irqchip_pending(r.chip, 0) == -1);
	CHECK(read_isr(&r, MASTER_CMD) == 0x02);
	CHECK(inb(&r, MASTER_CMD) == 0x00); /* edge: IRR cleared by the INTA */

	/* Line still high: no new edge after the EOI. */
	outb(&r, MASTER_CMD, 0x61); /* specific EOI, IR1 */
	CHECK(read_isr(&r, MASTER_CMD) == 0x00);
	CHECK(vs_irqchip_pending(r.chip, 0) == -1);
	vs_irqchip_set_irq(r.chip, 1, 0);
	vs_irqchip_set_irq(r.chip, 1, 1);
	CHECK_EQ_U64(vs_irqchip_pending(r.chip, 0), 0x31);
	rig_fini(&r);
}

TEST(priority_and_nesting)
{
	struct rig r;
	CHECK(rig_init(&r, 1) == 0);
	pic_init_linux(&r, false);
	outb(&r, MASTER_IMR, 0x00);
	vs_irqchip_set_irq(r.chip, 3, 1);
	vs_irqchip_set_irq(r.chip, 5, 1);
	CHECK_EQ_U64(vs_irqchip_ack(r.chip, 0), 0x33);
	/* IR5 ranks below IR3 in service. */
	CHECK(vs_irqchip_pending(r.chip, 0) == -1);
	/* IR1 ranks above: it nests. */
	vs_irqchip_set_irq(r.chip, 1, 1);
	CHECK_EQ_U64(vs_irqchip_ack(r.chip, 0), 0x31);
	CHECK(read_isr(&r, MASTER_CMD) == 0x0a);
	outb(&r, MASTER_CMD, 0x20); /* non-specific EOI ends the highest: IR1 */
	CHECK(read_isr(&r, MASTER_CMD) == 0x08);
	CHECK(vs_irqchip_pending(r.chip, 0) == -1);
	outb(&r, MASTER_CMD, 0x20);
	CHECK_EQ_U64(vs_irqchip_ack(r.chip, 0), 0x35);
	rig_fini(&r);
}

TEST(cascade_through_ir2)
{
	struct rig r;
	CHECK(rig_init(&r, 1) == 0);
	pic_init_linux(&r, false);
	outb(&r, SLAVE_IMR, 0xef); /* IRQ 12 */
	vs_irqchip_set_irq(r.chip, 12, 1);
	CHECK_EQ_U64(vs_irqchip_pending(r.chip, 0), 0x3c);
	CHECK_EQ_U64(vs_irqchip_ack(r.chip, 0), 0x3c);
	CHECK(read_isr(&r, MASTER_CMD) == 0x04);
	CHECK(read_isr(&r, SLAVE_CMD) == 0x10);
	/* Linux's order: slave then master, specific EOIs. */
	outb(&r, SLAVE_CMD, 0x64);
	outb(&r, MASTER_CMD, 0x62);
	CHECK(read_isr(&r, MASTER_CMD) == 0 && read_isr(&r, SLAVE_CMD) == 0);
	CHECK(vs_irqchip_pending(r.chip, 0) == -1);

	/* A slave IRQ while the master has IR1 in service still ranks by IR2. */
	outb(&r, MASTER_IMR, 0xf9);
	vs_irqchip_set_irq(r.chip, 1, 1);
	CHECK_EQ_U64(vs_irqchip_ack(r.chip, 0), 0x31);
	vs_irqchip_set_irq(r.chip, 12, 0);
	vs_irqchip_set_irq(r.chip, 12, 1);
	CHECK(vs_irqchip_pending(r.chip, 0) == -1);
	outb(&r, MASTER_CMD, 0x61);
	CHECK_EQ_U64(vs_irqchip_ack(r.chip, 0), 0x3c);
	rig_fini(&r);
}

TEST(auto_eoi)
{
	struct rig r;
	CHECK(rig_init(&r, 1) == 0);
	pic_init_linux(&r, true);
	outb(&r, MASTER_IMR, 0xf0);
	vs_irqchip_set_irq(r.chip, 3, 1);
	CHECK_EQ_U64(vs_irqchip_ack(r.chip, 0), 0x33);
	CHECK(read_isr(&r, MASTER_CMD) == 0x00);
	/* Nothing in service, so a lower IRQ gets through at once. */
	vs_irqchip_set_irq(r.chip, 0, 1);
	vs_irqchip_set_irq(r.chip, 3, 0);
	vs_irqchip_set_irq(r.chip, 3, 1);
	CHECK_EQ_U64(vs_irqchip_ack(r.chip, 0), 0x30);
	CHECK_EQ_U64(vs_irqchip_ack(r.chip, 0), 0x33);
	CHECK(vs_irqchip_ack(r.chip, 0) == -1);
	rig_fini(&r);
}

TEST(level_triggered_through_elcr)
{
	struct rig r;
	CHECK(rig_init(&r, 1) == 0);
	pic_init_linux(&r, false);
	outb(&r, 0x4d0, 0xff);
	CHECK(inb(&r, 0x4d0) == 0xf8); /* IRQ 0-2 are edge only */
	outb(&r, 0x4d0, 0x00);
	outb(&r, 0x4d1, 0xff);
	CHECK(inb(&r, 0x4d1) == 0xde); /* IRQ 8 and 13 too */
	outb(&r, 0x4d1, 0x02);	       /* IRQ 9 (the SCI) level */
	outb(&r, SLAVE_IMR, 0xfd);

	vs_irqchip_set_irq(r.chip, 9, 1);
	CHECK_EQ_U64(vs_irqchip_ack(r.chip, 0), 0x39);
	outb(&r, SLAVE_CMD, 0x20);
	outb(&r, MASTER_CMD, 0x20);
	/* Still asserted: requested again. */
	CHECK_EQ_U64(vs_irqchip_pending(r.chip, 0), 0x39);
	vs_irqchip_set_irq(r.chip, 9, 0);
	CHECK(vs_irqchip_pending(r.chip, 0) == -1);
	CHECK(vs_irqchip_ack(r.chip, 0) == -1);
	rig_fini(&r);
}

TEST(masking_keeps_the_request)
{
	struct rig r;
	CHECK(rig_init(&r, 1) == 0);
	pic_init_linux(&r, false);
	vs_irqchip_set_irq(r.chip, 4, 1);
	vs_irqchip_set_irq(r.chip, 4, 0);
	CHECK(vs_irqchip_pending(r.chip, 0) == -1);
	CHECK(inb(&r, MASTER_CMD) == 0x10);
	outb(&r, MASTER_IMR, 0xeb);
	CHECK_EQ_U64(vs_irqchip_ack(r.chip, 0), 0x34);
	rig_fini(&r);
}

TEST(poll_mode)
{
	struct rig r;
	CHECK(rig_init(&r, 1) == 0);
	pic_init_linux(&r, false);
	outb(&r, MASTER_IMR, 0x00);
	outb(&r, MASTER_CMD, 0x0c);
	CHECK(inb(&r, MASTER_CMD) == 0x00);
	vs_irqchip_set_irq(r.chip, 6, 1);
	outb(&r, MASTER_CMD, 0x0c);
	CHECK(inb(&r, MASTER_CMD) == 0x86);
	CHECK(read_isr(&r, MASTER_CMD) == 0x40);
	CHECK(vs_irqchip_pending(r.chip, 0) == -1);
	rig_fini(&r);
}

TEST(rotation)
{
	struct rig r;
	CHECK(rig_init(&r, 1) == 0);
	pic_init_linux(&r, false);
	outb(&r, MASTER_IMR, 0x00);
	outb(&r, MASTER_CMD, 0xc3); /* IR3 lowest: IR4 highest */
	vs_irqchip_set_irq(r.chip, 1, 1);
	vs_irqchip_set_irq(r.chip, 5, 1);
	CHECK_EQ_U64(vs_irqchip_ack(r.chip, 0), 0x35);
	outb(&r, MASTER_CMD, 0xa0); /* rotate on non-specific EOI: IR5 lowest */
	CHECK(read_isr(&r, MASTER_CMD) == 0);
	vs_irqchip_set_irq(r.chip, 5, 0);
	vs_irqchip_set_irq(r.chip, 5, 1);
	CHECK_EQ_U64(vs_irqchip_ack(r.chip, 0), 0x31);
	rig_fini(&r);
}

TEST(special_mask_mode)
{
	struct rig r;
	CHECK(rig_init(&r, 1) == 0);
	pic_init_linux(&r, false);
	outb(&r, MASTER_IMR, 0x00);
	vs_irqchip_set_irq(r.chip, 1, 1);
	CHECK_EQ_U64(vs_irqchip_ack(r.chip, 0), 0x31);
	vs_irqchip_set_irq(r.chip, 6, 1);
	CHECK(vs_irqchip_pending(r.chip, 0) == -1);
	/* Mask IR1 and enter special mask mode: IR6 gets through. */
	outb(&r, MASTER_IMR, 0x02);
	outb(&r, MASTER_CMD, 0x68);
	CHECK_EQ_U64(vs_irqchip_pending(r.chip, 0), 0x36);
	outb(&r, MASTER_CMD, 0x48); /* leave it */
	CHECK(vs_irqchip_pending(r.chip, 0) == -1);
	rig_fini(&r);
}

TEST(lint0_gates_the_pic)
{
	struct rig r;
	CHECK(rig_init(&r, 2) == 0);
	pic_init_linux(&r, false);
	outb(&r, MASTER_IMR, 0xf7);
	vs_irqchip_set_irq(r.chip, 3, 1);
	/* Virtual wire from reset: LINT0 ExtINT on CPU 0 only. */
	CHECK_EQ_U64(lapic_read(&r, 0, 0x350), 0x700);
	CHECK_EQ_U64(vs_irqchip_pending(r.chip, 0), 0x33);
	CHECK(vs_irqchip_pending(r.chip, 1) == -1);
	/* Linux's check_timer masks LINT0: the PIC no longer reaches the CPU. */
	lapic_enable(&r, 0);
	lapic_write(&r, 0, 0x350, 0x10700);
	CHECK(vs_irqchip_pending(r.chip, 0) == -1);
	/* A hardware-disabled LAPIC lets INTR straight through. */
	CHECK(vs_irqchip_set_apic_base(r.chip, 0, 0xfee00100) == 0);
	CHECK_EQ_U64(vs_irqchip_pending(r.chip, 0), 0x33);
	CHECK_EQ_U64(vs_irqchip_ack(r.chip, 0), 0x33);
	rig_fini(&r);
}

TEST(init_sequence_resets)
{
	struct rig r;
	CHECK(rig_init(&r, 1) == 0);
	pic_init_linux(&r, false);
	outb(&r, MASTER_IMR, 0x00);
	vs_irqchip_set_irq(r.chip, 1, 1);
	CHECK_EQ_U64(vs_irqchip_ack(r.chip, 0), 0x31);
	/* ICW1 again clears ISR and IMR; the new base applies. */
	outb(&r, MASTER_CMD, 0x11);
	outb(&r, MASTER_IMR, 0x20);
	outb(&r, MASTER_IMR, 0x04);
	outb(&r, MASTER_IMR, 0x01);
	CHECK(inb(&r, MASTER_IMR) == 0x00);
	CHECK(read_isr(&r, MASTER_CMD) == 0x00);
	vs_irqchip_set_irq(r.chip, 1, 0);
	vs_irqchip_set_irq(r.chip, 1, 1);
	CHECK_EQ_U64(vs_irqchip_ack(r.chip, 0), 0x21);
	rig_fini(&r);
}

VS_TAP_MAIN(TAP_CASE(edge_irq_ack_and_specific_eoi), TAP_CASE(priority_and_nesting),
	    TAP_CASE(cascade_through_ir2), TAP_CASE(auto_eoi), TAP_CASE(level_triggered_through_elcr),
	    TAP_CASE(masking_keeps_the_request), TAP_CASE(poll_mode), TAP_CASE(rotation),
	    TAP_CASE(special_mask_mode), TAP_CASE(lint0_gates_the_pic), TAP_CASE(init_sequence_resets))

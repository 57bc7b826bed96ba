/* Two cascaded 8259A PICs (master at 0x20, slave at 0xa0 on the master's
 * IR2) and the PIIX ELCR (0x4d0/0x4d1) that makes single lines
 * level-triggered.
 *
 * Modelled: the ICW1-4 init sequence, IMR, IRR/ISR reads (OCW3), poll
 * mode, fully nested and special-fully-nested priority, rotation (OCW2 and
 * rotate-on-auto-EOI), specific and non-specific EOI, auto-EOI, special
 * mask mode, spurious IR7 when INTA finds nothing. Not modelled: ICW1's
 * LTIM bit (the ELCR decides level vs edge, as on every PCI chipset),
 * buffered mode and the 8080 call-address format (no x86 uses them).
 */
#include "devices/irqchip/irqchip_internal.h"

#include <string.h>

#define CASCADE_IR 2

/* Priority rank of the highest set bit of `bits` (0 = the IR with the
 * highest priority after rotation), 8 when none is set. */
static int rank(const struct vs_pic8259 *c, uint8_t bits)
{
	for (int p = 0; p < 8; p++)
		if (bits & (1u << ((p + c->prio_add) & 7)))
			return p;
	return 8;
}

/* The IR the chip asks the CPU (or the master) for, or -1. */
static int chip_request(const struct vs_pic8259 *c, bool master)
{
	uint8_t in = c->isr;
	int req = rank(c, (uint8_t)(c->irr & ~c->imr));
	if (req == 8)
		return -1;
	if (c->special_mask)
		in &= (uint8_t)~c->imr;
	/* Special fully nested: the slave may interrupt its own in-service
	 * cascade level, so the master ignores IR2 in service. */
	if (master && c->sfnm)
		in &= (uint8_t) ~(1u << CASCADE_IR);
	if (req < rank(c, in))
		return (req + c->prio_add) & 7;
	return -1;
}

static void chip_set_line(struct vs_pic8259 *c, unsigned int ir, bool level)
{
	uint8_t bit = (uint8_t)(1u << ir);
	if (c->elcr & bit) {
		if (level)
			c->irr |= bit;
		else
			c->irr &= (uint8_t)~bit;
	} else if (level && !(c->lines & bit)) {
		c->irr |= bit;
	}
	if (level)
		c->lines |= bit;
	else
		c->lines &= (uint8_t)~bit;
}

/* Propagate the slave's INT to the master's IR2 and the master's INT to
 * the CPU side. */
static void pic_update(struct vs_pic *pic)
{
	bool intr, slave = chip_request(&pic->c[1], false) >= 0;
	chip_set_line(&pic->c[0], CASCADE_IR, slave);
	/* The cascade request follows the slave's INT: a slave request that
	 * went away (a level line dropped, a mask) is no longer pending on
	 * the master, rather than becoming a spurious IRQ 15. */
	if (!slave)
		pic->c[0].irr &= (uint8_t) ~(1u << CASCADE_IR);
	intr = chip_request(&pic->c[0], true) >= 0;
	if (intr != pic->intr) {
		pic->intr = intr;
		vs_irqchip_pic_intr_changed(pic->chip, intr);
	}
}

static void chip_ack(struct vs_pic8259 *c, int ir)
{
	uint8_t bit = (uint8_t)(1u << ir);
	if (c->auto_eoi) {
		if (c->rotate_aeoi)
			c->prio_add = (uint8_t)((ir + 1) & 7);
	} else {
		c->isr |= bit;
	}
	/* A level-triggered request stays in IRR while its line is high. */
	if (!(c->elcr & bit))
		c->irr &= (uint8_t)~bit;
}

void vs_pic_init(struct vs_pic *pic, struct vs_irqchip *chip)
{
	memset(pic, 0, sizeof(*pic));
	pic->chip = chip;
	/* IR0-2 of the master and IR0 (RTC) and IR5 (FPU) of the slave are
	 * edge-only on the PIIX. */
	pic->c[0].elcr_mask = 0xf8;
	pic->c[1].elcr_mask = 0xde;
	/* Power-on state is undefined on hardware, where a BIOS always
	 * programs the chips. Without one, start masked: an unprogrammed PIC
	 * must not hand vectors 0-15 to a guest that uses the I/O APIC and
	 * never touched it. ICW1 clears the mask as usual. */
	pic->c[0].imr = 0xff;
	pic->c[1].imr = 0xff;
}

void vs_pic_set_irq(struct vs_pic *pic, unsigned int irq, int level)
{
	if (irq >= 16 || irq == CASCADE_IR)
		return;
	chip_set_line(&pic->c[irq >> 3], irq & 7, level != 0);
	pic_update(pic);
}

int vs_pic_peek(const struct vs_pic *pic)
{
	int ir = chip_request(&pic->c[0], true);
	int sir;
	if (ir < 0)
		return -1;
	if (ir == CASCADE_IR && !pic->c[0].single) {
		sir = chip_request(&pic->c[1], false);
		return pic->c[1].base + (sir < 0 ? 7 : sir);
	}
	return pic->c[0].base + ir;
}

int vs_pic_inta(struct vs_pic *pic)
{
	int ir = chip_request(&pic->c[0], true);
	int sir, vector;

	if (ir < 0) {
		/* INT went away before the acknowledge: the 8259 answers with
		 * IR7 without setting it in service. */
		vector = pic->c[0].base + 7;
	} else {
		chip_ack(&pic->c[0], ir);
		if (ir == CASCADE_IR && !pic->c[0].single) {
			sir = chip_request(&pic->c[1], false);
			if (sir < 0) {
				vector = pic->c[1].base + 7;
			} else {
				chip_ack(&pic->c[1], sir);
				vector = pic->c[1].base + sir;
			}
		} else {
			vector = pic->c[0].base + ir;
		}
	}
	pic_update(pic);
	return vector;
}

static void chip_icw1(struct vs_pic8259 *c, uint8_t v)
{
	c->imr = 0;
	c->isr = 0;
	c->irr = c->lines & c->elcr; /* level requests still asserted stay */
	c->prio_add = 0;
	c->auto_eoi = c->rotate_aeoi = c->sfnm = false;
	c->special_mask = c->poll = c->read_isr = false;
	c->icw4_needed = v & 0x01;
	c->single = v & 0x02;
	c->init_step = 2;
}

static void chip_ocw2(struct vs_pic8259 *c, uint8_t v)
{
	int ir;
	switch (v >> 5) {
	case 0: /* clear rotate in auto-EOI mode */
		c->rotate_aeoi = false;
		break;
	case 4: /* set rotate in auto-EOI mode */
		c->rotate_aeoi = true;
		break;
	case 1: /* non-specific EOI */
	case 5: /* rotate on non-specific EOI */
		ir = rank(c, c->isr);
		if (ir == 8)
			break;
		ir = (ir + c->prio_add) & 7;
		c->isr &= (uint8_t) ~(1u << ir);
		if (v >> 5 == 5)
			c->prio_add = (uint8_t)((ir + 1) & 7);
		break;
	case 3: /* specific EOI */
		c->isr &= (uint8_t) ~(1u << (v & 7));
		break;
	case 7: /* rotate on specific EOI */
		c->isr &= (uint8_t) ~(1u << (v & 7));
		c->prio_add = (uint8_t)(((v & 7) + 1) & 7);
		break;
	case 6: /* set priority: IR v&7 becomes the lowest */
		c->prio_add = (uint8_t)(((v & 7) + 1) & 7);
		break;
	default: /* 2: no operation */
		break;
	}
}

static void chip_ocw3(struct vs_pic8259 *c, uint8_t v)
{
	if (v & 0x04)
		c->poll = true;
	if (v & 0x02)
		c->read_isr = v & 0x01;
	if (v & 0x40)
		c->special_mask = v & 0x20;
}

static void chip_write(struct vs_pic *pic, int idx, uint64_t port, uint8_t v)
{
	struct vs_pic8259 *c = &pic->c[idx];
	if (port == 0) {
		if (v & 0x10)
			chip_icw1(c, v);
		else if (v & 0x08)
			chip_ocw3(c, v);
		else
			chip_ocw2(c, v);
	} else {
		switch (c->init_step) {
		case 2:
			c->base = v & 0xf8;
			c->init_step = c->single ? (c->icw4_needed ? 4 : 0) : 3;
			break;
		case 3: /* ICW3: the cascade wiring is fixed */
			c->init_step = c->icw4_needed ? 4 : 0;
			break;
		case 4:
			c->auto_eoi = v & 0x02;
			c->sfnm = v & 0x10;
			c->init_step = 0;
			break;
		default:
			c->imr = v;
			break;
		}
	}
	pic_update(pic);
}

/* Poll command: the read acknowledges like an INTA cycle without a
 * vector and returns 0x80 | IR (0 when nothing is requested). */
static uint8_t chip_poll(struct vs_pic *pic, int idx)
{
	struct vs_pic8259 *c = &pic->c[idx];
	int ir = chip_request(c, idx == 0);
	c->poll = false;
	if (ir < 0)
		return 0;
	chip_ack(c, ir);
	pic_update(pic);
	return (uint8_t)(0x80 | ir);
}

static uint8_t chip_read(struct vs_pic *pic, int idx, uint64_t port)
{
	struct vs_pic8259 *c = &pic->c[idx];
	if (c->poll)
		return chip_poll(pic, idx);
	if (port == 0)
		return c->read_isr ? c->isr : c->irr;
	return c->imr;
}

static void pic_access(struct vs_pic *pic, int idx, uint64_t offset, uint8_t *rdata, const uint8_t *wdata,
		       uint32_t size)
{
	pthread_mutex_lock(&pic->chip->lock);
	for (uint32_t i = 0; i < size; i++) {
		if (offset + i >= 2) {
			if (rdata)
				rdata[i] = 0xff;
			continue;
		}
		if (rdata)
			rdata[i] = chip_read(pic, idx, offset + i);
		else
			chip_write(pic, idx, offset + i, wdata[i]);
	}
	pthread_mutex_unlock(&pic->chip->lock);
}

static void master_read(void *opaque, uint64_t offset, uint8_t *data, uint32_t size)
{
	pic_access(opaque, 0, offset, data, NULL, size);
}

static void master_write(void *opaque, uint64_t offset, const uint8_t *data, uint32_t size)
{
	pic_access(opaque, 0, offset, NULL, data, size);
}

static void slave_read(void *opaque, uint64_t offset, uint8_t *data, uint32_t size)
{
	pic_access(opaque, 1, offset, data, NULL, size);
}

static void slave_write(void *opaque, uint64_t offset, const uint8_t *data, uint32_t size)
{
	pic_access(opaque, 1, offset, NULL, data, size);
}

static void elcr_read(void *opaque, uint64_t offset, uint8_t *data, uint32_t size)
{
	struct vs_pic *pic = opaque;
	pthread_mutex_lock(&pic->chip->lock);
	for (uint32_t i = 0; i < size; i++)
		data[i] = offset + i < 2 ? pic->c[offset + i].elcr : 0xff;
	pthread_mutex_unlock(&pic->chip->lock);
}

static void elcr_write(void *opaque, uint64_t offset, const uint8_t *data, uint32_t size)
{
	struct vs_pic *pic = opaque;
	struct vs_pic8259 *c;
	pthread_mutex_lock(&pic->chip->lock);
	for (uint32_t i = 0; i < size; i++) {
		if (offset + i >= 2)
			continue;
		c = &pic->c[offset + i];
		c->elcr = data[i] & c->elcr_mask;
		/* Lines now level-triggered request exactly while high. */
		c->irr = (uint8_t)((c->irr & ~c->elcr) | (c->lines & c->elcr));
	}
	pic_update(pic);
	pthread_mutex_unlock(&pic->chip->lock);
}

const struct vs_bus_ops vs_pic_master_ops = { .read = master_read, .write = master_write };
const struct vs_bus_ops vs_pic_slave_ops = { .read = slave_read, .write = slave_write };
const struct vs_bus_ops vs_pic_elcr_ops = { .read = elcr_read, .write = elcr_write };

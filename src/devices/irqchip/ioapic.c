/* 82093AA-style I/O APIC with 24 pins (version 0x11: no EOI register; the
 * LAPICs broadcast EOIs of level-triggered vectors instead).
 *
 * Edge-triggered pins deliver on a rising level; an edge arriving while the
 * pin is masked is lost. Level-triggered pins deliver while asserted and
 * not waiting for an EOI (remote IRR), and again after the EOI if the line
 * is still high. The pin polarity bit is stored but not applied: devices
 * drive a GSI with 1 meaning "asserted", as they do for KVM's irqchip.
 * Delivery modes fixed, lowest priority, NMI and INIT reach the LAPICs;
 * SMI and ExtINT through the I/O APIC are dropped (the PIC reaches CPU 0
 * through LINT0).
 */
#include "devices/irqchip/irqchip_internal.h"

#include <string.h>

#define IOREGSEL 0x00
#define IOWIN 0x10

#define REG_ID 0x00
#define REG_VERSION 0x01
#define REG_ARB 0x02
#define REG_REDIR 0x10

#define VERSION_VALUE (0x11u | ((uint32_t)(VS_IOAPIC_NPINS - 1) << 16))

#define RTE_VECTOR 0xffull
#define RTE_MODE_SHIFT 8
#define RTE_LOGICAL (1ull << 11)
#define RTE_DELIVS (1ull << 12)
#define RTE_REMOTE_IRR (1ull << 14)
#define RTE_LEVEL (1ull << 15)
#define RTE_MASKED (1ull << 16)
#define RTE_LOW_WRITABLE 0x1afffull /* vector, mode, dest mode, polarity, trigger, mask */
#define RTE_DEST_SHIFT 56

void vs_ioapic_init(struct vs_ioapic *io, struct vs_irqchip *chip, uint8_t id)
{
	memset(io, 0, sizeof(*io));
	io->chip = chip;
	io->id = id & 0x0f;
	for (int i = 0; i < VS_IOAPIC_NPINS; i++)
		io->redir[i] = RTE_MASKED;
}

static void service(struct vs_ioapic *io, unsigned int pin)
{
	uint64_t e = io->redir[pin];
	struct vs_apic_msg m = {
		.vector = (uint8_t)(e & RTE_VECTOR),
		.mode = (uint8_t)((e >> RTE_MODE_SHIFT) & 7),
		.dest = (uint8_t)(e >> RTE_DEST_SHIFT),
		.shorthand = APIC_SH_NONE,
		.logical = e & RTE_LOGICAL,
		.level = e & RTE_LEVEL,
		.assert = true,
		.src = -1,
	};
	if (e & RTE_MASKED)
		return;
	if (m.level && (e & RTE_REMOTE_IRR))
		return;
	if (vs_apic_deliver(io->chip, &m) > 0 && m.level &&
	    (m.mode == APIC_DM_FIXED || m.mode == APIC_DM_LOWEST))
		io->redir[pin] |= RTE_REMOTE_IRR;
}

void vs_ioapic_set_irq(struct vs_ioapic *io, unsigned int pin, int level)
{
	uint32_t bit;
	bool was;
	if (pin >= VS_IOAPIC_NPINS)
		return;
	bit = 1u << pin;
	was = io->lines & bit;
	if (level)
		io->lines |= bit;
	else
		io->lines &= ~bit;
	if (!level)
		return;
	if (io->redir[pin] & RTE_LEVEL)
		service(io, pin);
	else if (!was)
		service(io, pin);
}

void vs_ioapic_eoi(struct vs_ioapic *io, uint8_t vector)
{
	for (unsigned int pin = 0; pin < VS_IOAPIC_NPINS; pin++) {
		uint64_t e = io->redir[pin];
		if ((e & RTE_VECTOR) != vector || !(e & RTE_LEVEL) || !(e & RTE_REMOTE_IRR))
			continue;
		io->redir[pin] &= ~RTE_REMOTE_IRR;
		if (io->lines & (1u << pin))
			service(io, pin);
	}
}

static uint32_t reg_read(const struct vs_ioapic *io)
{
	uint32_t reg = io->sel & 0xff;
	unsigned int pin;
	switch (reg) {
	case REG_ID:
	case REG_ARB:
		return (uint32_t)io->id << 24;
	case REG_VERSION:
		return VERSION_VALUE;
	default:
		if (reg < REG_REDIR || reg >= REG_REDIR + 2 * VS_IOAPIC_NPINS)
			return 0;
		pin = (reg - REG_REDIR) / 2;
		return (uint32_t)(reg & 1 ? io->redir[pin] >> 32 : io->redir[pin]);
	}
}

static void reg_write(struct vs_ioapic *io, uint32_t v)
{
	uint32_t reg = io->sel & 0xff;
	unsigned int pin;
	uint64_t e;
	if (reg == REG_ID) {
		io->id = (v >> 24) & 0x0f;
		return;
	}
	if (reg < REG_REDIR || reg >= REG_REDIR + 2 * VS_IOAPIC_NPINS)
		return; /* version, arbitration and reserved registers are read-only */
	pin = (reg - REG_REDIR) / 2;
	e = io->redir[pin];
	if (reg & 1) {
		e = (e & 0xffffffffull) | ((uint64_t)(v & 0xff000000u) << 32);
	} else {
		e = (e & ~RTE_LOW_WRITABLE & ~0xffffffffull) | (e & (RTE_DELIVS | RTE_REMOTE_IRR)) |
		    (v & RTE_LOW_WRITABLE);
		/* An edge-triggered pin has no EOI to wait for: Linux's EOI
		 * emulation for old I/O APICs relies on this. */
		if (!(e & RTE_LEVEL))
			e &= ~RTE_REMOTE_IRR;
	}
	io->redir[pin] = e;
	/* Unmasking an asserted level-triggered pin delivers it now. */
	if ((e & RTE_LEVEL) && (io->lines & (1u << pin)))
		service(io, pin);
}

static void ioapic_read(void *opaque, uint64_t offset, uint8_t *data, uint32_t size)
{
	struct vs_ioapic *io = opaque;
	uint32_t v = 0;
	pthread_mutex_lock(&io->chip->lock);
	if (offset == IOREGSEL)
		v = io->sel;
	else if (offset == IOWIN && size == 4)
		v = reg_read(io);
	pthread_mutex_unlock(&io->chip->lock);
	for (uint32_t i = 0; i < size; i++)
		data[i] = i < 4 ? (uint8_t)(v >> (8 * i)) : 0;
}

static void ioapic_write(void *opaque, uint64_t offset, const uint8_t *data, uint32_t size)
{
	struct vs_ioapic *io = opaque;
	uint32_t v = 0;
	for (uint32_t i = 0; i < size && i < 4; i++)
		v |= (uint32_t)data[i] << (8 * i);
	pthread_mutex_lock(&io->chip->lock);
	if (offset == IOREGSEL)
		io->sel = v & 0xff;
	else if (offset == IOWIN && size == 4)
		reg_write(io, v);
	pthread_mutex_unlock(&io->chip->lock);
}

const struct vs_bus_ops vs_ioapic_ops = { .read = ioapic_read, .write = ioapic_write };

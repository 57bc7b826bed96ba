/* A userspace irqchip on its own buses, driven the way a guest and the
 * emulator drive it, for the irqchip unit tests. */
#ifndef VESSEL_TESTS_IRQCHIP_RIG_H
#define VESSEL_TESTS_IRQCHIP_RIG_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "devices/irqchip/irqchip.h"
#include "hw/pc_layout.h"

#define RIG_MAX_CPUS 8
#define RIG_WAIT_NS 5000000000ull /* generous bound for timer events */

struct rig {
	struct vs_bus pio, mmio;
	struct vs_timebase tb;
	struct vs_irqchip *chip;
	int ncpus;
	atomic_int kicks[RIG_MAX_CPUS];
};

static inline void rig_kick(void *opaque, int cpu)
{
	struct rig *r = opaque;
	if (cpu >= 0 && cpu < RIG_MAX_CPUS)
		atomic_fetch_add(&r->kicks[cpu], 1);
}

static inline int rig_init(struct rig *r, int ncpus)
{
	struct vs_irqchip_config cfg = { .ncpus = ncpus, .timebase = &r->tb, .kick = rig_kick, .opaque = r };
	struct vs_error err;
	memset(r, 0, sizeof(*r));
	r->ncpus = ncpus;
	vs_timebase_init(&r->tb);
	vs_bus_init(&r->pio, "pio");
	vs_bus_init(&r->mmio, "mmio");
	if (vs_irqchip_create(&cfg, &r->chip, &err) < 0)
		return -1;
	return vs_irqchip_register(r->chip, &r->pio, &r->mmio, &err);
}

static inline void rig_fini(struct rig *r)
{
	vs_irqchip_destroy(r->chip);
	vs_bus_release(&r->pio);
	vs_bus_release(&r->mmio);
}

static inline int rig_kicks(struct rig *r, int cpu)
{
	return atomic_load(&r->kicks[cpu]);
}

static inline void outb(struct rig *r, uint16_t port, uint8_t v)
{
	vs_bus_write(&r->pio, port, &v, 1);
}

static inline uint8_t inb(struct rig *r, uint16_t port)
{
	uint8_t v = 0;
	vs_bus_read(&r->pio, port, &v, 1);
	return v;
}

static inline void mmio_write32(struct rig *r, uint64_t addr, uint32_t v)
{
	uint8_t b[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24) };
	vs_bus_write(&r->mmio, addr, b, 4);
}

static inline uint32_t mmio_read32(struct rig *r, uint64_t addr)
{
	uint8_t b[4] = { 0 };
	vs_bus_read(&r->mmio, addr, b, 4);
	return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

static inline void lapic_write(struct rig *r, int cpu, uint32_t off, uint32_t v)
{
	uint8_t b[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24) };
	vs_irqchip_lapic_write(r->chip, cpu, off, b, 4);
}

static inline uint32_t lapic_read(struct rig *r, int cpu, uint32_t off)
{
	uint8_t b[4] = { 0 };
	vs_irqchip_lapic_read(r->chip, cpu, off, b, 4);
	return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

/* Software-enable a LAPIC with spurious vector 0xff, as Linux does. */
static inline void lapic_enable(struct rig *r, int cpu)
{
	lapic_write(r, cpu, 0xf0, 0x1ff);
}

static inline void ioapic_write(struct rig *r, uint32_t reg, uint32_t v)
{
	mmio_write32(r, VS_IOAPIC_ADDR, reg);
	mmio_write32(r, VS_IOAPIC_ADDR + 0x10, v);
}

static inline uint32_t ioapic_read(struct rig *r, uint32_t reg)
{
	mmio_write32(r, VS_IOAPIC_ADDR, reg);
	return mmio_read32(r, VS_IOAPIC_ADDR + 0x10);
}

static inline void ioapic_route(struct rig *r, unsigned int pin, uint32_t low, uint8_t dest)
{
	ioapic_write(r, 0x11 + 2 * pin, (uint32_t)dest << 24);
	ioapic_write(r, 0x10 + 2 * pin, low);
}

/* Linux's init_8259A: vectors 0x30-0x3f, cascade on IR2, everything
 * masked but the cascade. */
static inline void pic_init_linux(struct rig *r, bool auto_eoi)
{
	outb(r, 0x21, 0xff);
	outb(r, 0xa1, 0xff);
	outb(r, 0x20, 0x11);
	outb(r, 0x21, 0x30);
	outb(r, 0x21, 0x04);
	outb(r, 0x21, auto_eoi ? 0x03 : 0x01);
	outb(r, 0xa0, 0x11);
	outb(r, 0xa1, 0x38);
	outb(r, 0xa1, 0x02);
	outb(r, 0xa1, 0x01);
	outb(r, 0x21, 0xfb);
	outb(r, 0xa1, 0xff);
}

static inline void rig_sleep_us(unsigned int us)
{
	struct timespec ts = { .tv_sec = us / 1000000, .tv_nsec = (long)(us % 1000000) * 1000 };
	nanosleep(&ts, NULL);
}

/* Poll until `cpu` has an interrupt pending (or the bound passes). */
static inline int rig_wait_pending(struct rig *r, int cpu)
{
	uint64_t end = vs_now_ns() + RIG_WAIT_NS;
	int v;
	while ((v = vs_irqchip_pending(r->chip, cpu)) < 0 && vs_now_ns() < end)
		rig_sleep_us(100);
	return v;
}

#endif

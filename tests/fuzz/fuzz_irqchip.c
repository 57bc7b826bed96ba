/* libFuzzer target: any sequence of guest port, MMIO and LAPIC accesses,
 * GSI changes and CPU-side calls on a 2-CPU userspace irqchip must never
 * crash, deadlock (the timer thread runs all along) or return a vector out
 * of range; destroying the chip afterwards must join its thread. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "devices/irqchip/irqchip.h"
#include "hw/pc_layout.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NCPUS 2

static const uint16_t ports[] = { 0x20, 0x21, 0xa0, 0xa1, 0x4d0, 0x4d1, 0x40, 0x41, 0x42, 0x43, 0x61 };

struct input {
	const uint8_t *p;
	size_t left;
};

static uint8_t take8(struct input *in)
{
	if (!in->left)
		return 0;
	in->left--;
	return *in->p++;
}

static uint32_t take32(struct input *in)
{
	uint32_t v = 0;
	for (int i = 0; i < 4; i++)
		v |= (uint32_t)take8(in) << (8 * i);
	return v;
}

static uint64_t take64(struct input *in)
{
	uint64_t lo = take32(in);
	return lo | (uint64_t)take32(in) << 32;
}

static void kick(void *opaque, int cpu)
{
	int *kicks = opaque;
	if (cpu < 0 || cpu >= NCPUS)
		abort();
	kicks[cpu]++;
}

static void check_vector(int v)
{
	if (v < -1 || v > 255)
		abort();
}

static void step(struct vs_irqchip *chip, struct vs_bus *pio, struct vs_bus *mmio,
		 const struct vs_timebase *tb, struct input *in)
{
	static const uint32_t sizes[] = { 1, 2, 4, 8 };
	uint8_t op = take8(in), buf[8];
	int cpu = take8(in) % (NCPUS + 1); /* NCPUS: an invalid index */
	uint32_t v, size;
	uint64_t addr;
	uint8_t vec;

	switch (op % 14) {
	case 0:
		v = ports[take8(in) % (sizeof(ports) / sizeof(ports[0]))];
		buf[0] = take8(in);
		vs_bus_write(pio, v, buf, 1);
		break;
	case 1:
		v = ports[take8(in) % (sizeof(ports) / sizeof(ports[0]))];
		vs_bus_read(pio, v, buf, sizes[take8(in) & 3]);
		break;
	case 2:
		addr = VS_IOAPIC_ADDR + (take8(in) & 1 ? 0x10 : 0) + (take8(in) & 0x3);
		v = take32(in);
		size = sizes[take8(in) & 3];
		memset(buf, 0, sizeof(buf));
		memcpy(buf, &v, 4);
		vs_bus_write(mmio, addr, buf, size);
		break;
	case 3:
		addr = VS_IOAPIC_ADDR + (take8(in) & 1 ? 0x10 : 0) + (take8(in) & 0x3f);
		vs_bus_read(mmio, addr, buf, sizes[take8(in) & 3]);
		break;
	case 4:
		/* Mostly real registers, sometimes anything. */
		v = take8(in);
		addr = v & 0x80 ? (take32(in) & 0xfff) : (uint32_t)(v & 0x3f) << 4;
		v = take32(in);
		memcpy(buf, &v, 4);
		size = take8(in) & 7 ? 4 : sizes[take8(in) & 3];
		vs_irqchip_lapic_write(chip, cpu, (uint32_t)addr, buf, size);
		break;
	case 5:
		addr = (uint32_t)(take8(in) & 0x3f) << 4;
		vs_irqchip_lapic_read(chip, cpu, (uint32_t)addr, buf, 4);
		break;
	case 6:
		vs_irqchip_set_irq(chip, take8(in) % 32, take8(in) & 1);
		break;
	case 7:
		check_vector(vs_irqchip_pending(chip, cpu));
		break;
	case 8:
		check_vector(vs_irqchip_ack(chip, cpu));
		break;
	case 9:
		vs_irqchip_take_nmi(chip, cpu);
		if (vs_irqchip_take_event(chip, cpu, &vec) > VS_IRQCHIP_SIPI)
			abort();
		break;
	case 10:
		/* Usually a valid base with enable toggled, sometimes garbage. */
		v = take8(in);
		addr = v & 1 ? take64(in) : 0xfee00000ull | (v & 2 ? 0x800 : 0) | (cpu == 0 ? 0x100 : 0);
		vs_irqchip_set_apic_base(chip, cpu, addr);
		vs_irqchip_apic_base(chip, cpu);
		break;
	case 11:
		v = take8(in);
		addr = v & 1 ? take64(in) : vs_timebase_tsc(tb) + (uint64_t)take32(in) % 4000000;
		vs_irqchip_set_tsc_deadline(chip, cpu, addr);
		vs_irqchip_tsc_deadline(chip, cpu);
		break;
	case 12:
		vs_irqchip_set_cr8(chip, cpu, take8(in));
		if (vs_irqchip_cr8(chip, cpu) > 15)
			abort();
		break;
	default:
		/* The CPU's interrupt loop: take everything that is pending. */
		for (int i = 0; i < 300; i++) {
			int vv = vs_irqchip_ack(chip, cpu);
			check_vector(vv);
			if (vv < 0)
				break;
			buf[0] = buf[1] = buf[2] = buf[3] = 0;
			vs_irqchip_lapic_write(chip, cpu, 0xb0, buf, 4);
		}
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int kicks[NCPUS];
	struct vs_timebase tb;
	struct vs_irqchip_config cfg = { .ncpus = NCPUS, .timebase = &tb, .kick = kick, .opaque = kicks };
	struct vs_irqchip *chip;
	struct vs_bus pio, mmio;
	struct vs_error err;
	struct input in = { data, size };

	vs_timebase_init(&tb);
	vs_bus_init(&pio, "pio");
	vs_bus_init(&mmio, "mmio");
	if (vs_irqchip_create(&cfg, &chip, &err) < 0 || vs_irqchip_register(chip, &pio, &mmio, &err) < 0)
		abort();
	while (in.left)
		step(chip, &pio, &mmio, &tb, &in);
	vs_irqchip_destroy(chip);
	vs_bus_release(&pio);
	vs_bus_release(&mmio);
	return 0;
}

/* The PC's interrupt controllers and timers in user space, for CPU backends
 * without in-kernel ones (the emulator; KVM's split irqchip later): two
 * cascaded 8259A PICs (with the ELCR), the 8254 PIT (with port 0x61's gate
 * and output for channel 2), one 24-pin I/O APIC, and one local APIC per
 * vCPU (timer in one-shot, periodic and TSC-deadline modes, IPIs with
 * every shorthand and destination mode, INIT and SIPI).
 *
 * Wiring, as on KVM's in-kernel irqchip and the MADT vessel builds:
 *   - GSI 0..15 drive PIC IRQ n and I/O APIC pin n; GSI 16..23 the I/O
 *     APIC only. The PIT's output drives PIC IRQ 0 and I/O APIC pin 2 (the
 *     MADT's interrupt source override).
 *   - The PIC's INTR output reaches vCPU 0's LINT0: taken when LVT LINT0 is
 *     unmasked in ExtINT mode, or when that LAPIC is disabled (APIC base MSR
 *     bit 11 clear, the reset state of virtual-wire mode).
 *   - A LAPIC EOI of a level-triggered vector is broadcast to the I/O APIC.
 *
 * Time follows the shared timebase (hw/timebase.h): the LAPIC timer counts
 * at VS_APIC_BUS_HZ divided by its divide configuration, the PIT at
 * 1193182 Hz, TSC deadlines are in timebase ticks. Timers fire in real time
 * from one timer thread the chip owns (started by create, joined by
 * destroy), not only when a vCPU looks.
 *
 * Threading: every function may be called from any thread (vCPU threads,
 * the timer thread, device threads); the chip serialises itself with one
 * internal lock. The cpu `kick` callback is called, possibly with that lock
 * held, whenever a vCPU may have something new to take (an interrupt, an
 * INIT or a SIPI); it must only set a flag and wake the vCPU, never call
 * back into the chip.
 */
#ifndef VESSEL_DEVICES_IRQCHIP_IRQCHIP_H
#define VESSEL_DEVICES_IRQCHIP_IRQCHIP_H

#include <stdbool.h>
#include <stdint.h>

#include "hw/bus.h"
#include "hw/timebase.h"
#include "util/error.h"

struct vs_irqchip;

struct vs_irqchip_config {
	int ncpus;			    /* 1..64; LAPIC IDs are 0..ncpus-1 (vCPU index = APIC ID) */
	const struct vs_timebase *timebase; /* outlives the chip */
	void (*kick)(void *opaque, int cpu);
	void *opaque;
};

int vs_irqchip_create(const struct vs_irqchip_config *cfg, struct vs_irqchip **out, struct vs_error *err);
/* Stops the timer thread; NULL is a no-op. */
void vs_irqchip_destroy(struct vs_irqchip *chip);

/* Board side. Registers the PICs (0x20-0x21, 0xa0-0xa1), the ELCR
 * (0x4d0-0x4d1), the PIT (0x40-0x43), port 0x61 and the I/O APIC
 * (VS_IOAPIC_ADDR, 0x1000 bytes). The LAPICs are not on the bus: their page
 * is per vCPU, so the CPU calls vs_irqchip_lapic_read/write itself. */
int vs_irqchip_register(struct vs_irqchip *chip, struct vs_bus *pio, struct vs_bus *mmio,
			struct vs_error *err);

/* Drive a GSI to a level (0 or 1). Edge-triggered inputs act on 0->1. */
void vs_irqchip_set_irq(struct vs_irqchip *chip, uint32_t gsi, int level);

/* A message-signalled interrupt (PCI MSI / MSI-X) as the LAPIC bus sees
 * it: address 0xfee<dest:8><...>, bit 2 logical destination mode, bit 3
 * redirection hint (lowest priority among the destinations); data bits
 * 7:0 vector, 10:8 delivery mode (fixed, lowest priority, NMI; others are
 * dropped), always edge-triggered. Returns how many LAPICs accepted it; an
 * address outside 0xfee00000-0xfeefffff delivers nothing. */
int vs_irqchip_send_msi(struct vs_irqchip *chip, uint64_t addr, uint32_t data);

/* CPU side, for vCPU `cpu`. */

/* The LAPIC's 4 KiB register page (offset 0..0xfff; 4-byte aligned
 * accesses of size 4, others read as 0 / are ignored). */
void vs_irqchip_lapic_read(struct vs_irqchip *chip, int cpu, uint32_t offset, uint8_t *data, uint32_t size);
void vs_irqchip_lapic_write(struct vs_irqchip *chip, int cpu, uint32_t offset, const uint8_t *data,
			    uint32_t size);

/* IA32_APIC_BASE (MSR 0x1b): base 0xfee00000, BSP bit on vCPU 0, enable
 * bit 11. Returns -1 for a value the guest may not write (#GP): x2APIC
 * mode or reserved bits. */
uint64_t vs_irqchip_apic_base(struct vs_irqchip *chip, int cpu);
int vs_irqchip_set_apic_base(struct vs_irqchip *chip, int cpu, uint64_t value);

/* IA32_TSC_DEADLINE (MSR 0x6e0), in timebase ticks; 0 disarms. */
uint64_t vs_irqchip_tsc_deadline(struct vs_irqchip *chip, int cpu);
void vs_irqchip_set_tsc_deadline(struct vs_irqchip *chip, int cpu, uint64_t tsc);

/* CR8 is TPR[7:4]. */
uint8_t vs_irqchip_cr8(struct vs_irqchip *chip, int cpu);
void vs_irqchip_set_cr8(struct vs_irqchip *chip, int cpu, uint8_t cr8);

/* The vector of the interrupt the CPU would take now if RFLAGS.IF allowed
 * it (LAPIC IRR above the processor priority, or the PIC's ExtINT), or -1.
 * Cheap enough to call at every block boundary after a kick. */
int vs_irqchip_pending(struct vs_irqchip *chip, int cpu);

/* The CPU takes the highest pending interrupt (IRR -> ISR, or the PIC's
 * INTA cycle). Returns the vector to deliver through the IDT (possibly the
 * spurious vector), or -1 when nothing is pending any more. */
int vs_irqchip_ack(struct vs_irqchip *chip, int cpu);

/* An NMI is pending (LVT/ICR delivery mode NMI); taking it clears it. */
bool vs_irqchip_take_nmi(struct vs_irqchip *chip, int cpu);

enum vs_irqchip_event {
	VS_IRQCHIP_NONE,
	VS_IRQCHIP_INIT, /* INIT IPI: the CPU resets and waits for a SIPI (APs) */
	VS_IRQCHIP_SIPI, /* start-up IPI: real mode at CS = vector << 8, IP = 0 */
};
/* Take the oldest INIT/SIPI event of `cpu`; *sipi_vector is set for SIPI.
 * A SIPI only counts while the CPU waits for one (after INIT, or an AP
 * that never ran); others are dropped, as on hardware. */
enum vs_irqchip_event vs_irqchip_take_event(struct vs_irqchip *chip, int cpu, uint8_t *sipi_vector);

#endif

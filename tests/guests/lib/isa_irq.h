/* ISA interrupts (PIT, UART, ...) through either path a PC offers: the
 * 8259 PICs (delivered to the BSP's LINT0 as ExtINT) or the I/O APIC
 * (pin found through the MADT's interrupt source overrides). Tests pick
 * the path and otherwise share their code. */
#ifndef GUEST_ISA_IRQ_H
#define GUEST_ISA_IRQ_H

#include <stdbool.h>
#include <stdint.h>

enum irq_path { IRQ_VIA_PIC, IRQ_VIA_IOAPIC };

#define IOAPIC_VECTOR_BASE 0x30 /* ISA IRQ n -> vector 0x30 + n via the I/O APIC */

/* Prepare the path (and mask the other one). False, with a message
 * printed, when the I/O APIC path is asked for and the MADT has none. */
bool isa_irq_init(enum irq_path path);
/* The vector IRQ `irq` arrives on. */
uint8_t isa_irq_vector(unsigned irq);
/* Route and unmask IRQ `irq` to the boot CPU. */
bool isa_irq_enable(unsigned irq);
void isa_irq_disable(unsigned irq);
void isa_irq_eoi(unsigned irq);
const char *isa_irq_path_name(void);

#endif

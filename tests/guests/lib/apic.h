/* Local APIC (xAPIC, MMIO) and I/O APIC access. */
#ifndef GUEST_APIC_H
#define GUEST_APIC_H

#include <stdbool.h>
#include <stdint.h>

#define LAPIC_ID 0x20
#define LAPIC_EOI 0xb0
#define LAPIC_SVR 0xf0
#define LAPIC_ICR_LO 0x300
#define LAPIC_ICR_HI 0x310
#define LAPIC_LVT_TIMER 0x320
#define LAPIC_LVT_LINT0 0x350
#define LAPIC_LVT_LINT1 0x360
#define LAPIC_TIMER_INIT 0x380
#define LAPIC_TIMER_CUR 0x390
#define LAPIC_TIMER_DIV 0x3e0

#define LAPIC_SVR_ENABLE 0x100
#define LAPIC_LVT_MASKED (1u << 16)
#define LAPIC_TIMER_PERIODIC (1u << 17)
#define LAPIC_DM_NMI 0x400
#define LAPIC_DM_INIT 0x500
#define LAPIC_DM_STARTUP 0x600
#define LAPIC_DM_EXTINT 0x700
#define LAPIC_ICR_PENDING (1u << 12) /* delivery status */
#define LAPIC_ICR_ASSERT (1u << 14)

#define SPURIOUS_VECTOR 0xff

uint64_t lapic_base(void); /* from IA32_APIC_BASE */
uint32_t lapic_read(uint32_t reg);
void lapic_write(uint32_t reg, uint32_t v);
uint8_t lapic_id(void);
void lapic_enable(void); /* software-enable, spurious vector 0xff */
/* Let the 8259's INTR reach this CPU: LINT0 as ExtINT, LINT1 as NMI (the
 * PC wiring the MP specification describes). */
void lapic_route_pic(void);
void lapic_eoi(void);
/* Send an IPI and wait (bounded) for the delivery status to clear. */
bool lapic_send_ipi(uint8_t dest_apic_id, uint32_t icr_lo);

#define IOAPIC_REDIR_MASKED (1u << 16)
#define IOAPIC_REDIR_LEVEL (1u << 15)
#define IOAPIC_REDIR_ACTIVE_LOW (1u << 13)

uint32_t ioapic_read(uint64_t base, uint32_t reg);
void ioapic_write(uint64_t base, uint32_t reg, uint32_t v);
void ioapic_set_redir(uint64_t base, unsigned pin, uint8_t vector, uint32_t flags, uint8_t dest);
void ioapic_mask(uint64_t base, unsigned pin);

#endif

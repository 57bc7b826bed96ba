#include "apic.h"
#include "io.h"

#define MSR_APIC_BASE 0x1b

static uint64_t lapic_addr;

uint64_t lapic_base(void)
{
	if (!lapic_addr)
		lapic_addr = rdmsr(MSR_APIC_BASE) & 0xffffff000ull;
	return lapic_addr;
}

uint32_t lapic_read(uint32_t reg)
{
	return mmio_read32(lapic_base() + reg);
}

void lapic_write(uint32_t reg, uint32_t v)
{
	mmio_write32(lapic_base() + reg, v);
}

uint8_t lapic_id(void)
{
	return (uint8_t)(lapic_read(LAPIC_ID) >> 24);
}

void lapic_enable(void)
{
	lapic_write(LAPIC_SVR, LAPIC_SVR_ENABLE | SPURIOUS_VECTOR);
}

void lapic_route_pic(void)
{
	lapic_enable();
	lapic_write(LAPIC_LVT_LINT0, LAPIC_DM_EXTINT);
	lapic_write(LAPIC_LVT_LINT1, LAPIC_DM_NMI);
}

void lapic_eoi(void)
{
	lapic_write(LAPIC_EOI, 0);
}

bool lapic_send_ipi(uint8_t dest_apic_id, uint32_t icr_lo)
{
	lapic_write(LAPIC_ICR_HI, (uint32_t)dest_apic_id << 24);
	lapic_write(LAPIC_ICR_LO, icr_lo); /* writing the low half sends */
	for (int i = 0; i < 1000; i++) {
		if (!(lapic_read(LAPIC_ICR_LO) & LAPIC_ICR_PENDING))
			return true;
		cpu_relax();
	}
	return false;
}

/* The I/O APIC is reached through an index register (IOREGSEL, offset 0)
 * and a data window (IOWIN, offset 0x10). */
uint32_t ioapic_read(uint64_t base, uint32_t reg)
{
	mmio_write32(base, reg);
	return mmio_read32(base + 0x10);
}

void ioapic_write(uint64_t base, uint32_t reg, uint32_t v)
{
	mmio_write32(base, reg);
	mmio_write32(base + 0x10, v);
}

void ioapic_set_redir(uint64_t base, unsigned pin, uint8_t vector, uint32_t flags, uint8_t dest)
{
	/* Destination first, then the low half, which unmasks. */
	ioapic_write(base, 0x10 + 2 * pin + 1, (uint32_t)dest << 24);
	ioapic_write(base, 0x10 + 2 * pin, vector | flags);
}

void ioapic_mask(uint64_t base, unsigned pin)
{
	ioapic_write(base, 0x10 + 2 * pin, IOAPIC_REDIR_MASKED);
}

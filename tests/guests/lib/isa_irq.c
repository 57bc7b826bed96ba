#include "isa_irq.h"
#include "acpi.h"
#include "apic.h"
#include "libc.h"
#include "pic_pit.h"

static enum irq_path path;
static struct madt_info madt;

bool isa_irq_init(enum irq_path p)
{
	path = p;
	pic_init(); /* remapped and fully masked either way */
	if (p == IRQ_VIA_PIC) {
		lapic_route_pic();
		return true;
	}
	if (!acpi_parse_madt(&madt) || madt.nioapics == 0) {
		printf("isa-irq: no I/O APIC in the MADT\n");
		return false;
	}
	lapic_enable();
	lapic_write(LAPIC_LVT_LINT0, LAPIC_LVT_MASKED);
	return true;
}

uint8_t isa_irq_vector(unsigned irq)
{
	return (uint8_t)((path == IRQ_VIA_PIC ? PIC_VECTOR_BASE : IOAPIC_VECTOR_BASE) + irq);
}

const char *isa_irq_path_name(void)
{
	return path == IRQ_VIA_PIC ? "8259" : "I/O APIC";
}

/* The I/O APIC and pin serving IRQ `irq`, after the source overrides. */
static bool ioapic_pin(unsigned irq, uint64_t *base, unsigned *pin)
{
	uint32_t gsi = madt.isa_gsi[irq];

	for (int i = 0; i < madt.nioapics; i++) {
		uint32_t pins = ((ioapic_read(madt.ioapic_addr[i], 1) >> 16) & 0xff) + 1;
		if (gsi >= madt.ioapic_gsi_base[i] && gsi < madt.ioapic_gsi_base[i] + pins) {
			*base = madt.ioapic_addr[i];
			*pin = gsi - madt.ioapic_gsi_base[i];
			return true;
		}
	}
	printf("isa-irq: no I/O APIC serves GSI %u (IRQ %u)\n", gsi, irq);
	return false;
}

/* MPS INTI flags to redirection entry bits; "conforms to the bus" (0) is
 * active high, edge triggered for ISA. */
static uint32_t redir_flags(uint16_t inti)
{
	uint32_t flags = 0;

	if ((inti & 3) == 3)
		flags |= IOAPIC_REDIR_ACTIVE_LOW;
	if (((inti >> 2) & 3) == 3)
		flags |= IOAPIC_REDIR_LEVEL;
	return flags;
}

bool isa_irq_enable(unsigned irq)
{
	uint64_t base;
	unsigned pin;

	if (path == IRQ_VIA_PIC) {
		pic_unmask(irq);
		return true;
	}
	if (!ioapic_pin(irq, &base, &pin))
		return false;
	printf("isa-irq: IRQ %u is GSI %u: I/O APIC 0x%lx pin %u\n", irq, madt.isa_gsi[irq], base, pin);
	ioapic_set_redir(base, pin, isa_irq_vector(irq), redir_flags(madt.isa_flags[irq]), lapic_id());
	return true;
}

void isa_irq_disable(unsigned irq)
{
	uint64_t base;
	unsigned pin;

	if (path == IRQ_VIA_PIC)
		pic_mask_all();
	else if (ioapic_pin(irq, &base, &pin))
		ioapic_mask(base, pin);
}

void isa_irq_eoi(unsigned irq)
{
	if (path == IRQ_VIA_PIC)
		pic_eoi(irq);
	else
		lapic_eoi();
}

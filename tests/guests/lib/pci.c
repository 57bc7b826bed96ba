#include "pci.h"

#include "acpi.h"
#include "io.h"
#include "libc.h"

uint32_t pci_read(unsigned slot, unsigned reg, unsigned size)
{
	outl(0xcf8, 0x80000000u | slot << 11 | (reg & 0xfc));
	switch (size) {
	case 1:
		return inb((uint16_t)(0xcfc + (reg & 3)));
	case 2:
		return inw((uint16_t)(0xcfc + (reg & 2)));
	default:
		return inl(0xcfc);
	}
}

void pci_write(unsigned slot, unsigned reg, uint32_t v, unsigned size)
{
	outl(0xcf8, 0x80000000u | slot << 11 | (reg & 0xfc));
	if (size == 1)
		outb((uint16_t)(0xcfc + (reg & 3)), (uint8_t)v);
	else if (size == 2)
		outw((uint16_t)(0xcfc + (reg & 2)), (uint16_t)v);
	else
		outl(0xcfc, v);
}

uint64_t pci_ecam_base(void)
{
	const struct acpi_header *t = acpi_find_table("MCFG");
	uint64_t base;
	if (!t || t->length < 60)
		return 0;
	memcpy(&base, (const uint8_t *)t + 44, 8);
	return base;
}

uint32_t pci_ecam_read32(uint64_t ecam, unsigned slot, unsigned reg)
{
	return mmio_read32(ecam + ((uint64_t)slot << 15) + reg);
}

uint64_t pci_bar_size(unsigned slot, unsigned bar, uint64_t *addr, bool *is64, bool *io)
{
	unsigned reg = PCI_BAR0 + 4 * bar;
	uint32_t cmd = pci_read(slot, PCI_COMMAND, 2);
	uint32_t lo = pci_read(slot, reg, 4), hi = 0, mlo, mhi = 0xffffffffu;
	uint64_t mask;
	*io = lo & 1;
	*is64 = !*io && ((lo >> 1) & 3) == 2;
	pci_write(slot, PCI_COMMAND, cmd & ~(PCI_CMD_IO | PCI_CMD_MEM), 2);
	pci_write(slot, reg, 0xffffffffu, 4);
	mlo = pci_read(slot, reg, 4);
	pci_write(slot, reg, lo, 4);
	if (*is64) {
		hi = pci_read(slot, reg + 4, 4);
		pci_write(slot, reg + 4, 0xffffffffu, 4);
		mhi = pci_read(slot, reg + 4, 4);
		pci_write(slot, reg + 4, hi, 4);
	}
	pci_write(slot, PCI_COMMAND, cmd, 2);
	if (*io) {
		*addr = lo & ~3u;
		mask = (mlo & ~3u) | 0xffff0000u;
		return (uint32_t)(~mask + 1);
	}
	*addr = (lo & ~0xfull) | (uint64_t)hi << 32;
	if (!*is64 && !(mlo & ~0xfu))
		return 0;
	mask = (mlo & ~0xfull) | (uint64_t)mhi << 32;
	if (!*is64)
		mask |= 0xffffffff00000000ull;
	return mask ? ~mask + 1 : 0;
}

int pci_find(uint16_t vendor, uint16_t device)
{
	for (unsigned s = 0; s < 32; s++)
		if (pci_read(s, PCI_VENDOR, 4) == ((uint32_t)device << 16 | vendor))
			return (int)s;
	return -1;
}

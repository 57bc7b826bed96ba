/* test=pci: enumerate bus 0 through the type 1 ports, compare with ECAM
 * (found through the MCFG), check each function's header, capability list,
 * BARs (sized with decoding off, placed in the 32-bit window, reachable
 * only while decoding is on) and interrupt routing, and print one line per
 * function: "pci: 00:SS.0 VVVV:DDDD class CCCCCC". */
#include "io.h"
#include "libc.h"
#include "pci.h"
#include "system.h"
#include "tests.h"

#define WINDOW_LO 0xc0000000ull /* vessel's 32-bit BAR window */
#define WINDOW_HI 0xe0000000ull

static void check_caps(unsigned slot)
{
	unsigned ptr = pci_read(slot, PCI_CAP_PTR, 1), n = 0;
	if (!(pci_read(slot, PCI_STATUS, 2) & PCI_STATUS_CAPS))
		return;
	while (ptr) {
		if (ptr < 0x40 || (ptr & 3) || ++n > 48)
			fail("pci: 00:%02x.0 capability list broken at 0x%x", slot, ptr);
		printf("pci: 00:%02x.0 cap 0x%02x at 0x%02x\n", slot, pci_read(slot, ptr, 1), ptr);
		ptr = pci_read(slot, ptr + 1, 1);
	}
}

static void check_bars(unsigned slot)
{
	for (unsigned b = 0; b < 6; b++) {
		uint64_t addr, size;
		bool is64, io;
		size = pci_bar_size(slot, b, &addr, &is64, &io);
		if (!size)
			continue;
		printf("pci: 00:%02x.0 bar%u %s addr 0x%lx size 0x%lx\n", slot, b,
		       io     ? "io"
		       : is64 ? "mem64"
			      : "mem32",
		       addr, size);
		if (size & (size - 1))
			fail("pci: BAR size 0x%lx is not a power of two", size);
		if (addr & (size - 1))
			fail("pci: BAR at 0x%lx is not aligned to its size", addr);
		if (!io && (addr < WINDOW_LO || addr + size > WINDOW_HI))
			fail("pci: BAR at 0x%lx is outside the 32-bit window", addr);
		/* Still where it was after sizing. */
		{
			uint64_t again;
			pci_bar_size(slot, b, &again, &is64, &io);
			if (again != addr)
				fail("pci: BAR moved from 0x%lx to 0x%lx by sizing", addr, again);
		}
		if (is64)
			b++;
	}
}

/* A memory BAR reads as all-ones while decoding is off. */
static void check_decode(unsigned slot)
{
	uint64_t addr, size;
	bool is64, io;
	uint32_t cmd = pci_read(slot, PCI_COMMAND, 2), off, on;
	size = pci_bar_size(slot, 0, &addr, &is64, &io);
	if (!size || io)
		return;
	on = mmio_read32(addr);
	pci_write(slot, PCI_COMMAND, cmd & ~PCI_CMD_MEM, 2);
	off = mmio_read32(addr);
	pci_write(slot, PCI_COMMAND, cmd, 2);
	if (off != 0xffffffffu)
		fail("pci: 00:%02x.0 BAR0 still decodes with memory space off (0x%x)", slot, off);
	if (mmio_read32(addr) != on)
		fail("pci: 00:%02x.0 BAR0 reads differently after decoding came back", slot);
	printf("pci: 00:%02x.0 decode toggles\n", slot);
}

void test_pci(const char *arg)
{
	uint64_t ecam = pci_ecam_base();
	unsigned found = 0;
	(void)arg;
	if (!ecam)
		fail("pci: no MCFG table");
	printf("pci: ecam 0x%lx\n", ecam);
	for (unsigned slot = 0; slot < 32; slot++) {
		uint32_t id = pci_read(slot, PCI_VENDOR, 4), class;
		if (pci_ecam_read32(ecam, slot, 0) != id)
			fail("pci: 00:%02x.0 reads 0x%x through ports, 0x%x through ECAM", slot, id,
			     pci_ecam_read32(ecam, slot, 0));
		if (id == 0xffffffffu)
			continue;
		found++;
		class = pci_read(slot, PCI_CLASS_REV, 4) >> 8;
		printf("pci: 00:%02x.0 %04x:%04x class %06x\n", slot, id & 0xffff, id >> 16, class);
		if (slot == 0 && class != 0x060000)
			fail("pci: 00:00.0 is not a host bridge");
		if (pci_ecam_read32(ecam, slot, PCI_CLASS_REV) != pci_read(slot, PCI_CLASS_REV, 4))
			fail("pci: class differs between ECAM and ports");
		if (pci_read(slot, PCI_HEADER, 1) & 0x7f)
			fail("pci: 00:%02x.0 header type is not 0", slot);
		if (pci_read(slot, PCI_INT_PIN, 1)) {
			unsigned want = 16 + (slot + pci_read(slot, PCI_INT_PIN, 1) - 1) % 4;
			if (pci_read(slot, PCI_INT_LINE, 1) != want)
				fail("pci: 00:%02x.0 interrupt line %u, want GSI %u", slot,
				     pci_read(slot, PCI_INT_LINE, 1), want);
		}
		check_caps(slot);
		check_bars(slot);
		check_decode(slot);
	}
	/* Byte and word accesses through the ports agree with dwords. */
	if (pci_read(0, 0, 2) != (pci_read(0, 0, 4) & 0xffff) || pci_read(0, 3, 1) != pci_read(0, 0, 4) >> 24)
		fail("pci: narrow configuration reads disagree");
	printf("pci: %u functions\n", found);
	debug_exit(0);
}

/* Device(PCI0) in the DSDT: a PCI Express root bridge (PNP0A08, PCI
 * compatible PNP0A03) on segment 0, the bus range ECAM covers, the windows
 * the BARs live in as its _CRS, and a static _PRT routing each slot's
 * INTA..INTD to the host's four interrupt lines (GSIs, level-triggered and
 * active-low: the ACPI default for GSIs that no MADT override names, so no
 * override is needed). Device(PCIR), a motherboard resource (PNP0C02),
 * reserves the ECAM window, which Linux wants before it trusts the MCFG. */
#include "devices/pci/pci.h"
#include "devices/pci/pci_internal.h"

#include "hw/aml.h"

/* Large resource descriptors (ACPI 6.5 section 6.4.3). */
#define RES_MEM32_FIXED 0x86
#define RES_DWORD_ADDR 0x87
#define RES_WORD_ADDR 0x88
#define RES_QWORD_ADDR 0x8a
#define ADDR_TYPE_MEM 0
#define ADDR_TYPE_IO 1
#define ADDR_TYPE_BUS 2
#define ADDR_FIXED 0x0c	     /* _MIF and _MAF set, positive decode, producer */
#define IO_ENTIRE_RANGE 0x03 /* ISA and non-ISA ranges */
#define MEM_RW_NONCACHE 0x01 /* read-write, non-cacheable */
#define MEM_RW_PREFETCH 0x07 /* read-write, prefetchable */

struct res_buf {
	uint8_t b[256];
	size_t len;
};

static void put(struct res_buf *r, uint64_t v, int n)
{
	for (int i = 0; i < n && r->len < sizeof(r->b); i++)
		r->b[r->len++] = (uint8_t)(v >> (8 * i));
}

/* Word/DWord/QWord address space descriptor: granularity 0, translation 0. */
static void addr_desc(struct res_buf *r, uint8_t tag, int width, uint8_t type, uint8_t tflags, uint64_t min,
		      uint64_t len)
{
	put(r, tag, 1);
	put(r, 3 + 5u * (unsigned)width, 2);
	put(r, type, 1);
	put(r, ADDR_FIXED, 1);
	put(r, tflags, 1);
	put(r, 0, width);
	put(r, min, width);
	put(r, min + len - 1, width);
	put(r, 0, width);
	put(r, len, width);
}

static void end_tag(struct res_buf *r)
{
	put(r, VS_RES_END_TAG, 1);
	put(r, 0, 1);
}

static void name_eisa(struct vs_aml *a, const char *seg, const char *id)
{
	uint32_t v = vs_aml_eisa_id(id);
	vs_aml_name(a, seg);
	vs_aml_byte(a, VS_AML_DWORD_PREFIX);
	vs_aml_bytes(a, &v, sizeof(v));
}

static void pci0_crs(struct vs_pci_host *h, struct vs_aml *a)
{
	struct res_buf r = { .len = 0 };
	const struct pci_window *io = &h->win[PCI_WIN_IO], *m32 = &h->win[PCI_WIN_MEM32],
				*m64 = &h->win[PCI_WIN_MEM64];
	addr_desc(&r, RES_WORD_ADDR, 2, ADDR_TYPE_BUS, 0, 0, h->cfg.ecam_buses);
	/* IO(Decode16, 0xcf8, 0xcf8, 1, 8): the configuration ports. */
	put(&r, VS_RES_IO_TAG, 1);
	put(&r, VS_RES_IO_DECODE16, 1);
	put(&r, 0xcf8, 2);
	put(&r, 0xcf8, 2);
	put(&r, 1, 1);
	put(&r, 8, 1);
	if (io->size)
		addr_desc(&r, RES_WORD_ADDR, 2, ADDR_TYPE_IO, IO_ENTIRE_RANGE, io->base, io->size);
	addr_desc(&r, RES_DWORD_ADDR, 4, ADDR_TYPE_MEM, MEM_RW_NONCACHE, m32->base, m32->size);
	if (m64->size)
		addr_desc(&r, RES_QWORD_ADDR, 8, ADDR_TYPE_MEM, MEM_RW_PREFETCH, m64->base, m64->size);
	end_tag(&r);
	vs_aml_crs(a, r.b, r.len);
}

/* Package(){ Package(){ 0xSSSSFFFF, pin, 0, GSI } ... } for every slot and
 * pin: source 0 means the last element is a global system interrupt. */
static void pci0_prt(struct vs_pci_host *h, struct vs_aml *a)
{
	vs_aml_name(a, "_PRT");
	vs_aml_byte(a, VS_AML_PACKAGE_OP);
	vs_aml_open(a);
	vs_aml_byte(a, VS_PCI_SLOTS * 4);
	for (unsigned int slot = 0; slot < VS_PCI_SLOTS; slot++) {
		for (unsigned int pin = 0; pin < 4; pin++) {
			vs_aml_byte(a, VS_AML_PACKAGE_OP);
			vs_aml_open(a);
			vs_aml_byte(a, 4);
			vs_aml_integer(a, (uint64_t)slot << 16 | 0xffff);
			vs_aml_integer(a, pin);
			vs_aml_integer(a, 0);
			vs_aml_integer(a, h->cfg.intx[(slot + pin) % VS_PCI_INTX_LINES].gsi);
			vs_aml_close(a);
		}
	}
	vs_aml_close(a);
}

void vs_pci_host_aml(struct vs_pci_host *h, struct vs_aml *a)
{
	struct res_buf r = { .len = 0 };

	vs_aml_device_open(a, "PCI0");
	name_eisa(a, "_HID", "PNP0A08");
	name_eisa(a, "_CID", "PNP0A03");
	vs_aml_name(a, "_SEG");
	vs_aml_integer(a, 0);
	vs_aml_name(a, "_BBN");
	vs_aml_integer(a, 0);
	vs_aml_name(a, "_UID");
	vs_aml_integer(a, 0);
	pci0_crs(h, a);
	pci0_prt(h, a);
	vs_aml_close(a);

	/* Memory32Fixed(ReadWrite, ecam_base, ecam size) */
	put(&r, RES_MEM32_FIXED, 1);
	put(&r, 9, 2);
	put(&r, 1, 1);
	put(&r, h->cfg.ecam_base, 4);
	put(&r, (uint64_t)h->cfg.ecam_buses << 20, 4);
	end_tag(&r);
	vs_aml_device_open(a, "PCIR");
	name_eisa(a, "_HID", "PNP0C02");
	vs_aml_name(a, "_UID");
	vs_aml_integer(a, 1);
	vs_aml_crs(a, r.b, r.len);
	vs_aml_close(a);
}

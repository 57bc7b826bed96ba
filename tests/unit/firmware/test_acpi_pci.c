/* ACPI for the PCI host, read back as a guest reads it: the MCFG found
 * through the XSDT, and Device(PCI0) in the DSDT decoded by a small AML
 * walker that accepts only well-formed objects (every PkgLength must end
 * exactly where its contents do), including the _PRT's nested packages. */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "../tap.h"
#include "acpi_read.h"
#include "devices/pci/pci.h"
#include "hw/aml.h"
#include "machine/firmware/firmware.h"
#include "hw/pc_layout.h"

struct dev {
	char name[5];
	uint64_t hid, cid, seg, bbn;
	bool has_hid, has_cid, has_seg, has_bbn;
	uint8_t crs[256];
	size_t crs_len;
	uint64_t prt[VS_PCI_SLOTS * 4][4];
	int nprt;
};

struct walk {
	bool bad;
	struct dev devs[8];
	int ndevs;
};

/* Package of integers or packages; entries of a _PRT go to d->prt. */
static size_t read_package(const uint8_t *p, size_t avail, struct dev *d, bool prt, int depth)
{
	size_t pl, nb, off;
	int count;
	if (depth > 2 || avail < 2 || p[0] != VS_AML_PACKAGE_OP || !aml_pkglen(p + 1, avail - 1, &pl, &nb) ||
	    pl < nb + 1)
		return 0;
	count = p[1 + nb];
	off = 1 + nb + 1;
	for (int i = 0; i < count; i++) {
		uint64_t v;
		size_t used;
		if (p[off] == VS_AML_PACKAGE_OP) {
			if (prt && d && d->nprt < VS_PCI_SLOTS * 4) {
				d->nprt++;
				used = read_package(p + off, 1 + pl - off, d, false, depth + 1);
			} else {
				used = read_package(p + off, 1 + pl - off, NULL, false, depth + 1);
			}
		} else {
			used = aml_read_int(p + off, 1 + pl - off, &v);
			if (used && d && !prt && d->nprt > 0 && i < 4)
				d->prt[d->nprt - 1][i] = v;
		}
		if (!used)
			return 0;
		off += used;
	}
	return off == 1 + pl ? off : 0;
}

static size_t read_data(const uint8_t *p, size_t avail, const char *seg, struct dev *d)
{
	size_t pl, nb, used;
	uint64_t v;
	if (avail < 1)
		return 0;
	if (p[0] == VS_AML_PACKAGE_OP) {
		if (d && memcmp(seg, "_PRT", 4) == 0)
			return read_package(p, avail, d, true, 0);
		return read_package(p, avail, NULL, false, 0);
	}
	if (p[0] == VS_AML_BUFFER_OP) {
		if (!aml_pkglen(p + 1, avail - 1, &pl, &nb))
			return 0;
		used = aml_read_int(p + 1 + nb, pl - nb, &v);
		if (!used || v != pl - nb - used)
			return 0;
		if (d && memcmp(seg, "_CRS", 4) == 0 && v <= sizeof(d->crs)) {
			memcpy(d->crs, p + 1 + nb + used, (size_t)v);
			d->crs_len = (size_t)v;
		}
		return 1 + pl;
	}
	if (p[0] == VS_AML_STRING_PREFIX) {
		const uint8_t *end = memchr(p + 1, 0, avail - 1);
		return end ? (size_t)(end - p) + 1 : 0;
	}
	used = aml_read_int(p, avail, &v);
	if (used && d) {
		if (!memcmp(seg, "_HID", 4))
			d->hid = v, d->has_hid = true;
		else if (!memcmp(seg, "_CID", 4))
			d->cid = v, d->has_cid = true;
		else if (!memcmp(seg, "_SEG", 4))
			d->seg = v, d->has_seg = true;
		else if (!memcmp(seg, "_BBN", 4))
			d->bbn = v, d->has_bbn = true;
	}
	return used;
}

static bool read_terms(const uint8_t *p, size_t len, struct dev *d, struct walk *w, int depth)
{
	size_t off = 0, pl, nb, used;
	if (depth > 4)
		return false;
	while (off < len) {
		const uint8_t *q = p + off;
		size_t avail = len - off;
		if (q[0] == VS_AML_NAME_OP && avail >= 5) {
			char seg[5] = { 0 };
			memcpy(seg, q + 1, 4);
			used = read_data(q + 5, avail - 5, seg, d);
			if (!used)
				return false;
			off += 5 + used;
		} else if (q[0] == VS_AML_SCOPE_OP) {
			if (!aml_pkglen(q + 1, avail - 1, &pl, &nb) || pl < nb + 5)
				return false;
			if (!read_terms(q + 1 + nb + 5, pl - nb - 5, NULL, w, depth + 1))
				return false;
			off += 1 + pl;
		} else if (q[0] == VS_AML_EXT_OP_PREFIX && avail >= 2 && q[1] == VS_AML_DEVICE_OP) {
			struct dev *nd;
			if (!aml_pkglen(q + 2, avail - 2, &pl, &nb) || pl < nb + 4 || w->ndevs >= 8)
				return false;
			nd = &w->devs[w->ndevs++];
			memset(nd, 0, sizeof(*nd));
			memcpy(nd->name, q + 2 + nb, 4);
			if (!read_terms(q + 2 + nb + 4, pl - nb - 4, nd, w, depth + 1))
				return false;
			off += 2 + pl;
		} else {
			return false;
		}
	}
	return off == len;
}

static const struct dev *find_dev(const struct walk *w, const char *name)
{
	for (int i = 0; i < w->ndevs; i++)
		if (!memcmp(w->devs[i].name, name, 4))
			return &w->devs[i];
	return NULL;
}

/* Find an address space descriptor of `type` in a resource template. */
static const uint8_t *find_res(const uint8_t *crs, size_t len, uint8_t tag, uint8_t type)
{
	size_t off = 0;
	while (off < len) {
		const uint8_t *r = crs + off;
		size_t n = r[0] & 0x80 ? 3u + (size_t)(r[1] | r[2] << 8) : 1u + (r[0] & 7u);
		if (r[0] == tag && (!(tag & 0x80) || (tag == 0x86 || r[3] == type)))
			return r;
		if (r[0] == VS_RES_END_TAG)
			return NULL;
		off += n;
	}
	return NULL;
}

static void set_level(void *opaque, uint32_t gsi, int level)
{
	(void)opaque, (void)gsi, (void)level;
}

TEST(mcfg_and_pci0)
{
	struct vs_guest_mem mem;
	struct vs_firmware_config cfg;
	struct vs_devices devices = { 0 };
	struct vs_error err = { 0 };
	struct vs_pci_host *host;
	struct vs_pci_host_config hc = {
		.ecam_base = VS_PCI_ECAM_BASE,
		.ecam_buses = VS_PCI_ECAM_BUSES,
		.mmio32_base = VS_PCI_MMIO32_BASE,
		.mmio32_size = VS_PCI_MMIO32_SIZE,
		.mmio64_base = 8ull << 30,
		.mmio64_size = VS_PCI_MMIO64_SIZE,
		.io_base = VS_PCI_IO_BASE,
		.io_size = VS_PCI_IO_SIZE,
	};
	struct vs_device dev;
	const uint8_t *rsdp, *xsdt, *fadt = NULL, *mcfg = NULL, *dsdt;
	struct walk w = { 0 };
	const struct dev *pci0, *pcir;
	const uint8_t *r;
	int mcfgs = 0;

	for (uint32_t i = 0; i < 4; i++)
		hc.intx[i] = (struct vs_irq_line){ set_level, NULL, VS_PCI_GSI_BASE + i };
	CHECK(vs_guest_mem_create(&mem, VS_MEM_MIN, &err) == 0);
	CHECK(vs_pci_host_create(&hc, &host, &err) == 0);
	dev = vs_pci_host_device(host);
	CHECK(vs_devices_add(&devices, &dev, &err) == 0);
	vs_firmware_default_config(&cfg, 2);
	cfg.devices = &devices;
	cfg.pci_ecam_base = VS_PCI_ECAM_BASE;
	cfg.pci_bus_end = 255;
	CHECK(vs_acpi_build(&mem, VS_ACPI_ADDR, VS_MPTABLE_ADDR - VS_ACPI_ADDR, &cfg, &err) > 0);

	rsdp = vs_gpa_ptr(&mem, VS_ACPI_ADDR, 36);
	xsdt = vs_gpa_ptr(&mem, acpi_rd64(rsdp + 24), 36);
	CHECK(xsdt && !memcmp(xsdt, "XSDT", 4));
	for (uint32_t i = 0; xsdt && i < (acpi_rd32(xsdt + 4) - 36) / 8; i++) {
		const uint8_t *t = vs_gpa_ptr(&mem, acpi_rd64(xsdt + 36 + 8 * i), 36);
		CHECK(t != NULL);
		if (t && !memcmp(t, "MCFG", 4))
			mcfg = t, mcfgs++;
		if (t && !memcmp(t, "FACP", 4))
			fadt = t;
	}
	CHECK_EQ_U64(mcfgs, 1);
	if (mcfg) {
		CHECK_EQ_U64(acpi_rd32(mcfg + 4), 60);
		CHECK_EQ_U64(acpi_sum8(mcfg, 60), 0);
		CHECK_EQ_U64(acpi_rd64(mcfg + 44), VS_PCI_ECAM_BASE);
		CHECK_EQ_U64(mcfg[52] | mcfg[53] << 8, 0); /* segment */
		CHECK_EQ_U64(mcfg[54], 0);
		CHECK_EQ_U64(mcfg[55], 255);
	}
	/* No MSI sink: the FADT says MSI is not supported. */
	CHECK(fadt && (fadt[109] & 0x08));

	dsdt = vs_gpa_ptr(&mem, acpi_rd64(fadt + 140), 36);
	CHECK(dsdt && !memcmp(dsdt, "DSDT", 4));
	CHECK_EQ_U64(acpi_sum8(dsdt, acpi_rd32(dsdt + 4)), 0);
	CHECK(read_terms(dsdt + 36, acpi_rd32(dsdt + 4) - 36, NULL, &w, 0));
	pci0 = find_dev(&w, "PCI0");
	pcir = find_dev(&w, "PCIR");
	CHECK(pci0 && pcir);
	if (pci0) {
		CHECK(pci0->has_hid && pci0->hid == vs_aml_eisa_id("PNP0A08"));
		CHECK(pci0->has_cid && pci0->cid == vs_aml_eisa_id("PNP0A03"));
		CHECK(pci0->has_seg && pci0->seg == 0);
		CHECK(pci0->has_bbn && pci0->bbn == 0);
		/* Every slot and pin, swizzled onto GSI 16-19. */
		CHECK_EQ_U64(pci0->nprt, 128);
		for (int i = 0; i < pci0->nprt; i++) {
			uint64_t slot = (uint64_t)i / 4, pin = (uint64_t)i % 4;
			CHECK_EQ_U64(pci0->prt[i][0], slot << 16 | 0xffff);
			CHECK_EQ_U64(pci0->prt[i][1], pin);
			CHECK_EQ_U64(pci0->prt[i][2], 0);
			CHECK_EQ_U64(pci0->prt[i][3], 16 + (slot + pin) % 4);
		}
		r = find_res(pci0->crs, pci0->crs_len, 0x88, 2); /* bus numbers */
		CHECK(r && r[8] == 0 && r[10] == 0xff && (r[14] | r[15] << 8) == 256);
		r = find_res(pci0->crs, pci0->crs_len, 0x88, 1); /* I/O window */
		CHECK(r && (r[8] | r[9] << 8) == VS_PCI_IO_BASE);
		r = find_res(pci0->crs, pci0->crs_len, 0x87, 0); /* 32-bit window */
		CHECK(r && acpi_rd32(r + 10) == VS_PCI_MMIO32_BASE &&
		      acpi_rd32(r + 14) == VS_PCI_MMIO32_BASE + VS_PCI_MMIO32_SIZE - 1);
		r = find_res(pci0->crs, pci0->crs_len, 0x8a, 0); /* 64-bit window */
		CHECK(r && acpi_rd64(r + 14) == (8ull << 30) && acpi_rd64(r + 38) == VS_PCI_MMIO64_SIZE);
		r = find_res(pci0->crs, pci0->crs_len, 0x47, 0); /* config ports */
		CHECK(r && (r[2] | r[3] << 8) == 0xcf8 && r[7] == 8);
		CHECK(pci0->crs_len >= 2 && pci0->crs[pci0->crs_len - 2] == VS_RES_END_TAG);
	}
	if (pcir) {
		CHECK(pcir->has_hid && pcir->hid == vs_aml_eisa_id("PNP0C02"));
		r = find_res(pcir->crs, pcir->crs_len, 0x86, 0);
		CHECK(r && acpi_rd32(r + 4) == VS_PCI_ECAM_BASE && acpi_rd32(r + 8) == 256u << 20);
	}
	vs_devices_release(&devices);
	vs_guest_mem_release(&mem);
}

VS_TAP_MAIN(TAP_CASE(mcfg_and_pci0))

/* ACPI tables for the PC machine, laid out one after another from the
 * RSDP: RSDP, XSDT, RSDT, FADT, FACS, DSDT, MADT, and MCFG when the board
 * has a PCI host (its ECAM window; Device(PCI0) itself is in the DSDT).
 *
 * Revisions follow ACPI 6.5 (FADT 6.5, MADT 6, FACS 2, DSDT 2 so AML
 * integers are 64-bit). The machine is a full (not hardware-reduced)
 * ACPI PC: PM1a event and control blocks, an SCI, a reset register, no
 * SMM (SMI_CMD = 0 tells the OS that ACPI mode is always on), no PM
 * timer, no GPE blocks.
 *
 * Interrupt model, shared with the MP table (mptable.c):
 *  - local APIC of CPU n has APIC ID n and ACPI processor UID n;
 *  - one I/O APIC with ID ncpus (never a CPU's APIC ID), GSI base 0;
 *  - ISA IRQ 0 (PIT) is GSI 2, every other ISA IRQ n is GSI n;
 *  - the SCI is level-triggered and active-low, the ACPI convention for
 *    the SCI; an explicit override says so rather than relying on the
 *    OS's default;
 *  - LINT1 of every local APIC is NMI.
 *
 * Every structure is read by the guest byte for byte: they are packed
 * and filled in host byte order, which is correct because vessel only
 * runs on little-endian x86-64 hosts (ACPI is little-endian).
 */
#include "machine/firmware/firmware.h"
#include "machine/firmware/firmware_internal.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "hw/aml.h"
#include "hw/device.h"
#include "hw/pc_layout.h"
#include "util/cleanup.h"

#define ACPI_OEM_ID "VESSEL"
#define ACPI_OEM_TABLE_ID "VESSELPC"
#define ACPI_OEM_REVISION 1
#define ACPI_CREATOR_ID "VSSL"
#define ACPI_CREATOR_REVISION 1
#define ACPI_MAX_CPUS 254 /* APIC IDs 0..253 plus the I/O APIC ID: 0xff is broadcast */
#define ACPI_ISA_IRQS 16
#define ACPI_TABLE_ALIGN 16

/* ---- Structures (ACPI 6.5 chapter 5.2) ---- */

struct acpi_header {
	char signature[4];
	uint32_t length;
	uint8_t revision;
	uint8_t checksum;
	char oem_id[6];
	char oem_table_id[8];
	uint32_t oem_revision;
	char creator_id[4];
	uint32_t creator_revision;
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_header) == 36, "ACPI table header is 36 bytes");

struct acpi_rsdp {
	char signature[8]; /* "RSD PTR " */
	uint8_t checksum;  /* over the first 20 bytes (the ACPI 1.0 structure) */
	char oem_id[6];
	uint8_t revision; /* 2: ACPI 2.0+ structure with XSDT */
	uint32_t rsdt_addr;
	uint32_t length;
	uint64_t xsdt_addr;
	uint8_t ext_checksum; /* over all 36 bytes */
	uint8_t reserved[3];
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_rsdp) == 36, "RSDP is 36 bytes");
#define ACPI_RSDP_V1_LEN 20

/* Generic Address Structure */
struct acpi_gas {
	uint8_t space_id;
	uint8_t bit_width;
	uint8_t bit_offset;
	uint8_t access_size;
	uint64_t address;
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_gas) == 12, "GAS is 12 bytes");

#define ACPI_SPACE_SYSTEM_IO 1
#define ACPI_ACCESS_BYTE 1
#define ACPI_ACCESS_WORD 2

struct acpi_fadt {
	struct acpi_header hdr;
	uint32_t firmware_ctrl;
	uint32_t dsdt;
	uint8_t reserved0; /* INT_MODEL in ACPI 1.0 */
	uint8_t preferred_pm_profile;
	uint16_t sci_int;
	uint32_t smi_cmd;
	uint8_t acpi_enable;
	uint8_t acpi_disable;
	uint8_t s4bios_req;
	uint8_t pstate_cnt;
	uint32_t pm1a_evt_blk;
	uint32_t pm1b_evt_blk;
	uint32_t pm1a_cnt_blk;
	uint32_t pm1b_cnt_blk;
	uint32_t pm2_cnt_blk;
	uint32_t pm_tmr_blk;
	uint32_t gpe0_blk;
	uint32_t gpe1_blk;
	uint8_t pm1_evt_len;
	uint8_t pm1_cnt_len;
	uint8_t pm2_cnt_len;
	uint8_t pm_tmr_len;
	uint8_t gpe0_blk_len;
	uint8_t gpe1_blk_len;
	uint8_t gpe1_base;
	uint8_t cst_cnt;
	uint16_t p_lvl2_lat;
	uint16_t p_lvl3_lat;
	uint16_t flush_size;
	uint16_t flush_stride;
	uint8_t duty_offset;
	uint8_t duty_width;
	uint8_t day_alrm;
	uint8_t mon_alrm;
	uint8_t century;
	uint16_t iapc_boot_arch;
	uint8_t reserved1;
	uint32_t flags;
	struct acpi_gas reset_reg;
	uint8_t reset_value;
	uint16_t arm_boot_arch;
	uint8_t minor_version;
	uint64_t x_firmware_ctrl;
	uint64_t x_dsdt;
	struct acpi_gas x_pm1a_evt_blk;
	struct acpi_gas x_pm1b_evt_blk;
	struct acpi_gas x_pm1a_cnt_blk;
	struct acpi_gas x_pm1b_cnt_blk;
	struct acpi_gas x_pm2_cnt_blk;
	struct acpi_gas x_pm_tmr_blk;
	struct acpi_gas x_gpe0_blk;
	struct acpi_gas x_gpe1_blk;
	struct acpi_gas sleep_control_reg;
	struct acpi_gas sleep_status_reg;
	uint64_t hypervisor_vendor_id;
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_fadt) == 276, "FADT revision 6 is 276 bytes");
_Static_assert(offsetof(struct acpi_fadt, pm1_evt_len) == 88, "FADT layout");
_Static_assert(offsetof(struct acpi_fadt, flags) == 112, "FADT layout");
_Static_assert(offsetof(struct acpi_fadt, x_firmware_ctrl) == 132, "FADT layout");
_Static_assert(offsetof(struct acpi_fadt, x_pm1a_evt_blk) == 148, "FADT layout");
_Static_assert(offsetof(struct acpi_fadt, sleep_control_reg) == 244, "FADT layout");

#define FADT_REVISION 6
#define FADT_MINOR_VERSION 5

/* FADT fixed feature flags */
#define FADT_F_WBINVD (1u << 0)
#define FADT_F_PROC_C1 (1u << 2)
#define FADT_F_PWR_BUTTON (1u << 4) /* set: no fixed-feature power button */
#define FADT_F_SLP_BUTTON (1u << 5) /* set: no fixed-feature sleep button */
#define FADT_F_FIX_RTC (1u << 6)    /* set: no RTC wake status in PM1 */
#define FADT_F_RESET_REG_SUP (1u << 10)

/* IA-PC boot architecture flags */
#define FADT_BOOT_LEGACY_DEVICES (1u << 0)
#define FADT_BOOT_8042 (1u << 1)
#define FADT_BOOT_VGA_NOT_PRESENT (1u << 2)
#define FADT_BOOT_MSI_NOT_SUPPORTED (1u << 3)

/* Latencies above these limits mean "C2/C3 not supported". */
#define FADT_C2_NOT_SUPPORTED 101
#define FADT_C3_NOT_SUPPORTED 1001

#define ACPI_PM1_EVT_LEN 4 /* PM1_STS and PM1_EN, 16 bits each */
#define ACPI_PM1_CNT_LEN 2

struct acpi_facs {
	char signature[4];
	uint32_t length;
	uint32_t hardware_signature;
	uint32_t firmware_waking_vector;
	uint32_t global_lock;
	uint32_t flags;
	uint64_t x_firmware_waking_vector;
	uint8_t version;
	uint8_t reserved0[3];
	uint32_t ospm_flags;
	uint8_t reserved1[24];
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_facs) == 64, "FACS is 64 bytes");
#define FACS_VERSION 2
#define FACS_ALIGN 64

struct acpi_madt {
	struct acpi_header hdr;
	uint32_t lapic_addr;
	uint32_t flags;
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_madt) == 44, "MADT header is 44 bytes");
#define MADT_REVISION 6
#define MADT_PCAT_COMPAT (1u << 0)

enum madt_type {
	MADT_LAPIC = 0,
	MADT_IOAPIC = 1,
	MADT_ISO = 2,
	MADT_LAPIC_NMI = 4,
};

struct madt_lapic {
	uint8_t type;
	uint8_t length;
	uint8_t processor_uid;
	uint8_t apic_id;
	uint32_t flags;
} __attribute__((packed));
_Static_assert(sizeof(struct madt_lapic) == 8, "MADT local APIC entry is 8 bytes");
#define MADT_LAPIC_ENABLED (1u << 0)

struct madt_ioapic {
	uint8_t type;
	uint8_t length;
	uint8_t id;
	uint8_t reserved;
	uint32_t addr;
	uint32_t gsi_base;
} __attribute__((packed));
_Static_assert(sizeof(struct madt_ioapic) == 12, "MADT I/O APIC entry is 12 bytes");

struct madt_iso {
	uint8_t type;
	uint8_t length;
	uint8_t bus;	/* 0: ISA */
	uint8_t source; /* ISA IRQ */
	uint32_t gsi;
	uint16_t flags; /* MPS INTI flags */
} __attribute__((packed));
_Static_assert(sizeof(struct madt_iso) == 10, "MADT interrupt source override is 10 bytes");

struct madt_lapic_nmi {
	uint8_t type;
	uint8_t length;
	uint8_t processor_uid; /* 0xff: all processors */
	uint16_t flags;
	uint8_t lint;
} __attribute__((packed));
_Static_assert(sizeof(struct madt_lapic_nmi) == 6, "MADT local APIC NMI entry is 6 bytes");

/* MPS INTI flags: polarity in bits 0-1, trigger mode in bits 2-3. */
#define MPS_INTI_CONFORMING 0x0
#define MPS_INTI_ACTIVE_LOW 0x3
#define MPS_INTI_LEVEL (0x3 << 2)
#define MADT_ALL_PROCESSORS 0xff

#define ACPI_TIMER_GSI 2

/* MCFG (PCI Firmware Specification 3.2, section 4.1.2): one allocation
 * per ECAM window. */
struct acpi_mcfg {
	struct acpi_header hdr;
	uint8_t reserved[8];
} __attribute__((packed));

struct mcfg_alloc {
	uint64_t base;
	uint16_t segment;
	uint8_t start_bus;
	uint8_t end_bus;
	uint32_t reserved;
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_mcfg) + sizeof(struct mcfg_alloc) == 60, "MCFG with one entry is 60 bytes");

/* ---- Helpers ---- */

/* Fill `*field` (inside [p, p+len)) so the bytes sum to zero. */
static void acpi_fix_checksum(void *p, size_t len, uint8_t *field)
{
	*field = 0;
	*field = vs_fw_checksum(p, len);
}

static void acpi_header_init(struct acpi_header *h, const char *sig, uint32_t len, uint8_t rev)
{
	memcpy(h->signature, sig, 4);
	h->length = len;
	h->revision = rev;
	vs_fw_put_id(h->oem_id, sizeof(h->oem_id), ACPI_OEM_ID);
	vs_fw_put_id(h->oem_table_id, sizeof(h->oem_table_id), ACPI_OEM_TABLE_ID);
	h->oem_revision = ACPI_OEM_REVISION;
	memcpy(h->creator_id, ACPI_CREATOR_ID, 4);
	h->creator_revision = ACPI_CREATOR_REVISION;
}

static void acpi_header_seal(struct acpi_header *h)
{
	acpi_fix_checksum(h, h->length, &h->checksum);
}

static struct acpi_gas acpi_io_gas(uint16_t port, uint8_t bytes, uint8_t access)
{
	return (struct acpi_gas){
		.space_id = ACPI_SPACE_SYSTEM_IO,
		.bit_width = (uint8_t)(bytes * 8),
		.bit_offset = 0,
		.access_size = access,
		.address = port,
	};
}

/* The area the tables go in: a host view of [gpa, gpa + size), zeroed
 * before use, handed out front to back. */
struct acpi_area {
	uint8_t *host;
	uint64_t gpa;
	uint64_t size;
	uint64_t used;
};

/* Offset of the next free byte aligned to `align` (a power of two), and
 * how many bytes are left from there; 0 left when past the end. */
static uint64_t acpi_area_next(const struct acpi_area *a, uint64_t align, uint64_t *left)
{
	uint64_t off = VS_ALIGN_UP(a->gpa + a->used, align) - a->gpa;
	*left = off <= a->size ? a->size - off : 0;
	return off;
}

static void *acpi_area_take(struct acpi_area *a, uint64_t len, uint64_t align, uint64_t *gpa)
{
	uint64_t left, off = acpi_area_next(a, align, &left);
	if (len > left)
		return NULL;
	a->used = off + len;
	*gpa = a->gpa + off;
	return a->host + off;
}

/* Device(Cnnn) { _HID "ACPI0007", _UID n }: processor n, matched to the
 * MADT local APIC entry whose processor UID is n. */
static void aml_cpu(struct vs_aml *a, int n)
{
	char seg[8];
	snprintf(seg, sizeof(seg), "C%03X", (unsigned int)n & 0xfff);
	vs_aml_device_open(a, seg);
	vs_aml_name(a, "_HID");
	vs_aml_string(a, "ACPI0007");
	vs_aml_name(a, "_UID");
	vs_aml_integer(a, (uint64_t)n);
	vs_aml_close(a);
}

/* The DSDT body (after the header):
 *   Name(_S5_, Package(){S5, S5, 0, 0})
 *   Scope(\_SB_) { the board's devices, e.g. Device(COM1) {...}  Device(C000) {...} ... } */
static void aml_dsdt_body(struct vs_aml *a, const struct vs_firmware_config *cfg)
{
	/* _S5_: SLP_TYP values for PM1a_CNT and PM1b_CNT, then two reserved. */
	vs_aml_name(a, "_S5_");
	vs_aml_byte(a, VS_AML_PACKAGE_OP);
	vs_aml_open(a);
	vs_aml_byte(a, 4); /* NumElements */
	vs_aml_integer(a, cfg->slp_typ_s5);
	vs_aml_integer(a, cfg->slp_typ_s5);
	vs_aml_integer(a, 0);
	vs_aml_integer(a, 0);
	vs_aml_close(a);

	vs_aml_byte(a, VS_AML_SCOPE_OP);
	vs_aml_open(a);
	vs_aml_byte(a, VS_AML_ROOT_CHAR);
	vs_aml_nameseg(a, "_SB_");
	if (cfg->devices)
		vs_devices_aml(cfg->devices, a);
	for (int i = 0; i < cfg->ncpus; i++)
		aml_cpu(a, i);
	vs_aml_close(a);
}

/* ---- Tables ---- */

static int acpi_check_config(const struct vs_firmware_config *cfg, struct vs_error *err)
{
	if (cfg->ncpus < 1 || cfg->ncpus > ACPI_MAX_CPUS)
		return vs_error_msg(err, "ACPI: %d CPUs is outside 1..%d", cfg->ncpus, ACPI_MAX_CPUS);
	if (cfg->ioapic_id < cfg->ncpus)
		return vs_error_msg(err, "ACPI: I/O APIC ID %u is also a CPU's APIC ID", cfg->ioapic_id);
	if (cfg->ioapic_pins < ACPI_ISA_IRQS || cfg->ioapic_pins > 240)
		return vs_error_msg(err, "ACPI: an I/O APIC with %d pins cannot take the ISA IRQs",
				    cfg->ioapic_pins);
	if (cfg->lapic_addr > UINT32_MAX || cfg->ioapic_addr > UINT32_MAX)
		return vs_error_msg(err, "ACPI: APIC addresses must be below 4 GiB");
	if (cfg->sci_irq >= ACPI_ISA_IRQS || cfg->sci_irq == 0 || cfg->sci_irq == 2)
		return vs_error_msg(err, "ACPI: SCI IRQ %u is not a usable ISA IRQ", cfg->sci_irq);
	if (cfg->slp_typ_s5 > 7)
		return vs_error_msg(err, "ACPI: SLP_TYP %u does not fit 3 bits", cfg->slp_typ_s5);
	return 0;
}

static int acpi_build_dsdt(struct acpi_area *area, const struct vs_firmware_config *cfg, uint64_t *gpa)
{
	struct acpi_header *h;
	struct vs_aml a = { 0 };
	uint64_t left, off = acpi_area_next(area, ACPI_TABLE_ALIGN, &left);

	if (left < sizeof(*h))
		return -1;
	a.buf = area->host + off + sizeof(*h);
	a.cap = left - sizeof(*h);
	aml_dsdt_body(&a, cfg);
	if (a.overflow || a.depth != 0)
		return -1;
	h = acpi_area_take(area, sizeof(*h) + a.len, ACPI_TABLE_ALIGN, gpa);
	if (!h)
		return -1;
	acpi_header_init(h, "DSDT", (uint32_t)(sizeof(*h) + a.len), 2);
	acpi_header_seal(h);
	return 0;
}

static void acpi_fill_madt(struct acpi_madt *madt, uint32_t len, const struct vs_firmware_config *cfg)
{
	uint8_t *p = (uint8_t *)(madt + 1);
	struct madt_lapic *lapic;
	struct madt_ioapic *io;
	struct madt_iso *iso;
	struct madt_lapic_nmi *nmi;

	acpi_header_init(&madt->hdr, "APIC", len, MADT_REVISION);
	madt->lapic_addr = (uint32_t)cfg->lapic_addr;
	madt->flags = MADT_PCAT_COMPAT; /* the dual 8259 is there too */

	for (int i = 0; i < cfg->ncpus; i++) {
		lapic = (struct madt_lapic *)p;
		lapic->type = MADT_LAPIC;
		lapic->length = sizeof(*lapic);
		lapic->processor_uid = (uint8_t)i;
		lapic->apic_id = (uint8_t)i;
		lapic->flags = MADT_LAPIC_ENABLED;
		p += sizeof(*lapic);
	}

	io = (struct madt_ioapic *)p;
	io->type = MADT_IOAPIC;
	io->length = sizeof(*io);
	io->id = cfg->ioapic_id;
	io->addr = (uint32_t)cfg->ioapic_addr;
	io->gsi_base = 0;
	p += sizeof(*io);

	iso = (struct madt_iso *)p;
	iso->type = MADT_ISO;
	iso->length = sizeof(*iso);
	iso->bus = 0;
	iso->source = 0;
	iso->gsi = ACPI_TIMER_GSI;
	iso->flags = MPS_INTI_CONFORMING;
	p += sizeof(*iso);

	iso = (struct madt_iso *)p;
	iso->type = MADT_ISO;
	iso->length = sizeof(*iso);
	iso->bus = 0;
	iso->source = cfg->sci_irq;
	iso->gsi = cfg->sci_irq;
	iso->flags = MPS_INTI_ACTIVE_LOW | MPS_INTI_LEVEL;
	p += sizeof(*iso);

	nmi = (struct madt_lapic_nmi *)p;
	nmi->type = MADT_LAPIC_NMI;
	nmi->length = sizeof(*nmi);
	nmi->processor_uid = MADT_ALL_PROCESSORS;
	nmi->flags = MPS_INTI_CONFORMING;
	nmi->lint = 1;
	acpi_header_seal(&madt->hdr);
}

static void acpi_fill_fadt(struct acpi_fadt *f, uint64_t facs, uint64_t dsdt,
			   const struct vs_firmware_config *cfg)
{
	acpi_header_init(&f->hdr, "FACP", sizeof(*f), FADT_REVISION);
	/* Both the 32- and 64-bit pointers carry the same address (all are
	 * below 4 GiB): ACPI 1.0 readers see the first, ACPICA and Windows
	 * accept equal values. */
	f->firmware_ctrl = (uint32_t)facs;
	f->dsdt = (uint32_t)dsdt;
	f->x_firmware_ctrl = facs;
	f->x_dsdt = dsdt;
	f->sci_int = cfg->sci_irq;
	f->smi_cmd = 0; /* no SMM: the hardware is in ACPI mode from reset */

	f->pm1a_evt_blk = cfg->pm1a_evt_port;
	f->pm1a_cnt_blk = cfg->pm1a_cnt_port;
	f->pm1_evt_len = ACPI_PM1_EVT_LEN;
	f->pm1_cnt_len = ACPI_PM1_CNT_LEN;
	f->x_pm1a_evt_blk = acpi_io_gas(cfg->pm1a_evt_port, ACPI_PM1_EVT_LEN, ACPI_ACCESS_WORD);
	f->x_pm1a_cnt_blk = acpi_io_gas(cfg->pm1a_cnt_port, ACPI_PM1_CNT_LEN, ACPI_ACCESS_WORD);
	/* No PM timer (PM_TMR_BLK/LEN 0): guests use the TSC, HPET or PIT. */

	f->p_lvl2_lat = FADT_C2_NOT_SUPPORTED;
	f->p_lvl3_lat = FADT_C3_NOT_SUPPORTED;
	/* CMOS RTC Not Present stays clear. */
	f->iapc_boot_arch = FADT_BOOT_LEGACY_DEVICES | FADT_BOOT_8042 | FADT_BOOT_VGA_NOT_PRESENT;
	if (!cfg->msi)
		f->iapc_boot_arch |= FADT_BOOT_MSI_NOT_SUPPORTED;
	/* No power or sleep button and no RTC wake status in PM1: the
	 * corresponding fixed-feature bits say "not present" when set. */
	f->flags = FADT_F_WBINVD | FADT_F_PROC_C1 | FADT_F_PWR_BUTTON | FADT_F_SLP_BUTTON | FADT_F_FIX_RTC |
		   FADT_F_RESET_REG_SUP;
	f->reset_reg = acpi_io_gas(cfg->reset_port, 1, ACPI_ACCESS_BYTE);
	f->reset_value = cfg->reset_value;
	f->minor_version = FADT_MINOR_VERSION;
	acpi_header_seal(&f->hdr);
}

static void acpi_fill_facs(struct acpi_facs *facs)
{
	memcpy(facs->signature, "FACS", 4);
	facs->length = sizeof(*facs);
	facs->version = FACS_VERSION;
	/* No checksum: the OS writes the global lock and waking vector. */
}

static uint32_t acpi_madt_len(int ncpus)
{
	return (uint32_t)(sizeof(struct acpi_madt) + (size_t)ncpus * sizeof(struct madt_lapic) +
			  sizeof(struct madt_ioapic) + 2 * sizeof(struct madt_iso) +
			  sizeof(struct madt_lapic_nmi));
}

/* Lay the tables out; returns false when the area is too small. */
static bool acpi_layout(struct acpi_area *area, const struct vs_firmware_config *cfg)
{
	/* FADT, MADT and MCFG; the DSDT and FACS hang off the FADT. */
	enum { MAX_TABLES = 3 };
	const uint32_t ntables = cfg->pci_ecam_base ? 3 : 2;
	uint64_t rsdp_gpa = 0, xsdt_gpa = 0, rsdt_gpa = 0, fadt_gpa = 0, facs_gpa = 0, dsdt_gpa = 0,
		 madt_gpa = 0, mcfg_gpa = 0;
	const uint32_t xsdt_len = sizeof(struct acpi_header) + ntables * sizeof(uint64_t);
	const uint32_t rsdt_len = sizeof(struct acpi_header) + ntables * sizeof(uint32_t);
	const uint32_t mcfg_len = sizeof(struct acpi_mcfg) + sizeof(struct mcfg_alloc);
	struct acpi_mcfg *mcfg = NULL;
	const uint32_t madt_len = acpi_madt_len(cfg->ncpus);
	struct acpi_rsdp *rsdp;
	struct acpi_header *xsdt, *rsdt;
	struct acpi_fadt *fadt;
	struct acpi_facs *facs;
	struct acpi_madt *madt;
	uint64_t xent[MAX_TABLES];
	uint32_t rent[MAX_TABLES];

	rsdp = acpi_area_take(area, sizeof(*rsdp), ACPI_TABLE_ALIGN, &rsdp_gpa);
	xsdt = acpi_area_take(area, xsdt_len, ACPI_TABLE_ALIGN, &xsdt_gpa);
	rsdt = acpi_area_take(area, rsdt_len, ACPI_TABLE_ALIGN, &rsdt_gpa);
	fadt = acpi_area_take(area, sizeof(*fadt), ACPI_TABLE_ALIGN, &fadt_gpa);
	facs = acpi_area_take(area, sizeof(*facs), FACS_ALIGN, &facs_gpa);
	if (!rsdp || !xsdt || !rsdt || !fadt || !facs)
		return false;
	if (acpi_build_dsdt(area, cfg, &dsdt_gpa) < 0)
		return false;
	madt = acpi_area_take(area, madt_len, ACPI_TABLE_ALIGN, &madt_gpa);
	if (!madt)
		return false;
	if (cfg->pci_ecam_base) {
		struct mcfg_alloc alloc = { cfg->pci_ecam_base, 0, 0, cfg->pci_bus_end, 0 };
		mcfg = acpi_area_take(area, mcfg_len, ACPI_TABLE_ALIGN, &mcfg_gpa);
		if (!mcfg)
			return false;
		acpi_header_init(&mcfg->hdr, "MCFG", mcfg_len, 1);
		memcpy(mcfg + 1, &alloc, sizeof(alloc));
		acpi_header_seal(&mcfg->hdr);
	}

	acpi_fill_facs(facs);
	acpi_fill_fadt(fadt, facs_gpa, dsdt_gpa, cfg);
	acpi_fill_madt(madt, madt_len, cfg);

	/* The entry arrays start at offset 36, so copy rather than cast. */
	xent[0] = fadt_gpa;
	xent[1] = madt_gpa;
	rent[0] = (uint32_t)fadt_gpa;
	rent[1] = (uint32_t)madt_gpa;
	xent[2] = mcfg_gpa;
	rent[2] = (uint32_t)mcfg_gpa;
	acpi_header_init(xsdt, "XSDT", xsdt_len, 1);
	memcpy(xsdt + 1, xent, ntables * sizeof(xent[0]));
	acpi_header_seal(xsdt);
	acpi_header_init(rsdt, "RSDT", rsdt_len, 1);
	memcpy(rsdt + 1, rent, ntables * sizeof(rent[0]));
	acpi_header_seal(rsdt);

	memcpy(rsdp->signature, "RSD PTR ", 8);
	vs_fw_put_id(rsdp->oem_id, sizeof(rsdp->oem_id), ACPI_OEM_ID);
	rsdp->revision = 2;
	rsdp->rsdt_addr = (uint32_t)rsdt_gpa;
	rsdp->length = sizeof(*rsdp);
	rsdp->xsdt_addr = xsdt_gpa;
	acpi_fix_checksum(rsdp, ACPI_RSDP_V1_LEN, &rsdp->checksum);
	acpi_fix_checksum(rsdp, sizeof(*rsdp), &rsdp->ext_checksum);
	return true;
}

int vs_acpi_build(struct vs_guest_mem *mem, uint64_t addr, uint64_t max_len,
		  const struct vs_firmware_config *cfg, struct vs_error *err)
{
	struct acpi_area area;

	if (acpi_check_config(cfg, err) < 0)
		return -1;
	if (addr & 0xf)
		return vs_error_msg(err, "ACPI: RSDP address 0x%llx is not 16-byte aligned",
				    (unsigned long long)addr);
	/* The RSDT, FADT and MADT hold 32-bit addresses; keeping everything
	 * below 4 GiB lets one address serve both table generations. */
	if (addr > UINT32_MAX || max_len > (uint64_t)UINT32_MAX + 1 - addr)
		return vs_error_msg(err, "ACPI: tables at 0x%llx+%llu must lie below 4 GiB",
				    (unsigned long long)addr, (unsigned long long)max_len);
	if (max_len > INT32_MAX)
		max_len = INT32_MAX; /* the byte count is returned as an int */
	area = (struct acpi_area){ .host = vs_gpa_ptr(mem, addr, max_len), .gpa = addr, .size = max_len };
	if (!area.host)
		return vs_error_msg(err, "ACPI: 0x%llx+%llu is not guest RAM", (unsigned long long)addr,
				    (unsigned long long)max_len);
	/* The whole area belongs to the tables: clearing it first means no
	 * stale signature from an earlier build survives. */
	memset(area.host, 0, max_len);
	if (!acpi_layout(&area, cfg)) {
		memset(area.host, 0, max_len);
		return vs_error_msg(err, "ACPI: tables for %d CPUs do not fit in %llu bytes at 0x%llx",
				    cfg->ncpus, (unsigned long long)max_len, (unsigned long long)addr);
	}
	return (int)area.used;
}

/* Intel MultiProcessor Specification 1.4 tables: the MP floating pointer
 * structure followed directly by the MP configuration table.
 *
 * Guests that boot without ACPI (acpi=off, old kernels) learn the CPUs,
 * the I/O APIC and the ISA IRQ routing from here, so this must describe
 * the same machine as the MADT built in acpi.c:
 *  - CPU n has local APIC ID n, CPU 0 is the bootstrap processor;
 *  - one I/O APIC whose ID is ncpus, so it never clashes with a CPU's
 *    APIC ID (older kernels reprogram the I/O APIC ID when it does);
 *  - ISA IRQ 0 (PIT) arrives on I/O APIC pin 2, IRQ 2 is the 8259
 *    cascade and is not routed, every other ISA IRQ n on pin n;
 *  - ISA IRQs are edge/active-high ("conforming" for ISA) except the
 *    ACPI SCI, which is level-triggered and active-low as ACPI assumes;
 *  - LINT0 of every local APIC is ExtINT (the 8259 in virtual wire
 *    mode) and LINT1 is NMI.
 *
 * All structures are read by the guest byte for byte: they are packed
 * and filled in host byte order, which is correct because vessel only
 * runs on little-endian x86-64 hosts.
 */
#include "machine/firmware/firmware.h"
#include "machine/firmware/firmware_internal.h"

#include <stddef.h>
#include <string.h>

#define MP_SPEC_REV 4	       /* MP specification 1.4 */
#define MP_LAPIC_VERSION 0x14  /* integrated xAPIC, as KVM's local APIC reports */
#define MP_IOAPIC_VERSION 0x11 /* 82093AA-compatible, as KVM's I/O APIC reports */
#define MP_ISA_BUS_ID 0
#define MP_ISA_IRQS 16
#define MP_CASCADE_IRQ 2
#define MP_ALL_LAPICS 0xff
#define MP_MAX_CPUS 254 /* APIC IDs 0..253 plus the I/O APIC ID: 0xff is broadcast */

/* CPU signature of a family 6, model 0xf, stepping 1 processor and
 * CPUID.1:EDX features any x86-64 CPU has (FPU, TSC, MSR, PAE, CX8, APIC,
 * SEP, MTRR, PGE, MCA, CMOV, PAT, CLFSH, MMX, FXSR, SSE, SSE2...). Guests
 * only log these; the real values come from CPUID. */
#define MP_CPU_SIGNATURE ((6u << 8) | (0xfu << 4) | 1u)
#define MP_CPU_FEATURES 0x078bfbffu

enum mp_entry_type {
	MP_ENTRY_PROCESSOR = 0,
	MP_ENTRY_BUS = 1,
	MP_ENTRY_IOAPIC = 2,
	MP_ENTRY_IO_INT = 3,
	MP_ENTRY_LOCAL_INT = 4,
};

enum mp_int_type { MP_INT = 0, MP_NMI = 1, MP_SMI = 2, MP_EXTINT = 3 };

#define MP_CPU_ENABLED 0x01
#define MP_CPU_BSP 0x02
#define MP_IOAPIC_ENABLED 0x01

/* Interrupt entry flags: polarity in bits 0-1, trigger mode in bits 2-3;
 * 0 means "conforms to the bus" (edge, active-high for ISA). */
#define MP_IRQ_CONFORMING 0x0
#define MP_IRQ_ACTIVE_LOW 0x3
#define MP_IRQ_LEVEL (0x3 << 2)

struct mp_floating {
	char signature[4]; /* "_MP_" */
	uint32_t config_addr;
	uint8_t length; /* in 16-byte units */
	uint8_t spec_rev;
	uint8_t checksum;
	uint8_t features[5]; /* features[0] == 0: a configuration table is present */
} __attribute__((packed));
_Static_assert(sizeof(struct mp_floating) == 16, "MP floating pointer is 16 bytes");

struct mp_config {
	char signature[4]; /* "PCMP" */
	uint16_t base_length;
	uint8_t spec_rev;
	uint8_t checksum;
	char oem_id[8];
	char product_id[12];
	uint32_t oem_table_addr;
	uint16_t oem_table_size;
	uint16_t entry_count;
	uint32_t lapic_addr;
	uint16_t ext_length;
	uint8_t ext_checksum;
	uint8_t reserved;
} __attribute__((packed));
_Static_assert(sizeof(struct mp_config) == 44, "MP configuration table header is 44 bytes");

struct mp_processor {
	uint8_t type;
	uint8_t lapic_id;
	uint8_t lapic_version;
	uint8_t flags;
	uint32_t signature;
	uint32_t features;
	uint32_t reserved[2];
} __attribute__((packed));
_Static_assert(sizeof(struct mp_processor) == 20, "MP processor entry is 20 bytes");

struct mp_bus {
	uint8_t type;
	uint8_t bus_id;
	char bus_type[6];
} __attribute__((packed));
_Static_assert(sizeof(struct mp_bus) == 8, "MP bus entry is 8 bytes");

struct mp_ioapic {
	uint8_t type;
	uint8_t id;
	uint8_t version;
	uint8_t flags;
	uint32_t addr;
} __attribute__((packed));
_Static_assert(sizeof(struct mp_ioapic) == 8, "MP I/O APIC entry is 8 bytes");

/* Same layout for I/O interrupt (type 3) and local interrupt (type 4)
 * assignment entries; for the latter `dst_id` is a local APIC ID and
 * `dst_pin` a LINTIN number. */
struct mp_irq {
	uint8_t type;
	uint8_t irq_type;
	uint16_t flags;
	uint8_t src_bus;
	uint8_t src_irq;
	uint8_t dst_id;
	uint8_t dst_pin;
} __attribute__((packed));
_Static_assert(sizeof(struct mp_irq) == 8, "MP interrupt entry is 8 bytes");

static int mp_check_config(const struct vs_firmware_config *cfg, struct vs_error *err)
{
	if (cfg->ncpus < 1 || cfg->ncpus > MP_MAX_CPUS)
		return vs_error_msg(err, "MP table: %d CPUs is outside 1..%d", cfg->ncpus, MP_MAX_CPUS);
	if (cfg->ioapic_pins < MP_ISA_IRQS || cfg->ioapic_pins > 240)
		return vs_error_msg(err, "MP table: an I/O APIC with %d pins cannot take the ISA IRQs",
				    cfg->ioapic_pins);
	if (cfg->lapic_addr > UINT32_MAX || cfg->ioapic_addr > UINT32_MAX)
		return vs_error_msg(err, "MP table: APIC addresses must be below 4 GiB");
	if (cfg->ioapic_id < cfg->ncpus)
		return vs_error_msg(err, "MP table: I/O APIC ID %u is also a CPU's APIC ID", cfg->ioapic_id);
	if (cfg->sci_irq >= MP_ISA_IRQS || cfg->sci_irq == 0 || cfg->sci_irq == MP_CASCADE_IRQ)
		return vs_error_msg(err, "MP table: SCI IRQ %u is not a usable ISA IRQ", cfg->sci_irq);
	return 0;
}

/* The I/O APIC pin an ISA IRQ arrives on, or -1 for the cascade. */
static int mp_isa_pin(int irq)
{
	if (irq == 0)
		return 2; /* the PIT is wired to pin 2, pin 0 is unused */
	if (irq == MP_CASCADE_IRQ)
		return -1;
	return irq;
}

/* Cursor over the host view of the table area; the size is checked up
 * front, so taking entries cannot run past the end. */
struct mp_writer {
	uint8_t *p;
	uint16_t count;
};

static void *mp_take(struct mp_writer *w, size_t len)
{
	void *ret = w->p;
	w->p += len;
	w->count++;
	return ret;
}

static void mp_write_cpus(struct mp_writer *w, const struct vs_firmware_config *cfg)
{
	for (int i = 0; i < cfg->ncpus; i++) {
		struct mp_processor *e = mp_take(w, sizeof(*e));
		e->type = MP_ENTRY_PROCESSOR;
		e->lapic_id = (uint8_t)i;
		e->lapic_version = MP_LAPIC_VERSION;
		e->flags = MP_CPU_ENABLED | (i == 0 ? MP_CPU_BSP : 0);
		e->signature = MP_CPU_SIGNATURE;
		e->features = MP_CPU_FEATURES;
	}
}

static void mp_write_bus_ioapic(struct mp_writer *w, const struct vs_firmware_config *cfg, uint8_t ioapic_id)
{
	struct mp_bus *bus = mp_take(w, sizeof(*bus));
	struct mp_ioapic *io;

	bus->type = MP_ENTRY_BUS;
	bus->bus_id = MP_ISA_BUS_ID;
	vs_fw_put_id(bus->bus_type, sizeof(bus->bus_type), "ISA");

	io = mp_take(w, sizeof(*io));
	io->type = MP_ENTRY_IOAPIC;
	io->id = ioapic_id;
	io->version = MP_IOAPIC_VERSION;
	io->flags = MP_IOAPIC_ENABLED;
	io->addr = (uint32_t)cfg->ioapic_addr;
}

static void mp_write_irq(struct mp_writer *w, uint8_t type, uint8_t irq_type, uint16_t flags, uint8_t src_irq,
			 uint8_t dst_id, uint8_t dst_pin)
{
	struct mp_irq *e = mp_take(w, sizeof(*e));
	e->type = type;
	e->irq_type = irq_type;
	e->flags = flags;
	e->src_bus = MP_ISA_BUS_ID;
	e->src_irq = src_irq;
	e->dst_id = dst_id;
	e->dst_pin = dst_pin;
}

/* ISA IRQ routing to the I/O APIC, then LINT0/LINT1 of every local APIC. */
static void mp_write_irqs(struct mp_writer *w, const struct vs_firmware_config *cfg, uint8_t ioapic_id)
{
	for (int irq = 0; irq < MP_ISA_IRQS; irq++) {
		int pin = mp_isa_pin(irq);
		uint16_t flags = irq == cfg->sci_irq ? (MP_IRQ_ACTIVE_LOW | MP_IRQ_LEVEL) : MP_IRQ_CONFORMING;
		if (pin >= 0)
			mp_write_irq(w, MP_ENTRY_IO_INT, MP_INT, flags, (uint8_t)irq, ioapic_id,
				     (uint8_t)pin);
	}
	mp_write_irq(w, MP_ENTRY_LOCAL_INT, MP_EXTINT, MP_IRQ_CONFORMING, 0, MP_ALL_LAPICS, 0);
	mp_write_irq(w, MP_ENTRY_LOCAL_INT, MP_NMI, MP_IRQ_CONFORMING, 0, MP_ALL_LAPICS, 1);
}

int vs_mptable_build(struct vs_guest_mem *mem, uint64_t addr, uint64_t max_len,
		     const struct vs_firmware_config *cfg, struct vs_error *err)
{
	const int nirqs = MP_ISA_IRQS - 1; /* every ISA IRQ but the cascade */
	const int nlocal = 2;		   /* ExtINT on LINT0, NMI on LINT1 */
	uint64_t entries_len, total;
	struct mp_floating *fp;
	struct mp_config *ct;
	struct mp_writer w;
	uint8_t *base, ioapic_id;

	if (mp_check_config(cfg, err) < 0)
		return -1;
	if (addr & 0xf)
		return vs_error_msg(err, "MP table: address 0x%llx is not 16-byte aligned",
				    (unsigned long long)addr);
	entries_len = (uint64_t)cfg->ncpus * sizeof(struct mp_processor) + sizeof(struct mp_bus) +
		      sizeof(struct mp_ioapic) + (uint64_t)(nirqs + nlocal) * sizeof(struct mp_irq);
	total = sizeof(struct mp_floating) + sizeof(struct mp_config) + entries_len;
	if (total > max_len)
		return vs_error_msg(err, "MP table: %llu bytes do not fit in %llu", (unsigned long long)total,
				    (unsigned long long)max_len);
	/* The table carries 32-bit physical addresses. */
	if (addr > UINT32_MAX - total)
		return vs_error_msg(err, "MP table: address 0x%llx is above 4 GiB", (unsigned long long)addr);
	base = vs_gpa_ptr(mem, addr, total);
	if (!base)
		return vs_error_msg(err, "MP table: 0x%llx+%llu is not guest RAM", (unsigned long long)addr,
				    (unsigned long long)total);
	memset(base, 0, total);

	/* The floating pointer, then the configuration table right after it;
	 * entries must appear sorted by entry type. */
	fp = (struct mp_floating *)base;
	ct = (struct mp_config *)(fp + 1);
	w = (struct mp_writer){ .p = (uint8_t *)(ct + 1), .count = 0 };
	ioapic_id = cfg->ioapic_id;
	mp_write_cpus(&w, cfg);
	mp_write_bus_ioapic(&w, cfg, ioapic_id);
	mp_write_irqs(&w, cfg, ioapic_id);

	memcpy(ct->signature, "PCMP", 4);
	ct->base_length = (uint16_t)(sizeof(*ct) + entries_len);
	ct->spec_rev = MP_SPEC_REV;
	vs_fw_put_id(ct->oem_id, sizeof(ct->oem_id), "VESSEL");
	vs_fw_put_id(ct->product_id, sizeof(ct->product_id), "VESSEL PC");
	ct->entry_count = w.count;
	ct->lapic_addr = (uint32_t)cfg->lapic_addr;
	ct->checksum = vs_fw_checksum(ct, ct->base_length);

	memcpy(fp->signature, "_MP_", 4);
	fp->config_addr = (uint32_t)(addr + sizeof(*fp));
	fp->length = 1;
	fp->spec_rev = MP_SPEC_REV;
	fp->checksum = vs_fw_checksum(fp, sizeof(*fp));
	return (int)total;
}

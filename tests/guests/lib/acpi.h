/* Reading the firmware tables the VMM built: ACPI (RSDP, RSDT/XSDT, MADT,
 * FADT, the DSDT's \_S5 object) and the Intel MP table. */
#ifndef GUEST_ACPI_H
#define GUEST_ACPI_H

#include <stdbool.h>
#include <stdint.h>

#define MAX_CPUS 64
#define MAX_IOAPICS 4

struct acpi_header {
	char signature[4];
	uint32_t length;
	uint8_t revision;
	uint8_t checksum;
	char oem_id[6];
	char oem_table_id[8];
	uint32_t oem_revision;
	uint32_t creator_id;
	uint32_t creator_revision;
} __attribute__((packed));

/* The RSDP: the loader's pointer when it passed one, else the result of
 * scanning the EBDA and 0xe0000-0xfffff. 0 when there is none. *how says
 * which ("loader" or "scan"). */
uint64_t acpi_rsdp(const char **how);

/* A table by signature through the XSDT (or the RSDT), or NULL. Tables
 * with a bad checksum are reported on the console and still returned. */
const struct acpi_header *acpi_find_table(const char *sig);

struct madt_info {
	uint64_t lapic_addr;
	int ncpus; /* enabled processors */
	uint8_t apic_ids[MAX_CPUS];
	int nioapics;
	uint64_t ioapic_addr[MAX_IOAPICS];
	uint32_t ioapic_gsi_base[MAX_IOAPICS];
	uint8_t ioapic_id[MAX_IOAPICS];
	/* ISA IRQ -> GSI and MPS INTI flags, identity with flags 0 unless an
	 * interrupt source override says otherwise. */
	uint32_t isa_gsi[16];
	uint16_t isa_flags[16];
};

bool acpi_parse_madt(struct madt_info *m);

/* PM1a control port from the FADT (X_PM1a_CNT_BLK when it is an I/O
 * address, else PM1a_CNT_BLK). */
bool acpi_pm1a_cnt_port(uint16_t *port);

/* The SLP_TYPa value of \_S5 from the DSDT, or -1. */
int acpi_s5_slp_typ(void);

/* The FADT's reset register when it is an I/O port and flagged as
 * supported (RESET_REG_SUP). */
bool acpi_reset_reg(uint16_t *port, uint8_t *value);

/* The FADT's CMOS century register index, or 0. */
uint8_t acpi_century_reg(void);

/* Enabled processors in the MP table, their APIC IDs in ids[]; -1 when no
 * valid MP table is found. */
int mptable_cpus(uint8_t *ids, int max);

#endif

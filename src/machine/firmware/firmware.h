/* Firmware tables a PC guest looks for: the Intel MP table (floating
 * pointer + configuration table) and ACPI (RSDP, XSDT, FADT with FACS and
 * DSDT, MADT). Both describe the same CPUs, I/O APIC and ISA IRQ routing. */
#ifndef VESSEL_MACHINE_FIRMWARE_H
#define VESSEL_MACHINE_FIRMWARE_H

#include <stdint.h>

#include "hw/device.h"
#include "hw/guest_mem.h"
#include "util/error.h"

struct vs_firmware_config {
	int ncpus; /* APIC IDs are 0..ncpus-1 */
	uint64_t lapic_addr;
	uint64_t ioapic_addr;
	int ioapic_pins;
	uint8_t ioapic_id; /* must differ from every CPU's APIC ID */
	uint16_t pm1a_evt_port, pm1a_cnt_port, reset_port;
	uint8_t reset_value;
	uint8_t sci_irq;
	uint8_t slp_typ_s5;
	/* The board's devices: those with an ACPI description appear in the
	 * DSDT. NULL for none. */
	const struct vs_devices *devices;
};

/* Fill a config from machine/layout.h for `ncpus` CPUs. */
void vs_firmware_default_config(struct vs_firmware_config *cfg, int ncpus);

/* Write the MP table at `addr` (floating pointer first, 16-byte aligned).
 * Returns the number of bytes used, or -1. */
int vs_mptable_build(struct vs_guest_mem *mem, uint64_t addr, uint64_t max_len,
		     const struct vs_firmware_config *cfg, struct vs_error *err);

/* Write RSDP at `addr` then the tables after it. Returns bytes used, or -1;
 * the RSDP address is `addr`. */
int vs_acpi_build(struct vs_guest_mem *mem, uint64_t addr, uint64_t max_len,
		  const struct vs_firmware_config *cfg, struct vs_error *err);

#endif

#include "machine/firmware/firmware.h"

#include <string.h>

#include "machine/firmware/firmware_internal.h"
#include "hw/pc_layout.h"

/* Value written to the PC reset control register (0xcf9) for a full
 * reset: RST_CPU (bit 2) together with SYS_RST (bit 1). */
#define VS_RESET_VALUE_FULL 0x06

void vs_firmware_default_config(struct vs_firmware_config *cfg, int ncpus)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->ncpus = ncpus;
	cfg->lapic_addr = VS_LAPIC_ADDR;
	cfg->ioapic_addr = VS_IOAPIC_ADDR;
	cfg->ioapic_pins = VS_IOAPIC_PINS;
	cfg->ioapic_id = (uint8_t)ncpus; /* right after the CPUs' APIC IDs */
	cfg->pm1a_evt_port = VS_PORT_ACPI_PM1A_EVT;
	cfg->pm1a_cnt_port = VS_PORT_ACPI_PM1A_CNT;
	cfg->reset_port = VS_PORT_RESET;
	cfg->reset_value = VS_RESET_VALUE_FULL;
	cfg->sci_irq = VS_ACPI_SCI_IRQ;
	cfg->slp_typ_s5 = VS_ACPI_SLP_TYP_S5;
}

uint8_t vs_fw_checksum(const void *p, size_t len)
{
	const uint8_t *b = p;
	uint8_t sum = 0;
	for (size_t i = 0; i < len; i++)
		sum = (uint8_t)(sum + b[i]);
	return (uint8_t)-sum;
}

void vs_fw_put_id(char *dst, size_t width, const char *src)
{
	size_t n = strlen(src);
	if (n > width)
		n = width;
	memset(dst, ' ', width);
	memcpy(dst, src, n);
}

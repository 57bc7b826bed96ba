#include "machine/firmware/firmware.h"

#include <string.h>

#include "machine/layout.h"

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
	cfg->pm1a_evt_port = VS_PORT_ACPI_PM1A_EVT;
	cfg->pm1a_cnt_port = VS_PORT_ACPI_PM1A_CNT;
	cfg->reset_port = VS_PORT_RESET;
	cfg->reset_value = VS_RESET_VALUE_FULL;
	cfg->sci_irq = VS_ACPI_SCI_IRQ;
	cfg->slp_typ_s5 = VS_ACPI_SLP_TYP_S5;
}

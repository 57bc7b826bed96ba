/* PCI configuration space on bus 0, through the type 1 ports and through
 * ECAM (its base from the ACPI MCFG table), and BAR sizing. */
#ifndef GUEST_PCI_H
#define GUEST_PCI_H

#include <stdbool.h>
#include <stdint.h>

#define PCI_VENDOR 0x00
#define PCI_COMMAND 0x04
#define PCI_STATUS 0x06
#define PCI_CLASS_REV 0x08
#define PCI_HEADER 0x0e
#define PCI_BAR0 0x10
#define PCI_CAP_PTR 0x34
#define PCI_INT_LINE 0x3c
#define PCI_INT_PIN 0x3d
#define PCI_CMD_IO 0x1
#define PCI_CMD_MEM 0x2
#define PCI_CMD_MASTER 0x4
#define PCI_CMD_INTX_OFF 0x400
#define PCI_STATUS_CAPS 0x10
#define PCI_STATUS_INTX 0x08

uint32_t pci_read(unsigned slot, unsigned reg, unsigned size);
void pci_write(unsigned slot, unsigned reg, uint32_t v, unsigned size);
/* ECAM from the MCFG: 0 when there is none. */
uint64_t pci_ecam_base(void);
uint32_t pci_ecam_read32(uint64_t ecam, unsigned slot, unsigned reg);

/* Size a BAR (decoding off while probing, as the spec asks); its address
 * in *addr. 0 for an unimplemented BAR. *is64 for a 64-bit memory BAR. */
uint64_t pci_bar_size(unsigned slot, unsigned bar, uint64_t *addr, bool *is64, bool *io);
/* Slot of the first function with vendor:device, or -1. */
int pci_find(uint16_t vendor, uint16_t device);

#endif

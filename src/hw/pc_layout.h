/* The PC platform's fixed map: where things sit in guest-physical memory
 * and port space. One table, so the board, its boot loaders and firmware
 * tables, the devices at fixed addresses (I/O APIC, ACPI PM) and the
 * accelerators agree; it lives below all of them. */
#ifndef VESSEL_HW_PC_LAYOUT_H
#define VESSEL_HW_PC_LAYOUT_H

#define VS_BOOT_GDT_ADDR 0x500ull	 /* boot GDT: null, null, code (0x10), data (0x18) */
#define VS_BOOT_IDT_ADDR 0x520ull	 /* empty IDT (limit 0) */
#define VS_PVH_START_INFO_ADDR 0x6000ull /* struct hvm_start_info */
#define VS_PVH_MODLIST_ADDR 0x6040ull	 /* hvm_modlist_entry[1] */
#define VS_PVH_MEMMAP_ADDR 0x6100ull	 /* hvm_memmap_table_entry[] */
#define VS_ZERO_PAGE_ADDR 0x7000ull	 /* Linux boot_params */
#define VS_BOOT_STACK_TOP 0x8ff0ull
#define VS_PML4_ADDR 0x9000ull
#define VS_PDPT_ADDR 0xa000ull
#define VS_PD_ADDR 0xb000ull /* four page directories: 0xb000-0xefff map 4 GiB */
#define VS_CMDLINE_ADDR 0x20000ull
#define VS_CMDLINE_MAX 0x10000ull  /* room reserved for the command line */
#define VS_ACPI_ADDR 0xe0000ull	   /* RSDP first, then the tables */
#define VS_MPTABLE_ADDR 0xf0000ull /* MP floating pointer, then the config table */
#define VS_KERNEL_ADDR 0x100000ull /* bzImage protected-mode kernel */

/* PCI, inside the 32-bit hole (3 GiB - 4 GiB, hw/guest_mem.h): BARs from
 * 3 GiB, then ECAM for 256 buses, leaving 0xf0000000 up (I/O APIC, LAPIC)
 * alone. The 64-bit window starts at the first GiB above RAM. */
#define VS_PCI_MMIO32_BASE 0xc0000000ull
#define VS_PCI_MMIO32_SIZE 0x20000000ull /* 512 MiB */
#define VS_PCI_ECAM_BASE 0xe0000000ull
#define VS_PCI_ECAM_BUSES 256 /* 256 MiB */
#define VS_PCI_MMIO64_SIZE (16ull << 30)
#define VS_PCI_IO_BASE 0xc000
#define VS_PCI_IO_SIZE 0x4000
#define VS_PCI_GSI_BASE 16 /* INTx lines A-D (after the swizzle): GSI 16-19 */

#define VS_IOAPIC_ADDR 0xfec00000ull
#define VS_LAPIC_ADDR 0xfee00000ull
#define VS_IOAPIC_PINS 24

/* Port map of the legacy devices. */
#define VS_PORT_COM1 0x3f8
#define VS_IRQ_COM1 4
#define VS_PORT_I8042_DATA 0x60
#define VS_PORT_I8042_CMD 0x64
#define VS_PORT_RTC 0x70
#define VS_IRQ_RTC 8
#define VS_PORT_DEBUG_EXIT 0x501
#define VS_PORT_POST 0x80	    /* delay port: Linux writes here, nothing listens */
#define VS_PORT_ACPI_PM1A_EVT 0x600 /* 4 bytes: status, enable */
#define VS_PORT_ACPI_PM1A_CNT 0x604 /* 2 bytes */
#define VS_PORT_RESET 0xcf9
#define VS_ACPI_SCI_IRQ 9
#define VS_ACPI_SLP_TYP_S5 5

#endif

/* Guest physical memory: one host mapping split into the standard PC
 * layout. Below 4 GiB, RAM stops at the 32-bit PCI hole; what does not fit
 * there is placed from 4 GiB up. The e820 table / PVH memmap are derived
 * from this one description so they can never disagree.
 */
#ifndef VESSEL_HW_GUEST_MEM_H
#define VESSEL_HW_GUEST_MEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/error.h"

#define VS_MiB (1024ull * 1024)
#define VS_GiB (1024ull * VS_MiB)

/* Fixed PC layout. */
#define VS_LOWMEM_END 0x9fc00ull	/* end of conventional RAM (EBDA follows) */
#define VS_BIOS_START 0xe0000ull	/* reserved: firmware tables live here */
#define VS_HIGHMEM_START 0x100000ull	/* 1 MiB */
#define VS_PCI_HOLE_START 0xc0000000ull /* 3 GiB: 32-bit MMIO hole up to 4 GiB */
#define VS_HIGH_RAM_START (4 * VS_GiB)
#define VS_MEM_MIN (16 * VS_MiB)

enum vs_e820_type { VS_E820_RAM = 1, VS_E820_RESERVED = 2, VS_E820_ACPI = 3 };

struct vs_e820_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type;
};

struct vs_mem_region {
	uint64_t gpa;
	uint64_t size;
	uint8_t *hva;
};

#define VS_MEM_MAX_REGIONS 2
#define VS_E820_MAX 8

struct vs_guest_mem {
	uint8_t *base; /* the whole host mapping, `total` bytes */
	uint64_t total;
	struct vs_mem_region regions[VS_MEM_MAX_REGIONS];
	int nregions;
};

/* Map `size` bytes of anonymous guest RAM and lay it out. */
int vs_guest_mem_create(struct vs_guest_mem *mem, uint64_t size, struct vs_error *err);
void vs_guest_mem_release(struct vs_guest_mem *mem);

/* Host pointer for [gpa, gpa+len) when the whole range is guest RAM in one
 * region, else NULL. Every guest-controlled address goes through this. */
void *vs_gpa_ptr(const struct vs_guest_mem *mem, uint64_t gpa, uint64_t len);

/* Copy helpers; return -1 (no error object: hot-ish paths) when the range
 * is not RAM. */
int vs_gpa_write(const struct vs_guest_mem *mem, uint64_t gpa, const void *src, uint64_t len);
int vs_gpa_read(const struct vs_guest_mem *mem, uint64_t gpa, void *dst, uint64_t len);

/* End of RAM below the PCI hole (first address that is not low RAM). */
uint64_t vs_guest_mem_low_end(const struct vs_guest_mem *mem);

/* The memory map handed to the guest (e820 and PVH memmap). Returns the
 * number of entries written (at most `max`). */
int vs_guest_mem_e820(const struct vs_guest_mem *mem, struct vs_e820_entry *out, int max);

#endif

/* The root of the kernel loaders' tree: byte accessors, the boot memory
 * constants and the helpers every boot protocol uses (boot_common.c,
 * pagetables.c). The rest of the tree builds on it:
 *   elf.h       ELF images: parsing (elf_parse.c), loading segments (elf_load.c)
 *   zeropage.h  the Linux zero page, boot_params (zeropage.c)
 *   loaders.h   one loader per boot protocol (pvh.c, bzimage.c, vmlinux.c),
 *               picked by the dispatcher behind boot.h (boot.c)
 * Not part of the machine's public interface. */
#ifndef VESSEL_MACHINE_BOOT_INTERNAL_H
#define VESSEL_MACHINE_BOOT_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "machine/boot/boot.h"

/* Little-endian accessors: image bytes are untrusted and unaligned, so
 * they are read a byte at a time rather than through casts. */
static inline uint16_t vs_le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | (p[1] << 8));
}

static inline uint32_t vs_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static inline uint64_t vs_le64(const uint8_t *p)
{
	return (uint64_t)vs_le32(p) | ((uint64_t)vs_le32(p + 4) << 32);
}

static inline void vs_put_le16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static inline void vs_put_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static inline void vs_put_le64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* True when [off, off+len) lies inside a buffer of `size` bytes, without
 * overflowing. */
static inline bool vs_range_in(uint64_t off, uint64_t len, uint64_t size)
{
	return off <= size && len <= size - off;
}

#define VS_PAGE_SIZE 0x1000ull

/* Boot GDT selectors (layout.h: null, null, code, data). */
#define VS_BOOT_CS 0x10u
#define VS_BOOT_DS 0x18u
#define VS_BOOT_GDT_ENTRIES 4

/* Identity page tables: four page directories of 2 MiB pages. */
#define VS_BOOT_PD_COUNT 4
#define VS_BOOT_IDENT_END (4ull << 30)

/* A guest-physical range [lo, hi). */
struct vs_boot_range {
	uint64_t lo, hi;
};

/* ---- boot_common.c ---- */
/* Reject a command line that does not fit the reserved area. */
int vs_boot_check_cmdline(const char *cmdline, struct vs_error *err);
int vs_boot_write_cmdline(const struct vs_guest_mem *mem, const char *cmdline, struct vs_error *err);
/* Name of the fixed boot area [gpa, gpa+len) overlaps, or NULL. */
const char *vs_boot_fixed_overlap(uint64_t gpa, uint64_t len, uint64_t *area_start, uint64_t *area_end);
/* Copy the initrd page-aligned as high as possible below
 * min(low RAM end, limit), clear of every range in `avoid` (the kernel's
 * pieces) and of the fixed areas. `*addr` is 0 when there is no initrd. */
int vs_boot_place_initrd(const struct vs_guest_mem *mem, const struct vs_boot_params *p, uint64_t limit,
			 const struct vs_boot_range *avoid, unsigned navoid, uint64_t *addr,
			 struct vs_error *err);
/* Write the boot GDT and empty IDT, and set the boot CPU's segment and
 * descriptor-table registers: a 64-bit code segment when `long_mode`,
 * else a 32-bit one. */
int vs_boot_setup_segments(const struct vs_guest_mem *mem, bool long_mode, struct vs_cpu_state *s,
			   struct vs_error *err);
/* Page tables, long-mode control registers and segments for a 64-bit
 * entry at `rip` with boot_params at VS_ZERO_PAGE_ADDR in %rsi. */
int vs_boot_setup_long_mode(const struct vs_guest_mem *mem, uint64_t rip, struct vs_cpu_state *s,
			    struct vs_error *err);
/* Lowest start and highest end of `n` ranges. */
void vs_boot_range_span(const struct vs_boot_range *r, unsigned n, uint64_t *lo, uint64_t *hi);
/* Extract the release (first word) of a "Linux version ..." style string
 * into out->version; returns false when it is empty or not printable. */
bool vs_boot_set_version(struct vs_boot_info *out, const uint8_t *s, size_t max);

/* ---- pagetables.c ---- */
/* Identity-map the first 4 GiB with 2 MiB pages at VS_PML4_ADDR; returns
 * the CR3 value through `cr3`. */
int vs_boot_build_pagetables(const struct vs_guest_mem *mem, uint64_t *cr3, struct vs_error *err);

#endif

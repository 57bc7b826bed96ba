/* Pieces shared by the kernel loaders (boot.c, pvh.c, bzimage.c, elf.c,
 * pagetables.c). Not part of the machine's public interface. */
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

/* Linux boot_params ("zero page") offsets, from the x86 boot protocol
 * (boot.rst) and zero-page.rst. */
#define VS_BP_SIZE 0x1000u
#define VS_BP_ACPI_RSDP_ADDR 0x070u    /* u64, protocol 2.14+ */
#define VS_BP_EXT_RAMDISK_IMAGE 0x0c0u /* u32: bits 63:32 of ramdisk_image */
#define VS_BP_EXT_RAMDISK_SIZE 0x0c4u
#define VS_BP_EXT_CMD_LINE_PTR 0x0c8u
#define VS_BP_E820_ENTRIES 0x1e8u     /* u8 */
#define VS_BP_SETUP_SECTS 0x1f1u      /* u8: first byte of the setup header */
#define VS_BP_BOOT_FLAG 0x1feu	      /* u16: 0xaa55 */
#define VS_BP_JUMP 0x200u	      /* u16: short jump; its 2nd byte sizes the header */
#define VS_BP_HEADER 0x202u	      /* u32: "HdrS" */
#define VS_BP_VERSION 0x206u	      /* u16 */
#define VS_BP_KERNEL_VERSION 0x20eu   /* u16: string offset from 0x200 */
#define VS_BP_TYPE_OF_LOADER 0x210u   /* u8 */
#define VS_BP_LOADFLAGS 0x211u	      /* u8 */
#define VS_BP_RAMDISK_IMAGE 0x218u    /* u32 */
#define VS_BP_RAMDISK_SIZE 0x21cu     /* u32 */
#define VS_BP_HEAP_END_PTR 0x224u     /* u16 */
#define VS_BP_CMD_LINE_PTR 0x228u     /* u32 */
#define VS_BP_INITRD_ADDR_MAX 0x22cu  /* u32, protocol 2.03+ */
#define VS_BP_KERNEL_ALIGNMENT 0x230u /* u32, protocol 2.05+ */
#define VS_BP_RELOCATABLE 0x234u      /* u8, protocol 2.05+ */
#define VS_BP_XLOADFLAGS 0x236u	      /* u16, protocol 2.12+ */
#define VS_BP_CMDLINE_SIZE 0x238u     /* u32, protocol 2.06+ */
#define VS_BP_SETUP_DATA 0x250u	      /* u64, protocol 2.09+ */
#define VS_BP_PREF_ADDRESS 0x258u     /* u64, protocol 2.10+ */
#define VS_BP_INIT_SIZE 0x260u	      /* u32, protocol 2.10+ */
#define VS_BP_HDR_LIMIT 0x290u	      /* edd_mbr_sig_buffer: the setup header never reaches it */
#define VS_BP_E820_TABLE 0x2d0u
#define VS_BP_E820_MAX 128
#define VS_BP_E820_ENTRY_SIZE 20u

#define VS_BP_HDRS_MAGIC 0x53726448u /* "HdrS" */
#define VS_BP_BOOT_FLAG_MAGIC 0xaa55u
#define VS_BP_LOADER_UNDEFINED 0xffu /* type_of_loader for unregistered loaders */
#define VS_BP_LOADED_HIGH 0x01u
#define VS_BP_CAN_USE_HEAP 0x80u
#define VS_BP_XLF_KERNEL_64 0x0001u
#define VS_BP_HEAP_END 0xfe00u

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

/* A parsed ELF header, ELF32 or ELF64 alike. Fields of ELF32 images are
 * widened; the program header table is known to lie inside the file. */
struct vs_elf {
	const uint8_t *img;
	size_t len;
	bool is64;
	uint16_t type;
	uint16_t machine;
	uint64_t entry;
	uint64_t phoff;
	uint16_t phentsize;
	uint16_t phnum;
};

struct vs_elf_phdr {
	uint32_t type;
	uint64_t offset, vaddr, paddr, filesz, memsz, align;
};

#define VS_PT_LOAD 1u
#define VS_PT_NOTE 4u
#define VS_ELF_NOTE_ANY_TYPE (-1ll)
#define VS_ELF_MAX_LOAD 64 /* more loadable segments than this is not a kernel */

/* XEN_ELFNOTE_PHYS32_ENTRY from Xen's public/elfnote.h. */
#define VS_XEN_ELFNOTE_PHYS32_ENTRY 18u

/* ---- elf.c ---- */
/* Validate the ELF header and program header table. */
int vs_elf_parse(const uint8_t *img, size_t len, struct vs_elf *elf, struct vs_error *err);
/* Program header `idx` (< phnum). */
void vs_elf_phdr(const struct vs_elf *elf, unsigned idx, struct vs_elf_phdr *ph);
/* Find a note named `name` (and of `type` unless VS_ELF_NOTE_ANY_TYPE) in
 * the PT_NOTE segments. Returns 1 and the descriptor when found, 0 when
 * not, -1 when a note segment is malformed. */
int vs_elf_find_note(const struct vs_elf *elf, const char *name, long long type, const uint8_t **desc,
		     uint32_t *descsz, struct vs_error *err);
/* Validate every PT_LOAD (file bounds, guest RAM, fixed areas, overlaps),
 * then copy them to their p_paddr; their ranges go to `ranges` (room for
 * VS_ELF_MAX_LOAD) and `*nranges`. `*entry` must fall inside a loaded
 * segment; when `entry_may_be_virtual` it may instead fall inside a
 * segment's virtual range and is translated to its physical address. */
int vs_elf_load(const struct vs_guest_mem *mem, const struct vs_elf *elf, uint64_t *entry,
		bool entry_may_be_virtual, struct vs_boot_range *ranges, unsigned *nranges,
		struct vs_error *err);
/* Lowest start and highest end of `n` ranges. */
void vs_boot_range_span(const struct vs_boot_range *r, unsigned n, uint64_t *lo, uint64_t *hi);
/* Set is_linux/version when the image carries a "Linux" ELF note. */
int vs_elf_linux_info(const struct vs_elf *elf, struct vs_boot_info *out, struct vs_error *err);
int vs_boot_load_elf64(struct vs_guest_mem *mem, const struct vs_boot_params *p, const struct vs_elf *elf,
		       struct vs_boot_info *out, struct vs_error *err);

/* ---- pvh.c ---- */
/* Look for the PVH entry note. Returns 1 with `*entry` set, 0 when the
 * image has none, -1 when it is malformed. */
int vs_pvh_find_entry(const struct vs_elf *elf, uint32_t *entry, struct vs_error *err);
int vs_boot_load_pvh(struct vs_guest_mem *mem, const struct vs_boot_params *p, const struct vs_elf *elf,
		     uint32_t entry, struct vs_boot_info *out, struct vs_error *err);

/* ---- bzimage.c ---- */
int vs_boot_load_bzimage(struct vs_guest_mem *mem, const struct vs_boot_params *p, struct vs_boot_info *out,
			 struct vs_error *err);
/* Fill the loader-owned fields of a Linux zero page (shared by the
 * bzImage and vmlinux paths): loader type, heap, command line, initrd,
 * e820 and RSDP. The setup header must already be in place. */
void vs_linux_zero_page_finish(uint8_t *zp, const struct vs_guest_mem *mem, const struct vs_boot_params *p,
			       uint64_t initrd_addr);
/* Extract the release (first word) of a "Linux version ..." style string
 * into out->version; returns false when it is empty or not printable. */
bool vs_boot_set_version(struct vs_boot_info *out, const uint8_t *s, size_t max);

/* ---- pagetables.c ---- */
/* Identity-map the first 4 GiB with 2 MiB pages at VS_PML4_ADDR; returns
 * the CR3 value through `cr3`. */
int vs_boot_build_pagetables(const struct vs_guest_mem *mem, uint64_t *cr3, struct vs_error *err);

/* ---- boot.c ---- */
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

#endif

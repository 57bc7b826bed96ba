/* ELF images, the part of loading that knows nothing of boot protocols:
 * reading headers, program headers and notes (elf_parse.c), and checking
 * and copying PT_LOAD segments into guest memory (elf_load.c). */
#ifndef VESSEL_MACHINE_BOOT_ELF_H
#define VESSEL_MACHINE_BOOT_ELF_H

#include "machine/boot/boot_internal.h"

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

/* ---- elf_parse.c ---- */
/* Validate the ELF header and program header table. */
int vs_elf_parse(const uint8_t *img, size_t len, struct vs_elf *elf, struct vs_error *err);
/* Program header `idx` (< phnum). */
void vs_elf_phdr(const struct vs_elf *elf, unsigned idx, struct vs_elf_phdr *ph);
/* Find a note named `name` (and of `type` unless VS_ELF_NOTE_ANY_TYPE) in
 * the PT_NOTE segments. Returns 1 and the descriptor when found, 0 when
 * not, -1 when a note segment is malformed. */
int vs_elf_find_note(const struct vs_elf *elf, const char *name, long long type, const uint8_t **desc,
		     uint32_t *descsz, struct vs_error *err);
/* ---- elf_load.c ---- */
/* Validate every PT_LOAD (file bounds, guest RAM, fixed areas, overlaps),
 * then copy them to their p_paddr; their ranges go to `ranges` (room for
 * VS_ELF_MAX_LOAD) and `*nranges`. `*entry` must fall inside a loaded
 * segment; when `entry_may_be_virtual` it may instead fall inside a
 * segment's virtual range and is translated to its physical address. */
int vs_elf_load(const struct vs_guest_mem *mem, const struct vs_elf *elf, uint64_t *entry,
		bool entry_may_be_virtual, struct vs_boot_range *ranges, unsigned *nranges,
		struct vs_error *err);

#endif

/* One loader per boot protocol, each a complete vs_boot_load() for its
 * kind of image once boot.c has probed it. */
#ifndef VESSEL_MACHINE_BOOT_LOADERS_H
#define VESSEL_MACHINE_BOOT_LOADERS_H

#include "machine/boot/elf.h"

/* ---- pvh.c ---- */
/* Look for the PVH entry note. Returns 1 with `*entry` set, 0 when the
 * image has none, -1 when it is malformed. */
int vs_pvh_find_entry(const struct vs_elf *elf, uint32_t *entry, struct vs_error *err);
int vs_boot_load_pvh(struct vs_guest_mem *mem, const struct vs_boot_params *p, const struct vs_elf *elf,
		     uint32_t entry, struct vs_boot_info *out, struct vs_error *err);

/* ---- bzimage.c ---- */
int vs_boot_load_bzimage(struct vs_guest_mem *mem, const struct vs_boot_params *p, struct vs_boot_info *out,
			 struct vs_error *err);
/* ---- vmlinux.c ---- */
/* Set is_linux/version when the image carries a "Linux" ELF note. */
int vs_elf_linux_info(const struct vs_elf *elf, struct vs_boot_info *out, struct vs_error *err);
int vs_boot_load_elf64(struct vs_guest_mem *mem, const struct vs_boot_params *p, const struct vs_elf *elf,
		       struct vs_boot_info *out, struct vs_error *err);

#endif

/* PVH boot (Xen's HVM direct boot ABI, also used by Linux, FreeBSD and
 * small unikernels): an ELF with a XEN_ELFNOTE_PHYS32_ENTRY note is loaded
 * at its physical addresses and entered in 32-bit flat protected mode with
 * paging off and %ebx pointing at struct hvm_start_info. */
#include "machine/boot/loaders.h"

#include <stddef.h>
#include <string.h>

#include "hw/pc_layout.h"

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the PVH structures below are written in host byte order, which must be little-endian"
#endif

#define VS_HVM_START_MAGIC 0x336ec578u
#define VS_HVM_START_VERSION 1u /* version 1 adds the memory map */

/* Layouts from Xen's public/arch-x86/hvm/start_info.h. */
struct vs_hvm_start_info {
	uint32_t magic;
	uint32_t version;
	uint32_t flags;
	uint32_t nr_modules;
	uint64_t modlist_paddr;
	uint64_t cmdline_paddr;
	uint64_t rsdp_paddr;
	uint64_t memmap_paddr;
	uint32_t memmap_entries;
	uint32_t reserved;
};
_Static_assert(sizeof(struct vs_hvm_start_info) == 56, "hvm_start_info size");
_Static_assert(offsetof(struct vs_hvm_start_info, modlist_paddr) == 16, "modlist_paddr offset");
_Static_assert(offsetof(struct vs_hvm_start_info, rsdp_paddr) == 32, "rsdp_paddr offset");
_Static_assert(offsetof(struct vs_hvm_start_info, memmap_paddr) == 40, "memmap_paddr offset");
_Static_assert(offsetof(struct vs_hvm_start_info, memmap_entries) == 48, "memmap_entries offset");

struct vs_hvm_modlist_entry {
	uint64_t paddr;
	uint64_t size;
	uint64_t cmdline_paddr;
	uint64_t reserved;
};
_Static_assert(sizeof(struct vs_hvm_modlist_entry) == 32, "hvm_modlist_entry size");

struct vs_hvm_memmap_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type;
	uint32_t reserved;
};
_Static_assert(sizeof(struct vs_hvm_memmap_entry) == 24, "hvm_memmap_table_entry size");

enum {
	VS_HVM_MEMMAP_RAM = 1,
	VS_HVM_MEMMAP_RESERVED = 2,
	VS_HVM_MEMMAP_ACPI = 3,
};

_Static_assert(VS_PVH_START_INFO_ADDR + sizeof(struct vs_hvm_start_info) <= VS_PVH_MODLIST_ADDR,
	       "start info overlaps the module list");
_Static_assert(VS_PVH_MODLIST_ADDR + sizeof(struct vs_hvm_modlist_entry) <= VS_PVH_MEMMAP_ADDR,
	       "module list overlaps the memory map");
_Static_assert(VS_PVH_MEMMAP_ADDR + VS_E820_MAX * sizeof(struct vs_hvm_memmap_entry) <= VS_ZERO_PAGE_ADDR,
	       "memory map overlaps the zero page");

int vs_pvh_find_entry(const struct vs_elf *elf, uint32_t *entry, struct vs_error *err)
{
	const uint8_t *desc;
	uint32_t descsz;
	uint64_t e;
	int found = vs_elf_find_note(elf, "Xen", VS_XEN_ELFNOTE_PHYS32_ENTRY, &desc, &descsz, err);

	if (found <= 0)
		return found;
	/* Kernels emit the address as a 32-bit word or as a native pointer. */
	if (descsz == 4)
		e = vs_le32(desc);
	else if (descsz == 8)
		e = vs_le64(desc);
	else
		return vs_error_msg(err, "PVH entry note has a %u-byte descriptor (expected 4 or 8)", descsz);
	if (e > UINT32_MAX)
		return vs_error_msg(err, "PVH entry point 0x%llx is above 4 GiB", (unsigned long long)e);
	*entry = (uint32_t)e;
	return 1;
}

static uint32_t memmap_type(uint32_t e820_type)
{
	switch (e820_type) {
	case VS_E820_RAM:
		return VS_HVM_MEMMAP_RAM;
	case VS_E820_ACPI:
		return VS_HVM_MEMMAP_ACPI;
	default:
		return VS_HVM_MEMMAP_RESERVED;
	}
}

static int write_start_info(const struct vs_guest_mem *mem, const struct vs_boot_params *p,
			    uint64_t initrd_addr, struct vs_error *err)
{
	struct vs_e820_entry e820[VS_E820_MAX];
	int n = vs_guest_mem_e820(mem, e820, VS_E820_MAX);
	struct vs_hvm_start_info si = {
		.magic = VS_HVM_START_MAGIC,
		.version = VS_HVM_START_VERSION,
		.cmdline_paddr = VS_CMDLINE_ADDR,
		.rsdp_paddr = p->rsdp_addr,
		.memmap_paddr = VS_PVH_MEMMAP_ADDR,
		.memmap_entries = (uint32_t)n,
	};
	uint8_t *si_dst = vs_gpa_ptr(mem, VS_PVH_START_INFO_ADDR, sizeof(si));
	uint8_t *mod_dst = vs_gpa_ptr(mem, VS_PVH_MODLIST_ADDR, sizeof(struct vs_hvm_modlist_entry));
	uint8_t *map_dst =
	    vs_gpa_ptr(mem, VS_PVH_MEMMAP_ADDR, (uint64_t)n * sizeof(struct vs_hvm_memmap_entry));

	if (!si_dst || !mod_dst || !map_dst)
		return vs_error_msg(err, "guest RAM too small for the PVH start info");
	if (initrd_addr) {
		struct vs_hvm_modlist_entry mod = { .paddr = initrd_addr, .size = p->initrd_len };

		memcpy(mod_dst, &mod, sizeof(mod));
		si.nr_modules = 1;
		si.modlist_paddr = VS_PVH_MODLIST_ADDR;
	} else {
		memset(mod_dst, 0, sizeof(struct vs_hvm_modlist_entry));
	}
	for (int i = 0; i < n; i++) {
		struct vs_hvm_memmap_entry m = {
			.addr = e820[i].addr,
			.size = e820[i].size,
			.type = memmap_type(e820[i].type),
		};
		memcpy(map_dst + (size_t)i * sizeof(m), &m, sizeof(m));
	}
	memcpy(si_dst, &si, sizeof(si));
	return 0;
}

int vs_boot_load_pvh(struct vs_guest_mem *mem, const struct vs_boot_params *p, const struct vs_elf *elf,
		     uint32_t entry, struct vs_boot_info *out, struct vs_error *err)
{
	struct vs_boot_range ranges[VS_ELF_MAX_LOAD];
	uint64_t rip = entry, start, end, initrd_addr;
	unsigned nranges;
	struct vs_cpu_state *s = &out->bsp;
	struct vs_error ignored;

	if (vs_boot_check_cmdline(p->cmdline, err) < 0)
		return -1;
	/* The note gives a physical address: no virtual translation. */
	if (vs_elf_load(mem, elf, &rip, false, ranges, &nranges, err) < 0)
		return -1;
	vs_boot_range_span(ranges, nranges, &start, &end);
	/* Paging is off at entry, so the initrd must sit below 4 GiB. */
	if (vs_boot_place_initrd(mem, p, VS_BOOT_IDENT_END, ranges, nranges, &initrd_addr, err) < 0)
		return -1;
	if (vs_boot_write_cmdline(mem, p->cmdline, err) < 0)
		return -1;
	if (write_start_info(mem, p, initrd_addr, err) < 0)
		return -1;
	if (vs_boot_setup_segments(mem, false, s, err) < 0)
		return -1;
	s->cr0 = VS_CR0_PE | VS_CR0_ET;
	s->cr3 = 0;
	s->cr4 = 0;
	s->efer = 0;
	s->rip = rip;
	s->rbx = VS_PVH_START_INFO_ADDR;
	/* The ABI promises no stack; a small one costs nothing and lets
	 * minimal guests call before setting their own. */
	s->rsp = VS_BOOT_STACK_TOP;
	out->kernel_start = start;
	out->kernel_end = end;
	out->initrd_addr = initrd_addr;
	vs_elf_linux_info(elf, out, &ignored);
	return 0;
}

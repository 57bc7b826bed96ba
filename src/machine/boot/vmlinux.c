/* Linux kernels as ELF files: recognising one (its "Linux" note and
 * version banner, which PVH images carry too), and the vmlinux loader: a
 * plain x86-64 ELF entered at its 64-bit entry point in long mode with a
 * synthesised zero page in %rsi. */
#include "machine/boot/loaders.h"

#include <string.h>

#include "machine/boot/zeropage.h"
#include "hw/pc_layout.h"

int vs_elf_linux_info(const struct vs_elf *elf, struct vs_boot_info *out, struct vs_error *err)
{
	static const char banner[] = "Linux version ";
	const uint8_t *desc, *hit;
	uint32_t descsz;
	int found = vs_elf_find_note(elf, "Linux", VS_ELF_NOTE_ANY_TYPE, &desc, &descsz, err);

	if (found <= 0)
		return found;
	out->is_linux = true;
	/* The banner is in .rodata, uncompressed in a vmlinux. */
	hit = memmem(elf->img, elf->len, banner, sizeof(banner) - 1);
	if (hit) {
		size_t off = (size_t)(hit - elf->img) + sizeof(banner) - 1;
		vs_boot_set_version(out, elf->img + off, elf->len - off);
	}
	return 1;
}

int vs_boot_load_elf64(struct vs_guest_mem *mem, const struct vs_boot_params *p, const struct vs_elf *elf,
		       struct vs_boot_info *out, struct vs_error *err)
{
	struct vs_boot_range ranges[VS_ELF_MAX_LOAD];
	uint64_t entry = elf->entry, start, end, initrd_addr;
	unsigned nranges;
	struct vs_error ignored;
	uint8_t *zp;

	if (vs_boot_check_cmdline(p->cmdline, err) < 0)
		return -1;
	if (vs_elf_load(mem, elf, &entry, true, ranges, &nranges, err) < 0)
		return -1;
	vs_boot_range_span(ranges, nranges, &start, &end);
	if (entry >= VS_BOOT_IDENT_END)
		return vs_error_msg(err,
				    "ELF entry point 0x%llx is above the 4 GiB mapped for a 64-bit entry",
				    (unsigned long long)entry);
	if (vs_boot_place_initrd(mem, p, UINT64_MAX, ranges, nranges, &initrd_addr, err) < 0)
		return -1;
	if (vs_boot_write_cmdline(mem, p->cmdline, err) < 0)
		return -1;
	zp = vs_gpa_ptr(mem, VS_ZERO_PAGE_ADDR, VS_BP_SIZE);
	if (!zp)
		return vs_error_msg(err, "guest RAM too small for the zero page");

	/* A vmlinux carries no setup header: synthesise one. */
	memset(zp, 0, VS_BP_SIZE);
	vs_zero_page_synth_header(zp, mem);
	vs_zero_page_finish(zp, mem, p, initrd_addr);

	if (vs_boot_setup_long_mode(mem, entry, &out->bsp, err) < 0)
		return -1;
	out->kernel_start = start;
	out->kernel_end = end;
	out->initrd_addr = initrd_addr;
	/* Notes were already walked by the probe; a failure here only means
	 * "not recognisably Linux". */
	vs_elf_linux_info(elf, out, &ignored);
	return 0;
}

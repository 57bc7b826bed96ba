/* Loading an ELF image's PT_LOAD segments at their physical addresses,
 * for the PVH and vmlinux loaders: every segment is checked against the
 * file, guest RAM, the fixed boot areas and the other segments before the
 * first byte is copied. */
#include "machine/boot/elf.h"

#include <string.h>

#include "hw/pc_layout.h"

/* First pass: every check, so a bad image is refused before guest memory
 * is touched. */
static int check_segments(const struct vs_guest_mem *mem, const struct vs_elf *elf,
			  struct vs_boot_range *segs, unsigned *idx, unsigned *count, struct vs_error *err)
{
	unsigned n = 0;

	for (unsigned i = 0; i < elf->phnum; i++) {
		struct vs_elf_phdr ph;
		uint64_t area_lo, area_hi, end;
		const char *what;

		vs_elf_phdr(elf, i, &ph);
		if (ph.type != VS_PT_LOAD)
			continue;
		if (ph.filesz > ph.memsz)
			return vs_error_msg(
			    err, "ELF segment %u: file size (0x%llx) is larger than its memory size (0x%llx)",
			    i, (unsigned long long)ph.filesz, (unsigned long long)ph.memsz);
		if (!vs_range_in(ph.offset, ph.filesz, elf->len))
			return vs_error_msg(
			    err,
			    "ELF segment %u: data (offset 0x%llx, 0x%llx bytes) extends past the end "
			    "of the file (%zu bytes)",
			    i, (unsigned long long)ph.offset, (unsigned long long)ph.filesz, elf->len);
		if (ph.memsz == 0)
			continue;
		if (ph.memsz > UINT64_MAX - ph.paddr)
			return vs_error_msg(err, "ELF segment %u: address 0x%llx + size 0x%llx overflows", i,
					    (unsigned long long)ph.paddr, (unsigned long long)ph.memsz);
		end = ph.paddr + ph.memsz;
		if (!vs_gpa_ptr(mem, ph.paddr, ph.memsz))
			return vs_error_msg(
			    err,
			    "ELF segment %u (0x%llx-0x%llx) is not in guest RAM (%llu MiB, RAM below "
			    "4 GiB ends at 0x%llx)%s",
			    i, (unsigned long long)ph.paddr, (unsigned long long)end,
			    (unsigned long long)(mem->total / VS_MiB),
			    (unsigned long long)vs_guest_mem_low_end(mem),
			    end <= VS_PCI_HOLE_START ? "; try a larger --mem" : "");
		what = vs_boot_fixed_overlap(ph.paddr, ph.memsz, &area_lo, &area_hi);
		if (what)
			return vs_error_msg(err,
					    "ELF segment %u (0x%llx-0x%llx) overlaps the %s at 0x%llx-0x%llx",
					    i, (unsigned long long)ph.paddr, (unsigned long long)end, what,
					    (unsigned long long)area_lo, (unsigned long long)area_hi);
		if (n == VS_ELF_MAX_LOAD)
			return vs_error_msg(err, "ELF has more than %d loadable segments", VS_ELF_MAX_LOAD);
		for (unsigned j = 0; j < n; j++) {
			if (ph.paddr < segs[j].hi && end > segs[j].lo)
				return vs_error_msg(err, "ELF segments %u and %u overlap in guest memory",
						    idx[j], i);
		}
		idx[n] = i;
		segs[n++] = (struct vs_boot_range){ ph.paddr, end };
	}
	if (n == 0)
		return vs_error_msg(err, "ELF has no loadable segments");
	*count = n;
	return 0;
}

/* Find the physical entry point: inside a segment's physical range, or
 * (when allowed) its virtual range translated to physical. */
static int resolve_entry(const struct vs_elf *elf, uint64_t *entry, bool may_be_virtual, struct vs_error *err)
{
	uint64_t e = *entry;

	for (int pass = 0; pass < (may_be_virtual ? 2 : 1); pass++) {
		for (unsigned i = 0; i < elf->phnum; i++) {
			struct vs_elf_phdr ph;
			uint64_t base;

			vs_elf_phdr(elf, i, &ph);
			if (ph.type != VS_PT_LOAD || ph.memsz == 0)
				continue;
			base = pass == 0 ? ph.paddr : ph.vaddr;
			if (e >= base && e - base < ph.memsz) {
				*entry = ph.paddr + (e - base);
				return 0;
			}
		}
	}
	return vs_error_msg(err, "ELF entry point 0x%llx is not inside any loadable segment",
			    (unsigned long long)e);
}

int vs_elf_load(const struct vs_guest_mem *mem, const struct vs_elf *elf, uint64_t *entry,
		bool entry_may_be_virtual, struct vs_boot_range *ranges, unsigned *nranges,
		struct vs_error *err)
{
	unsigned idx[VS_ELF_MAX_LOAD];
	unsigned n = 0;

	if (check_segments(mem, elf, ranges, idx, &n, err) < 0)
		return -1;
	if (resolve_entry(elf, entry, entry_may_be_virtual, err) < 0)
		return -1;
	for (unsigned k = 0; k < n; k++) {
		struct vs_elf_phdr ph;
		uint8_t *dst;

		vs_elf_phdr(elf, idx[k], &ph);
		dst = vs_gpa_ptr(mem, ph.paddr, ph.memsz);
		if (!dst) /* checked above; kept so a future change cannot write wild */
			return vs_error_msg(err, "ELF segment %u is not in guest RAM", idx[k]);
		memcpy(dst, elf->img + ph.offset, ph.filesz);
		memset(dst + ph.filesz, 0, ph.memsz - ph.filesz);
	}
	*nranges = n;
	return 0;
}

/* ELF reading shared by the PVH and vmlinux loaders, and the vmlinux
 * (plain x86-64 ELF) loader itself. Every offset and size in the image is
 * untrusted: each is checked against the file and against guest RAM. */
#include "machine/boot/boot_internal.h"

#include <string.h>

#include "machine/layout.h"

#define VS_EI_NIDENT 16
#define VS_EI_CLASS 4
#define VS_EI_DATA 5
#define VS_EI_VERSION 6
#define VS_ELFCLASS32 1
#define VS_ELFCLASS64 2
#define VS_ELFDATA2LSB 1
#define VS_EV_CURRENT 1
#define VS_ET_EXEC 2
#define VS_ET_DYN 3
#define VS_EM_386 3
#define VS_EM_X86_64 62
#define VS_PN_XNUM 0xffff
#define VS_EHDR32_SIZE 52u
#define VS_EHDR64_SIZE 64u
#define VS_PHDR32_SIZE 32u
#define VS_PHDR64_SIZE 56u

/* Protocol version advertised in a synthesised zero page: 2.15, recent
 * enough that Linux reads every field filled here (acpi_rsdp_addr: 2.14). */
#define VS_BP_SYNTH_VERSION 0x020f
#define VS_BP_SYNTH_ALIGN 0x200000u

int vs_elf_parse(const uint8_t *img, size_t len, struct vs_elf *elf, struct vs_error *err)
{
	unsigned ehsize, phsize_min;

	memset(elf, 0, sizeof(*elf));
	if (len < VS_EI_NIDENT)
		return vs_error_msg(err, "truncated ELF header (%zu bytes)", len);
	if (img[VS_EI_CLASS] != VS_ELFCLASS32 && img[VS_EI_CLASS] != VS_ELFCLASS64)
		return vs_error_msg(err, "unsupported ELF class %u", img[VS_EI_CLASS]);
	elf->is64 = img[VS_EI_CLASS] == VS_ELFCLASS64;
	ehsize = elf->is64 ? VS_EHDR64_SIZE : VS_EHDR32_SIZE;
	phsize_min = elf->is64 ? VS_PHDR64_SIZE : VS_PHDR32_SIZE;
	if (len < ehsize)
		return vs_error_msg(err, "truncated ELF header (%zu bytes; an ELF%d header has %u)", len,
				    elf->is64 ? 64 : 32, ehsize);
	if (img[VS_EI_DATA] != VS_ELFDATA2LSB)
		return vs_error_msg(err, "ELF data encoding %u is not little-endian", img[VS_EI_DATA]);
	if (img[VS_EI_VERSION] != VS_EV_CURRENT)
		return vs_error_msg(err, "unsupported ELF version %u", img[VS_EI_VERSION]);

	elf->img = img;
	elf->len = len;
	elf->type = vs_le16(img + 16);
	elf->machine = vs_le16(img + 18);
	if (elf->is64) {
		elf->entry = vs_le64(img + 24);
		elf->phoff = vs_le64(img + 32);
		elf->phentsize = vs_le16(img + 54);
		elf->phnum = vs_le16(img + 56);
	} else {
		elf->entry = vs_le32(img + 24);
		elf->phoff = vs_le32(img + 28);
		elf->phentsize = vs_le16(img + 42);
		elf->phnum = vs_le16(img + 44);
	}
	if (elf->type != VS_ET_EXEC && elf->type != VS_ET_DYN)
		return vs_error_msg(err, "ELF type %u is not an executable", elf->type);
	if (elf->is64 && elf->machine != VS_EM_X86_64)
		return vs_error_msg(err, "ELF64 machine %u is not x86-64", elf->machine);
	if (!elf->is64 && elf->machine != VS_EM_386 && elf->machine != VS_EM_X86_64)
		return vs_error_msg(err, "ELF32 machine %u is not x86", elf->machine);
	if (elf->phnum == 0)
		return vs_error_msg(err, "ELF has no program headers");
	if (elf->phnum == VS_PN_XNUM)
		return vs_error_msg(err, "ELF with an extended program header count is not supported");
	if (elf->phentsize < phsize_min)
		return vs_error_msg(err, "ELF program header size %u is too small (at least %u)",
				    elf->phentsize, phsize_min);
	if (!vs_range_in(elf->phoff, (uint64_t)elf->phnum * elf->phentsize, len))
		return vs_error_msg(
		    err,
		    "ELF program header table (offset 0x%llx, %u entries of %u bytes) extends past "
		    "the end of the file (%zu bytes)",
		    (unsigned long long)elf->phoff, elf->phnum, elf->phentsize, len);
	return 0;
}

void vs_elf_phdr(const struct vs_elf *elf, unsigned idx, struct vs_elf_phdr *ph)
{
	const uint8_t *p = elf->img + elf->phoff + (uint64_t)idx * elf->phentsize;

	if (elf->is64) {
		ph->type = vs_le32(p + 0);
		ph->offset = vs_le64(p + 8);
		ph->vaddr = vs_le64(p + 16);
		ph->paddr = vs_le64(p + 24);
		ph->filesz = vs_le64(p + 32);
		ph->memsz = vs_le64(p + 40);
		ph->align = vs_le64(p + 48);
	} else {
		ph->type = vs_le32(p + 0);
		ph->offset = vs_le32(p + 4);
		ph->vaddr = vs_le32(p + 8);
		ph->paddr = vs_le32(p + 12);
		ph->filesz = vs_le32(p + 16);
		ph->memsz = vs_le32(p + 20);
		ph->align = vs_le32(p + 28);
	}
}

static uint64_t align_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) & ~(a - 1);
}

int vs_elf_find_note(const struct vs_elf *elf, const char *name, long long type, const uint8_t **desc,
		     uint32_t *descsz, struct vs_error *err)
{
	size_t nlen = strlen(name);

	for (unsigned i = 0; i < elf->phnum; i++) {
		struct vs_elf_phdr ph;
		const uint8_t *n;
		uint64_t left, align;

		vs_elf_phdr(elf, i, &ph);
		if (ph.type != VS_PT_NOTE)
			continue;
		if (!vs_range_in(ph.offset, ph.filesz, elf->len))
			return vs_error_msg(
			    err,
			    "ELF note segment %u (offset 0x%llx, 0x%llx bytes) extends past the end "
			    "of the file (%zu bytes)",
			    i, (unsigned long long)ph.offset, (unsigned long long)ph.filesz, elf->len);
		/* Notes are 4-byte aligned, except in segments that say 8
		 * (e.g. GNU property notes in ELF64). */
		align = ph.align == 8 ? 8 : 4;
		n = elf->img + ph.offset;
		left = ph.filesz;
		while (left >= 12) {
			uint32_t namesz = vs_le32(n), dsz = vs_le32(n + 4), ntype = vs_le32(n + 8);
			/* 64-bit arithmetic: 32-bit sizes cannot overflow it. */
			uint64_t desc_off = 12 + align_up(namesz, align);
			uint64_t desc_end = desc_off + dsz;

			if (desc_end > left)
				return vs_error_msg(
				    err,
				    "ELF note in segment %u is truncated (name %u bytes, descriptor %u "
				    "bytes, %llu bytes left)",
				    i, namesz, dsz, (unsigned long long)left);
			if (namesz == nlen + 1 && memcmp(n + 12, name, nlen) == 0 && n[12 + nlen] == '\0' &&
			    (type == VS_ELF_NOTE_ANY_TYPE || (long long)ntype == type)) {
				*desc = n + desc_off;
				*descsz = dsz;
				return 1;
			}
			/* The last note's padding may be missing. */
			desc_end = align_up(desc_end, align);
			if (desc_end >= left)
				break;
			n += desc_end;
			left -= desc_end;
		}
	}
	return 0;
}

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

	/* A vmlinux carries no setup header: synthesise the fields a kernel
	 * entered at its 64-bit entry point reads. */
	memset(zp, 0, VS_BP_SIZE);
	vs_put_le16(zp + VS_BP_BOOT_FLAG, VS_BP_BOOT_FLAG_MAGIC);
	zp[VS_BP_JUMP] = 0xeb;
	zp[VS_BP_JUMP + 1] = (uint8_t)(VS_BP_INIT_SIZE + 4 - VS_BP_HEADER);
	vs_put_le32(zp + VS_BP_HEADER, VS_BP_HDRS_MAGIC);
	vs_put_le16(zp + VS_BP_VERSION, VS_BP_SYNTH_VERSION);
	zp[VS_BP_LOADFLAGS] = VS_BP_LOADED_HIGH;
	vs_put_le32(zp + VS_BP_INITRD_ADDR_MAX, (uint32_t)(vs_guest_mem_low_end(mem) - 1));
	vs_put_le32(zp + VS_BP_KERNEL_ALIGNMENT, VS_BP_SYNTH_ALIGN);
	vs_put_le16(zp + VS_BP_XLOADFLAGS, VS_BP_XLF_KERNEL_64);
	vs_put_le32(zp + VS_BP_CMDLINE_SIZE, (uint32_t)(VS_CMDLINE_MAX - 1));
	vs_linux_zero_page_finish(zp, mem, p, initrd_addr);

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

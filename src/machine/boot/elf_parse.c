/* Reading an ELF image: the file header, program headers and notes.
 * Every offset and size in the image is untrusted and checked against the
 * file; nothing here touches guest memory. */
#include "machine/boot/elf.h"

#include <string.h>

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

/* Synthetic kernel images for the boot loader tests and the fuzzer's seed
 * corpus: a PVH ELF32, a vmlinux-like ELF64 (optionally with a PVH note)
 * and a bzImage with a 2.15 setup header. Each builder returns a calloc'd
 * buffer; the offsets below let tests corrupt one field at a time. */
#ifndef VESSEL_TESTS_BOOT_IMAGES_H
#define VESSEL_TESTS_BOOT_IMAGES_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static inline void ti_w16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static inline void ti_w32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static inline void ti_w64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static inline uint8_t ti_pattern(size_t i)
{
	return (uint8_t)(i * 7 + 3);
}

static inline void ti_elf_ident(uint8_t *img, int is64)
{
	img[0] = 0x7f;
	img[1] = 'E';
	img[2] = 'L';
	img[3] = 'F';
	img[4] = is64 ? 2 : 1; /* class */
	img[5] = 1;	       /* little-endian */
	img[6] = 1;	       /* version */
}

/* Append one note (4-byte aligned) at `p`; returns its padded size. */
static inline size_t ti_note(uint8_t *p, const char *name, uint32_t type, const void *desc, uint32_t descsz)
{
	uint32_t namesz = (uint32_t)strlen(name) + 1;
	size_t name_pad = (namesz + 3) & ~3u, desc_pad = (descsz + 3) & ~3u;

	ti_w32(p, namesz);
	ti_w32(p + 4, descsz);
	ti_w32(p + 8, type);
	memcpy(p + 12, name, namesz);
	memcpy(p + 12 + name_pad, desc, descsz);
	return 12 + name_pad + desc_pad;
}

/* ---- PVH ELF32: one PT_LOAD at 1 MiB (bss after the data), one PT_NOTE. */
#define TI_PVH32_LEN 0x2000u
#define TI_PVH32_PH_LOAD 52u
#define TI_PVH32_PH_NOTE 84u
#define TI_PVH32_NOTE_OFF 0x200u
#define TI_PVH32_DATA_OFF 0x1000u
#define TI_PVH32_PADDR 0x100000u
#define TI_PVH32_FILESZ 0x800u
#define TI_PVH32_MEMSZ 0x3000u
#define TI_PVH32_ENTRY (TI_PVH32_PADDR + 0x10u)

static inline uint8_t *ti_make_pvh32(size_t *len)
{
	uint8_t *img = calloc(1, TI_PVH32_LEN), *ph;
	uint32_t entry = TI_PVH32_ENTRY;
	size_t note_len;

	if (!img)
		return NULL;
	ti_elf_ident(img, 0);
	ti_w16(img + 16, 2); /* ET_EXEC */
	ti_w16(img + 18, 3); /* EM_386 */
	ti_w32(img + 20, 1);
	ti_w32(img + 24, entry);
	ti_w32(img + 28, TI_PVH32_PH_LOAD); /* e_phoff */
	ti_w16(img + 40, 52);		    /* e_ehsize */
	ti_w16(img + 42, 32);		    /* e_phentsize */
	ti_w16(img + 44, 2);		    /* e_phnum */

	note_len = ti_note(img + TI_PVH32_NOTE_OFF, "Xen", 18, &entry, 4);

	ph = img + TI_PVH32_PH_LOAD;
	ti_w32(ph + 0, 1); /* PT_LOAD */
	ti_w32(ph + 4, TI_PVH32_DATA_OFF);
	ti_w32(ph + 8, TI_PVH32_PADDR);
	ti_w32(ph + 12, TI_PVH32_PADDR);
	ti_w32(ph + 16, TI_PVH32_FILESZ);
	ti_w32(ph + 20, TI_PVH32_MEMSZ);
	ti_w32(ph + 24, 7);
	ti_w32(ph + 28, 0x1000);

	ph = img + TI_PVH32_PH_NOTE;
	ti_w32(ph + 0, 4); /* PT_NOTE */
	ti_w32(ph + 4, TI_PVH32_NOTE_OFF);
	ti_w32(ph + 16, (uint32_t)note_len);
	ti_w32(ph + 20, (uint32_t)note_len);
	ti_w32(ph + 28, 4);

	for (size_t i = 0; i < TI_PVH32_FILESZ; i++)
		img[TI_PVH32_DATA_OFF + i] = ti_pattern(i);
	*len = TI_PVH32_LEN;
	return img;
}

/* ---- ELF64 like a vmlinux: two PT_LOADs with virtual addresses in the
 * kernel map and physical ones low, a "GNU" and a "Linux" note, the
 * version banner in the data, and optionally a PVH note (8-byte). */
#define TI_ELF64_LEN 0x3000u
#define TI_ELF64_PH0 64u
#define TI_ELF64_PH1 (64u + 56u)
#define TI_ELF64_PH_NOTE (64u + 112u)
#define TI_ELF64_NOTE_OFF 0x300u
#define TI_ELF64_SEG0_OFF 0x1000u
#define TI_ELF64_SEG0_PADDR 0x200000u
#define TI_ELF64_SEG0_SIZE 0x1000u
#define TI_ELF64_SEG1_OFF 0x2000u
#define TI_ELF64_SEG1_PADDR 0x400000u
#define TI_ELF64_SEG1_FILESZ 0x800u
#define TI_ELF64_SEG1_MEMSZ 0x4000u
#define TI_ELF64_VBASE 0xffffffff80000000ull
#define TI_ELF64_ENTRY (TI_ELF64_SEG0_PADDR + 0x40u)
#define TI_ELF64_PVH_ENTRY (TI_ELF64_SEG0_PADDR + 0x80u)
#define TI_ELF64_BANNER_OFF 0x1100u
#define TI_ELF64_RELEASE "6.9.0-vessel"

static inline void ti_phdr64(uint8_t *ph, uint32_t type, uint64_t off, uint64_t vaddr, uint64_t paddr,
			     uint64_t filesz, uint64_t memsz, uint64_t align)
{
	ti_w32(ph + 0, type);
	ti_w32(ph + 4, 7);
	ti_w64(ph + 8, off);
	ti_w64(ph + 16, vaddr);
	ti_w64(ph + 24, paddr);
	ti_w64(ph + 32, filesz);
	ti_w64(ph + 40, memsz);
	ti_w64(ph + 48, align);
}

static inline uint8_t *ti_make_elf64(int with_pvh_note, size_t *len)
{
	static const char banner[] = "Linux version " TI_ELF64_RELEASE " (test@vessel) #1 SMP";
	uint8_t *img = calloc(1, TI_ELF64_LEN);
	uint8_t build_id[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	uint32_t zero = 0;
	uint64_t pvh_entry = TI_ELF64_PVH_ENTRY;
	size_t note_len = 0;

	if (!img)
		return NULL;
	ti_elf_ident(img, 1);
	ti_w16(img + 16, 2);  /* ET_EXEC */
	ti_w16(img + 18, 62); /* EM_X86_64 */
	ti_w32(img + 20, 1);
	ti_w64(img + 24, TI_ELF64_ENTRY); /* physical, as in a vmlinux */
	ti_w64(img + 32, TI_ELF64_PH0);	  /* e_phoff */
	ti_w16(img + 52, 64);		  /* e_ehsize */
	ti_w16(img + 54, 56);		  /* e_phentsize */
	ti_w16(img + 56, 3);		  /* e_phnum */

	note_len += ti_note(img + TI_ELF64_NOTE_OFF + note_len, "GNU", 3, build_id, sizeof(build_id));
	note_len += ti_note(img + TI_ELF64_NOTE_OFF + note_len, "Linux", 0x100, &zero, 4);
	if (with_pvh_note)
		note_len += ti_note(img + TI_ELF64_NOTE_OFF + note_len, "Xen", 18, &pvh_entry, 8);

	ti_phdr64(img + TI_ELF64_PH0, 1, TI_ELF64_SEG0_OFF, TI_ELF64_VBASE + TI_ELF64_SEG0_PADDR,
		  TI_ELF64_SEG0_PADDR, TI_ELF64_SEG0_SIZE, TI_ELF64_SEG0_SIZE, 0x1000);
	ti_phdr64(img + TI_ELF64_PH1, 1, TI_ELF64_SEG1_OFF, TI_ELF64_VBASE + TI_ELF64_SEG1_PADDR,
		  TI_ELF64_SEG1_PADDR, TI_ELF64_SEG1_FILESZ, TI_ELF64_SEG1_MEMSZ, 0x1000);
	ti_phdr64(img + TI_ELF64_PH_NOTE, 4, TI_ELF64_NOTE_OFF, 0, 0, note_len, note_len, 4);

	for (size_t i = 0; i < TI_ELF64_SEG0_SIZE; i++)
		img[TI_ELF64_SEG0_OFF + i] = ti_pattern(i);
	for (size_t i = 0; i < TI_ELF64_SEG1_FILESZ; i++)
		img[TI_ELF64_SEG1_OFF + i] = ti_pattern(i + 1000);
	memcpy(img + TI_ELF64_BANNER_OFF, banner, sizeof(banner));
	*len = TI_ELF64_LEN;
	return img;
}

/* ---- bzImage: 4 setup sectors after the boot sector, a 2.15 header,
 * then a 4 KiB "protected-mode kernel". */
#define TI_BZ_SETUP_SECTS 4u
#define TI_BZ_SETUP_SIZE ((TI_BZ_SETUP_SECTS + 1) * 512u)
#define TI_BZ_PAYLOAD 0x1000u
#define TI_BZ_LEN (TI_BZ_SETUP_SIZE + TI_BZ_PAYLOAD)
#define TI_BZ_HDR_END 0x26cu
#define TI_BZ_RELEASE "6.1.0-test"
#define TI_BZ_INIT_SIZE 0x200000u
#define TI_BZ_PREF 0x1000000u

static inline uint8_t *ti_make_bzimage(size_t *len)
{
	static const char kver[] = TI_BZ_RELEASE " (builder@vessel) #1 SMP";
	uint8_t *img = calloc(1, TI_BZ_LEN);

	if (!img)
		return NULL;
	img[0x1f1] = TI_BZ_SETUP_SECTS;
	ti_w16(img + 0x1fe, 0xaa55);
	img[0x200] = 0xeb;
	img[0x201] = TI_BZ_HDR_END - 0x202;
	memcpy(img + 0x202, "HdrS", 4);
	ti_w16(img + 0x206, 0x020f);
	ti_w16(img + 0x20e, 0x100);	 /* version string at 0x300 */
	img[0x211] = 0x01;		 /* LOADED_HIGH */
	ti_w32(img + 0x214, 0x100000);	 /* code32_start */
	ti_w32(img + 0x22c, 0x7fffffff); /* initrd_addr_max */
	ti_w32(img + 0x230, 0x200000);	 /* kernel_alignment */
	img[0x234] = 1;			 /* relocatable */
	img[0x235] = 21;		 /* min_alignment */
	ti_w16(img + 0x236, 0x0003);	 /* XLF_KERNEL_64 | XLF_CAN_BE_LOADED_ABOVE_4G */
	ti_w32(img + 0x238, 2047);	 /* cmdline_size */
	ti_w64(img + 0x258, TI_BZ_PREF); /* pref_address */
	ti_w32(img + 0x260, TI_BZ_INIT_SIZE);
	memcpy(img + 0x300, kver, sizeof(kver));
	for (size_t i = 0; i < TI_BZ_PAYLOAD; i++)
		img[TI_BZ_SETUP_SIZE + i] = ti_pattern(i + 77);
	*len = TI_BZ_LEN;
	return img;
}

#endif

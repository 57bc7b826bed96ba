/* Kernel loaders: format detection, what each protocol leaves in guest
 * memory and in the boot CPU's registers, and refusal of bad images. */
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../tap.h"
#include "images.h"
#include "machine/boot/boot.h"
#include "hw/pc_layout.h"

#define MEM_SIZE (64 * VS_MiB)
#define RSDP 0xe0000ull
#define CMDLINE "console=ttyS0 root=/dev/vda rw"

static uint64_t rd(const struct vs_guest_mem *m, uint64_t gpa, unsigned n)
{
	uint8_t b[8] = { 0 };
	uint64_t v = 0;

	if (vs_gpa_read(m, gpa, b, n) < 0)
		return 0xbad0bad0bad0bad0ull;
	for (unsigned i = 0; i < n; i++)
		v |= (uint64_t)b[i] << (8 * i);
	return v;
}

static uint64_t rd64(const struct vs_guest_mem *m, uint64_t gpa)
{
	return rd(m, gpa, 8);
}

static uint64_t rd32(const struct vs_guest_mem *m, uint64_t gpa)
{
	return rd(m, gpa, 4);
}

static uint64_t rd16(const struct vs_guest_mem *m, uint64_t gpa)
{
	return rd(m, gpa, 2);
}

static uint64_t rd8(const struct vs_guest_mem *m, uint64_t gpa)
{
	return rd(m, gpa, 1);
}

static uint8_t *make_initrd(size_t len)
{
	uint8_t *d = malloc(len);

	for (size_t i = 0; d && i < len; i++)
		d[i] = (uint8_t)(i * 13 + 5);
	return d;
}

static int load(struct vs_guest_mem *mem, const uint8_t *img, size_t len, const uint8_t *initrd, size_t ilen,
		const char *cmdline, struct vs_boot_info *info, struct vs_error *err)
{
	struct vs_boot_params p = { img, len, initrd, ilen, cmdline, RSDP };

	vs_error_clear(err);
	return vs_boot_load(mem, &p, info, err);
}

static void expect_fail_(int *failed_, int line, struct vs_guest_mem *mem, const uint8_t *img, size_t len,
			 const uint8_t *initrd, size_t ilen, const char *cmdline, const char *word)
{
	struct vs_boot_info info;
	struct vs_error err;
	int rc = load(mem, img, len, initrd, ilen, cmdline, &info, &err);

	if (rc != -1 || !strstr(err.msg, word)) {
		printf("#   line %d: expected a failure mentioning \"%s\", got %d \"%s\"\n", line, word, rc,
		       err.msg);
		*failed_ = 1;
	} else {
		printf("#   refused: %s\n", err.msg);
	}
}

#define EXPECT_FAIL(mem, img, len, word) \
	expect_fail_(failed_, __LINE__, mem, img, len, NULL, 0, CMDLINE, word)

/* Decode a GDT descriptor and compare it with the segment register state
 * the loader reports for it, so the two can never disagree. */
static void check_descriptor(int *failed_, uint64_t d, const struct vs_segment *s)
{
	uint64_t limit = (d & 0xffff) | ((d >> 32) & 0xf0000);
	uint64_t base = ((d >> 16) & 0xffffff) | (((d >> 56) & 0xff) << 24);
	unsigned g = (d >> 55) & 1;

	if (g)
		limit = (limit << 12) | 0xfff;
	CHECK_EQ_U64(base, s->base);
	CHECK_EQ_U64(limit, s->limit);
	CHECK_EQ_U64((d >> 40) & 0xf, s->type);
	CHECK_EQ_U64((d >> 44) & 1, s->s);
	CHECK_EQ_U64((d >> 45) & 3, s->dpl);
	CHECK_EQ_U64((d >> 47) & 1, s->present);
	CHECK_EQ_U64((d >> 53) & 1, s->l);
	CHECK_EQ_U64((d >> 54) & 1, s->db);
	CHECK_EQ_U64(g, s->g);
}

static void check_flat_data(int *failed_, const struct vs_segment *s)
{
	CHECK_EQ_U64(s->selector, 0x18);
	CHECK_EQ_U64(s->type, 0x3);
	CHECK_EQ_U64(s->base, 0);
	CHECK_EQ_U64(s->limit, 0xffffffff);
	CHECK(s->present && s->s && s->db && s->g && !s->unusable);
}

/* What every entry state shares: GDT/IDT, data segments, TR, LDT. */
static void check_common_state(int *failed_, const struct vs_guest_mem *mem, const struct vs_cpu_state *s)
{
	CHECK_EQ_U64(s->gdt.base, VS_BOOT_GDT_ADDR);
	CHECK_EQ_U64(s->gdt.limit, 31);
	CHECK_EQ_U64(s->idt.base, VS_BOOT_IDT_ADDR);
	CHECK_EQ_U64(s->idt.limit, 0);
	CHECK_EQ_U64(rd64(mem, VS_BOOT_GDT_ADDR), 0);
	CHECK_EQ_U64(rd64(mem, VS_BOOT_GDT_ADDR + 8), 0);
	CHECK_EQ_U64(rd64(mem, VS_BOOT_GDT_ADDR + 0x18), 0x00cf93000000ffffull);
	check_descriptor(failed_, rd64(mem, VS_BOOT_GDT_ADDR + 0x10), &s->cs);
	check_descriptor(failed_, rd64(mem, VS_BOOT_GDT_ADDR + 0x18), &s->ds);
	CHECK_EQ_U64(s->cs.selector, 0x10);
	check_flat_data(failed_, &s->ds);
	check_flat_data(failed_, &s->es);
	check_flat_data(failed_, &s->fs);
	check_flat_data(failed_, &s->gs);
	check_flat_data(failed_, &s->ss);
	CHECK_EQ_U64(s->tr.type, 0xb);
	CHECK_EQ_U64(s->tr.limit, 0x67);
	CHECK(s->tr.present && !s->tr.s && !s->tr.unusable);
	CHECK(s->ldt.unusable);
	CHECK_EQ_U64(s->rflags, 0x2);
}

static void check_long_mode_state(int *failed_, const struct vs_guest_mem *mem, const struct vs_cpu_state *s)
{
	check_common_state(failed_, mem, s);
	CHECK_EQ_U64(rd64(mem, VS_BOOT_GDT_ADDR + 0x10), 0x00af9b000000ffffull);
	CHECK(s->cs.l == 1 && s->cs.db == 0 && s->cs.type == 0xb);
	CHECK_EQ_U64(s->cr0, VS_CR0_PE | VS_CR0_ET | VS_CR0_PG);
	CHECK_EQ_U64(s->cr4, VS_CR4_PAE);
	CHECK_EQ_U64(s->efer, VS_EFER_LME | VS_EFER_LMA);
	CHECK_EQ_U64(s->cr3, VS_PML4_ADDR);
	CHECK_EQ_U64(s->rsi, VS_ZERO_PAGE_ADDR);
	CHECK_EQ_U64(s->rsp, VS_BOOT_STACK_TOP);
}

/* The e820 table and the loader-owned fields of a Linux zero page. */
static void check_zero_page(int *failed_, const struct vs_guest_mem *mem, const struct vs_boot_info *info,
			    size_t ilen, const char *cmdline)
{
	const uint64_t zp = VS_ZERO_PAGE_ADDR;
	struct vs_e820_entry e820[VS_E820_MAX];
	int n = vs_guest_mem_e820(mem, e820, VS_E820_MAX);

	CHECK_EQ_U64(rd16(mem, zp + 0x1fe), 0xaa55);
	CHECK_EQ_U64(rd32(mem, zp + 0x202), 0x53726448); /* "HdrS" */
	CHECK_EQ_U64(rd8(mem, zp + 0x210), 0xff);	 /* type_of_loader */
	CHECK((rd8(mem, zp + 0x211) & 0x81) == 0x81);	 /* LOADED_HIGH | CAN_USE_HEAP */
	CHECK_EQ_U64(rd16(mem, zp + 0x224), 0xfe00);
	CHECK_EQ_U64(rd32(mem, zp + 0x228), VS_CMDLINE_ADDR);
	CHECK_EQ_U64(rd32(mem, zp + 0x0c8), 0);
	CHECK(strlen(cmdline) <= rd32(mem, zp + 0x238));
	CHECK(strcmp((const char *)vs_gpa_ptr(mem, VS_CMDLINE_ADDR, 1), cmdline) == 0);
	CHECK_EQ_U64(rd32(mem, zp + 0x218), info->initrd_addr);
	CHECK_EQ_U64(rd32(mem, zp + 0x21c), ilen);
	CHECK_EQ_U64(rd32(mem, zp + 0x0c0), 0);
	CHECK_EQ_U64(rd32(mem, zp + 0x0c4), 0);
	CHECK_EQ_U64(rd64(mem, zp + 0x250), 0); /* setup_data */
	CHECK_EQ_U64(rd8(mem, zp + 0x1e8), n);
	for (int i = 0; i < n; i++) {
		uint64_t e = zp + 0x2d0 + 20u * (unsigned)i;
		CHECK_EQ_U64(rd64(mem, e), e820[i].addr);
		CHECK_EQ_U64(rd64(mem, e + 8), e820[i].size);
		CHECK_EQ_U64(rd32(mem, e + 16), e820[i].type);
	}
}

static bool all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

TEST(probe_detects_each_format)
{
	struct vs_error err = { 0 };
	enum vs_boot_kind k = VS_BOOT_ELF64;
	size_t len;
	uint8_t *img;

	img = ti_make_pvh32(&len);
	CHECK(vs_boot_probe(img, len, &k, &err) == 0 && k == VS_BOOT_PVH);
	free(img);
	img = ti_make_elf64(0, &len);
	CHECK(vs_boot_probe(img, len, &k, &err) == 0 && k == VS_BOOT_ELF64);
	free(img);
	img = ti_make_elf64(1, &len);
	CHECK(vs_boot_probe(img, len, &k, &err) == 0 && k == VS_BOOT_PVH);
	free(img);
	img = ti_make_bzimage(&len);
	CHECK(vs_boot_probe(img, len, &k, &err) == 0 && k == VS_BOOT_BZIMAGE);
	free(img);
	CHECK(strcmp(vs_boot_kind_name(VS_BOOT_PVH), "pvh") == 0);
	CHECK(strcmp(vs_boot_kind_name(VS_BOOT_BZIMAGE), "bzimage") == 0);
	CHECK(strcmp(vs_boot_kind_name(VS_BOOT_ELF64), "elf64") == 0);
}

TEST(pvh_elf32_load)
{
	struct vs_guest_mem mem;
	struct vs_boot_info info;
	struct vs_error err;
	struct vs_e820_entry e820[VS_E820_MAX];
	size_t len, ilen = 3 * 4096 + 100;
	uint8_t *img = ti_make_pvh32(&len), *initrd = make_initrd(ilen);
	uint64_t expect_initrd = (MEM_SIZE - ilen) & ~0xfffull;
	const struct vs_cpu_state *s = &info.bsp;
	int n;

	CHECK(vs_guest_mem_create(&mem, MEM_SIZE, &err) == 0);
	/* Dirty the bss so the zero fill is observable. */
	memset(vs_gpa_ptr(&mem, TI_PVH32_PADDR, TI_PVH32_MEMSZ), 0xaa, TI_PVH32_MEMSZ);
	CHECK(load(&mem, img, len, initrd, ilen, CMDLINE, &info, &err) == 0);
	CHECK(info.kind == VS_BOOT_PVH);
	CHECK(!info.is_linux);

	/* Segment data and zeroed bss. */
	CHECK(memcmp(vs_gpa_ptr(&mem, TI_PVH32_PADDR, TI_PVH32_FILESZ), img + TI_PVH32_DATA_OFF,
		     TI_PVH32_FILESZ) == 0);
	CHECK(all_zero(vs_gpa_ptr(&mem, TI_PVH32_PADDR + TI_PVH32_FILESZ, TI_PVH32_MEMSZ - TI_PVH32_FILESZ),
		       TI_PVH32_MEMSZ - TI_PVH32_FILESZ));
	CHECK_EQ_U64(info.kernel_start, TI_PVH32_PADDR);
	CHECK_EQ_U64(info.kernel_end, TI_PVH32_PADDR + TI_PVH32_MEMSZ);

	/* Initrd: page-aligned, as high as low RAM allows, intact. */
	CHECK_EQ_U64(info.initrd_addr, expect_initrd);
	CHECK(memcmp(vs_gpa_ptr(&mem, info.initrd_addr, ilen), initrd, ilen) == 0);

	/* hvm_start_info, by the offsets of Xen's start_info.h. */
	CHECK_EQ_U64(rd32(&mem, VS_PVH_START_INFO_ADDR + 0), 0x336ec578);
	CHECK_EQ_U64(rd32(&mem, VS_PVH_START_INFO_ADDR + 4), 1);
	CHECK_EQ_U64(rd32(&mem, VS_PVH_START_INFO_ADDR + 12), 1);
	CHECK_EQ_U64(rd64(&mem, VS_PVH_START_INFO_ADDR + 16), VS_PVH_MODLIST_ADDR);
	CHECK_EQ_U64(rd64(&mem, VS_PVH_START_INFO_ADDR + 24), VS_CMDLINE_ADDR);
	CHECK_EQ_U64(rd64(&mem, VS_PVH_START_INFO_ADDR + 32), RSDP);
	CHECK_EQ_U64(rd64(&mem, VS_PVH_START_INFO_ADDR + 40), VS_PVH_MEMMAP_ADDR);
	CHECK(strcmp((const char *)vs_gpa_ptr(&mem, VS_CMDLINE_ADDR, sizeof(CMDLINE)), CMDLINE) == 0);
	CHECK_EQ_U64(rd64(&mem, VS_PVH_MODLIST_ADDR + 0), expect_initrd);
	CHECK_EQ_U64(rd64(&mem, VS_PVH_MODLIST_ADDR + 8), ilen);
	n = vs_guest_mem_e820(&mem, e820, VS_E820_MAX);
	CHECK_EQ_U64(rd32(&mem, VS_PVH_START_INFO_ADDR + 48), n);
	for (int i = 0; i < n; i++) {
		uint64_t e = VS_PVH_MEMMAP_ADDR + 24u * (unsigned)i;
		CHECK_EQ_U64(rd64(&mem, e), e820[i].addr);
		CHECK_EQ_U64(rd64(&mem, e + 8), e820[i].size);
		CHECK_EQ_U64(rd32(&mem, e + 16), e820[i].type);
	}

	/* 32-bit flat protected mode, paging off. */
	check_common_state(failed_, &mem, s);
	CHECK_EQ_U64(rd64(&mem, VS_BOOT_GDT_ADDR + 0x10), 0x00cf9b000000ffffull);
	CHECK(s->cs.l == 0 && s->cs.db == 1 && s->cs.type == 0xb && s->cs.g == 1 && s->cs.s == 1);
	CHECK_EQ_U64(s->rip, TI_PVH32_ENTRY);
	CHECK_EQ_U64(s->rbx, VS_PVH_START_INFO_ADDR);
	CHECK_EQ_U64(s->cr0, VS_CR0_PE | VS_CR0_ET);
	CHECK_EQ_U64(s->cr4, 0);
	CHECK_EQ_U64(s->efer, 0);

	vs_guest_mem_release(&mem);
	free(img);
	free(initrd);
}

TEST(pvh_without_initrd_or_acpi)
{
	struct vs_guest_mem mem;
	struct vs_boot_info info;
	struct vs_error err;
	size_t len;
	uint8_t *img = ti_make_pvh32(&len);
	struct vs_boot_params p = { img, len, NULL, 0, "", 0 };

	CHECK(vs_guest_mem_create(&mem, MEM_SIZE, &err) == 0);
	CHECK(vs_boot_load(&mem, &p, &info, &err) == 0);
	CHECK_EQ_U64(info.initrd_addr, 0);
	CHECK_EQ_U64(rd32(&mem, VS_PVH_START_INFO_ADDR + 12), 0);
	CHECK_EQ_U64(rd64(&mem, VS_PVH_START_INFO_ADDR + 16), 0);
	CHECK_EQ_U64(rd64(&mem, VS_PVH_START_INFO_ADDR + 32), 0);
	CHECK_EQ_U64(rd8(&mem, VS_CMDLINE_ADDR), 0);
	vs_guest_mem_release(&mem);
	free(img);
}

TEST(pvh_elf64_with_8_byte_note)
{
	struct vs_guest_mem mem;
	struct vs_boot_info info;
	struct vs_error err;
	size_t len;
	uint8_t *img = ti_make_elf64(1, &len);

	CHECK(vs_guest_mem_create(&mem, MEM_SIZE, &err) == 0);
	CHECK(load(&mem, img, len, NULL, 0, CMDLINE, &info, &err) == 0);
	CHECK(info.kind == VS_BOOT_PVH);
	CHECK_EQ_U64(info.bsp.rip, TI_ELF64_PVH_ENTRY);
	CHECK_EQ_U64(info.bsp.cr0, VS_CR0_PE | VS_CR0_ET);
	CHECK(info.is_linux);
	CHECK(strcmp(info.version, TI_ELF64_RELEASE) == 0);
	vs_guest_mem_release(&mem);
	free(img);
}

TEST(elf64_vmlinux_load)
{
	struct vs_guest_mem mem;
	struct vs_boot_info info;
	struct vs_error err;
	size_t len, ilen = 8192;
	uint8_t *img = ti_make_elf64(0, &len), *initrd = make_initrd(ilen);
	const uint64_t bss = TI_ELF64_SEG1_MEMSZ - TI_ELF64_SEG1_FILESZ;

	CHECK(vs_guest_mem_create(&mem, MEM_SIZE, &err) == 0);
	memset(vs_gpa_ptr(&mem, TI_ELF64_SEG1_PADDR, TI_ELF64_SEG1_MEMSZ), 0x55, TI_ELF64_SEG1_MEMSZ);
	CHECK(load(&mem, img, len, initrd, ilen, CMDLINE, &info, &err) == 0);
	CHECK(info.kind == VS_BOOT_ELF64);
	CHECK(memcmp(vs_gpa_ptr(&mem, TI_ELF64_SEG0_PADDR, TI_ELF64_SEG0_SIZE), img + TI_ELF64_SEG0_OFF,
		     TI_ELF64_SEG0_SIZE) == 0);
	CHECK(memcmp(vs_gpa_ptr(&mem, TI_ELF64_SEG1_PADDR, TI_ELF64_SEG1_FILESZ), img + TI_ELF64_SEG1_OFF,
		     TI_ELF64_SEG1_FILESZ) == 0);
	CHECK(all_zero(vs_gpa_ptr(&mem, TI_ELF64_SEG1_PADDR + TI_ELF64_SEG1_FILESZ, bss), bss));
	CHECK_EQ_U64(info.kernel_start, TI_ELF64_SEG0_PADDR);
	CHECK_EQ_U64(info.kernel_end, TI_ELF64_SEG1_PADDR + TI_ELF64_SEG1_MEMSZ);
	CHECK_EQ_U64(info.initrd_addr, MEM_SIZE - ilen);
	CHECK(memcmp(vs_gpa_ptr(&mem, info.initrd_addr, ilen), initrd, ilen) == 0);

	check_zero_page(failed_, &mem, &info, ilen, CMDLINE);
	CHECK(rd16(&mem, VS_ZERO_PAGE_ADDR + 0x206) >= 0x020e);
	CHECK_EQ_U64(rd64(&mem, VS_ZERO_PAGE_ADDR + 0x070), RSDP);
	CHECK(rd32(&mem, VS_ZERO_PAGE_ADDR + 0x230) != 0); /* kernel_alignment */

	check_long_mode_state(failed_, &mem, &info.bsp);
	CHECK_EQ_U64(info.bsp.rip, TI_ELF64_ENTRY);
	CHECK(info.is_linux);
	CHECK(strcmp(info.version, TI_ELF64_RELEASE) == 0);
	vs_guest_mem_release(&mem);
	free(img);
	free(initrd);
}

TEST(elf64_virtual_entry_is_translated)
{
	struct vs_guest_mem mem;
	struct vs_boot_info info;
	struct vs_error err;
	size_t len;
	uint8_t *img = ti_make_elf64(0, &len);

	ti_w64(img + 24, TI_ELF64_VBASE + TI_ELF64_ENTRY);
	CHECK(vs_guest_mem_create(&mem, MEM_SIZE, &err) == 0);
	CHECK(load(&mem, img, len, NULL, 0, CMDLINE, &info, &err) == 0);
	CHECK_EQ_U64(info.bsp.rip, TI_ELF64_ENTRY);
	vs_guest_mem_release(&mem);
	free(img);
}

TEST(bzimage_load)
{
	struct vs_guest_mem mem;
	struct vs_boot_info info;
	struct vs_error err;
	size_t len, ilen = 5000;
	uint8_t *img = ti_make_bzimage(&len), *initrd = make_initrd(ilen);
	/* Fields of the header the loader owns; the rest is copied as is. */
	static const struct {
		unsigned off, len;
	} owned[] = { { 0x210, 2 }, { 0x218, 8 }, { 0x224, 2 }, { 0x228, 4 }, { 0x250, 8 } };

	CHECK(vs_guest_mem_create(&mem, MEM_SIZE, &err) == 0);
	CHECK(load(&mem, img, len, initrd, ilen, CMDLINE, &info, &err) == 0);
	CHECK(info.kind == VS_BOOT_BZIMAGE);
	CHECK(memcmp(vs_gpa_ptr(&mem, VS_KERNEL_ADDR, TI_BZ_PAYLOAD), img + TI_BZ_SETUP_SIZE,
		     TI_BZ_PAYLOAD) == 0);
	CHECK_EQ_U64(info.kernel_start, VS_KERNEL_ADDR);
	CHECK_EQ_U64(info.kernel_end, VS_KERNEL_ADDR + TI_BZ_PAYLOAD);

	/* Initrd at the top of RAM, clear of where the kernel decompresses
	 * (pref_address + init_size). */
	CHECK_EQ_U64(info.initrd_addr, (MEM_SIZE - ilen) & ~0xfffull);
	CHECK(info.initrd_addr >= TI_BZ_PREF + TI_BZ_INIT_SIZE);
	CHECK(memcmp(vs_gpa_ptr(&mem, info.initrd_addr, ilen), initrd, ilen) == 0);

	for (unsigned off = 0x1f1; off < TI_BZ_HDR_END; off++) {
		bool skip = false;
		for (size_t i = 0; i < sizeof(owned) / sizeof(owned[0]); i++)
			skip |= off >= owned[i].off && off < owned[i].off + owned[i].len;
		if (!skip && rd8(&mem, VS_ZERO_PAGE_ADDR + off) != img[off]) {
			printf("#   setup header byte 0x%x differs\n", off);
			CHECK(0);
		}
	}
	check_zero_page(failed_, &mem, &info, ilen, CMDLINE);
	CHECK_EQ_U64(rd8(&mem, VS_ZERO_PAGE_ADDR + 0x211), 0x81);
	CHECK_EQ_U64(rd64(&mem, VS_ZERO_PAGE_ADDR + 0x070), RSDP);

	check_long_mode_state(failed_, &mem, &info.bsp);
	CHECK_EQ_U64(info.bsp.rip, VS_KERNEL_ADDR + 0x200);
	CHECK(info.is_linux);
	CHECK(strcmp(info.version, TI_BZ_RELEASE) == 0);
	vs_guest_mem_release(&mem);
	free(img);
	free(initrd);
}

TEST(bzimage_header_variants)
{
	struct vs_guest_mem mem;
	struct vs_boot_info info;
	struct vs_error err;
	size_t len, ilen = 8192;
	uint8_t *img = ti_make_bzimage(&len), *initrd = make_initrd(ilen);

	CHECK(vs_guest_mem_create(&mem, MEM_SIZE, &err) == 0);
	/* initrd_addr_max caps the initrd's last byte. */
	ti_w32(img + 0x22c, 0x1ffffff);
	CHECK(load(&mem, img, len, initrd, ilen, CMDLINE, &info, &err) == 0);
	CHECK_EQ_U64(info.initrd_addr, 0x2000000 - ilen);
	/* setup_sects 0 means 4. */
	img[0x1f1] = 0;
	CHECK(load(&mem, img, len, NULL, 0, CMDLINE, &info, &err) == 0);
	CHECK(memcmp(vs_gpa_ptr(&mem, VS_KERNEL_ADDR, TI_BZ_PAYLOAD), img + TI_BZ_SETUP_SIZE,
		     TI_BZ_PAYLOAD) == 0);
	CHECK_EQ_U64(rd32(&mem, VS_ZERO_PAGE_ADDR + 0x218), 0);
	CHECK_EQ_U64(rd32(&mem, VS_ZERO_PAGE_ADDR + 0x21c), 0);
	/* Before 2.14 there is no acpi_rsdp_addr field. */
	ti_w16(img + 0x206, 0x020c);
	CHECK(load(&mem, img, len, NULL, 0, CMDLINE, &info, &err) == 0);
	CHECK_EQ_U64(rd64(&mem, VS_ZERO_PAGE_ADDR + 0x070), 0);
	/* A version string that is not text is ignored. */
	img[0x302] = 0x01;
	CHECK(load(&mem, img, len, NULL, 0, CMDLINE, &info, &err) == 0);
	CHECK(!info.is_linux && info.version[0] == '\0');
	vs_guest_mem_release(&mem);
	free(img);
	free(initrd);
}

TEST(initrd_goes_below_a_kernel_at_the_top)
{
	struct vs_guest_mem mem;
	struct vs_boot_info info;
	struct vs_error err;
	size_t len, ilen = 0x2000;
	uint8_t *img = ti_make_elf64(0, &len), *initrd = make_initrd(ilen);
	const uint64_t top_seg = MEM_SIZE - 0x1000;

	ti_w64(img + TI_ELF64_PH1 + 24, top_seg);
	ti_w64(img + TI_ELF64_PH1 + 40, 0x1000);
	CHECK(vs_guest_mem_create(&mem, MEM_SIZE, &err) == 0);
	CHECK(load(&mem, img, len, initrd, ilen, CMDLINE, &info, &err) == 0);
	CHECK_EQ_U64(info.initrd_addr, top_seg - ilen);
	CHECK(memcmp(vs_gpa_ptr(&mem, top_seg, TI_ELF64_SEG1_FILESZ), img + TI_ELF64_SEG1_OFF,
		     TI_ELF64_SEG1_FILESZ) == 0);
	vs_guest_mem_release(&mem);
	free(img);
	free(initrd);
}

TEST(pagetables_identity_map_4g)
{
	struct vs_guest_mem mem;
	struct vs_boot_info info;
	struct vs_error err;
	size_t len;
	uint8_t *img = ti_make_bzimage(&len);
	const uint64_t addr_mask = 0x000ffffffffff000ull;

	CHECK(vs_guest_mem_create(&mem, MEM_SIZE, &err) == 0);
	CHECK(load(&mem, img, len, NULL, 0, CMDLINE, &info, &err) == 0);
	/* Walk the tables as the MMU would, for every 2 MiB page. */
	for (uint64_t va = 0x1234; va < (4ull << 30); va += 2 * VS_MiB) {
		uint64_t e = rd64(&mem, info.bsp.cr3 + 8 * ((va >> 39) & 511));
		if (!(e & 1))
			goto bad;
		e = rd64(&mem, (e & addr_mask) + 8 * ((va >> 30) & 511));
		if (!(e & 1) || (e & 0x80))
			goto bad;
		e = rd64(&mem, (e & addr_mask) + 8 * ((va >> 21) & 511));
		if ((e & 0x83) != 0x83 || (e & addr_mask & ~0x1fffffull) + (va & 0x1fffff) != va)
			goto bad;
		continue;
	bad:
		printf("#   0x%llx is not identity-mapped\n", (unsigned long long)va);
		CHECK(0);
		break;
	}
	/* Nothing beyond 4 GiB. */
	CHECK_EQ_U64(rd64(&mem, VS_PDPT_ADDR + 8 * 4), 0);
	CHECK_EQ_U64(rd64(&mem, VS_PML4_ADDR + 8), 0);
	vs_guest_mem_release(&mem);
	free(img);
}

TEST(bad_images_are_refused)
{
	struct vs_guest_mem mem;
	struct vs_error err;
	enum vs_boot_kind k;
	size_t len;
	uint8_t *img, noise[4096];
	uint32_t x = 12345;

	CHECK(vs_guest_mem_create(&mem, MEM_SIZE, &err) == 0);
	EXPECT_FAIL(&mem, (const uint8_t *)"", 0, "empty");
	CHECK(vs_boot_probe(NULL, 0, &k, &err) == -1);
	for (size_t i = 0; i < sizeof(noise); i++) {
		x ^= x << 13, x ^= x >> 17, x ^= x << 5;
		noise[i] = (uint8_t)x;
	}
	EXPECT_FAIL(&mem, noise, sizeof(noise), "unrecognised");

	/* ELF header problems. */
	img = ti_make_pvh32(&len);
	EXPECT_FAIL(&mem, img, 30, "truncated ELF header");
	img[4] = 9;
	EXPECT_FAIL(&mem, img, len, "class");
	img[4] = 1;
	img[5] = 2;
	EXPECT_FAIL(&mem, img, len, "little-endian");
	img[5] = 1;
	ti_w16(img + 18, 40); /* EM_ARM */
	EXPECT_FAIL(&mem, img, len, "machine");
	ti_w16(img + 18, 3);
	ti_w32(img + 28, (uint32_t)len - 40); /* e_phoff near the end */
	EXPECT_FAIL(&mem, img, len, "program header table");
	ti_w32(img + 28, 0xffffffe0u);
	EXPECT_FAIL(&mem, img, len, "program header table");
	free(img);

	/* PVH note problems. */
	img = ti_make_pvh32(&len);
	ti_w32(img + TI_PVH32_NOTE_OFF + 4, 2); /* descsz */
	EXPECT_FAIL(&mem, img, len, "descriptor");
	ti_w32(img + TI_PVH32_NOTE_OFF + 4, 0x7fffffff);
	EXPECT_FAIL(&mem, img, len, "note");
	ti_w32(img + TI_PVH32_NOTE_OFF + 4, 4);
	ti_w32(img + TI_PVH32_PH_NOTE + 4, 0xfffffff0u); /* note p_offset */
	EXPECT_FAIL(&mem, img, len, "note segment");
	ti_w32(img + TI_PVH32_PH_NOTE + 4, TI_PVH32_NOTE_OFF);
	ti_w32(img + TI_PVH32_NOTE_OFF + 8, 17); /* not the PVH note type */
	EXPECT_FAIL(&mem, img, len, "32-bit ELF without a PVH entry note");
	ti_w32(img + TI_PVH32_NOTE_OFF + 8, 18);
	ti_w32(img + TI_PVH32_NOTE_OFF + 16, 0x900000); /* entry outside the segment */
	EXPECT_FAIL(&mem, img, len, "entry point");
	free(img);

	/* PT_LOAD problems. */
	img = ti_make_pvh32(&len);
	ti_w32(img + TI_PVH32_PH_LOAD + 12, 0x8000000); /* 128 MiB: past RAM */
	EXPECT_FAIL(&mem, img, len, "not in guest RAM");
	EXPECT_FAIL(&mem, img, len, "--mem");
	ti_w32(img + TI_PVH32_PH_LOAD + 12, 0xfffff000u); /* wraps in 32 bits, not in 64 */
	EXPECT_FAIL(&mem, img, len, "not in guest RAM");
	ti_w32(img + TI_PVH32_PH_LOAD + 12, 0x7000); /* over the zero page */
	EXPECT_FAIL(&mem, img, len, "overlaps");
	ti_w32(img + TI_PVH32_PH_LOAD + 12, TI_PVH32_PADDR);
	ti_w32(img + TI_PVH32_PH_LOAD + 16, TI_PVH32_MEMSZ + 1); /* filesz > memsz */
	EXPECT_FAIL(&mem, img, len, "file size");
	ti_w32(img + TI_PVH32_PH_LOAD + 16, TI_PVH32_FILESZ);
	ti_w32(img + TI_PVH32_PH_LOAD + 4, 0xffffff00u); /* p_offset */
	EXPECT_FAIL(&mem, img, len, "past the end of the file");
	free(img);

	img = ti_make_elf64(0, &len);
	ti_w64(img + TI_ELF64_PH0 + 8, UINT64_MAX - 0x10); /* p_offset + p_filesz overflows */
	EXPECT_FAIL(&mem, img, len, "past the end of the file");
	ti_w64(img + TI_ELF64_PH0 + 8, TI_ELF64_SEG0_OFF);
	ti_w64(img + TI_ELF64_PH0 + 24, UINT64_MAX - 0x10); /* p_paddr + p_memsz overflows */
	EXPECT_FAIL(&mem, img, len, "overflows");
	ti_w64(img + TI_ELF64_PH0 + 24, TI_ELF64_SEG1_PADDR + 0x800); /* onto segment 1 */
	EXPECT_FAIL(&mem, img, len, "overlap");
	ti_w64(img + TI_ELF64_PH0 + 24, TI_ELF64_SEG0_PADDR);
	ti_w64(img + 24, 0x12345678); /* e_entry nowhere */
	EXPECT_FAIL(&mem, img, len, "entry point");
	ti_w64(img + 24, TI_ELF64_ENTRY);
	ti_w32(img + TI_ELF64_PH0, 6); /* no PT_LOAD left */
	ti_w32(img + TI_ELF64_PH1, 6);
	EXPECT_FAIL(&mem, img, len, "no loadable segments");
	free(img);

	/* bzImage problems. */
	img = ti_make_bzimage(&len);
	EXPECT_FAIL(&mem, img, 0x207, "too short");
	img[0x1f1] = 63; /* setup sectors past the end */
	EXPECT_FAIL(&mem, img, len, "setup sectors (63)");
	EXPECT_FAIL(&mem, img, TI_BZ_SETUP_SIZE, "setup sectors");
	img[0x1f1] = TI_BZ_SETUP_SECTS;
	ti_w16(img + 0x206, 0x0205);
	EXPECT_FAIL(&mem, img, len, "2.05 is too old");
	ti_w16(img + 0x206, 0x020b);
	EXPECT_FAIL(&mem, img, len, "64-bit entry point");
	ti_w16(img + 0x206, 0x020f);
	ti_w16(img + 0x236, 0x0002);
	EXPECT_FAIL(&mem, img, len, "lacks a 64-bit entry point");
	ti_w16(img + 0x236, 0x0003);
	img[0x201] = 0x10;
	EXPECT_FAIL(&mem, img, len, "too short");
	img[0x201] = TI_BZ_HDR_END - 0x202;
	ti_w32(img + 0x260, 0x7ff00000); /* init_size: 2 GiB */
	EXPECT_FAIL(&mem, img, len, "--mem");
	ti_w32(img + 0x260, TI_BZ_INIT_SIZE);
	ti_w64(img + 0x258, UINT64_MAX - 0x1000); /* pref_address */
	EXPECT_FAIL(&mem, img, len, "preferred load address");
	free(img);

	vs_guest_mem_release(&mem);
}

TEST(cmdline_and_initrd_limits)
{
	struct vs_guest_mem mem;
	struct vs_error err;
	size_t len, big = 20 * VS_MiB;
	uint8_t *img, *initrd = make_initrd(big);
	char *cmd = malloc(VS_CMDLINE_MAX + 1);

	CHECK(vs_guest_mem_create(&mem, 16 * VS_MiB, &err) == 0);
	memset(cmd, 'a', VS_CMDLINE_MAX);
	cmd[VS_CMDLINE_MAX] = '\0';

	img = ti_make_pvh32(&len);
	expect_fail_(failed_, __LINE__, &mem, img, len, NULL, 0, cmd, "too long");
	expect_fail_(failed_, __LINE__, &mem, img, len, initrd, big, "", "initrd");
	expect_fail_(failed_, __LINE__, &mem, img, len, initrd, big, "", "--mem");
	/* Largest that fits: everything from the kernel's end to 16 MiB. */
	{
		struct vs_boot_params p = { img, len, initrd, 16 * VS_MiB - 2 * VS_MiB, "", 0 };
		struct vs_boot_info info;
		CHECK(vs_boot_load(&mem, &p, &info, &err) == 0);
		CHECK_EQ_U64(info.initrd_addr, 2 * VS_MiB);
	}
	free(img);

	img = ti_make_elf64(0, &len);
	expect_fail_(failed_, __LINE__, &mem, img, len, initrd, big, "", "initrd");
	free(img);

	img = ti_make_bzimage(&len);
	ti_w64(img + 0x258, 0x200000); /* decompress at 2 MiB: fits in 16 MiB */
	cmd[2048] = '\0';	       /* one over cmdline_size (2047) */
	expect_fail_(failed_, __LINE__, &mem, img, len, NULL, 0, cmd, "too long for this kernel");
	cmd[2047] = '\0';
	expect_fail_(failed_, __LINE__, &mem, img, len, initrd, big, "", "initrd");
	{
		struct vs_boot_params p = { img, len, NULL, 0, cmd, 0 };
		struct vs_boot_info info;
		CHECK(vs_boot_load(&mem, &p, &info, &err) == 0);
		CHECK(strcmp((const char *)vs_gpa_ptr(&mem, VS_CMDLINE_ADDR, 2048), cmd) == 0);
	}
	free(img);

	vs_guest_mem_release(&mem);
	free(initrd);
	free(cmd);
}

/* Random corruption of valid images must only ever produce errors. */
TEST(corrupted_images_never_crash)
{
	struct vs_guest_mem mem;
	struct vs_error err;
	struct vs_boot_info info;
	uint8_t initrd[4096] = { 1, 2, 3 };
	uint32_t x = 0x9e3779b9;
	size_t lens[4];
	uint8_t *imgs[4];
	int ok = 0, refused = 0;

	imgs[0] = ti_make_pvh32(&lens[0]);
	imgs[1] = ti_make_elf64(0, &lens[1]);
	imgs[2] = ti_make_elf64(1, &lens[2]);
	imgs[3] = ti_make_bzimage(&lens[3]);
	CHECK(vs_guest_mem_create(&mem, MEM_SIZE, &err) == 0);
	for (int round = 0; round < 4000; round++) {
		int which = round % 4;
		size_t len = lens[which];
		uint8_t *copy = malloc(len);
		int flips;

		memcpy(copy, imgs[which], len);
		x ^= x << 13, x ^= x >> 17, x ^= x << 5;
		flips = 1 + (int)(x % 4);
		for (int f = 0; f < flips; f++) {
			x ^= x << 13, x ^= x >> 17, x ^= x << 5;
			/* Bias towards the headers, where the interesting bytes are. */
			size_t pos = (x >> 8) % (x & 1 ? 0x400 : len);
			copy[pos] = (uint8_t)(x >> 24);
		}
		if (round % 7 == 0)
			len = (x >> 4) % len;
		if (load(&mem, copy, len, initrd, sizeof(initrd), CMDLINE, &info, &err) == 0) {
			ok++;
		} else {
			refused++;
			CHECK(err.msg[0] != '\0');
		}
		free(copy);
	}
	printf("#   %d corrupted images loaded, %d refused\n", ok, refused);
	vs_guest_mem_release(&mem);
	for (int i = 0; i < 4; i++)
		free(imgs[i]);
}

static uint8_t *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	long n;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) > 0 && fseek(f, 0, SEEK_SET) == 0) {
		buf = malloc((size_t)n);
		if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
			free(buf);
			buf = NULL;
		}
		*len = (size_t)n;
	}
	fclose(f);
	return buf;
}

/* A distribution kernel, when the machine has one: not a dependency. */
TEST(real_kernel_if_present)
{
	glob_t g;
	struct vs_guest_mem mem;
	struct vs_boot_info info;
	struct vs_error err;
	size_t len = 0;
	uint8_t *img;
	const char *path, *release;

	if (glob("/boot/vmlinuz-*", 0, NULL, &g) != 0)
		SKIP("no /boot/vmlinuz-* on this machine");
	path = g.gl_pathv[0];
	release = path + strlen("/boot/vmlinuz-");
	img = read_file(path, &len);
	if (!img) {
		globfree(&g);
		SKIP("no readable /boot/vmlinuz-* on this machine");
	}
	CHECK(vs_guest_mem_create(&mem, 512 * VS_MiB, &err) == 0);
	CHECK(load(&mem, img, len, NULL, 0, "console=ttyS0", &info, &err) == 0);
	printf("#   %s: %s, version \"%s\" %s\n", path, vs_boot_kind_name(info.kind), info.version, err.msg);
	CHECK(info.kind == VS_BOOT_BZIMAGE);
	CHECK(info.is_linux);
	CHECK(strcmp(info.version, release) == 0);
	vs_guest_mem_release(&mem);
	free(img);
	globfree(&g);
}

VS_TAP_MAIN(TAP_CASE(probe_detects_each_format), TAP_CASE(pvh_elf32_load),
	    TAP_CASE(pvh_without_initrd_or_acpi), TAP_CASE(pvh_elf64_with_8_byte_note),
	    TAP_CASE(elf64_vmlinux_load), TAP_CASE(elf64_virtual_entry_is_translated), TAP_CASE(bzimage_load),
	    TAP_CASE(bzimage_header_variants), TAP_CASE(initrd_goes_below_a_kernel_at_the_top),
	    TAP_CASE(pagetables_identity_map_4g), TAP_CASE(bad_images_are_refused),
	    TAP_CASE(cmdline_and_initrd_limits), TAP_CASE(corrupted_images_never_crash),
	    TAP_CASE(real_kernel_if_present))

/* What every boot protocol shares: the command line, the fixed boot
 * areas, initrd placement, the boot GDT and the 64-bit entry state, and
 * the kernel version string. */
#include "machine/boot/boot_internal.h"

#include <string.h>

#include "hw/pc_layout.h"
#include "util/cleanup.h"

/* The fixed areas of layout.h must not collide with each other. */
_Static_assert(VS_BOOT_GDT_ADDR + VS_BOOT_GDT_ENTRIES * 8 <= VS_BOOT_IDT_ADDR, "GDT overlaps IDT");
_Static_assert(VS_BOOT_IDT_ADDR + 8 <= VS_PVH_START_INFO_ADDR, "IDT overlaps start info");
_Static_assert(VS_BOOT_STACK_TOP <= VS_PML4_ADDR, "stack overlaps the page tables");
_Static_assert(VS_PD_ADDR + VS_BOOT_PD_COUNT * VS_PAGE_SIZE <= VS_CMDLINE_ADDR,
	       "page tables overlap cmdline");
_Static_assert(VS_CMDLINE_ADDR + VS_CMDLINE_MAX <= VS_LOWMEM_END, "cmdline past conventional RAM");
_Static_assert(VS_KERNEL_ADDR >= VS_HIGHMEM_START, "kernel below 1 MiB");

/* Flat 4 GiB descriptors (base 0, limit 0xfffff, G=1, P=1, DPL 0, S=1).
 * The accessed bit is preset so the CPU never writes to the GDT. */
#define VS_GDT_CODE64 0x00af9b000000ffffull /* type 0xb (exec/read), L=1, D=0 */
#define VS_GDT_CODE32 0x00cf9b000000ffffull /* type 0xb, L=0, D=1 */
#define VS_GDT_DATA 0x00cf93000000ffffull   /* type 0x3 (read/write), B=1 */
#define VS_SEG_TYPE_CODE 0xb
#define VS_SEG_TYPE_DATA 0x3
#define VS_SEG_TYPE_TSS_BUSY 0xb
#define VS_SEG_TYPE_LDT 0x2
#define VS_RFLAGS_RESERVED 0x2ull /* bit 1 is always set */
int vs_boot_check_cmdline(const char *cmdline, struct vs_error *err)
{
	size_t len = strnlen(cmdline, VS_CMDLINE_MAX);

	if (len >= VS_CMDLINE_MAX)
		return vs_error_msg(err, "command line is too long (%zu bytes; at most %llu)",
				    strlen(cmdline), VS_CMDLINE_MAX - 1);
	return 0;
}

int vs_boot_write_cmdline(const struct vs_guest_mem *mem, const char *cmdline, struct vs_error *err)
{
	size_t len;
	uint8_t *dst;

	if (vs_boot_check_cmdline(cmdline, err) < 0)
		return -1;
	len = strlen(cmdline);
	dst = vs_gpa_ptr(mem, VS_CMDLINE_ADDR, VS_CMDLINE_MAX);
	if (!dst)
		return vs_error_msg(err, "guest RAM too small for the command line area");
	/* Clear the whole area so no stale bytes follow the terminator. */
	memset(dst, 0, VS_CMDLINE_MAX);
	memcpy(dst, cmdline, len);
	return 0;
}

const char *vs_boot_fixed_overlap(uint64_t gpa, uint64_t len, uint64_t *area_start, uint64_t *area_end)
{
	static const struct {
		uint64_t start, end;
		const char *what;
	} areas[] = {
		{ 0, VS_PD_ADDR + VS_BOOT_PD_COUNT * VS_PAGE_SIZE,
		  "boot data area (GDT, start info, zero page, page tables)" },
		{ VS_CMDLINE_ADDR, VS_CMDLINE_ADDR + VS_CMDLINE_MAX, "command line area" },
		{ VS_LOWMEM_END, VS_HIGHMEM_START, "reserved legacy area (EBDA, VGA, firmware tables)" },
	};

	if (len == 0)
		return NULL;
	for (size_t i = 0; i < VS_ARRAY_SIZE(areas); i++) {
		if (gpa < areas[i].end && gpa + len > areas[i].start) {
			*area_start = areas[i].start;
			*area_end = areas[i].end;
			return areas[i].what;
		}
	}
	return NULL;
}

void vs_boot_range_span(const struct vs_boot_range *r, unsigned n, uint64_t *lo, uint64_t *hi)
{
	*lo = n ? UINT64_MAX : 0;
	*hi = 0;
	for (unsigned i = 0; i < n; i++) {
		if (r[i].lo < *lo)
			*lo = r[i].lo;
		if (r[i].hi > *hi)
			*hi = r[i].hi;
	}
}

int vs_boot_place_initrd(const struct vs_guest_mem *mem, const struct vs_boot_params *p, uint64_t limit,
			 const struct vs_boot_range *avoid, unsigned navoid, uint64_t *addr,
			 struct vs_error *err)
{
	uint64_t top = vs_guest_mem_low_end(mem);
	uint64_t len = p->initrd_len;
	uint64_t floor = VS_HIGHMEM_START; /* everything fixed lies below 1 MiB */
	uint64_t cand, klo, khi;
	bool moved;
	uint8_t *dst;

	*addr = 0;
	if (!p->initrd)
		return 0;
	if (limit < top)
		top = limit;
	top &= ~(VS_PAGE_SIZE - 1);
	if (len > top || top - len < floor)
		goto nofit;
	cand = (top - len) & ~(VS_PAGE_SIZE - 1);
	/* Slide down below each kernel piece in the way; `cand` only ever
	 * decreases, so this ends. */
	do {
		moved = false;
		for (unsigned i = 0; i < navoid; i++) {
			if (cand < avoid[i].hi && cand + len > avoid[i].lo) {
				if (avoid[i].lo < floor || avoid[i].lo - floor < len)
					goto nofit;
				cand = (avoid[i].lo - len) & ~(VS_PAGE_SIZE - 1);
				moved = true;
			}
		}
	} while (moved);
	if (cand < floor)
		goto nofit;
	dst = vs_gpa_ptr(mem, cand, len);
	if (!dst)
		goto nofit;
	memcpy(dst, p->initrd, len);
	*addr = cand;
	return 0;
nofit:
	vs_boot_range_span(avoid, navoid, &klo, &khi);
	return vs_error_msg(err,
			    "initrd (%llu KiB) does not fit in guest RAM below 0x%llx next to the kernel "
			    "(0x%llx-0x%llx, %llu MiB of RAM below 4 GiB); try a larger --mem",
			    (unsigned long long)((len + 1023) / 1024), (unsigned long long)top,
			    (unsigned long long)klo, (unsigned long long)khi,
			    (unsigned long long)(vs_guest_mem_low_end(mem) / VS_MiB));
}

static struct vs_segment flat_segment(uint16_t selector, uint8_t type, bool long_code)
{
	return (struct vs_segment){
		.base = 0,
		.limit = 0xffffffff,
		.selector = selector,
		.type = type,
		.present = 1,
		.dpl = 0,
		.db = long_code ? 0 : 1,
		.s = 1,
		.l = long_code ? 1 : 0,
		.g = 1,
	};
}

int vs_boot_setup_segments(const struct vs_guest_mem *mem, bool long_mode, struct vs_cpu_state *s,
			   struct vs_error *err)
{
	uint8_t *gdt = vs_gpa_ptr(mem, VS_BOOT_GDT_ADDR, VS_BOOT_GDT_ENTRIES * 8);
	uint8_t *idt = vs_gpa_ptr(mem, VS_BOOT_IDT_ADDR, 8);
	struct vs_segment data = flat_segment(VS_BOOT_DS, VS_SEG_TYPE_DATA, false);

	if (!gdt || !idt)
		return vs_error_msg(err, "guest RAM too small for the boot GDT");
	vs_put_le64(gdt + 0, 0);
	vs_put_le64(gdt + 8, 0);
	vs_put_le64(gdt + VS_BOOT_CS, long_mode ? VS_GDT_CODE64 : VS_GDT_CODE32);
	vs_put_le64(gdt + VS_BOOT_DS, VS_GDT_DATA);
	memset(idt, 0, 8);

	s->gdt = (struct vs_dtable){ .base = VS_BOOT_GDT_ADDR, .limit = VS_BOOT_GDT_ENTRIES * 8 - 1 };
	/* Limit 0: any interrupt before the kernel loads its own IDT is a
	 * triple fault, which the accelerator reports, rather than a jump
	 * through garbage. */
	s->idt = (struct vs_dtable){ .base = VS_BOOT_IDT_ADDR, .limit = 0 };
	s->cs = flat_segment(VS_BOOT_CS, VS_SEG_TYPE_CODE, long_mode);
	s->ds = data;
	s->es = data;
	s->fs = data;
	s->gs = data;
	s->ss = data;
	/* Hardware virtualization refuses to enter a guest whose TR is not a
	 * usable busy TSS, even though nothing here ever switches tasks. */
	s->tr = (struct vs_segment){
		.base = 0, .limit = 0x67, .selector = 0, .type = VS_SEG_TYPE_TSS_BUSY, .present = 1
	};
	s->ldt = (struct vs_segment){ .selector = 0, .type = VS_SEG_TYPE_LDT, .unusable = 1 };
	s->rflags = VS_RFLAGS_RESERVED;
	return 0;
}

int vs_boot_setup_long_mode(const struct vs_guest_mem *mem, uint64_t rip, struct vs_cpu_state *s,
			    struct vs_error *err)
{
	uint64_t cr3;

	if (vs_boot_build_pagetables(mem, &cr3, err) < 0)
		return -1;
	if (vs_boot_setup_segments(mem, true, s, err) < 0)
		return -1;
	s->cr0 = VS_CR0_PE | VS_CR0_ET | VS_CR0_PG;
	s->cr3 = cr3;
	s->cr4 = VS_CR4_PAE;
	s->efer = VS_EFER_LME | VS_EFER_LMA;
	s->rip = rip;
	s->rsi = VS_ZERO_PAGE_ADDR;
	s->rsp = VS_BOOT_STACK_TOP;
	return 0;
}

bool vs_boot_set_version(struct vs_boot_info *out, const uint8_t *s, size_t max)
{
	size_t n = 0;

	/* Keep the release (first word), as `uname -r` shows it. */
	while (n < max && n < sizeof(out->version) - 1 && s[n] > ' ' && s[n] < 0x7f)
		n++;
	if (n == 0)
		return false;
	/* Stopped on something other than the end of the word: not text. */
	if (n < max && n < sizeof(out->version) - 1 && s[n] != '\0' && s[n] != ' ')
		return false;
	memcpy(out->version, s, n);
	out->version[n] = '\0';
	return true;
}

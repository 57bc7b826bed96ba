/* test=isa, segments: loading data and stack segment registers with every
 * kind of selector (null, past the GDT limit, not present, privilege
 * mismatches, code and system descriptors, LDT selectors), LLDT, and the
 * descriptor queries LAR, LSL, VERR and VERW, under a GDT of this test's
 * own whose first three entries match entry/start64.S's. */
#include "isa.h"

#include "libc.h"

static const uint64_t gdt[] __attribute__((aligned(16))) = {
	0,
	0x00af9a000000ffffull, /* 0x08 64-bit code (as start64.S) */
	0x00cf92000000ffffull, /* 0x10 data (as start64.S) */
	0x00cf12000000ffffull, /* 0x18 data, not present */
	0x00cff2000000ffffull, /* 0x20 data, DPL 3 */
	0x00cf98000000ffffull, /* 0x28 32-bit code, execute-only */
	0x00cf9a000000ffffull, /* 0x30 32-bit code, readable */
	0x0000820000000fffull, /* 0x38 LDT (16-byte system descriptor) */
	0,
	0x000f92000000ffffull, /* 0x48 data, byte granular, limit 0xfffff */
};

struct gdt_ptr {
	uint16_t limit;
	uint64_t base;
} __attribute__((packed));

extern const struct gdt_ptr gdt64_ptr; /* entry/start64.S */

/* Every case ends with DS, SS and LDTR restored. */
#define CASE(name, body)                                                         \
	ISA_CASE_AFTER(name, body,                                               \
		       "mov $0x10, %%ax\n\tmov %%ax, %%ds\n\tmov %%ax, %%ss\n\t" \
		       "xor %%eax, %%eax\n\tlldt %%ax")

#define LOAD_DS(sel) "mov $" #sel ", %%ax\n\tmov %%ax, %%ds"
#define LOAD_SS(sel) "mov $" #sel ", %%ax\n\tmov %%ax, %%ss"

static void queries(void)
{
	static const uint16_t sels[] = {
		0, 0x08, 0x10, 0x18, 0x20, 0x23, 0x28, 0x30, 0x38, 0x48, 0x50, 0x0c
	};
	for (unsigned i = 0; i < ARRAY_SIZE(sels); i++) {
		uint64_t ar = 0xdead, lim = 0xdead;
		uint8_t zlar, zlsl, zr, zw;
		__asm__ volatile("lar %[s], %[ar]\n\tsetz %[zlar]\n\tlsl %[s], %[lim]\n\tsetz %[zlsl]\n\t"
				 "verr %w[s]\n\tsetz %[zr]\n\tverw %w[s]\n\tsetz %[zw]"
				 : [ar] "+r"(ar), [lim] "+r"(lim), [zlar] "=&q"(zlar), [zlsl] "=&q"(zlsl),
				   [zr] "=&q"(zr), [zw] "=&q"(zw)
				 : [s] "r"((uint64_t)sels[i])
				 : "cc");
		printf("isa: query 0x%x lar=%d:0x%lx lsl=%d:0x%lx verr=%d verw=%d\n", sels[i], zlar,
		       zlar ? ar : 0, zlsl, zlsl ? lim : 0, zr, zw);
	}
}

void isa_segment_groups(void)
{
	struct gdt_ptr mine = { sizeof(gdt) - 1, (uint64_t)(uintptr_t)gdt };
	__asm__ volatile("lgdt %0" : : "m"(mine));
	isa_fault_arm();
	CASE("ds-null", LOAD_DS(0));
	CASE("ds-data", LOAD_DS(0x10));
	CASE("ds-past-limit", LOAD_DS(0x50));
	CASE("ds-not-present", LOAD_DS(0x18));
	CASE("ds-dpl3-data", LOAD_DS(0x20));
	CASE("ds-rpl3-dpl0", LOAD_DS(0x13));
	CASE("ds-execute-only-code", LOAD_DS(0x28));
	CASE("ds-readable-code", LOAD_DS(0x30));
	CASE("ds-system", LOAD_DS(0x38));
	CASE("ds-ldt-selector-no-ldt", LOAD_DS(0x0c));
	CASE("ss-null-cpl0", LOAD_SS(0));
	CASE("ss-dpl3", LOAD_SS(0x20));
	CASE("ss-code", LOAD_SS(0x30));
	CASE("ss-not-present", LOAD_SS(0x18));
	CASE("fs-not-present", "mov $0x18, %%ax\n\tmov %%ax, %%fs\n1:\n\txor %%eax, %%eax\n\tmov %%ax, %%fs");
	CASE("lldt-ldt", "mov $0x38, %%ax\n\tlldt %%ax\n\tsldt %%rcx\n\tmov %%rcx, isa_scratch(%%rip)");
	printf("isa: sldt 0x%lx\n", isa_scratch);
	CASE("lldt-not-ldt", "mov $0x10, %%ax\n\tlldt %%ax");
	queries();
	__asm__ volatile("lgdt %0" : : "m"(gdt64_ptr));
}

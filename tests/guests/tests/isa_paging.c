/* test=isa, paging: a private 4-level branch at 1 TiB (PML4 slot 2) with
 * 4 KiB pages of every kind (writable, read-only, not present, NX,
 * reserved bit set), a read-only 2 MiB page, accessed/dirty bits, CR0.WP,
 * INVLPG and CR3 reloads, and accesses that cross into a faulting page.
 * Page tables are identity-mapped, so their addresses are physical. */
#include "isa.h"

#include "io.h"
#include "libc.h"

#define VBASE 0x10000000000ull
#define P 0x1ull
#define RW 0x2ull
#define ACCESSED 0x20ul
#define DIRTY 0x40ul
#define PS 0x80ull
#define NX (1ull << 63)
#define EFER 0xc0000080u
#define EFER_NXE (1u << 11)

static uint64_t pdpt[512] __attribute__((aligned(4096)));
static uint64_t pd[512] __attribute__((aligned(4096)));
static uint64_t pt[512] __attribute__((aligned(4096)));
static uint8_t frames[8][4096] __attribute__((aligned(4096)));

static uint64_t read_cr(int n)
{
	uint64_t v = 0;
	if (n == 0)
		__asm__ volatile("mov %%cr0, %0" : "=r"(v));
	else if (n == 3)
		__asm__ volatile("mov %%cr3, %0" : "=r"(v));
	return v;
}

static void write_cr0(uint64_t v)
{
	__asm__ volatile("mov %0, %%cr0" : : "r"(v) : "memory");
}

static void reload_cr3(void)
{
	__asm__ volatile("mov %%cr3, %%rax\n\tmov %%rax, %%cr3" : : : "rax", "memory");
}

static uint64_t frame(int i)
{
	return (uint64_t)(uintptr_t)frames[i];
}

void isa_paging_groups(void)
{
	uint64_t *pml4 = (uint64_t *)(uintptr_t)(read_cr(3) & 0x000ffffffffff000ull);
	uint64_t efer = rdmsr(EFER), cr0 = read_cr(0);
	if (pml4[2] & P) {
		printf("isa: paging FAILED: PML4 slot 2 is in use\n");
		return;
	}
	for (int i = 0; i < 8; i++)
		for (int j = 0; j < 4096; j += 8) {
			uint64_t v = isa_rand();
			memcpy(&frames[i][j], &v, 8);
		}
	wrmsr(EFER, efer | EFER_NXE);
	write_cr0(cr0 | (1ull << 16)); /* WP */
	pdpt[0] = (uint64_t)(uintptr_t)pd | P | RW;
	pd[0] = (uint64_t)(uintptr_t)pt | P | RW;
	pd[1] = 0x200000ull | P | PS; /* read-only 2 MiB page onto 2 MiB..4 MiB */
	pt[0] = frame(0) | P | RW;
	pt[1] = frame(1) | P;
	pt[2] = 0;
	pt[3] = frame(3) | P | RW | NX;
	pt[4] = frame(4) | P | (1ull << 51); /* reserved at any MAXPHYADDR < 52 */
	pt[5] = frame(5) | P | RW;
	pml4[2] = (uint64_t)(uintptr_t)pdpt | P | RW;
	reload_cr3();

	isa_fault_arm();
	ISA_CASE("pf-read-rw", "movabs $0x10000000008, %%rax\n\tmov (%%rax), %%rcx");
	ISA_CASE("pf-write-rw", "movabs $0x10000000008, %%rax\n\tmovq $5, (%%rax)");
	ISA_CASE("pf-read-ro", "movabs $0x10000001010, %%rax\n\tmov (%%rax), %%rcx");
	printf("isa: pte-bits rw=0x%lx ro=0x%lx np-untouched=%d\n", pt[0] & (ACCESSED | DIRTY),
	       pt[1] & (ACCESSED | DIRTY), pt[2] == 0);
	ISA_CASE("pf-write-ro", "movabs $0x10000001018, %%rax\n\tmovq $5, (%%rax)");
	ISA_CASE("pf-read-not-present", "movabs $0x10000002020, %%rax\n\tmov (%%rax), %%rcx");
	ISA_CASE("pf-write-not-present", "movabs $0x10000002028, %%rax\n\tmovl $5, (%%rax)");
	ISA_CASE("pf-fetch-nx", "movabs $0x10000003000, %%rax\n\tjmp *%%rax");
	ISA_CASE("pf-read-reserved-bit", "movabs $0x10000004030, %%rax\n\tmov (%%rax), %%rcx");
	ISA_CASE("pf-read-split-into-not-present", "movabs $0x10000001ffc, %%rax\n\tmov (%%rax), %%rcx");
	ISA_CASE("pf-write-split-into-ro", "movabs $0x10000000ffc, %%rax\n\tmovq $7, (%%rax)");
	ISA_CASE("pf-rmw-ro", "movabs $0x10000001040, %%rax\n\tlock incq (%%rax)");
	ISA_CASE("pf-rep-stos-into-ro",
		 "movabs $0x10000000ff0, %%rdi\n\tmov $8, %%ecx\n\txor %%eax, %%eax\n\trep stosl\n1:\n\t"
		 "mov %%rcx, isa_scratch(%%rip)");
	printf("isa: rep-stos-remaining-rcx %lu\n", isa_scratch);
	/* REP MOVS faulting part way, on the write or the read side, forwards
	 * and backwards: rCX, rSI and rDI (low 16 bits) exact at the fault. */
#define REP_STATE                                                                              \
	"movzwl %%cx, %%ecx\n\tmovzwl %%si, %%esi\n\tmovzwl %%di, %%edi\n\tshl $16, %%rsi\n\t" \
	"shl $32, %%rdi\n\tor %%rsi, %%rcx\n\tor %%rdi, %%rcx\n\tmov %%rcx, isa_scratch(%%rip)\n\tcld"
#define REP_STATE_PRINT(name)                                                       \
	printf("isa: %s rcx=%lu rsi=0x%lx rdi=0x%lx\n", name, isa_scratch & 0xffff, \
	       (isa_scratch >> 16) & 0xffff, (isa_scratch >> 32) & 0xffff)
	ISA_CASE_AFTER(
	    "pf-rep-movsb-into-ro",
	    "movabs $0x10000000800, %%rsi\n\tmovabs $0x10000000ff0, %%rdi\n\tmov $40, %%ecx\n\tcld\n\t"
	    "rep movsb",
	    REP_STATE);
	REP_STATE_PRINT("rep-movsb-into-ro-state");
	ISA_CASE_AFTER(
	    "pf-rep-movsq-from-not-present",
	    "movabs $0x10000001fe8, %%rsi\n\tmovabs $0x10000000100, %%rdi\n\tmov $8, %%ecx\n\tcld\n\t"
	    "rep movsq",
	    REP_STATE);
	REP_STATE_PRINT("rep-movsq-from-not-present-state");
	ISA_CASE_AFTER(
	    "pf-rep-movsl-down-from-not-present",
	    "movabs $0x10000003008, %%rsi\n\tmovabs $0x10000000200, %%rdi\n\tmov $6, %%ecx\n\tstd\n\t"
	    "rep movsl",
	    REP_STATE);
	REP_STATE_PRINT("rep-movsl-down-from-not-present-state");

	uint64_t large = 0, direct = *(volatile uint64_t *)(uintptr_t)0x201238;
	__asm__ volatile("movabs $0x10000201238, %%rax\n\tmov (%%rax), %0" : "=r"(large) : : "rax");
	printf("isa: large-page-read %s\n", large == direct ? "same" : "DIFFERENT");
	ISA_CASE("pf-write-large-ro", "movabs $0x10000201238, %%rax\n\tmovq $5, (%%rax)");
	printf("isa: pde-bits large=0x%lx\n", pd[1] & (ACCESSED | DIRTY));

	/* With CR0.WP clear, ring 0 writes read-only pages. */
	write_cr0(cr0 & ~(1ull << 16));
	ISA_CASE("wp0-write-ro", "movabs $0x10000001018, %%rax\n\tmovq $0x1234, (%%rax)");
	write_cr0(cr0 | (1ull << 16));
	printf("isa: wp0-wrote %s\n", *(uint64_t *)&frames[1][0x18] == 0x1234 ? "yes" : "no");

	/* INVLPG and CR3 reloads: the new mapping is seen after them. */
	volatile uint64_t *v5 = (volatile uint64_t *)(uintptr_t)(VBASE + 0x5000);
	uint64_t before = *v5;
	pt[5] = frame(6) | P | RW;
	__asm__ volatile("invlpg (%0)" : : "r"(v5) : "memory");
	uint64_t after_invlpg = *v5;
	pt[5] = frame(5) | P | RW;
	reload_cr3();
	uint64_t after_cr3 = *v5;
	printf("isa: invlpg %s cr3-reload %s\n",
	       before == *(uint64_t *)frames[5] && after_invlpg == *(uint64_t *)frames[6] ? "ok" : "STALE",
	       after_cr3 == *(uint64_t *)frames[5] ? "ok" : "STALE");

	struct isa_hash h;
	isa_hash_init(&h);
	for (int i = 0; i < 8; i++)
		for (int j = 0; j < 4096; j += 8)
			isa_hash_add(&h, *(uint64_t *)&frames[i][j]);
	isa_hash_print(&h, "paging-memory");

	pml4[2] = 0;
	reload_cr3();
	wrmsr(EFER, efer);
	write_cr0(cr0);
}

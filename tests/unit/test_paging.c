/* The shared x86 page walk (x86/paging.h): the three paging modes, large
 * pages, permissions and the #PF error code, accessed and dirty bits. */
#include <string.h>

#include "tap.h"
#include "x86/paging.h"

static struct vs_guest_mem mem;

static void put64(uint64_t gpa, uint64_t v)
{
	vs_gpa_write(&mem, gpa, &v, 8);
}

static uint64_t get64(uint64_t gpa)
{
	uint64_t v = 0;
	vs_gpa_read(&mem, gpa, &v, 8);
	return v;
}

static const struct vs_x86_paging lm = {
	.cr0 = VS_CR0_PE | VS_CR0_PG | (1ull << 16), /* WP */
	.cr3 = 0x1000,
	.cr4 = VS_CR4_PAE,
	.efer = VS_EFER_LME | VS_EFER_LMA | (1ull << 11), /* NXE */
};

/* 4-level tables: 0x1000 PML4 -> 0x2000 PDPT -> 0x3000 PD -> 0x4000 PT. */
static void long_mode_tables(void)
{
	memset(mem.base, 0, 0x10000);
	put64(0x1000, 0x2000 | 7);
	put64(0x2000, 0x3000 | 7);
	put64(0x2008, 0x40000000ull | 0x83); /* 1 GiB page at 1 GiB, supervisor */
	put64(0x3000, 0x4000 | 7);
	put64(0x3008, 0x600000 | 0x87);			  /* 2 MiB page at 2 MiB -> 6 MiB */
	put64(0x4000 + 5 * 8, 0x9000 | 5);		  /* 4 KiB page 0x5000 -> 0x9000, read-only user */
	put64(0x4000 + 6 * 8, 0xa000 | 3 | (1ull << 63)); /* 0x6000: writable, NX, supervisor */
}

TEST(long_mode_4k_2m_1g)
{
	struct vs_x86_walk w;
	long_mode_tables();
	CHECK(vs_x86_page_walk(&mem, &lm, 0x5123, 0, true, &w) == 0);
	CHECK_EQ_U64(w.gpa, 0x9123);
	CHECK_EQ_U64(w.page_size, 4096);
	CHECK(vs_x86_page_walk(&mem, &lm, 0x212345, 0, true, &w) == 0);
	CHECK_EQ_U64(w.gpa, 0x612345);
	CHECK_EQ_U64(w.page_size, 2 * VS_MiB);
	CHECK(vs_x86_page_walk(&mem, &lm, 0x40001234, 0, false, &w) == 0);
	CHECK_EQ_U64(w.gpa, 0x40001234);
	CHECK_EQ_U64(w.page_size, VS_GiB);
}

TEST(fault_error_codes)
{
	struct vs_x86_walk w;
	long_mode_tables();
	CHECK(vs_x86_page_walk(&mem, &lm, 0x7000, VS_PF_W, true, &w) < 0);
	CHECK_EQ_U64(w.error, VS_PF_W); /* not present */
	CHECK(vs_x86_page_walk(&mem, &lm, 0x5000, VS_PF_W | VS_PF_U, true, &w) < 0);
	CHECK_EQ_U64(w.error, VS_PF_P | VS_PF_W | VS_PF_U);		   /* read-only */
	CHECK(vs_x86_page_walk(&mem, &lm, 0x5000, VS_PF_W, true, &w) < 0); /* CR0.WP applies to ring 0 */
	CHECK(vs_x86_page_walk(&mem, &lm, 0x6000, VS_PF_U, true, &w) < 0);
	CHECK_EQ_U64(w.error, VS_PF_P | VS_PF_U); /* supervisor page */
	CHECK(vs_x86_page_walk(&mem, &lm, 0x6000, VS_PF_I, true, &w) < 0);
	CHECK_EQ_U64(w.error, VS_PF_P | VS_PF_I); /* NX */
	CHECK(vs_x86_page_walk(&mem, &lm, 0x6000, VS_PF_W, true, &w) == 0);
	{
		struct vs_x86_paging nowp = lm;
		nowp.cr0 &= ~(1ull << 16);
		CHECK(vs_x86_page_walk(&mem, &nowp, 0x5000, VS_PF_W, true, &w) == 0);
	}
}

TEST(accessed_and_dirty_bits)
{
	struct vs_x86_walk w;
	long_mode_tables();
	CHECK(vs_x86_page_walk(&mem, &lm, 0x6008, 0, true, &w) == 0);
	CHECK_EQ_U64(get64(0x4000 + 6 * 8) & 0x60, 0x20);
	CHECK(vs_x86_page_walk(&mem, &lm, 0x6008, VS_PF_W, true, &w) == 0);
	CHECK_EQ_U64(get64(0x4000 + 6 * 8) & 0x60, 0x60);
	CHECK(get64(0x1000) & 0x20);
	CHECK(vs_x86_page_walk(&mem, &lm, 0x212345, 0, false, &w) == 0);
	CHECK_EQ_U64(get64(0x3008) & 0x20, 0); /* set_ad false: untouched */
}

TEST(pae_and_32bit_paging)
{
	struct vs_x86_walk w;
	struct vs_x86_paging pae = { .cr0 = VS_CR0_PE | VS_CR0_PG, .cr3 = 0x1000, .cr4 = VS_CR4_PAE };
	struct vs_x86_paging legacy = { .cr0 = VS_CR0_PE | VS_CR0_PG, .cr3 = 0x1000, .cr4 = 1u << 4 };
	uint32_t pde[2] = { 0x2000 | 7, 0x400000 | 0x83 }, pte = 0x7000 | 7;
	memset(mem.base, 0, 0x10000);
	/* PAE: PDPTE 0 -> PD 0x2000 -> 2 MiB page at 8 MiB for 0-2 MiB. */
	put64(0x1000, 0x2000 | 1);
	put64(0x2000, 0x800000 | 0x83);
	CHECK(vs_x86_page_walk(&mem, &pae, 0x1234, 0, false, &w) == 0);
	CHECK_EQ_U64(w.gpa, 0x801234);
	/* 32-bit: PDE 0 -> page table at 0x2000, PDE 1 a 4 MiB page. */
	memset(mem.base, 0, 0x10000);
	vs_gpa_write(&mem, 0x1000, pde, sizeof(pde));
	vs_gpa_write(&mem, 0x2000 + 3 * 4, &pte, 4);
	CHECK(vs_x86_page_walk(&mem, &legacy, 0x3456, 0, false, &w) == 0);
	CHECK_EQ_U64(w.gpa, 0x7456);
	CHECK(vs_x86_page_walk(&mem, &legacy, 0x412345, 0, false, &w) == 0);
	CHECK_EQ_U64(w.gpa, 0x412345);
	CHECK_EQ_U64(w.page_size, 4 * VS_MiB);
}

TEST(rip_for_the_crash_report)
{
	struct vs_cpu_state s = {
		.rip = 0x5010, .cr0 = lm.cr0, .cr3 = lm.cr3, .cr4 = lm.cr4, .efer = lm.efer
	};
	uint64_t gpa = 0;
	long_mode_tables();
	s.cs.l = 1;
	CHECK(vs_x86_rip_to_gpa(&mem, &s, &gpa));
	CHECK_EQ_U64(gpa, 0x9010);
	s.rip = 0x7000;
	CHECK(!vs_x86_rip_to_gpa(&mem, &s, &gpa));
	s = (struct vs_cpu_state){ .rip = 0x10 };
	s.cs.base = 0xf0000;
	CHECK(vs_x86_rip_to_gpa(&mem, &s, &gpa));
	CHECK_EQ_U64(gpa, 0xf0010);
}

static void setup_guest_memory(int *failed_)
{
	struct vs_error err;
	if (vs_guest_mem_create(&mem, 16 * VS_MiB, &err) < 0)
		SKIP("no guest memory");
}

VS_TAP_MAIN(TAP_CASE(setup_guest_memory), TAP_CASE(long_mode_4k_2m_1g), TAP_CASE(fault_error_codes),
	    TAP_CASE(accessed_and_dirty_bits), TAP_CASE(pae_and_32bit_paging),
	    TAP_CASE(rip_for_the_crash_report))

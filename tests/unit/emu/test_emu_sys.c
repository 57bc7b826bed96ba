/* System behaviour: paging faults, privilege changes through the IDT,
 * SYSCALL/SYSRET, mode switches from real mode to long mode, legacy
 * paging, real-mode interrupts, self-modifying code, triple faults. */
#include "../tap.h"
#include "harness.h"

#define STOP "out %al, $0xe0\n"
#define HANDLER (CODE + 0x1000)
#define HANDLER2 (CODE + 0x1800)

static struct emu_t T;

static bool setup64(const uint8_t *start, const uint8_t *end)
{
	if (emu_t_init(&T) < 0)
		return false;
	emu_t_code(&T, start, end);
	emu_t_long64(&T);
	return true;
}

static void put(uint64_t gpa, const uint8_t *start, const uint8_t *end)
{
	vs_gpa_write(&T.mem, gpa, start, (uint64_t)(end - start));
}

/* Map 2-4 MiB with 4 KiB pages through a page table at 0x4000 and make
 * page 0x201000 not present and 0x202000 read-only. */
static void small_pages(void)
{
	emu_t_write64(&T, 0x3000 + 8, 0x4000 | 7);
	for (uint64_t i = 0; i < 512; i++)
		emu_t_write64(&T, 0x4000 + i * 8, (0x200000 + i * 4096) | 7);
	emu_t_write64(&T, 0x4000 + 8, 0);
	emu_t_write64(&T, 0x4000 + 16, 0x202000 | 5);
}

/* The #PF handler stores CR2 and the error code, then skips the faulting
 * 7-byte instruction (movq $imm, (%rdi) / movq (%rdi) forms used below). */
GUEST_CODE(g_pf_handler, "mov %cr2, %rax\n mov %rax, 0x300000\n pop %rax\n mov %rax, 0x300008\n"
			 "addq $7, (%rsp)\n incq 0x300010\n iretq\n");
GUEST_CODE(g_pf, "mov $0x201010, %rdi\n movq $1, (%rdi)\n" STOP "mov $0x202020, %rdi\n movq $2, (%rdi)\n" STOP
		 "mov $0x202020, %rdi\n movq (%rdi), %rbx\n nop\n" STOP);
TEST(page_faults_report_cr2_and_error_code)
{
	if (!setup64(g_pf, g_pf_end))
		SKIP("no guest");
	small_pages();
	put(HANDLER, g_pf_handler, g_pf_handler_end);
	emu_t_gate64(&T, 14, HANDLER, 0, 0);
	emu_t_run(&T);
	CHECK_EQ_U64(emu_t_read64(&T, 0x300000), 0x201010);
	CHECK_EQ_U64(emu_t_read64(&T, 0x300008), 0x2); /* write, not present */
	emu_t_resume(&T);
	CHECK_EQ_U64(emu_t_read64(&T, 0x300000), 0x202020);
	CHECK_EQ_U64(emu_t_read64(&T, 0x300008), 0x3); /* write, protection (CR0.WP) */
	emu_t_resume(&T);
	CHECK_EQ_U64(emu_t_read64(&T, 0x300010), 2); /* the read did not fault */
	/* Accessed and dirty bits: the read-only page was read (A), never written. */
	CHECK_EQ_U64(emu_t_read64(&T, 0x4000 + 16) & 0x60, 0x20);
	emu_t_fini(&T);
}

/* CR3 reload flushes the TLB; INVLPG flushes one page. */
GUEST_CODE(g_tlb, "mov $0x203000, %rdi\n mov (%rdi), %rax\n movq $0x204007, 0x4018\n mov (%rdi), %rbx\n"
		  "invlpg (%rdi)\n mov (%rdi), %rcx\n movq $0x203007, 0x4018\n mov %cr3, %rdx\n"
		  "mov %rdx, %cr3\n mov (%rdi), %rdx\n" STOP);
TEST(tlb_follows_invlpg_and_cr3)
{
	if (!setup64(g_tlb, g_tlb_end))
		SKIP("no guest");
	small_pages();
	emu_t_write64(&T, 0x203000, 0x33);
	emu_t_write64(&T, 0x204000, 0x44);
	emu_t_run(&T);
	CHECK_EQ_U64(T.st.rax, 0x33);
	CHECK_EQ_U64(T.st.rcx, 0x44);
	CHECK_EQ_U64(T.st.rdx, 0x33);
	emu_t_fini(&T);
}

/* Ring 0 -> ring 3 with IRETQ; SYSCALL back into ring 0 and SYSRETQ; INT
 * 0x80 from ring 3 switches to RSP0 from the TSS. */
GUEST_CODE(g_user, "mov $0xc0000081, %ecx\n xor %eax, %eax\n mov $0x00200008, %edx\n wrmsr\n"
		   "mov $0xc0000082, %ecx\n mov $0x11000, %eax\n xor %edx, %edx\n wrmsr\n"
		   "push $0x2b\n push $0x70000\n pushfq\n orq $0x3000, (%rsp)\n push $0x33\n"
		   "lea 1f(%rip), %rax\n push %rax\n iretq\n"
		   "1: mov %cs, %r12\n syscall\n 2: mov %rax, %r13\n int $0x80\n mov %cs, %r15\n"
		   "lea 2b(%rip), %rbp\n" STOP);
GUEST_CODE(g_sys_entry, "mov %cs, %r8\n mov %rcx, %r9\n mov $77, %eax\n sysretq\n");
GUEST_CODE(g_int80, "mov %rsp, %r14\n mov 8(%rsp), %r10\n mov 32(%rsp), %r11\n iretq\n");
TEST(privilege_changes_syscall_and_tss_stack)
{
	if (!setup64(g_user, g_user_end))
		SKIP("no guest");
	put(HANDLER, g_sys_entry, g_sys_entry_end);
	put(HANDLER2, g_int80, g_int80_end);
	emu_t_gate64(&T, 0x80, HANDLER2, 0, 3);
	emu_t_write64(&T, TSS_BASE + 4, 0x60000); /* RSP0 */
	CHECK_EQ_U64(emu_t_run(&T), VS_EXIT_INTR);
	CHECK_EQ_U64(T.st.r12, SEL_UCODE64);
	CHECK_EQ_U64(T.st.r8, SEL_CODE64);
	CHECK_EQ_U64(T.st.r9, T.st.rbp); /* RCX = the instruction after SYSCALL */
	CHECK_EQ_U64(T.st.r13, 77);
	CHECK_EQ_U64(T.st.r14, 0x60000 - 40);
	CHECK_EQ_U64(T.st.r10, SEL_UCODE64);
	CHECK_EQ_U64(T.st.r11, SEL_UDATA);
	CHECK_EQ_U64(T.st.r15, SEL_UCODE64);
	CHECK_EQ_U64(T.st.rsp, 0x70000);
	CHECK_EQ_U64(T.st.cs.dpl, 3);
	emu_t_fini(&T);
}

/* An interrupt gate with IST 1 switches stacks even without a privilege
 * change, aligned to 16 bytes. */
GUEST_CODE(g_ist, "mov $0x7ff8, %rsp\n int3\n" STOP);
GUEST_CODE(g_ist_handler, "mov %rsp, %rbx\n mov 24(%rsp), %rcx\n iretq\n");
TEST(ist_stack)
{
	if (!setup64(g_ist, g_ist_end))
		SKIP("no guest");
	put(HANDLER, g_ist_handler, g_ist_handler_end);
	emu_t_gate64(&T, 3, HANDLER, 1, 0);
	emu_t_write64(&T, TSS_BASE + 0x24, 0x50008); /* IST1 */
	emu_t_run(&T);
	CHECK_EQ_U64(T.st.rbx, 0x50000 - 40);
	CHECK_EQ_U64(T.st.rcx, 0x7ff8); /* the old RSP in the frame */
	CHECK_EQ_U64(T.st.rsp, 0x7ff8);
	emu_t_fini(&T);
}

/* Real mode -> 32-bit protected mode -> long mode, as a kernel's trampoline
 * does: LGDT, CR0.PE, far JMP, CR4.PAE, CR3, EFER.LME, CR0.PG, far JMP. The
 * code sits at linear 0x10000 = 0x1000:0000. */
GUEST_CODE(g_modes, ".code16\n cli\n mov %cs, %ax\n mov %ax, %ds\n"
		    "lgdtl (gdtr_m - g_modes)\n mov %cr0, %eax\n or $1, %eax\n mov %eax, %cr0\n"
		    "ljmpl $0x18, $(0x10000 + pm32_m - g_modes)\n"
		    ".code32\n pm32_m: mov $0x10, %ax\n mov %ax, %ds\n mov %ax, %ss\n mov $0x9000, %esp\n"
		    "mov %cr4, %eax\n or $0x20, %eax\n mov %eax, %cr4\n mov $0x1000, %eax\n mov %eax, %cr3\n"
		    "mov $0xc0000080, %ecx\n rdmsr\n or $0x100, %eax\n wrmsr\n"
		    "mov $0x80000011, %eax\n mov %eax, %cr0\n ljmp $0x08, $(0x10000 + lm64_m - g_modes)\n"
		    ".code64\n lm64_m: mov $0x123456789, %rax\n mov %rsp, %rbx\n" STOP
		    ".balign 8\n gdtr_m: .word 0x47\n .long 0x5000\n");
TEST(real_to_protected_to_long_mode)
{
	if (emu_t_init(&T) < 0)
		SKIP("no guest");
	emu_t_code(&T, g_modes, g_modes_end);
	emu_t_real(&T);
	CHECK_EQ_U64(emu_t_run(&T), VS_EXIT_INTR);
	CHECK_EQ_U64(T.st.rax, 0x123456789ull);
	CHECK_EQ_U64(T.st.rbx, 0x9000);
	CHECK(T.st.efer & VS_EFER_LMA);
	CHECK_EQ_U64(T.st.cs.selector, SEL_CODE64);
	CHECK(T.st.cs.l);
	emu_t_fini(&T);
}

/* Real-mode interrupt through the IVT, and IRET. */
GUEST_CODE(g_rint, ".code16\n movw $(h_rint - g_rint), 0x40\n movw $0x1000, 0x42\n int $0x10\n"
		   "mov %sp, %bx\n" STOP "h_rint: mov $0x55, %cx\n iret\n");
TEST(real_mode_interrupt)
{
	if (emu_t_init(&T) < 0)
		SKIP("no guest");
	emu_t_code(&T, g_rint, g_rint_end);
	emu_t_real(&T);
	emu_t_run(&T);
	CHECK_EQ_U64(T.st.rcx, 0x55);
	CHECK_EQ_U64(T.st.rbx, 0x8000);
	emu_t_fini(&T);
}

/* 32-bit paging with a 4 MiB page (CR4.PSE). */
GUEST_CODE(g_pse, ".code32\n mov %cr4, %eax\n or $0x10, %eax\n mov %eax, %cr4\n mov $0x8000, %eax\n"
		  "mov %eax, %cr3\n mov %cr0, %eax\n or $0x80000000, %eax\n mov %eax, %cr0\n"
		  "mov 0x400000, %ebx\n mov 0x3000, %ecx\n" STOP);
TEST(legacy_paging_with_4m_pages)
{
	if (emu_t_init(&T) < 0)
		SKIP("no guest");
	emu_t_code(&T, g_pse, g_pse_end);
	emu_t_prot32(&T);
	/* Page directory at 0x8000: 0-4M identity, 4-8M -> 8-12M. */
	{
		uint32_t pde[2] = { 0x000083, 0x800083 };
		vs_gpa_write(&T.mem, 0x8000, pde, sizeof(pde));
	}
	emu_t_write64(&T, 0x800000, 0xabcd);
	CHECK_EQ_U64(emu_t_run(&T), VS_EXIT_INTR);
	CHECK_EQ_U64(T.st.rbx, 0xabcd);
	CHECK_EQ_U64(T.st.rcx, 0x87); /* identity-mapped low 4 MiB */
	emu_t_fini(&T);
}

/* Code that rewrites an instruction just ahead of itself runs the new
 * bytes. */
GUEST_CODE(g_smc, "lea 1f(%rip), %rdi\n movl $0x99, 1(%rdi)\n 1: mov $0x11, %eax\n" STOP);
TEST(self_modifying_code)
{
	if (!setup64(g_smc, g_smc_end))
		SKIP("no guest");
	emu_t_run(&T);
	CHECK_EQ_U64(T.st.rax, 0x99);
	emu_t_fini(&T);
}

/* A fault with no usable IDT: #GP, then #DF, then shutdown. */
GUEST_CODE(g_triple, "ud2\n");
TEST(triple_fault_shuts_down)
{
	if (!setup64(g_triple, g_triple_end))
		SKIP("no guest");
	T.st.idt.limit = 0;
	CHECK_EQ_U64(emu_t_run(&T), VS_EXIT_SHUTDOWN);
	CHECK(strstr(T.exit.detail, "triple fault") != NULL);
	emu_t_fini(&T);
}

/* A pending unmasked x87 exception (here divide by zero with ZE unmasked)
 * is taken as #MF at the next FWAIT; the handler clears it and FWAIT then
 * completes. */
GUEST_CODE(g_mf_handler, "incq 0x300000\n fnclex\n iretq\n");
GUEST_CODE(g_mf, "fninit\n movw $0x37b, 0x300010\n fldcw 0x300010\n fldz\n fld1\n fdivp\n"
		 "movq $7, 0x300008\n fwait\n movq $8, 0x300008\n" STOP);
TEST(fwait_takes_pending_x87_exception_as_mf)
{
	if (!setup64(g_mf, g_mf_end))
		SKIP("no guest");
	put(HANDLER, g_mf_handler, g_mf_handler_end);
	emu_t_gate64(&T, 16, HANDLER, 0, 0);
	T.st.cr0 |= 1ull << 5; /* NE: native x87 error reporting */
	emu_t_run(&T);
	CHECK_EQ_U64(emu_t_read64(&T, 0x300000), 1); /* one #MF */
	CHECK_EQ_U64(emu_t_read64(&T, 0x300008), 8); /* FWAIT completed after it */
	emu_t_fini(&T);
}

/* MASKMOVDQU stores the selected bytes of xmm0 at DS:RDI. */
GUEST_CODE(g_maskmov, "mov $0x300100, %rdi\n movdqu 0x300200, %xmm0\n movdqu 0x300210, %xmm1\n"
		      "maskmovdqu %xmm1, %xmm0\n" STOP);
TEST(maskmovdqu_stores_through_rdi)
{
	uint8_t *dst, src[16], mask[16];
	if (!setup64(g_maskmov, g_maskmov_end))
		SKIP("no guest");
	for (int i = 0; i < 16; i++) {
		src[i] = (uint8_t)(0xa0 + i);
		mask[i] = (i & 1) ? 0x80 : 0; /* odd bytes only */
	}
	vs_gpa_write(&T.mem, 0x300200, src, 16);
	vs_gpa_write(&T.mem, 0x300210, mask, 16);
	emu_t_run(&T);
	dst = emu_t_ptr(&T, 0x300100);
	for (int i = 0; i < 16; i++)
		CHECK_EQ_U64(dst[i], (i & 1) ? src[i] : 0);
	emu_t_fini(&T);
}

/* INVLPG of another 2 MiB page leaves the cached pieces of this one alone
 * (remap the 2 MiB page at 4 MiB, PD entry 2, to 6 MiB's frame: the stale
 * piece stays until flushed, as on hardware), and INVLPG of its own first
 * byte drops them after it is mapped back. */
GUEST_CODE(g_invlpg_large,
	   "mov $0x401000, %rdi\n mov (%rdi), %rax\n movq $0x600087, 0x3010\n"
	   "mov (%rdi), %rbx\n mov $0x7ff000, %rsi\n invlpg (%rsi)\n mov (%rdi), %rcx\n"
	   "movq $0x400087, 0x3010\n mov $0x400000, %rsi\n invlpg (%rsi)\n mov (%rdi), %rdx\n" STOP);
TEST(invlpg_drops_every_piece_of_a_large_page)
{
	if (!setup64(g_invlpg_large, g_invlpg_large_end))
		SKIP("no guest");
	emu_t_write64(&T, 0x401000, 0x1111);
	emu_t_write64(&T, 0x601000, 0x2222);
	emu_t_run(&T);
	CHECK_EQ_U64(T.st.rax, 0x1111);
	CHECK_EQ_U64(T.st.rbx, 0x1111); /* still cached: no INVLPG yet */
	CHECK_EQ_U64(T.st.rcx, 0x1111); /* INVLPG of another 2 MiB page changes nothing */
	CHECK_EQ_U64(T.st.rdx, 0x1111); /* remapped back, then flushed: the original frame */
	emu_t_fini(&T);
}

GUEST_CODE(g_invlpg_large2, "mov $0x401000, %rdi\n mov (%rdi), %rax\n movq $0x600087, 0x3010\n"
			    "mov $0x4ff000, %rsi\n invlpg (%rsi)\n"
			    "mov (%rdi), %rbx\n" STOP);
TEST(invlpg_in_the_same_large_page_reaches_other_pieces)
{
	if (!setup64(g_invlpg_large2, g_invlpg_large2_end))
		SKIP("no guest");
	emu_t_write64(&T, 0x401000, 0x1111);
	emu_t_write64(&T, 0x601000, 0x2222);
	emu_t_run(&T);
	CHECK_EQ_U64(T.st.rax, 0x1111);
	CHECK_EQ_U64(T.st.rbx, 0x2222); /* 0x4ff000 is in the same 2 MiB page as 0x401000 */
	emu_t_fini(&T);
}

/* CPUID.7.0:EDX[29] advertises IA32_ARCH_CAPABILITIES, which says the
 * CPU is not affected by Meltdown (RDCL_NO) nor MDS (MDS_NO): an Intel
 * guest kernel then runs without page-table isolation. */
GUEST_CODE(g_arch_cap, "mov $7, %eax\n xor %ecx, %ecx\n cpuid\n mov %edx, %r8d\n"
		       "mov $0x10a, %ecx\n rdmsr\n mov %eax, %r9d\n mov %edx, %r10d\n" STOP);
TEST(arch_capabilities_say_no_speculation_leaks)
{
	if (!setup64(g_arch_cap, g_arch_cap_end))
		SKIP("no guest");
	emu_t_run(&T);
	CHECK_EQ_U64(T.st.r8 & (1u << 29), 1u << 29);
	CHECK_EQ_U64(T.st.r9 & 0x21, 0x21);
	CHECK_EQ_U64(T.st.r10, 0);
	emu_t_fini(&T);
}

VS_TAP_MAIN(TAP_CASE(page_faults_report_cr2_and_error_code), TAP_CASE(tlb_follows_invlpg_and_cr3),
	    TAP_CASE(privilege_changes_syscall_and_tss_stack), TAP_CASE(ist_stack),
	    TAP_CASE(real_to_protected_to_long_mode), TAP_CASE(real_mode_interrupt),
	    TAP_CASE(legacy_paging_with_4m_pages), TAP_CASE(self_modifying_code),
	    TAP_CASE(triple_fault_shuts_down), TAP_CASE(fwait_takes_pending_x87_exception_as_mf),
	    TAP_CASE(maskmovdqu_stores_through_rdi), TAP_CASE(invlpg_drops_every_piece_of_a_large_page),
	    TAP_CASE(invlpg_in_the_same_large_page_reaches_other_pieces),
	    TAP_CASE(arch_capabilities_say_no_speculation_leaks))

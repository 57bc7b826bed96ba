/* test=isa, exceptions: the vector, error code, faulting RIP and frame of
 * the common faults and traps in 64-bit mode, and the fault harness the
 * paging and segment groups use too (isa.h). */
#include "isa.h"

#include "idt.h"
#include "libc.h"

volatile uint64_t isa_resume_at, isa_start_at, isa_fault_vec, isa_fault_err, isa_fault_rip, isa_fault_cr2,
    isa_fault_rsp, isa_try_rsp, isa_scratch, isa_fault_cpl, isa_kernel_rsp;

static void on_fault(struct irq_frame *f)
{
	uint64_t cr2;
	__asm__ volatile("mov %%cr2, %0" : "=r"(cr2));
	isa_fault_vec = f->vector;
	isa_fault_err = f->error;
	isa_fault_rip = f->rip;
	isa_fault_cr2 = cr2;
	isa_fault_rsp = f->rsp;
	isa_fault_cpl = f->cs & 3;
	f->rip = isa_resume_at;
	if (isa_fault_cpl == 3) {
		/* from ring 3 (isa_user.c): resume on the kernel side */
		f->cs = 0x08;
		f->ss = 0x10;
		f->rsp = isa_kernel_rsp;
		f->rflags = 0x2;
	}
}

void isa_fault_arm(void)
{
	for (unsigned v = 0; v < 32; v++)
		idt_set_handler((uint8_t)v, on_fault);
	idt_set_handler(0x41, on_fault);
}

void isa_fault_report(const char *name)
{
	if (isa_fault_vec == (uint64_t)-1) {
		printf("isa: %s vec=none\n", name);
		return;
	}
	/* A fetch fault's RIP is the target itself: say so rather than
	 * print an offset that depends on where the test is linked. */
	if (isa_fault_vec == 14 && isa_fault_rip == isa_fault_cr2)
		printf("isa: %s vec=%lu err=0x%lx at=cr2%s", name, isa_fault_vec, isa_fault_err,
		       isa_fault_rsp == isa_try_rsp ? "" : " rsp-differs");
	else
		printf("isa: %s vec=%lu err=0x%lx at=+%lu%s", name, isa_fault_vec, isa_fault_err,
		       isa_fault_rip - isa_start_at, isa_fault_rsp == isa_try_rsp ? "" : " rsp-differs");
	if (isa_fault_vec == 14)
		printf(" cr2=0x%lx", isa_fault_cr2);
	if (isa_fault_cpl)
		printf(" cpl=%lu", isa_fault_cpl);
	printf("\n");
}

void isa_fault_groups(void)
{
	isa_fault_arm();
	ISA_CASE("de-div0", "xor %%ecx, %%ecx\n\tdiv %%rcx");
	ISA_CASE("de-divb-overflow", "mov $0x1000, %%ax\n\tmov $1, %%cl\n\tdiv %%cl");
	ISA_CASE("de-idiv-overflow",
		 "movabs $0x8000000000000000, %%rax\n\tcqo\n\tmov $-1, %%rcx\n\tidiv %%rcx");
	ISA_CASE("ud-ud2", "ud2");
	ISA_CASE("ud-into", ".byte 0xce");
	ISA_CASE("ud-lock-nop", ".byte 0xf0, 0x90");
	ISA_CASE("ud-lock-register-dest", ".byte 0xf0, 0x01, 0xc1");
	ISA_CASE("ud-mov-cr5", ".byte 0x0f, 0x20, 0xe8");
	ISA_CASE("bp-int3", "int3");
	ISA_CASE("int-0x41", "int $0x41");
	ISA_CASE("gp-noncanonical-load", "movabs $0x0000800000000000, %%rax\n\tmov (%%rax), %%rcx");
	ISA_CASE("gp-noncanonical-store", "movabs $0xffff7fffffffff00, %%rax\n\tmovl $1, (%%rax)");
	ISA_CASE("ss-noncanonical-rbp",
		 "push %%rbp\n\tmovabs $0x0000800000000000, %%rbp\n\tmov (%%rbp), %%rcx\n1:\n\tpop %%rbp");
	ISA_CASE("gp-wrmsr-unknown",
		 "mov $0xdeadbeef, %%ecx\n\txor %%eax, %%eax\n\txor %%edx, %%edx\n\twrmsr");
	ISA_CASE("gp-rdmsr-unknown", "mov $0xdeadbeef, %%ecx\n\trdmsr");
	ISA_CASE(
	    "gp-cr4-reserved",
	    "mov %%cr4, %%rax\n\tmov %%rax, %%rdx\n\tbts $63, %%rax\n\tmov %%rax, %%cr4\n\tmov %%rdx, %%cr4");
	ISA_CASE("gp-cr8-reserved", "mov $16, %%eax\n\tmov %%rax, %%cr8");
	ISA_CASE("nm-ts-fnop", "mov %%cr0, %%rax\n\tor $8, %%rax\n\tmov %%rax, %%cr0\n\tfnop\n\tclts");
	__asm__ volatile("clts");
	ISA_CASE("ud-sse-without-osfxsr",
		 "mov %%cr4, %%rax\n\tbtr $9, %%rax\n\tmov %%rax, %%cr4\n\t.byte 0x0f, 0x58, 0xc0");
	ISA_TRY("mov %%cr4, %%rax\n\tbts $9, %%rax\n\tmov %%rax, %%cr4\n\t"
		"mov %%cr0, %%rax\n\tand $~4, %%rax\n\tor $2, %%rax\n\tmov %%rax, %%cr0\n\t.byte 0x0f, 0x58, "
		"0xc0",
		"");
	isa_fault_report("sse-with-osfxsr");
	ISA_CASE("gp-bad-selector-ds",
		 "mov $0x1234, %%ax\n\tmov %%ax, %%ds\n1:\n\tmov $0x10, %%ax\n\tmov %%ax, %%ds");
}

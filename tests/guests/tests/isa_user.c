/* test=isa, ring 3: entering user mode with IRETQ and coming back through
 * SYSCALL and through faults (with the stack from the TSS), SYSRET, and
 * what CPL 3 may not do: privileged instructions, I/O the TSS bitmap
 * does not open,
 * interrupt gates of DPL 0, supervisor and read-only pages, IRET to ring
 * 0, changing IOPL or IF with POPF. The user code runs from pages of its
 * own at 1.5 TiB (PML4 slot 3) with the U bit set; everything is put
 * back at the end. */
#include "isa.h"

#include "io.h"
#include "libc.h"

#define UBASE 0x18000000000ull
#define UCODE (UBASE + 0x0000)
#define USTACK_TOP (UBASE + 0x2000)
#define USUPER (UBASE + 0x2000) /* present, supervisor only */
#define URO (UBASE + 0x3000)	/* present, user, read-only */
#define P 0x1ull
#define RW 0x2ull
#define US 0x4ull
#define EFER 0xc0000080u
#define STAR 0xc0000081u
#define LSTAR 0xc0000082u
#define FMASK 0xc0000084u
#define SYSCALL_VECTOR 0x100 /* isa_fault_vec after a SYSCALL */

struct tss64 {
	uint32_t reserved0;
	uint64_t rsp[3];
	uint64_t reserved1;
	uint64_t ist[7];
	uint64_t reserved2;
	uint16_t reserved3, iomap_base;
} __attribute__((packed));

/* The TSS with an I/O permission bitmap that opens port 0x80 alone. */
static struct {
	struct tss64 tss;
	uint8_t io_bitmap[8192];
	uint8_t io_bitmap_end; /* all ones, as the SDM asks */
} __attribute__((packed)) tss_io = { .tss.iomap_base = sizeof(struct tss64) };
static uint8_t ring0_stack[8192] __attribute__((aligned(16)));

/* Selectors as SYSCALL/SYSRET need them: STAR[47:32] = 0x08 gives CS 0x08
 * and SS 0x10; STAR[63:48] = 0x10 gives SS 0x18|3 and CS 0x20|3. */
static uint64_t gdt[8] __attribute__((aligned(16))) = {
	0,
	0x00af9a000000ffffull, /* 0x08 kernel code (as start64.S) */
	0x00cf92000000ffffull, /* 0x10 kernel data */
	0x00cff2000000ffffull, /* 0x18 user data */
	0x00affa000000ffffull, /* 0x20 user 64-bit code */
	0,		       /* 0x28 TSS, filled in */
	0,
};

static uint64_t pdpt[512] __attribute__((aligned(4096)));
static uint64_t pd[512] __attribute__((aligned(4096)));
static uint64_t pt[512] __attribute__((aligned(4096)));
static uint8_t pages[4][4096] __attribute__((aligned(4096)));

struct gdt_ptr {
	uint16_t limit;
	uint64_t base;
} __attribute__((packed));
extern const struct gdt_ptr gdt64_ptr; /* entry/start64.S */

volatile uint8_t isa_sysret_once;
void isa_syscall_entry(void);

/* SYSCALL lands here at CPL 0 on the user's stack: either SYSRET back
 * once (isa_sysret_once), or record RAX, the return RIP and RFLAGS and
 * resume the kernel side of run_user. */
__asm__(".text\n"
	".globl isa_syscall_entry\n"
	"isa_syscall_entry:\n\t"
	"mov %rax, isa_scratch(%rip)\n\t"
	"cmpb $0, isa_sysret_once(%rip)\n\t"
	"je 1f\n\t"
	"movb $0, isa_sysret_once(%rip)\n\t"
	"sysretq\n"
	"1:\n\t"
	"mov %rcx, isa_fault_rip(%rip)\n\t"
	"mov %r11, isa_fault_err(%rip)\n\t"
	"movq $0x100, isa_fault_vec(%rip)\n\t"
	"mov isa_kernel_rsp(%rip), %rsp\n\t"
	"jmp *isa_resume_at(%rip)\n");

/* The user code, copied to UCODE: one stub per case, each ending in a
 * SYSCALL (or a fault). */
extern const char isa_ucode[], isa_ucode_end[];
extern const char u_syscall[], u_sysret[], u_hlt[], u_cli[], u_in[], u_out[], u_mov_cr0[], u_rdmsr[],
    u_swapgs[], u_in_allowed[], u_inw_straddle[], u_lgdt[], u_invlpg[], u_int41[], u_int42[], u_int3[],
    u_ud2[], u_read_super[], u_write_super[], u_write_ro[], u_fetch_super[], u_pushf[], u_popf[], u_cpuid[],
    u_ss_kernel[], u_ds_null[], u_iret_ring0[];
__asm__(".section .rodata\n"
	".globl isa_ucode\n"
	"isa_ucode:\n"
	"u_syscall: mov $0x1234, %eax\n\tsyscall\n\tud2\n"
	/* SYSRET comes back here with CF kept; the second SYSCALL reports
	 * CS<<16|SS and the flags */
	"u_sysret: stc\n\tsyscall\n\tmov %cs, %eax\n\tshl $16, %eax\n\tmov %ss, %ax\n\tsyscall\n\tud2\n"
	"u_hlt: hlt\n\tud2\n"
	"u_cli: cli\n\tud2\n"
	"u_in: in $0x81, %al\n\tud2\n"
	"u_out: out %al, $0x81\n\tud2\n"
	"u_in_allowed: in $0x80, %al\n\txor %eax, %eax\n\tsyscall\n\tud2\n"
	"u_inw_straddle: in $0x7f, %ax\n\tud2\n"
	"u_mov_cr0: mov %cr0, %rax\n\tud2\n"
	"u_rdmsr: mov $0x10, %ecx\n\trdmsr\n\tud2\n"
	"u_swapgs: swapgs\n\tud2\n"
	"u_lgdt: lgdt (%rsp)\n\tud2\n"
	"u_invlpg: invlpg (%rsp)\n\tud2\n"
	"u_int41: int $0x41\n\tud2\n"
	"u_int42: int $0x42\n\tud2\n"
	"u_int3: int3\n\tud2\n"
	"u_ud2: ud2\n"
	"u_read_super: movabs $0x18000002010, %rax\n\tmov (%rax), %rcx\n\tud2\n"
	"u_write_super: movabs $0x18000002018, %rax\n\tmovq $1, (%rax)\n\tud2\n"
	"u_write_ro: movabs $0x18000003020, %rax\n\tmovq $1, (%rax)\n\tud2\n"
	"u_fetch_super: movabs $0x18000002000, %rax\n\tjmp *%rax\n"
	"u_pushf: pushfq\n\tpop %rax\n\tsyscall\n\tud2\n"
	/* POPF at CPL 3, IOPL 0 changes neither IOPL nor IF */
	"u_popf: pushq $0x3ad7\n\tpopfq\n\tpushfq\n\tpop %rax\n\tsyscall\n\tud2\n"
	"u_cpuid: xor %eax, %eax\n\txor %ecx, %ecx\n\tcpuid\n\txor %eax, %eax\n\tsyscall\n\tud2\n"
	"u_ss_kernel: mov $0x10, %eax\n\tmov %ax, %ss\n\tud2\n"
	"u_ds_null: xor %eax, %eax\n\tmov %ax, %ds\n\tmov %ds, %eax\n\tsyscall\n\tud2\n"
	"u_iret_ring0: mov %rsp, %rbx\n\tpushq $0x10\n\tpushq %rbx\n\tpushq $2\n\tpushq $0x08\n\t"
	"lea 1f(%rip), %rax\n\tpush %rax\n\tiretq\n1:\tud2\n"
	".globl isa_ucode_end\n"
	"isa_ucode_end:\n"
	".text\n");

/* Enter the stub at CPL 3 (IF clear, IOPL 0) with RAX = rax; comes back
 * through a fault (isa_fault.c's handler returns to ring 0 here) or a
 * SYSCALL (isa_syscall_entry). The stubs leave r12-r15 and rbp alone. */
static void run_user(const char *stub, uint64_t rax)
{
	uint64_t uip = UCODE + (uint64_t)(stub - isa_ucode);
	isa_start_at = uip;
	__asm__ volatile("lea 1f(%%rip), %%rcx\n\tmov %%rcx, isa_resume_at(%%rip)\n\t"
			 "movq $-1, isa_fault_vec(%%rip)\n\t"
			 "mov %%rsp, isa_kernel_rsp(%%rip)\n\t"
			 "mov %%rsp, isa_try_rsp(%%rip)\n\t"
			 "pushq $0x1b\n\tpushq %[usp]\n\tpushq $0x2\n\tpushq $0x23\n\tpushq %[uip]\n\t"
			 "iretq\n"
			 "1:\n"
			 : "+a"(rax)
			 : [usp] "r"(USTACK_TOP), [uip] "r"(uip)
			 : "rbx", "rcx", "rdx", "rsi", "rdi", "r8", "r9", "r10", "r11", "memory", "cc");
}

static void user_case(const char *name, const char *stub)
{
	if (isa_skip(name))
		return;
	run_user(stub, 0);
	if (isa_fault_vec == SYSCALL_VECTOR)
		printf("isa: %s syscall rcx=+%lu r11=0x%lx rax=0x%lx\n", name, isa_fault_rip - isa_start_at,
		       isa_fault_err, isa_scratch);
	else
		isa_fault_report(name);
}

/* The type byte of an IDT gate (present, DPL, 64-bit interrupt gate). */
static uint8_t *gate_type(uint8_t vector)
{
	struct gdt_ptr idtr;
	__asm__ volatile("sidt %0" : "=m"(idtr));
	return (uint8_t *)(uintptr_t)(idtr.base + 16u * vector + 5);
}

void isa_user_groups(void)
{
	uint64_t *pml4;
	uint64_t cr3, efer = rdmsr(EFER), star = rdmsr(STAR), lstar = rdmsr(LSTAR), fmask = rdmsr(FMASK);
	uint64_t base = (uint64_t)(uintptr_t)&tss_io, limit = sizeof(tss_io) - 1;
	uint16_t ds;
	struct gdt_ptr mine = { sizeof(gdt) - 1, (uint64_t)(uintptr_t)gdt };
	uint8_t *gate41 = gate_type(0x41), old41 = *gate41;

	__asm__ volatile("mov %%cr3, %0" : "=r"(cr3));
	pml4 = (uint64_t *)(uintptr_t)(cr3 & 0x000ffffffffff000ull);
	if (pml4[3] & P) {
		printf("isa: user FAILED: PML4 slot 3 is in use\n");
		return;
	}
	memcpy(pages[0], isa_ucode, (size_t)(isa_ucode_end - isa_ucode));
	pdpt[0] = (uint64_t)(uintptr_t)pd | P | RW | US;
	pd[0] = (uint64_t)(uintptr_t)pt | P | RW | US;
	pt[0] = (uint64_t)(uintptr_t)pages[0] | P | US;	     /* user code, read-only */
	pt[1] = (uint64_t)(uintptr_t)pages[1] | P | RW | US; /* user stack */
	pt[2] = (uint64_t)(uintptr_t)pages[2] | P | RW;	     /* supervisor only */
	pt[3] = (uint64_t)(uintptr_t)pages[3] | P | US;	     /* user, read-only */
	pml4[3] = (uint64_t)(uintptr_t)pdpt | P | RW | US;
	__asm__ volatile("mov %0, %%cr3" : : "r"(cr3) : "memory");

	tss_io.tss.rsp[0] = (uint64_t)(uintptr_t)(ring0_stack + sizeof(ring0_stack));
	memset(tss_io.io_bitmap, 0xff, sizeof(tss_io.io_bitmap));
	tss_io.io_bitmap[0x80 / 8] &= (uint8_t) ~(1u << (0x80 % 8));
	tss_io.io_bitmap_end = 0xff;
	gdt[5] = (limit & 0xffff) | (base & 0xffffff) << 16 | 0x89ull << 40 | ((limit >> 16) & 0xf) << 48 |
		 ((base >> 24) & 0xff) << 56;
	gdt[6] = base >> 32;
	__asm__ volatile("lgdt %0\n\tltr %w1" : : "m"(mine), "r"(0x28) : "memory");
	wrmsr(EFER, efer | 1 | (1u << 11)); /* SCE, NXE */
	wrmsr(STAR, 0x10ull << 48 | 0x08ull << 32);
	wrmsr(LSTAR, (uint64_t)(uintptr_t)isa_syscall_entry);
	wrmsr(FMASK, 0x47700); /* TF, DF, IF, IOPL, NT, AC, as Linux */
	*gate41 = 0xee;	       /* DPL 3: INT 0x41 is allowed from ring 3 */
	isa_fault_arm();

	user_case("user-syscall", u_syscall);
	__asm__ volatile("mov %%ds, %0" : "=r"(ds));
	printf("isa: ds-after-iret-to-user 0x%x\n", ds); /* DPL 0 data: nulled */
	isa_sysret_once = 1;
	user_case("user-sysret", u_sysret);
	user_case("user-hlt", u_hlt);
	user_case("user-cli", u_cli);
	user_case("user-in", u_in);
	user_case("user-out", u_out);
	user_case("user-in-bitmap-open", u_in_allowed);
	user_case("user-inw-bitmap-half-open", u_inw_straddle);
	user_case("user-mov-cr0", u_mov_cr0);
	user_case("user-rdmsr", u_rdmsr);
	user_case("user-swapgs", u_swapgs);
	user_case("user-lgdt", u_lgdt);
	user_case("user-invlpg", u_invlpg);
	user_case("user-int-dpl3-gate", u_int41);
	user_case("user-int-dpl0-gate", u_int42);
	user_case("user-int3-dpl0-gate", u_int3);
	user_case("user-ud2", u_ud2);
	user_case("user-read-supervisor", u_read_super);
	user_case("user-write-supervisor", u_write_super);
	user_case("user-write-ro", u_write_ro);
	user_case("user-fetch-supervisor", u_fetch_super);
	user_case("user-pushf", u_pushf);
	user_case("user-popf-iopl-if", u_popf);
	user_case("user-cpuid", u_cpuid);
	user_case("user-ss-kernel", u_ss_kernel);
	user_case("user-ds-null", u_ds_null);
	user_case("user-iret-to-ring0", u_iret_ring0);

	*gate41 = old41;
	wrmsr(FMASK, fmask);
	wrmsr(LSTAR, lstar);
	wrmsr(STAR, star);
	wrmsr(EFER, efer);
	pml4[3] = 0;
	__asm__ volatile("mov %0, %%cr3" : : "r"(cr3) : "memory");
	__asm__ volatile("lgdt %0\n\tmov $0x10, %%ax\n\tmov %%ax, %%ds\n\tmov %%ax, %%es"
			 :
			 : "m"(gdt64_ptr)
			 : "rax", "memory");
}

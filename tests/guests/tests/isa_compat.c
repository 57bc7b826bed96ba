/* test=isa, compatibility mode: a far jump from 64-bit code to a 32-bit
 * code segment, where the one-byte INC/DEC, BCD adjustments, PUSHA/POPA,
 * ARPL, 16-bit operands and 16-bit addressing exist again (in 64-bit mode
 * they are REX prefixes, #UD or MOVSXD), then back. The results land in
 * a buffer below 4 GiB and are hashed. */
#include "isa.h"

#include "libc.h"

#define RESULTS 40

struct gdt_ptr {
	uint16_t limit;
	uint64_t base;
} __attribute__((packed));
extern const struct gdt_ptr gdt64_ptr; /* entry/start64.S */

static const uint64_t gdt[] __attribute__((aligned(16))) = {
	0, 0x00af9a000000ffffull, /* 0x08 64-bit code (as start64.S) */
	0x00cf92000000ffffull,	  /* 0x10 data (as start64.S) */
	0x00cf9a000000ffffull,	  /* 0x18 32-bit code */
};

static uint32_t results[RESULTS];
void isa_compat_run(uint32_t *out);

/* isa_compat_run(out): %rdi = out (below 4 GiB, as the whole image). The
 * 32-bit part keeps `out` in %ebp and stores one word per result. */
__asm__(".text\n"
	".globl isa_compat_run\n"
	"isa_compat_run:\n\t"
	"push %rbx\n\tpush %rbp\n\tpush %r12\n\tpush %r13\n\tpush %r14\n\tpush %r15\n\t"
	"mov %rsp, isa_compat_rsp(%rip)\n\t"
	"ljmpl *isa_compat_far(%rip)\n"
	".code32\n"
	"isa_compat32:\n\t"
	"mov %edi, %ebp\n\t"
	/* 0x40/0x48: INC/DEC EAX, and their flags */
	"movl $0x7fffffff, %eax\n\t.byte 0x40\n\tpushfl\n\tpopl %ecx\n\t"
	"movl %eax, 0(%ebp)\n\tmovl %ecx, 4(%ebp)\n\t"
	"movl $0x80000000, %eax\n\t.byte 0x48\n\tpushfl\n\tpopl %ecx\n\t"
	"movl %eax, 8(%ebp)\n\tmovl %ecx, 12(%ebp)\n\t"
	/* BCD: DAA, AAA, DAS, AAS, AAM, AAD */
	"movl $0x19, %eax\n\taddb $0x28, %al\n\tdaa\n\tmovl %eax, 16(%ebp)\n\t"
	"movl $0x0109, %eax\n\taddb $0x05, %al\n\taaa\n\tmovl %eax, 20(%ebp)\n\t"
	"movl $0x47, %eax\n\tsubb $0x19, %al\n\tdas\n\tmovl %eax, 24(%ebp)\n\t"
	"movl $0x0103, %eax\n\tsubb $0x05, %al\n\taas\n\tmovl %eax, 28(%ebp)\n\t"
	"movl $77, %eax\n\taam\n\tmovl %eax, 32(%ebp)\n\t"
	"movl $0x0407, %eax\n\taad\n\tmovl %eax, 36(%ebp)\n\t"
	/* PUSHA's frame, copied out, then POPA */
	"movl $1, %eax\n\tmovl $2, %ecx\n\tmovl $3, %edx\n\tmovl $4, %ebx\n\tmovl $5, %esi\n\t"
	"movl $6, %edi\n\tmovl %esp, 40(%ebp)\n\tpusha\n\tsubl %esp, 40(%ebp)\n\t"
	"movl %esp, %esi\n\tleal 44(%ebp), %edi\n\tmovl $8, %ecx\n\tcld\n\trep movsl\n\t"
	"xorl %eax, %eax\n\tpopa\n\tmovl %eax, 76(%ebp)\n\tmovl %edi, 80(%ebp)\n\t"
	/* 16-bit operand size keeps the upper half */
	"movl $0x12345678, %eax\n\taddw $0xffff, %ax\n\tpushfl\n\tpopl %ecx\n\t"
	"movl %eax, 84(%ebp)\n\tmovl %ecx, 88(%ebp)\n\t"
	/* 16-bit addressing wraps at 64 KiB */
	"movl $0x1fff0, %ebx\n\tmovl $0x30, %esi\n\taddr16 leal 0x1234(%bx,%si), %eax\n\t"
	"movl %eax, 92(%ebp)\n\t"
	/* CALL pushes a 32-bit return address */
	"movl %esp, %ecx\n\tcall 1f\n1:\tsubl %esp, %ecx\n\tpopl %eax\n\tsubl $1b, %eax\n\t"
	"movl %ecx, 96(%ebp)\n\tmovl %eax, 100(%ebp)\n\t"
	/* PUSH DS moves ESP by 4 */
	"movl %esp, %ecx\n\tpushl %ds\n\tsubl %esp, %ecx\n\tpopl %eax\n\tandl $0xffff, %eax\n\t"
	"movl %ecx, 104(%ebp)\n\tmovl %eax, 108(%ebp)\n\t"
	/* ARPL raises the RPL of the destination selector */
	"movw $0x10, %ax\n\tmovw $0x3, %cx\n\tarpl %cx, %ax\n\tsetz %dl\n\t"
	"movzwl %ax, %eax\n\tmovl %eax, 112(%ebp)\n\tmovzbl %dl, %edx\n\tmovl %edx, 116(%ebp)\n\t"
	/* LOOP and JECXZ count in ECX */
	"movl $5, %ecx\n\txorl %eax, %eax\n2:\taddl $3, %eax\n\tloop 2b\n\tjecxz 3f\n\tmovl $-1, %eax\n"
	"3:\tmovl %eax, 120(%ebp)\n\t"
	/* CS as seen in compatibility mode */
	"movl %cs, %eax\n\tmovl %eax, 124(%ebp)\n\t"
	"ljmp $0x08, $isa_compat_back\n"
	".code64\n"
	"isa_compat_back:\n\t"
	"mov isa_compat_rsp(%rip), %rsp\n\t"
	"pop %r15\n\tpop %r14\n\tpop %r13\n\tpop %r12\n\tpop %rbp\n\tpop %rbx\n\t"
	"ret\n"
	".data\n"
	"isa_compat_rsp: .quad 0\n"
	"isa_compat_far: .long isa_compat32\n\t.word 0x18\n"
	".text\n");

void isa_compat_groups(void)
{
	struct gdt_ptr mine = { sizeof(gdt) - 1, (uint64_t)(uintptr_t)gdt };
	struct isa_hash h;
	memset(results, 0, sizeof(results));
	__asm__ volatile("lgdt %0" : : "m"(mine) : "memory");
	isa_compat_run(results);
	__asm__ volatile("lgdt %0" : : "m"(gdt64_ptr) : "memory");
	/* INC/DEC flags: all but CF are defined (CF is kept); BCD flags are
	 * left out (partly undefined). */
	results[1] &= 0x8d4;
	results[3] &= 0x8d4;
	results[22] &= 0x8d5;
	isa_hash_init(&h);
	for (int i = 0; i < 32; i++)
		isa_hash_add(&h, results[i]);
	isa_hash_print(&h, "compat-mode");
	printf("isa: compat inc=0x%x dec=0x%x daa=0x%x aaa=0x%x das=0x%x aas=0x%x aam=0x%x aad=0x%x\n",
	       results[0], results[2], results[4] & 0xff, results[5] & 0xffff, results[6] & 0xff,
	       results[7] & 0xffff, results[8] & 0xffff, results[9] & 0xffff);
	printf("isa: compat pusha-size=%u popa-eax=%u addw=0x%x addr16-lea=0x%x call-push=%u "
	       "call-ret=%u push-ds=%u/0x%x arpl=0x%x/%u loop=%u cs=0x%x\n",
	       results[10], results[19], results[21], results[23], results[24], results[25], results[26],
	       results[27], results[28], results[29], results[30], results[31]);
}

/* Differential test against the host CPU: each instruction below runs
 * natively (in an executable buffer, operands loaded from a record) and on
 * the emulated CPU with the same registers and flags; the six GPRs it may
 * touch and the flags the architecture defines for it must agree. Operands
 * are pseudo-random (fixed seed) plus edge values. */
#include <stdlib.h>
#include <sys/mman.h>

#include "../tap.h"
#include "harness.h"

#define CASES 300
#define ALL_FLAGS 0x8d5ull /* CF PF AF ZF SF OF */
#define CF 0x1ull
#define PF 0x4ull
#define AF 0x10ull
#define ZF 0x40ull
#define SF 0x80ull
#define OF 0x800ull

struct regs {
	uint64_t rax, rbx, rcx, rdx, rsi, rdi, flags;
};

/* native_exec(regs, code): load the record, call code, store it back. */
extern void native_exec(struct regs *r, const void *code);
__asm__(".text\n.globl native_exec\nnative_exec:\n"
	"push %rbx\n push %rbp\n push %r12\n push %r13\n push %r14\n push %r15\n"
	"mov %rdi, %r15\n mov %rsi, %r14\n"
	"mov 0(%r15), %rax\n mov 8(%r15), %rbx\n mov 16(%r15), %rcx\n mov 24(%r15), %rdx\n"
	"mov 32(%r15), %rsi\n mov 40(%r15), %rdi\n push 48(%r15)\n popfq\n"
	"call *%r14\n"
	"pushfq\n pop 48(%r15)\n"
	"mov %rax, 0(%r15)\n mov %rbx, 8(%r15)\n mov %rcx, 16(%r15)\n mov %rdx, 24(%r15)\n"
	"mov %rsi, 32(%r15)\n mov %rdi, 40(%r15)\n"
	"pop %r15\n pop %r14\n pop %r13\n pop %r12\n pop %rbp\n pop %rbx\n ret\n");

/* Each instruction as its own blob, with the flags it defines (for
 * shifts and rotates by CL, only for counts > 1 ... handled by `shift`). */
#define INSN(name, text) GUEST_CODE(name, text "\n")
INSN(i_add, "add %rbx, %rax");
INSN(i_adc, "adc %ebx, %eax");
INSN(i_sub8, "sub %bl, %al");
INSN(i_sbb16, "sbb %bx, %ax");
INSN(i_and, "and %rbx, %rax");
INSN(i_or8, "or %bh, %al");
INSN(i_xor, "xor %ebx, %eax");
INSN(i_cmp, "cmp %rbx, %rax");
INSN(i_test, "test %bl, %al");
INSN(i_inc, "inc %eax");
INSN(i_dec8, "dec %al");
INSN(i_neg, "neg %rax");
INSN(i_not16, "not %ax");
INSN(i_adci, "adc $0x7f, %ax");
INSN(i_subi, "sub $-5, %rax");
INSN(i_shl, "shl %cl, %rax");
INSN(i_shr, "shr %cl, %eax");
INSN(i_sar16, "sar %cl, %ax");
INSN(i_sar8, "sar %cl, %al");
INSN(i_shl8, "shl %cl, %bl");
INSN(i_rol, "rol %cl, %rax");
INSN(i_ror8, "ror %cl, %al");
INSN(i_rcl, "rcl %cl, %eax");
INSN(i_rcr16, "rcr %cl, %bx");
INSN(i_rcr8, "rcr %cl, %al");
INSN(i_shl1, "shl $1, %rax");
INSN(i_sar1, "sar $1, %eax");
INSN(i_rcr1, "rcr $1, %rax");
INSN(i_rol1, "rol $1, %ax");
INSN(i_shld, "shld %cl, %rbx, %rax");
INSN(i_shrd, "shrd %cl, %ebx, %eax");
INSN(i_shrd16, "shrd %cl, %bx, %ax");
INSN(i_mul, "mul %rbx");
INSN(i_mul32, "mul %ebx");
INSN(i_mul8, "mul %bl");
INSN(i_imul1, "imul %rbx");
INSN(i_imul8, "imul %bl");
INSN(i_imul2, "imul %rbx, %rax");
INSN(i_imul3, "imul $-7, %eax, %ecx");
INSN(i_imul16, "imul %bx, %ax");
INSN(i_bsf, "bsf %rbx, %rax");
INSN(i_bsr, "bsr %ebx, %eax");
INSN(i_bt, "bt %rbx, %rax");
INSN(i_bts, "bts %ecx, %eax");
INSN(i_btr, "btr $5, %rax");
INSN(i_btc, "btc %cx, %ax");
INSN(i_cmov, "cmovle %rbx, %rax");
INSN(i_cmov32, "cmova %ebx, %eax");
INSN(i_set, "setg %al");
INSN(i_setp, "setnp %bl");
INSN(i_xadd, "xadd %rbx, %rax");
INSN(i_cmpxchg, "cmpxchg %ebx, %ecx");
INSN(i_bswap, "bswap %rax");
INSN(i_movsx, "movsbl %bl, %eax");
INSN(i_movzx, "movzwq %bx, %rax");
INSN(i_cqo, "cqo");
INSN(i_cwde, "cwtl");
INSN(i_lea, "lea 0x12(%rax,%rbx,4), %ecx");
INSN(i_xchg8, "xchg %al, %bh");
INSN(i_sahf, "sahf");
INSN(i_lahf, "lahf");
INSN(i_cmc, "cmc");
INSN(i_div, "div %rbx");
INSN(i_div32, "div %ebx");
INSN(i_div8, "div %bl");
INSN(i_idiv, "idiv %rbx");
INSN(i_shl16, "shl %cl, %ax");
INSN(i_rol16, "rol %cl, %bx");
INSN(i_rcl8, "rcl %cl, %al");
INSN(i_sar64, "sar %cl, %rax");
INSN(i_shr8, "shr %cl, %bl");
INSN(i_ror32, "ror %cl, %eax");
INSN(i_rcl64, "rcl %cl, %rax");
INSN(i_rcr32, "rcr %cl, %eax");
INSN(i_shld16, "shld %cl, %bx, %ax");
INSN(i_shld32, "shld $7, %ebx, %eax");
INSN(i_shrd64i, "shrd $1, %rbx, %rax");
INSN(i_adc8, "adc %bl, %al");
INSN(i_sbb64, "sbb %rbx, %rax");
INSN(i_sbb32i, "sbb $0x12345, %eax");
INSN(i_neg8, "neg %bl");
INSN(i_inc16, "inc %bx");
INSN(i_dec64, "dec %rax");
INSN(i_imul32, "imul %ebx");
INSN(i_mul16, "mul %bx");
INSN(i_div16, "div %bx");
INSN(i_bsf16, "bsf %bx, %ax");
INSN(i_bsr64, "bsr %rbx, %rax");
INSN(i_bts64, "bts %rbx, %rax");
INSN(i_xadd8, "xadd %bl, %al");
INSN(i_cmpxchg64, "cmpxchg %rbx, %rcx");
INSN(i_cmpxchg8, "cmpxchg %bl, %cl");
INSN(i_cbw, "cbtw");
INSN(i_cwd, "cwtd");
INSN(i_cdq, "cltd");
INSN(i_cltq, "cltq");
INSN(i_movsbw, "movsbw %bl, %ax");
INSN(i_movswq, "movswq %bx, %rax");
INSN(i_movslq, "movslq %ebx, %rax");
INSN(i_and8i, "and $0x81, %al");
INSN(i_or16i, "or $-2, %bx");
INSN(i_test32i, "test $0x80000001, %eax");
INSN(i_cmp8i, "cmp $0x80, %al");
INSN(i_add16i, "add $0x1234, %ax");
INSN(i_xchg64, "xchg %rbx, %rax");
INSN(i_setb, "setb %cl");
INSN(i_setbe, "setbe %dl");
INSN(i_setl, "setl %sil");
INSN(i_seto, "seto %dil");
INSN(i_sets, "sets %bh");
INSN(i_cmovns, "cmovns %bx, %ax");
INSN(i_cmovo, "cmovo %rbx, %rax");
INSN(i_cmovp, "cmovp %ebx, %eax");
INSN(i_bswap32, "bswap %ebx");
INSN(i_not8, "not %bh");
INSN(i_stc, "stc");
INSN(i_clc, "clc");
INSN(i_bti, "bt $37, %rax");
INSN(i_btsi, "bts $5, %ebx");
INSN(i_btri16, "btr $19, %bx");
INSN(i_btci, "btc $63, %rax");
INSN(i_imul64i, "imul $0x12345, %rbx, %rax");

enum kind { PLAIN, SHIFT, DIVIDE, IDIVIDE };

struct diff_case {
	const char *name;
	const uint8_t *start, *end;
	uint64_t flags; /* defined flags to compare */
	enum kind kind;
	unsigned bits; /* operand size, for the shift count rule */
};

#define C(n, f, k, b)                   \
	{                               \
#n, n, n##_end, f, k, b \
	}
static const struct diff_case insns[] = {
	C(i_add, ALL_FLAGS, PLAIN, 64),
	C(i_adc, ALL_FLAGS, PLAIN, 32),
	C(i_sub8, ALL_FLAGS, PLAIN, 8),
	C(i_sbb16, ALL_FLAGS, PLAIN, 16),
	C(i_and, ALL_FLAGS & ~AF, PLAIN, 64),
	C(i_or8, ALL_FLAGS & ~AF, PLAIN, 8),
	C(i_xor, ALL_FLAGS & ~AF, PLAIN, 32),
	C(i_cmp, ALL_FLAGS, PLAIN, 64),
	C(i_test, ALL_FLAGS & ~AF, PLAIN, 8),
	C(i_inc, ALL_FLAGS, PLAIN, 32),
	C(i_dec8, ALL_FLAGS, PLAIN, 8),
	C(i_neg, ALL_FLAGS, PLAIN, 64),
	C(i_not16, ALL_FLAGS, PLAIN, 16),
	C(i_adci, ALL_FLAGS, PLAIN, 16),
	C(i_subi, ALL_FLAGS, PLAIN, 64),
	C(i_shl, ALL_FLAGS & ~AF, SHIFT, 64),
	C(i_shr, ALL_FLAGS & ~AF, SHIFT, 32),
	C(i_sar16, ALL_FLAGS & ~AF, SHIFT, 16),
	C(i_sar8, ALL_FLAGS & ~AF, SHIFT, 8),
	C(i_shl8, ALL_FLAGS & ~AF, SHIFT, 8),
	C(i_rol, CF | OF, SHIFT, 64),
	C(i_ror8, CF | OF, SHIFT, 8),
	C(i_rcl, CF | OF, SHIFT, 32),
	C(i_rcr16, CF | OF, SHIFT, 16),
	C(i_rcr8, CF | OF, SHIFT, 8),
	C(i_shl1, ALL_FLAGS & ~AF, PLAIN, 64),
	C(i_sar1, ALL_FLAGS & ~AF, PLAIN, 32),
	C(i_rcr1, CF | OF, PLAIN, 64),
	C(i_rol1, CF | OF, PLAIN, 16),
	C(i_shld, ALL_FLAGS & ~AF, SHIFT, 64),
	C(i_shrd, ALL_FLAGS & ~AF, SHIFT, 32),
	C(i_shrd16, ALL_FLAGS & ~AF, SHIFT, 16),
	C(i_mul, CF | OF, PLAIN, 64),
	C(i_mul32, CF | OF, PLAIN, 32),
	C(i_mul8, CF | OF, PLAIN, 8),
	C(i_imul1, CF | OF, PLAIN, 64),
	C(i_imul8, CF | OF, PLAIN, 8),
	C(i_imul2, CF | OF, PLAIN, 64),
	C(i_imul3, CF | OF, PLAIN, 32),
	C(i_imul16, CF | OF, PLAIN, 16),
	C(i_bsf, ZF, PLAIN, 64),
	C(i_bsr, ZF, PLAIN, 32),
	C(i_bt, CF, PLAIN, 64),
	C(i_bts, CF, PLAIN, 32),
	C(i_btr, CF, PLAIN, 64),
	C(i_btc, CF, PLAIN, 16),
	C(i_cmov, ALL_FLAGS, PLAIN, 64),
	C(i_cmov32, ALL_FLAGS, PLAIN, 32),
	C(i_set, ALL_FLAGS, PLAIN, 8),
	C(i_setp, ALL_FLAGS, PLAIN, 8),
	C(i_xadd, ALL_FLAGS, PLAIN, 64),
	C(i_cmpxchg, ALL_FLAGS, PLAIN, 32),
	C(i_bswap, ALL_FLAGS, PLAIN, 64),
	C(i_movsx, ALL_FLAGS, PLAIN, 32),
	C(i_movzx, ALL_FLAGS, PLAIN, 64),
	C(i_cqo, ALL_FLAGS, PLAIN, 64),
	C(i_cwde, ALL_FLAGS, PLAIN, 32),
	C(i_lea, ALL_FLAGS, PLAIN, 32),
	C(i_xchg8, ALL_FLAGS, PLAIN, 8),
	C(i_sahf, ALL_FLAGS, PLAIN, 8),
	C(i_lahf, ALL_FLAGS, PLAIN, 8),
	C(i_cmc, ALL_FLAGS, PLAIN, 8),
	C(i_div, 0, DIVIDE, 64),
	C(i_div32, 0, DIVIDE, 32),
	C(i_div8, 0, DIVIDE, 8),
	C(i_idiv, 0, IDIVIDE, 64),
	C(i_shl16, ALL_FLAGS & ~AF, SHIFT, 16),
	C(i_rol16, CF | OF, SHIFT, 16),
	C(i_rcl8, CF | OF, SHIFT, 8),
	C(i_sar64, ALL_FLAGS & ~AF, SHIFT, 64),
	C(i_shr8, ALL_FLAGS & ~AF, SHIFT, 8),
	C(i_ror32, CF | OF, SHIFT, 32),
	C(i_rcl64, CF | OF, SHIFT, 64),
	C(i_rcr32, CF | OF, SHIFT, 32),
	C(i_shld16, ALL_FLAGS & ~AF, SHIFT, 16),
	C(i_shld32, ALL_FLAGS & ~AF & ~OF, PLAIN, 32),
	C(i_shrd64i, ALL_FLAGS & ~AF, PLAIN, 64),
	C(i_adc8, ALL_FLAGS, PLAIN, 8),
	C(i_sbb64, ALL_FLAGS, PLAIN, 64),
	C(i_sbb32i, ALL_FLAGS, PLAIN, 32),
	C(i_neg8, ALL_FLAGS, PLAIN, 8),
	C(i_inc16, ALL_FLAGS, PLAIN, 16),
	C(i_dec64, ALL_FLAGS, PLAIN, 64),
	C(i_imul32, CF | OF, PLAIN, 32),
	C(i_mul16, CF | OF, PLAIN, 16),
	C(i_div16, 0, DIVIDE, 16),
	C(i_bsf16, ZF, PLAIN, 16),
	C(i_bsr64, ZF, PLAIN, 64),
	C(i_bts64, CF, PLAIN, 64),
	C(i_xadd8, ALL_FLAGS, PLAIN, 8),
	C(i_cmpxchg64, ALL_FLAGS, PLAIN, 64),
	C(i_cmpxchg8, ALL_FLAGS, PLAIN, 8),
	C(i_cbw, ALL_FLAGS, PLAIN, 16),
	C(i_cwd, ALL_FLAGS, PLAIN, 16),
	C(i_cdq, ALL_FLAGS, PLAIN, 32),
	C(i_cltq, ALL_FLAGS, PLAIN, 64),
	C(i_movsbw, ALL_FLAGS, PLAIN, 16),
	C(i_movswq, ALL_FLAGS, PLAIN, 64),
	C(i_movslq, ALL_FLAGS, PLAIN, 64),
	C(i_and8i, ALL_FLAGS & ~AF, PLAIN, 8),
	C(i_or16i, ALL_FLAGS & ~AF, PLAIN, 16),
	C(i_test32i, ALL_FLAGS & ~AF, PLAIN, 32),
	C(i_cmp8i, ALL_FLAGS, PLAIN, 8),
	C(i_add16i, ALL_FLAGS, PLAIN, 16),
	C(i_xchg64, ALL_FLAGS, PLAIN, 64),
	C(i_setb, ALL_FLAGS, PLAIN, 8),
	C(i_setbe, ALL_FLAGS, PLAIN, 8),
	C(i_setl, ALL_FLAGS, PLAIN, 8),
	C(i_seto, ALL_FLAGS, PLAIN, 8),
	C(i_sets, ALL_FLAGS, PLAIN, 8),
	C(i_cmovns, ALL_FLAGS, PLAIN, 16),
	C(i_cmovo, ALL_FLAGS, PLAIN, 64),
	C(i_cmovp, ALL_FLAGS, PLAIN, 32),
	C(i_bswap32, ALL_FLAGS, PLAIN, 32),
	C(i_not8, ALL_FLAGS, PLAIN, 8),
	C(i_stc, ALL_FLAGS, PLAIN, 8),
	C(i_clc, ALL_FLAGS, PLAIN, 8),
	C(i_bti, CF, PLAIN, 64),
	C(i_btsi, CF, PLAIN, 32),
	C(i_btri16, CF, PLAIN, 16),
	C(i_btci, CF, PLAIN, 64),
	C(i_imul64i, CF | OF, PLAIN, 64),
};

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static uint64_t operand(void)
{
	static const uint64_t edges[] = { 0,
					  1,
					  ~0ull,
					  0x80,
					  0x7f,
					  0x8000,
					  0x7fff,
					  0x80000000,
					  0x7fffffff,
					  0x8000000000000000ull,
					  0x7fffffffffffffffull,
					  0xff,
					  0xffff,
					  0xffffffff };
	uint64_t r = rnd();
	switch (r & 3) {
	case 0:
		return edges[(r >> 8) % (sizeof(edges) / sizeof(edges[0]))];
	case 1:
		return (r >> 8) & 0xff;
	default:
		return rnd();
	}
}

static void prepare(const struct diff_case *dc, struct regs *r)
{
	r->rax = operand();
	r->rbx = operand();
	r->rcx = operand();
	r->rdx = operand();
	r->rsi = operand();
	r->rdi = operand();
	r->flags = (rnd() & ALL_FLAGS) | 2;
	if (dc->kind == SHIFT && (rnd() & 1))
		r->rcx = (r->rcx & ~0xffull) | (rnd() % 4); /* many small counts */
	if (dc->kind == DIVIDE) {
		uint64_t m = dc->bits == 64 ? ~0ull : (1ull << dc->bits) - 1;
		if ((r->rbx & m) == 0)
			r->rbx |= 1;
		if (dc->bits == 8)
			r->rax = (r->rax & ~0xffffull) |
				 ((r->rax & 0xff) | ((r->rax >> 8) % (r->rbx & 0xff)) << 8);
		else
			r->rdx = (r->rdx & ~m) | ((r->rdx & m) % (r->rbx & m));
	}
	if (dc->kind == IDIVIDE) {
		r->rdx = (int64_t)r->rax < 0 ? ~0ull : 0;
		if (r->rbx == 0 || r->rbx == ~0ull)
			r->rbx = 3;
	}
}

/* Flags defined for a shift or rotate by CL: none for a zero count, OF only
 * for a count of 1. */
static uint64_t shift_flags(const struct diff_case *dc, const struct regs *r)
{
	unsigned count = (unsigned)(r->rcx & (dc->bits == 64 ? 63 : 31));
	if (count == 0)
		return ALL_FLAGS;
	if (dc->bits == 16 && count > 16 && (dc->start == i_shrd16 || dc->start == i_shld16))
		return 0; /* undefined result too */
	if (count != 1)
		return dc->flags & ~OF;
	return dc->flags;
}

static void *exec_page;

TEST(instructions_match_the_host)
{
	struct emu_t t;
	struct vs_error err;
	unsigned mismatches = 0;
	if (emu_t_init(&t) < 0)
		SKIP("no guest");
	emu_t_long64(&t);
	exec_page = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (exec_page == MAP_FAILED)
		SKIP("no executable memory for native runs");
	for (size_t k = 0; k < sizeof(insns) / sizeof(insns[0]); k++) {
		const struct diff_case *dc = &insns[k];
		size_t len = (size_t)(dc->end - dc->start);
		uint8_t stop[2] = { 0xe6, STOP_PORT };
		memcpy(exec_page, dc->start, len);
		((uint8_t *)exec_page)[len] = 0xc3;
		vs_gpa_write(&t.mem, CODE, dc->start, len);
		vs_gpa_write(&t.mem, CODE + len, stop, 2);
		for (int i = 0; i < CASES; i++) {
			struct regs in, nat, emu;
			uint64_t mask;
			prepare(dc, &in);
			nat = in;
			native_exec(&nat, exec_page);
			t.st.rax = in.rax, t.st.rbx = in.rbx, t.st.rcx = in.rcx;
			t.st.rdx = in.rdx, t.st.rsi = in.rsi, t.st.rdi = in.rdi;
			t.st.rflags = in.flags;
			t.st.rip = CODE;
			vs_accel_emu_ops.vcpu_set_state(t.vcpu, &t.st, &err);
			emu_t_resume(&t);
			emu = (struct regs){ t.st.rax, t.st.rbx, t.st.rcx,   t.st.rdx,
					     t.st.rsi, t.st.rdi, t.st.rflags };
			mask = dc->kind == SHIFT ? shift_flags(dc, &in) : dc->flags;
			if (dc->kind == SHIFT && mask == 0)
				continue;
			if (memcmp(&nat, &emu, 6 * 8) != 0 || ((nat.flags ^ emu.flags) & mask)) {
				if (mismatches++ < 12)
					printf("#   %s: in rax=%llx rbx=%llx rcx=%llx rdx=%llx fl=%llx -> "
					       "host rax=%llx "
					       "rbx=%llx rcx=%llx rdx=%llx fl=%llx, emu rax=%llx rbx=%llx "
					       "rcx=%llx "
					       "rdx=%llx fl=%llx\n",
					       dc->name, (unsigned long long)in.rax,
					       (unsigned long long)in.rbx, (unsigned long long)in.rcx,
					       (unsigned long long)in.rdx, (unsigned long long)in.flags,
					       (unsigned long long)nat.rax, (unsigned long long)nat.rbx,
					       (unsigned long long)nat.rcx, (unsigned long long)nat.rdx,
					       (unsigned long long)(nat.flags & mask),
					       (unsigned long long)emu.rax, (unsigned long long)emu.rbx,
					       (unsigned long long)emu.rcx, (unsigned long long)emu.rdx,
					       (unsigned long long)(emu.flags & mask));
			}
		}
	}
	CHECK_EQ_U64(mismatches, 0);
	munmap(exec_page, 4096);
	emu_t_fini(&t);
}

VS_TAP_MAIN(TAP_CASE(instructions_match_the_host))

/* The host's x87 unit as the guest's arithmetic: each operation loads its
 * operands as 80-bit values under the guest's control word (precision,
 * rounding and exception masks) and returns the host status word, so
 * results, C1 rounding indications and exception flags are hardware's,
 * unmasked exceptions included (overflow and underflow then deliver the
 * exponent-adjusted result). The host x87 reports an unmasked exception
 * only at the next waiting instruction: every snippet reads the status
 * with FNSTSW and clears it with FNCLEX (neither waits) before anything
 * that waits, so the host never sees #MF. */
#include "accel/emu/fpu_internal.h"

/* Every snippet saves the host control word, clears the host's flags
 * before loading the guest's control word (so nothing becomes pending),
 * and leaves the host's x87 as the ABI wants it: FNINIT (empty stack, no
 * flags) and the host's control word. */
#define HOST_BEGIN "fnstcw %[save]\n\tfnclex\n\tfldcw %[cw]\n\t"
#define HOST_END "fninit\n\tfldcw %[save]\n\t"

/* Two operands in, st0 out, st1 dropped. */
#define BIN_KEEP(insn)                                                                 \
	__asm__ __volatile__(HOST_BEGIN "fldt %[b]\n\tfldt %[a]\n\t" insn              \
					"\n\tfnstsw %[sw]\n\tfnclex\n\tfstpt %[r]\n\t" \
					"fstp %%st(0)\n\t" HOST_END                    \
			     : [r] "=m"(*r), [sw] "=m"(sw), [save] "=m"(save)          \
			     : [a] "m"(*a), [b] "m"(*b), [cw] "m"(cw))

/* Two operands in, the instruction pops once, one result left. */
#define BIN_POP(insn)                                                                           \
	__asm__ __volatile__(HOST_BEGIN "fldt %[b]\n\tfldt %[a]\n\t" insn                       \
					"\n\tfnstsw %[sw]\n\tfnclex\n\tfstpt %[r]\n\t" HOST_END \
			     : [r] "=m"(*r), [sw] "=m"(sw), [save] "=m"(save)                   \
			     : [a] "m"(*a), [b] "m"(*b), [cw] "m"(cw))

/* After an unmasked invalid, denormal or divide-by-zero the outputs are
 * not used (the guest's destination stays as it was). */
uint16_t vs_fpu_host_x87_bin(enum vs_fpu_x87_binop op, uint16_t fcw, const struct vs_f80 *a,
			     const struct vs_f80 *b, struct vs_f80 *r)
{
	uint16_t cw = fcw, save, sw = 0;

	/* With %st as destination AT&T and Intel agree on the operand order:
	 * "fsub %st(1), %st" is st0 = st0 - st1. */
	switch (op) {
	case X87_ADD:
		BIN_KEEP("fadd %%st(1), %%st");
		break;
	case X87_MUL:
		BIN_KEEP("fmul %%st(1), %%st");
		break;
	case X87_SUB:
		BIN_KEEP("fsub %%st(1), %%st");
		break;
	case X87_SUBR:
		BIN_KEEP("fsubr %%st(1), %%st");
		break;
	case X87_DIV:
		BIN_KEEP("fdiv %%st(1), %%st");
		break;
	case X87_DIVR:
		BIN_KEEP("fdivr %%st(1), %%st");
		break;
	case X87_PREM:
		BIN_KEEP("fprem");
		break;
	case X87_PREM1:
		BIN_KEEP("fprem1");
		break;
	case X87_SCALE:
		BIN_KEEP("fscale");
		break;
	case X87_PATAN:
		BIN_POP("fpatan");
		break;
	case X87_YL2X:
		BIN_POP("fyl2x");
		break;
	case X87_YL2XP1:
		BIN_POP("fyl2xp1");
		break;
	}
	return sw;
}

#define UN1(insn)                                                                                \
	__asm__ __volatile__(HOST_BEGIN "fldt %[a]\n\t" insn                                     \
					"\n\tfnstsw %[sw]\n\tfnclex\n\tfstpt %[r0]\n\t" HOST_END \
			     : [r0] "=m"(*r0), [sw] "=m"(sw), [save] "=m"(save)                  \
			     : [a] "m"(*a), [cw] "m"(cw))
/* Two results; when the instruction did not push (C2: operand out of
 * range) the second store underflows harmlessly and r1 is ignored. */
#define UN2(insn)                                                                                    \
	__asm__ __volatile__(HOST_BEGIN                                                              \
			     "fldt %[a]\n\t" insn                                                    \
			     "\n\tfnstsw %[sw]\n\tfnclex\n\tfstpt %[r0]\n\tfstpt %[r1]\n\t" HOST_END \
			     : [r0] "=m"(*r0), [r1] "=m"(*r1), [sw] "=m"(sw), [save] "=m"(save)      \
			     : [a] "m"(*a), [cw] "m"(cw))
#define CONST(insn)                                                                                   \
	__asm__ __volatile__(HOST_BEGIN insn "\n\tfnstsw %[sw]\n\tfnclex\n\tfstpt %[r0]\n\t" HOST_END \
			     : [r0] "=m"(*r0), [sw] "=m"(sw), [save] "=m"(save)                       \
			     : [cw] "m"(cw))

uint16_t vs_fpu_host_x87_un(enum vs_fpu_x87_unop op, uint16_t fcw, const struct vs_f80 *a, struct vs_f80 *r0,
			    struct vs_f80 *r1)
{
	uint16_t cw = fcw, save, sw = 0;

	switch (op) {
	case X87_SQRT:
		UN1("fsqrt");
		break;
	case X87_RNDINT:
		UN1("frndint");
		break;
	case X87_F2XM1:
		UN1("f2xm1");
		break;
	case X87_SIN:
		UN1("fsin");
		break;
	case X87_COS:
		UN1("fcos");
		break;
	case X87_PTAN:
		UN2("fptan");
		break;
	case X87_SINCOS:
		UN2("fsincos");
		break;
	case X87_XTRACT:
		UN2("fxtract");
		break;
	case X87_LD1:
		CONST("fld1");
		break;
	case X87_LDL2T:
		CONST("fldl2t");
		break;
	case X87_LDL2E:
		CONST("fldl2e");
		break;
	case X87_LDPI:
		CONST("fldpi");
		break;
	case X87_LDLG2:
		CONST("fldlg2");
		break;
	case X87_LDLN2:
		CONST("fldln2");
		break;
	case X87_LDZ:
		CONST("fldz");
		break;
	}
	return sw;
}

uint16_t vs_fpu_host_x87_cmp(bool unordered, const struct vs_f80 *a, const struct vs_f80 *b)
{
	uint16_t cw = 0x37f, save, sw;

	if (unordered)
		__asm__ __volatile__(HOST_BEGIN "fldt %[b]\n\tfldt %[a]\n\tfucom %%st(1)\n\tfnstsw %[sw]\n\t"
						"fstp %%st(0)\n\tfstp %%st(0)\n\t" HOST_END
				     : [sw] "=m"(sw), [save] "=m"(save)
				     : [a] "m"(*a), [b] "m"(*b), [cw] "m"(cw));
	else
		__asm__ __volatile__(HOST_BEGIN "fldt %[b]\n\tfldt %[a]\n\tfcom %%st(1)\n\tfnstsw %[sw]\n\t"
						"fstp %%st(0)\n\tfstp %%st(0)\n\t" HOST_END
				     : [sw] "=m"(sw), [save] "=m"(save)
				     : [a] "m"(*a), [b] "m"(*b), [cw] "m"(cw));
	return sw;
}

#define LOAD(insn)                                                                                        \
	__asm__ __volatile__(HOST_BEGIN insn " %[m]\n\tfnstsw %[sw]\n\tfnclex\n\tfstpt %[r]\n\t" HOST_END \
			     : [r] "=m"(*r), [sw] "=m"(sw), [save] "=m"(save)                             \
			     : [m] "m"(*(const uint8_t(*)[10])mem), [cw] "m"(cw))

uint16_t vs_fpu_host_x87_load(enum vs_fpu_x87_fmt fmt, uint16_t fcw, const void *mem, struct vs_f80 *r)
{
	uint16_t cw = fcw, save, sw = 0;

	switch (fmt) {
	case X87_M32:
		LOAD("flds");
		break;
	case X87_M64:
		LOAD("fldl");
		break;
	case X87_I16:
	case X87_TI16:
		LOAD("filds");
		break;
	case X87_I32:
	case X87_TI32:
		LOAD("fildl");
		break;
	case X87_I64:
	case X87_TI64:
		LOAD("fildll");
		break;
	case X87_BCD:
		LOAD("fbld");
		break;
	}
	return sw;
}

#define STORE(insn)                                                                               \
	__asm__ __volatile__(HOST_BEGIN "fldt %[a]\n\t" insn " %[m]\n\tfnstsw %[sw]\n\t" HOST_END \
			     : [m] "+m"(*(uint8_t(*)[10])mem), [sw] "=m"(sw), [save] "=m"(save)   \
			     : [a] "m"(*a), [cw] "m"(cw))

uint16_t vs_fpu_host_x87_store(enum vs_fpu_x87_fmt fmt, uint16_t fcw, const struct vs_f80 *a, void *mem)
{
	uint16_t cw = fcw, save, sw = 0;

	switch (fmt) {
	case X87_M32:
		STORE("fstps");
		break;
	case X87_M64:
		STORE("fstpl");
		break;
	case X87_I16:
		STORE("fistps");
		break;
	case X87_I32:
		STORE("fistpl");
		break;
	case X87_I64:
		STORE("fistpll");
		break;
	case X87_BCD:
		STORE("fbstp");
		break;
	case X87_TI16:
		STORE("fisttps");
		break;
	case X87_TI32:
		STORE("fisttpl");
		break;
	case X87_TI64:
		STORE("fisttpll");
		break;
	}
	return sw;
}

/* st(0) op memory, with the memory operand as the instruction reads it
 * (so denormal, NaN propagation and conversion flags are hardware's). */
#define MEMOP(insn)                                                                                  \
	__asm__ __volatile__(HOST_BEGIN "fldt %[a]\n\t" insn                                         \
					" %[m]\n\tfnstsw %[sw]\n\tfnclex\n\tfstpt %[r]\n\t" HOST_END \
			     : [r] "=m"(*r), [sw] "=m"(sw), [save] "=m"(save)                        \
			     : [a] "m"(*a), [m] "m"(*(const uint8_t(*)[8])mem), [cw] "m"(cw))
#define MEMCMP(insn)                                                                         \
	__asm__ __volatile__(HOST_BEGIN "fldt %[a]\n\t" insn                                 \
					" %[m]\n\tfnstsw %[sw]\n\tfstp %%st(0)\n\t" HOST_END \
			     : [sw] "=m"(sw), [save] "=m"(save)                              \
			     : [a] "m"(*a), [m] "m"(*(const uint8_t(*)[8])mem), [cw] "m"(cw))
#define MEMFMTS(m32, m64, i16, i32) \
	switch (fmt) {              \
	case X87_M32:               \
		m32;                \
		break;              \
	case X87_M64:               \
		m64;                \
		break;              \
	case X87_I16:               \
		i16;                \
		break;              \
	default:                    \
		i32;                \
		break;              \
	}

uint16_t vs_fpu_host_x87_mem(int op, enum vs_fpu_x87_fmt fmt, uint16_t fcw, const struct vs_f80 *a,
			     const void *mem, struct vs_f80 *r)
{
	uint16_t cw = op < 0 ? fcw | 0x3f : fcw, save, sw = 0;

	switch (op) {
	case X87_ADD:
		MEMFMTS(MEMOP("fadds"), MEMOP("faddl"), MEMOP("fiadds"), MEMOP("fiaddl"));
		break;
	case X87_MUL:
		MEMFMTS(MEMOP("fmuls"), MEMOP("fmull"), MEMOP("fimuls"), MEMOP("fimull"));
		break;
	case X87_SUB:
		MEMFMTS(MEMOP("fsubs"), MEMOP("fsubl"), MEMOP("fisubs"), MEMOP("fisubl"));
		break;
	case X87_SUBR:
		MEMFMTS(MEMOP("fsubrs"), MEMOP("fsubrl"), MEMOP("fisubrs"), MEMOP("fisubrl"));
		break;
	case X87_DIV:
		MEMFMTS(MEMOP("fdivs"), MEMOP("fdivl"), MEMOP("fidivs"), MEMOP("fidivl"));
		break;
	case X87_DIVR:
		MEMFMTS(MEMOP("fdivrs"), MEMOP("fdivrl"), MEMOP("fidivrs"), MEMOP("fidivrl"));
		break;
	default: /* compare: only the status word */
		MEMFMTS(MEMCMP("fcoms"), MEMCMP("fcoml"), MEMCMP("ficoms"), MEMCMP("ficoml"));
		break;
	}
	return sw;
}

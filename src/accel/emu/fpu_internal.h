/* Internals of the emulator's floating-point and vector unit (fpu_*.c).
 *
 * Arithmetic runs on the host's own x87 and SSE units (the host is x86-64),
 * so rounding, precision control, denormals, DAZ/FTZ, NaN propagation and
 * the exception flags are those of real hardware, bit for bit:
 *   - x87: each operation runs under the guest's control word, masks
 *     included (the host reports an x87 exception only at its next waiting
 *     instruction, and the snippets clear it first: fpu_x87_host.c);
 *   - SSE: each operation runs under the guest's MXCSR with every exception
 *     masked (a SIMD exception would trap at once); when the guest unmasks
 *     some, the per-lane differences of the unmasked case are put back
 *     (fpu_sse_int.c, unmasked_flags()).
 * The unit then decides what an unmasked exception means for the guest:
 * #MF at the next waiting x87 instruction, #XM at once. */
#ifndef VESSEL_ACCEL_EMU_FPU_INTERNAL_H
#define VESSEL_ACCEL_EMU_FPU_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "accel/emu/fpu.h"

#if !defined(__x86_64__)
#error "the emulator's FPU unit executes on the host's x87/SSE units: x86-64 hosts only"
#endif

/* One instruction in flight. */
struct vs_fpu_ctx {
	struct vs_emu_fpu *fpu;
	const struct vs_emu_fpu_insn *insn;
	const struct vs_emu_fpu_env *env;
};

/* An 80-bit extended value in the layout fldt/fstpt use (mantissa first). */
struct vs_f80 {
	uint64_t mant;
	uint16_t se;
};

/* FSW bits. */
#define FSW_IE 0x0001
#define FSW_DE 0x0002
#define FSW_ZE 0x0004
#define FSW_OE 0x0008
#define FSW_UE 0x0010
#define FSW_PE 0x0020
#define FSW_SF 0x0040
#define FSW_ES 0x0080
#define FSW_C0 0x0100
#define FSW_C1 0x0200
#define FSW_C2 0x0400
#define FSW_C3 0x4000
#define FSW_B 0x8000
#define FSW_CC (FSW_C0 | FSW_C1 | FSW_C2 | FSW_C3)
#define FSW_XF 0x003f /* the six exception flags */

#define MXCSR_FLAGS 0x003f
#define MXCSR_MASKS 0x1f80
#define MXCSR_DAZ 0x0040
/* Writable MXCSR bits: everything in the low 16 (DAZ is advertised). */
#define VS_FPU_MXCSR_MASK 0x0000ffffu

/* RFLAGS bits the compares touch. */
#define RF_CF 0x0001ull
#define RF_PF 0x0004ull
#define RF_AF 0x0010ull
#define RF_ZF 0x0040ull
#define RF_SF 0x0080ull
#define RF_OF 0x0800ull

/* Memory through the core's callbacks; both return 0 or -1 (fault queued). */
int vs_fpu_read(struct vs_fpu_ctx *c, uint64_t la, void *buf, unsigned len);
int vs_fpu_write(struct vs_fpu_ctx *c, uint64_t la, const void *buf, unsigned len);

/* MMX: an MMX instruction makes TOP 0 and tags every register valid;
 * writing mm[i] sets R[i]'s exponent to all ones. */
void vs_fpu_mmx_enter(struct vs_emu_fpu *fpu);
uint64_t vs_fpu_mm_get(const struct vs_emu_fpu *fpu, unsigned i);
void vs_fpu_mm_set(struct vs_emu_fpu *fpu, unsigned i, uint64_t v);

/* x87 tag of a register's content: 0 valid, 1 zero, 2 special. */
unsigned vs_fpu_x87_tag_of(const struct vs_f80 *v);

/* Merges host SSE flags into the guest's MXCSR: VS_EMU_FPU_XM when one
 * of them is unmasked (the caller then leaves the destination as it was). */
enum vs_emu_fpu_status vs_fpu_sse_flags(struct vs_emu_fpu *fpu, uint32_t host_flags);
/* Lanes of an operation that can overflow or underflow, for the unmasked
 * case: VS_FPU_UF(result lane bytes, lanes, operation); inputs are
 * 16/lanes wide. The operation (a vs_fpu_x87_binop, or VS_FPU_UF_CVT for
 * a double-to-float conversion) lets the unit recompute precision. */
#define VS_FPU_UF_CVT 15
#define VS_FPU_UF(size, count, op) ((uint16_t)(((op) + 1) << 8 | (size) << 4 | (count)))
/* The MXCSR to run a host operation with: the guest's rounding, DAZ and
 * FTZ, all exceptions masked, no flags. */
static inline uint32_t vs_fpu_host_mxcsr(const struct vs_emu_fpu *fpu)
{
	/* Reserved bits never reach the host's LDMXCSR (#GP there), whatever
	 * the core may have put in the struct. */
	return (fpu->mxcsr & VS_FPU_MXCSR_MASK & ~(uint32_t)MXCSR_FLAGS) | MXCSR_MASKS;
}

/* A host SSE operation on 16-byte images: d = d op s under *mxcsr (the
 * value from vs_fpu_host_mxcsr), flags read back into *mxcsr. */
typedef void (*vs_fpu_xop)(uint8_t *d, const uint8_t *s, uint32_t *mxcsr);
/* A host MMX operation: d = d op s. */
typedef void (*vs_fpu_mop)(uint64_t *d, const uint64_t *s);

/* Generates a vs_fpu_xop running "insn %xmm1, %xmm0" (AT&T order). */
#define VS_FPU_XOP(name, insn)                                                                         \
	static void name(uint8_t *d, const uint8_t *s, uint32_t *mx)                                   \
	{                                                                                              \
		uint32_t save;                                                                         \
		__asm__ __volatile__("stmxcsr %[save]\n\tldmxcsr %[mx]\n\tmovdqu %[d], %%xmm0\n\t"     \
				     "movdqu %[s], %%xmm1\n\t" insn " %%xmm1, %%xmm0\n\t"              \
				     "movdqu %%xmm0, %[d]\n\tstmxcsr %[mx]\n\tldmxcsr %[save]"         \
				     : [d] "+m"(*(uint8_t(*)[16])d), [mx] "+m"(*mx), [save] "=m"(save) \
				     : [s] "m"(*(const uint8_t(*)[16])s)                               \
				     : "xmm0", "xmm1");                                                \
	}
/* The same for an operation MXCSR does not affect (integer, logic,
 * shuffles): no MXCSR switch, which costs more than the operation. */
#define VS_FPU_IOP(name, insn)                                                             \
	static void name(uint8_t *d, const uint8_t *s, uint32_t *mx)                       \
	{                                                                                  \
		(void)mx;                                                                  \
		__asm__ __volatile__("movdqu %[d], %%xmm0\n\tmovdqu %[s], %%xmm1\n\t" insn \
				     " %%xmm1, %%xmm0\n\tmovdqu %%xmm0, %[d]"              \
				     : [d] "+m"(*(uint8_t(*)[16])d)                        \
				     : [s] "m"(*(const uint8_t(*)[16])s)                   \
				     : "xmm0", "xmm1");                                    \
	}
/* Generates a vs_fpu_mop running "insn %mm1, %mm0"; EMMS leaves the
 * host's x87 registers empty again. */
#define VS_FPU_MOP(name, insn)                                                                           \
	static void name(uint64_t *d, const uint64_t *s)                                                 \
	{                                                                                                \
		__asm__ __volatile__("movq %[d], %%mm0\n\tmovq %[s], %%mm1\n\t" insn " %%mm1, %%mm0\n\t" \
				     "movq %%mm0, %[d]\n\temms"                                          \
				     : [d] "+m"(*d)                                                      \
				     : [s] "m"(*s)                                                       \
				     : "mm0", "mm1");                                                    \
	}

/* xmm[reg] = xmm[reg] op src (len bytes of memory, 16 aligned); fp: merge
 * MXCSR flags and leave the destination alone on an unmasked one. */
enum vs_emu_fpu_status vs_fpu_xmm_run(struct vs_fpu_ctx *c, vs_fpu_xop fn, unsigned len, bool fp,
				      uint16_t uf);
/* mm[reg] = mm[reg] op mm/m64, with the MMX transition. */
enum vs_emu_fpu_status vs_fpu_mm_run(struct vs_fpu_ctx *c, vs_fpu_mop fn);

/* Units (each decodes its part of the opcode space). */
enum vs_emu_fpu_status vs_fpu_x87_exec(struct vs_fpu_ctx *c);
enum vs_emu_fpu_status vs_fpu_state_exec(struct vs_fpu_ctx *c); /* 0F AE /0-/3, 0F 77 */
enum vs_emu_fpu_status vs_fpu_sse_exec(struct vs_fpu_ctx *c);	/* the rest of the 0F map */
/* Sub-decoders of vs_fpu_sse_exec: VS_EMU_FPU_UD when not theirs. */
enum vs_emu_fpu_status vs_fpu_sse_move(struct vs_fpu_ctx *c, bool *handled);
enum vs_emu_fpu_status vs_fpu_sse_convert(struct vs_fpu_ctx *c, bool *handled);
enum vs_emu_fpu_status vs_fpu_sse_float(struct vs_fpu_ctx *c, bool *handled);
enum vs_emu_fpu_status vs_fpu_sse_int(struct vs_fpu_ctx *c, bool *handled);

/* Shared operand plumbing of the 0F map (fpu_sse_int.c). */
/* Whether this opcode is an MMX form (no 66/F2/F3) under the MMX rules. */
enum vs_emu_fpu_status vs_fpu_mmx_begin(struct vs_fpu_ctx *c);
/* Reads the r/m source: an xmm register or len bytes of memory (zero
 * padded to 16; 16-byte reads must be aligned unless unaligned is set). */
enum vs_emu_fpu_status vs_fpu_xmm_src(struct vs_fpu_ctx *c, uint8_t out[16], unsigned len, bool unaligned);
/* Same for an mm register or 8 bytes of memory. */
enum vs_emu_fpu_status vs_fpu_mm_src(struct vs_fpu_ctx *c, uint64_t *out);

/* Host x87 operations (fpu_x87_host.c). Each runs with the guest's control
 * word (precision and rounding), exceptions masked, and returns the host
 * status word after the operation (exception flags, C0-C3). */
enum vs_fpu_x87_binop {
	X87_ADD,
	X87_MUL,
	X87_SUB,  /* a - b */
	X87_SUBR, /* b - a */
	X87_DIV,  /* a / b */
	X87_DIVR, /* b / a */
	X87_PREM, /* a = st0, b = st1 */
	X87_PREM1,
	X87_SCALE,
	X87_PATAN,  /* atan(b / a) */
	X87_YL2X,   /* b * log2(a) */
	X87_YL2XP1, /* b * log2(a + 1) */
};
uint16_t vs_fpu_host_x87_bin(enum vs_fpu_x87_binop op, uint16_t fcw, const struct vs_f80 *a,
			     const struct vs_f80 *b, struct vs_f80 *r);

enum vs_fpu_x87_unop {
	X87_SQRT,
	X87_RNDINT,
	X87_F2XM1,
	X87_SIN,
	X87_COS,
	X87_PTAN,   /* r0 = 1.0 (new st0), r1 = tan (new st1), unless C2 */
	X87_SINCOS, /* r0 = cos (new st0), r1 = sin (new st1), unless C2 */
	X87_XTRACT, /* r0 = significand (new st0), r1 = exponent (new st1) */
	X87_LD1,    /* constants: no input */
	X87_LDL2T,
	X87_LDL2E,
	X87_LDPI,
	X87_LDLG2,
	X87_LDLN2,
	X87_LDZ,
};
uint16_t vs_fpu_host_x87_un(enum vs_fpu_x87_unop op, uint16_t fcw, const struct vs_f80 *a, struct vs_f80 *r0,
			    struct vs_f80 *r1);

/* Compare a with b: C0/C2/C3 as FCOM sets them; unordered = FUCOM's rules. */
uint16_t vs_fpu_host_x87_cmp(bool unordered, const struct vs_f80 *a, const struct vs_f80 *b);

enum vs_fpu_x87_fmt {
	X87_M32,
	X87_M64,
	X87_I16,
	X87_I32,
	X87_I64,
	X87_BCD,
	X87_TI16, /* fisttp: truncating stores */
	X87_TI32,
	X87_TI64,
};
uint16_t vs_fpu_host_x87_load(enum vs_fpu_x87_fmt fmt, uint16_t fcw, const void *mem, struct vs_f80 *r);
/* st(0) op m32/m64/m16int/m32int (op a vs_fpu_x87_binop up to X87_DIVR,
 * or -1 for FCOM: then r is untouched); mem is read as the format says. */
uint16_t vs_fpu_host_x87_mem(int op, enum vs_fpu_x87_fmt fmt, uint16_t fcw, const struct vs_f80 *a,
			     const void *mem, struct vs_f80 *r);
uint16_t vs_fpu_host_x87_store(enum vs_fpu_x87_fmt fmt, uint16_t fcw, const struct vs_f80 *a, void *mem);

/* x87 arithmetic part (fpu_x87_arith.c), called by the x87 decoder. */
enum vs_emu_fpu_status vs_fpu_x87_arith(struct vs_fpu_ctx *c, unsigned esc, unsigned modrm);

/* x87 stack helpers (fpu_x87.c). */
unsigned vs_fpu_x87_top(const struct vs_emu_fpu *fpu);
bool vs_fpu_x87_empty(const struct vs_emu_fpu *fpu, unsigned sti);
struct vs_f80 vs_fpu_x87_get(const struct vs_emu_fpu *fpu, unsigned sti);
void vs_fpu_x87_set(struct vs_emu_fpu *fpu, unsigned sti, const struct vs_f80 *v);
void vs_fpu_x87_pop(struct vs_emu_fpu *fpu);
void vs_fpu_x87_push(struct vs_emu_fpu *fpu, const struct vs_f80 *v);
/* Applies a host status word: merges exception flags and returns whether
 * the result may be committed (false: unmasked IE/DE/ZE, nothing written). */
bool vs_fpu_x87_flags(struct vs_emu_fpu *fpu, uint16_t host_sw);
/* Stack underflow (reading an empty register) / overflow (pushing onto a
 * full one): sets IE|SF and C1; returns whether the masked response
 * (write the indefinite QNaN) should be committed. */
bool vs_fpu_x87_stack_fault(struct vs_emu_fpu *fpu, bool overflow);
extern const struct vs_f80 vs_fpu_x87_indefinite;

#endif

/* SSE/SSE2 floating point: arithmetic, min/max, square root, reciprocal
 * estimates, logic, unpacks, CMPccPS/PD/SS/SD and (U)COMISS/SD. Each runs
 * on the host's SSE unit under the guest's MXCSR. */
#include <string.h>

#include "accel/emu/fpu_internal.h"

/* Per mandatory prefix: none (ps), 66 (pd), F3 (ss), F2 (sd). */
#define FP4(X, op, base) X(op, base##ps, base##pd, base##ss, base##sd)
#define FLOAT_OPS(X)      \
	FP4(X, 0x58, add) \
	FP4(X, 0x59, mul) \
	FP4(X, 0x5c, sub) \
	FP4(X, 0x5d, min) \
	FP4(X, 0x5e, div) \
	FP4(X, 0x5f, max) \
	FP4(X, 0x51, sqrt)
#define PACKED_OPS(X)               \
	X(0x14, unpcklps, unpcklpd) \
	X(0x15, unpckhps, unpckhpd) \
	X(0x54, andps, andpd)       \
	X(0x55, andnps, andnpd)     \
	X(0x56, orps, orpd)         \
	X(0x57, xorps, xorpd)

#define GEN4(op, a, b, c, d) \
	VS_FPU_XOP(x_##a, #a) VS_FPU_XOP(x_##b, #b) VS_FPU_XOP(x_##c, #c) VS_FPU_XOP(x_##d, #d)
#define GEN2(op, a, b) VS_FPU_IOP(x_##a, #a) VS_FPU_IOP(x_##b, #b)
FLOAT_OPS(GEN4)
PACKED_OPS(GEN2)
VS_FPU_XOP(x_rsqrtps, "rsqrtps")
VS_FPU_XOP(x_rsqrtss, "rsqrtss")
VS_FPU_XOP(x_rcpps, "rcpps")
VS_FPU_XOP(x_rcpss, "rcpss")

#define ENT4(op, a, b, c, d) [op] = { x_##a, x_##b, x_##c, x_##d },
#define ENT2(op, a, b) [op] = { x_##a, x_##b, NULL, NULL },
static const vs_fpu_xop float_ops[256][4] = {
	FLOAT_OPS(ENT4) PACKED_OPS(ENT2)[0x52] = { x_rsqrtps, NULL, x_rsqrtss, NULL },
	[0x53] = { x_rcpps, NULL, x_rcpss, NULL },
};

/* CMPPS/PD/SS/SD: the predicate is part of the host instruction, so one
 * function per predicate (imm8 bits 2:0; legacy SSE ignores the rest). */
#define CMP8(X, sfx) \
	X(eq, sfx)   \
	X(lt, sfx) X(le, sfx) X(unord, sfx) X(neq, sfx) X(nlt, sfx) X(nle, sfx) X(ord, sfx)
#define GENCMP(pred, sfx) VS_FPU_XOP(x_cmp##pred##sfx, "cmp" #pred #sfx)
CMP8(GENCMP, ps)
CMP8(GENCMP, pd)
CMP8(GENCMP, ss)
CMP8(GENCMP, sd)
#define CMPENT(pred, sfx) x_cmp##pred##sfx,
static const vs_fpu_xop cmp_ops[4][8] = {
	{ CMP8(CMPENT, ps) },
	{ CMP8(CMPENT, pd) },
	{ CMP8(CMPENT, ss) },
	{ CMP8(CMPENT, sd) },
};

/* (U)COMISS/SD: ZF, PF, CF from the host compare; OF, SF, AF cleared. */
#define COMI(name, insn)                                                                         \
	static uint32_t name(const uint8_t *a, const uint8_t *b, uint32_t *mx)                   \
	{                                                                                        \
		uint32_t save;                                                                   \
		uint8_t z, p, cf;                                                                \
		__asm__ __volatile__(                                                            \
		    "stmxcsr %[save]\n\tldmxcsr %[mx]\n\tmovdqu %[a], %%xmm0\n\t"                \
		    "movdqu %[b], %%xmm1\n\t" insn " %%xmm1, %%xmm0\n\t"                         \
		    "setz %[z]\n\tsetp %[p]\n\tsetc %[cf]\n\t"                                   \
		    "stmxcsr %[mx]\n\tldmxcsr %[save]"                                           \
		    : [mx] "+m"(*mx), [save] "=m"(save), [z] "=m"(z), [p] "=m"(p), [cf] "=m"(cf) \
		    : [a] "m"(*(const uint8_t(*)[16])a), [b] "m"(*(const uint8_t(*)[16])b)       \
		    : "xmm0", "xmm1", "cc");                                                     \
		return (z ? RF_ZF : 0) | (p ? RF_PF : 0) | (cf ? RF_CF : 0);                     \
	}
COMI(comiss, "comiss")
COMI(ucomiss, "ucomiss")
COMI(comisd, "comisd")
COMI(ucomisd, "ucomisd")

static unsigned prefix_index(uint8_t mandatory)
{
	switch (mandatory) {
	case 0x66:
		return 1;
	case 0xf3:
		return 2;
	case 0xf2:
		return 3;
	}
	return 0;
}

static const unsigned scalar_len[4] = { 16, 16, 4, 8 };

static enum vs_emu_fpu_status comis(struct vs_fpu_ctx *c)
{
	const struct vs_emu_fpu_insn *insn = c->insn;
	bool dbl = insn->mandatory == 0x66, ordered = insn->opcode == 0x2f;
	uint8_t s[16];
	uint32_t mx = vs_fpu_host_mxcsr(c->fpu), f;
	enum vs_emu_fpu_status st = vs_fpu_xmm_src(c, s, dbl ? 8 : 4, false);

	if (st != VS_EMU_FPU_OK)
		return st;
	if (dbl)
		f = ordered ? comisd(c->fpu->xmm[insn->reg & 15], s, &mx)
			    : ucomisd(c->fpu->xmm[insn->reg & 15], s, &mx);
	else
		f = ordered ? comiss(c->fpu->xmm[insn->reg & 15], s, &mx)
			    : ucomiss(c->fpu->xmm[insn->reg & 15], s, &mx);
	if (vs_fpu_sse_flags(c->fpu, mx) != VS_EMU_FPU_OK)
		return VS_EMU_FPU_XM;
	*c->env->rflags = (*c->env->rflags & ~(RF_CF | RF_PF | RF_AF | RF_ZF | RF_SF | RF_OF)) | f;
	return VS_EMU_FPU_OK;
}

enum vs_emu_fpu_status vs_fpu_sse_float(struct vs_fpu_ctx *c, bool *handled)
{
	const struct vs_emu_fpu_insn *insn = c->insn;
	unsigned pi = prefix_index(insn->mandatory);
	vs_fpu_xop fn;

	*handled = true;
	if (insn->opcode == 0x2e || insn->opcode == 0x2f) {
		if (pi > 1)
			return VS_EMU_FPU_UD;
		return comis(c);
	}
	if (insn->opcode == 0xc2) {
		uint8_t s[16], d[16];
		uint32_t mx = vs_fpu_host_mxcsr(c->fpu);
		enum vs_emu_fpu_status st = vs_fpu_xmm_src(c, s, scalar_len[pi], false);

		if (st != VS_EMU_FPU_OK)
			return st;
		memcpy(d, c->fpu->xmm[insn->reg & 15], 16);
		cmp_ops[pi][insn->imm8 & 7](d, s, &mx);
		if (vs_fpu_sse_flags(c->fpu, mx) != VS_EMU_FPU_OK)
			return VS_EMU_FPU_XM;
		memcpy(c->fpu->xmm[insn->reg & 15], d, 16);
		return VS_EMU_FPU_OK;
	}
	fn = float_ops[insn->opcode][pi];
	if (fn) {
		static const uint8_t size[4] = { 4, 8, 4, 8 }, count[4] = { 4, 2, 1, 1 };
		uint8_t op = insn->opcode;
		int x87op = op == 0x58	 ? X87_ADD
			    : op == 0x59 ? X87_MUL
			    : op == 0x5c ? X87_SUB
			    : op == 0x5e ? X87_DIV
					 : -1;

		return vs_fpu_xmm_run(c, fn, scalar_len[pi], true,
				      x87op < 0 ? 0 : VS_FPU_UF(size[pi], count[pi], x87op));
	}
	*handled = false;
	return VS_EMU_FPU_UD;
}

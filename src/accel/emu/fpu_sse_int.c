/* MMX and SSE2 integer operations (0F 60-6D, 71-76, D1-FE) on mm and xmm
 * registers, run on the host's own MMX/SSE2 units, and the operand
 * plumbing the other 0F-map files share. */
#include <string.h>

#include "accel/emu/fpu_internal.h"

enum vs_emu_fpu_status vs_fpu_xmm_src(struct vs_fpu_ctx *c, uint8_t out[16], unsigned len, bool unaligned)
{
	const struct vs_emu_fpu_insn *insn = c->insn;

	if (!insn->is_mem) {
		memcpy(out, c->fpu->xmm[insn->rm & 15], 16);
		return VS_EMU_FPU_OK;
	}
	if (len == 16 && !unaligned && (insn->ea & 15))
		return VS_EMU_FPU_GP;
	memset(out, 0, 16);
	return vs_fpu_read(c, insn->ea, out, len) < 0 ? VS_EMU_FPU_FAULT : VS_EMU_FPU_OK;
}

enum vs_emu_fpu_status vs_fpu_mm_src(struct vs_fpu_ctx *c, uint64_t *out)
{
	const struct vs_emu_fpu_insn *insn = c->insn;

	if (!insn->is_mem) {
		*out = vs_fpu_mm_get(c->fpu, insn->rm & 7);
		return VS_EMU_FPU_OK;
	}
	return vs_fpu_read(c, insn->ea, out, 8) < 0 ? VS_EMU_FPU_FAULT : VS_EMU_FPU_OK;
}

static bool tiny(const uint8_t *p, unsigned size)
{
	if (size == 4) {
		uint32_t v;

		memcpy(&v, p, 4);
		return !(v & 0x7f800000) && (v & 0x007fffff);
	} else {
		uint64_t v;

		memcpy(&v, p, 8);
		return !(v & 0x7ff0000000000000ull) && (v & 0x000fffffffffffffull);
	}
}

/* A float or double as an exact 80-bit value (DAZ: denormals as zero). */
static struct vs_f80 to_f80(const uint8_t *p, unsigned size, bool daz)
{
	unsigned fbits = size == 4 ? 23 : 52, ebias = size == 4 ? 127 : 1023, emax = size == 4 ? 0xff : 0x7ff;
	uint64_t bits = 0, frac;
	unsigned exp;
	struct vs_f80 r;

	memcpy(&bits, p, size);
	frac = bits & ((1ull << fbits) - 1);
	exp = (unsigned)(bits >> fbits) & emax;
	r.se = (uint16_t)((bits >> (8 * size - 1)) ? 0x8000 : 0);
	if (exp == emax) {
		r.se |= 0x7fff;
		r.mant = (1ull << 63) | frac << (63 - fbits);
	} else if (exp == 0) {
		if (!frac || daz) {
			r.mant = 0;
		} else { /* frac * 2^(1 - bias - fbits), normalized */
			unsigned msb = 63 - (unsigned)__builtin_clzll(frac);

			r.mant = frac << (63 - msb);
			r.se |= (uint16_t)(16383 + msb + 1 - ebias - fbits);
		}
	} else {
		r.mant = (1ull << 63) | frac << (63 - fbits);
		r.se |= (uint16_t)(exp - ebias + 16383);
	}
	return r;
}

/* Whether a lane's exact result needs rounding to the destination's
 * precision with an unbounded exponent: what precision means under an
 * unmasked overflow or underflow. The x87 computes it exactly (its
 * exponent range covers any float or double result) under the guest's
 * rounding mode with the precision control of the destination. */
static bool lane_inexact(const struct vs_emu_fpu *fpu, uint16_t uf, const uint8_t *a, const uint8_t *b)
{
	static const struct vs_f80 one = { 1ull << 63, 16383 };
	unsigned size = (uf >> 4) & 15, op = (uf >> 8) - 1, in = op == VS_FPU_UF_CVT ? 8 : size;
	bool daz = fpu->mxcsr & MXCSR_DAZ;
	struct vs_f80 x = to_f80(op == VS_FPU_UF_CVT ? b : a, in, daz), y = to_f80(b, in, daz), r;
	uint16_t fcw = (uint16_t)(0x3f | (size == 4 ? 0x000 : 0x200) | ((fpu->mxcsr >> 13) & 3) << 10);

	if (op == VS_FPU_UF_CVT)
		return vs_fpu_host_x87_bin(X87_MUL, fcw, &x, &one, &r) & FSW_PE;
	return vs_fpu_host_x87_bin((enum vs_fpu_x87_binop)op, fcw, &x, &y, &r) & FSW_PE;
}

static void fill_ones(uint8_t *p, unsigned lane)
{
	static const uint32_t f1 = 0x3f800000;
	static const uint64_t d1 = 0x3ff0000000000000ull;

	for (unsigned i = 0; i < 16; i += lane)
		memcpy(p + i, lane == 4 ? (const void *)&f1 : (const void *)&d1, lane);
}

/* The flags of an operation that can overflow or underflow, when the
 * guest unmasks some exception. The host runs masked, and masked and
 * unmasked differ per lane: unmasked, underflow also fires on a tiny exact
 * result, and with overflow or underflow trapped, precision is about the
 * result rounded with an unbounded exponent. So each lane runs alone (the
 * others 1.0, which raise nothing) and the flags are put together as
 * hardware does: an unmasked pre-computation exception in any lane hides
 * the post-computation ones. */
static uint32_t unmasked_flags(const struct vs_emu_fpu *fpu, vs_fpu_xop fn, const uint8_t *d0,
			       const uint8_t *s, uint16_t uf)
{
	unsigned size = (uf >> 4) & 15, count = uf & 15, in = count > 1 ? 16 / count : 16;
	uint32_t masks = (fpu->mxcsr >> 7) & MXCSR_FLAGS, pre = 0, post = 0;

	for (unsigned i = 0; i < count; i++) {
		uint8_t d2[16], s2[16];
		uint32_t mx = vs_fpu_host_mxcsr(fpu), f;

		if (count == 1) {
			memcpy(d2, d0, 16);
			memcpy(s2, s, 16);
		} else {
			fill_ones(d2, in);
			fill_ones(s2, in);
			memcpy(d2 + i * in, d0 + i * in, in);
			memcpy(s2 + i * in, s + i * in, in);
		}
		fn(d2, s2, &mx);
		f = mx & MXCSR_FLAGS;
		if (!(masks & 0x10) && tiny(d2 + i * size, size))
			f |= 0x10;
		if (f & ~masks & 0x18) /* trapped overflow/underflow: unbounded rounding */
			f = (f & ~0x20u) | (lane_inexact(fpu, uf, d0 + i * in, s + i * in) ? 0x20 : 0);
		pre |= f & 0x07;
		post |= f & 0x38;
	}
	return (pre & ~masks) ? pre : pre | post;
}

enum vs_emu_fpu_status vs_fpu_xmm_run(struct vs_fpu_ctx *c, vs_fpu_xop fn, unsigned len, bool fp, uint16_t uf)
{
	struct vs_emu_fpu *fpu = c->fpu;
	uint8_t d[16], s[16];
	uint32_t mx = vs_fpu_host_mxcsr(fpu);
	enum vs_emu_fpu_status st = vs_fpu_xmm_src(c, s, len, false);

	if (st != VS_EMU_FPU_OK)
		return st;
	memcpy(d, fpu->xmm[c->insn->reg & 15], 16);
	fn(d, s, &mx);
	if (fp && uf && (fpu->mxcsr & MXCSR_MASKS) != MXCSR_MASKS)
		mx = unmasked_flags(fpu, fn, fpu->xmm[c->insn->reg & 15], s, uf);
	if (fp && vs_fpu_sse_flags(fpu, mx) != VS_EMU_FPU_OK)
		return VS_EMU_FPU_XM;
	memcpy(fpu->xmm[c->insn->reg & 15], d, 16);
	return VS_EMU_FPU_OK;
}

enum vs_emu_fpu_status vs_fpu_mm_run(struct vs_fpu_ctx *c, vs_fpu_mop fn)
{
	struct vs_emu_fpu *fpu = c->fpu;
	enum vs_emu_fpu_status st = vs_fpu_mmx_begin(c);
	uint64_t d, s;

	if (st != VS_EMU_FPU_OK)
		return st;
	st = vs_fpu_mm_src(c, &s);
	if (st != VS_EMU_FPU_OK)
		return st;
	d = vs_fpu_mm_get(fpu, c->insn->reg & 7);
	fn(&d, &s);
	vs_fpu_mmx_enter(fpu);
	vs_fpu_mm_set(fpu, c->insn->reg & 7, d);
	return VS_EMU_FPU_OK;
}

/* Operations with an MMX form (no prefix) and an SSE2 form (66). */
#define INT_OPS(X)         \
	X(0x60, punpcklbw) \
	X(0x61, punpcklwd) \
	X(0x62, punpckldq) \
	X(0x63, packsswb)  \
	X(0x64, pcmpgtb)   \
	X(0x65, pcmpgtw)   \
	X(0x66, pcmpgtd)   \
	X(0x67, packuswb)  \
	X(0x68, punpckhbw) \
	X(0x69, punpckhwd) \
	X(0x6a, punpckhdq) \
	X(0x6b, packssdw)  \
	X(0x74, pcmpeqb)   \
	X(0x75, pcmpeqw)   \
	X(0x76, pcmpeqd)   \
	X(0xd1, psrlw)     \
	X(0xd2, psrld)     \
	X(0xd3, psrlq)     \
	X(0xd4, paddq)     \
	X(0xd5, pmullw)    \
	X(0xd8, psubusb)   \
	X(0xd9, psubusw)   \
	X(0xda, pminub)    \
	X(0xdb, pand)      \
	X(0xdc, paddusb)   \
	X(0xdd, paddusw)   \
	X(0xde, pmaxub)    \
	X(0xdf, pandn)     \
	X(0xe0, pavgb)     \
	X(0xe1, psraw)     \
	X(0xe2, psrad)     \
	X(0xe3, pavgw)     \
	X(0xe4, pmulhuw)   \
	X(0xe5, pmulhw)    \
	X(0xe8, psubsb)    \
	X(0xe9, psubsw)    \
	X(0xea, pminsw)    \
	X(0xeb, por)       \
	X(0xec, paddsb)    \
	X(0xed, paddsw)    \
	X(0xee, pmaxsw)    \
	X(0xef, pxor)      \
	X(0xf1, psllw)     \
	X(0xf2, pslld)     \
	X(0xf3, psllq)     \
	X(0xf4, pmuludq)   \
	X(0xf5, pmaddwd)   \
	X(0xf6, psadbw)    \
	X(0xf8, psubb)     \
	X(0xf9, psubw)     \
	X(0xfa, psubd)     \
	X(0xfb, psubq)     \
	X(0xfc, paddb)     \
	X(0xfd, paddw)     \
	X(0xfe, paddd)

#define GEN(op, name) VS_FPU_IOP(x_##name, #name) VS_FPU_MOP(m_##name, #name)
INT_OPS(GEN)
#undef GEN
VS_FPU_IOP(x_punpcklqdq, "punpcklqdq")
VS_FPU_IOP(x_punpckhqdq, "punpckhqdq")

#define XENT(op, name) [op] = x_##name,
#define MENT(op, name) [op] = m_##name,
static const vs_fpu_xop xmm_ops[256] = { INT_OPS(XENT)[0x6c] = x_punpcklqdq, [0x6d] = x_punpckhqdq };
static const vs_fpu_mop mmx_ops[256] = { INT_OPS(MENT) };

/* PSRLDQ / PSLLDQ: byte shifts of a whole xmm register. */
static void byte_shift(uint8_t *x, unsigned n, bool left)
{
	uint8_t r[16] = { 0 };

	for (unsigned i = 0; i < 16; i++) {
		if (left && i >= n)
			r[i] = x[i - n];
		if (!left && i + n < 16)
			r[i] = x[i + n];
	}
	memcpy(x, r, 16);
}

/* 0F 71-73: shifts by an immediate, ModRM.rm the register shifted. Runs
 * the shift-by-register form with the immediate as its count. */
static enum vs_emu_fpu_status shift_imm(struct vs_fpu_ctx *c)
{
	static const uint8_t by_reg[3][8] = {
		{ [2] = 0xd1, [4] = 0xe1, [6] = 0xf1 },
		{ [2] = 0xd2, [4] = 0xe2, [6] = 0xf2 },
		{ [2] = 0xd3, [6] = 0xf3 },
	};
	const struct vs_emu_fpu_insn *insn = c->insn;
	struct vs_emu_fpu *fpu = c->fpu;
	unsigned sub = insn->reg & 7;
	uint8_t op = by_reg[insn->opcode - 0x71][sub];

	if (insn->is_mem || (insn->mandatory != 0 && insn->mandatory != 0x66))
		return VS_EMU_FPU_UD;
	if (insn->mandatory == 0x66) {
		uint8_t count[16] = { insn->imm8 };
		uint32_t mx = vs_fpu_host_mxcsr(fpu);

		if (insn->opcode == 0x73 && (sub == 3 || sub == 7)) {
			byte_shift(fpu->xmm[insn->rm & 15], insn->imm8 > 16 ? 16 : insn->imm8, sub == 7);
			return VS_EMU_FPU_OK;
		}
		if (!op)
			return VS_EMU_FPU_UD;
		xmm_ops[op](fpu->xmm[insn->rm & 15], count, &mx);
		return VS_EMU_FPU_OK;
	}
	if (!op)
		return VS_EMU_FPU_UD;
	{
		enum vs_emu_fpu_status st = vs_fpu_mmx_begin(c);
		uint64_t d = vs_fpu_mm_get(fpu, insn->rm & 7), count = insn->imm8;

		if (st != VS_EMU_FPU_OK)
			return st;
		mmx_ops[op](&d, &count);
		vs_fpu_mmx_enter(fpu);
		vs_fpu_mm_set(fpu, insn->rm & 7, d);
	}
	return VS_EMU_FPU_OK;
}

enum vs_emu_fpu_status vs_fpu_sse_int(struct vs_fpu_ctx *c, bool *handled)
{
	const struct vs_emu_fpu_insn *insn = c->insn;
	uint8_t op = insn->opcode;

	*handled = true;
	if (op >= 0x71 && op <= 0x73)
		return shift_imm(c);
	if (insn->mandatory == 0x66 && xmm_ops[op])
		return vs_fpu_xmm_run(c, xmm_ops[op], 16, false, 0);
	if (insn->mandatory == 0 && mmx_ops[op])
		return vs_fpu_mm_run(c, mmx_ops[op]);
	*handled = false;
	return VS_EMU_FPU_UD;
}

enum vs_emu_fpu_status vs_fpu_sse_exec(struct vs_fpu_ctx *c)
{
	enum vs_emu_fpu_status st;
	bool handled;

	st = vs_fpu_sse_move(c, &handled);
	if (handled)
		return st;
	st = vs_fpu_sse_convert(c, &handled);
	if (handled)
		return st;
	st = vs_fpu_sse_float(c, &handled);
	if (handled)
		return st;
	st = vs_fpu_sse_int(c, &handled);
	if (handled)
		return st;
	return VS_EMU_FPU_UD;
}

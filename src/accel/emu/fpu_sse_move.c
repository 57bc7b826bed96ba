/* Data movement in the 0F map: MOVUPS..MOVHPD, MOVD/MOVQ, MOVDQA/DQU,
 * the non-temporal stores, MOVMSKPS/PD, PMOVMSKB, MASKMOVQ/DQU, and the
 * immediate shuffles and word inserts/extracts (PSHUF*, SHUFPS/PD,
 * PINSRW, PEXTRW). Pure data movement raises no SIMD exception. */
#include <string.h>

#include "accel/emu/fpu_internal.h"

static uint8_t *xreg(struct vs_fpu_ctx *c)
{
	return c->fpu->xmm[c->insn->reg & 15];
}

static uint8_t *xrm(struct vs_fpu_ctx *c)
{
	return c->fpu->xmm[c->insn->rm & 15];
}

static enum vs_emu_fpu_status store(struct vs_fpu_ctx *c, const void *p, unsigned len, bool aligned)
{
	if (aligned && (c->insn->ea & 15))
		return VS_EMU_FPU_GP;
	return vs_fpu_write(c, c->insn->ea, p, len) < 0 ? VS_EMU_FPU_FAULT : VS_EMU_FPU_OK;
}

static enum vs_emu_fpu_status load(struct vs_fpu_ctx *c, void *p, unsigned len)
{
	return vs_fpu_read(c, c->insn->ea, p, len) < 0 ? VS_EMU_FPU_FAULT : VS_EMU_FPU_OK;
}

#define TRY(expr)                                    \
	do {                                         \
		enum vs_emu_fpu_status st_ = (expr); \
		if (st_ != VS_EMU_FPU_OK)            \
			return st_;                  \
	} while (0)

/* 0F 10-17, 28, 29, 2B: the ps/pd/ss/sd moves. */
static enum vs_emu_fpu_status fp_moves(struct vs_fpu_ctx *c)
{
	const struct vs_emu_fpu_insn *insn = c->insn;
	uint8_t p = insn->mandatory, b[16];
	unsigned len = p == 0xf3 ? 4 : p == 0xf2 ? 8 : 16;
	bool packed = p == 0 || p == 0x66;

	switch (insn->opcode) {
	case 0x10:
		if (packed) {
			TRY(vs_fpu_xmm_src(c, b, 16, true));
			memcpy(xreg(c), b, 16);
		} else if (insn->is_mem) {
			memset(b, 0, 16);
			TRY(load(c, b, len));
			memcpy(xreg(c), b, 16);
		} else {
			memcpy(xreg(c), xrm(c), len);
		}
		return VS_EMU_FPU_OK;
	case 0x11:
		if (insn->is_mem)
			return store(c, xreg(c), len, false);
		memcpy(xrm(c), xreg(c), len);
		return VS_EMU_FPU_OK;
	case 0x12: /* movlps / movhlps / movlpd */
	case 0x16: /* movhps / movlhps / movhpd */
		if (!packed || (p == 0x66 && !insn->is_mem))
			return VS_EMU_FPU_UD;
		if (insn->is_mem)
			TRY(load(c, b, 8));
		else
			memcpy(b, xrm(c) + (insn->opcode == 0x12 ? 8 : 0), 8);
		memcpy(xreg(c) + (insn->opcode == 0x12 ? 0 : 8), b, 8);
		return VS_EMU_FPU_OK;
	case 0x13:
	case 0x17:
		if (!packed || !insn->is_mem)
			return VS_EMU_FPU_UD;
		return store(c, xreg(c) + (insn->opcode == 0x13 ? 0 : 8), 8, false);
	case 0x28:
		if (!packed)
			return VS_EMU_FPU_UD;
		TRY(vs_fpu_xmm_src(c, b, 16, false));
		memcpy(xreg(c), b, 16);
		return VS_EMU_FPU_OK;
	case 0x29:
	case 0x2b:
		if (!packed || (insn->opcode == 0x2b && !insn->is_mem))
			return VS_EMU_FPU_UD;
		if (insn->is_mem)
			return store(c, xreg(c), 16, true);
		memcpy(xrm(c), xreg(c), 16);
		return VS_EMU_FPU_OK;
	}
	return VS_EMU_FPU_UD;
}

static uint32_t sign_mask(const uint8_t *x, unsigned lane, unsigned n)
{
	uint32_t m = 0;

	for (unsigned i = 0; i < n; i++)
		m |= (uint32_t)(x[i * lane + lane - 1] >> 7) << i;
	return m;
}

static void set_gpr(struct vs_fpu_ctx *c, unsigned r, uint64_t v)
{
	c->env->set_gpr(c->env->cpu, (int)(r & 15), v);
}

/* MOVD/MOVQ between general registers or memory and mm/xmm (6E, 7E). */
static enum vs_emu_fpu_status movd(struct vs_fpu_ctx *c)
{
	const struct vs_emu_fpu_insn *insn = c->insn;
	struct vs_emu_fpu *fpu = c->fpu;
	unsigned len = insn->rex_w ? 8 : 4;
	uint64_t v = 0;

	if (insn->mandatory == 0xf3 && insn->opcode == 0x7e) { /* movq xmm, xmm/m64 */
		uint8_t b[16];

		TRY(vs_fpu_xmm_src(c, b, 8, false));
		memset(b + 8, 0, 8);
		memcpy(xreg(c), b, 16);
		return VS_EMU_FPU_OK;
	}
	if (insn->mandatory != 0 && insn->mandatory != 0x66)
		return VS_EMU_FPU_UD;
	if (insn->mandatory == 0)
		TRY(vs_fpu_mmx_begin(c));
	if (insn->opcode == 0x6e) {
		if (insn->is_mem)
			TRY(load(c, &v, len));
		else
			v = c->env->get_gpr(c->env->cpu, insn->rm & 15);
		if (len == 4)
			v = (uint32_t)v;
		if (insn->mandatory == 0) {
			vs_fpu_mmx_enter(fpu);
			vs_fpu_mm_set(fpu, insn->reg & 7, v);
		} else {
			memset(xreg(c), 0, 16);
			memcpy(xreg(c), &v, 8);
		}
		return VS_EMU_FPU_OK;
	}
	if (insn->mandatory == 0)
		v = vs_fpu_mm_get(fpu, insn->reg & 7);
	else
		memcpy(&v, xreg(c), 8);
	if (len == 4)
		v = (uint32_t)v;
	if (insn->is_mem)
		TRY(store(c, &v, len, false));
	else
		set_gpr(c, insn->rm, v);
	if (insn->mandatory == 0)
		vs_fpu_mmx_enter(fpu);
	return VS_EMU_FPU_OK;
}

/* 6F / 7F: movq mm, movdqa, movdqu; E7: movntq, movntdq. */
static enum vs_emu_fpu_status movdq(struct vs_fpu_ctx *c)
{
	const struct vs_emu_fpu_insn *insn = c->insn;
	struct vs_emu_fpu *fpu = c->fpu;
	uint8_t p = insn->mandatory, b[16];
	bool to_rm = insn->opcode != 0x6f;

	if (p == 0xf2 || (insn->opcode == 0xe7 && (p == 0xf3 || !insn->is_mem)))
		return VS_EMU_FPU_UD;
	if (p == 0) {
		uint64_t v;

		TRY(vs_fpu_mmx_begin(c));
		if (to_rm) {
			v = vs_fpu_mm_get(fpu, insn->reg & 7);
			if (insn->is_mem)
				TRY(store(c, &v, 8, false));
			vs_fpu_mmx_enter(fpu);
			if (!insn->is_mem)
				vs_fpu_mm_set(fpu, insn->rm & 7, v);
		} else {
			TRY(vs_fpu_mm_src(c, &v));
			vs_fpu_mmx_enter(fpu);
			vs_fpu_mm_set(fpu, insn->reg & 7, v);
		}
		return VS_EMU_FPU_OK;
	}
	if (to_rm) {
		if (insn->is_mem)
			return store(c, xreg(c), 16, p == 0x66);
		memcpy(xrm(c), xreg(c), 16);
		return VS_EMU_FPU_OK;
	}
	TRY(vs_fpu_xmm_src(c, b, 16, p == 0xf3));
	memcpy(xreg(c), b, 16);
	return VS_EMU_FPU_OK;
}

/* D6: movq xmm/m64, xmm; movq2dq; movdq2q. */
static enum vs_emu_fpu_status movq_d6(struct vs_fpu_ctx *c)
{
	const struct vs_emu_fpu_insn *insn = c->insn;
	struct vs_emu_fpu *fpu = c->fpu;
	uint64_t v;

	switch (insn->mandatory) {
	case 0x66:
		if (insn->is_mem)
			return store(c, xreg(c), 8, false);
		memcpy(&v, xreg(c), 8);
		memset(xrm(c), 0, 16);
		memcpy(xrm(c), &v, 8);
		return VS_EMU_FPU_OK;
	case 0xf3: /* movq2dq xmm, mm */
		if (insn->is_mem)
			return VS_EMU_FPU_UD;
		TRY(vs_fpu_mmx_begin(c));
		v = vs_fpu_mm_get(fpu, insn->rm & 7);
		memset(xreg(c), 0, 16);
		memcpy(xreg(c), &v, 8);
		vs_fpu_mmx_enter(fpu);
		return VS_EMU_FPU_OK;
	case 0xf2: /* movdq2q mm, xmm */
		if (insn->is_mem)
			return VS_EMU_FPU_UD;
		TRY(vs_fpu_mmx_begin(c));
		memcpy(&v, xrm(c), 8);
		vs_fpu_mmx_enter(fpu);
		vs_fpu_mm_set(fpu, insn->reg & 7, v);
		return VS_EMU_FPU_OK;
	}
	return VS_EMU_FPU_UD;
}

/* F7: maskmovq / maskmovdqu store the bytes whose mask byte has its top
 * bit set, one by one, at DS:rDI: the core puts that linear address in
 * insn->ea (ModRM names two registers here). */
static enum vs_emu_fpu_status maskmov(struct vs_fpu_ctx *c)
{
	const struct vs_emu_fpu_insn *insn = c->insn;
	struct vs_emu_fpu *fpu = c->fpu;
	uint8_t data[16], mask[16];
	unsigned n = insn->mandatory == 0x66 ? 16 : 8;

	if (insn->is_mem || (insn->mandatory != 0 && insn->mandatory != 0x66))
		return VS_EMU_FPU_UD;
	if (n == 8) {
		uint64_t d = vs_fpu_mm_get(fpu, insn->reg & 7), m = vs_fpu_mm_get(fpu, insn->rm & 7);

		TRY(vs_fpu_mmx_begin(c));
		memcpy(data, &d, 8);
		memcpy(mask, &m, 8);
	} else {
		memcpy(data, xreg(c), 16);
		memcpy(mask, xrm(c), 16);
	}
	for (unsigned i = 0; i < n; i++)
		if ((mask[i] & 0x80) && vs_fpu_write(c, insn->ea + i, &data[i], 1) < 0)
			return VS_EMU_FPU_FAULT;
	if (n == 8)
		vs_fpu_mmx_enter(fpu);
	return VS_EMU_FPU_OK;
}

static void shuf_words(uint8_t *dst, const uint8_t *src, unsigned imm)
{
	uint16_t w[4], r[4];

	memcpy(w, src, 8);
	for (unsigned i = 0; i < 4; i++)
		r[i] = w[(imm >> (2 * i)) & 3];
	memcpy(dst, r, 8);
}

/* 70: pshufw / pshufd / pshufhw / pshuflw; C6: shufps / shufpd. */
static enum vs_emu_fpu_status shuffles(struct vs_fpu_ctx *c)
{
	const struct vs_emu_fpu_insn *insn = c->insn;
	unsigned imm = insn->imm8;
	uint8_t s[16], r[16];

	if (insn->opcode == 0x70 && insn->mandatory == 0) {
		uint64_t v, o;

		TRY(vs_fpu_mmx_begin(c));
		TRY(vs_fpu_mm_src(c, &v));
		shuf_words((uint8_t *)&o, (const uint8_t *)&v, imm);
		vs_fpu_mmx_enter(c->fpu);
		vs_fpu_mm_set(c->fpu, insn->reg & 7, o);
		return VS_EMU_FPU_OK;
	}
	if (insn->opcode == 0xc6 && insn->mandatory != 0 && insn->mandatory != 0x66)
		return VS_EMU_FPU_UD;
	TRY(vs_fpu_xmm_src(c, s, 16, false));
	if (insn->opcode == 0xc6 && insn->mandatory == 0) { /* shufps */
		const uint8_t *d = xreg(c);

		memcpy(r + 0, d + 4 * (imm & 3), 4);
		memcpy(r + 4, d + 4 * ((imm >> 2) & 3), 4);
		memcpy(r + 8, s + 4 * ((imm >> 4) & 3), 4);
		memcpy(r + 12, s + 4 * ((imm >> 6) & 3), 4);
	} else if (insn->opcode == 0xc6) { /* shufpd */
		memcpy(r + 0, xreg(c) + 8 * (imm & 1), 8);
		memcpy(r + 8, s + 8 * ((imm >> 1) & 1), 8);
	} else if (insn->mandatory == 0x66) { /* pshufd */
		for (unsigned i = 0; i < 4; i++)
			memcpy(r + 4 * i, s + 4 * ((imm >> (2 * i)) & 3), 4);
	} else if (insn->mandatory == 0xf3) { /* pshufhw */
		memcpy(r, s, 8);
		shuf_words(r + 8, s + 8, imm);
	} else { /* pshuflw */
		shuf_words(r, s, imm);
		memcpy(r + 8, s + 8, 8);
	}
	memcpy(xreg(c), r, 16);
	return VS_EMU_FPU_OK;
}

/* C4 pinsrw, C5 pextrw, D7 pmovmskb, 50 movmskps/pd. */
static enum vs_emu_fpu_status words_masks(struct vs_fpu_ctx *c)
{
	const struct vs_emu_fpu_insn *insn = c->insn;
	struct vs_emu_fpu *fpu = c->fpu;
	bool mmx = insn->mandatory == 0 && insn->opcode != 0x50;
	uint8_t x[16];
	uint16_t w;

	if (insn->mandatory != 0 && insn->mandatory != 0x66)
		return VS_EMU_FPU_UD;
	if (insn->opcode != 0xc4 && insn->is_mem)
		return VS_EMU_FPU_UD;
	if (mmx)
		TRY(vs_fpu_mmx_begin(c));
	switch (insn->opcode) {
	case 0x50:
		set_gpr(c, insn->reg, insn->mandatory ? sign_mask(xrm(c), 8, 2) : sign_mask(xrm(c), 4, 4));
		return VS_EMU_FPU_OK;
	case 0xc4:
		if (insn->is_mem)
			TRY(load(c, &w, 2));
		else
			w = (uint16_t)c->env->get_gpr(c->env->cpu, insn->rm & 15);
		if (mmx) {
			uint64_t v = vs_fpu_mm_get(fpu, insn->reg & 7);

			memcpy((uint8_t *)&v + 2 * (insn->imm8 & 3), &w, 2);
			vs_fpu_mmx_enter(fpu);
			vs_fpu_mm_set(fpu, insn->reg & 7, v);
		} else {
			memcpy(xreg(c) + 2 * (insn->imm8 & 7), &w, 2);
		}
		return VS_EMU_FPU_OK;
	case 0xc5:
	case 0xd7:
		if (mmx) {
			uint64_t v = vs_fpu_mm_get(fpu, insn->rm & 7);

			memcpy(x, &v, 8);
		} else {
			memcpy(x, xrm(c), 16);
		}
		if (insn->opcode == 0xc5) {
			memcpy(&w, x + 2 * (insn->imm8 & (mmx ? 3 : 7)), 2);
			set_gpr(c, insn->reg, w);
		} else {
			set_gpr(c, insn->reg, sign_mask(x, 1, mmx ? 8 : 16));
		}
		if (mmx)
			vs_fpu_mmx_enter(fpu);
		return VS_EMU_FPU_OK;
	}
	return VS_EMU_FPU_UD;
}

enum vs_emu_fpu_status vs_fpu_sse_move(struct vs_fpu_ctx *c, bool *handled)
{
	uint8_t op = c->insn->opcode;

	*handled = true;
	switch (op) {
	case 0x10:
	case 0x11:
	case 0x12:
	case 0x13:
	case 0x16:
	case 0x17:
	case 0x28:
	case 0x29:
	case 0x2b:
		return fp_moves(c);
	case 0x6e:
	case 0x7e:
		return movd(c);
	case 0x6f:
	case 0x7f:
	case 0xe7:
		return movdq(c);
	case 0xd6:
		return movq_d6(c);
	case 0xf7:
		return maskmov(c);
	case 0x70:
	case 0xc6:
		return shuffles(c);
	case 0x50:
	case 0xc4:
	case 0xc5:
	case 0xd7:
		return words_masks(c);
	}
	*handled = false;
	return VS_EMU_FPU_UD;
}

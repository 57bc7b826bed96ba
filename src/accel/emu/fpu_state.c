/* The unit's entry points and whole-state instructions: reset, dispatch,
 * FXSAVE/FXRSTOR, LDMXCSR/STMXCSR, EMMS and the MMX state transition. */
#include <string.h>

#include "accel/emu/fpu_internal.h"

void vs_emu_fpu_reset(struct vs_emu_fpu *fpu)
{
	memset(fpu, 0, sizeof(*fpu));
	fpu->fcw = 0x037f;
	fpu->ftw = 0xffff;
	fpu->mxcsr = 0x1f80;
}

int vs_fpu_read(struct vs_fpu_ctx *c, uint64_t la, void *buf, unsigned len)
{
	return c->env->read(c->env->cpu, la, buf, len);
}

int vs_fpu_write(struct vs_fpu_ctx *c, uint64_t la, const void *buf, unsigned len)
{
	return c->env->write(c->env->cpu, la, buf, len);
}

void vs_fpu_mmx_enter(struct vs_emu_fpu *fpu)
{
	fpu->fsw &= (uint16_t)~0x3800u; /* TOP = 0 */
	fpu->ftw = 0;			/* every register valid */
}

uint64_t vs_fpu_mm_get(const struct vs_emu_fpu *fpu, unsigned i)
{
	return fpu->st[i & 7].mant;
}

void vs_fpu_mm_set(struct vs_emu_fpu *fpu, unsigned i, uint64_t v)
{
	fpu->st[i & 7].mant = v;
	fpu->st[i & 7].sign_exp = 0xffff;
}

enum vs_emu_fpu_status vs_fpu_mmx_begin(struct vs_fpu_ctx *c)
{
	return (c->fpu->fsw & FSW_ES) ? VS_EMU_FPU_MF : VS_EMU_FPU_OK;
}

enum vs_emu_fpu_status vs_fpu_sse_flags(struct vs_emu_fpu *fpu, uint32_t host_flags)
{
	uint32_t flags = host_flags & MXCSR_FLAGS, masks = fpu->mxcsr >> 7;
	uint32_t pre = flags & 0x07; /* invalid, denormal, divide: detected before computing */

	/* An unmasked pre-computation exception stops the operation: the
	 * post-computation flags (overflow, underflow, precision) of other
	 * lanes are not reported, as on hardware. */
	if (pre & ~masks)
		flags = pre;
	fpu->mxcsr |= flags;
	return (flags & ~masks & MXCSR_FLAGS) ? VS_EMU_FPU_XM : VS_EMU_FPU_OK;
}

/* FXSAVE image: the 64-bit layout (REX.W in long mode) stores FIP and FDP
 * as 64-bit offsets, the other one as 32-bit offsets with selectors (0
 * here: the unit does not track FCS/FDS). Outside long mode only XMM0-7. */
static unsigned fx_xmm_count(const struct vs_emu_fpu_insn *insn)
{
	return insn->long_mode ? 16 : 8;
}

static enum vs_emu_fpu_status fxsave(struct vs_fpu_ctx *c)
{
	const struct vs_emu_fpu *fpu = c->fpu;
	unsigned top = (fpu->fsw >> 11) & 7, nxmm = fx_xmm_count(c->insn);
	uint8_t b[512];
	uint8_t ftw = 0;
	uint32_t mask = VS_FPU_MXCSR_MASK;

	if (c->insn->ea & 15)
		return VS_EMU_FPU_GP;
	memset(b, 0, sizeof(b));
	for (unsigned p = 0; p < 8; p++)
		if (((fpu->ftw >> (2 * p)) & 3) != 3)
			ftw = (uint8_t)(ftw | 1u << p);
	memcpy(b + 0, &fpu->fcw, 2);
	memcpy(b + 2, &fpu->fsw, 2);
	b[4] = ftw;
	memcpy(b + 6, &fpu->fop, 2);
	if (c->insn->rex_w && c->insn->long_mode) {
		memcpy(b + 8, &fpu->fip, 8);
		memcpy(b + 16, &fpu->fdp, 8);
	} else {
		uint32_t ip = (uint32_t)fpu->fip, dp = (uint32_t)fpu->fdp;

		memcpy(b + 8, &ip, 4);
		memcpy(b + 16, &dp, 4);
	}
	memcpy(b + 24, &fpu->mxcsr, 4);
	memcpy(b + 28, &mask, 4);
	for (unsigned i = 0; i < 8; i++) {
		unsigned p = (top + i) & 7;

		memcpy(b + 32 + 16 * i, &fpu->st[p].mant, 8);
		memcpy(b + 40 + 16 * i, &fpu->st[p].sign_exp, 2);
	}
	memcpy(b + 160, fpu->xmm, 16 * nxmm);
	if (vs_fpu_write(c, c->insn->ea, b, 160 + 16 * nxmm) < 0)
		return VS_EMU_FPU_FAULT;
	return VS_EMU_FPU_OK;
}

static enum vs_emu_fpu_status fxrstor(struct vs_fpu_ctx *c)
{
	struct vs_emu_fpu *fpu = c->fpu;
	unsigned nxmm = fx_xmm_count(c->insn), top;
	uint8_t b[512];
	uint32_t mxcsr;

	if (c->insn->ea & 15)
		return VS_EMU_FPU_GP;
	if (vs_fpu_read(c, c->insn->ea, b, 512) < 0)
		return VS_EMU_FPU_FAULT;
	memcpy(&mxcsr, b + 24, 4);
	if (mxcsr & ~VS_FPU_MXCSR_MASK)
		return VS_EMU_FPU_GP;
	memcpy(&fpu->fcw, b + 0, 2);
	memcpy(&fpu->fsw, b + 2, 2);
	memcpy(&fpu->fop, b + 6, 2);
	fpu->fop &= 0x7ff;
	if (c->insn->rex_w && c->insn->long_mode) {
		memcpy(&fpu->fip, b + 8, 8);
		memcpy(&fpu->fdp, b + 16, 8);
	} else {
		uint32_t ip, dp;

		memcpy(&ip, b + 8, 4);
		memcpy(&dp, b + 16, 4);
		fpu->fip = ip;
		fpu->fdp = dp;
	}
	fpu->mxcsr = mxcsr;
	top = (fpu->fsw >> 11) & 7;
	for (unsigned i = 0; i < 8; i++) {
		unsigned p = (top + i) & 7;

		memcpy(&fpu->st[p].mant, b + 32 + 16 * i, 8);
		memcpy(&fpu->st[p].sign_exp, b + 40 + 16 * i, 2);
	}
	fpu->ftw = 0;
	for (unsigned p = 0; p < 8; p++) {
		struct vs_f80 v = { fpu->st[p].mant, fpu->st[p].sign_exp };
		unsigned tag = (b[4] >> p) & 1 ? vs_fpu_x87_tag_of(&v) : 3;

		fpu->ftw = (uint16_t)(fpu->ftw | tag << (2 * p));
	}
	memcpy(fpu->xmm, b + 160, 16 * nxmm);
	return VS_EMU_FPU_OK;
}

enum vs_emu_fpu_status vs_fpu_state_exec(struct vs_fpu_ctx *c)
{
	const struct vs_emu_fpu_insn *insn = c->insn;
	struct vs_emu_fpu *fpu = c->fpu;
	uint32_t v;

	if (insn->opcode == 0x77) { /* emms */
		if (insn->mandatory)
			return VS_EMU_FPU_UD;
		if (fpu->fsw & FSW_ES)
			return VS_EMU_FPU_MF;
		fpu->ftw = 0xffff;
		return VS_EMU_FPU_OK;
	}
	if (!insn->is_mem || insn->mandatory == 0xf2 || insn->mandatory == 0xf3)
		return VS_EMU_FPU_UD;
	switch (insn->reg & 7) {
	case 0:
		return fxsave(c);
	case 1:
		return fxrstor(c);
	case 2: /* ldmxcsr */
		if (vs_fpu_read(c, insn->ea, &v, 4) < 0)
			return VS_EMU_FPU_FAULT;
		if (v & ~VS_FPU_MXCSR_MASK)
			return VS_EMU_FPU_GP;
		fpu->mxcsr = v;
		return VS_EMU_FPU_OK;
	case 3: /* stmxcsr */
		v = fpu->mxcsr;
		return vs_fpu_write(c, insn->ea, &v, 4) < 0 ? VS_EMU_FPU_FAULT : VS_EMU_FPU_OK;
	}
	return VS_EMU_FPU_UD;
}

enum vs_emu_fpu_status vs_emu_fpu_exec(struct vs_emu_fpu *fpu, const struct vs_emu_fpu_insn *insn,
				       const struct vs_emu_fpu_env *env)
{
	struct vs_fpu_ctx c = { fpu, insn, env };

	switch (insn->map) {
	case 0:
		return vs_fpu_x87_exec(&c);
	case 1:
		if (insn->opcode == 0xae || insn->opcode == 0x77)
			return vs_fpu_state_exec(&c);
		return vs_fpu_sse_exec(&c);
	default: /* 0F 38 / 0F 3A: SSSE3 and later are not advertised */
		return VS_EMU_FPU_UD;
	}
}

bool vs_emu_fpu_has_imm8(uint8_t map, uint8_t opcode)
{
	if (map == 3)
		return true;
	if (map != 1)
		return false;
	return (opcode >= 0x70 && opcode <= 0x73) || opcode == 0xc2 || (opcode >= 0xc4 && opcode <= 0xc6);
}

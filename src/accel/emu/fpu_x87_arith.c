/* x87 arithmetic: the basic operations in their register, memory and
 * integer forms, compares (FCOM/FUCOM/FICOM/FTST/FCOMI), FCMOVcc, the
 * constants and the transcendental group of D9 E0-FF. */
#include <string.h>

#include "accel/emu/fpu_internal.h"

/* ModRM.reg of D8/DC/DA/DE to an operation, for st(0) = st(0) op src. */
static const enum vs_fpu_x87_binop op_of_reg[8] = {
	X87_ADD, X87_MUL, X87_ADD, X87_ADD, X87_SUB, X87_SUBR, X87_DIV, X87_DIVR,
};

/* dst = a op b; src_sw carries a memory operand's conversion flags. */
static void arith(struct vs_emu_fpu *fpu, enum vs_fpu_x87_binop op, unsigned dst, const struct vs_f80 *a,
		  const struct vs_f80 *b, bool operands_ok, uint16_t src_sw, bool pop)
{
	struct vs_f80 r;

	if (!operands_ok) {
		if (!vs_fpu_x87_stack_fault(fpu, false))
			return;
		r = vs_fpu_x87_indefinite;
	} else {
		uint16_t sw = vs_fpu_host_x87_bin(op, fpu->fcw, a, b, &r);

		if (!vs_fpu_x87_flags(fpu, sw | (src_sw & FSW_XF)))
			return;
	}
	vs_fpu_x87_set(fpu, dst, &r);
	if (pop)
		vs_fpu_x87_pop(fpu);
}

/* Compare a with b into C0/C2/C3, or into ZF/PF/CF for FCOMI. */
static void compare(struct vs_fpu_ctx *c, const struct vs_f80 *a, const struct vs_f80 *b, bool operands_ok,
		    uint16_t src_sw, bool unordered, unsigned pops, bool to_rflags)
{
	struct vs_emu_fpu *fpu = c->fpu;
	uint16_t cc;

	uint16_t c1 = fpu->fsw & FSW_C1;
	bool commit;

	/* The condition codes are set even when the exception is unmasked. */
	if (!operands_ok) {
		commit = vs_fpu_x87_stack_fault(fpu, false);
		cc = FSW_C0 | FSW_C2 | FSW_C3;
	} else {
		uint16_t sw = vs_fpu_host_x87_cmp(unordered, a, b);

		commit = vs_fpu_x87_flags(fpu, sw | (src_sw & FSW_XF));
		cc = sw & (FSW_C0 | FSW_C2 | FSW_C3);
		if (to_rflags)
			fpu->fsw = (uint16_t)((fpu->fsw & ~FSW_C1) | c1);
	}
	if (to_rflags) { /* FCOMI leaves C1 as it was (but for a stack fault) */
		uint64_t f = *c->env->rflags & ~(RF_CF | RF_PF | RF_AF | RF_ZF | RF_SF | RF_OF);

		f |= (cc & FSW_C0 ? RF_CF : 0) | (cc & FSW_C2 ? RF_PF : 0) | (cc & FSW_C3 ? RF_ZF : 0);
		*c->env->rflags = f;
	} else {
		fpu->fsw = (uint16_t)((fpu->fsw & ~(FSW_C0 | FSW_C2 | FSW_C3)) | cc);
	}
	while (commit && pops--)
		vs_fpu_x87_pop(fpu);
}

/* D8/DA/DC/DE with a memory operand: st(0) = st(0) op m, run on the host
 * with the memory form itself. */
static enum vs_emu_fpu_status arith_mem(struct vs_fpu_ctx *c, unsigned esc, unsigned reg)
{
	static const enum vs_fpu_x87_fmt fmts[4] = { X87_M32, X87_I32, X87_M64, X87_I16 };
	static const unsigned lens[4] = { 4, 4, 8, 2 };
	struct vs_emu_fpu *fpu = c->fpu;
	uint8_t buf[10] = { 0 };
	struct vs_f80 a = vs_fpu_x87_get(fpu, 0), r;
	bool ok = !vs_fpu_x87_empty(fpu, 0), commit = true;
	uint16_t sw;

	if (vs_fpu_read(c, c->insn->ea, buf, lens[esc >> 1]) < 0)
		return VS_EMU_FPU_FAULT;
	if (!ok) {
		commit = vs_fpu_x87_stack_fault(fpu, false);
		r = vs_fpu_x87_indefinite;
		sw = FSW_C0 | FSW_C2 | FSW_C3;
	} else if (reg == 2 || reg == 3) {
		sw = vs_fpu_host_x87_mem(-1, fmts[esc >> 1], fpu->fcw, &a, buf, &r);
		commit = vs_fpu_x87_flags(fpu, sw);
	} else {
		sw = vs_fpu_host_x87_mem(op_of_reg[reg], fmts[esc >> 1], fpu->fcw, &a, buf, &r);
		commit = vs_fpu_x87_flags(fpu, sw);
	}
	if (reg == 2 || reg == 3) { /* condition codes even when unmasked */
		fpu->fsw =
		    (uint16_t)((fpu->fsw & ~(FSW_C0 | FSW_C2 | FSW_C3)) | (sw & (FSW_C0 | FSW_C2 | FSW_C3)));
		if (commit && reg == 3)
			vs_fpu_x87_pop(fpu);
	} else if (commit) {
		vs_fpu_x87_set(fpu, 0, &r);
	}
	return VS_EMU_FPU_OK;
}

static bool fcmov_cond(uint64_t f, unsigned esc, unsigned reg)
{
	bool r;

	switch (reg & 3) {
	case 0:
		r = f & RF_CF;
		break;
	case 1:
		r = f & RF_ZF;
		break;
	case 2:
		r = f & (RF_CF | RF_ZF);
		break;
	default:
		r = f & RF_PF;
		break;
	}
	return esc == 3 ? !r : r; /* DB: the negated conditions */
}

static void fcmov(struct vs_fpu_ctx *c, unsigned esc, unsigned reg, unsigned i)
{
	struct vs_emu_fpu *fpu = c->fpu;
	struct vs_f80 v = vs_fpu_x87_get(fpu, i);

	if (vs_fpu_x87_empty(fpu, 0) || vs_fpu_x87_empty(fpu, i)) {
		if (vs_fpu_x87_stack_fault(fpu, false))
			vs_fpu_x87_set(fpu, 0, &vs_fpu_x87_indefinite);
		return;
	}
	if (fcmov_cond(*c->env->rflags, esc, reg))
		vs_fpu_x87_set(fpu, 0, &v);
}

/* st(0) = f(st(0)): FSQRT, FRNDINT, F2XM1, FSIN, FCOS. */
static void unary(struct vs_emu_fpu *fpu, enum vs_fpu_x87_unop op)
{
	struct vs_f80 a = vs_fpu_x87_get(fpu, 0), r, r1;
	uint16_t sw;

	if (op == X87_SIN || op == X87_COS)
		fpu->fsw &= (uint16_t)~FSW_C2; /* cleared unless out of range */
	if (vs_fpu_x87_empty(fpu, 0)) {
		if (vs_fpu_x87_stack_fault(fpu, false))
			vs_fpu_x87_set(fpu, 0, &vs_fpu_x87_indefinite);
		return;
	}
	sw = vs_fpu_host_x87_un(op, fpu->fcw, &a, &r, &r1);
	if (!vs_fpu_x87_flags(fpu, sw))
		return;
	if (op == X87_SIN || op == X87_COS) {
		fpu->fsw = (uint16_t)((fpu->fsw & ~FSW_C2) | (sw & FSW_C2));
		if (sw & FSW_C2)
			return; /* out of range: operand unchanged */
	}
	vs_fpu_x87_set(fpu, 0, &r);
}

/* FPTAN, FSINCOS, FXTRACT: st(0) replaced, then a second value pushed. */
static void unary_push(struct vs_emu_fpu *fpu, enum vs_fpu_x87_unop op)
{
	struct vs_f80 a = vs_fpu_x87_get(fpu, 0), r0, r1;
	uint16_t sw;

	if (op != X87_XTRACT)
		fpu->fsw &= (uint16_t)~FSW_C2; /* cleared unless out of range */
	if (vs_fpu_x87_empty(fpu, 0)) {
		if (!vs_fpu_x87_stack_fault(fpu, false))
			return;
		vs_fpu_x87_set(fpu, 0, &vs_fpu_x87_indefinite);
		vs_fpu_x87_push(fpu, &vs_fpu_x87_indefinite);
		return;
	}
	if (!vs_fpu_x87_empty(fpu, 7)) {
		if (!vs_fpu_x87_stack_fault(fpu, true))
			return;
		vs_fpu_x87_set(fpu, 0, &vs_fpu_x87_indefinite);
		vs_fpu_x87_push(fpu, &vs_fpu_x87_indefinite);
		return;
	}
	sw = vs_fpu_host_x87_un(op, fpu->fcw, &a, &r0, &r1);
	if (!vs_fpu_x87_flags(fpu, sw))
		return;
	if (op != X87_XTRACT) {
		fpu->fsw = (uint16_t)((fpu->fsw & ~FSW_C2) | (sw & FSW_C2));
		if (sw & FSW_C2)
			return;
	}
	vs_fpu_x87_set(fpu, 0, &r1);
	vs_fpu_x87_push(fpu, &r0);
}

/* st(0) and st(1) in: FPREM/FPREM1/FSCALE keep st(1) and replace st(0);
 * FPATAN/FYL2X/FYL2XP1 write st(1) and pop. */
static void binary_st01(struct vs_emu_fpu *fpu, enum vs_fpu_x87_binop op)
{
	struct vs_f80 a = vs_fpu_x87_get(fpu, 0), b = vs_fpu_x87_get(fpu, 1), r;
	bool pops = op == X87_PATAN || op == X87_YL2X || op == X87_YL2XP1;
	uint16_t sw;

	if (vs_fpu_x87_empty(fpu, 0) || vs_fpu_x87_empty(fpu, 1)) {
		if (op == X87_PREM || op == X87_PREM1)
			fpu->fsw &= (uint16_t)~FSW_C2;
		if (!vs_fpu_x87_stack_fault(fpu, false))
			return;
		vs_fpu_x87_set(fpu, pops ? 1 : 0, &vs_fpu_x87_indefinite);
		if (pops)
			vs_fpu_x87_pop(fpu);
		return;
	}
	sw = vs_fpu_host_x87_bin(op, fpu->fcw, &a, &b, &r);
	if (!vs_fpu_x87_flags(fpu, sw)) {
		if (op == X87_PREM || op == X87_PREM1)
			fpu->fsw &= (uint16_t)~FSW_C2;
		return;
	}
	/* Quotient bits and "incomplete"; a NaN or invalid operand leaves C0/C3. */
	if ((op == X87_PREM || op == X87_PREM1) && ((sw & FSW_IE) || (r.se & 0x7fff) == 0x7fff))
		fpu->fsw &= (uint16_t)~FSW_C2;
	else if (op == X87_PREM || op == X87_PREM1)
		fpu->fsw = (uint16_t)((fpu->fsw & ~FSW_CC) | (sw & FSW_CC));
	if (pops) {
		vs_fpu_x87_set(fpu, 1, &r);
		vs_fpu_x87_pop(fpu);
	} else {
		vs_fpu_x87_set(fpu, 0, &r);
	}
}

static void load_const(struct vs_emu_fpu *fpu, enum vs_fpu_x87_unop op)
{
	struct vs_f80 r, r1;
	uint16_t sw = vs_fpu_host_x87_un(op, fpu->fcw, NULL, &r, &r1);

	if (!vs_fpu_x87_empty(fpu, 7)) {
		if (vs_fpu_x87_stack_fault(fpu, true))
			vs_fpu_x87_push(fpu, &vs_fpu_x87_indefinite);
		return;
	}
	if (vs_fpu_x87_flags(fpu, sw))
		vs_fpu_x87_push(fpu, &r);
}

static enum vs_emu_fpu_status d9_reg(struct vs_fpu_ctx *c, unsigned modrm)
{
	static const struct vs_f80 zero = { 0, 0 };
	struct vs_emu_fpu *fpu = c->fpu;
	struct vs_f80 a = vs_fpu_x87_get(fpu, 0);

	switch (modrm) {
	case 0xe4: /* ftst */
		compare(c, &a, &zero, !vs_fpu_x87_empty(fpu, 0), 0, false, 0, false);
		return VS_EMU_FPU_OK;
	case 0xe8:
	case 0xe9:
	case 0xea:
	case 0xeb:
	case 0xec:
	case 0xed:
	case 0xee:
		load_const(fpu, (enum vs_fpu_x87_unop)(X87_LD1 + (modrm - 0xe8)));
		return VS_EMU_FPU_OK;
	case 0xf0:
		unary(fpu, X87_F2XM1);
		return VS_EMU_FPU_OK;
	case 0xf1:
		binary_st01(fpu, X87_YL2X);
		return VS_EMU_FPU_OK;
	case 0xf2:
		unary_push(fpu, X87_PTAN);
		return VS_EMU_FPU_OK;
	case 0xf3:
		binary_st01(fpu, X87_PATAN);
		return VS_EMU_FPU_OK;
	case 0xf4:
		unary_push(fpu, X87_XTRACT);
		return VS_EMU_FPU_OK;
	case 0xf5:
		binary_st01(fpu, X87_PREM1);
		return VS_EMU_FPU_OK;
	case 0xf8:
		binary_st01(fpu, X87_PREM);
		return VS_EMU_FPU_OK;
	case 0xf9:
		binary_st01(fpu, X87_YL2XP1);
		return VS_EMU_FPU_OK;
	case 0xfa:
		unary(fpu, X87_SQRT);
		return VS_EMU_FPU_OK;
	case 0xfb:
		unary_push(fpu, X87_SINCOS);
		return VS_EMU_FPU_OK;
	case 0xfc:
		unary(fpu, X87_RNDINT);
		return VS_EMU_FPU_OK;
	case 0xfd:
		binary_st01(fpu, X87_SCALE);
		return VS_EMU_FPU_OK;
	case 0xfe:
		unary(fpu, X87_SIN);
		return VS_EMU_FPU_OK;
	case 0xff:
		unary(fpu, X87_COS);
		return VS_EMU_FPU_OK;
	}
	return VS_EMU_FPU_UD;
}

enum vs_emu_fpu_status vs_fpu_x87_arith(struct vs_fpu_ctx *c, unsigned esc, unsigned modrm)
{
	struct vs_emu_fpu *fpu = c->fpu;
	unsigned reg = (modrm >> 3) & 7, i = modrm & 7;
	struct vs_f80 st0, sti;
	bool ok;

	if ((modrm >> 6) != 3)
		return arith_mem(c, esc, reg);
	st0 = vs_fpu_x87_get(fpu, 0);
	sti = vs_fpu_x87_get(fpu, i);
	ok = !vs_fpu_x87_empty(fpu, 0) && !vs_fpu_x87_empty(fpu, i);
	switch (esc) {
	case 0: /* D8: st(0) = st(0) op st(i) */
		if (reg == 2 || reg == 3)
			compare(c, &st0, &sti, ok, 0, false, reg == 3, false);
		else
			arith(fpu, op_of_reg[reg], 0, &st0, &sti, ok, 0, false);
		return VS_EMU_FPU_OK;
	case 4: /* DC: st(i) = st(i) op st(0), FSUB/FSUBR and FDIV/FDIVR swapped */
	case 6: /* DE: the same, then pop */
		if (reg == 2 || reg == 3) {
			if (esc == 6 && reg == 3 && i != 1)
				return VS_EMU_FPU_UD;
			if (esc == 6 && reg == 3) /* fcompp */
				compare(c, &st0, &sti, ok, 0, false, 2, false);
			else /* DC D0/D8 and DE D0: aliases of fcom/fcomp */
				compare(c, &st0, &sti, ok, 0, false, esc == 6 || reg == 3, false);
			return VS_EMU_FPU_OK;
		}
		arith(fpu, op_of_reg[reg >= 4 ? reg ^ 1 : reg], i, &sti, &st0, ok, 0, esc == 6);
		return VS_EMU_FPU_OK;
	case 1:
		return d9_reg(c, modrm);
	case 2: /* DA: fcmovb/e/be/u, fucompp */
		if (reg < 4) {
			fcmov(c, esc, reg, i);
			return VS_EMU_FPU_OK;
		}
		if (modrm == 0xe9) {
			compare(c, &st0, &sti, ok, 0, true, 2, false);
			return VS_EMU_FPU_OK;
		}
		return VS_EMU_FPU_UD;
	case 3: /* DB: fcmovnb/ne/nbe/nu, fucomi, fcomi */
		if (reg < 4) {
			fcmov(c, esc, reg, i);
			return VS_EMU_FPU_OK;
		}
		if (reg == 5 || reg == 6) {
			compare(c, &st0, &sti, ok, 0, reg == 5, 0, true);
			return VS_EMU_FPU_OK;
		}
		return VS_EMU_FPU_UD;
	case 5: /* DD: fucom, fucomp */
		if (reg == 4 || reg == 5) {
			compare(c, &st0, &sti, ok, 0, true, reg == 5, false);
			return VS_EMU_FPU_OK;
		}
		return VS_EMU_FPU_UD;
	case 7: /* DF: fucomip, fcomip */
		if (reg == 5 || reg == 6) {
			compare(c, &st0, &sti, ok, 0, reg == 5, 1, true);
			return VS_EMU_FPU_OK;
		}
		return VS_EMU_FPU_UD;
	}
	return VS_EMU_FPU_UD;
}

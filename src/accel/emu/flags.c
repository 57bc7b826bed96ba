/* Lazy arithmetic flags: ALU instructions record their operands and result
 * (set_lazy); flags are computed only when something reads them. Compare +
 * branch, the common case, evaluates the condition straight from the
 * operands. */
#include "accel/emu/cpu.h"

static bool parity(uint64_t v)
{
	return !__builtin_parity((unsigned)(v & 0xff));
}

uint64_t vs_emu_szp(uint64_t res, unsigned size)
{
	uint64_t f = 0;
	res &= size_mask(size);
	if (res == 0)
		f |= F_ZF;
	if (res & sign_bit(size))
		f |= F_SF;
	if (parity(res))
		f |= F_PF;
	return f;
}

static uint64_t compute(const struct vs_emu_cpu *c)
{
	unsigned size = c->lf_size;
	uint64_t m = size_mask(size), sb = sign_bit(size);
	uint64_t a = c->lf_a & m, b = c->lf_b & m, res = c->lf_res & m;
	uint64_t f = vs_emu_szp(res, size);
	switch (c->lf_op) {
	case LF_ADD:
	case LF_ADC:
		if (c->lf_op == LF_ADC && c->lf_cf ? res <= a : res < a)
			f |= F_CF;
		if ((a ^ res) & (b ^ res) & sb)
			f |= F_OF;
		f |= (a ^ b ^ res) & F_AF;
		break;
	case LF_SUB:
	case LF_SBB:
		if (c->lf_op == LF_SBB && c->lf_cf ? a <= b : a < b)
			f |= F_CF;
		if ((a ^ b) & (a ^ res) & sb)
			f |= F_OF;
		f |= (a ^ b ^ res) & F_AF;
		break;
	case LF_LOGIC:
		break;
	case LF_INC:
		if (c->lf_cf)
			f |= F_CF;
		if (res == sb)
			f |= F_OF;
		f |= (a ^ 1 ^ res) & F_AF;
		break;
	case LF_DEC:
		if (c->lf_cf)
			f |= F_CF;
		if (res == sb - 1)
			f |= F_OF;
		f |= (a ^ 1 ^ res) & F_AF;
		break;
	default:
		return c->rflags & F_ARITH;
	}
	return f;
}

uint64_t vs_emu_flags(struct vs_emu_cpu *c)
{
	if (c->lf_op != LF_NONE) {
		c->rflags = (c->rflags & ~F_ARITH) | compute(c);
		c->lf_op = LF_NONE;
	}
	return c->rflags | 2;
}

/* CF alone, without materialising the other flags (INC/DEC keep CF, ADC
 * and SBB read it: both are common in loops). */
bool vs_emu_cf(struct vs_emu_cpu *c)
{
	uint64_t m = size_mask(c->lf_size);
	switch (c->lf_op) {
	case LF_NONE:
		return c->rflags & F_CF;
	case LF_ADD:
		return (c->lf_res & m) < (c->lf_a & m);
	case LF_ADC:
		return c->lf_cf ? (c->lf_res & m) <= (c->lf_a & m) : (c->lf_res & m) < (c->lf_a & m);
	case LF_SUB:
		return (c->lf_a & m) < (c->lf_b & m);
	case LF_SBB:
		return c->lf_cf ? (c->lf_a & m) <= (c->lf_b & m) : (c->lf_a & m) < (c->lf_b & m);
	case LF_LOGIC:
		return false;
	default: /* INC, DEC */
		return c->lf_cf;
	}
}

void vs_emu_set_flags(struct vs_emu_cpu *c, uint64_t value, uint64_t mask)
{
	vs_emu_flags(c);
	c->rflags = (c->rflags & ~mask) | (value & mask) | 2;
}

bool vs_emu_cond(struct vs_emu_cpu *c, unsigned cc)
{
	uint64_t f;
	bool r;
	if (c->lf_op == LF_SUB) {
		unsigned size = c->lf_size;
		uint64_t m = size_mask(size);
		uint64_t a = c->lf_a & m, b = c->lf_b & m;
		int64_t sa = sext(a, size), sb = sext(b, size);
		switch (cc >> 1) {
		case 1:
			r = a < b;
			return (cc & 1) ? !r : r;
		case 2:
			r = a == b;
			return (cc & 1) ? !r : r;
		case 3:
			r = a <= b;
			return (cc & 1) ? !r : r;
		case 6:
			r = sa < sb;
			return (cc & 1) ? !r : r;
		case 7:
			r = sa <= sb;
			return (cc & 1) ? !r : r;
		default:
			break;
		}
	}
	if (c->lf_op != LF_NONE && ((cc >> 1) == 2 || (cc >> 1) == 4)) {
		/* ZF and SF come straight from the result of any lazy op. */
		uint64_t res = c->lf_res & size_mask(c->lf_size);
		r = (cc >> 1) == 2 ? res == 0 : (res & sign_bit(c->lf_size)) != 0;
		return (cc & 1) ? !r : r;
	}
	f = vs_emu_flags(c);
	switch (cc >> 1) {
	case 0:
		r = f & F_OF;
		break;
	case 1:
		r = f & F_CF;
		break;
	case 2:
		r = f & F_ZF;
		break;
	case 3:
		r = f & (F_CF | F_ZF);
		break;
	case 4:
		r = f & F_SF;
		break;
	case 5:
		r = f & F_PF;
		break;
	case 6:
		r = !(f & F_SF) != !(f & F_OF);
		break;
	default:
		r = (f & F_ZF) || (!(f & F_SF) != !(f & F_OF));
		break;
	}
	return (cc & 1) ? !r : r;
}

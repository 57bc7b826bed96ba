/* Integer arithmetic: the eight ALU operations, shifts and rotates,
 * multiply and divide. */
#include "accel/emu/cpu.h"

uint64_t vs_emu_alu(struct vs_emu_cpu *c, unsigned op, unsigned size, uint64_t a, uint64_t b)
{
	uint64_t m = size_mask(size), res;
	bool cf;
	switch (op & 7) {
	case 0:
		res = (a + b) & m;
		set_lazy(c, LF_ADD, size, a, b, res);
		return res;
	case 1:
		res = (a | b) & m;
		set_lazy(c, LF_LOGIC, size, a, b, res);
		return res;
	case 2:
		cf = vs_emu_cf(c);
		res = (a + b + cf) & m;
		set_lazy(c, LF_ADC, size, a, b, res);
		c->lf_cf = cf;
		return res;
	case 3:
		cf = vs_emu_cf(c);
		res = (a - b - cf) & m;
		set_lazy(c, LF_SBB, size, a, b, res);
		c->lf_cf = cf;
		return res;
	case 4:
		res = a & b & m;
		set_lazy(c, LF_LOGIC, size, a, b, res);
		return res;
	case 5:
	case 7:
		res = (a - b) & m;
		set_lazy(c, LF_SUB, size, a, b, res);
		return res;
	default:
		res = (a ^ b) & m;
		set_lazy(c, LF_LOGIC, size, a, b, res);
		return res;
	}
}

static uint64_t msb(uint64_t v, unsigned size)
{
	return (v & sign_bit(size)) != 0;
}

uint64_t vs_emu_shift(struct vs_emu_cpu *c, unsigned op, unsigned size, uint64_t v, unsigned count)
{
	unsigned bits = size * 8;
	uint64_t m = size_mask(size), res = v & m, f;
	bool cf = false, of = false;
	count &= size == 8 ? 63 : 31;
	if (count == 0)
		return res;
	v &= m;
	/* Rotates keep SF/ZF/AF/PF: materialise them. SHL/SHR/SAR set all six
	 * below, so the lazy state needs no evaluating there. */
	f = (op & 7) < 4 ? vs_emu_flags(c) : 0;
	switch (op & 7) {
	case 0: { /* ROL */
		unsigned n = count % bits;
		res = n ? ((v << n) | (v >> (bits - n))) & m : v;
		cf = res & 1;
		of = msb(res, size) ^ cf;
		c->rflags = (f & ~(F_CF | F_OF)) | (cf ? F_CF : 0) | (of ? F_OF : 0);
		return res;
	}
	case 1: { /* ROR */
		unsigned n = count % bits;
		res = n ? ((v >> n) | (v << (bits - n))) & m : v;
		cf = msb(res, size);
		of = msb(res, size) ^ ((res >> (bits - 2)) & 1);
		c->rflags = (f & ~(F_CF | F_OF)) | (cf ? F_CF : 0) | (of ? F_OF : 0);
		return res;
	}
	case 2:	  /* RCL */
	case 3: { /* RCR */
		unsigned n = count % (bits + 1);
		bool carry = f & F_CF;
		res = v;
		if (op == 3)
			of = msb(v, size) ^ carry;
		for (unsigned i = 0; i < n; i++) {
			if (op == 2) {
				bool out = msb(res, size);
				res = ((res << 1) | carry) & m;
				carry = out;
			} else {
				bool out = res & 1;
				res = (res >> 1) | (carry ? sign_bit(size) : 0);
				carry = out;
			}
		}
		cf = carry;
		if (op == 2)
			of = msb(res, size) ^ cf;
		c->rflags = (f & ~(F_CF | F_OF)) | (cf ? F_CF : 0) | (of ? F_OF : 0);
		return res;
	}
	case 4:
	case 6: /* SHL */
		res = count < bits ? (v << count) & m : 0;
		cf = count <= bits ? (v >> (bits - count)) & 1 : 0;
		of = msb(res, size) ^ cf;
		break;
	case 5: /* SHR */
		res = count < bits ? v >> count : 0;
		cf = count <= bits ? (v >> (count - 1)) & 1 : 0;
		of = msb(v, size);
		break;
	default: { /* SAR */
		int64_t s = sext(v, size);
		unsigned n = count < bits ? count : bits - 1;
		res = (uint64_t)(s >> n) & m;
		cf = count < bits ? (uint64_t)(s >> (count - 1)) & 1 : s < 0;
		of = false;
		break;
	}
	}
	set_arith(c, vs_emu_szp(res, size) | (cf ? F_CF : 0) | (of ? F_OF : 0));
	return res;
}

/* SHLD/SHRD: shift `dst`, filling from `src`. */
uint64_t vs_emu_shiftd(struct vs_emu_cpu *c, bool left, unsigned size, uint64_t dst, uint64_t src,
		       unsigned count)
{
	unsigned bits = size * 8;
	uint64_t m = size_mask(size), res;
	bool cf, of;
	count &= size == 8 ? 63 : 31;
	dst &= m;
	src &= m;
	if (count == 0)
		return dst;
	if (size == 2 && count > 16) {
		/* Undefined; behave as a 32-bit shift of dst:src. */
		uint64_t wide = left ? (dst << 16) | src : (src << 16) | dst;
		uint64_t r = left ? (wide << count) >> 16 : wide >> count;
		res = r & m;
		cf = left ? (wide >> (32 - count)) & 1 : (wide >> (count - 1)) & 1;
	} else if (left) {
		/* dst:src shifted as one double-width value (count may equal
		 * the width for 16-bit operands). */
		unsigned __int128 wide = ((unsigned __int128)dst << bits) | src;
		res = (uint64_t)((wide << count) >> bits) & m;
		cf = (uint64_t)(wide >> (2 * bits - count)) & 1;
	} else {
		unsigned __int128 wide = ((unsigned __int128)src << bits) | dst;
		res = (uint64_t)(wide >> count) & m;
		cf = (uint64_t)(wide >> (count - 1)) & 1;
	}
	of = msb(res, size) ^ msb(dst, size);
	set_arith(c, vs_emu_szp(res, size) | (cf ? F_CF : 0) | (of ? F_OF : 0));
	return res;
}

void vs_emu_muldiv(struct vs_emu_cpu *c, struct insn *d, unsigned op, unsigned size)
{
	uint64_t src = rm_read(c, d, size), m = size_mask(size);
	uint64_t a = c->r[R_AX] & m, dx = c->r[R_DX] & m;
	bool over;
	switch (op) {
	case 4: { /* MUL */
		unsigned __int128 p = (unsigned __int128)a * src;
		uint64_t lo = (uint64_t)p & m,
			 hi = size == 8 ? (uint64_t)(p >> 64) : (uint64_t)(p >> (size * 8)) & m;
		if (size == 1)
			reg_set(c, d, R_AX, 2, (uint64_t)p & 0xffff);
		else {
			reg_set(c, d, R_AX, size, lo);
			reg_set(c, d, R_DX, size, hi);
		}
		over = hi != 0;
		set_arith(c, (over ? F_CF | F_OF : 0) | (vs_emu_szp(lo, size) & ~F_ZF));
		return;
	}
	case 5: { /* IMUL */
		__int128 p = (__int128)sext(a, size) * sext(src, size);
		uint64_t lo = (uint64_t)p & m;
		uint64_t hi = size == 8 ? (uint64_t)(p >> 64) : (uint64_t)(p >> (size * 8)) & m;
		if (size == 1)
			reg_set(c, d, R_AX, 2, (uint64_t)p & 0xffff);
		else {
			reg_set(c, d, R_AX, size, lo);
			reg_set(c, d, R_DX, size, hi);
		}
		over = p != (__int128)sext(lo, size);
		set_arith(c, (over ? F_CF | F_OF : 0) | (vs_emu_szp(lo, size) & ~F_ZF));
		return;
	}
	case 6: { /* DIV */
		unsigned __int128 n;
		unsigned __int128 q;
		if (src == 0)
			vs_emu_raise(c, EX_DE, 0, false);
		if (size == 1)
			n = c->r[R_AX] & 0xffff;
		else
			n = ((unsigned __int128)dx << (size * 8)) | a;
		q = n / src;
		if (q > m)
			vs_emu_raise(c, EX_DE, 0, false);
		if (size == 1) {
			reg_set(c, d, R_AX, 2, ((uint64_t)(n % src) << 8) | (uint64_t)q);
		} else {
			reg_set(c, d, R_AX, size, (uint64_t)q);
			reg_set(c, d, R_DX, size, (uint64_t)(n % src));
		}
		return;
	}
	default: { /* IDIV */
		__int128 n, q, r, s = sext(src, size);
		if (src == 0)
			vs_emu_raise(c, EX_DE, 0, false);
		if (size == 1)
			n = (int16_t)(c->r[R_AX] & 0xffff);
		else if (size == 8)
			n = (__int128)(((unsigned __int128)dx << 64) | a);
		else
			n = sext((dx << (size * 8)) | a, size * 2);
		if (size == 8 && n == (__int128)((unsigned __int128)1 << 127) && s == -1)
			vs_emu_raise(c, EX_DE, 0, false);
		q = n / s;
		r = n % s;
		if (q != (__int128)sext((uint64_t)q & m, size))
			vs_emu_raise(c, EX_DE, 0, false);
		if (size == 1) {
			reg_set(c, d, R_AX, 2, (((uint64_t)r & 0xff) << 8) | ((uint64_t)q & 0xff));
		} else {
			reg_set(c, d, R_AX, size, (uint64_t)q);
			reg_set(c, d, R_DX, size, (uint64_t)r);
		}
		return;
	}
	}
}

/* Decimal adjust (DAA, DAS, AAA, AAS) and ASCII multiply/divide (AAM,
 * AAD): legacy modes only, the caller checks. */
void vs_emu_bcd(struct vs_emu_cpu *c, uint8_t op, uint8_t imm)
{
	uint64_t f = vs_emu_flags(c);
	uint8_t al = (uint8_t)c->r[R_AX], ah = (uint8_t)(c->r[R_AX] >> 8);
	bool cf = f & F_CF, af = f & F_AF;
	uint64_t out = 0;
	switch (op) {
	case 0x27:   /* DAA */
	case 0x2f: { /* DAS */
		uint8_t old = al;
		bool new_cf = false;
		if ((al & 0xf) > 9 || af) {
			new_cf = cf || (op == 0x27 ? al > 0xf9 : al < 6);
			al = (uint8_t)(op == 0x27 ? al + 6 : al - 6);
			out |= F_AF;
		}
		if (old > 0x99 || cf) {
			al = (uint8_t)(op == 0x27 ? al + 0x60 : al - 0x60);
			new_cf = true;
		}
		out |= (new_cf ? F_CF : 0) | vs_emu_szp(al, 1);
		break;
	}
	case 0x37:   /* AAA */
	case 0x3f: { /* AAS */
		uint16_t ax = (uint16_t)((ah << 8) | al);
		if ((al & 0xf) > 9 || af) {
			ax = (uint16_t)(op == 0x37 ? ax + 0x106
						   : ((ax - 6) & 0xff) | ((uint16_t)(ah - 1) << 8));
			out |= F_AF | F_CF;
		}
		al = ax & 0xf;
		ah = (uint8_t)(ax >> 8);
		out |= vs_emu_szp(al, 1);
		break;
	}
	case 0xd4: /* AAM */
		if (imm == 0)
			vs_emu_raise(c, EX_DE, 0, false);
		ah = al / imm;
		al = al % imm;
		out = vs_emu_szp(al, 1);
		break;
	default: /* AAD */
		al = (uint8_t)(al + ah * imm);
		ah = 0;
		out = vs_emu_szp(al, 1);
		break;
	}
	c->r[R_AX] = (c->r[R_AX] & ~0xffffull) | ((uint64_t)ah << 8) | al;
	set_arith(c, out);
}

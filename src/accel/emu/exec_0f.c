/* The two-byte opcode map (0F xx). MMX/SSE/x87 go to the FPU unit. */
#include "accel/emu/cpu.h"
#include "x86/segment.h"

static void bit_op(struct vs_emu_cpu *c, struct insn *d, unsigned kind, unsigned size, uint64_t bit, bool imm)
{
	/* kind: 0 BT, 1 BTS, 2 BTR, 3 BTC. A register bit offset reaches
	 * beyond the operand in memory; an immediate one wraps. */
	unsigned bits = size * 8;
	struct rmw r;
	uint64_t old, v, mask;
	if (d->is_mem && !imm) {
		int64_t sbit = sext(bit, size);
		int64_t word = sbit >> (size == 8 ? 6 : size == 4 ? 5 : 4);
		d->off += (uint64_t)(word * (int64_t)size);
		if (d->addrsize == 4)
			d->off = (uint32_t)d->off;
		else if (d->addrsize == 2)
			d->off &= 0xffff;
		d->ea = seg_la(c, d->seg, d->off);
	}
	mask = 1ull << (bit & (bits - 1));
	if (kind == 0) {
		v = rm_read(c, d, size);
		vs_emu_set_flags(c, (v & mask) ? F_CF : 0, F_CF);
		return;
	}
	do {
		old = vs_emu_rmw_load(c, d, size, &r);
		v = kind == 1 ? old | mask : kind == 2 ? old & ~mask : old ^ mask;
	} while (!vs_emu_rmw_store(c, d, size, &r, old, v));
	vs_emu_set_flags(c, (old & mask) ? F_CF : 0, F_CF);
}

static void cmpxchg(struct vs_emu_cpu *c, struct insn *d, unsigned size)
{
	uint64_t m = size_mask(size), acc = c->r[R_AX] & m, src = reg_get(c, d, d->reg, size), old;
	struct rmw r;
	for (;;) {
		old = vs_emu_rmw_load(c, d, size, &r);
		if (old == acc) {
			if (vs_emu_rmw_store(c, d, size, &r, old, src))
				break;
			continue;
		}
		/* Unequal: the destination is written back unchanged (a locked
		 * no-op on hardware); nothing to store here. */
		break;
	}
	vs_emu_alu(c, 7, size, acc, old);
	if (old != acc)
		reg_set(c, d, R_AX, size, old);
}

static void cmpxchg8b(struct vs_emu_cpu *c, struct insn *d)
{
	uint64_t expect = (c->r[R_AX] & 0xffffffff) | (c->r[R_DX] << 32);
	uint64_t repl = (c->r[R_BX] & 0xffffffff) | (c->r[R_CX] << 32);
	uint64_t old;
	uint8_t *p;
	if (!d->is_mem || (d->rex & 8)) /* CMPXCHG16B is not advertised */
		vs_emu_undefined(c, d);
	p = lin_rmw_ptr(c, d->ea, 8);
	if (p) {
		old = expect;
		if (__atomic_compare_exchange_n((uint64_t *)(void *)p, &old, repl, false, __ATOMIC_SEQ_CST,
						__ATOMIC_SEQ_CST))
			old = expect;
	} else {
		old = lin_read(c, d->ea, 8);
		lin_write(c, d->ea, 8, old == expect ? repl : old);
	}
	vs_emu_set_flags(c, old == expect ? F_ZF : 0, F_ZF);
	if (old != expect) {
		c->r[R_AX] = (uint32_t)old;
		c->r[R_DX] = old >> 32;
	}
}

static void xadd(struct vs_emu_cpu *c, struct insn *d, unsigned size)
{
	uint64_t src = reg_get(c, d, d->reg, size), old, v;
	struct rmw r;
	do {
		old = vs_emu_rmw_load(c, d, size, &r);
		v = vs_emu_alu(c, 0, size, old, src);
	} while (!vs_emu_rmw_store(c, d, size, &r, old, v));
	if (!d->is_mem && d->rm == d->reg) {
		reg_set(c, d, d->reg, size, v);
		return;
	}
	reg_set(c, d, d->reg, size, old);
	if (!d->is_mem)
		reg_set(c, d, d->rm, size, v);
}

/* LAR / LSL: ZF says whether the descriptor is visible at this level. */
static void lar_lsl(struct vs_emu_cpu *c, struct insn *d, bool lsl)
{
	uint16_t sel = (uint16_t)rm_read(c, d, 2);
	uint64_t raw, high;
	struct vs_segment s;
	uint64_t limit;
	bool ok = false;
	if (!(c->cr0 & CR0_PE) || (c->rflags & F_VM))
		vs_emu_undefined(c, d);
	limit = (sel & 4) ? c->ldt.limit : c->gdt.limit;
	if ((sel & ~3u) && (uint64_t)(sel & ~7u) + 7 <= limit) {
		raw = vs_emu_read_desc(c, sel, &high);
		vs_x86_desc_decode(raw, 0, sel, false, &s);
		ok = s.s ? ((s.type & 0xc) == 0xc || (s.dpl >= c->cpl && s.dpl >= (sel & 3)))
			 : (s.type == 2 || s.type == 9 || s.type == 0xb || (!lsl && s.type == 0xc));
		if (ok)
			reg_set(c, d, d->reg, d->opsize == 2 ? 2 : 4,
				lsl ? s.limit : (raw >> 32) & 0x00f0ff00);
	}
	vs_emu_set_flags(c, ok ? F_ZF : 0, F_ZF);
}

static void load_far_pointer(struct vs_emu_cpu *c, struct insn *d, int seg)
{
	uint64_t off;
	uint16_t sel;
	if (!d->is_mem)
		vs_emu_undefined(c, d);
	off = lin_read(c, d->ea, d->opsize);
	sel = (uint16_t)lin_read(c, seg_la(c, d->seg, d->off + d->opsize), 2);
	vs_emu_load_seg(c, seg, sel);
	reg_set(c, d, d->reg, d->opsize, off);
}

void vs_emu_exec_0f(struct vs_emu_cpu *c, struct insn *d)
{
	uint8_t op = fetch8(c, d);
	unsigned size = d->opsize;
	uint64_t v, w;
	d->opcode = 0x100 | op;
	if (d->lock && !(op == 0xab || op == 0xb3 || op == 0xbb || op == 0xba || op == 0xb0 || op == 0xb1 ||
			 op == 0xc0 || op == 0xc1 || op == 0xc7))
		raise_ud(c);
	switch (op) {
	case 0x00:
		vs_emu_modrm(c, d, 0);
		vs_emu_group6(c, d);
		break;
	case 0x01:
		vs_emu_modrm(c, d, 0);
		vs_emu_group7(c, d);
		break;
	case 0x02:
	case 0x03:
		vs_emu_modrm(c, d, 0);
		lar_lsl(c, d, op == 3);
		break;
	case 0x05:
		commit_ip(c, d);
		vs_emu_syscall(c, c->rip);
		return;
	case 0x06: /* CLTS */
		if (c->cpl != 0)
			raise_gp(c, 0);
		c->cr0 &= ~CR0_TS;
		break;
	case 0x07:
		vs_emu_sysret(c, d->rex & 8);
		return;
	case 0x08:
	case 0x09: /* INVD, WBINVD: caches are coherent here */
		if (c->cpl != 0)
			raise_gp(c, 0);
		break;
	case 0x0b:
	case 0xb9: /* UD2, UD1: #UD on purpose, not counted */
		raise_ud(c);
	case 0x0d:
	case 0x18 ... 0x1f: /* prefetches and hint NOPs (ENDBR64 among them) */
		vs_emu_modrm(c, d, 0);
		break;
	case 0x20:
	case 0x22:
		vs_emu_modrm(c, d, 0);
		d->rm = (d->modrm & 7) | ((d->rex & 1) << 3);
		d->is_mem = false;
		d->rex |= 0x40;
		vs_emu_mov_cr(c, d, op == 0x22);
		break;
	case 0x21:
	case 0x23: /* MOV DR: stored, no breakpoints */
		vs_emu_modrm(c, d, 0);
		if (c->cpl != 0)
			raise_gp(c, 0);
		d->rm = (d->modrm & 7) | ((d->rex & 1) << 3);
		d->rex |= 0x40;
		if ((d->reg & 7) == 4 || (d->reg & 7) == 5)
			d->reg += 2;
		if (d->reg > 7)
			raise_ud(c);
		if (op == 0x23) {
			c->dr[d->reg] = reg_get(c, d, d->rm, c->long64 ? 8 : 4);
			debug_window(c);
		} else
			reg_set(c, d, d->rm, c->long64 ? 8 : 4, c->dr[d->reg]);
		break;
	case 0x30:
		vs_emu_wrmsr(c);
		break;
	case 0x31:
		if ((c->cr4 & (1ull << 2)) && c->cpl != 0) /* CR4.TSD */
			raise_gp(c, 0);
		v = vs_emu_tsc(c);
		c->r[R_AX] = (uint32_t)v;
		c->r[R_DX] = v >> 32;
		break;
	case 0x32:
		vs_emu_rdmsr(c);
		break;
	case 0x40 ... 0x4f:
		vs_emu_modrm(c, d, 0);
		v = rm_read(c, d, size);
		if (cond_fast(c, op & 15))
			reg_set(c, d, d->reg, size, v);
		else if (size == 4)
			reg_set(c, d, d->reg, 4, reg_get(c, d, d->reg, 4)); /* zero-extends anyway */
		break;
	case 0x80 ... 0x8f:
		v = fetch_n(c, d, size == 2 ? 2 : 4);
		v = size == 2 ? (uint64_t)(int64_t)(int16_t)v : (uint64_t)(int64_t)(int32_t)v;
		if (cond_fast(c, op & 15)) {
			d->ip += v;
			if (c->code_size == 2 || (size == 2 && !c->long64))
				d->ip &= 0xffff;
		}
		break;
	case 0x90 ... 0x9f:
		vs_emu_modrm(c, d, 0);
		rm_write(c, d, 1, cond_fast(c, op & 15));
		break;
	case 0xa0:
	case 0xa8: {
		unsigned s = c->long64 && size != 2 ? 8 : size;
		uint64_t sp = sp_get(c) - s;
		lin_write(c, seg_la(c, S_SS, stack_size(c) == 2 ? (uint16_t)sp : sp), 2,
			  c->seg[op == 0xa0 ? S_FS : S_GS].selector);
		sp_set(c, sp);
		break;
	}
	case 0xa1:
	case 0xa9: {
		unsigned s = c->long64 && size != 2 ? 8 : size;
		uint64_t sp = sp_get(c);
		uint16_t sel = (uint16_t)lin_read(c, seg_la(c, S_SS, sp), 2);
		vs_emu_load_seg(c, op == 0xa1 ? S_FS : S_GS, sel);
		sp_set(c, sp + s);
		break;
	}
	case 0xa2:
		vs_emu_cpuid(c);
		break;
	case 0xa3:
	case 0xab:
	case 0xb3:
	case 0xbb:
		vs_emu_modrm(c, d, 0);
		if (d->lock && (!d->is_mem || op == 0xa3))
			raise_ud(c);
		bit_op(c, d,
		       op == 0xa3   ? 0
		       : op == 0xab ? 1
		       : op == 0xb3 ? 2
				    : 3,
		       size, reg_get(c, d, d->reg, size), false);
		break;
	case 0xba:
		vs_emu_modrm(c, d, 1);
		if ((d->reg & 7) < 4)
			vs_emu_undefined(c, d);
		if (d->lock && (!d->is_mem || (d->reg & 7) == 4))
			raise_ud(c);
		v = fetch8(c, d);
		bit_op(c, d, (d->reg & 7) - 4, size, v, true);
		break;
	case 0xa4:
	case 0xa5:
	case 0xac:
	case 0xad: {
		struct rmw r;
		uint64_t old;
		unsigned count;
		vs_emu_modrm(c, d, (op & 1) ? 0 : 1);
		count = (op & 1) ? (unsigned)(c->r[R_CX] & 0xff) : fetch8(c, d);
		w = reg_get(c, d, d->reg, size);
		do {
			old = vs_emu_rmw_load(c, d, size, &r);
			v = vs_emu_shiftd(c, op < 0xa8, size, old, w, count);
		} while (!vs_emu_rmw_store(c, d, size, &r, old, v));
		break;
	}
	case 0xae:
		vs_emu_modrm(c, d, 0);
		if (d->is_mem) {
			switch (d->reg & 7) {
			case 0 ... 3:
				vs_emu_fpu_op(c, d, 1, op);
				break;
			case 7: /* CLFLUSH: check the address, nothing to flush */
				lin_read(c, d->ea, 1);
				break;
			default:
				vs_emu_undefined(c, d);
			}
		} else if ((d->reg & 7) >= 5) { /* LFENCE, MFENCE, SFENCE */
			__atomic_thread_fence(__ATOMIC_SEQ_CST);
		} else {
			vs_emu_undefined(c, d);
		}
		break;
	case 0xaf:
		vs_emu_modrm(c, d, 0);
		{
			__int128 p = (__int128)sext(reg_get(c, d, d->reg, size), size) *
				     sext(rm_read(c, d, size), size);
			v = (uint64_t)p & size_mask(size);
			set_arith(c, vs_emu_szp(v, size) | (p != (__int128)sext(v, size) ? F_CF | F_OF : 0));
			reg_set(c, d, d->reg, size, v);
		}
		break;
	case 0xb0:
	case 0xb1:
		vs_emu_modrm(c, d, 0);
		if (d->lock && !d->is_mem)
			raise_ud(c);
		cmpxchg(c, d, op & 1 ? size : 1);
		break;
	case 0xb2:
	case 0xb4:
	case 0xb5:
		vs_emu_modrm(c, d, 0);
		load_far_pointer(c, d, op == 0xb2 ? S_SS : op == 0xb4 ? S_FS : S_GS);
		break;
	case 0xb6:
	case 0xb7:
		vs_emu_modrm(c, d, 0);
		v = rm_read(c, d, op & 1 ? 2 : 1);
		reg_set(c, d, d->reg, size, v);
		break;
	case 0xbe:
	case 0xbf:
		vs_emu_modrm(c, d, 0);
		v = (uint64_t)sext(rm_read(c, d, op & 1 ? 2 : 1), op & 1 ? 2 : 1);
		reg_set(c, d, d->reg, size, v);
		break;
	case 0xbc:
	case 0xbd: /* BSF, BSR; with F3 (TZCNT/LZCNT, not advertised) they run as BSF/BSR as on
		      CPUs without BMI1/ABM */
		vs_emu_modrm(c, d, 0);
		v = rm_read(c, d, size);
		if (v == 0) {
			set_arith(c, F_ZF);
		} else {
			w = op == 0xbc ? (uint64_t)__builtin_ctzll(v) : 63 - (uint64_t)__builtin_clzll(v);
			reg_set(c, d, d->reg, size, w);
			set_arith(c, 0);
		}
		break;
	case 0xc0:
	case 0xc1:
		vs_emu_modrm(c, d, 0);
		if (d->lock && !d->is_mem)
			raise_ud(c);
		xadd(c, d, op & 1 ? size : 1);
		break;
	case 0xc3: /* MOVNTI */
		vs_emu_modrm(c, d, 0);
		if (!d->is_mem || size == 2)
			vs_emu_undefined(c, d);
		lin_write(c, d->ea, size, reg_get(c, d, d->reg, size));
		break;
	case 0xc7:
		vs_emu_modrm(c, d, 0);
		if ((d->reg & 7) == 1)
			cmpxchg8b(c, d);
		else
			vs_emu_undefined(c, d);
		break;
	case 0xc8 ... 0xcf: {
		int r = (op & 7) | ((d->rex & 1) << 3);
		if (size == 8)
			c->r[r] = __builtin_bswap64(c->r[r]);
		else if (size == 4)
			c->r[r] = __builtin_bswap32((uint32_t)c->r[r]);
		else
			c->r[r] &= ~0xffffull; /* undefined; zero as most CPUs do */
		break;
	}
	case 0x10 ... 0x17:
	case 0x28 ... 0x2f:
	case 0x50 ... 0x7f:
	case 0xc2:
	case 0xc4 ... 0xc6:
	case 0xd0 ... 0xff:
		if (op != 0x77)
			vs_emu_modrm(c, d, vs_emu_fpu_has_imm8(1, op) ? 1 : 0);
		vs_emu_fpu_op(c, d, 1, op);
		break;
	case 0x38:
	case 0x3a: {
		uint8_t op3 = fetch8(c, d);
		uint8_t map = op == 0x38 ? 2 : 3;
		d->opcode = (uint16_t)(map << 8 | op3);
		vs_emu_modrm(c, d, vs_emu_fpu_has_imm8(map, op3) ? 1 : 0);
		vs_emu_fpu_op(c, d, map, op3);
		break;
	}
	default:
		vs_emu_undefined(c, d);
	}
	commit_ip(c, d);
}

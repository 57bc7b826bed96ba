/* The decoder and the one-byte opcode map. One instruction per call:
 * prefixes, opcode, ModRM/SIB/displacement, immediates, then execution. */
#include "accel/emu/cpu.h"

void vs_emu_modrm_mem(struct vs_emu_cpu *c, struct insn *d, unsigned imm)
{
	uint64_t off = 0;
	int def_seg = S_DS;
	d->is_mem = true;
	if (d->addrsize == 2) {
		static const int8_t base[8] = { R_BX, R_BX, R_BP, R_BP, R_SI, R_DI, R_BP, R_BX };
		static const int8_t index[8] = { R_SI, R_DI, R_SI, R_DI, -1, -1, -1, -1 };
		if (d->mod == 0 && d->rm == 6) {
			off = fetch_n(c, d, 2);
		} else {
			off = c->r[base[d->rm]];
			if (index[d->rm] >= 0)
				off += c->r[index[d->rm]];
			if (d->rm == 2 || d->rm == 3 || d->rm == 6)
				def_seg = S_SS;
			if (d->mod == 1)
				off += (uint64_t)(int8_t)fetch8(c, d);
			else if (d->mod == 2)
				off += fetch_n(c, d, 2);
		}
		off &= 0xffff;
	} else {
		bool riprel = false;
		if (d->rm == 4) {
			uint8_t sib = fetch8(c, d);
			unsigned scale = sib >> 6;
			unsigned idx = ((sib >> 3) & 7) | ((d->rex & 2) << 2);
			unsigned b = (sib & 7) | ((d->rex & 1) << 3);
			if ((sib & 7) == 5 && d->mod == 0) {
				off = (uint64_t)(int64_t)(int32_t)fetch_n(c, d, 4);
			} else {
				off = c->r[b];
				if ((sib & 7) == 4 || (sib & 7) == 5)
					def_seg = b == R_SP || b == R_BP ? S_SS : S_DS;
			}
			if (idx != 4)
				off += c->r[idx] << scale;
		} else if (d->rm == 5 && d->mod == 0) {
			off = (uint64_t)(int64_t)(int32_t)fetch_n(c, d, 4);
			riprel = c->long64;
		} else {
			unsigned b = d->rm | ((d->rex & 1) << 3);
			off = c->r[b];
			if (d->rm == 5 && !(d->rex & 1))
				def_seg = S_SS;
			if (d->rm == 4 && !(d->rex & 1))
				def_seg = S_SS;
		}
		if (d->mod == 1)
			off += (uint64_t)(int64_t)(int8_t)fetch8(c, d);
		else if (d->mod == 2)
			off += (uint64_t)(int64_t)(int32_t)fetch_n(c, d, 4);
		if (riprel) {
			off += d->ip + imm;
			d->riprel = true;
		}
		if (d->addrsize == 4)
			off = (uint32_t)off;
	}
	if (!d->seg_override)
		d->seg = (uint8_t)def_seg;
	d->off = off;
	d->ea = seg_la(c, d->seg, off);
}

uint64_t vs_emu_rmw_load(struct vs_emu_cpu *c, const struct insn *d, unsigned size, struct rmw *r)
{
	r->host = NULL;
	r->atomic = false;
	if (!d->is_mem)
		return reg_get(c, d, d->rm, size);
	r->host = lin_rmw_ptr(c, d->ea, size);
	if (r->host) {
		r->atomic = d->lock;
		switch (size) {
		case 1:
			return __atomic_load_n(r->host, __ATOMIC_RELAXED);
		case 2:
			return __atomic_load_n((uint16_t *)(void *)r->host, __ATOMIC_RELAXED);
		case 4:
			return __atomic_load_n((uint32_t *)(void *)r->host, __ATOMIC_RELAXED);
		default:
			return __atomic_load_n((uint64_t *)(void *)r->host, __ATOMIC_RELAXED);
		}
	}
	/* Outside RAM or across pages: check both ends for writing first. */
	{
		uint64_t gpa;
		vs_emu_translate(c, d->ea, ACC_W, &gpa);
		vs_emu_translate(c, d->ea + size - 1, ACC_W, &gpa);
	}
	return lin_read(c, d->ea, size);
}

bool vs_emu_rmw_store(struct vs_emu_cpu *c, const struct insn *d, unsigned size, const struct rmw *r,
		      uint64_t old, uint64_t v)
{
	if (!d->is_mem) {
		reg_set(c, d, d->rm, size, v);
		return true;
	}
	if (!r->host) {
		lin_write(c, d->ea, size, v);
		return true;
	}
	if (!r->atomic) {
		st_host(r->host, size, v);
		return true;
	}
	switch (size) {
	case 1: {
		uint8_t o = (uint8_t)old;
		return __atomic_compare_exchange_n(r->host, &o, (uint8_t)v, false, __ATOMIC_SEQ_CST,
						   __ATOMIC_SEQ_CST);
	}
	case 2: {
		uint16_t o = (uint16_t)old;
		return __atomic_compare_exchange_n((uint16_t *)(void *)r->host, &o, (uint16_t)v, false,
						   __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
	}
	case 4: {
		uint32_t o = (uint32_t)old;
		return __atomic_compare_exchange_n((uint32_t *)(void *)r->host, &o, (uint32_t)v, false,
						   __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
	}
	default: {
		uint64_t o = old;
		return __atomic_compare_exchange_n((uint64_t *)(void *)r->host, &o, v, false,
						   __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
	}
	}
}

/* ALU op on r/m (destination) with `src`. */
static void alu_rm(struct vs_emu_cpu *c, struct insn *d, unsigned op, unsigned size, uint64_t src)
{
	struct rmw r;
	uint64_t old, v;
	if ((op & 7) == 7) {
		alu_fast(c, 7, size, rm_read(c, d, size), src);
		return;
	}
	if (!d->is_mem) { /* the common register case, without the RMW protocol */
		reg_set(c, d, d->rm, size, alu_fast(c, op, size, reg_get(c, d, d->rm, size), src));
		return;
	}
	do {
		old = vs_emu_rmw_load(c, d, size, &r);
		v = alu_fast(c, op, size, old, src);
	} while (!vs_emu_rmw_store(c, d, size, &r, old, v));
}

static void jump(struct vs_emu_cpu *c, struct insn *d, uint64_t target)
{
	d->ip = target;
	if (c->code_size == 2 || (d->opsize == 2 && c->code_size != 8))
		d->ip &= 0xffff;
	else if (c->code_size == 4)
		d->ip &= 0xffffffff;
}

static void check_canonical_ip(struct vs_emu_cpu *c, uint64_t ip)
{
	if (c->long64 && !is_canonical(ip))
		raise_gp(c, 0);
}

static void group2(struct vs_emu_cpu *c, struct insn *d, unsigned size, unsigned count)
{
	struct rmw r;
	uint64_t old, v;
	do {
		old = vs_emu_rmw_load(c, d, size, &r);
		v = vs_emu_shift(c, d->reg & 7, size, old, count);
	} while (!vs_emu_rmw_store(c, d, size, &r, old, v));
}

static void incdec(struct vs_emu_cpu *c, struct insn *d, unsigned size, bool dec)
{
	struct rmw r;
	uint64_t old, v;
	bool cf = vs_emu_cf(c);
	if (!d->is_mem) {
		old = reg_get(c, d, d->rm, size);
		v = (dec ? old - 1 : old + 1) & size_mask(size);
		reg_set(c, d, d->rm, size, v);
	} else {
		do {
			old = vs_emu_rmw_load(c, d, size, &r);
			v = (dec ? old - 1 : old + 1) & size_mask(size);
		} while (!vs_emu_rmw_store(c, d, size, &r, old, v));
	}
	set_lazy(c, dec ? LF_DEC : LF_INC, size, old, 1, v);
	c->lf_cf = cf;
}

static void group3(struct vs_emu_cpu *c, struct insn *d, unsigned size)
{
	struct rmw r;
	uint64_t old, v;
	switch (d->reg & 7) {
	case 0:
	case 1:
		v = fetch_imm(c, d, size);
		vs_emu_alu(c, 4, size, rm_read(c, d, size), v);
		break;
	case 2:
		do {
			old = vs_emu_rmw_load(c, d, size, &r);
			v = ~old & size_mask(size);
		} while (!vs_emu_rmw_store(c, d, size, &r, old, v));
		break;
	case 3:
		do {
			old = vs_emu_rmw_load(c, d, size, &r);
			v = vs_emu_alu(c, 5, size, 0, old);
		} while (!vs_emu_rmw_store(c, d, size, &r, old, v));
		break;
	default:
		vs_emu_muldiv(c, d, d->reg & 7, size);
		break;
	}
}

static void xchg_rm(struct vs_emu_cpu *c, struct insn *d, unsigned size)
{
	uint64_t src = reg_get(c, d, d->reg, size), old;
	struct rmw r;
	if (!d->is_mem) {
		old = reg_get(c, d, d->rm, size);
		reg_set(c, d, d->rm, size, src);
		reg_set(c, d, d->reg, size, old);
		return;
	}
	d->lock = true; /* XCHG with memory is always locked */
	do
		old = vs_emu_rmw_load(c, d, size, &r);
	while (!vs_emu_rmw_store(c, d, size, &r, old, src));
	reg_set(c, d, d->reg, size, old);
}

static void push_seg(struct vs_emu_cpu *c, struct insn *d, int seg)
{
	unsigned size = d->opsize;
	uint64_t sp = sp_get(c) - size;
	/* A segment push of 32/64 bits writes only the low word. */
	lin_write(c, seg_la(c, S_SS, stack_size(c) == 2 ? (uint16_t)sp : sp), 2, c->seg[seg].selector);
	sp_set(c, sp);
}

static void pop_seg(struct vs_emu_cpu *c, struct insn *d, int seg)
{
	uint64_t sp = sp_get(c);
	uint16_t sel = (uint16_t)lin_read(c, seg_la(c, S_SS, sp), 2);
	vs_emu_load_seg(c, seg, sel);
	sp_set(c, sp + d->opsize);
	if (seg == S_SS)
		set_shadow(c);
}

static void enter(struct vs_emu_cpu *c, struct insn *d)
{
	uint16_t alloc = (uint16_t)fetch_n(c, d, 2);
	uint8_t level = fetch8(c, d) & 31;
	unsigned size = c->long64 && d->opsize != 2 ? 8 : d->opsize;
	unsigned ssz = stack_size(c);
	uint64_t m = ssz == 8 ? ~0ull : ssz == 4 ? 0xffffffffull : 0xffff;
	uint64_t sp = sp_get(c), bp = c->r[R_BP] & m, frame;
	sp -= size;
	lin_write(c, seg_la(c, S_SS, sp & m), size, c->r[R_BP]);
	frame = sp;
	for (unsigned i = 1; i < level; i++) {
		uint64_t v;
		bp -= size;
		v = lin_read(c, seg_la(c, S_SS, bp & m), size);
		sp -= size;
		lin_write(c, seg_la(c, S_SS, sp & m), size, v);
	}
	if (level) {
		sp -= size;
		lin_write(c, seg_la(c, S_SS, sp & m), size, frame);
	}
	sp -= alloc;
	/* Check the lowest byte of the new frame is writable. */
	if (alloc)
		lin_write(c, seg_la(c, S_SS, sp & m), 1, lin_read(c, seg_la(c, S_SS, sp & m), 1));
	reg_set(c, d, R_BP, ssz == 8 ? 8 : size == 2 ? 2 : ssz, frame);
	sp_set(c, sp);
}

static void group5(struct vs_emu_cpu *c, struct insn *d)
{
	unsigned size = d->opsize;
	unsigned op = d->reg & 7;
	switch (op) {
	case 0:
	case 1:
		incdec(c, d, size, op == 1);
		break;
	case 2:
	case 4: { /* CALL/JMP near indirect: 64-bit operand in 64-bit mode */
		unsigned s = c->long64 ? 8 : size;
		uint64_t t = rm_read(c, d, s);
		if (s == 2)
			t &= 0xffff;
		check_canonical_ip(c, t);
		if (op == 2)
			push(c, s, c->code_size == 8 ? d->ip : d->ip & size_mask(s));
		d->ip = t;
		break;
	}
	case 3:
	case 5: { /* CALLF/JMPF m16:16/32/64 */
		uint64_t off;
		uint16_t sel;
		uint64_t ret = d->ip;
		if (!d->is_mem)
			raise_ud(c);
		off = lin_read(c, d->ea, size);
		sel = (uint16_t)lin_read(c, seg_la(c, d->seg, d->off + size), 2);
		vs_emu_far_jump(c, sel, off, op == 3, size, ret);
		d->ip = c->rip;
		break;
	}
	case 6: {
		unsigned s = c->long64 && size != 2 ? 8 : size;
		push(c, s, rm_read(c, d, s));
		break;
	}
	default:
		vs_emu_undefined(c, d);
	}
}

static void in_out(struct vs_emu_cpu *c, struct insn *d, uint16_t port, unsigned size, bool out)
{
	uint64_t v;
	vs_emu_check_io(c, port, size);
	if (out) {
		vs_emu_port_out(c, port, size, c->r[R_AX] & size_mask(size));
	} else {
		vs_emu_port_in(c, port, size, &v);
		reg_set(c, d, R_AX, size, v);
	}
}

void vs_emu_undefined(struct vs_emu_cpu *c, const struct insn *d)
{
	unsigned map = d->opcode >> 8;
	atomic_fetch_add_explicit(&c->acc->stats.ud[map > 2 ? 2 : map][d->opcode & 0xff], 1,
				  memory_order_relaxed);
	raise_ud(c);
}

/* Bit b set: byte b may be a prefix (legacy prefixes; 40-4F are REX in
 * 64-bit mode and INC/DEC otherwise, sorted out in the switch). */
static const uint64_t prefix_map[4] = {
	(1ull << 0x26) | (1ull << 0x2e) | (1ull << 0x36) | (1ull << 0x3e),
	0xffffull | (1ull << (0x64 - 64)) | (1ull << (0x65 - 64)) | (1ull << (0x66 - 64)) |
	    (1ull << (0x67 - 64)),
	0,
	(1ull << (0xf0 - 192)) | (1ull << (0xf2 - 192)) | (1ull << (0xf3 - 192)),
};

static inline __attribute__((always_inline)) void decode_prefixes(struct vs_emu_cpu *c, struct insn *d,
								  uint8_t *opcode)
{
	unsigned n = 0;
	for (;;) {
		uint8_t b = fetch8(c, d);
		if (++n > 15)
			raise_gp(c, 0);
		/* Most instructions have no prefix: skip the switch for them. */
		if (likely(!((prefix_map[b >> 6] >> (b & 63)) & 1))) {
			*opcode = b;
			goto done;
		}
		if ((b & 0xf0) == 0x40 && c->long64) { /* REX, the usual 64-bit prefix */
			d->rex = b;
			continue;
		}
		switch (b) {
		case 0x26:
		case 0x2e:
		case 0x36:
		case 0x3e:
			/* ES/CS/SS/DS overrides are ignored in 64-bit mode. */
			if (!c->long64) {
				d->seg = (b >> 3) & 3;
				d->seg_override = true;
			}
			d->rex = 0;
			continue;
		case 0x64:
		case 0x65:
			d->seg = b == 0x64 ? S_FS : S_GS;
			d->seg_override = true;
			d->rex = 0;
			continue;
		case 0x66:
			d->has66 = true;
			d->mandatory = b;
			d->rex = 0;
			continue;
		case 0x67:
			d->addrsize = c->code_size == 8 ? 4 : c->code_size == 4 ? 2 : 4;
			d->rex = 0;
			continue;
		case 0xf0:
			d->lock = true;
			d->rex = 0;
			continue;
		case 0xf2:
		case 0xf3:
			d->rep = b;
			d->mandatory = b;
			d->rex = 0;
			continue;
		default:
			if (c->long64 && (b & 0xf0) == 0x40) {
				d->rex = b;
				continue;
			}
			*opcode = b;
		done:
			if (c->long64) {
				d->opsize = (d->rex & 8) ? 8 : d->has66 ? 2 : 4;
			} else {
				unsigned def = c->code_size;
				d->opsize = (uint8_t)(d->has66 ? (def == 4 ? 2 : 4) : def);
			}
			return;
		}
	}
}

/* One-byte map. Returns with d->ip at the next instruction; the caller
 * commits it unless the handler moved RIP itself (rip_set). */
void vs_emu_step(struct vs_emu_cpu *c)
{
	struct insn d;
	uint8_t op = 0;
	unsigned size;
	uint64_t v, w;
	memset(&d, 0, sizeof(d));
	d.ip = c->rip;
	d.seg = S_DS;
	d.addrsize = c->code_size;
	if (c->code_size != 2) {
		/* Open the fetch window here while the code page is current. */
		uint64_t la = c->long64 ? d.ip : (uint32_t)(c->seg[S_CS].base + d.ip);
		if (likely((la & ~0xfffull) + 1 == c->fetch_page)) {
			d.fp = c->fetch_host + (la & 0xfff);
			d.fend = c->fetch_host + 4096;
		}
	}
	decode_prefixes(c, &d, &op);
	d.opcode = op;
	size = d.opsize;
	/* Which instructions miss the decoded blocks (the -v report). */
	if (op != 0x0f)
		c->interp[0][op]++;
	else if (d.fp && d.fp < d.fend)
		c->interp[1][*d.fp]++;
	/* The eight ALU operations, 00-3F. */
	if (op < 0x40 && (op & 7) < 6) {
		unsigned alu = op >> 3;
		if (d.lock && (op & 7) > 1)
			raise_ud(c);
		switch (op & 7) {
		case 0:
			vs_emu_modrm(c, &d, 0);
			if (d.lock && (!d.is_mem || alu == 7))
				raise_ud(c);
			alu_rm(c, &d, alu, 1, reg_get(c, &d, d.reg, 1));
			break;
		case 1:
			vs_emu_modrm(c, &d, 0);
			if (d.lock && (!d.is_mem || alu == 7))
				raise_ud(c);
			alu_rm(c, &d, alu, size, reg_get(c, &d, d.reg, size));
			break;
		case 2:
			vs_emu_modrm(c, &d, 0);
			v = alu_fast(c, alu, 1, reg_get(c, &d, d.reg, 1), rm_read(c, &d, 1));
			if (alu != 7)
				reg_set(c, &d, d.reg, 1, v);
			break;
		case 3:
			vs_emu_modrm(c, &d, 0);
			v = alu_fast(c, alu, size, reg_get(c, &d, d.reg, size), rm_read(c, &d, size));
			if (alu != 7)
				reg_set(c, &d, d.reg, size, v);
			break;
		case 4:
			v = alu_fast(c, alu, 1, c->r[R_AX], fetch8(c, &d));
			if (alu != 7)
				reg_set(c, &d, R_AX, 1, v);
			break;
		default:
			v = alu_fast(c, alu, size, c->r[R_AX], fetch_imm(c, &d, size));
			if (alu != 7)
				reg_set(c, &d, R_AX, size, v);
			break;
		}
		commit_ip(c, &d);
		return;
	}
	if (d.lock && !(op == 0x80 || op == 0x81 || op == 0x83 || op == 0x86 || op == 0x87 || op == 0xf6 ||
			op == 0xf7 || op == 0xfe || op == 0xff || op == 0x0f))
		raise_ud(c);
	switch (op) {
	case 0x06:
	case 0x0e:
	case 0x16:
	case 0x1e:
		if (c->long64)
			vs_emu_undefined(c, &d);
		push_seg(c, &d, op >> 3);
		break;
	case 0x07:
	case 0x17:
	case 0x1f:
		if (c->long64)
			vs_emu_undefined(c, &d);
		pop_seg(c, &d, op >> 3);
		break;
	case 0x0f:
		vs_emu_exec_0f(c, &d);
		return;
	case 0x27:
	case 0x2f:
	case 0x37:
	case 0x3f:
		if (c->long64)
			vs_emu_undefined(c, &d);
		vs_emu_bcd(c, op, 0);
		break;
	case 0xd4:
	case 0xd5:
		if (c->long64)
			vs_emu_undefined(c, &d);
		vs_emu_bcd(c, op, fetch8(c, &d));
		break;
	case 0x40 ... 0x4f: /* INC/DEC r (REX in 64-bit mode, handled above) */
		d.mod = 3;
		d.rm = op & 7;
		incdec(c, &d, size, op >= 0x48);
		break;
	case 0x50 ... 0x57:
		size = c->long64 ? (d.has66 ? 2 : 8) : size;
		push(c, size, reg_get(c, &d, (op & 7) | ((d.rex & 1) << 3), size));
		break;
	case 0x58 ... 0x5f:
		size = c->long64 ? (d.has66 ? 2 : 8) : size;
		v = pop(c, size);
		reg_set(c, &d, (op & 7) | ((d.rex & 1) << 3), size, v);
		break;
	case 0x60: /* PUSHA */
		if (c->long64)
			vs_emu_undefined(c, &d);
		w = c->r[R_SP];
		for (int r = 0; r < 8; r++)
			push(c, size, r == R_SP ? w : c->r[r]);
		break;
	case 0x61: /* POPA */
		if (c->long64)
			vs_emu_undefined(c, &d);
		for (int r = 7; r >= 0; r--) {
			v = pop(c, size);
			if (r != R_SP)
				reg_set(c, &d, r, size, v);
		}
		break;
	case 0x63:
		vs_emu_modrm(c, &d, 0);
		if (c->long64) { /* MOVSXD */
			v = (uint64_t)(int64_t)(int32_t)rm_read(c, &d, 4);
			reg_set(c, &d, d.reg, size, v);
		} else { /* ARPL: raise the RPL of a selector */
			if (!(c->cr0 & CR0_PE) || (c->rflags & F_VM))
				vs_emu_undefined(c, &d);
			v = rm_read(c, &d, 2);
			w = reg_get(c, &d, d.reg, 2);
			if ((v & 3) < (w & 3)) {
				rm_write(c, &d, 2, (v & ~3ull) | (w & 3));
				vs_emu_set_flags(c, F_ZF, F_ZF);
			} else {
				vs_emu_set_flags(c, 0, F_ZF);
			}
		}
		break;
	case 0x68: /* PUSH imm: sign-extended to the 64-bit stack slot in 64-bit mode */
		size = c->long64 && size != 2 ? 8 : size;
		v = fetch_imm(c, &d, size);
		push(c, size, v);
		break;
	case 0x6a:
		v = (uint64_t)(int64_t)(int8_t)fetch8(c, &d);
		push(c, c->long64 && size != 2 ? 8 : size, v);
		break;
	case 0x69:
	case 0x6b: {
		__int128 p;
		vs_emu_modrm(c, &d, op == 0x69 ? (size == 2 ? 2 : 4) : 1);
		v = rm_read(c, &d, size);
		w = op == 0x69 ? fetch_imm(c, &d, size) : (uint64_t)(int64_t)(int8_t)fetch8(c, &d);
		p = (__int128)sext(v, size) * sext(w, size);
		v = (uint64_t)p & size_mask(size);
		set_arith(c, vs_emu_szp(v, size) | (p != (__int128)sext(v, size) ? F_CF | F_OF : 0));
		reg_set(c, &d, d.reg, size, v);
		break;
	}
	case 0x6c ... 0x6f:
	case 0xa4 ... 0xa7:
	case 0xaa ... 0xaf:
		vs_emu_string(c, &d, op);
		return;
	case 0x70 ... 0x7f:
		v = (uint64_t)(int64_t)(int8_t)fetch8(c, &d);
		if (cond_fast(c, op & 15))
			jump(c, &d, d.ip + v);
		break;
	case 0x80:
	case 0x81:
	case 0x82:
	case 0x83: {
		unsigned s = op & 1 ? size : 1;
		if (op == 0x82 && c->long64)
			vs_emu_undefined(c, &d);
		vs_emu_modrm(c, &d, op == 0x81 ? (size == 2 ? 2 : 4) : 1);
		v = op == 0x81 ? fetch_imm(c, &d, s) : (uint64_t)(int64_t)(int8_t)fetch8(c, &d);
		if (d.lock && (!d.is_mem || (d.reg & 7) == 7))
			raise_ud(c);
		alu_rm(c, &d, d.reg & 7, s, v & size_mask(s));
		break;
	}
	case 0x84:
	case 0x85:
		size = op & 1 ? size : 1;
		vs_emu_modrm(c, &d, 0);
		vs_emu_alu(c, 4, size, rm_read(c, &d, size), reg_get(c, &d, d.reg, size));
		break;
	case 0x86:
	case 0x87:
		vs_emu_modrm(c, &d, 0);
		xchg_rm(c, &d, op & 1 ? size : 1);
		break;
	case 0x88:
	case 0x89:
		size = op & 1 ? size : 1;
		vs_emu_modrm(c, &d, 0);
		rm_write(c, &d, size, reg_get(c, &d, d.reg, size));
		break;
	case 0x8a:
	case 0x8b:
		size = op & 1 ? size : 1;
		vs_emu_modrm(c, &d, 0);
		reg_set(c, &d, d.reg, size, rm_read(c, &d, size));
		break;
	case 0x8c:
		vs_emu_modrm(c, &d, 0);
		if ((d.reg & 7) > 5)
			vs_emu_undefined(c, &d);
		rm_write(c, &d, d.is_mem ? 2 : size, c->seg[d.reg & 7].selector);
		break;
	case 0x8d:
		vs_emu_modrm(c, &d, 0);
		if (!d.is_mem)
			vs_emu_undefined(c, &d);
		reg_set(c, &d, d.reg, size, d.off);
		break;
	case 0x8e:
		vs_emu_modrm(c, &d, 0);
		if ((d.reg & 7) == S_CS || (d.reg & 7) > 5)
			vs_emu_undefined(c, &d);
		vs_emu_load_seg(c, d.reg & 7, (uint16_t)rm_read(c, &d, 2));
		if ((d.reg & 7) == S_SS)
			set_shadow(c);
		break;
	case 0x8f:
		vs_emu_modrm(c, &d, 0);
		size = c->long64 && size != 2 ? 8 : size;
		{
			uint64_t sp = sp_get(c);
			v = lin_read(c, seg_la(c, S_SS, sp), size);
			sp_set(c, sp + size);
			if (d.is_mem && d.addrsize != 2 && (d.rm & 7) == 4)
				d.ea = seg_la(c, d.seg, d.off + size); /* [rsp]: address after the pop */
			rm_write(c, &d, size, v);
		}
		break;
	case 0x90:
		if (d.rex & 1) { /* XCHG r8, rax */
			v = c->r[8];
			reg_set(c, &d, 8, size, c->r[R_AX]);
			reg_set(c, &d, R_AX, size, v);
		}
		break; /* NOP, and PAUSE (F3 90) */
	case 0x91 ... 0x97: {
		int r = (op & 7) | ((d.rex & 1) << 3);
		v = reg_get(c, &d, r, size);
		reg_set(c, &d, r, size, c->r[R_AX]);
		reg_set(c, &d, R_AX, size, v);
		break;
	}
	case 0x98:
		if (size == 2)
			reg_set(c, &d, R_AX, 2, (uint64_t)(int64_t)(int8_t)c->r[R_AX]);
		else if (size == 4)
			reg_set(c, &d, R_AX, 4, (uint64_t)(int64_t)(int16_t)c->r[R_AX]);
		else
			c->r[R_AX] = (uint64_t)(int64_t)(int32_t)c->r[R_AX];
		break;
	case 0x99:
		v = (c->r[R_AX] & sign_bit(size)) ? ~0ull : 0;
		reg_set(c, &d, R_DX, size, v);
		break;
	case 0x9a: { /* CALLF ptr16:16/32 */
		uint64_t off;
		uint16_t sel;
		if (c->long64)
			vs_emu_undefined(c, &d);
		off = fetch_n(c, &d, size);
		sel = (uint16_t)fetch_n(c, &d, 2);
		vs_emu_far_jump(c, sel, off, true, size, d.ip);
		return;
	}
	case 0x9b: /* FWAIT: also where a pending unmasked x87 exception (FSW.ES) is taken */
		if ((c->cr0 & (CR0_MP | CR0_TS)) == (CR0_MP | CR0_TS))
			vs_emu_raise(c, EX_NM, 0, false);
		if (c->fpu.fsw & 0x80)
			vs_emu_raise(c, EX_MF, 0, false);
		break;
	case 0x9c: /* PUSHF */
		if ((c->rflags & F_VM) && ((c->rflags & F_IOPL) >> 12) < 3)
			raise_gp(c, 0);
		size = c->long64 && size != 2 ? 8 : size;
		push(c, size, vs_emu_flags(c) & ~(F_VM | F_RF));
		break;
	case 0x9d: /* POPF */
		if ((c->rflags & F_VM) && ((c->rflags & F_IOPL) >> 12) < 3)
			raise_gp(c, 0);
		size = c->long64 && size != 2 ? 8 : size;
		v = pop(c, size);
		vs_emu_write_rflags(c, v, size);
		break;
	case 0x9e: /* SAHF */
		vs_emu_set_flags(c, (c->r[R_AX] >> 8) & 0xff, F_CF | F_PF | F_AF | F_ZF | F_SF);
		break;
	case 0x9f: /* LAHF */
		reg_set(c, &d, 4, 1, (vs_emu_flags(c) & 0xd5) | 2);
		break;
	case 0xa0 ... 0xa3: { /* MOV AL/AX, moffs */
		uint64_t off = fetch_n(c, &d, d.addrsize);
		size = op & 1 ? size : 1;
		w = seg_la(c, d.seg, off);
		if (op < 0xa2)
			reg_set(c, &d, R_AX, size, lin_read(c, w, size));
		else
			lin_write(c, w, size, c->r[R_AX]);
		break;
	}
	case 0xa8:
		vs_emu_alu(c, 4, 1, c->r[R_AX], fetch8(c, &d));
		break;
	case 0xa9:
		vs_emu_alu(c, 4, size, c->r[R_AX], fetch_imm(c, &d, size));
		break;
	case 0xb0 ... 0xb7:
		reg_set(c, &d, (op & 7) | ((d.rex & 1) << 3), 1, fetch8(c, &d));
		break;
	case 0xb8 ... 0xbf:
		v = fetch_n(c, &d, size);
		reg_set(c, &d, (op & 7) | ((d.rex & 1) << 3), size, v);
		break;
	case 0xc0:
	case 0xc1:
		vs_emu_modrm(c, &d, 1);
		group2(c, &d, op & 1 ? size : 1, fetch8(c, &d));
		break;
	case 0xd0 ... 0xd3:
		vs_emu_modrm(c, &d, 0);
		group2(c, &d, op & 1 ? size : 1, op >= 0xd2 ? c->r[R_CX] & 0xff : 1);
		break;
	case 0xc2:
	case 0xc3: {
		unsigned s = c->long64 && size != 2 ? 8 : size;
		uint16_t imm = op == 0xc2 ? (uint16_t)fetch_n(c, &d, 2) : 0;
		uint64_t sp = sp_get(c);
		v = lin_read(c, seg_la(c, S_SS, sp), s);
		check_canonical_ip(c, v);
		sp_set(c, sp + s + imm);
		jump(c, &d, v);
		break;
	}
	case 0xc4:
	case 0xc5: /* LES/LDS (VEX in 64-bit mode: not advertised) */
		vs_emu_modrm(c, &d, 0);
		if (c->long64 || !d.is_mem)
			vs_emu_undefined(c, &d);
		v = lin_read(c, d.ea, size);
		w = lin_read(c, seg_la(c, d.seg, d.off + size), 2);
		vs_emu_load_seg(c, op == 0xc4 ? S_ES : S_DS, (uint16_t)w);
		reg_set(c, &d, d.reg, size, v);
		break;
	case 0xc6:
	case 0xc7:
		size = op & 1 ? size : 1;
		vs_emu_modrm(c, &d, size == 1 ? 1 : size == 2 ? 2 : 4);
		if ((d.reg & 7) != 0)
			vs_emu_undefined(c, &d);
		v = size == 1 ? fetch8(c, &d) : fetch_imm(c, &d, size);
		rm_write(c, &d, size, v);
		break;
	case 0xc8:
		enter(c, &d);
		break;
	case 0xc9: { /* LEAVE */
		unsigned ssz = stack_size(c);
		uint64_t bp = ssz == 8 ? c->r[R_BP] : ssz == 4 ? (uint32_t)c->r[R_BP] : (uint16_t)c->r[R_BP];
		size = c->long64 && size != 2 ? 8 : size;
		v = lin_read(c, seg_la(c, S_SS, bp), size);
		sp_set(c, bp + size);
		reg_set(c, &d, R_BP, size, v);
		break;
	}
	case 0xca:
	case 0xcb: {
		uint16_t imm = op == 0xca ? (uint16_t)fetch_n(c, &d, 2) : 0;
		vs_emu_far_ret(c, size, imm);
		return;
	}
	case 0xcc:
		vs_emu_deliver_soft(c, EX_BP, insn_next_ip(c, &d));
		return;
	case 0xcd:
		v = fetch8(c, &d);
		if ((c->rflags & F_VM) && ((c->rflags & F_IOPL) >> 12) < 3)
			raise_gp(c, 0);
		vs_emu_deliver_soft(c, (int)v, insn_next_ip(c, &d));
		return;
	case 0xce:
		if (c->long64)
			vs_emu_undefined(c, &d);
		if (vs_emu_flags(c) & F_OF) {
			vs_emu_deliver_soft(c, EX_OF, insn_next_ip(c, &d));
			return;
		}
		commit_ip(c, &d);
		return;
	case 0xcf:
		vs_emu_iret(c, size);
		return;
	case 0xd7: /* XLAT */
		w = c->r[R_BX] + (c->r[R_AX] & 0xff);
		w &= d.addrsize == 8 ? ~0ull : d.addrsize == 4 ? 0xffffffffull : 0xffff;
		reg_set(c, &d, R_AX, 1, lin_read(c, seg_la(c, d.seg, w), 1));
		break;
	case 0xd8 ... 0xdf:
		vs_emu_modrm(c, &d, 0);
		vs_emu_fpu_op(c, &d, 0, op);
		break;
	case 0xe0 ... 0xe3: { /* LOOPNE, LOOPE, LOOP, JCXZ */
		uint64_t am = d.addrsize == 8 ? ~0ull : d.addrsize == 4 ? 0xffffffffull : 0xffff;
		bool take;
		v = (uint64_t)(int64_t)(int8_t)fetch8(c, &d);
		if (op == 0xe3) {
			take = (c->r[R_CX] & am) == 0;
		} else {
			w = (c->r[R_CX] - 1) & am;
			c->r[R_CX] = d.addrsize == 4 ? w : (c->r[R_CX] & ~am) | w;
			take = w != 0;
			if (op == 0xe0)
				take = take && !vs_emu_cond(c, 4);
			else if (op == 0xe1)
				take = take && vs_emu_cond(c, 4);
		}
		if (take)
			jump(c, &d, d.ip + v);
		break;
	}
	case 0xe4:
	case 0xe5:
	case 0xe6:
	case 0xe7:
		v = fetch8(c, &d);
		in_out(c, &d, (uint16_t)v, op & 1 ? (size == 8 ? 4 : size) : 1, op >= 0xe6);
		break;
	case 0xec ... 0xef:
		in_out(c, &d, (uint16_t)c->r[R_DX], op & 1 ? (size == 8 ? 4 : size) : 1, op >= 0xee);
		break;
	case 0xe8: { /* CALL rel */
		unsigned s = c->long64 ? 8 : size;
		v = fetch_imm(c, &d, size == 8 ? 4 : size);
		if (size == 8)
			v = (uint64_t)(int64_t)(int32_t)v;
		else if (size == 2)
			v = (uint64_t)(int64_t)(int16_t)v;
		else
			v = (uint64_t)(int64_t)(int32_t)v;
		push(c, s, d.ip);
		jump(c, &d, d.ip + v);
		break;
	}
	case 0xe9:
		v = fetch_n(c, &d, size == 2 ? 2 : 4);
		v = size == 2 ? (uint64_t)(int64_t)(int16_t)v : (uint64_t)(int64_t)(int32_t)v;
		jump(c, &d, d.ip + v);
		break;
	case 0xea: { /* JMPF ptr */
		uint64_t off;
		uint16_t sel;
		if (c->long64)
			vs_emu_undefined(c, &d);
		off = fetch_n(c, &d, size);
		sel = (uint16_t)fetch_n(c, &d, 2);
		vs_emu_far_jump(c, sel, off, false, size, d.ip);
		return;
	}
	case 0xeb:
		v = (uint64_t)(int64_t)(int8_t)fetch8(c, &d);
		jump(c, &d, d.ip + v);
		break;
	case 0xf1: /* INT1 */
		commit_ip(c, &d);
		vs_emu_deliver(c, EX_DB, false, false, 0);
		return;
	case 0xf4:
		if (c->cpl != 0)
			raise_gp(c, 0);
		commit_ip(c, &d);
		vs_emu_hlt(c);
		return;
	case 0xf5:
		vs_emu_set_flags(c, vs_emu_flags(c) ^ F_CF, F_CF);
		break;
	case 0xf6:
	case 0xf7:
		vs_emu_modrm(c, &d, 0);
		if ((d.reg & 7) < 2)
			vs_emu_riprel_imm(c, &d, op & 1 ? (size == 2 ? 2 : 4) : 1);
		if (d.lock && ((d.reg & 7) != 2 && (d.reg & 7) != 3))
			raise_ud(c);
		group3(c, &d, op & 1 ? size : 1);
		break;
	case 0xf8:
	case 0xf9:
		vs_emu_set_flags(c, op & 1 ? F_CF : 0, F_CF);
		break;
	case 0xfa:
	case 0xfb:
		if ((c->cr0 & CR0_PE) && c->cpl > ((c->rflags & F_IOPL) >> 12))
			raise_gp(c, 0);
		if (op == 0xfb) {
			if (!(c->rflags & F_IF))
				set_shadow(c);
			c->rflags |= F_IF;
			irq_window(c);
		} else {
			c->rflags &= ~F_IF;
		}
		break;
	case 0xfc:
	case 0xfd:
		c->rflags = (c->rflags & ~F_DF) | (op & 1 ? F_DF : 0);
		break;
	case 0xfe:
		vs_emu_modrm(c, &d, 0);
		if ((d.reg & 7) > 1)
			vs_emu_undefined(c, &d);
		if (d.lock && !d.is_mem)
			raise_ud(c);
		incdec(c, &d, 1, d.reg & 1);
		break;
	case 0xff:
		vs_emu_modrm(c, &d, 0);
		if (d.lock && ((d.reg & 7) > 1 || !d.is_mem))
			raise_ud(c);
		group5(c, &d);
		break;
	default:
		vs_emu_undefined(c, &d);
	}
	commit_ip(c, &d);
}

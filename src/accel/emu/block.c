/* The decoded-block cache: runs of common instructions decoded once into
 * records (a handler and its pre-decoded operands) and replayed from
 * there. Anything the block decoder does not know ends the block and runs
 * through the interpreter (vs_emu_step), so the records only cover the
 * plain integer instructions that dominate kernel and user code.
 *
 * Blocks are per vCPU (no locking), keyed by the host offset of their
 * first byte in guest RAM (so by guest-physical address) and the decoding
 * mode (64-bit or 32-bit code; 16-bit code always interprets).
 *
 * Self-modifying code, two mechanisms:
 * - Every block keeps a copy of its bytes and compares them on entry:
 *   writes from other vCPUs, devices or this vCPU's string and atomic
 *   paths are seen at the next block boundary, which is as soon as
 *   cross-modifying code is guaranteed to be seen on hardware.
 * - Within a block, a store into the block's own page must stop it after
 *   the storing instruction: pages with blocks are marked in the vCPU's
 *   code map, never get a write tag in its TLB, and the write slow path
 *   (vs_emu_translate) clears the mark and raises `attention`, which ends
 *   the block. The mark comes back (with the page's write tags flushed)
 *   the next time a block on that page is entered.
 *
 * Faults: c->rip is at each record's instruction while it runs, and every
 * handler loads and checks before it writes, like the interpreter. */
#include <stdlib.h>
#include <sys/mman.h>

#include "accel/emu/cpu.h"

#define BLK_BITS 13
#define BLK_COUNT (1u << BLK_BITS)
#define BLK_RECS 16
#define BLK_BYTES 256

struct blk_rec;
typedef void (*blk_fn)(struct vs_emu_cpu *c, struct blk_rec *r);

struct blk_rec {
	blk_fn fn;
	struct insn d; /* prefixes, sizes, ModRM fields; ea/off filled per run */
	int64_t disp;  /* memory operand: displacement */
	uint64_t imm;  /* immediate, or the branch displacement */
	int8_t base, index;
	uint8_t scale;
	uint8_t len; /* instruction length */
	uint8_t op;  /* ALU operation, condition code, shift kind... */
	uint8_t size;
	uint8_t dst, src; /* register operands of the specialised handlers */
};

struct blk {
	uint64_t key; /* host offset << 2 | mode, 0: empty */
	const uint8_t *host;
	uint16_t nbytes;
	uint8_t nrec;
	bool tail; /* interpret one instruction after the records */
	uint8_t bytes[BLK_BYTES];
	struct blk_rec rec[BLK_RECS];
};

/* ---- execution helpers ---- */

static inline uint64_t next_ip(struct vs_emu_cpu *c, const struct blk_rec *r)
{
	return c->rip + r->len;
}

static inline void commit(struct vs_emu_cpu *c, uint64_t ip)
{
	c->rip = c->code_size == 8 ? ip : (uint32_t)ip;
}

/* Same truncation as the interpreter's near jumps. */
static inline void jump_to(struct vs_emu_cpu *c, const struct blk_rec *r, uint64_t target)
{
	if (r->d.opsize == 2 && c->code_size != 8)
		target &= 0xffff;
	commit(c, target);
}

static inline void ea(struct vs_emu_cpu *c, struct blk_rec *r)
{
	uint64_t off = (uint64_t)r->disp;
	if (!r->d.is_mem)
		return;
	if (r->base >= 0)
		off += c->r[r->base];
	if (r->index >= 0)
		off += c->r[r->index] << r->scale;
	if (r->d.riprel)
		off += next_ip(c, r);
	if (r->d.addrsize == 4)
		off = (uint32_t)off;
	r->d.off = off;
	r->d.ea = seg_la(c, r->d.seg, off);
}

/* ALU operation into r/m (CMP only reads). */
static inline void alu_into_rm(struct vs_emu_cpu *c, struct blk_rec *r, unsigned op, unsigned size,
			       uint64_t src)
{
	struct insn *d = &r->d;
	struct rmw m;
	uint64_t old, v;
	if (op == 7) {
		alu_fast(c, 7, size, rm_read(c, d, size), src);
		return;
	}
	if (!d->is_mem) {
		reg_set(c, d, d->rm, size, alu_fast(c, op, size, reg_get(c, d, d->rm, size), src));
		return;
	}
	do {
		old = vs_emu_rmw_load(c, d, size, &m);
		v = alu_fast(c, op, size, old, src);
	} while (!vs_emu_rmw_store(c, d, size, &m, old, v));
}

/* CF before INC/DEC, with the common cases inline. */
static inline bool cf_now(struct vs_emu_cpu *c)
{
	if (c->lf_op == LF_INC || c->lf_op == LF_DEC)
		return c->lf_cf;
	if (c->lf_op == LF_LOGIC)
		return false;
	return vs_emu_cf(c);
}

/* ---- handlers ---- */

static void h_alu_rm_reg(struct vs_emu_cpu *c, struct blk_rec *r)
{
	ea(c, r);
	alu_into_rm(c, r, r->op, r->size, reg_get(c, &r->d, r->d.reg, r->size));
	commit(c, next_ip(c, r));
}

static void h_alu_rm_imm(struct vs_emu_cpu *c, struct blk_rec *r)
{
	ea(c, r);
	alu_into_rm(c, r, r->op, r->size, r->imm);
	commit(c, next_ip(c, r));
}

static void h_alu_reg_rm(struct vs_emu_cpu *c, struct blk_rec *r)
{
	uint64_t v;
	ea(c, r);
	v = alu_fast(c, r->op, r->size, reg_get(c, &r->d, r->d.reg, r->size), rm_read(c, &r->d, r->size));
	if (r->op != 7)
		reg_set(c, &r->d, r->d.reg, r->size, v);
	commit(c, next_ip(c, r));
}

static void h_alu_acc_imm(struct vs_emu_cpu *c, struct blk_rec *r)
{
	uint64_t v = alu_fast(c, r->op, r->size, c->r[R_AX], r->imm);
	if (r->op != 7)
		reg_set(c, &r->d, R_AX, r->size, v);
	commit(c, next_ip(c, r));
}

static void h_test_rm_reg(struct vs_emu_cpu *c, struct blk_rec *r)
{
	ea(c, r);
	vs_emu_alu(c, 4, r->size, rm_read(c, &r->d, r->size), reg_get(c, &r->d, r->d.reg, r->size));
	commit(c, next_ip(c, r));
}

static void h_test_rm_imm(struct vs_emu_cpu *c, struct blk_rec *r)
{
	ea(c, r);
	vs_emu_alu(c, 4, r->size, rm_read(c, &r->d, r->size), r->imm);
	commit(c, next_ip(c, r));
}

static void h_mov_rm_reg(struct vs_emu_cpu *c, struct blk_rec *r)
{
	ea(c, r);
	rm_write(c, &r->d, r->size, reg_get(c, &r->d, r->d.reg, r->size));
	commit(c, next_ip(c, r));
}

static void h_mov_reg_rm(struct vs_emu_cpu *c, struct blk_rec *r)
{
	ea(c, r);
	reg_set(c, &r->d, r->d.reg, r->size, rm_read(c, &r->d, r->size));
	commit(c, next_ip(c, r));
}

static void h_mov_rm_imm(struct vs_emu_cpu *c, struct blk_rec *r)
{
	ea(c, r);
	rm_write(c, &r->d, r->size, r->imm);
	commit(c, next_ip(c, r));
}

static void h_mov_reg_imm(struct vs_emu_cpu *c, struct blk_rec *r)
{
	reg_set(c, &r->d, r->d.rm, r->size, r->imm);
	commit(c, next_ip(c, r));
}

static void h_lea(struct vs_emu_cpu *c, struct blk_rec *r)
{
	ea(c, r);
	reg_set(c, &r->d, r->d.reg, r->size, r->d.off);
	commit(c, next_ip(c, r));
}

static void h_movx(struct vs_emu_cpu *c, struct blk_rec *r)
{
	/* op: source size; imm: 1 to sign-extend */
	uint64_t v;
	ea(c, r);
	v = rm_read(c, &r->d, r->op);
	if (r->imm)
		v = (uint64_t)sext(v, r->op);
	reg_set(c, &r->d, r->d.reg, r->size, v);
	commit(c, next_ip(c, r));
}

static void h_cmov(struct vs_emu_cpu *c, struct blk_rec *r)
{
	uint64_t v;
	ea(c, r);
	v = rm_read(c, &r->d, r->size);
	if (cond_fast(c, r->op))
		reg_set(c, &r->d, r->d.reg, r->size, v);
	else if (r->size == 4)
		reg_set(c, &r->d, r->d.reg, 4, reg_get(c, &r->d, r->d.reg, 4));
	commit(c, next_ip(c, r));
}

static void h_setcc(struct vs_emu_cpu *c, struct blk_rec *r)
{
	ea(c, r);
	rm_write(c, &r->d, 1, cond_fast(c, r->op));
	commit(c, next_ip(c, r));
}

static void h_incdec(struct vs_emu_cpu *c, struct blk_rec *r)
{
	struct insn *d = &r->d;
	unsigned size = r->size;
	bool dec = r->op, cf = cf_now(c);
	struct rmw m;
	uint64_t old, v;
	ea(c, r);
	if (!d->is_mem) {
		old = reg_get(c, d, d->rm, size);
		v = (dec ? old - 1 : old + 1) & size_mask(size);
		reg_set(c, d, d->rm, size, v);
	} else {
		do {
			old = vs_emu_rmw_load(c, d, size, &m);
			v = (dec ? old - 1 : old + 1) & size_mask(size);
		} while (!vs_emu_rmw_store(c, d, size, &m, old, v));
	}
	set_lazy(c, dec ? LF_DEC : LF_INC, size, old, 1, v);
	c->lf_cf = cf;
	commit(c, next_ip(c, r));
}

static void h_shift(struct vs_emu_cpu *c, struct blk_rec *r)
{
	/* imm: the count, or 0x100 for CL */
	struct insn *d = &r->d;
	unsigned count = r->imm == 0x100 ? (unsigned)(c->r[R_CX] & 0xff) : (unsigned)r->imm;
	struct rmw m;
	uint64_t old, v;
	if (!d->is_mem) {
		reg_set(c, d, d->rm, r->size,
			vs_emu_shift(c, r->op, r->size, reg_get(c, d, d->rm, r->size), count));
		commit(c, next_ip(c, r));
		return;
	}
	ea(c, r);
	do {
		old = vs_emu_rmw_load(c, d, r->size, &m);
		v = vs_emu_shift(c, r->op, r->size, old, count);
	} while (!vs_emu_rmw_store(c, d, r->size, &m, old, v));
	commit(c, next_ip(c, r));
}

static void h_notneg(struct vs_emu_cpu *c, struct blk_rec *r)
{
	struct insn *d = &r->d;
	struct rmw m;
	uint64_t old, v;
	if (!d->is_mem) {
		old = reg_get(c, d, d->rm, r->size);
		v = r->op == 2 ? ~old & size_mask(r->size) : vs_emu_alu(c, 5, r->size, 0, old);
		reg_set(c, d, d->rm, r->size, v);
		commit(c, next_ip(c, r));
		return;
	}
	ea(c, r);
	do {
		old = vs_emu_rmw_load(c, d, r->size, &m);
		v = r->op == 2 ? ~old & size_mask(r->size) : vs_emu_alu(c, 5, r->size, 0, old);
	} while (!vs_emu_rmw_store(c, d, r->size, &m, old, v));
	commit(c, next_ip(c, r));
}

/* IMUL r, r/m (imm: 0F AF multiplies by the register itself). */
static void h_imul(struct vs_emu_cpu *c, struct blk_rec *r)
{
	unsigned size = r->size;
	uint64_t a, b, v;
	__int128 p;
	ea(c, r);
	b = rm_read(c, &r->d, size);
	a = r->op ? r->imm : reg_get(c, &r->d, r->d.reg, size);
	p = (__int128)sext(a, size) * sext(b, size);
	v = (uint64_t)p & size_mask(size);
	set_arith(c, vs_emu_szp(v, size) | (p != (__int128)sext(v, size) ? F_CF | F_OF : 0));
	reg_set(c, &r->d, r->d.reg, size, v);
	commit(c, next_ip(c, r));
}

/* BT/BTS/BTR/BTC r/m, imm8 (op: 0 to 3). An immediate bit offset wraps
 * within the operand. */
static void h_bt_imm(struct vs_emu_cpu *c, struct blk_rec *r)
{
	struct insn *d = &r->d;
	uint64_t mask = 1ull << (r->imm & (r->size * 8u - 1)), old, v;
	struct rmw m;
	ea(c, r);
	if (r->op == 0) {
		v = rm_read(c, d, r->size);
		vs_emu_set_flags(c, (v & mask) ? F_CF : 0, F_CF);
		commit(c, next_ip(c, r));
		return;
	}
	do {
		old = vs_emu_rmw_load(c, d, r->size, &m);
		v = r->op == 1 ? old | mask : r->op == 2 ? old & ~mask : old ^ mask;
	} while (!vs_emu_rmw_store(c, d, r->size, &m, old, v));
	vs_emu_set_flags(c, (old & mask) ? F_CF : 0, F_CF);
	commit(c, next_ip(c, r));
}

static void h_movsxd(struct vs_emu_cpu *c, struct blk_rec *r)
{
	ea(c, r);
	reg_set(c, &r->d, r->d.reg, r->size, (uint64_t)(int64_t)(int32_t)rm_read(c, &r->d, 4));
	commit(c, next_ip(c, r));
}

static void h_push(struct vs_emu_cpu *c, struct blk_rec *r)
{
	push(c, r->size, reg_get(c, &r->d, r->d.rm, r->size));
	commit(c, next_ip(c, r));
}

static void h_pop(struct vs_emu_cpu *c, struct blk_rec *r)
{
	uint64_t v = pop(c, r->size);
	reg_set(c, &r->d, r->d.rm, r->size, v);
	commit(c, next_ip(c, r));
}

static void h_nop(struct vs_emu_cpu *c, struct blk_rec *r)
{
	commit(c, next_ip(c, r));
}

static void h_leave(struct vs_emu_cpu *c, struct blk_rec *r)
{
	unsigned ssz = stack_size(c);
	uint64_t bp = ssz == 8 ? c->r[R_BP] : ssz == 4 ? (uint32_t)c->r[R_BP] : (uint16_t)c->r[R_BP];
	uint64_t v = lin_read(c, seg_la(c, S_SS, bp), r->size);
	sp_set(c, bp + r->size);
	reg_set(c, &r->d, R_BP, r->size, v);
	commit(c, next_ip(c, r));
}

static void h_jcc(struct vs_emu_cpu *c, struct blk_rec *r)
{
	uint64_t ip = next_ip(c, r);
	if (cond_fast(c, r->op))
		jump_to(c, r, ip + r->imm);
	else
		commit(c, ip);
}

static void h_jmp(struct vs_emu_cpu *c, struct blk_rec *r)
{
	jump_to(c, r, next_ip(c, r) + r->imm);
}

static void h_call(struct vs_emu_cpu *c, struct blk_rec *r)
{
	uint64_t ip = next_ip(c, r);
	push(c, r->size, ip);
	jump_to(c, r, ip + r->imm);
}

static void h_ret(struct vs_emu_cpu *c, struct blk_rec *r)
{
	uint64_t sp = sp_get(c);
	uint64_t v = lin_read(c, seg_la(c, S_SS, sp), r->size);
	if (c->long64 && !is_canonical(v))
		raise_gp(c, 0);
	sp_set(c, sp + r->size);
	jump_to(c, r, v);
}

/* ---- specialised handlers: 64-bit code, 32/64-bit register operands ----
 * The generic handlers above follow the interpreter's switches on operand
 * size and operation; these are chosen at decode time for the commonest
 * shapes and do the same with none of the switches. RIP needs no masking
 * in 64-bit code. */

#define ALU_RR(NAME, EXPR, LF, WRITE)                                                                    \
	static void NAME##_rr64(struct vs_emu_cpu *c, struct blk_rec *r)                                 \
	{                                                                                                \
		uint64_t a = c->r[r->dst], b = c->r[r->src], res = (EXPR);                               \
		if (WRITE)                                                                               \
			c->r[r->dst] = res;                                                              \
		set_lazy(c, LF, 8, a, b, res);                                                           \
		c->rip += r->len;                                                                        \
	}                                                                                                \
	static void NAME##_rr32(struct vs_emu_cpu *c, struct blk_rec *r)                                 \
	{                                                                                                \
		uint64_t a = (uint32_t)c->r[r->dst], b = (uint32_t)c->r[r->src], res = (uint32_t)(EXPR); \
		if (WRITE)                                                                               \
			c->r[r->dst] = res;                                                              \
		set_lazy(c, LF, 4, a, b, res);                                                           \
		c->rip += r->len;                                                                        \
	}                                                                                                \
	static void NAME##_ri64(struct vs_emu_cpu *c, struct blk_rec *r)                                 \
	{                                                                                                \
		uint64_t a = c->r[r->dst], b = r->imm, res = (EXPR);                                     \
		if (WRITE)                                                                               \
			c->r[r->dst] = res;                                                              \
		set_lazy(c, LF, 8, a, b, res);                                                           \
		c->rip += r->len;                                                                        \
	}                                                                                                \
	static void NAME##_ri32(struct vs_emu_cpu *c, struct blk_rec *r)                                 \
	{                                                                                                \
		uint64_t a = (uint32_t)c->r[r->dst], b = r->imm, res = (uint32_t)(EXPR);                 \
		if (WRITE)                                                                               \
			c->r[r->dst] = res;                                                              \
		set_lazy(c, LF, 4, a, b, res);                                                           \
		c->rip += r->len;                                                                        \
	}

ALU_RR(s_add, a + b, LF_ADD, 1)
ALU_RR(s_or, a | b, LF_LOGIC, 1)
ALU_RR(s_and, a &b, LF_LOGIC, 1)
ALU_RR(s_sub, a - b, LF_SUB, 1)
ALU_RR(s_xor, a ^ b, LF_LOGIC, 1)
ALU_RR(s_cmp, a - b, LF_SUB, 0)

/* [op][0: 32-bit, 1: 64-bit]; ADC and SBB stay generic. */
static const blk_fn alu_rr[8][2] = {
	{ s_add_rr32, s_add_rr64 },
	{ s_or_rr32, s_or_rr64 },
	{ NULL, NULL },
	{ NULL, NULL },
	{ s_and_rr32, s_and_rr64 },
	{ s_sub_rr32, s_sub_rr64 },
	{ s_xor_rr32, s_xor_rr64 },
	{ s_cmp_rr32, s_cmp_rr64 },
};
static const blk_fn alu_ri[8][2] = {
	{ s_add_ri32, s_add_ri64 },
	{ s_or_ri32, s_or_ri64 },
	{ NULL, NULL },
	{ NULL, NULL },
	{ s_and_ri32, s_and_ri64 },
	{ s_sub_ri32, s_sub_ri64 },
	{ s_xor_ri32, s_xor_ri64 },
	{ s_cmp_ri32, s_cmp_ri64 },
};

static void s_mov_rr64(struct vs_emu_cpu *c, struct blk_rec *r)
{
	c->r[r->dst] = c->r[r->src];
	c->rip += r->len;
}

static void s_mov_rr32(struct vs_emu_cpu *c, struct blk_rec *r)
{
	c->r[r->dst] = (uint32_t)c->r[r->src];
	c->rip += r->len;
}

static void s_mov_ri(struct vs_emu_cpu *c, struct blk_rec *r)
{
	c->r[r->dst] = r->imm; /* 32-bit immediates were zero-extended at decode */
	c->rip += r->len;
}

static void s_load64(struct vs_emu_cpu *c, struct blk_rec *r)
{
	uint64_t v;
	ea(c, r);
	v = lin_read(c, r->d.ea, 8);
	c->r[r->dst] = v;
	c->rip += r->len;
}

static void s_load32(struct vs_emu_cpu *c, struct blk_rec *r)
{
	uint64_t v;
	ea(c, r);
	v = lin_read(c, r->d.ea, 4);
	c->r[r->dst] = v;
	c->rip += r->len;
}

static void s_store64(struct vs_emu_cpu *c, struct blk_rec *r)
{
	ea(c, r);
	lin_write(c, r->d.ea, 8, c->r[r->src]);
	c->rip += r->len;
}

static void s_store32(struct vs_emu_cpu *c, struct blk_rec *r)
{
	ea(c, r);
	lin_write(c, r->d.ea, 4, (uint32_t)c->r[r->src]);
	c->rip += r->len;
}

static void s_incdec64(struct vs_emu_cpu *c, struct blk_rec *r)
{
	bool cf = cf_now(c);
	uint64_t old = c->r[r->dst], v = r->op ? old - 1 : old + 1;
	c->r[r->dst] = v;
	set_lazy(c, r->op ? LF_DEC : LF_INC, 8, old, 1, v);
	c->lf_cf = cf;
	c->rip += r->len;
}

static void s_incdec32(struct vs_emu_cpu *c, struct blk_rec *r)
{
	bool cf = cf_now(c);
	uint64_t old = (uint32_t)c->r[r->dst], v = (uint32_t)(r->op ? old - 1 : old + 1);
	c->r[r->dst] = v;
	set_lazy(c, r->op ? LF_DEC : LF_INC, 4, old, 1, v);
	c->lf_cf = cf;
	c->rip += r->len;
}

/* LEA: no segment base, 64-bit addresses. */
static void s_lea64(struct vs_emu_cpu *c, struct blk_rec *r)
{
	uint64_t off = (uint64_t)r->disp;
	if (r->base >= 0)
		off += c->r[r->base];
	if (r->index >= 0)
		off += c->r[r->index] << r->scale;
	if (r->d.riprel)
		off += c->rip + r->len;
	c->r[r->dst] = off;
	c->rip += r->len;
}

static void s_jcc64(struct vs_emu_cpu *c, struct blk_rec *r)
{
	uint64_t ip = c->rip + r->len;
	c->rip = cond_fast(c, r->op) ? ip + r->imm : ip;
}

static void s_jmp64(struct vs_emu_cpu *c, struct blk_rec *r)
{
	c->rip += r->len + r->imm;
}

/* 64-bit stack operations: an 8-byte stack with no segment base. */
static void s_push64(struct vs_emu_cpu *c, struct blk_rec *r)
{
	uint64_t sp = c->r[R_SP] - 8;
	lin_write(c, sp, 8, c->r[r->dst]);
	c->r[R_SP] = sp;
	c->rip += r->len;
}

static void s_pop64(struct vs_emu_cpu *c, struct blk_rec *r)
{
	uint64_t v = lin_read(c, c->r[R_SP], 8);
	c->r[R_SP] += 8;
	c->r[r->dst] = v;
	c->rip += r->len;
}

static void s_call64(struct vs_emu_cpu *c, struct blk_rec *r)
{
	uint64_t ip = c->rip + r->len, sp = c->r[R_SP] - 8;
	lin_write(c, sp, 8, ip);
	c->r[R_SP] = sp;
	c->rip = ip + r->imm;
}

static void s_ret64(struct vs_emu_cpu *c, struct blk_rec *r)
{
	uint64_t v = lin_read(c, c->r[R_SP], 8);
	(void)r;
	if (!is_canonical(v))
		raise_gp(c, 0);
	c->r[R_SP] += 8;
	c->rip = v;
}

/* Pick a specialised handler for a decoded record, when one fits. */
static void specialise(struct vs_emu_cpu *c, struct blk_rec *r)
{
	blk_fn f = r->fn;
	bool mem = r->d.is_mem;
	unsigned w = r->size == 8;
	if (!c->long64)
		return;
	if (f == h_jcc) {
		r->fn = s_jcc64;
		return;
	}
	if (f == h_jmp) {
		r->fn = s_jmp64;
		return;
	}
	if (r->size == 8 && r->d.opsize != 2 && (f == h_call || f == h_ret)) {
		r->fn = f == h_call ? s_call64 : s_ret64;
		return;
	}
	if (r->size == 8 && (f == h_push || f == h_pop)) {
		r->dst = r->d.rm;
		r->fn = f == h_push ? s_push64 : s_pop64;
		return;
	}
	if (r->size != 8 && r->size != 4)
		return;
	if (f == h_alu_rm_reg && !mem && alu_rr[r->op][w]) {
		r->dst = r->d.rm;
		r->src = r->d.reg;
		r->fn = alu_rr[r->op][w];
	} else if (f == h_alu_reg_rm && !mem && alu_rr[r->op][w]) {
		r->dst = r->d.reg;
		r->src = r->d.rm;
		r->fn = alu_rr[r->op][w];
	} else if (f == h_alu_rm_imm && !mem && alu_ri[r->op][w]) {
		r->dst = r->d.rm;
		r->fn = alu_ri[r->op][w];
	} else if (f == h_alu_acc_imm && alu_ri[r->op][w]) {
		r->dst = R_AX;
		r->imm &= size_mask(r->size);
		r->fn = alu_ri[r->op][w];
	} else if (f == h_mov_rm_reg) {
		r->dst = r->d.rm;
		r->src = r->d.reg;
		r->fn = mem ? (w ? s_store64 : s_store32) : (w ? s_mov_rr64 : s_mov_rr32);
	} else if (f == h_mov_reg_rm) {
		r->dst = r->d.reg;
		r->src = r->d.rm;
		r->fn = mem ? (w ? s_load64 : s_load32) : (w ? s_mov_rr64 : s_mov_rr32);
	} else if (f == h_incdec && !mem) {
		r->dst = r->d.rm;
		r->fn = w ? s_incdec64 : s_incdec32;
	} else if (f == h_lea && w && r->d.addrsize == 8) {
		r->dst = r->d.reg;
		r->fn = s_lea64;
	} else if (f == h_mov_reg_imm) {
		r->dst = r->d.rm;
		r->imm &= size_mask(r->size);
		r->fn = s_mov_ri;
	}
}

/* ---- the block decoder ---- */

struct dec {
	const uint8_t *p;
	unsigned n, avail;
	bool bad;
};

static uint8_t nb(struct dec *x)
{
	if (x->n >= x->avail || x->n >= 15) {
		x->bad = true;
		return 0;
	}
	return x->p[x->n++];
}

static uint64_t nbytes(struct dec *x, unsigned n)
{
	uint64_t v = 0;
	for (unsigned i = 0; i < n; i++)
		v |= (uint64_t)nb(x) << (8 * i);
	return v;
}

static uint64_t nimm(struct dec *x, unsigned size)
{
	if (size == 8)
		return (uint64_t)(int64_t)(int32_t)nbytes(x, 4);
	return nbytes(x, size);
}

/* ModRM, SIB and displacement into the record's address recipe. 32- and
 * 64-bit addressing only (16-bit addressing: the caller gives up). */
static void dec_modrm(struct vs_emu_cpu *c, struct dec *x, struct blk_rec *r)
{
	struct insn *d = &r->d;
	uint8_t m = nb(x);
	int def_seg = S_DS;
	d->modrm = m;
	d->mod = m >> 6;
	d->reg = (uint8_t)(((m >> 3) & 7) | ((d->rex & 4) << 1));
	d->rm = m & 7;
	r->base = r->index = -1;
	if (d->mod == 3) {
		d->rm |= (uint8_t)((d->rex & 1) << 3);
		d->is_mem = false;
		return;
	}
	d->is_mem = true;
	if (d->rm == 4) {
		uint8_t sib = nb(x);
		unsigned idx = ((sib >> 3) & 7) | ((d->rex & 2) << 2);
		unsigned b = (sib & 7) | ((d->rex & 1) << 3);
		if ((sib & 7) == 5 && d->mod == 0) {
			r->disp = (int32_t)nbytes(x, 4);
		} else {
			r->base = (int8_t)b;
			if ((sib & 7) == 4 || (sib & 7) == 5)
				def_seg = b == R_SP || b == R_BP ? S_SS : S_DS;
		}
		if (idx != 4) {
			r->index = (int8_t)idx;
			r->scale = sib >> 6;
		}
	} else if (d->rm == 5 && d->mod == 0) {
		r->disp = (int32_t)nbytes(x, 4);
		d->riprel = c->long64;
	} else {
		r->base = (int8_t)(d->rm | ((d->rex & 1) << 3));
		if ((d->rm == 5 || d->rm == 4) && !(d->rex & 1))
			def_seg = S_SS;
	}
	if (d->mod == 1)
		r->disp += (int8_t)nb(x);
	else if (d->mod == 2)
		r->disp += (int32_t)nbytes(x, 4);
	if (!d->seg_override)
		d->seg = (uint8_t)def_seg;
}

/* Decode one instruction at x->p into r. Returns 1 for a record that may
 * continue the block, 2 for one that ends it (a branch), 0 when the
 * instruction is not one the records cover (or runs past the page). */
static int dec_one(struct vs_emu_cpu *c, struct dec *x, struct blk_rec *r)
{
	struct insn *d = &r->d;
	uint8_t op;
	unsigned size;
	int ends = 1;
	memset(r, 0, sizeof(*r));
	d->seg = S_DS;
	d->addrsize = c->code_size;
	for (;;) {
		uint8_t b = nb(x);
		if (x->bad)
			return 0;
		if (c->long64 && (b & 0xf0) == 0x40) {
			d->rex = b;
			continue;
		}
		if (b == 0x26 || b == 0x2e || b == 0x36 || b == 0x3e) {
			if (!c->long64) {
				d->seg = (b >> 3) & 3;
				d->seg_override = true;
			}
			d->rex = 0;
			continue;
		}
		if (b == 0x64 || b == 0x65) {
			d->seg = b == 0x64 ? S_FS : S_GS;
			d->seg_override = true;
			d->rex = 0;
			continue;
		}
		if (b == 0x66) {
			d->has66 = true;
			d->mandatory = b;
			d->rex = 0;
			continue;
		}
		if (b == 0x67 || b == 0xf0 || b == 0xf2 || b == 0xf3)
			return 0;
		op = b;
		break;
	}
	if (c->long64)
		d->opsize = (d->rex & 8) ? 8 : d->has66 ? 2 : 4;
	else
		d->opsize = (uint8_t)(d->has66 ? 2 : 4);
	size = d->opsize;
	d->opcode = op;
	r->base = r->index = -1;
	if (op < 0x40 && (op & 7) < 6) {
		r->op = op >> 3;
		switch (op & 7) {
		case 0:
		case 1:
			r->size = (uint8_t)(op & 1 ? size : 1);
			dec_modrm(c, x, r);
			r->fn = h_alu_rm_reg;
			break;
		case 2:
		case 3:
			r->size = (uint8_t)(op & 1 ? size : 1);
			dec_modrm(c, x, r);
			r->fn = h_alu_reg_rm;
			break;
		case 4:
			r->size = 1;
			r->imm = nb(x);
			r->fn = h_alu_acc_imm;
			break;
		default:
			r->size = (uint8_t)size;
			r->imm = nimm(x, size);
			r->fn = h_alu_acc_imm;
			break;
		}
	} else if (op >= 0x40 && op <= 0x4f) { /* INC/DEC r outside 64-bit mode */
		d->mod = 3;
		d->rm = op & 7;
		r->size = (uint8_t)size;
		r->op = op >= 0x48;
		r->fn = h_incdec;
	} else if (op >= 0x50 && op <= 0x5f) {
		d->mod = 3;
		d->rm = (uint8_t)((op & 7) | ((d->rex & 1) << 3));
		r->size = (uint8_t)(c->long64 ? (d->has66 ? 2 : 8) : size);
		r->fn = op < 0x58 ? h_push : h_pop;
	} else if (op == 0x63 && c->long64) {
		dec_modrm(c, x, r);
		r->size = (uint8_t)size;
		r->fn = h_movsxd;
	} else if (op == 0x69 || op == 0x6b) {
		dec_modrm(c, x, r);
		r->size = (uint8_t)size;
		r->imm = op == 0x69 ? nimm(x, size) : (uint64_t)(int64_t)(int8_t)nb(x);
		r->op = 1;
		r->fn = h_imul;
	} else if (op >= 0x70 && op <= 0x7f) {
		r->imm = (uint64_t)(int64_t)(int8_t)nb(x);
		r->op = op & 15;
		r->fn = h_jcc;
		ends = 2;
	} else if (op == 0x80 || op == 0x81 || op == 0x83) {
		unsigned s = op & 1 ? size : 1;
		dec_modrm(c, x, r);
		r->imm = op == 0x81 ? nimm(x, s) : (uint64_t)(int64_t)(int8_t)nb(x);
		r->imm &= size_mask(s);
		r->op = d->reg & 7;
		r->size = (uint8_t)s;
		r->fn = h_alu_rm_imm;
	} else if (op == 0x84 || op == 0x85) {
		r->size = (uint8_t)(op & 1 ? size : 1);
		dec_modrm(c, x, r);
		r->fn = h_test_rm_reg;
	} else if (op >= 0x88 && op <= 0x8b) {
		r->size = (uint8_t)(op & 1 ? size : 1);
		dec_modrm(c, x, r);
		r->fn = op < 0x8a ? h_mov_rm_reg : h_mov_reg_rm;
	} else if (op == 0x8d) {
		dec_modrm(c, x, r);
		if (!d->is_mem)
			return 0;
		r->size = (uint8_t)size;
		r->fn = h_lea;
	} else if (op == 0x90 && !(d->rex & 1)) {
		r->fn = h_nop;
	} else if (op == 0xa8 || op == 0xa9) {
		d->mod = 3;
		d->rm = R_AX;
		r->size = (uint8_t)(op & 1 ? size : 1);
		r->imm = op & 1 ? nimm(x, size) : nb(x);
		r->fn = h_test_rm_imm;
	} else if (op >= 0xb0 && op <= 0xbf) {
		d->mod = 3;
		d->rm = (uint8_t)((op & 7) | ((d->rex & 1) << 3));
		r->size = (uint8_t)(op >= 0xb8 ? size : 1);
		r->imm = nbytes(x, r->size);
		r->fn = h_mov_reg_imm;
	} else if (op == 0xc0 || op == 0xc1 || (op >= 0xd0 && op <= 0xd3)) {
		r->size = (uint8_t)(op & 1 ? size : 1);
		dec_modrm(c, x, r);
		r->op = d->reg & 7;
		r->imm = op <= 0xc1 ? nb(x) : op >= 0xd2 ? 0x100 : 1;
		r->fn = h_shift;
	} else if (op == 0xc3) {
		r->size = (uint8_t)(c->long64 && size != 2 ? 8 : size);
		r->fn = h_ret;
		ends = 2;
	} else if (op == 0xc6 || op == 0xc7) {
		unsigned s = op & 1 ? size : 1;
		dec_modrm(c, x, r);
		if ((d->reg & 7) != 0)
			return 0;
		r->size = (uint8_t)s;
		r->imm = s == 1 ? nb(x) : nimm(x, s);
		r->fn = h_mov_rm_imm;
	} else if (op == 0xc9) {
		r->size = (uint8_t)(c->long64 && size != 2 ? 8 : size);
		r->fn = h_leave;
	} else if (op == 0xe8) {
		uint64_t v = nimm(x, size == 8 ? 4 : size);
		r->imm = size == 2 ? (uint64_t)(int64_t)(int16_t)v : (uint64_t)(int64_t)(int32_t)v;
		r->size = (uint8_t)(c->long64 ? 8 : size);
		r->fn = h_call;
		ends = 2;
	} else if (op == 0xe9 || op == 0xeb) {
		uint64_t v = op == 0xeb ? (uint64_t)(int64_t)(int8_t)nb(x) : nbytes(x, size == 2 ? 2 : 4);
		if (op == 0xe9)
			v = size == 2 ? (uint64_t)(int64_t)(int16_t)v : (uint64_t)(int64_t)(int32_t)v;
		r->imm = v;
		r->fn = h_jmp;
		ends = 2;
	} else if (op == 0xf6 || op == 0xf7) {
		unsigned s = op & 1 ? size : 1;
		dec_modrm(c, x, r);
		r->size = (uint8_t)s;
		if ((d->reg & 7) == 2 || (d->reg & 7) == 3) {
			r->op = d->reg & 7;
			r->fn = h_notneg;
		} else if ((d->reg & 7) <= 1) {
			r->imm = s == 1 ? nb(x) : nimm(x, s);
			r->fn = h_test_rm_imm;
		} else {
			return 0;
		}
	} else if (op == 0xfe || op == 0xff) {
		dec_modrm(c, x, r);
		if ((d->reg & 7) > 1)
			return 0;
		r->size = (uint8_t)(op & 1 ? size : 1);
		r->op = d->reg & 1;
		r->fn = h_incdec;
	} else if (op == 0x0f) {
		uint8_t op2 = nb(x);
		d->opcode = 0x100 | op2;
		if (op2 >= 0x80 && op2 <= 0x8f) {
			uint64_t v = nbytes(x, size == 2 ? 2 : 4);
			r->imm = size == 2 ? (uint64_t)(int64_t)(int16_t)v : (uint64_t)(int64_t)(int32_t)v;
			r->op = op2 & 15;
			r->fn = h_jcc;
			ends = 2;
		} else if (op2 >= 0x40 && op2 <= 0x4f) {
			dec_modrm(c, x, r);
			r->size = (uint8_t)size;
			r->op = op2 & 15;
			r->fn = h_cmov;
		} else if (op2 >= 0x90 && op2 <= 0x9f) {
			dec_modrm(c, x, r);
			r->op = op2 & 15;
			r->fn = h_setcc;
		} else if (op2 == 0xb6 || op2 == 0xb7 || op2 == 0xbe || op2 == 0xbf) {
			dec_modrm(c, x, r);
			r->size = (uint8_t)size;
			r->op = op2 & 1 ? 2 : 1;
			r->imm = op2 >= 0xbe;
			r->fn = h_movx;
		} else if (op2 == 0xaf) {
			dec_modrm(c, x, r);
			r->size = (uint8_t)size;
			r->fn = h_imul;
		} else if (op2 == 0xba) {
			dec_modrm(c, x, r);
			if ((d->reg & 7) < 4)
				return 0;
			r->size = (uint8_t)size;
			r->op = (d->reg & 7) - 4;
			r->imm = nb(x);
			r->fn = h_bt_imm;
		} else if (op2 == 0x1f) {
			dec_modrm(c, x, r);
			r->fn = h_nop;
		} else {
			return 0;
		}
	} else {
		return 0;
	}
	if (x->bad)
		return 0;
	specialise(c, r);
	return ends;
}

/* ---- the cache ---- */

static struct blk *blk_table(struct vs_emu_cpu *c)
{
	if (unlikely(!c->blk_tab)) {
		/* Several MiB of which a guest touches what it runs: mapped
		 * so that untouched pages cost nothing (calloc may memset). */
		void *t = mmap(NULL, BLK_COUNT * sizeof(struct blk), PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		c->blk_tab = t == MAP_FAILED ? NULL : t;
		c->code_map = calloc(c->mem->total >> 12, 1);
		if (!c->blk_tab || !c->code_map) {
			vs_emu_blocks_free(c);
			c->blk_off = true;
			return NULL;
		}
	}
	return c->blk_tab;
}

void vs_emu_blocks_free(struct vs_emu_cpu *c)
{
	if (c->blk_tab)
		munmap(c->blk_tab, BLK_COUNT * sizeof(struct blk));
	free(c->code_map);
	c->blk_tab = NULL;
	c->code_map = NULL;
}

/* Mark a page as holding blocks: no write tag for it in this vCPU's TLB
 * from now on, so stores to it take the slow path and are seen. */
static void mark_code(struct vs_emu_cpu *c, uint64_t page)
{
	const uint8_t *host = c->mem->base + (page << 12);
	c->code_map[page] = 1;
	for (unsigned i = 0; i < TLB_SIZE; i++)
		if (c->tlb[i].tag_w && c->tlb[i].host == host)
			c->tlb[i].tag_w = 0;
}

static void blk_build(struct vs_emu_cpu *c, struct blk *b, const uint8_t *host, unsigned avail, uint64_t key)
{
	struct dec x = { host, 0, avail, false };
	b->key = 0;
	b->host = host;
	b->nrec = 0;
	b->tail = false;
	while (b->nrec < BLK_RECS) {
		unsigned start = x.n;
		int k;
		x.bad = false;
		x.p = host + start;
		x.avail = avail - start;
		x.n = 0;
		k = dec_one(c, &x, &b->rec[b->nrec]);
		if (k == 0 || start + x.n > BLK_BYTES) {
			/* The interpreter runs it (and a fault it raises comes
			 * from there, with its exact state). */
			b->tail = true;
			x.n = start;
			break;
		}
		b->rec[b->nrec].len = (uint8_t)x.n;
		b->nrec++;
		x.n += start;
		if (k == 2 || x.n >= avail)
			break;
	}
	b->nbytes = (uint16_t)x.n;
	memcpy(b->bytes, host, x.n);
	b->key = key;
}

/* The block's bytes are still those in guest RAM (no other vCPU, device
 * or string store changed them since it was decoded). */
static inline bool same_bytes(const struct blk *b, const uint8_t *host)
{
	unsigned n = b->nbytes;
	uint64_t x, y;
	if (unlikely(n < 8)) {
		uint32_t u, v;
		if (n < 4)
			return memcmp(b->bytes, host, n) == 0;
		/* Two words, overlapping. */
		memcpy(&u, b->bytes, 4);
		memcpy(&v, host, 4);
		if (u != v)
			return false;
		memcpy(&u, b->bytes + n - 4, 4);
		memcpy(&v, host + n - 4, 4);
		return u == v;
	}
	/* Whole words, the last one overlapping the one before. */
	for (unsigned i = 0; i + 8 < n; i += 8) {
		memcpy(&x, b->bytes + i, 8);
		memcpy(&y, host + i, 8);
		if (x != y)
			return false;
	}
	memcpy(&x, b->bytes + n - 8, 8);
	memcpy(&y, host + n - 8, 8);
	return x == y;
}

/* The block at RIP, or NULL to interpret. May fault on the fetch. */
static struct blk *blk_find(struct vs_emu_cpu *c)
{
	struct blk *tab = blk_table(c), *b;
	uint64_t la, off, key, page;
	const uint8_t *host;
	if (!tab)
		return NULL;
	la = c->long64 ? c->rip : (uint32_t)(c->seg[S_CS].base + c->rip);
	if (unlikely((la & ~0xfffull) + 1 != c->fetch_page))
		vs_emu_fetch_slow(c, la);
	host = c->fetch_host + (la & 0xfff);
	off = (uint64_t)(host - c->mem->base);
	if (unlikely(host < c->mem->base || off >= c->mem->total))
		return NULL;
	key = off << 2 | (c->long64 ? 1 : 2);
	page = off >> 12;
	b = &tab[((off * 0x9e3779b97f4a7c15ull) >> (64 - BLK_BITS))];
	if (unlikely(!c->code_map[page]))
		mark_code(c, page);
	if (likely(b->key == key && same_bytes(b, host)))
		return b;
	blk_build(c, b, host, 4096 - (unsigned)(la & 0xfff), key);
	return b;
}

static inline void step_one(struct vs_emu_cpu *c)
{
	vs_emu_step(c);
	if (unlikely(++c->icount == c->icount_stop))
		atomic_store(&c->attention, 1);
}

void vs_emu_run_blocks(struct vs_emu_cpu *c)
{
	/* With a step limit every instruction is counted against it; without
	 * one (a running VM), the loop only counts. */
	bool limit = c->icount_stop != 0;
	while (!atomic_load_explicit(&c->attention, memory_order_relaxed)) {
		struct blk *b;
		if (c->code_size == 2 || c->blk_off) {
			step_one(c);
			continue;
		}
		b = blk_find(c);
		if (!b) {
			step_one(c);
			continue;
		}
		for (struct blk_rec *r = b->rec, *end = r + b->nrec; r < end; r++) {
			r->fn(c, r);
			c->icount++;
			if (unlikely(limit) && c->icount == c->icount_stop)
				atomic_store(&c->attention, 1);
			if (atomic_load_explicit(&c->attention, memory_order_relaxed))
				return;
		}
		if (b->tail)
			step_one(c);
	}
}

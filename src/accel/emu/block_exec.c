/* The records' handlers. */
#include "accel/emu/block.h"

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

/* The generic handler of each decoder kind. */
static const blk_fn generic[K_GENERIC_COUNT] = {
	[K_ALU_ACC_IMM] = h_alu_acc_imm,
	[K_ALU_REG_RM] = h_alu_reg_rm,
	[K_ALU_RM_IMM] = h_alu_rm_imm,
	[K_ALU_RM_REG] = h_alu_rm_reg,
	[K_BT_IMM] = h_bt_imm,
	[K_CALL] = h_call,
	[K_CMOV] = h_cmov,
	[K_IMUL] = h_imul,
	[K_INCDEC] = h_incdec,
	[K_JCC] = h_jcc,
	[K_JMP] = h_jmp,
	[K_LEA] = h_lea,
	[K_LEAVE] = h_leave,
	[K_MOV_REG_IMM] = h_mov_reg_imm,
	[K_MOV_REG_RM] = h_mov_reg_rm,
	[K_MOV_RM_IMM] = h_mov_rm_imm,
	[K_MOV_RM_REG] = h_mov_rm_reg,
	[K_MOVSXD] = h_movsxd,
	[K_MOVX] = h_movx,
	[K_NOP] = h_nop,
	[K_NOTNEG] = h_notneg,
	[K_POP] = h_pop,
	[K_PUSH] = h_push,
	[K_RET] = h_ret,
	[K_SETCC] = h_setcc,
	[K_SHIFT] = h_shift,
	[K_TEST_RM_IMM] = h_test_rm_imm,
	[K_TEST_RM_REG] = h_test_rm_reg,
};

/* Whether a record may write guest memory (the run loop then looks at
 * `attention` right after it: the store may have hit a page with blocks). */
static bool may_store(const struct blk_rec *r)
{
	switch (r->kind) {
	case K_PUSH:
	case K_CALL:
		return true;
	case K_ALU_RM_IMM:
	case K_ALU_RM_REG:
		return r->d.is_mem && r->op != 7;
	case K_BT_IMM:
		return r->d.is_mem && r->op != 0;
	case K_INCDEC:
	case K_MOV_RM_IMM:
	case K_MOV_RM_REG:
	case K_NOTNEG:
	case K_SETCC:
	case K_SHIFT:
		return r->d.is_mem;
	default:
		return false;
	}
}

/* Pick the handler for a decoded record: a specialised one when it fits. */
void vs_blk_bind(struct vs_emu_cpu *c, struct blk_rec *r)
{
	unsigned k = r->kind;
	bool mem = r->d.is_mem;
	unsigned w = r->size == 8;
	r->fn = generic[k];
	r->stores = may_store(r);
	if (!c->long64)
		return;
	if (k == K_JCC) {
		r->fn = s_jcc64;
		r->kind = K_S_JCC;
		return;
	}
	if (k == K_JMP) {
		r->fn = s_jmp64;
		r->kind = K_S_JMP;
		return;
	}
	if (r->size == 8 && r->d.opsize != 2 && (k == K_CALL || k == K_RET)) {
		r->fn = k == K_CALL ? s_call64 : s_ret64;
		r->kind = k == K_CALL ? K_S_CALL : K_S_RET;
		return;
	}
	if (r->size == 8 && (k == K_PUSH || k == K_POP)) {
		r->dst = r->d.rm;
		r->fn = k == K_PUSH ? s_push64 : s_pop64;
		r->kind = k == K_PUSH ? K_S_PUSH : K_S_POP;
		return;
	}
	if (r->size != 8 && r->size != 4)
		return;
	if (k == K_ALU_RM_REG && !mem && alu_rr[r->op][w]) {
		r->dst = r->d.rm;
		r->src = r->d.reg;
		r->fn = alu_rr[r->op][w];
		r->kind = K_S_ALU_RR;
	} else if (k == K_ALU_REG_RM && !mem && alu_rr[r->op][w]) {
		r->dst = r->d.reg;
		r->src = r->d.rm;
		r->fn = alu_rr[r->op][w];
		r->kind = K_S_ALU_RR;
	} else if (k == K_ALU_RM_IMM && !mem && alu_ri[r->op][w]) {
		r->dst = r->d.rm;
		r->fn = alu_ri[r->op][w];
		r->kind = K_S_ALU_RI;
	} else if (k == K_ALU_ACC_IMM && alu_ri[r->op][w]) {
		r->dst = R_AX;
		r->imm &= size_mask(r->size);
		r->fn = alu_ri[r->op][w];
		r->kind = K_S_ALU_RI;
	} else if (k == K_MOV_RM_REG) {
		r->dst = r->d.rm;
		r->src = r->d.reg;
		r->fn = mem ? (w ? s_store64 : s_store32) : (w ? s_mov_rr64 : s_mov_rr32);
		r->kind = mem ? K_S_STORE : K_S_MOV_RR;
	} else if (k == K_MOV_REG_RM) {
		r->dst = r->d.reg;
		r->src = r->d.rm;
		r->fn = mem ? (w ? s_load64 : s_load32) : (w ? s_mov_rr64 : s_mov_rr32);
		r->kind = mem ? K_S_LOAD : K_S_MOV_RR;
	} else if (k == K_INCDEC && !mem) {
		r->dst = r->d.rm;
		r->fn = w ? s_incdec64 : s_incdec32;
		r->kind = K_S_INCDEC;
	} else if (k == K_LEA && w && r->d.addrsize == 8) {
		r->dst = r->d.reg;
		r->fn = s_lea64;
		r->kind = K_S_LEA;
	} else if (k == K_MOV_REG_IMM) {
		r->dst = r->d.rm;
		r->imm &= size_mask(r->size);
		r->fn = s_mov_ri;
		r->kind = K_S_MOV_RI;
	}
}

/* x87 decoder: stack and tag bookkeeping, loads and stores in every
 * format, the control instructions (FLDCW, FNSTSW, FNSTENV, FNSAVE, ...)
 * and the register moves. Arithmetic lives in fpu_x87_arith.c. */
#include <string.h>

#include "accel/emu/fpu_internal.h"

const struct vs_f80 vs_fpu_x87_indefinite = { 0xc000000000000000ull, 0xffff };

unsigned vs_fpu_x87_top(const struct vs_emu_fpu *fpu)
{
	return (fpu->fsw >> 11) & 7;
}

static void set_top(struct vs_emu_fpu *fpu, unsigned top)
{
	fpu->fsw = (uint16_t)((fpu->fsw & ~0x3800u) | ((top & 7) << 11));
}

static unsigned phys(const struct vs_emu_fpu *fpu, unsigned sti)
{
	return (vs_fpu_x87_top(fpu) + sti) & 7;
}

static unsigned tag_get(const struct vs_emu_fpu *fpu, unsigned p)
{
	return (fpu->ftw >> (2 * p)) & 3;
}

static void tag_set(struct vs_emu_fpu *fpu, unsigned p, unsigned tag)
{
	fpu->ftw = (uint16_t)((fpu->ftw & ~(3u << (2 * p))) | (tag << (2 * p)));
}

unsigned vs_fpu_x87_tag_of(const struct vs_f80 *v)
{
	unsigned exp = v->se & 0x7fff;

	if (exp == 0x7fff)
		return 2;
	if (exp == 0)
		return v->mant ? 2 : 1;
	return (v->mant >> 63) ? 0 : 2; /* unnormals are special */
}

bool vs_fpu_x87_empty(const struct vs_emu_fpu *fpu, unsigned sti)
{
	return tag_get(fpu, phys(fpu, sti)) == 3;
}

struct vs_f80 vs_fpu_x87_get(const struct vs_emu_fpu *fpu, unsigned sti)
{
	unsigned p = phys(fpu, sti);
	struct vs_f80 v = { fpu->st[p].mant, fpu->st[p].sign_exp };

	return v;
}

void vs_fpu_x87_set(struct vs_emu_fpu *fpu, unsigned sti, const struct vs_f80 *v)
{
	unsigned p = phys(fpu, sti);

	fpu->st[p].mant = v->mant;
	fpu->st[p].sign_exp = v->se;
	tag_set(fpu, p, vs_fpu_x87_tag_of(v));
}

void vs_fpu_x87_pop(struct vs_emu_fpu *fpu)
{
	tag_set(fpu, phys(fpu, 0), 3);
	set_top(fpu, vs_fpu_x87_top(fpu) + 1);
}

void vs_fpu_x87_push(struct vs_emu_fpu *fpu, const struct vs_f80 *v)
{
	set_top(fpu, vs_fpu_x87_top(fpu) - 1);
	vs_fpu_x87_set(fpu, 0, v);
}

bool vs_fpu_x87_flags(struct vs_emu_fpu *fpu, uint16_t host_sw)
{
	uint16_t x = host_sw & (FSW_XF | FSW_SF);
	uint16_t unmasked = x & ~fpu->fcw & FSW_XF;

	/* An unmasked invalid, denormal or divide-by-zero stops the operation
	 * before it computes: no overflow, underflow or precision then. */
	if (unmasked & (FSW_IE | FSW_DE | FSW_ZE))
		x &= FSW_IE | FSW_DE | FSW_ZE | FSW_SF;

	fpu->fsw = (uint16_t)((fpu->fsw & ~FSW_C1) | (host_sw & FSW_C1) | x);
	if (unmasked)
		fpu->fsw |= FSW_ES | FSW_B;
	return !(unmasked & (FSW_IE | FSW_DE | FSW_ZE));
}

bool vs_fpu_x87_stack_fault(struct vs_emu_fpu *fpu, bool overflow)
{
	fpu->fsw = (uint16_t)((fpu->fsw & ~FSW_C1) | FSW_IE | FSW_SF | (overflow ? FSW_C1 : 0));
	if (fpu->fcw & FSW_IE)
		return true;
	fpu->fsw |= FSW_ES | FSW_B;
	return false;
}

/* FLD's push: an occupied ST(7) is a stack overflow. */
static void push_checked(struct vs_emu_fpu *fpu, const struct vs_f80 *v, uint16_t host_sw)
{
	if (!vs_fpu_x87_empty(fpu, 7)) {
		if (vs_fpu_x87_stack_fault(fpu, true))
			vs_fpu_x87_push(fpu, &vs_fpu_x87_indefinite);
		return;
	}
	if (vs_fpu_x87_flags(fpu, host_sw))
		vs_fpu_x87_push(fpu, v);
}

static const unsigned fmt_len[] = {
	[X87_M32] = 4,	[X87_M64] = 8,	[X87_I16] = 2,	[X87_I32] = 4,	[X87_I64] = 8,
	[X87_BCD] = 10, [X87_TI16] = 2, [X87_TI32] = 4, [X87_TI64] = 8,
};

static enum vs_emu_fpu_status load_mem(struct vs_fpu_ctx *c, enum vs_fpu_x87_fmt fmt)
{
	uint8_t buf[10] = { 0 };
	struct vs_f80 v;
	uint16_t sw;

	if (vs_fpu_read(c, c->insn->ea, buf, fmt_len[fmt]) < 0)
		return VS_EMU_FPU_FAULT;
	sw = vs_fpu_host_x87_load(fmt, c->fpu->fcw, buf, &v);
	push_checked(c->fpu, &v, sw);
	return VS_EMU_FPU_OK;
}

static enum vs_emu_fpu_status load_m80(struct vs_fpu_ctx *c)
{
	uint8_t buf[10];
	struct vs_f80 v;

	if (vs_fpu_read(c, c->insn->ea, buf, 10) < 0)
		return VS_EMU_FPU_FAULT;
	memcpy(&v.mant, buf, 8);
	memcpy(&v.se, buf + 8, 2);
	push_checked(c->fpu, &v, 0);
	return VS_EMU_FPU_OK;
}

/* FST/FIST/FISTTP/FBSTP to memory, popping when asked. */
static enum vs_emu_fpu_status store_mem(struct vs_fpu_ctx *c, int fmt, bool pop)
{
	struct vs_emu_fpu *fpu = c->fpu;
	struct vs_emu_fpu saved = *fpu;
	struct vs_f80 v = vs_fpu_x87_get(fpu, 0);
	uint8_t buf[10] = { 0 };
	unsigned len;

	if (vs_fpu_x87_empty(fpu, 0)) {
		if (!vs_fpu_x87_stack_fault(fpu, false))
			return VS_EMU_FPU_OK;
		v = vs_fpu_x87_indefinite;
	}
	if (fmt < 0) { /* m80: an exact copy, no exception */
		memcpy(buf, &v.mant, 8);
		memcpy(buf + 8, &v.se, 2);
		len = 10;
		fpu->fsw &= (uint16_t)~FSW_C1;
	} else {
		uint16_t sw = vs_fpu_host_x87_store((enum vs_fpu_x87_fmt)fmt, fpu->fcw, &v, buf);

		len = fmt_len[fmt];
		/* The host ran the store under the guest's masks: its flags and
		 * C1 are hardware's. Unmasked invalid, overflow or underflow:
		 * memory untouched. */
		vs_fpu_x87_flags(fpu, sw);
		if (sw & ~fpu->fcw & (FSW_IE | FSW_DE | FSW_ZE | FSW_OE | FSW_UE))
			return VS_EMU_FPU_OK;
	}
	if (vs_fpu_write(c, c->insn->ea, buf, len) < 0) {
		*fpu = saved;
		return VS_EMU_FPU_FAULT;
	}
	if (pop)
		vs_fpu_x87_pop(fpu);
	return VS_EMU_FPU_OK;
}

static void fninit(struct vs_emu_fpu *fpu)
{
	fpu->fcw = 0x037f;
	fpu->fsw = 0;
	fpu->ftw = 0xffff;
	fpu->fop = 0;
	fpu->fip = 0;
	fpu->fdp = 0;
}

/* ES (and B) follow whether any flagged exception is unmasked. */
static void recompute_es(struct vs_emu_fpu *fpu)
{
	if (fpu->fsw & ~fpu->fcw & FSW_XF)
		fpu->fsw |= FSW_ES | FSW_B;
	else
		fpu->fsw &= (uint16_t) ~(FSW_ES | FSW_B);
}

/* The full tag word as FNSTENV reports it: computed from the contents. */
static uint16_t full_tags(const struct vs_emu_fpu *fpu)
{
	uint16_t t = 0;

	for (unsigned p = 0; p < 8; p++) {
		struct vs_f80 v = { fpu->st[p].mant, fpu->st[p].sign_exp };
		unsigned tag = tag_get(fpu, p) == 3 ? 3 : vs_fpu_x87_tag_of(&v);

		t = (uint16_t)(t | tag << (2 * p));
	}
	return t;
}

static void put16(uint8_t *p, uint16_t v)
{
	memcpy(p, &v, 2);
}

static void put32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

static uint16_t get16(const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, 2);
	return v;
}

static uint32_t get32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

/* Protected-mode environment: 14 bytes with a 16-bit operand size, 28
 * otherwise (also in 64-bit mode). Selectors are stored as 0. */
static unsigned env_len(const struct vs_emu_fpu_insn *insn)
{
	return insn->opsize16 ? 14 : 28;
}

static void env_store(const struct vs_emu_fpu *fpu, bool m16, uint8_t *b)
{
	if (m16) {
		put16(b + 0, fpu->fcw);
		put16(b + 2, fpu->fsw);
		put16(b + 4, full_tags(fpu));
		put16(b + 6, (uint16_t)fpu->fip);
		put16(b + 8, 0);
		put16(b + 10, (uint16_t)fpu->fdp);
		put16(b + 12, 0);
		return;
	}
	put32(b + 0, 0xffff0000u | fpu->fcw);
	put32(b + 4, 0xffff0000u | fpu->fsw);
	put32(b + 8, 0xffff0000u | full_tags(fpu));
	put32(b + 12, (uint32_t)fpu->fip);
	put32(b + 16, (uint32_t)(fpu->fop & 0x7ff) << 16);
	put32(b + 20, (uint32_t)fpu->fdp);
	put32(b + 24, 0xffff0000u);
}

static void env_load(struct vs_emu_fpu *fpu, bool m16, const uint8_t *b)
{
	uint16_t tags;

	fpu->fcw = get16(b);
	fpu->fsw = get16(b + (m16 ? 2 : 4));
	tags = get16(b + (m16 ? 4 : 8));
	if (m16) {
		fpu->fip = get16(b + 6);
		fpu->fdp = get16(b + 10);
	} else {
		fpu->fip = get32(b + 12);
		fpu->fop = (uint16_t)((get32(b + 16) >> 16) & 0x7ff);
		fpu->fdp = get32(b + 20);
	}
	/* Only "empty or not" survives a load; the rest follows the contents. */
	fpu->ftw = 0;
	for (unsigned p = 0; p < 8; p++) {
		struct vs_f80 v = { fpu->st[p].mant, fpu->st[p].sign_exp };

		tag_set(fpu, p, ((tags >> (2 * p)) & 3) == 3 ? 3 : vs_fpu_x87_tag_of(&v));
	}
	recompute_es(fpu);
}

static enum vs_emu_fpu_status fnstenv(struct vs_fpu_ctx *c, bool save)
{
	struct vs_emu_fpu *fpu = c->fpu;
	bool m16 = c->insn->opsize16;
	unsigned len = env_len(c->insn);
	uint8_t b[108];

	env_store(fpu, m16, b);
	if (save) {
		for (unsigned i = 0; i < 8; i++) {
			struct vs_f80 v = vs_fpu_x87_get(fpu, i);

			memcpy(b + len + 10 * i, &v.mant, 8);
			memcpy(b + len + 10 * i + 8, &v.se, 2);
		}
	}
	if (vs_fpu_write(c, c->insn->ea, b, len + (save ? 80 : 0)) < 0)
		return VS_EMU_FPU_FAULT;
	if (save)
		fninit(fpu);
	else
		fpu->fcw |= FSW_XF; /* FNSTENV masks every exception */
	return VS_EMU_FPU_OK;
}

static enum vs_emu_fpu_status fldenv(struct vs_fpu_ctx *c, bool restore)
{
	struct vs_emu_fpu *fpu = c->fpu;
	bool m16 = c->insn->opsize16;
	unsigned len = env_len(c->insn);
	uint8_t b[108];

	if (vs_fpu_read(c, c->insn->ea, b, len + (restore ? 80 : 0)) < 0)
		return VS_EMU_FPU_FAULT;
	if (restore) {
		/* Registers are stored in ST order: TOP comes from the image. */
		unsigned top = (get16(b + (m16 ? 2 : 4)) >> 11) & 7;

		for (unsigned i = 0; i < 8; i++) {
			unsigned p = (top + i) & 7;

			memcpy(&fpu->st[p].mant, b + len + 10 * i, 8);
			memcpy(&fpu->st[p].sign_exp, b + len + 10 * i + 8, 2);
		}
	}
	env_load(fpu, m16, b);
	return VS_EMU_FPU_OK;
}

static enum vs_emu_fpu_status store16(struct vs_fpu_ctx *c, uint16_t v)
{
	return vs_fpu_write(c, c->insn->ea, &v, 2) < 0 ? VS_EMU_FPU_FAULT : VS_EMU_FPU_OK;
}

static enum vs_emu_fpu_status x87_mem(struct vs_fpu_ctx *c, unsigned esc, unsigned reg)
{
	struct vs_emu_fpu *fpu = c->fpu;
	uint16_t w;

	switch (esc << 3 | reg) {
	case 1 << 3 | 0: /* D9 /0 fld m32 */
		return load_mem(c, X87_M32);
	case 1 << 3 | 2:
	case 1 << 3 | 3:
		return store_mem(c, X87_M32, reg == 3);
	case 1 << 3 | 4:
		return fldenv(c, false);
	case 1 << 3 | 5: /* fldcw */
		if (vs_fpu_read(c, c->insn->ea, &w, 2) < 0)
			return VS_EMU_FPU_FAULT;
		fpu->fcw = w | 0x0040; /* bit 6 is reserved and reads as one */
		recompute_es(fpu);
		return VS_EMU_FPU_OK;
	case 1 << 3 | 6:
		return fnstenv(c, false);
	case 1 << 3 | 7:
		return store16(c, fpu->fcw);
	case 3 << 3 | 0: /* DB /0 fild m32 */
		return load_mem(c, X87_I32);
	case 3 << 3 | 1:
		return store_mem(c, X87_TI32, true);
	case 3 << 3 | 2:
	case 3 << 3 | 3:
		return store_mem(c, X87_I32, reg == 3);
	case 3 << 3 | 5:
		return load_m80(c);
	case 3 << 3 | 7:
		return store_mem(c, -1, true);
	case 5 << 3 | 0: /* DD /0 fld m64 */
		return load_mem(c, X87_M64);
	case 5 << 3 | 1:
		return store_mem(c, X87_TI64, true);
	case 5 << 3 | 2:
	case 5 << 3 | 3:
		return store_mem(c, X87_M64, reg == 3);
	case 5 << 3 | 4:
		return fldenv(c, true);
	case 5 << 3 | 6:
		return fnstenv(c, true);
	case 5 << 3 | 7:
		return store16(c, fpu->fsw);
	case 7 << 3 | 0: /* DF /0 fild m16 */
		return load_mem(c, X87_I16);
	case 7 << 3 | 1:
		return store_mem(c, X87_TI16, true);
	case 7 << 3 | 2:
	case 7 << 3 | 3:
		return store_mem(c, X87_I16, reg == 3);
	case 7 << 3 | 4:
		return load_mem(c, X87_BCD);
	case 7 << 3 | 5:
		return load_mem(c, X87_I64);
	case 7 << 3 | 6:
		return store_mem(c, X87_BCD, true);
	case 7 << 3 | 7:
		return store_mem(c, X87_I64, true);
	}
	return VS_EMU_FPU_UD;
}

/* FLD ST(i): an empty source (underflow) wins over a full stack
 * (overflow); either way the masked response pushes the indefinite. */
static void fld_sti(struct vs_emu_fpu *fpu, unsigned i)
{
	struct vs_f80 v = vs_fpu_x87_get(fpu, i);

	if (!vs_fpu_x87_empty(fpu, 7) || vs_fpu_x87_empty(fpu, i)) {
		if (vs_fpu_x87_stack_fault(fpu, !vs_fpu_x87_empty(fpu, i)))
			vs_fpu_x87_push(fpu, &vs_fpu_x87_indefinite);
		return;
	}
	fpu->fsw &= (uint16_t)~FSW_C1;
	vs_fpu_x87_push(fpu, &v);
}

static void fst_sti(struct vs_emu_fpu *fpu, unsigned i, bool pop)
{
	struct vs_f80 v = vs_fpu_x87_get(fpu, 0);

	if (vs_fpu_x87_empty(fpu, 0)) {
		if (!vs_fpu_x87_stack_fault(fpu, false))
			return;
		v = vs_fpu_x87_indefinite;
	} else {
		fpu->fsw &= (uint16_t)~FSW_C1;
	}
	vs_fpu_x87_set(fpu, i, &v);
	if (pop)
		vs_fpu_x87_pop(fpu);
}

static void fxch(struct vs_emu_fpu *fpu, unsigned i)
{
	struct vs_f80 a = vs_fpu_x87_get(fpu, 0), b = vs_fpu_x87_get(fpu, i);

	if (vs_fpu_x87_empty(fpu, 0) || vs_fpu_x87_empty(fpu, i)) {
		if (!vs_fpu_x87_stack_fault(fpu, false))
			return;
		if (vs_fpu_x87_empty(fpu, 0))
			a = vs_fpu_x87_indefinite;
		if (vs_fpu_x87_empty(fpu, i))
			b = vs_fpu_x87_indefinite;
	} else {
		fpu->fsw &= (uint16_t)~FSW_C1;
	}
	vs_fpu_x87_set(fpu, 0, &b);
	vs_fpu_x87_set(fpu, i, &a);
}

static void fxam(struct vs_emu_fpu *fpu)
{
	struct vs_f80 v = vs_fpu_x87_get(fpu, 0);
	unsigned exp = v.se & 0x7fff;
	bool j = v.mant >> 63;
	uint16_t cc;

	if (vs_fpu_x87_empty(fpu, 0))
		cc = FSW_C3 | FSW_C0;
	else if (exp == 0x7fff)
		cc = !j ? 0 : (v.mant << 1) ? FSW_C0 : (FSW_C2 | FSW_C0);
	else if (exp == 0)
		cc = v.mant ? (FSW_C3 | FSW_C2) : FSW_C3;
	else
		cc = j ? FSW_C2 : 0;
	if (v.se & 0x8000)
		cc |= FSW_C1;
	fpu->fsw = (uint16_t)((fpu->fsw & ~FSW_CC) | cc);
}

/* Register forms this file owns; VS_EMU_FPU_UD hands the rest to arith. */
static enum vs_emu_fpu_status x87_reg(struct vs_fpu_ctx *c, unsigned esc, unsigned modrm, bool *done)
{
	struct vs_emu_fpu *fpu = c->fpu;
	unsigned i = modrm & 7;

	*done = true;
	switch (esc << 8 | modrm) {
	case 1 << 8 | 0xd0: /* fnop */
		return VS_EMU_FPU_OK;
	case 1 << 8 | 0xe0: /* fchs */
	case 1 << 8 | 0xe1: /* fabs */
		if (vs_fpu_x87_empty(fpu, 0)) {
			if (vs_fpu_x87_stack_fault(fpu, false))
				vs_fpu_x87_set(fpu, 0, &vs_fpu_x87_indefinite);
		} else {
			struct vs_f80 v = vs_fpu_x87_get(fpu, 0);

			v.se = modrm == 0xe0 ? v.se ^ 0x8000 : v.se & 0x7fff;
			vs_fpu_x87_set(fpu, 0, &v);
			fpu->fsw &= (uint16_t)~FSW_C1;
		}
		return VS_EMU_FPU_OK;
	case 1 << 8 | 0xe5:
		fxam(fpu);
		return VS_EMU_FPU_OK;
	case 1 << 8 | 0xf6: /* fdecstp */
	case 1 << 8 | 0xf7: /* fincstp */
		set_top(fpu, vs_fpu_x87_top(fpu) + (modrm == 0xf6 ? 7 : 1));
		fpu->fsw &= (uint16_t)~FSW_C1;
		return VS_EMU_FPU_OK;
	case 3 << 8 | 0xe0: /* fneni, fndisi, fnsetpm: 8087/287 leftovers */
	case 3 << 8 | 0xe1:
	case 3 << 8 | 0xe4:
		return VS_EMU_FPU_OK;
	case 3 << 8 | 0xe2: /* fnclex */
		fpu->fsw &= (uint16_t) ~(FSW_XF | FSW_SF | FSW_ES | FSW_B);
		return VS_EMU_FPU_OK;
	case 3 << 8 | 0xe3:
		fninit(fpu);
		return VS_EMU_FPU_OK;
	case 7 << 8 | 0xe0: /* fnstsw ax */
		c->env->set_gpr(c->env->cpu, 0, (c->env->get_gpr(c->env->cpu, 0) & ~0xffffull) | fpu->fsw);
		return VS_EMU_FPU_OK;
	}
	switch (esc << 8 | (modrm & 0xf8)) {
	case 1 << 8 | 0xc0:
		fld_sti(fpu, i);
		return VS_EMU_FPU_OK;
	case 1 << 8 | 0xc8: /* fxch, and its aliases DD C8, DF C8 */
	case 5 << 8 | 0xc8:
	case 7 << 8 | 0xc8:
		fxch(fpu, i);
		return VS_EMU_FPU_OK;
	case 5 << 8 | 0xd0: /* fst st(i) */
		fst_sti(fpu, i, false);
		return VS_EMU_FPU_OK;
	case 1 << 8 | 0xd8: /* fstp st(i), and its aliases D9 D8, DF D0, DF D8 */
	case 5 << 8 | 0xd8:
	case 7 << 8 | 0xd0:
	case 7 << 8 | 0xd8:
		fst_sti(fpu, i, true);
		return VS_EMU_FPU_OK;
	case 5 << 8 | 0xc0: /* ffree (C1 cleared, as hardware does) */
		tag_set(fpu, phys(fpu, i), 3);
		fpu->fsw &= (uint16_t)~FSW_C1;
		return VS_EMU_FPU_OK;
	case 7 << 8 | 0xc0: /* ffreep */
		tag_set(fpu, phys(fpu, i), 3);
		fpu->fsw &= (uint16_t)~FSW_C1;
		vs_fpu_x87_pop(fpu);
		return VS_EMU_FPU_OK;
	}
	*done = false;
	return VS_EMU_FPU_UD;
}

/* Instructions that do not wait for a pending unmasked exception, and
 * the control instructions that leave FIP/FOP/FDP alone. */
static bool x87_nowait(unsigned esc, unsigned modrm)
{
	if ((modrm >> 6) == 3)
		return (esc == 3 && modrm >= 0xe0 && modrm <= 0xe4) || (esc == 7 && modrm == 0xe0);
	return (esc == 1 && ((modrm >> 3) & 7) >= 6) || (esc == 5 && ((modrm >> 3) & 7) >= 6);
}

static bool x87_control(unsigned esc, unsigned modrm)
{
	if ((modrm >> 6) == 3)
		return (esc == 3 && (modrm == 0xe2 || modrm == 0xe3)) || (esc == 7 && modrm == 0xe0);
	return (esc == 1 && ((modrm >> 3) & 7) >= 4) || (esc == 5 && ((modrm >> 3) & 7) >= 4);
}

enum vs_emu_fpu_status vs_fpu_x87_exec(struct vs_fpu_ctx *c)
{
	const struct vs_emu_fpu_insn *insn = c->insn;
	struct vs_emu_fpu *fpu = c->fpu;
	unsigned esc = insn->opcode & 7, modrm = insn->modrm;
	enum vs_emu_fpu_status st;
	bool done = false;

	if (insn->opcode < 0xd8)
		return VS_EMU_FPU_UD;
	if (!x87_nowait(esc, modrm) && (fpu->fsw & FSW_ES))
		return VS_EMU_FPU_MF;
	if ((modrm >> 6) != 3) {
		st = x87_mem(c, esc, (modrm >> 3) & 7);
		if (st == VS_EMU_FPU_UD && (esc == 0 || esc == 2 || esc == 4 || esc == 6))
			st = vs_fpu_x87_arith(c, esc, modrm);
	} else {
		st = x87_reg(c, esc, modrm, &done);
		if (!done)
			st = vs_fpu_x87_arith(c, esc, modrm);
	}
	if (st == VS_EMU_FPU_OK && !x87_control(esc, modrm)) {
		fpu->fop = (uint16_t)(esc << 8 | modrm);
		fpu->fip = insn->rip;
		if ((modrm >> 6) != 3)
			fpu->fdp = insn->ea;
	}
	return st;
}

/* Far control transfers: JMP/CALL far, RET far, SYSCALL/SYSRET. Call
 * gates, task switches and virtual-8086 mode are not supported (#GP). */
#include "accel/emu/cpu.h"
#include "x86/segment.h"

/* Load and check a code segment descriptor for a direct far JMP/CALL. */
static void code_target(struct vs_emu_cpu *c, uint16_t sel, struct vs_segment *cs)
{
	uint64_t raw;
	if ((sel & ~3u) == 0)
		raise_gp(c, 0);
	raw = vs_emu_read_desc(c, sel, NULL);
	vs_x86_desc_decode(raw, 0, sel, false, cs);
	if (!cs->s || !(cs->type & 8))
		raise_gp(c, sel & ~3u); /* gates and TSS: not supported */
	if (cs->type & 4) {
		if (cs->dpl > c->cpl)
			raise_gp(c, sel & ~3u);
	} else if ((sel & 3) > c->cpl || cs->dpl != c->cpl) {
		raise_gp(c, sel & ~3u);
	}
	if (!cs->present)
		vs_emu_raise(c, EX_NP, sel & ~3u, true);
	if ((c->efer & EFER_LMA) && cs->l && cs->db)
		raise_gp(c, sel & ~3u);
	vs_emu_mark_desc_accessed(c, sel, raw);
	cs->type |= 1;
	cs->selector = (uint16_t)((sel & ~3u) | c->cpl);
	cs->dpl = c->cpl;
}

void vs_emu_far_jump(struct vs_emu_cpu *c, uint16_t sel, uint64_t off, bool call, unsigned opsize,
		     uint64_t ret_ip)
{
	struct vs_segment cs;
	if (!(c->cr0 & CR0_PE) || (c->rflags & F_VM)) {
		if (call) {
			push(c, opsize, c->seg[S_CS].selector);
			push(c, opsize, ret_ip);
		}
		vs_emu_load_seg(c, S_CS, sel);
		c->rip = opsize == 2 ? off & 0xffff : (uint32_t)off;
		return;
	}
	code_target(c, sel, &cs);
	if (call) {
		/* Both pushes checked before anything changes. */
		uint64_t sp = sp_get(c);
		unsigned ssz = stack_size(c);
		uint64_t m = ssz == 8 ? ~0ull : ssz == 4 ? 0xffffffffull : 0xffff;
		lin_write(c, seg_la(c, S_SS, (sp - opsize) & m), opsize, c->seg[S_CS].selector);
		lin_write(c, seg_la(c, S_SS, (sp - 2 * opsize) & m), opsize, ret_ip);
		sp_set(c, sp - 2 * opsize);
	}
	c->seg[S_CS] = cs;
	vs_emu_update_mode(c);
	c->rip = c->long64 ? off : opsize == 2 ? off & 0xffff : (uint32_t)off;
}

void vs_emu_far_ret(struct vs_emu_cpu *c, unsigned opsize, uint16_t imm)
{
	uint64_t sp = sp_get(c), ip;
	unsigned ssz = stack_size(c);
	uint64_t m = ssz == 8 ? ~0ull : ssz == 4 ? 0xffffffffull : 0xffff;
	uint16_t sel;
	struct vs_segment cs, ss;
	uint64_t raw;
	ip = lin_read(c, seg_la(c, S_SS, sp & m), opsize);
	sel = (uint16_t)lin_read(c, seg_la(c, S_SS, (sp + opsize) & m), opsize);
	if (!(c->cr0 & CR0_PE) || (c->rflags & F_VM)) {
		vs_emu_load_seg(c, S_CS, sel);
		sp_set(c, sp + 2 * opsize + imm);
		c->rip = opsize == 2 ? ip & 0xffff : (uint32_t)ip;
		return;
	}
	if ((sel & ~3u) == 0 || (sel & 3) < c->cpl)
		raise_gp(c, sel & ~3u);
	raw = vs_emu_read_desc(c, sel, NULL);
	vs_x86_desc_decode(raw, 0, sel, false, &cs);
	if (!cs.s || !(cs.type & 8))
		raise_gp(c, sel & ~3u);
	if (!cs.present)
		vs_emu_raise(c, EX_NP, sel & ~3u, true);
	if ((sel & 3) == c->cpl) {
		cs.dpl = c->cpl;
		c->seg[S_CS] = cs;
		sp_set(c, sp + 2 * opsize + imm);
		vs_emu_update_mode(c);
		c->rip = c->long64 ? ip : opsize == 2 ? ip & 0xffff : (uint32_t)ip;
		return;
	}
	/* To an outer level: SS:SP follow the immediate. */
	{
		uint64_t new_sp = lin_read(c, seg_la(c, S_SS, (sp + 2 * opsize + imm) & m), opsize);
		uint16_t ss_sel = (uint16_t)lin_read(c, seg_la(c, S_SS, (sp + 3 * opsize + imm) & m), opsize);
		uint8_t cpl = sel & 3;
		if ((ss_sel & ~3u) == 0)
			raise_gp(c, 0);
		raw = vs_emu_read_desc(c, ss_sel, NULL);
		vs_x86_desc_decode(raw, 0, ss_sel, false, &ss);
		if ((ss_sel & 3) != cpl || ss.dpl != cpl || (ss.type & 0xa) != 2 || !ss.s)
			raise_gp(c, ss_sel & ~3u);
		cs.dpl = cpl;
		c->seg[S_CS] = cs;
		c->seg[S_SS] = ss;
		vs_emu_update_mode(c);
		sp_set(c, new_sp + imm);
		c->rip = c->long64 ? ip : opsize == 2 ? ip & 0xffff : (uint32_t)ip;
	}
}

static void flat_seg(struct vs_segment *s, uint16_t sel, bool code, bool l, uint8_t dpl)
{
	memset(s, 0, sizeof(*s));
	s->selector = sel;
	s->limit = 0xffffffff;
	s->type = code ? 0xb : 0x3;
	s->s = 1;
	s->present = 1;
	s->dpl = dpl;
	s->g = 1;
	s->l = l;
	s->db = !l;
}

void vs_emu_syscall(struct vs_emu_cpu *c, uint64_t next)
{
	uint16_t sel = (uint16_t)(c->star >> 32) & ~3u;
	bool from64 = c->long64; /* 64-bit callers enter at LSTAR, compatibility mode at CSTAR */
	uint64_t flags;
	if (!(c->efer & EFER_SCE))
		raise_ud(c);
	if (!(c->efer & EFER_LMA))
		raise_ud(c); /* legacy-mode SYSCALL is AMD only */
	flags = vs_emu_flags(c);
	c->r[R_CX] = next;
	c->r[11] = flags & ~F_RF;
	flat_seg(&c->seg[S_CS], sel, true, true, 0);
	flat_seg(&c->seg[S_SS], (uint16_t)(sel + 8), false, false, 0);
	c->rflags = (flags & ~c->sfmask & ~F_RF) | 2;
	vs_emu_update_mode(c);
	c->rip = from64 ? c->lstar : c->cstar;
}

void vs_emu_sysret(struct vs_emu_cpu *c, bool rex_w)
{
	uint16_t sel = (uint16_t)(c->star >> 48);
	uint64_t rip = c->r[R_CX];
	if (!(c->efer & EFER_SCE))
		raise_ud(c);
	if (c->cpl != 0 || !c->long64)
		raise_gp(c, 0);
	if (rex_w && !is_canonical(rip))
		raise_gp(c, 0);
	if (rex_w)
		flat_seg(&c->seg[S_CS], (uint16_t)((sel + 16) | 3), true, true, 3);
	else
		flat_seg(&c->seg[S_CS], (uint16_t)(sel | 3), true, false, 3);
	flat_seg(&c->seg[S_SS], (uint16_t)((sel + 8) | 3), false, false, 3);
	c->lf_op = LF_NONE;
	c->rflags = (c->r[11] & 0x3c7fd7ull & ~(F_RF | F_VM)) | 2;
	vs_emu_update_mode(c);
	c->rip = rex_w ? rip : (uint32_t)rip;
	irq_window(c);
}

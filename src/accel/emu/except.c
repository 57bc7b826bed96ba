/* Exceptions and interrupts: raising a fault from inside an instruction,
 * and delivering a vector through the IVT (real mode), a 32-bit IDT
 * (protected mode) or a 64-bit IDT (long mode, with IST stacks). */
#include "accel/emu/cpu.h"
#include "x86/segment.h"

void vs_emu_raise(struct vs_emu_cpu *c, int vector, uint32_t error, bool has_error)
{
	c->exc_vector = vector;
	c->exc_error = error;
	c->exc_has_error = has_error;
	longjmp(*c->jb, 1);
}

static void deliver_real(struct vs_emu_cpu *c, int vector)
{
	uint64_t entry;
	uint16_t ip, cs;
	if ((uint32_t)vector * 4 + 3 > c->idt.limit)
		raise_gp(c, (uint32_t)vector * 8 + 2);
	entry = sys_read(c, c->idt.base + (uint64_t)vector * 4, 4);
	ip = (uint16_t)entry;
	cs = (uint16_t)(entry >> 16);
	push(c, 2, vs_emu_flags(c));
	push(c, 2, c->seg[S_CS].selector);
	push(c, 2, c->rip);
	c->rflags &= ~(F_IF | F_TF | F_AC | F_RF);
	vs_emu_load_seg(c, S_CS, cs);
	c->rip = ip;
}

/* The code segment a gate points to: present code of DPL <= CPL. */
static void gate_target(struct vs_emu_cpu *c, uint16_t sel, struct vs_segment *cs, uint32_t ext)
{
	uint64_t raw;
	if ((sel & ~3u) == 0)
		raise_gp(c, ext);
	raw = vs_emu_read_desc(c, sel, NULL);
	vs_x86_desc_decode(raw, 0, sel, false, cs);
	if (!cs->s || !(cs->type & 8) || cs->dpl > c->cpl)
		raise_gp(c, (sel & ~3u) | ext);
	if (!cs->present)
		vs_emu_raise(c, EX_NP, (sel & ~3u) | ext, true);
}

/* Null out data segment registers the new, less privileged code may not
 * use (after IRET / far RET to an outer level). */
static void null_inaccessible(struct vs_emu_cpu *c)
{
	static const int segs[] = { S_ES, S_DS, S_FS, S_GS };
	for (unsigned i = 0; i < 4; i++) {
		struct vs_segment *s = &c->seg[segs[i]];
		bool conforming_code = (s->type & 0xc) == 0xc;
		if (!s->unusable && s->s && !conforming_code && s->dpl < c->cpl) {
			uint64_t base = s->base;
			memset(s, 0, sizeof(*s));
			s->unusable = 1;
			if (c->long64 && (segs[i] == S_FS || segs[i] == S_GS))
				s->base = base;
		}
	}
}

/* `ret_ip` is the RIP the frame holds: the faulting or interrupted
 * instruction, or the one after a software interrupt. */
static void deliver_protected(struct vs_emu_cpu *c, int vector, bool soft, bool has_error, uint32_t error,
			      uint64_t ret_ip)
{
	bool lm = c->efer & EFER_LMA;
	unsigned gsize = lm ? 16 : 8;
	uint32_t ext = soft ? 0 : 1;
	uint32_t idt_err = (uint32_t)vector * 8 + 2 + ext;
	uint64_t lo, hi = 0, off, new_sp, old_sp = c->r[R_SP], flags = vs_emu_flags(c);
	uint16_t sel, old_ss = c->seg[S_SS].selector, old_cs = c->seg[S_CS].selector;
	unsigned type, dpl, ist, psize;
	struct vs_segment cs, ss = c->seg[S_SS];
	uint8_t old_cpl = c->cpl;
	bool stack_switch;
	if ((uint64_t)vector * gsize + gsize - 1 > c->idt.limit)
		raise_gp(c, idt_err);
	lo = sys_read(c, c->idt.base + (uint64_t)vector * gsize, 8);
	if (lm)
		hi = sys_read(c, c->idt.base + (uint64_t)vector * gsize + 8, 8);
	type = (lo >> 40) & 0xf;
	dpl = (lo >> 45) & 3;
	if ((lo >> 44) & 1)
		raise_gp(c, idt_err);
	if (lm ? (type != 0xe && type != 0xf) : (type != 0xe && type != 0xf && type != 0x6 && type != 0x7))
		raise_gp(c, idt_err); /* task gates are not supported */
	if (soft && dpl < c->cpl)
		raise_gp(c, idt_err);
	if (!((lo >> 47) & 1))
		vs_emu_raise(c, EX_NP, idt_err, true);
	sel = (uint16_t)(lo >> 16);
	off = (lo & 0xffff) | ((lo >> 32) & 0xffff0000ull) | (lm ? (hi & 0xffffffffull) << 32 : 0);
	ist = lm ? (lo >> 32) & 7 : 0;
	gate_target(c, sel, &cs, ext);
	if (lm && !cs.l)
		raise_gp(c, (sel & ~3u) | ext);
	psize = lm ? 8 : (type & 8) ? 4 : 2;
	stack_switch = cs.dpl < c->cpl && !(cs.type & 4);
	if (lm) {
		if (ist)
			new_sp = sys_read(c, c->tr.base + 0x24 + 8 * (ist - 1), 8);
		else if (stack_switch)
			new_sp = sys_read(c, c->tr.base + 4 + 8 * cs.dpl, 8);
		else
			new_sp = c->r[R_SP];
		new_sp &= ~15ull;
		if (stack_switch) {
			memset(&ss, 0, sizeof(ss));
			ss.selector = cs.dpl;
			ss.unusable = 1;
			ss.db = 1;
			ss.dpl = cs.dpl;
		}
	} else if (stack_switch) {
		/* 32-bit TSS: ESPn at 4 + 8n, SSn at 8 + 8n. */
		uint16_t ss_sel;
		uint64_t raw;
		new_sp = sys_read(c, c->tr.base + 4 + 8 * cs.dpl, 4);
		ss_sel = (uint16_t)sys_read(c, c->tr.base + 8 + 8 * cs.dpl, 2);
		if ((ss_sel & ~3u) == 0)
			vs_emu_raise(c, EX_TS, ext, true);
		raw = vs_emu_read_desc(c, ss_sel, NULL);
		vs_x86_desc_decode(raw, 0, ss_sel, false, &ss);
		if (!ss.present)
			vs_emu_raise(c, EX_SS, (ss_sel & ~3u) | ext, true);
	} else {
		new_sp = sp_get(c);
	}
	/* Build the frame on the new stack, then switch. */
	{
		uint64_t frame[6];
		unsigned n = 0;
		uint64_t base = lm ? 0 : ss.base;
		uint64_t sp = new_sp;
		bool push_ss = lm || stack_switch;
		if (push_ss) {
			frame[n++] = old_ss;
			frame[n++] = old_sp;
		}
		frame[n++] = flags;
		frame[n++] = old_cs;
		frame[n++] = ret_ip;
		if (has_error)
			frame[n++] = error;
		for (unsigned i = 0; i < n; i++) {
			sp -= psize;
			if (!lm && !ss.db)
				sp &= 0xffff;
			vs_emu_write_slow(c, lm ? sp : (uint32_t)(base + sp), psize, frame[i],
					  cs.dpl < 3 ? ACC_SUP : 0);
		}
		new_sp = sp;
	}
	cs.selector = (uint16_t)((sel & ~3u) | (stack_switch ? cs.dpl : old_cpl));
	if (cs.type & 4) /* conforming: keeps CPL */
		cs.dpl = old_cpl;
	c->seg[S_CS] = cs;
	c->seg[S_SS] = ss;
	if (stack_switch)
		c->seg[S_SS].dpl = cs.dpl;
	if (lm || ss.db)
		c->r[R_SP] = lm ? new_sp : (uint32_t)new_sp;
	else
		c->r[R_SP] = (c->r[R_SP] & ~0xffffull) | (new_sp & 0xffff);
	c->rip = lm ? off : psize == 2 ? off & 0xffff : (uint32_t)off;
	c->rflags &= ~(F_TF | F_NT | F_RF | F_VM);
	if (!(type & 1))
		c->rflags &= ~F_IF;
	vs_emu_update_mode(c);
}

void vs_emu_deliver(struct vs_emu_cpu *c, int vector, bool soft, bool has_error, uint32_t error)
{
	if (!(c->cr0 & CR0_PE))
		deliver_real(c, vector);
	else
		deliver_protected(c, vector, soft, has_error, error, c->rip);
}

void vs_emu_deliver_soft(struct vs_emu_cpu *c, int vector, uint64_t next_ip)
{
	c->soft_int = true;
	if (!(c->cr0 & CR0_PE)) {
		c->rip = next_ip;
		deliver_real(c, vector);
	} else {
		deliver_protected(c, vector, true, false, 0, next_ip);
	}
}

void vs_emu_write_rflags(struct vs_emu_cpu *c, uint64_t v, unsigned size)
{
	uint64_t mask = F_ARITH | F_TF | F_DF | F_NT | F_AC | F_ID;
	if (size == 2)
		mask &= 0xffff;
	if (c->cpl == 0 || !(c->cr0 & CR0_PE))
		mask |= F_IOPL;
	if (c->cpl <= ((vs_emu_flags(c) & F_IOPL) >> 12) || !(c->cr0 & CR0_PE))
		mask |= F_IF;
	if (size == 2)
		mask &= 0xffff;
	vs_emu_set_flags(c, v, mask);
	irq_window(c);
	debug_window(c);
}

void vs_emu_iret(struct vs_emu_cpu *c, unsigned opsize)
{
	uint64_t ip, flags, sp = 0;
	uint16_t cs_sel, ss_sel = 0;
	struct vs_segment cs, ss;
	uint64_t raw;
	uint8_t old_cpl = c->cpl;
	bool lm = c->efer & EFER_LMA;
	c->nmi_blocked = false;
	if (!(c->cr0 & CR0_PE)) {
		ip = pop(c, opsize);
		cs_sel = (uint16_t)pop(c, opsize);
		flags = pop(c, opsize);
		vs_emu_load_seg(c, S_CS, cs_sel);
		c->rip = opsize == 2 ? (uint16_t)ip : (uint32_t)ip;
		vs_emu_write_rflags(c, flags, opsize);
		return;
	}
	if (c->rflags & (F_VM | F_NT))
		raise_gp(c, 0); /* virtual-8086 mode and task returns are not supported */
	{
		/* Read the whole frame before changing anything. */
		uint64_t top = sp_get(c);
		unsigned ss_size = stack_size(c);
		uint64_t m = ss_size == 8 ? ~0ull : ss_size == 4 ? 0xffffffffull : 0xffff;
		ip = lin_read(c, seg_la(c, S_SS, top & m), opsize);
		cs_sel = (uint16_t)lin_read(c, seg_la(c, S_SS, (top + opsize) & m), opsize);
		flags = lin_read(c, seg_la(c, S_SS, (top + 2 * opsize) & m), opsize);
		if (lm && c->long64) {
			sp = lin_read(c, seg_la(c, S_SS, top + 3 * opsize), opsize);
			ss_sel = (uint16_t)lin_read(c, seg_la(c, S_SS, top + 4 * opsize), opsize);
		} else if ((cs_sel & 3) > c->cpl) {
			sp = lin_read(c, seg_la(c, S_SS, (top + 3 * opsize) & m), opsize);
			ss_sel = (uint16_t)lin_read(c, seg_la(c, S_SS, (top + 4 * opsize) & m), opsize);
		} else {
			sp = top + 3 * opsize;
		}
		if (!(lm && c->long64) && (cs_sel & 3) <= c->cpl) {
			/* Same level: only pop the three. */
			sp_set(c, sp);
			sp = 0;
		}
	}
	if ((cs_sel & ~3u) == 0)
		raise_gp(c, 0);
	raw = vs_emu_read_desc(c, cs_sel, NULL);
	vs_x86_desc_decode(raw, 0, cs_sel, false, &cs);
	if (!cs.s || !(cs.type & 8) || (cs_sel & 3) < c->cpl)
		raise_gp(c, cs_sel & ~3u);
	if (!cs.present)
		vs_emu_raise(c, EX_NP, cs_sel & ~3u, true);
	if ((lm && c->long64) || (cs_sel & 3) > c->cpl) {
		uint8_t new_cpl = cs_sel & 3;
		if ((ss_sel & ~3u) == 0) {
			if (!(lm && cs.l && new_cpl < 3))
				raise_gp(c, 0);
			memset(&ss, 0, sizeof(ss));
			ss.selector = ss_sel;
			ss.unusable = 1;
			ss.db = 1;
			ss.dpl = new_cpl;
		} else {
			raw = vs_emu_read_desc(c, ss_sel, NULL);
			vs_x86_desc_decode(raw, 0, ss_sel, false, &ss);
			if (!ss.s || (ss.type & 0xa) != 2 || (ss_sel & 3) != new_cpl || ss.dpl != new_cpl)
				raise_gp(c, ss_sel & ~3u);
			if (!ss.present)
				vs_emu_raise(c, EX_SS, ss_sel & ~3u, true);
		}
		c->seg[S_CS] = cs;
		c->seg[S_SS] = ss;
		c->seg[S_SS].dpl = new_cpl;
		vs_emu_update_mode(c);
		/* The flags rules use the old CPL. */
		{
			uint8_t now = c->cpl;
			c->cpl = old_cpl;
			vs_emu_write_rflags(c, flags, opsize);
			c->cpl = now;
		}
		if (c->long64 || (lm && opsize == 8))
			c->r[R_SP] = sp;
		else if (ss.db)
			c->r[R_SP] = (uint32_t)sp;
		else
			c->r[R_SP] = (c->r[R_SP] & ~0xffffull) | (sp & 0xffff);
		if (new_cpl > old_cpl)
			null_inaccessible(c);
	} else {
		c->seg[S_CS] = cs;
		vs_emu_update_mode(c);
		vs_emu_write_rflags(c, flags, opsize);
	}
	/* IRET (not POPF) loads RF: a debug handler returns with it set to
	 * step over the instruction breakpoint that brought it in. */
	if (opsize >= 4)
		c->rflags = (c->rflags & ~F_RF) | (flags & F_RF);
	c->rip = c->long64 ? ip : opsize == 2 ? (uint16_t)ip : (uint32_t)ip;
	if (c->cpl == 3 && (c->rflags & F_VM))
		raise_gp(c, 0);
	vs_emu_update_mode(c);
}

/* Processor modes: the cached mode bits, control registers, segment
 * register loads, reset and the architectural state seen by the machine. */
#include "accel/emu/cpu.h"
#include "x86/segment.h"

void vs_emu_update_mode(struct vs_emu_cpu *c)
{
	bool lma = c->efer & EFER_LMA;
	const struct vs_segment *cs = &c->seg[S_CS];
	c->long64 = lma && cs->l;
	c->code_size = c->long64 ? 8 : cs->db ? 4 : 2;
	if (!(c->cr0 & CR0_PE))
		c->cpl = 0;
	else if (c->rflags & F_VM)
		c->cpl = 3;
	else
		c->cpl = c->seg[S_SS].dpl;
	c->user = c->cpl == 3;
	c->paging = c->cr0 & CR0_PG;
	c->fetch_page = 0;
}

uint64_t vs_emu_read_desc(struct vs_emu_cpu *c, uint16_t sel, uint64_t *high)
{
	const struct vs_dtable *t = &c->gdt;
	struct vs_dtable ldt;
	uint64_t off = sel & ~7u;
	if (sel & 4) {
		if (c->ldt.unusable || !c->ldt.present)
			raise_gp(c, sel & ~3u);
		ldt.base = c->ldt.base;
		ldt.limit = (uint16_t)(c->ldt.limit > 0xffff ? 0xffff : c->ldt.limit);
		t = &ldt;
	}
	if (off + 7 > t->limit)
		raise_gp(c, sel & ~3u);
	if (high)
		*high = off + 15 <= t->limit ? sys_read(c, t->base + off + 8, 8) : 0;
	return sys_read(c, t->base + off, 8);
}

/* Set the accessed bit of the descriptor `sel` names, as the CPU does on
 * every load of a segment register (`raw` is the descriptor as read). */
void vs_emu_mark_desc_accessed(struct vs_emu_cpu *c, uint16_t sel, uint64_t raw)
{
	uint64_t base = (sel & 4) ? c->ldt.base : c->gdt.base;
	if (raw & (1ull << 40))
		return;
	sys_write(c, base + (sel & ~7u) + 5, 1, (uint8_t)(raw >> 40) | 1u);
}

void vs_emu_load_seg(struct vs_emu_cpu *c, int seg, uint16_t sel)
{
	struct vs_segment s;
	uint64_t raw;
	if (!(c->cr0 & CR0_PE) || (c->rflags & F_VM)) {
		c->seg[seg].selector = sel;
		c->seg[seg].base = (uint64_t)sel << 4;
		if (c->rflags & F_VM)
			vs_x86_seg_real(sel, seg == S_CS, &c->seg[seg]);
		if (seg == S_CS || seg == S_SS)
			vs_emu_update_mode(c);
		return;
	}
	if ((sel & ~3u) == 0) {
		/* Null selector: fine for data segments (and SS in 64-bit
		 * mode below CPL 3); using it faults later. */
		if (seg == S_SS && !(c->long64 && c->cpl < 3))
			raise_gp(c, 0);
		memset(&c->seg[seg], 0, sizeof(c->seg[seg]));
		c->seg[seg].selector = sel;
		c->seg[seg].unusable = 1;
		if (seg == S_SS) {
			c->seg[seg].dpl = c->cpl;
			c->seg[seg].db = 1;
		}
		return;
	}
	raw = vs_emu_read_desc(c, sel, NULL);
	vs_x86_desc_decode(raw, 0, sel, false, &s);
	if (!s.s)
		raise_gp(c, sel & ~3u);
	if (seg == S_SS) {
		/* Writable data at CPL = RPL = DPL. */
		if ((s.type & 0xa) != 0x2 || (sel & 3) != c->cpl || s.dpl != c->cpl)
			raise_gp(c, sel & ~3u);
		if (!s.present)
			vs_emu_raise(c, EX_SS, sel & ~3u, true);
	} else {
		/* Data, or readable code; unless the code is conforming,
		 * neither CPL nor RPL may be above its DPL. */
		if ((s.type & 0xa) == 0x8)
			raise_gp(c, sel & ~3u);
		if ((s.type & 0xc) != 0xc && ((sel & 3u) > s.dpl || c->cpl > s.dpl))
			raise_gp(c, sel & ~3u);
		if (!s.present)
			vs_emu_raise(c, EX_NP, sel & ~3u, true);
	}
	vs_emu_mark_desc_accessed(c, sel, raw);
	s.type |= 1;
	c->seg[seg] = s;
	if (seg == S_SS)
		vs_emu_update_mode(c);
}

void vs_emu_set_cr0(struct vs_emu_cpu *c, uint64_t v)
{
	uint64_t old = c->cr0;
	v |= CR0_ET;
	if ((v >> 32) || ((v & CR0_PG) && !(v & CR0_PE)) || ((v & CR0_NW) && !(v & CR0_CD)))
		raise_gp(c, 0);
	if ((v & CR0_PG) && !(old & CR0_PG) && (c->efer & EFER_LME)) {
		if (!(c->cr4 & CR4_PAE) || c->seg[S_CS].l)
			raise_gp(c, 0);
		c->efer |= EFER_LMA;
	}
	if (!(v & CR0_PG) && (old & CR0_PG) && (c->efer & EFER_LMA)) {
		if (c->long64)
			raise_gp(c, 0);
		c->efer &= ~EFER_LMA;
	}
	c->cr0 = v;
	if ((old ^ v) & (CR0_PG | CR0_WP | CR0_PE))
		vs_emu_tlb_flush(c, true);
	vs_emu_update_mode(c);
}

void vs_emu_set_cr3(struct vs_emu_cpu *c, uint64_t v)
{
	c->cr3 = v;
	vs_emu_tlb_flush(c, false);
}

void vs_emu_set_cr4(struct vs_emu_cpu *c, uint64_t v)
{
	/* What CPUID advertises: VME..PCE, OSFXSR, OSXMMEXCPT. */
	const uint64_t allowed = 0x7ff & ~(1ull << 11);
	if (v & ~(allowed | CR4_OSFXSR | CR4_OSXMMEXCPT))
		raise_gp(c, 0);
	if ((c->efer & EFER_LMA) && !(v & CR4_PAE))
		raise_gp(c, 0);
	if ((c->cr4 ^ v) & (CR4_PAE | CR4_PGE | CR4_PSE))
		vs_emu_tlb_flush(c, true);
	c->cr4 = v;
}

void vs_emu_reset(struct vs_emu_cpu *c)
{
	memset(c->r, 0, sizeof(c->r));
	c->r[R_DX] = 0x600; /* family 6 */
	c->rip = 0xfff0;
	c->rflags = 2;
	c->lf_op = LF_NONE;
	for (int i = 0; i < 6; i++)
		vs_x86_seg_real(0, i == S_CS, &c->seg[i]);
	vs_x86_seg_real(0xf000, true, &c->seg[S_CS]);
	c->seg[S_CS].base = 0xffff0000;
	memset(&c->tr, 0, sizeof(c->tr));
	c->tr.type = VS_DESC_TSS_BUSY;
	c->tr.present = 1;
	c->tr.limit = 0xffff;
	memset(&c->ldt, 0, sizeof(c->ldt));
	c->ldt.type = VS_DESC_LDT;
	c->ldt.present = 1;
	c->ldt.limit = 0xffff;
	c->gdt = (struct vs_dtable){ 0, 0xffff };
	c->idt = (struct vs_dtable){ 0, 0xffff };
	c->cr0 = CR0_ET | CR0_CD | CR0_NW;
	c->cr2 = c->cr3 = c->cr4 = 0;
	c->efer = 0;
	c->star = c->lstar = c->cstar = c->sfmask = c->kernel_gs_base = 0;
	c->pat = 0x0007040600070406ull;
	c->misc_enable = 1; /* fast strings: Linux keeps ERMS only with it */
	c->sysenter_cs = c->sysenter_esp = c->sysenter_eip = 0;
	memset(c->dr, 0, sizeof(c->dr));
	c->dr[6] = 0xffff0ff0;
	c->dr[7] = 0x400;
	c->shadow = false;
	c->nmi_blocked = false;
	c->delivering = -1;
	vs_emu_fpu_reset(&c->fpu);
	vs_emu_tlb_flush(c, true);
	vs_emu_update_mode(c);
}

void vs_emu_get_state(const struct vs_emu_cpu *c, struct vs_cpu_state *st)
{
	struct vs_emu_cpu tmp = *c; /* flags are materialised on a copy */
	memset(st, 0, sizeof(*st));
	st->rax = c->r[0], st->rcx = c->r[1], st->rdx = c->r[2], st->rbx = c->r[3];
	st->rsp = c->r[4], st->rbp = c->r[5], st->rsi = c->r[6], st->rdi = c->r[7];
	st->r8 = c->r[8], st->r9 = c->r[9], st->r10 = c->r[10], st->r11 = c->r[11];
	st->r12 = c->r[12], st->r13 = c->r[13], st->r14 = c->r[14], st->r15 = c->r[15];
	st->rip = c->rip;
	st->rflags = vs_emu_flags(&tmp);
	st->es = c->seg[S_ES], st->cs = c->seg[S_CS], st->ss = c->seg[S_SS];
	st->ds = c->seg[S_DS], st->fs = c->seg[S_FS], st->gs = c->seg[S_GS];
	st->tr = c->tr, st->ldt = c->ldt;
	st->gdt = c->gdt, st->idt = c->idt;
	st->cr0 = c->cr0, st->cr2 = c->cr2, st->cr3 = c->cr3, st->cr4 = c->cr4;
	st->efer = c->efer;
	st->cr8 = 0;
}

void vs_emu_set_state(struct vs_emu_cpu *c, const struct vs_cpu_state *st)
{
	c->r[0] = st->rax, c->r[1] = st->rcx, c->r[2] = st->rdx, c->r[3] = st->rbx;
	c->r[4] = st->rsp, c->r[5] = st->rbp, c->r[6] = st->rsi, c->r[7] = st->rdi;
	c->r[8] = st->r8, c->r[9] = st->r9, c->r[10] = st->r10, c->r[11] = st->r11;
	c->r[12] = st->r12, c->r[13] = st->r13, c->r[14] = st->r14, c->r[15] = st->r15;
	c->rip = st->rip;
	c->rflags = (st->rflags & 0x3f7fd7) | 2;
	c->lf_op = LF_NONE;
	c->seg[S_ES] = st->es, c->seg[S_CS] = st->cs, c->seg[S_SS] = st->ss;
	c->seg[S_DS] = st->ds, c->seg[S_FS] = st->fs, c->seg[S_GS] = st->gs;
	c->tr = st->tr, c->ldt = st->ldt;
	c->gdt = st->gdt, c->idt = st->idt;
	c->cr0 = st->cr0 | CR0_ET, c->cr2 = st->cr2, c->cr3 = st->cr3, c->cr4 = st->cr4;
	c->efer = st->efer;
	if ((c->cr0 & CR0_PG) && (c->efer & EFER_LME))
		c->efer |= EFER_LMA;
	c->state = CPU_RUNNING;
	vs_emu_tlb_flush(c, true);
	vs_emu_update_mode(c);
}

/* System instructions: CPUID, MSRs, the TSC, port I/O, control registers
 * and descriptor-table registers (0F 00 and 0F 01 groups). */
#include "accel/emu/cpu.h"
#include "devices/irqchip/irqchip.h"
#include "x86/cpuid_topology.h"
#include "x86/segment.h"

/* What CPUID advertises: exactly what the emulator implements. */
#define ID1_EDX                                                                                           \
	((1u << 0) | (1u << 3) | (1u << 4) | (1u << 5) | (1u << 6) | (1u << 8) | (1u << 9) | (1u << 13) | \
	 (1u << 15) | (1u << 16) | (1u << 19) | (1u << 23) | (1u << 24) | (1u << 25) | (1u << 26))
#define ID81_EDX ((1u << 11) | (1u << 20) | (1u << 26) | (1u << 27) | (1u << 29))
#define ID81_ECX (1u << 0)		/* LAHF/SAHF in 64-bit mode */
#define ID7_EBX ((1u << 1) | (1u << 9)) /* TSC_ADJUST, ERMS */
#define ID7_EDX (1u << 29)		/* IA32_ARCH_CAPABILITIES */
/* IA32_ARCH_CAPABILITIES: the emulator runs nothing speculatively, so
 * none of the speculative-execution leaks applies: RDCL_NO (Meltdown),
 * SSB_NO, MDS_NO, TAA_NO, SBDR_SSDP_NO, FBSDP_NO, PSDP_NO (MMIO stale
 * data), PBRSB_NO, GDS_NO, RFDS_NO. Without RDCL_NO, Linux takes the
 * Intel vendor and model for a Meltdown-affected CPU and turns on
 * page-table isolation: a CR3 write, and so a flush of the whole software
 * TLB, on every system call, interrupt and exception from user mode. */
#define ARCH_CAP_NO_LEAKS                                                                      \
	((1ull << 0) | (1ull << 4) | (1ull << 5) | (1ull << 8) | (1ull << 13) | (1ull << 14) | \
	 (1ull << 15) | (1ull << 24) | (1ull << 26) | (1ull << 27))
#define MAX_BASIC 0x16u
#define MAX_EXT 0x80000008u

static void put_str(struct vs_cpuid_regs *r, const char *s)
{
	memcpy(&r->eax, s, 4);
	memcpy(&r->ebx, s + 4, 4);
	memcpy(&r->ecx, s + 8, 4);
	memcpy(&r->edx, s + 12, 4);
}

static void cpuid_leaf(struct vs_emu_cpu *c, uint32_t fn, uint32_t idx, struct vs_cpuid_regs *r)
{
	static const char brand[48] = "vessel emulated x86-64 CPU";
	int ncpus = c->acc->ncpus;
	*r = (struct vs_cpuid_regs){ 0 };
	if ((fn < 0x40000000 && fn > MAX_BASIC) || (fn >= 0x80000000 && fn > MAX_EXT) ||
	    (fn > 0x40000000 && fn < 0x80000000))
		fn = MAX_BASIC; /* Intel: out-of-range leaves return the highest basic leaf */
	switch (fn) {
	case 0:
		r->eax = MAX_BASIC;
		memcpy(&r->ebx, "Genu", 4);
		memcpy(&r->edx, "ineI", 4);
		memcpy(&r->ecx, "ntel", 4);
		return;
	case 1:
		r->eax = 0x000306a9; /* family 6, model 0x3a, stepping 9 */
		r->ebx = 8u << 8;    /* CLFLUSH line: 64 bytes */
		r->edx = ID1_EDX;
		break;
	case 4: {
		/* L1d, L1i, L2, L3: type | level << 5 | self-init, then ways,
		 * partitions, line size and sets. */
		static const uint32_t eax[] = { 0x121, 0x122, 0x143, 0x163 };
		static const uint32_t ebx[] = { 0x01c0003f, 0x01c0003f, 0x01c0003f, 0x03c0003f };
		static const uint32_t ecx[] = { 63, 63, 1023, 8191 };
		if (idx < 4) {
			r->eax = eax[idx];
			r->ebx = ebx[idx];
			r->ecx = ecx[idx];
		}
		break;
	}
	case 7:
		if (idx == 0) {
			r->ebx = ID7_EBX;
			r->edx = ID7_EDX;
		}
		return;
	case 0xb:
		break;
	case 0x15:
		r->eax = 1;
		r->ebx = (uint32_t)(VS_TSC_HZ / VS_APIC_BUS_HZ);
		r->ecx = (uint32_t)VS_APIC_BUS_HZ;
		return;
	case 0x16:
		r->eax = (uint32_t)(VS_TSC_HZ / 1000000);
		r->ebx = r->eax;
		r->ecx = (uint32_t)(VS_APIC_BUS_HZ / 1000000);
		return;
	case 0x40000000:
		r->eax = 0x40000000;
		memcpy(&r->ebx, "VesselEmuCPU", 12);
		return;
	case 0x80000000:
		r->eax = MAX_EXT;
		return;
	case 0x80000001:
		r->ecx = ID81_ECX;
		r->edx = ID81_EDX;
		return;
	case 0x80000002:
	case 0x80000003:
	case 0x80000004:
		put_str(r, brand + 16 * (fn - 0x80000002));
		return;
	case 0x80000006:
		r->ecx = (256u << 16) | (6u << 12) | 64; /* 256 KiB L2, 8-way, 64-byte lines */
		return;
	case 0x80000007:
		r->edx = 1u << 8; /* invariant TSC */
		return;
	case 0x80000008:
		r->eax = EMU_LINEAR_BITS << 8 | EMU_PHYS_BITS;
		break;
	default:
		return;
	}
	vs_cpuid_topology(fn, idx, c->index, ncpus, r);
}

void vs_emu_cpuid(struct vs_emu_cpu *c)
{
	struct vs_cpuid_regs r;
	cpuid_leaf(c, (uint32_t)c->r[R_AX], (uint32_t)c->r[R_CX], &r);
	c->r[R_AX] = r.eax;
	c->r[R_BX] = r.ebx;
	c->r[R_CX] = r.ecx;
	c->r[R_DX] = r.edx;
}

uint64_t vs_emu_tsc(struct vs_emu_cpu *c)
{
	return vs_timebase_tsc(c->tb) + (uint64_t)c->tsc_offset;
}

static bool msr_read(struct vs_emu_cpu *c, uint32_t msr, uint64_t *v)
{
	switch (msr) {
	case 0x10:
		*v = vs_emu_tsc(c);
		return true;
	case 0x1b:
		*v = c->irqchip ? vs_irqchip_apic_base(c->irqchip, c->index)
				: 0xfee00000ull | (1u << 11) | (c->index == 0 ? 1u << 8 : 0);
		return true;
	case 0x3b: /* IA32_TSC_ADJUST: what was added to the TSC by writes */
		*v = (uint64_t)c->tsc_offset;
		return true;
	case 0x10a: /* IA32_ARCH_CAPABILITIES (read-only) */
		*v = ARCH_CAP_NO_LEAKS;
		return true;
	case 0x8b: /* microcode revision */
	case 0xfe: /* MTRRcap: no MTRRs */
	case 0x2ff:
		*v = 0;
		return true;
	case 0x174:
		*v = c->sysenter_cs;
		return true;
	case 0x175:
		*v = c->sysenter_esp;
		return true;
	case 0x176:
		*v = c->sysenter_eip;
		return true;
	case 0x1a0:
		*v = c->misc_enable;
		return true;
	case 0x277:
		*v = c->pat;
		return true;
	case 0x6e0:
		*v = c->irqchip ? vs_irqchip_tsc_deadline(c->irqchip, c->index) : 0;
		return true;
	case 0xc0000080:
		*v = c->efer;
		return true;
	case 0xc0000081:
		*v = c->star;
		return true;
	case 0xc0000082:
		*v = c->lstar;
		return true;
	case 0xc0000083:
		*v = c->cstar;
		return true;
	case 0xc0000084:
		*v = c->sfmask;
		return true;
	case 0xc0000100:
		*v = c->seg[S_FS].base;
		return true;
	case 0xc0000101:
		*v = c->seg[S_GS].base;
		return true;
	case 0xc0000102:
		*v = c->kernel_gs_base;
		return true;
	case 0xc0000103:
		*v = c->tsc_aux;
		return true;
	default:
		return false;
	}
}

static bool msr_write(struct vs_emu_cpu *c, uint32_t msr, uint64_t v)
{
	switch (msr) {
	case 0x10: /* writing the TSC moves TSC_ADJUST by the same amount */
		c->tsc_offset = (int64_t)(v - vs_timebase_tsc(c->tb));
		return true;
	case 0x3b:
		c->tsc_offset = (int64_t)v;
		return true;
	case 0x1b:
		if (c->irqchip && vs_irqchip_set_apic_base(c->irqchip, c->index, v) < 0)
			return false;
		vs_emu_tlb_flush(c, true); /* the LAPIC page may have come or gone */
		return true;
	case 0x8b:
		return true;
	case 0x174:
		c->sysenter_cs = v & 0xffff;
		return true;
	case 0x175:
		c->sysenter_esp = v;
		return true;
	case 0x176:
		c->sysenter_eip = v;
		return true;
	case 0x1a0:
		c->misc_enable = (c->misc_enable & 1) | (v & ~1ull);
		return true;
	case 0x277:
		c->pat = v;
		return true;
	case 0x6e0:
		if (c->irqchip)
			vs_irqchip_set_tsc_deadline(c->irqchip, c->index, v);
		return true;
	case 0xc0000080: {
		uint64_t allowed = EFER_SCE | EFER_LME | EFER_NXE;
		if (v & ~(allowed | EFER_LMA))
			return false;
		if ((c->cr0 & CR0_PG) && ((v ^ c->efer) & EFER_LME))
			return false;
		c->efer = (v & allowed) | (c->efer & EFER_LMA);
		vs_emu_tlb_flush(c, true);
		return true;
	}
	case 0xc0000081:
		c->star = v;
		return true;
	case 0xc0000082:
	case 0xc0000083:
	case 0xc0000100:
	case 0xc0000101:
	case 0xc0000102:
		if (!is_canonical(v))
			return false;
		if (msr == 0xc0000082)
			c->lstar = v;
		else if (msr == 0xc0000083)
			c->cstar = v;
		else if (msr == 0xc0000100)
			c->seg[S_FS].base = v;
		else if (msr == 0xc0000101)
			c->seg[S_GS].base = v;
		else
			c->kernel_gs_base = v;
		return true;
	case 0xc0000084:
		c->sfmask = v & 0xffffffff;
		return true;
	case 0xc0000103:
		c->tsc_aux = v & 0xffffffff;
		return true;
	default:
		return false;
	}
}

void vs_emu_rdmsr(struct vs_emu_cpu *c)
{
	uint64_t v;
	if (c->cpl != 0 || !msr_read(c, (uint32_t)c->r[R_CX], &v))
		raise_gp(c, 0);
	c->r[R_AX] = (uint32_t)v;
	c->r[R_DX] = v >> 32;
}

void vs_emu_wrmsr(struct vs_emu_cpu *c)
{
	uint64_t v = (c->r[R_AX] & 0xffffffff) | (c->r[R_DX] << 32);
	if (c->cpl != 0 || !msr_write(c, (uint32_t)c->r[R_CX], v))
		raise_gp(c, 0);
}

/* Ports are open at CPL <= IOPL outside virtual-8086 mode; otherwise the
 * I/O permission bitmap of a 32/64-bit TSS decides: the bit of every
 * port accessed must be clear and inside the TSS limit. */
void vs_emu_check_io(struct vs_emu_cpu *c, uint16_t port, unsigned size)
{
	uint64_t off;
	unsigned bits;
	if (!(c->cr0 & CR0_PE))
		return;
	if (!(c->rflags & F_VM) && c->cpl <= ((vs_emu_flags(c) & F_IOPL) >> 12))
		return;
	if (c->tr.unusable || !(c->tr.type & 8) || c->tr.limit < 0x67)
		raise_gp(c, 0);
	off = (uint16_t)sys_read(c, c->tr.base + 0x66, 2) + (uint64_t)(port >> 3);
	if (off + 1 > c->tr.limit)
		raise_gp(c, 0);
	bits = (unsigned)sys_read(c, c->tr.base + off, 2);
	if ((bits >> (port & 7)) & ((1u << size) - 1))
		raise_gp(c, 0);
}

void vs_emu_port_in(struct vs_emu_cpu *c, uint16_t port, unsigned size, uint64_t *val)
{
	uint8_t buf[8] = { 0 };
	vs_bus_read(c->pio, port, buf, size);
	*val = 0;
	memcpy(val, buf, size);
}

void vs_emu_port_out(struct vs_emu_cpu *c, uint16_t port, unsigned size, uint64_t val)
{
	uint8_t buf[8];
	memcpy(buf, &val, 8);
	vs_bus_write(c->pio, port, buf, size);
}

void vs_emu_mov_cr(struct vs_emu_cpu *c, struct insn *d, bool to_cr)
{
	unsigned size = c->long64 ? 8 : 4;
	uint64_t v = 0;
	if (c->cpl != 0)
		raise_gp(c, 0);
	if (to_cr) {
		v = reg_get(c, d, d->rm, size);
		switch (d->reg) {
		case 0:
			vs_emu_set_cr0(c, size == 4 ? (uint32_t)v : v);
			break;
		case 2:
			c->cr2 = v;
			break;
		case 3:
			vs_emu_set_cr3(c, v);
			break;
		case 4:
			vs_emu_set_cr4(c, v);
			break;
		case 8:
			if (v & ~0xfull)
				raise_gp(c, 0);
			if (c->irqchip)
				vs_irqchip_set_cr8(c->irqchip, c->index, (uint8_t)v);
			atomic_store(&c->irq_kicked, true);
			atomic_store(&c->attention, 1);
			break;
		default:
			raise_ud(c);
		}
		return;
	}
	switch (d->reg) {
	case 0:
		v = c->cr0;
		break;
	case 2:
		v = c->cr2;
		break;
	case 3:
		v = c->cr3;
		break;
	case 4:
		v = c->cr4;
		break;
	case 8:
		v = c->irqchip ? vs_irqchip_cr8(c->irqchip, c->index) : 0;
		break;
	default:
		raise_ud(c);
	}
	reg_set(c, d, d->rm, size, v);
}

static void load_ldt(struct vs_emu_cpu *c, uint16_t sel)
{
	uint64_t raw, high;
	struct vs_segment s;
	if ((sel & ~3u) == 0) {
		memset(&c->ldt, 0, sizeof(c->ldt));
		c->ldt.selector = sel;
		c->ldt.unusable = 1;
		return;
	}
	if (sel & 4)
		raise_gp(c, sel & ~3u);
	raw = vs_emu_read_desc(c, sel, &high);
	vs_x86_desc_decode(raw, high, sel, c->efer & EFER_LMA, &s);
	if (s.s || s.type != VS_DESC_LDT)
		raise_gp(c, sel & ~3u);
	if (!s.present)
		vs_emu_raise(c, EX_NP, sel & ~3u, true);
	c->ldt = s;
}

static void load_tr(struct vs_emu_cpu *c, uint16_t sel)
{
	uint64_t raw, high;
	struct vs_segment s;
	if ((sel & ~3u) == 0 || (sel & 4))
		raise_gp(c, sel & ~3u);
	raw = vs_emu_read_desc(c, sel, &high);
	vs_x86_desc_decode(raw, high, sel, c->efer & EFER_LMA, &s);
	if (s.s || (s.type != VS_DESC_TSS_AVAIL && s.type != 1))
		raise_gp(c, sel & ~3u);
	if (!s.present)
		vs_emu_raise(c, EX_NP, sel & ~3u, true);
	/* Mark it busy in the GDT, as the CPU does. */
	sys_write(c, c->gdt.base + (sel & ~7u), 8, raw | (2ull << 40));
	s.type |= 2;
	c->tr = s;
}

void vs_emu_group6(struct vs_emu_cpu *c, struct insn *d)
{
	if (!(c->cr0 & CR0_PE) || (c->rflags & F_VM))
		raise_ud(c);
	switch (d->reg & 7) {
	case 0: /* SLDT */
		rm_write(c, d, d->is_mem ? 2 : d->opsize, c->ldt.selector);
		break;
	case 1: /* STR */
		rm_write(c, d, d->is_mem ? 2 : d->opsize, c->tr.selector);
		break;
	case 2:
	case 3: {
		uint16_t sel;
		if (c->cpl != 0)
			raise_gp(c, 0);
		sel = (uint16_t)rm_read(c, d, 2);
		if ((d->reg & 7) == 2)
			load_ldt(c, sel);
		else
			load_tr(c, sel);
		break;
	}
	case 4:
	case 5: { /* VERR / VERW */
		uint16_t sel = (uint16_t)rm_read(c, d, 2);
		bool ok = false;
		if ((sel & ~3u) != 0) {
			uint64_t raw;
			struct vs_segment s;
			uint64_t limit = (sel & 4) ? c->ldt.limit : c->gdt.limit;
			if ((uint64_t)(sel & ~7u) + 7 <= limit) {
				raw = vs_emu_read_desc(c, sel, NULL);
				vs_x86_desc_decode(raw, 0, sel, false, &s);
				if (s.s && ((s.type & 0xc) == 0xc || (s.dpl >= c->cpl && s.dpl >= (sel & 3))))
					ok = (d->reg & 7) == 4 ? (!(s.type & 8) || (s.type & 2))
							       : (!(s.type & 8) && (s.type & 2));
			}
		}
		vs_emu_set_flags(c, ok ? F_ZF : 0, F_ZF);
		break;
	}
	default:
		vs_emu_undefined(c, d);
	}
}

void vs_emu_group7(struct vs_emu_cpu *c, struct insn *d)
{
	unsigned op = d->reg & 7;
	if (!d->is_mem) {
		switch (d->modrm) {
		case 0xf8: /* SWAPGS */
			if (!c->long64)
				raise_ud(c);
			if (c->cpl != 0)
				raise_gp(c, 0);
			{
				uint64_t t = c->seg[S_GS].base;
				c->seg[S_GS].base = c->kernel_gs_base;
				c->kernel_gs_base = t;
			}
			return;
		case 0xf9: /* RDTSCP */
		{
			uint64_t t = vs_emu_tsc(c);
			c->r[R_AX] = (uint32_t)t;
			c->r[R_DX] = t >> 32;
			c->r[R_CX] = (uint32_t)c->tsc_aux;
			return;
		}
		default:
			break;
		}
		if (op == 4) { /* SMSW reg */
			reg_set(c, d, d->rm, d->opsize, c->cr0);
			return;
		}
		if (op == 6) { /* LMSW reg */
			if (c->cpl != 0)
				raise_gp(c, 0);
			vs_emu_set_cr0(c,
				       (c->cr0 & ~0xeull) | (c->cr0 & 1) | (reg_get(c, d, d->rm, 2) & 0xf));
			return;
		}
		vs_emu_undefined(c, d);
	}
	switch (op) {
	case 0:
	case 1: { /* SGDT / SIDT */
		const struct vs_dtable *t = op == 0 ? &c->gdt : &c->idt;
		lin_write(c, d->ea, 2, t->limit);
		if (c->long64)
			lin_write(c, d->ea + 2, 8, t->base);
		else
			lin_write(c, seg_la(c, d->seg, d->off + 2), 4, t->base & 0xffffffff);
		return;
	}
	case 2:
	case 3: { /* LGDT / LIDT */
		struct vs_dtable t;
		if (c->cpl != 0)
			raise_gp(c, 0);
		t.limit = (uint16_t)lin_read(c, d->ea, 2);
		if (c->long64)
			t.base = lin_read(c, d->ea + 2, 8);
		else
			t.base = lin_read(c, seg_la(c, d->seg, d->off + 2), 4) &
				 (d->opsize == 2 ? 0xffffff : 0xffffffff);
		if (op == 2)
			c->gdt = t;
		else
			c->idt = t;
		return;
	}
	case 4: /* SMSW m16 */
		lin_write(c, d->ea, 2, c->cr0 & 0xffff);
		return;
	case 6:
		if (c->cpl != 0)
			raise_gp(c, 0);
		vs_emu_set_cr0(c, (c->cr0 & ~0xeull) | (c->cr0 & 1) | (lin_read(c, d->ea, 2) & 0xf));
		return;
	case 7: /* INVLPG */
		if (c->cpl != 0)
			raise_gp(c, 0);
		vs_emu_tlb_flush_page(c, d->ea);
		return;
	default:
		vs_emu_undefined(c, d);
	}
}

/* The MMU: linear -> guest-physical through the shared page walk, the
 * software TLB, and the slow paths for accesses the TLB does not cover
 * (misses, page-crossing accesses, MMIO and the LAPIC page). */
#include <string.h>

#include "accel/emu/cpu.h"
#include "devices/irqchip/irqchip.h"
#include "x86/paging.h"

#define LAPIC_PAGE 0xfee00000ull

static bool tlb_empty(const struct tlb_entry *e)
{
	return !(e->tag_r | e->tag_w | e->tag_x);
}

static void tlb_note_fill(struct vs_emu_cpu *c, const struct tlb_entry *e)
{
	if (c->tlb_nfill < TLB_SIZE)
		c->tlb_fill[c->tlb_nfill++] = (uint16_t)(e - c->tlb);
	else
		c->tlb_nfill = TLB_SIZE + 1;
}

/* Empty the entries `drop` selects, among those filled since the last
 * flush; the list keeps the survivors. */
static void tlb_drop(struct vs_emu_cpu *c, bool (*drop)(const struct tlb_entry *, uint64_t), uint64_t arg)
{
	unsigned kept = 0;
	if (c->tlb_nfill > TLB_SIZE) {
		for (unsigned i = 0; i < TLB_SIZE; i++) {
			struct tlb_entry *e = &c->tlb[i];
			if (tlb_empty(e))
				continue;
			if (drop(e, arg))
				*e = (struct tlb_entry){ 0 };
			else
				c->tlb_fill[kept++] = (uint16_t)i;
		}
	} else {
		for (unsigned i = 0; i < c->tlb_nfill; i++) {
			struct tlb_entry *e = &c->tlb[c->tlb_fill[i]];
			if (tlb_empty(e))
				continue;
			if (drop(e, arg))
				*e = (struct tlb_entry){ 0 };
			else
				c->tlb_fill[kept++] = c->tlb_fill[i];
		}
	}
	c->tlb_nfill = kept;
}

static bool drop_all(const struct tlb_entry *e, uint64_t global)
{
	return global || !e->global;
}

void vs_emu_tlb_flush(struct vs_emu_cpu *c, bool global)
{
	tlb_drop(c, drop_all, global);
	if (global)
		c->tlb_large = false;
	c->fetch_page = 0;
}

/* A 4 KiB piece of the large page holding linear address `la`. */
static bool drop_piece_of(const struct tlb_entry *e, uint64_t la)
{
	uint64_t page = (e->tag_r | e->tag_w | e->tag_x) & ~0xfffull;
	return e->page_shift > 12 && (page >> e->page_shift) == (la >> e->page_shift);
}

/* INVLPG: every cached piece of the guest page holding `la`, whatever its
 * size. A large page is cached as 4 KiB pieces in many slots, so with any
 * large page cached the entries filled since the last flush are scanned
 * for pieces of the same large page rather than flushed whole: Linux maps
 * its kernel with 2 MiB pages and issues INVLPG for user pages all the
 * time. */
void vs_emu_tlb_flush_page(struct vs_emu_cpu *c, uint64_t la)
{
	*tlb_slot(c, la) = (struct tlb_entry){ 0 };
	if (c->tlb_large)
		tlb_drop(c, drop_piece_of, la);
	c->fetch_page = 0;
}

/* The LAPIC page shadows RAM at 0xfee00000 while the APIC base MSR
 * enables it. */
static bool is_lapic(struct vs_emu_cpu *c, uint64_t gpa)
{
	if (!c->irqchip || (gpa & ~0xfffull) != LAPIC_PAGE)
		return false;
	return (vs_irqchip_apic_base(c->irqchip, c->index) & (1ull << 11)) != 0;
}

uint8_t *vs_emu_translate(struct vs_emu_cpu *c, uint64_t la, unsigned acc, uint64_t *gpa)
{
	struct vs_x86_paging p = { c->cr0, c->cr3, c->cr4, c->efer, EMU_PHYS_BITS };
	struct vs_x86_walk w;
	bool user = c->user && !(acc & ACC_SUP);
	unsigned access =
	    ((acc & ACC_W) ? VS_PF_W : 0) | (user ? VS_PF_U : 0) | ((acc & ACC_X) ? VS_PF_I : 0);
	struct tlb_entry *e;
	uint8_t *host;
	uint64_t tag;
	bool code = false;
	if ((c->efer & EFER_LMA) && !is_canonical(la))
		/* #GP for stack references too, where the SDM says #SS(0): the
		 * segment is not known here (tests/guests/tests/isa.c lists it). */
		vs_emu_raise(c, EX_GP, 0, true);
	if (vs_x86_page_walk(c->mem, &p, la, access, true, &w) < 0) {
		c->cr2 = la;
		vs_emu_raise(c, EX_PF, w.error, true);
	}
	*gpa = w.gpa;
	if (is_lapic(c, w.gpa))
		return NULL;
	host = vs_gpa_ptr(c->mem, w.gpa & ~0xfffull, 4096);
	if (!host)
		return NULL;
	if (c->code_map) {
		/* A page this vCPU decoded blocks from: a store ends the running
		 * block (`attention`), and the page loses its mark until a block
		 * on it runs again (block.c). No write tag while marked. */
		uint64_t page = (uint64_t)(host - c->mem->base) >> 12;
		if (page < c->mem->total >> 12 && c->code_map[page]) {
			if (acc & ACC_W) {
				c->code_map[page] = 0;
				atomic_store(&c->attention, 1);
			} else {
				code = true;
			}
		}
	}
	e = tlb_slot(c, la);
	tag = (la & ~0xfffull) | 1 | ((uint64_t)user << 1);
	if (tlb_empty(e))
		tlb_note_fill(c, e);
	else if (e->host != host || (e->tag_r != tag && e->tag_w != tag && e->tag_x != tag))
		*e = (struct tlb_entry){ 0 }; /* another page: evict (the slot stays listed) */
	e->host = host;
	e->gpa = w.gpa & ~0xfffull;
	e->global = w.global;
	e->page_shift = (uint8_t)__builtin_ctzll(w.page_size);
	if (w.page_size > 4096)
		c->tlb_large = true;
	if (acc & ACC_X) {
		e->tag_x = tag;
	} else {
		e->tag_r = tag;
		if (w.writable && w.dirty && !code)
			e->tag_w = tag;
	}
	return host + (la & 0xfff);
}

static uint64_t phys_read(struct vs_emu_cpu *c, uint64_t gpa, unsigned size)
{
	uint8_t buf[8] = { 0 };
	uint64_t v;
	if (is_lapic(c, gpa))
		vs_irqchip_lapic_read(c->irqchip, c->index, (uint32_t)(gpa & 0xfff), buf, size);
	else if (!vs_bus_read(c->mmio, gpa, buf, size))
		memset(buf, 0xff, size);
	memcpy(&v, buf, 8);
	return v & size_mask(size);
}

static void phys_write(struct vs_emu_cpu *c, uint64_t gpa, unsigned size, uint64_t v)
{
	uint8_t buf[8];
	memcpy(buf, &v, 8);
	if (is_lapic(c, gpa)) {
		vs_irqchip_lapic_write(c->irqchip, c->index, (uint32_t)(gpa & 0xfff), buf, size);
		/* A write (EOI, TPR) may unmask a pending interrupt. */
		atomic_store(&c->irq_kicked, true);
		atomic_store(&c->attention, 1);
	} else {
		vs_bus_write(c->mmio, gpa, buf, size);
	}
}

uint64_t vs_emu_read_slow(struct vs_emu_cpu *c, uint64_t la, unsigned size, unsigned acc)
{
	uint64_t gpa;
	uint8_t *h;
	if (!c->long64 && !(acc & ACC_SUP))
		la = (uint32_t)la;
	if ((la & 0xfff) + size > 4096) {
		/* Page-crossing: byte by byte, both pages checked first. */
		uint64_t v = 0;
		uint64_t second = (la | 0xfff) + 1;
		vs_emu_translate(c, la, acc, &gpa);
		vs_emu_translate(c, second, acc, &gpa);
		for (unsigned i = 0; i < size; i++)
			v |= vs_emu_read_slow(c, la + i, 1, acc) << (8 * i);
		return v;
	}
	h = vs_emu_translate(c, la, acc, &gpa);
	if (h)
		return ld_host(h, size);
	return phys_read(c, gpa, size);
}

void vs_emu_write_slow(struct vs_emu_cpu *c, uint64_t la, unsigned size, uint64_t v, unsigned acc)
{
	uint64_t gpa;
	uint8_t *h;
	if (!c->long64 && !(acc & ACC_SUP))
		la = (uint32_t)la;
	if ((la & 0xfff) + size > 4096) {
		uint64_t second = (la | 0xfff) + 1;
		vs_emu_translate(c, la, acc | ACC_W, &gpa);
		vs_emu_translate(c, second, acc | ACC_W, &gpa);
		for (unsigned i = 0; i < size; i++)
			vs_emu_write_slow(c, la + i, 1, v >> (8 * i), acc);
		return;
	}
	h = vs_emu_translate(c, la, acc | ACC_W, &gpa);
	if (h)
		st_host(h, size, v);
	else
		phys_write(c, gpa, size, v);
}

/* A new code page: from the TLB's fetch tag when it has one (a call or
 * return into another page is common; a page walk for each was 3% of all
 * guest instructions in a gzip run), else through a page walk. */
void vs_emu_fetch_slow(struct vs_emu_cpu *c, uint64_t la)
{
	uint64_t gpa;
	struct tlb_entry *e = tlb_slot(c, la);
	uint8_t *h;
	if (e->tag_x == tlb_tag(c, la)) {
		VS_EMU_TLB_HAS_PAGE(e);
		c->fetch_host = e->host;
		c->fetch_page = (la & ~0xfffull) + 1;
		return;
	}
	h = vs_emu_translate(c, la & ~0xfffull, ACC_X, &gpa);
	if (!h) {
		/* Code outside RAM (MMIO or nothing): no instruction there. */
		c->fetch_page = 0;
		vs_emu_raise(c, EX_GP, 0, true);
	}
	c->fetch_host = h;
	c->fetch_page = (la & ~0xfffull) + 1;
}

/* First byte of an instruction, or the first on a new page: find the
 * code page and open a fetch window up to its end (or the end of a 16-bit
 * code segment's offset range). */
uint8_t vs_emu_fetch8_slow(struct vs_emu_cpu *c, struct insn *d)
{
	uint64_t ip = c->code_size == 2 ? d->ip & 0xffff : d->ip;
	uint64_t la = c->long64 ? ip : (uint32_t)(c->seg[S_CS].base + ip);
	uint64_t avail = 4096 - (la & 0xfff);
	const uint8_t *p;
	if ((la & ~0xfffull) + 1 != c->fetch_page)
		vs_emu_fetch_slow(c, la);
	if (c->code_size == 2 && avail > 0x10000 - ip)
		avail = 0x10000 - ip;
	p = c->fetch_host + (la & 0xfff);
	d->fp = p + 1;
	d->fend = p + avail;
	d->ip++;
	return *p;
}

void vs_emu_read_block(struct vs_emu_cpu *c, uint64_t la, void *buf, unsigned len, unsigned acc)
{
	uint8_t *out = buf;
	for (unsigned i = 0; i < len;) {
		unsigned n = len - i >= 8 && ((la + i) & 0xfff) <= 4088 ? 8 : 1;
		uint64_t v = (acc & ACC_SUP) ? vs_emu_read_slow(c, la + i, n, acc) : lin_read(c, la + i, n);
		memcpy(out + i, &v, n);
		i += n;
	}
}

void vs_emu_write_block(struct vs_emu_cpu *c, uint64_t la, const void *buf, unsigned len, unsigned acc)
{
	const uint8_t *in = buf;
	/* Probe both ends first so a fault leaves memory unchanged. */
	uint64_t gpa;
	if (len) {
		vs_emu_translate(c, la, acc | ACC_W, &gpa);
		vs_emu_translate(c, la + len - 1, acc | ACC_W, &gpa);
	}
	for (unsigned i = 0; i < len;) {
		unsigned n = len - i >= 8 && ((la + i) & 0xfff) <= 4088 ? 8 : 1;
		uint64_t v = 0;
		memcpy(&v, in + i, n);
		if (acc & ACC_SUP)
			vs_emu_write_slow(c, la + i, n, v, acc);
		else
			lin_write(c, la + i, n, v);
		i += n;
	}
}

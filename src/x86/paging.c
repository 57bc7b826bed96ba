#include "x86/paging.h"

#include "x86/cpu_state.h"

#define PTE_P (1ull << 0)
#define PTE_W (1ull << 1)
#define PTE_U (1ull << 2)
#define PTE_A (1ull << 5)
#define PTE_D (1ull << 6)
#define PTE_PS (1ull << 7)
#define PTE_G (1ull << 8)
#define PTE_NX (1ull << 63)
#define ADDR_MASK 0x000ffffffffff000ull
#define CR0_WP (1ull << 16)
#define CR4_PSE (1ull << 4)
#define CR4_PGE (1ull << 7)
#define EFER_NXE (1ull << 11)

/* Entries are read and updated in place with atomics: other vCPUs (or the
 * guest itself) may change them concurrently. */
static bool load_entry(const struct vs_guest_mem *mem, uint64_t gpa, unsigned size, void **where,
		       uint64_t *val)
{
	void *p = vs_gpa_ptr(mem, gpa, size);
	if (!p)
		return false;
	*where = p;
	if (size == 8)
		*val = __atomic_load_n((uint64_t *)p, __ATOMIC_RELAXED);
	else
		*val = __atomic_load_n((uint32_t *)p, __ATOMIC_RELAXED);
	return true;
}

static void set_bits(void *where, unsigned size, uint64_t bits)
{
	if (size == 8)
		__atomic_fetch_or((uint64_t *)where, bits, __ATOMIC_RELAXED);
	else
		__atomic_fetch_or((uint32_t *)where, (uint32_t)bits, __ATOMIC_RELAXED);
}

/* Reserved bits of a present PAE/long-mode entry at `level` (0 = PTE):
 * NX without EFER.NXE, address bits at or above MAXPHYADDR, PS in a PML4
 * entry, and the low address bits of a 1 GiB or 2 MiB page. PAE's PDPTEs
 * (checked by the CPU when CR3 is loaded) are left alone. */
static bool reserved_bits(const struct vs_x86_paging *p, uint64_t entry, int level, bool lma, bool nxe)
{
	if ((entry & PTE_NX) && !nxe)
		return true;
	if (!lma && level == 2)
		return false;
	if (p->maxphyaddr && p->maxphyaddr < 52 && (entry & ((1ull << 52) - (1ull << p->maxphyaddr))))
		return true;
	if (level == 3 && (entry & PTE_PS))
		return lma;
	if (level == 2 && (entry & PTE_PS))
		return (entry & 0x3fffe000ull) != 0;
	if (level == 1 && (entry & PTE_PS))
		return (entry & 0x1fe000ull) != 0;
	return false;
}

int vs_x86_page_walk(const struct vs_guest_mem *mem, const struct vs_x86_paging *p, uint64_t la,
		     unsigned access, bool set_ad, struct vs_x86_walk *w)
{
	bool lma = p->efer & VS_EFER_LMA, pae = p->cr4 & VS_CR4_PAE;
	bool nxe = (p->efer & EFER_NXE) && pae;
	unsigned size = pae ? 8 : 4;
	int levels = lma ? 4 : pae ? 3 : 2;
	uint64_t table, entry = 0;
	void *where[4] = { 0 };
	bool user = true, writable = true, nx = false;
	unsigned shift = 12;
	int level;
	*w = (struct vs_x86_walk){ .error = access & (VS_PF_W | VS_PF_U | VS_PF_I) };
	if (!(p->cr0 & VS_CR0_PG)) {
		w->gpa = la;
		w->page_size = 4096;
		w->writable = w->user = w->dirty = true;
		return 0;
	}
	if (!nxe)
		w->error &= ~VS_PF_I; /* the I/D bit is only reported with NX on */
	table = lma ? p->cr3 & ADDR_MASK : pae ? p->cr3 & 0xffffffe0ull : p->cr3 & 0xfffff000ull;
	for (level = levels - 1; level >= 0; level--) {
		unsigned bits = pae ? 9 : 10;
		uint64_t idx;
		shift = 12 + bits * (unsigned)level;
		idx = (la >> shift) & ((1ull << bits) - 1);
		if (pae && !lma && level == 2)
			idx = (la >> 30) & 3;
		if (!load_entry(mem, table + idx * size, size, &where[level], &entry))
			return -1; /* not RAM: report as not present */
		if (!(entry & PTE_P))
			return -1;
		if (size == 8 && reserved_bits(p, entry, level, lma, nxe)) {
			w->error |= VS_PF_RSVD | VS_PF_P;
			return -1;
		}
		if (pae && !lma && level == 2) { /* PDPTEs carry no permissions */
			table = entry & ADDR_MASK;
			continue;
		}
		user = user && (entry & PTE_U);
		writable = writable && (entry & PTE_W);
		nx = nx || (size == 8 && (entry & PTE_NX));
		if (level == 0)
			break;
		if ((entry & PTE_PS) && (level == 1 || (level == 2 && lma)) && (pae || (p->cr4 & CR4_PSE)))
			break;
		table = entry & (pae ? ADDR_MASK : 0xfffff000ull);
	}
	if (level < 0)
		level = 0;
	/* Permission checks on the combined rights of all levels. */
	if ((access & VS_PF_U) && !user)
		goto protection;
	if ((access & VS_PF_W) && !writable && ((access & VS_PF_U) || (p->cr0 & CR0_WP)))
		goto protection;
	if ((access & VS_PF_I) && nx)
		goto protection;
	w->page_size = 1ull << shift;
	if (!pae && level == 1) /* 4 MiB page: bits 13-20 hold address bits 32-39 */
		w->gpa = (entry & 0xffc00000ull) | ((entry & 0x1fe000ull) << 19) | (la & 0x3fffff);
	else
		w->gpa = (entry & ADDR_MASK & ~(w->page_size - 1)) | (la & (w->page_size - 1));
	w->user = user;
	w->writable = writable || (!(access & VS_PF_U) && !(p->cr0 & CR0_WP));
	w->global = (entry & PTE_G) && (p->cr4 & CR4_PGE);
	w->dirty = entry & PTE_D;
	if (set_ad) {
		for (int l = levels - 1; l >= level; l--)
			if (where[l] && !(pae && !lma && l == 2))
				set_bits(where[l], size, PTE_A);
		if (access & VS_PF_W) {
			set_bits(where[level], size, PTE_D);
			w->dirty = true;
		}
	}
	return 0;
protection:
	w->error |= VS_PF_P;
	return -1;
}

bool vs_x86_rip_to_gpa(const struct vs_guest_mem *mem, const struct vs_cpu_state *s, uint64_t *gpa)
{
	struct vs_x86_paging p = { s->cr0, s->cr3, s->cr4, s->efer };
	struct vs_x86_walk w;
	bool lm64 = (s->efer & VS_EFER_LMA) && s->cs.l;
	uint64_t la = lm64 ? s->rip : (uint32_t)(s->cs.base + s->rip);
	if (vs_x86_page_walk(mem, &p, la, 0, false, &w) < 0)
		return false;
	*gpa = w.gpa;
	return true;
}

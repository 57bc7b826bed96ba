/* The x86 page-table walk: 32-bit (with 4 MiB pages), PAE and 4-level
 * long-mode paging with 2 MiB/1 GiB pages, NX, U/S and R/W under CR0.WP.
 * One implementation for the emulator's MMU and the crash report. */
#ifndef VESSEL_X86_PAGING_H
#define VESSEL_X86_PAGING_H

#include <stdbool.h>
#include <stdint.h>

#include "hw/guest_mem.h"
#include "x86/cpu_state.h"

/* Access kinds, also the low bits of a #PF error code. */
#define VS_PF_P (1u << 0)    /* the fault was a protection violation (not "not present") */
#define VS_PF_W (1u << 1)    /* write access */
#define VS_PF_U (1u << 2)    /* user-mode access */
#define VS_PF_RSVD (1u << 3) /* reserved bit set in a paging entry */
#define VS_PF_I (1u << 4)    /* instruction fetch */

struct vs_x86_paging {
	uint64_t cr0, cr3, cr4, efer;
	/* Physical address width the guest was told (CPUID 0x80000008):
	 * entry bits from it to 51 are reserved and fault with RSVD. 0 skips
	 * that check (the crash report, which must not fault). */
	unsigned maxphyaddr;
};

struct vs_x86_walk {
	uint64_t gpa;	    /* translated address */
	uint64_t page_size; /* 4 KiB, 2/4 MiB or 1 GiB */
	bool writable;	    /* for this access's privilege */
	bool user;	    /* user-accessible at every level */
	bool dirty;	    /* the final entry's D bit is set */
	bool global;
	uint32_t error; /* #PF error code when the walk fails */
};

/* Translate `la` for an access `access` (VS_PF_W | VS_PF_U | VS_PF_I
 * bits). When `set_ad`, the accessed bits (and the dirty bit for writes)
 * are set atomically in guest memory as the CPU does. Returns 0, or -1 with
 * w->error set (the #PF error code). With paging off, la is the address. */
int vs_x86_page_walk(const struct vs_guest_mem *mem, const struct vs_x86_paging *p, uint64_t la,
		     unsigned access, bool set_ad, struct vs_x86_walk *w);

/* Guest-physical address of the instruction at CS:RIP in state `s`, for
 * the crash report: no accessed bits are set, no permission is checked
 * beyond presence. False when it is not mapped. */
bool vs_x86_rip_to_gpa(const struct vs_guest_mem *mem, const struct vs_cpu_state *s, uint64_t *gpa);

#endif

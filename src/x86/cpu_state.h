/* Architectural x86-64 register state, independent of the accelerator.
 * The boot loaders fill one of these for the boot CPU; each accelerator
 * loads it into its vCPU. Also used for the crash report. */
#ifndef VESSEL_X86_CPU_STATE_H
#define VESSEL_X86_CPU_STATE_H

#include <stdint.h>
#include <stdio.h>

struct vs_segment {
	uint64_t base;
	uint32_t limit;
	uint16_t selector;
	uint8_t type; /* descriptor type field (4 bits) */
	uint8_t present, dpl, db, s, l, g, avl;
	uint8_t unusable;
};

struct vs_dtable {
	uint64_t base;
	uint16_t limit;
};

struct vs_cpu_state {
	uint64_t rax, rbx, rcx, rdx, rsi, rdi, rsp, rbp;
	uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
	uint64_t rip, rflags;
	struct vs_segment cs, ds, es, fs, gs, ss, tr, ldt;
	struct vs_dtable gdt, idt;
	uint64_t cr0, cr2, cr3, cr4, cr8, efer;
};

#define VS_CR0_PE (1ull << 0)
#define VS_CR0_ET (1ull << 4)
#define VS_CR0_PG (1ull << 31)
#define VS_CR4_PAE (1ull << 5)
#define VS_EFER_LME (1ull << 8)
#define VS_EFER_LMA (1ull << 10)

/* Multi-line human-readable dump of the registers. */
void vs_cpu_state_print(const struct vs_cpu_state *s, FILE *out);

/* The crash report both backends give: the registers, then the bytes at
 * RIP when its address translates to guest RAM (any mode, any paging). */
struct vs_guest_mem;
void vs_cpu_state_report(const struct vs_cpu_state *s, const struct vs_guest_mem *mem, FILE *out);

#endif

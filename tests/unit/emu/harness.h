/* Running machine-code snippets on the emulated CPU: a RAM-only guest
 * (16 MiB), no irqchip, and a test port: `out %al, $0xe0` ends a run
 * (the port's handler kicks the vCPU, so vcpu_run returns VS_EXIT_INTR
 * right after that instruction). Bytes written to port 0xe1 are kept.
 *
 * Fixed guest layout: page tables at 0x1000 (identity, 2 MiB pages over
 * the first 1 GiB), GDT at 0x5000, IDT at 0x6000, TSS at 0x7000, code at
 * CODE (0x10000), stack top at 0x80000, data from DATA (0x100000). */
#ifndef VESSEL_TESTS_EMU_HARNESS_H
#define VESSEL_TESTS_EMU_HARNESS_H

#include <stdint.h>

#include "accel/accel.h"
#include "accel/emu/emu.h"
#include "hw/bus.h"
#include "hw/guest_mem.h"

#define CODE 0x10000ull
#define STACK_TOP 0x80000ull
#define DATA 0x100000ull
#define GDT_BASE 0x5000ull
#define IDT_BASE 0x6000ull
#define TSS_BASE 0x7000ull
#define PML4 0x1000ull
#define STOP_PORT 0xe0

/* GDT selectors. */
#define SEL_CODE64 0x08
#define SEL_DATA 0x10
#define SEL_CODE32 0x18
#define SEL_CODE16 0x20 /* base CODE, 64 KiB */
#define SEL_UDATA 0x2b	/* user data, then user code: the order SYSRET needs */
#define SEL_UCODE64 0x33
#define SEL_TSS 0x38

/* A guest code blob assembled into the test binary: NAME and NAME_end. */
#define GUEST_CODE(name, text)                                                                               \
	extern const uint8_t name[], name##_end[];                                                           \
	__asm__(".pushsection .rodata\n.globl " #name "\n" #name ":\n" text "\n.globl " #name "_end\n" #name \
		"_end:\n.code64\n.popsection\n")

struct emu_t {
	struct vs_guest_mem mem;
	struct vs_bus pio, mmio;
	struct vs_accel *acc;
	struct vs_vcpu *vcpu;
	struct vs_cpu_state st; /* state before / after a run */
	struct vs_exit exit;
	uint8_t out[256];
	unsigned nout;
	unsigned stops;
};

/* Set up the guest and one vCPU; returns 0 or -1 (message printed). */
int emu_t_init(struct emu_t *t);
void emu_t_fini(struct emu_t *t);

/* Copy code to CODE and prepare t->st for 64-bit long mode (paging on),
 * 32-bit flat protected mode without paging, or real mode at 0:CODE... in
 * real mode the code goes to 0x1000:0 (linear 0x10000 too). */
void emu_t_code(struct emu_t *t, const uint8_t *start, const uint8_t *end);
void emu_t_long64(struct emu_t *t);
void emu_t_prot32(struct emu_t *t);
void emu_t_real(struct emu_t *t);

/* A 64-bit interrupt gate for `vector` to linear address `handler`. */
void emu_t_gate64(struct emu_t *t, int vector, uint64_t handler, int ist, int dpl);

/* Load t->st, run until the stop port or another exit, read t->st back.
 * Returns the exit kind. Gives up (VS_EXIT_UNKNOWN) when the run does not
 * stop within a few seconds. */
enum vs_exit_kind emu_t_run(struct emu_t *t);
/* Run again from the current state (after a stop). */
enum vs_exit_kind emu_t_resume(struct emu_t *t);

uint64_t emu_t_read64(struct emu_t *t, uint64_t gpa);
void emu_t_write64(struct emu_t *t, uint64_t gpa, uint64_t v);
void *emu_t_ptr(struct emu_t *t, uint64_t gpa);

#endif

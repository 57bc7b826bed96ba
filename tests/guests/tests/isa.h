/* test=isa: architectural results the guest can observe, printed as
 * hashes so that one run under vessel's emulator, one under KVM (the
 * hardware) and one under QEMU TCG can be compared line by line. Only
 * what the SDM defines goes into a hash (undefined flags are masked). */
#ifndef GUEST_TESTS_ISA_H
#define GUEST_TESTS_ISA_H

#include <stdbool.h>
#include <stdint.h>

/* FNV-1a over 64-bit words. */
struct isa_hash {
	uint64_t h;
	unsigned n;
};

void isa_hash_init(struct isa_hash *h);
void isa_hash_add(struct isa_hash *h, uint64_t v);
/* "isa: <group> <hash> (<n> values)" */
void isa_hash_print(const struct isa_hash *h, const char *group);

/* A deterministic operand source: random words mixed with edge values. */
uint64_t isa_rand(void);
uint64_t isa_operand(void);

/* With test=isa=verbose every value is printed too, for finding which
 * input differs between two runs. */
extern int isa_verbose;
/* test=isa=tcg: skip the cases where QEMU's TCG is known to depart from
 * the SDM (listed in isa.c); they print "isa: NAME skipped". */
extern int isa_tcg;
bool isa_skip(const char *name);

/* The fault harness (isa_fault.c). ISA_TRY runs `body` with the
 * exception handlers armed: a fault resumes right after the body, at
 * `after`, which always runs (restore state there). Bodies may use rax,
 * rbx, rcx, rdx, rsi, rdi, r8-r11 and numeric labels from 3 on. */
extern volatile uint64_t isa_resume_at, isa_start_at, isa_fault_vec, isa_fault_err, isa_fault_rip,
    isa_fault_cr2, isa_fault_rsp, isa_try_rsp;
/* A word a body may store to (e.g. a register after a fault). */
extern volatile uint64_t isa_scratch;
/* CPL of the faulting code; ring 3 (isa_user.c) faults return to the
 * kernel side, at isa_resume_at on the stack isa_kernel_rsp. */
extern volatile uint64_t isa_fault_cpl, isa_kernel_rsp;
#define ISA_TRY(body, after)                                                                             \
	__asm__ volatile("lea 1f(%%rip), %%rax\n\tmov %%rax, isa_resume_at(%%rip)\n\t"                   \
			 "lea 2f(%%rip), %%rax\n\tmov %%rax, isa_start_at(%%rip)\n\t"                    \
			 "movq $-1, isa_fault_vec(%%rip)\n\tmov %%rsp, isa_try_rsp(%%rip)\n"             \
			 "2:\n\t" body "\n1:\n\t" after                                                  \
			 :                                                                               \
			 :                                                                               \
			 : "rax", "rbx", "rcx", "rdx", "rsi", "rdi", "r8", "r9", "r10", "r11", "memory", \
			   "cc")
/* One case: skipped (isa_skip) or run and reported. */
#define ISA_CASE_AFTER(name, body, after) \
	do {                              \
		if (isa_skip(name))       \
			break;            \
		ISA_TRY(body, after);     \
		isa_fault_report(name);   \
	} while (0)
#define ISA_CASE(name, body) ISA_CASE_AFTER(name, body, "")
/* Arm the handlers for every exception vector and for vector 0x41. */
void isa_fault_arm(void);
/* "isa: <name> vec=<n>|none err=<e> at=+<offset of the faulting rip>
 * [cr2=<a>]" for the last ISA_TRY; cr2 only for #PF. */
void isa_fault_report(const char *name);

void isa_int_groups(void);
void isa_string_groups(void);
void isa_fault_groups(void);
void isa_paging_groups(void);
void isa_segment_groups(void);
void isa_user_groups(void);
void isa_compat_groups(void);
void isa_debug_groups(void);

#endif

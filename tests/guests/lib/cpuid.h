/* The CPUID instruction, and what vessel's CPUID filter promises. */
#ifndef GUEST_CPUID_H
#define GUEST_CPUID_H

#include <stdint.h>

struct cpuid_regs {
	uint32_t eax, ebx, ecx, edx;
};

static inline struct cpuid_regs cpuid(uint32_t leaf, uint32_t subleaf)
{
	struct cpuid_regs r;
	__asm__ volatile("cpuid"
			 : "=a"(r.eax), "=b"(r.ebx), "=c"(r.ecx), "=d"(r.edx)
			 : "a"(leaf), "c"(subleaf));
	return r;
}

/* The initial APIC ID CPUID reports for the running CPU: leaf 0xb's x2APIC
 * ID when the leaf exists, else leaf 1 EBX[31:24]. */
static inline uint32_t cpuid_apic_id(void)
{
	if (cpuid(0, 0).eax >= 0xb && cpuid(0xb, 0).ebx != 0)
		return cpuid(0xb, 0).edx;
	return cpuid(1, 0).ebx >> 24;
}

#endif

#include "x86/cpuid_topology.h"

#define CPUID_1_ECX_HYPERVISOR (1u << 31)
#define CPUID_1_EDX_HTT (1u << 28)
#define LEVEL_TYPE_SMT 1u
#define LEVEL_TYPE_CORE 2u

unsigned int vs_cpuid_bits_for(int n)
{
	unsigned int b = 0;
	while ((1 << b) < n)
		b++;
	return b;
}

bool vs_cpuid_topology(uint32_t function, uint32_t index, int cpu, int ncpus, struct vs_cpuid_regs *r)
{
	unsigned int core_bits = vs_cpuid_bits_for(ncpus);
	switch (function) {
	case 1:
		r->ecx |= CPUID_1_ECX_HYPERVISOR;
		r->ebx = (r->ebx & 0x0000ffffu) | ((uint32_t)cpu << 24) | ((uint32_t)(1u << core_bits) << 16);
		r->edx |= CPUID_1_EDX_HTT;
		return true;
	case 4:
		/* Intel deterministic cache parameters: EAX[31:26] = cores per
		 * package - 1, EAX[25:14] = threads sharing the cache - 1 (only
		 * the shared L3 spans cores). Type 0 ends the list and stays
		 * all-zero. */
		if (r->eax & 0x1f) {
			uint32_t level = (r->eax >> 5) & 7;
			uint32_t sharing = level >= 3 ? (1u << core_bits) - 1 : 0;
			r->eax = (r->eax & 0x3fffu) | (sharing << 14) | (((1u << core_bits) - 1) << 26);
		}
		return true;
	case 0xb:
		*r = (struct vs_cpuid_regs){ .ecx = index & 0xff, .edx = (uint32_t)cpu };
		if (index == 0) { /* SMT level: one thread per core */
			r->eax = 0;
			r->ebx = 1;
			r->ecx |= LEVEL_TYPE_SMT << 8;
		} else if (index == 1) { /* core level: every vCPU a core */
			r->eax = core_bits;
			r->ebx = (uint32_t)ncpus;
			r->ecx |= LEVEL_TYPE_CORE << 8;
		}
		return true;
	case 0x80000008:
		/* ECX[7:0] = cores - 1, ECX[15:12] = APIC ID size. */
		r->ecx = (r->ecx & ~0xf0ffu) | (core_bits << 12) | (uint32_t)(ncpus - 1);
		return true;
	case 0x8000001e:
		/* AMD: extended APIC ID, core ID with one thread per core, a
		 * single node. */
		r->eax = (uint32_t)cpu;
		r->ebx = (uint32_t)cpu & 0xff;
		r->ecx = 0;
		return true;
	default:
		return false;
	}
}

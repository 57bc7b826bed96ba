#include <linux/kvm.h>
#include <string.h>

#include "accel/kvm/kvm.h"

#define CPUID_1_ECX_HYPERVISOR (1u << 31)
#define CPUID_1_ECX_X2APIC (1u << 21)
#define CPUID_1_ECX_TSC_DEADLINE (1u << 24)
#define CPUID_1_EDX_HTT (1u << 28)

/* Bits needed to number `n` things (x86 topology shift width). */
static unsigned int bits_for(int n)
{
	unsigned int b = 0;
	while ((1 << b) < n)
		b++;
	return b;
}

static void set_signature(struct kvm_cpuid_entry2 *e, const char sig[12])
{
	memcpy(&e->ebx, sig, 4);
	memcpy(&e->ecx, sig + 4, 4);
	memcpy(&e->edx, sig + 8, 4);
}

/* The topology we present: one socket, `ncpus` cores, one thread per core;
 * APIC ID = vCPU index. The leaves that describe it must all agree or Linux
 * miscounts (leaf 1 EBX, leaf 4 EAX, leaf 0xb/0x1f). */
void vs_kvm_cpuid_filter(struct kvm_cpuid_entry2 *entries, int n, int index, int ncpus)
{
	unsigned int core_bits = bits_for(ncpus);
	for (int i = 0; i < n; i++) {
		struct kvm_cpuid_entry2 *e = &entries[i];
		switch (e->function) {
		case 1:
			e->ecx |= CPUID_1_ECX_HYPERVISOR;
			e->ebx = (e->ebx & 0x0000ffffu) | ((uint32_t)index << 24) |
				 ((uint32_t)(ncpus > 1 ? (1u << core_bits) : 1) << 16);
			if (ncpus > 1)
				e->edx |= CPUID_1_EDX_HTT;
			break;
		case 4: {
			/* EAX[31:26] = cores per package - 1; EAX[25:14] = threads
			 * sharing this cache - 1 (per core caches except L3). */
			uint32_t level = (e->eax >> 5) & 7;
			uint32_t sharing = level >= 3 ? (1u << core_bits) - 1 : 0;
			e->eax = (e->eax & 0x3fffu) | (sharing << 14) | (((1u << core_bits) - 1) << 26);
			break;
		}
		case 0xb:
		case 0x1f:
			/* Subleaf 0: SMT level (1 thread); subleaf 1: core level. */
			if (e->index == 0) {
				e->eax = 0;
				e->ebx = 1;
				e->ecx = (1u << 8) | 0;
			} else if (e->index == 1) {
				e->eax = core_bits;
				e->ebx = (uint32_t)ncpus;
				e->ecx = (2u << 8) | 1;
			} else {
				e->eax = e->ebx = 0;
				e->ecx = e->index;
			}
			e->edx = (uint32_t)index;
			break;
		case 0x40000000:
			/* KVM's paravirt signature: lets Linux use kvmclock & co. */
			e->eax = 0x40000001;
			set_signature(e, "KVMKVMKVM\0\0\0");
			break;
		case 0x80000008:
			/* ECX[7:0] = cores - 1, ECX[15:12] = APIC ID size. */
			e->ecx = (e->ecx & ~0xf0ffu) | (core_bits << 12) | (uint32_t)(ncpus - 1);
			break;
		default:
			break;
		}
	}
}

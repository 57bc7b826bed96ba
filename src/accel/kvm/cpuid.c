#include <linux/kvm.h>
#include <string.h>

#include "accel/kvm/kvm.h"

#define CPUID_1_ECX_HYPERVISOR (1u << 31)
#define CPUID_1_EDX_HTT (1u << 28)
#define LEVEL_TYPE_SMT 1u
#define LEVEL_TYPE_CORE 2u

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

static uint32_t max_basic_leaf(const struct kvm_cpuid_entry2 *entries, int n)
{
	for (int i = 0; i < n; i++)
		if (entries[i].function == 0)
			return entries[i].eax;
	return 0;
}

/* Leaf 0xb (extended topology) is rebuilt rather than patched: hosts
 * report it partially (AMD hosts give one empty subleaf), and Linux trusts
 * it over every other leaf when it is present. */
static int rebuild_leaf_0xb(struct kvm_cpuid_entry2 *entries, int n, int cap, int index, int ncpus)
{
	unsigned int core_bits = bits_for(ncpus);
	int out = 0;
	for (int i = 0; i < n; i++)
		if (entries[i].function != 0xb && entries[i].function != 0x1f)
			entries[out++] = entries[i];
	if (max_basic_leaf(entries, out) < 0xb || out + 3 > cap)
		return out;
	for (uint32_t sub = 0; sub < 3; sub++) {
		struct kvm_cpuid_entry2 *e = &entries[out++];
		memset(e, 0, sizeof(*e));
		e->function = 0xb;
		e->index = sub;
		e->flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX;
		e->edx = (uint32_t)index;
		e->ecx = sub;
		if (sub == 0) { /* SMT level: one thread per core */
			e->eax = 0;
			e->ebx = 1;
			e->ecx |= LEVEL_TYPE_SMT << 8;
		} else if (sub == 1) { /* core level: every vCPU a core */
			e->eax = core_bits;
			e->ebx = (uint32_t)ncpus;
			e->ecx |= LEVEL_TYPE_CORE << 8;
		}
	}
	return out;
}

/* The topology we present: one socket, `ncpus` cores, one thread per core;
 * APIC ID = vCPU index. Every leaf that describes it must agree or Linux
 * miscounts (1 EBX, 4 EAX, 0xb, 0x80000008 ECX, 0x8000001e). */
int vs_kvm_cpuid_filter(struct kvm_cpuid_entry2 *entries, int n, int cap, int index, int ncpus)
{
	unsigned int core_bits = bits_for(ncpus);
	n = rebuild_leaf_0xb(entries, n, cap, index, ncpus);
	for (int i = 0; i < n; i++) {
		struct kvm_cpuid_entry2 *e = &entries[i];
		switch (e->function) {
		case 1:
			e->ecx |= CPUID_1_ECX_HYPERVISOR;
			e->ebx = (e->ebx & 0x0000ffffu) | ((uint32_t)index << 24) |
				 ((uint32_t)(1u << core_bits) << 16);
			e->edx |= CPUID_1_EDX_HTT;
			break;
		case 4:
			/* Intel deterministic cache parameters: EAX[31:26] = cores
			 * per package - 1, EAX[25:14] = threads sharing the cache
			 * - 1 (only the shared L3 spans cores). Type 0 ends the
			 * list and stays all-zero. */
			if (e->eax & 0x1f) {
				uint32_t level = (e->eax >> 5) & 7;
				uint32_t sharing = level >= 3 ? (1u << core_bits) - 1 : 0;
				e->eax =
				    (e->eax & 0x3fffu) | (sharing << 14) | (((1u << core_bits) - 1) << 26);
			}
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
		case 0x8000001e:
			/* AMD: extended APIC ID, core ID with one thread per core,
			 * a single node. */
			e->eax = (uint32_t)index;
			e->ebx = (uint32_t)index & 0xff;
			e->ecx = 0;
			break;
		default:
			break;
		}
	}
	return n;
}

#include <linux/kvm.h>
#include <string.h>

#include "accel/kvm/kvm.h"
#include "x86/cpuid_topology.h"

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
	int out = 0;
	for (int i = 0; i < n; i++)
		if (entries[i].function != 0xb && entries[i].function != 0x1f)
			entries[out++] = entries[i];
	if (max_basic_leaf(entries, out) < 0xb || out + 3 > cap)
		return out;
	for (uint32_t sub = 0; sub < 3; sub++) {
		struct kvm_cpuid_entry2 *e = &entries[out++];
		struct vs_cpuid_regs r = { 0 };
		vs_cpuid_topology(0xb, sub, index, ncpus, &r);
		memset(e, 0, sizeof(*e));
		e->function = 0xb;
		e->index = sub;
		e->flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX;
		e->eax = r.eax, e->ebx = r.ebx, e->ecx = r.ecx, e->edx = r.edx;
	}
	return out;
}

/* The topology (x86/cpuid_topology.h) over the host's leaves, plus KVM's
 * paravirtual signature. */
int vs_kvm_cpuid_filter(struct kvm_cpuid_entry2 *entries, int n, int cap, int index, int ncpus)
{
	n = rebuild_leaf_0xb(entries, n, cap, index, ncpus);
	for (int i = 0; i < n; i++) {
		struct kvm_cpuid_entry2 *e = &entries[i];
		struct vs_cpuid_regs r = { e->eax, e->ebx, e->ecx, e->edx };
		if (e->function == 0xb)
			continue;
		if (e->function == 0x40000000) {
			/* KVM's paravirt signature: lets Linux use kvmclock & co. */
			e->eax = 0x40000001;
			set_signature(e, "KVMKVMKVM\0\0\0");
			continue;
		}
		if (vs_cpuid_topology(e->function, e->index, index, ncpus, &r))
			e->eax = r.eax, e->ebx = r.ebx, e->ecx = r.ecx, e->edx = r.edx;
	}
	return n;
}

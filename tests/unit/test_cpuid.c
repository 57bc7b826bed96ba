#include <linux/kvm.h>
#include <string.h>

#include "accel/kvm/kvm.h"
#include "tap.h"

#define CAP 16

/* What an AMD host like the CI machines reports: leaf 0xb with one empty
 * subleaf, no leaf 0x1f. */
static int host_table(struct kvm_cpuid_entry2 *e)
{
	memset(e, 0, CAP * sizeof(*e));
	e[0] = (struct kvm_cpuid_entry2){ .function = 0, .eax = 0xd };
	e[1] =
	    (struct kvm_cpuid_entry2){ .function = 1, .eax = 0xa00f11, .ebx = 0x00020800, .edx = 0x078bfbff };
	e[2] = (struct kvm_cpuid_entry2){ .function = 0xb, .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX };
	e[3] = (struct kvm_cpuid_entry2){ .function = 0x40000000, .eax = 0x40000001 };
	e[4] = (struct kvm_cpuid_entry2){ .function = 0x80000008, .eax = 0x3030, .ecx = 0x7001 };
	e[5] = (struct kvm_cpuid_entry2){ .function = 0x8000001e };
	e[6] = (struct kvm_cpuid_entry2){ .function = 4,
					  .eax = 0x121,
					  .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX };
	e[7] = (struct kvm_cpuid_entry2){
		.function = 4, .index = 1, .eax = 0, .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX
	};
	return 8;
}

static const struct kvm_cpuid_entry2 *find(const struct kvm_cpuid_entry2 *e, int n, uint32_t fn, uint32_t idx)
{
	for (int i = 0; i < n; i++)
		if (e[i].function == fn && e[i].index == idx)
			return &e[i];
	return NULL;
}

TEST(leaf1_apic_id_and_hypervisor_bit)
{
	struct kvm_cpuid_entry2 e[CAP];
	int n = vs_kvm_cpuid_filter(e, host_table(e), CAP, 5, 8);
	const struct kvm_cpuid_entry2 *l1 = find(e, n, 1, 0);
	CHECK(l1 != NULL);
	CHECK_EQ_U64(l1->ebx >> 24, 5);
	CHECK_EQ_U64((l1->ebx >> 16) & 0xff, 8);
	CHECK_EQ_U64(l1->ebx & 0xffff, 0x0800); /* CLFLUSH size and brand kept */
	CHECK(l1->ecx & (1u << 31));
	CHECK(l1->edx & (1u << 28));
}

TEST(leaf_0xb_rebuilt_for_the_topology)
{
	struct kvm_cpuid_entry2 e[CAP];
	int n = vs_kvm_cpuid_filter(e, host_table(e), CAP, 2, 6);
	const struct kvm_cpuid_entry2 *s0 = find(e, n, 0xb, 0), *s1 = find(e, n, 0xb, 1),
				      *s2 = find(e, n, 0xb, 2);
	int count = 0;
	for (int i = 0; i < n; i++)
		count += e[i].function == 0xb;
	CHECK_EQ_U64(count, 3);
	CHECK(s0 && s1 && s2);
	if (!s0 || !s1 || !s2)
		return;
	CHECK_EQ_U64(s0->ebx, 1);
	CHECK_EQ_U64((s0->ecx >> 8) & 0xff, 1);
	CHECK_EQ_U64(s1->eax, 3); /* 6 CPUs need 3 bits */
	CHECK_EQ_U64(s1->ebx, 6);
	CHECK_EQ_U64((s1->ecx >> 8) & 0xff, 2);
	CHECK_EQ_U64(s2->ecx >> 8, 0); /* terminator */
	CHECK_EQ_U64(s0->edx, 2);
	CHECK_EQ_U64(s1->edx, 2);
	CHECK(s1->flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX);
}

TEST(kvm_signature_and_amd_leaves)
{
	struct kvm_cpuid_entry2 e[CAP];
	int n = vs_kvm_cpuid_filter(e, host_table(e), CAP, 3, 4);
	const struct kvm_cpuid_entry2 *hv = find(e, n, 0x40000000, 0);
	const struct kvm_cpuid_entry2 *x8 = find(e, n, 0x80000008, 0);
	const struct kvm_cpuid_entry2 *x1e = find(e, n, 0x8000001e, 0);
	char sig[12];
	CHECK(hv && x8 && x1e);
	if (!hv || !x8 || !x1e)
		return;
	memcpy(sig, &hv->ebx, 4);
	memcpy(sig + 4, &hv->ecx, 4);
	memcpy(sig + 8, &hv->edx, 4);
	CHECK(memcmp(sig, "KVMKVMKVM\0\0\0", 12) == 0);
	CHECK_EQ_U64(x8->ecx & 0xff, 3);
	CHECK_EQ_U64((x8->ecx >> 12) & 0xf, 2);
	CHECK_EQ_U64(x1e->eax, 3);
}

TEST(leaf4_terminator_untouched)
{
	struct kvm_cpuid_entry2 e[CAP];
	int n = vs_kvm_cpuid_filter(e, host_table(e), CAP, 0, 4);
	CHECK_EQ_U64(find(e, n, 4, 0)->eax >> 26, 3);
	CHECK_EQ_U64(find(e, n, 4, 1)->eax, 0);
}

TEST(no_room_no_overflow)
{
	struct kvm_cpuid_entry2 e[CAP];
	int n0 = host_table(e);
	/* With no spare room leaf 0xb is dropped rather than written past
	 * the end. */
	int n = vs_kvm_cpuid_filter(e, n0, n0, 0, 2);
	CHECK(n <= n0);
	CHECK(find(e, n, 0xb, 1) == NULL);
}

VS_TAP_MAIN(TAP_CASE(leaf1_apic_id_and_hypervisor_bit), TAP_CASE(leaf_0xb_rebuilt_for_the_topology),
	    TAP_CASE(kvm_signature_and_amd_leaves), TAP_CASE(leaf4_terminator_untouched),
	    TAP_CASE(no_room_no_overflow))

/* test=cpuid: what CPUID tells the boot CPU about the machine. Prints
 *   cpuid: hypervisor bit 0|1
 *   cpuid: hypervisor signature <12 chars>
 *   cpuid: apic id <leaf 1 EBX[31:24]> x2apic id <leaf 0xb EDX>
 *   cpuid: logical processors <leaf 1 EBX[23:16]> (htt 0|1)
 *   cpuid: topology smt <n> core <n>     (leaf 0xb subleaves 0 and 1)
 *   cpuid: madt cpus <n>
 * then exits 0; the host checks the values against --cpus. */
#include "acpi.h"
#include "cpuid.h"
#include "libc.h"
#include "system.h"
#include "tests.h"

void test_cpuid(const char *arg)
{
	(void)arg;
	struct cpuid_regs l1 = cpuid(1, 0);
	struct cpuid_regs hv = cpuid(0x40000000, 0);
	char sig[13];
	memcpy(sig, &hv.ebx, 4);
	memcpy(sig + 4, &hv.ecx, 4);
	memcpy(sig + 8, &hv.edx, 4);
	for (int i = 0; i < 12; i++)
		if (sig[i] < 0x20 || sig[i] > 0x7e)
			sig[i] = '.';
	sig[12] = '\0';
	printf("cpuid: hypervisor bit %u\n", (l1.ecx >> 31) & 1);
	printf("cpuid: hypervisor signature %s\n", sig);
	printf("cpuid: apic id %u x2apic id %u\n", l1.ebx >> 24, cpuid(0xb, 0).edx);
	printf("cpuid: logical processors %u (htt %u)\n", (l1.ebx >> 16) & 0xff, (l1.edx >> 28) & 1);
	if (cpuid(0, 0).eax >= 0xb)
		printf("cpuid: topology smt %u core %u\n", cpuid(0xb, 0).ebx & 0xffff,
		       cpuid(0xb, 1).ebx & 0xffff);
	struct madt_info madt;
	if (acpi_parse_madt(&madt))
		printf("cpuid: madt cpus %d\n", madt.ncpus);
	debug_exit(0);
}

/* test=smp: find the CPUs in the MADT (cross-checked against the MP
 * table), start every AP with INIT-SIPI-SIPI, and let each AP, once in long
 * mode, record its APIC ID and bump a shared counter. Prints
 *   smp: madt lists N CPUs
 *   smp: mptable lists N CPUs      (or "smp: no mptable")
 *   smp: N of M CPUs online
 *   smp: apic ids: <BSP first, then the APs in the order they arrived>
 * and exits 0 when every CPU came up, 1 otherwise. */
#include "acpi.h"
#include "apic.h"
#include "cpuid.h"
#include "defs.h"
#include "io.h"
#include "libc.h"
#include "rtc.h"
#include "system.h"
#include "tests.h"

extern char tramp_start[], tramp_end[];
extern uint64_t tramp_cr3;

void ap_main(uint32_t ticket);

static volatile uint32_t ap_online;
static volatile uint8_t ap_ids[MAX_APS];
static volatile bool ap_seen[MAX_APS];
static volatile uint32_t ap_cpuid_ids[MAX_APS]; /* what CPUID says the APIC ID is */

void ap_main(uint32_t ticket)
{
	ap_ids[ticket] = lapic_id();
	ap_cpuid_ids[ticket] = cpuid_apic_id();
	ap_seen[ticket] = true;
	__atomic_fetch_add(&ap_online, 1, __ATOMIC_SEQ_CST); /* lock xadd */
	/* Parked for good: a halted AP with interrupts off is what the test
	 * wants (on the BSP this would hang the VM, here it is harmless). */
	for (;;)
		__asm__ volatile("cli; hlt");
}

static bool wait_online(uint32_t target, unsigned short_polls, unsigned seconds)
{
	for (unsigned i = 0; i < short_polls; i++) {
		if (ap_online >= target)
			return true;
		io_delay();
	}
	if (!seconds)
		return ap_online >= target;
	struct deadline d;
	deadline_start(&d, seconds);
	while (ap_online < target) {
		if (deadline_passed(&d))
			return false;
		cpu_relax();
	}
	return true;
}

static bool start_ap(uint8_t apic_id)
{
	uint32_t target = ap_online + 1;
	uint32_t sipi = LAPIC_DM_STARTUP | (TRAMP_BASE >> 12);

	/* The MP specification wants 10 ms after INIT and 200 us between the
	 * SIPIs for real hardware. A VMM handles INIT and SIPI in order, and
	 * here each instruction may cost a microsecond, so the delays are
	 * short and the second SIPI is sent only when the first did not
	 * work. */
	if (!lapic_send_ipi(apic_id, LAPIC_DM_INIT | LAPIC_ICR_ASSERT))
		printf("smp: INIT to APIC %u still pending\n", apic_id);
	io_delay_n(10);
	if (!lapic_send_ipi(apic_id, sipi))
		printf("smp: SIPI to APIC %u still pending\n", apic_id);
	if (wait_online(target, 200, 0))
		return true;
	lapic_send_ipi(apic_id, sipi);
	return wait_online(target, 0, 5);
}

void test_smp(const char *arg)
{
	struct madt_info madt;
	uint8_t mp_ids[MAX_CPUS];
	bool ok = true;

	(void)arg;
	if (!acpi_parse_madt(&madt))
		fail("smp: no MADT");
	printf("smp: madt lists %d CPUs\n", madt.ncpus);
	if (madt.ncpus > MAX_CPUS)
		fail("smp: more than %d CPUs", MAX_CPUS);

	int mp = mptable_cpus(mp_ids, MAX_CPUS);
	if (mp < 0) {
		printf("smp: no mptable\n");
	} else {
		printf("smp: mptable lists %d CPUs\n", mp);
		if (mp != madt.ncpus) {
			printf("smp: MADT and MP table disagree\n");
			ok = false;
		}
		for (int i = 0; i < mp && i < madt.ncpus; i++) {
			if (mp_ids[i] != madt.apic_ids[i]) {
				printf("smp: CPU %d: APIC ID %u in the MADT, %u in the MP table\n", i,
				       madt.apic_ids[i], mp_ids[i]);
				ok = false;
			}
		}
	}

	uint8_t bsp = lapic_id();
	lapic_enable();
	tramp_cr3 = read_cr3();
	memcpy((void *)TRAMP_BASE, tramp_start, (size_t)(tramp_end - tramp_start));

	for (int i = 0; i < madt.ncpus; i++) {
		uint8_t id = madt.apic_ids[i];
		if (id == bsp)
			continue;
		if (!start_ap(id)) {
			printf("smp: CPU with APIC ID %u did not come up\n", id);
			ok = false;
		}
	}

	uint32_t online = ap_online;
	printf("smp: %u of %d CPUs online\n", online + 1, madt.ncpus);
	printf("smp: apic ids: %u", bsp);
	for (uint32_t t = 0; t < online && t < MAX_APS; t++)
		printf(" %u", ap_seen[t] ? ap_ids[t] : 255);
	printf("\n");

	/* Every MADT CPU must have reported, each exactly once. */
	for (int i = 0; i < madt.ncpus; i++) {
		int seen = madt.apic_ids[i] == bsp;
		for (uint32_t t = 0; t < online && t < MAX_APS; t++)
			seen += ap_seen[t] && ap_ids[t] == madt.apic_ids[i];
		if (seen != 1) {
			printf("smp: APIC ID %u reported %d times\n", madt.apic_ids[i], seen);
			ok = false;
		}
	}
	if (online + 1 != (uint32_t)madt.ncpus)
		ok = false;
	/* CPUID must agree with the LAPIC on every CPU (vessel filters
	 * CPUID per vCPU). */
	uint32_t mismatches = cpuid_apic_id() != bsp;
	for (uint32_t t = 0; t < online && t < MAX_APS; t++)
		if (ap_seen[t] && ap_cpuid_ids[t] != ap_ids[t]) {
			printf("smp: CPU with APIC ID %u has CPUID APIC ID %u\n", ap_ids[t], ap_cpuid_ids[t]);
			mismatches++;
		}
	printf("smp: cpuid apic ids %s\n", mismatches ? "DIFFER" : "match");
	if (mismatches)
		ok = false;
	printf("smp: %s\n", ok ? "ok" : "FAILED");
	debug_exit(ok ? 0 : 1);
}

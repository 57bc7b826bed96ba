/* The demo `make run` boots: a banner with what the guest found, the
 * memory map and the time, then an orderly ACPI power-off. */
#include "acpi.h"
#include "bootinfo.h"
#include "libc.h"
#include "rtc.h"
#include "system.h"
#include "tests.h"

static const char *proto_label(void)
{
	switch (boot.proto) {
	case BOOT_PVH:
		return "PVH";
	case BOOT_BZIMAGE:
		return "bzImage (64-bit boot protocol)";
	case BOOT_VMLINUX:
		return "ELF64 entry";
	}
	return "?";
}

static const char *mem_type(uint32_t t)
{
	switch (t) {
	case 1:
		return "RAM";
	case 2:
		return "reserved";
	case 3:
		return "ACPI data";
	case 4:
		return "ACPI NVS";
	default:
		return "other";
	}
}

void test_demo(const char *arg)
{
	struct madt_info madt;
	struct rtc_time t;
	int ncpus = acpi_parse_madt(&madt) && madt.ncpus > 0 ? madt.ncpus : 1;
	uint64_t mib = (bootinfo_ram_bytes() + (1ull << 20) - 1) >> 20;

	(void)arg;
	printf("vessel demo guest: booted via %s, %d CPU%s, %lu MiB RAM, cmdline: %s\n", proto_label(), ncpus,
	       ncpus == 1 ? "" : "s", mib, boot.cmdline);
	printf("memory map:\n");
	for (int i = 0; i < boot.nmem; i++) {
		const struct mem_entry *m = &boot.mem[i];
		printf("  0x%012lx-0x%012lx %s\n", m->addr, m->addr + m->size - 1, mem_type(m->type));
	}
	if (rtc_read(&t))
		printf("RTC time: %04u-%02u-%02u %02u:%02u:%02u UTC\n", t.year, t.month, t.day, t.hour, t.min,
		       t.sec);
	printf("powering off via ACPI\n");
	acpi_poweroff();
	printf("demo: power-off did not happen\n");
	debug_exit(0x7f);
}

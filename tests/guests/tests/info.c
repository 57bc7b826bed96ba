/* test=info: report what the loader handed over, in a fixed line format
 * the host checks:
 *   boot: <pvh|bzimage|vmlinux>
 *   cmdline: <the command line, verbatim>
 *   initrd: addr=0x... size=<bytes> fnv1a=0x<8 hex digits>   (or "initrd: none")
 *   initrd-check: <ok|reason>
 *   rsdp: 0x... (<how found>)
 *   mem: <n> entries
 *   mem: 0x<addr> 0x<size> <type>     (one line per entry, 16 hex digits)
 *   info: done
 */
#include "acpi.h"
#include "bootinfo.h"
#include "libc.h"
#include "system.h"
#include "tests.h"

#define FNV_OFFSET 0x811c9dc5u
#define FNV_PRIME 0x01000193u
#define HASH_MAX (64ull << 20) /* beyond this hashing would take minutes */

extern char _end[];

static uint32_t fnv1a(const uint8_t *p, uint64_t n)
{
	uint32_t h = FNV_OFFSET;

	while (n--) {
		h ^= *p++;
		h *= FNV_PRIME;
	}
	return h;
}

static const char *check_initrd(void)
{
	uint64_t a = boot.initrd_addr, end = a + boot.initrd_size;
	uint64_t image_end = (uintptr_t)_end;

	if (end < a)
		return "wraps around";
	if (a < image_end && end > 0x100000)
		return "overlaps the kernel image";
	for (int i = 0; i < boot.nmem; i++) {
		const struct mem_entry *m = &boot.mem[i];
		if (m->type == MEM_RAM && a >= m->addr && end <= m->addr + m->size)
			return "ok";
	}
	return "not inside one RAM range of the memory map";
}

void test_info(const char *arg)
{
	(void)arg;
	printf("boot: %s\n", boot.proto_name);
	printf("cmdline: %s\n", boot.cmdline);
	if (boot.cmdline_truncated)
		printf("cmdline-truncated: yes\n");
	if (boot.has_initrd) {
		if (boot.initrd_size <= HASH_MAX)
			printf("initrd: addr=0x%lx size=%lu fnv1a=0x%08x\n", boot.initrd_addr,
			       boot.initrd_size,
			       fnv1a((const uint8_t *)(uintptr_t)boot.initrd_addr, boot.initrd_size));
		else
			printf("initrd: addr=0x%lx size=%lu fnv1a=skipped\n", boot.initrd_addr,
			       boot.initrd_size);
		printf("initrd-check: %s\n", check_initrd());
	} else {
		printf("initrd: none\n");
	}

	const char *how = "";
	uint64_t rsdp = acpi_rsdp(&how);
	if (rsdp)
		printf("rsdp: 0x%lx (%s)\n", rsdp, how);
	else
		printf("rsdp: none\n");

	printf("mem: %d entries\n", boot.nmem);
	for (int i = 0; i < boot.nmem; i++)
		printf("mem: 0x%016lx 0x%016lx %u\n", boot.mem[i].addr, boot.mem[i].size, boot.mem[i].type);
	printf("info: done\n");
	debug_exit(0);
}

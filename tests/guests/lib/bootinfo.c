#include "bootinfo.h"
#include "libc.h"

struct boot_info boot;

/* struct hvm_start_info (Xen public/arch-x86/hvm/start_info.h). */
#define HVM_START_MAGIC 0x336ec578u
struct hvm_start_info {
	uint32_t magic;
	uint32_t version;
	uint32_t flags;
	uint32_t nr_modules;
	uint64_t modlist_paddr;
	uint64_t cmdline_paddr;
	uint64_t rsdp_paddr;
	uint64_t memmap_paddr; /* version >= 1 */
	uint32_t memmap_entries;
	uint32_t reserved;
};

struct hvm_modlist_entry {
	uint64_t paddr;
	uint64_t size;
	uint64_t cmdline_paddr;
	uint64_t reserved;
};

struct hvm_memmap_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type;
	uint32_t reserved;
};

/* Offsets into struct boot_params (Linux Documentation/arch/x86/zero-page.rst
 * and boot.rst). Read by offset: the structure is 4 KiB of mostly padding. */
#define BP_ACPI_RSDP_ADDR 0x070
#define BP_EXT_RAMDISK_IMAGE 0x0c0
#define BP_EXT_RAMDISK_SIZE 0x0c4
#define BP_EXT_CMD_LINE_PTR 0x0c8
#define BP_E820_ENTRIES 0x1e8
#define BP_RAMDISK_IMAGE 0x218
#define BP_RAMDISK_SIZE 0x21c
#define BP_CMD_LINE_PTR 0x228
#define BP_E820_TABLE 0x2d0
#define BP_E820_MAX 128

static uint32_t rd32(uint64_t addr)
{
	return *(const uint32_t *)(uintptr_t)addr;
}

static uint64_t rd64(uint64_t addr)
{
	return *(const uint64_t *)(uintptr_t)addr;
}

static void copy_cmdline(uint64_t addr)
{
	boot.cmdline_addr = addr;
	if (!addr)
		return;
	const char *s = (const char *)(uintptr_t)addr;
	size_t i = 0;

	for (; s[i] && i < CMDLINE_MAX - 1; i++)
		boot.cmdline[i] = s[i];
	boot.cmdline[i] = '\0';
	boot.cmdline_truncated = s[i] != '\0';
}

static void add_mem(uint64_t addr, uint64_t size, uint32_t type)
{
	if (boot.nmem < MAX_MEM_ENTRIES)
		boot.mem[boot.nmem++] = (struct mem_entry){ addr, size, type };
}

static void parse_pvh(uint64_t addr)
{
	const struct hvm_start_info *si = (const void *)(uintptr_t)addr;

	boot.proto_name = "pvh";
	if (si->magic != HVM_START_MAGIC) {
		boot.error = "bad hvm_start_info magic";
		return;
	}
	copy_cmdline(si->cmdline_paddr);
	boot.rsdp_addr = si->rsdp_paddr;
	if (si->nr_modules && si->modlist_paddr) {
		const struct hvm_modlist_entry *m = (const void *)(uintptr_t)si->modlist_paddr;
		boot.has_initrd = true;
		boot.initrd_addr = m[0].paddr;
		boot.initrd_size = m[0].size;
	}
	if (si->version >= 1 && si->memmap_paddr) {
		const struct hvm_memmap_entry *e = (const void *)(uintptr_t)si->memmap_paddr;
		for (uint32_t i = 0; i < si->memmap_entries; i++)
			add_mem(e[i].addr, e[i].size, e[i].type);
	}
}

static void parse_boot_params(uint64_t bp)
{
	copy_cmdline(rd32(bp + BP_CMD_LINE_PTR) | (uint64_t)rd32(bp + BP_EXT_CMD_LINE_PTR) << 32);
	boot.rsdp_addr = rd64(bp + BP_ACPI_RSDP_ADDR);
	uint64_t rd = rd32(bp + BP_RAMDISK_IMAGE) | (uint64_t)rd32(bp + BP_EXT_RAMDISK_IMAGE) << 32;
	uint64_t rdsz = rd32(bp + BP_RAMDISK_SIZE) | (uint64_t)rd32(bp + BP_EXT_RAMDISK_SIZE) << 32;

	if (rd && rdsz) {
		boot.has_initrd = true;
		boot.initrd_addr = rd;
		boot.initrd_size = rdsz;
	}
	unsigned n = *(const uint8_t *)(uintptr_t)(bp + BP_E820_ENTRIES);
	if (n > BP_E820_MAX)
		n = BP_E820_MAX;
	for (unsigned i = 0; i < n; i++) {
		uint64_t e = bp + BP_E820_TABLE + 20ull * i; /* packed 20-byte entries */
		add_mem(rd64(e), rd64(e + 8), rd32(e + 16));
	}
}

void bootinfo_parse(enum boot_proto proto, uint64_t info)
{
	boot.proto = proto;
	boot.info_addr = info;
	if (!info) {
		boot.error = "no boot information pointer";
		return;
	}
	switch (proto) {
	case BOOT_PVH:
		parse_pvh(info);
		break;
	case BOOT_BZIMAGE:
		boot.proto_name = "bzimage";
		parse_boot_params(info);
		break;
	case BOOT_VMLINUX:
		boot.proto_name = "vmlinux";
		parse_boot_params(info);
		break;
	default:
		boot.proto_name = "unknown";
		boot.error = "unknown boot protocol";
		break;
	}
}

uint64_t bootinfo_ram_bytes(void)
{
	uint64_t total = 0;

	for (int i = 0; i < boot.nmem; i++) {
		if (boot.mem[i].type == MEM_RAM)
			total += boot.mem[i].size;
	}
	return total;
}

const char *cmdline_get(const char *key, uint64_t *len)
{
	size_t klen = strlen(key);
	const char *p = boot.cmdline;

	while (*p) {
		while (*p == ' ')
			p++;
		const char *w = p;
		while (*p && *p != ' ')
			p++;
		if ((size_t)(p - w) > klen && !strncmp(w, key, klen) && w[klen] == '=') {
			*len = (uint64_t)(p - w) - klen - 1;
			return w + klen + 1;
		}
	}
	return NULL;
}

/* What the loader told the guest, in one shape whatever the boot protocol:
 * PVH (struct hvm_start_info in %ebx) or the Linux 64-bit boot protocol
 * (struct boot_params, the "zero page", in %rsi) used for both bzImage and
 * plain ELF64 kernels. The entry stubs pass the protocol and the pointer. */
#ifndef GUEST_BOOTINFO_H
#define GUEST_BOOTINFO_H

#include <stdbool.h>
#include <stdint.h>

enum boot_proto { BOOT_PVH = 1, BOOT_BZIMAGE = 2, BOOT_VMLINUX = 3 };

#define MEM_RAM 1
#define MEM_RESERVED 2
#define MAX_MEM_ENTRIES 32
#define CMDLINE_MAX 2048

struct mem_entry {
	uint64_t addr, size;
	uint32_t type;
};

struct boot_info {
	enum boot_proto proto;
	const char *proto_name; /* "pvh", "bzimage", "vmlinux" */
	uint64_t info_addr;	/* start_info or boot_params */
	/* The command line is copied: the loader's copy sits in low memory
	 * the tests may reuse. */
	char cmdline[CMDLINE_MAX];
	uint64_t cmdline_addr;
	bool cmdline_truncated;
	bool has_initrd;
	uint64_t initrd_addr, initrd_size;
	uint64_t rsdp_addr; /* 0 when the loader did not say */
	int nmem;
	struct mem_entry mem[MAX_MEM_ENTRIES];
	const char *error; /* set when the boot information was unusable */
};

extern struct boot_info boot;

void bootinfo_parse(enum boot_proto proto, uint64_t info);

/* Bytes of RAM in the memory map. */
uint64_t bootinfo_ram_bytes(void);

/* The value of `key=` on the command line, or NULL. *len gets its length
 * (values end at a space). */
const char *cmdline_get(const char *key, uint64_t *len);

#endif

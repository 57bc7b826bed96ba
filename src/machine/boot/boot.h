/* Kernel loaders. The format is picked from the image's contents:
 *  - an ELF carrying XEN_ELFNOTE_PHYS32_ENTRY boots through PVH;
 *  - a Linux bzImage ("HdrS" setup header) boots through the 64-bit boot
 *    protocol;
 *  - any other x86-64 ELF (an uncompressed vmlinux) is entered at its
 *    64-bit entry point with boot_params in %rsi.
 * Loaders write into guest memory and fill the boot CPU's register state.
 * They take images as byte buffers so the fuzzer can drive them. */
#ifndef VESSEL_MACHINE_BOOT_H
#define VESSEL_MACHINE_BOOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "x86/cpu_state.h"
#include "hw/guest_mem.h"
#include "util/error.h"

enum vs_boot_kind { VS_BOOT_PVH, VS_BOOT_BZIMAGE, VS_BOOT_ELF64 };

struct vs_boot_params {
	const uint8_t *kernel;
	size_t kernel_len;
	const uint8_t *initrd; /* NULL when none */
	size_t initrd_len;
	const char *cmdline; /* never NULL; "" when empty */
	uint64_t rsdp_addr;  /* 0 when no ACPI tables were built */
};

struct vs_boot_info {
	enum vs_boot_kind kind;
	struct vs_cpu_state bsp;	   /* the boot CPU's entry state */
	uint64_t kernel_start, kernel_end; /* guest-physical extent loaded */
	uint64_t initrd_addr;		   /* 0 when no initrd */
	bool is_linux;			   /* a Linux kernel (version string or ELF note found) */
	char version[80];		   /* kernel version string when found */
};

/* Identify the image without loading it. */
int vs_boot_probe(const uint8_t *img, size_t len, enum vs_boot_kind *kind, struct vs_error *err);

/* Load kernel, initrd and command line and build the entry state. On
 * failure guest memory may be partly written, but nothing else is held. */
int vs_boot_load(struct vs_guest_mem *mem, const struct vs_boot_params *p, struct vs_boot_info *out,
		 struct vs_error *err);

const char *vs_boot_kind_name(enum vs_boot_kind kind);

#endif

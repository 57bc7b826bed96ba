/* Plain ELF64 entry: vessel enters e_entry the way it enters a bzImage's
 * 64-bit entry (long mode, 4 GiB identity-mapped, %rsi = boot_params). */
#include "defs.h"

	.text
	.code64
	.globl vmlinux_start64
vmlinux_start64:
	mov $PROTO_VMLINUX, %edi
	jmp start64_common

/* Common 64-bit start for every boot protocol. The protocol stubs jump
 * here in long mode with %edi = protocol number and %rsi = the physical
 * address of the boot information (start_info or boot_params). The page
 * tables in use identity-map at least the first 4 GiB. */
#include "defs.h"

	.text
	.code64
	.globl start64_common
start64_common:
	cli
	cld
	/* Our own GDT: the loader's (vessel's at 0x500, QEMU's, ...) may sit
	 * in memory the tests reuse, and the IDT gates need a known code
	 * selector. */
	lgdt gdt64_ptr(%rip)
	mov $KERNEL_DS, %eax
	mov %eax, %ds
	mov %eax, %es
	mov %eax, %ss
	xor %eax, %eax
	mov %eax, %fs
	mov %eax, %gs
	lea 1f(%rip), %rax
	pushq $KERNEL_CS
	pushq %rax
	lretq
1:
	mov %rdi, %r12
	mov %rsi, %r13
	/* Zero .bss: a flat bzImage carries none of it, and the loader of an
	 * ELF may not clear it either. The PVH page tables live in a section
	 * of their own, outside this range, as they are in use. */
	lea __bss_start(%rip), %rdi
	lea __bss_end(%rip), %rcx
	sub %rdi, %rcx
	shr $3, %rcx
	xor %eax, %eax
	rep stosq
	lea boot_stack_top(%rip), %rsp
	xor %ebp, %ebp
	mov %r12, %rdi
	mov %r13, %rsi
	call guest_main
	/* guest_main does not return; if it does, say so and stop. */
	mov $DEBUG_EXIT_PORT_ASM, %dx
	mov $0x7d, %al
2:	outb %al, %dx
	pause
	jmp 2b

	.data
	.balign 16
gdt64:
	.quad 0
	.quad 0x00af9a000000ffff	/* 0x08: 64-bit code */
	.quad 0x00cf92000000ffff	/* 0x10: data */
gdt64_end:
	.balign 8
	.globl gdt64_ptr
gdt64_ptr:
	.word gdt64_end - gdt64 - 1
	.quad gdt64

	.bss
	.balign 16
boot_stack:
	.skip 16384
boot_stack_top:

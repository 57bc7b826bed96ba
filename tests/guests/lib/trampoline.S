/* Application processor start-up. tramp_start..tramp_end is copied to
 * TRAMP_BASE (below 1 MiB, 4 KiB aligned) and an AP receiving the SIPI
 * with vector TRAMP_BASE >> 12 starts there in real mode with
 * CS = TRAMP_BASE >> 4, IP = 0. It goes to protected mode, then straight to
 * long mode on the page tables the BSP uses (tramp_cr3, set by the BSP
 * before copying), then jumps to ap_long_entry in the image proper, which
 * takes a ticket to pick its own stack and calls ap_main(ticket). */
#include "defs.h"

/* Address of a trampoline label once copied to TRAMP_BASE. */
#define REL(x) ((x) - tramp_start + TRAMP_BASE)

	.text
	.code16
	.globl tramp_start
tramp_start:
	cli
	cld
	mov %cs, %ax
	mov %ax, %ds
	lgdtl (tramp_gdtr - tramp_start)
	mov %cr0, %eax
	or $1, %eax			/* PE */
	mov %eax, %cr0
	ljmpl $0x08, $REL(tramp_pm32)

	.code32
tramp_pm32:
	mov $0x10, %ax
	mov %ax, %ds
	mov %ax, %es
	mov %ax, %ss
	mov %cr4, %eax
	or $0x20, %eax			/* PAE */
	mov %eax, %cr4
	mov REL(tramp_cr3), %eax
	mov %eax, %cr3
	mov $0xc0000080, %ecx		/* EFER.LME */
	rdmsr
	or $0x100, %eax
	wrmsr
	/* PG | ET | PE: this also clears CD and NW, which INIT leaves set. */
	mov $0x80000011, %eax
	mov %eax, %cr0
	ljmp $0x18, $REL(tramp_lm64)

	.code64
tramp_lm64:
	mov REL(tramp_target), %rax
	jmp *%rax

	.balign 8
tramp_gdt:
	.quad 0
	.quad 0x00cf9a000000ffff	/* 0x08: 32-bit code */
	.quad 0x00cf92000000ffff	/* 0x10: data */
	.quad 0x00af9a000000ffff	/* 0x18: 64-bit code */
tramp_gdt_end:
tramp_gdtr:
	.word tramp_gdt_end - tramp_gdt - 1
	.long REL(tramp_gdt)
	.balign 8
	.globl tramp_cr3
tramp_cr3:
	.quad 0
tramp_target:
	.quad ap_long_entry
	.globl tramp_end
tramp_end:

	/* From here on the code runs where it was linked. */
	.code64
ap_long_entry:
	/* A stack first (the AP arrives with %rsp = 0), then our own GDT, so
	 * the trampoline page is no longer referenced. */
	mov $1, %eax
	lock xaddl %eax, ap_ticket(%rip)
	cmp $MAX_APS, %eax
	jae 3f
	mov %eax, %edi
	lea 1(%rax), %rdx
	shl $AP_STACK_SHIFT, %rdx
	lea ap_stacks(%rip), %rsp
	add %rdx, %rsp
	lgdt gdt64_ptr(%rip)
	mov $KERNEL_DS, %eax
	mov %eax, %ds
	mov %eax, %es
	mov %eax, %ss
	lea 1f(%rip), %rax
	pushq $KERNEL_CS
	pushq %rax
	lretq
1:	call ap_main
3:	cli				/* too many APs, or ap_main returned */
	hlt
	jmp 3b

	.data
	.balign 4
	.globl ap_ticket
ap_ticket:
	.long 0

	.bss
	.balign 16
ap_stacks:
	.skip MAX_APS << AP_STACK_SHIFT

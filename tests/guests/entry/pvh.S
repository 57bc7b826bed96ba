/* PVH entry (Xen's direct boot ABI, also used by QEMU and vessel): the
 * loader finds XEN_ELFNOTE_PHYS32_ENTRY and starts us there in 32-bit
 * flat protected mode, paging off, with %ebx = struct hvm_start_info.
 * We build page tables identity-mapping 4 GiB with 2 MiB pages, enable
 * long mode and join the common 64-bit start. */
#include "defs.h"

#define XEN_ELFNOTE_PHYS32_ENTRY 18
#define PTE_P 0x1
#define PTE_RW 0x2
#define PTE_PS 0x80
#define CR0_PE 0x1
#define CR0_PG 0x80000000
#define CR4_PAE 0x20
#define MSR_EFER 0xc0000080
#define EFER_LME 0x100

	/* The note as Linux emits it: name "Xen", an 8-byte descriptor
	 * holding the 32-bit entry address, 4-byte alignment. */
	.section .note.Xen, "a", @note
	.balign 4
	.long 4
	.long 8
	.long XEN_ELFNOTE_PHYS32_ENTRY
	.asciz "Xen"
	.balign 4
	.quad pvh_start32
	.balign 4

	.text
	.code32
	.globl pvh_start32
pvh_start32:
	cli
	cld
	mov %ebx, %esi

	/* PML4 and PDPT start zeroed; the page directories are written whole. */
	mov $pvh_pml4, %edi
	mov $(2 * 4096 / 4), %ecx
	xor %eax, %eax
	rep stosl

	movl $(pvh_pdpt + PTE_P + PTE_RW), pvh_pml4

	mov $pvh_pdpt, %edi
	mov $(pvh_pd + PTE_P + PTE_RW), %eax
	mov $4, %ecx
1:	mov %eax, (%edi)
	add $4096, %eax
	add $8, %edi
	loop 1b

	/* 2048 entries of 2 MiB = 4 GiB, covering the LAPIC and I/O APIC. */
	mov $pvh_pd, %edi
	mov $(PTE_P + PTE_RW + PTE_PS), %eax
	mov $2048, %ecx
2:	mov %eax, (%edi)
	movl $0, 4(%edi)
	add $0x200000, %eax
	add $8, %edi
	loop 2b

	mov $pvh_pml4, %eax
	mov %eax, %cr3
	mov %cr4, %eax
	or $CR4_PAE, %eax
	mov %eax, %cr4
	mov $MSR_EFER, %ecx
	rdmsr
	or $EFER_LME, %eax
	wrmsr
	mov %cr0, %eax
	or $(CR0_PG + CR0_PE), %eax
	mov %eax, %cr0
	lgdt gdt64_ptr
	ljmp $KERNEL_CS, $pvh_start64

	.code64
pvh_start64:
	mov %esi, %esi		/* zero-extend the start_info address */
	mov $PROTO_PVH, %edi
	jmp start64_common

	/* Not part of .bss: start64_common clears .bss while these are live. */
	.section .pgtables, "aw", @nobits
	.balign 4096
pvh_pml4:
	.skip 4096
pvh_pdpt:
	.skip 4096
pvh_pd:
	.skip 4 * 4096

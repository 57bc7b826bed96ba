/* Interrupt entry stubs: 256 of them, each 16-byte aligned so the IDT
 * can compute their addresses (idt.c). Each pushes a dummy error code
 * where the CPU pushes none, then the vector number, and joins
 * isr_common, which saves the general registers (struct irq_frame) and
 * calls isr_dispatch. No SSE state: the guest is built with
 * -mgeneral-regs-only. */

	.text
	.code64
	.balign 16
	.globl isr_stubs
isr_stubs:
	vec = 0
	.rept 256
	.balign 16
	/* Vectors where the CPU pushes an error code: #DF #TS #NP #SS #GP
	 * #PF #AC #CP #VC #SX. */
	.if !(vec == 8 || (vec >= 10 && vec <= 14) || vec == 17 || vec == 21 || vec == 29 || vec == 30)
	pushq $0
	.endif
	pushq $vec
	jmp isr_common
	vec = vec + 1
	.endr

isr_common:
	push %rax
	push %rbx
	push %rcx
	push %rdx
	push %rsi
	push %rdi
	push %rbp
	push %r8
	push %r9
	push %r10
	push %r11
	push %r12
	push %r13
	push %r14
	push %r15
	cld
	mov %rsp, %rdi
	/* The CPU aligned the stack to 16 before pushing its 5-word frame;
	 * error code, vector and 15 registers make 17 more words: 22 words
	 * in all, so %rsp is 16-byte aligned again for the call. */
	call isr_dispatch
	pop %r15
	pop %r14
	pop %r13
	pop %r12
	pop %r11
	pop %r10
	pop %r9
	pop %r8
	pop %rbp
	pop %rdi
	pop %rsi
	pop %rdx
	pop %rcx
	pop %rbx
	pop %rax
	add $16, %rsp		/* vector and error code */
	iretq

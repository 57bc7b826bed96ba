/* The interrupt descriptor table: one assembly stub per vector saves the
 * registers and calls a C handler registered here. */
#ifndef GUEST_IDT_H
#define GUEST_IDT_H

#include <stdint.h>

struct irq_frame {
	uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
	uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
	uint64_t vector, error;
	uint64_t rip, cs, rflags, rsp, ss; /* pushed by the CPU */
};

typedef void (*irq_handler)(struct irq_frame *f);

/* Install all 256 gates. Exceptions without a handler print the frame and
 * end the test with debug-exit 0x7e; other unhandled vectors are counted
 * in unexpected_irqs. */
void idt_init(void);
void idt_set_handler(uint8_t vector, irq_handler fn);

extern volatile unsigned unexpected_irqs;
extern volatile uint8_t last_unexpected_vector;

#endif

#include "idt.h"
#include "libc.h"
#include "system.h"

#define KERNEL_CS 0x08	    /* the 64-bit code selector of entry/start64.S */
#define GATE_INTERRUPT 0x8e /* present, DPL 0, 64-bit interrupt gate */
#define STUB_SIZE 16	    /* entry/isr.S aligns every stub to 16 bytes */

struct idt_gate {
	uint16_t offset_lo;
	uint16_t selector;
	uint8_t ist;
	uint8_t type;
	uint16_t offset_mid;
	uint32_t offset_hi;
	uint32_t reserved;
} __attribute__((packed));

static struct idt_gate idt[256] __attribute__((aligned(16)));
static irq_handler handlers[256];
volatile unsigned unexpected_irqs;
volatile uint8_t last_unexpected_vector;

extern const char isr_stubs[];
void isr_dispatch(struct irq_frame *f);

void idt_init(void)
{
	for (unsigned v = 0; v < 256; v++) {
		uint64_t a = (uintptr_t)isr_stubs + v * STUB_SIZE;
		idt[v] = (struct idt_gate){
			.offset_lo = (uint16_t)a,
			.selector = KERNEL_CS,
			.type = GATE_INTERRUPT,
			.offset_mid = (uint16_t)(a >> 16),
			.offset_hi = (uint32_t)(a >> 32),
		};
	}
	struct {
		uint16_t limit;
		uint64_t base;
	} __attribute__((packed)) idtr = { sizeof(idt) - 1, (uintptr_t)idt };
	__asm__ volatile("lidt %0" : : "m"(idtr));
}

void idt_set_handler(uint8_t vector, irq_handler fn)
{
	handlers[vector] = fn;
}

void isr_dispatch(struct irq_frame *f)
{
	irq_handler h = handlers[f->vector & 0xff];

	if (h) {
		h(f);
		return;
	}
	if (f->vector < 32) {
		uint64_t cr2;
		__asm__ volatile("mov %%cr2, %0" : "=r"(cr2));
		printf("exception %lu error 0x%lx rip 0x%lx rsp 0x%lx cr2 0x%lx\n", f->vector, f->error,
		       f->rip, f->rsp, cr2);
		debug_exit(0x7e);
	}
	/* Spurious vectors (PIC IRQ7/15, the LAPIC's 0xff) need no EOI. */
	last_unexpected_vector = (uint8_t)f->vector;
	unexpected_irqs++;
}

#include "pic_pit.h"
#include "io.h"

#define PIC1_CMD 0x20
#define PIC1_DATA 0x21
#define PIC2_CMD 0xa0
#define PIC2_DATA 0xa1
#define PIC_EOI 0x20
#define PIT_CH0 0x40
#define PIT_MODE 0x43

static uint8_t mask1 = 0xff, mask2 = 0xff;

void pic_init(void)
{
	outb(PIC1_CMD, 0x11); /* ICW1: edge triggered, cascade, ICW4 follows */
	outb(PIC2_CMD, 0x11);
	outb(PIC1_DATA, PIC_VECTOR_BASE); /* ICW2: vector base */
	outb(PIC2_DATA, PIC_VECTOR_BASE + 8);
	outb(PIC1_DATA, 0x04); /* ICW3: slave on IRQ2 */
	outb(PIC2_DATA, 0x02); /* ICW3: slave identity 2 */
	outb(PIC1_DATA, 0x01); /* ICW4: 8086 mode, normal EOI */
	outb(PIC2_DATA, 0x01);
	pic_mask_all();
}

void pic_mask_all(void)
{
	mask1 = mask2 = 0xff;
	outb(PIC1_DATA, mask1);
	outb(PIC2_DATA, mask2);
}

void pic_unmask(unsigned irq)
{
	if (irq >= 8) {
		mask2 &= (uint8_t) ~(1u << (irq - 8));
		outb(PIC2_DATA, mask2);
		irq = 2; /* the cascade line must be open too */
	}
	mask1 &= (uint8_t) ~(1u << irq);
	outb(PIC1_DATA, mask1);
}

void pic_eoi(unsigned irq)
{
	if (irq >= 8)
		outb(PIC2_CMD, PIC_EOI);
	outb(PIC1_CMD, PIC_EOI);
}

void pit_start_periodic(unsigned hz)
{
	unsigned divisor = PIT_HZ / hz;

	outb(PIT_MODE, 0x34); /* channel 0, lobyte/hibyte, mode 2, binary */
	outb(PIT_CH0, (uint8_t)divisor);
	outb(PIT_CH0, (uint8_t)(divisor >> 8));
}

void pit_stop(void)
{
	/* Mode 0 without a count written: the counter waits, output stays low. */
	outb(PIT_MODE, 0x30);
}

/* The legacy interrupt path: two cascaded 8259A PICs and the 8254 PIT. */
#ifndef GUEST_PIC_PIT_H
#define GUEST_PIC_PIT_H

#include <stdint.h>

#define PIC_VECTOR_BASE 0x20 /* IRQ n arrives as vector 0x20 + n */
#define PIT_HZ 1193182u

/* Initialise both PICs (master vectors 0x20-0x27, slave 0x28-0x2f), every
 * line masked. */
void pic_init(void);
void pic_unmask(unsigned irq);
void pic_mask_all(void);
void pic_eoi(unsigned irq);

/* Channel 0 as a rate generator (mode 2) at `hz`. */
void pit_start_periodic(unsigned hz);
void pit_stop(void);

#endif
